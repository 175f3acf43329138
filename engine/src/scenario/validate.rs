//! Checks serde cannot make: ranges, unique names, references, and the script's verbs.

use super::Seg;
use super::spec::*;
use crate::command::{ACTIONS, Command, TimedCommand};
use crate::time::SimDuration;
use std::collections::{HashMap, HashSet};

type Fail = (Vec<Seg>, String);

/// Builds field paths tersely: `p(&["hosts"], Some(0), "sockets")`.
#[derive(Clone)]
struct P(Vec<Seg>);

impl P {
    fn root() -> P {
        P(Vec::new())
    }
    fn k(&self, k: &str) -> P {
        let mut v = self.0.clone();
        v.push(Seg::Key(k.to_string()));
        P(v)
    }
    fn i(&self, i: usize) -> P {
        let mut v = self.0.clone();
        v.push(Seg::Index(i));
        P(v)
    }
    fn fail<T>(&self, msg: impl Into<String>) -> Result<T, Fail> {
        Err((self.0.clone(), msg.into()))
    }
}

fn range_u32(p: &P, v: u32, lo: u32, hi: u32) -> Result<(), Fail> {
    if v < lo || v > hi {
        return p.fail(format!("must be from {lo} to {hi}, found {v}"));
    }
    Ok(())
}

fn range_ms(p: &P, v: SimDuration, lo_ms: u64, hi_ms: u64) -> Result<(), Fail> {
    let ms = v.as_millis_f64();
    if ms < lo_ms as f64 || ms > hi_ms as f64 {
        return p.fail(format!("must be from {lo_ms}ms to {hi_ms}ms, found {v}"));
    }
    Ok(())
}

fn name_ok(p: &P, name: &str) -> Result<(), Fail> {
    if name.trim().is_empty() {
        return p.fail("a name is required");
    }
    if name.len() > 64 {
        return p.fail("names are limited to 64 characters");
    }
    if name.chars().any(|c| c.is_control() || c == ',' || c == '"') {
        return p.fail("names cannot contain control characters, commas or quotes");
    }
    Ok(())
}

/// Registers names of one kind and refuses duplicates.
fn unique<'a>(
    what: &str,
    items: impl Iterator<Item = (P, &'a str)>,
) -> Result<HashSet<&'a str>, Fail> {
    let mut seen = HashSet::new();
    for (p, name) in items {
        name_ok(&p, name)?;
        if !seen.insert(name) {
            return p.fail(format!("there is already a {what} named `{name}`"));
        }
    }
    Ok(seen)
}

fn known(p: &P, what: &str, name: &str, set: &HashSet<&str>) -> Result<(), Fail> {
    if set.contains(name) {
        return Ok(());
    }
    let mut names: Vec<&&str> = set.iter().collect();
    names.sort();
    let list = names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if list.is_empty() {
        p.fail(format!("no {what} named `{name}` (the file defines none)"))
    } else {
        p.fail(format!("no {what} named `{name}`; expected one of {list}"))
    }
}

