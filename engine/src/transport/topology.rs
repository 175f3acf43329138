//! The hosts as the transport sees them: processor layout, where each NIC's receive processing
//! runs (RSS), the interfaces (standalone NICs and teams) a connection can use, which member a
//! flow leaves and arrives on, and where migration workers run.

use super::hash::{FlowKey, xor_fold_member};
use super::params::TransportParams;
use crate::scenario::{
    HostSpec, LoadBalancingAlgorithm, RdmaKind, RssMode, ScenarioSpec, TeamingMode,
};

/// What failures have changed in the network: per host, per NIC, whether it carries traffic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetState {
    pub nic_up: Vec<Vec<bool>>,
}

impl NetState {
    pub fn all_up(spec: &ScenarioSpec) -> NetState {
        NetState {
            nic_up: spec
                .hosts
                .iter()
                .map(|h| vec![true; h.nics.len()])
                .collect(),
        }
    }
}

/// Processors, RSS placement and interfaces of every host. Hosts that take no part in any
/// migration get empty RSS and interface lists.
pub(super) struct Topology {
    pub(super) involved: Vec<bool>,
    pub(super) cpus: Vec<Cpu>,
    /// Per host, per NIC.
    pub(super) rss: Vec<Vec<Rss>>,
    /// Per host, the usable interfaces.
    pub(super) ifaces: Vec<Vec<Iface>>,
}

impl Topology {
    pub(super) fn new(spec: &ScenarioSpec, involved: Vec<bool>, net: &NetState) -> Topology {
        let p = &spec.transport;
        let cpus: Vec<Cpu> = spec.hosts.iter().map(Cpu::of).collect();
        let rss: Vec<Vec<Rss>> = spec
            .hosts
            .iter()
            .zip(&cpus)
            .enumerate()
            .map(|(i, (h, c))| {
                if involved[i] {
                    (0..h.nics.len()).map(|n| rss_of(p, h, c, n)).collect()
                } else {
                    Vec::new()
                }
            })
            .collect();
        let ifaces: Vec<Vec<Iface>> = spec
            .hosts
            .iter()
            .enumerate()
            .map(|(i, h)| {
                if involved[i] {
                    interfaces(h, net.nic_up.get(i).map_or(&[][..], |v| v.as_slice()))
                } else {
                    Vec::new()
                }
            })
            .collect();
        Topology {
            involved,
            cpus,
            rss,
            ifaces,
        }
    }

    /// The processor the `k`-th migration worker of `host` runs on: physical cores not used for
    /// RSS, from the highest core down (first threads, then SMT siblings), then anything,
    /// round-robin.
    pub(super) fn worker_lp(&self, host: usize, k: usize) -> usize {
        let (cpu, rss) = (&self.cpus[host], &self.rss[host]);
        let rss_lps: std::collections::HashSet<usize> =
            rss.iter().flat_map(|r| r.lps.iter().copied()).collect();
        let mut order: Vec<usize> = (0..cpu.cores()).rev().map(|c| c * cpu.threads).collect();
        if cpu.threads > 1 {
            order.extend((0..cpu.cores()).rev().map(|c| c * cpu.threads + 1));
        }
        let free: Vec<usize> = order
            .iter()
            .copied()
            .filter(|lp| !rss_lps.contains(lp))
            .collect();
        let list = if free.is_empty() { order } else { free };
        list[k % list.len()]
    }
}

// ------------------------------------------------------------------------------------------
// Host layout

/// Logical-processor layout of one host.
pub(super) struct Cpu {
    pub(super) threads: usize,
    pub(super) cores_per_socket: usize,
    pub(super) lps: usize,
    pub(super) hz: f64,
}

impl Cpu {
    fn of(h: &HostSpec) -> Cpu {
        let threads = if h.smt { 2 } else { 1 };
        let cores = (h.sockets * h.cores_per_socket) as usize;
        Cpu {
            threads,
            cores_per_socket: h.cores_per_socket as usize,
            lps: cores * threads,
            hz: h.clock_ghz * 1e9,
        }
    }
    pub(super) fn socket_of_lp(&self, lp: usize) -> usize {
        (lp / self.threads) / self.cores_per_socket.max(1)
    }
    pub(super) fn cores(&self) -> usize {
        self.lps / self.threads
    }
    pub(super) fn sockets(&self) -> usize {
        self.cores() / self.cores_per_socket.max(1)
    }
    /// Logical processors of one socket.
    pub(super) fn lps_per_socket(&self) -> usize {
        self.cores_per_socket * self.threads
    }
    /// Cycles per second of all logical processors together.
    pub(super) fn total_hz(&self) -> f64 {
        self.lps as f64 * self.hz
    }
}

