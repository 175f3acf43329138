//! The failover-cluster engine: the seed's VM Compute Resiliency experiment step by step, the
//! named behaviours, and invariants over random faults.

// Tests fail by panicking; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lmlab_engine::report::Report;
use lmlab_engine::sim::{EventKind, LogEvent, NodeState, Outcome, RoleState, VmState};
use lmlab_engine::{Command, Scenario, SimTime, Simulation};
use proptest::prelude::*;

fn resiliency_lab() -> Scenario {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/scenarios/resiliency-lab.toml"
    );
    Scenario::load(std::path::Path::new(path)).unwrap()
}

/// The resiliency lab without its script, with `cluster` lines added to `[cluster]`.
fn lab(cluster: &str) -> Scenario {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/scenarios/resiliency-lab.toml"
    ))
    .unwrap();
    let text = text
        .split("# The seed's experiment")
        .next()
        .unwrap()
        .to_string();
    let text = text.replacen("[cluster]\n", &format!("[cluster]\n{cluster}\n"), 1);
    let text = if cluster.contains("resiliency_default_period") {
        text.replacen("resiliency_default_period = \"60s\"", "", 1)
    } else {
        text
    };
    let text = if cluster.contains("quarantine_duration") {
        text.replacen("quarantine_duration = \"300s\"", "", 1)
    } else {
        text
    };
    let text = if cluster.contains("resiliency_level") {
        text.replacen("resiliency_level = \"AlwaysIsolate\"", "", 1)
    } else {
        text
    };
    let text = if cluster.contains("functional_level") {
        text.replacen("functional_level = 9", "", 1)
    } else {
        text
    };
    let text = if cluster.contains("witness") {
        text.replacen("witness = \"FileShare\"", "", 1)
    } else {
        text
    };
    Scenario::from_toml(&text, "lab.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn at(sim: &mut Simulation, secs: f64, cmd: Command) {
    sim.advance_to(SimTime::from_micros((secs * 1e6) as u64));
    sim.apply(cmd).unwrap_or_else(|e| panic!("{e}"));
}

fn crash(node: &str) -> Command {
    Command::CrashClusterService { node: node.into() }
}
fn restart(node: &str) -> Command {
    Command::RestartClusterService { node: node.into() }
}

/// First event for `subject` whose detail starts with `detail`, at or after `from` seconds.
fn first<'a>(
    events: &'a [LogEvent],
    subject: &str,
    detail: &str,
    from: f64,
) -> Option<&'a LogEvent> {
    events
        .iter()
        .find(|e| e.subject == subject && e.detail.starts_with(detail) && e.t.as_secs_f64() >= from)
}

fn t(e: Option<&LogEvent>) -> f64 {
    e.map_or(f64::NAN, |e| e.t.as_secs_f64())
}

fn vm(sim: &Simulation, name: &str) -> lmlab_engine::sim::VmStatus {
    sim.snapshot()
        .vms
        .into_iter()
        .find(|v| v.name == name)
        .unwrap()
}

fn node(sim: &Simulation, name: &str) -> lmlab_engine::sim::NodeStatus {
    sim.snapshot()
        .nodes
        .into_iter()
        .find(|n| n.name == name)
        .unwrap()
}