pub(super) fn validate(s: &ScenarioSpec) -> Result<Vec<TimedCommand>, Fail> {
    let r = P::root();
    use crate::limits;
    limits::check_until(s.until).or_else(|e| r.k("until").fail(e))?;
    limits::check_text(&s.name, limits::MAX_LAB_NAME_CHARS).or_else(|e| r.k("name").fail(e))?;
    limits::check_text(&s.description, limits::MAX_DESCRIPTION_CHARS)
        .or_else(|e| r.k("description").fail(e))?;
    limits::check_sample_step(s.sample_step, s.until).or_else(|e| r.k("sample_step").fail(e))?;
    for (key, n, max) in [
        ("hosts", s.hosts.len(), limits::MAX_HOSTS),
        ("vms", s.vms.len(), limits::MAX_VMS),
        ("switches", s.switches.len(), limits::MAX_SWITCHES),
        ("storage", s.storage.len(), limits::MAX_STORAGE),
        ("script", s.script.len(), limits::MAX_SCRIPT),
        (
            "configurations",
            s.configurations.len(),
            limits::MAX_CONFIGURATIONS,
        ),
    ] {
        limits::check_count(&format!("entries in `{key}`"), n, max)
            .or_else(|e| r.k(key).fail(e))?;
    }
    for (i, h) in s.hosts.iter().enumerate() {
        limits::check_count("NICs on this host", h.nics.len(), limits::MAX_NICS_PER_HOST)
            .or_else(|e| r.k("hosts").i(i).k("nics").fail(e))?;
    }
    validate_cluster(&r.k("cluster"), &s.cluster)?;
    validate_migration(&r.k("migration"), &s.migration)?;
    s.transport.validate().map_err(|(field, msg)| {
        let mut path = r.k("transport").0;
        path.push(Seg::Key(field.to_string()));
        (path, msg)
    })?;

    let switches = unique(
        "switch",
        s.switches
            .iter()
            .enumerate()
            .map(|(i, x)| (r.k("switches").i(i).k("name"), x.name.as_str())),
    )?;
    let storages = unique(
        "storage",
        s.storage
            .iter()
            .enumerate()
            .map(|(i, x)| (r.k("storage").i(i).k("name"), x.name.as_str())),
    )?;
    let hosts = unique(
        "host",
        s.hosts
            .iter()
            .enumerate()
            .map(|(i, x)| (r.k("hosts").i(i).k("name"), x.name.as_str())),
    )?;
    if !s.cluster.lower_quorum_priority_node.is_empty() {
        known(
            &r.k("cluster").k("lower_quorum_priority_node"),
            "host",
            &s.cluster.lower_quorum_priority_node,
            &hosts,
        )?;
    }
    let mut nics_of: HashMap<&str, HashSet<&str>> = HashMap::new();
    for (hi, h) in s.hosts.iter().enumerate() {
        let nics = validate_host(&r.k("hosts").i(hi), h, s, &switches)?;
        nics_of.insert(h.name.as_str(), nics);
    }
    let vms = validate_vms(&r, s, &hosts, &storages)?;
    let sets = validate_backup(&r, s, &hosts, &vms)?;

    let mut script = Vec::with_capacity(s.script.len());
    for (si, e) in s.script.iter().enumerate() {
        let sp = r.k("script").i(si);
        let names = Names {
            hosts: &hosts,
            vms: &vms,
            storages: &storages,
            sets: &sets,
        };
        let cmd = script_command(&sp, e, &names, &nics_of)?;
        script.push(TimedCommand {
            at: e.at,
            command: cmd,
        });
    }
    script.sort_by_key(|c| c.at); // stable: equal times keep file order
    validate_configurations(&r, s, &hosts)?;
    Ok(script)
}

/// Cluster settings (ranges from the MSDN property pages, domain.md §3.4).
fn validate_cluster(c: &P, cl: &ClusterSettings) -> Result<(), Fail> {
    range_u32(
        &c.k("quarantine_threshold"),
        cl.quarantine_threshold,
        1,
        1000,
    )?;
    range_ms(&c.k("same_subnet_delay"), cl.same_subnet_delay, 250, 2000)?;
    range_u32(
        &c.k("same_subnet_threshold"),
        cl.same_subnet_threshold,
        3,
        120,
    )?;
    range_ms(&c.k("cross_subnet_delay"), cl.cross_subnet_delay, 250, 4000)?;
    range_u32(
        &c.k("cross_subnet_threshold"),
        cl.cross_subnet_threshold,
        3,
        120,
    )?;
    range_u32(&c.k("route_history_length"), cl.route_history_length, 0, 40)?;
    range_u32(&c.k("functional_level"), cl.functional_level, 8, 12)?;
    if parse_config_version(&cl.isolation_min_config_version).is_none() {
        return c
            .k("isolation_min_config_version")
            .fail("expected a configuration version like \"6.0\"");
    }
    range_ms(&c.k("join_time"), cl.join_time, 0, 3_600_000)?;
    range_ms(
        &c.k("critical_pause_after"),
        cl.critical_pause_after,
        0,
        3_600_000,
    )?;
    range_ms(&c.k("vm_start_time"), cl.vm_start_time, 0, 3_600_000)?;
    if !(cl.quick_migration_rate.0.is_finite() && cl.quick_migration_rate.0 >= 1024.0 * 1024.0) {
        return c.k("quick_migration_rate").fail("must be at least 1MiB/s");
    }
    range_u32(&c.k("drain_retries"), cl.drain_retries, 0, 64)?;
    range_ms(
        &c.k("drain_retry_delay"),
        cl.drain_retry_delay,
        0,
        3_600_000,
    )?;
    if cl.resiliency_default_period.as_secs_f64() > f64::from(u32::MAX) {
        return c
            .k("resiliency_default_period")
            .fail("is above 0xFFFFFFFF seconds");
    }
    Ok(())
}

