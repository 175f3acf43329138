//! Backups (Replay Manager, VSS) and Integration Services (backup-and-is.md): the IS upgrade and
//! its 1603, the seed's repair, backup sets and their jobs, the VSS lock, retries, the queue,
//! retention, and the interplay with live migration, drains and outdated guests.

// Tests fail by panicking; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lmlab_engine::report::{Report, backup_jobs_csv};
use lmlab_engine::sim::{IsActivity, IsStatus, JobOutcome, VmBackup};
use lmlab_engine::{Command, Scenario, SimDuration, SimTime, Simulation};

const SEED: u64 = 1;

/// Three nodes, one 10 GbE NIC each, two CSVs; node1 runs vm-a (csv1) and vm-old (csv2, 6.2
/// Integration Services), node2 runs vm-b (csv1). `sections` go before the hosts (settings and
/// backup sets).
fn lab(sections: &str) -> Scenario {
    let t = lab_text(sections);
    Scenario::from_toml(&t, "lab.toml").unwrap_or_else(|e| panic!("{e}\n{t}"))
}

fn lab_text(sections: &str) -> String {
    let mut t = format!(
        "format_version = 1\nname = \"backup lab\"\nseed = 1\nuntil = \"2h\"\n\n[cluster]\nname = \"c\"\n\
         resiliency_default_period = \"60s\"\n\n[migration]\nperformance_option = \"SMB\"\n\n\
         {sections}\n\n[[switches]]\nname = \"sw1\"\n\n[[storage]]\nname = \"csv1\"\nkind = \"CSV\"\n\n\
         [[storage]]\nname = \"csv2\"\nkind = \"CSV\"\n\n[[storage]]\nname = \"sofs\"\nkind = \"SMB3\"\n"
    );
    for n in 1..=3 {
        t.push_str(&format!(
            "\n[[hosts]]\nname = \"node{n}\"\nsockets = 1\ncores_per_socket = 8\nclock_ghz = 2.6\n\
             memory = \"64GiB\"\n  [[hosts.nics]]\n  name = \"nic1\"\n  speed = \"10Gbps\"\n  \
             switch = \"sw1\"\n"
        ));
    }
    for (name, host, storage, extra) in [
        (
            "vm-a",
            "node1",
            "csv1",
            "guest_os = \"Windows Server 2012 R2\"",
        ),
        (
            "vm-old",
            "node1",
            "csv2",
            "guest_os = \"Windows Server 2003 R2 SP2 x64\"\nintegration_services = \"6.2.9200.16433\"",
        ),
        ("vm-b", "node2", "csv1", ""),
    ] {
        t.push_str(&format!(
            "\n[[vms]]\nname = \"{name}\"\nhost = \"{host}\"\nmemory = \"4GiB\"\nstorage = \"{storage}\"\n{extra}\n"
        ));
    }
    t
}

fn sim(sections: &str) -> Simulation {
    println!("seed {SEED}");
    Simulation::new(lab(sections), SEED)
}

fn secs(s: f64) -> SimTime {
    SimTime::from_micros((s * 1e6) as u64)
}

fn at(sim: &mut Simulation, s: f64, cmd: Command) {
    sim.advance_to(secs(s));
    sim.apply(cmd).unwrap_or_else(|e| panic!("{e}"));
}

fn vm_index(sim: &Simulation, name: &str) -> usize {
    sim.scenario()
        .spec
        .vms
        .iter()
        .position(|v| v.name == name)
        .unwrap()
}

fn vss_primary(sim: &Simulation, vm: &str) -> (Option<IsStatus>, Option<IsStatus>) {
    let st = sim.integration_status(vm_index(sim, vm)).unwrap();
    let c = st.components.iter().find(|c| c.name == "VSS").unwrap();
    (c.primary, c.secondary)
}

fn heartbeat(sim: &Simulation, vm: &str) -> Option<IsStatus> {
    let st = sim.integration_status(vm_index(sim, vm)).unwrap();
    st.components
        .iter()
        .find(|c| c.name == "Heartbeat")
        .unwrap()
        .primary
}

fn outcomes(sim: &Simulation) -> Vec<(String, u32, Option<JobOutcome>)> {
    sim.backup_jobs()
        .iter()
        .map(|j| {
            (
                sim.scenario().spec.backup_sets[j.set].name.clone(),
                j.attempt,
                j.outcome,
            )
        })
        .collect()
}

