//! The time series and the one vocabulary for its columns.
//!
//! Every reader of the series (plots, exports, the canvas, the inspector, the real run's
//! prediction) names a column with a [`SeriesKey`]; only this module turns a key into the column
//! name that CSV files and reports carry (`hv1.nic1.rx_gbps`), so the simulation and its readers
//! cannot drift apart.
//!
//! The model is event-driven: between events every rate is steady. So a column is stored as its
//! change points (the sample at which the value changes, and the new value), not as one value per
//! sample: memory grows with what happens in the lab, not with simulated time. Readers that want
//! a value per sample (CSV, the JSON report) expand a column at the sample step on the fly; plots
//! take the column's [`Series::polyline`], which draws exactly what the samples would.

use crate::scenario::HostSpec;
use crate::time::{SimDuration, SimTime};
use serde::ser::{Serialize, SerializeMap, SerializeStruct, Serializer};
use std::collections::BTreeMap;

/// One column of the series, typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SeriesKey<'a> {
    /// 1 while the host is powered, its cluster service runs and its networks are up.
    Healthy { host: &'a str },
    /// VMs running on the host.
    VmsRunning { host: &'a str },
    /// Live-migration CPU of the host, % of all its logical processors.
    HostCpu { host: &'a str },
    /// Live-migration traffic a NIC sends on the wire, Gbit/s.
    NicSend { host: &'a str, nic: &'a str },
    /// Live-migration traffic a NIC receives on the wire, Gbit/s.
    NicReceive { host: &'a str, nic: &'a str },
    /// Migrations holding a slot.
    MigrationsActive,
    /// Migrations waiting for a slot.
    MigrationsQueued,
    /// Guest memory moved by all live migrations together, Gbit/s.
    AllMigrationsGbps,
}

impl SeriesKey<'_> {
    /// The column name in series, CSV files and reports (a contract: `docs/report-format.md`).
    pub fn column(&self) -> String {
        match self {
            SeriesKey::Healthy { host } => format!("{host}.healthy"),
            SeriesKey::VmsRunning { host } => format!("{host}.vms_running"),
            SeriesKey::HostCpu { host } => format!("{host}.lm_cpu_pct"),
            SeriesKey::NicSend { host, nic } => format!("{host}.{nic}.tx_gbps"),
            SeriesKey::NicReceive { host, nic } => format!("{host}.{nic}.rx_gbps"),
            SeriesKey::MigrationsActive => "migrations_active".into(),
            SeriesKey::MigrationsQueued => "migrations_queued".into(),
            SeriesKey::AllMigrationsGbps => "lm_gbps".into(),
        }
    }
}

/// One column: a value at every sample of its series, stored as change points.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Column {
    /// `(sample, value)`: the value from that sample until the next change, in sample order. The
    /// first change is at sample 0 once the series has a row.
    changes: Vec<(usize, f64)>,
}

impl Column {
    /// The change points: `(sample index, new value)`, in order.
    pub fn changes(&self) -> &[(usize, f64)] {
        &self.changes
    }

    /// The value at sample `i` (0 for a column without rows).
    pub fn value(&self, i: usize) -> f64 {
        let k = self.changes.partition_point(|c| c.0 <= i);
        k.checked_sub(1).map_or(0.0, |k| self.changes[k].1)
    }

    /// The latest value (0 for a column without rows).
    pub fn last(&self) -> f64 {
        self.changes.last().map_or(0.0, |c| c.1)
    }

    /// The largest value at samples `first..len` (0 if there are none).
    pub fn max_between(&self, first: usize, len: usize) -> f64 {
        if first >= len {
            return 0.0;
        }
        let k = self.changes.partition_point(|c| c.0 <= first);
        let from = k.saturating_sub(1);
        self.changes
            .get(from..)
            .unwrap_or_default()
            .iter()
            .take_while(|c| c.0 < len)
            .map(|c| c.1)
            .fold(0.0, f64::max)
    }

    /// Whether any sample holds a value above zero.
    pub fn any_positive(&self) -> bool {
        self.changes.iter().any(|c| c.1 > 0.0)
    }