/// A host's hardware, its NICs and its team; returns the names of its NICs.
fn validate_host<'s>(
    hp: &P,
    h: &'s HostSpec,
    s: &ScenarioSpec,
    switches: &HashSet<&str>,
) -> Result<HashSet<&'s str>, Fail> {
    range_u32(&hp.k("sockets"), h.sockets, 1, 16)?;
    range_u32(&hp.k("cores_per_socket"), h.cores_per_socket, 1, 512)?;
    if !(h.clock_ghz.is_finite() && (0.5..=10.0).contains(&h.clock_ghz)) {
        return hp
            .k("clock_ghz")
            .fail(format!("must be from 0.5 to 10 GHz, found {}", h.clock_ghz));
    }
    if h.memory.0 == 0 {
        return hp.k("memory").fail("must be more than 0 bytes");
    }
    validate_migration_overrides(&hp.k("migration"), &h.migration)?;
    let nics = unique(
        "NIC on this host",
        h.nics
            .iter()
            .enumerate()
            .map(|(ni, n)| (hp.k("nics").i(ni).k("name"), n.name.as_str())),
    )?;
    let cores = h.sockets * h.cores_per_socket;
    for (ni, n) in h.nics.iter().enumerate() {
        let np = hp.k("nics").i(ni);
        if !(n.speed.0.is_finite() && n.speed.0 >= 1e6 && n.speed.0 <= 1e13) {
            return np
                .k("speed")
                .fail(format!("must be from 1Mbps to 10Tbps, found {}", n.speed));
        }
        range_u32(&np.k("rss_max_queues"), n.rss_max_queues, 1, 256)?;
        range_u32(&np.k("mtu"), n.mtu, 576, 9216)?;
        range_u32(&np.k("numa_node"), n.numa_node, 0, h.sockets - 1)?;
        let t = &n.rss_tuned;
        let tp = np.k("rss_tuned");
        range_u32(&tp.k("queues"), t.queues, 1, n.rss_max_queues)?;
        range_u32(&tp.k("numa_node"), t.numa_node, 0, h.sockets - 1)?;
        if t.base_core >= cores {
            return tp.k("base_core").fail(format!(
                "core {} does not exist: {} has {cores} cores (0 to {})",
                t.base_core,
                h.name,
                cores - 1
            ));
        }
        if let Some(sw) = &n.switch {
            known(&np.k("switch"), "switch", sw, switches)?;
        }
    }
    validate_team(&hp.k("teaming"), h, s, &nics)?;
    Ok(nics)
}

