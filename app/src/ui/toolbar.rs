//! Top bar: presets menu, run controls, speed and the simulated clock.

use super::{LabState, Speed, UiAction, format_clock};
use lmlab_engine::Snapshot;

pub fn show(ui: &mut egui::Ui, lab: &LabState, snap: &Snapshot, actions: &mut Vec<UiAction>) {
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("Presets", |ui| {
            for p in crate::presets::PRESETS {
                if ui.button(p.title).clicked() {
                    actions.push(UiAction::OpenPreset(p.file));
                }
            }
        });
        ui.separator();
        if lab.playing {
            if ui.button("Pause").clicked() {
                actions.push(UiAction::Pause);
            }
        } else if ui.button("Play").clicked() {
            actions.push(UiAction::Play);
        }
        if ui
            .button("Step")
            .on_hover_text("Run to the next scheduled event")
            .clicked()
        {
            actions.push(UiAction::Step);
        }
        ui.label("Speed");
        for s in Speed::ALL {
            if ui.selectable_label(lab.speed == s, s.label()).clicked() {
                actions.push(UiAction::SetSpeed(s));
            }
        }
        ui.separator();
        ui.label(
            egui::RichText::new(format!("t = {}", format_clock(snap.now)))
                .monospace()
                .strong(),
        );
    });
}
