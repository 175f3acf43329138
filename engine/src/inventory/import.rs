//! Inventory → scenario. The network live migration uses is resolved per node as Windows resolves
//! it (`cluster-and-network-facts.md` §10): cluster-enabled networks that are up, in
//! `MigrationNetworkOrder` (or by metric), minus `MigrationExcludeNetworks`, kept only where the
//! node accepts live migration (`UseAnyNetworkForMigration`, or its `Get-VMMigrationNetwork`
//! subnets); with nothing left, VMMS binds to the management network (an assumption, 3P). Only the
//! NICs of the resolved networks are cabled in the lab, since they are the ones the transport model
//! moves memory over; every such choice is a [`Decision`] with the rule that made it.

use super::InventoryError;
use super::read::J;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One resolved value and the rule that decided it.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// The node, VM or `cluster`.
    pub subject: String,
    pub what: String,
    pub value: String,
    pub rule: String,
}

/// The imported lab: scenario text, what lmlab cannot model, and how each setting was resolved.
#[derive(Clone, Debug)]
pub struct Imported {
    pub toml: String,
    pub warnings: Vec<String>,
    pub decisions: Vec<Decision>,
    pub facts: Facts,
}

/// What the inventory says that a scenario does not hold, for `lmlab check`.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// The cluster's `MaximumParallelMigrations` (WS2022 CU and later).
    pub parallel_limit: Option<i64>,
    /// Each node's `MaximumVirtualMachineMigrations`.
    pub host_parallel: Vec<(String, i64)>,
    /// Each node's SMB bandwidth limit for live migration (bytes/s) and its live-migration NICs'
    /// total speed (bit/s).
    pub lm_limits: Vec<(String, f64, f64)>,
    /// Nodes whose live migration runs on the management network, with the rule that sent it there.
    pub lm_on_management: Vec<(String, String)>,
    /// RDMA NICs whose DCBX is `Willing` (node, NIC).
    pub dcbx_willing: Vec<(String, String)>,
}

type R<T> = Result<T, InventoryError>;

const ROLES: [(i64, &str); 4] = [
    (0, "None"),
    (1, "Cluster"),
    (2, "Client"),
    (3, "ClusterAndClient"),
];
const NET_STATES: [(i64, &str); 4] = [
    (0, "Unavailable"),
    (1, "Down"),
    (2, "Partitioned"),
    (3, "Up"),
];
const PERF: [(i64, &str); 3] = [(0, "TCPIP"), (1, "Compression"), (2, "SMB")];
const TEAM_MODES: [(i64, &str); 3] = [(0, "Static"), (1, "SwitchIndependent"), (2, "Lacp")];
const ALGORITHMS: [(i64, &str); 5] = [
    (0, "TransportPorts"),
    (2, "IPAddresses"),
    (3, "MacAddresses"),
    (4, "HyperVPort"),
    (5, "Dynamic"),
];

fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A name lmlab accepts (no commas or quotes, at most 64 characters).
fn clean(s: &str) -> String {
    let c: String = s
        .chars()
        .map(|c| {
            if c == ',' || c == '"' || c.is_control() {
                ' '
            } else {
                c
            }
        })
        .collect();
    c.trim().chars().take(64).collect()
}

/// An IPv4 address as a number.
fn ipv4(s: &str) -> Option<u32> {
    let p: Vec<u32> = s
        .split('.')
        .map(|x| x.trim().parse().ok())
        .collect::<Option<_>>()?;
    (p.len() == 4 && p.iter().all(|&x| x < 256)).then(|| p.iter().fold(0, |a, &x| (a << 8) | x))
}

/// A cluster network.
struct Net {
    id: String,
    name: String,
    /// Network address and prefix length.
    subnet: Option<(u32, u32)>,
    role: i64,
    metric: i64,
    up: bool,
}

fn networks(root: &J<'_>) -> R<Vec<Net>> {
    let mut out = Vec::new();
    for n in root.k("networks").items()? {
        let mask = n.k("AddressMask").opt_str()?.and_then(|m| ipv4(&m));
        let addr = n.k("Address").opt_str()?.and_then(|a| ipv4(&a));
        out.push(Net {
            id: n
                .k("Id")
                .opt_str()?
                .unwrap_or_default()
                .to_ascii_lowercase(),
            name: n.k("Name").str()?,
            subnet: addr.zip(mask).map(|(a, m)| (a & m, m.count_ones())),
            role: n.k("Role").enumeration(&ROLES)?,
            metric: n.k("Metric").opt_int()?.unwrap_or(0),
            up: n.k("State").is_missing() || n.k("State").enumeration(&NET_STATES)? == 3,
        });
    }
    Ok(out)
}

