//! The live-migration engine: pre-copy passes, queueing, failures in flight, forecast.

// Tests fail by panicking; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lmlab_engine::report::{MigrationReport, Report};
use lmlab_engine::sim::{Outcome, Phase, VmState};
use lmlab_engine::{Command, Scenario, SimTime, Simulation};
use proptest::prelude::*;

/// Two hosts, `nics` 10 GbE NICs each (no RDMA), `option` for live migration, the given VMs
/// (name, memory, dirty rate, working set) on hv1.
fn lab(
    nics: usize,
    option: &str,
    teaming: &str,
    vms: &[(&str, &str, &str, &str)],
    extra: &str,
) -> Scenario {
    let mut s = format!(
        "format_version = 1\nname = \"t\"\nsample_step = \"1s\"\n[migration]\nperformance_option = \"{option}\"\nmax_simultaneous = 2\n{extra}\n\
         [[switches]]\nname = \"sw\"\n[[storage]]\nname = \"sofs\"\nkind = \"SMB3\"\n"
    );
    for h in ["hv1", "hv2", "hv3"] {
        s += &format!(
            "[[hosts]]\nname = \"{h}\"\nsockets = 2\ncores_per_socket = 8\nsmt = true\nclock_ghz = 2.6\nmemory = \"512GiB\"\nteaming = {{ mode = \"{teaming}\" }}\n"
        );
        for n in 0..nics {
            s += &format!(
                "  [[hosts.nics]]\n  name = \"nic{}\"\n  speed = \"10Gbps\"\n  switch = \"sw\"\n  mtu = 9000\n  numa_node = {}\n  rss = \"Tuned\"\n  rss_tuned = {{ queues = 8, base_core = {}, numa_node = {} }}\n",
                n + 1,
                n % 2,
                (n % 2) * 8,
                n % 2
            );
        }
    }
    for (name, mem, dirty, ws) in vms {
        s += &format!(
            "[[vms]]\nname = \"{name}\"\nhost = \"hv1\"\nmemory = \"{mem}\"\ndirty_rate = \"{dirty}\"\nworking_set = \"{ws}\"\nstorage = \"sofs\"\n"
        );
    }
    Scenario::from_toml(&s, "lab.toml").unwrap_or_else(|e| panic!("{e}\n{s}"))
}

fn migrate(sim: &mut Simulation, vm: &str, to: &str) {
    sim.apply(Command::Migrate {
        vm: vm.into(),
        to: to.into(),
    })
    .unwrap();
}

fn report_of(sim: &Simulation, vm: &str) -> MigrationReport {
    let r = Report::from_simulation(sim);
    r.migrations
        .into_iter()
        .rev()
        .find(|m| m.vm == vm)
        .expect("migration")
}

