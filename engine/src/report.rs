//! The JSON report of `lmlab run` and the CSV files of its series. Field names are a contract with
//! users' scripts (documented in `docs/report-format.md`): add fields, never rename them.

use crate::rng::RNG_ALGORITHM;
use crate::sim::{LogEvent, Series, Simulation, Snapshot};
use serde::Serialize;
use serde::ser::SerializeMap;
use std::fmt::Write as _;

/// A list serialized as a JSON object keyed by name, in the list's order (file order), so
/// reports read like the scenario and stay byte-identical between runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Named<T>(pub Vec<(String, T)>);

impl<T: Serialize> Serialize for Named<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeReport {
    pub state: crate::sim::NodeState,
    pub status: Vec<String>,
    pub service: crate::sim::ServiceState,
    pub powered: bool,
    pub networks_cut: bool,
    pub nics_unplugged: Vec<String>,
    pub storage_lost: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VmReport {
    pub host: String,
    pub state: crate::sim::VmState,
    pub role: crate::sim::RoleState,
    pub unmonitored: bool,
    pub outage_s: f64,
    /// Seconds Running-Critical or Paused-Critical (counted in `outage_s` too by default).
    pub frozen_s: f64,
}

/// One live migration, named like QEMU's `query-migrate` where the meaning is the same.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MigrationReport {
    pub vm: String,
    pub from: String,
    pub to: String,
    /// Queued, Setup, Precopy, SwitchOver, Resume, Cleanup, Completed or Failed.
    pub phase: String,
    pub requested_s: f64,
    pub start_s: Option<f64>,
    pub end_s: Option<f64>,
    /// `completed`, `failed`, or null while it runs.
    pub outcome: Option<crate::sim::Outcome>,
    pub reason: Option<String>,
    pub path: String,
    /// Guest memory size.
    pub total_bytes: u64,
    /// Guest-memory bytes sent in all passes and the switch-over (QEMU `transferred`).
    pub bytes: u64,
    /// Bytes left in the current pass (QEMU `remaining`).
    pub remaining_bytes: u64,
    /// Bytes on the wire after compression.
    pub wire_bytes: u64,
    /// Pre-copy passes completed (QEMU `dirty-sync-count`).
    pub iterations: u32,
    pub dirty_rate_bytes_per_s: f64,
    pub expected_downtime_ms: f64,
    /// The pause the VM felt (QEMU `downtime`), null if it never paused.
    pub downtime_ms: Option<f64>,
    /// The pause was longer than the target pause (a success that froze the guest too long).
    pub pause_over_target: bool,
    pub setup_time_ms: Option<f64>,
    pub total_time_ms: Option<f64>,
    pub avg_gbps: f64,
    pub peak_gbps: f64,
    /// (t_s, Gbit/s) at each change of rate.
    pub rate_gbps: Vec<(f64, f64)>,
    pub forecast: crate::precopy::Forecast,
}