/// Teaming: members that exist, SET limits, switch-dependent modes on one LACP-capable switch.
fn validate_team(tp: &P, h: &HostSpec, s: &ScenarioSpec, nics: &HashSet<&str>) -> Result<(), Fail> {
    let switch_lacp: HashMap<&str, bool> = s
        .switches
        .iter()
        .map(|sw| (sw.name.as_str(), sw.lacp))
        .collect();
    let team = &h.teaming;
    let mut members_seen = HashSet::new();
    for (mi, m) in team.members.iter().enumerate() {
        known(&tp.k("members").i(mi), "NIC on this host", m, nics)?;
        if !members_seen.insert(m.as_str()) {
            return tp.k("members").i(mi).fail(format!("`{m}` is listed twice"));
        }
    }
    if team.mode == TeamingMode::None && !team.members.is_empty() {
        return tp
            .k("members")
            .fail("members are listed but the teaming mode is None");
    }
    if team.mode != TeamingMode::None && h.nics.is_empty() {
        return tp
            .k("mode")
            .fail("a team needs at least one NIC on the host");
    }
    if team.mode != TeamingMode::Set && team.host_vnics.is_some() {
        return tp
            .k("host_vnics")
            .fail("host vNICs are modelled only on a SET switch (mode = \"SET\")");
    }
    if team.mode == TeamingMode::Set {
        let n = if team.members.is_empty() {
            h.nics.len()
        } else {
            team.members.len()
        };
        if n > 8 {
            return tp.k("members").fail(format!(
                "Switch Embedded Teaming takes 1 to 8 NICs, found {n}"
            ));
        }
        if let Some(v) = team.host_vnics
            && (v == 0 || v as usize > n)
        {
            return tp.k("host_vnics").fail(format!(
                "must be from 1 to the team's {n} members (one vNIC pinned to each), found {v}"
            ));
        }
        if !matches!(
            team.algorithm,
            LoadBalancingAlgorithm::HyperVPort | LoadBalancingAlgorithm::Dynamic
        ) {
            return tp
                .k("algorithm")
                .fail("Switch Embedded Teaming supports only HyperVPort or Dynamic");
        }
    }
    if matches!(team.mode, TeamingMode::Static | TeamingMode::Lacp) {
        // Switch-dependent modes need every member on one switch that can form a port channel.
        let members: Vec<&NicSpec> = h
            .nics
            .iter()
            .filter(|n| team.members.is_empty() || team.members.contains(&n.name))
            .collect();
        let mut sw_of_team = None;
        for n in &members {
            let Some(sw) = n.switch.as_deref() else {
                return tp.k("mode").fail(format!(
                    "{:?} teaming needs every member cabled to a switch; `{}` is not",
                    team.mode, n.name
                ));
            };
            if *sw_of_team.get_or_insert(sw) != sw {
                return tp.k("mode").fail(format!(
                    "{:?} teaming needs all members on one switch; `{}` is on `{sw}`",
                    team.mode, n.name
                ));
            }
            if !switch_lacp.get(sw).copied().unwrap_or(false) {
                return tp.k("mode").fail(format!(
                    "switch `{sw}` has `lacp = false`, so it cannot form a {:?} team",
                    team.mode
                ));
            }
        }
    }
    Ok(())
}

/// VMs: references, sizes, content, and that the running ones fit their hosts' memory; returns
/// the VM names.
fn validate_vms<'s>(
    r: &P,
    s: &'s ScenarioSpec,
    hosts: &HashSet<&str>,
    storages: &HashSet<&str>,
) -> Result<HashSet<&'s str>, Fail> {
    let vms = unique(
        "VM",
        s.vms
            .iter()
            .enumerate()
            .map(|(i, x)| (r.k("vms").i(i).k("name"), x.name.as_str())),
    )?;
    let mut mem_on_host: HashMap<&str, u64> = HashMap::new();
    for (vi, v) in s.vms.iter().enumerate() {
        let vp = r.k("vms").i(vi);
        known(&vp.k("host"), "host", &v.host, hosts)?;
        known(&vp.k("storage"), "storage", &v.storage, storages)?;
        if v.memory.0 < 32 * 1024 * 1024 {
            return vp
                .k("memory")
                .fail(format!("must be at least 32MiB, found {}", v.memory));
        }
        if let Some(ws) = v.working_set
            && ws > v.memory
        {
            return vp
                .k("working_set")
                .fail(format!("{ws} is more than the VM's memory ({})", v.memory));
        }
        if !(v.dirty_rate.0.is_finite() && v.dirty_rate.0 <= 1e12) {
            return vp.k("dirty_rate").fail("is too large");
        }
        if parse_config_version(&v.config_version).is_none() {
            return vp
                .k("config_version")
                .fail("expected a configuration version like \"8.0\"");
        }
        if let MemoryProfile::Custom(m) = &v.memory_profile {
            let parts = [m.zero, m.pattern, m.duplicate, m.text, m.random];
            if parts.iter().any(|x| !x.is_finite() || *x < 0.0) {
                return vp
                    .k("memory_profile")
                    .fail("fractions must be between 0 and 1");
            }
            let sum: f64 = parts.iter().sum();
            if (sum - 1.0).abs() > 1e-3 {
                return vp
                    .k("memory_profile")
                    .fail(format!("fractions must add up to 1, they add up to {sum}"));
            }
        }
        if v.state == InitialVmState::Running {
            let used = mem_on_host.entry(v.host.as_str()).or_default();
            *used = used.saturating_add(v.memory.0);
        }
    }
    for (hi, h) in s.hosts.iter().enumerate() {
        let used = mem_on_host.get(h.name.as_str()).copied().unwrap_or(0);
        if used > h.memory.0 {
            return r.k("hosts").i(hi).k("memory").fail(format!(
                "the running VMs on {} need {}, more than its {}",
                h.name,
                crate::units::Bytes(used),
                h.memory
            ));
        }
    }
    Ok(vms)
}

