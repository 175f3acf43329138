//! Pre-flight checks of a lab, in the manner of Validate-DCB and Test-NetStack: each rule passes,
//! warns or fails, with the reason and its source (`cluster-and-network-facts.md` §6, §9–§13).
//! Rules on the lab read the scenario; rules on what a scenario does not hold (management network,
//! the cluster's parallel limit, SMB bandwidth limits, DCBX) read an imported inventory's facts.

use crate::inventory::Facts;
use crate::scenario::{PerformanceOption, RdmaKind, RssMode, ScenarioSpec, TeamingMode};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        }
    }
}

/// One rule's result for one subject (or the whole lab when it passes).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub verdict: Verdict,
    pub subject: String,
    pub reason: String,
    pub source: &'static str,
}

struct Rule {
    name: &'static str,
    source: &'static str,
    /// What a pass means, said when nothing was found.
    pass: &'static str,
}

fn run(out: &mut Vec<Finding>, r: &Rule, found: Vec<(Verdict, String, String)>) {
    if found.is_empty() {
        out.push(Finding {
            rule: r.name,
            verdict: Verdict::Pass,
            subject: "lab".into(),
            reason: r.pass.into(),
            source: r.source,
        });
    }
    for (verdict, subject, reason) in found {
        out.push(Finding {
            rule: r.name,
            verdict,
            subject,
            reason,
            source: r.source,
        });
    }
}

type Found = Vec<(Verdict, String, String)>;
/// A rule on the lab alone.
type LabRule = fn(&ScenarioSpec) -> Found;

fn rdma_on_lbfo(s: &ScenarioSpec) -> Found {
    let mut f = Vec::new();
    for h in &s.hosts {
        let lbfo = matches!(
            h.teaming.mode,
            TeamingMode::SwitchIndependent | TeamingMode::Static | TeamingMode::Lacp
        );
        for n in &h.nics {
            let member = h.teaming.members.is_empty() || h.teaming.members.contains(&n.name);
            if lbfo && member && n.rdma != RdmaKind::None {
                f.push((
                    Verdict::Fail,
                    format!("{} {}", h.name, n.name),
                    format!(
                        "an RDMA NIC in an LBFO team ({:?}) loses RDMA; use SET",
                        h.teaming.mode
                    ),
                ));
            }
        }
    }
    f
}

fn roce_without_pfc(s: &ScenarioSpec) -> Found {
    let mut f = Vec::new();
    for h in &s.hosts {
        for n in &h.nics {
            let pfc = n
                .switch
                .as_ref()
                .and_then(|sw| s.switches.iter().find(|x| &x.name == sw))
                .is_some_and(|sw| sw.dcb_pfc);
            if n.rdma == RdmaKind::RoCE && !pfc {
                f.push((
                    Verdict::Fail,
                    format!("{} {}", h.name, n.name),
                    "RoCE on a switch without PFC: unsupported, throughput unpredictable".into(),
                ));
            }
        }
    }
    f
}

fn mtu_mismatch(s: &ScenarioSpec) -> Found {
    let mut f = Vec::new();
    for sw in &s.switches {
        let mut mtus: Vec<(String, u32)> = Vec::new();
        for h in &s.hosts {
            for n in h
                .nics
                .iter()
                .filter(|n| n.switch.as_ref() == Some(&sw.name))
            {
                mtus.push((format!("{} {}", h.name, n.name), n.mtu));
            }
        }
        if mtus.iter().any(|m| m.1 != mtus[0].1) {
            let list: Vec<String> = mtus.iter().map(|(n, m)| format!("{n} {m}")).collect();
            f.push((
                Verdict::Warn,
                format!("switch {}", sw.name),
                format!("MTU differs on one path: {}", list.join(", ")),
            ));
        }
    }
    f
}

fn mixed_speeds(s: &ScenarioSpec) -> Found {
    let mut f = Vec::new();
    for h in &s.hosts {
        let m = s.migration.with(&h.migration);
        let cabled: Vec<_> = h.nics.iter().filter(|n| n.switch.is_some()).collect();
        if m.performance_option == PerformanceOption::Smb
            && cabled.iter().any(|n| n.speed != cabled[0].speed)
        {
            f.push((
                Verdict::Warn,
                h.name.clone(),
                "NICs of different speeds under SMB Multichannel: SMB uses only the fastest".into(),
            ));
        }
    }
    f
}

fn smb_without_rss(s: &ScenarioSpec) -> Found {
    let mut f = Vec::new();
    for h in &s.hosts {
        let m = s.migration.with(&h.migration);
        for n in h
            .nics
            .iter()
            .filter(|n| n.switch.is_some() && n.rdma == RdmaKind::None)
        {
            if m.performance_option == PerformanceOption::Smb
                && (!n.rss_capable || n.rss == RssMode::Disabled)
            {
                f.push((
                    Verdict::Warn,
                    format!("{} {}", h.name, n.name),
                    "SMB over TCP without RSS: one processor takes every receive".into(),
                ));
            }
        }
    }
    f
}

