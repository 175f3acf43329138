//! The connections each migration opens (one TCP connection, or an SMB session's channels), the
//! members and processors they use, and what each payload byte costs on every resource.

use super::fairness::{Res, Resources};
use super::hash::{FlowKey, RSS_KEY, rss_queue, toeplitz};
use super::params::TransportParams;
use super::solution::FlowResult;
use super::topology::{Cpu, Egress, Iface, Rss, Topology};
use crate::rng::SimRng;
use crate::scenario::{
    HostSpec, LoadBalancingAlgorithm, MemoryMix, PerformanceOption, RdmaKind, ScenarioSpec,
};

/// Bytes of guest memory per byte on the wire under Compression.
pub(super) fn compression_ratio(p: &TransportParams, mix: &MemoryMix) -> f64 {
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

/// Cycles one byte read from the other socket's memory costs on a host with this clock:
/// the extra latency of a remote cache line, per byte of the line.
fn remote_read_cpb(p: &TransportParams, cpu: &Cpu) -> f64 {
    p.remote_access_penalty_ns * 1e-9 * cpu.hz / p.cache_line_bytes.max(1.0)
}

/// The share of a received byte's reads that cross sockets. Tuned RSS: all of them when the
/// queue's processor is on another socket than the NIC, none otherwise. The inbox default (and
/// a NIC without RSS) keeps nothing on one node — receive buffers, the queue's processor, the
/// consumer threads and the guest memory fall on any socket — so each read is remote with
/// probability `1 − 1/sockets`. One socket: never.
fn remote_share(r: &Rss, cpu: &Cpu, lp: usize, nic_node: u32) -> f64 {
    let sockets = cpu.sockets();
    if sockets <= 1 {
        0.0
    } else if r.placed {
        f64::from(u8::from(cpu.socket_of_lp(lp) as u32 != nic_node))
    } else {
        1.0 - 1.0 / sockets as f64
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

fn ip(host: usize, nic: usize) -> [u8; 4] {
    [10, (nic + 1) as u8, (host >> 8) as u8, (host & 0xff) as u8]
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

/// One live migration asking for bandwidth: VM `vm` from host `from` to host `to` (indices).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MigrationReq {
    pub vm: usize,
    pub from: usize,
    pub to: usize,
}

// ------------------------------------------------------------------------------------------
// Flows, groups and what the builder hands to the solver

/// One connection: its cost per payload byte on each resource.
pub(super) struct Flow {
    pub(super) group: usize,
    pub(super) coefs: Vec<(usize, f64)>,
    /// CPU work per payload byte that any processor of a host ([`Res::Host`]) or of one socket
    /// ([`Res::Socket`]) may do, with its cycles. Folded into `coefs` when the builder finishes.
    pool: Vec<(Res, f64)>,
    /// RoCE over a switch without PFC: the link and wire costs are scaled by the loss model.
    lossy: Option<(usize, usize)>,
    /// The flow as reported; its rate is filled in once solved.
    pub(super) result: FlowResult,
}

/// How a group of migrations travels, as reported for each of them.
pub(super) struct Route {
    /// The path as a user would describe it.
    pub(super) path: String,
    /// Connections opened.
    pub(super) connections: usize,
    /// Member NICs of the interfaces used at the source and the destination.
    pub(super) src_nics: Vec<usize>,
    pub(super) dst_nics: Vec<usize>,
}

impl Route {
    fn none() -> Route {
        Route {
            path: "no network path (every NIC is down or uncabled)".into(),
            connections: 0,
            src_nics: Vec::new(),
            dst_nics: Vec::new(),
        }
    }
}

/// Migrations sharing connections: one TCP migration, or every SMB migration of a host pair.
pub(super) struct Group {
    pub(super) migrations: Vec<usize>,
    /// Compression ratio (1 without compression).
    pub(super) ratio: f64,
    pub(super) tcp: bool,
    pub(super) route: Route,
}

/// Everything the solver and the results need: resources, flows, and the groups they carry.
pub(super) struct Network {
    pub(super) res: Resources,
    pub(super) flows: Vec<Flow>,
    pub(super) groups: Vec<Group>,
    /// Per migration, its group.
    pub(super) group_of: Vec<usize>,
}

/// Builds the flows of `migs` over `topo`. The seed chooses the ephemeral ports.
pub(super) fn build(
    spec: &ScenarioSpec,
    topo: &Topology,
    migs: &[MigrationReq],
    seed: u64,
) -> Network {
    let mut b = FlowBuilder {
        spec,
        p: &spec.transport,
        topo,
        ports: Ports::new(spec.hosts.len(), seed),
        res: Resources::default(),
        flows: Vec::new(),
        workers_used: vec![0; spec.hosts.len()],
    };
    let mut groups: Vec<Group> = Vec::new();
    let mut group_of = vec![usize::MAX; migs.len()];
    for (mi, m) in migs.iter().enumerate() {
        if group_of[mi] != usize::MAX {
            continue;
        }
        let settings = spec.migration.with(&spec.hosts[m.from].migration);
        let vm = &spec.vms[m.vm];
        let mut job = Job {
            from: m.from,
            to: m.to,
            group: groups.len(),
            migration: mi,
            ratio: 1.0,
            copy_cap: spec.transport.lm_memcopy_ceiling_gbps * 1e9 / 8.0,
        };
        let group = match settings.performance_option {
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
                for &j in &members {
                    group_of[j] = job.group;
                }
                job.copy_cap *= members.len() as f64;
                let route = b.smb_flows(job, settings.smb_direct);
                Group {
                    migrations: members,
                    ratio: 1.0,
                    tcp: false,
                    route,
                }
            }
            opt @ (PerformanceOption::TcpIp | PerformanceOption::Compression) => {
                group_of[mi] = job.group;
                let ratio = if opt == PerformanceOption::Compression {
                    compression_ratio(b.p, &vm.memory_profile.mix())
                } else {
                    1.0
                };
                job.ratio = ratio;
                let route = b.tcp_flow(job, opt, ratio);
                Group {
                    migrations: vec![mi],
                    ratio,
                    tcp: true,
                    route,
                }
            }
        };
        groups.push(group);
    }
    let (res, flows) = b.finish();
    Network {
        res,
        flows,
        groups,
        group_of,
    }
}

/// The migration (group) a flow is built for, between hosts `from` and `to`.
#[derive(Clone, Copy)]
struct Job {
    from: usize,
    to: usize,
    group: usize,
    /// The first migration of the group.
    migration: usize,
    /// Guest-memory bytes per payload byte (the compression ratio, 1 without compression).
    ratio: f64,
    /// Most guest memory per second the group's memory-copy workers move together
    /// (`lm_memcopy_ceiling_gbps` per VM).
    copy_cap: f64,
}

/// A connection placed on the network: its hash key, the members it leaves and arrives on
/// (NIC indices) with their link resources, and the path MTU.
struct Conn {
    key: FlowKey,
    s_nic: usize,
    tx: usize,
    d_nic: usize,
    rx: usize,
    mtu: u32,
}

/// The shared context while flows are built: the scenario and its topology, and the state the
/// connections build up (ports taken, resources named, flows, workers placed).
struct FlowBuilder<'a> {
    spec: &'a ScenarioSpec,
    p: &'a TransportParams,
    topo: &'a Topology,
    ports: Ports,
    res: Resources,
    flows: Vec<Flow>,
    /// Per host, migration workers placed so far.
    workers_used: Vec<usize>,
}

impl FlowBuilder<'_> {
    /// The processor of the next migration worker on `host`.
    fn next_worker(&mut self, host: usize) -> usize {
        let lp = self.topo.worker_lp(host, self.workers_used[host]);
        self.workers_used[host] += 1;
        lp
    }

    /// Opens a connection from interface `si` (`s_if`) of `job.from` to `d_if` of `job.to` on
    /// `dst_port`: takes an ephemeral port, chooses the members, names their link resources.
    fn connect(&mut self, job: Job, si: usize, s_if: &Iface, d_if: &Iface, dst_port: u16) -> Conn {
        let (src, dst) = (&self.spec.hosts[job.from], &self.spec.hosts[job.to]);
        let key = FlowKey {
            src_ip: ip(job.from, s_if.members[0]),
            dst_ip: ip(job.to, d_if.members[0]),
            src_port: self.ports.take(job.from),
            dst_port,
        };
        let (s_nic, tx) = match s_if.egress(&key) {
            Egress::Spread => (
                s_if.members[0],
                self.res
                    .res(Res::TeamTx(job.from, si), s_if.speed_bps() / 8.0),
            ),
            Egress::Member(nic) => (
                nic,
                self.res
                    .res(Res::Tx(job.from, nic), src.nics[nic].speed.0 / 8.0),
            ),
        };
        let d_nic = d_if.ingress(&key);
        let rx = self
            .res
            .res(Res::Rx(job.to, d_nic), dst.nics[d_nic].speed.0 / 8.0);
        let mtu = src.nics[s_nic].mtu.min(dst.nics[d_nic].mtu);
        Conn {
            key,
            s_nic,
            tx,
            d_nic,
            rx,
            mtu,
        }
    }

    /// The destination's receive processor for `conn` (RSS hash of its key) and what each byte
    /// read across sockets costs there: zero when the processor is on the NIC's socket.
    fn rx_lp(&self, job: Job, conn: &Conn) -> (usize, f64) {
        let r = &self.topo.rss[job.to][conn.d_nic];
        let lp = r.lps[rss_queue(toeplitz(&RSS_KEY, &conn.key), r.lps.len() as u32) as usize];
        let node = self.spec.hosts[job.to].nics[conn.d_nic].numa_node;
        let cpu = &self.topo.cpus[job.to];
        (
            lp,
            remote_share(r, cpu, lp, node) * remote_read_cpb(self.p, cpu),
        )
    }

    /// Records a flow for `conn` with its per-byte costs (`coefs` are merged here).
    fn push_flow(
        &mut self,
        job: Job,
        conn: &Conn,
        protocol: &'static str,
        mut coefs: Vec<(usize, f64)>,
        pool: Vec<(Res, f64)>,
        dst_lp: Option<usize>,
    ) {
        // Every flow feeds its VMs' memory-copy workers: guest-memory bytes per payload byte.
        let copy = self.res.res(Res::Copy(job.group), job.copy_cap);
        coefs.push((copy, job.ratio));
        let (src, dst) = (&self.spec.hosts[job.from], &self.spec.hosts[job.to]);
        self.flows.push(Flow {
            group: job.group,
            coefs: merge(coefs),
            pool,
            lossy: None,
            result: FlowResult {
                migration: job.migration,
                protocol,
                src_nic: src.nics[conn.s_nic].name.clone(),
                dst_nic: dst.nics[conn.d_nic].name.clone(),
                dst_lp,
                payload_bytes_per_s: 0.0,
            },
        });
    }

    /// TCP/IP and Compression: one connection from a migration worker to a migration worker.
    fn tcp_flow(&mut self, job: Job, opt: PerformanceOption, ratio: f64) -> Route {
        let worker_src = self.next_worker(job.from);
        let worker_dst = self.next_worker(job.to);
        let (from, to) = (job.from, job.to);
        let topo = self.topo;
        let p = self.p;
        let (src, dst) = (&self.spec.hosts[from], &self.spec.hosts[to]);
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
        let (Some((si, s_if)), Some((_, d_if))) =
            (pick(&topo.ifaces[from]), pick(&topo.ifaces[to]))
        else {
            return Route::none();
        };
        let conn = self.connect(job, si, &s_if, &d_if, p.lm_tcp_port);
        let wire = 1.0 / tcp_efficiency(p, conn.mtu);
        let (lp, remote) = self.rx_lp(job, &conn);
        let lbfo_d = if d_if.lbfo() { p.lbfo_cpb } else { 0.0 };
        let lbfo_s = if s_if.lbfo() { p.lbfo_cpb } else { 0.0 };
        let comp = if opt == PerformanceOption::Compression {
            p.compress_cpb
        } else {
            0.0
        };
        let decomp = if comp > 0.0 { p.decompress_cpb } else { 0.0 };
        let hz_s = topo.cpus[from].hz;
        let hz_d = topo.cpus[to].hz;
        let coefs = vec![
            (conn.tx, wire),
            (conn.rx, wire),
            (self.res.res(Res::Lp(to, lp), hz_d), p.tcp_rx_cpb + lbfo_d),
            // The worker's costs are per guest-memory byte (`ratio` of them per wire byte).
            (
                self.res.res(Res::Lp(to, worker_dst), hz_d),
                (p.lm_worker_rx_cpb + decomp) * ratio,
            ),
            (
                self.res.res(Res::Lp(from, worker_src), hz_s),
                (p.lm_worker_tx_cpb + comp) * ratio + p.tcp_tx_cpb + lbfo_s,
            ),
        ];
        // A queue on the socket remote to the NIC reads each byte across sockets; the stalls
        // fall on the threads that touch it, which we count against the host as a whole.
        let pool = if remote > 0.0 {
            vec![(Res::Host(to), p.cross_socket_reads_tcp * remote)]
        } else {
            Vec::new()
        };
        let compressed = opt == PerformanceOption::Compression;
        let protocol = if compressed {
            "TCP (compressed)"
        } else {
            "TCP"
        };
        self.push_flow(job, &conn, protocol, coefs, pool, Some(lp));
        let what = if compressed {
            "Compression over TCP"
        } else {
            "TCP"
        };
        let (s_name, d_name) = (&src.nics[conn.s_nic].name, &dst.nics[conn.d_nic].name);
        let path = match s_if.team {
            Some(_) => format!(
                "{what}, 1 flow on {} — leaves on {}, arrives on {d_name}",
                s_if.describe(src),
                match s_if.team {
                    Some((_, LoadBalancingAlgorithm::Dynamic)) => "any member (Dynamic)",
                    _ => s_name.as_str(),
                },
            ),
            None => format!("{what}, 1 flow on {s_name} → {d_name}"),
        };
        Route {
            path,
            connections: 1,
            src_nics: s_if.members.clone(),
            dst_nics: d_if.members.clone(),
        }
    }

    /// SMB: one session per host pair, with SMB Multichannel's connections over the best
    /// interfaces both ends have (SMB Direct over RDMA when allowed and possible).
    fn smb_flows(&mut self, job: Job, smb_direct: bool) -> Route {
        let (from, to) = (job.from, job.to);
        let topo = self.topo;
        let p = self.p;
        let (src, dst) = (&self.spec.hosts[from], &self.spec.hosts[to]);
        let class = |f: &Iface, rdma_ok: bool| {
            if rdma_ok && f.rdma != RdmaKind::None {
                Class::Rdma
            } else if f.rss {
                Class::Rss
            } else {
                Class::Other
            }
        };
        let src_rdma = topo.ifaces[from].iter().any(|f| f.rdma != RdmaKind::None);
        let dst_rdma = topo.ifaces[to].iter().any(|f| f.rdma != RdmaKind::None);
        let rdma_ok = smb_direct && src_rdma && dst_rdma;
        // Multichannel uses only the best class both ends have, and within it the fastest speed.
        let best = |list: &[Iface]| list.iter().map(|f| class(f, rdma_ok)).max();
        let (Some(bs), Some(bd)) = (best(&topo.ifaces[from]), best(&topo.ifaces[to])) else {
            return Route::none();
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
        let (s_list, d_list) = (pick(&topo.ifaces[from]), pick(&topo.ifaces[to]));
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
                let conn = self.connect(job, *si, s_if, d_if, 445);
                if cls == Class::Rdma {
                    pfc_note |= self.smb_direct_flow(job, &conn);
                } else {
                    self.smb_tcp_flow(job, &conn, s_if, d_if);
                }
            }
        }
        let path = smb_path(SmbPath {
            src,
            dst,
            cls,
            s_list: &s_list,
            pairs,
            count,
            smb_direct,
            rdma_ok,
            lbfo: topo.ifaces[from]
                .iter()
                .chain(&topo.ifaces[to])
                .any(|f| f.lbfo()),
            pfc_note,
        });
        let limit = self.spec.migration.with(&src.migration).smb_bandwidth_limit;
        let path = match limit {
            Some(l) => format!(
                "{path}, at most {:.2} Gbit/s (SMB bandwidth limit for live migration)",
                l.0 * 8.0 / 1e9
            ),
            None => path,
        };
        let members = |list: &[(usize, Iface)]| -> Vec<usize> {
            list.iter()
                .take(pairs)
                .flat_map(|(_, f)| f.members.iter().copied())
                .collect()
        };
        Route {
            path,
            connections: count,
            src_nics: members(&s_list),
            dst_nics: members(&d_list),
        }
    }

    /// One SMB Direct (RDMA) connection: wire overhead of RoCEv2 framing, processing offloaded
    /// (a pooled cost at both ends). Returns whether it runs over RoCE without PFC (degraded).
    fn smb_direct_flow(&mut self, job: Job, conn: &Conn) -> bool {
        let p = self.p;
        let spec = self.spec;
        let (src, dst) = (&spec.hosts[job.from], &spec.hosts[job.to]);
        let eff = rdma_efficiency(p, conn.mtu);
        let lossy = |h: &HostSpec, n: usize| {
            h.nics[n].rdma == RdmaKind::RoCE
                && h.nics[n]
                    .switch
                    .as_ref()
                    .and_then(|s| spec.switches.iter().find(|x| &x.name == s))
                    .is_some_and(|s| !s.dcb_pfc)
        };
        let degraded = lossy(src, conn.s_nic) || lossy(dst, conn.d_nic);
        let mut coefs = vec![(conn.tx, 1.0 / eff), (conn.rx, 1.0 / eff)];
        coefs.extend(self.smb_limit(job));
        let copy = p.lm_memcopy_cpb;
        let pool = vec![
            (Res::Host(job.to), p.rdma_cpb + copy),
            (Res::Host(job.from), p.rdma_cpb + copy),
        ];
        self.push_flow(job, conn, "SMB Direct", coefs, pool, None);
        if degraded && let Some(f) = self.flows.last_mut() {
            f.lossy = Some((conn.tx, conn.rx));
        }
        degraded
    }

    /// The source host's SMB bandwidth limit for live migration, when it has one: every SMB
    /// payload byte it sends counts against it.
    fn smb_limit(&mut self, job: Job) -> Option<(usize, f64)> {
        let host = &self.spec.hosts[job.from];
        let limit = self
            .spec
            .migration
            .with(&host.migration)
            .smb_bandwidth_limit?;
        Some((self.res.res(Res::SmbLimit(job.from), limit.0), 1.0))
    }

    /// One SMB connection over TCP: receive work on its RSS processor, SMB server work on that
    /// processor's socket (the server queues work per NUMA node), the memory-copy worker and
    /// the client anywhere on their hosts.
    fn smb_tcp_flow(&mut self, job: Job, conn: &Conn, s_if: &Iface, d_if: &Iface) {
        let p = self.p;
        let wire = 1.0 / tcp_efficiency(p, conn.mtu);
        let mut coefs = vec![(conn.tx, wire), (conn.rx, wire)];
        coefs.extend(self.smb_limit(job));
        let (lp, remote) = self.rx_lp(job, conn);
        let lbfo_d = if d_if.lbfo() { p.lbfo_cpb } else { 0.0 };
        let lbfo_s = if s_if.lbfo() { p.lbfo_cpb } else { 0.0 };
        let cpu = &self.topo.cpus[job.to];
        let lp_res = self.res.res(Res::Lp(job.to, lp), cpu.hz);
        coefs.push((lp_res, p.tcp_rx_cpb + lbfo_d));
        let socket = Res::Socket(job.to, cpu.socket_of_lp(lp));
        let mut pool = vec![
            (socket, p.smb_server_cpb),
            (
                Res::Host(job.to),
                p.lm_memcopy_cpb + p.cross_socket_reads_smb * remote,
            ),
        ];
        pool.push((
            Res::Host(job.from),
            p.smb_client_cpb + p.tcp_tx_cpb + lbfo_s + p.lm_memcopy_cpb,
        ));
        self.push_flow(job, conn, "SMB", coefs, pool, Some(lp));
    }

    /// Folds pooled work into the flows' costs: one resource per involved host for all its
    /// processors together, which every processor-bound cost also counts against.
    fn finish(mut self) -> (Resources, Vec<Flow>) {
        self.roce_losses();
        let cpus = &self.topo.cpus;
        // Host-wide CPU resources for pooled work.
        for (h, c) in cpus.iter().enumerate() {
            if self.topo.involved[h] {
                self.res.res(Res::Host(h), c.total_hz());
            }
        }
        for f in &mut self.flows {
            let pool = std::mem::take(&mut f.pool);
            for (r, cycles) in pool {
                let cap = match r {
                    Res::Socket(h, _) => cpus[h].lps_per_socket() as f64 * cpus[h].hz,
                    Res::Host(h) => cpus[h].total_hz(),
                    _ => f64::INFINITY,
                };
                let id = self.res.res(r, cap);
                f.coefs.push((id, cycles));
            }
        }
        // Every processor- or socket-bound cost also counts against its host's total.
        for f in &mut self.flows {
            let mut extra = Vec::new();
            for &(r, c) in &f.coefs {
                if let Res::Lp(h, _) | Res::Socket(h, _) = self.res.keys()[r] {
                    extra.push((self.res.id(Res::Host(h)), c));
                }
            }
            f.coefs.extend(extra);
            f.coefs = merge(std::mem::take(&mut f.coefs));
        }
        (self.res, self.flows)
    }

    /// RoCE without PFC (docs/transport-model.md §3): a switch port drops what it is offered
    /// beyond its capacity. Each sender offers its link's line rate shared over its RDMA
    /// connections (RDMA NICs send at line rate); at a receiving link offered `ρ` times its
    /// capacity the drop share is `1 − 1/ρ`, and go-back-N resends `roce_gbn_window_packets`
    /// packets per drop, so goodput is `1 / (1 + W·(1 − 1/ρ))` of what the wire carries.
    fn roce_losses(&mut self) {
        let caps = self.res.caps().to_vec();
        let mut per_tx: std::collections::HashMap<usize, usize> = Default::default();
        for f in &self.flows {
            if let Some((tx, _)) = f.lossy {
                *per_tx.entry(tx).or_default() += 1;
            }
        }
        let mut offered: std::collections::HashMap<usize, f64> = Default::default();
        for f in &self.flows {
            if let Some((tx, rx)) = f.lossy {
                let share = caps[tx] / per_tx[&tx] as f64;
                *offered.entry(rx).or_default() += share;
            }
        }
        let w = self.p.roce_gbn_window_packets;
        for f in &mut self.flows {
            let Some((tx, rx)) = f.lossy else { continue };
            let rho = offered[&rx] / caps[rx].max(1e-9);
            let drop = (1.0 - 1.0 / rho).max(0.0);
            let cost = 1.0 + w * drop;
            for c in &mut f.coefs {
                if c.0 == tx || c.0 == rx {
                    c.1 *= cost;
                }
            }
        }
    }
}