fn cidr(s: &str) -> Option<(u32, u32)> {
    let (a, p) = s.split_once('/')?;
    let p: u32 = p.trim().parse().ok().filter(|p| *p <= 32)?;
    let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
    Some((ipv4(a)? & mask, p))
}

/// The cluster's candidate networks for live migration, in order, with why.
fn cluster_order(root: &J<'_>, nets: &[Net], d: &mut Vec<Decision>) -> R<Vec<usize>> {
    let vrt = root.k("vm_resource_type");
    let ids = |k: &str| -> R<Vec<String>> {
        Ok(vrt
            .k(k)
            .opt_str()?
            .unwrap_or_default()
            .split(';')
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect())
    };
    let (order, exclude) = (
        ids("MigrationNetworkOrder")?,
        ids("MigrationExcludeNetworks")?,
    );
    let mut idx: Vec<usize> = if order.is_empty() {
        // By metric, the lowest (heartbeats and CSV) last.
        let mut v: Vec<usize> = (0..nets.len()).collect();
        v.sort_by_key(|&i| nets[i].metric);
        if !v.is_empty() {
            v.rotate_left(1);
        }
        v
    } else {
        order
            .iter()
            .filter_map(|id| nets.iter().position(|n| &n.id == id))
            .collect()
    };
    for i in 0..nets.len() {
        if !idx.contains(&i) {
            idx.push(i);
        }
    }
    let mut kept = Vec::new();
    for i in idx {
        let n = &nets[i];
        let why = if exclude.contains(&n.id) {
            Some("excluded by MigrationExcludeNetworks")
        } else if !matches!(n.role, 1 | 3) {
            Some("its Role is not cluster-enabled (1 or 3)")
        } else if !n.up {
            Some("it is not Up")
        } else {
            None
        };
        match why {
            Some(w) => d.push(Decision {
                subject: "cluster".into(),
                what: format!("network '{}'", n.name),
                value: "not used for live migration".into(),
                rule: w.into(),
            }),
            None => kept.push(i),
        }
    }
    Ok(kept)
}

/// One node as the lab needs it.
struct Node {
    name: String,
    toml: String,
    /// Cluster networks its live migrations use, and the physical NICs on them.
    nics: Vec<(String, usize)>,
    pfc: bool,
}

