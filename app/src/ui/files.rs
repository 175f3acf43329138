//! Files: open and save sessions (and open scenarios), with native dialogs where the desktop offers
//! them and a typed path otherwise; autosave to a recovery file; an offer to recover after an
//! unclean exit. Errors never touch the lab that is open.

use super::{LabState, UiAction, labeled};
use lmlab_engine::session::SessionFile;
use std::path::{Path, PathBuf};

/// What a typed-path prompt is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathFor {
    Open,
    SaveAs,
    /// A folder for charts, CSV and the report.
    Export,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PathPrompt {
    pub purpose: PathFor,
    pub text: String,
}

/// Autosave at most this often (wall-clock seconds) while there are unsaved changes.
pub const AUTOSAVE_EVERY_S: f64 = 60.0;

/// Where the recovery file lives (per user), if there is a data folder.
pub fn recovery_path() -> Option<PathBuf> {
    eframe::storage_dir("lmlab").map(|d| d.join("recovery.lmlab.json"))
}

/// A native open dialog, or `None` when the desktop has none (then the caller prompts for a path).
pub fn pick_open(dialogs: bool) -> Option<Option<PathBuf>> {
    if !dialogs {
        return None;
    }
    Some(
        rfd::FileDialog::new()
            .add_filter("lmlab session or scenario", &["json", "toml"])
            .pick_file(),
    )
}

pub fn pick_save(dialogs: bool) -> Option<Option<PathBuf>> {
    if !dialogs {
        return None;
    }
    Some(
        rfd::FileDialog::new()
            .add_filter("lmlab session", &["json"])
            .set_file_name("lab.lmlab.json")
            .save_file(),
    )
}

pub fn pick_folder(dialogs: bool) -> Option<Option<PathBuf>> {
    if !dialogs {
        return None;
    }
    Some(rfd::FileDialog::new().pick_folder())
}

/// Loads a session (`.json`, or any file starting with `{`) or a scenario (TOML) into a new lab.
pub fn open(path: &Path) -> Result<LabState, String> {
    let text = std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let file = path.display().to_string();
    let is_session = text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if is_session {
        let s = SessionFile::load(path).map_err(|e| e.to_string())?;
        let sim = s.open(&file).map_err(|e| e.to_string())?;
        let mut lab = LabState::new(sim.scenario().clone());
        lab.seed = s.seed;
        lab.sim = sim;
        for (k, v) in s.layout {
            lab.layout.insert(k, v);
        }
        lab.scene_rect = super::canvas::bounds(lab.spec(), &lab.layout);
        lab.file = Some(path.to_path_buf());
        Ok(lab)
    } else {
        let sc = lmlab_engine::Scenario::load(path).map_err(|e| e.to_string())?;
        Ok(LabState::new(sc))
    }
}

/// Saves the lab as a session at `path` (atomically).
pub fn save(lab: &LabState, path: &Path) -> Result<(), String> {
    let s = SessionFile::capture(&lab.sim, &lab.layout)?;
    s.save(path).map_err(|e| e.to_string())
}

/// The typed-path window shown when no file dialog is available.
pub fn prompt(ctx: &egui::Context, lab: &mut LabState, actions: &mut Vec<UiAction>) {
    let Some(p) = &mut lab.path_prompt else {
        return;
    };
    let title = match p.purpose {
        PathFor::Open => "Open a session or scenario",
        PathFor::SaveAs => "Save the session as",
        PathFor::Export => "Export charts, CSV and report into folder",
    };
    let mut done = None;
    egui::Window::new(title)
        .collapsible(false)
        .anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
        .show(ctx, |ui| {
            ui.label("No file dialog is available here: type a path.");
            let r = labeled(ui, "Path", |ui| {
                ui.add(
                    egui::TextEdit::singleline(&mut p.text)
                        .hint_text("lab.lmlab.json")
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
    if let Some(ok) = done {
        let text = p.text.trim().to_string();
        let purpose = p.purpose;
        lab.path_prompt = None;
        if ok && !text.is_empty() {
            actions.push(match purpose {
                PathFor::Open => UiAction::OpenPath(PathBuf::from(text)),
                PathFor::SaveAs => UiAction::SaveTo(PathBuf::from(text)),
                PathFor::Export => UiAction::ExportTo(PathBuf::from(text)),
            });
        }
    }
}

/// The offer to recover after an unclean exit.
pub fn recovery_offer(ctx: &egui::Context, lab: &LabState, actions: &mut Vec<UiAction>) {
    let Some(path) = &lab.recovery_offer else {
        return;
    };
    egui::Window::new("Recover unsaved work?")
        .collapsible(false)
        .anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
        .show(ctx, |ui| {
            ui.label("lmlab did not exit cleanly last time. An autosaved session is available:");
            ui.monospace(path.display().to_string());
            ui.horizontal(|ui| {
                if ui.button("Recover").clicked() {
                    actions.push(UiAction::Recover(true));
                }
                if ui.button("Discard").clicked() {
                    actions.push(UiAction::Recover(false));
                }
            });
        });
}