fn log_has(sim: &Simulation, text: &str) -> bool {
    sim.events().iter().any(|e| e.detail.contains(text))
}

const VM_SET_NODE1: &str = "[[backup_sets]]\nname = \"set-a\"\nkind = \"vm\"\nhost = \"node1\"\nvms = [\"vm-a\"]\nschedule = { start = \"2h\" }\n";

fn upgrade(vm: &str) -> Command {
    Command::UpgradeIntegrationServices { vm: vm.into() }
}

#[test]
fn get_vmintegrationservice_shows_protocol_mismatch_on_an_old_guest_and_ok_on_a_current_one() {
    let s = sim("");
    let old = s.integration_status(vm_index(&s, "vm-old")).unwrap();
    assert_eq!(old.state, "Update required");
    assert_eq!(old.version.as_deref(), Some("6.2.9200.16433"));
    assert_eq!(old.host_version, "6.3.9600.16384");
    assert_eq!(old.components.len(), 6);
    let gsi = &old.components[0];
    assert_eq!((gsi.name, gsi.enabled), ("Guest Service Interface", false));
    assert_eq!(
        vss_primary(&s, "vm-old"),
        (Some(IsStatus::Ok), Some(IsStatus::ProtocolMismatch))
    );
    assert_eq!(IsStatus::ProtocolMismatch.code(), 32775);
    let cur = s.integration_status(vm_index(&s, "vm-a")).unwrap();
    assert_eq!(cur.state, "Up to date");
    let hb = cur
        .components
        .iter()
        .find(|c| c.name == "Heartbeat")
        .unwrap();
    assert_eq!(
        (hb.primary, hb.secondary),
        (Some(IsStatus::Ok), Some(IsStatus::Ok))
    );
    assert_eq!(vss_primary(&s, "vm-a"), (Some(IsStatus::Ok), None));
}

#[test]
fn an_is_upgrade_on_an_old_guest_ends_with_error_1603_and_the_mismatch_stays() {
    let mut s = sim("[integration]\np_1603 = 1.0\n");
    at(&mut s, 10.0, upgrade("vm-old"));
    let st = s.integration_status(vm_index(&s, "vm-old")).unwrap();
    assert_eq!(st.activity, Some(IsActivity::Installing { upgrade: true }));
    s.advance_to(secs(200.0));
    let st = s.integration_status(vm_index(&s, "vm-old")).unwrap();
    assert_eq!(st.last_error, Some(1603));
    assert_eq!(st.activity, None);
    assert_eq!(st.state, "Update required");
    assert!(log_has(&s, "returned error code 1603"));
    assert_eq!(
        vss_primary(&s, "vm-old"),
        (Some(IsStatus::Ok), Some(IsStatus::ProtocolMismatch))
    );
    // Until repaired, every upgrade fails the same way.
    at(&mut s, 300.0, upgrade("vm-old"));
    s.advance_to(secs(500.0));
    let fails = s
        .events()
        .iter()
        .filter(|e| e.detail.contains("error code 1603"))
        .count();
    assert_eq!(fails, 2);
}

#[test]
fn an_upgrade_without_1603_installs_the_hosts_version_and_restarts_the_guest() {
    let mut s = sim("[integration]\np_1603 = 0.0\n");
    at(&mut s, 10.0, upgrade("vm-old"));
    s.advance_to(secs(200.0));
    assert_eq!(heartbeat(&s, "vm-old"), Some(IsStatus::NoContact));
    s.advance_to(secs(400.0));
    let st = s.integration_status(vm_index(&s, "vm-old")).unwrap();
    assert_eq!(st.state, "Up to date");
    assert_eq!(vss_primary(&s, "vm-old"), (Some(IsStatus::Ok), None));
}

