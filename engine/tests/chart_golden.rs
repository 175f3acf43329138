//! Golden files of the exported charts' description, per built-in lab: which lines (name,
//! colour, style), which markers (tag, time, kind, text) and which time window each chart shows.
//! A change in what the charts say shows up here as a diff; `LMLAB_BLESS=1 cargo test -p
//! lmlab-engine --test chart_golden` writes the new files after you have looked at the charts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lmlab_engine::export::{Chart, TimeWindow, time_chart};
use lmlab_engine::{Scenario, SimTime, Simulation};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn describe(sim: &Simulation) -> String {
    let w = TimeWindow::activity(sim);
    let mut out = format!("window {:.1} .. {:.1} s\n", w.from_s, w.to_s);
    for chart in [Chart::Throughput, Chart::Cpu] {
        let c = time_chart(sim, chart, w);
        writeln!(out, "\n[{}] {} ({})", chart.file_stem(), c.title, c.y_label).unwrap();
        for l in &c.lines {
            let [r, g, b] = l.color;
            writeln!(
                out,
                "line {:?} #{r:02x}{g:02x}{b:02x} {} width {}",
                l.name,
                if l.dashed { "dashed" } else { "solid" },
                l.width
            )
            .unwrap();
        }
        for m in &c.markers {
            writeln!(
                out,
                "marker {} {:.1} s {:?}: {}",
                m.tag, m.t_s, m.kind, m.text
            )
            .unwrap();
        }
    }
    out
}

#[test]
fn every_built_in_labs_charts_say_what_their_golden_file_says() {
    let bless = std::env::var_os("LMLAB_BLESS").is_some();
    let mut stale = Vec::new();
    let mut labs: Vec<PathBuf> = std::fs::read_dir(root().join("assets/scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    labs.sort();
    assert!(labs.len() >= 7);
    for lab in labs {
        let scenario = Scenario::load(&lab).unwrap();
        // At most an hour: enough for every preset's story.
        let until = scenario.spec.until.as_secs_f64().min(3600.0);
        let seed = scenario.spec.seed;
        let mut sim = Simulation::new(scenario, seed);
        sim.advance_to(SimTime::from_secs(until as u64));
        let got = describe(&sim);
        let name = lab.file_stem().unwrap().to_string_lossy().to_string();
        let golden = root().join(format!("tests/golden/charts/{name}.txt"));
        if bless {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(&golden, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_default();
        if want != got {
            stale.push(format!("{name}:\n--- want\n{want}\n--- got\n{got}"));
        }
    }
    assert!(stale.is_empty(), "{}", stale.join("\n\n"));
}
