//! Preferences (theme, presentation mode), state colours shared by canvas and plots, and the
//! welcome window.

use super::UiAction;
use lmlab_engine::sim::{NodeDisplay, VmState};
use serde::{Deserialize, Serialize};

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

/// Lets proportional text fall back to the monospace font for glyphs (arrows, dots) the default
/// proportional font lacks. Called once per context.
pub fn install_fonts(ctx: &egui::Context) {
    let mut fonts = egui::FontDefinitions::default();
    if let Some(mono) = fonts.families.get(&egui::FontFamily::Monospace).cloned() {
        let prop = fonts
            .families
            .entry(egui::FontFamily::Proportional)
            .or_default();
        for f in mono {
            if !prop.contains(&f) {
                prop.push(f);
            }
        }
    }
    ctx.set_fonts(fonts);
}

pub fn apply(ctx: &egui::Context, prefs: &Prefs) {
    let want = if prefs.dark {
        egui::Theme::Dark
    } else {
        egui::Theme::Light
    };
    if ctx.theme() != want {
        ctx.set_theme(want);
    }
    let zoom = if prefs.presentation { 1.35 } else { 1.0 };
    if (ctx.zoom_factor() - zoom).abs() > 1e-3 {
        ctx.set_zoom_factor(zoom);
    }
    // High contrast in presentation mode: text in full white (dark) or black (light).
    let contrast = if prefs.dark {
        egui::Color32::WHITE
    } else {
        egui::Color32::BLACK
    };
    let have = ctx.style_of(want).visuals.override_text_color;
    if prefs.presentation && have != Some(contrast) {
        ctx.style_mut_of(want, |s| s.visuals.override_text_color = Some(contrast));
    } else if !prefs.presentation && have.is_some() {
        ctx.style_mut_of(want, |s| s.visuals.override_text_color = None);
    }
}

fn rgb(c: [u8; 3]) -> egui::Color32 {
    egui::Color32::from_rgb(c[0], c[1], c[2])
}

/// Node state colour: the same palette as exported charts.
pub fn node_color(d: NodeDisplay) -> egui::Color32 {
    rgb(lmlab_engine::export::node_rgb(d))
}

pub fn vm_color(s: VmState) -> egui::Color32 {
    rgb(lmlab_engine::export::vm_rgb(s))
}

/// A distinct colour for the n-th series.
pub fn series_color(n: usize) -> egui::Color32 {
    let p = lmlab_engine::export::SERIES_RGB;
    rgb(p[n % p.len()])
}

pub fn welcome(ctx: &egui::Context, actions: &mut Vec<UiAction>) {
    egui::Window::new("Welcome to lmlab")
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
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
                    actions.push(UiAction::OpenPreset(p.file));
                    actions.push(UiAction::CloseWelcome);
                }
            }
            ui.separator();
            if ui.button("Close").clicked() {
                actions.push(UiAction::CloseWelcome);
            }
        });
}