fn version_below_isolation(s: &ScenarioSpec) -> Found {
    let v = |x: &str| -> (u32, u32) {
        let mut p = x.split('.').map(|p| p.trim().parse().unwrap_or(0));
        (p.next().unwrap_or(0), p.next().unwrap_or(0))
    };
    let min = v(&s.cluster.isolation_min_config_version);
    s.vms
        .iter()
        .filter(|vm| v(&vm.config_version) < min)
        .map(|vm| {
            (
                Verdict::Warn,
                vm.name.clone(),
                format!(
                    "configuration version {} is below {}: no isolation handling, it fails over instead",
                    vm.config_version, s.cluster.isolation_min_config_version
                ),
            )
        })
        .collect()
}

fn quarantine_cap(s: &ScenarioSpec) -> Found {
    let n = s.hosts.len();
    let cap = s.cluster.quarantine_cap.nodes(n);
    if n > 0 && cap * 2 >= n {
        vec![(
            Verdict::Warn,
            "cluster".into(),
            format!(
                "with {n} nodes the quarantine cap allows {cap} node(s) quarantined at once: half the cluster or more"
            ),
        )]
    } else {
        Vec::new()
    }
}

fn memory_on_targets(s: &ScenarioSpec) -> Found {
    let mut used: Vec<u64> = vec![0; s.hosts.len()];
    let host = |name: &str| s.hosts.iter().position(|h| h.name == name);
    for vm in &s.vms {
        if let Some(h) = host(&vm.host) {
            used[h] += vm.memory.0;
        }
    }
    let mut f = Vec::new();
    for e in s.script.iter().filter(|e| e.action == "migrate") {
        let (Some(vm), Some(to)) = (e.vm.as_deref(), e.to.as_deref().and_then(host)) else {
            continue;
        };
        let Some(vm) = s.vms.iter().find(|v| v.name == vm) else {
            continue;
        };
        if used[to] + vm.memory.0 > s.hosts[to].memory.0 {
            f.push((
                Verdict::Fail,
                vm.name.clone(),
                format!(
                    "not enough memory on {} for it (0x800705AA): {} GiB used of {} GiB",
                    s.hosts[to].name,
                    used[to] >> 30,
                    s.hosts[to].memory.0 >> 30
                ),
            ));
        }
    }
    // A drain moves a node's VMs to the others: they must fit there.
    let total_free: u64 = (0..s.hosts.len())
        .map(|i| s.hosts[i].memory.0.saturating_sub(used[i]))
        .sum();
    for (i, h) in s.hosts.iter().enumerate() {
        let free_elsewhere = total_free - h.memory.0.saturating_sub(used[i]);
        if s.hosts.len() > 1 && used[i] > free_elsewhere {
            f.push((
                Verdict::Warn,
                h.name.clone(),
                format!("its VMs ({} GiB) do not fit on the other nodes ({} GiB free): a drain or failover leaves some off", used[i] >> 30, free_elsewhere >> 30),
            ));
        }
    }
    f
}

fn inventory_rules(out: &mut Vec<Finding>, facts: &Facts) {
    let lm_mgmt = facts
        .lm_on_management
        .iter()
        .map(|(n, why)| {
            (
                Verdict::Warn,
                n.clone(),
                format!("live migration runs on {why}"),
            )
        })
        .collect();
    run(
        out,
        &Rule {
            name: "Live migration on the management network",
            source: "cluster-and-network-facts.md §10",
            pass: "every node migrates on a dedicated network",
        },
        lm_mgmt,
    );
    let parallel = match facts.parallel_limit {
        Some(p) => facts
            .host_parallel
            .iter()
            .filter(|(_, h)| *h > p)
            .map(|(n, h)| {
                (
                    Verdict::Warn,
                    n.clone(),
                    format!(
                        "the cluster's MaximumParallelMigrations {p} overrides this node's {h}"
                    ),
                )
            })
            .collect(),
        None => Vec::new(),
    };
    run(
        out,
        &Rule {
            name: "Cluster parallel limit below the host setting",
            source: "cluster-and-network-facts.md §11 (KB5017381)",
            pass: "no cluster limit below a node's setting",
        },
        parallel,
    );
    let limits = facts
        .lm_limits
        .iter()
        .filter(|(_, b, link)| b * 8.0 < *link)
        .map(|(n, b, link)| (Verdict::Warn, n.clone(), format!("SMB bandwidth limit for live migration {:.2} Gbit/s is below its links ({:.0} Gbit/s)", b * 8.0 / 1e9, link / 1e9)))
        .collect();
    run(
        out,
        &Rule {
            name: "Bandwidth limit below the links",
            source: "cluster-and-network-facts.md §11, §13 (Validate-DCB)",
            pass: "no SMB bandwidth limit below the links",
        },
        limits,
    );
    let willing = facts
        .dcbx_willing
        .iter()
        .map(|(n, a)| {
            (
                Verdict::Warn,
                format!("{n} {a}"),
                "DCBX Willing is true on an RDMA NIC: the switch can change its QoS".to_string(),
            )
        })
        .collect();
    run(
        out,
        &Rule {
            name: "DCBX Willing on RDMA NICs",
            source: "cluster-and-network-facts.md §13 (Validate-DCB)",
            pass: "DCBX is not willing on any RDMA NIC",
        },
        willing,
    );
}

