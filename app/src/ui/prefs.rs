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
}

impl Default for Prefs {
    fn default() -> Self {
        Prefs {
            dark: true,
            presentation: false,
            welcome_seen: false,
            per_core: false,
        }
    }
}
