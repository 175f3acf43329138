//! What every exported time chart shares: the time window it shows, its time axis in h:mm:ss at
//! steps a clock reads well, and the markers of faults, repairs and captions, numbered so their
//! labels can sit in a key under the chart instead of on top of each other.

use crate::sim::Simulation;

/// The stretch of simulated time a chart shows, in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeWindow {
    pub from_s: f64,
    pub to_s: f64,
}

/// Why a typed time window was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("time window `{text}`: {why} (write `activity`, `all`, or FROM-TO like 0:05:00-0:20:00)")]
pub struct WindowError {
    pub text: String,
    pub why: String,
}

impl TimeWindow {
    /// The whole run so far.
    pub fn all(sim: &Simulation) -> TimeWindow {
        TimeWindow {
            from_s: 0.0,
            to_s: sim.now().as_secs_f64().max(1.0),
        }
    }

    /// Where things happen: from the first to the last logged event, with a margin of 5 % (at
    /// least ten seconds) each side, within the run. A run without events shows all of it.
    pub fn activity(sim: &Simulation) -> TimeWindow {
        let all = TimeWindow::all(sim);
        let (Some(first), Some(last)) = (sim.events().first(), sim.events().last()) else {
            return all;
        };
        let (a, b) = (first.t.as_secs_f64(), last.t.as_secs_f64());
        let margin = ((b - a) * 0.05).max(10.0);
        let w = TimeWindow {
            from_s: (a - margin).max(0.0),
            to_s: (b + margin).min(all.to_s),
        };
        if w.to_s - w.from_s < 1.0 { all } else { w }
    }

    /// `activity`, `all`, or `FROM-TO` (each a clock time like `0:05:00` or a duration like
    /// `5m`), within the run.
    pub fn parse(text: &str, sim: &Simulation) -> Result<TimeWindow, WindowError> {
        let refuse = |why: &str| WindowError {
            text: text.to_string(),
            why: why.to_string(),
        };
        match text.trim() {
            "activity" => return Ok(TimeWindow::activity(sim)),
            "all" => return Ok(TimeWindow::all(sim)),
            _ => {}
        }
        let (a, b) = text
            .split_once('-')
            .ok_or_else(|| refuse("no `-` between its start and end"))?;
        let from_s = clock_seconds(a).ok_or_else(|| refuse("its start is not a time"))?;
        let to_s = clock_seconds(b).ok_or_else(|| refuse("its end is not a time"))?;
        if to_s <= from_s {
            return Err(refuse("it ends before it starts"));
        }
        let end = TimeWindow::all(sim).to_s;
        if from_s >= end {
            return Err(refuse(&format!(
                "it starts after the run ends ({})",
                clock_label(end, 1.0)
            )));
        }
        Ok(TimeWindow {
            from_s,
            to_s: to_s.min(end),
        })
    }

    pub fn span(self) -> f64 {
        (self.to_s - self.from_s).max(1e-9)
    }

    pub fn contains(self, t: f64) -> bool {
        t >= self.from_s && t <= self.to_s
    }
}

/// Seconds from `h:mm:ss`, `m:ss` or a duration (`90s`, `5m`, `1h30m`).
fn clock_seconds(text: &str) -> Option<f64> {
    crate::time::parse_clock(text).map(|t| t.as_secs_f64())
}

/// Steps a clock reads well, in seconds.
const STEPS: [f64; 20] = [
    0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0,
    3600.0, 7200.0, 10800.0, 21600.0, 43200.0,
];

/// Tick times across `w`: at the first step a clock reads well that gives at most `max` ticks.
pub fn ticks(w: TimeWindow, max: usize) -> (f64, Vec<f64>) {
    let step = STEPS
        .iter()
        .copied()
        .find(|s| w.span() / s <= max.max(1) as f64)
        .unwrap_or(86_400.0);
    let first = (w.from_s / step).ceil() as i64;
    let last = (w.to_s / step).floor() as i64;
    (step, (first..=last).map(|k| k as f64 * step).collect())
}

/// `h:mm:ss`, with tenths when the ticks are less than a second apart.
pub fn clock_label(t: f64, step: f64) -> String {
    let t = t.max(0.0);
    let whole = t.floor();
    let (h, m, s) = (
        whole as u64 / 3600,
        whole as u64 / 60 % 60,
        whole as u64 % 60,
    );
    if step < 1.0 {
        let tenths = ((t - whole) * 10.0).round().min(9.0) as u64;
        format!("{h}:{m:02}:{s:02}.{tenths}")
    } else {
        format!("{h}:{m:02}:{s:02}")
    }
}

/// What a marker marks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkerKind {
    Fault,
    Repair,
    Caption,
}

/// A marker across a time chart: its tag (a number for faults and repairs, a letter for
/// captions) is drawn on the chart, its text in the key under it.
#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    pub t_s: f64,
    pub kind: MarkerKind,
    pub tag: String,
    pub text: String,
}

/// The run's faults, repairs and captions inside `w`, tagged in time order.
pub fn markers(sim: &Simulation, w: TimeWindow) -> Vec<Marker> {
    let (mut n, mut c) = (0, 0);
    let mut out = Vec::new();
    for e in sim.events() {
        let kind = if e.mark.is_caption() {
            MarkerKind::Caption
        } else if matches!(e.mark, crate::sim::Mark::Fault) {
            MarkerKind::Fault
        } else if matches!(e.mark, crate::sim::Mark::Repair) {
            MarkerKind::Repair
        } else {
            continue;
        };
        let t = e.t.as_secs_f64();
        if !w.contains(t) {
            continue;
        }
        let tag = if kind == MarkerKind::Caption {
            c += 1;
            letters(c)
        } else {
            n += 1;
            n.to_string()
        };
        out.push(Marker {
            t_s: t,
            kind,
            tag,
            text: e.detail.clone(),
        });
    }
    out
}

/// A, B, … Z, AA, AB, …
fn letters(mut k: usize) -> String {
    let mut s = Vec::new();
    while k > 0 {
        k -= 1;
        s.push(b'A' + (k % 26) as u8);
        k /= 26;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// Rows for tags at screen positions `xs` (in order) so that no two in a row are closer than
/// `width`: each goes in the first row with room, at most `rows` rows (then the emptiest).
pub fn stagger(xs: &[f64], width: f64, rows: usize) -> Vec<usize> {
    let rows = rows.max(1);
    let mut last = vec![f64::NEG_INFINITY; rows];
    xs.iter()
        .map(|&x| {
            let r = (0..rows)
                .find(|&r| x - last[r] >= width)
                .unwrap_or_else(|| {
                    (0..rows)
                        .min_by(|&a, &b| last[a].total_cmp(&last[b]))
                        .unwrap_or(0)
                });
            last[r] = x;
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_fall_on_clock_steps_and_read_as_clocks() {
        let w = TimeWindow {
            from_s: 0.0,
            to_s: 10_800.0,
        };
        let (step, t) = ticks(w, 10);
        assert_eq!(step, 1800.0);
        assert_eq!(t.len(), 7);
        assert_eq!(clock_label(t[1], step), "0:30:00");
        let (step, t) = ticks(
            TimeWindow {
                from_s: 61.0,
                to_s: 64.0,
            },
            8,
        );
        assert_eq!(step, 0.5);
        assert_eq!(clock_label(t[1], step), "0:01:01.5");
    }

    #[test]
    fn tags_too_close_go_to_other_rows() {
        assert_eq!(stagger(&[0.0, 5.0, 10.0, 40.0], 20.0, 3), [0, 1, 2, 0]);
        assert_eq!(letters(1), "A");
        assert_eq!(letters(27), "AA");
    }
}
