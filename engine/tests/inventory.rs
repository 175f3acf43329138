//! Importing a cluster inventory (`lmlab.inventory/1`): the fixtures of `tests/fixtures/` (the
//! 2-node one is `your-cluster.md` §9 verbatim; the others come from `make-inventories.py`) import
//! into labs that load, run and compare, with live migration on the network Windows would use.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lmlab_engine::compare::compare;
use lmlab_engine::inventory::{self, Imported};
use lmlab_engine::scenario::{RdmaKind, RssMode, TeamingMode};
use lmlab_engine::{Scenario, SimTime, Simulation};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
}

fn import_bytes(bytes: &[u8], file: &str) -> Result<Imported, String> {
    let v = inventory::parse(bytes, file).map_err(|e| e.to_string())?;
    inventory::import(&v, file).map_err(|e| e.to_string())
}

fn import(name: &str) -> (Imported, Scenario) {
    let v = inventory::load(&fixture(name)).unwrap();
    let imported = inventory::import(&v, name).unwrap();
    let lab = Scenario::from_toml(&imported.toml, "imported.toml")
        .unwrap_or_else(|e| panic!("{e}\n{}", imported.toml));
    (imported, lab)
}

/// The fixture's JSON with `edit` applied.
fn edited(name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap();
    edit(&mut v);
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn the_two_node_inventory_becomes_a_lab_with_its_rdma_nics_rss_and_roles() {
    let (imp, lab) = import("inventory-2node.json");
    let s = &lab.spec;
    assert_eq!(s.name, "hvc01");
    assert_eq!(s.hosts.len(), 2);
    for h in &s.hosts {
        assert_eq!((h.sockets, h.cores_per_socket, h.smt), (2, 8, true));
        assert_eq!(h.memory.0, 256 << 30);
        // Live migration runs on the two SMB networks: only their NICs are in the lab.
        let nics: Vec<&str> = h.nics.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(nics, ["SMB1", "SMB2"], "{}", h.name);
        assert!(
            h.nics
                .iter()
                .all(|n| n.rdma == RdmaKind::RoCE && n.mtu == 9000)
        );
        assert_eq!(h.teaming.mode, TeamingMode::None);
    }
    // hv1 was tuned (SMB2 from processor 16 on NUMA node 1); hv2 keeps the inbox default.
    let hv1 = &s.hosts[0];
    assert_eq!(hv1.nics[1].rss, RssMode::Tuned);
    assert_eq!(
        (
            hv1.nics[1].rss_tuned.base_core,
            hv1.nics[1].rss_tuned.numa_node
        ),
        (8, 1)
    );
    assert!(s.hosts[1].nics.iter().all(|n| n.rss == RssMode::Default));
    // hv2 has no PFC, so the lab's switches have none, and the warning says so.
    assert!(s.switches.iter().all(|sw| !sw.dcb_pfc));
    assert!(
        imp.warnings
            .iter()
            .any(|w| w.contains("PFC") && w.contains("hv2")),
        "{:?}",
        imp.warnings
    );
    // What cannot be modelled is at the top of the file.
    assert!(
        imp.toml
            .contains("hv1: SMB bandwidth limit for live migration = 2.94 Gbit/s")
    );
    assert_eq!(
        s.migration
            .with(&hv1.migration)
            .smb_bandwidth_limit
            .map(|l| l.0),
        Some(367_001_600.0)
    );
    // Roles: sql01 High on the cluster's period; app02 Low with its own 600 s, config 5.0.
    let vm = |n: &str| s.vms.iter().find(|v| v.name == n).unwrap();
    assert_eq!(format!("{:?}", vm("sql01").priority), "High");
    assert_eq!(
        format!("{:?}", vm("sql01").resiliency_period),
        "ClusterDefault"
    );
    assert_eq!(vm("app02").config_version, "5.0");
    assert!(format!("{:?}", vm("app02").resiliency_period).contains("600"));
    assert_eq!(
        s.cluster.witness,
        lmlab_engine::scenario::Witness::FileShare
    );
    let d = &imp.decisions;
    assert!(d.iter().any(|x| x.subject == "hv1"
        && x.value == "'Cluster Network 2', 'Cluster Network 3'"
        && x.rule.contains("Get-VMMigrationNetwork")));
}

#[test]
fn an_imported_lab_runs_its_first_migration_and_compares_the_performance_options() {
    let (_, lab) = import("inventory-2node.json");
    let mut sim = Simulation::new(lab.clone(), 1);
    sim.advance_to(SimTime::from_secs(120));
    let m = &sim.migrations()[0];
    assert_eq!(sim.scenario().spec.vms[m.vm].name, "sql01");
    let r = lmlab_engine::report::MigrationReport::of(&sim, m);
    assert_eq!(format!("{:?}", r.outcome), "Some(Completed)");
    assert!(r.path.contains("SMB Direct"), "{}", r.path);
    let c = compare(&lab, 1);
    let ids: Vec<&str> = c.rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["as-imported", "smb-no-rdma", "tcpip", "compression"]);
    // Two 10 GbE RDMA NICs would carry about 20 Gbit/s; the SMB bandwidth limit for live
    // migration (367,001,600 B/s = 2.94 Gbit/s) holds SMB Direct and SMB over TCP to it, not
    // TCP/IP or compression (not SMB).
    for row in &c.rows[..2] {
        assert!(
            (2.85..=2.94).contains(&row.throughput_gbps),
            "{}: {}",
            row.id,
            row.throughput_gbps
        );
        assert!(row.path.contains("SMB bandwidth limit"), "{}", row.path);
    }
    assert!(c.rows[2].throughput_gbps > 3.0 && c.rows[2].throughput_gbps < 10.0);
    // Without the limit, SMB Direct takes both links.
    let mut free = lab.clone();
    for h in &mut free.spec.hosts {
        h.migration.smb_bandwidth_limit = None;
    }
    let c = compare(&free, 1);
    assert!(
        (18.0..=20.0).contains(&c.rows[0].throughput_gbps),
        "{}",
        c.rows[0].throughput_gbps
    );
}

