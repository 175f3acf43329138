//! Prints the flows, processors and rates of one configuration: `cargo run -p lmlab-engine
//! --example flows -- assets/scenarios/seed-lab.toml row1 [seed]`. A calibration aid.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use lmlab_engine::Scenario;
use lmlab_engine::compare::{apply_configuration, workload};
use lmlab_engine::transport::{NetState, solve};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let s = Scenario::load(std::path::Path::new(&args[1])).unwrap_or_else(|e| panic!("{e}"));
    let cfg = s
        .spec
        .configurations
        .iter()
        .find(|c| c.id == args[2])
        .expect("configuration");
    let seed = args.get(3).map_or(1, |x| x.parse().expect("seed"));
    let spec = apply_configuration(&s.spec, cfg);
    let migs = workload(&spec, cfg);
    let sol = solve(&spec, &migs, &NetState::all_up(&spec), seed);
    for f in &sol.flows {
        println!(
            "{:<12} {} -> {} lp {:?}: {:.2} Gbps",
            f.protocol,
            f.src_nic,
            f.dst_nic,
            f.dst_lp,
            f.payload_bytes_per_s * 8e-9
        );
    }
    for (h, c) in sol.hosts.iter().enumerate() {
        let busy: Vec<String> = c
            .lp_pct
            .iter()
            .enumerate()
            .filter(|(_, p)| **p > 0.5)
            .map(|(i, p)| format!("{i}:{p:.0}"))
            .collect();
        println!("host {h}: {:.1} %  [{}]", c.cpu_pct, busy.join(" "));
    }
    println!(
        "total {:.2} Gbps; {}",
        sol.total_memory_gbps(),
        sol.migrations[0].path
    );
}