#[test]
fn resiliency_lab_reproduces_the_seed_experiment_step_by_step() {
    let s = resiliency_lab();
    let mut sim = Simulation::new(s, 1);
    println!("seed 1");
    // First crash at 60 s: Isolated within the heartbeat threshold (10 x 1 s).
    sim.advance_to(SimTime::from_secs(75));
    let ev = sim.events();
    let isolated = t(first(ev, "node1", "Isolated", 60.0));
    assert!(
        isolated > 60.0 && isolated <= 70.0,
        "isolated at {isolated}"
    );
    assert!(
        first(
            ev,
            "node1",
            "node1 removed from active failover cluster membership",
            60.0
        )
        .is_some_and(|e| e.event_id == Some(1135))
    );
    assert!(node(&sim, "node1").status.contains(&"Isolated".to_string()));
    // File-share VMs keep running (Unmonitored); CSV VMs go Running-Critical, then Paused-Critical.
    for v in ["vm-sofs-1", "vm-sofs-2"] {
        let s = vm(&sim, v);
        assert_eq!((s.state, s.unmonitored), (VmState::Running, true), "{v}");
    }
    assert_eq!(vm(&sim, "vm-csv-1").state, VmState::RunningCritical);
    assert!(vm(&sim, "vm-csv-1").unmonitored);
    sim.advance_to(SimTime::from_secs(85));
    assert_eq!(vm(&sim, "vm-csv-1").state, VmState::PausedCritical);
    // The 5.0 VM does not get isolation handling: it fails over at once.
    let old = first(sim.events(), "vm-old", "failing over", 60.0).expect("vm-old fails over");
    assert!((old.t.as_secs_f64() - isolated).abs() < 1e-9);
    assert_ne!(vm(&sim, "vm-old").host, "node1");
    // Service back at 90 s: Joining, then Up; VMs monitored again; CSV VMs resume.
    sim.advance_to(SimTime::from_secs(100));
    let ev = sim.events();
    assert_eq!(t(first(ev, "node1", "Joining", 90.0)), 90.0);
    assert!(t(first(ev, "node1", "Up", 90.0)) <= 100.0);
    assert_eq!(node(&sim, "node1").state, NodeState::Up);
    for v in ["vm-sofs-1", "vm-csv-1", "vm-csv-2"] {
        let s = vm(&sim, v);
        assert_eq!(
            (s.state, s.unmonitored, s.host.as_str()),
            (VmState::Running, false, "node1"),
            "{v}"
        );
    }
    // Third isolation within the hour: Quarantined when it comes back at 570 s, VMs drained.
    sim.advance_to(SimTime::from_secs(600));
    let q = sim
        .events()
        .iter()
        .find(|e| e.event_id == Some(1672))
        .expect("event 1672");
    assert_eq!((q.subject.as_str(), q.t.as_secs_f64()), ("node1", 570.0));
    assert!(
        node(&sim, "node1")
            .status
            .contains(&"Quarantined".to_string())
    );
    for v in ["vm-sofs-1", "vm-sofs-2", "vm-csv-1", "vm-csv-2"] {
        assert_ne!(vm(&sim, v).host, "node1", "{v} drained");
        assert_eq!(vm(&sim, v).state, VmState::Running, "{v}");
    }
    let r = Report::from_simulation(&sim);
    assert!(
        r.migrations
            .iter()
            .filter(|m| m.from == "node1")
            .all(|m| m.outcome == Some(Outcome::Completed))
    );
    assert!(
        r.migrations.iter().any(|m| m.vm == "vm-sofs-1"),
        "High priority VMs leave by live migration"
    );
    assert!(
        first(sim.events(), "vm-csv-2", "quick migration", 570.0).is_some(),
        "Low priority by quick migration"
    );
    // node2 crashes three times while node1 is quarantined: the cap (one node of four) holds.
    sim.advance_to(SimTime::from_secs(860));
    assert!(
        first(
            sim.events(),
            "node2",
            "3 failures in the last hour, but 1 of at most 1",
            0.0
        )
        .is_some()
    );
    assert_eq!(
        sim.events()
            .iter()
            .filter(|e| e.event_id == Some(1672))
            .count(),
        1
    );
    assert_eq!(node(&sim, "node2").state, NodeState::Up);
    // 300 s after the quarantine: node1 rejoins.
    sim.advance_to(SimTime::from_secs(900));
    let lifted = t(first(sim.events(), "node1", "quarantine lifted", 570.0));
    assert_eq!(lifted, 870.0);
    assert_eq!(node(&sim, "node1").state, NodeState::Up);
    assert!(node(&sim, "node1").status.is_empty());
}

