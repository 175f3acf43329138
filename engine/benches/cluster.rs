//! Benchmark: a 64-node cluster with 8,000 VMs through 24 simulated hours of random faults
//! (crashes and restarts of the cluster service, power cycles, cut networks, pauses), with the
//! cluster's reactions (isolation, failover, quarantine, drains by live migration).
//! Target (issue 5): under 10 s of wall time. Run: `cargo bench -p lmlab-engine --bench cluster`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use lmlab_engine::report::Report;
use lmlab_engine::rng::SimRng;
use lmlab_engine::{Command, Scenario, SimTime, Simulation};
use std::time::Instant;

fn cluster() -> Scenario {
    let header = "name = \"big\"\nsample_step = \"60s\"\n[cluster]\nwitness = \"Disk\"\n[migration]\nperformance_option = \"SMB\"\nmax_simultaneous = 2\n[[switches]]\nname = \"sw\"\n[[storage]]\nname = \"sofs\"\nkind = \"SMB3\"\n[[storage]]\nname = \"csv\"\nkind = \"CSV\"";
    let text = common::lab(
        header,
        125,
        "",
        |_| "  mtu = 9000".into(),
        |v| {
            let storage = if v % 3 == 0 { "csv" } else { "sofs" };
            let priority = ["High", "Medium", "Medium", "Low"][v % 4];
            format!(
                "memory = \"8GiB\"\ndirty_rate = \"10MiB/s\"\nworking_set = \"1GiB\"\nstorage = \"{storage}\"\npriority = \"{priority}\""
            )
        },
    );
    Scenario::from_toml(&text, "big.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn main() {
    let scenario = cluster();
    println!(
        "cluster: 64 nodes, 8,000 VMs, 24 simulated hours of random faults (one every ~3 minutes)"
    );
    let mut times = Vec::new();
    let mut summary = String::new();
    for run in 0..3u64 {
        let t0 = Instant::now();
        let mut sim = Simulation::new(scenario.clone(), run);
        let mut rng = SimRng::new(1000 + run);
        let mut t = 0u64;
        let mut faults = 0;
        while t < 86_400 {
            t += 60 + rng.below(240);
            sim.advance_to(SimTime::from_secs(t));
            let node = format!("n{}", rng.below(64));
            let cmd = match rng.below(10) {
                0 | 1 => Command::CrashClusterService { node },
                2 | 3 => Command::RestartClusterService { node },
                4 => Command::PowerOff { node },
                5 => Command::PowerOn { node },
                6 => Command::CutNetworks { node },
                7 => Command::HealNetworks { node },
                8 => Command::PauseNode { node },
                _ => Command::ResumeNode { node },
            };
            if sim.apply(cmd).is_ok() {
                faults += 1;
            }
        }
        sim.advance_to(SimTime::from_secs(86_400));
        times.push(t0.elapsed().as_secs_f64());
        let r = Report::from_simulation(&sim);
        summary = format!(
            "{faults} faults applied, {} events, {} live migrations, {} quarantines",
            r.events.len(),
            r.migrations.len(),
            r.events.iter().filter(|e| e.event_id == Some(1672)).count()
        );
    }
    times.sort_by(f64::total_cmp);
    println!(
        "  median {:.2} s wall (min {:.2}, max {:.2}; 3 runs); {summary}",
        times[1], times[0], times[2]
    );
}
