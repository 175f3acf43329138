//! The sampled time series and the one vocabulary for its columns.
//!
//! Every reader of the series (plots, exports, the canvas, the inspector, the real run's
//! prediction) names a column with a [`SeriesKey`]; only this module turns a key into the column
//! name that CSV files and reports carry (`hv1.nic1.rx_gbps`), so the simulation and its readers
//! cannot drift apart.

use crate::scenario::HostSpec;
use serde::Serialize;
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

/// Sampled time series: one row per `step`, one column per named quantity.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Series {
    pub step_s: f64,
    pub t_s: Vec<f64>,
    /// Column name → values, one per `t_s`. Names carry their units (`hv1.lm_cpu_pct`); they are
    /// made by [`SeriesKey::column`].
    pub columns: BTreeMap<String, Vec<f64>>,
}

impl Series {
    /// The column of `key`, if it has been sampled.
    pub fn get(&self, key: SeriesKey<'_>) -> Option<&[f64]> {
        self.columns.get(&key.column()).map(Vec::as_slice)
    }

    /// The latest value of `key` (0 before it is sampled).
    pub fn last(&self, key: SeriesKey<'_>) -> f64 {
        self.get(key).and_then(|c| c.last()).copied().unwrap_or(0.0)
    }

    /// The sum of the columns at every sample (missing columns count as zero).
    pub fn sum_of<'k>(&self, keys: impl IntoIterator<Item = SeriesKey<'k>>) -> Vec<f64> {
        let cols: Vec<&[f64]> = keys.into_iter().filter_map(|k| self.get(k)).collect();
        (0..self.t_s.len())
            .map(|i| cols.iter().filter_map(|c| c.get(i)).sum())
            .collect()
    }

    /// Live-migration receive traffic of a host on the wire, all NICs together (Gbit/s).
    pub fn host_rx_gbps(&self, host: &HostSpec) -> Vec<f64> {
        self.sum_of(host.nics.iter().map(|n| SeriesKey::NicReceive {
            host: &host.name,
            nic: &n.name,
        }))
    }

    /// Records `values` as the row at time `t_s`. Every column gets a value in every row (0 before
    /// it first appears), so columns always line up with `t_s`.
    pub(crate) fn push_row(&mut self, t_s: f64, values: Vec<(SeriesKey<'_>, f64)>) {
        let row = self.t_s.len();
        self.t_s.push(t_s);
        for (key, v) in values {
            let col = self.columns.entry(key.column()).or_default();
            col.resize(row, 0.0);
            col.push(v);
        }
        for col in self.columns.values_mut() {
            col.resize(row + 1, 0.0);
        }
    }
}
