//! Windows over the lab: the migration forecast, the typed-path prompt (when there is no file
//! dialog), the offer to recover unsaved work, the welcome window, and the bar of a running job.

use super::action::{Actions, FileAction, JobAction, LabAction, ViewAction};
use super::state::{LabState, PathFor, Then, Unsaved};
use super::widgets::labeled;
use std::path::PathBuf;

fn centered(title: &str) -> egui::Window<'_> {
    egui::Window::new(title)
        .collapsible(false)
        .anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
}

pub fn migration(ctx: &egui::Context, lab: &LabState, actions: &mut Actions) {
    let Some(p) = lab.pending() else { return };
    centered("Live migration").resizable(false).show(ctx, |ui| {
        ui.heading(format!("{} → {}", p.vm, p.to));
        match &p.forecast {
            Ok(f) => {
                ui.label(format!(
                    "Forecast at {:.1} Gbps: {} pass(es), {:.1} s in all, pause {:.0} ms",
                    f.rate_gbps, f.passes, f.total_s, f.pause_ms
                ));
                if let Some(w) = &f.warning {
                    ui.colored_label(ui.visuals().warn_fg_color, w);
                    for r in &f.remedies {
                        ui.label(format!("• {r}"));
                    }
                }
                ui.horizontal(|ui| {
                    if ui.button("Start migration").clicked() {
                        actions.push(LabAction::ConfirmMigration);
                    }
                    if ui.button("Cancel").clicked() {
                        actions.push(LabAction::CancelMigration);
                    }
                });
            }
            Err(e) => {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    format!("Not possible now: {e}"),
                );
                if ui.button("Close").clicked() {
                    actions.push(LabAction::CancelMigration);
                }
            }
        }
    });
}

/// The typed-path window shown when no file dialog is available.
pub fn path_prompt(ctx: &egui::Context, lab: &LabState, actions: &mut Actions) {
    let Some(p) = lab.path_prompt() else {
        return;
    };
    let title = match p.purpose {
        PathFor::Open => "Open a session or scenario",
        PathFor::SaveAs => "Save the session as",
        PathFor::Export => "Export charts, CSV and report into folder",
        PathFor::Report => "Write the PDF report to",
        PathFor::Measurements => {
            "Add a measurement file (PerfMon CSV, VMMS events, lmlab real JSON)"
        }
    };
    let hint = match p.purpose {
        PathFor::Export => "lmlab-export",
        PathFor::Report => "report.pdf",
        PathFor::Measurements => "lm-hv1.csv",
        _ => "lab.lmlab.json",
    };
    let mut text = p.text.clone();
    let mut done = None;
    centered(title).show(ctx, |ui| {
        ui.label("No file dialog is available here: type a path.");
        let r = labeled(ui, "Path", |ui| {
            ui.add(
                egui::TextEdit::singleline(&mut text)
                    .hint_text(hint)
                    .desired_width(420.0),
            )
        });
        let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        ui.horizontal(|ui| {
            if ui.button("OK").clicked() || enter {
                done = Some(true);
            }
            if ui.button("Cancel").clicked() {
                done = Some(false);
            }
        });
    });
    if text != p.text {
        actions.push(FileAction::PromptText(text.clone()));
    }
    if let Some(ok) = done {
        let path = text.trim();
        let answer = (ok && !path.is_empty()).then(|| (p.purpose, PathBuf::from(path)));
        actions.push(FileAction::PromptDone(answer));
    }
}

/// The offer to recover after an unclean exit.
pub fn recovery_offer(ctx: &egui::Context, lab: &LabState, actions: &mut Actions) {
    let Some(path) = &lab.screen.recovery_offer else {
        return;
    };
    centered("Recover unsaved work?").show(ctx, |ui| {
        ui.label("lmlab did not exit cleanly last time. An autosaved session is available:");
        ui.monospace(path.display().to_string());
        ui.horizontal(|ui| {
            if ui.button("Recover").clicked() {
                actions.push(FileAction::Recover(true));
            }
            if ui.button("Discard").clicked() {
                actions.push(FileAction::Recover(false));
            }
        });
    });
}

pub fn welcome(ctx: &egui::Context, actions: &mut Actions) {
    centered("Welcome to lmlab")
        .resizable(false)
        .show(ctx, |ui| {
            ui.label("Live Migration Lab simulates Hyper-V live migration and failover clusters.");
            ui.label(
                "• Drag a VM onto another host to live-migrate it (the forecast shows first).",
            );
            ui.label("• Right-click a host, NIC, link or storage to break or repair it.");
            ui.label("• Select anything to edit it in the inspector on the left.");
            ui.label(
                "• Play runs the clock; the plots share one time axis; click a log line to jump.",
            );
            ui.separator();
            ui.label("Start with a preset:");
            for p in crate::presets::PRESETS {
                if ui.button(p.title).clicked() {
                    actions.push(FileAction::OpenPreset(p.file));
                    actions.push(ViewAction::CloseWelcome);
                }
            }
            ui.separator();
            if ui.button("Close").clicked() {
                actions.push(ViewAction::CloseWelcome);
            }
        });
}

