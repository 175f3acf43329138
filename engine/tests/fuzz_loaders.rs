//! Fuzzing of the scenario and session loaders (proptest): every file of the checked-in corpus
//! (`tests/fuzz/scenario`, `tests/fuzz/session` and the built-in labs), mutated at random — bytes
//! flipped, lines cut, doubled or deleted, values swapped for hostile ones (huge, negative, NaN,
//! empty, wrong type, control characters) — is either refused with one clear error that names the
//! file and quotes at most a short excerpt, or accepted as a lab that then runs. Never a panic.
//! Failing cases proptest finds are kept in `fuzz_loaders.proptest-regressions` (checked in) and
//! replayed first. `LMLAB_BLESS=1` rewrites the generated part of the corpus (the sessions);
//! `FUZZ_COUNTS=1` prints how many mutated files were accepted and refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lmlab_engine::session::SessionFile;
use lmlab_engine::{Command, Scenario, SimDuration, SimTime, Simulation};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    v.sort();
    v
}

fn scenario_corpus() -> Vec<(String, String)> {
    let mut v = files(&root().join("assets/scenarios"), "toml");
    v.extend(files(&root().join("tests/fuzz/scenario"), "toml"));
    v.into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

fn session_corpus() -> Vec<(String, String)> {
    files(&root().join("tests/fuzz/session"), "json")
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// Values a hostile or careless file might hold.
const VALUES: &[&str] = &[
    "0",
    "-1",
    "1e308",
    "-1e308",
    "nan",
    "inf",
    "18446744073709551616",
    "4294967296",
    "\"\"",
    "\"x\"",
    "\"1us\"",
    "\"0s\"",
    "\"999999999d\"",
    "\"-5s\"",
    "\"1e400GiB\"",
    "\"🙂\"",
    "\"a\\u0000b\"",
    "[]",
    "{}",
    "true",
    "[1, 2, 3]",
    "\"NaN\"",
];

#[derive(Clone, Debug)]
enum Mutation {
    FlipByte { at: usize, to: u8 },
    Truncate { at: usize },
    DeleteLine { line: usize },
    DuplicateLine { line: usize, times: u8 },
    ReplaceValue { line: usize, value: usize },
    InsertText { at: usize, text: String },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, to)| Mutation::FlipByte { at, to }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        any::<usize>().prop_map(|line| Mutation::DeleteLine { line }),
        (any::<usize>(), 1u8..40).prop_map(|(line, times)| Mutation::DuplicateLine { line, times }),
        (any::<usize>(), 0..VALUES.len())
            .prop_map(|(line, value)| Mutation::ReplaceValue { line, value }),
        (any::<usize>(), "[\\[\\]{}=,:\"a-z0-9 \\n]{0,12}")
            .prop_map(|(at, text)| Mutation::InsertText { at, text }),
    ]
}

/// Applies `m` to `text`; indices wrap around, so every mutation applies to every file.
fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let pick = |n: usize, i: usize| if n == 0 { 0 } else { i % n };
    match m {
        Mutation::FlipByte { at, to } => {
            let mut b = text.as_bytes().to_vec();
            if !b.is_empty() {
                let i = pick(b.len(), *at);
                b[i] = *to;
            }
            String::from_utf8_lossy(&b).into_owned()
        }
        Mutation::Truncate { at } => {
            let mut i = pick(text.len(), *at);
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            text[..i].to_string()
        }
        Mutation::DeleteLine { line } => {
            if !lines.is_empty() {
                lines.remove(pick(lines.len(), *line));
            }
            lines.join("\n")
        }
        Mutation::DuplicateLine { line, times } => {
            if !lines.is_empty() {
                let i = pick(lines.len(), *line);
                let l = lines[i].clone();
                for _ in 0..*times {
                    lines.insert(i, l.clone());
                }
            }
            lines.join("\n")
        }
        Mutation::ReplaceValue { line, value } => {
            // TOML `key = value` or JSON `"key": value,`: the value after the first separator.
            let with_value: Vec<usize> = (0..lines.len())
                .filter(|&i| lines[i].contains(" = ") || lines[i].contains("\": "))
                .collect();
            if !with_value.is_empty() {
                let i = with_value[pick(with_value.len(), *line)];
                let l = &lines[i];
                let (head, comma) = match l.find(" = ") {
                    Some(k) => (l[..k + 3].to_string(), ""),
                    None => {
                        let k = l.find("\": ").unwrap();
                        let comma = if l.trim_end().ends_with(',') { "," } else { "" };
                        (l[..k + 3].to_string(), comma)
                    }
                };
                lines[i] = format!("{head}{}{comma}", VALUES[*value]);
            }
            lines.join("\n")
        }
        Mutation::InsertText { at, text: t } => {
            let mut i = pick(text.len() + 1, *at);
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            format!("{}{t}{}", &text[..i], &text[i..])
        }
    }
}

