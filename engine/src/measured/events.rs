//! The VMMS events that end a live migration (`Microsoft-Windows-Hyper-V-VMMS-Admin` 20415, and
//! 20417 when the blackout was long; `your-cluster.md` §7): their properties are [0] the VM's
//! name, [1] its id, [2] the blackout in seconds. Read from XML (`wevtutil qe … /f:xml`, or Event
//! Viewer's "Save as XML", with or without an enclosing element; parsed by `roxmltree`) or from
//! CSV as `Export-Csv` writes it with the properties as columns:
//!
//! ```powershell
//! Get-WinEvent -FilterHashtable @{LogName='Microsoft-Windows-Hyper-V-VMMS-Admin'; Id=20415,20417} |
//!   Select-Object @{n='TimeCreated';e={$_.TimeCreated.ToUniversalTime().ToString('o')}}, Id,
//!     MachineName, @{n='VmName';e={$_.Properties[0].Value}}, @{n='VmId';e={$_.Properties[1].Value}},
//!     @{n='BlackoutSeconds';e={$_.Properties[2].Value}} |
//!   Export-Csv vmms.csv -NoTypeInformation -Encoding UTF8
//! ```
//!
//! Times must carry their zone (ISO 8601 with `Z` or an offset): a local time in the exporting
//! machine's culture cannot be placed beside the counters.

use super::MeasuredError;
use super::perfmon::days_from_civil;

/// Event ids that end a live migration.
pub const MIGRATION_DONE: u32 = 20415;
pub const MIGRATION_DONE_LONG_BLACKOUT: u32 = 20417;

/// One migration's end as VMMS logged it.
#[derive(Clone, Debug, PartialEq)]
pub struct BlackoutEvent {
    pub id: u32,
    pub vm: String,
    pub vm_id: String,
    /// The computer that logged it, when the file says.
    pub host: Option<String>,
    pub t_utc_s: f64,
    pub blackout_s: f64,
}

/// Most events one file may hold.
const MAX_EVENTS: usize = 100_000;

/// `2024-03-12T20:14:08.412Z`, `2024-03-12T21:14:08.4120000+01:00` → seconds since 1970 UTC.
pub fn iso8601_utc(text: &str) -> Option<f64> {
    let s = text.trim();
    let (date, rest) = s.split_once(['T', ' '])?;
    let d: Vec<i64> = date
        .split('-')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let [y, mo, da] = d[..] else { return None };
    let (clock, offset_min) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else {
        let at = rest.rfind(['+', '-'])?;
        let (c, off) = rest.split_at(at);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (oh, om) = off[1..].split_once(':').unwrap_or((&off[1..], "0"));
        let (oh, om): (i64, i64) = (oh.parse().ok()?, om.parse().ok()?);
        (c, sign * (oh * 60 + om))
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, "0"));
    let t: Vec<i64> = hms
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let [h, mi, sec] = t[..] else { return None };
    let ok = (1..=12).contains(&mo)
        && (1..=31).contains(&da)
        && (1601..=9999).contains(&y)
        && (0..24).contains(&h)
        && (0..60).contains(&mi)
        && (0..61).contains(&sec)
        && !frac.is_empty()
        && frac.bytes().all(|b| b.is_ascii_digit());
    if !ok {
        return None;
    }
    let frac: f64 = format!("0.{frac}").parse().ok()?;
    let local = (days_from_civil(y, mo, da) * 86_400 + h * 3600 + mi * 60 + sec) as f64 + frac;
    Some(local - offset_min as f64 * 60.0)
}

fn blackout(text: &str) -> Option<f64> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && (0.0..=86_400.0).contains(v))
}

/// The 1-based line of byte offset `pos` in `text`.
fn line_of(text: &str, pos: usize) -> usize {
    text[..pos.min(text.len())].matches('\n').count() + 1
}

/// The first child element of `parent` named `name` (any namespace).
fn child<'a, 'i>(parent: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    parent.children().find(|c| c.tag_name().name() == name)
}

/// Reads events from XML.
pub fn parse_xml(text: &str, file: &str) -> Result<Vec<BlackoutEvent>, MeasuredError> {
    // wevtutil writes one <Event> after another without a root: give them one. The XML
    // declaration, if any, must go first, so it is dropped.
    let body = match text.trim_start().strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or("", |x| x.1),
        None => text,
    };
    let wrapped = format!("<lmlab-events>{body}</lmlab-events>");
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: 4_000_000,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(&wrapped, opts)
        .map_err(|e| MeasuredError::invalid(file, e.pos().row as usize, format!("not XML: {e}")))?;
    let mut out = Vec::new();
    for ev in doc.descendants().filter(|n| n.has_tag_name("Event")) {
        let line = line_of(&wrapped, ev.range().start);
        let Some(system) = child(ev, "System") else {
            continue;
        };
        let id: u32 = match child(system, "EventID").and_then(|n| n.text()) {
            Some(t) => t.trim().parse().unwrap_or(0),
            None => 0,
        };
        if id != MIGRATION_DONE && id != MIGRATION_DONE_LONG_BLACKOUT {
            continue;
        }
        let time = child(system, "TimeCreated").and_then(|n| n.attribute("SystemTime"));
        let Some(t_utc_s) = time.and_then(iso8601_utc) else {
            return Err(MeasuredError::invalid(
                file,
                line,
                format!(
                    "event {id} without a TimeCreated SystemTime in ISO 8601 (found {:?})",
                    time.unwrap_or("nothing")
                ),
            ));
        };
        // EventData/Data or UserData/<element>/<fields>, in order.
        let data: Vec<String> = match child(ev, "EventData") {
            Some(d) => d
                .children()
                .filter(|c| c.is_element())
                .map(|c| c.text().unwrap_or("").to_string())
                .collect(),
            None => child(ev, "UserData")
                .and_then(|u| u.children().find(|c| c.is_element()))
                .map(|u| {
                    u.children()
                        .filter(|c| c.is_element())
                        .map(|c| c.text().unwrap_or("").to_string())
                        .collect()
                })
                .unwrap_or_default(),
        };
        let e = event_of(
            id,
            &data,
            child(system, "Computer").and_then(|n| n.text()),
            t_utc_s,
            (file, line),
        )?;
        push_bounded(&mut out, e, (file, line))?;
    }
    Ok(out)
}