/// SMB Multichannel's interface classes, best last: it uses only the best class both ends have.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Class {
    Other = 0,
    Rss = 1,
    Rdma = 2,
}

/// What an SMB session's path description is made of.
struct SmbPath<'a> {
    src: &'a HostSpec,
    dst: &'a HostSpec,
    cls: Class,
    /// The source interfaces chosen; the first `pairs` are in use.
    s_list: &'a [(usize, Iface)],
    pairs: usize,
    count: usize,
    smb_direct: bool,
    rdma_ok: bool,
    /// Whether either end has an LBFO team.
    lbfo: bool,
    pfc_note: bool,
}

/// The path of an SMB session as a user would describe it, with why RDMA is not used when it
/// was asked for.
fn smb_path(s: SmbPath<'_>) -> String {
    let (src, dst) = (s.src, s.dst);
    let count = s.count;
    let names = s
        .s_list
        .iter()
        .take(s.pairs)
        .map(|(_, f)| f.describe(src))
        .collect::<Vec<_>>()
        .join(" + ");
    let mut path = match s.cls {
        Class::Rdma => {
            let kind = s.s_list.first().map_or(RdmaKind::None, |f| f.1.rdma);
            let kind = match kind {
                RdmaKind::RoCE => "RoCEv2",
                RdmaKind::IWarp => "iWARP",
                RdmaKind::InfiniBand => "InfiniBand",
                RdmaKind::None => "RDMA",
            };
            format!("SMB Direct ({kind}) over {names}, {count} RDMA connections")
        }
        _ => {
            let raw = |h: &HostSpec| h.nics.iter().any(|n| n.rdma != RdmaKind::None);
            let why = if !s.smb_direct || (!raw(src) && !raw(dst)) {
                String::new()
            } else if !raw(dst) {
                format!(" — no RDMA on {}", dst.name)
            } else if !raw(src) {
                format!(" — no RDMA on {}", src.name)
            } else if !s.rdma_ok {
                if s.lbfo {
                    " — RDMA lost in the LBFO team".to_string()
                } else {
                    " — no RDMA NIC is up".to_string()
                }
            } else {
                String::new()
            };
            let mc = if count > 1 { "Multichannel, " } else { "" };
            format!("SMB over TCP{why} ({mc}{count} connections over {names})")
        }
    };
    if s.pfc_note {
        path.push_str(
            " — RoCE without PFC: unsupported (Microsoft requires PFC); the rate is unreliable",
        );
    }
    path
}