#[test]
fn uninstall_reboot_reinstall_repairs_the_integration_services_as_in_the_seed() {
    let mut s = sim("[integration]\np_1603 = 1.0\n");
    at(&mut s, 10.0, upgrade("vm-old"));
    s.advance_to(secs(200.0));
    let uninstall = Command::UninstallIntegrationServices {
        vm: "vm-old".into(),
    };
    at(&mut s, 300.0, uninstall);
    // Setup is refused until the removal is finished and the guest restarted.
    s.advance_to(secs(430.0));
    let install = Command::InstallIntegrationServices {
        vm: "vm-old".into(),
    };
    assert!(s.apply(install.clone()).is_err());
    assert_eq!(heartbeat(&s, "vm-old"), Some(IsStatus::NoContact));
    assert_eq!(
        s.integration_status(vm_index(&s, "vm-old"))
            .unwrap()
            .version,
        None
    );
    at(
        &mut s,
        440.0,
        Command::RebootGuest {
            vm: "vm-old".into(),
        },
    );
    s.advance_to(secs(570.0));
    at(&mut s, 570.0, install);
    s.advance_to(secs(1000.0));
    let st = s.integration_status(vm_index(&s, "vm-old")).unwrap();
    assert_eq!(st.state, "Up to date", "{st:?}");
    assert!(
        st.components
            .iter()
            .all(|c| c.primary == Some(IsStatus::Ok))
    );
    assert_eq!(st.last_error, None);
}

#[test]
fn the_heartbeat_is_no_contact_while_the_guest_reboots_and_ok_after() {
    let mut s = sim("");
    at(&mut s, 10.0, Command::RebootGuest { vm: "vm-a".into() });
    s.advance_to(secs(60.0));
    assert_eq!(heartbeat(&s, "vm-a"), Some(IsStatus::NoContact));
    assert!(log_has(&s, "Heartbeat: No Contact"));
    s.advance_to(secs(200.0));
    assert_eq!(heartbeat(&s, "vm-a"), Some(IsStatus::Ok));
}

#[test]
fn a_vm_based_set_backs_its_vms_up_online_and_makes_a_restore_point() {
    let mut s = sim(VM_SET_NODE1);
    s.advance_to(secs(7300.0));
    assert_eq!(
        outcomes(&s),
        vec![("set-a".into(), 1, Some(JobOutcome::Succeeded))]
    );
    let j = &s.backup_jobs()[0];
    assert_eq!(j.vms, vec![(vm_index(&s, "vm-a"), VmBackup::Online)]);
    assert_eq!(s.restore_points().len(), 1);
    assert_eq!(s.restore_points()[0].replays, 1);
    assert!(log_has(&s, "Backup State: Successful"));
}

#[test]
fn a_third_party_vss_requester_at_0200_fails_the_job_and_the_retry_saves_it() {
    let mut s = sim(VM_SET_NODE1);
    let tp = Command::ThirdPartyBackup {
        node: "node1".into(),
        duration: SimDuration::from_secs(300),
    };
    at(&mut s, 7190.0, tp);
    s.advance_to(secs(7200.0 + 700.0));
    assert_eq!(
        outcomes(&s),
        vec![
            ("set-a".into(), 1, Some(JobOutcome::Failed)),
            ("set-a".into(), 2, Some(JobOutcome::Succeeded)),
        ]
    );
    let first = &s.backup_jobs()[0];
    assert_eq!(first.code, Some(0x8004_2316));
    assert_eq!(
        first.retry_at,
        Some(secs(7205.0) + SimDuration::from_secs(600))
    );
    assert!(log_has(&s, "VSS_E_SNAPSHOT_SET_IN_PROGRESS (0x80042316)"));
    assert!(log_has(&s, "retry 1 of 3"));
}

#[test]
fn retries_stop_after_the_configured_count_and_the_job_stays_failed() {
    let sets = format!("[backup]\nretry_attempts = 2\nretry_delay = \"60s\"\n\n{VM_SET_NODE1}");
    let mut s = sim(&sets);
    let tp = Command::ThirdPartyBackup {
        node: "node1".into(),
        duration: SimDuration::from_secs(3600),
    };
    at(&mut s, 7000.0, tp);
    s.advance_to(secs(7200.0 + 600.0));
    let o = outcomes(&s);
    assert_eq!(o.len(), 3, "{o:?}");
    assert!(o.iter().all(|x| x.2 == Some(JobOutcome::Failed)));
    assert!(log_has(&s, "no retries left"));
}

