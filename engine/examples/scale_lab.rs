//! Prints the benchmarks' 64-node, 8,000-VM lab as a scenario file with a day of activity: every
//! hour one node is paused (drained: 125 VMs of 8 GiB live-migrate away) and resumed 30 minutes
//! later, and another node's cluster service crashes and is restarted. `scripts/bench-memory.sh`
//! runs it for 24 simulated hours and prints the peak resident memory.
//!
//! `cargo run --release -p lmlab-engine --example scale_lab > scale-lab.toml`

// The shared bench module panics on a lab it cannot build (it builds only its own).
#![allow(clippy::panic)]

#[path = "../benches/common/mod.rs"]
mod common;

use std::fmt::Write as _;

fn main() {
    let mut text = common::session_lab_toml();
    text = text.replacen("name = \"big\"", "name = \"big\"\nuntil = \"24h\"", 1);
    for h in 0..24 {
        let (paused, crashed) = (h % 64, (h + 32) % 64);
        for (min, action, node) in [
            (0, "pause_node", paused),
            (10, "crash_cluster_service", crashed),
            (20, "restart_cluster_service", crashed),
            (30, "resume_node", paused),
        ] {
            let _ = writeln!(
                text,
                "[[script]]\nat = \"{}s\"\naction = \"{action}\"\nnode = \"n{node}\"\n",
                h * 3600 + min * 60 + 60
            );
        }
    }
    print!("{text}");
}
