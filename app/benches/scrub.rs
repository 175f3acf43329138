//! Benchmark: a jump on the timeline (the scrub bar, Go to, Back). Jumping back replays the lab
//! from the latest checkpoint before the target (or from zero) with the commands given since;
//! forward runs on.
//! Target (issue 14): a scrub to 1 h of the resiliency lab under 200 ms (median).
//! Run: `cargo bench -p lmlab --bench scrub`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../engine/benches/common/mod.rs"]
mod common;

use lmlab_app::presets;
use lmlab_app::ui::{LabAction, LabState, ViewAction};
use lmlab_engine::rng::SimRng;
use lmlab_engine::{Command, SimTime};
use std::time::Instant;

/// Median wall time of `runs` jumps made by `jump` (after `setup`).
fn median_ms(runs: usize, mut jump: impl FnMut() -> f64) -> (f64, f64, f64) {
    let mut v: Vec<f64> = (0..runs).map(|_| jump()).collect();
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// Resident memory of this process in MiB (0 where /proc is not there).
fn resident_mib() -> f64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |pages| pages * 4096.0 / 1048576.0)
}

fn main() {
    // The resiliency lab at 2 h with a crash every ~10 minutes, then jumps back to 1 h.
    let mut lab = LabState::new(presets::load("resiliency-lab.toml").unwrap());
    let mut rng = SimRng::new(3);
    let mut t = 0;
    while t < 7200 {
        t += 300 + rng.below(600);
        lab.handle(ViewAction::GoTo(SimTime::from_secs(t.min(7200))));
        let node = format!("node{}", 1 + rng.below(4));
        lab.handle(LabAction::Apply(Command::CrashClusterService { node }));
    }
    lab.handle(ViewAction::GoTo(SimTime::from_secs(7200)));
    let commands = lab.sim().history().len();
    let (med, min, max) = median_ms(15, || {
        lab.handle(ViewAction::GoTo(SimTime::from_secs(7200)));
        let t0 = Instant::now();
        lab.handle(ViewAction::GoTo(SimTime::from_secs(3600)));
        t0.elapsed().as_secs_f64() * 1e3
    });
    println!(
        "scrub: resiliency lab, back from 2 h to 1 h ({commands} commands): median {med:.1} ms (min {min:.1}, max {max:.1}; 15 jumps)"
    );
    // The 64-node, 8,000-VM lab with an hour of commands: back from 1 h to 30 min.
    let mut big = LabState::new(common::session_lab());
    let mut t = 0;
    while t < 3600 {
        t += 30 + rng.below(90);
        big.handle(ViewAction::GoTo(SimTime::from_secs(t)));
        let node = format!("n{}", rng.below(64));
        let cmd = match rng.below(4) {
            0 => Command::CrashClusterService { node },
            1 => Command::RestartClusterService { node },
            2 => Command::PauseNode { node },
            _ => Command::ResumeNode { node },
        };
        big.handle(LabAction::Apply(cmd));
    }
    big.handle(ViewAction::GoTo(SimTime::from_secs(3600)));
    let (med, min, max) = median_ms(5, || {
        big.handle(ViewAction::GoTo(SimTime::from_secs(3600)));
        let t0 = Instant::now();
        big.handle(ViewAction::GoTo(SimTime::from_secs(1800)));
        t0.elapsed().as_secs_f64() * 1e3
    });
    println!(
        "scrub: 64 nodes, 8,000 VMs, back from 1 h to 30 min: median {med:.0} ms (min {min:.0}, max {max:.0}; 5 jumps; {} checkpoints kept)",
        big.checkpoints_kept()
    );
    // What a checkpoint costs: one copy of the big lab's run at 1 h.
    big.handle(ViewAction::GoTo(SimTime::from_secs(3600)));
    let (med, min, max) = median_ms(5, || {
        let t0 = Instant::now();
        let copy = big.sim().clone();
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        drop(copy);
        ms
    });
    let before = resident_mib();
    let copies: Vec<_> = (0..4).map(|_| big.sim().clone()).collect();
    let estimate = lmlab_app::ui::checkpoint_bytes(big.sim()) as f64 / 1048576.0;
    let per_copy = (resident_mib() - before) / copies.len() as f64;
    drop(copies);
    println!(
        "checkpoint: one copy of the 64-node, 8,000-VM run at 1 h: median {med:.1} ms (min {min:.1}, max {max:.1}; 5 copies), about {per_copy:.1} MiB each (resident memory, Linux only; lmlab's estimate {estimate:.1} MiB)"
    );
}
