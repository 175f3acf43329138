//! Benchmark: recomputing transport rates for a 64-host cluster with 256 concurrent migrations.
//! Target (issue 3): under 5 ms on a 2-core machine. Run: `cargo bench -p lmlab-engine --bench transport`.
//! Prints the median and the spread of repeated solves; the machine is shared, so medians count.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use lmlab_engine::Scenario;
use lmlab_engine::transport::{MigrationReq, NetState, solve};
use std::time::Instant;

/// The shared 64-host lab (see `common`) with 8 VMs of 16 GiB per host; `option` for all.
fn cluster(option: &str, teaming: &str, rdma: &str) -> String {
    let header = format!(
        "name = \"bench\"\n[migration]\nperformance_option = \"{option}\"\nmax_simultaneous = 8\nsmb_direct = true\n[[switches]]\nname = \"sw\"\ndcb_pfc = true\n[[storage]]\nname = \"sofs\"\nkind = \"SMB3\""
    );
    let host = format!("teaming = {{ mode = \"{teaming}\" }}");
    let nic = |n| format!("{}\n  rdma = \"{rdma}\"", tuned_nic(n));
    common::lab(&header, 8, &host, nic, |_| {
        "memory = \"16GiB\"\nstorage = \"sofs\"".into()
    })
}

/// Jumbo frames and RSS tuned to 8 queues on the NIC's own NUMA node.
fn tuned_nic(n: usize) -> String {
    format!(
        "  mtu = 9000\n  rss = \"Tuned\"\n  rss_tuned = {{ queues = 8, base_core = {}, numa_node = {n} }}",
        n * 16
    )
}

fn main() {
    let cases = [
        ("SMB Multichannel, no team", cluster("SMB", "None", "None")),
        ("SMB Direct, no team", cluster("SMB", "None", "RoCE")),
        ("TCP/IP, LACP team", cluster("TCPIP", "Lacp", "None")),
        (
            "Compression, switch independent",
            cluster("Compression", "SwitchIndependent", "None"),
        ),
    ];
    println!("transport solve, 64 hosts, 256 concurrent migrations (4 from each host to the next)");
    for (name, text) in cases {
        let scenario = Scenario::from_toml(&text, "bench.toml").unwrap_or_else(|e| panic!("{e}"));
        let spec = &scenario.spec;
        let migs: Vec<MigrationReq> = (0..64)
            .flat_map(|h| {
                (0..4).map(move |v| MigrationReq {
                    vm: h * 8 + v,
                    from: h,
                    to: (h + 1) % 64,
                })
            })
            .collect();
        let net = NetState::all_up(spec);
        // Warm up, then time.
        let mut total = 0.0;
        for seed in 0..3 {
            total += solve(spec, &migs, &net, seed).total_memory_gbps();
        }
        let mut times = Vec::new();
        for seed in 0..41 {
            let t0 = Instant::now();
            let sol = solve(spec, &migs, &net, seed);
            times.push(t0.elapsed().as_secs_f64() * 1e3);
            total += sol.total_memory_gbps();
        }
        times.sort_by(f64::total_cmp);
        println!(
            "  {name:<34} median {:.2} ms  (min {:.2}, max {:.2}; {} runs; aggregate {:.0} Gbps)",
            times[times.len() / 2],
            times[0],
            times[times.len() - 1],
            times.len(),
            total / 44.0
        );
    }
}