#[test]
fn defaults_are_240_s_and_7200_s() {
    let mut sim = Simulation::new(
        lab("resiliency_default_period = \"240s\"\nquarantine_duration = \"7200s\""),
        2,
    );
    at(&mut sim, 10.0, crash("node3"));
    sim.advance_to(SimTime::from_secs(100));
    assert!(node(&sim, "node3").status.contains(&"Isolated".to_string()));
    let iso = t(first(sim.events(), "node3", "Isolated", 0.0));
    sim.advance_to(SimTime::from_secs(400));
    let down = t(first(
        sim.events(),
        "node3",
        "Down (resiliency period expired)",
        0.0,
    ));
    assert!(
        (down - iso - 240.0).abs() < 1e-6,
        "Down {down} after isolation {iso}"
    );
    assert_eq!(vm(&sim, "vm-app-3").state, VmState::Running);
    assert_ne!(vm(&sim, "vm-app-3").host, "node3");
    // Quarantine lasts 7200 s.
    for k in 0..3 {
        at(&mut sim, 500.0 + 100.0 * k as f64, restart("node3"));
        at(&mut sim, 530.0 + 100.0 * k as f64, crash("node3"));
    }
    at(&mut sim, 900.0, restart("node3"));
    let q = sim
        .events()
        .iter()
        .find(|e| e.event_id == Some(1672))
        .expect("quarantined");
    let clears = format!("clears at {:.3}s", q.t.as_secs_f64() + 7200.0);
    assert!(q.detail.contains(&clears), "{} / {clears}", q.detail);
}

#[test]
fn resiliency_default_period_0_fails_over_at_once() {
    let mut sim = Simulation::new(lab("resiliency_default_period = \"0\""), 3);
    at(&mut sim, 10.0, crash("node1"));
    sim.advance_to(SimTime::from_secs(25));
    let down = first(sim.events(), "node1", "Down", 0.0).expect("Down");
    assert!(first(sim.events(), "node1", "Isolated", 0.0).is_none());
    for v in ["vm-sofs-1", "vm-csv-1", "vm-old"] {
        let f = first(sim.events(), v, "failing over", 0.0).expect("failover");
        assert_eq!(f.t, down.t, "{v}");
    }
    sim.advance_to(SimTime::from_secs(120));
    let s = vm(&sim, "vm-sofs-1");
    assert_eq!(s.state, VmState::Running);
    assert!(
        s.outage_s > 20.0,
        "the VM was down while it restarted: {}",
        s.outage_s
    );
}

#[test]
fn period_expiry_fails_the_vms_over() {
    let mut sim = Simulation::new(resiliency_lab_without_script(), 4);
    at(&mut sim, 10.0, crash("node1"));
    sim.advance_to(SimTime::from_secs(200));
    let iso = t(first(sim.events(), "node1", "Isolated", 0.0));
    let f = t(first(sim.events(), "vm-sofs-1", "failing over", 0.0));
    assert!((f - iso - 60.0).abs() < 1e-6);
    for v in ["vm-sofs-1", "vm-sofs-2", "vm-csv-1", "vm-csv-2"] {
        let s = vm(&sim, v);
        assert_ne!(s.host, "node1");
        assert_eq!(
            (s.state, s.role, s.unmonitored),
            (VmState::Running, RoleState::Online, false),
            "{v}"
        );
    }
}

fn resiliency_lab_without_script() -> Scenario {
    lab("")
}

#[test]
fn a_low_configuration_version_fails_over_at_once() {
    let mut sim = Simulation::new(resiliency_lab_without_script(), 5);
    at(&mut sim, 10.0, crash("node1"));
    sim.advance_to(SimTime::from_secs(25));
    let iso = t(first(sim.events(), "node1", "Isolated", 0.0));
    assert_eq!(t(first(sim.events(), "vm-old", "failing over", 0.0)), iso);
    assert!(!vm(&sim, "vm-old").unmonitored);
    assert!(vm(&sim, "vm-sofs-1").unmonitored);
}

#[test]
fn a_vms_own_resiliency_period_overrides_the_clusters() {
    let s = lab("");
    let mut spec = s.spec.clone();
    spec.vms[0].resiliency_period =
        lmlab_engine::scenario::ResiliencyPeriod::Own(lmlab_engine::SimDuration::from_secs(20));
    let mut sim = Simulation::new(Scenario::from_spec(spec).unwrap(), 5);
    at(&mut sim, 10.0, crash("node1"));
    sim.advance_to(SimTime::from_secs(60));
    let iso = t(first(sim.events(), "node1", "Isolated", 0.0));
    assert!((t(first(sim.events(), "vm-sofs-1", "failing over", 0.0)) - (iso + 20.0)).abs() < 1e-6);
    assert!(
        vm(&sim, "vm-sofs-2").unmonitored,
        "the others wait for the cluster period"
    );
}

