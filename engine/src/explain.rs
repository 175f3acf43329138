//! `lmlab explain`: each effective setting of a lab with the rule that decided it — cluster
//! behaviour (VM Compute Resiliency by functional level, quorum, quarantine), each host's
//! live-migration settings (its override or the lab's default), RDMA per NIC (usable, or why
//! not), RSS, and the path the transport model takes from each host to the next. An imported
//! inventory adds how each node's live-migration networks were resolved (`inventory::Decision`).

use crate::compare::run_configuration;
use crate::inventory::Decision;
use crate::scenario::{
    ConfigurationSpec, QuarantineDuration, RdmaKind, RssMode, Scenario, TeamingMode,
};

fn d(subject: &str, what: &str, value: String, rule: String) -> Decision {
    Decision {
        subject: subject.to_string(),
        what: what.to_string(),
        value,
        rule,
    }
}

/// A setting's name as scenario files write it (`"SMB"`, `"TCPIP"`).
fn word(v: impl serde::Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// How many hosts a lab explains the path from (each to the next one).
const MAX_PATHS: usize = 16;

fn cluster(s: &Scenario, out: &mut Vec<Decision>) {
    let c = &s.spec.cluster;
    let period = c.resiliency_default_period.as_secs_f64();
    out.push(if c.functional_level < 9 {
        d(
            "cluster",
            "VM Compute Resiliency",
            "off".into(),
            format!("functional level {} is below 9 (2016): a crashed node is removed and its roles fail over, as before 2016", c.functional_level),
        )
    } else if period == 0.0 {
        d("cluster", "VM Compute Resiliency", "off".into(), "ResiliencyDefaultPeriod is 0".into())
    } else {
        d(
            "cluster",
            "VM Compute Resiliency",
            format!("on: isolated nodes keep their VMs for {period:.0} s ({:?})", c.resiliency_level),
            format!("functional level {} (2016 or later), ResiliencyDefaultPeriod {period:.0} s", c.functional_level),
        )
    });
    out.push(d(
        "cluster",
        "quorum",
        format!(
            "dynamic quorum {}, witness {:?}{}",
            if c.dynamic_quorum { "on" } else { "off" },
            c.witness,
            if c.dynamic_witness {
                " (dynamic witness)"
            } else {
                ""
            }
        ),
        "DynamicQuorum, WitnessDynamicWeight and the quorum resource".into(),
    ));
    let n = s.spec.hosts.len();
    let share = c.quarantine_cap.share();
    let cap = c.quarantine_cap.nodes(n);
    let duration = match c.quarantine_duration {
        QuarantineDuration::UntilCleared => "until cleared".to_string(),
        QuarantineDuration::For(t) => format!("for {:.0} s", t.as_secs_f64()),
    };
    out.push(d(
        "cluster",
        "quarantine",
        format!(
            "after {} isolations within an hour, {duration}; at most {cap} of {n} nodes at once",
            c.quarantine_threshold
        ),
        format!(
            "QuarantineThreshold, QuarantineDuration, the {:.0} % cap (at least one node)",
            share * 100.0
        ),
    ));
}

fn hosts(s: &Scenario, out: &mut Vec<Decision>) {
    let spec = &s.spec;
    for h in &spec.hosts {
        let m = spec.migration.with(&h.migration);
        let from = |own: bool| {
            if own {
                "the host's own setting"
            } else {
                "the lab's [migration] default"
            }
        };
        out.push(d(
            &h.name,
            "performance option",
            word(m.performance_option),
            from(h.migration.performance_option.is_some()).into(),
        ));
        out.push(d(
            &h.name,
            "simultaneous live migrations",
            m.max_simultaneous.to_string(),
            from(h.migration.max_simultaneous.is_some()).into(),
        ));
        let lbfo = matches!(
            h.teaming.mode,
            TeamingMode::SwitchIndependent | TeamingMode::Static | TeamingMode::Lacp
        );
        for n in &h.nics {
            let member = h.teaming.mode != TeamingMode::None
                && (h.teaming.members.is_empty() || h.teaming.members.contains(&n.name));
            if n.rdma != RdmaKind::None {
                let pfc = n
                    .switch
                    .as_ref()
                    .and_then(|w| spec.switches.iter().find(|x| &x.name == w))
                    .is_some_and(|w| w.dcb_pfc);
                let (value, rule) = if !m.smb_direct {
                    (
                        "not used".to_string(),
                        "SMB Direct is off for this host".to_string(),
                    )
                } else if lbfo && member {
                    (
                        "lost".to_string(),
                        format!(
                            "the NIC is in an LBFO team ({:?}); RDMA needs SET or no team",
                            h.teaming.mode
                        ),
                    )
                } else if n.rdma == RdmaKind::RoCE && !pfc {
                    (
                        "unsupported".to_string(),
                        "RoCE on a switch without PFC: the model marks its rate unreliable"
                            .to_string(),
                    )
                } else {
                    (
                        "usable".to_string(),
                        format!(
                            "{:?} NIC{}",
                            n.rdma,
                            if member {
                                " under SET (host vNICs keep RDMA)"
                            } else {
                                ""
                            }
                        ),
                    )
                };
                out.push(d(&h.name, &format!("RDMA on {}", n.name), value, rule));
            }
            let rss = match n.rss {
                RssMode::Default => "inbox default (NUMAStatic from processor 0)".to_string(),
                RssMode::Tuned => format!(
                    "tuned: {} queues from core {} on NUMA node {}",
                    n.rss_tuned.queues, n.rss_tuned.base_core, n.rss_tuned.numa_node
                ),
                RssMode::Disabled => "off".to_string(),
            };
            out.push(d(
                &h.name,
                &format!("RSS on {}", n.name),
                rss,
                "the NIC's rss setting".into(),
            ));
        }
    }
}

fn paths(s: &Scenario, seed: u64, out: &mut Vec<Decision>) {
    let hosts = &s.spec.hosts;
    if hosts.len() < 2 {
        return;
    }
    for (i, h) in hosts.iter().enumerate().take(MAX_PATHS) {
        let to = &hosts[(i + 1) % hosts.len()].name;
        if !s.spec.vms.iter().any(|v| v.host == h.name) {
            continue;
        }
        let cfg = ConfigurationSpec {
            id: "explain".into(),
            name: String::new(),
            teaming: None,
            teaming_algorithm: None,
            performance_option: None,
            smb_direct: None,
            rss: None,
            from: Some(h.name.clone()),
            to: Some(to.clone()),
            vms: 1,
            reference: None,
        };
        let r = run_configuration(s, &cfg, seed);
        out.push(d(
            &h.name,
            &format!("live-migration path to {to}"),
            r.path.clone(),
            format!(
                "the transport model with these settings: {:.1} Gbit/s, CPU {:.1} % here and {:.1} % there (median of {} trials, one VM)",
                r.throughput_gbps, r.cpu_src_pct, r.cpu_dst_pct, r.trials
            ),
        ));
    }
}

/// The settings that need no transport solve (cluster and hosts), cheap enough for every frame.
pub fn settings(s: &Scenario) -> Vec<Decision> {
    let mut out = Vec::new();
    cluster(s, &mut out);
    hosts(s, &mut out);
    out
}

/// Every effective setting of `s` with its rule, and the transport path from each host.
pub fn explain(s: &Scenario, seed: u64) -> Vec<Decision> {
    let mut out = settings(s);
    paths(s, seed, &mut out);
    out
}
