//! Top bar: menus, run controls, speed, the simulated clock; and the status line at the bottom
//! that says honestly which path each running migration uses.

use super::action::{Actions, FileAction, LabAction, ViewAction};
use super::prefs::ExportWindow;
use super::state::{LabState, Speed, View};
use super::widgets::format_clock;
use lmlab_engine::sim::Phase;

pub fn show(ui: &mut egui::Ui, lab: &LabState, actions: &mut Actions) {
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| file_menu(ui, actions));
        ui.menu_button("Edit", |ui| {
            let undo = lab.undo_label();
            let text = undo.map_or("Undo".to_string(), |l| format!("Undo {l}"));
            if ui
                .add_enabled(
                    undo.is_some(),
                    egui::Button::new(text).shortcut_text("Ctrl+Z"),
                )
                .clicked()
            {
                actions.push(LabAction::Undo);
                ui.close();
            }
            let redo = lab.redo_label();
            let text = redo.map_or("Redo".to_string(), |l| format!("Redo {l}"));
            if ui
                .add_enabled(
                    redo.is_some(),
                    egui::Button::new(text).shortcut_text("Ctrl+Shift+Z"),
                )
                .clicked()
            {
                actions.push(LabAction::Redo);
                ui.close();
            }
        });
        ui.menu_button("Export", |ui| export_menu(ui, lab, actions));
        ui.menu_button("Presets", |ui| {
            for p in crate::presets::PRESETS {
                if ui.button(p.title).clicked() {
                    actions.push(FileAction::OpenPreset(p.file));
                }
            }
        });
        ui.menu_button("View", |ui| {
            let mut prefs = lab.prefs().clone();
            if ui
                .checkbox(&mut prefs.presentation, "Presentation mode")
                .changed()
                || ui.checkbox(&mut prefs.dark, "Dark theme").changed()
                || ui
                    .checkbox(&mut prefs.per_core, "CPU per logical processor")
                    .changed()
            {
                actions.push(ViewAction::SetPrefs(prefs));
            }
        });
        ui.separator();
        if ui
            .selectable_label(lab.screen.view == View::Lab, "Lab")
            .on_hover_text("The lab: canvas, timeline and event log")
            .clicked()
        {
            actions.push(ViewAction::SetView(View::Lab));
        }
        if ui
            .selectable_label(lab.screen.view == View::Compare, "Compare")
            .on_hover_text("Every named configuration of the lab through the transport model")
            .clicked()
        {
            actions.push(ViewAction::SetView(View::Compare));
        }
        if ui
            .selectable_label(lab.screen.view == View::Real, "Real run")
            .on_hover_text("Move a real memory image with a VM's settings and measure it")
            .clicked()
        {
            actions.push(ViewAction::SetView(View::Real));
        }
        if ui
            .selectable_label(lab.screen.view == View::Check, "Check")
            .on_hover_text(
                "Pre-flight checks of the lab, and how an imported inventory was resolved",
            )
            .clicked()
        {
            actions.push(ViewAction::SetView(View::Check));
        }
        if ui
            .selectable_label(lab.screen.view == View::Calibrate, "Calibrate")
            .on_hover_text(
                "Measured runs beside the model, and the transport's costs fitted to them",
            )
            .clicked()
        {
            actions.push(ViewAction::SetView(View::Calibrate));
        }
        ui.separator();
        if lab.clock.playing {
            if ui
                .button("Pause")
                .on_hover_text("Pause the clock (Space)")
                .clicked()
            {
                actions.push(ViewAction::Pause);
            }
        } else if ui
            .button("Play")
            .on_hover_text("Run the simulated clock at the chosen speed (Space)")
            .clicked()
        {
            actions.push(ViewAction::Play);
        }
        if ui
            .button("Step")
            .on_hover_text("Run to the next scheduled event (→)")
            .clicked()
        {
            actions.push(ViewAction::Step);
        }
        ui.label("Speed");
        for s in Speed::ALL {
            if ui
                .selectable_label(lab.clock.speed == s, s.label())
                .on_hover_text("Simulated time per second of wall time")
                .clicked()
            {
                actions.push(ViewAction::SetSpeed(s));
            }
        }
        ui.separator();
        if let Some(f) = lab.file() {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            ui.label(format!("{name}{}", if lab.dirty() { " *" } else { "" }));
            ui.separator();
        }
        ui.label(
            egui::RichText::new(format!("t = {}", format_clock(lab.sim().now())))
                .monospace()
                .strong()
                .size(16.0),
        );
    });
}