/// Backups and Integration Services (backup-and-is.md §1, §6.4).
fn backup_rules(out: &mut Vec<Finding>, spec: &ScenarioSpec) {
    let host = &spec.integration.host_version;
    let fallback = spec.backup.fallback;
    let outdated = spec
        .vms
        .iter()
        .filter_map(|v| {
            let ver = v.integration_services.as_ref().filter(|x| *x != host)?;
            let then = match fallback {
                crate::scenario::BackupFallback::SavedState => "backed up in saved state",
                crate::scenario::BackupFallback::CrashConsistent => "backed up crash-consistent",
                crate::scenario::BackupFallback::Fail => "its backup job fails",
            };
            let verdict = if fallback == crate::scenario::BackupFallback::Fail {
                Verdict::Fail
            } else {
                Verdict::Warn
            };
            Some((
                verdict,
                v.name.clone(),
                format!(
                    "Integration Services {ver}, host {host}: Protocol Mismatch, no online backup; {then}"
                ),
            ))
        })
        .collect();
    let rule = Rule {
        name: "Integration Services up to date",
        source: "backup-and-is.md §6.2, §6.4",
        pass: "every guest runs the hosts' Integration Services",
    };
    run(out, &rule, outdated);
    let mut placed = Vec::new();
    for set in spec
        .backup_sets
        .iter()
        .filter(|b| b.kind == crate::scenario::BackupSetKind::Vm)
    {
        for name in &set.vms {
            if let Some(v) = spec.vms.iter().find(|v| &v.name == name)
                && v.host != set.host
            {
                placed.push((
                    Verdict::Warn,
                    name.clone(),
                    format!(
                        "in VM-based set {} defined on {}, but runs on {}: the set's job cannot find it there",
                        set.name, set.host, v.host
                    ),
                ));
            }
        }
    }
    let rule = Rule {
        name: "VM-based backup set on its host",
        source: "backup-and-is.md §1 (the seed: volume-based sets do not need the VMs on the set's host)",
        pass: "every VM of a VM-based set starts on the set's host",
    };
    run(out, &rule, placed);
}

/// Every rule on `spec`, and on the inventory's `facts` when the lab was imported.
pub fn check(spec: &ScenarioSpec, facts: Option<&Facts>) -> Vec<Finding> {
    let mut out = Vec::new();
    let rules: [(Rule, LabRule); 8] = [
        (
            Rule {
                name: "RDMA NIC in an LBFO team",
                source: "cluster-and-network-facts.md §6, §13",
                pass: "no RDMA NIC is in an LBFO team",
            },
            rdma_on_lbfo,
        ),
        (
            Rule {
                name: "RoCE without PFC",
                source: "cluster-and-network-facts.md §9, §13 (Validate-DCB)",
                pass: "every RoCE NIC is on a switch with PFC",
            },
            roce_without_pfc,
        ),
        (
            Rule {
                name: "MTU mismatch on a path",
                source: "cluster-and-network-facts.md §13 (Validate-DCB)",
                pass: "one MTU per switch",
            },
            mtu_mismatch,
        ),
        (
            Rule {
                name: "Mixed speeds under SMB Multichannel",
                source: "docs/transport-model.md (SMB Multichannel)",
                pass: "SMB hosts use NICs of one speed",
            },
            mixed_speeds,
        ),
        (
            Rule {
                name: "SMB without RSS",
                source: "cluster-and-network-facts.md §7",
                pass: "every SMB NIC has RSS",
            },
            smb_without_rss,
        ),
        (
            Rule {
                name: "VM configuration version below the isolation threshold",
                source: "domain.md (VM Compute Resiliency)",
                pass: "every VM is new enough for isolation handling",
            },
            version_below_isolation,
        ),
        (
            Rule {
                name: "Quarantine cap versus node count",
                source: "cluster-and-network-facts.md §4",
                pass: "the quarantine cap leaves most nodes running",
            },
            quarantine_cap,
        ),
        (
            Rule {
                name: "Memory on the target",
                source: "cluster-and-network-facts.md §12 (KB4558514, 0x800705AA)",
                pass: "every migration and drain fits in the target's memory",
            },
            memory_on_targets,
        ),
    ];
    for (r, f) in rules {
        let found = f(spec);
        run(&mut out, &r, found);
    }
    // Labs with backup sets or Integration Services data only, so other labs' checks are as
    // they were.
    let is_data = spec
        .vms
        .iter()
        .any(|v| !v.guest_os.is_empty() || v.integration_services.is_some());
    if !spec.backup_sets.is_empty() || is_data {
        backup_rules(&mut out, spec);
    }
    if let Some(facts) = facts {
        inventory_rules(&mut out, facts);
    }
    out
}
