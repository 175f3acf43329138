//! How the window looks: theme and zoom from the preferences, fonts, and the state and series
//! colours shared by canvas and plots (the exported charts' palette).

use super::prefs::Prefs;
use lmlab_engine::sim::{NodeDisplay, VmState};

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

pub fn rgb(c: [u8; 3]) -> egui::Color32 {
    egui::Color32::from_rgb(c[0], c[1], c[2])
}

/// Node state colour: the same palette as exported charts.
pub fn node_color(d: NodeDisplay) -> egui::Color32 {
    rgb(lmlab_engine::export::node_rgb(d))
}

pub fn vm_color(s: VmState) -> egui::Color32 {
    rgb(lmlab_engine::export::vm_rgb(s))
}

pub fn is_color(s: lmlab_engine::sim::IsSummary) -> egui::Color32 {
    rgb(lmlab_engine::export::is_rgb(s))
}

pub fn backup_color(b: lmlab_engine::chart::LaneBand) -> egui::Color32 {
    rgb(lmlab_engine::export::backup_rgb(b))
}

/// Black or white text, whichever reads better on `bg` (badges, chips, band labels).
pub fn text_on(bg: egui::Color32) -> egui::Color32 {
    rgb(lmlab_engine::export::text_rgb_on([bg.r(), bg.g(), bg.b()]))
}

/// A distinct colour for the n-th series.
pub fn series_color(n: usize) -> egui::Color32 {
    let p = lmlab_engine::export::SERIES_RGB;
    rgb(p[n % p.len()])
}