#[test]
fn a_hyperconverged_set_team_with_rdma_keeps_smb_direct_on_both_host_vnics() {
    let (imp, lab) = import("inventory-4node-hci.json");
    assert_eq!(lab.spec.hosts.len(), 4);
    let h = &lab.spec.hosts[0];
    assert_eq!(h.teaming.mode, TeamingMode::Set);
    assert_eq!(h.teaming.host_vnics, Some(2));
    assert_eq!(h.teaming.members, ["pNIC1", "pNIC2"]);
    assert!(lab.spec.switches.iter().all(|sw| sw.dcb_pfc));
    assert_eq!(
        lab.spec.cluster.witness,
        lmlab_engine::scenario::Witness::Cloud
    );
    let c = compare(&lab, 1);
    assert!(c.rows[0].path.contains("SMB Direct"), "{}", c.rows[0].path);
    assert!(
        (38.0..=50.0).contains(&c.rows[0].throughput_gbps),
        "{}",
        c.rows[0].throughput_gbps
    );
    assert!(!imp.warnings.iter().any(|w| w.contains("PFC")));
}

#[test]
fn excluded_migration_networks_send_live_migration_to_the_1_gbe_management_team() {
    let (imp, lab) = import("inventory-8node-lbfo.json");
    assert_eq!(lab.spec.hosts.len(), 8);
    let h = &lab.spec.hosts[0];
    assert_eq!(h.teaming.mode, TeamingMode::SwitchIndependent);
    let nics: Vec<&str> = h.nics.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(nics, ["Mgmt1", "Mgmt2"]);
    let d = imp.decisions.iter().find(|x| x.subject == "node1").unwrap();
    assert_eq!(d.value, "'Management'");
    assert!(
        d.rule
            .contains("'LM' is excluded by MigrationExcludeNetworks"),
        "{}",
        d.rule
    );
    let c = compare(&lab, 1);
    let g = c.rows[0].throughput_gbps;
    assert!((0.8..=1.0).contains(&g), "about 1 Gbit/s, got {g}");
}

