//! `lmlab check`'s rules on labs written for them: each finds what it is for, and passes otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lmlab_engine::Scenario;
use lmlab_engine::check::{Verdict, check};

/// Two hosts on one switch; `host_a`/`nic_a`/`extra` are spliced in.
fn lab(pfc: bool, host_a: &str, nic_a: &str, extra: &str) -> Scenario {
    let text = format!(
        r#"format_version = 1
name = "t"
[migration]
performance_option = "SMB"
[[switches]]
name = "sw"
dcb_pfc = {pfc}
lacp = true
[[storage]]
name = "csv"
kind = "CSV"
[[hosts]]
name = "a"
sockets = 1
cores_per_socket = 4
clock_ghz = 3.0
memory = "16GiB"
{host_a}
  [[hosts.nics]]
  name = "n1"
  speed = "10Gbps"
  switch = "sw"
  {nic_a}
  [[hosts.nics]]
  name = "n2"
  speed = "10Gbps"
  switch = "sw"
[[hosts]]
name = "b"
sockets = 1
cores_per_socket = 4
clock_ghz = 3.0
memory = "16GiB"
  [[hosts.nics]]
  name = "n1"
  speed = "10Gbps"
  switch = "sw"
[[vms]]
name = "vm1"
host = "a"
memory = "12GiB"
storage = "csv"
{extra}"#
    );
    Scenario::from_toml(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn verdict(s: &Scenario, rule: &str) -> Vec<(Verdict, String)> {
    check(&s.spec, None)
        .into_iter()
        .filter(|f| f.rule == rule)
        .map(|f| (f.verdict, f.subject))
        .collect()
}

#[test]
fn an_rdma_nic_in_an_lbfo_team_fails_and_in_set_passes() {
    let lbfo = lab(true, "teaming = { mode = \"Lacp\" }", "rdma = \"RoCE\"", "");
    assert_eq!(
        verdict(&lbfo, "RDMA NIC in an LBFO team"),
        [(Verdict::Fail, "a n1".to_string())]
    );
    let set = lab(true, "teaming = { mode = \"SET\" }", "rdma = \"RoCE\"", "");
    assert_eq!(
        verdict(&set, "RDMA NIC in an LBFO team")[0].0,
        Verdict::Pass
    );
}

#[test]
fn roce_without_pfc_fails() {
    let s = lab(false, "", "rdma = \"RoCE\"", "");
    assert_eq!(
        verdict(&s, "RoCE without PFC"),
        [(Verdict::Fail, "a n1".to_string())]
    );
    let s = lab(true, "", "rdma = \"RoCE\"", "");
    assert_eq!(verdict(&s, "RoCE without PFC")[0].0, Verdict::Pass);
}

#[test]
fn an_mtu_mismatch_and_mixed_speeds_and_smb_without_rss_warn() {
    let s = lab(true, "", "mtu = 9000", "");
    assert_eq!(verdict(&s, "MTU mismatch on a path")[0].0, Verdict::Warn);
    let mixed = Scenario::from_toml(
        &lab(true, "", "", "").to_toml().unwrap().replacen(
            "speed = \"10Gbps\"",
            "speed = \"25Gbps\"",
            1,
        ),
        "m.toml",
    )
    .unwrap();
    assert_eq!(
        verdict(&mixed, "Mixed speeds under SMB Multichannel"),
        [(Verdict::Warn, "a".to_string())]
    );
    let s = lab(true, "", "rss = \"Disabled\"", "");
    assert_eq!(
        verdict(&s, "SMB without RSS"),
        [(Verdict::Warn, "a n1".to_string())]
    );
    assert_eq!(
        verdict(&lab(true, "", "", ""), "SMB without RSS")[0].0,
        Verdict::Pass
    );
}

#[test]
fn a_migration_to_a_host_without_room_fails_and_an_old_vm_warns() {
    let s = lab(
        true,
        "",
        "",
        "[[vms]]\nname = \"big\"\nhost = \"b\"\nmemory = \"8GiB\"\nstorage = \"csv\"\nconfig_version = \"5.0\"\n[[script]]\nat = \"10s\"\naction = \"migrate\"\nvm = \"vm1\"\nto = \"b\"",
    );
    assert_eq!(
        verdict(&s, "Memory on the target"),
        [
            (Verdict::Fail, "vm1".to_string()),
            (Verdict::Warn, "a".to_string()),
            (Verdict::Warn, "b".to_string())
        ]
    );
    assert_eq!(
        verdict(&s, "VM configuration version below the isolation threshold"),
        [(Verdict::Warn, "big".to_string())]
    );
}

#[test]
fn the_backup_night_check_fails_the_old_guests_integration_services_and_other_labs_have_no_such_rule()
 {
    let text = include_str!("../../assets/scenarios/backup-night.toml");
    let spec = Scenario::from_toml(text, "backup-night.toml").unwrap().spec;
    let f = check(&spec, None);
    let is: Vec<_> = f
        .iter()
        .filter(|x| x.rule == "Integration Services up to date")
        .collect();
    assert_eq!(is.len(), 2, "{is:?}");
    assert!(is.iter().all(|x| x.verdict == Verdict::Fail));
    assert!(is[0].reason.contains("Protocol Mismatch"));
    assert!(
        f.iter()
            .any(|x| x.rule == "VM-based backup set on its host" && x.verdict == Verdict::Pass)
    );
    let seed = include_str!("../../assets/scenarios/seed-lab.toml");
    let spec = Scenario::from_toml(seed, "seed-lab.toml").unwrap().spec;
    assert!(
        check(&spec, None)
            .iter()
            .all(|x| !x.rule.contains("Integration Services"))
    );
}