    /// The column with `f` applied to every value.
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Column {
        let mut out = Column::default();
        for &(i, v) in &self.changes {
            out.push(i, f(v));
        }
        out
    }

    /// The value at each of `len` samples, in order.
    pub fn values(&self, len: usize) -> impl Iterator<Item = f64> + '_ {
        let mut k = 0;
        (0..len).map(move |i| {
            while k + 1 < self.changes.len() && self.changes[k + 1].0 <= i {
                k += 1;
            }
            match self.changes.get(k) {
                Some(&(at, v)) if at <= i => v,
                _ => 0.0,
            }
        })
    }

    /// Records `v` at sample `row` (rows arrive in order; a column that appears late held 0).
    fn push(&mut self, row: usize, v: f64) {
        match self.changes.last() {
            None if row > 0 && v.to_bits() != 0f64.to_bits() => {
                self.changes.push((0, 0.0));
                self.changes.push((row, v));
            }
            None => self.changes.push((0, if row > 0 { 0.0 } else { v })),
            // Bit for bit, so -0.0 and NaN are kept exactly as sampled.
            Some(&(_, last)) if last.to_bits() == v.to_bits() => {}
            Some(_) => self.changes.push((row, v)),
        }
    }
}

/// The time series: one row per `step` from time zero, one column per named quantity.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    pub step_s: f64,
    step: SimDuration,
    rows: usize,
    /// Column name → column. Names carry their units (`hv1.lm_cpu_pct`); they are made by
    /// [`SeriesKey::column`].
    columns: BTreeMap<String, Column>,
}

impl Series {
    /// An empty series sampled every `step`.
    pub fn new(step: SimDuration) -> Series {
        Series {
            step_s: step.as_secs_f64(),
            step,
            rows: 0,
            columns: BTreeMap::new(),
        }
    }

    /// Samples recorded.
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The time of sample `i`, in seconds.
    pub fn t(&self, i: usize) -> f64 {
        SimTime::from_micros((i as u64).saturating_mul(self.step.as_micros())).as_secs_f64()
    }