/// The networks a node's live migrations use: the cluster's order, kept where the node accepts
/// them; else the management network (Role 3, lowest metric).
fn node_networks(
    h: &J<'_>,
    node: &str,
    nets: &[Net],
    order: &[usize],
    d: &mut Vec<Decision>,
) -> R<Vec<usize>> {
    let any = h
        .k("vmhost")
        .k("UseAnyNetworkForMigration")
        .opt_bool()?
        .unwrap_or(true);
    let mut subnets = Vec::new();
    for m in h.k("migration_networks").items()? {
        let s = m.k("Subnet").str()?;
        match cidr(&s) {
            Some(c) => subnets.push(c),
            None => {
                return m
                    .k("Subnet")
                    .fail(format!("\"{s}\" is not an IPv4 subnet like 10.0.0.0/24"));
            }
        }
    }
    let accepted: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&i| any || nets[i].subnet.is_some_and(|s| subnets.contains(&s)))
        .collect();
    let names = |v: &[usize]| {
        v.iter()
            .map(|&i| format!("'{}'", nets[i].name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !accepted.is_empty() {
        let mut rule = if any {
            "UseAnyNetworkForMigration is true: the cluster's order (MigrationNetworkOrder, else metric)".to_string()
        } else {
            "the cluster's order, kept where the node's Get-VMMigrationNetwork subnets accept it"
                .to_string()
        };
        // Live migration on the management network: say what pushed it there.
        if nets[accepted[0]].role == 3 {
            let left_out: Vec<String> = d
                .iter()
                .filter(|x| x.subject == "cluster" && x.value == "not used for live migration")
                .map(|x| format!("{} is {}", x.what, x.rule))
                .collect();
            rule = if left_out.is_empty() {
                format!("{rule}; it is the management network (Role ClusterAndClient)")
            } else {
                format!(
                    "the management network (Role ClusterAndClient), because {}",
                    left_out.join("; ")
                )
            };
        }
        d.push(Decision {
            subject: node.into(),
            what: "live-migration networks".into(),
            value: names(&accepted),
            rule,
        });
        return Ok(accepted);
    }
    let mgmt = (0..nets.len())
        .filter(|&i| nets[i].role == 3 && nets[i].up)
        .min_by_key(|&i| nets[i].metric);
    let why = if order.is_empty() {
        "no cluster network is left for live migration (excluded, not cluster-enabled or down)"
            .to_string()
    } else {
        format!(
            "none of {} is among the node's migration networks",
            names(order)
        )
    };
    match mgmt {
        Some(i) => {
            d.push(Decision {
                subject: node.into(),
                what: "live-migration networks".into(),
                value: format!("'{}' (management)", nets[i].name),
                rule: format!("{why}: VMMS falls back to the management network (assumption, 3P)"),
            });
            Ok(vec![i])
        }
        None => h.k("migration_networks").fail(format!(
            "{why}, and there is no management network to fall back to"
        )),
    }
}

/// A node's processors, for RSS placement.
#[derive(Clone, Copy)]
struct Cpu {
    sockets: usize,
    lps: i64,
    cores: i64,
}

/// Where a node sits: the cluster's networks, the ones its live migrations use, and the cluster's
/// parallel-migration limit when it has one.
struct Place<'n> {
    nets: &'n [Net],
    lm: &'n [usize],
    parallel: Option<i64>,
}

/// Processors, memory, migration settings and the NICs on the live-migration networks.
fn node(root: &J<'_>, h: &J<'_>, name: &str, at: &Place<'_>, w: &mut Vec<String>) -> R<Node> {
    let (nets, lm) = (at.nets, at.lm);
    let procs = h.k("processors").items()?;
    let sockets = procs.len().max(1);
    let cores = match procs.first() {
        Some(p) => p.k("NumberOfCores").int()?.max(1),
        None => {
            return h
                .k("processors")
                .fail("is missing: the node's processors (Win32_Processor) are needed");
        }
    };
    let lps = procs[0]
        .k("NumberOfLogicalProcessors")
        .opt_int()?
        .unwrap_or(cores);
    let clock = match procs[0].k("MaxClockSpeed").opt_num()? {
        Some(mhz) => mhz / 1000.0,
        None => {
            w.push(format!("{name}: no processor clock in the inventory (Win32_Processor MaxClockSpeed); 2.6 GHz assumed"));
            2.6
        }
    };
    let vmhost = h.k("vmhost");
    let memory = vmhost.k("MemoryCapacity").num()?;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "[[hosts]]\nname = {}\nsockets = {sockets}\ncores_per_socket = {cores}\nsmt = {}\nclock_ghz = {clock}\nmemory = {}",
        q(name),
        lps > cores,
        size(memory)
    );
    let mut over = Vec::new();
    if !vmhost
        .k("VirtualMachineMigrationPerformanceOption")
        .is_missing()
    {
        let p = vmhost
            .k("VirtualMachineMigrationPerformanceOption")
            .enumeration(&PERF)?;
        over.push(format!("performance_option = {}", q(PERF[p as usize].1)));
    }
    let host_max = vmhost.k("MaximumVirtualMachineMigrations").opt_int()?;
    if let Some(n) = at.parallel.or(host_max) {
        over.push(format!("max_simultaneous = {}", n.clamp(1, 64)));
    }
    if let Some(b) = lm_limit(h)? {
        over.push(format!(
            "smb_bandwidth_limit = \"{}MiB/s\"",
            (b / 1_048_576.0 * 1000.0).round() / 1000.0
        ));
    }
    if !over.is_empty() {
        let _ = writeln!(t, "migration = {{ {} }}", over.join(", "));
    }
    // The NICs on the live-migration networks: physical adapters, or a host vNIC's team members.
    let adapters = h.k("net_adapters").items()?;
    let adapter = |n: &str| {
        adapters
            .iter()
            .find(|a| a.k("Name").opt_str().ok().flatten().as_deref() == Some(n))
    };
    let mut on_net: Vec<(String, usize)> = Vec::new();
    let mut team: Option<String> = None;
    // Host vNICs on the live-migration networks (SET: one per member at most).
    let mut vnics = 0;
    for ni in root.k("network_interfaces").items()? {
        if ni.k("Node").str()? != name {
            continue;
        }
        let net_name = ni.k("Network").str()?;
        let Some(&net) = lm.iter().find(|&&i| nets[i].name == net_name) else {
            continue;
        };
        let a = ni.k("Adapter").str()?;
        let virtual_ = match adapter(&a) {
            Some(x) => x.k("Virtual").opt_bool()?.unwrap_or(false),
            None => a.starts_with("vEthernet"),
        };
        if virtual_ {
            vnics += 1;
            let (members, spec) = team_of(h, (&a, vnics), w, name)?;
            team = Some(spec);
            on_net.extend(members.into_iter().map(|m| (m, net)));
        } else {
            on_net.push((a, net));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    on_net.retain(|(n, _)| seen.insert(n.clone()));
    if on_net.is_empty() {
        w.push(format!("{name}: no adapter of the node is on its live-migration networks (network_interfaces); the node has no NIC in the lab"));
    }
    if let Some(spec) = &team {
        let _ = writeln!(t, "teaming = {spec}");
    }
    let rss = h.k("rss").items()?;
    let rdma = h.k("rdma").items()?;
    for (nic, net) in &on_net {
        let Some(a) = adapter(nic) else {
            return h.k("net_adapters").fail(format!(
                "no adapter named '{nic}' (network_interfaces names it)"
            ));
        };
        let cpu = Cpu {
            sockets,
            lps,
            cores,
        };
        let _ = write!(
            t,
            "{}",
            nic_toml(a, (nic, &nets[*net].name), &rss, &rdma, cpu)?
        );
    }
    let pfc = !h.k("qos_flow_control").items()?.is_empty()
        && h.k("adapter_qos").items()?.iter().all(|a| {
            a.k("OperationalFlowControl")
                .opt_str()
                .ok()
                .flatten()
                .is_some_and(|s| s.contains("Enabled"))
        });
    Ok(Node {
        name: name.to_string(),
        toml: t,
        nics: on_net,
        pfc,
    })
}

/// The team behind host vNIC `vnic`, the `vnics`-th on the live-migration networks (SET, or
/// LBFO): its member NIC names and its `teaming` value (SET: that many host vNICs, at most one per
/// member).
fn team_of(
    h: &J<'_>,
    (vnic, vnics): (&str, usize),
    w: &mut Vec<String>,
    node: &str,
) -> R<(Vec<String>, String)> {
    let adapters = h.k("net_adapters").items()?;
    let by_desc = |d: &str| -> R<Option<String>> {
        for a in &adapters {
            if a.k("InterfaceDescription").opt_str()?.as_deref() == Some(d) {
                return a.k("Name").opt_str();
            }
        }
        Ok(None)
    };
    if let Some(t) = h.k("vm_switch_teams").items()?.first() {
        let mut members = Vec::new();
        for d in t.k("NetAdapterInterfaceDescription").items()? {
            match by_desc(&d.str()?)? {
                Some(n) => members.push(n),
                None => return d.fail("names no adapter of net_adapters"),
            }
        }
        let alg = if t.k("LoadBalancingAlgorithm").is_missing() {
            5
        } else {
            t.k("LoadBalancingAlgorithm").enumeration(&ALGORITHMS)?
        };
        let alg = if alg == 4 { "HyperVPort" } else { "Dynamic" };
        let quoted: Vec<String> = members.iter().map(|m| q(m)).collect();
        let spec = format!(
            "{{ mode = \"SET\", algorithm = {}, members = [{}], host_vnics = {} }}",
            q(alg),
            quoted.join(", "),
            vnics.min(members.len().max(1))
        );
        return Ok((members, spec));
    }
    if let Some(t) = h.k("lbfo_teams").items()?.first() {
        let mode = t.k("TeamingMode").enumeration(&TEAM_MODES)?;
        let alg = t.k("LoadBalancingAlgorithm").enumeration(&ALGORITHMS)?;
        let mut members = Vec::new();
        for m in t.k("Members").items()? {
            members.push(m.str()?);
        }
        let quoted: Vec<String> = members.iter().map(|m| q(m)).collect();
        let mode = TEAM_MODES
            .iter()
            .find(|x| x.0 == mode)
            .map_or("SwitchIndependent", |x| x.1);
        let alg = ALGORITHMS
            .iter()
            .find(|x| x.0 == alg)
            .map_or("Dynamic", |x| x.1);
        return Ok((
            members,
            format!(
                "{{ mode = {}, algorithm = {}, members = [{}] }}",
                q(mode),
                q(alg),
                quoted.join(", ")
            ),
        ));
    }
    w.push(format!("{node}: '{vnic}' is a virtual adapter but the inventory has no team (vm_switch_teams, lbfo_teams) behind it"));
    Ok((Vec::new(), String::from("{ mode = \"None\" }")))
}

/// One `[[hosts.nics]]` entry: adapter `a`, named `nic`, on network `net`.
fn nic_toml(
    a: &J<'_>,
    (nic, net): (&str, &str),
    rss: &[J<'_>],
    rdma: &[J<'_>],
    cpu: Cpu,
) -> R<String> {
    let Cpu {
        sockets,
        lps,
        cores,
    } = cpu;
    fn named<'a>(list: &'a [J<'a>], nic: &str) -> Option<&'a J<'a>> {
        list.iter()
            .find(|x| x.k("Name").opt_str().ok().flatten().as_deref() == Some(nic))
    }
    let speed = a.k("ReceiveLinkSpeed").num()?;
    let mtu = a.k("MtuSize").opt_int()?.unwrap_or(1500).clamp(576, 9216);
    let mut t = format!(
        "  [[hosts.nics]]\n  name = {}\n  speed = \"{}Mbps\"\n  switch = {}\n  mtu = {mtu}\n",
        q(nic),
        (speed / 1e6).round().max(1.0),
        q(&clean(net))
    );
    if let Some(d) = a.k("InterfaceDescription").opt_str()? {
        let _ = writeln!(t, "  description = {}", q(&clean(&d)));
    }
    if let Some(r) = named(rdma, nic)
        && r.k("Enabled").opt_bool()?.unwrap_or(false)
    {
        let kind = match r.k("NetworkDirectTechnology").opt_int()? {
            Some(1) => "iWARP",
            Some(2) => "InfiniBand",
            _ => "RoCE",
        };
        let _ = writeln!(t, "  rdma = \"{kind}\"");
    }
    if let Some(r) = named(rss, nic) {
        let numa = r
            .k("NumaNode")
            .opt_int()?
            .unwrap_or(0)
            .clamp(0, sockets as i64 - 1);
        let _ = writeln!(t, "  numa_node = {numa}");
        let queues = r
            .k("NumberOfReceiveQueues")
            .opt_int()?
            .unwrap_or(16)
            .clamp(1, 256);
        let _ = writeln!(t, "  rss_max_queues = {queues}");
        let base = r.k("BaseProcessorNumber").opt_int()?.unwrap_or(0);
        let max = r.k("MaxProcessorNumber").opt_int()?.unwrap_or(lps - 1);
        // Default RSS starts at processor 0 and may use any processor; anything else was tuned.
        if base != 0 || max < lps - 1 {
            let per_core = (lps / cores.max(1)).max(1);
            let n = r
                .k("MaxProcessors")
                .opt_int()?
                .unwrap_or(queues)
                .clamp(1, queues);
            let _ = writeln!(
                t,
                "  rss = \"Tuned\"\n  rss_tuned = {{ queues = {n}, base_core = {}, numa_node = {numa} }}",
                (base / per_core).clamp(0, cores * sockets as i64 - 1)
            );
        }
    }
    Ok(t)
}

/// The `[cluster]` table and the decision on parallel migrations.
fn cluster_toml(root: &J<'_>, d: &mut Vec<Decision>) -> R<(String, Option<i64>)> {
    let c = root.k("cluster");
    let mut t = String::from("[cluster]\n");
    if let Some(n) = c.k("Name").opt_str()? {
        let _ = writeln!(t, "name = {}", q(&clean(&n)));
    }
    let ints = [
        ("ClusterFunctionalLevel", "functional_level", ""),
        ("ResiliencyDefaultPeriod", "resiliency_default_period", "s"),
        ("QuarantineThreshold", "quarantine_threshold", ""),
        ("SameSubnetDelay", "same_subnet_delay", "ms"),
        ("SameSubnetThreshold", "same_subnet_threshold", ""),
        ("CrossSubnetDelay", "cross_subnet_delay", "ms"),
        ("CrossSubnetThreshold", "cross_subnet_threshold", ""),
        ("RouteHistoryLength", "route_history_length", ""),
    ];
    for (from, to, unit) in ints {
        if let Some(v) = c.k(from).opt_int()? {
            if unit.is_empty() {
                let _ = writeln!(t, "{to} = {v}");
            } else {
                let _ = writeln!(t, "{to} = \"{v}{unit}\"");
            }
        }
    }
    match c.k("QuarantineDuration").opt_int()? {
        Some(-1) => t.push_str("quarantine_duration = \"until-cleared\"\n"),
        Some(v) => {
            let _ = writeln!(t, "quarantine_duration = \"{v}s\"");
        }
        None => {}
    }
    if !c.k("ResiliencyLevel").is_missing() {
        let l = c
            .k("ResiliencyLevel")
            .enumeration(&[(1, "IsolateOnSpecialHeartbeat"), (2, "AlwaysIsolate")])?;
        let _ = writeln!(t, "resiliency_level = {l}");
    }
    for (from, to) in [
        ("DynamicQuorum", "dynamic_quorum"),
        ("WitnessDynamicWeight", "dynamic_witness"),
    ] {
        if let Some(b) = c.k(from).opt_bool()? {
            let _ = writeln!(t, "{to} = {b}");
        }
    }
    let res = root
        .k("quorum")
        .k("QuorumResource")
        .opt_str()?
        .unwrap_or_default()
        .to_ascii_lowercase();
    let witness = if res.contains("cloud") {
        "Cloud"
    } else if res.contains("share") {
        "FileShare"
    } else if res.is_empty() {
        "None"
    } else {
        "Disk"
    };
    let _ = writeln!(t, "witness = \"{witness}\"");
    let parallel = c.k("MaximumParallelMigrations").opt_int()?;
    if let Some(p) = parallel {
        d.push(Decision {
            subject: "cluster".into(),
            what: "simultaneous live migrations per node".into(),
            value: p.to_string(),
            rule: "the cluster's MaximumParallelMigrations (WS2022 2022-09 CU and later) overrides each host's MaximumVirtualMachineMigrations".into(),
        });
    }
    Ok((t, parallel))
}

/// Turns an inventory into a scenario (TOML text), with warnings and decisions.
pub fn import(v: &serde_json::Value, file: &str) -> R<Imported> {
    let root = J::root(v, file);
    let mut w = Vec::new();
    let mut d = Vec::new();
    let (cluster, parallel) = cluster_toml(&root, &mut d)?;
    let nets = networks(&root)?;
    let order = cluster_order(&root, &nets, &mut d)?;
    let hosts = root.k("hosts").members()?;
    if hosts.is_empty() {
        return root
            .k("hosts")
            .fail("no nodes: an inventory needs at least one host");
    }
    let mut nodes = Vec::new();
    for (name, h) in &hosts {
        let lm = node_networks(h, name, &nets, &order, &mut d)?;
        let at = Place {
            nets: &nets,
            lm: &lm,
            parallel,
        };
        nodes.push(node(&root, h, &clean(name), &at, &mut w)?);
    }
    for (name, h) in &hosts {
        if let Some(b) = lm_limit(h)? {
            d.push(Decision {
                subject: clean(name),
                what: "SMB bandwidth limit for live migration".into(),
                value: format!("{:.2} Gbit/s", b * 8.0 / 1e9),
                rule: "Get-SmbBandwidthLimit -Category LiveMigration: caps the SMB and SMB Direct live-migration traffic the node sends".into(),
            });
        }
    }
    let facts = facts(&hosts, &nodes, &d, parallel)?;
    let switches = switches_toml(&nodes, &nets, &mut w);
    let (storage, vms, first_vm) = vms_toml(&root, &hosts, &mut w)?;
    let mut out = header(file, &w, &d);
    let name = root.k("cluster").k("Name").opt_str()?;
    let _ = writeln!(
        out,
        "format_version = 1\nname = {}\nuntil = \"10m\"\n",
        q(&clean(&name.unwrap_or_else(|| "my cluster".into())))
    );
    let _ = writeln!(out, "{cluster}");
    out.push_str(&switches);
    out.push_str(&storage);
    for n in &nodes {
        let _ = writeln!(out, "{}", n.toml);
    }
    out.push_str(&vms);
    out.push_str(&what_to_try(&nodes, first_vm));
    Ok(Imported {
        toml: out,
        warnings: w,
        decisions: d,
        facts,
    })
}

/// A first migration to watch and a comparison of the performance options, between the first two
/// nodes: starting points the user edits.
fn what_to_try(nodes: &[Node], first_vm: Option<(String, String)>) -> String {
    let mut t = String::new();
    if nodes.len() < 2 {
        return t;
    }
    if let Some((vm, host)) = first_vm
        && let Some(to) = nodes.iter().find(|n| n.name != host)
    {
        let _ = writeln!(
            t,
            "# A first live migration to watch (edit or remove).\n[[script]]\nat = \"10s\"\naction = \"migrate\"\nvm = {}\nto = {}\n",
            q(&vm),
            q(&to.name)
        );
    }
    let (from, to) = (q(&nodes[0].name), q(&nodes[1].name));
    t.push_str("# The lab as imported beside the other performance options (lmlab compare).\n");
    for (id, name, extra) in [
        ("as-imported", "As imported", ""),
        (
            "smb-no-rdma",
            "SMB without SMB Direct",
            "performance_option = \"SMB\"\nsmb_direct = false\n",
        ),
        ("tcpip", "TCP/IP", "performance_option = \"TCPIP\"\n"),
        (
            "compression",
            "Compression",
            "performance_option = \"Compression\"\n",
        ),
    ] {
        let _ = writeln!(
            t,
            "[[configurations]]\nid = \"{id}\"\nname = \"{name}\"\nfrom = {from}\nto = {to}\nvms = 1\n{extra}"
        );
    }
    t
}

/// Memory as TOML text: GiB when whole, else MiB.
fn size(bytes: f64) -> String {
    let mib = (bytes / 1_048_576.0).round().max(32.0);
    if mib % 1024.0 == 0.0 {
        format!("\"{}GiB\"", mib / 1024.0)
    } else {
        format!("\"{mib}MiB\"")
    }
}

/// The header comment: where it came from, what cannot be modelled, how settings were resolved.
fn header(file: &str, w: &[String], d: &[Decision]) -> String {
    let mut t = format!("# Imported by lmlab from {file} (schema lmlab.inventory/1).\n#\n");
    if !w.is_empty() {
        t.push_str("# Not modelled (warnings):\n");
        for x in w {
            let _ = writeln!(t, "#   - {x}");
        }
        t.push_str("#\n");
    }
    t.push_str("# How live migration was resolved:\n");
    for x in d {
        let _ = writeln!(
            t,
            "#   - {}: {} = {} ({})",
            x.subject, x.what, x.value, x.rule
        );
    }
    t.push('\n');
    t
}

/// The facts `lmlab check` needs beyond the lab.
fn facts(
    hosts: &[(String, J<'_>)],
    nodes: &[Node],
    d: &[Decision],
    parallel: Option<i64>,
) -> R<Facts> {
    let mut f = Facts {
        parallel_limit: parallel,
        ..Facts::default()
    };
    for ((name, h), n) in hosts.iter().zip(nodes) {
        if let Some(m) = h
            .k("vmhost")
            .k("MaximumVirtualMachineMigrations")
            .opt_int()?
        {
            f.host_parallel.push((n.name.clone(), m));
        }
        let adapters = h.k("net_adapters").items()?;
        let mut link = 0.0;
        for (nic, _) in &n.nics {
            for a in &adapters {
                if a.k("Name").opt_str()?.as_deref() == Some(nic.as_str()) {
                    link += a.k("ReceiveLinkSpeed").opt_num()?.unwrap_or(0.0);
                }
            }
        }
        if let Some(b) = lm_limit(h)? {
            f.lm_limits.push((n.name.clone(), b, link));
        }
        let rdma: Vec<String> = h
            .k("rdma")
            .items()?
            .iter()
            .filter(|r| r.k("Enabled").opt_bool().ok().flatten() == Some(true))
            .filter_map(|r| r.k("Name").opt_str().ok().flatten())
            .collect();
        for x in h.k("qos_dcbx").items()? {
            let alias = x.k("InterfaceAlias").opt_str()?.unwrap_or_default();
            if x.k("Willing").opt_bool()? == Some(true) && rdma.contains(&alias) {
                f.dcbx_willing.push((name.clone(), alias));
            }
        }
    }
    f.lm_on_management = d
        .iter()
        .filter(|x| x.what == "live-migration networks" && x.rule.contains("management network"))
        .map(|x| (x.subject.clone(), x.rule.clone()))
        .collect();
    Ok(f)
}

/// A node's SMB bandwidth limit for live migration (bytes/s), if it has one.
fn lm_limit(h: &J<'_>) -> R<Option<f64>> {
    for l in h.k("smb_bandwidth_limits").items()? {
        let cat = l.k("CategoryName").opt_str()?.unwrap_or_default();
        // Category numbers per the MSFT_SmbBandwidthLimit class page (2 = LiveMigration); the
        // collector also writes the name, which wins (your-cluster.md §3, CONFLICT).
        let live = cat.eq_ignore_ascii_case("LiveMigration")
            || (cat.is_empty() && l.k("Category").opt_int()? == Some(2));
        if live {
            return Ok(Some(l.k("BytesPerSecond").num()?));
        }
    }
    Ok(None)
}

/// One switch per live-migration network that has NICs on it, PFC where every node has it.
fn switches_toml(nodes: &[Node], nets: &[Net], w: &mut Vec<String>) -> String {
    let mut by_net: BTreeMap<usize, Vec<&Node>> = BTreeMap::new();
    for n in nodes {
        for (_, net) in &n.nics {
            let list = by_net.entry(*net).or_default();
            if !list.iter().any(|x| x.name == n.name) {
                list.push(n);
            }
        }
    }
    let mut t = String::new();
    for (net, ns) in by_net {
        let pfc = ns.iter().all(|n| n.pfc);
        if !pfc && ns.iter().any(|n| n.pfc) {
            let without: Vec<&str> = ns
                .iter()
                .filter(|n| !n.pfc)
                .map(|n| n.name.as_str())
                .collect();
            w.push(format!(
                "switch '{}': PFC is on for some nodes only (off on {}); the lab models it off for all",
                clean(&nets[net].name),
                without.join(", ")
            ));
        }
        let _ = writeln!(
            t,
            "[[switches]]\nname = {}\ndcb_pfc = {pfc}\nlacp = true\n",
            q(&clean(&nets[net].name))
        );
    }
    t
}

/// Storage (the CSVs; SMB shares from VM paths) and the VMs.
/// Also returns the first VM and its host.
#[allow(clippy::type_complexity)]
fn vms_toml(
    root: &J<'_>,
    hosts: &[(String, J<'_>)],
    w: &mut Vec<String>,
) -> R<(String, String, Option<(String, String)>)> {
    let mut first = None;
    let mut storage: Vec<(String, String, &'static str)> = Vec::new();
    for c in root.k("csvs").items()? {
        let name = clean(&c.k("Name").str()?);
        for i in c.k("SharedVolumeInfo").items()? {
            if let Some(p) = i.k("FriendlyVolumeName").opt_str()? {
                storage.push((name.clone(), p.to_ascii_lowercase(), "CSV"));
            }
        }
    }
    let groups: Vec<J<'_>> = root.k("groups").items()?;
    let mut vms = String::new();
    for (host, h) in hosts {
        for vm in h.k("vms").items()? {
            let name = clean(&vm.k("Name").str()?);
            let path = vm.k("Path").opt_str()?.unwrap_or_default();
            let lower = path.to_ascii_lowercase();
            let store = match storage.iter().find(|s| lower.starts_with(&s.1)) {
                Some(s) => s.0.clone(),
                None if lower.starts_with("\\\\") => {
                    let share: Vec<&str> =
                        path.trim_start_matches('\\').split('\\').take(2).collect();
                    let n = clean(&format!("\\\\{}", share.join("\\")));
                    storage.push((n.clone(), lower.clone(), "SMB3"));
                    n
                }
                None => {
                    w.push(format!("{name}: its files ({path}) are on no CSV or SMB share; modelled on the first CSV"));
                    storage.first().map(|s| s.0.clone()).unwrap_or_else(|| {
                        storage.push(("local".into(), String::new(), "CSV"));
                        "local".into()
                    })
                }
            };
            let mem = vm.k("MemoryStartup").num()?;
            let _ = writeln!(
                vms,
                "[[vms]]\nname = {}\nhost = {}\nmemory = {}\nstorage = {}",
                q(&name),
                q(&clean(host)),
                size(mem),
                q(&store)
            );
            if first.is_none() {
                first = Some((name.clone(), clean(host)));
            }
            if let Some(v) = vm.k("Version").opt_str()? {
                let _ = writeln!(vms, "config_version = {}", q(&v));
            }
            let state = vm.k("State").opt_int()?;
            if state.is_some_and(|s| s != 2) {
                vms.push_str("state = \"Off\"\n");
            }
            if let Some(g) = groups
                .iter()
                .find(|g| g.k("Name").opt_str().ok().flatten().as_deref() == Some(name.as_str()))
            {
                let prio = match g.k("Priority").opt_int()? {
                    Some(3000) => Some("High"),
                    Some(1000) => Some("Low"),
                    Some(0) => Some("NoAutoStart"),
                    _ => None,
                };
                if let Some(p) = prio {
                    let _ = writeln!(vms, "priority = \"{p}\"");
                }
                if let Some(p) = g.k("ResiliencyPeriod").opt_int()?.filter(|p| *p >= 0) {
                    let _ = writeln!(vms, "resiliency_period = \"{p}s\"");
                }
            }
            vms.push('\n');
        }
    }
    w.push(
        "guest dirty rates are not in an inventory: every VM's dirty_rate is 0 until you set it"
            .into(),
    );
    let mut s = String::new();
    for (name, _, kind) in &storage {
        if !s.contains(&format!("name = {}\n", q(name))) {
            let _ = writeln!(s, "[[storage]]\nname = {}\nkind = \"{kind}\"\n", q(name));
        }
    }
    Ok((s, vms, first))
}
