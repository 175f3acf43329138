//! The failover-cluster model on labs other than the seed's: 5-node and 2-node clusters (dynamic
//! quorum), functional level 8, failed drains, per-VM resiliency periods, quick migrations toward
//! a host that goes away, frozen time as outage; and invariants over random clusters and faults.

// Tests fail by panicking; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lmlab_engine::report::Report;
use lmlab_engine::sim::{NodeState, RoleState, VmState};
use lmlab_engine::{Command, Scenario, SimTime, Simulation};
use proptest::prelude::*;

/// A cluster of `nodes` hosts (node1…), each running `per_node` VMs of 8 GiB on an SMB3 share
/// (`vm-N-K`), plus `extra` lines in `[cluster]` and `vm_extra` lines in every VM.
fn cluster_lab(nodes: usize, per_node: usize, extra: &str, vm_extra: &str) -> Scenario {
    let mut t = format!(
        "format_version = 1\nname = \"{nodes}-node lab\"\nseed = 1\n\n[cluster]\nname = \"c\"\n\
         resiliency_default_period = \"60s\"\nquarantine_duration = \"300s\"\n{extra}\n\n\
         [migration]\nperformance_option = \"SMB\"\nmax_simultaneous = 2\n\n\
         [[switches]]\nname = \"sw1\"\n\n[[storage]]\nname = \"sofs\"\nkind = \"SMB3\"\n\n\
         [[storage]]\nname = \"csv1\"\nkind = \"CSV\"\n"
    );
    for n in 1..=nodes {
        t.push_str(&format!(
            "\n[[hosts]]\nname = \"node{n}\"\nsockets = 1\ncores_per_socket = 8\nclock_ghz = 2.6\n\
             memory = \"64GiB\"\n  [[hosts.nics]]\n  name = \"nic1\"\n  speed = \"10Gbps\"\n  \
             switch = \"sw1\"\n"
        ));
    }
    for n in 1..=nodes {
        for k in 1..=per_node {
            t.push_str(&format!(
                "\n[[vms]]\nname = \"vm-{n}-{k}\"\nhost = \"node{n}\"\nmemory = \"8GiB\"\n\
                 storage = \"sofs\"\n{vm_extra}\n"
            ));
        }
    }
    Scenario::from_toml(&t, "lab.toml").unwrap_or_else(|e| panic!("{e}\n{t}"))
}

fn at(sim: &mut Simulation, secs: f64, cmd: Command) {
    sim.advance_to(SimTime::from_micros((secs * 1e6) as u64));
    sim.apply(cmd).unwrap_or_else(|e| panic!("{e}"));
}

fn off(n: &str) -> Command {
    Command::PowerOff { node: n.into() }
}

fn quorum_lost(sim: &Simulation) -> bool {
    sim.events().iter().any(|e| e.event_id == Some(1177))
}

fn node(sim: &Simulation, name: &str) -> lmlab_engine::sim::NodeStatus {
    sim.snapshot()
        .nodes
        .into_iter()
        .find(|n| n.name == name)
        .unwrap()
}