/// Configurations to compare: unique ids, hosts that exist, VMs to migrate, reference figures.
fn validate_configurations(r: &P, s: &ScenarioSpec, hosts: &HashSet<&str>) -> Result<(), Fail> {
    let _ids = unique(
        "configuration",
        s.configurations
            .iter()
            .enumerate()
            .map(|(i, x)| (r.k("configurations").i(i).k("id"), x.id.as_str())),
    )?;
    for (ci, cf) in s.configurations.iter().enumerate() {
        let cp = r.k("configurations").i(ci);
        if s.hosts.len() < 2 {
            return cp.fail("a comparison needs at least two hosts in the file");
        }
        let from = cf.from.as_deref().unwrap_or(&s.hosts[0].name);
        if let Some(f) = &cf.from {
            known(&cp.k("from"), "host", f, hosts)?;
        }
        if let Some(t) = &cf.to {
            known(&cp.k("to"), "host", t, hosts)?;
            if t == from {
                return cp.k("to").fail("source and destination are the same host");
            }
        }
        let available = s
            .vms
            .iter()
            .filter(|v| v.host == from && v.state == InitialVmState::Running)
            .count();
        if cf.vms == 0 || cf.vms as usize > available {
            return cp.k("vms").fail(format!(
                "must be from 1 to the {available} running VMs on {from}, found {}",
                cf.vms
            ));
        }
        if let Some(rf) = &cf.reference {
            for (k, v) in [
                ("throughput_gbps", rf.throughput_gbps),
                ("cpu_pct", rf.cpu_pct),
            ] {
                if let Some(v) = v
                    && (!v.is_finite() || v < 0.0)
                {
                    return cp
                        .k("reference")
                        .k(k)
                        .fail("must be a number of at least 0");
                }
            }
            for (k, range, value) in [
                (
                    "throughput_range_gbps",
                    rf.throughput_range_gbps,
                    rf.throughput_gbps,
                ),
                ("cpu_range_pct", rf.cpu_range_pct, rf.cpu_pct),
            ] {
                let Some([lo, hi]) = range else { continue };
                let p = cp.k("reference").k(k);
                if !lo.is_finite() || !hi.is_finite() || lo < 0.0 || hi < lo {
                    return p.fail(format!(
                        "must be [low, high] with 0 <= low <= high, found [{lo}, {hi}]"
                    ));
                }
                if let Some(v) = value
                    && !(lo..=hi).contains(&v)
                {
                    return p.fail(format!(
                        "the reference value {v} lies outside its range [{lo}, {hi}]"
                    ));
                }
            }
        }
    }
    Ok(())
}