    /// The time of every sample, in order.
    pub fn times(&self) -> impl Iterator<Item = f64> + '_ {
        (0..self.rows).map(|i| self.t(i))
    }

    /// The number of samples at or before `t_s` (the index of the latest such sample plus one).
    pub fn samples_until(&self, t_s: f64) -> usize {
        if self.rows == 0 || t_s.is_nan() || t_s < 0.0 {
            return 0;
        }
        if self.step.is_zero() {
            return self.rows;
        }
        let guess = (t_s / self.step_s).floor().min(self.rows as f64) as usize;
        let mut n = guess.min(self.rows);
        while n < self.rows && self.t(n) <= t_s {
            n += 1;
        }
        while n > 0 && self.t(n - 1) > t_s {
            n -= 1;
        }
        n
    }

    /// The number of samples before `t_s` (the index of the first sample at or after it).
    pub fn samples_before(&self, t_s: f64) -> usize {
        let n = self.samples_until(t_s);
        if n > 0 && self.t(n - 1) == t_s {
            n - 1
        } else {
            n
        }
    }

    /// The column of `key`, if it has been sampled.
    pub fn get(&self, key: SeriesKey<'_>) -> Option<&Column> {
        self.columns.get(&key.column())
    }

    /// The column named `name` (as in CSV and reports).
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.get(name)
    }

    /// Every column with its name, in name order.
    pub fn columns(&self) -> impl Iterator<Item = (&str, &Column)> {
        self.columns.iter().map(|(k, c)| (k.as_str(), c))
    }

    /// Change points stored over all columns (what the series' memory grows with).
    pub fn stored_points(&self) -> usize {
        self.columns.values().map(|c| c.changes.len()).sum()
    }

    /// The latest value of `key` (0 before it is sampled).
    pub fn last(&self, key: SeriesKey<'_>) -> f64 {
        self.get(key).map_or(0.0, Column::last)
    }

    /// The sum of the columns at every sample (missing columns count as zero), as a column.
    pub fn sum_of<'k>(&self, keys: impl IntoIterator<Item = SeriesKey<'k>>) -> Column {
        let cols: Vec<&Column> = keys.into_iter().filter_map(|k| self.get(k)).collect();
        let mut at: Vec<usize> = cols
            .iter()
            .flat_map(|c| c.changes.iter().map(|p| p.0))
            .collect();
        at.sort_unstable();
        at.dedup();
        let mut out = Column::default();
        for i in at {
            out.push(i, cols.iter().map(|c| c.value(i)).sum());
        }
        out
    }

    /// Live-migration receive traffic of a host on the wire, all NICs together (Gbit/s).
    pub fn host_rx_gbps(&self, host: &HostSpec) -> Column {
        self.sum_of(host.nics.iter().map(|n| SeriesKey::NicReceive {
            host: &host.name,
            nic: &n.name,
        }))
    }

    /// The line through every sample of `col` as (t_s, value) points, keeping only the corners:
    /// drawn with straight segments it is exactly the line through all samples.
    pub fn polyline(&self, col: &Column) -> Vec<(f64, f64)> {
        let mut out: Vec<(f64, f64)> = Vec::new();
        if self.rows == 0 {
            return out;
        }
        let mut prev: Option<(usize, f64)> = None;
        for &(i, v) in col.changes.iter().take_while(|c| c.0 < self.rows) {
            if let Some((j, u)) = prev
                && i > j + 1
            {
                out.push((self.t(i - 1), u));
            }
            out.push((self.t(i), v));
            prev = Some((i, v));
        }
        match prev {
            Some((j, u)) if j + 1 < self.rows => out.push((self.t(self.rows - 1), u)),
            None => {
                out.push((self.t(0), 0.0));
                if self.rows > 1 {
                    out.push((self.t(self.rows - 1), 0.0));
                }
            }
            _ => {}
        }
        out
    }

    /// Records `values` as the row at the next sample time. Every column gets a value in every
    /// row (0 before it first appears, and 0 in a row that does not name it).
    pub(crate) fn push_row(&mut self, values: Vec<(SeriesKey<'_>, f64)>) {
        let row = self.rows;
        self.rows += 1;
        let named: Vec<String> = values
            .into_iter()
            .map(|(key, v)| {
                let name = key.column();
                match self.columns.get_mut(&name) {
                    Some(col) => col.push(row, v),
                    None => {
                        let mut col = Column::default();
                        col.push(row, v);
                        self.columns.insert(name.clone(), col);
                    }
                }
                name
            })
            .collect();
        if self.columns.len() > named.len() {
            let named: std::collections::BTreeSet<&String> = named.iter().collect();
            for (name, col) in &mut self.columns {
                if !named.contains(name) {
                    col.push(row, 0.0);
                }
            }
        }
    }
}

