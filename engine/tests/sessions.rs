//! Session files: exact replay, atomic saves that survive a kill, and refusal of bad files.

// Tests fail by panicking; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lmlab_engine::report::Report;
use lmlab_engine::session::{SessionFile, atomic_write};
use lmlab_engine::{Command, Scenario, SimTime, Simulation};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn preset(name: &str) -> Scenario {
    let path = format!("{}/../assets/scenarios/{name}", env!("CARGO_MANIFEST_DIR"));
    Scenario::load(std::path::Path::new(&path)).unwrap()
}

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lmlab-session-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A session built through engine commands, as the GUI would.
fn built_session() -> (Simulation, BTreeMap<String, [f32; 2]>) {
    let mut sim = Simulation::new(preset("resiliency-lab.toml"), 3);
    let steps: Vec<(u64, Command)> = vec![
        (
            5,
            Command::Migrate {
                vm: "vm-app-3".into(),
                to: "node4".into(),
            },
        ),
        (
            20,
            Command::PullNic {
                node: "node2".into(),
                nic: "nic2".into(),
            },
        ),
        (
            45,
            Command::PauseNode {
                node: "node4".into(),
            },
        ),
        (
            100,
            Command::ResumeNode {
                node: "node4".into(),
            },
        ),
        (
            130,
            Command::PowerOff {
                node: "node3".into(),
            },
        ),
        (
            400,
            Command::PowerOn {
                node: "node3".into(),
            },
        ),
    ];
    for (t, c) in steps {
        sim.advance_to(SimTime::from_secs(t));
        sim.apply(c).unwrap();
    }
    sim.advance_to(SimTime::from_micros(655_123_456));
    let mut layout = BTreeMap::new();
    layout.insert("host:node1".to_string(), [12.5, -3.0]);
    (sim, layout)
}

#[test]
fn a_saved_session_reopens_to_the_identical_state_and_report() {
    let (sim, layout) = built_session();
    let d = tmp("roundtrip");
    let path = d.join("lab.lmlab.json");
    let s = SessionFile::capture(&sim, &layout).unwrap();
    s.save(&path).unwrap();
    let back = SessionFile::load(&path).unwrap();
    assert_eq!(back, s);
    let reopened = back.open("lab.lmlab.json").unwrap();
    assert_eq!(reopened.now(), sim.now());
    assert_eq!(reopened.snapshot(), sim.snapshot());
    assert_eq!(
        Report::from_simulation(&reopened).to_json().unwrap(),
        Report::from_simulation(&sim).to_json().unwrap()
    );
    assert_eq!(back.layout, layout);
    // And saving the reopened session gives the same file.
    assert_eq!(
        SessionFile::capture(&reopened, &layout)
            .unwrap()
            .to_json()
            .unwrap(),
        s.to_json().unwrap()
    );
}

#[test]
fn the_version_1_golden_session_still_loads_and_replays() {
    let golden = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/golden/session-v1.json"
    );
    let s = SessionFile::load(std::path::Path::new(golden)).unwrap_or_else(|e| panic!("{e}"));
    let sim = s.open("session-v1.json").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sim.now(), SimTime::from_secs(700));
    let snap = sim.snapshot();
    // What the golden session did: crash node1 three times (quarantined at 330 s for 300 s, so
    // Up again at 700 s), migrate vm-app-3.
    let q = sim
        .events()
        .iter()
        .find(|e| e.event_id == Some(1672))
        .expect("quarantined");
    assert_eq!(q.t, SimTime::from_secs(330));
    assert!(snap.nodes[0].status.is_empty(), "{:?}", snap.nodes[0]);
    assert_eq!(
        snap.vms.iter().find(|v| v.name == "vm-app-3").unwrap().host,
        "node4"
    );
}

