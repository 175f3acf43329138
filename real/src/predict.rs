//! The model's prediction for a real run: the same VM (memory, dirty rate, working set, content,
//! stop rule) migrated by the simulation over the lab's transport, so measured and predicted can
//! be put side by side. Pure: it runs a [`Simulation`] and reads its report.

use super::RealConfig;
use lmlab_engine::report::MigrationReport;
use lmlab_engine::scenario::Scenario;
use lmlab_engine::sim::SeriesKey;
use lmlab_engine::{SimDuration, SimTime, Simulation, command::Command};
use serde::{Deserialize, Serialize};

/// What the model predicts for one migration of a VM.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub vm: String,
    pub from: String,
    pub to: String,
    /// The path the transport model chose ("SMB Direct (RoCEv2)", "TCP, one flow on …").
    pub path: String,
    pub avg_gbps: f64,
    pub passes: u32,
    pub downtime_ms: f64,
    pub total_s: f64,
    /// Guest-memory rate over time, seconds from the migration's first byte.
    pub rate_gbps: Vec<(f64, f64)>,
    /// Live-migration CPU of the source and destination hosts, % of each host, averaged over the
    /// copy.
    pub cpu_src_pct: f64,
    pub cpu_dst_pct: f64,
}

/// Why the model cannot predict a run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PredictError {
    #[error("no VM named {0:?} in the scenario")]
    NoVm(String),
    #[error("the scenario has no second host to migrate to")]
    NoSecondHost,
    #[error("the model cannot migrate {vm} to {to}: {reason}")]
    Refused {
        vm: String,
        to: String,
        reason: String,
    },
    #[error("the model started no migration")]
    NotStarted,
    #[error("the model's migration did not complete: {0}")]
    NotCompleted(String),
}

/// The real-run settings that match VM `vm` of `scenario`: its memory (capped at `max_memory`
/// so a laptop can run it), dirty rate, working set, content profile and stop rule.
pub fn config_for_vm(
    scenario: &Scenario,
    vm: &str,
    max_memory: u64,
) -> Result<RealConfig, PredictError> {
    let spec = &scenario.spec;
    let v = spec
        .vms
        .iter()
        .find(|v| v.name == vm)
        .ok_or_else(|| PredictError::NoVm(vm.to_string()))?;
    let memory = v.memory.0.min(max_memory) / 4096 * 4096;
    let scale = memory as f64 / v.memory.0.max(1) as f64;
    let ws = v.working_set.map(|b| b.0).unwrap_or(v.memory.0);
    Ok(RealConfig {
        memory_bytes: memory,
        dirty_rate_bytes_per_s: v.dirty_rate.0,
        // Keep the working set's share of memory when memory is capped.
        working_set_bytes: ((ws as f64 * scale) as u64).max(4096),
        profile: v.memory_profile.clone(),
        target_pause: spec.migration.target_pause,
        max_passes: spec.migration.max_passes,
        seed: spec.seed,
        ..RealConfig::default()
    })
}

