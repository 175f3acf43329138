//! The window: an eframe app around the UI in [`crate::ui`]. Thin on purpose (egui_demo_app style):
//! everything testable lives in `ui`, which kittest drives without a window.

use crate::presets;
use crate::ui::LabState;
use anyhow::{Result, anyhow};
use std::path::Path;

#[derive(Debug)]
pub struct LmlabApp {
    pub lab: LabState,
}

impl LmlabApp {
    pub fn new(lab: LabState) -> Self {
        LmlabApp { lab }
    }
}

impl eframe::App for LmlabApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.lab.show(ui);
    }
}

/// Opens the window on `file`, or on the built-in default lab.
pub fn open(file: Option<&Path>) -> Result<()> {
    let scenario = match file {
        Some(p) => crate::cli::load_scenario(p)?,
        None => presets::load(presets::DEFAULT_PRESET)?,
    };
    let title = format!("lmlab — {}", scenario.spec.name);
    let lab = LabState::new(scenario);
    let options = eframe::NativeOptions {
        renderer: eframe::Renderer::Glow,
        viewport: egui::ViewportBuilder::default()
            .with_title(title)
            .with_inner_size([1400.0, 900.0])
            .with_min_inner_size([800.0, 500.0]),
        ..Default::default()
    };
    eframe::run_native(
        "lmlab",
        options,
        Box::new(|_cc| Ok(Box::new(LmlabApp::new(lab)))),
    )
    .map_err(|e| anyhow!("cannot open the window: {e}"))
}
