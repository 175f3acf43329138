//! GUI tests with egui_kittest: no window or GPU needed.

// Tests fail by panicking; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use lmlab_app::presets;
use lmlab_app::ui::LabState;
use lmlab_engine::SimTime;

fn harness(file: &str) -> Harness<'static, LabState> {
    let lab = LabState::new(presets::load(file).expect("preset"));
    Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(|ui, lab: &mut LabState| lab.show(ui), lab)
}

#[test]
fn the_default_lab_shows_its_hosts_and_vms() {
    let mut h = harness(presets::DEFAULT_PRESET);
    h.run();
    h.get_by_label("hv1");
    h.get_by_label("hv2");
    h.get_by_label_contains("vm1");
}

#[test]
fn step_runs_the_clock_to_the_next_event() {
    let mut h = harness("resiliency-lab.toml");
    h.run();
    h.get_by_label("Step").click();
    h.run();
    h.get_by_label("Step").click();
    h.run();
    assert!(h.state().sim.now() > SimTime::ZERO);
    h.get_by_label_contains("t = 0:00:01");
}

#[test]
fn play_advances_simulated_time() {
    let mut h = harness("resiliency-lab.toml");
    h.run();
    h.get_by_label("max").click();
    h.get_by_label("Play").click();
    h.run_steps(5);
    assert!(
        h.state().sim.now() >= SimTime::from_secs(60),
        "now = {}",
        h.state().sim.now()
    );
    h.get_by_label("Pause").click();
    h.run();
    assert!(!h.state().playing);
}

#[test]
fn a_preset_opens_from_the_menu() {
    let mut h = harness(presets::DEFAULT_PRESET);
    h.run();
    h.get_by_label("Presets").click();
    h.run();
    h.get_by_label("Resiliency lab: 4-node WS2016 cluster")
        .click();
    h.run();
    h.get_by_label("node4");
}