/// Writes the golden file when asked (LMLAB_WRITE_GOLDEN=1); the committed file is the contract.
#[test]
fn golden_writer() {
    if std::env::var("LMLAB_WRITE_GOLDEN").is_err() {
        return;
    }
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
    let mut sim = Simulation::new(Scenario::from_toml(&text, "golden").unwrap(), 11);
    for (t, c) in [
        (
            30,
            Command::CrashClusterService {
                node: "node1".into(),
            },
        ),
        (
            60,
            Command::RestartClusterService {
                node: "node1".into(),
            },
        ),
        (
            150,
            Command::CrashClusterService {
                node: "node1".into(),
            },
        ),
        (
            180,
            Command::RestartClusterService {
                node: "node1".into(),
            },
        ),
        (
            300,
            Command::CrashClusterService {
                node: "node1".into(),
            },
        ),
        (
            330,
            Command::RestartClusterService {
                node: "node1".into(),
            },
        ),
        (
            400,
            Command::Migrate {
                vm: "vm-app-3".into(),
                to: "node4".into(),
            },
        ),
    ] {
        sim.advance_to(SimTime::from_secs(t));
        sim.apply(c).unwrap();
    }
    sim.advance_to(SimTime::from_secs(700));
    let mut layout = BTreeMap::new();
    layout.insert("host:node1".to_string(), [0.0, 140.0]);
    let s = SessionFile::capture(&sim, &layout).unwrap();
    std::fs::write(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/golden/session-v1.json"
        ),
        s.to_json().unwrap(),
    )
    .unwrap();
}

/// In a child process: save alternating large sessions to one path forever (until killed).
#[test]
fn save_loop_child() {
    let Ok(path) = std::env::var("LMLAB_SAVE_LOOP") else {
        return;
    };
    let (sim, layout) = built_session();
    let mut s = SessionFile::capture(&sim, &layout).unwrap();
    // Make each file big enough that a kill often lands mid-write.
    let big: String = "x".repeat(4 * 1024 * 1024);
    let mut i = 0u64;
    loop {
        s.lmlab_version = format!("{i} {big}");
        let _ = s.save(std::path::Path::new(&path));
        i += 1;
    }
}

