//! Preferences: what persists between runs (eframe storage).

use serde::{Deserialize, Serialize};

/// The key preferences are stored under.
pub const PREFS_KEY: &str = "lmlab-prefs";

/// What persists between runs (eframe storage).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    pub dark: bool,
    /// Large fonts, high contrast, side panels hidden.
    pub presentation: bool,
    pub welcome_seen: bool,
    /// Plot CPU per logical processor instead of per host.
    pub per_core: bool,
    /// The order of the comparison's rows, in the Compare view and in exports.
    pub compare_sort: lmlab_engine::compare::CompareSort,
    /// The time window exported charts show.
    pub export_window: ExportWindow,
}

/// The time window exported charts and the report show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExportWindow {
    /// First to last event, with a margin.
    #[default]
    Activity,
    /// What the timeline shows now.
    View,
    /// The whole run.
    All,
}

impl ExportWindow {
    pub const ALL: [ExportWindow; 3] = [
        ExportWindow::Activity,
        ExportWindow::View,
        ExportWindow::All,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ExportWindow::Activity => "Activity (first to last event)",
            ExportWindow::View => "What the timeline shows",
            ExportWindow::All => "The whole run",
        }
    }
}

impl Default for Prefs {
    fn default() -> Self {
        Prefs {
            dark: true,
            presentation: false,
            welcome_seen: false,
            per_core: false,
            compare_sort: lmlab_engine::compare::CompareSort::File,
            export_window: ExportWindow::Activity,
        }
    }
}