#[test]
fn a_clean_stop_drains_and_is_not_counted_toward_quarantine() {
    let mut sim = Simulation::new(resiliency_lab_without_script(), 6);
    for k in 0..3 {
        let base = 10.0 + 200.0 * k as f64;
        at(
            &mut sim,
            base,
            Command::StopClusterService {
                node: "node1".into(),
            },
        );
        sim.advance_to(SimTime::from_micros(((base + 120.0) * 1e6) as u64));
        assert_eq!(node(&sim, "node1").state, NodeState::Down, "stop {k}");
        assert!(
            sim.snapshot().vms.iter().all(|v| v.host != "node1"),
            "drained"
        );
        at(
            &mut sim,
            base + 130.0,
            Command::StartClusterService {
                node: "node1".into(),
            },
        );
        sim.advance_to(SimTime::from_micros(((base + 140.0) * 1e6) as u64));
        assert_eq!(node(&sim, "node1").state, NodeState::Up);
    }
    assert!(
        sim.events()
            .iter()
            .all(|e| e.event_id != Some(1672) && !e.detail.contains("Isolated"))
    );
    // High/Medium left by live migration, Low by quick migration.
    let r = Report::from_simulation(&sim);
    assert!(
        r.migrations
            .iter()
            .any(|m| m.vm == "vm-sofs-1" && m.outcome == Some(Outcome::Completed))
    );
    assert!(first(sim.events(), "vm-csv-2", "quick migration", 0.0).is_some());
}

#[test]
fn a_clean_stop_is_refused_when_it_would_lose_quorum_without_dynamic_quorum() {
    let mut sim = Simulation::new(lab("witness = \"None\"\ndynamic_quorum = false"), 7);
    at(
        &mut sim,
        1.0,
        Command::StopClusterService {
            node: "node4".into(),
        },
    );
    sim.advance_to(SimTime::from_secs(200));
    let before = sim.snapshot();
    let e = sim
        .apply(Command::StopClusterService {
            node: "node3".into(),
        })
        .unwrap_err();
    assert!(e.to_string().contains("lose quorum"), "{e}");
    assert_eq!(sim.snapshot(), before, "a refused command changes nothing");
}

#[test]
fn with_dynamic_quorum_clean_stops_move_the_votes_down_to_the_last_node() {
    let mut sim = Simulation::new(lab("witness = \"None\""), 7);
    println!("seed 7");
    for (k, n) in ["node4", "node3", "node2"].iter().enumerate() {
        at(
            &mut sim,
            1.0 + 200.0 * k as f64,
            Command::StopClusterService {
                node: n.to_string(),
            },
        );
        sim.advance_to(SimTime::from_secs(200 * (k as u64 + 1)));
        assert_eq!(node(&sim, n).state, NodeState::Down, "{n} stopped");
    }
    assert!(sim.events().iter().all(|e| e.event_id != Some(1177)));
    let e = sim
        .apply(Command::StopClusterService {
            node: "node1".into(),
        })
        .unwrap_err();
    assert!(e.to_string().contains("no other node is up"), "{e}");
    assert!(
        sim.snapshot()
            .vms
            .iter()
            .all(|v| v.host == "node1" && v.state == VmState::Running)
    );
}

#[test]
fn clear_quarantine_lets_the_node_rejoin() {
    let mut sim = Simulation::new(lab("quarantine_duration = \"until-cleared\""), 8);
    for k in 0..3 {
        at(&mut sim, 10.0 + 60.0 * k as f64, crash("node2"));
        at(&mut sim, 40.0 + 60.0 * k as f64, restart("node2"));
    }
    sim.advance_to(SimTime::from_secs(1000));
    assert!(
        node(&sim, "node2")
            .status
            .contains(&"Quarantined".to_string())
    );
    assert!(
        sim.events()
            .iter()
            .any(|e| e.event_id == Some(1672) && e.detail.contains("when cleared"))
    );
    assert!(
        sim.snapshot().vms.iter().all(|v| v.host != "node2"),
        "drained"
    );
    at(
        &mut sim,
        1000.0,
        Command::ClearQuarantine {
            node: "node2".into(),
        },
    );
    sim.advance_to(SimTime::from_secs(1010));
    assert_eq!(node(&sim, "node2").state, NodeState::Up);
    assert!(node(&sim, "node2").status.is_empty());
}

