//! End-to-end tests of the `lmlab` binary: what a user or a script sees.

// Tests fail by panicking; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn lmlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lmlab"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run lmlab")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A temporary folder removed when dropped.
struct Tmp(PathBuf);
impl Tmp {
    fn new(tag: &str) -> Tmp {
        let p = std::env::temp_dir().join(format!("lmlab-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("tmp dir");
        Tmp(p)
    }
}
impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Asserts a clean refusal: non-zero exit, one `error:` line containing `needles`, no panic.
fn refused(o: &Output, needles: &[&str]) {
    let err = stderr(o);
    assert!(
        !o.status.success(),
        "expected failure, got success; stderr: {err}"
    );
    assert!(!err.contains("panicked"), "panic: {err}");
    for n in needles {
        assert!(err.contains(n), "`{n}` missing from stderr: {err}");
    }
}

#[test]
fn run_prints_the_json_report_identically_twice() {
    let args = [
        "run",
        "assets/scenarios/resiliency-lab.toml",
        "--until",
        "10m",
        "--json",
        "-",
    ];
    let a = lmlab(&args);
    assert!(a.status.success(), "{}", stderr(&a));
    let b = lmlab(&args);
    assert_eq!(a.stdout, b.stdout, "two runs differ");
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).expect("valid JSON");
    for key in [
        "seed",
        "until_s",
        "events",
        "migrations",
        "nodes",
        "vms",
        "series",
    ] {
        assert!(v.get(key).is_some(), "missing top-level key {key}");
    }
    assert_eq!(v["until_s"], 600.0);
    assert_eq!(v["seed"], 1);
    // At 10 minutes node1 is quarantined (third isolation) and its VMs have been drained.
    assert_eq!(v["nodes"]["node1"]["status"][0], "Quarantined");
    assert_ne!(v["vms"]["vm-csv-1"]["host"], "node1");
    let ids: Vec<u64> = v["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["event_id"].as_u64())
        .collect();
    assert!(ids.contains(&1135) && ids.contains(&1672), "{ids:?}");
    assert!(
        stderr(&a).contains("seed 1"),
        "the seed is printed: {}",
        stderr(&a)
    );
}

#[test]
fn the_seed_on_the_command_line_wins_and_is_reported() {
    let o = lmlab(&[
        "run",
        "assets/scenarios/seed-lab.toml",
        "--until",
        "30s",
        "--seed",
        "42",
        "--json",
        "-",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["seed"], 42);
    assert_eq!(v["until_s"], 30.0);
}

#[test]
fn run_writes_json_and_csv_files() {
    let t = Tmp::new("files");
    let json = t.0.join("r.json");
    let csv = t.0.join("csv");
    let o = lmlab(&[
        "run",
        "assets/scenarios/resiliency-lab.toml",
        "--until",
        "2m",
        "--json",
        json.to_str().expect("utf8"),
        "--csv",
        csv.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json file")).expect("json");
    let series = std::fs::read_to_string(csv.join("series.csv")).expect("series.csv");
    let rows: Vec<&str> = series.lines().collect();
    assert_eq!(
        rows.len(),
        1 + v["series"]["t_s"].as_array().expect("t_s").len()
    );
    assert!(rows[0].starts_with("t_s,"));
    let events = std::fs::read_to_string(csv.join("events.csv")).expect("events.csv");
    assert_eq!(
        events.lines().count(),
        1 + v["events"].as_array().expect("events").len()
    );
}

#[test]
fn without_json_run_prints_a_readable_summary() {
    let o = lmlab(&[
        "run",
        "assets/scenarios/resiliency-lab.toml",
        "--until",
        "2m",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("cluster service on node1 crashed"), "{out}");
}

fn bad_scenario(t: &Tmp, name: &str, from: &str, to: &str) -> String {
    let good = std::fs::read_to_string(repo().join("assets/scenarios/resiliency-lab.toml"))
        .expect("preset");
    assert!(good.contains(from));
    let p = t.0.join(name);
    std::fs::write(&p, good.replacen(from, to, 1)).expect("write");
    p.to_str().expect("utf8").to_string()
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map_or(0, |i| i + 1)
}

#[test]
fn bad_scenarios_are_refused_with_file_and_line() {
    let t = Tmp::new("bad");
    let good = std::fs::read_to_string(repo().join("assets/scenarios/resiliency-lab.toml"))
        .expect("preset");

    let p = bad_scenario(
        &t,
        "unknown.toml",
        "quarantine_threshold = 3",
        "quarantine_treshold = 3",
    );
    let line = line_of(&good, "quarantine_threshold = 3");
    refused(
        &lmlab(&["run", &p]),
        &[
            &format!("unknown.toml:{line}:"),
            "unknown field `quarantine_treshold`",
        ],
    );

    let p = bad_scenario(
        &t,
        "cores.toml",
        "cores_per_socket = 8",
        "cores_per_socket = -8",
    );
    let line = line_of(&good, "cores_per_socket = 8");
    refused(
        &lmlab(&["run", &p]),
        &[&format!("cores.toml:{line}:"), "-8"],
    );

    let p = bad_scenario(
        &t,
        "dur.toml",
        "resiliency_default_period = \"60s\"",
        "resiliency_default_period = \"60 seconds\"",
    );
    let line = line_of(&good, "resiliency_default_period");
    refused(
        &lmlab(&["run", &p]),
        &[&format!("dur.toml:{line}:"), "malformed duration"],
    );
}

#[test]
fn bad_command_line_values_are_refused() {
    refused(
        &lmlab(&["run", "assets/scenarios/seed-lab.toml", "--until", "5x"]),
        &["5x"],
    );
    refused(
        &lmlab(&["run", "assets/scenarios/seed-lab.toml", "--seed", "-1"]),
        &["--seed"],
    );
    refused(
        &lmlab(&["run", "no/such/file.toml"]),
        &["no/such/file.toml", "cannot read"],
    );
    refused(&lmlab(&["run"]), &["FILE"]);
    let t = Tmp::new("dirjson");
    refused(
        &lmlab(&[
            "run",
            "assets/scenarios/seed-lab.toml",
            "--until",
            "1s",
            "--json",
            t.0.to_str().expect("utf8"),
        ]),
        &["is a folder"],
    );
}

#[test]
fn help_names_the_commands() {
    let o = lmlab(&["--help"]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("run"), "{out}");
}

#[test]
fn compare_prints_a_table_and_json_rows_with_the_contract_fields() {
    let o = lmlab(&["compare", "assets/scenarios/seed-lab.toml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    for id in ["row1", "row5", "row9"] {
        assert!(
            table.lines().any(|l| l.starts_with(id)),
            "{id} missing:\n{table}"
        );
    }
    assert!(table.contains("SMB Direct (RoCEv2)"), "{table}");

    let args = ["compare", "assets/scenarios/seed-lab.toml", "--json", "-"];
    let a = lmlab(&args);
    let b = lmlab(&args);
    assert_eq!(a.stdout, b.stdout, "compare is deterministic");
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).expect("json");
    let rows = v["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 9);
    for r in rows {
        for key in [
            "id",
            "name",
            "throughput_gbps",
            "cpu_src_pct",
            "cpu_dst_pct",
            "duration_s",
            "path",
        ] {
            assert!(r.get(key).is_some(), "{key} missing in {r}");
        }
    }
}

#[test]
fn compare_exports_csv() {
    let t = Tmp::new("export");
    let dir = t.0.join("out");
    let o = lmlab(&[
        "compare",
        "assets/scenarios/four-1gbe.toml",
        "--export",
        dir.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(dir.join("compare.csv")).expect("compare.csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5, "{csv}");
    let head = split_csv(lines[0]);
    let col = |row: &[String], name: &str| {
        let i = head.iter().position(|h| h == name).expect(name);
        row[i].clone()
    };
    let smb = split_csv(lines[1]);
    assert_eq!(col(&smb, "id"), "smb-mc");
    assert_eq!(col(&smb, "name"), "No team, SMB Multichannel");
    let gbps: f64 = col(&smb, "throughput_gbps").parse().expect("number");
    assert!((3.6..=4.0).contains(&gbps), "{gbps}");
    // The settings each configuration ran with, in the scenario format's words.
    assert_eq!(col(&smb, "teaming"), "None");
    assert_eq!(col(&smb, "teaming_algorithm"), "");
    assert_eq!(col(&smb, "performance_option"), "SMB");
    assert_eq!(col(&smb, "reference_throughput_gbps"), "4");
    let lacp = split_csv(lines[3]);
    assert_eq!(col(&lacp, "id"), "lacp-tcp");
    assert_eq!(col(&lacp, "teaming"), "Lacp");
    assert_eq!(col(&lacp, "teaming_algorithm"), "TransportPorts");
    assert_eq!(col(&lacp, "performance_option"), "TCPIP");
    assert!(!col(&lacp, "from").is_empty() && col(&lacp, "from") != col(&lacp, "to"));
}

#[test]
fn compare_sorts_rows_fastest_first_cheapest_first_or_by_name_when_asked() {
    let rows = |sort: &str| -> Vec<serde_json::Value> {
        let o = lmlab(&[
            "compare",
            "assets/scenarios/seed-lab.toml",
            "--sort",
            sort,
            "--json",
            "-",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        v["rows"].as_array().expect("rows").clone()
    };
    let f = |r: &serde_json::Value, k: &str| r[k].as_f64().expect(k);
    let file = rows("file");
    let ids: Vec<&str> = file.iter().map(|r| r["id"].as_str().expect("id")).collect();
    assert_eq!(ids[0], "row1");
    assert_eq!(ids[8], "row9");
    let fast = rows("throughput");
    assert_eq!(fast.len(), 9);
    assert!(
        fast.windows(2)
            .all(|w| f(&w[0], "throughput_gbps") >= f(&w[1], "throughput_gbps"))
    );
    assert_ne!(fast[0]["id"], file[0]["id"], "sorting changed nothing");
    let cpu = |r: &serde_json::Value| f(r, "cpu_src_pct").max(f(r, "cpu_dst_pct"));
    let cheap = rows("cpu");
    assert!(cheap.windows(2).all(|w| cpu(&w[0]) <= cpu(&w[1])));
    let named = rows("name");
    let names: Vec<String> = named
        .iter()
        .map(|r| r["name"].as_str().expect("name").to_lowercase())
        .collect();
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "{names:?}");
    refused(
        &lmlab(&[
            "compare",
            "assets/scenarios/seed-lab.toml",
            "--sort",
            "speed",
        ]),
        &["speed", "throughput"],
    );
}

#[test]
fn compare_refuses_a_file_without_configurations() {
    refused(
        &lmlab(&["compare", "assets/scenarios/resiliency-lab.toml"]),
        &["resiliency-lab.toml", "no [[configurations]]"],
    );
}

/// Splits one CSV line, honouring RFC 4180 quotes.
fn split_csv(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                out.last_mut().expect("field").push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(String::new()),
            (c, _) => out.last_mut().expect("field").push(c),
        }
    }
    out
}

#[test]
fn run_migrates_the_seed_labs_vms_with_millisecond_pauses() {
    let o = lmlab(&["run", "assets/scenarios/seed-lab.toml", "--json", "-"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let migs = v["migrations"].as_array().expect("migrations");
    assert_eq!(migs.len(), 4);
    for m in migs {
        assert_eq!(m["outcome"], "completed", "{m}");
        let pause = m["downtime_ms"].as_f64().expect("downtime");
        assert!(pause > 0.0 && pause < 100.0, "{pause}");
        assert!(m["forecast"]["converges"].as_bool().expect("forecast"));
    }
    let kinds: Vec<&str> = v["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    for k in ["migration_start", "migration_phase", "migration_end"] {
        assert!(kinds.contains(&k), "{k} missing");
    }
}

#[test]
fn run_warns_when_a_migration_will_not_converge() {
    let t = Tmp::new("hot");
    let good =
        std::fs::read_to_string(repo().join("assets/scenarios/seed-lab.toml")).expect("preset");
    let hot = good.replacen(
        "dirty_rate = \"2MiB/s\"\nworking_set = \"2GiB\"",
        "dirty_rate = \"4GiB/s\"\nworking_set = \"12GiB\"",
        1,
    );
    assert_ne!(hot, good);
    let p = t.0.join("hot.toml");
    std::fs::write(&p, hot).expect("write");
    let o = lmlab(&["run", p.to_str().expect("utf8"), "--until", "3m"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("warning: vm1 → hv2: will not converge"),
        "{err}"
    );
    assert!(err.contains("what would help"), "{err}");
}

/// Decodes a PNG: (width, height, RGB(A) bytes).
fn decode_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let dec = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(path).expect("png"),
    ));
    let mut reader = dec.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// An exported SVG: it parses (resvg's parser), and every font it names is embedded in it.
fn check_svg(name: &str, svg: &str) {
    resvg::usvg::Tree::from_str(svg, &resvg::usvg::Options::default())
        .unwrap_or_else(|e| panic!("{name} does not parse: {e}"));
    let mut families: Vec<&str> = svg
        .split("font-family=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    families.sort_unstable();
    families.dedup();
    assert!(!families.is_empty(), "{name} has no text");
    for f in families {
        assert!(
            svg.contains(&format!(
                "@font-face {{ font-family: \"{f}\"; src: url(data:font/ttf;base64,"
            )),
            "{name} uses font {f} without embedding it"
        );
    }
}

/// The texts of an SVG's text elements.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = t.split_once('>')?.1;
            Some(body.split("</text>").next()?.trim().to_string())
        })
        .collect()
}

#[test]
fn export_writes_charts_csv_and_json_that_read_back() {
    let t = Tmp::new("export-all");
    let out = t.0.join("charts");
    let o = lmlab(&[
        "export",
        "assets/scenarios/resiliency-lab.toml",
        "--out",
        out.to_str().expect("utf8"),
        "--size",
        "800x500",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for stem in ["throughput", "cpu", "states"] {
        let (w, h, px) = decode_png(&out.join(format!("{stem}.png")));
        assert_eq!((w, h), (800, 500), "{stem}");
        let distinct: std::collections::HashSet<&[u8]> = px.chunks(3).collect();
        assert!(
            distinct.len() > 20,
            "{stem}.png looks blank ({} colours)",
            distinct.len()
        );
        // Twice the pixels at 2×, the same picture.
        let (w2, h2, _) = decode_png(&out.join(format!("{stem}@2x.png")));
        assert_eq!((w2, h2), (1600, 1000), "{stem}@2x");
        let svg = std::fs::read_to_string(out.join(format!("{stem}.svg"))).expect("svg");
        assert!(svg.starts_with("<svg"), "{stem}.svg");
        check_svg(&format!("{stem}.svg"), &svg);
        // The time axis reads as a clock, and the markers' key names what happened.
        let texts = svg_texts(&svg);
        assert!(
            texts.iter().any(|t| t == "0:01:00" || t == "0:02:00"),
            "{stem}.svg has no h:mm:ss labels: {texts:?}"
        );
        assert!(
            !texts.iter().any(|t| t.contains("1000.0")),
            "{stem}.svg still labels seconds"
        );
        assert!(
            texts
                .iter()
                .any(|t| t.contains("cluster service on node1 crashed")),
            "{stem}.svg has no marker key"
        );
    }
    let svg = std::fs::read_to_string(out.join("cpu.svg")).expect("svg");
    for host in ["node1", "node2", "node3", "node4"] {
        assert!(svg.contains(host), "cpu.svg does not name {host}");
    }
    let svg = std::fs::read_to_string(out.join("throughput.svg")).expect("svg");
    assert!(svg.contains("all live migrations"));
    let svg = std::fs::read_to_string(out.join("states.svg")).expect("svg");
    assert!(
        svg.contains("node Quarantined") && svg.contains("VM PausedCritical"),
        "state legend"
    );
    // The CSV holds the report's numbers.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).expect("json"))
            .expect("json");
    let csv = std::fs::read_to_string(out.join("series.csv")).expect("csv");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = header
        .iter()
        .position(|h| *h == "node1.healthy")
        .expect("column");
    let values: Vec<f64> = lines
        .map(|l| {
            l.split(',')
                .nth(col)
                .expect("cell")
                .parse()
                .expect("number")
        })
        .collect();
    let json: Vec<f64> = report["series"]["columns"]["node1.healthy"]
        .as_array()
        .expect("col")
        .iter()
        .map(|v| v.as_f64().expect("f64"))
        .collect();
    assert_eq!(values, json);
    let t_csv: Vec<f64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().expect("t").parse().expect("t"))
        .collect();
    let t_json: Vec<f64> = report["series"]["t_s"]
        .as_array()
        .expect("t")
        .iter()
        .map(|v| v.as_f64().expect("f64"))
        .collect();
    assert_eq!(t_csv, t_json);
}

#[test]
fn compare_export_writes_the_bar_chart() {
    let t = Tmp::new("cmp-charts");
    let o = lmlab(&[
        "compare",
        "assets/scenarios/seed-lab.toml",
        "--export",
        t.0.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (w, h, _) = decode_png(&t.0.join("compare.png"));
    assert_eq!((w, h), (1600, 900));
    let (w, h, _) = decode_png(&t.0.join("compare@2x.png"));
    assert_eq!((w, h), (3200, 1800));
    let svg = std::fs::read_to_string(t.0.join("compare.svg")).expect("svg");
    check_svg("compare.svg", &svg);
    let texts = svg_texts(&svg).join(" ");
    for name in [
        "model throughput",
        "measured reference",
        "source host CPU",
        "destination host CPU",
    ] {
        assert!(texts.contains(name), "compare.svg does not name {name}");
    }
    // Columns are named by configuration (wrapped over lines), never by id; values are labelled.
    for words in ["LACP", "No team, SMB Direct", "(RDMA)"] {
        assert!(texts.contains(words), "compare.svg lacks {words}: {texts}");
    }
    assert!(!texts.contains("row1"), "compare.svg names rows by id");
    assert!(
        texts.contains("18.1") && texts.contains("9.9"),
        "no value labels"
    );
    // A lab without measured references does not promise one in the key.
    let o = lmlab(&[
        "compare",
        "assets/scenarios/rdma-one-host.toml",
        "--export",
        t.0.join("rdma").to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let svg = std::fs::read_to_string(t.0.join("rdma/compare.svg")).expect("svg");
    let texts = svg_texts(&svg).join(" ");
    assert!(texts.contains("source host CPU"), "{texts}");
    assert!(!texts.contains("measured reference"), "{texts}");
}

#[test]
fn export_opens_sessions_and_refuses_bad_ones() {
    let t = Tmp::new("export-session");
    let bad = t.0.join("bad.json");
    std::fs::write(&bad, "{\"format_version\": 1, \"seed\": 1}").expect("write");
    refused(
        &lmlab(&[
            "export",
            bad.to_str().expect("utf8"),
            "--out",
            t.0.to_str().expect("utf8"),
        ]),
        &["bad.json", "missing field"],
    );
}

// ---- the real transport ------------------------------------------------------------------

#[test]
fn real_on_loopback_writes_a_verified_report_with_the_contract_fields() {
    let o = lmlab(&[
        "real",
        "--memory",
        "32MiB",
        "--channels",
        "2",
        "--compress",
        "lz4",
        "--dirty",
        "20MiB/s",
        "--json",
        "-",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    for key in [
        "verified",
        "avg_gbps",
        "passes",
        "downtime_ms",
        "cpu_src_pct",
        "cpu_dst_pct",
        "series",
        "bytes_per_pass",
        "wire_gbps",
    ] {
        assert!(j.get(key).is_some(), "missing {key}");
    }
    assert_eq!(j["verified"], true);
    let s = &j["series"][0];
    assert_eq!(s["channel_gbps"].as_array().map(Vec::len), Some(2));
}

#[test]
fn real_with_a_scenario_vm_reports_the_models_prediction_and_the_error() {
    let o = lmlab(&[
        "real",
        "--scenario",
        "assets/scenarios/seed-lab.toml",
        "--vm",
        "vm1",
        "--memory",
        "32MiB",
        "--json",
        "-",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(
        j["model"]["path"]
            .as_str()
            .unwrap_or("")
            .contains("SMB Direct")
    );
    assert!(j["error_vs_model"]["gbps_pct"].is_number());
}

#[test]
fn real_refuses_bad_values_with_one_clear_line() {
    refused(&lmlab(&["real", "--channels", "0"]), &["--channels", "0"]);
    refused(&lmlab(&["real", "--memory", "4097B"]), &["4 KiB"]);
    refused(&lmlab(&["real", "--compress", "gzip"]), &["gzip", "lz4"]);
    refused(&lmlab(&["real", "--dirty", "fast"]), &["fast"]);
    refused(
        &lmlab(&["real", "--drop-channel", "3@1MiB"]),
        &["only 1 channel"],
    );
    refused(
        &lmlab(&["real", "--memory", "16MiB", "--working-set", "32MiB"]),
        &["--working-set"],
    );
    refused(
        &lmlab(&[
            "real",
            "--scenario",
            "assets/scenarios/seed-lab.toml",
            "--vm",
            "nope",
        ]),
        &["nope"],
    );
    let o = Command::new(env!("CARGO_BIN_EXE_lmlab"))
        .args(["real", "--to", "127.0.0.1:9"])
        .env_remove("LMLAB_SECRET")
        .output()
        .expect("run");
    refused(&o, &["secret"]);
    let o = Command::new(env!("CARGO_BIN_EXE_lmlab"))
        .args(["agent", "--listen", "127.0.0.1:0"])
        .env("LMLAB_SECRET", "short")
        .output()
        .expect("run");
    refused(&o, &["at least 8"]);
    let o = Command::new(env!("CARGO_BIN_EXE_lmlab"))
        .args(["agent", "--listen", "not an address"])
        .env("LMLAB_SECRET", "long enough secret")
        .output()
        .expect("run");
    refused(&o, &["not an address"]);
}

/// Starts `lmlab agent` on a free loopback port; returns the child and its address.
fn start_agent(
    secret: &str,
    max_memory: &str,
) -> (
    std::process::Child,
    String,
    std::sync::mpsc::Receiver<String>,
) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_lmlab"))
        .args([
            "agent",
            "--listen",
            "127.0.0.1:0",
            "--max-memory",
            max_memory,
        ])
        .env("LMLAB_SECRET", secret)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start agent");
    let err = child.stderr.take().expect("stderr");
    let mut lines = std::io::BufReader::new(err).lines();
    let first = lines.next().expect("a line").expect("text");
    let addr = first
        .split("listening on ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("address")
        .to_string();
    // Keep draining the agent's log (so it never blocks on a full pipe) into a channel.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in lines.map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    (child, addr, rx)
}

fn real_to(addr: &str, secret: &str, extra: &[&str]) -> Output {
    let mut args = vec!["real", "--to", addr];
    args.extend_from_slice(extra);
    Command::new(env!("CARGO_BIN_EXE_lmlab"))
        .args(&args)
        .env("LMLAB_SECRET", secret)
        .output()
        .expect("run lmlab real")
}

#[test]
fn real_to_an_agent_process_verifies_and_a_wrong_secret_or_too_much_memory_is_refused() {
    let (mut agent, addr, log) = start_agent("agent secret 1", "64MiB");
    let o = real_to(
        &addr,
        "agent secret 1",
        &["--memory", "32MiB", "--channels", "4"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("verified"));
    refused(
        &real_to(&addr, "not the secret", &["--memory", "32MiB"]),
        &["authentication failed", "wrong secret"],
    );
    let line = log
        .iter()
        .find(|l| l.contains("authentication failed"))
        .expect("the agent logs the refusal");
    assert!(line.contains("wrong secret"), "{line}");
    // Encrypted, to the same agent (it follows the source).
    let o = real_to(
        &addr,
        "agent secret 1",
        &["--memory", "16MiB", "--channels", "2", "--encrypt"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("encrypted (AES-256-GCM)"));
    refused(
        &real_to(&addr, "agent secret 1", &["--memory", "128MiB"]),
        &["at most 64 MiB"],
    );
    // Still alive and serving after both refusals.
    let o = real_to(&addr, "agent secret 1", &["--memory", "16MiB"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let _ = agent.kill();
    let _ = agent.wait();
}

/// Runs lmlab with `args` (and no LMLAB_SECRET), killing it after 20 s: a refusal must come
/// at once, not after reading a device or waiting on a FIFO.
fn lmlab_bounded(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lmlab"))
        .args(args)
        .current_dir(repo())
        .env_remove("LMLAB_SECRET")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run lmlab");
    let t = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if t.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            panic!("lmlab {args:?} did not finish within 20 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// A refusal in one line (one `error:` sentence) whose OS message, if any, appears once.
fn refused_in_one_line(o: &Output, needles: &[&str]) {
    refused(o, needles);
    let err = stderr(o);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "more than one line: {err}"
    );
    assert!(
        err.matches("os error").count() <= 1,
        "OS message twice: {err}"
    );
}

#[test]
fn a_missing_scenario_is_named_with_the_os_message_once() {
    let o = lmlab_bounded(&["real", "--scenario", "no-such-lab.toml", "--vm", "vm1"]);
    refused_in_one_line(&o, &["no-such-lab.toml", "os error"]);
    let o = lmlab_bounded(&["run", "no-such-lab.toml"]);
    refused_in_one_line(&o, &["no-such-lab.toml", "os error"]);
}

/// A refusal as one `error:` sentence (clap may add its "For more information" hint), a non-zero
/// exit, no panic and the OS message at most once.
fn one_clear_error(o: &Output, needles: &[&str]) {
    refused(o, needles);
    let err = stderr(o);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("error:")).count(),
        1,
        "not one error: {err}"
    );
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("error:") || l.starts_with("For more information")),
        "more than the error: {err}"
    );
    assert!(
        err.matches("os error").count() <= 1,
        "OS message twice: {err}"
    );
}

#[test]
fn each_resource_refusal_gives_one_clear_error_and_a_non_zero_exit() {
    // More memory than this machine has available.
    one_clear_error(
        &lmlab_bounded(&["real", "--memory", "15TiB"]),
        &["--memory 15TiB", "GiB available", "smaller --memory"],
    );
    // Socket buffers outside what any OS takes.
    for (flag, value) in [("--send-buffer", "4GiB"), ("--recv-buffer", "1KiB")] {
        let o = lmlab_bounded(&["real", "--memory", "16MiB", flag, value]);
        one_clear_error(&o, &[flag, value, "outside 4KiB to 1GiB"]);
    }
    // In that range but beyond what this OS gives a socket: refused, not silently capped.
    #[cfg(target_os = "linux")]
    for (flag, sysctl) in [("--send-buffer", "wmem_max"), ("--recv-buffer", "rmem_max")] {
        let cap: u64 = std::fs::read_to_string(format!("/proc/sys/net/core/{sysctl}"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(u64::MAX);
        if cap < 1 << 30 {
            let o = lmlab_bounded(&["real", "--memory", "16MiB", flag, "1GiB"]);
            one_clear_error(&o, &[flag, "1GiB", "gives a socket at most", sysctl]);
        }
    }
    // Secret files that are not regular files, or too large, on either end.
    let t = Tmp::new("resource-refusals");
    let big = t.0.join("big.secret");
    std::fs::write(&big, vec![b'x'; 4097]).expect("write");
    let (big, folder) = (big.display().to_string(), t.0.display().to_string());
    for (path, words) in [
        (&folder, "not a regular file"),
        (&big, "larger than 4096 bytes"),
    ] {
        for cmd in [
            vec!["agent", "--listen", "127.0.0.1:0", "--secret-file", path],
            vec!["real", "--to", "127.0.0.1:9", "--secret-file", path],
        ] {
            one_clear_error(&lmlab_bounded(&cmd), &[path, words]);
        }
    }
}

#[test]
fn secret_files_that_are_not_regular_files_too_large_or_missing_are_refused_naming_the_file() {
    let t = Tmp::new("secret-files");
    let big = t.0.join("big.secret");
    std::fs::write(&big, vec![b'x'; 5000]).expect("write");
    let missing = t.0.join("missing.secret");
    let folder = t.0.display().to_string();
    let (big, missing) = (big.display().to_string(), missing.display().to_string());
    let mut cases = vec![
        (folder, "not a regular file"),
        (big, "larger than 4096 bytes"),
        (missing, "cannot read the secret file"),
    ];
    #[cfg(unix)]
    {
        cases.push(("/dev/zero".into(), "not a regular file"));
        let fifo = t.0.join("fifo.secret");
        if Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|s| s.success())
        {
            cases.push((fifo.display().to_string(), "not a regular file"));
        }
    }
    for (path, words) in &cases {
        for cmd in [
            vec!["agent", "--listen", "127.0.0.1:0", "--secret-file", path],
            vec!["real", "--to", "127.0.0.1:9", "--secret-file", path],
        ] {
            refused_in_one_line(&lmlab_bounded(&cmd), &[path, words]);
        }
    }
}

#[test]
fn a_killed_agent_process_fails_the_migration_cleanly() {
    let (mut agent, addr, log) = start_agent("agent secret 2", "1GiB");
    let child = Command::new(env!("CARGO_BIN_EXE_lmlab"))
        .args([
            "real",
            "--to",
            &addr,
            "--memory",
            "512MiB",
            "--channels",
            "2",
            "--dirty",
            "4GiB/s",
            "--compress",
            "zstd",
        ])
        .env("LMLAB_SECRET", "agent secret 2")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start real");
    // Kill the agent once the migration is under way.
    let started = log
        .iter()
        .find(|l| l.contains("started"))
        .expect("the agent logs the start");
    assert!(started.contains("512 MiB"), "{started}");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let _ = agent.kill();
    let _ = agent.wait();
    let o = child.wait_with_output().expect("real ends");
    assert!(
        !o.status.success(),
        "a migration to a killed agent cannot succeed"
    );
    let err = stderr(&o);
    assert!(
        err.contains("migration failed") && err.contains("authoritative"),
        "{err}"
    );
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("verified:"),
        "nothing reported as migrated"
    );
}

#[test]
fn real_with_rdma_says_clearly_why_it_cannot_and_to_use_tcp() {
    // No machine here has RDMA hardware; in a default build the reason is the missing feature.
    let o = lmlab(&["real", "--rdma", "--memory", "16MiB"]);
    refused(&o, &["use TCP"]);
    assert!(
        stderr(&o).contains("no RDMA device found") || stderr(&o).contains("without RDMA support"),
        "{}",
        stderr(&o)
    );
}

/// Renders a PDF's pages with pdftoppm (poppler-utils) at low resolution; the PNG files, in order.
fn pdf_pages(pdf: &Path, dir: &Path) -> Vec<PathBuf> {
    let prefix = dir.join("page");
    let o = Command::new("pdftoppm")
        .args(["-r", "40", "-png"])
        .arg(pdf)
        .arg(&prefix)
        .output()
        .expect("pdftoppm (install poppler-utils) renders the PDF");
    assert!(
        o.status.success(),
        "pdftoppm: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut pages: Vec<_> = std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("page"))
        })
        .collect();
    pages.sort();
    pages
}

#[test]
fn report_writes_a_pdf_whose_pages_all_render_with_something_on_them() {
    let t = Tmp::new("report-pdf");
    for (lab, pages) in [("seed-lab", 7), ("resiliency-lab", 5)] {
        let pdf = t.0.join(format!("{lab}.pdf"));
        let o = lmlab(&[
            "report",
            &format!("assets/scenarios/{lab}.toml"),
            "--out",
            pdf.to_str().expect("utf8"),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let bytes = std::fs::read(&pdf).expect("pdf");
        assert!(bytes.starts_with(b"%PDF-"), "{lab}: not a PDF");
        let dir = t.0.join(lab);
        std::fs::create_dir_all(&dir).expect("dir");
        let rendered = pdf_pages(&pdf, &dir);
        // Lab, (comparison table and chart,) timeline, throughput, migrations, notes.
        assert_eq!(rendered.len(), pages, "{lab}: {rendered:?}");
        for p in &rendered {
            let (_, _, px) = decode_png(p);
            let white = px.iter().filter(|&&v| v > 250).count();
            let inked = px.len() - white;
            assert!(inked > px.len() / 200, "{} looks blank", p.display());
        }
    }
    // With measurements: the CPU chart beside the model and a page of errors join the report.
    let pdf = t.0.join("measured.pdf");
    let o = lmlab(&[
        "report",
        "tests/fixtures/lab-2node.toml",
        "--measured",
        "tests/fixtures/lm-hv1.csv",
        "tests/fixtures/lm-hv2.csv",
        "--out",
        pdf.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let dir = t.0.join("measured");
    std::fs::create_dir_all(&dir).expect("dir");
    let plain = t.0.join("plain.pdf");
    let o = lmlab(&[
        "report",
        "tests/fixtures/lab-2node.toml",
        "--out",
        plain.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let plain_dir = t.0.join("plain");
    std::fs::create_dir_all(&plain_dir).expect("dir");
    assert_eq!(
        pdf_pages(&pdf, &dir).len(),
        pdf_pages(&plain, &plain_dir).len() + 2,
        "a CPU page and an error page"
    );
    // Bad input: a window outside the run is refused, naming the option.
    let o = lmlab(&[
        "report",
        "assets/scenarios/seed-lab.toml",
        "--out",
        t.0.join("x.pdf").to_str().expect("utf8"),
        "--window",
        "9:00:00-10:00:00",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--window"), "{}", stderr(&o));
}

/// Every file of a folder with its bytes, by name.
fn folder_files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("folder")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("file"),
            )
        })
        .collect()
}

#[test]
fn a_killed_export_leaves_the_old_folder_or_the_new_one_never_a_mix() {
    let t = Tmp::new("killed-export");
    let export = |dir: &Path, window: &str| {
        let o = lmlab(&[
            "export",
            "assets/scenarios/seed-lab.toml",
            "--until",
            "2m",
            "--window",
            window,
            "--out",
            dir.to_str().expect("utf8"),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    };
    // The two exports differ (another window), so a mix of them would show.
    let (old_dir, new_dir) = (t.0.join("old"), t.0.join("new"));
    export(&old_dir, "all");
    export(&new_dir, "0:00:10-0:01:00");
    let (old, new) = (folder_files(&old_dir), folder_files(&new_dir));
    assert_ne!(old, new, "test bug: the two exports are the same");
    let dir = t.0.join("out");
    let started = std::time::Instant::now();
    export(&dir, "all");
    let full = started.elapsed();
    for k in 1..=8u32 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lmlab"))
            .args([
                "export",
                "assets/scenarios/seed-lab.toml",
                "--until",
                "2m",
                "--window",
                "0:00:10-0:01:00",
                "--out",
                dir.to_str().expect("utf8"),
            ])
            .current_dir(repo())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(full * k / 8);
        let _ = child.kill();
        let _ = child.wait();
        // What a kill left is tidied by the next export's start; before that, the folder is
        // one export or the other.
        let now = folder_files(&dir);
        assert!(
            now == old || now == new,
            "kill {k}: a mix of two exports: {:?}",
            now.keys().collect::<Vec<_>>()
        );
        if now == new {
            export(&dir, "all");
        }
    }
    // The next export tidies the staging folder a kill left behind.
    export(&dir, "all");
    assert_eq!(folder_files(&dir), old);
    let left: Vec<_> = std::fs::read_dir(&t.0)
        .expect("tmp")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".lmlab-"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn an_export_refuses_a_folder_holding_files_it_did_not_write_and_leaves_them() {
    let t = Tmp::new("foreign-export");
    let dir = t.0.join("mine");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("notes.txt"), "my notes").expect("write");
    refused(
        &lmlab(&[
            "export",
            "assets/scenarios/resiliency-lab.toml",
            "--until",
            "1m",
            "--out",
            dir.to_str().expect("utf8"),
        ]),
        &["mine", "notes.txt", "new or empty folder"],
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).expect("kept"),
        "my notes"
    );
    assert_eq!(folder_files(&dir).len(), 1);
}

#[test]
fn until_on_the_command_line_is_held_to_the_same_limits_as_in_a_file() {
    refused(
        &lmlab(&[
            "run",
            "assets/scenarios/resiliency-lab.toml",
            "--until",
            "400d",
        ]),
        &["--until", "a year"],
    );
    refused(
        &lmlab(&[
            "export",
            "assets/scenarios/resiliency-lab.toml",
            "--until",
            "2y",
            "--out",
            "/nonexistent/never-written",
        ]),
        &["--until"],
    );
}

#[test]
fn import_writes_a_lab_that_runs_and_says_which_network_live_migration_uses() {
    let t = Tmp::new("import");
    let out = t.0.join("clu08.toml");
    let o = lmlab(&[
        "import",
        "tests/fixtures/inventory-8node-lbfo.json",
        "--out",
        out.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        said.contains("node1: live-migration networks = 'Management'")
            && said.contains("'LM' is excluded by MigrationExcludeNetworks"),
        "{said}"
    );
    assert!(stderr(&o).contains("warning: guest dirty rates"));
    let o = lmlab(&["compare", out.to_str().expect("utf8"), "--json", "-"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let g = c["rows"][0]["throughput_gbps"].as_f64().expect("gbps");
    assert!(
        (0.8..=1.0).contains(&g),
        "about 1 Gbit/s on the management team, got {g}"
    );
    let o = lmlab(&["run", out.to_str().expect("utf8"), "--until", "3m"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("completed"));
    // A broken inventory: one clear error naming the JSON path, nothing written.
    let bad = t.0.join("bad.json");
    std::fs::write(&bad, "{\"schema\":\"lmlab.inventory/1\",\"hosts\":[]}").expect("write");
    let again = t.0.join("again.toml");
    refused_in_one_line(
        &lmlab(&[
            "import",
            bad.to_str().expect("utf8"),
            "--out",
            again.to_str().expect("utf8"),
        ]),
        &["bad.json: at $.hosts: expected an object, found a list"],
    );
    assert!(!again.exists());
}

#[test]
fn check_passes_warns_and_fails_with_reasons_and_a_non_zero_exit_on_failure() {
    let o = lmlab(&["check", "tests/fixtures/inventory-2node.json"]);
    assert!(!o.status.success(), "RoCE without PFC must fail the check");
    let table = String::from_utf8_lossy(&o.stdout);
    for line in [
        "FAIL  RoCE without PFC",
        "WARN  VM configuration version below the isolation threshold",
        "WARN  Bandwidth limit below the links",
        "WARN  DCBX Willing on RDMA NICs",
        "PASS  RDMA NIC in an LBFO team",
    ] {
        assert!(table.contains(line), "{line} missing in\n{table}");
    }
    assert!(stderr(&o).contains("4 check(s) failed"), "{}", stderr(&o));
    let o = lmlab(&[
        "check",
        "tests/fixtures/inventory-8node-lbfo.json",
        "--json",
        "-",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let f: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let mgmt: Vec<&serde_json::Value> = f
        .as_array()
        .expect("list")
        .iter()
        .filter(|x| x["rule"] == "Live migration on the management network")
        .collect();
    assert_eq!(mgmt.len(), 8);
    assert_eq!(mgmt[0]["verdict"], "warn");
    assert!(
        mgmt[0]["reason"]
            .as_str()
            .expect("text")
            .contains("'LM' is excluded by MigrationExcludeNetworks")
    );
    let o = lmlab(&["check", "tests/fixtures/inventory-4node-hci.json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!String::from_utf8_lossy(&o.stdout).contains("FAIL"));
}

#[test]
fn explain_prints_each_setting_with_the_rule_that_decided_it() {
    let o = lmlab(&["explain", "tests/fixtures/inventory-8node-lbfo.json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    for want in [
        "node1: live-migration networks = 'Management' (the management network (Role ClusterAndClient), because network 'LM' is excluded by MigrationExcludeNetworks)",
        "cluster: VM Compute Resiliency = on",
        "node1: live-migration path to node2 = TCP, 1 flow on SwitchIndependent team Mgmt1+Mgmt2",
    ] {
        assert!(text.contains(want), "{want} missing in\n{text}");
    }
    let o = lmlab(&["explain", "assets/scenarios/seed-lab.toml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("hv1: RDMA on nic1 = usable"));
    refused(
        &lmlab(&["explain", "no-such-file.toml"]),
        &["no-such-file.toml"],
    );
}

#[test]
fn overlay_sets_the_measured_migration_beside_the_model_and_exports_its_error_table() {
    let t = Tmp::new("overlay");
    let out = t.0.join("ov");
    // The imported lab has app02 on hv2 and migrates sql01: the overlay sets it up as measured.
    let lab = t.0.join("lab.toml");
    let o = lmlab(&[
        "import",
        "tests/fixtures/inventory-2node.json",
        "--out",
        lab.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = lmlab(&[
        "overlay",
        lab.to_str().expect("utf8"),
        "--measured",
        "tests/fixtures/lm-hv1.csv",
        "tests/fixtures/lm-hv2.csv",
        "tests/fixtures/vmms-hv1.xml",
        "--out",
        out.to_str().expect("utf8"),
        "--json",
        t.0.join("ov.json").to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("app02 starts on hv1, where the measurement found it")
            && err.contains("left out"),
        "{err}"
    );
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        said.contains("app02 hv1 → hv2 (lm-hv1.csv, lm-hv2.csv, vmms-hv1.xml)"),
        "{said}"
    );
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(t.0.join("ov.json")).expect("json"))
            .expect("json");
    let q = &j[0]["quantities"];
    let get = |name: &str| {
        q.as_array()
            .expect("rows")
            .iter()
            .find(|r| r["name"].as_str().is_some_and(|n| n.starts_with(name)))
            .unwrap_or_else(|| panic!("{name} in {q}"))
            .clone()
    };
    // Measured just under the SMB bandwidth limit; the model is held to that limit too.
    let tp = get("throughput");
    assert!(
        (tp["measured"].as_f64().expect("f") - 2.9347).abs() < 1e-3,
        "{tp}"
    );
    assert!(
        (tp["model"].as_f64().expect("f") - 2.936).abs() < 0.01,
        "{tp}"
    );
    assert_eq!(get("pause")["measured"].as_f64(), Some(52.0));
    get("CPU hv1");
    get("CPU hv2");
    get("total time");
    // The charts carry the measured lines; the error table is a file of the export.
    let csv = std::fs::read_to_string(out.join("measured-error.csv")).expect("csv");
    assert!(
        csv.starts_with("run,vm,quantity,unit,measured,model,error,error_pct\n"),
        "{csv}"
    );
    // Throughput, two CPUs, the three measured RDMA NICs, pause and total time.
    assert_eq!(csv.lines().count(), 9, "{csv}");
    assert!(csv.contains(",hv2 SMB2 RDMA in,Gbit/s,"), "{csv}");
    let svg = std::fs::read_to_string(out.join("throughput.svg")).expect("svg");
    assert!(
        svg.contains("measured app02"),
        "the key names the measured line"
    );
    // The same through `lmlab export --measured`.
    let out2 = t.0.join("ex");
    let o = lmlab(&[
        "export",
        lab.to_str().expect("utf8"),
        "--measured",
        "tests/fixtures/lm-hv1.csv",
        "--out",
        out2.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out2.join("measured-error.csv").exists());
}

#[test]
fn calibrate_writes_the_lab_with_the_fitted_transport_table_that_compare_then_uses() {
    let t = Tmp::new("calibrate");
    let out = t.0.join("cal.toml");
    let o = lmlab(&[
        "calibrate",
        "assets/scenarios/seed-lab.toml",
        "--references",
        "--out",
        out.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        said.contains("fitted") && said.contains("not constrained, kept; would need"),
        "{said}"
    );
    assert!(said.contains("chi-square"), "{said}");
    let text = std::fs::read_to_string(&out).expect("toml");
    assert!(text.contains("# Calibrated by `lmlab calibrate`"), "{text}");
    let o = lmlab(&["compare", out.to_str().expect("utf8"), "--json", "-"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Against measurements: the 2-node lab's run.
    let out2 = t.0.join("cal2.toml");
    let o = lmlab(&[
        "calibrate",
        "tests/fixtures/lab-2node.toml",
        "--measured",
        "tests/fixtures/lm-hv1.csv",
        "tests/fixtures/lm-hv2.csv",
        "--out",
        out2.to_str().expect("utf8"),
        "--json",
        "-",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let fitted: Vec<&str> = j["params"]
        .as_array()
        .expect("params")
        .iter()
        .filter(|p| p["status"] == "fitted")
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        fitted,
        ["lm_memcopy_cpb"],
        "CPU of an SMB Direct run at its bandwidth limit"
    );
}

#[test]
fn bad_measurement_input_is_refused_with_the_file_line_and_reason() {
    let t = Tmp::new("measured-bad");
    let comma = t.0.join("comma.csv");
    let text = std::fs::read_to_string(repo().join("tests/fixtures/lm-hv1.csv"))
        .expect("fixture")
        .replace("\"3.215625\"", "\"3,215625\"");
    std::fs::write(&comma, text).expect("write");
    let big = t.0.join("big.csv");
    std::fs::File::create(&big)
        .expect("big")
        .set_len(100 * 1024 * 1024)
        .expect("len");
    let map = t.0.join("map.toml");
    std::fs::write(&map, "[hosts]\nHV1 = \"hv1\"\n[nodes]\n").expect("write");
    let lab = "tests/fixtures/lab-2node.toml";
    let out = t.0.join("x.toml");
    let o = out.to_str().expect("utf8");
    for (args, needles) in [
        (
            vec!["overlay", lab, "--measured", comma.to_str().expect("utf8")],
            vec!["comma.csv:3:", "decimal comma"],
        ),
        (
            vec!["overlay", lab, "--measured", big.to_str().expect("utf8")],
            vec!["big.csv", "limited to"],
        ),
        (
            vec![
                "overlay",
                lab,
                "--measured",
                "tests/fixtures/lm-hv1.csv",
                "--map",
                map.to_str().expect("utf8"),
            ],
            vec!["map.toml:3:"],
        ),
        (
            vec!["calibrate", lab, "--out", o],
            vec!["give --measured FILE… or --references"],
        ),
        // The window is not opened on measurements that make no run.
        (
            vec![lab, "--measured", "tests/fixtures/vmms-hv1.xml"],
            vec!["no live migration of a VM of this lab"],
        ),
        (
            vec![
                "calibrate",
                lab,
                "--measured",
                "tests/fixtures/vmms-hv1.xml",
                "--out",
                o,
            ],
            vec!["no live migration of a VM of the lab"],
        ),
    ] {
        refused(&lmlab(&args), &needles);
    }
    assert!(!out.exists(), "nothing written on a refusal");
}

#[test]
fn the_backup_night_runs_headless_and_writes_its_jobs_to_json_and_csv() {
    let tmp = Tmp::new("backup-night");
    let csv = tmp.0.join("csv");
    let json = tmp.0.join("report.json");
    let o = lmlab(&[
        "run",
        "assets/scenarios/backup-night.toml",
        "--json",
        json.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = std::fs::read_to_string(&json).unwrap();
    for field in [
        "\"backup_jobs\"",
        "\"restore_points\"",
        "\"integration_services\"",
        "\"0x80042316\"",
        // Repaired by the end of the night.
        "\"Up to date\"",
    ] {
        assert!(report.contains(field), "{field} missing");
    }
    let jobs = std::fs::read_to_string(csv.join("backup-jobs.csv")).unwrap();
    assert!(jobs.starts_with("set,attempt,manual,queued_s,start_s,end_s,outcome,code,vms,error\n"));
    assert!(
        jobs.contains("rm-node1,2,false,"),
        "the retry is a row: {jobs}"
    );
    assert!(jobs.contains("0x80042316"));
    // Labs without backups write no such file.
    let plain = tmp.0.join("plain");
    let o = lmlab(&[
        "run",
        "assets/scenarios/seed-lab.toml",
        "--csv",
        plain.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!plain.join("backup-jobs.csv").exists());
}
