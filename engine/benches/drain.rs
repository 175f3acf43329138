//! Benchmark: live-migrating 8,000 VMs across a 64-node cluster (every node drains its 125 VMs to
//! the next node, at most 2 migrations at a time per host), simulated to completion.
//! Target (issue 4): under 2 s of wall time. Run: `cargo bench -p lmlab-engine --bench drain`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use lmlab_engine::report::Report;
use lmlab_engine::{Command, Scenario, SimTime, Simulation};
use std::time::Instant;

fn cluster(option: &str) -> Scenario {
    let header = format!(
        "name = \"drain\"\nsample_step = \"10s\"\n[migration]\nperformance_option = \"{option}\"\nmax_simultaneous = 2\n[[switches]]\nname = \"sw\"\ndcb_pfc = true\n[[storage]]\nname = \"sofs\"\nkind = \"SMB3\""
    );
    let text = common::lab(&header, 125, "", tuned_nic, |_| {
        "memory = \"8GiB\"\ndirty_rate = \"20MiB/s\"\nworking_set = \"1GiB\"\nstorage = \"sofs\""
            .into()
    });
    Scenario::from_toml(&text, "drain.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// Jumbo frames and RSS tuned to 8 queues on the NIC's own NUMA node.
fn tuned_nic(n: usize) -> String {
    format!(
        "  mtu = 9000\n  rss = \"Tuned\"\n  rss_tuned = {{ queues = 8, base_core = {}, numa_node = {n} }}",
        n * 16
    )
}

fn main() {
    println!("drain: 64 nodes x 125 VMs of 8 GiB, every VM live-migrated to the next node");
    for option in ["SMB", "TCPIP"] {
        let scenario = cluster(option);
        let mut times = Vec::new();
        let mut summary = String::new();
        for run in 0..3 {
            let t0 = Instant::now();
            let mut sim = Simulation::new(scenario.clone(), run);
            for h in 0..64 {
                for v in 0..125 {
                    sim.apply(Command::Migrate {
                        vm: format!("vm{h}-{v}"),
                        to: format!("n{}", (h + 1) % 64),
                    })
                    .unwrap();
                }
            }
            let mut t = 0;
            while sim.migrations().iter().any(|m| m.outcome.is_none()) && t < 86_400 {
                t += 600;
                sim.advance_to(SimTime::from_secs(t));
            }
            times.push(t0.elapsed().as_secs_f64());
            let r = Report::from_simulation(&sim);
            let done = r
                .migrations
                .iter()
                .filter(|m| m.outcome == Some(lmlab_engine::sim::Outcome::Completed))
                .count();
            let last = r
                .migrations
                .iter()
                .filter_map(|m| m.end_s)
                .fold(0.0, f64::max);
            summary = format!(
                "{done} completed, last at {last:.0} s simulated, {} events",
                r.events.len()
            );
        }
        times.sort_by(f64::total_cmp);
        println!(
            "  {option:<6} median {:.2} s wall (min {:.2}, max {:.2}; 3 runs); {summary}",
            times[1], times[0], times[2]
        );
    }
}