/// Runs the model on `scenario` for one migration of `vm` (to `to`, or the first other host),
/// with the VM's memory set to `memory_bytes` so the prediction is for the same image.
pub fn predict(
    scenario: &Scenario,
    vm: &str,
    to: Option<&str>,
    cfg: &RealConfig,
) -> Result<Prediction, PredictError> {
    let mut sc = scenario.clone();
    sc.script.clear();
    let v = sc
        .spec
        .vms
        .iter_mut()
        .find(|v| v.name == vm)
        .ok_or_else(|| PredictError::NoVm(vm.to_string()))?;
    v.memory = lmlab_engine::units::Bytes(cfg.memory_bytes);
    v.dirty_rate = lmlab_engine::units::ByteRate(cfg.dirty_rate_bytes_per_s);
    v.working_set = Some(lmlab_engine::units::Bytes(
        cfg.working_set_bytes.min(cfg.memory_bytes),
    ));
    v.memory_profile = cfg.profile.clone();
    let from = v.host.clone();
    let to = match to {
        Some(t) => t.to_string(),
        None => sc
            .spec
            .hosts
            .iter()
            .map(|h| h.name.clone())
            .find(|h| *h != from)
            .ok_or(PredictError::NoSecondHost)?,
    };
    let seed = sc.spec.seed;
    let mut sim = Simulation::new(sc, seed);
    sim.apply(Command::Migrate {
        vm: vm.to_string(),
        to: to.clone(),
    })
    .map_err(|e| PredictError::Refused {
        vm: vm.to_string(),
        to: to.clone(),
        reason: e.to_string(),
    })?;
    // Advance until the migration ends (or an hour of simulated time).
    let limit = SimTime::ZERO + SimDuration::from_secs(3600);
    while sim.now() < limit {
        let done = sim.migrations().first().is_some_and(|m| m.ended.is_some());
        if done {
            break;
        }
        let next = sim.now() + SimDuration::from_secs(1);
        sim.advance_to(next);
    }
    let m = sim.migrations().first().ok_or(PredictError::NotStarted)?;
    let r = MigrationReport::of(&sim, m);
    if r.outcome != Some(lmlab_engine::sim::Outcome::Completed) {
        return Err(PredictError::NotCompleted(
            r.reason.clone().unwrap_or_else(|| r.phase.clone()),
        ));
    }
    let start = r.start_s.unwrap_or(0.0);
    let end = r.end_s.unwrap_or(start);
    let series = sim.series();
    let mean_in = |key: SeriesKey<'_>| -> f64 {
        let Some(vals) = series.get(key) else {
            return 0.0;
        };
        let picked: Vec<f64> = series
            .times()
            .zip(vals.values(series.len()))
            .filter(|(t, _)| *t >= start && *t <= end)
            .map(|(_, v)| v)
            .collect();
        if picked.is_empty() {
            0.0
        } else {
            picked.iter().sum::<f64>() / picked.len() as f64
        }
    };
    // The model's copy starts after the setup; the real run has no setup: align on first byte.
    let first = r
        .rate_gbps
        .iter()
        .find(|(_, g)| *g > 0.0)
        .map(|(t, _)| *t)
        .unwrap_or(start);
    let mut rate_gbps: Vec<(f64, f64)> = r
        .rate_gbps
        .iter()
        .filter(|(t, _)| *t >= first)
        .map(|(t, g)| (t - first, *g))
        .collect();
    // The history records changes of rate; close it where the copy ends.
    if r.avg_gbps > 0.0 && rate_gbps.last().is_some_and(|l| l.1 > 0.0) {
        let copy_s = r.bytes as f64 * 8.0 / (r.avg_gbps * 1e9);
        rate_gbps.push((copy_s, 0.0));
    }
    Ok(Prediction {
        vm: vm.to_string(),
        from: r.from.clone(),
        to: r.to.clone(),
        path: r.path.clone(),
        avg_gbps: r.avg_gbps,
        passes: r.iterations,
        downtime_ms: r.downtime_ms.unwrap_or(0.0),
        total_s: r.total_time_ms.unwrap_or(0.0) / 1e3,
        rate_gbps,
        cpu_src_pct: mean_in(SeriesKey::HostCpu { host: &r.from }),
        cpu_dst_pct: mean_in(SeriesKey::HostCpu { host: &r.to }),
    })
}

/// Measured against predicted: relative throughput error, CPU difference in points.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ErrorVsModel {
    /// (measured − model) / model, in %; 0 when the model predicts no throughput.
    pub gbps_pct: f64,
    pub cpu_src_points: f64,
    pub cpu_dst_points: f64,
}

/// How far a real run's measurement is from the model's prediction.
pub fn error_vs_model(r: &super::RealReport, p: &Prediction) -> ErrorVsModel {
    ErrorVsModel {
        gbps_pct: if p.avg_gbps > 0.0 {
            100.0 * (r.avg_gbps - p.avg_gbps) / p.avg_gbps
        } else {
            0.0
        },
        cpu_src_points: r.cpu_src_pct - p.cpu_src_pct,
        cpu_dst_points: r.cpu_dst_pct - p.cpu_dst_pct,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_lab_predicts_a_completed_migration_with_its_path() {
        let text = include_str!("../../assets/scenarios/seed-lab.toml");
        let sc = match Scenario::from_toml(text, "seed-lab.toml") {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let vm = sc.spec.vms[0].name.clone();
        let cfg = config_for_vm(&sc, &vm, 256 << 20).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg.memory_bytes, 256 << 20);
        let p = predict(&sc, &vm, None, &cfg).unwrap_or_else(|e| panic!("{e}"));
        assert!(p.avg_gbps > 1.0, "{p:?}");
        assert!(!p.path.is_empty());
        assert!(p.cpu_src_pct >= 0.0);
    }
}