/// Every VM is on exactly one host that exists; a VM on a powered-off host is not running.
fn assert_every_vm_in_one_place(sim: &Simulation) {
    let snap = sim.snapshot();
    for v in &snap.vms {
        let owners = snap.nodes.iter().filter(|n| n.name == v.host).count();
        assert_eq!(owners, 1, "{} has {owners} owners", v.name);
        let host = snap.nodes.iter().find(|n| n.name == v.host).unwrap();
        if !host.powered {
            assert_eq!(v.state, VmState::Off, "{} on a powered-off host", v.name);
        }
    }
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

#[test]
fn an_idle_vm_takes_memory_over_rate_plus_setup() {
    let s = lab(1, "TCPIP", "None", &[("vm1", "16GiB", "0", "1GiB")], "");
    let setup = s.spec.migration.setup.as_secs_f64();
    let cleanup = s.spec.migration.cleanup.as_secs_f64();
    let mut sim = Simulation::new(s, 1);
    migrate(&mut sim, "vm1", "hv2");
    sim.advance_to(SimTime::from_secs(600));
    let m = report_of(&sim, "vm1");
    println!("{m:?}");
    assert_eq!(m.outcome, Some(Outcome::Completed));
    assert_eq!(m.iterations, 1);
    let rate = m.avg_gbps * 1e9 / 8.0;
    let expect = setup + 16.0 * GIB / rate + m.downtime_ms.unwrap() / 1e3 + cleanup;
    let total = m.total_time_ms.unwrap() / 1e3;
    assert!(
        (total - expect).abs() < 0.01,
        "total {total:.3} s, memory/rate + setup {expect:.3} s"
    );
    // One TCP flow: one core's worth (about 4.5 Gbps on 2.6 GHz).
    assert!((4.0..5.0).contains(&m.avg_gbps), "{}", m.avg_gbps);
    assert_eq!(sim.snapshot().vms[0].host, "hv2");
    assert!(m.bytes as f64 >= 16.0 * GIB);
}

#[test]
fn a_vm_dirtying_faster_than_the_link_never_converges_and_pauses_long() {
    let s = lab(1, "TCPIP", "None", &[("vm1", "8GiB", "2GiB/s", "6GiB")], "");
    let max_passes = s.spec.migration.max_passes;
    let mut sim = Simulation::new(s, 1);
    migrate(&mut sim, "vm1", "hv2");
    let m0 = report_of(&sim, "vm1");
    assert!(!m0.forecast.converges);
    assert!(
        m0.forecast
            .warning
            .as_deref()
            .unwrap()
            .contains("will not converge")
    );
    assert!(!m0.forecast.remedies.is_empty());
    sim.advance_to(SimTime::from_secs(600));
    let m = report_of(&sim, "vm1");
    println!(
        "passes {} pause {:?} ms (forecast {} ms)",
        m.iterations, m.downtime_ms, m.forecast.pause_ms
    );
    assert_eq!(m.outcome, Some(Outcome::Completed));
    assert_eq!(m.iterations, max_passes, "hits the pass limit");
    let pause = m.downtime_ms.unwrap();
    assert!(pause > 5_000.0, "expected a long pause, got {pause} ms");
    assert!((pause / m.forecast.pause_ms - 1.0).abs() < 0.05);
}

#[test]
fn the_pause_stays_under_the_target_when_it_converges() {
    for dirty in ["0", "5MiB/s", "50MiB/s", "200MiB/s"] {
        let s = lab(2, "SMB", "None", &[("vm1", "16GiB", dirty, "4GiB")], "");
        let target = s.spec.migration.target_pause.as_millis_f64();
        let mut sim = Simulation::new(s, 3);
        migrate(&mut sim, "vm1", "hv2");
        sim.advance_to(SimTime::from_secs(600));
        let m = report_of(&sim, "vm1");
        println!(
            "dirty {dirty}: {} passes, pause {:?} ms",
            m.iterations, m.downtime_ms
        );
        assert!(m.forecast.converges, "{dirty}");
        assert!(
            m.downtime_ms.unwrap() <= target,
            "{dirty}: {:?} > {target}",
            m.downtime_ms
        );
    }
}

#[test]
fn the_forecast_agrees_with_the_simulation_for_converging_migrations() {
    for (option, dirty) in [
        ("TCPIP", "20MiB/s"),
        ("SMB", "100MiB/s"),
        ("Compression", "10MiB/s"),
        ("SMB", "0"),
    ] {
        let s = lab(2, option, "None", &[("vm1", "32GiB", dirty, "8GiB")], "");
        let mut sim = Simulation::new(s, 5);
        migrate(&mut sim, "vm1", "hv2");
        sim.advance_to(SimTime::from_secs(3600));
        let m = report_of(&sim, "vm1");
        let total = m.total_time_ms.unwrap() / 1e3;
        println!(
            "{option} {dirty}: forecast {:.2} s / {} passes, simulated {total:.2} s / {}",
            m.forecast.total_s, m.forecast.passes, m.iterations
        );
        assert!(m.forecast.converges);
        assert!(
            (total / m.forecast.total_s - 1.0).abs() < 0.10,
            "{option} {dirty}"
        );
        assert_eq!(m.iterations, m.forecast.passes);
    }
}

#[test]
fn a_third_migration_queues_and_starts_when_one_ends() {
    let s = lab(
        2,
        "SMB",
        "None",
        &[
            ("a", "8GiB", "0", "1GiB"),
            ("b", "16GiB", "0", "1GiB"),
            ("c", "8GiB", "0", "1GiB"),
        ],
        "",
    );
    let mut sim = Simulation::new(s, 1);
    for vm in ["a", "b", "c"] {
        migrate(&mut sim, vm, "hv2");
    }
    let phases: Vec<Phase> = sim.migrations().iter().map(|m| m.phase).collect();
    assert_eq!(phases, [Phase::Setup, Phase::Setup, Phase::Queued]);
    sim.advance_to(SimTime::from_secs(600));
    let r = Report::from_simulation(&sim);
    let a = &r.migrations[0];
    let c = &r.migrations[2];
    assert!(
        r.migrations
            .iter()
            .all(|m| m.outcome == Some(Outcome::Completed))
    );
    assert_eq!(c.start_s, a.end_s, "c starts the instant a's slot frees");
    let queued = r.series.column("migrations_queued").unwrap();
    assert_eq!(queued.value(0), 1.0);
}

/// Starts a migration, lets it run `after` seconds into pre-copy, applies `fault`, runs on.
fn fault_in_flight(
    nics: usize,
    option: &str,
    teaming: &str,
    fault: Command,
) -> (Simulation, MigrationReport) {
    let s = lab(
        nics,
        option,
        teaming,
        &[("vm1", "64GiB", "10MiB/s", "4GiB")],
        "",
    );
    let mut sim = Simulation::new(s, 1);
    migrate(&mut sim, "vm1", "hv2");
    sim.advance_to(SimTime::from_secs(10));
    assert_eq!(sim.migrations()[0].phase, Phase::Precopy);
    sim.apply(fault).unwrap();
    assert_every_vm_in_one_place(&sim);
    // Until the migration ends the VM is on its source.
    use lmlab_engine::sim::Phase as P;
    while matches!(
        sim.migrations()[0].phase,
        P::Queued | P::Setup | P::Precopy | P::SwitchOver | P::Resume
    ) && sim.now() < SimTime::from_secs(1200)
    {
        assert_eq!(sim.snapshot().vms[0].host, "hv1");
        let next = sim.next_deadline().unwrap_or(SimTime::from_secs(1200));
        sim.advance_to(next);
    }
    if sim.migrations()[0].phase == P::Failed {
        assert_eq!(
            sim.snapshot().vms[0].host,
            "hv1",
            "a failed migration leaves the VM on its source"
        );
    }
    // Afterwards the cluster may fail the VM over; it is still in exactly one place.
    sim.advance_to(SimTime::from_secs(1200));
    assert_every_vm_in_one_place(&sim);
    let m = report_of(&sim, "vm1");
    (sim, m)
}

#[test]
fn losing_the_source_or_destination_fails_the_migration_and_the_vm_stays_on_the_source() {
    for fault in [
        Command::PowerOff { node: "hv2".into() },
        Command::CrashClusterService { node: "hv2".into() },
        Command::CrashClusterService { node: "hv1".into() },
        Command::CutNetworks { node: "hv1".into() },
        Command::PowerOff { node: "hv1".into() },
    ] {
        let (_sim, m) = fault_in_flight(2, "SMB", "None", fault.clone());
        println!("{fault:?}: {:?} {:?}", m.outcome, m.reason);
        assert_eq!(m.outcome, Some(Outcome::Failed), "{fault:?}");
        assert!(m.bytes < 64 * 1024 * 1024 * 1024);
    }
}

#[test]
fn a_pulled_nic_fails_a_single_tcp_connection() {
    let (sim, m) = fault_in_flight(
        1,
        "TCPIP",
        "None",
        Command::PullNic {
            node: "hv2".into(),
            nic: "nic1".into(),
        },
    );
    assert_eq!(m.outcome, Some(Outcome::Failed));
    assert!(m.reason.unwrap().contains("NIC went down"));
    assert_eq!(sim.snapshot().vms[0].host, "hv1");
}

#[test]
fn smb_multichannel_continues_on_the_remaining_nic_at_a_lower_rate() {
    let (sim, m) = fault_in_flight(
        2,
        "SMB",
        "None",
        Command::PullNic {
            node: "hv1".into(),
            nic: "nic2".into(),
        },
    );
    assert_eq!(m.outcome, Some(Outcome::Completed));
    let rates: Vec<f64> = m.rate_gbps.iter().map(|r| r.1).collect();
    println!("rates {rates:?}");
    assert!(
        rates[0] > 18.0 && rates.iter().any(|&r| (9.0..10.0).contains(&r)),
        "{rates:?}"
    );
    assert_eq!(sim.snapshot().vms[0].host, "hv2");
}

#[test]
fn a_team_rehashes_onto_its_surviving_members() {
    for nic in ["nic1", "nic2"] {
        let (sim, m) = fault_in_flight(
            2,
            "TCPIP",
            "Lacp",
            Command::PullNic {
                node: "hv2".into(),
                nic: nic.into(),
            },
        );
        assert_eq!(m.outcome, Some(Outcome::Completed), "{nic}: {:?}", m.reason);
        assert_eq!(sim.snapshot().vms[0].host, "hv2");
    }
}

#[test]
fn seed_lab_migrates_its_vms_with_millisecond_pauses() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/scenarios/seed-lab.toml"
    );
    let s = Scenario::load(std::path::Path::new(path)).unwrap();
    let until = SimTime::ZERO + s.spec.until;
    let mut sim = Simulation::new(s, 1);
    sim.advance_to(until);
    let r = Report::from_simulation(&sim);
    assert_eq!(r.migrations.len(), 4);
    for m in &r.migrations {
        println!(
            "{}: {:?} ms, {} passes, {}",
            m.vm, m.downtime_ms, m.iterations, m.path
        );
        assert_eq!(m.outcome, Some(Outcome::Completed));
        let pause = m.downtime_ms.unwrap();
        assert!((1.0..100.0).contains(&pause), "{pause} ms");
        assert!(m.path.starts_with("SMB Direct"));
    }
    assert!(r.vms.0.iter().all(|(_, v)| v.host == "hv2"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn random_migrations_never_lose_a_vm(
        seed in any::<u64>(),
        option in prop_oneof![Just("TCPIP"), Just("SMB"), Just("Compression")],
        nics in 1usize..3,
        dirty in prop_oneof![Just("0"), Just("20MiB/s"), Just("300MiB/s"), Just("3GiB/s")],
        faults in prop::collection::vec((1u64..60, 0usize..6), 0..4),
    ) {
        let s = lab(nics, option, "None", &[("a", "8GiB", dirty, "2GiB"), ("b", "4GiB", "0", "1GiB"), ("c", "12GiB", dirty, "4GiB")], "");
        let max_passes = s.spec.migration.max_passes;
        let mut sim = Simulation::new(s, seed);
        migrate(&mut sim, "a", "hv2");
        migrate(&mut sim, "b", "hv3");
        migrate(&mut sim, "c", "hv2");
        let mut t = 0;
        for (dt, f) in &faults {
            t += dt;
            sim.advance_to(SimTime::from_secs(t));
            let cmd = match f {
                0 => Command::PullNic { node: "hv2".into(), nic: "nic1".into() },
                1 => Command::PlugNic { node: "hv2".into(), nic: "nic1".into() },
                2 => Command::CrashClusterService { node: "hv3".into() },
                3 => Command::PowerOff { node: "hv2".into() },
                4 => Command::CutNetworks { node: "hv1".into() },
                _ => Command::HealNetworks { node: "hv1".into() },
            };
            let _ = sim.apply(cmd);
            assert_every_vm_in_one_place(&sim);
        }
        sim.advance_to(SimTime::from_secs(t + 3600));
        assert_every_vm_in_one_place(&sim);
        let r = Report::from_simulation(&sim);
        for m in &r.migrations {
            prop_assert!(m.iterations <= max_passes);
            if m.outcome == Some(Outcome::Completed) {
                prop_assert!(m.bytes >= m.total_bytes, "{} sent {} of {}", m.vm, m.bytes, m.total_bytes);
            }
            prop_assert!(m.outcome.is_some(), "{} never finished: {}", m.vm, m.phase);
        }
    }
}