#[test]
fn with_no_migration_network_left_the_node_falls_back_to_the_management_network() {
    // hv1 accepts only 10.99.0.0/24, which no cluster network has.
    let bytes = edited("inventory-2node.json", |v| {
        v["hosts"]["hv1"]["migration_networks"] = serde_json::json!([{"Subnet": "10.99.0.0/24"}]);
    });
    let imp = import_bytes(&bytes, "edited.json").unwrap();
    let d = imp.decisions.iter().find(|x| x.subject == "hv1").unwrap();
    assert_eq!(d.value, "'Cluster Network 1' (management)");
    assert!(
        d.rule.contains("falls back to the management network"),
        "{}",
        d.rule
    );
    let lab = Scenario::from_toml(&imp.toml, "edited.toml").unwrap();
    // Management is a host vNIC on the SET team of NIC1 and NIC2.
    let hv1 = &lab.spec.hosts[0];
    assert_eq!(hv1.teaming.mode, TeamingMode::Set);
    assert_eq!(hv1.teaming.members, ["NIC1", "NIC2"]);
}

#[test]
fn an_inventory_redirected_by_powershell_in_utf16_imports_the_same() {
    let text = std::fs::read_to_string(fixture("inventory-2node.json")).unwrap();
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let a = import_bytes(text.as_bytes(), "x.json").unwrap();
    let b = import_bytes(&utf16, "x.json").unwrap();
    assert_eq!(a.toml, b.toml);
}

#[test]
fn enums_as_names_or_objects_and_single_objects_import_like_numbers_and_lists() {
    let bytes = edited("inventory-2node.json", |v| {
        v["networks"][0]["Role"] = serde_json::json!("ClusterAndClient");
        v["networks"][1]["Role"] = serde_json::json!({"value": 1, "Value": "Cluster"});
        v["hosts"]["hv1"]["vmhost"]["VirtualMachineMigrationPerformanceOption"] =
            serde_json::json!("SMB");
        let first = v["csvs"][0].clone();
        v["csvs"] = first;
    });
    let a = import_bytes(&bytes, "x.json").unwrap();
    let b = import_bytes(
        &std::fs::read(fixture("inventory-2node.json")).unwrap(),
        "x.json",
    )
    .unwrap();
    assert_eq!(a.toml, b.toml);
}

#[test]
fn malformed_inventories_are_refused_naming_the_json_path() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"{}".to_vec(), "at $.schema: missing"),
        (
            b"{\"schema\":\"other/2\"}".to_vec(),
            "is not an inventory schema",
        ),
        (b"not json".to_vec(), "not JSON"),
        (
            edited("inventory-2node.json", |v| {
                v["hosts"] = serde_json::json!({})
            }),
            "at $.hosts: no nodes",
        ),
        (
            edited("inventory-2node.json", |v| {
                v["hosts"]["hv1"]["vmhost"]["MemoryCapacity"] = serde_json::json!("lots");
            }),
            "at $.hosts.hv1.vmhost.MemoryCapacity: expected a number, found text",
        ),
        (
            edited("inventory-2node.json", |v| {
                v["networks"][2]["Role"] = serde_json::json!(9)
            }),
            "at $.networks[2].Role: unknown value 9",
        ),
        (
            edited("inventory-2node.json", |v| {
                v["hosts"]["hv2"]["net_adapters"] = serde_json::json!("System.Object[]");
            }),
            "at $.hosts.hv2.net_adapters: text where a list belongs: the collector's ConvertTo-Json -Depth was too low",
        ),
        (
            edited("inventory-2node.json", |v| {
                v["hosts"]["hv1"]["migration_networks"][0]["Subnet"] = serde_json::json!("ten");
            }),
            "at $.hosts.hv1.migration_networks[0].Subnet: \"ten\" is not an IPv4 subnet",
        ),
    ];
    for (bytes, want) in cases {
        let e = import_bytes(&bytes, "bad.json").unwrap_err();
        assert!(e.starts_with("bad.json: "), "{e}");
        assert!(e.contains(want), "want {want:?} in {e}");
    }
}