#[test]
fn a_third_party_requester_that_starts_second_fails_itself() {
    let mut s = sim(VM_SET_NODE1);
    s.advance_to(secs(7207.0)); // the job is in PrepareForSnapshot
    let tp = Command::ThirdPartyBackup {
        node: "node1".into(),
        duration: SimDuration::from_secs(300),
    };
    s.apply(tp).unwrap();
    assert!(s.third_party_backups()[0].failed);
    s.advance_to(secs(7300.0));
    assert_eq!(s.backup_jobs()[0].outcome, Some(JobOutcome::Succeeded));
}

#[test]
fn a_vm_being_backed_up_cannot_be_live_migrated() {
    let mut s = sim(VM_SET_NODE1);
    s.advance_to(secs(7207.0));
    assert!(s.vm_in_backup(vm_index(&s, "vm-a")));
    let e = s
        .apply(Command::Migrate {
            vm: "vm-a".into(),
            to: "node2".into(),
        })
        .unwrap_err();
    assert!(e.to_string().contains("being backed up"), "{e}");
    s.advance_to(secs(7300.0));
    assert!(!s.vm_in_backup(vm_index(&s, "vm-a")));
    s.apply(Command::Migrate {
        vm: "vm-a".into(),
        to: "node2".into(),
    })
    .unwrap();
}

#[test]
fn a_drain_during_a_backup_fails_for_the_vm_and_its_retry_moves_it_after() {
    let mut s = sim(VM_SET_NODE1);
    s.advance_to(secs(7207.0));
    s.apply(Command::PauseNode {
        node: "node1".into(),
    })
    .unwrap();
    assert!(log_has(&s, "being backed up"));
    s.advance_to(secs(7400.0));
    let snap = s.snapshot();
    let a = snap.vms.iter().find(|v| v.name == "vm-a").unwrap();
    assert_ne!(a.host, "node1", "the drain's retry moved it");
}

#[test]
fn a_drain_moving_a_vm_off_its_vm_based_sets_host_fails_the_whole_job() {
    let mut s = sim(VM_SET_NODE1);
    at(
        &mut s,
        100.0,
        Command::PauseNode {
            node: "node1".into(),
        },
    );
    s.advance_to(secs(7300.0));
    assert_eq!(
        outcomes(&s),
        vec![("set-a".into(), 1, Some(JobOutcome::Failed))]
    );
    let j = &s.backup_jobs()[0];
    assert!(
        j.error
            .as_deref()
            .unwrap()
            .contains("was not found on node1")
    );
    assert_eq!(j.retry_at, None, "not a retryable VSS error");
}

#[test]
fn with_skip_vm_a_moved_vm_is_left_out_and_the_rest_is_backed_up() {
    let sets = "[backup]\nvm_moved = \"skip_vm\"\n\n[[backup_sets]]\nname = \"set-a\"\nkind = \"vm\"\nhost = \"node1\"\nvms = [\"vm-a\", \"vm-old\"]\nschedule = { start = \"2h\" }\n[integration]\np_1603 = 0.0\n";
    let mut s = sim(sets);
    at(
        &mut s,
        100.0,
        Command::Migrate {
            vm: "vm-a".into(),
            to: "node3".into(),
        },
    );
    s.advance_to(secs(7300.0));
    let j = &s.backup_jobs()[0];
    assert_eq!(j.outcome, Some(JobOutcome::Succeeded));
    assert!(j.vms.contains(&(vm_index(&s, "vm-a"), VmBackup::Skipped)));
}

#[test]
fn volume_based_replays_follow_the_csv_after_a_drain() {
    let sets = "[[backup_sets]]\nname = \"csv-set\"\nkind = \"volume\"\nhost = \"node3\"\nvolumes = [\"csv1\", \"csv2\"]\nschedule = { start = \"2h\" }\n[backup]\nfallback = \"crash_consistent\"\n";
    let mut s = sim(sets);
    at(
        &mut s,
        100.0,
        Command::PauseNode {
            node: "node1".into(),
        },
    );
    s.advance_to(secs(7300.0));
    let j = &s.backup_jobs()[0];
    assert_eq!(j.outcome, Some(JobOutcome::Succeeded));
    assert_eq!(j.vms.len(), 3, "every VM on the CSVs, wherever it runs");
    assert_eq!(s.restore_points()[0].replays, 2, "one replay per CSV");
}