#[test]
fn losing_quorum_isolates_the_survivors_with_their_vms_and_the_cluster_comes_back() {
    // Static votes (4 of 4, no witness): two nodes off at once leave 2 of 4.
    let mut sim = Simulation::new(lab("witness = \"None\"\ndynamic_quorum = false"), 9);
    println!("seed 9");
    for n in ["node3", "node4"] {
        at(&mut sim, 10.0, Command::PowerOff { node: n.into() });
    }
    sim.advance_to(SimTime::from_secs(40));
    let q = sim
        .events()
        .iter()
        .find(|e| e.event_id == Some(1177))
        .expect("quorum lost");
    assert!(q.t.as_secs_f64() <= 25.0);
    // The survivors are Isolated and keep their VMs (file-share VMs run, CSV VMs freeze).
    for n in ["node1", "node2"] {
        assert!(
            node(&sim, n).status.contains(&"Isolated".to_string()),
            "{n}"
        );
    }
    let snap = sim.snapshot();
    // (vm-old is below the isolation version: it fails over, and with no quorum it is Off.)
    for v in snap
        .vms
        .iter()
        .filter(|v| (v.host == "node1" || v.host == "node2") && v.name != "vm-old")
    {
        assert_ne!(
            v.state,
            VmState::Off,
            "{} keeps running on {}",
            v.name,
            v.host
        );
        assert!(v.unmonitored, "{}", v.name);
    }
    at(
        &mut sim,
        30.0 + 10.0,
        Command::PowerOn {
            node: "node3".into(),
        },
    );
    sim.advance_to(SimTime::from_secs(200));
    assert!(
        sim.events()
            .iter()
            .any(|e| e.detail.starts_with("cluster formed again"))
    );
    assert!(
        sim.snapshot()
            .vms
            .iter()
            .all(|v| v.state == VmState::Running),
        "{:?}",
        sim.snapshot().vms
    );
}

#[test]
fn at_functional_level_8_losing_quorum_turns_every_vm_off_as_before_2016() {
    let mut sim = Simulation::new(
        lab("witness = \"None\"\ndynamic_quorum = false\nfunctional_level = 8"),
        9,
    );
    for n in ["node3", "node4"] {
        at(&mut sim, 10.0, Command::PowerOff { node: n.into() });
    }
    sim.advance_to(SimTime::from_secs(40));
    assert!(sim.events().iter().any(|e| e.event_id == Some(1177)));
    assert!(sim.snapshot().vms.iter().all(|v| v.state == VmState::Off));
    assert!(
        sim.snapshot()
            .nodes
            .iter()
            .all(|n| n.state == NodeState::Down && n.status.is_empty())
    );
}

#[test]
fn a_powered_off_node_is_isolated_first_under_always_isolate() {
    let mut sim = Simulation::new(resiliency_lab_without_script(), 10);
    at(
        &mut sim,
        10.0,
        Command::PowerOff {
            node: "node1".into(),
        },
    );
    sim.advance_to(SimTime::from_secs(30));
    assert!(node(&sim, "node1").status.contains(&"Isolated".to_string()));
    // The surprising part: its VMs are off but only Unmonitored until the period ends.
    let s = vm(&sim, "vm-sofs-1");
    assert_eq!(
        (s.state, s.unmonitored, s.host.as_str()),
        (VmState::Off, true, "node1")
    );
    sim.advance_to(SimTime::from_secs(200));
    let s = vm(&sim, "vm-sofs-1");
    assert_eq!(s.state, VmState::Running);
    assert_ne!(s.host, "node1");
    assert!(s.outage_s > 60.0, "{}", s.outage_s);
}

#[test]
fn isolate_on_special_heartbeat_isolates_only_a_node_whose_service_runs() {
    let mut sim = Simulation::new(lab("resiliency_level = \"IsolateOnSpecialHeartbeat\""), 11);
    at(&mut sim, 10.0, crash("node1"));
    at(
        &mut sim,
        10.0,
        Command::CutNetworks {
            node: "node2".into(),
        },
    );
    sim.advance_to(SimTime::from_secs(30));
    assert!(first(sim.events(), "node1", "Down", 0.0).is_some());
    assert!(first(sim.events(), "node1", "Isolated", 0.0).is_none());
    assert!(first(sim.events(), "node2", "Isolated", 0.0).is_some());
}