/// An error for the user: it names the file, and quotes little of the input.
fn assert_clear(error: &str, file: &str) {
    assert!(
        error.contains(file),
        "the error does not name {file}: {error}"
    );
    assert!(
        error.chars().count() <= 1200,
        "{} characters of error: {}…",
        error.chars().count(),
        error.chars().take(200).collect::<String>()
    );
}

/// An accepted lab is one lmlab can run: it writes itself back and simulates a little.
fn exercise(scenario: Scenario) {
    let text = scenario
        .to_toml()
        .expect("an accepted lab writes itself back");
    Scenario::from_toml(&text, "round-trip.toml").expect("and reads itself again");
    let small = scenario.spec.hosts.len() <= 16 && scenario.spec.vms.len() <= 256;
    if small && scenario.spec.sample_step >= SimDuration::from_millis(100) {
        let mut sim = Simulation::new(scenario, 1);
        sim.advance_to(SimTime::from_secs(120));
    }
}

fn check_scenario(name: &str, text: &str) {
    match Scenario::from_toml(text, name) {
        Ok(s) => {
            count(0);
            exercise(s)
        }
        Err(e) => {
            count(1);
            assert_clear(&e.to_string(), name)
        }
    }
}

static COUNTS: [std::sync::atomic::AtomicUsize; 2] = [
    std::sync::atomic::AtomicUsize::new(0),
    std::sync::atomic::AtomicUsize::new(0),
];
fn count(i: usize) {
    COUNTS[i].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if std::env::var_os("FUZZ_COUNTS").is_some() {
        eprintln!(
            "ok {} refused {}",
            COUNTS[0].load(std::sync::atomic::Ordering::Relaxed),
            COUNTS[1].load(std::sync::atomic::Ordering::Relaxed)
        );
    }
}

fn check_session(name: &str, text: &str) {
    match SessionFile::from_json(text, name) {
        Err(e) => {
            count(1);
            assert_clear(&e.to_string(), name)
        }
        // Replaying is simulating up to `now`: only short sessions here.
        Ok(s) if s.now <= SimDuration::from_secs(600) => match s.open(name) {
            Ok(sim) => {
                count(0);
                assert_eq!(sim.now(), SimTime::ZERO + s.now)
            }
            Err(e) => assert_clear(&e.to_string(), name),
        },
        Ok(_) => {}
    }
}

