//! A measured run beside the model's migration of the same VM: the measured series placed so
//! that the migration's first sample falls where the model's migration starts, and a table of
//! errors (steady throughput, each measured host's CPU, the pause, the total time), model minus
//! measured. The same summaries are taken of both sides: the median of the samples above half
//! the largest for throughput, the mean CPU over those samples.

use super::{MeasuredRun, mean_between, steady, steady_window};
use crate::command::{Command, TimedCommand};
use crate::report::MigrationReport;
use crate::scenario::Scenario;
use crate::sim::{SeriesKey, Simulation};
use crate::time::SimDuration;
use crate::units::Bytes;
use serde::Serialize;

/// One compared quantity.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Quantity {
    /// "throughput", "CPU hv1", "pause", "total time".
    pub name: String,
    pub unit: &'static str,
    pub measured: f64,
    pub model: f64,
}

impl Quantity {
    /// Model minus measured.
    pub fn error(&self) -> f64 {
        self.model - self.measured
    }

    /// The error as a share of the measured value, %; none when the measurement is zero.
    pub fn error_pct(&self) -> Option<f64> {
        (self.measured.abs() > 1e-12).then(|| 100.0 * self.error() / self.measured)
    }
}

/// A measured run set beside the model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    pub run: String,
    pub vm: String,
    /// Where the model's migration of the VM starts (simulated seconds); the measured series are
    /// drawn from here. None when the lab does not migrate the VM.
    pub model_start_s: Option<f64>,
    pub model_path: String,
    pub quantities: Vec<Quantity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The model's migration of each run, in order: each run gets the first started migration of
/// its VM (from its source host) that an earlier run has not taken, so three measured runs of
/// one VM sit beside the model's first three.
pub fn model_migrations<'a>(
    sim: &'a Simulation,
    runs: &[MeasuredRun],
) -> Vec<Option<&'a crate::sim::Migration>> {
    let spec = &sim.scenario().spec;
    let mut taken = vec![false; sim.migrations().len()];
    runs.iter()
        .map(|run| {
            let vm = spec.vms.iter().position(|v| v.name == run.vm)?;
            let from = run
                .from
                .as_ref()
                .and_then(|h| spec.hosts.iter().position(|x| &x.name == h));
            let k = sim.migrations().iter().enumerate().position(|(k, m)| {
                !taken[k] && m.vm == vm && from.is_none_or(|f| f == m.from) && m.started.is_some()
            })?;
            taken[k] = true;
            sim.migrations().get(k)
        })
        .collect()
}

/// The model's rate as 1 s samples from its start to its end (the measured side is sampled
/// that way too).
fn sampled_rate(r: &MigrationReport, start: f64, end: f64) -> Vec<(f64, f64)> {
    let at = |t: f64| {
        r.rate_gbps
            .iter()
            .take_while(|p| p.0 <= t + 1e-9)
            .last()
            .map_or(0.0, |p| p.1)
    };
    let mut out = Vec::new();
    let mut t = start + 1.0;
    while t <= end + 1e-9 && out.len() < 1_000_000 {
        out.push((t, at(t - 0.5)));
        t += 1.0;
    }
    if out.is_empty() {
        out.push((end, at(start)));
    }
    out
}

/// The mean of a model series over the samples in `from..=to` (only those are read: the window
/// asks every frame, and a run may hold millions of samples).
fn model_mean(sim: &Simulation, key: SeriesKey<'_>, from: f64, to: f64) -> Option<f64> {
    let series = sim.series();
    let col = series.get(key)?;
    let (lo, hi) = (
        series.samples_before(from - 1e-9),
        series.samples_until(to + 1e-9),
    );
    let points: Vec<(f64, f64)> = (lo..hi).map(|i| (series.t(i), col.value(i))).collect();
    mean_between(&points, from, to)
}

/// Sets every run beside the model's migration of its VM in `sim`.
pub fn compare(sim: &Simulation, runs: &[MeasuredRun]) -> Vec<Comparison> {
    let ms = model_migrations(sim, runs);
    runs.iter()
        .zip(ms)
        .map(|(run, m)| compare_one(sim, run, m))
        .collect()
}

