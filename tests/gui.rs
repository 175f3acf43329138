//! GUI tests with egui_kittest: no window or GPU needed. They drive the app as a user would and
//! fail on any input without an accessible name (kittest's accessibility check).

// Tests fail by panicking; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use lmlab_app::presets;
use lmlab_app::ui::{FileAction, LabAction, LabState, ViewAction, Workbench};
use lmlab_engine::SimTime;
use lmlab_engine::scenario::Edit;

fn harness_on(lab: LabState) -> Harness<'static, Workbench> {
    Harness::builder()
        .with_size(egui::vec2(1600.0, 1000.0))
        .build_ui_state(|ui, b: &mut Workbench| b.show(ui), Workbench::new(lab))
}

fn harness(file: &str) -> Harness<'static, Workbench> {
    harness_on(LabState::new(presets::load(file).expect("preset")))
}

/// Runs frames at 10× until simulated time reaches `t` (or gives up), pressing Play again when a
/// caption of the script paused the clock, as a presenter would.
fn play_until(h: &mut Harness<'static, Workbench>, t: u64) {
    // The pointer away from the canvas: a host or VM under it would keep its tooltip animating.
    h.hover_at(egui::pos2(1000.0, 12.0));
    h.get_by_label("10×").click();
    h.run();
    h.get_by_label("Play").click();
    for _ in 0..1000 {
        h.step();
        if h.state().lab.sim().now() >= SimTime::from_secs(t) {
            break;
        }
        if !h.state().lab.playing() {
            h.step();
            h.get_by_label("Play").click();
        }
    }
    // A Play click may still be queued: let it land before deciding.
    h.step();
    if h.state().lab.playing() {
        h.step();
        h.get_by_label("Pause").click();
    }
    h.run();
}

/// Runs frames until the background job (with its progress bar) has finished.
fn wait_for_job(h: &mut Harness<'static, Workbench>) {
    for _ in 0..2000 {
        h.step();
        if h.state().lab.work().is_none() {
            h.run();
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    panic!("the job did not finish");
}

/// A fresh temporary folder for a test and the recovery file path inside it (not yet there).
fn fresh_recovery(test: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("lmlab-gui-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let recovery = dir.join("recovery.lmlab.json");
    let _ = std::fs::remove_file(&recovery);
    (dir, recovery)
}

/// Answers the typed-path prompt (there are no file dialogs in tests).
fn type_path(h: &mut Harness<'static, Workbench>, text: &str) {
    h.get_by_label("Path").click();
    h.run();
    h.get_by_label("Path").type_text(text);
    h.run();
    h.get_by_label("OK").click();
    h.run();
}

#[test]
fn the_default_lab_shows_its_hosts_switch_storage_and_vms() {
    let mut h = harness(presets::DEFAULT_PRESET);
    h.run();
    h.get_by_label("host hv1: Up");
    h.get_by_label("host hv2: Up");
    h.get_by_label("switch sw1");
    h.get_by_label("storage sofs");
    h.get_by_label("VM vm1: Running");
    h.get_by_label("link nic1 on hv1");
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
    h.get_by_label("host node4: Up");
    h.get_by_label("storage csv1");
}

#[test]
fn a_migration_started_from_the_menu_runs_and_completes() {
    let mut h = harness("resiliency-lab.toml");
    h.run();
    // Select the VM, then use the inspector's menu.
    h.get_by_label("VM vm-app-3: Running").click();
    h.run();
    h.get_by_label("Live-migrate to…").click();
    h.run();
    h.get_by_label("node4").click();
    h.run();
    // The forecast shows before it starts.
    h.get_by_label_contains("Forecast at");
    h.get_by_label("Start migration").click();
    h.run();
    assert_eq!(h.state().lab.sim().migrations().len(), 1);
    play_until(&mut h, 50);
    let lm = h.state().lab.sim().series().column("lm_gbps").unwrap();
    assert!(
        lm.changes().iter().any(|&(_, g)| g > 1.0),
        "throughput series is empty"
    );
    h.get_by_label_contains("completed in");
    assert_eq!(
        h.state()
            .lab
            .sim()
            .snapshot()
            .vms
            .iter()
            .find(|v| v.name == "vm-app-3")
            .unwrap()
            .host,
        "node4"
    );
}

#[test]
fn crashing_a_nodes_cluster_service_from_its_context_menu_isolates_it() {
    let mut h = harness("resiliency-lab.toml");
    h.run();
    h.get_by_label("host node2: Up").click_secondary();
    h.run();
    h.get_by_label("Crash cluster service").click();
    h.run();
    play_until(&mut h, 20);
    h.get_by_label("host node2: Isolated");
    h.get_by_label_contains("node2 removed from active failover cluster membership");
}

#[test]
fn changing_teaming_in_the_inspector_changes_the_path_line() {
    let mut h = harness(presets::DEFAULT_PRESET);
    h.run();
    // The seed lab's script starts four migrations at 10 s.
    play_until(&mut h, 12);
    h.get_by_label_contains("SMB Direct (RoCEv2)");
    h.get_by_label_contains("host hv1").click();
    h.run();
    h.get_by_label("Teaming mode").click();
    h.run();
    h.get_by_label("LACP").click();
    h.run();
    assert_eq!(
        h.state().lab.spec().hosts[0].teaming.mode,
        lmlab_engine::scenario::TeamingMode::Lacp
    );
    h.get_by_label_contains("RDMA lost in the LBFO team");
}

#[test]
fn an_invalid_value_is_refused_in_place() {
    let mut h = harness("resiliency-lab.toml");
    h.run();
    h.get_by_label("VM vm-sofs-1: Running").click();
    h.run();
    // 300 GiB does not fit on a 256 GiB host next to its other VMs.
    let before = h.state().lab.spec().clone();
    let mut spec = before.clone();
    spec.vms[0].memory = lmlab_engine::units::Bytes::gib(300);
    let vm = spec.vms[0].clone();
    h.state_mut()
        .handle(LabAction::Edit(Edit::SetVm(Box::new(vm))));
    h.run();
    h.get_by_label_contains("Refused:");
    assert_eq!(h.state().lab.spec(), &before);
}

#[test]
fn the_comparison_view_runs_the_configurations() {
    let mut h = harness(presets::DEFAULT_PRESET);
    h.run();
    h.get_by_label("Compare").click();
    h.run();
    h.get_by_label("Run comparison").click();
    wait_for_job(&mut h);
    let report = h.state().lab.compare().cloned().expect("compared");
    assert_eq!(report.rows.len(), 9);
    h.get_by_label("row9");
    // Every configuration is named in the table, with its settings.
    h.get_by_label("No team, SMB Direct (RDMA)");
    h.get_by_label("SMB (Direct allowed)");
    // The order: chosen in the view, remembered, used by exports.
    h.get_by_label("Order").click();
    h.run();
    h.get_by_label("Fastest first").click();
    h.run();
    assert_eq!(
        h.state().lab.prefs().compare_sort,
        lmlab_engine::compare::CompareSort::Throughput
    );
}

#[test]
fn every_preset_opens() {
    for p in presets::PRESETS {
        let lab =
            LabState::new(presets::load(p.file).unwrap_or_else(|e| panic!("{}: {e:#}", p.file)));
        let mut h = harness_on(lab);
        h.run();
        let first = h.state().lab.spec().hosts[0].name.clone();
        h.get_by_label_contains(&format!("host {first}"));
    }
    // Every file in assets/scenarios is offered.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/scenarios");
    let files = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "toml"))
        })
        .count();
    assert_eq!(files, presets::PRESETS.len());
}