#[test]
fn every_file_of_the_corpus_loads_or_is_refused_clearly() {
    if std::env::var_os("LMLAB_BLESS").is_some() {
        bless_sessions();
    }
    let scenarios = scenario_corpus();
    assert!(scenarios.len() >= 12, "{} scenario files", scenarios.len());
    for (name, text) in &scenarios {
        check_scenario(name, text);
        // The corpus's hostile files are refused; the others load.
        let refused = Scenario::from_toml(text, name).is_err();
        assert_eq!(refused, name.starts_with("bad-"), "{name}");
    }
    let sessions = session_corpus();
    assert!(sessions.len() >= 3, "{} session files", sessions.len());
    for (name, text) in &sessions {
        check_session(name, text);
        let refused = SessionFile::from_json(text, name)
            .and_then(|s| s.open(name))
            .is_err();
        assert_eq!(refused, name.starts_with("bad-"), "{name}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn a_mutated_scenario_is_refused_clearly_or_runs(
        pick in any::<usize>(),
        ms in prop::collection::vec(mutation(), 1..4),
    ) {
        let corpus = scenario_corpus();
        let (name, text) = &corpus[pick % corpus.len()];
        let mutated = ms.iter().fold(text.clone(), |t, m| apply(&t, m));
        check_scenario(name, &mutated);
    }

    #[test]
    fn a_mutated_session_is_refused_clearly_or_replays(
        pick in any::<usize>(),
        ms in prop::collection::vec(mutation(), 1..4),
    ) {
        let corpus = session_corpus();
        let (name, text) = &corpus[pick % corpus.len()];
        let mutated = ms.iter().fold(text.clone(), |t, m| apply(&t, m));
        check_session(name, &mutated);
    }
}

/// The measurement fixtures: PerfMon logs of both hosts, the VMMS event as XML and CSV, a real
/// run's JSON.
fn measured_corpus() -> Vec<(String, String)> {
    let dir = root().join("tests/fixtures");
    [
        "lm-hv1.csv",
        "lm-hv2.csv",
        "vmms-hv1.xml",
        "vmms-hv1.csv",
        "real-app02.json",
    ]
    .iter()
    .map(|n| (n.to_string(), std::fs::read_to_string(dir.join(n)).unwrap()))
    .collect()
}

/// A mutated measurement file is refused with one bounded error naming it, or it reads, makes
/// runs on the 2-node lab, and sets them beside the model without a panic.
fn check_measured(name: &str, text: &str, lab: &Scenario) {
    use lmlab_engine::measured::{self, NameMap, overlay};
    match measured::parse(text, name) {
        Err(e) => {
            let e = e.to_string();
            assert!(e.starts_with(name), "{e}");
            assert!(e.len() <= 1200, "{} characters", e.len());
        }
        Ok(f) => {
            let m = measured::assemble(&[(name.to_string(), f)], &lab.spec, &NameMap::default());
            let (prepared, _) = overlay::prepare(lab, &m.runs);
            let seed = prepared.spec.seed;
            let mut sim = Simulation::new(prepared.clone(), seed);
            overlay::run_until_compared(&mut sim, &m.runs, 600);
            for c in overlay::compare(&sim, &m.runs) {
                assert!(
                    c.quantities
                        .iter()
                        .all(|q| q.measured.is_finite() && q.model.is_finite())
                );
            }
            for run in &m.runs {
                if let Ok(o) = lmlab_engine::calibrate::Observation::of_run(&prepared, run) {
                    assert!(
                        o.model(&prepared.spec.transport)
                            .iter()
                            .all(|v| v.is_finite())
                    );
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn a_mutated_measurement_file_is_refused_clearly_or_sits_beside_the_model(
        pick in any::<usize>(),
        ms in prop::collection::vec(mutation(), 1..4),
    ) {
        let corpus = measured_corpus();
        let lab = Scenario::load(&root().join("tests/fixtures/lab-2node.toml")).unwrap();
        let (name, text) = &corpus[pick % corpus.len()];
        let mutated = ms.iter().fold(text.clone(), |t, m| apply(&t, m));
        check_measured(name, &mutated, &lab);
    }
}

/// The generated part of the corpus (written with `LMLAB_BLESS=1`): sessions saved from
/// built-in labs, one with commands, one without.
fn bless_sessions() {
    let dir = root().join("tests/fuzz/session");
    let preset = |n: &str| Scenario::load(&root().join("assets/scenarios").join(n)).unwrap();
    let mut sim = Simulation::new(preset("resiliency-lab.toml"), 3);
    for (t, cmd) in [
        (
            5,
            Command::Migrate {
                vm: "vm-app-3".into(),
                to: "node4".into(),
            },
        ),
        (
            30,
            Command::CrashClusterService {
                node: "node2".into(),
            },
        ),
        (
            45,
            Command::RestartClusterService {
                node: "node2".into(),
            },
        ),
        (
            60,
            Command::PauseNode {
                node: "node3".into(),
            },
        ),
    ] {
        sim.advance_to(SimTime::from_secs(t));
        sim.apply(cmd).unwrap();
    }
    sim.advance_to(SimTime::from_secs(120));
    let mut layout = BTreeMap::new();
    layout.insert("host:node1".to_string(), [10.0, 20.0]);
    let with_commands = SessionFile::capture(&sim, &layout)
        .unwrap()
        .to_json()
        .unwrap();
    let mut seed = Simulation::new(preset("seed-lab.toml"), 7);
    seed.advance_to(SimTime::from_secs(90));
    let plain = SessionFile::capture(&seed, &BTreeMap::new())
        .unwrap()
        .to_json()
        .unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("resiliency-commands.json"), with_commands).unwrap();
    std::fs::write(dir.join("seed-lab-90s.json"), plain).unwrap();
}
