//! PerfMon CSV logs (PDH-CSV 4.0): the `your-cluster.md` §10 fixture of one live migration on the
//! 2-node lab parses into UTC-stamped counters; malformed logs are refused with the line and why.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lmlab_engine::measured::{self, perfmon};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
}

fn text() -> String {
    std::fs::read_to_string(fixture("lm-hv1.csv")).unwrap()
}

#[test]
fn the_fixture_of_one_migration_parses_into_utc_stamped_counters() {
    let log = measured::load_perfmon(&fixture("lm-hv1.csv")).unwrap();
    assert_eq!(log.time_zone, "W. Europe Standard Time");
    assert_eq!(log.bias_min, -60);
    assert_eq!(log.columns.len(), 9);
    assert_eq!(log.t_utc_s.len(), 9);
    // 21:14:01 local, bias −60: 20:14:01 UTC on 2024-03-12.
    assert_eq!(log.t_utc_s[0], 1_710_274_441.0);
    let smb = log
        .find(
            "Hyper-V VM Live Migration",
            Some("app02"),
            "SMB Transport: Bytes Sent/sec",
        )
        .unwrap();
    assert_eq!(smb.path.host, "HV1");
    assert_eq!(
        smb.path.instance.as_deref(),
        Some("app02:VM Live Migration")
    );
    // Rate counters have no first sample (" "), and the instance is gone in the last row ("").
    assert_eq!(smb.values[0], None);
    assert_eq!(smb.values[8], None);
    // The rate sits just under the 2-node inventory's SMB limit for live migration.
    let limit = 367_001_600.0;
    for v in smb.values[1..7].iter().map(|v| v.unwrap()) {
        assert!(v < limit && v > 0.99 * limit, "{v}");
    }
    // The blackout sample is the second of event 20415 (2024-03-12T20:14:08.412Z).
    let blackout = log
        .find(
            "Hyper-V VM Live Migration",
            None,
            "Transfer Pass: Is blackout",
        )
        .unwrap();
    let k = blackout
        .values
        .iter()
        .position(|v| *v == Some(1.0))
        .unwrap();
    assert!((log.t_utc_s[k] - 1_710_274_448.412).abs() < 1.0);
    // An instance with parentheses and a `_2` (from `#2`) is kept whole.
    let nic = log.find("Network Adapter", None, "Bytes Sent/sec").unwrap();
    assert_eq!(
        nic.path.instance.as_deref(),
        Some("Mellanox ConnectX-3 Pro Ethernet Adapter _2")
    );
    assert!(
        log.find(
            "Processor Information",
            Some("0,_Total"),
            "% Processor Time"
        )
        .is_some()
    );
}

#[test]
fn utf16_and_typeperfs_closing_line_are_accepted() {
    let plain = perfmon::parse(&text(), "a.csv").unwrap();
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text().encode_utf16().flat_map(u16::to_le_bytes));
    let decoded = lmlab_engine::inventory::decode(&utf16);
    assert_eq!(perfmon::parse(&decoded, "a.csv").unwrap(), plain);
    let with_tail = format!("{}\r\nExiting, please wait...\r\n\r\n", text().trim_end());
    assert_eq!(perfmon::parse(&with_tail, "a.csv").unwrap(), plain);
}

#[test]
fn malformed_logs_are_refused_with_the_line_and_the_reason() {
    let t = text();
    let second_row = t.lines().nth(2).unwrap().to_string();
    let cases = [
        (
            t.replacen("(PDH-CSV 4.0)", "(CSV)", 1),
            "lm.csv:1: not a PerfMon CSV",
        ),
        (
            t.replacen("366789632.000000", "366789632,000000", 1),
            "lm.csv:3: column 5: \"366789632,000000\" has a decimal comma",
        ),
        (
            t.replacen(&second_row, "\"03/12/2024 21:14:02.000\",\"1.000000\"", 1),
            "lm.csv:3: 2 cells where the header has 10",
        ),
        (
            t.replacen("03/12/2024 21:14:02.000", "2024-03-12 21:14:02", 1),
            "lm.csv:3: \"2024-03-12 21:14:02\" is not a time",
        ),
        (
            t.replacen(
                "\\\\HV1\\SMB Direct Connection(_Total)\\Bytes RDMA Written/sec",
                "Bytes",
                1,
            ),
            "lm.csv:1: column 6: \"Bytes\" is not a counter path",
        ),
        (String::new(), "lm.csv:1: empty"),
    ];
    for (text, want) in cases {
        let e = perfmon::parse(&text, "lm.csv").unwrap_err().to_string();
        assert!(e.starts_with(want), "want {want:?}, got {e}");
    }
}