pub fn status_line(ui: &mut egui::Ui, lab: &LabState) {
    ui.horizontal_wrapped(|ui| {
        if let Some(s) = lab.status() {
            ui.colored_label(ui.visuals().error_fg_color, s);
            ui.separator();
        }
        let spec = lab.spec();
        let running: Vec<String> = lab
            .sim()
            .migrations()
            .iter()
            .filter(|m| {
                matches!(
                    m.phase,
                    Phase::Setup | Phase::Precopy | Phase::SwitchOver | Phase::Resume
                )
            })
            .map(|m| {
                let what = match m.phase {
                    Phase::Precopy => format!(
                        "pass {}, {:.0} %",
                        m.passes + 1,
                        100.0 * m.stage_progress(lab.sim().now())
                    ),
                    p => format!("{p:?}"),
                };
                format!(
                    "{} → {}: {} ({what}, {:.1} Gbps)",
                    spec.vms[m.vm].name,
                    spec.hosts[m.to].name,
                    if m.path.is_empty() {
                        "setting up"
                    } else {
                        &m.path
                    },
                    m.rate * 8.0 / 1e9
                )
            })
            .collect();
        if running.is_empty() {
            ui.label(format!(
                "{} — seed {} — no migration running",
                spec.name,
                lab.seed()
            ));
        } else {
            ui.label(running.join("   |   "));
        }
    });
}

/// The Export menu: the folder export, the PDF report, and the time window their charts show.
fn export_menu(ui: &mut egui::Ui, lab: &LabState, actions: &mut Actions) {
    if ui
        .button("Charts, CSV and report…")
        .on_hover_text(
            "Into a folder: PNG (1× and 2×) and SVG charts, series.csv, events.csv, \
                 report.json, report.pdf and, for labs with configurations, the comparison",
        )
        .clicked()
    {
        actions.push(FileAction::Export);
        ui.close();
    }
    if ui
        .button("Report (PDF)…")
        .on_hover_text(
            "One PDF: the lab, the comparison, the timeline, the migrations, warnings, \
                 assumptions and how to reproduce it",
        )
        .clicked()
    {
        actions.push(FileAction::ExportReport);
        ui.close();
    }
    ui.separator();
    ui.label("Charts show");
    let mut prefs = lab.prefs().clone();
    for w in ExportWindow::ALL {
        ui.radio_value(&mut prefs.export_window, w, w.label());
    }
    if prefs != *lab.prefs() {
        actions.push(ViewAction::SetPrefs(prefs));
    }
}

/// The File menu.
fn file_menu(ui: &mut egui::Ui, actions: &mut Actions) {
    if ui.button("Open…").clicked() {
        actions.push(FileAction::Open);
        ui.close();
    }
    if ui
            .button("Import inventory…")
            .on_hover_text("A cluster inventory written by assets/collect/Get-LmlabInventory.ps1 becomes a new lab")
            .clicked()
        {
            actions.push(FileAction::ImportInventory);
            ui.close();
        }
    if ui
            .button("Load measurements…")
            .on_hover_text("PerfMon CSV logs, VMMS 20415/20417 events (CSV or XML) or lmlab real reports, set beside the model")
            .clicked()
        {
            actions.push(FileAction::LoadMeasurements);
            ui.close();
        }
    if ui.button("Save").clicked() {
        actions.push(FileAction::Save);
        ui.close();
    }
    if ui.button("Save as…").clicked() {
        actions.push(FileAction::SaveAs);
        ui.close();
    }
}