impl MigrationReport {
    pub fn of(sim: &Simulation, m: &crate::sim::Migration) -> MigrationReport {
        let spec = &sim.scenario().spec;
        let v = &spec.vms[m.vm];
        let ms = |d: crate::SimDuration| d.as_millis_f64();
        MigrationReport {
            vm: v.name.clone(),
            from: spec.hosts[m.from].name.clone(),
            to: spec.hosts[m.to].name.clone(),
            phase: format!("{:?}", m.phase),
            requested_s: m.requested.as_secs_f64(),
            start_s: m.started.map(|t| t.as_secs_f64()),
            end_s: m.ended.map(|t| t.as_secs_f64()),
            outcome: m.outcome,
            reason: m.reason.clone(),
            path: m.path.clone(),
            total_bytes: v.memory.0,
            bytes: m.transferred.round() as u64,
            remaining_bytes: m.stage_left.round() as u64,
            wire_bytes: m.wire_bytes.round() as u64,
            iterations: m.passes,
            dirty_rate_bytes_per_s: v.dirty_rate.0,
            expected_downtime_ms: m.forecast.pause_ms,
            downtime_ms: m.downtime.map(ms),
            pause_over_target: m.pause_over_target,
            setup_time_ms: m.setup_time.map(ms),
            total_time_ms: match (m.started, m.ended) {
                (Some(a), Some(b)) => Some(ms(b.since(a))),
                _ => None,
            },
            avg_gbps: if m.transfer_time_s > 0.0 {
                m.transferred * 8.0 / 1e9 / m.transfer_time_s
            } else {
                0.0
            },
            peak_gbps: m.peak_rate * 8.0 / 1e9,
            rate_gbps: m
                .rate_history
                .iter()
                .map(|(t, g)| (t.as_secs_f64(), *g))
                .collect(),
            forecast: m.forecast.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub lmlab_version: &'static str,
    pub scenario: String,
    pub seed: u64,
    pub rng: &'static str,
    pub until_s: f64,
    pub events: Vec<LogEvent>,
    pub migrations: Vec<MigrationReport>,
    pub nodes: Named<NodeReport>,
    pub vms: Named<VmReport>,
    /// Backup jobs (retries are jobs of their own), only in labs with backup sets.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backup_jobs: Vec<BackupJobReport>,
    /// Restore points, only in labs with backup sets.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub restore_points: Vec<RestorePointReport>,
    /// Every VM's Integration Services at the end, only in labs that state them.
    #[serde(skip_serializing_if = "Named::is_empty")]
    pub integration_services: Named<crate::sim::IntegrationStatus>,
    pub series: Series,
}

/// One backup job: its set, timing, outcome and how each VM was backed up.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BackupJobReport {
    pub set: String,
    pub attempt: u32,
    pub manual: bool,
    pub queued_s: f64,
    pub start_s: Option<f64>,
    pub end_s: Option<f64>,
    /// `succeeded`, `failed`, `discarded`, or null while it runs.
    pub outcome: Option<crate::sim::JobOutcome>,
    /// The VSS error as hex (`0x80042316`), if the job failed with one.
    pub code: Option<String>,
    pub error: Option<String>,
    pub retry_at_s: Option<f64>,
    pub vms: Named<crate::sim::VmBackup>,
}

/// One restore point (a replay per volume).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RestorePointReport {
    pub set: String,
    pub created_s: f64,
    pub replays: u32,
    pub keep_points: u32,
    pub expired_s: Option<f64>,
}

impl<T> Named<T> {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl BackupJobReport {
    pub fn of(sim: &Simulation, j: &crate::sim::BackupJob) -> BackupJobReport {
        let spec = &sim.scenario().spec;
        let secs = |t: Option<crate::SimTime>| t.map(|t| t.as_secs_f64());
        BackupJobReport {
            set: spec.backup_sets[j.set].name.clone(),
            attempt: j.attempt,
            manual: j.manual,
            queued_s: j.queued.as_secs_f64(),
            start_s: secs(j.started),
            end_s: secs(j.ended),
            outcome: j.outcome,
            code: j.code.map(|c| format!("0x{c:08X}")),
            error: j.error.clone(),
            retry_at_s: secs(j.retry_at),
            vms: Named(
                j.vms
                    .iter()
                    .map(|(v, how)| (spec.vms[*v].name.clone(), *how))
                    .collect(),
            ),
        }
    }
}

/// The backup jobs as CSV: `set,attempt,manual,queued_s,start_s,end_s,outcome,code,vms,error`
/// (`vms` as `name:how` separated by spaces).
pub fn backup_jobs_csv(sim: &Simulation) -> String {
    let mut out =
        String::from("set,attempt,manual,queued_s,start_s,end_s,outcome,code,vms,error\n");
    let opt = |t: Option<f64>| t.map(|t| t.to_string()).unwrap_or_default();
    for j in sim.backup_jobs() {
        let r = BackupJobReport::of(sim, j);
        let outcome = r.outcome.map(|o| o.name().to_string()).unwrap_or_default();
        let vms: Vec<String> = r
            .vms
            .0
            .iter()
            .map(|(n, how)| format!("{n}:{}", how.name()))
            .collect();
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{}",
            csv_field(&r.set),
            r.attempt,
            r.manual,
            r.queued_s,
            opt(r.start_s),
            opt(r.end_s),
            outcome,
            r.code.unwrap_or_default(),
            csv_field(&vms.join(" ")),
            csv_field(&r.error.unwrap_or_default())
        );
    }
    out
}