fn validate_migration(p: &P, m: &MigrationSettings) -> Result<(), Fail> {
    range_u32(&p.k("max_simultaneous"), m.max_simultaneous, 1, 512)?;
    range_u32(&p.k("max_passes"), m.max_passes, 1, 100)?;
    range_ms(&p.k("target_pause"), m.target_pause, 1, 60_000)?;
    range_ms(&p.k("setup"), m.setup, 0, 3_600_000)?;
    range_ms(
        &p.k("switchover_overhead"),
        m.switchover_overhead,
        0,
        60_000,
    )?;
    range_ms(&p.k("cleanup"), m.cleanup, 0, 3_600_000)?;
    if m.device_state.0 > 64 * crate::units::Bytes::GIB {
        return p.k("device_state").fail("is more than 64GiB");
    }
    // Set-SmbBandwidthLimit takes at least 1 MB/s.
    if let Some(l) = m.smb_bandwidth_limit
        && !(l.0 >= 1e6 && l.0.is_finite())
    {
        return p
            .k("smb_bandwidth_limit")
            .fail("is below 1MB/s, the least Set-SmbBandwidthLimit takes");
    }
    Ok(())
}

fn validate_migration_overrides(p: &P, m: &MigrationOverrides) -> Result<(), Fail> {
    // Check the overrides as they would apply on top of the defaults.
    validate_migration(p, &MigrationSettings::default().with(m))
}

/// The names a script line may refer to.
struct Names<'a, 's> {
    hosts: &'a HashSet<&'s str>,
    vms: &'a HashSet<&'s str>,
    storages: &'a HashSet<&'s str>,
    sets: &'a HashSet<&'s str>,
}

/// Integration Services, the backup settings and the backup sets (backup-and-is.md): names,
/// references, ranges. Returns the sets' names.
fn validate_backup<'s>(
    r: &P,
    s: &'s ScenarioSpec,
    hosts: &HashSet<&str>,
    vms: &HashSet<&str>,
) -> Result<HashSet<&'s str>, Fail> {
    let ip = r.k("integration");
    let is = &s.integration;
    if is.host_version.trim().is_empty() || is.host_version.len() > 32 {
        return ip
            .k("host_version")
            .fail("a version like \"6.3.9600.16384\" is required");
    }
    if !(0.0..=1.0).contains(&is.p_1603) {
        return ip
            .k("p_1603")
            .fail(format!("must be from 0 to 1, found {}", is.p_1603));
    }
    for (key, d) in [
        ("install_time", is.install_time),
        ("uninstall_time", is.uninstall_time),
        ("guest_reboot_time", is.guest_reboot_time),
    ] {
        range_ms(&ip.k(key), d, 1000, 86_400_000)?;
    }
    let bp = r.k("backup");
    let b = &s.backup;
    range_u32(&bp.k("queue_max"), b.queue_max, 1, 1000)?;
    range_u32(&bp.k("queue_warn_above"), b.queue_warn_above, 0, 1000)?;
    range_u32(&bp.k("retry_attempts"), b.retry_attempts, 0, 100)?;
    range_ms(&bp.k("retry_delay"), b.retry_delay, 0, 86_400_000)?;
    for (key, d) in [
        ("prepare_time", b.prepare_time),
        ("guest_vss_time", b.guest_vss_time),
        ("saved_state_pause", b.saved_state_pause),
        ("commit_time", b.commit_time),
        ("post_time", b.post_time),
    ] {
        range_ms(&bp.k(key), d, 1, 3_600_000)?;
    }
    for (i, v) in s.vms.iter().enumerate() {
        let vp = r.k("vms").i(i);
        crate::limits::check_text(&v.guest_os, 100).or_else(|e| vp.k("guest_os").fail(e))?;
        if let Some(ver) = &v.integration_services
            && (ver.trim().is_empty() || ver.len() > 32)
        {
            return vp
                .k("integration_services")
                .fail("a version like \"6.2.9200.16433\" is required");
        }
    }
    let sets = unique(
        "backup set",
        s.backup_sets
            .iter()
            .enumerate()
            .map(|(i, x)| (r.k("backup_sets").i(i).k("name"), x.name.as_str())),
    )?;
    for (i, set) in s.backup_sets.iter().enumerate() {
        let sp = r.k("backup_sets").i(i);
        known(&sp.k("host"), "host", &set.host, hosts)?;
        range_u32(&sp.k("keep_points"), set.keep_points, 1, 10_000)?;
        match set.kind {
            BackupSetKind::Vm => {
                if set.vms.is_empty() {
                    return sp.k("vms").fail("a VM-based set needs at least one VM");
                }
                if !set.volumes.is_empty() {
                    return sp
                        .k("volumes")
                        .fail("a VM-based set names VMs, not volumes");
                }
                for (j, v) in set.vms.iter().enumerate() {
                    known(&sp.k("vms").i(j), "VM", v, vms)?;
                }
            }
            BackupSetKind::Volume => {
                if set.volumes.is_empty() {
                    return sp
                        .k("volumes")
                        .fail("a volume-based set needs at least one CSV");
                }
                if !set.vms.is_empty() {
                    return sp.k("vms").fail("a volume-based set names CSVs, not VMs");
                }
                for (j, name) in set.volumes.iter().enumerate() {
                    match s.storage.iter().find(|x| &x.name == name) {
                        Some(st) if st.kind == StorageKind::Csv => {}
                        Some(_) => {
                            return sp.k("volumes").i(j).fail(format!(
                                "`{name}` is an SMB3 share: volume-based sets snapshot CSVs"
                            ));
                        }
                        None => {
                            let csvs: HashSet<&str> = s
                                .storage
                                .iter()
                                .filter(|x| x.kind == StorageKind::Csv)
                                .map(|x| x.name.as_str())
                                .collect();
                            return known(&sp.k("volumes").i(j), "CSV", name, &csvs)
                                .map(|()| HashSet::new());
                        }
                    }
                }
            }
        }
        if let Some(sch) = &set.schedule
            && let Some(every) = sch.every
        {
            range_ms(
                &sp.k("schedule").k("every"),
                every,
                60_000,
                366 * 86_400_000,
            )?;
        }
    }
    Ok(sets)
}