/// Save / Discard / Cancel before something would drop unsaved changes.
pub fn unsaved(ctx: &egui::Context, lab: &LabState, actions: &mut Actions) {
    let Some(then) = &lab.screen.unsaved else {
        return;
    };
    let what = match then {
        Then::OpenPreset(_) => "opening the preset",
        Then::Open | Then::OpenPath(_) => "opening another file",
        Then::ImportInventory => "importing an inventory",
        Then::Close => "closing lmlab",
    };
    centered("Unsaved changes")
        .resizable(false)
        .show(ctx, |ui| {
            let name = lab.file().and_then(|f| f.file_name()).map_or_else(
                || lab.spec().name.clone(),
                |n| n.to_string_lossy().into_owned(),
            );
            ui.label(format!(
                "{name} has changes that are not saved. Save them before {what}?"
            ));
            ui.horizontal(|ui| {
                if ui.button("Save").clicked() {
                    actions.push(FileAction::Unsaved(Unsaved::Save));
                }
                if ui.button("Discard").clicked() {
                    actions.push(FileAction::Unsaved(Unsaved::Discard));
                }
                if ui.button("Cancel").clicked() {
                    actions.push(FileAction::Unsaved(Unsaved::Cancel));
                }
            });
        });
}

/// Simulated seconds a caption stays on screen (unless the next one comes first).
const CAPTION_HOLD_S: f64 = 90.0;

/// The script's latest caption as a strip above the lab (large in presentation mode): it takes
/// its own room, so it never covers the canvas or the events; with the way on to the next one.
pub fn caption(ui: &mut egui::Ui, lab: &LabState, actions: &mut Actions) {
    let now = lab.sim().now();
    let Some(e) = lab
        .sim()
        .events()
        .iter()
        .rev()
        .find(|e| e.mark.is_caption())
    else {
        return;
    };
    if (now.as_secs_f64() - e.t.as_secs_f64()) > CAPTION_HOLD_S {
        return;
    }
    let size = if lab.prefs().presentation { 22.0 } else { 16.0 };
    let accent = ui.visuals().selection.bg_fill;
    egui::Frame::new()
        .fill(ui.visuals().extreme_bg_color)
        .stroke(egui::Stroke::new(2.0, accent))
        .corner_radius(6)
        .inner_margin(egui::Margin::symmetric(10, 6))
        .show(ui, |ui| {
            let next = lab.next_caption(now, true).is_some();
            let text = egui::RichText::new(&e.detail).size(size).strong();
            let next_button = |ui: &mut egui::Ui, actions: &mut Actions| {
                if next
                    && ui
                        .button("Next caption")
                        .on_hover_text("Play on to the next caption and pause there")
                        .clicked()
                {
                    actions.push(ViewAction::PlayToCaption);
                }
            };
            // Narrow (presentation's side panel): the button under the text; wide: beside it.
            if ui.available_width() < 520.0 {
                ui.add(egui::Label::new(text).wrap());
                next_button(ui, actions);
                return;
            }
            ui.horizontal(|ui| {
                let text_w = (ui.available_width() - if next { 130.0 } else { 0.0 }).max(120.0);
                ui.allocate_ui(egui::vec2(text_w, 0.0), |ui| {
                    ui.set_width(text_w);
                    ui.add(egui::Label::new(text).wrap());
                });
                next_button(ui, actions);
            });
        });
}

/// Help → Keyboard shortcuts.
pub fn shortcuts(ctx: &egui::Context, lab: &LabState, actions: &mut Actions) {
    if !lab.screen.show_shortcuts {
        return;
    }
    centered("Keyboard shortcuts")
        .resizable(false)
        .show(ctx, |ui| {
            egui::Grid::new("shortcuts").striped(true).show(ui, |ui| {
                for (keys, what) in super::keys::SHORTCUTS {
                    ui.monospace(*keys);
                    ui.label(*what);
                    ui.end_row();
                }
            });
            ui.label("The mouse wheel zooms the canvas; dragging empty space pans it.");
            if ui.button("Close").clicked() {
                actions.push(ViewAction::ShowShortcuts(false));
            }
        });
}

/// The running job's name, progress bar, Cancel and latest line.
pub fn job_bar(ui: &mut egui::Ui, lab: &LabState, actions: &mut Actions) {
    let Some(w) = lab.work() else { return };
    ui.horizontal(|ui| {
        ui.label(w.job().what());
        ui.add(
            egui::ProgressBar::new(w.job().fraction())
                .show_percentage()
                .desired_width(300.0),
        );
        if ui.button("Cancel").clicked() {
            actions.push(JobAction::Cancel);
        }
        let note = w.job().note();
        if !note.is_empty() {
            ui.label(note);
        }
    });
}