#[test]
fn pause_drains_and_resume_brings_the_node_back() {
    let mut sim = Simulation::new(resiliency_lab_without_script(), 12);
    at(
        &mut sim,
        5.0,
        Command::PauseNode {
            node: "node2".into(),
        },
    );
    assert_eq!(node(&sim, "node2").state, NodeState::Paused);
    sim.advance_to(SimTime::from_secs(120));
    assert!(
        node(&sim, "node2")
            .status
            .contains(&"DrainCompleted".to_string())
    );
    assert!(sim.snapshot().vms.iter().all(|v| v.host != "node2"));
    let e = sim
        .apply(Command::Migrate {
            vm: "vm-app-3".into(),
            to: "node2".into(),
        })
        .unwrap_err();
    assert!(e.to_string().contains("does not accept roles"), "{e}");
    at(
        &mut sim,
        130.0,
        Command::ResumeNode {
            node: "node2".into(),
        },
    );
    assert_eq!(node(&sim, "node2").state, NodeState::Up);
    sim.apply(Command::Migrate {
        vm: "vm-app-3".into(),
        to: "node2".into(),
    })
    .unwrap();
}

fn check_invariants(sim: &Simulation) -> Result<(), TestCaseError> {
    let snap = sim.snapshot();
    let quarantined = snap
        .nodes
        .iter()
        .filter(|n| n.status.iter().any(|s| s == "Quarantined"))
        .count();
    prop_assert!(
        quarantined
            <= sim
                .scenario()
                .spec
                .cluster
                .quarantine_cap
                .nodes(snap.nodes.len())
    );
    for v in &snap.vms {
        prop_assert_eq!(
            snap.nodes.iter().filter(|n| n.name == v.host).count(),
            1,
            "{} owners",
            v.name
        );
    }
    let ev = sim.events();
    prop_assert!(ev.windows(2).all(|w| w[0].t <= w[1].t), "log out of order");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn random_faults_never_lose_a_vm_or_break_the_cap(
        seed in any::<u64>(),
        faults in prop::collection::vec((1u64..120, 0usize..12, 0usize..4), 1..25),
    ) {
        let mut sim = Simulation::new(resiliency_lab_without_script(), seed);
        let mut now = 0;
        for (dt, verb, n) in &faults {
            now += dt;
            sim.advance_to(SimTime::from_secs(now));
            let node = format!("node{}", n + 1);
            let cmd = match verb {
                0 | 1 => Command::CrashClusterService { node },
                2 | 3 => Command::RestartClusterService { node },
                4 => Command::PowerOff { node },
                5 => Command::PowerOn { node },
                6 => Command::CutNetworks { node },
                7 => Command::HealNetworks { node },
                8 => Command::PauseNode { node },
                9 => Command::ResumeNode { node },
                10 => Command::StopClusterService { node },
                _ => Command::StartClusterService { node },
            };
            let _ = sim.apply(cmd);
            check_invariants(&sim)?;
        }
        // Repair everything, then every VM must be running somewhere again.
        now += 1;
        sim.advance_to(SimTime::from_secs(now));
        for n in 1..=4 {
            let node = format!("node{n}");
            for cmd in [
                Command::PowerOn { node: node.clone() },
                Command::HealNetworks { node: node.clone() },
                Command::RestartClusterService { node: node.clone() },
                Command::StartClusterService { node: node.clone() },
                Command::ResumeNode { node: node.clone() },
                Command::ClearQuarantine { node: node.clone() },
            ] {
                let _ = sim.apply(cmd);
            }
        }
        for step in 1..=20 {
            sim.advance_to(SimTime::from_secs(now + step * 60));
            check_invariants(&sim)?;
        }
        let snap = sim.snapshot();
        for v in &snap.vms {
            prop_assert_eq!(v.state, VmState::Running, "{} is {:?} on {} (role {:?})", v.name, v.state, v.host, v.role);
        }
        let _ = EventKind::Fault;
    }
}