impl Report {
    pub fn from_simulation(sim: &Simulation) -> Report {
        let snap: Snapshot = sim.snapshot();
        let nodes = snap
            .nodes
            .into_iter()
            .map(|n| {
                let r = NodeReport {
                    state: n.state,
                    status: n.status,
                    service: n.service,
                    powered: n.powered,
                    networks_cut: n.networks_cut,
                    nics_unplugged: n
                        .nics
                        .into_iter()
                        .filter(|x| !x.plugged)
                        .map(|x| x.name)
                        .collect(),
                    storage_lost: n.storage_lost,
                };
                (n.name, r)
            })
            .collect();
        let vms = snap
            .vms
            .into_iter()
            .map(|v| {
                (
                    v.name,
                    VmReport {
                        host: v.host,
                        state: v.state,
                        role: v.role,
                        unmonitored: v.unmonitored,
                        outage_s: v.outage_s,
                        frozen_s: v.frozen_s,
                    },
                )
            })
            .collect();
        Report {
            lmlab_version: env!("CARGO_PKG_VERSION"),
            scenario: sim.scenario().spec.name.clone(),
            seed: sim.seed(),
            rng: RNG_ALGORITHM,
            until_s: sim.now().as_secs_f64(),
            events: sim.events().to_vec(),
            migrations: sim
                .migrations()
                .iter()
                .map(|m| MigrationReport::of(sim, m))
                .collect(),
            nodes: Named(nodes),
            vms: Named(vms),
            backup_jobs: sim
                .backup_jobs()
                .iter()
                .map(|j| BackupJobReport::of(sim, j))
                .collect(),
            restore_points: sim
                .restore_points()
                .iter()
                .map(|p| RestorePointReport {
                    set: sim.scenario().spec.backup_sets[p.set].name.clone(),
                    created_s: p.created.as_secs_f64(),
                    replays: p.replays,
                    keep_points: p.keep_points,
                    expired_s: p.expired.map(|t| t.as_secs_f64()),
                })
                .collect(),
            integration_services: Named(if sim.has_backup_or_is_data() {
                sim.scenario()
                    .spec
                    .vms
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| Some((v.name.clone(), sim.integration_status(i)?)))
                    .collect()
            } else {
                Vec::new()
            }),
            series: sim.series().clone(),
        }
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut s = serde_json::to_string_pretty(self)?;
        s.push('\n');
        Ok(s)
    }

    /// [`Report::to_json`] written as it is made (a long run's series is never held whole).
    pub fn write_json(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut *w, self)?;
        w.write_all(b"\n")
    }
}

/// Quotes a CSV field when it needs it (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The series as CSV: `t_s` then one column per series, in name order; one row per sample,
/// expanded from the change points while it is written.
pub fn write_series_csv(series: &Series, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    w.write_all(b"t_s")?;
    let mut cols = Vec::new();
    for (name, col) in series.columns() {
        write!(w, ",{}", csv_field(name))?;
        cols.push(col.values(series.len()));
    }
    w.write_all(b"\n")?;
    for t in series.times() {
        write!(w, "{t}")?;
        for col in &mut cols {
            match col.next() {
                Some(v) => write!(w, ",{v}")?,
                None => w.write_all(b",")?,
            }
        }
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// The event log as CSV: `t_s,kind,subject,event_id,detail`. (Writing into a `String` cannot
/// fail, so the `write!` results are ignored here and above.)
pub fn events_csv(events: &[LogEvent]) -> String {
    let mut out = String::from("t_s,kind,subject,event_id,detail\n");
    for e in events {
        let kind = e.kind.name();
        let _ = writeln!(
            out,
            "{},{},{},{},{}",
            e.t.as_secs_f64(),
            kind,
            csv_field(&e.subject),
            e.event_id.map(|i| i.to_string()).unwrap_or_default(),
            csv_field(&e.detail)
        );
    }
    out
}