fn script_command(
    p: &P,
    e: &ScriptEntry,
    names: &Names<'_, '_>,
    nics_of: &HashMap<&str, HashSet<&str>>,
) -> Result<Command, Fail> {
    let (hosts, vms, storages) = (names.hosts, names.vms, names.storages);
    let Some((_, needs)) = ACTIONS.iter().find(|(a, _)| *a == e.action) else {
        let names: Vec<&str> = ACTIONS.iter().map(|(a, _)| *a).collect();
        return p.k("action").fail(format!(
            "unknown action `{}`; expected one of {}",
            e.action,
            names.join(", ")
        ));
    };
    // Every field the action does not use must be absent, so typos do not pass silently.
    let given = [
        ("node", e.node.is_some()),
        ("vm", e.vm.is_some()),
        ("to", e.to.is_some()),
        ("nic", e.nic.is_some()),
        ("storage", e.storage.is_some()),
        ("text", e.text.is_some()),
        ("pause", e.pause.is_some()),
        ("set", e.set.is_some()),
        ("duration", e.duration.is_some()),
        ("keep", e.keep.is_some()),
    ];
    for (field, present) in given {
        if needs.contains(&field) && !present {
            return p.fail(format!("action `{}` needs `{field}`", e.action));
        }
    }
    for (field, present) in given {
        let optional = (field == "node"
            && matches!(e.action.as_str(), "lose_storage" | "restore_storage"))
            || (field == "pause" && e.action == "caption");
        if present && !needs.contains(&field) && !optional {
            return p
                .k(field)
                .fail(format!("action `{}` does not take `{field}`", e.action));
        }
    }
    let node = || -> Result<String, Fail> {
        let n = e.node.clone().unwrap_or_default();
        known(&p.k("node"), "host", &n, hosts)?;
        Ok(n)
    };
    let nic = |node: &str| -> Result<String, Fail> {
        let n = e.nic.clone().unwrap_or_default();
        let empty = HashSet::new();
        known(
            &p.k("nic"),
            &format!("NIC on {node}"),
            &n,
            nics_of.get(node).unwrap_or(&empty),
        )?;
        Ok(n)
    };
    let storage = || -> Result<String, Fail> {
        let n = e.storage.clone().unwrap_or_default();
        known(&p.k("storage"), "storage", &n, storages)?;
        Ok(n)
    };
    let opt_node = || -> Result<Option<String>, Fail> {
        match &e.node {
            Some(_) => node().map(Some),
            None => Ok(None),
        }
    };
    let vm = || -> Result<String, Fail> {
        let v = e.vm.clone().unwrap_or_default();
        known(&p.k("vm"), "VM", &v, vms)?;
        Ok(v)
    };
    let set = || -> Result<String, Fail> {
        let v = e.set.clone().unwrap_or_default();
        known(&p.k("set"), "backup set", &v, names.sets)?;
        Ok(v)
    };
    if let Some(c) = backup_command(p, e, &vm, &set, &node)? {
        return Ok(c);
    }
    Ok(match e.action.as_str() {
        "migrate" => {
            let vm = e.vm.clone().unwrap_or_default();
            known(&p.k("vm"), "VM", &vm, vms)?;
            let to = e.to.clone().unwrap_or_default();
            known(&p.k("to"), "host", &to, hosts)?;
            Command::Migrate { vm, to }
        }
        "crash_cluster_service" => Command::CrashClusterService { node: node()? },
        "restart_cluster_service" => Command::RestartClusterService { node: node()? },
        "stop_cluster_service" => Command::StopClusterService { node: node()? },
        "start_cluster_service" => Command::StartClusterService { node: node()? },
        "power_off" => Command::PowerOff { node: node()? },
        "power_on" => Command::PowerOn { node: node()? },
        "pull_nic" => {
            let n = node()?;
            Command::PullNic {
                nic: nic(&n)?,
                node: n,
            }
        }
        "plug_nic" => {
            let n = node()?;
            Command::PlugNic {
                nic: nic(&n)?,
                node: n,
            }
        }
        "cut_networks" => Command::CutNetworks { node: node()? },
        "heal_networks" => Command::HealNetworks { node: node()? },
        "lose_storage" => Command::LoseStorage {
            storage: storage()?,
            node: opt_node()?,
        },
        "restore_storage" => Command::RestoreStorage {
            storage: storage()?,
            node: opt_node()?,
        },
        "pause_node" => Command::PauseNode { node: node()? },
        "resume_node" => Command::ResumeNode { node: node()? },
        "clear_quarantine" => Command::ClearQuarantine { node: node()? },
        "caption" => {
            let text = e.text.clone().unwrap_or_default();
            if text.trim().is_empty() || text.len() > 500 {
                return p
                    .k("text")
                    .fail("a caption needs 1 to 500 characters of text");
            }
            Command::Caption {
                text,
                pause: e.pause.unwrap_or(false),
            }
        }
        other => {
            return p
                .k("action")
                .fail(format!("action `{other}` is not implemented"));
        }
    })
}

