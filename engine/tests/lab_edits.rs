//! Lab edits (`ScenarioSpec::edited`): the cascade rules the canvas and inspector rely on.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lmlab_engine::scenario::{Edit, EditError, Scenario, ScenarioSpec, Thing};

fn seed() -> ScenarioSpec {
    Scenario::from_toml(
        include_str!("../../assets/scenarios/seed-lab.toml"),
        "seed-lab.toml",
    )
    .unwrap()
    .spec
}

fn valid(spec: ScenarioSpec) -> ScenarioSpec {
    Scenario::from_spec(spec.clone()).unwrap_or_else(|e| panic!("invalid after the edit: {e}"));
    spec
}

#[test]
fn removing_a_host_removes_its_vms_script_lines_and_configurations() {
    let s = seed();
    assert!(!s.script.is_empty() && !s.configurations.is_empty());
    let e = valid(s.edited(&Edit::Remove(Thing::Host("hv1".into()))).unwrap());
    assert!(e.hosts.iter().all(|h| h.name != "hv1"));
    assert!(e.vms.is_empty(), "hv1's VMs go with it");
    assert!(e.script.is_empty(), "the script migrated hv1's VMs");
    assert!(
        e.configurations.is_empty(),
        "every configuration migrates from hv1"
    );
}

#[test]
fn removing_a_vm_removes_only_what_names_it() {
    let s = seed();
    let e = valid(s.edited(&Edit::Remove(Thing::Vm("vm1".into()))).unwrap());
    assert_eq!(e.vms.len(), s.vms.len() - 1);
    assert_eq!(e.script.len(), s.script.len() - 1);
    assert!(e.script.iter().all(|l| l.vm.as_deref() != Some("vm1")));
}

#[test]
fn removing_a_switch_uncables_its_nics_and_resets_teams_left_with_no_cable() {
    let s = seed();
    let e = s
        .edited(&Edit::Remove(Thing::Switch("sw1".into())))
        .unwrap();
    assert!(e.switches.is_empty());
    for h in &e.hosts {
        assert!(h.nics.iter().all(|n| n.switch.is_none()));
        assert_eq!(h.teaming, Default::default());
    }
}

#[test]
fn renaming_follows_every_reference() {
    let s = seed();
    let e = valid(
        s.edited(&Edit::Rename {
            thing: Thing::Host("hv2".into()),
            to: "dest".into(),
        })
        .unwrap(),
    );
    assert!(e.script.iter().all(|l| l.to.as_deref() == Some("dest")));
    let e = valid(
        e.edited(&Edit::Rename {
            thing: Thing::Host("hv1".into()),
            to: "src".into(),
        })
        .unwrap(),
    );
    assert!(e.vms.iter().all(|v| v.host == "src"));
    let e = valid(
        e.edited(&Edit::Rename {
            thing: Thing::Switch("sw1".into()),
            to: "tor".into(),
        })
        .unwrap(),
    );
    assert!(
        e.hosts
            .iter()
            .flat_map(|h| &h.nics)
            .all(|n| n.switch.as_deref() == Some("tor"))
    );
    let e = valid(
        e.edited(&Edit::Rename {
            thing: Thing::Storage("sofs".into()),
            to: "share".into(),
        })
        .unwrap(),
    );
    assert!(e.vms.iter().all(|v| v.storage == "share"));
    let e = valid(
        e.edited(&Edit::Rename {
            thing: Thing::Vm("vm1".into()),
            to: "sql1".into(),
        })
        .unwrap(),
    );
    assert!(e.script.iter().any(|l| l.vm.as_deref() == Some("sql1")));
    // A name in use is refused.
    assert_eq!(
        e.edited(&Edit::Rename {
            thing: Thing::Vm("vm2".into()),
            to: "sql1".into(),
        }),
        Err(EditError::NameTaken("sql1".into()))
    );
}

#[test]
fn cabling_disks_and_properties_change_one_thing_and_unknown_names_are_refused() {
    let s = seed();
    let e = s
        .edited(&Edit::Cable {
            host: "hv2".into(),
            nic: "nic2".into(),
            switch: None,
        })
        .unwrap();
    assert_eq!(e.hosts[1].nics[1].switch, None);
    assert_eq!(e.hosts[0], s.hosts[0]);
    let mut vm = s.vms[0].clone();
    vm.memory = lmlab_engine::units::Bytes::gib(3);
    let e = s.edited(&Edit::SetVm(Box::new(vm.clone()))).unwrap();
    assert_eq!(e.vms[0], vm);
    assert_eq!(e.vms[1..], s.vms[1..]);
    assert_eq!(
        s.edited(&Edit::MoveDisks {
            vm: "vm1".into(),
            storage: "nowhere".into()
        }),
        Err(EditError::Unknown(Thing::Storage("nowhere".into())))
    );
    assert_eq!(
        s.edited(&Edit::Remove(Thing::Host("nope".into()))),
        Err(EditError::Unknown(Thing::Host("nope".into())))
    );
    assert!(matches!(
        s.edited(&Edit::AddSwitch(s.switches[0].clone())),
        Err(EditError::NameTaken(_))
    ));
    // An edit that breaks a rule applies, and validation refuses it with the field's path.
    let mut big = s.vms[0].clone();
    big.memory = lmlab_engine::units::Bytes::gib(100_000);
    let e = s.edited(&Edit::SetVm(Box::new(big))).unwrap();
    let err = Scenario::from_spec(e).unwrap_err();
    assert!(err.to_string().contains("need 100048GiB"), "{err}");
}

fn backup_night() -> ScenarioSpec {
    Scenario::from_toml(
        include_str!("../../assets/scenarios/backup-night.toml"),
        "backup-night.toml",
    )
    .unwrap()
    .spec
}

#[test]
fn renames_follow_into_backup_sets_and_removals_drop_what_is_left_empty() {
    let s = backup_night();
    let e = valid(
        s.edited(&Edit::Rename {
            thing: Thing::Vm("vm-sql-1".into()),
            to: "vm-sql-9".into(),
        })
        .unwrap(),
    );
    assert!(e.backup_sets[0].vms.contains(&"vm-sql-9".to_string()));
    let e = valid(
        s.edited(&Edit::Rename {
            thing: Thing::Host("node3".into()),
            to: "node9".into(),
        })
        .unwrap(),
    );
    assert_eq!(e.backup_sets[1].host, "node9");
    let e = valid(
        s.edited(&Edit::Rename {
            thing: Thing::Storage("csv1".into()),
            to: "csv9".into(),
        })
        .unwrap(),
    );
    assert_eq!(e.backup_sets[1].volumes, ["csv9"]);
    // node2 goes with its VMs: its legacy set goes too, and so does the set defined on node1
    // once node1 is removed; the volume-based set over csv1 stays while csv1 does.
    let e = valid(
        s.edited(&Edit::Remove(Thing::Host("node2".into())))
            .unwrap(),
    );
    let names: Vec<&str> = e.backup_sets.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["rm-node1", "rm-csv1"]);
    let e = valid(
        e.edited(&Edit::Remove(Thing::Host("node1".into())))
            .unwrap(),
    );
    let names: Vec<&str> = e.backup_sets.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["rm-csv1"]);
    let e = valid(
        e.edited(&Edit::Remove(Thing::Storage("csv1".into())))
            .unwrap(),
    );
    assert!(e.backup_sets.is_empty());
}