#[test]
fn killing_a_process_in_the_middle_of_saving_leaves_a_file_that_loads() {
    let d = tmp("kill");
    let path = d.join("s.json");
    let (sim, layout) = built_session();
    SessionFile::capture(&sim, &layout)
        .unwrap()
        .save(&path)
        .unwrap();
    let exe = std::env::current_exe().unwrap();
    for round in 0..8u64 {
        let mut child = std::process::Command::new(&exe)
            .args([
                "--exact",
                "save_loop_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("LMLAB_SAVE_LOOP", &path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(150 + 37 * round));
        child.kill().unwrap();
        child.wait().unwrap();
        let s = SessionFile::load(&path).unwrap_or_else(|e| panic!("round {round}: {e}"));
        let reopened = s.open("s.json").unwrap();
        assert_eq!(reopened.snapshot(), sim.snapshot(), "round {round}");
    }
    // The killed saves' temporary files are removed by the next save in that folder, and that
    // save leaves none of its own.
    atomic_write(&path, b"{}").unwrap();
    let dir = path.parent().unwrap();
    let temps: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(temps.is_empty(), "left behind: {temps:?}");
}

#[test]
fn a_save_removes_what_killed_saves_of_that_file_left_and_nothing_else() {
    let dir = std::env::temp_dir().join(format!("lmlab-stale-temps-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("lab.lmlab.json");
    let stale = dir.join(".lab.lmlab.json.999999.tmp");
    let other = dir.join(".other.json.999999.tmp");
    let mine = dir.join("notes.1.tmp");
    for f in [&stale, &other, &mine] {
        std::fs::write(f, b"half a save").unwrap();
    }
    atomic_write(&path, b"{}").unwrap();
    assert!(!stale.exists(), "a killed save's temp file stayed");
    assert!(
        other.exists() && mine.exists(),
        "files of other saves were removed"
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"{}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn refused(text: &str, needles: &[&str]) {
    let e = SessionFile::from_json(text, "s.json")
        .and_then(|s| s.open("s.json").map(|_| ()))
        .expect_err(text.get(..60).unwrap_or(text));
    let msg = e.to_string();
    assert!(msg.starts_with("s.json"), "{msg}");
    for n in needles {
        assert!(msg.contains(n), "`{n}` missing from: {msg}");
    }
}

fn good_text() -> String {
    let (sim, layout) = built_session();
    SessionFile::capture(&sim, &layout)
        .unwrap()
        .to_json()
        .unwrap()
}

#[test]
fn bad_session_files_are_refused_with_clear_errors() {
    let good = good_text();
    refused(&good[..good.len() / 2], &["EOF"]);
    // A number is not an action (serde would read 5 as the sixth variant, power_off), and an
    // unknown word names the choices.
    let first_action = good
        .find("\"action\": \"")
        .expect("the good session has commands");
    let end = good[first_action + 11..].find('"').expect("closing quote") + first_action + 12;
    let with_action = |a: &str| format!("{}\"action\": {a}{}", &good[..first_action], &good[end..]);
    refused(&with_action("5"), &["commands[0].action", "found 5"]);
    refused(&with_action("\"power_offf\""), &["power_offf", "power_off"]);
    refused("{ this is not json", &["key must be a string"]);
    refused(
        &good.replacen("\"format_version\": 1", "\"format_version\": 2", 1),
        &["newer lmlab", "version 1"],
    );
    refused(
        &good.replacen("\"format_version\": 1,", "", 1),
        &["format_version", "missing"],
    );
    refused(
        &good.replacen("\"seed\": 3", "\"seed\": \"three\"", 1),
        &["invalid type"],
    );
    refused(
        &good.replacen("\"seed\": 3", "\"seed\": 1e999", 1),
        &["s.json:"],
    );
    refused(
        &good.replacen("\"seed\": 3", "\"seed\": 3, \"colour\": 1", 1),
        &["unknown field `colour`"],
    );
    refused(
        &format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
        &["recursion limit"],
    );
    refused(
        &good.replacen("\"now\": \"", "\"now\": \"-", 1),
        &["malformed duration"],
    );
    refused(
        &good.replacen("\"vm\": \"vm-app-3\"", "\"vm\": \"vm-nope\"", 1),
        &["does not replay", "vm-nope"],
    );
    refused(
        &good.replacen("format_version = 1", "format_version = 7", 1),
        &["embedded scenario", "newer lmlab"],
    );
    refused(
        &good.replacen("\"at\": \"5s\"", "\"at\": \"900s\"", 1),
        &["time order"],
    );
    refused(&good.replacen("12.5", "1e999", 1), &["s.json:"]);
}

#[test]
fn unreadable_files_say_why() {
    let e = SessionFile::load(std::path::Path::new("/nonexistent/s.json")).unwrap_err();
    assert!(e.to_string().contains("cannot read the session"), "{e}");
    let d = tmp("bytes");
    std::fs::write(d.join("b.json"), b"\xff\xfe\x00garbage").unwrap();
    let e = SessionFile::load(&d.join("b.json")).unwrap_err();
    assert!(e.to_string().contains("UTF-8"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Arbitrary bytes never panic the loader.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = SessionFile::from_json(&text, "fuzz.json").map(|s| s.open("fuzz.json"));
    }

    /// Valid sessions with random damage never panic the loader either.
    #[test]
    fn damaged_sessions_never_panic(cut in 0usize..4000, pos in 0usize..4000, byte in any::<u8>()) {
        let mut text = good_text().into_bytes();
        let p = pos % text.len();
        text[p] = byte;
        text.truncate(text.len() - cut.min(text.len()));
        let text = String::from_utf8_lossy(&text);
        let _ = SessionFile::from_json(&text, "fuzz.json").map(|s| s.open("fuzz.json"));
    }
}

#[test]
fn a_session_with_integration_services_and_backup_commands_reopens_identically() {
    let mut sim = Simulation::new(preset("backup-night.toml"), 1);
    let steps: Vec<(u64, Command)> = vec![
        (
            60,
            Command::UninstallIntegrationServices {
                vm: "vm-xp-2".into(),
            },
        ),
        (
            200,
            Command::RebootGuest {
                vm: "vm-xp-2".into(),
            },
        ),
        (
            400,
            Command::InstallIntegrationServices {
                vm: "vm-xp-2".into(),
            },
        ),
        (
            700,
            Command::ThirdPartyBackup {
                node: "node2".into(),
                duration: lmlab_engine::SimDuration::from_secs(30),
            },
        ),
        (
            710,
            Command::RunBackupSet {
                set: "rm-legacy".into(),
            },
        ),
        (
            800,
            Command::ModifyBackupSet {
                set: "rm-csv1".into(),
                keep: 2,
            },
        ),
    ];
    for (t, c) in steps {
        sim.advance_to(SimTime::from_secs(t));
        sim.apply(c).unwrap();
    }
    sim.advance_to(SimTime::from_secs(5400));
    let d = tmp("backup");
    let path = d.join("night.lmlab.json");
    let s = SessionFile::capture(&sim, &BTreeMap::new()).unwrap();
    s.save(&path).unwrap();
    let reopened = SessionFile::load(&path)
        .unwrap()
        .open("night.lmlab.json")
        .unwrap();
    assert_eq!(
        Report::from_simulation(&reopened).to_json().unwrap(),
        Report::from_simulation(&sim).to_json().unwrap()
    );
    assert_eq!(reopened.backup_jobs(), sim.backup_jobs());
}