/// The report's form (`docs/report-format.md`): `step_s`, the sample times `t_s` and, per column,
/// one value per sample — expanded while it is written, never held in memory.
impl Serialize for Series {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Times<'a>(&'a Series);
        impl Serialize for Times<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.times())
            }
        }
        struct Values<'a>(&'a Column, usize);
        impl Serialize for Values<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.values(self.1))
            }
        }
        struct Columns<'a>(&'a Series);
        impl Serialize for Columns<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.columns.len()))?;
                for (name, col) in &self.0.columns {
                    m.serialize_entry(name, &Values(col, self.0.rows))?;
                }
                m.end()
            }
        }
        let mut st = s.serialize_struct("Series", 3)?;
        st.serialize_field("step_s", &self.step_s)?;
        st.serialize_field("t_s", &Times(self))?;
        st.serialize_field("columns", &Columns(self))?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(rows: &[&[(&'static str, f64)]]) -> Series {
        let mut s = Series::new(SimDuration::from_secs(1));
        for r in rows {
            s.push_row(
                r.iter()
                    .map(|&(h, v)| (SeriesKey::HostCpu { host: h }, v))
                    .collect(),
            );
        }
        s
    }

    #[test]
    fn a_column_keeps_only_its_changes_and_expands_to_every_sample() {
        let s = series(&[
            &[("a", 1.0)],
            &[("a", 1.0)],
            &[("a", 1.0), ("b", 2.0)],
            &[("a", 3.0), ("b", 2.0)],
            &[("a", 3.0)],
        ]);
        let a = s.get(SeriesKey::HostCpu { host: "a" }).unwrap();
        let b = s.get(SeriesKey::HostCpu { host: "b" }).unwrap();
        assert_eq!(a.changes(), &[(0, 1.0), (3, 3.0)]);
        assert_eq!(a.values(5).collect::<Vec<_>>(), [1.0, 1.0, 1.0, 3.0, 3.0]);
        assert_eq!(b.values(5).collect::<Vec<_>>(), [0.0, 0.0, 2.0, 2.0, 0.0]);
        assert_eq!(
            (0..5).map(|i| b.value(i)).collect::<Vec<_>>(),
            [0.0, 0.0, 2.0, 2.0, 0.0]
        );
        assert_eq!(b.max_between(3, 5), 2.0);
        assert_eq!(b.max_between(4, 5), 0.0);
        assert_eq!(b.max_between(5, 5), 0.0);
        assert_eq!(s.stored_points(), 2 + 3);
        let sum = s.sum_of([
            SeriesKey::HostCpu { host: "a" },
            SeriesKey::HostCpu { host: "b" },
        ]);
        assert_eq!(sum.values(5).collect::<Vec<_>>(), [1.0, 1.0, 3.0, 5.0, 3.0]);
    }

    #[test]
    fn the_polyline_is_the_line_through_every_sample_with_only_its_corners() {
        let s = series(&[
            &[("a", 0.0)],
            &[("a", 0.0)],
            &[("a", 4.0)],
            &[("a", 4.0)],
            &[("a", 4.0)],
            &[("a", 1.0)],
            &[("a", 2.0)],
            &[("a", 2.0)],
        ]);
        let a = s.get(SeriesKey::HostCpu { host: "a" }).unwrap();
        let line = s.polyline(a);
        assert_eq!(
            line,
            [
                (0.0, 0.0),
                (1.0, 0.0),
                (2.0, 4.0),
                (4.0, 4.0),
                (5.0, 1.0),
                (6.0, 2.0),
                (7.0, 2.0)
            ]
        );
        // Every sample lies on the polyline, interpolated linearly between its corners.
        for (i, v) in a.values(s.len()).enumerate() {
            let t = s.t(i);
            let k = line.partition_point(|p| p.0 <= t) - 1;
            let y = if line[k].0 == t {
                line[k].1
            } else {
                let (p, q) = (line[k], line[k + 1]);
                p.1 + (q.1 - p.1) * (t - p.0) / (q.0 - p.0)
            };
            assert_eq!(y, v, "sample {i}");
        }
    }

    #[test]
    fn sample_times_are_exact_multiples_of_the_step_and_can_be_found_by_time() {
        let mut s = Series::new(SimDuration::from_millis(100));
        for _ in 0..31 {
            s.push_row(vec![(SeriesKey::MigrationsActive, 0.0)]);
        }
        assert_eq!(s.t(3), 0.3);
        assert_eq!(s.samples_until(0.3), 4);
        assert_eq!(s.samples_before(0.3), 3);
        assert_eq!(s.samples_until(0.35), 4);
        assert_eq!(s.samples_until(-1.0), 0);
        assert_eq!(s.samples_until(1e9), 31);
        assert_eq!(s.samples_before(0.0), 0);
    }

    #[test]
    fn the_report_form_is_one_value_per_sample() {
        let s = series(&[&[("a", 1.0)], &[("a", 1.0)], &[("a", 2.5)]]);
        let j = serde_json::to_value(&s).unwrap();
        assert_eq!(j["t_s"], serde_json::json!([0.0, 1.0, 2.0]));
        assert_eq!(
            j["columns"]["a.lm_cpu_pct"],
            serde_json::json!([1.0, 1.0, 2.5])
        );
        assert_eq!(j["step_s"], serde_json::json!(1.0));
    }
}
