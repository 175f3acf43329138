//! PerfMon logs as `relog -f csv` and `typeperf -f CSV` write them (PDH-CSV 4.0,
//! `your-cluster.md` §6): the first header cell names the time zone and its bias in minutes
//! (UTC = local + bias); the other header cells are counter paths `\\HOST\Object(Instance)\Counter`
//! whose instance may hold commas, parentheses, `#` and `/`; rows start with a local timestamp
//! `MM/dd/yyyy HH:mm:ss.fff` (US order in every locale) and hold quoted numbers with a `.` decimal
//! point; `" "` and `""` mean no sample. Blank and non-CSV lines (typeperf's "Exiting, please
//! wait...") are skipped. Read with the `csv` crate, after the same encoding sniffing as
//! inventories.

use super::MeasuredError;

/// A counter path, split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterPath {
    pub host: String,
    pub object: String,
    pub instance: Option<String>,
    pub counter: String,
}

/// One column of a log: its counter and a value per row (`None` where there was no sample).
#[derive(Clone, Debug, PartialEq)]
pub struct CounterColumn {
    pub path: CounterPath,
    pub values: Vec<Option<f64>>,
}

/// A parsed log.
#[derive(Clone, Debug, PartialEq)]
pub struct PerfmonLog {
    pub time_zone: String,
    /// Minutes: UTC = local + bias.
    pub bias_min: i64,
    /// Each row's time, seconds since 1970-01-01 UTC.
    pub t_utc_s: Vec<f64>,
    pub columns: Vec<CounterColumn>,
}

impl PerfmonLog {
    /// The first column whose counter matches (case-insensitively) `object` and `counter`, and
    /// whose instance contains `instance` when one is given.
    pub fn find(
        &self,
        object: &str,
        instance: Option<&str>,
        counter: &str,
    ) -> Option<&CounterColumn> {
        self.columns.iter().find(|c| {
            c.path.object.eq_ignore_ascii_case(object)
                && c.path.counter.eq_ignore_ascii_case(counter)
                && instance.is_none_or(|i| {
                    c.path
                        .instance
                        .as_deref()
                        .is_some_and(|x| x.to_ascii_lowercase().contains(&i.to_ascii_lowercase()))
                })
        })
    }
}

/// `\\HOST\Object(Instance)\Counter`: the counter follows the last `\`; the instance runs from the
/// first `(` to the last `)` before it.
pub fn counter_path(cell: &str) -> Option<CounterPath> {
    let rest = cell.strip_prefix("\\\\")?;
    let (host, rest) = rest.split_once('\\')?;
    let (object_part, counter) = rest.rsplit_once('\\')?;
    let (object, instance) = match object_part.find('(') {
        Some(open) => {
            let close = object_part.rfind(')')?;
            if close < open {
                return None;
            }
            (
                object_part[..open].to_string(),
                Some(object_part[open + 1..close].to_string()),
            )
        }
        None => (object_part.to_string(), None),
    };
    Some(CounterPath {
        host: host.to_string(),
        object,
        instance,
        counter: counter.to_string(),
    })
}

/// `(PDH-CSV 4.0) (<time zone name>)(<bias>)`: the name (which may hold spaces, commas and
/// parentheses) and the bias in minutes.
fn header_cell(cell: &str) -> Option<(String, i64)> {
    let rest = cell.trim().strip_prefix("(PDH-CSV 4.0)")?.trim_start();
    let rest = rest.strip_suffix(')')?;
    let open = rest.rfind('(')?;
    let bias: i64 = rest[open + 1..].trim().parse().ok()?;
    let name = rest[..open].trim();
    let name = name.strip_prefix('(')?.strip_suffix(')')?;
    Some((name.to_string(), bias))
}

/// Days from 1970-01-01 to a civil date (proleptic Gregorian; H. Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `MM/dd/yyyy HH:mm:ss.fff` local time → seconds since 1970 in local time.
fn local_seconds(text: &str) -> Option<f64> {
    let (date, time) = text.trim().split_once(' ')?;
    let d: Vec<i64> = date
        .split('/')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<i64> = hms
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let [month, day, year] = d[..] else {
        return None;
    };
    let [h, mi, s] = t[..] else { return None };
    let ok = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (1601..=9999).contains(&year)
        && (0..24).contains(&h)
        && (0..60).contains(&mi)
        && (0..61).contains(&s)
        && frac.bytes().all(|b| b.is_ascii_digit());
    if !ok {
        return None;
    }
    let frac: f64 = format!("0.{frac}").parse().ok()?;
    Some((days_from_civil(year, month, day) * 86_400 + h * 3600 + mi * 60 + s) as f64 + frac)
}

