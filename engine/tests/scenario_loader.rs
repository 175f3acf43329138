//! Every way a scenario file can be wrong is refused with one error naming file, line and column.

// Tests fail by panicking; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lmlab_engine::scenario::{FORMAT_VERSION, Scenario, ScenarioError};

const GOOD: &str = r#"format_version = 1
name = "t"

[[switches]]
name = "sw1"

[[switches]]
name = "sw2"
lacp = false

[[storage]]
name = "share"
kind = "SMB3"

[[hosts]]
name = "a"
sockets = 2
cores_per_socket = 8
clock_ghz = 2.6
memory = "64GiB"

  [[hosts.nics]]
  name = "nic1"
  speed = "10Gbps"
  switch = "sw1"

  [[hosts.nics]]
  name = "nic2"
  speed = "10Gbps"
  switch = "sw1"

[[hosts]]
name = "b"
sockets = 1
cores_per_socket = 4
clock_ghz = 3.0
memory = "64GiB"

  [[hosts.nics]]
  name = "nic1"
  speed = "10Gbps"
  switch = "sw2"

[[vms]]
name = "vm1"
host = "a"
memory = "8GiB"
storage = "share"

[[script]]
at = "10s"
action = "migrate"
vm = "vm1"
to = "b"

[[configurations]]
id = "c1"
vms = 1
"#;

/// Replaces the first occurrence of `from` in the good file and loads the result.
fn with(from: &str, to: &str) -> ScenarioError {
    assert!(
        GOOD.contains(from),
        "test bug: `{from}` is not in the good file"
    );
    let text = GOOD.replacen(from, to, 1);
    match Scenario::from_toml(&text, "lab.toml") {
        Ok(_) => panic!("expected an error after replacing `{from}` with `{to}`"),
        Err(e) => e,
    }
}

/// Asserts the error points at `line` (1-based) and its message contains every `needle`.
fn expect(e: ScenarioError, line: usize, needles: &[&str]) {
    let msg = e.to_string();
    assert!(msg.starts_with("lab.toml:"), "no file name in: {msg}");
    assert_eq!(
        e.location().map(|l| l.0),
        Some(line),
        "wrong line in: {msg}"
    );
    for n in needles {
        assert!(msg.contains(n), "`{n}` missing from: {msg}");
    }
    assert_eq!(msg.lines().count(), 1, "one line expected: {msg}");
}

fn line_of(text: &str) -> usize {
    GOOD.lines()
        .position(|l| l.contains(text))
        .map(|i| i + 1)
        .unwrap_or(0)
}

#[test]
fn the_good_file_loads() {
    let s = Scenario::from_toml(GOOD, "lab.toml").expect("good file");
    assert_eq!(s.spec.hosts.len(), 2);
    assert_eq!(s.script.len(), 1);
}

#[test]
fn every_preset_loads() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("assets folder") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(n >= 2, "expected the presets, found {n}");
}

#[test]
fn seed_lab_has_the_nine_reference_rows() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/scenarios/seed-lab.toml"
    );
    let s = Scenario::load(std::path::Path::new(path)).expect("seed lab");
    let ids: Vec<&str> = s
        .spec
        .configurations
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "row1", "row2", "row3", "row4", "row5", "row6", "row7", "row8", "row9"
        ]
    );
}

#[test]
fn resiliency_lab_uses_the_seeds_lab_timings() {
    use lmlab_engine::SimDuration;
    use lmlab_engine::scenario::QuarantineDuration;
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/scenarios/resiliency-lab.toml"
    );
    let s = Scenario::load(std::path::Path::new(path)).expect("resiliency lab");
    assert_eq!(s.spec.hosts.len(), 4);
    assert_eq!(
        s.spec.cluster.resiliency_default_period,
        SimDuration::from_secs(60)
    );
    assert_eq!(
        s.spec.cluster.quarantine_duration,
        QuarantineDuration::For(SimDuration::from_secs(300))
    );
    let kinds: std::collections::HashSet<String> = s
        .spec
        .storage
        .iter()
        .map(|st| format!("{:?}", st.kind))
        .collect();
    assert!(kinds.contains("Smb3") && kinds.contains("Csv"));
}

