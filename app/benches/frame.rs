//! Benchmark: time to build one frame (UI pass and tessellation, no GPU) of a 64-node, 8,000-VM
//! session with one simulated hour of data (random faults, drains, migrations).
//! Target (issue 6): under 8 ms median. Run: `cargo bench -p lmlab --bench frame`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../engine/benches/common/mod.rs"]
mod common;

use lmlab_app::ui::{LabAction, LabState, View, ViewAction, Workbench};
use lmlab_engine::rng::SimRng;
use lmlab_engine::{Command, SimTime};
use std::time::Instant;

fn main() {
    let mut lab = LabState::new(common::session_lab());
    let mut rng = SimRng::new(5);
    let mut t = 0;
    while t < 3600 {
        t += 30 + rng.below(90);
        lab.run_to(SimTime::from_secs(t));
        let node = format!("n{}", rng.below(64));
        let cmd = match rng.below(6) {
            0 => Command::CrashClusterService { node },
            1 => Command::RestartClusterService { node },
            2 => Command::PauseNode { node },
            3 => Command::ResumeNode { node },
            _ => Command::Migrate {
                vm: format!("vm{}-{}", rng.below(64), rng.below(125)),
                to: node,
            },
        };
        // Commands the lab refuses (a node already paused, say) only set the status line.
        lab.handle(LabAction::Apply(cmd));
    }
    lab.run_to(SimTime::from_secs(3600));
    println!(
        "frame: 64 nodes, 8,000 VMs, {} events, {} series samples x {} columns ({} change points stored)",
        lab.sim().events().len(),
        lab.sim().series().len(),
        lab.sim().series().columns().count(),
        lab.sim().series().stored_points()
    );
    let input = || egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1600.0, 1000.0),
        )),
        ..Default::default()
    };
    let measure = |label: &str, bench: &mut Workbench| {
        let ctx = egui::Context::default();
        let mut times = Vec::new();
        for i in 0..45 {
            let t0 = Instant::now();
            let out = ctx.run_ui(input(), |ui| bench.show(ui));
            let prims = ctx.tessellate(out.shapes, out.pixels_per_point);
            let dt = t0.elapsed().as_secs_f64() * 1e3;
            if i >= 5 {
                times.push(dt); // the first frames load fonts and lay out everything once
            }
            std::hint::black_box(prims);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "  {label:<34} median {:.2} ms per frame (min {:.2}, max {:.2}; {} frames after 5 warm-up)",
            times[times.len() / 2],
            times[0],
            times[times.len() - 1],
            times.len()
        );
    };
    let mut bench = Workbench::new(lab);
    measure("full window (lab view)", &mut bench);
    if std::env::args().any(|a| a == "--parts") {
        let mut prefs = bench.lab.prefs().clone();
        prefs.presentation = true;
        bench.handle(ViewAction::SetPrefs(prefs.clone()));
        measure("without inspector and log", &mut bench);
        prefs.presentation = false;
        bench.handle(ViewAction::SetPrefs(prefs));
        bench.handle(ViewAction::SetView(View::Compare));
        measure("compare view (no canvas, no plots)", &mut bench);
    }
}