fn compare_one(
    sim: &Simulation,
    run: &MeasuredRun,
    m: Option<&crate::sim::Migration>,
) -> Comparison {
    let mut c = Comparison {
        run: run.label.clone(),
        vm: run.vm.clone(),
        model_start_s: None,
        model_path: String::new(),
        quantities: Vec::new(),
        note: None,
    };
    let Some(m) = m else {
        c.note = Some(format!(
            "the lab does not migrate {} (yet): start that migration to set the measurement beside it",
            run.vm
        ));
        return c;
    };
    let r = MigrationReport::of(sim, m);
    let start = r.start_s.unwrap_or(r.requested_s);
    c.model_start_s = Some(start);
    c.model_path = r.path.clone();
    let Some(end) = r.end_s else {
        c.note = Some(format!(
            "the model's migration of {} has not ended yet",
            run.vm
        ));
        return c;
    };
    let rate = sampled_rate(&r, start, end);
    if let (Some(measured), Some(model)) = (run.throughput_gbps(), steady(&rate)) {
        c.quantities.push(Quantity {
            name: "throughput".into(),
            unit: "Gbit/s",
            measured,
            model,
        });
    }
    let window = steady_window(&rate);
    for h in &run.cpu {
        let (Some(measured), Some((a, b))) = (run.cpu_pct(&h.host), window) else {
            continue;
        };
        if let Some(model) = model_mean(sim, SeriesKey::HostCpu { host: &h.host }, a, b) {
            c.quantities.push(Quantity {
                name: match run.cpu_idle_pct(&h.host) {
                    Some(idle) => format!("CPU {} (above idle {idle:.1} %)", h.host),
                    None => format!("CPU {}", h.host),
                },
                unit: "%",
                measured,
                model,
            });
        }
    }
    // Each measured NIC against the model's traffic of that NIC and direction: RDMA Activity
    // for an SMB Direct migration, Network Adapter bytes for the others (whether RDMA bytes
    // count in Network Adapter is not documented; the fixture's do not).
    let rdma = r.path.starts_with("SMB Direct");
    for n in run
        .nics
        .iter()
        .filter(|n| n.direction.starts_with("RDMA") == rdma)
    {
        let (Some((a, b)), Some(measured)) = (window, steady(&n.gbps)) else {
            continue;
        };
        let (host, nic) = (n.host.as_str(), n.nic.as_str());
        let key = match n.direction.as_str() {
            "sent" | "RDMA out" => SeriesKey::NicSend { host, nic },
            "received" | "RDMA in" => SeriesKey::NicReceive { host, nic },
            _ => continue,
        };
        if let Some(model) = model_mean(sim, key, a, b) {
            c.quantities.push(Quantity {
                name: format!("{host} {nic} {}", n.direction),
                unit: "Gbit/s",
                measured,
                model,
            });
        }
    }
    if let (Some(measured), Some(model)) = (run.pause_ms, r.downtime_ms) {
        c.quantities.push(Quantity {
            name: "pause".into(),
            unit: "ms",
            measured,
            model,
        });
    }
    if let (Some(measured), Some(model)) = (run.total_s, r.total_time_ms) {
        c.quantities.push(Quantity {
            name: "total time".into(),
            unit: "s",
            measured,
            model: model / 1e3,
        });
    }
    c
}

/// A VM as it was for its first measured run: on the run's source host, with the measured image
/// size; returns the host it starts on.
fn place(v: &mut crate::scenario::VmSpec, run: &MeasuredRun, notes: &mut Vec<String>) -> String {
    if let Some(from) = &run.from
        && *from != v.host
    {
        notes.push(format!(
            "{} starts on {from}, where the measurement found it (the lab has it on {})",
            v.name, v.host
        ));
        v.host = from.clone();
    }
    if let Some(bytes) = run.memory_bytes
        && (bytes as f64 - v.memory.as_f64()).abs() > 0.01 * v.memory.as_f64()
    {
        notes.push(format!(
            "{} has the measured image size, {} (the lab says {})",
            v.name,
            Bytes(bytes),
            v.memory
        ));
        v.memory = Bytes(bytes);
    }
    v.host.clone()
}