#[test]
fn a_100_mb_log_is_refused_before_it_is_read() {
    let dir = std::env::temp_dir().join(format!("lmlab-measured-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("big.csv");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(100 * 1024 * 1024)
        .unwrap();
    let e = measured::load_perfmon(&big).unwrap_err().to_string();
    assert!(e.contains("measurement files are limited to"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The lab `lmlab import` makes of the §9 inventory (hv1, hv2; app02 on hv2 after the move).
fn lab() -> lmlab_engine::Scenario {
    use lmlab_engine::inventory;
    let f = fixture("inventory-2node.json");
    let v = inventory::load(&f).unwrap();
    let imported = inventory::import(&v, "inventory-2node.json").unwrap();
    lmlab_engine::Scenario::from_toml(&imported.toml, "lab.toml").unwrap()
}

fn runs_of(files: &[&str]) -> measured::Measurements {
    let paths: Vec<PathBuf> = files.iter().map(|f| fixture(f)).collect();
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    measured::load_all(&refs, &lab().spec, &measured::NameMap::default()).unwrap()
}

#[test]
fn both_hosts_logs_and_the_vmms_event_make_one_run_with_throughput_cpu_pause_and_total() {
    let m = runs_of(&["lm-hv1.csv", "lm-hv2.csv", "vmms-hv1.xml"]);
    assert_eq!(m.runs.len(), 1, "{:?}", m.runs);
    let r = &m.runs[0];
    assert_eq!(r.vm, "app02");
    assert_eq!(r.from.as_deref(), Some("hv1"));
    assert_eq!(
        r.to.as_deref(),
        Some("hv2"),
        "hv2's log overlaps, so it is the other end"
    );
    // 366.8 MB/s sent = 2.934 Gbit/s, just under the 2-node lab's SMB bandwidth limit.
    let t = r.throughput_gbps().unwrap();
    assert!((t - 2.9345).abs() < 0.002, "{t}");
    // CPU over the steady samples (21:14:02-07), less the host's idle CPU: its samples after
    // the migration ended (hv1: 21:14:09; hv2: 21:14:09 and :10, whose median is their mean).
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let busy1 = mean(&[3.215625, 3.401563, 3.298438, 3.353125, 3.270313, 3.3125]);
    let busy2 = mean(&[2.965625, 3.08125, 3.0125, 3.046875, 2.990625, 3.103125]);
    assert_eq!(r.cpu_idle_pct("hv1"), Some(1.953125));
    assert!((r.cpu_idle_pct("hv2").unwrap() - (1.865625 + 1.321875) / 2.0).abs() < 1e-9);
    assert!((r.cpu_pct("hv1").unwrap() - (busy1 - 1.953125)).abs() < 1e-6);
    assert!((r.cpu_pct("hv2").unwrap() - (busy2 - 1.59375)).abs() < 1e-6);
    // The event: 52 ms blackout at 20:14:08.412Z, 7.412 s after the first sample (20:14:01).
    assert_eq!(r.pause_ms, Some(52.0));
    assert!((r.total_s.unwrap() - 7.412).abs() < 1e-6, "{:?}", r.total_s);
    assert_eq!(r.memory_bytes, Some(2 * 1024 * 1024 * 1024));
    assert_eq!(r.files.len(), 3, "{:?}", r.files);
    // RDMA Activity instances are the NICs' descriptions, which the importer kept.
    let nics: Vec<&str> = r.nics.iter().map(|n| n.nic.as_str()).collect();
    assert!(nics.contains(&"SMB1") && nics.contains(&"SMB2"), "{nics:?}");
    // The Network Adapter instance "… _2" is the transformed description of SMB2.
    assert!(
        r.nics
            .iter()
            .any(|n| n.host == "hv1" && n.nic == "SMB2" && n.direction == "sent"),
        "{:?}",
        r.nics
    );
    assert!(m.unmapped.is_empty(), "{:?}", m.unmapped);
}

#[test]
fn the_event_as_csv_gives_the_same_run_as_the_event_as_xml() {
    let a = runs_of(&["lm-hv1.csv", "vmms-hv1.xml"]);
    let b = runs_of(&["lm-hv1.csv", "vmms-hv1.csv"]);
    assert_eq!(a.runs[0].pause_ms, b.runs[0].pause_ms);
    assert_eq!(a.runs[0].total_s, b.runs[0].total_s);
    // Without the event, the run ends at the first sample that no longer has the instance.
    let c = runs_of(&["lm-hv1.csv"]);
    assert_eq!(c.runs[0].pause_ms, None);
    assert_eq!(c.runs[0].total_s, Some(8.0));
    assert_eq!(
        c.runs[0].to, None,
        "one host's log does not say where it went"
    );
}

#[test]
fn names_that_differ_are_reported_and_a_map_file_maps_them() {
    let text = text().replace("\\\\HV1\\", "\\\\SRV-A\\");
    let log = measured::parse(&text, "srv-a.csv").unwrap();
    let spec = lab().spec;
    let files = vec![("srv-a.csv".to_string(), log)];
    let m = measured::assemble(&files, &spec, &measured::NameMap::default());
    assert!(m.runs.is_empty() || m.runs[0].from.is_none());
    assert!(
        m.unmapped
            .iter()
            .any(|u| u.kind == measured::NameKind::Host && u.name == "SRV-A"),
        "{:?}",
        m.unmapped
    );
    let names = measured::NameMap::parse("[hosts]\nSRV-A = \"hv1\"\n", "map.toml").unwrap();
    let m = measured::assemble(&files, &spec, &names);
    assert_eq!(m.runs[0].from.as_deref(), Some("hv1"));
    assert!(m.unmapped.is_empty(), "{:?}", m.unmapped);
    // A map onto a host the lab does not have maps nothing.
    let bad = measured::NameMap::parse("[hosts]\nSRV-A = \"hv9\"\n", "map.toml").unwrap();
    assert!(!measured::assemble(&files, &spec, &bad).unmapped.is_empty());
}

#[test]
fn malformed_event_files_are_refused_with_the_line_and_the_reason() {
    let cases = [
        (
            "\"TimeCreated\",\"Id\",\"VmName\",\"BlackoutSeconds\"\n\"12.03.2024 21:14:08\",\"20415\",\"app02\",\"0.052\"\n",
            "ev.csv:2: TimeCreated \"12.03.2024 21:14:08\" is not an ISO 8601 time",
        ),
        (
            "\"TimeCreated\",\"Id\",\"BlackoutSeconds\"\n",
            "ev.csv:1: no VmName column",
        ),
        (
            "\"TimeCreated\",\"Id\",\"VmName\",\"BlackoutSeconds\"\n\"2024-03-12T20:14:08Z\",\"20415\",\"app02\",\"0,052\"\n",
            "ev.csv:2: event 20415: blackout (property 2) \"0,052\" is not a number of seconds",
        ),
        ("<Event><System><EventID>20415", "ev.csv:1: not XML"),
        (
            "<Event><System><EventID>20415</EventID></System></Event>",
            "ev.csv:1: event 20415 without a TimeCreated SystemTime",
        ),
        (
            "{\"verified\": true}",
            "ev.csv:1: not the JSON of `lmlab real --json`",
        ),
        ("hello", "ev.csv:1: not a measurement file lmlab reads"),
    ];
    for (text, want) in cases {
        let e = measured::parse(text, "ev.csv").unwrap_err().to_string();
        assert!(e.starts_with(want), "want {want:?}, got {e}");
    }
}

#[test]
fn the_2_node_lab_fixture_is_the_import_with_app02_back_on_hv1_and_its_migration_scripted() {
    let fixture_lab = lmlab_engine::Scenario::load(&fixture("lab-2node.toml")).unwrap();
    let mut imported = lab();
    let app02 = imported
        .spec
        .vms
        .iter_mut()
        .find(|v| v.name == "app02")
        .unwrap();
    assert_eq!(app02.host, "hv2", "the inventory was taken after the move");
    app02.host = "hv1".into();
    imported.spec.script = fixture_lab.spec.script.clone();
    assert_eq!(imported.spec, fixture_lab.spec);
}

#[test]
fn a_real_runs_json_is_a_run_of_the_vm_and_hosts_its_model_block_names() {
    // `lmlab real --scenario tests/fixtures/lab-2node.toml --vm app02 --memory 1GiB --channels 4
    // --json tests/fixtures/real-app02.json`, on loopback.
    let m = runs_of(&["real-app02.json"]);
    assert_eq!(m.runs.len(), 1, "{:?}", m.notes);
    let r = &m.runs[0];
    assert_eq!(
        (r.vm.as_str(), r.from.as_deref(), r.to.as_deref()),
        ("app02", Some("hv1"), Some("hv2"))
    );
    assert_eq!(r.memory_bytes, Some(1024 * 1024 * 1024));
    let raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("real-app02.json")).unwrap())
            .unwrap();
    assert_eq!(r.pause_ms, raw["downtime_ms"].as_f64());
    assert_eq!(r.total_s, raw["total_s"].as_f64());
    assert_eq!(r.throughput.len(), raw["series"].as_array().unwrap().len());
    assert!(r.throughput_gbps().unwrap() > 0.0);
    // It ran on this build machine's 2 cores; hv1 has 32 logical processors: a share of one
    // says nothing about the other, so the CPU is left out, and said so.
    assert_eq!(raw["cores_src"].as_u64(), Some(2));
    assert!(r.cpu.is_empty());
    assert!(
        m.notes
            .iter()
            .any(|n| n.contains("ran on 2 logical processors, hv1 has 32")),
        "{:?}",
        m.notes
    );
    // Without its model block, the hosts are `source` and `destination`, to be mapped.
    let mut bare = raw.clone();
    bare.as_object_mut().unwrap().remove("model");
    let f = measured::parse(&bare.to_string(), "bare.json").unwrap();
    let spec = lab().spec;
    let none = measured::assemble(
        &[("bare.json".into(), f.clone())],
        &spec,
        &measured::NameMap::default(),
    );
    assert!(none.runs.is_empty() && !none.notes.is_empty());
    let names = measured::NameMap::parse(
        "[hosts]\nsource = \"hv1\"\ndestination = \"hv2\"\n[migration]\nvm = \"app02\"\n",
        "map.toml",
    )
    .unwrap();
    let mapped = measured::assemble(&[("bare.json".into(), f)], &spec, &names);
    assert_eq!(mapped.runs[0].from.as_deref(), Some("hv1"));
    assert_eq!(mapped.runs[0].to.as_deref(), Some("hv2"));
}

#[test]
fn the_measurement_collector_logs_every_counter_the_reader_uses_and_changes_nothing() {
    let script = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/collect/Measure-LmlabMigration.ps1"),
    )
    .unwrap();
    for c in [
        "\\Hyper-V VM Live Migration(*)\\SMB Transport: Bytes Sent/sec",
        "\\Hyper-V VM Live Migration(*)\\TCP Transport: Bytes Sent/sec",
        "\\Hyper-V VM Live Migration(*)\\Transfer pass: Number",
        "\\Hyper-V VM Live Migration(*)\\Transfer pass: Dirty Page Count",
        "\\SMB Direct Connection(_Total)\\Bytes RDMA Written/sec",
        "\\SMB Direct(_Total)\\Bytes RDMA Read/sec",
        "\\RDMA Activity(*)\\RDMA Outbound Bytes/sec",
        "\\RDMA Activity(*)\\RDMA Inbound Bytes/sec",
        "\\Network Adapter(*)\\Bytes Sent/sec",
        "\\Network Adapter(*)\\Bytes Received/sec",
        "\\Processor Information(_Total)\\% Processor Time",
    ] {
        assert!(script.contains(c), "the collector does not log {c}");
        // Each is a counter path the reader splits (with the host typeperf puts in front).
        assert!(
            perfmon::counter_path(&format!("\\\\HV1{c}")).is_some(),
            "{c}"
        );
    }
    // It writes its own files (Set-Content) and nothing else: no cmdlet that changes a VM, a
    // node, the network or SMB.
    for verb in [
        "Set-VM",
        "Set-Net",
        "Set-Smb",
        "Set-Cluster",
        "Move-",
        "Start-VM",
        "Stop-VM",
        "Remove-VM",
        "Enable-Net",
        "Disable-Net",
        "Restart-",
        "Suspend-",
        "Resume-",
    ] {
        assert!(!script.contains(verb), "the collector calls {verb}");
    }
    assert!(script.contains("20415, 20417"));
}

#[test]
fn counters_of_a_localized_windows_are_read_through_the_maps_counter_names() {
    // A German Windows names the sets and counters in German (your-cluster.md §5).
    let text = std::fs::read_to_string(fixture("lm-hv2.csv"))
        .unwrap()
        .replace("Processor Information", "Prozessorinformationen")
        .replace("% Processor Time", "Prozessorzeit (%)");
    let spec = lab().spec;
    let files = |t: &str| {
        let mut f = vec![(
            "lm-hv1.csv".to_string(),
            measured::parse(&self::text(), "lm-hv1.csv").unwrap(),
        )];
        f.push(("de.csv".to_string(), measured::parse(t, "de.csv").unwrap()));
        f
    };
    let plain = measured::assemble(&files(&text), &spec, &measured::NameMap::default());
    assert!(
        plain.runs[0].cpu_pct("hv2").is_none(),
        "an unknown set is not read"
    );
    let names = measured::NameMap::parse(
        "[counters]\n\"Prozessorinformationen\" = \"Processor Information\"\n\"Prozessorzeit (%)\" = \"% Processor Time\"\n",
        "map.toml",
    )
    .unwrap();
    let mapped = measured::assemble(&files(&text), &spec, &names);
    assert!(mapped.runs[0].cpu_pct("hv2").is_some());
}

#[test]
fn three_measured_runs_of_one_vm_sit_beside_three_model_migrations_back_and_forth() {
    use lmlab_engine::measured::overlay;
    let one = runs_of(&["lm-hv1.csv", "lm-hv2.csv"]).runs.remove(0);
    let mut back = one.clone();
    back.from = Some("hv2".into());
    back.to = Some("hv1".into());
    let runs = vec![one.clone(), back, one];
    let (prepared, notes) = overlay::prepare(&lab(), &runs);
    assert!(
        notes
            .iter()
            .any(|n| n == "migrates app02 from hv2 to hv1 at 70s"),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n == "migrates app02 from hv1 to hv2 at 130s"),
        "{notes:?}"
    );
    let seed = prepared.spec.seed;
    let mut sim = lmlab_engine::Simulation::new(prepared, seed);
    overlay::run_until_compared(&mut sim, &runs, 3600);
    let starts: Vec<Option<f64>> = overlay::compare(&sim, &runs)
        .iter()
        .map(|c| c.model_start_s)
        .collect();
    assert_eq!(starts, [Some(10.0), Some(70.0), Some(130.0)]);
}