#[test]
fn defaults_follow_the_domain_notes() {
    use lmlab_engine::SimDuration;
    use lmlab_engine::scenario::*;
    let c = ClusterSettings::default();
    assert_eq!(c.resiliency_level, ResiliencyLevel::AlwaysIsolate);
    assert_eq!(c.resiliency_default_period, SimDuration::from_secs(240));
    assert_eq!(c.quarantine_threshold, 3);
    assert_eq!(
        c.quarantine_duration,
        QuarantineDuration::For(SimDuration::from_secs(7200))
    );
    assert_eq!(c.quarantine_cap, QuarantineCap::Pct20);
    assert_eq!(
        (c.same_subnet_delay, c.same_subnet_threshold),
        (SimDuration::from_millis(1000), 10)
    );
    assert_eq!(
        (c.cross_subnet_delay, c.cross_subnet_threshold),
        (SimDuration::from_millis(1000), 20)
    );
    let m = MigrationSettings::default();
    assert_eq!(m.performance_option, PerformanceOption::Compression);
    assert_eq!((m.max_simultaneous, m.max_passes), (2, 5));
}

#[test]
fn a_scenario_written_back_reads_the_same() {
    let s = Scenario::from_toml(GOOD, "lab.toml").expect("good");
    let text = s.to_toml().expect("serialize");
    let again = Scenario::from_toml(&text, "again.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(s, again);
    for p in ["seed-lab.toml", "resiliency-lab.toml"] {
        let path = format!("{}/../assets/scenarios/{p}", env!("CARGO_MANIFEST_DIR"));
        let s = Scenario::load(std::path::Path::new(&path)).expect("preset");
        let again = Scenario::from_toml(&s.to_toml().expect("ser"), p).expect("reload");
        assert_eq!(s, again, "{p}");
    }
}

#[test]
fn toml_syntax_errors_name_the_line() {
    expect(
        with("name = \"vm1\"", "name = \"vm1"),
        line_of("name = \"vm1\""),
        &["lab.toml:"],
    );
}

#[test]
fn a_missing_format_version_is_refused() {
    expect(
        with("format_version = 1\n", ""),
        1,
        &["format_version", "missing"],
    );
}

#[test]
fn a_newer_format_version_says_so() {
    let e = with("format_version = 1", "format_version = 2");
    expect(e, 1, &["newer lmlab", &FORMAT_VERSION.to_string()]);
}

#[test]
fn unknown_fields_are_refused_where_they_are() {
    expect(
        with("name = \"t\"", "name = \"t\"\ncolour = \"red\""),
        3,
        &["unknown field `colour`"],
    );
    let l = line_of("speed = \"10Gbps\"");
    expect(
        with("  speed = \"10Gbps\"", "  speed = \"10Gbps\"\n  sped = 1"),
        l + 1,
        &["unknown field `sped`"],
    );
}

#[test]
fn a_negative_core_count_is_refused() {
    let l = line_of("cores_per_socket = 8");
    expect(
        with("cores_per_socket = 8", "cores_per_socket = -8"),
        l,
        &["-8"],
    );
}

#[test]
fn a_zero_core_count_is_refused_with_the_range() {
    let l = line_of("cores_per_socket = 8");
    expect(
        with("cores_per_socket = 8", "cores_per_socket = 0"),
        l,
        &["hosts[0].cores_per_socket", "from 1 to 512"],
    );
}

#[test]
fn malformed_durations_are_refused() {
    let l = line_of("at = \"10s\"");
    expect(
        with("at = \"10s\"", "at = \"10 sec\""),
        l,
        &["malformed duration `10 sec`"],
    );
    expect(with("at = \"10s\"", "at = 10"), l, &["unit"]);
}

#[test]
fn bad_enum_values_list_the_choices() {
    let l = line_of("kind = \"SMB3\"");
    expect(
        with("kind = \"SMB3\"", "kind = \"NFS\""),
        l,
        &["NFS", "SMB3", "CSV"],
    );
}

#[test]
fn bad_quantities_are_refused() {
    let l = line_of("memory = \"8GiB\"");
    expect(
        with("memory = \"8GiB\"", "memory = \"8 parsecs\""),
        l,
        &["malformed size"],
    );
    let l = line_of("speed = \"10Gbps\"");
    expect(
        with("speed = \"10Gbps\"", "speed = \"10\""),
        l,
        &["malformed link speed"],
    );
}

#[test]
fn duplicate_names_are_refused() {
    let l = line_of("name = \"b\"");
    expect(
        with("name = \"b\"", "name = \"a\""),
        l,
        &["already a host named `a`"],
    );
    let l = line_of("name = \"nic2\"");
    expect(
        with("name = \"nic2\"", "name = \"nic1\""),
        l,
        &["already a NIC"],
    );
}

#[test]
fn unknown_references_list_what_exists() {
    let l = line_of("host = \"a\"");
    expect(
        with("host = \"a\"", "host = \"zz\""),
        l,
        &["vms[0].host", "no host named `zz`", "`a`, `b`"],
    );
    let l = line_of("storage = \"share\"");
    expect(
        with("storage = \"share\"", "storage = \"nope\""),
        l,
        &["no storage named `nope`"],
    );
    let l = line_of("switch = \"sw1\"");
    expect(
        with("switch = \"sw1\"", "switch = \"sw9\""),
        l,
        &["no switch named `sw9`"],
    );
}

#[test]
fn teams_are_checked() {
    let team_line = |text: &str| {
        text.lines()
            .position(|l| l.contains("mode = "))
            .map(|i| i + 1)
            .unwrap_or(0)
    };
    let t = "memory = \"64GiB\"\n\n  [[hosts.nics]]\n  name = \"nic1\"";
    let member = with(
        t,
        "memory = \"64GiB\"\nteaming = { mode = \"Lacp\", members = [\"nic1\", \"nicX\"] }\n\n  [[hosts.nics]]\n  name = \"nic1\"",
    );
    assert!(
        member
            .to_string()
            .contains("no NIC on this host named `nicX`"),
        "{member}"
    );
    // Host b's only NIC is on sw2, which has lacp = false.
    let text = GOOD.replacen(
        "clock_ghz = 3.0",
        "clock_ghz = 3.0\nteaming = { mode = \"Lacp\" }",
        1,
    );
    let e = Scenario::from_toml(&text, "lab.toml").expect_err("lacp on a non-lacp switch");
    assert_eq!(e.location().map(|l| l.0), Some(team_line(&text)), "{e}");
    assert!(e.to_string().contains("lacp = false"), "{e}");
}

#[test]
fn vm_sizes_are_checked() {
    let l = line_of("memory = \"8GiB\"");
    expect(
        with(
            "memory = \"8GiB\"",
            "memory = \"8GiB\"\nworking_set = \"9GiB\"",
        ),
        l + 1,
        &["more than the VM's memory"],
    );
    expect(
        with("memory = \"8GiB\"", "memory = \"80GiB\""),
        line_of("memory = \"64GiB\""),
        &["need 80GiB", "more than its 64GiB"],
    );
    expect(
        with(
            "memory = \"8GiB\"",
            "memory = \"8GiB\"\nmemory_profile = { zero = 0.5, pattern = 0.0, duplicate = 0.0, text = 0.0, random = 0.2 }",
        ),
        l + 1,
        &["add up to 1"],
    );
}

#[test]
fn script_entries_are_checked() {
    let l = line_of("action = \"migrate\"");
    expect(
        with("action = \"migrate\"", "action = \"explode\""),
        l,
        &["unknown action `explode`", "crash_cluster_service"],
    );
    let vm_line = line_of("vm = \"vm1\"");
    expect(
        with("vm = \"vm1\"", "node = \"a\""),
        line_of("at = \"10s\"") - 1,
        &["needs `vm`"],
    );
    expect(
        with("vm = \"vm1\"", "vm = \"vm9\""),
        vm_line,
        &["no VM named `vm9`"],
    );
    expect(
        with(
            "action = \"migrate\"\nvm = \"vm1\"\nto = \"b\"",
            "action = \"pull_nic\"\nnode = \"b\"\nnic = \"nic7\"",
        ),
        line_of("to = \"b\""),
        &["no NIC on b named `nic7`"],
    );
    expect(
        with("to = \"b\"", "to = \"b\"\nnic = \"nic1\""),
        line_of("to = \"b\"") + 1,
        &["does not take `nic`"],
    );
}

#[test]
fn configurations_are_checked() {
    let l = line_of("vms = 1");
    expect(with("vms = 1", "vms = 3"), l, &["running VMs on a"]);
    expect(
        with("vms = 1", "vms = 1\nto = \"a\""),
        l + 1,
        &["same host"],
    );
    expect(
        with("id = \"c1\"", "id = \"c1\"\nteaming = \"Bonded\""),
        l,
        &["Bonded"],
    );
}

#[test]
fn cluster_ranges_follow_msdn() {
    let text = GOOD.replacen(
        "name = \"t\"\n",
        "name = \"t\"\n[cluster]\nsame_subnet_threshold = 200\n",
        1,
    );
    let e = Scenario::from_toml(&text, "lab.toml").expect_err("range");
    assert_eq!(e.location().map(|l| l.0), Some(4), "{e}");
    assert!(e.to_string().contains("from 3 to 120"), "{e}");
    let text = GOOD.replacen(
        "name = \"t\"\n",
        "name = \"t\"\n[cluster]\nsame_subnet_delay = \"5s\"\n",
        1,
    );
    let e = Scenario::from_toml(&text, "lab.toml").expect_err("range");
    assert!(e.to_string().contains("250ms to 2000ms"), "{e}");
    let text = GOOD.replacen(
        "name = \"t\"\n",
        "name = \"t\"\n[cluster]\nresiliency_level = 3\n",
        1,
    );
    let e = Scenario::from_toml(&text, "lab.toml").expect_err("level");
    assert!(e.to_string().contains("AlwaysIsolate"), "{e}");
    let text = GOOD.replacen(
        "name = \"t\"\n",
        "name = \"t\"\n[cluster]\nresiliency_level = 1\nquarantine_duration = \"until-cleared\"\n",
        1,
    );
    Scenario::from_toml(&text, "lab.toml").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn hostile_input_never_panics() {
    for text in [
        "",
        "format_version = 99999999999999999999999",
        "format_version = \"one\"",
        "format_version = 1\nhosts = 5",
        "format_version = 1\n[[hosts]]\nname = \"a\"\nsockets = 4294967296\ncores_per_socket = 1\nclock_ghz = 1.0\nmemory = \"1GiB\"",
        "format_version = 1\n[[hosts]]\nname = \"a\"\nsockets = 1\ncores_per_socket = 1\nclock_ghz = nan\nmemory = \"1GiB\"",
        "format_version = 1\nuntil = \"99999999999999h\"",
        &format!(
            "format_version = 1\nname = {}{}",
            "[".repeat(2000),
            "]".repeat(2000)
        ),
        "\u{0}\u{1}\u{2}",
    ] {
        assert!(
            Scenario::from_toml(text, "x.toml").is_err(),
            "accepted: {text:.60}"
        );
    }
}

#[test]
fn files_that_cannot_be_read_say_why() {
    let e = Scenario::load(std::path::Path::new("/nonexistent/lab.toml")).expect_err("missing");
    assert!(
        e.to_string()
            .starts_with("/nonexistent/lab.toml: cannot read"),
        "{e}"
    );
    let dir = std::env::temp_dir().join(format!("lmlab-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let p = dir.join("bad.toml");
    std::fs::write(&p, b"format_version = 1\nname = \"\xff\"\n").expect("write");
    let e = Scenario::load(&p).expect_err("utf8");
    assert_eq!(e.location(), Some((2, 9)), "{e}");
    assert!(e.to_string().contains("UTF-8"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_full_example_in_the_format_docs_loads() {
    let doc = include_str!("../../docs/scenario-format.md");
    let start = doc.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let end = start + doc[start..].find("```").expect("end of block");
    let s = Scenario::from_toml(&doc[start..end], "docs/scenario-format.md")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.spec.hosts.len(), 2);
    assert_eq!(s.spec.configurations.len(), 2);
    assert_eq!(s.script.len(), 5);
}

#[test]
fn captions_need_text_and_take_no_other_target() {
    let base = include_str!("../../assets/scenarios/seed-lab.toml");
    let ok = format!(
        "{base}\n[[script]]\nat = \"1s\"\naction = \"caption\"\ntext = \"hello\"\npause = true\n"
    );
    let sc = Scenario::from_toml(&ok, "lab.toml").unwrap();
    assert!(sc.script.iter().any(|c| matches!(
        &c.command,
        lmlab_engine::Command::Caption { text, pause: true } if text == "hello"
    )));
    let no_text = format!("{base}\n[[script]]\nat = \"1s\"\naction = \"caption\"\n");
    let e = Scenario::from_toml(&no_text, "lab.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("needs `text`"), "{e}");
    let with_node = format!(
        "{base}\n[[script]]\nat = \"1s\"\naction = \"caption\"\ntext = \"x\"\nnode = \"hv1\"\n"
    );
    let e = Scenario::from_toml(&with_node, "lab.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not take `node`"), "{e}");
    let pause_elsewhere = format!(
        "{base}\n[[script]]\nat = \"1s\"\naction = \"power_off\"\nnode = \"hv1\"\npause = true\n"
    );
    let e = Scenario::from_toml(&pause_elsewhere, "lab.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not take `pause`"), "{e}");
}

#[test]
fn the_quorum_drain_and_host_vnic_settings_are_checked_with_clear_errors() {
    let cluster = |field: &str| {
        with(
            "name = \"t\"\n",
            &format!("name = \"t\"\n[cluster]\n{field}\n"),
        )
    };
    expect(
        cluster("lower_quorum_priority_node = \"zz\""),
        4,
        &["cluster.lower_quorum_priority_node", "`zz`", "`a`, `b`"],
    );
    expect(
        cluster("drain_retries = 65"),
        4,
        &["cluster.drain_retries", "0 to 64"],
    );
    let mem = line_of("memory = \"64GiB\"");
    expect(
        with(
            "memory = \"64GiB\"",
            "memory = \"64GiB\"\nteaming = { mode = \"Lacp\", host_vnics = 2 }",
        ),
        mem + 1,
        &["host_vnics", "only on a SET switch"],
    );
    expect(
        with(
            "memory = \"64GiB\"",
            "memory = \"64GiB\"\nteaming = { mode = \"SET\", host_vnics = 3 }",
        ),
        mem + 1,
        &["host_vnics", "from 1 to the team's 2 members", "found 3"],
    );
    // Accepted values load, and retired transport parameters of older files are read and ignored.
    let ok = GOOD.replacen(
        "name = \"t\"\n",
        "name = \"t\"\n[cluster]\nlower_quorum_priority_node = \"b\"\ndynamic_quorum = false\n\
         [transport]\nsmb_handoff_cpb = 4.1\nnuma_remote_factor = 1.6\n",
        1,
    );
    let s = Scenario::from_toml(&ok, "lab.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.spec.cluster.lower_quorum_priority_node, "b");
    assert!(!s.to_toml().unwrap().contains("smb_handoff_cpb"));
}

#[test]
fn a_reference_range_must_hold_its_value_and_run_low_to_high() {
    let ok = GOOD.replacen(
        "id = \"c1\"\nvms = 1",
        "id = \"c1\"\nvms = 1\nreference = { throughput_gbps = 9.0, throughput_range_gbps = [9.0, 10.0] }",
        1,
    );
    let sc = Scenario::from_toml(&ok, "lab.toml").expect("a range around the value loads");
    let r = sc.spec.configurations[0]
        .reference
        .as_ref()
        .expect("reference");
    assert_eq!(r.throughput_range_gbps, Some([9.0, 10.0]));
    for (range, needle) in [
        ("[10.0, 9.0]", "0 <= low <= high"),
        ("[9.5, 10.0]", "outside its range"),
        ("[-1.0, 10.0]", "0 <= low <= high"),
    ] {
        let bad = GOOD.replacen(
            "id = \"c1\"\nvms = 1",
            &format!(
                "id = \"c1\"\nvms = 1\nreference = {{ throughput_gbps = 9.0, throughput_range_gbps = {range} }}"
            ),
            1,
        );
        let e = Scenario::from_toml(&bad, "lab.toml")
            .expect_err(range)
            .to_string();
        assert!(
            e.contains("configurations[0].reference.throughput_range_gbps") && e.contains(needle),
            "{range}: {e}"
        );
    }
}

#[test]
fn sample_steps_run_lengths_and_counts_past_the_limits_are_refused_in_one_place() {
    let e = with("name = \"t\"", "name = \"t\"\nsample_step = \"1us\"").to_string();
    assert!(e.contains("sample_step") && e.contains("10 ms"), "{e}");
    let e = with("name = \"t\"", "name = \"t\"\nuntil = \"400d\"").to_string();
    assert!(e.contains("until") && e.contains("a year"), "{e}");
    let e = with(
        "name = \"t\"",
        "name = \"t\"\nuntil = \"30d\"\nsample_step = \"10ms\"",
    )
    .to_string();
    assert!(e.contains("sample_step") && e.contains("samples"), "{e}");
    // A host with more NICs than any server has.
    let mut nics = String::new();
    for i in 2..=70 {
        nics.push_str(&format!(
            "\n  [[hosts.nics]]\n  name = \"x{i}\"\n  speed = \"10Gbps\"\n  switch = \"sw1\"\n"
        ));
    }
    let text = GOOD.replacen(
        "\n  [[hosts.nics]]\n  name = \"nic1\"",
        &format!("{nics}\n  [[hosts.nics]]\n  name = \"nic1\""),
        1,
    );
    let e = Scenario::from_toml(&text, "lab.toml")
        .expect_err("70 NICs")
        .to_string();
    assert!(
        e.contains("hosts[0].nics") && e.contains("at most 64"),
        "{e}"
    );
}