/// Where a NIC's receive processing runs: one logical processor per receive queue.
pub(super) struct Rss {
    pub(super) lps: Vec<usize>,
    /// Tuned RSS keeps the receive path on the processors the admin chose (NUMA-placed); the
    /// inbox default and a NIC without RSS keep nothing on the NIC's node.
    pub(super) placed: bool,
}

/// The processors of a NIC's receive queues. Tuned RSS: `queues` consecutive physical cores
/// from `base_core`. The inbox default, `*RSSProfile` NUMAStatic with `*RssBaseProcNumber`
/// `rss_default_base_lp`: queues assigned round-robin over every NUMA node (socket), on the first
/// logical processor of each core (assumption: RSS skips SMT siblings), the same for every NIC
/// of the host, so the NICs overlap on the same processors. Without usable RSS: one processor.
fn rss_of(p: &TransportParams, h: &HostSpec, cpu: &Cpu, nic: usize) -> Rss {
    let n = &h.nics[nic];
    let base_core = (p.rss_default_base_lp as usize / cpu.threads) % cpu.cores();
    if !rss_effective(h, nic) {
        return Rss {
            lps: vec![base_core * cpu.threads],
            placed: false,
        };
    }
    let placed = n.rss == RssMode::Tuned;
    let lps = match n.rss {
        RssMode::Tuned => {
            let q = n.rss_tuned.queues.min(n.rss_max_queues) as usize;
            (0..q)
                .map(|i| ((n.rss_tuned.base_core as usize + i) % cpu.cores()) * cpu.threads)
                .collect()
        }
        RssMode::Default | RssMode::Disabled => {
            let q = p.rss_default_queues.min(n.rss_max_queues) as usize;
            let sockets = cpu.sockets().max(1);
            let cps = cpu.cores_per_socket.max(1);
            let (first_socket, offset) = (base_core / cps, base_core % cps);
            (0..q)
                .map(|i| {
                    let socket = (first_socket + i) % sockets;
                    let core = socket * cps + (offset + i / sockets) % cps;
                    (core % cpu.cores()) * cpu.threads
                })
                .collect()
        }
    };
    Rss { lps, placed }
}

fn rss_effective(h: &HostSpec, nic: usize) -> bool {
    let n = &h.nics[nic];
    n.rss_capable && n.rss_max_queues > 1 && n.rss != RssMode::Disabled
}

// ------------------------------------------------------------------------------------------
// Interfaces and members

/// An interface SMB or TCP can use: a standalone NIC or a team of NICs.
#[derive(Clone, Debug)]
pub(super) struct Iface {
    pub(super) members: Vec<usize>,
    pub(super) team: Option<(TeamingMode, LoadBalancingAlgorithm)>,
    pub(super) rdma: RdmaKind,
    pub(super) rss: bool,
    pub(super) member_speed_bps: f64,
    /// A host vNIC of a SET switch (its number, from 1), pinned to its one member.
    pub(super) vnic: Option<usize>,
}

/// Which link a flow leaves an interface on.
pub(super) enum Egress {
    /// One member's link (a NIC index).
    Member(usize),
    /// A Dynamic-mode team's outbound: flowlets spread it over every member.
    Spread,
}

impl Iface {
    pub(super) fn lbfo(&self) -> bool {
        matches!(
            self.team,
            Some((
                TeamingMode::SwitchIndependent | TeamingMode::Static | TeamingMode::Lacp,
                _
            ))
        )
    }
    pub(super) fn speed_bps(&self) -> f64 {
        self.member_speed_bps * self.members.len() as f64
    }
    fn name(&self, h: &HostSpec) -> String {
        let names: Vec<&str> = self
            .members
            .iter()
            .map(|&m| h.nics[m].name.as_str())
            .collect();
        names.join("+")
    }
    /// The interface as a user would name it: its NICs, and the team's mode and algorithm.
    pub(super) fn describe(&self, h: &HostSpec) -> String {
        if let Some(k) = self.vnic {
            return format!("host vNIC {k} on {} (SET)", self.name(h));
        }
        match self.team {
            Some((mode, alg)) => format!("{mode:?} team {} ({alg:?})", self.name(h)),
            None => self.name(h),
        }
    }