/// The lab as it was for the measured runs, for labs that do not migrate the runs' VMs: the
/// lab's own script left out, each such VM placed on the run's source host, given the measured
/// image size, and migrated to the run's destination, one run after another (a minute apart,
/// from 10 s). Says what it changed.
pub fn prepare(scenario: &Scenario, runs: &[MeasuredRun]) -> (Scenario, Vec<String>) {
    let mut sc = scenario.clone();
    let mut notes = Vec::new();
    let mut at = 10;
    let unscripted = |run: &&MeasuredRun| {
        !scenario
            .script
            .iter()
            .any(|c| matches!(&c.command, Command::Migrate { vm: v, .. } if *v == run.vm))
    };
    // A measurement is of one migration alone: a lab whose script does not migrate the runs'
    // VMs runs their migrations and nothing else.
    if runs.iter().any(|r| unscripted(&r)) && !sc.script.is_empty() {
        notes.push(format!(
            "the lab's own script ({} entries) is left out: each measured migration runs alone",
            sc.script.len()
        ));
        sc.script.clear();
    }
    // Where each VM is after the runs scheduled so far.
    let mut now_on: std::collections::BTreeMap<usize, String> = Default::default();
    let mut migrate = |sc: &mut Scenario, vm: &str, to: &str| {
        sc.script.push(TimedCommand {
            at: SimDuration::from_secs(at),
            command: Command::Migrate {
                vm: vm.to_string(),
                to: to.to_string(),
            },
        });
        let t = at;
        at += 60;
        t
    };
    for run in runs.iter().filter(unscripted) {
        let Some(vm) = sc.spec.vms.iter().position(|v| v.name == run.vm) else {
            continue;
        };
        let from = match now_on.get(&vm).cloned() {
            // A later run of the same VM: back to its source first if the last one left it away.
            Some(host) => {
                let from = run.from.clone().unwrap_or_else(|| host.clone());
                if from != host {
                    let t = migrate(&mut sc, &run.vm, &from);
                    notes.push(format!("moves {} back to {from} at {t}s", run.vm));
                }
                from
            }
            // The first: the VM placed as it was measured.
            None => place(&mut sc.spec.vms[vm], run, &mut notes),
        };
        let to = run.to.clone().or_else(|| {
            sc.spec
                .hosts
                .iter()
                .map(|h| h.name.clone())
                .find(|h| *h != from)
        });
        let Some(to) = to else { continue };
        let t = migrate(&mut sc, &run.vm, &to);
        notes.push(format!("migrates {} from {from} to {to} at {t}s", run.vm));
        now_on.insert(vm, to);
    }
    sc.script.sort_by_key(|c| c.at);
    (sc, notes)
}

/// How long to run a prepared lab: until every migration the runs are set beside has ended
/// (at most `limit_s`).
pub fn run_until_compared(sim: &mut Simulation, runs: &[MeasuredRun], limit_s: u64) {
    let limit = crate::time::SimTime::ZERO + SimDuration::from_secs(limit_s);
    let last_script = sim
        .scenario()
        .script
        .last()
        .map_or(SimDuration::ZERO, |c| c.at);
    loop {
        let now = sim.now();
        let past_script = now >= crate::time::SimTime::ZERO + last_script;
        let done = model_migrations(sim, runs)
            .iter()
            .all(|m| m.is_some_and(|m| m.ended.is_some()));
        if (past_script && done) || now >= limit {
            break;
        }
        sim.advance_to(now + SimDuration::from_secs(5));
    }
    // A few seconds more, so the charts show the end.
    let end = sim.now() + SimDuration::from_secs(10);
    sim.advance_to(end);
}

/// The error table as CSV: one row per run and quantity.
pub fn error_csv(cs: &[Comparison]) -> String {
    use crate::report::csv_field;
    let mut out = String::from("run,vm,quantity,unit,measured,model,error,error_pct\n");
    for c in cs {
        for q in &c.quantities {
            out.push_str(&format!(
                "{},{},{},{},{:.4},{:.4},{:.4},{}\n",
                csv_field(&c.run),
                csv_field(&c.vm),
                csv_field(&q.name),
                q.unit,
                q.measured,
                q.model,
                q.error(),
                q.error_pct().map_or(String::new(), |p| format!("{p:.2}"))
            ));
        }
    }
    out
}
