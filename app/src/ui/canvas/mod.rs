//! The lab canvas (egui::Scene: drag empty space to pan, the wheel zooms at the pointer), split by
//! what it draws:
//! the palette of shapes to add (`palette.rs`), cables between hosts, switches and storage
//! (`links.rs`), switch and storage boxes (`boxes.rs`), hosts with their NICs and VM chips
//! (`hosts.rs`), migrations in flight (`migrations.rs`), the context menus and shape
//! interactions they share (`menus.rs`), and what every drawing function reads (`scene.rs`).
//! The canvas reads the lab and pushes actions; its own view state is the visible scene rectangle.

mod boxes;
mod hosts;
mod links;
mod menus;
mod migrations;
mod palette;
mod scene;

use super::action::Actions;
use super::state::LabState;
use scene::{Pen, Scene};

/// The canvas's own view state: the visible part of the scene.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CanvasView {
    rect: Option<egui::Rect>,
    /// The lab generation, fit request and presentation mode the rectangle was fitted to.
    fitted: (u64, u64, bool),
}

pub fn show(ui: &mut egui::Ui, lab: &LabState, view: &mut CanvasView, actions: &mut Actions) {
    // Presentation is for showing, not editing: no palette (F fits the canvas).
    if !lab.prefs().presentation {
        palette::show(ui, lab, actions);
    }
    let want = (
        lab.doc.generation,
        lab.screen.fit_canvas,
        lab.prefs().presentation,
    );
    if view.rect.is_none() || view.fitted != want {
        view.rect = Some(super::files::lab_bounds(lab));
        view.fitted = want;
    }
    let scene = Scene::of(lab);
    let mut rect = view.rect.unwrap_or(egui::Rect::ZERO);
    // Screen points per scene unit: the visible scene rectangle fitted into the canvas.
    let avail = ui.available_size();
    let zoom = (avail.x / rect.width().max(1.0)).min(avail.y / rect.height().max(1.0));
    // The wheel zooms at the pointer; dragging empty space pans.
    egui::Scene::new()
        .zoom_range(0.05..=3.0)
        .scroll_zooms(true)
        .show(ui, &mut rect, |ui| draw(ui, lab, &scene, zoom, actions));
    view.rect = Some(rect);
}

fn draw(ui: &mut egui::Ui, lab: &LabState, scene: &Scene, zoom: f32, actions: &mut Actions) {
    let pen = Pen::new(ui, lab, scene, zoom);
    // Cables first, so the shapes are drawn over them.
    links::storage_paths(&pen);
    links::nic_links(ui, &pen, actions);
    boxes::switches(ui, &pen, actions);
    boxes::storage(ui, &pen, actions);
    for hi in 0..lab.spec().hosts.len() {
        hosts::host(ui, &pen, hi, actions);
    }
    migrations::arrows(&pen);
}