#[test]
fn a_50_mb_inventory_is_refused_before_it_is_read() {
    let dir = std::env::temp_dir().join(format!("lmlab-inv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("big.json");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(50 * 1024 * 1024).unwrap();
    let e = inventory::load(&big).unwrap_err().to_string();
    assert!(e.contains("inventories are limited to"), "{e}");
    let e = inventory::load(Path::new("/dev/zero"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a regular file"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every object key of `v` (not the names of `hosts.*`, which are node names).
fn keys(v: &serde_json::Value, parent: &str, out: &mut std::collections::BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                if parent != "hosts" {
                    out.insert(k.clone());
                }
                keys(x, k, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| keys(x, parent, out)),
        _ => {}
    }
}

#[test]
fn the_collector_writes_every_field_of_the_fixtures() {
    // PowerShell cannot run here: the fixtures pin the format, and the collector must name every
    // field they hold (the importer's tests above read them).
    let script = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/collect/Get-LmlabInventory.ps1"),
    )
    .unwrap();
    assert!(script.contains("READ-ONLY") && script.contains("'lmlab.inventory/1'"));
    for f in [
        "inventory-2node.json",
        "inventory-4node-hci.json",
        "inventory-8node-lbfo.json",
    ] {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(fixture(f)).unwrap()).unwrap();
        let mut all = std::collections::BTreeSet::new();
        keys(&v, "", &mut all);
        let missing: Vec<&String> = all
            .iter()
            .filter(|k| !script.contains(k.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "{f}: the collector never writes {missing:?}"
        );
    }
    // And it only reads: no cmdlet that changes a cluster, host, VM, network or SMB setting.
    for verb in [
        "Set-Cluster",
        "Set-VM",
        "Set-Net",
        "Set-Smb",
        "New-Net",
        "New-VM",
        "New-Cluster",
        "Add-",
        "Remove-",
        "Enable-",
        "Disable-",
        "Start-",
        "Stop-",
        "Suspend-",
        "Resume-",
        "Move-",
    ] {
        assert!(!script.contains(verb), "the collector calls {verb}…");
    }
}

#[test]
fn explain_says_why_the_8_node_cluster_migrates_over_its_1_gbe_team() {
    let (imp, lab) = import("inventory-8node-lbfo.json");
    let all: Vec<_> = imp
        .decisions
        .iter()
        .cloned()
        .chain(lmlab_engine::explain::explain(&lab, 1))
        .collect();
    let find = |subject: &str, what: &str| {
        all.iter()
            .find(|d| d.subject == subject && d.what == what)
            .unwrap_or_else(|| panic!("no {subject}: {what} in {all:#?}"))
    };
    assert!(
        find("node1", "live-migration networks")
            .rule
            .contains("'LM' is excluded")
    );
    assert_eq!(find("node1", "performance option").value, "TCPIP");
    let path = find("node1", "live-migration path to node2");
    assert!(path.value.contains("team Mgmt1+Mgmt2"), "{}", path.value);
    assert!(path.rule.contains("0.9 Gbit/s"), "{}", path.rule);
    // A level-8 cluster has no VM Compute Resiliency, and explain says why.
    let mut old = lab.clone();
    old.spec.cluster.functional_level = 8;
    let e = lmlab_engine::explain::explain(&old, 1);
    let r = e
        .iter()
        .find(|d| d.what == "VM Compute Resiliency")
        .unwrap();
    assert_eq!(r.value, "off");
    assert!(r.rule.contains("functional level 8"), "{}", r.rule);
    // RDMA in an LBFO team is lost, and said so.
    let hci = import("inventory-4node-hci.json").1;
    let e = lmlab_engine::explain::explain(&hci, 1);
    let r = e
        .iter()
        .find(|d| d.subject == "hci1" && d.what == "RDMA on pNIC1")
        .unwrap();
    assert_eq!(r.value, "usable");
}