/// The Integration Services and backup verbs; `None` for every other action.
fn backup_command(
    p: &P,
    e: &ScriptEntry,
    vm: &dyn Fn() -> Result<String, Fail>,
    set: &dyn Fn() -> Result<String, Fail>,
    node: &dyn Fn() -> Result<String, Fail>,
) -> Result<Option<Command>, Fail> {
    Ok(Some(match e.action.as_str() {
        "upgrade_integration_services" => Command::UpgradeIntegrationServices { vm: vm()? },
        "uninstall_integration_services" => Command::UninstallIntegrationServices { vm: vm()? },
        "reboot_guest" => Command::RebootGuest { vm: vm()? },
        "install_integration_services" => Command::InstallIntegrationServices { vm: vm()? },
        "run_backup_set" => Command::RunBackupSet { set: set()? },
        "third_party_backup" => {
            let duration = e.duration.unwrap_or_default();
            range_ms(&p.k("duration"), duration, 1000, 86_400_000)?;
            Command::ThirdPartyBackup {
                node: node()?,
                duration,
            }
        }
        "modify_backup_set" => {
            let keep = e.keep.unwrap_or_default();
            range_u32(&p.k("keep"), keep, 1, 10_000)?;
            Command::ModifyBackupSet { set: set()?, keep }
        }
        _ => return Ok(None),
    }))
}