/// Adds an event, refusing a file with more than [`MAX_EVENTS`].
fn push_bounded(
    out: &mut Vec<BlackoutEvent>,
    e: BlackoutEvent,
    (file, line): (&str, usize),
) -> Result<(), MeasuredError> {
    if out.len() >= MAX_EVENTS {
        return Err(MeasuredError::invalid(
            file,
            line,
            format!("more than {MAX_EVENTS} events"),
        ));
    }
    out.push(e);
    Ok(())
}

fn event_of(
    id: u32,
    data: &[String],
    host: Option<&str>,
    t_utc_s: f64,
    (file, line): (&str, usize),
) -> Result<BlackoutEvent, MeasuredError> {
    let vm = data.first().map(|s| s.trim()).unwrap_or("");
    if vm.is_empty() {
        return Err(MeasuredError::invalid(
            file,
            line,
            format!("event {id} without the VM's name (property 0)"),
        ));
    }
    let seconds = data.get(2).map(String::as_str).unwrap_or("");
    let Some(blackout_s) = blackout(seconds) else {
        return Err(MeasuredError::invalid(
            file,
            line,
            format!("event {id}: blackout (property 2) {seconds:?} is not a number of seconds"),
        ));
    };
    Ok(BlackoutEvent {
        id,
        vm: vm.chars().take(256).collect(),
        vm_id: data
            .get(1)
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        host: host.map(|h| h.trim().to_string()),
        t_utc_s,
        blackout_s,
    })
}

/// Reads events from CSV (header names as in the module's example; also `Event ID`,
/// `Computer`, `Properties[0]`…).
pub fn parse_csv(text: &str, file: &str) -> Result<Vec<BlackoutEvent>, MeasuredError> {
    // Windows PowerShell 5.1 starts with "#TYPE …" unless -NoTypeInformation.
    let skipped = text
        .lines()
        .take_while(|l| l.trim_start().starts_with('#') || l.trim().is_empty())
        .count();
    let body: String = text.lines().skip(skipped).collect::<Vec<_>>().join("\n");
    let mut rd = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(body.as_bytes());
    let header = rd
        .headers()
        .map_err(|e| MeasuredError::invalid(file, skipped + 1, format!("not CSV: {e}")))?
        .clone();
    let col = |names: &[&str]| {
        header
            .iter()
            .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
    };
    let need = |c: Option<usize>, what: &str| {
        c.ok_or_else(|| {
            MeasuredError::invalid(
                file,
                skipped + 1,
                format!(
                    "no {what} column: a VMMS event CSV needs TimeCreated, Id, VmName and \
                     BlackoutSeconds (see docs/measurements.md for the Export-Csv line)"
                ),
            )
        })
    };
    let time = need(
        col(&["TimeCreated", "Date and Time", "Time"]),
        "TimeCreated",
    )?;
    let id = need(col(&["Id", "Event ID", "EventID"]), "Id")?;
    let vm = need(col(&["VmName", "VM", "Properties[0]"]), "VmName")?;
    let seconds = need(
        col(&["BlackoutSeconds", "Blackout", "Properties[2]"]),
        "BlackoutSeconds",
    )?;
    let vm_id = col(&["VmId", "Properties[1]"]);
    let host = col(&["MachineName", "Computer"]);
    let mut out = Vec::new();
    for (k, rec) in rd.records().enumerate() {
        let line = skipped + k + 2;
        let rec = rec.map_err(|e| MeasuredError::invalid(file, line, format!("not CSV: {e}")))?;
        let cell = |c: usize| rec.get(c).unwrap_or("");
        let event_id: u32 = cell(id).trim().parse().map_err(|_| {
            MeasuredError::invalid(file, line, format!("Id {:?} is not a number", cell(id)))
        })?;
        if event_id != MIGRATION_DONE && event_id != MIGRATION_DONE_LONG_BLACKOUT {
            continue;
        }
        let Some(t) = iso8601_utc(cell(time)) else {
            return Err(MeasuredError::invalid(
                file,
                line,
                format!(
                    "TimeCreated {:?} is not an ISO 8601 time with its zone; export it with \
                     $_.TimeCreated.ToUniversalTime().ToString('o')",
                    crate::limits::excerpt(cell(time), 60)
                ),
            ));
        };
        let data = vec![
            cell(vm).to_string(),
            vm_id.map(|c| cell(c).to_string()).unwrap_or_default(),
            cell(seconds).to_string(),
        ];
        let e = event_of(event_id, &data, host.map(cell), t, (file, line))?;
        push_bounded(&mut out, e, (file, line))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times_with_a_zone_become_utc_seconds() {
        let z = iso8601_utc("2024-03-12T20:14:08.412Z").unwrap();
        assert!((z - 1_710_274_448.412).abs() < 1e-6, "{z}");
        let off = iso8601_utc("2024-03-12T21:14:08.4120000+01:00").unwrap();
        assert!((off - z).abs() < 1e-6);
        assert!(iso8601_utc("12.03.2024 21:14:08").is_none());
        assert!(iso8601_utc("2024-03-12T21:14:08.").is_none());
    }
}
