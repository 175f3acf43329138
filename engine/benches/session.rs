//! Benchmark: saving and reopening a one-hour, 64-node session (8,000 VMs, a command every ~2
//! simulated minutes). Reopening replays the whole hour. Target (issue 7): each under 1 s.
//! Run: `cargo bench -p lmlab-engine --bench session`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use lmlab_engine::rng::SimRng;
use lmlab_engine::session::SessionFile;
use lmlab_engine::{Command, SimTime, Simulation};
use std::collections::BTreeMap;
use std::time::Instant;

fn main() {
    let mut sim = Simulation::new(common::session_lab(), 9);
    let mut rng = SimRng::new(9);
    let mut t = 0;
    while t < 3600 {
        t += 60 + rng.below(120);
        sim.advance_to(SimTime::from_secs(t.min(3600)));
        let node = format!("n{}", rng.below(64));
        let cmd = match rng.below(5) {
            0 => Command::CrashClusterService { node },
            1 => Command::RestartClusterService { node },
            2 => Command::PauseNode { node },
            3 => Command::ResumeNode { node },
            _ => Command::Migrate {
                vm: format!("vm{}-{}", rng.below(64), rng.below(125)),
                to: node,
            },
        };
        let _ = sim.apply(cmd);
    }
    sim.advance_to(SimTime::from_secs(3600));
    let layout: BTreeMap<String, [f32; 2]> = (0..64)
        .map(|h| (format!("host:n{h}"), [h as f32 * 300.0, 140.0]))
        .collect();
    let dir = std::env::temp_dir().join(format!("lmlab-bench-session-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.lmlab.json");
    let (mut save, mut open) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        let t0 = Instant::now();
        SessionFile::capture(&sim, &layout)
            .unwrap()
            .save(&path)
            .unwrap();
        save.push(t0.elapsed().as_secs_f64());
        let t0 = Instant::now();
        let reopened = SessionFile::load(&path).unwrap().open("big").unwrap();
        open.push(t0.elapsed().as_secs_f64());
        assert_eq!(reopened.now(), sim.now());
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    save.sort_by(f64::total_cmp);
    open.sort_by(f64::total_cmp);
    println!(
        "session: 64 nodes, 8,000 VMs, 1 simulated hour, {} commands, {} KiB file",
        sim.history().len(),
        size / 1024
    );
    println!(
        "  save   median {:.3} s (min {:.3}, max {:.3}; 7 runs)",
        save[3], save[0], save[6]
    );
    println!(
        "  reopen median {:.3} s (min {:.3}, max {:.3}; 7 runs, replaying the hour)",
        open[3], open[0], open[6]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
