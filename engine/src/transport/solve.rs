//! Building flows and solving their rates (max-min fair over links and processors).

use super::hash::{FlowKey, RSS_KEY, rss_queue, toeplitz, xor_fold_member};
use super::params::TransportParams;
use crate::rng::SimRng;
use crate::scenario::{
    HostSpec, LoadBalancingAlgorithm, MemoryMix, PerformanceOption, RdmaKind, RssMode,
    ScenarioSpec, TeamingMode,
};

/// One live migration asking for bandwidth: VM `vm` from host `from` to host `to` (indices).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MigrationReq {
    pub vm: usize,
    pub from: usize,
    pub to: usize,
}

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

#[derive(Clone, Debug, PartialEq)]
pub struct MigrationResult {
    /// Payload bytes per second on the wire (after compression).
    pub wire_bytes_per_s: f64,
    /// Guest memory moved per second (wire rate times the compression ratio).
    pub memory_bytes_per_s: f64,
    /// Compression ratio applied (1 without compression).
    pub compression_ratio: f64,
    /// The path as a user would describe it.
    pub path: String,
    /// Connections carrying this migration (shared with others for an SMB session).
    pub connections: usize,
    /// Whether it is one TCP connection (TCP/IP or Compression): bound to one interface.
    pub tcp: bool,
    /// Member NICs (indices) of the interfaces used at the source and the destination.
    pub src_nics: Vec<usize>,
    pub dst_nics: Vec<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HostCpu {
    /// Busy share of all logical processors, 0-100.
    pub cpu_pct: f64,
    /// Busy share of each logical processor, 0-100.
    pub lp_pct: Vec<f64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinkUse {
    /// Wire bytes per second sent and received (all headers included).
    pub tx_bytes_per_s: f64,
    pub rx_bytes_per_s: f64,
    pub capacity_bytes_per_s: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FlowResult {
    /// Index of the first migration this flow carries.
    pub migration: usize,
    pub protocol: &'static str,
    pub src_nic: String,
    pub dst_nic: String,
    /// Receive processor at the destination, if the flow has one.
    pub dst_lp: Option<usize>,
    pub payload_bytes_per_s: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Solution {
    pub migrations: Vec<MigrationResult>,
    pub hosts: Vec<HostCpu>,
    /// Per host, per NIC.
    pub links: Vec<Vec<LinkUse>>,
    pub flows: Vec<FlowResult>,
}

impl Solution {
    /// Sum of all migrations' memory rates, in Gbit/s.
    pub fn total_memory_gbps(&self) -> f64 {
        self.migrations
            .iter()
            .map(|m| m.memory_bytes_per_s)
            .sum::<f64>()
            * 8.0
            / 1e9
    }
}

// ------------------------------------------------------------------------------------------
// Host layout

/// Logical-processor layout of one host.
struct Cpu {
    threads: usize,
    cores_per_socket: usize,
    lps: usize,
    hz: f64,
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
    fn socket_of_lp(&self, lp: usize) -> usize {
        (lp / self.threads) / self.cores_per_socket
    }
    fn cores(&self) -> usize {
        self.lps / self.threads
    }
}

/// Where a NIC's receive processing runs.
struct Rss {
    lps: Vec<usize>,
    numa_aware: bool,
}

fn rss_of(p: &TransportParams, h: &HostSpec, cpu: &Cpu, nic: usize) -> Rss {
    let n = &h.nics[nic];
    let usable = n.rss_capable && n.rss_max_queues > 1 && n.rss != RssMode::Disabled;
    if !usable {
        return Rss {
            lps: vec![(p.rss_default_base_lp as usize) % cpu.lps],
            numa_aware: false,
        };
    }
    match n.rss {
        RssMode::Tuned => {
            let q = n.rss_tuned.queues.min(n.rss_max_queues) as usize;
            // One queue per physical core from the base core (first thread of each core).
            let lps = (0..q)
                .map(|i| ((n.rss_tuned.base_core as usize + i) % cpu.cores()) * cpu.threads)
                .collect();
            Rss {
                lps,
                numa_aware: true,
            }
        }
        // The inbox default: consecutive logical processors from the base, whatever the socket.
        RssMode::Default | RssMode::Disabled => {
            let q = p.rss_default_queues.min(n.rss_max_queues) as usize;
            let lps = (0..q)
                .map(|i| (p.rss_default_base_lp as usize + i) % cpu.lps)
                .collect();
            Rss {
                lps,
                numa_aware: false,
            }
        }
    }
}

fn rss_effective(h: &HostSpec, nic: usize) -> bool {
    let n = &h.nics[nic];
    n.rss_capable && n.rss_max_queues > 1 && n.rss != RssMode::Disabled
}

/// An interface SMB or TCP can use: a standalone NIC or a team of NICs.
#[derive(Clone, Debug)]
struct Iface {
    members: Vec<usize>,
    team: Option<(TeamingMode, LoadBalancingAlgorithm)>,
    rdma: RdmaKind,
    rss: bool,
    member_speed_bps: f64,
}

impl Iface {
    fn lbfo(&self) -> bool {
        matches!(
            self.team,
            Some((
                TeamingMode::SwitchIndependent | TeamingMode::Static | TeamingMode::Lacp,
                _
            ))
        )
    }
    fn speed_bps(&self) -> f64 {
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
        if !live.is_empty() {
            let first = &h.nics[live[0]];
            // LBFO teams lose RDMA; SET keeps it when every member has the same kind.
            let rdma = if h.teaming.mode == TeamingMode::Set
                && live.iter().all(|&i| h.nics[i].rdma == first.rdma)
            {
                first.rdma
            } else {
                RdmaKind::None
            };
            out.push(Iface {
                rss: live.iter().all(|&i| rss_effective(h, i)),
                member_speed_bps: live
                    .iter()
                    .map(|&i| h.nics[i].speed.0)
                    .fold(f64::MAX, f64::min),
                members: live,
                team: Some((h.teaming.mode, h.teaming.algorithm)),
                rdma,
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
            });
        }
    }
    out
}

/// Bytes of guest memory per byte on the wire under Compression.
pub fn compression_ratio(p: &TransportParams, mix: &MemoryMix) -> f64 {
    let wire = mix.zero / p.ratio_zero
        + mix.pattern / p.ratio_pattern
        + mix.duplicate / p.ratio_duplicate
        + mix.text / p.ratio_text
        + mix.random / p.ratio_random;
    if wire > 0.0 { 1.0 / wire } else { 1.0 }
}

/// Payload share of wire bytes for TCP segments at this MTU.
fn tcp_efficiency(p: &TransportParams, mtu: u32) -> f64 {
    let mtu = f64::from(mtu);
    ((mtu - p.tcp_ip_header_bytes) / (mtu + p.ethernet_overhead_bytes)).clamp(0.01, 1.0)
}

/// Payload share of wire bytes for RoCEv2 at this MTU (RDMA path MTU: a power of two 256-4096).
fn rdma_efficiency(p: &TransportParams, mtu: u32) -> f64 {
    let room = f64::from(mtu) - p.rdma_header_bytes;
    let pmtu = [4096.0, 2048.0, 1024.0, 512.0, 256.0]
        .into_iter()
        .find(|&m| m <= room)
        .unwrap_or(256.0);
    pmtu / (pmtu + p.rdma_header_bytes + p.ethernet_overhead_bytes)
}

// ------------------------------------------------------------------------------------------
// Resources and flows

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Res {
    Tx(usize, usize),
    Rx(usize, usize),
    /// Outbound of a Dynamic-mode team: flowlets spread it over every member.
    TeamTx(usize, usize),
    Lp(usize, usize),
    /// All processors of a host together (work that any processor may pick up).
    Host(usize),
}

/// A small, fast, deterministic hasher for resource keys (FxHash's multiply-rotate).
#[derive(Default)]
struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
    fn write_isize(&mut self, v: isize) {
        self.write_u64(v as u64);
    }
}

#[derive(Default)]
struct Builder {
    keys: Vec<Res>,
    index: std::collections::HashMap<Res, usize, std::hash::BuildHasherDefault<FxHasher>>,
    caps: Vec<f64>,
}

impl Builder {
    fn res(&mut self, r: Res, cap: f64) -> usize {
        if let Some(&i) = self.index.get(&r) {
            return i;
        }
        let i = self.keys.len();
        self.keys.push(r);
        self.caps.push(cap);
        self.index.insert(r, i);
        i
    }
}

struct Flow {
    group: usize,
    coefs: Vec<(usize, f64)>,
    /// CPU work per payload byte that any processor of a host may do: (host, cycles).
    pool: Vec<(usize, f64)>,
    result: FlowResult,
}

struct Group {
    migrations: Vec<usize>,
    path: String,
    ratio: f64,
    connections: usize,
    tcp: bool,
    src_nics: Vec<usize>,
    dst_nics: Vec<usize>,
}

/// Ephemeral ports per source host: sequential from a seeded random start, as Windows allocates.
struct Ports {
    next: Vec<u16>,
}

impl Ports {
    fn new(hosts: usize, seed: u64) -> Ports {
        let mut rng = SimRng::fork(seed, "ephemeral-ports");
        Ports {
            next: (0..hosts)
                .map(|_| 49_152 + rng.below(16_000) as u16)
                .collect(),
        }
    }
    fn take(&mut self, host: usize) -> u16 {
        let p = self.next[host];
        self.next[host] = if p >= 65_534 { 49_152 } else { p + 1 };
        p
    }
}

fn ip(host: usize, nic: usize) -> [u8; 4] {
    [10, (nic + 1) as u8, (host >> 8) as u8, (host & 0xff) as u8]
}

/// Solves the steady-state rates of `migs` running at once.
pub fn solve(spec: &ScenarioSpec, migs: &[MigrationReq], net: &NetState, seed: u64) -> Solution {
    let p = &spec.transport;
    // Only hosts that take part are worked out; the others report idle.
    let mut involved = vec![false; spec.hosts.len()];
    for m in migs {
        involved[m.from] = true;
        involved[m.to] = true;
    }
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
    let mut ports = Ports::new(spec.hosts.len(), seed);
    let mut b = Builder::default();
    let mut flows: Vec<Flow> = Vec::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut group_of = vec![usize::MAX; migs.len()];
    let mut workers_used: Vec<usize> = vec![0; spec.hosts.len()];

    for (mi, m) in migs.iter().enumerate() {
        if group_of[mi] != usize::MAX {
            continue;
        }
        let settings = spec.migration.with(&spec.hosts[m.from].migration);
        let (src, dst) = (&spec.hosts[m.from], &spec.hosts[m.to]);
        let vm = &spec.vms[m.vm];
        match settings.performance_option {
            PerformanceOption::Smb => {
                // One SMB session per host pair carries every migration between them.
                let members: Vec<usize> = (mi..migs.len())
                    .filter(|&j| {
                        migs[j].from == m.from
                            && migs[j].to == m.to
                            && spec
                                .migration
                                .with(&spec.hosts[migs[j].from].migration)
                                .performance_option
                                == PerformanceOption::Smb
                    })
                    .collect();
                let g = groups.len();
                for &j in &members {
                    group_of[j] = g;
                }
                let (path, n, src_nics, dst_nics) = smb_flows(
                    p,
                    spec,
                    m.from,
                    m.to,
                    &ifaces,
                    &rss,
                    &cpus,
                    settings.smb_direct,
                    &mut ports,
                    &mut b,
                    &mut flows,
                    g,
                    mi,
                );
                groups.push(Group {
                    migrations: members,
                    path,
                    ratio: 1.0,
                    connections: n,
                    tcp: false,
                    src_nics,
                    dst_nics,
                });
            }
            opt @ (PerformanceOption::TcpIp | PerformanceOption::Compression) => {
                let g = groups.len();
                group_of[mi] = g;
                let ratio = if opt == PerformanceOption::Compression {
                    compression_ratio(p, &vm.memory_profile.mix())
                } else {
                    1.0
                };
                let worker_src = worker_lp(&cpus[m.from], &rss[m.from], workers_used[m.from]);
                workers_used[m.from] += 1;
                let worker_dst = worker_lp(&cpus[m.to], &rss[m.to], workers_used[m.to]);
                workers_used[m.to] += 1;
                let (path, n, src_nics, dst_nics) = tcp_flow(
                    p, m.from, m.to, src, dst, &ifaces, &rss, &cpus, ratio, worker_src, worker_dst,
                    opt, &mut ports, &mut b, &mut flows, g, mi,
                );
                groups.push(Group {
                    migrations: vec![mi],
                    path,
                    ratio,
                    connections: n,
                    tcp: true,
                    src_nics,
                    dst_nics,
                });
            }
        }
    }

    // Host-wide CPU resources for pooled work.
    for (h, c) in cpus.iter().enumerate() {
        if involved[h] {
            b.res(Res::Host(h), c.lps as f64 * c.hz);
        }
    }
    for f in &mut flows {
        let pool = std::mem::take(&mut f.pool);
        for (h, cycles) in pool {
            let r = b.res(Res::Host(h), cpus[h].lps as f64 * cpus[h].hz);
            f.coefs.push((r, cycles));
        }
    }
    // Every processor-bound cost also counts against its host's total.
    for f in &mut flows {
        let mut extra = Vec::new();
        for &(r, c) in &f.coefs {
            if let Res::Lp(h, _) = b.keys[r] {
                extra.push((b.index[&Res::Host(h)], c));
            }
        }
        f.coefs.extend(extra);
    }

    let rates = max_min(&b.caps, &flows);

    // Results.
    let mut used = vec![0.0; b.caps.len()];
    for (f, &r) in flows.iter().zip(&rates) {
        for &(res, c) in &f.coefs {
            used[res] += r * c;
        }
    }
    let mut group_rate = vec![0.0; groups.len()];
    for (f, &r) in flows.iter().zip(&rates) {
        group_rate[f.group] += r;
    }
    let migrations = (0..migs.len())
        .map(|mi| {
            let g = &groups[group_of[mi]];
            let wire = group_rate[group_of[mi]] / g.migrations.len().max(1) as f64;
            MigrationResult {
                wire_bytes_per_s: wire,
                memory_bytes_per_s: wire * g.ratio,
                compression_ratio: g.ratio,
                path: g.path.clone(),
                connections: g.connections,
                tcp: g.tcp,
                src_nics: g.src_nics.clone(),
                dst_nics: g.dst_nics.clone(),
            }
        })
        .collect();
    let mut lp_cycles: Vec<Vec<f64>> = cpus
        .iter()
        .enumerate()
        .map(|(h, c)| {
            if involved[h] {
                vec![0.0; c.lps]
            } else {
                Vec::new()
            }
        })
        .collect();
    for (i, k) in b.keys.iter().enumerate() {
        if let Res::Lp(h, lp) = *k {
            lp_cycles[h][lp] += used[i];
        }
    }
    let hosts = cpus
        .iter()
        .zip(lp_cycles)
        .enumerate()
        .map(|(h, (c, mut lp_cycles))| {
            let Some(&hi) = b.index.get(&Res::Host(h)) else {
                return HostCpu {
                    cpu_pct: 0.0,
                    lp_pct: Vec::new(),
                };
            };
            let total = used[hi];
            let pinned: f64 = lp_cycles.iter().sum();
            water_fill(&mut lp_cycles, (total - pinned).max(0.0), c.hz);
            HostCpu {
                cpu_pct: 100.0 * total / (c.lps as f64 * c.hz),
                lp_pct: lp_cycles
                    .iter()
                    .map(|x| (100.0 * x / c.hz).min(100.0))
                    .collect(),
            }
        })
        .collect();
    let links = spec
        .hosts
        .iter()
        .enumerate()
        .map(|(h, hs)| {
            (0..hs.nics.len())
                .map(|n| {
                    let cap = hs.nics[n].speed.0 / 8.0;
                    let get = |r: Res| b.index.get(&r).map_or(0.0, |&i| used[i]);
                    let mut tx = get(Res::Tx(h, n));
                    // A Dynamic team's outbound is shared by its members in proportion to speed.
                    for (ii, iface) in ifaces[h].iter().enumerate() {
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
        .collect();
    let flows = flows
        .into_iter()
        .zip(&rates)
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

/// The processor a migration worker runs on: physical cores not used for RSS, from the highest
/// core down (first threads, then SMT siblings), then anything, round-robin.
fn worker_lp(cpu: &Cpu, rss: &[Rss], k: usize) -> usize {
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

/// Distributes `amount` cycles over processors, filling the least busy first, up to `cap` each.
fn water_fill(lps: &mut [f64], mut amount: f64, cap: f64) {
    let mut guard = 0;
    while amount > 1e-6 && guard < 64 {
        guard += 1;
        let open: Vec<usize> = (0..lps.len()).filter(|&i| lps[i] < cap - 1e-9).collect();
        if open.is_empty() {
            return;
        }
        let share = amount / open.len() as f64;
        for i in open {
            let add = share.min(cap - lps[i]);
            lps[i] += add;
            amount -= add;
        }
    }
}

/// Progressive filling: raise every unfrozen flow's rate together until a resource saturates,
/// freeze the flows that use it, repeat. The result is max-min fair.
fn max_min(caps: &[f64], flows: &[Flow]) -> Vec<f64> {
    let mut rate = vec![0.0; flows.len()];
    let mut used = vec![0.0; caps.len()];
    let mut frozen: Vec<bool> = flows.iter().map(|f| f.coefs.is_empty()).collect();
    let mut load = vec![0.0; caps.len()];
    for _round in 0..=caps.len() {
        load.iter_mut().for_each(|l| *l = 0.0);
        let mut any = false;
        for (f, flow) in flows.iter().enumerate() {
            if frozen[f] {
                continue;
            }
            any = true;
            for &(r, c) in &flow.coefs {
                load[r] += c;
            }
        }
        if !any {
            break;
        }
        let mut delta = f64::INFINITY;
        for r in 0..caps.len() {
            if load[r] > 0.0 {
                delta = delta.min(((caps[r] - used[r]).max(0.0)) / load[r]);
            }
        }
        if !delta.is_finite() {
            break;
        }
        for (f, flow) in flows.iter().enumerate() {
            if !frozen[f] {
                rate[f] += delta;
                let _ = flow;
            }
        }
        let mut saturated = vec![false; caps.len()];
        for r in 0..caps.len() {
            used[r] += delta * load[r];
            if load[r] > 0.0 && used[r] >= caps[r] * (1.0 - 1e-9) {
                saturated[r] = true;
            }
        }
        for (f, flow) in flows.iter().enumerate() {
            if !frozen[f] && flow.coefs.iter().any(|&(r, _)| saturated[r]) {
                frozen[f] = true;
            }
        }
    }
    rate
}

// ------------------------------------------------------------------------------------------
// Paths

/// Chooses the member a flow leaves on, and the resource it uses.
fn src_member(
    b: &mut Builder,
    host: usize,
    h: &HostSpec,
    ii: usize,
    iface: &Iface,
    key: &FlowKey,
) -> (usize, usize) {
    match iface.team {
        Some((mode, alg)) => match alg {
            LoadBalancingAlgorithm::Dynamic
                if mode != TeamingMode::Set || iface.members.len() > 1 =>
            {
                let r = b.res(Res::TeamTx(host, ii), iface.speed_bps() / 8.0);
                (iface.members[0], r)
            }
            _ => {
                let k = match alg {
                    LoadBalancingAlgorithm::TransportPorts => {
                        xor_fold_member(key, iface.members.len(), true, true)
                    }
                    LoadBalancingAlgorithm::IPAddresses | LoadBalancingAlgorithm::MacAddresses => {
                        xor_fold_member(key, iface.members.len(), false, true)
                    }
                    // Host traffic is one "port": it stays on one member.
                    LoadBalancingAlgorithm::HyperVPort | LoadBalancingAlgorithm::Dynamic => 0,
                };
                let nic = iface.members[k];
                (nic, b.res(Res::Tx(host, nic), h.nics[nic].speed.0 / 8.0))
            }
        },
        None => {
            let nic = iface.members[0];
            (nic, b.res(Res::Tx(host, nic), h.nics[nic].speed.0 / 8.0))
        }
    }
}

/// Chooses the member a flow arrives on: the switch hashes for Static/LACP teams; a
/// switch-independent team (and SET) receives host traffic on its primary member.
fn dst_member(
    b: &mut Builder,
    host: usize,
    h: &HostSpec,
    iface: &Iface,
    key: &FlowKey,
) -> (usize, usize) {
    let k = match iface.team {
        Some((TeamingMode::Static | TeamingMode::Lacp, _)) => {
            xor_fold_member(key, iface.members.len(), true, true)
        }
        _ => 0,
    };
    let nic = iface.members[k];
    (nic, b.res(Res::Rx(host, nic), h.nics[nic].speed.0 / 8.0))
}

fn describe_team(iface: &Iface, h: &HostSpec) -> String {
    match iface.team {
        Some((mode, alg)) => format!("{mode:?} team {} ({alg:?})", iface.name(h)),
        None => iface.name(h),
    }
}

#[allow(clippy::too_many_arguments)]
fn tcp_flow(
    p: &TransportParams,
    from: usize,
    to: usize,
    src: &HostSpec,
    dst: &HostSpec,
    ifaces: &[Vec<Iface>],
    rss: &[Vec<Rss>],
    cpus: &[Cpu],
    ratio: f64,
    worker_src: usize,
    worker_dst: usize,
    opt: PerformanceOption,
    ports: &mut Ports,
    b: &mut Builder,
    flows: &mut Vec<Flow>,
    group: usize,
    mi: usize,
) -> (String, usize, Vec<usize>, Vec<usize>) {
    // TCP/IP uses one interface: the fastest (the first on a tie), others are fallback only.
    let pick = |list: &[Iface]| {
        list.iter()
            .enumerate()
            .max_by(|a, b| {
                a.1.speed_bps()
                    .total_cmp(&b.1.speed_bps())
                    .then(b.0.cmp(&a.0))
            })
            .map(|(i, f)| (i, f.clone()))
    };
    let (Some((si, s_if)), Some((_, d_if))) = (pick(&ifaces[from]), pick(&ifaces[to])) else {
        return (
            "no network path (every NIC is down or uncabled)".into(),
            0,
            Vec::new(),
            Vec::new(),
        );
    };
    let key = FlowKey {
        src_ip: ip(from, s_if.members[0]),
        dst_ip: ip(to, d_if.members[0]),
        src_port: ports.take(from),
        dst_port: p.lm_tcp_port,
    };
    let (s_nic, tx) = src_member(b, from, src, si, &s_if, &key);
    let (d_nic, rx) = dst_member(b, to, dst, &d_if, &key);
    let mtu = src.nics[s_nic].mtu.min(dst.nics[d_nic].mtu);
    let wire = 1.0 / tcp_efficiency(p, mtu);
    let r = &rss[to][d_nic];
    let lp = r.lps[rss_queue(toeplitz(&RSS_KEY, &key), r.lps.len() as u32) as usize];
    let numa = numa_factor(p, r, &cpus[to], lp, dst.nics[d_nic].numa_node);
    let lbfo_d = if d_if.lbfo() { p.lbfo_cpb } else { 0.0 };
    let lbfo_s = if s_if.lbfo() { p.lbfo_cpb } else { 0.0 };
    let (comp, decomp) = if opt == PerformanceOption::Compression {
        (p.compress_cpb * ratio, p.decompress_cpb * ratio)
    } else {
        (0.0, 0.0)
    };
    let hz_s = cpus[from].hz;
    let hz_d = cpus[to].hz;
    let coefs = vec![
        (tx, wire),
        (rx, wire),
        (b.res(Res::Lp(to, lp), hz_d), p.tcp_rx_cpb * numa + lbfo_d),
        (
            b.res(Res::Lp(to, worker_dst), hz_d),
            p.lm_worker_rx_cpb + decomp,
        ),
        (
            b.res(Res::Lp(from, worker_src), hz_s),
            p.lm_worker_tx_cpb + p.tcp_tx_cpb + lbfo_s + comp,
        ),
    ];
    let coefs = merge(coefs);
    let pool = if r.numa_aware {
        Vec::new()
    } else {
        vec![(to, p.rss_unaware_overhead_cpb)]
    };
    flows.push(Flow {
        group,
        coefs,
        pool,
        result: FlowResult {
            migration: mi,
            protocol: if opt == PerformanceOption::Compression {
                "TCP (compressed)"
            } else {
                "TCP"
            },
            src_nic: src.nics[s_nic].name.clone(),
            dst_nic: dst.nics[d_nic].name.clone(),
            dst_lp: Some(lp),
            payload_bytes_per_s: 0.0,
        },
    });
    let what = if opt == PerformanceOption::Compression {
        "Compression over TCP"
    } else {
        "TCP"
    };
    let via = match s_if.team {
        Some(_) => format!(
            "{what}, 1 flow on {} — leaves on {}, arrives on {}",
            describe_team(&s_if, src),
            match s_if.team {
                Some((_, LoadBalancingAlgorithm::Dynamic)) => "any member (Dynamic)".to_string(),
                _ => src.nics[s_nic].name.clone(),
            },
            dst.nics[d_nic].name
        ),
        None => format!(
            "{what}, 1 flow on {} → {}",
            src.nics[s_nic].name, dst.nics[d_nic].name
        ),
    };
    (via, 1, s_if.members.clone(), d_if.members.clone())
}

/// Cost multiplier for receive work on `lp`. Tuned (NUMA-aware) RSS placed on the other socket
/// than the NIC pays the remote factor; the inbox default's NUMA effects are charged as
/// `rss_unaware_overhead_cpb` instead, spread over the host.
fn numa_factor(p: &TransportParams, r: &Rss, cpu: &Cpu, lp: usize, nic_node: u32) -> f64 {
    if r.numa_aware && cpu.socket_of_lp(lp) as u32 != nic_node {
        p.numa_remote_factor
    } else {
        1.0
    }
}

/// Sums coefficients that name the same resource (a worker may also be an RSS processor).
fn merge(mut coefs: Vec<(usize, f64)>) -> Vec<(usize, f64)> {
    coefs.sort_by_key(|c| c.0);
    let mut out: Vec<(usize, f64)> = Vec::with_capacity(coefs.len());
    for (r, c) in coefs {
        match out.last_mut() {
            Some(last) if last.0 == r => last.1 += c,
            _ => out.push((r, c)),
        }
    }
    out.retain(|c| c.1 > 0.0);
    out
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Class {
    Other = 0,
    Rss = 1,
    Rdma = 2,
}

#[allow(clippy::too_many_arguments)]
fn smb_flows(
    p: &TransportParams,
    spec: &ScenarioSpec,
    from: usize,
    to: usize,
    ifaces: &[Vec<Iface>],
    rss: &[Vec<Rss>],
    cpus: &[Cpu],
    smb_direct: bool,
    ports: &mut Ports,
    b: &mut Builder,
    flows: &mut Vec<Flow>,
    group: usize,
    mi: usize,
) -> (String, usize, Vec<usize>, Vec<usize>) {
    let (src, dst) = (&spec.hosts[from], &spec.hosts[to]);
    let class = |f: &Iface, rdma_ok: bool| {
        if rdma_ok && f.rdma != RdmaKind::None {
            Class::Rdma
        } else if f.rss {
            Class::Rss
        } else {
            Class::Other
        }
    };
    let src_rdma = ifaces[from].iter().any(|f| f.rdma != RdmaKind::None);
    let dst_rdma = ifaces[to].iter().any(|f| f.rdma != RdmaKind::None);
    let rdma_ok = smb_direct && src_rdma && dst_rdma;
    // Multichannel uses only the best class both ends have, and within it the fastest speed.
    let best = |list: &[Iface]| list.iter().map(|f| class(f, rdma_ok)).max();
    let (Some(bs), Some(bd)) = (best(&ifaces[from]), best(&ifaces[to])) else {
        return (
            "no network path (every NIC is down or uncabled)".into(),
            0,
            Vec::new(),
            Vec::new(),
        );
    };
    let cls = bs.min(bd);
    let pick = |list: &[Iface]| -> Vec<(usize, Iface)> {
        let same: Vec<(usize, &Iface)> = list
            .iter()
            .enumerate()
            .filter(|(_, f)| class(f, rdma_ok) >= cls)
            .collect();
        let top = same
            .iter()
            .map(|(_, f)| f.member_speed_bps)
            .fold(0.0, f64::max);
        same.into_iter()
            .filter(|(_, f)| f.member_speed_bps >= top)
            .map(|(i, f)| (i, f.clone()))
            .collect()
    };
    let (s_list, d_list) = (pick(&ifaces[from]), pick(&ifaces[to]));
    let pairs = s_list.len().min(d_list.len());
    let per = match cls {
        Class::Rdma => p.smb_direct_connections_per_nic,
        Class::Rss => p.smb_connections_per_rss_nic,
        Class::Other => 1,
    } as usize;
    let mut count = 0usize;
    let max = p.smb_max_connections as usize;
    let mut pfc_note = false;
    for k in 0..pairs {
        let (si, s_if) = &s_list[k];
        let (_, d_if) = &d_list[k];
        for _ in 0..per {
            if count >= max {
                break;
            }
            count += 1;
            let key = FlowKey {
                src_ip: ip(from, s_if.members[0]),
                dst_ip: ip(to, d_if.members[0]),
                src_port: ports.take(from),
                dst_port: 445,
            };
            let (s_nic, tx) = src_member(b, from, src, *si, s_if, &key);
            let (d_nic, rx) = dst_member(b, to, dst, d_if, &key);
            let mtu = src.nics[s_nic].mtu.min(dst.nics[d_nic].mtu);
            let mut coefs = Vec::new();
            let mut pool = Vec::new();
            let dst_lp;
            if cls == Class::Rdma {
                let mut eff = rdma_efficiency(p, mtu);
                let lossy = |h: &HostSpec, n: usize| {
                    h.nics[n].rdma == RdmaKind::RoCE
                        && h.nics[n]
                            .switch
                            .as_ref()
                            .and_then(|s| spec.switches.iter().find(|x| &x.name == s))
                            .is_some_and(|s| !s.dcb_pfc)
                };
                if lossy(src, s_nic) || lossy(dst, d_nic) {
                    eff *= p.roce_without_pfc_efficiency;
                    pfc_note = true;
                }
                coefs.push((tx, 1.0 / eff));
                coefs.push((rx, 1.0 / eff));
                pool.push((to, p.rdma_cpb));
                pool.push((from, p.rdma_cpb));
                dst_lp = None;
            } else {
                let wire = 1.0 / tcp_efficiency(p, mtu);
                coefs.push((tx, wire));
                coefs.push((rx, wire));
                let r = &rss[to][d_nic];
                let lp = r.lps[rss_queue(toeplitz(&RSS_KEY, &key), r.lps.len() as u32) as usize];
                let numa = numa_factor(p, r, &cpus[to], lp, dst.nics[d_nic].numa_node);
                let lbfo_d = if d_if.lbfo() { p.lbfo_cpb } else { 0.0 };
                let lbfo_s = if s_if.lbfo() { p.lbfo_cpb } else { 0.0 };
                let lp_res = b.res(Res::Lp(to, lp), cpus[to].hz);
                if r.numa_aware {
                    // SMB work stays on the connection's RSS processor.
                    coefs.push((lp_res, (p.tcp_rx_cpb + p.smb_server_cpb) * numa + lbfo_d));
                } else {
                    coefs.push((lp_res, p.tcp_rx_cpb * numa + lbfo_d));
                    pool.push((
                        to,
                        p.smb_server_cpb + p.smb_handoff_cpb + p.rss_unaware_overhead_cpb,
                    ));
                }
                pool.push((from, p.smb_client_cpb + p.tcp_tx_cpb + lbfo_s));
                dst_lp = Some(lp);
            }
            flows.push(Flow {
                group,
                coefs: merge(coefs),
                pool,
                result: FlowResult {
                    migration: mi,
                    protocol: if cls == Class::Rdma {
                        "SMB Direct"
                    } else {
                        "SMB"
                    },
                    src_nic: src.nics[s_nic].name.clone(),
                    dst_nic: dst.nics[d_nic].name.clone(),
                    dst_lp,
                    payload_bytes_per_s: 0.0,
                },
            });
        }
    }
    let names = |list: &[(usize, Iface)], h: &HostSpec| {
        list.iter()
            .take(pairs)
            .map(|(_, f)| describe_team(f, h))
            .collect::<Vec<_>>()
            .join(" + ")
    };
    let mut path = match cls {
        Class::Rdma => {
            let kind = s_list.first().map_or(RdmaKind::None, |f| f.1.rdma);
            let kind = match kind {
                RdmaKind::RoCE => "RoCEv2",
                RdmaKind::IWarp => "iWARP",
                RdmaKind::InfiniBand => "InfiniBand",
                RdmaKind::None => "RDMA",
            };
            format!(
                "SMB Direct ({kind}) over {}, {count} RDMA connections",
                names(&s_list, src)
            )
        }
        _ => {
            let raw = |h: &HostSpec| h.nics.iter().any(|n| n.rdma != RdmaKind::None);
            let why = if !smb_direct || (!raw(src) && !raw(dst)) {
                String::new()
            } else if !raw(dst) {
                format!(" — no RDMA on {}", dst.name)
            } else if !raw(src) {
                format!(" — no RDMA on {}", src.name)
            } else if !rdma_ok {
                let lbfo = ifaces[from].iter().chain(&ifaces[to]).any(|f| f.lbfo());
                if lbfo {
                    " — RDMA lost in the LBFO team".to_string()
                } else {
                    " — no RDMA NIC is up".to_string()
                }
            } else {
                String::new()
            };
            let mc = if count > 1 { "Multichannel, " } else { "" };
            format!(
                "SMB over TCP{why} ({mc}{count} connections over {})",
                names(&s_list, src)
            )
        }
    };
    if pfc_note {
        path.push_str(" — RoCE without PFC: degraded");
    }
    let members = |list: &[(usize, Iface)]| -> Vec<usize> {
        list.iter()
            .take(pairs)
            .flat_map(|(_, f)| f.members.iter().copied())
            .collect()
    };
    (path, count, members(&s_list), members(&d_list))
}