fn vm(sim: &Simulation, name: &str) -> lmlab_engine::sim::VmStatus {
    sim.snapshot()
        .vms
        .into_iter()
        .find(|v| v.name == name)
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Dynamic quorum

#[test]
fn a_5_node_cluster_survives_three_nodes_lost_one_after_another() {
    for seed in 0..4 {
        let mut sim = Simulation::new(cluster_lab(5, 1, "", ""), seed);
        println!("seed {seed}");
        at(&mut sim, 10.0, off("node5"));
        at(&mut sim, 200.0, off("node4"));
        at(&mut sim, 400.0, off("node3"));
        sim.advance_to(SimTime::from_secs(700));
        assert!(!quorum_lost(&sim), "seed {seed}: quorum lost");
        for n in ["node1", "node2"] {
            assert_eq!(node(&sim, n).state, NodeState::Up, "{n}");
        }
        for v in sim.snapshot().vms {
            assert_eq!(v.state, VmState::Running, "{} on {}", v.name, v.host);
            assert!(v.host == "node1" || v.host == "node2", "{}", v.host);
        }
        assert!(
            sim.events()
                .iter()
                .any(|e| e.detail.starts_with("dynamic quorum:"))
        );
    }
    // Without dynamic quorum the third loss leaves 2 of 5 votes.
    let mut sim = Simulation::new(cluster_lab(5, 1, "dynamic_quorum = false", ""), 0);
    at(&mut sim, 10.0, off("node5"));
    at(&mut sim, 200.0, off("node4"));
    at(&mut sim, 400.0, off("node3"));
    sim.advance_to(SimTime::from_secs(450));
    assert!(quorum_lost(&sim));
}

#[test]
fn a_5_node_cluster_that_loses_three_nodes_at_once_loses_quorum_and_isolates_the_survivors() {
    let mut sim = Simulation::new(cluster_lab(5, 1, "", ""), 3);
    for n in ["node3", "node4", "node5"] {
        at(&mut sim, 10.0, off(n));
    }
    sim.advance_to(SimTime::from_secs(40));
    assert!(quorum_lost(&sim));
    for n in ["node1", "node2"] {
        assert!(
            node(&sim, n).status.contains(&"Isolated".to_string()),
            "{n}"
        );
        let v = vm(&sim, &format!("vm-{}-1", &n[4..]));
        assert_eq!((v.state, v.unmonitored), (VmState::Running, true));
    }
    // At the end of the resiliency period their VMs are Off until quorum returns.
    sim.advance_to(SimTime::from_secs(120));
    assert_eq!(vm(&sim, "vm-1-1").state, VmState::Off);
    assert_eq!(vm(&sim, "vm-1-1").role, RoleState::Failed);
    at(
        &mut sim,
        130.0,
        Command::PowerOn {
            node: "node3".into(),
        },
    );
    sim.advance_to(SimTime::from_secs(300));
    assert!(
        sim.snapshot()
            .vms
            .iter()
            .filter(|v| ["vm-1-1", "vm-2-1", "vm-3-1"].contains(&v.name.as_str()))
            .all(|v| v.state == VmState::Running)
    );
}

#[test]
fn a_2_node_cluster_without_a_witness_survives_a_crash_of_the_node_without_the_vote() {
    let lab = cluster_lab(2, 2, "lower_quorum_priority_node = \"node2\"", "");
    let mut sim = Simulation::new(lab.clone(), 1);
    at(
        &mut sim,
        10.0,
        Command::CrashClusterService {
            node: "node2".into(),
        },
    );
    sim.advance_to(SimTime::from_secs(30));
    assert!(!quorum_lost(&sim), "node1 holds the only vote");
    assert_eq!(node(&sim, "node1").state, NodeState::Up);
    assert!(
        sim.snapshot()
            .vms
            .iter()
            .all(|v| v.state == VmState::Running)
    );

    // The voter crashes: the survivor has 0 of 1 votes. Both nodes are Isolated and keep their
    // VMs; nothing turns Off; the cluster forms again when the service restarts.
    let mut sim = Simulation::new(lab.clone(), 1);
    at(
        &mut sim,
        10.0,
        Command::CrashClusterService {
            node: "node1".into(),
        },
    );
    sim.advance_to(SimTime::from_secs(30));
    assert!(quorum_lost(&sim));
    assert!(
        sim.snapshot()
            .vms
            .iter()
            .all(|v| v.state == VmState::Running)
    );
    at(
        &mut sim,
        40.0,
        Command::RestartClusterService {
            node: "node1".into(),
        },
    );
    sim.advance_to(SimTime::from_secs(200));
    assert!(
        sim.snapshot()
            .vms
            .iter()
            .all(|v| v.state == VmState::Running)
    );
    assert!(sim.snapshot().vms.iter().all(|v| v.outage_s == 0.0));
    assert_eq!(node(&sim, "node2").state, NodeState::Up);

    // A clean stop of the voter moves its vote first: the cluster stays up.
    let mut sim = Simulation::new(lab, 1);
    at(
        &mut sim,
        10.0,
        Command::StopClusterService {
            node: "node1".into(),
        },
    );
    sim.advance_to(SimTime::from_secs(200));
    assert!(!quorum_lost(&sim));
    assert_eq!(node(&sim, "node1").state, NodeState::Down);
    assert!(
        sim.snapshot()
            .vms
            .iter()
            .all(|v| v.host == "node2" && v.state == VmState::Running)
    );
}

#[test]
fn a_2_node_cluster_with_a_witness_survives_either_crash() {
    for n in ["node1", "node2"] {
        let mut sim = Simulation::new(cluster_lab(2, 1, "witness = \"FileShare\"", ""), 2);
        at(
            &mut sim,
            10.0,
            Command::CrashClusterService { node: n.into() },
        );
        sim.advance_to(SimTime::from_secs(30));
        assert!(!quorum_lost(&sim), "{n}");
    }
}

// ---------------------------------------------------------------------------------------------
// Functional level, periods, drains, placement, outage

#[test]
fn at_functional_level_8_a_crashed_node_is_removed_and_its_vms_fail_over_at_once() {
    let mut sim = Simulation::new(cluster_lab(3, 1, "functional_level = 8", ""), 1);
    at(
        &mut sim,
        10.0,
        Command::CrashClusterService {
            node: "node1".into(),
        },
    );
    sim.advance_to(SimTime::from_secs(30));
    let n1 = node(&sim, "node1");
    assert_eq!(n1.state, NodeState::Down);
    assert!(!n1.status.contains(&"Isolated".to_string()));
    let v = vm(&sim, "vm-1-1");
    assert_ne!(v.host, "node1", "failed over");
    assert!(!v.unmonitored);
    assert!(
        sim.events()
            .iter()
            .any(|e| e.subject == "node1" && e.detail.contains("functional level below 9"))
    );
    // Three crashes in an hour do not quarantine at level 8.
    for k in 0..3 {
        let t0 = 40.0 + 60.0 * k as f64;
        at(
            &mut sim,
            t0,
            Command::RestartClusterService {
                node: "node1".into(),
            },
        );
        at(
            &mut sim,
            t0 + 20.0,
            Command::CrashClusterService {
                node: "node1".into(),
            },
        );
    }
    at(
        &mut sim,
        250.0,
        Command::RestartClusterService {
            node: "node1".into(),
        },
    );
    sim.advance_to(SimTime::from_secs(300));
    assert!(node(&sim, "node1").status.is_empty());
    assert_eq!(node(&sim, "node1").state, NodeState::Up);
}

#[test]
fn a_vm_with_a_longer_resiliency_period_stays_on_its_isolated_node_until_its_own_period_ends() {
    let mut lab = cluster_lab(3, 2, "", "");
    lab.spec.vms[1].resiliency_period =
        lmlab_engine::scenario::ResiliencyPeriod::Own(lmlab_engine::SimDuration::from_secs(150));
    let lab = Scenario::from_spec(lab.spec).unwrap();
    let mut sim = Simulation::new(lab, 1);
    at(
        &mut sim,
        10.0,
        Command::CrashClusterService {
            node: "node1".into(),
        },
    );
    // Isolated at ~20 s; the cluster period (60 s) ends at ~80 s.
    sim.advance_to(SimTime::from_secs(100));
    assert_ne!(
        vm(&sim, "vm-1-1").host,
        "node1",
        "the cluster period moved it"
    );
    let long = vm(&sim, "vm-1-2");
    assert_eq!(
        (long.host.as_str(), long.state, long.unmonitored),
        ("node1", VmState::Running, true)
    );
    assert!(node(&sim, "node1").status.contains(&"Isolated".to_string()));
    sim.advance_to(SimTime::from_secs(200));
    assert_ne!(vm(&sim, "vm-1-2").host, "node1", "its own period moved it");
    assert!(!node(&sim, "node1").status.contains(&"Isolated".to_string()));
}

#[test]
fn a_failed_drain_is_retried_then_marked_failed_with_the_reason_in_the_log() {
    // node2 has no room for node1's VMs (memory): every drain attempt fails.
    let mut lab = cluster_lab(2, 2, "drain_retries = 2\ndrain_retry_delay = \"30s\"", "");
    lab.spec.hosts[1].memory = lmlab_engine::units::Bytes::gib(20);
    let lab = Scenario::from_spec(lab.spec).unwrap();
    let mut sim = Simulation::new(lab, 1);
    at(
        &mut sim,
        10.0,
        Command::PauseNode {
            node: "node1".into(),
        },
    );
    sim.advance_to(SimTime::from_secs(200));
    let n1 = node(&sim, "node1");
    assert_eq!(n1.state, NodeState::Paused);
    assert!(
        n1.status.contains(&"DrainFailed".to_string()),
        "{:?}",
        n1.status
    );
    let lines: Vec<&str> = sim
        .events()
        .iter()
        .filter(|e| e.subject == "node1" && e.detail.starts_with("drain failed"))
        .map(|e| e.detail.as_str())
        .collect();
    println!("{lines:#?}");
    assert_eq!(lines.len(), 3, "first attempt and two retries");
    assert!(lines[0].contains("retry 1 of 2 in 30s") && lines[0].contains("room"));
    assert!(lines[2].contains("after 2 retries") && lines[2].contains("stay on the paused node"));
    assert!(
        sim.snapshot()
            .vms
            .iter()
            .filter(|v| v.name.starts_with("vm-1-"))
            .all(|v| v.host == "node1" && v.state == VmState::Running && !v.unmonitored)
    );
}

#[test]
fn a_quarantined_nodes_drain_that_keeps_failing_falls_back_to_quick_migration() {
    // node2 and node3 have no cabled NIC: the cluster network works (heartbeats), but a live
    // migration to them has no path, so node1's drain fails every time.
    let mut lab = cluster_lab(
        3,
        1,
        "drain_retries = 1\ndrain_retry_delay = \"10s\"\nquarantine_cap = \"25%\"",
        "",
    );
    for h in 1..3 {
        lab.spec.hosts[h].nics[0].switch = None;
    }
    let lab = Scenario::from_spec(lab.spec).unwrap();
    let mut sim = Simulation::new(lab, 1);
    for k in 0..3 {
        let t0 = 10.0 + 40.0 * k as f64;
        at(
            &mut sim,
            t0,
            Command::CrashClusterService {
                node: "node1".into(),
            },
        );
        at(
            &mut sim,
            t0 + 20.0,
            Command::RestartClusterService {
                node: "node1".into(),
            },
        );
    }
    sim.advance_to(SimTime::from_secs(200));
    let n1 = node(&sim, "node1");
    assert!(
        n1.status.contains(&"Quarantined".to_string()),
        "{:?}",
        n1.status
    );
    let lines: Vec<&str> = sim
        .events()
        .iter()
        .filter(|e| e.subject == "node1" && e.detail.starts_with("drain failed"))
        .map(|e| e.detail.as_str())
        .collect();
    println!("{lines:#?}");
    assert!(lines.iter().any(|l| l.contains("no network path")));
    assert!(lines.iter().any(|l| l.contains("quick-migrated")));
    let v = vm(&sim, "vm-1-1");
    assert_ne!(v.host, "node1", "moved off the quarantined node");
    assert_eq!(v.state, VmState::Running);
    assert!(!v.unmonitored);
}

#[test]
fn a_quick_migration_toward_a_host_that_powers_off_is_restored_on_a_host_that_can_take_it() {
    // Low priority: drains quick-migrate. node3 is paused, so node2 is the only target.
    let lab = cluster_lab(3, 1, "", "priority = \"Low\"");
    let mut sim = Simulation::new(lab, 1);
    at(
        &mut sim,
        5.0,
        Command::PauseNode {
            node: "node3".into(),
        },
    );
    sim.advance_to(SimTime::from_secs(60));
    at(
        &mut sim,
        60.0,
        Command::PauseNode {
            node: "node1".into(),
        },
    );
    assert_eq!(vm(&sim, "vm-1-1").state, VmState::Saved);
    // 8 GiB saved and restored at 1 GiB/s: 16 s. node2 loses power during the save.
    at(&mut sim, 65.0, off("node2"));
    at(
        &mut sim,
        70.0,
        Command::ResumeNode {
            node: "node3".into(),
        },
    );
    for t in 70..200 {
        sim.advance_to(SimTime::from_secs(t));
        let v = vm(&sim, "vm-1-1");
        assert!(
            !(v.host == "node2" && v.state != VmState::Off),
            "at {t} s on the powered-off node2 ({:?})",
            v.state
        );
    }
    let v = vm(&sim, "vm-1-1");
    assert_eq!((v.host.as_str(), v.state), ("node3", VmState::Running));
    assert!(sim.events().iter().any(|e| {
        e.subject == "vm-1-1"
            && e.detail
                .starts_with("Running on node3: quick migration restored there")
    }));
}

#[test]
fn a_vm_starting_on_a_host_that_loses_power_is_placed_again_elsewhere() {
    let mut sim = Simulation::new(cluster_lab(4, 1, "", ""), 1);
    at(&mut sim, 1.0, off("node1"));
    // Isolated by ~11 s, the 60 s period ends by ~71 s: vm-1-1 is restarted elsewhere.
    let mut t = 60.0;
    while vm(&sim, "vm-1-1").state != VmState::Starting {
        t += 0.1;
        assert!(t < 100.0, "never restarted");
        sim.advance_to(SimTime::from_micros((t * 1e6) as u64));
    }
    let first = vm(&sim, "vm-1-1").host;
    at(&mut sim, t, off(&first));
    sim.advance_to(SimTime::from_secs(200));
    let v = vm(&sim, "vm-1-1");
    assert_eq!(v.state, VmState::Running);
    assert_ne!(v.host, first);
    assert!(
        sim.events()
            .iter()
            .any(|e| e.subject == "vm-1-1" && e.detail.contains("the host lost power"))
    );
}

#[test]
fn restarts_after_quorum_returns_are_logged_with_the_node_they_start_on() {
    let mut sim = Simulation::new(cluster_lab(3, 1, "functional_level = 8", ""), 4);
    for n in ["node2", "node3"] {
        at(&mut sim, 10.0, off(n));
    }
    sim.advance_to(SimTime::from_secs(60));
    assert!(quorum_lost(&sim));
    at(
        &mut sim,
        60.0,
        Command::PowerOn {
            node: "node2".into(),
        },
    );
    sim.advance_to(SimTime::from_secs(200));
    for v in sim.snapshot().vms {
        if v.state == VmState::Running {
            let line = format!("Starting on {}", v.host);
            assert!(
                sim.events()
                    .iter()
                    .any(|e| e.subject == v.name && e.detail == line),
                "{} has no \"{line}\"",
                v.name
            );
        }
    }
}

#[test]
fn paused_critical_time_counts_as_outage_and_frozen_time() {
    let mut lab = cluster_lab(2, 1, "witness = \"FileShare\"", "");
    lab.spec.vms[0].storage = "csv1".into();
    let lab = Scenario::from_spec(lab.spec).unwrap();
    let mut sim = Simulation::new(lab.clone(), 1);
    at(
        &mut sim,
        10.0,
        Command::CrashClusterService {
            node: "node1".into(),
        },
    );
    sim.advance_to(SimTime::from_secs(35));
    assert_eq!(vm(&sim, "vm-1-1").state, VmState::PausedCritical);
    at(
        &mut sim,
        40.0,
        Command::RestartClusterService {
            node: "node1".into(),
        },
    );
    sim.advance_to(SimTime::from_secs(100));
    let v = vm(&sim, "vm-1-1");
    assert_eq!(v.state, VmState::Running);
    println!("outage {:.1} s, frozen {:.1} s", v.outage_s, v.frozen_s);
    assert!(v.frozen_s > 15.0 && v.frozen_s < 35.0, "{}", v.frozen_s);
    assert!((v.outage_s - v.frozen_s).abs() < 1e-6);
    let report = Report::from_simulation(&sim);
    let json = serde_json::to_string(&report).unwrap();
    assert!(json.contains("\"frozen_s\""));
    // Counting can be turned off: frozen but not an outage.
    let mut spec = lab.spec.clone();
    spec.cluster.count_frozen_as_outage = false;
    let mut sim = Simulation::new(Scenario::from_spec(spec).unwrap(), 1);
    at(
        &mut sim,
        10.0,
        Command::CrashClusterService {
            node: "node1".into(),
        },
    );
    at(
        &mut sim,
        40.0,
        Command::RestartClusterService {
            node: "node1".into(),
        },
    );
    sim.advance_to(SimTime::from_secs(100));
    let v = vm(&sim, "vm-1-1");
    assert!(v.frozen_s > 15.0 && v.outage_s == 0.0);
    // Frozen time ends with the instance: a power loss while Paused-Critical stops the count.
    let mut sim = Simulation::new(lab, 1);
    at(
        &mut sim,
        10.0,
        Command::CrashClusterService {
            node: "node1".into(),
        },
    );
    at(&mut sim, 40.0, off("node1"));
    let frozen = vm(&sim, "vm-1-1").frozen_s;
    sim.advance_to(SimTime::from_secs(300));
    assert_eq!(vm(&sim, "vm-1-1").frozen_s, frozen);
}

#[test]
fn a_switch_over_pause_over_the_target_is_flagged_in_the_log_and_the_report() {
    // A guest dirtying memory faster than the link: the pass limit forces a long pause.
    let mut lab = cluster_lab(2, 1, "", "dirty_rate = \"2GiB/s\"");
    lab.spec.migration.max_passes = 2;
    let lab = Scenario::from_spec(lab.spec).unwrap();
    let mut sim = Simulation::new(lab, 1);
    at(
        &mut sim,
        1.0,
        Command::Migrate {
            vm: "vm-1-1".into(),
            to: "node2".into(),
        },
    );
    sim.advance_to(SimTime::from_secs(120));
    let m = &sim.migrations()[0];
    let pause = m.downtime.unwrap().as_millis_f64();
    println!("pause {pause:.0} ms");
    assert!(pause > 1000.0);
    assert!(m.pause_over_target);
    let end = sim
        .events()
        .iter()
        .find(|e| e.subject == "vm-1-1" && e.detail.starts_with("completed"))
        .unwrap();
    assert_eq!(end.event_id, Some(20417));
    assert!(
        end.detail.contains("over the 100 ms target"),
        "{}",
        end.detail
    );
    let json = serde_json::to_string(&Report::from_simulation(&sim)).unwrap();
    assert!(json.contains("\"pause_over_target\":true"));
}

// ---------------------------------------------------------------------------------------------
// Invariants over random clusters and fault scripts

/// Checks the placement invariants against the previous snapshot; `seen` is how many log
/// events were checked before.
fn check(
    sim: &Simulation,
    before: &lmlab_engine::sim::Snapshot,
    seen: usize,
) -> Result<(), TestCaseError> {
    let snap = sim.snapshot();
    let cap = sim
        .scenario()
        .spec
        .cluster
        .quarantine_cap
        .nodes(snap.nodes.len());
    let quarantined = snap
        .nodes
        .iter()
        .filter(|n| n.status.iter().any(|s| s == "Quarantined"))
        .count();
    prop_assert!(quarantined <= cap, "{quarantined} quarantined, cap {cap}");
    let new_events = &sim.events()[seen..];
    for (v, old) in snap.vms.iter().zip(&before.vms) {
        let owners: Vec<_> = snap.nodes.iter().filter(|n| n.name == v.host).collect();
        prop_assert_eq!(owners.len(), 1, "{} owners", v.name);
        let n = owners[0];
        prop_assert!(
            v.state == VmState::Off || n.powered,
            "{} is {:?} on the powered-off {}",
            v.name,
            v.state,
            n.name
        );
        // A placement (the owner changed) lands on a member node, unless that node left
        // membership (1135) or the cluster lost quorum (1177) later in the same second.
        let left = new_events
            .iter()
            .any(|e| (e.subject == n.name && e.event_id == Some(1135)) || e.event_id == Some(1177));
        if v.host != old.host && v.state != VmState::Off && !left {
            prop_assert!(
                matches!(n.state, NodeState::Up | NodeState::Paused),
                "{} placed on {} ({:?}, {:?})",
                v.name,
                n.name,
                n.state,
                n.status
            );
        }
        if n.status.iter().any(|s| s == "Quarantined") {
            prop_assert!(
                !v.unmonitored,
                "{} Unmonitored on quarantined {}",
                v.name,
                n.name
            );
        }
        if v.host != old.host {
            prop_assert!(
                new_events
                    .iter()
                    .any(|e| e.subject == v.name && e.detail.contains(&v.host)),
                "{} moved {} -> {} without a log line naming it",
                v.name,
                old.host,
                v.host
            );
        }
    }
    Ok(())
}

fn fault(verb: usize, node: String) -> Command {
    match verb {
        0 | 1 => Command::CrashClusterService { node },
        2 | 3 => Command::RestartClusterService { node },
        4 => Command::PowerOff { node },
        5 => Command::PowerOn { node },
        6 => Command::CutNetworks { node },
        7 => Command::HealNetworks { node },
        8 => Command::PauseNode { node },
        9 => Command::ResumeNode { node },
        10 => Command::StopClusterService { node },
        11 => Command::ClearQuarantine { node },
        _ => Command::StartClusterService { node },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]
    #[test]
    fn random_clusters_never_place_a_vm_on_a_node_that_is_off_or_out_of_membership(
        seed in any::<u64>(),
        nodes in 2usize..7,
        witness in any::<bool>(),
        dynamic in any::<bool>(),
        level8 in prop::bool::weighted(0.25),
        low in any::<bool>(),
        faults in prop::collection::vec((1u64..90, 0usize..13, 0usize..6), 1..30),
    ) {
        let extra = format!(
            "witness = \"{}\"\ndynamic_quorum = {dynamic}\nfunctional_level = {}\nquarantine_cap = \"25%\"",
            if witness { "Disk" } else { "None" },
            if level8 { 8 } else { 9 }
        );
        let vm_extra = if low { "priority = \"Low\"" } else { "" };
        let lab = cluster_lab(nodes, 2, &extra, vm_extra);
        let mut sim = Simulation::new(lab, seed);
        let mut now = 0;
        for (dt, verb, n) in &faults {
            for _ in 0..*dt {
                let before = sim.snapshot();
                let seen = sim.events().len();
                now += 1;
                sim.advance_to(SimTime::from_secs(now));
                check(&sim, &before, seen)?;
            }
            let before = sim.snapshot();
            let seen = sim.events().len();
            let _ = sim.apply(fault(*verb, format!("node{}", n % nodes + 1)));
            check(&sim, &before, seen)?;
        }
    }
}
