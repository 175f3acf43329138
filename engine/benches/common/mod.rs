//! The synthetic scale lab the benchmarks share: 64 identical hosts `n0`..`n63` (2 x 16 cores,
//! SMT, 2.8 GHz, 2 TiB) with two 25 GbE NICs `nic0`/`nic1` on switch `sw` (NIC `n` on NUMA node
//! `n`) and `vms_per_host` VMs `vm{host}-{i}` each. Each benchmark passes its header (name,
//! sample step, `[cluster]`, `[migration]`, switches, storage) and the keys it varies.
//! Engine benches use `mod common;`; the app's frame bench includes this file by path.

use std::fmt::Write as _;

/// TOML text of the lab. `host_extra` is appended to every host, `nic_extra(n)` to NIC `n`,
/// `vm_extra(i)` to the `i`-th VM of every host (it must give at least `memory` and `storage`).
pub fn lab(
    header: &str,
    vms_per_host: usize,
    host_extra: &str,
    nic_extra: impl Fn(usize) -> String,
    vm_extra: impl Fn(usize) -> String,
) -> String {
    let mut s = format!("format_version = 1\n{header}\n");
    for h in 0..64 {
        let _ = writeln!(
            s,
            "[[hosts]]\nname = \"n{h}\"\nsockets = 2\ncores_per_socket = 16\nsmt = true\nclock_ghz = 2.8\nmemory = \"2TiB\"\n{host_extra}"
        );
        for n in 0..2 {
            let _ = writeln!(
                s,
                "  [[hosts.nics]]\n  name = \"nic{n}\"\n  speed = \"25Gbps\"\n  switch = \"sw\"\n  numa_node = {n}\n{}",
                nic_extra(n)
            );
        }
        for v in 0..vms_per_host {
            let _ = writeln!(
                s,
                "[[vms]]\nname = \"vm{h}-{v}\"\nhost = \"n{h}\"\n{}",
                vm_extra(v)
            );
        }
    }
    s
}

/// The one-hour session lab of the session and frame benchmarks: 125 VMs of 8 GiB per host
/// (8,000 in all), SMB live migration, a disk witness, series sampled every second. (Not every
/// benchmark that includes this file uses it.)
#[allow(dead_code)]
pub fn session_lab() -> lmlab_engine::Scenario {
    lmlab_engine::Scenario::from_toml(&session_lab_toml(), "big.toml")
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The TOML text of [`session_lab`].
#[allow(dead_code)]
pub fn session_lab_toml() -> String {
    let header = "name = \"big\"\nsample_step = \"1s\"\n[cluster]\nwitness = \"Disk\"\n[migration]\nperformance_option = \"SMB\"\n[[switches]]\nname = \"sw\"\n[[storage]]\nname = \"sofs\"\nkind = \"SMB3\"";
    lab(
        header,
        125,
        "",
        |_| String::new(),
        |_| "memory = \"8GiB\"\nstorage = \"sofs\"".into(),
    )
}