/// Parses a PerfMon CSV's text; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<PerfmonLog, MeasuredError> {
    let fail = |line: usize, message: String| MeasuredError::Invalid {
        file: file.to_string(),
        line,
        message,
    };
    let mut log: Option<PerfmonLog> = None;
    // PDH-CSV cells never hold a line break: each line is one record, parsed on its own, so
    // errors name the file's own line numbers.
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        // Every cell is quoted: a line that does not start with a quote is not a row
        // (typeperf's "Exiting, please wait...", blank lines).
        if !raw.trim_start().starts_with('"') {
            if log.is_none() && !raw.trim().is_empty() {
                return Err(fail(
                    line,
                    format!(
                        "not a PerfMon CSV: the first cell should be \"(PDH-CSV 4.0) (time zone)(bias)\", found \"{}\"",
                        crate::limits::excerpt(raw, 80)
                    ),
                ));
            }
            continue;
        }
        let record = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(raw.as_bytes())
            .records()
            .next()
            .transpose()
            .map_err(|e| fail(line, format!("not CSV: {e}")))?
            .unwrap_or_default();
        let Some(log) = log.as_mut() else {
            let first = record.get(0).unwrap_or_default();
            let Some((time_zone, bias_min)) = header_cell(first) else {
                return Err(fail(
                    line,
                    format!(
                        "not a PerfMon CSV: the first cell should be \"(PDH-CSV 4.0) (time zone)(bias)\", found \"{}\"",
                        crate::limits::excerpt(first, 80)
                    ),
                ));
            };
            let mut columns = Vec::new();
            for (k, cell) in record.iter().enumerate().skip(1) {
                let Some(path) = counter_path(cell) else {
                    return Err(fail(
                        line,
                        format!(
                            "column {}: \"{}\" is not a counter path like \\\\HOST\\Object(Instance)\\Counter",
                            k + 1,
                            crate::limits::excerpt(cell, 80)
                        ),
                    ));
                };
                columns.push(CounterColumn {
                    path,
                    values: Vec::new(),
                });
            }
            log = Some(PerfmonLog {
                time_zone,
                bias_min,
                t_utc_s: Vec::new(),
                columns,
            });
            continue;
        };
        if record.len() != log.columns.len() + 1 {
            return Err(fail(
                line,
                format!(
                    "{} cells where the header has {}: columns are fixed per file",
                    record.len(),
                    log.columns.len() + 1
                ),
            ));
        }
        let stamp = record.get(0).unwrap_or_default();
        let Some(local) = local_seconds(stamp) else {
            return Err(fail(
                line,
                format!(
                    "\"{}\" is not a time like 03/12/2024 21:14:01.000 (MM/dd/yyyy HH:mm:ss.fff)",
                    crate::limits::excerpt(stamp, 80)
                ),
            ));
        };
        log.t_utc_s.push(local + log.bias_min as f64 * 60.0);
        for (k, cell) in record.iter().enumerate().skip(1) {
            let v = match cell.trim() {
                "" => None,
                s => match s.parse::<f64>() {
                    Ok(v) if v.is_finite() => Some(v),
                    _ if s.contains(',') => {
                        return Err(fail(
                            line,
                            format!(
                                "column {}: \"{}\" has a decimal comma; PerfMon CSV uses a point in every locale (was the file re-saved by a spreadsheet?)",
                                k + 1,
                                crate::limits::excerpt(s, 80)
                            ),
                        ));
                    }
                    _ => {
                        return Err(fail(
                            line,
                            format!(
                                "column {}: \"{}\" is not a number",
                                k + 1,
                                crate::limits::excerpt(s, 80)
                            ),
                        ));
                    }
                },
            };
            log.columns[k - 1].values.push(v);
        }
    }
    log.ok_or_else(|| fail(1, "empty: no PDH-CSV header".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_paths_split_at_the_last_backslash_and_the_outer_parentheses() {
        let p =
            counter_path(r"\\HV1\Network Adapter(Intel(R) Ethernet 10G #2, port 1)\Bytes Sent/sec")
                .unwrap();
        assert_eq!(p.host, "HV1");
        assert_eq!(p.object, "Network Adapter");
        assert_eq!(
            p.instance.as_deref(),
            Some("Intel(R) Ethernet 10G #2, port 1")
        );
        assert_eq!(p.counter, "Bytes Sent/sec");
        let p = counter_path(r"\\HV1\Memory\Available Bytes").unwrap();
        assert_eq!((p.object.as_str(), p.instance), ("Memory", None));
        assert!(counter_path("Bytes Sent/sec").is_none());
    }

    #[test]
    fn the_header_cell_gives_the_zone_and_its_bias_and_times_become_utc() {
        assert_eq!(
            header_cell("(PDH-CSV 4.0) (W. Europe Standard Time)(-60)"),
            Some(("W. Europe Standard Time".into(), -60))
        );
        assert_eq!(
            header_cell("(PDH-CSV 4.0) (Eastern Daylight Time)(240)"),
            Some(("Eastern Daylight Time".into(), 240))
        );
        // 2024-03-12 20:14:08.412 UTC is 1710274448.412 s (the §2 example of /Date(...)/).
        let local = local_seconds("03/12/2024 21:14:08.412").unwrap();
        assert!(
            (local - 60.0 * 60.0 - 1_710_274_448.412).abs() < 1e-6,
            "{local}"
        );
        assert!(local_seconds("12/03/2024 25:00:00.000").is_none());
        assert!(local_seconds("2024-03-12 21:14:08").is_none());
    }
}