#[test]
fn outdated_is_turn_an_online_backup_into_saved_state_crash_consistent_or_failed_by_setting() {
    let set = "[[backup_sets]]\nname = \"old\"\nkind = \"vm\"\nhost = \"node1\"\nvms = [\"vm-old\"]\nschedule = { start = \"2h\" }\n";
    let run = |fallback: &str| {
        let mut s = sim(&format!("[backup]\nfallback = \"{fallback}\"\n\n{set}"));
        s.advance_to(secs(7300.0));
        s
    };
    let s = run("crash_consistent");
    let j = &s.backup_jobs()[0];
    assert_eq!(j.outcome, Some(JobOutcome::Succeeded));
    assert_eq!(j.vms[0].1, VmBackup::CrashConsistent);

    let mut s = sim(&format!("[backup]\nfallback = \"saved_state\"\n\n{set}"));
    s.advance_to(secs(7210.0));
    let old = vm_index(&s, "vm-old");
    assert_eq!(
        s.snapshot().vms[old].state,
        lmlab_engine::sim::VmState::Saved
    );
    s.advance_to(secs(7300.0));
    assert_eq!(
        s.snapshot().vms[old].state,
        lmlab_engine::sim::VmState::Running
    );
    assert_eq!(s.backup_jobs()[0].vms[0].1, VmBackup::SavedState);
    assert_eq!(s.backup_jobs()[0].outcome, Some(JobOutcome::Succeeded));

    let s = run("fail");
    let j = &s.backup_jobs()[0];
    assert_eq!(j.outcome, Some(JobOutcome::Failed));
    assert_eq!(j.code, Some(0x8004_23F4));
    assert_eq!(j.retry_at, None);
}

#[test]
fn after_the_repair_the_old_guests_backup_goes_online() {
    let set = "[backup]\nfallback = \"fail\"\n[integration]\np_1603 = 1.0\n\n[[backup_sets]]\nname = \"old\"\nkind = \"vm\"\nhost = \"node1\"\nvms = [\"vm-old\"]\nschedule = { start = \"2h\" }\n";
    let mut s = sim(set);
    let vm = || "vm-old".to_string();
    at(
        &mut s,
        10.0,
        Command::UninstallIntegrationServices { vm: vm() },
    );
    at(&mut s, 200.0, Command::RebootGuest { vm: vm() });
    at(
        &mut s,
        400.0,
        Command::InstallIntegrationServices { vm: vm() },
    );
    s.advance_to(secs(7300.0));
    assert_eq!(s.backup_jobs()[0].outcome, Some(JobOutcome::Succeeded));
    assert_eq!(s.backup_jobs()[0].vms[0].1, VmBackup::Online);
}

#[test]
fn the_eleventh_job_is_discarded_and_a_warning_comes_above_five_queued() {
    let mut s = sim(VM_SET_NODE1);
    s.advance_to(secs(10.0));
    for _ in 0..11 {
        s.apply(Command::RunBackupSet {
            set: "set-a".into(),
        })
        .unwrap();
    }
    let o = outcomes(&s);
    assert_eq!(o[10].2, Some(JobOutcome::Discarded), "{o:?}");
    assert!(o[..10].iter().all(|x| x.2 != Some(JobOutcome::Discarded)));
    assert!(log_has(
        &s,
        "warning: 6 backup jobs are queued (more than 5)"
    ));
    assert!(log_has(&s, "accepts no more jobs"));
    s.advance_to(secs(600.0));
    let done = outcomes(&s)
        .iter()
        .filter(|x| x.2 == Some(JobOutcome::Succeeded))
        .count();
    assert_eq!(done, 10, "one job at a time, in order");
}

#[test]
fn manual_runs_are_not_retried_by_default() {
    let mut s = sim(VM_SET_NODE1);
    let tp = Command::ThirdPartyBackup {
        node: "node1".into(),
        duration: SimDuration::from_secs(300),
    };
    at(&mut s, 10.0, tp);
    at(
        &mut s,
        11.0,
        Command::RunBackupSet {
            set: "set-a".into(),
        },
    );
    s.advance_to(secs(1500.0));
    assert_eq!(
        outcomes(&s),
        vec![("set-a".into(), 1, Some(JobOutcome::Failed))]
    );
}