#[test]
fn a_session_saved_from_the_file_menu_reopens_identically() {
    // No desktop dialogs in tests (LabState::new leaves them off): the typed-path fallback is used.
    let dir = std::env::temp_dir().join(format!("lmlab-gui-session-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("demo.lmlab.json");
    let mut h = harness("resiliency-lab.toml");
    h.run();
    change_something(&mut h);
    play_until(&mut h, 30);
    let before = h.state().lab.sim().snapshot();
    h.get_by_label("File").click();
    h.run();
    h.get_by_label("Save as…").click();
    h.run();
    type_path(&mut h, &path.display().to_string());
    assert!(
        path.exists(),
        "not saved: status {:?}, prompt {:?}",
        h.state().lab.status(),
        h.state().lab.path_prompt()
    );
    assert!(!h.state().lab.dirty());
    // Change the lab, then open the saved session: back to the saved state.
    play_until(&mut h, 200);
    h.get_by_label("File").click();
    h.run();
    h.get_by_label("Open…").click();
    h.run();
    type_path(&mut h, &path.display().to_string());
    assert_eq!(h.state().lab.sim().snapshot(), before);
    // A bad file is refused and the lab stays as it is.
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{\"format_version\": 9}").unwrap();
    h.state_mut().handle(FileAction::OpenPath(bad));
    h.run();
    assert_eq!(h.state().lab.sim().snapshot(), before);
    h.get_by_label_contains("newer lmlab");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_export_menu_writes_charts() {
    let dir = std::env::temp_dir().join(format!("lmlab-gui-export-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut h = harness(presets::DEFAULT_PRESET);
    h.run();
    play_until(&mut h, 20);
    h.get_by_label("Export").click();
    h.run();
    h.get_by_label("Charts, CSV and report…").click();
    h.run();
    type_path(&mut h, &dir.display().to_string());
    wait_for_job(&mut h);
    for f in [
        "throughput.png",
        "throughput.svg",
        "cpu.png",
        "states.svg",
        "series.csv",
        "report.json",
        "compare.png",
    ] {
        assert!(
            dir.join(f).exists(),
            "{f} missing; status {:?}",
            h.state().lab.status()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_export_menu_writes_the_pdf_report_and_chooses_the_time_window_the_charts_show() {
    let dir = std::env::temp_dir().join(format!("lmlab-gui-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pdf = dir.join("lab report.pdf");
    let mut h = harness("resiliency-lab.toml");
    h.run();
    play_until(&mut h, 400);
    // The window the charts show: activity by default, then the whole run, then the view.
    let sim = h.state().lab.sim().clone();
    let activity = lmlab_engine::export::TimeWindow::activity(&sim);
    assert_eq!(h.state().lab.export_window(&sim), activity);
    for (label, want) in [
        ("The whole run", lmlab_engine::export::TimeWindow::all(&sim)),
        ("What the timeline shows", {
            let (a, b) = h.state().timeline_ranges()[0].1.range;
            lmlab_engine::export::TimeWindow {
                from_s: a.max(0.0),
                to_s: b.min(sim.now().as_secs_f64()),
            }
        }),
    ] {
        h.get_by_label("Export").click();
        h.run();
        h.get_by_label(label).click();
        h.run();
        h.key_press(egui::Key::Escape);
        h.run();
        assert_eq!(h.state().lab.export_window(&sim), want, "{label}");
    }
    assert_ne!(
        lmlab_engine::export::TimeWindow::all(&sim),
        activity,
        "test bug: the activity should differ from the whole run"
    );
    h.get_by_label("Export").click();
    h.run();
    h.get_by_label("Report (PDF)…").click();
    h.run();
    type_path(&mut h, &pdf.display().to_string());
    wait_for_job(&mut h);
    let bytes = std::fs::read(&pdf)
        .unwrap_or_else(|e| panic!("no report: {e}; status {:?}", h.state().lab.status()));
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    assert!(bytes.len() > 20_000, "{} bytes", bytes.len());
    assert!(
        h.state().lab.status().unwrap_or_default().contains("wrote"),
        "{:?}",
        h.state().lab.status()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unsaved_work_is_autosaved_and_offered_back_after_a_crash() {
    let (dir, recovery) = fresh_recovery("recovery");
    let lab = LabState::new(presets::load("resiliency-lab.toml").unwrap())
        .with_recovery(recovery.clone(), false);
    let mut h = harness_on(lab);
    h.run();
    assert!(!recovery.exists(), "nothing to save yet");
    h.get_by_label("host node3: Up").click_secondary();
    h.run();
    h.get_by_label("Power off").click();
    h.run();
    play_until(&mut h, 40);
    assert!(recovery.exists(), "autosaved after a change");
    let crashed_state = {
        let s = lmlab_engine::session::SessionFile::load(&recovery).unwrap();
        s.open("recovery").unwrap().snapshot()
    };
    // "Crash": drop the harness without a clean exit, start again, accept the offer.
    drop(h);
    let lab = LabState::new(presets::load(presets::DEFAULT_PRESET).unwrap())
        .with_recovery(recovery.clone(), true);
    let mut h = harness_on(lab);
    h.run();
    h.get_by_label("Recover").click();
    h.run();
    assert_eq!(h.state().lab.sim().snapshot(), crashed_state);
    assert!(h.state().lab.dirty(), "recovered work is unsaved work");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_nic_port_dragged_onto_a_switch_is_cabled_to_it() {
    let mut h = harness("four-1gbe.toml");
    h.run();
    // Uncable nic4 of hv2 first, then cable it again by dragging its port.
    h.state_mut().handle(LabAction::Edit(Edit::Cable {
        host: "hv2".into(),
        nic: "nic4".into(),
        switch: None,
    }));
    h.run();
    assert_eq!(h.state().lab.spec().hosts[1].nics[3].switch, None);
    let from = h.get_by_label("port nic4 on hv2").rect().center();
    let to = h.get_by_label("switch sw1").rect().center();
    h.drag_at(from);
    h.run();
    h.hover_at(from + (to - from) * 0.5);
    h.run();
    h.hover_at(to);
    h.run();
    h.drop_at(to);
    h.run();
    assert_eq!(
        h.state().lab.spec().hosts[1].nics[3].switch.as_deref(),
        Some("sw1")
    );
}

#[test]
fn a_vm_dragged_onto_a_host_asks_to_migrate_and_onto_storage_moves_its_disks() {
    let mut h = harness("resiliency-lab.toml");
    h.run();
    let drag = |h: &mut Harness<'static, Workbench>, from: egui::Pos2, to: egui::Pos2| {
        h.drag_at(from);
        h.run();
        h.hover_at(from + (to - from) * 0.5);
        h.run();
        h.hover_at(to);
        h.run();
        h.drop_at(to);
        h.run();
    };
    let vm = h.get_by_label("VM vm-app-3: Running").rect().center();
    let host = h.get_by_label("host node4: Up").rect().center();
    drag(&mut h, vm, host);
    let p = h
        .state()
        .lab
        .pending()
        .cloned()
        .expect("the forecast dialog is open");
    assert_eq!((p.vm.as_str(), p.to.as_str()), ("vm-app-3", "node4"));
    h.get_by_label("Cancel").click();
    h.run();
    let vm = h.get_by_label("VM vm-app-3: Running").rect().center();
    let csv = h.get_by_label("storage csv1").rect().center();
    drag(&mut h, vm, csv);
    assert_eq!(
        h.state()
            .lab
            .spec()
            .vms
            .iter()
            .find(|v| v.name == "vm-app-3")
            .unwrap()
            .storage,
        "csv1"
    );
    let vm = h.get_by_label("VM vm-app-3: Running").rect().center();
    let host = h.get_by_label("host node4: Up").rect().center();
    drag(&mut h, vm, host);
    let p = h
        .state()
        .lab
        .pending()
        .cloned()
        .expect("the forecast dialog is open");
    assert_eq!((p.vm.as_str(), p.to.as_str()), ("vm-app-3", "node4"));
}

/// The seed lab with its nine configurations repeated `copies` times, each run over the most
/// trials the format allows: a comparison (and an export, which includes it) that takes seconds.
fn slow_comparison_lab(copies: usize) -> LabState {
    let mut spec = presets::load(presets::DEFAULT_PRESET).unwrap().spec;
    spec.transport.compare_trials = 101;
    let configs = spec.configurations.clone();
    spec.configurations = (0..copies)
        .flat_map(|k| {
            configs.iter().map(move |c| {
                let mut c = c.clone();
                c.id = format!("{}-{k}", c.id);
                c
            })
        })
        .collect();
    LabState::new(lmlab_engine::Scenario::from_spec(spec).unwrap())
}

/// Steps frames for `secs` of wall time while the job runs, asserting that it is still running,
/// that frames keep coming (the window is not blocked), and that its progress bar is on screen
/// and moves. Returns the frames rendered.
fn frames_while_running(h: &mut Harness<'static, Workbench>, secs: f64, what: &str) -> usize {
    let start = std::time::Instant::now();
    let mut frames = 0;
    let mut first = None;
    let mut last = 0.0;
    while start.elapsed().as_secs_f64() < secs {
        let t0 = std::time::Instant::now();
        h.step();
        frames += 1;
        let frame_s = t0.elapsed().as_secs_f64();
        assert!(
            // A blocked window would wait for the whole job (tens of seconds); a busy CI machine
            // running other tests beside this one can still take a while per frame.
            frame_s < 3.0,
            "a frame took {frame_s:.2} s: the window is blocked"
        );
        let w = h.state().lab.work().unwrap_or_else(|| {
            panic!("the job ended within {secs} s; the test lab must be slower")
        });
        assert!(w.job().what().starts_with(what), "{}", w.job().what());
        let f = w.job().fraction();
        assert!(f >= last, "progress went back from {last} to {f}");
        last = f;
        first.get_or_insert(f);
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    h.get_by_label_contains(what);
    assert!(
        last > first.unwrap_or(0.0),
        "the progress bar did not move in {secs} s (stayed at {last})"
    );
    frames
}

#[test]
fn a_long_comparison_keeps_the_window_running_shows_progress_and_cancel_stops_it() {
    let mut h = harness_on(slow_comparison_lab(400));
    h.run();
    h.get_by_label("Compare").click();
    h.run();
    h.get_by_label("Run comparison").click();
    h.step();
    let frames = frames_while_running(&mut h, 3.0, "Comparing configurations");
    assert!(frames >= 5, "only {frames} frames in 3 s");
    // The bar's Cancel stops it at the next configuration, and nothing half-done is shown.
    let t0 = std::time::Instant::now();
    h.get_by_label("Cancel").click();
    wait_for_job(&mut h);
    assert!(
        t0.elapsed().as_secs_f64() < 5.0,
        "Cancel took {:?}",
        t0.elapsed()
    );
    let st = &h.state().lab;
    assert_eq!(st.status(), Some("cancelled"));
    assert!(st.compare().is_none());
    // A comparison runs to the end afterwards (the seed lab's own nine rows are quick).
    h.get_by_label("Presets").click();
    h.run();
    h.get_by_label("Seed lab: 2 hosts, 2 x 10 GbE RDMA").click();
    h.run();
    h.get_by_label("Compare").click();
    h.run();
    h.get_by_label("Run comparison").click();
    wait_for_job(&mut h);
    assert_eq!(h.state().lab.compare().map(|r| r.rows.len()), Some(9));
}

#[test]
fn a_long_export_keeps_the_window_running_shows_progress_and_cancel_stops_it() {
    let dir = std::env::temp_dir().join(format!("lmlab-gui-long-export-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut h = harness_on(slow_comparison_lab(400));
    h.run();
    h.get_by_label("Export").click();
    h.run();
    h.get_by_label("Charts, CSV and report…").click();
    h.run();
    type_path(&mut h, &dir.display().to_string());
    // The clock keeps running while the export works on its own copy of the run.
    h.get_by_label("Play").click();
    let before = h.state().lab.sim().now();
    let frames = frames_while_running(&mut h, 3.0, "Exporting into");
    assert!(frames >= 5, "only {frames} frames in 3 s");
    assert!(h.state().lab.sim().now() > before, "the clock stood still");
    h.get_by_label("Pause").click();
    h.get_by_label("Cancel").click();
    wait_for_job(&mut h);
    let status = h.state().lab.status().unwrap_or_default().to_string();
    assert!(status.starts_with("export cancelled"), "{status}");
    assert!(
        !dir.join("compare.png").exists(),
        "the comparison's chart was written although the export was cancelled"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_real_run_moves_the_selected_vms_image_and_shows_it_beside_the_model() {
    let mut h = harness(presets::DEFAULT_PRESET);
    h.get_by_label("Real run").click();
    h.run();
    // A small image keeps the test quick; the VM's dirty rate and content still apply.
    let mut settings = h.state().lab.real_settings().clone();
    settings.memory_mib = 32;
    h.state_mut()
        .handle(ViewAction::SetRealSettings(Box::new(settings)));
    h.get_by_label("Run real migration").click();
    h.run();
    assert!(
        h.state().lab.work().is_some(),
        "the run is a background job"
    );
    // While it runs, the bar names the step the transport is in.
    let mut noted = String::new();
    for _ in 0..4000 {
        h.step();
        match h.state().lab.work() {
            Some(w) => {
                let n = w.job().note();
                if !n.is_empty() {
                    noted = n;
                }
            }
            None => break,
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    wait_for_job(&mut h);
    assert!(
        noted.contains("pass") || noted.contains("connected") || noted.contains("filling"),
        "{noted:?}"
    );
    let run = h.state().lab.real_last().cloned().expect("a finished run");
    assert!(run.report.verified, "{:?}", run.report.error);
    assert_eq!(run.report.memory_bytes, 32 << 20);
    let model = run.prediction.expect("the model's prediction");
    assert!(model.path.contains("SMB Direct"), "{}", model.path);
    h.get_by_label("verified");
    h.get_by_label("Error = measured − model.");
    // The run becomes a measurement of the lab: the Calibrate view sets it beside the model.
    h.get_by_label("Set beside the model (Calibrate view)")
        .click();
    h.run();
    let runs = h.state().lab.measured_runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].vm, model.vm);
    assert_eq!(runs[0].memory_bytes, Some(32 << 20));
    h.get_by_label_contains("Measured beside the model");
}

#[test]
fn the_palette_adds_shapes_and_delete_removes_a_host_with_its_vms_and_script_lines() {
    let mut h = harness(presets::DEFAULT_PRESET);
    h.run();
    h.get_by_label("Add host").click();
    h.run();
    assert!(h.state().lab.spec().hosts.iter().any(|x| x.name == "hv3"));
    h.get_by_label("host hv3: Up");
    h.get_by_label("Add switch").click();
    h.run();
    h.get_by_label("switch sw2");
    // Delete hv1: its four VMs and the script lines that migrate them go with it.
    h.get_by_label("host hv1: Up").click();
    h.run();
    h.get_by_label("Delete").click();
    h.run();
    let spec = h.state().lab.spec();
    assert!(spec.hosts.iter().all(|x| x.name != "hv1"));
    assert!(spec.vms.is_empty(), "{:?}", spec.vms);
    assert!(spec.script.is_empty());
    assert!(h.state().lab.dirty());
}

/// A fresh run of a preset, advanced to `t` with no commands: what undoing every command gives.
fn untouched(file: &str, t: SimTime) -> lmlab_engine::Snapshot {
    let sc = presets::load(file).unwrap();
    let seed = sc.spec.seed;
    let mut sim = lmlab_engine::Simulation::new(sc, seed);
    sim.advance_to(t);
    sim.snapshot()
}

#[test]
fn undo_and_redo_restore_the_exact_lab_and_run_for_commands_and_edits() {
    let mut h = harness("resiliency-lab.toml");
    h.run();
    change_something(&mut h);
    play_until(&mut h, 60);
    let now = h.state().lab.sim().now();
    let crash = lmlab_engine::Command::CrashClusterService {
        node: "node2".into(),
    };
    // Undo the crash: the run is the lab without it, at the same time.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run();
    let lab = &h.state().lab;
    assert_eq!(lab.sim().now(), now);
    assert_eq!(lab.sim().snapshot(), untouched("resiliency-lab.toml", now));
    assert!(lab.sim().history().is_empty());
    assert_eq!(lab.redo_label(), Some(crash.describe().as_str()));
    // Redo: the crash is back at its time, and the run with it.
    h.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::Z,
    );
    h.run();
    let with = h.state().lab.sim().snapshot();
    assert_eq!(with.now, now);
    assert_ne!(with, untouched("resiliency-lab.toml", now));
    assert_eq!(h.state().lab.sim().history().len(), 1);
    assert_eq!(h.state().lab.sim().history()[0].command, crash);
    // Delete a VM (an edit), then undo it from the Edit menu: the VM and the run are back.
    let before_spec = h.state().lab.spec().clone();
    h.get_by_label("VM vm-app-3: Running").click();
    h.run();
    h.get_by_label("Delete").click();
    h.run();
    assert!(
        h.state()
            .lab
            .spec()
            .vms
            .iter()
            .all(|v| v.name != "vm-app-3")
    );
    h.get_by_label("Edit").click();
    h.run();
    h.get_by_label_contains("Undo remove VM vm-app-3").click();
    h.run();
    assert_eq!(h.state().lab.spec(), &before_spec);
    assert_eq!(h.state().lab.sim().snapshot(), with);
}

/// Crashes node2's cluster service from its context menu: one command, so the lab is dirty.
fn change_something(h: &mut Harness<'static, Workbench>) {
    h.get_by_label("host node2: Up").click_secondary();
    h.run();
    h.get_by_label("Crash cluster service").click();
    h.run();
    assert!(h.state().lab.dirty());
}

#[test]
fn unsaved_changes_ask_before_a_preset_an_open_or_closing() {
    let mut h = harness("resiliency-lab.toml");
    h.run();
    change_something(&mut h);
    // A preset: Cancel keeps the lab; Discard opens the preset.
    h.get_by_label("Presets").click();
    h.run();
    h.get_by_label("Seed lab: 2 hosts, 2 x 10 GbE RDMA").click();
    h.run();
    h.get_by_label_contains("has changes that are not saved");
    h.get_by_label("Cancel").click();
    h.run();
    assert_eq!(h.state().lab.spec().hosts.len(), 4, "Cancel kept the lab");
    h.get_by_label("Presets").click();
    h.run();
    h.get_by_label("Seed lab: 2 hosts, 2 x 10 GbE RDMA").click();
    h.run();
    h.get_by_label("Discard").click();
    h.run();
    assert_eq!(h.state().lab.spec().hosts[0].name, "hv1");
    // Open: Save first (typed path, no dialogs here), then the open goes ahead.
    let dir = std::env::temp_dir().join(format!("lmlab-gui-unsaved-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let saved = dir.join("seed.lmlab.json");
    h.get_by_label("host hv1: Up").click_secondary();
    h.run();
    h.get_by_label("Power off").click();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    h.run();
    h.get_by_label("Save").click();
    h.run();
    type_path(&mut h, &saved.display().to_string());
    assert!(saved.exists(), "saved first: {:?}", h.state().lab.status());
    // ... and then File → Open's own prompt comes.
    assert!(h.state().lab.path_prompt().is_some());
    h.key_press(egui::Key::Escape);
    h.run();
    assert!(h.state().lab.path_prompt().is_none());
    // Closing the window asks too; Discard lets it close.
    h.get_by_label("host hv2: Up").click_secondary();
    h.run();
    h.get_by_label("Power off").click();
    h.run();
    assert!(!h.state_mut().close_requested(), "asks first");
    h.run();
    h.get_by_label_contains("closing lmlab");
    h.get_by_label("Discard").click();
    h.run();
    assert!(h.state().closing());
    assert!(h.state_mut().close_requested());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn autosave_keeps_working_after_a_preset_is_opened() {
    let (dir, recovery) = fresh_recovery("autosave");
    let lab = LabState::new(presets::load(presets::DEFAULT_PRESET).unwrap())
        .with_recovery(recovery.clone(), false);
    let mut h = harness_on(lab);
    h.run();
    h.get_by_label("Presets").click();
    h.run();
    h.get_by_label("Resiliency lab: 4-node WS2016 cluster")
        .click();
    h.run();
    assert_eq!(h.state().lab.recovery(), Some(recovery.as_path()));
    change_something(&mut h);
    play_until(&mut h, 20);
    assert!(recovery.exists(), "autosaved after the preset");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn keyboard_shortcuts_do_what_help_lists() {
    let mut h = harness("resiliency-lab.toml");
    h.run();
    // Space plays and pauses.
    h.key_press(egui::Key::Space);
    h.step();
    h.step();
    h.get_by_label("Pause");
    h.key_press(egui::Key::Space);
    h.step();
    h.run();
    h.get_by_label("Play");
    // → steps to the next event.
    let t = h.state().lab.sim().now();
    h.key_press(egui::Key::ArrowRight);
    h.run();
    assert!(h.state().lab.sim().now() > t);
    // Ctrl+S / Ctrl+O / Ctrl+E without dialogs ask for a path; Esc closes the prompt.
    for (key, title) in [
        (egui::Key::S, "Save the session as"),
        (egui::Key::O, "Open a session or scenario"),
        (egui::Key::E, "Export charts, CSV and report into folder"),
    ] {
        h.key_press_modifiers(egui::Modifiers::COMMAND, key);
        h.run();
        h.get_by_label(title);
        h.key_press(egui::Key::Escape);
        h.run();
        assert!(h.state().lab.path_prompt().is_none(), "{title}");
    }
    // F5 toggles presentation mode; F1 shows the shortcuts, Esc closes them.
    h.key_press(egui::Key::F5);
    h.run();
    assert!(h.state().lab.prefs().presentation);
    h.key_press(egui::Key::F5);
    h.run();
    assert!(!h.state().lab.prefs().presentation);
    h.key_press(egui::Key::F1);
    h.run();
    h.get_by_label("Keyboard shortcuts");
    h.get_by_label("fit the canvas to the lab");
    h.key_press(egui::Key::Escape);
    h.run();
    assert!(h.query_by_label("fit the canvas to the lab").is_none());
    // F fits the canvas: after zooming out, the lab is back at the fitted size.
    let fitted = h.get_by_label("host node1: Up").rect();
    // Over the canvas between the hosts (a host would show its tooltip).
    let a = h.get_by_label("host node1: Up").rect();
    let b = h.get_by_label("host node2: Up").rect();
    let canvas = egui::pos2((a.right() + b.left()) / 2.0, a.top() - 20.0);
    h.hover_at(canvas);
    h.run();
    h.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Line,
        delta: egui::vec2(0.0, -10.0),
        modifiers: egui::Modifiers::COMMAND,
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Wheel,
    });
    h.run();
    let zoomed = h.get_by_label("host node1: Up").rect();
    assert_ne!(
        zoomed, fitted,
        "the wheel did not zoom; the test cannot show a fit"
    );
    h.key_press(egui::Key::F);
    h.run();
    assert_eq!(h.get_by_label("host node1: Up").rect(), fitted);
}

/// Every time plot's range in the last frame; asserts they are one and the same, and that every
/// plot area spans the same screen x (so one instant is at one x in all of them).
fn one_range(h: &Harness<'static, Workbench>) -> (f64, f64) {
    let shown = h.state().timeline_ranges();
    assert_eq!(shown.len(), 4, "{shown:?}");
    let first = shown[0].1;
    for (id, s) in shown {
        let r = s.range;
        assert!(
            (r.0 - first.range.0).abs() < 1e-6 && (r.1 - first.range.1).abs() < 1e-6,
            "{id} shows {r:?}, throughput {:?}",
            first.range
        );
        assert!(r.0 >= -1.0 && r.1 > r.0, "{id} ran away: {r:?}");
        assert!(
            (s.screen_x.0 - first.screen_x.0).abs() < 0.5
                && (s.screen_x.1 - first.screen_x.1).abs() < 0.5,
            "{id} spans x {:?}, throughput {:?}",
            s.screen_x,
            first.screen_x
        );
    }
    first.range
}

#[test]
fn every_plot_shows_one_time_range_through_zoom_double_click_and_play() {
    // Frames 50 ms apart, so two clicks in a row make a double-click.
    let lab = LabState::new(presets::load("resiliency-lab.toml").unwrap());
    let mut h = Harness::builder()
        .with_size(egui::vec2(1600.0, 1000.0))
        .with_step_dt(0.05)
        .with_max_steps(40)
        .build_ui_state(|ui, b: &mut Workbench| b.show(ui), Workbench::new(lab));
    h.run();
    play_until(&mut h, 200);
    let following = one_range(&h);
    let now = h.state().lab.sim().now().as_secs_f64();
    // The range ends just after the present (a small margin so the last label is not cut).
    let ends_after_now = |r: (f64, f64), now: f64| {
        let margin = r.1 - now;
        margin >= 1.0 - 1e-6 && margin <= ((r.1 - r.0) * 0.05).max(1.0) + 1e-6
    };
    assert!(ends_after_now(following, now), "{following:?} at {now}");
    // Zoom the throughput plot (Ctrl+wheel over it): every plot follows, following stops.
    let header = h.get_by_label("Timeline").rect();
    let over_throughput = egui::pos2(header.left() + 400.0, header.bottom() + 90.0);
    h.hover_at(over_throughput);
    h.run();
    h.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Line,
        delta: egui::vec2(0.0, 5.0),
        modifiers: egui::Modifiers::COMMAND,
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Wheel,
    });
    h.run();
    let zoomed = one_range(&h);
    assert!(
        zoomed.1 - zoomed.0 < following.1 - following.0 - 1.0,
        "not zoomed: {zoomed:?} vs {following:?}"
    );
    assert!(!h.state().lab.clock_follows());
    // The readout names the lines at the pointer's time.
    h.get_by_label_contains(" · all live migrations ");
    // Playing on does not move a range the user chose.
    h.get_by_label("Play").click();
    for _ in 0..20 {
        h.step();
    }
    h.get_by_label("Pause").click();
    h.run();
    assert_eq!(one_range(&h), zoomed);
    // A double-click shows the whole run in every plot. (Frames first, so the Pause click is long
    // enough ago not to make this a triple-click.)
    h.hover_at(over_throughput);
    for _ in 0..40 {
        h.step();
    }
    for pressed in [true, false, true, false] {
        h.event(egui::Event::PointerButton {
            pos: over_throughput,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
        h.step();
    }
    h.run();
    let whole = one_range(&h);
    let now = h.state().lab.sim().now().as_secs_f64();
    assert!(
        whole.0.abs() < 1e-6 && ends_after_now(whole, now),
        "{whole:?}"
    );
    // Following again: the last ten minutes, in every plot.
    h.get_by_label("Follow the present").click();
    h.run();
    let again = one_range(&h);
    assert!(ends_after_now(again, now), "{again:?}");
    assert!((again.1 - again.0) < 700.0, "{again:?}");
}

#[test]
fn going_back_in_time_shows_exactly_what_playing_showed_and_the_future_replays() {
    let mut h = harness("resiliency-lab.toml");
    h.run();
    play_until(&mut h, 10);
    h.get_by_label("host node3: Up").click_secondary();
    h.run();
    h.get_by_label("Power off").click();
    h.run();
    let power_off_at = h.state().lab.sim().now();
    play_until(&mut h, 100);
    let at_100 = h.state().lab.sim().now();
    let snap_100 = h.state().lab.sim().snapshot();
    play_until(&mut h, 200);
    let at_200 = h.state().lab.sim().now();
    let snap_200 = h.state().lab.sim().snapshot();
    // Scrub back to 100 s: the same state as when the clock passed it.
    h.state_mut().handle(ViewAction::GoTo(at_100));
    h.run();
    assert_eq!(h.state().lab.sim().snapshot(), snap_100);
    // Home: back to 0:00:00, the command recorded ahead.
    h.key_press(egui::Key::Home);
    h.run();
    assert_eq!(h.state().lab.sim().now(), SimTime::ZERO);
    assert!(h.state().lab.sim().history().is_empty());
    assert_eq!(
        h.state().lab.future().len(),
        1,
        "the power-off is recorded ahead"
    );
    // Forward again to 200 s: the recorded power-off is applied at its time.
    h.state_mut().handle(ViewAction::GoTo(at_200));
    h.run();
    assert_eq!(h.state().lab.sim().snapshot(), snap_200);
    assert_eq!(
        h.state().lab.sim().history()[0].at,
        power_off_at.since(SimTime::ZERO)
    );
    // ← goes back to the previous event; Last fault to the latest fault or repair.
    let before = h.state().lab.sim().now();
    h.key_press(egui::Key::ArrowLeft);
    h.run();
    assert!(h.state().lab.sim().now() < before);
    h.get_by_label("Last fault").click();
    h.run();
    let t = h.state().lab.sim().now();
    let last_fault = h
        .state()
        .lab
        .sim()
        .events()
        .iter()
        .filter(|e| e.mark.is_fault_or_repair() && e.t <= t)
        .map(|e| e.t)
        .max();
    assert_eq!(last_fault, Some(t));
    // A new command in the past drops the recorded future; Undo brings it back.
    h.state_mut()
        .handle(ViewAction::GoTo(SimTime::from_secs(5)));
    h.run();
    assert_eq!(h.state().lab.future().len(), 1);
    h.get_by_label("host node1: Up").click_secondary();
    h.run();
    h.get_by_label("Crash cluster service").click();
    h.run();
    assert!(h.state().lab.future().is_empty());
    h.get_by_label_contains("were dropped");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run();
    assert_eq!(h.state().lab.future().len(), 1);
    h.state_mut().handle(ViewAction::GoTo(at_200));
    h.run();
    assert_eq!(h.state().lab.sim().snapshot(), snap_200);
}

#[test]
fn hovering_a_vm_or_host_shows_its_live_figures() {
    let mut h = harness(presets::DEFAULT_PRESET);
    h.run();
    play_until(&mut h, 15);
    let vm = h.get_by_label("VM vm1: Running").rect().center();
    h.hover_at(vm);
    for _ in 0..8 {
        h.step();
    }
    h.get_by_label_contains("memory, dirtying");
    h.get_by_label_contains("migrating to hv2");
    let host = h.get_by_label("host hv2: Up").rect().center();
    h.hover_at(host);
    for _ in 0..8 {
        h.step();
    }
    h.get_by_label_contains("live migration: CPU");
}

/// Steps frames until the clock pauses by itself (or gives up), then lets the frame settle.
fn step_while_playing(h: &mut Harness<'static, Workbench>) {
    h.step();
    for _ in 0..400 {
        h.step();
        if !h.state().lab.playing() {
            break;
        }
    }
    h.run();
}

#[test]
fn captions_show_pause_the_clock_and_next_caption_plays_on_to_the_next() {
    let mut h = harness("resiliency-lab.toml");
    h.run();
    h.get_by_label("10×").click();
    h.run();
    h.get_by_label("Play").click();
    step_while_playing(&mut h);
    // The first caption pauses at its time and shows as a callout.
    assert!(!h.state().lab.playing());
    assert_eq!(h.state().lab.sim().now(), SimTime::from_secs(5));
    let first = h.state().lab.sim().events().last().unwrap().detail.clone();
    assert!(
        first.starts_with("VM Compute Resiliency (WS2016)"),
        "{first}"
    );
    h.get_by_label(&first);
    // Next caption plays on and stops at the next one (61 s), which does not pause by itself.
    h.get_by_label("Next caption").click();
    step_while_playing(&mut h);
    assert_eq!(h.state().lab.sim().now(), SimTime::from_secs(61));
    let second = h
        .state()
        .lab
        .sim()
        .events()
        .iter()
        .rev()
        .find(|e| e.mark.is_caption())
        .unwrap()
        .detail
        .clone();
    assert!(second.contains("Its peers miss heartbeats"), "{second}");
    h.get_by_label(&second);
}

#[test]
fn the_delete_key_removes_the_selection_and_ctrl_y_redoes_an_undo() {
    let mut h = harness("resiliency-lab.toml");
    h.run();
    h.get_by_label("VM vm-old: Running").click();
    h.run();
    h.key_press(egui::Key::Delete);
    h.run();
    assert!(h.state().lab.spec().vms.iter().all(|v| v.name != "vm-old"));
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run();
    assert!(h.state().lab.spec().vms.iter().any(|v| v.name == "vm-old"));
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Y);
    h.run();
    assert!(h.state().lab.spec().vms.iter().all(|v| v.name != "vm-old"));
}

#[test]
fn presentation_at_1280x720_shows_the_lab_every_plot_and_the_caption_without_covering_anything() {
    let lab = LabState::new(presets::load("resiliency-lab.toml").expect("preset"));
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 720.0))
        .build_ui_state(|ui, b: &mut Workbench| b.show(ui), Workbench::new(lab));
    h.run();
    h.key_press(egui::Key::F5);
    h.run();
    assert!(h.state().lab.prefs().presentation);
    // Past the first caption (which pauses at 5 s) to the second, at 61 s.
    play_until(&mut h, 62);
    h.run();
    let screen = h.ctx.content_rect();
    // Throughput, node bands and VM bands, all inside the window: nothing needs scrolling.
    let shown = h.state().timeline_ranges().to_vec();
    let ids: Vec<&str> = shown.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, ["throughput", "nodes", "vms"]);
    for (id, s) in &shown {
        assert!(
            s.screen_y.1 <= screen.bottom() && s.screen_y.0 < s.screen_y.1,
            "{id} at {:?} is outside the window {screen:?}",
            s.screen_y
        );
    }
    // The lab is above the plots, its hosts whole and in view.
    let plots_top = shown[0].1.screen_y.0;
    for node in ["node1", "node2", "node3", "node4"] {
        let r = h.get_by_label_contains(&format!("host {node}: ")).rect();
        assert!(r.bottom() < plots_top && r.top() >= 0.0, "{node} at {r:?}");
    }
    // The caption sits in the side column, right of the lab and the plots, covering neither.
    // (The caption is in the list of latest events too; the callout is the topmost.)
    let caption = h
        .get_all_by_label_contains("Its peers miss heartbeats")
        .map(|n| n.rect())
        .min_by(|a, b| a.top().total_cmp(&b.top()))
        .unwrap();
    let plots_right = shown.iter().map(|(_, s)| s.screen_x.1).fold(0.0, f32::max);
    assert!(caption.left() > plots_right, "{caption:?} vs {plots_right}");
    // The latest event is listed under it.
    let newest = h.state().lab.sim().events().last().unwrap().detail.clone();
    assert!(h.get_all_by_label_contains(&newest).count() >= 1);
}

#[test]
fn every_inspector_field_of_every_kind_of_part_has_a_hint() {
    use lmlab_app::ui::Selection;
    let mut h = harness("four-1gbe.toml");
    h.run();
    // The cluster, with the transport model's parameters open.
    h.get_by_label("Transport model parameters").click();
    h.run();
    let spec = h.state().lab.spec().clone();
    let parts = [
        Selection::Host(spec.hosts[0].name.clone()),
        Selection::Host(spec.hosts.last().unwrap().name.clone()),
        Selection::Switch(spec.switches[0].name.clone()),
        Selection::Storage(spec.storage[0].name.clone()),
        Selection::Vm(spec.vms[0].name.clone()),
    ];
    for part in parts {
        h.state_mut().handle(ViewAction::Select(part));
        h.run();
    }
    assert_eq!(lmlab_app::ui::hints::missing(), Vec::<String>::new());
    // And the hint is what the pointer shows.
    h.state_mut().handle(ViewAction::Select(Selection::Cluster));
    h.run();
    h.get_by_label("QuarantineThreshold").hover();
    h.run();
    h.get_by_label_contains("Failures within one hour");
}

/// Everything a window or an export reads from a run, for comparing two runs.
fn same_run(a: &lmlab_engine::Simulation, b: &lmlab_engine::Simulation) {
    assert_eq!(a.now(), b.now());
    assert_eq!(a.history(), b.history());
    assert_eq!(a.snapshot(), b.snapshot());
    assert_eq!(a.events(), b.events());
    assert_eq!(a.series(), b.series());
    assert_eq!(a.node_timeline(), b.node_timeline());
    assert_eq!(a.vm_timeline(), b.vm_timeline());
    assert_eq!(
        format!("{:?}", a.migrations()),
        format!("{:?}", b.migrations())
    );
}

#[test]
fn a_jump_back_from_a_checkpoint_arrives_at_exactly_the_run_a_replay_from_zero_gives() {
    use lmlab_engine::{Command, Simulation};
    let mut lab = LabState::new(presets::load("resiliency-lab.toml").expect("preset"));
    // Crashes every few minutes over two hours, given as the clock runs (checkpoints are taken
    // every two simulated minutes on the way, then thinned out).
    for (i, t) in [130u64, 700, 1500, 2300, 3100, 4000, 4700, 5600, 6500]
        .into_iter()
        .enumerate()
    {
        lab.handle(ViewAction::GoTo(SimTime::from_secs(t)));
        let node = format!("node{}", 1 + i % 4);
        lab.handle(LabAction::Apply(Command::CrashClusterService { node }));
    }
    lab.handle(ViewAction::GoTo(SimTime::from_secs(7200)));
    // Two hours at a copy every two minutes is 60: thinned to 15, every eight minutes.
    assert_eq!(lab.checkpoints_kept(), 15);
    let all = lab.sim().history().to_vec();
    let scenario = lab.sim().scenario().clone();
    let seed = lab.sim().seed();
    // Back to times between checkpoints, on them, before the first and right after a command.
    for t in [3601, 3600, 60, 4000, 2301, 7199] {
        lab.handle(ViewAction::GoTo(SimTime::from_secs(t)));
        let (fresh, skipped) =
            Simulation::replay(scenario.clone(), seed, &all, SimTime::from_secs(t));
        assert!(skipped.is_empty());
        same_run(lab.sim(), &fresh);
    }
    // Forward again through the recorded future: the whole run as it was.
    lab.handle(ViewAction::GoTo(SimTime::from_secs(7200)));
    let (fresh, _) = Simulation::replay(scenario.clone(), seed, &all, SimTime::from_secs(7200));
    same_run(lab.sim(), &fresh);
    // A new command in the past drops the copies after it: jumping later replays what is now
    // the run, not the old one.
    lab.handle(ViewAction::GoTo(SimTime::from_secs(1000)));
    lab.handle(LabAction::Apply(Command::CrashClusterService {
        node: "node3".into(),
    }));
    lab.handle(ViewAction::GoTo(SimTime::from_secs(5000)));
    let now_all = lab.sim().history().to_vec();
    assert_eq!(now_all.len(), 3, "{now_all:?}");
    lab.handle(ViewAction::GoTo(SimTime::from_secs(4500)));
    let (fresh, _) = Simulation::replay(scenario, seed, &now_all, SimTime::from_secs(4500));
    same_run(lab.sim(), &fresh);
}

#[test]
fn an_inventory_imported_from_the_file_menu_opens_as_a_new_lab_with_its_checks() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/inventory-8node-lbfo.json")
        .canonicalize()
        .unwrap();
    let mut h = harness("seed-lab.toml");
    h.run();
    h.get_by_label("File").click();
    h.run();
    h.get_by_label("Import inventory…").click();
    h.run();
    type_path(&mut h, &fixture.display().to_string());
    let lab = &h.state().lab;
    assert_eq!(lab.spec().name, "clu08", "status {:?}", lab.status());
    assert_eq!(lab.spec().hosts.len(), 8);
    // A new, unsaved lab: Save asks where, so the inventory is never overwritten.
    assert!(lab.dirty());
    // The Check view opens on it: the rules, and how live migration was resolved.
    h.get_by_label_contains("Pre-flight checks of clu08");
    let on_mgmt = h
        .query_all_by_label_contains("Live migration on the management network")
        .count();
    assert_eq!(on_mgmt, 8, "one warning per node");
    assert!(
        h.query_all_by_label_contains(
            "because network 'LM' is excluded by MigrationExcludeNetworks"
        )
        .count()
            >= 8
    );
    h.get_by_label("How live migration was resolved");
    // The inspector says the same for a selected host, with every effective setting and its rule.
    h.state_mut()
        .handle(ViewAction::Select(lmlab_app::ui::Selection::Host(
            "node1".into(),
        )));
    h.run();
    let shown = |h: &Harness<'static, Workbench>| {
        h.query_all_by_label("live-migration networks = 'Management'")
            .count()
    };
    assert_eq!(shown(&h), 8, "the Check view's lines, one per node");
    h.get_by_label("Effective settings, and why").click();
    h.run();
    assert_eq!(shown(&h), 9, "and the inspector's");
    h.get_by_label("performance option = TCPIP");
    assert!(
        h.query_all_by_label_contains("the host's own setting")
            .count()
            >= 2
    );
    // Any lab can be checked: the seed lab passes the rule on RoCE without PFC.
    h.state_mut()
        .handle(FileAction::OpenPreset("seed-lab.toml"));
    h.run();
    h.get_by_label("Discard").click();
    h.run();
    h.get_by_label("Check").click();
    h.run();
    h.get_by_label_contains("Pre-flight checks of");
    assert!(
        h.query_by_label_contains("How live migration was resolved")
            .is_none()
    );
    h.get_by_label_contains("every RoCE NIC is on a switch with PFC");
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
        .canonicalize()
        .unwrap()
}

fn lab_2node() -> LabState {
    LabState::new(lmlab_engine::Scenario::load(&fixture("lab-2node.toml")).unwrap())
}

#[test]
fn measurements_loaded_from_the_file_menu_sit_beside_the_model_with_their_errors() {
    let mut h = harness_on(lab_2node());
    h.run();
    h.get_by_label("File").click();
    h.run();
    h.get_by_label("Load measurements…").click();
    h.run();
    type_path(&mut h, &fixture("lm-hv1.csv").display().to_string());
    // One file: the run, and the Calibrate view shows it; the model has not migrated yet.
    assert_eq!(h.state().lab.measured_runs().len(), 1);
    h.get_by_label_contains("Measured beside the model");
    h.get_by_label_contains("the lab does not migrate app02 (yet)");
    // The other host's log and the event join the same run.
    h.state_mut().handle(FileAction::AddMeasurements(vec![
        fixture("lm-hv2.csv"),
        fixture("vmms-hv1.xml"),
    ]));
    h.run();
    assert_eq!(h.state().lab.measured_runs().len(), 1);
    h.get_by_label("app02 hv1 → hv2 (lm-hv1.csv, lm-hv2.csv, vmms-hv1.xml)");
    // Past the lab's scripted migration of app02, the error table is there.
    h.state_mut()
        .handle(ViewAction::SetView(lmlab_app::ui::View::Lab));
    play_until(&mut h, 25);
    // The timeline draws the measured lines beside the model's, with their own key entries.
    h.get_by_label("measured app02");
    h.get_by_label_contains("measured hv2 (idle");
    h.state_mut()
        .handle(ViewAction::SetView(lmlab_app::ui::View::Calibrate));
    h.run();
    for q in ["throughput", "pause", "total time"] {
        h.get_by_label(q);
    }
    h.get_by_label("2.935 Gbit/s");
    h.get_by_label("52.000 ms");
}

#[test]
fn a_measured_host_name_the_lab_lacks_is_mapped_from_a_drop_down() {
    let dir = std::env::temp_dir().join(format!("lmlab-gui-map-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let renamed = dir.join("srv-a.csv");
    let text = std::fs::read_to_string(fixture("lm-hv1.csv"))
        .unwrap()
        .replace("\\\\HV1\\", "\\\\SRV-A\\");
    std::fs::write(&renamed, text).unwrap();
    let mut h = harness_on(lab_2node());
    h.state_mut()
        .handle(FileAction::AddMeasurements(vec![renamed.clone()]));
    h.run();
    assert!(h.state().lab.measured_runs()[0].from.is_none());
    h.get_by_label("SRV-A");
    h.get_by_label("in the lab").click();
    h.run();
    h.get_by_label("hv1").click();
    h.run();
    let lab = &h.state().lab;
    assert_eq!(lab.measured_runs()[0].from.as_deref(), Some("hv1"));
    assert_eq!(h.query_all_by_label("in the lab").count(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn calibrating_to_the_measured_run_shows_before_and_after_and_applies_to_the_lab() {
    let mut h = harness_on(lab_2node());
    h.state_mut().handle(FileAction::AddMeasurements(vec![
        fixture("lm-hv1.csv"),
        fixture("lm-hv2.csv"),
        fixture("vmms-hv1.xml"),
    ]));
    h.run();
    h.get_by_label("Fit the costs to these runs").click();
    h.run();
    wait_for_job(&mut h);
    h.get_by_label_contains("Error of each measured number, before and after");
    assert!(
        h.query_all_by_label_contains("not constrained: would need")
            .count()
            >= 5
    );
    h.get_by_label_contains("moves with lm_memcopy_cpb");
    let before = h.state().lab.spec().transport.clone();
    h.get_by_label("Apply to the lab").click();
    h.run();
    let after = h.state().lab.spec().transport.clone();
    assert_ne!(before, after, "the fitted costs are the lab's now");
    h.get_by_label("Applied to the lab");
    // Undo takes them back.
    h.state_mut().handle(LabAction::Undo);
    h.run();
    assert_eq!(h.state().lab.spec().transport, before);
}

#[test]
fn the_inspector_shows_a_vms_integration_services_like_get_vmintegrationservice() {
    use lmlab_app::ui::Selection;
    let mut h = harness("backup-night.toml");
    h.run();
    h.state_mut()
        .handle(ViewAction::Select(Selection::Vm("vm-xp-2".into())));
    h.run();
    h.get_by_label("Guest OS: Windows XP SP3 x86");
    h.get_by_label("IntegrationServicesVersion: 6.2.9200.16433");
    h.get_by_label("Host's version: 6.3.9600.16384");
    h.get_by_label("IntegrationServicesState: Update required");
    for column in [
        "Name",
        "Enabled",
        "PrimaryStatusDescription",
        "SecondaryStatusDescription",
    ] {
        h.get_by_label(column);
    }
    h.get_by_label("Guest Service Interface");
    h.get_by_label("Key-Value Pair Exchange");
    // Every component (six) speaks an older protocol.
    assert_eq!(h.get_all_by_label("Protocol Mismatch").count(), 6);
    assert_eq!(lmlab_app::ui::hints::missing(), Vec::<String>::new());
    // Upgrade is a command to the lab: setup runs in the guest.
    h.get_by_label("Upgrade").click();
    h.run();
    h.get_by_label("In progress: upgrading");
    let i = h
        .state()
        .lab
        .spec()
        .vms
        .iter()
        .position(|v| v.name == "vm-xp-2")
        .unwrap();
    let st = h.state().lab.sim().integration_status(i).unwrap();
    assert!(st.activity.is_some(), "{st:?}");
}

#[test]
fn the_timeline_has_a_backup_lane_with_job_outcomes_and_vss_conflict_markers() {
    let mut h = harness("backup-night.toml");
    h.run();
    h.state_mut()
        .handle(ViewAction::GoTo(SimTime::from_secs(2 * 3600 + 30 * 60)));
    h.run();
    h.run();
    let ids: Vec<&str> = h
        .state()
        .timeline_ranges()
        .iter()
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(ids, ["throughput", "cpu", "backups", "nodes", "vms"]);
    h.get_by_label("Backup jobs");
    let lane = lmlab_engine::chart::backup_lane(h.state().lab.sim());
    assert_eq!(
        lane.rows,
        ["rm-node1", "rm-csv1", "rm-legacy", "third-party node1"]
    );
    use lmlab_engine::chart::{LaneBand, LaneMark};
    use lmlab_engine::sim::JobOutcome;
    assert!(lane.marks.iter().any(|m| m.2 == LaneMark::VssConflict));
    assert!(lane.marks.iter().any(|m| m.2 == LaneMark::Retry));
    assert!(
        lane.bands
            .iter()
            .any(|b| b.3 == LaneBand::Job(Some(JobOutcome::Failed)))
    );
    assert!(lane.bands.iter().any(|b| b.3 == LaneBand::ThirdParty));
    // Other labs have no lane.
    let mut plain = harness("resiliency-lab.toml");
    plain.run();
    let ids: Vec<&str> = plain
        .state()
        .timeline_ranges()
        .iter()
        .map(|(id, _)| *id)
        .collect();
    assert!(!ids.contains(&"backups"));
}

#[test]
fn a_lab_without_the_measured_migration_offers_to_make_it_from_the_measured_source() {
    // The imported lab: app02 is on hv2 (the inventory came after the move), no script for it.
    let inv = fixture("inventory-2node.json");
    let v = lmlab_engine::inventory::load(&inv).unwrap();
    let imported = lmlab_engine::inventory::import(&v, "inventory-2node.json").unwrap();
    let mut sc = lmlab_engine::Scenario::from_toml(&imported.toml, "lab.toml").unwrap();
    sc.script.clear();
    sc.spec.script.clear();
    let mut h = harness_on(LabState::new(sc));
    h.state_mut().handle(FileAction::AddMeasurements(vec![
        fixture("lm-hv1.csv"),
        fixture("lm-hv2.csv"),
    ]));
    h.run();
    h.get_by_label_contains("the lab does not migrate app02 (yet)");
    // First back to where the measurement started, then the measured migration itself.
    // The button starts the clock too, so the audience sees the migration run.
    let run_to = |h: &mut Harness<'static, Workbench>, t: u64| {
        for _ in 0..3000 {
            h.step();
            if h.state().lab.sim().now() >= SimTime::from_secs(t) {
                break;
            }
        }
        h.state_mut().handle(ViewAction::Pause);
        h.state_mut()
            .handle(ViewAction::SetView(lmlab_app::ui::View::Calibrate));
        h.run();
    };
    h.get_by_label("Move app02 to hv1 first (the measurement started there)")
        .click();
    h.step();
    assert!(h.state().lab.playing());
    run_to(&mut h, 30);
    h.get_by_label("Migrate app02 to hv2 now").click();
    h.step();
    run_to(&mut h, 60);
    h.get_by_label("throughput");
    h.get_by_label("2.935 Gbit/s");
    assert_eq!(h.query_all_by_label_contains("does not migrate").count(), 0);
}

#[test]
fn a_vms_guest_os_and_integration_services_version_are_chosen_in_the_inspector() {
    let mut h = harness("backup-night.toml");
    h.state_mut()
        .handle(ViewAction::Select(lmlab_app::ui::Selection::Vm(
            "vm-xp-2".into(),
        )));
    h.run();
    // The old guest: 6.2 Integration Services against the hosts' 6.3.
    h.get_by_label("IS version").click();
    h.run();
    h.get_by_label("the hosts'").click();
    h.run();
    let vm = |h: &Harness<'static, Workbench>| {
        h.state()
            .lab
            .spec()
            .vms
            .iter()
            .find(|v| v.name == "vm-xp-2")
            .cloned()
            .unwrap()
    };
    assert_eq!(vm(&h).integration_services, None, "up to date");
    h.get_by_label("Guest OS").click();
    h.run();
    h.get_by_label("Windows Server 2016").click();
    h.run();
    assert_eq!(vm(&h).guest_os, "Windows Server 2016");
}