    /// Chooses the link a flow with this key leaves on.
    pub(super) fn egress(&self, key: &FlowKey) -> Egress {
        match self.team {
            Some((mode, alg)) => match alg {
                LoadBalancingAlgorithm::Dynamic
                    if mode != TeamingMode::Set || self.members.len() > 1 =>
                {
                    Egress::Spread
                }
                _ => {
                    let k = match alg {
                        LoadBalancingAlgorithm::TransportPorts => {
                            xor_fold_member(key, self.members.len(), true, true)
                        }
                        LoadBalancingAlgorithm::IPAddresses
                        | LoadBalancingAlgorithm::MacAddresses => {
                            xor_fold_member(key, self.members.len(), false, true)
                        }
                        // Host traffic is one "port": it stays on one member.
                        LoadBalancingAlgorithm::HyperVPort | LoadBalancingAlgorithm::Dynamic => 0,
                    };
                    Egress::Member(self.members[k])
                }
            },
            None => Egress::Member(self.members[0]),
        }
    }

    /// Chooses the member a flow with this key arrives on: the switch hashes for Static/LACP
    /// teams; a switch-independent team (and SET) receives host traffic on its primary member.
    pub(super) fn ingress(&self, key: &FlowKey) -> usize {
        let k = match self.team {
            Some((TeamingMode::Static | TeamingMode::Lacp, _)) => {
                xor_fold_member(key, self.members.len(), true, true)
            }
            _ => 0,
        };
        self.members[k]
    }
}

fn interfaces(h: &HostSpec, up: &[bool]) -> Vec<Iface> {
    let usable = |i: usize| up.get(i).copied().unwrap_or(false) && h.nics[i].switch.is_some();
    let mut out = Vec::new();
    let mut in_team = vec![false; h.nics.len()];
    if h.teaming.mode != TeamingMode::None {
        let members: Vec<usize> = (0..h.nics.len())
            .filter(|&i| {
                h.teaming.members.is_empty() || h.teaming.members.contains(&h.nics[i].name)
            })
            .collect();
        for &m in &members {
            in_team[m] = true;
        }
        let live: Vec<usize> = members.into_iter().filter(|&i| usable(i)).collect();
        if h.teaming.mode == TeamingMode::Set {
            out.extend(set_vnics(h, &live));
        } else if !live.is_empty() {
            out.push(Iface {
                rss: live.iter().all(|&i| rss_effective(h, i)),
                member_speed_bps: live
                    .iter()
                    .map(|&i| h.nics[i].speed.0)
                    .fold(f64::MAX, f64::min),
                members: live,
                team: Some((h.teaming.mode, h.teaming.algorithm)),
                // LBFO teams lose RDMA (Microsoft: do not team RDMA NICs with LBFO).
                rdma: RdmaKind::None,
                vnic: None,
            });
        }
    }
    for (i, teamed) in in_team.iter().enumerate() {
        if !teamed && usable(i) {
            out.push(Iface {
                members: vec![i],
                team: None,
                rdma: h.nics[i].rdma,
                rss: rss_effective(h, i),
                member_speed_bps: h.nics[i].speed.0,
                vnic: None,
            });
        }
    }
    out
}

/// The host vNICs of a SET switch, as Microsoft documents the pattern: vNIC `k` pinned to member
/// `k` (`Set-VMNetworkAdapterTeamMapping`), `host_vnics` of them (default one per member). Each
/// carries its member's RDMA (SMB Direct bypasses the team) and, for TCP, leaves and arrives on
/// that member (Dynamic and HyperVPort affinitize a vNIC's port to one member). Whether host
/// vNICs spread receive work (vRSS) is unconfirmed: a vNIC counts as RSS-capable when its
/// member's RSS is usable, and its receive work runs on that member's RSS processors.
fn set_vnics(h: &HostSpec, live: &[usize]) -> Vec<Iface> {
    let count = h
        .teaming
        .host_vnics
        .map_or(live.len(), |n| (n as usize).min(live.len()));
    (0..count)
        .map(|k| {
            let m = live[k];
            Iface {
                members: vec![m],
                team: Some((TeamingMode::Set, h.teaming.algorithm)),
                rdma: h.nics[m].rdma,
                rss: rss_effective(h, m),
                member_speed_bps: h.nics[m].speed.0,
                vnic: Some(k + 1),
            }
        })
        .collect()
}