#[test]
fn retention_expires_a_restore_point_once_newer_ones_reach_its_count() {
    let sets = "[[backup_sets]]\nname = \"set-a\"\nkind = \"vm\"\nhost = \"node1\"\nvms = [\"vm-a\"]\nkeep_points = 2\nschedule = { start = \"10m\", every = \"10m\" }\n";
    let mut s = sim(sets);
    s.advance_to(secs(3000.0)); // runs at 10, 20, 30, 40 min
    let p = s.restore_points();
    assert_eq!(p.len(), 4);
    assert!(p[0].expired.is_some() && p[1].expired.is_some());
    assert!(p[2].expired.is_none() && p[3].expired.is_none());
}

#[test]
fn modifying_a_set_keeps_its_restore_points_with_the_retention_they_were_made_with() {
    let sets = "[[backup_sets]]\nname = \"set-a\"\nkind = \"vm\"\nhost = \"node1\"\nvms = [\"vm-a\"]\nkeep_points = 3\nschedule = { start = \"10m\", every = \"10m\" }\n";
    let mut s = sim(sets);
    s.advance_to(secs(1300.0)); // points at 10 and 20 min
    s.apply(Command::ModifyBackupSet {
        set: "set-a".into(),
        keep: 1,
    })
    .unwrap();
    assert!(log_has(&s, "its 2 restore points keep the retention"));
    s.advance_to(secs(1900.0)); // point at 30 min
    let p = s.restore_points();
    assert_eq!(p.len(), 3);
    assert_eq!(p[2].keep_points, 1);
    assert!(p.iter().all(|x| x.expired.is_none()), "old points keep 3");
    s.advance_to(secs(2500.0)); // point at 40 min: the 10-min point has 3 newer, the 30-min one 1
    let p = s.restore_points();
    assert!(p[0].expired.is_some());
    assert!(p[1].expired.is_none());
    assert!(p[2].expired.is_some());
}

#[test]
fn the_report_and_csv_carry_jobs_and_outcomes_only_when_the_lab_has_backups() {
    let mut s = sim(VM_SET_NODE1);
    s.advance_to(secs(7300.0));
    let json = Report::from_simulation(&s).to_json().unwrap();
    assert!(json.contains("\"backup_jobs\""));
    assert!(json.contains("\"restore_points\""));
    assert!(json.contains("\"integration_services\""));
    let csv = backup_jobs_csv(&s);
    assert!(csv.starts_with("set,attempt,manual,queued_s"));
    assert!(csv.contains("set-a,1,false,7200,7200,"));
    assert!(csv.contains("succeeded"));
    let plain = include_str!("../../assets/scenarios/resiliency-lab.toml");
    let mut r = Simulation::new(Scenario::from_toml(plain, "r.toml").unwrap(), 1);
    r.advance_to(secs(60.0));
    let json = Report::from_simulation(&r).to_json().unwrap();
    assert!(!json.contains("backup_jobs") && !json.contains("integration_services"));
}

