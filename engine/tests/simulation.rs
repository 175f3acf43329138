//! The kernel's contract seen from outside: four calls, deterministic results.

// Tests fail by panicking; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lmlab_engine::report::Report;
use lmlab_engine::sim::{EventKind, ServiceState};
use lmlab_engine::{Command, Scenario, SimDuration, SimTime, Simulation};
use proptest::prelude::*;

fn preset(name: &str) -> Scenario {
    let path = format!("{}/../assets/scenarios/{name}", env!("CARGO_MANIFEST_DIR"));
    Scenario::load(std::path::Path::new(&path)).unwrap_or_else(|e| panic!("{e}"))
}

fn run_json(name: &str, seed: u64, until_s: u64) -> String {
    println!("seed {seed}");
    let mut sim = Simulation::new(preset(name), seed);
    sim.advance_to(SimTime::from_secs(until_s));
    Report::from_simulation(&sim).to_json().unwrap()
}

#[test]
fn the_same_scenario_and_seed_give_byte_identical_reports() {
    assert_eq!(
        run_json("resiliency-lab.toml", 7, 600),
        run_json("resiliency-lab.toml", 7, 600)
    );
    assert_eq!(
        run_json("seed-lab.toml", 1, 60),
        run_json("seed-lab.toml", 1, 60)
    );
}

#[test]
fn script_actions_happen_at_their_times_in_file_order() {
    let mut sim = Simulation::new(preset("resiliency-lab.toml"), 1);
    assert_eq!(sim.next_deadline(), Some(SimTime::ZERO));
    sim.advance_to(SimTime::from_secs(59));
    assert!(sim.events().iter().all(|e| e.kind != EventKind::Fault));
    sim.advance_to(SimTime::from_secs(60));
    let last = sim.events().last().expect("crash logged");
    assert_eq!(
        (last.t, last.kind, last.subject.as_str()),
        (SimTime::from_secs(60), EventKind::Fault, "node1")
    );
    assert_eq!(sim.snapshot().nodes[0].service, ServiceState::Crashed);
    sim.advance_to(SimTime::from_secs(90));
    assert_eq!(sim.snapshot().nodes[0].service, ServiceState::Running);
    let times: Vec<SimTime> = sim.events().iter().map(|e| e.t).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "log out of order");
}

#[test]
fn time_never_goes_back_and_deadlines_move_forward() {
    let mut sim = Simulation::new(preset("resiliency-lab.toml"), 1);
    sim.advance_to(SimTime::from_secs(100));
    sim.advance_to(SimTime::from_secs(50));
    assert_eq!(sim.now(), SimTime::from_secs(100));
    let d = sim.next_deadline().expect("sampling keeps a deadline");
    assert!(d > sim.now());
    sim.advance_to(d);
    assert!(sim.next_deadline().expect("next") > d);
}

#[test]
fn refused_commands_change_nothing() {
    let mut sim = Simulation::new(preset("seed-lab.toml"), 1);
    let before = sim.snapshot();
    for bad in [
        Command::CrashClusterService {
            node: "nope".into(),
        },
        Command::PullNic {
            node: "hv1".into(),
            nic: "nic9".into(),
        },
        Command::Migrate {
            vm: "vm1".into(),
            to: "hv1".into(),
        },
        Command::LoseStorage {
            storage: "nas".into(),
            node: None,
        },
    ] {
        assert!(sim.apply(bad).is_err());
    }
    assert_eq!(sim.snapshot(), before);
    assert!(sim.history().is_empty());
}

#[test]
fn applied_commands_are_logged_and_kept_for_sessions() {
    let mut sim = Simulation::new(preset("seed-lab.toml"), 1);
    sim.advance_to(SimTime::from_secs(3));
    sim.apply(Command::PullNic {
        node: "hv2".into(),
        nic: "nic1".into(),
    })
    .expect("pull");
    let snap = sim.snapshot();
    assert!(!snap.nodes[1].nics[0].plugged);
    assert_eq!(sim.history().len(), 1);
    assert_eq!(sim.history()[0].at, SimDuration::from_secs(3));
    assert_eq!(sim.events().last().map(|e| e.kind), Some(EventKind::Fault));
}

#[test]
fn series_are_sampled_at_the_scenario_step() {
    let mut sim = Simulation::new(preset("resiliency-lab.toml"), 1);
    sim.advance_to(SimTime::from_secs(120));
    let s = sim.series();
    assert_eq!(s.len(), 121);
    assert_eq!(s.t(60), 60.0);
    assert_eq!(s.times().count(), 121);
    // node1's service is down from 60 s to 90 s.
    let h: Vec<f64> = s.column("node1.healthy").unwrap().values(s.len()).collect();
    assert_eq!(h.len(), 121);
    assert_eq!((h[59], h[60], h[89], h[90]), (1.0, 0.0, 0.0, 1.0));
}

#[test]
fn what_a_run_holds_grows_with_what_happens_not_with_simulated_time() {
    // The resiliency lab's story is over within 3 h; a day later it holds exactly as much series
    // and log, though it has 7 times as many samples.
    let run = |until: u64| {
        let mut sim = Simulation::new(preset("resiliency-lab.toml"), 1);
        sim.advance_to(SimTime::from_secs(until));
        (
            sim.series().len(),
            sim.series().stored_points(),
            sim.events().len(),
            sim.series().column("lm_gbps").unwrap().last(),
        )
    };
    let (short, long) = (run(3 * 3600), run(24 * 3600));
    assert_eq!(short.0, 3 * 3600 + 1);
    assert_eq!(long.0, 24 * 3600 + 1);
    assert_eq!((short.1, short.2), (long.1, long.2));
    assert_eq!(long.3, 0.0);
    // And what it holds is small: a few change points per column and event.
    assert!(
        short.1 < 50 * short.2,
        "{} points for {} events",
        short.1,
        short.2
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// Applying the same random commands at the same times twice gives identical reports, and no
    /// VM ever has zero or two owners.
    #[test]
    fn random_command_sequences_replay_identically(seed in any::<u64>(), steps in prop::collection::vec((0u64..120, 0usize..6, 0usize..4), 1..30)) {
        let run = || {
            let mut sim = Simulation::new(preset("resiliency-lab.toml"), seed);
            let mut t = 0;
            for (dt, verb, node) in &steps {
                t += dt;
                sim.advance_to(SimTime::from_secs(t));
                let node = format!("node{}", node + 1);
                let cmd = match verb {
                    0 => Command::CrashClusterService { node },
                    1 => Command::RestartClusterService { node },
                    2 => Command::PowerOff { node },
                    3 => Command::PowerOn { node },
                    4 => Command::CutNetworks { node },
                    _ => Command::HealNetworks { node },
                };
                let _ = sim.apply(cmd);
                let snap = sim.snapshot();
                prop_assert_eq!(snap.vms.len(), 9);
                prop_assert!(snap.vms.iter().all(|v| snap.nodes.iter().filter(|n| n.name == v.host).count() == 1));
            }
            sim.advance_to(SimTime::from_secs(t + 60));
            Ok(Report::from_simulation(&sim).to_json().unwrap())
        };
        prop_assert_eq!(run()?, run()?);
    }
}
