//! The entry point: topology, then flows, then their max-min fair rates, then the per-migration,
//! per-host, per-processor and per-link results.

use super::fairness::{Res, max_min, water_fill};
use super::flows::{self, MigrationReq, Network};
use super::solution::{FlowResult, HostCpu, LinkUse, MigrationResult, Solution};
use super::topology::{NetState, Topology};
use crate::scenario::ScenarioSpec;

/// Solves the steady-state rates of `migs` running at once.
pub fn solve(spec: &ScenarioSpec, migs: &[MigrationReq], net: &NetState, seed: u64) -> Solution {
    // Only hosts that take part are worked out; the others report idle.
    let mut involved = vec![false; spec.hosts.len()];
    for m in migs {
        involved[m.from] = true;
        involved[m.to] = true;
    }
    let topo = Topology::new(spec, involved, net);
    let network = flows::build(spec, &topo, migs, seed);
    let coefs: Vec<&[(usize, f64)]> = network.flows.iter().map(|f| f.coefs.as_slice()).collect();
    let rates = max_min(network.res.caps(), &coefs);
    results(spec, &topo, network, &rates)
}

/// Tallies what the solved `rates` use of every resource into the [`Solution`].
fn results(spec: &ScenarioSpec, topo: &Topology, network: Network, rates: &[f64]) -> Solution {
    let mut used = vec![0.0; network.res.caps().len()];
    for (f, &r) in network.flows.iter().zip(rates) {
        for &(res, c) in &f.coefs {
            used[res] += r * c;
        }
    }
    let migrations = migration_results(&network, rates);
    let hosts = host_cpus(topo, &network, &used);
    let links = link_uses(spec, topo, &network, &used);
    let flows = network
        .flows
        .into_iter()
        .zip(rates)
        .map(|(f, &r)| FlowResult {
            payload_bytes_per_s: r,
            ..f.result
        })
        .collect();
    Solution {
        migrations,
        hosts,
        links,
        flows,
    }
}

/// Each migration's share of its group's rate: an SMB session's is split evenly.
fn migration_results(network: &Network, rates: &[f64]) -> Vec<MigrationResult> {
    let (groups, group_of) = (&network.groups, &network.group_of);
    let mut group_rate = vec![0.0; groups.len()];
    for (f, &r) in network.flows.iter().zip(rates) {
        group_rate[f.group] += r;
    }
    (0..group_of.len())
        .map(|mi| {
            let g = &groups[group_of[mi]];
            let wire = group_rate[group_of[mi]] / g.migrations.len().max(1) as f64;
            MigrationResult {
                wire_bytes_per_s: wire,
                memory_bytes_per_s: wire * g.ratio,
                compression_ratio: g.ratio,
                path: g.route.path.clone(),
                connections: g.route.connections,
                tcp: g.tcp,
                src_nics: g.route.src_nics.clone(),
                dst_nics: g.route.dst_nics.clone(),
            }
        })
        .collect()
}

/// Per host, the busy share of all processors and of each: processor-bound work where it was
/// charged, pooled work spread over the least busy.
fn host_cpus(topo: &Topology, network: &Network, used: &[f64]) -> Vec<HostCpu> {
    let res = &network.res;
    let mut lp_cycles: Vec<Vec<f64>> = topo
        .cpus
        .iter()
        .enumerate()
        .map(|(h, c)| {
            if topo.involved[h] {
                vec![0.0; c.lps]
            } else {
                Vec::new()
            }
        })
        .collect();
    for (i, k) in res.keys().iter().enumerate() {
        if let Res::Lp(h, lp) = *k {
            lp_cycles[h][lp] += used[i];
        }
    }
    topo.cpus
        .iter()
        .zip(lp_cycles)
        .enumerate()
        .map(|(h, (c, mut lp_cycles))| {
            let Some(hi) = res.get(Res::Host(h)) else {
                return HostCpu {
                    cpu_pct: 0.0,
                    lp_pct: Vec::new(),
                };
            };
            let total = used[hi];
            let pinned: f64 = lp_cycles.iter().sum();
            water_fill(&mut lp_cycles, (total - pinned).max(0.0), c.hz);
            HostCpu {
                cpu_pct: 100.0 * total / c.total_hz(),
                lp_pct: lp_cycles
                    .iter()
                    .map(|x| (100.0 * x / c.hz).min(100.0))
                    .collect(),
            }
        })
        .collect()
}

/// Per host, per NIC, the wire bytes each way.
fn link_uses(
    spec: &ScenarioSpec,
    topo: &Topology,
    network: &Network,
    used: &[f64],
) -> Vec<Vec<LinkUse>> {
    let get = |r: Res| network.res.get(r).map_or(0.0, |i| used[i]);
    spec.hosts
        .iter()
        .enumerate()
        .map(|(h, hs)| {
            (0..hs.nics.len())
                .map(|n| {
                    let cap = hs.nics[n].speed.0 / 8.0;
                    let mut tx = get(Res::Tx(h, n));
                    // A Dynamic team's outbound is shared by its members in proportion to speed.
                    for (ii, iface) in topo.ifaces[h].iter().enumerate() {
                        if iface.members.contains(&n) {
                            tx += get(Res::TeamTx(h, ii)) * hs.nics[n].speed.0 / iface.speed_bps();
                        }
                    }
                    LinkUse {
                        tx_bytes_per_s: tx,
                        rx_bytes_per_s: get(Res::Rx(h, n)),
                        capacity_bytes_per_s: cap,
                    }
                })
                .collect()
        })
        .collect()
}
