//! Files for the window: open and save sessions (and open scenarios), native dialogs where the
//! desktop offers them, the recovery file for autosaves. Errors never touch the lab that is open.

use super::layout::bounds;
use super::state::LabState;
use lmlab_engine::session::SessionFile;
use std::path::{Path, PathBuf};

/// Autosave at most this often (wall-clock seconds) while there are unsaved changes.
pub const AUTOSAVE_EVERY_S: f64 = 60.0;

/// Where the recovery file lives (per user), if there is a data folder.
pub fn recovery_path() -> Option<PathBuf> {
    eframe::storage_dir("lmlab").map(|d| d.join("recovery.lmlab.json"))
}

/// Runs a native dialog: `Some(choice)` (`None` inside when the user cancelled), or `None` when
/// there is no dialog to show — dialogs are off, or the desktop has none (without an XDG desktop
/// portal, rfd answers at once as if cancelled; no person cancels a dialog that fast), and then
/// the caller asks for a typed path instead.
fn dialog<T>(dialogs: bool, run: impl FnOnce() -> Option<T>) -> Option<Option<T>> {
    if !dialogs {
        return None;
    }
    let start = std::time::Instant::now();
    let picked = run();
    if picked.is_none() && start.elapsed() < std::time::Duration::from_millis(150) {
        return None;
    }
    Some(picked)
}

/// A native open dialog, or `None` when there is none (then the caller prompts for a path).
pub fn pick_open(dialogs: bool) -> Option<Option<PathBuf>> {
    dialog(dialogs, || {
        rfd::FileDialog::new()
            .add_filter("lmlab session or scenario", &["json", "toml"])
            .pick_file()
    })
}

/// Measurement files, several at once.
pub fn pick_measurements(dialogs: bool) -> Option<Option<Vec<PathBuf>>> {
    dialog(dialogs, || {
        rfd::FileDialog::new()
            .add_filter(
                "PerfMon CSV, VMMS events (CSV, XML), lmlab real JSON",
                &["csv", "xml", "json"],
            )
            .pick_files()
    })
}

pub fn pick_save(dialogs: bool) -> Option<Option<PathBuf>> {
    dialog(dialogs, || {
        rfd::FileDialog::new()
            .add_filter("lmlab session", &["json"])
            .set_file_name("lab.lmlab.json")
            .save_file()
    })
}

pub fn pick_pdf(dialogs: bool) -> Option<Option<PathBuf>> {
    dialog(dialogs, || {
        rfd::FileDialog::new()
            .add_filter("PDF report", &["pdf"])
            .set_file_name("report.pdf")
            .save_file()
    })
}

pub fn pick_folder(dialogs: bool) -> Option<Option<PathBuf>> {
    dialog(dialogs, || rfd::FileDialog::new().pick_folder())
}

/// Whether `path` holds a cluster inventory (`lmlab.inventory/1` near its start, in any of the
/// encodings PowerShell writes) rather than a session.
fn is_inventory(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(8192).read_to_end(&mut head));
    // JSON with the schema's name; a scenario `lmlab import` wrote names the schema in its
    // header comment, and is TOML.
    let text = lmlab_engine::inventory::decode(&head);
    read.is_ok()
        && text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .starts_with('{')
        && text.contains("lmlab.inventory/")
}

/// Imports an inventory as a new, unsaved lab (Save asks where: the inventory is never
/// overwritten); what the import resolved and warned stays with the lab for the Check view.
fn import(path: &Path) -> Result<LabState, String> {
    use lmlab_engine::inventory;
    let file = path.display().to_string();
    let v = inventory::load(path).map_err(|e| e.to_string())?;
    let imported = inventory::import(&v, &file).map_err(|e| e.to_string())?;
    let sc = lmlab_engine::Scenario::from_toml(&imported.toml, &file)
        .map_err(|e| format!("the lab imported from {file} does not load: {e}"))?;
    let mut lab = LabState::new(sc);
    lab.doc.dirty = true;
    lab.results.inventory = Some(super::state::ImportedFrom {
        file: path.to_path_buf(),
        imported,
    });
    lab.screen.view = super::state::View::Check;
    Ok(lab)
}

/// A native open dialog for an inventory, or `None` when there is none.
pub fn pick_inventory(dialogs: bool) -> Option<Option<PathBuf>> {
    dialog(dialogs, || {
        rfd::FileDialog::new()
            .add_filter("lmlab inventory (Get-LmlabInventory.ps1)", &["json"])
            .pick_file()
    })
}

/// Loads a session (`.json`, or any file starting with `{`), a cluster inventory, or a scenario
/// (TOML) into a new lab.
pub fn open(path: &Path) -> Result<LabState, String> {
    if is_inventory(path) {
        return import(path);
    }
    let is_session = crate::output::is_session(path).map_err(|e| format!("{e:#}"))?;
    if is_session {
        let opened = crate::output::open_session(path).map_err(|e| format!("{e:#}"))?;
        let mut lab = LabState::new(opened.sim.scenario().clone());
        lab.doc.seed = opened.file.seed;
        lab.doc.sim = opened.sim;
        lab.doc.layout.extend(opened.file.layout);
        lab.doc.file = Some(path.to_path_buf());
        Ok(lab)
    } else {
        let sc = lmlab_engine::Scenario::load(path).map_err(|e| e.to_string())?;
        Ok(LabState::new(sc))
    }
}

/// The lab as a session file.
pub fn capture(lab: &LabState) -> Result<SessionFile, String> {
    SessionFile::capture(lab.sim(), lab.layout()).map_err(|e| e.to_string())
}

/// Saves the lab as a session at `path` (atomically).
pub fn save(lab: &LabState, path: &Path) -> Result<(), String> {
    capture(lab)?.save(path).map_err(|e| e.to_string())
}

/// The area a lab's shapes cover, for fitting the canvas to it (its hosts only in presentation
/// mode).
pub fn lab_bounds(lab: &LabState) -> egui::Rect {
    bounds(lab.spec(), lab.layout(), lab.prefs().presentation)
}