#[test]
fn the_loader_refuses_a_volume_set_on_an_smb_share_and_unknown_sets_in_the_script() {
    let bad = "[[backup_sets]]\nname = \"x\"\nkind = \"volume\"\nhost = \"node1\"\nvolumes = [\"sofs\"]\n";
    let e = Scenario::from_toml(&lab_text(bad), "lab.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("volume-based sets snapshot CSVs"), "{e}");
    let text = "format_version = 1\n[[hosts]]\nname = \"h\"\nsockets = 1\ncores_per_socket = 1\nclock_ghz = 1.0\nmemory = \"1GiB\"\n[[script]]\nat = \"1s\"\naction = \"run_backup_set\"\nset = \"nope\"\n";
    let e = Scenario::from_toml(text, "s.toml").unwrap_err().to_string();
    assert!(e.contains("no backup set named `nope`"), "{e}");
}

#[test]
fn the_backup_night_preset_tells_its_story() {
    let text = include_str!("../../assets/scenarios/backup-night.toml");
    let sc = Scenario::from_toml(text, "backup-night.toml").unwrap();
    let until = SimTime::ZERO + sc.spec.until;
    let mut s = Simulation::new(sc, 1);
    println!("seed 1");
    s.advance_to(until);
    let of = |set: &str| -> Vec<(u32, Option<JobOutcome>)> {
        outcomes(&s)
            .into_iter()
            .filter(|x| x.0 == set)
            .map(|x| (x.1, x.2))
            .collect()
    };
    use JobOutcome::*;
    let node1 = of("rm-node1");
    // 1:00 ok, 2:00 collides and the retry saves it, then the VMs are gone from node1.
    assert_eq!(node1[0], (1, Some(Succeeded)));
    assert_eq!(node1[1], (1, Some(Failed)));
    assert_eq!(node1[2], (2, Some(Succeeded)));
    assert!(node1[3..].iter().all(|x| x.1 == Some(Failed)), "{node1:?}");
    assert!(of("rm-csv1").iter().all(|x| x.1 == Some(Succeeded)));
    let legacy = of("rm-legacy");
    assert_eq!(legacy.last().unwrap().1, Some(Succeeded), "{legacy:?}");
    assert!(
        legacy[..legacy.len() - 1]
            .iter()
            .all(|x| x.1 == Some(Failed))
    );
    assert!(log_has(&s, "being backed up"));
    assert!(log_has(&s, "error code 1603"));
}

mod invariants {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Whatever the third-party requesters, drains and settings: one job runs at a time,
        /// every job ends once, retries stay within the count, and no VM is left marked as
        /// being backed up.
        #[test]
        fn jobs_run_one_at_a_time_end_once_and_release_their_vms(
            seed in 0u64..1000,
            tp in proptest::collection::vec((0u64..7000, 1u64..900, 1usize..=3), 0..6),
            pause_at in proptest::option::of(0u64..7000),
            skip in any::<bool>(),
            fallback in 0usize..3,
            attempts in 0u32..4,
        ) {
            println!("seed {seed}");
            let fb = ["saved_state", "crash_consistent", "fail"][fallback];
            let vm_moved = if skip { "skip_vm" } else { "fail_job" };
            let sets = format!(
                "[backup]\nretry_attempts = {attempts}\nretry_delay = \"120s\"\nfallback = \"{fb}\"\nvm_moved = \"{vm_moved}\"\n\n\
                 [[backup_sets]]\nname = \"a\"\nkind = \"vm\"\nhost = \"node1\"\nvms = [\"vm-a\", \"vm-old\"]\nschedule = {{ start = \"10m\", every = \"15m\" }}\n\n\
                 [[backup_sets]]\nname = \"v\"\nkind = \"volume\"\nhost = \"node2\"\nvolumes = [\"csv1\", \"csv2\"]\nschedule = {{ start = \"12m\", every = \"20m\" }}\n"
            );
            let mut s = Simulation::new(lab(&sets), seed);
            let mut cmds: Vec<(u64, Command)> = tp
                .iter()
                .map(|&(at, d, n)| {
                    (at, Command::ThirdPartyBackup { node: format!("node{n}"), duration: SimDuration::from_secs(d) })
                })
                .collect();
            if let Some(at) = pause_at {
                cmds.push((at, Command::PauseNode { node: "node1".into() }));
            }
            cmds.sort_by_key(|c| c.0);
            for (at, c) in cmds {
                s.advance_to(SimTime::from_secs(at));
                let _ = s.apply(c);
            }
            s.advance_to(SimTime::from_secs(9000));
            let jobs = s.backup_jobs();
            let mut spans: Vec<(SimTime, SimTime)> = Vec::new();
            for j in jobs {
                prop_assert!(j.attempt <= attempts + 1, "{j:?}");
                if let (Some(a), Some(b)) = (j.started, j.ended) {
                    prop_assert!(a <= b);
                    spans.push((a, b));
                }
            }
            spans.sort();
            for w in spans.windows(2) {
                prop_assert!(w[0].1 <= w[1].0, "two jobs ran at once: {w:?}");
            }
            // Every job but possibly the last still running has ended.
            let open = jobs.iter().filter(|j| j.outcome.is_none()).count();
            prop_assert!(open <= 3, "{open} jobs still open");
            if open == 0 {
                for v in 0..s.scenario().spec.vms.len() {
                    prop_assert!(!s.vm_in_backup(v));
                }
            }
        }
    }
}
