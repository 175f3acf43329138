//! The lab canvas (egui::Scene: pan with the mouse, zoom with the wheel), split by what it draws:
//! the palette of shapes to add (`palette.rs`), cables between hosts, switches and storage
//! (`links.rs`), switch and storage boxes (`boxes.rs`), hosts with their NICs and VM chips
//! (`hosts.rs`), migrations in flight (`migrations.rs`), and the context menus and shape
//! interactions they share (`menus.rs`). The canvas reads the lab and pushes actions; its own view
//! state is the visible scene rectangle.

mod boxes;
mod hosts;
mod links;
mod menus;
mod migrations;
mod palette;

pub use palette::new_nic;

use super::action::Actions;
use super::layout::{HOST_W, STORAGE_SIZE, SWITCH_SIZE, host_height, key};
use super::state::LabState;
use lmlab_engine::sim::{NodeStatus, StorageStatus};

/// The canvas's own view state: the visible part of the scene.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CanvasView {
    rect: Option<egui::Rect>,
    /// The lab generation the rectangle was fitted to.
    fitted: u64,
}

pub fn show(ui: &mut egui::Ui, lab: &LabState, view: &mut CanvasView, actions: &mut Actions) {
    palette::show(ui, lab, actions);
    if view.rect.is_none() || view.fitted != lab.doc.generation {
        view.rect = Some(super::files::lab_bounds(lab));
        view.fitted = lab.doc.generation;
    }
    let scene = Scene::of(lab);
    let mut rect = view.rect.unwrap_or(egui::Rect::ZERO);
    egui::Scene::new()
        .zoom_range(0.05..=3.0)
        .show(ui, &mut rect, |ui| draw(ui, lab, &scene, actions));
    view.rect = Some(rect);
}

/// What the canvas reads each frame: node and storage states, each host's VMs, and where the
/// shapes are. VMs themselves are read by index without copying.
pub(super) struct Scene {
    nodes: Vec<NodeStatus>,
    storage: Vec<StorageStatus>,
    host_rects: Vec<egui::Rect>,
    /// VM indices on each host.
    by_host: Vec<Vec<usize>>,
}

impl Scene {
    fn of(lab: &LabState) -> Scene {
        let spec = lab.spec();
        let host_rects = spec
            .hosts
            .iter()
            .map(|h| {
                egui::Rect::from_min_size(
                    pos(lab, &key("host", &h.name)),
                    egui::vec2(HOST_W, host_height(h, spec)),
                )
            })
            .collect();
        let mut by_host: Vec<Vec<usize>> = vec![Vec::new(); spec.hosts.len()];
        for vi in 0..spec.vms.len() {
            if let Some((hi, _, _)) = lab.sim().vm_view(vi)
                && let Some(list) = by_host.get_mut(hi)
            {
                list.push(vi);
            }
        }
        Scene {
            nodes: lab.sim().node_statuses(),
            storage: lab.sim().storage_statuses(),
            host_rects,
            by_host,
        }
    }
}

fn pos(lab: &LabState, key: &str) -> egui::Pos2 {
    lab.layout()
        .get(key)
        .map_or(egui::Pos2::ZERO, |p| egui::pos2(p[0], p[1]))
}

fn switch_rect(lab: &LabState, name: &str) -> egui::Rect {
    egui::Rect::from_min_size(pos(lab, &key("switch", name)), SWITCH_SIZE.into())
}

fn storage_rect(lab: &LabState, name: &str) -> egui::Rect {
    egui::Rect::from_min_size(pos(lab, &key("storage", name)), STORAGE_SIZE.into())
}

/// What every drawing function needs: the lab, the frame's scene, the painter and its styles.
pub(super) struct Pen<'a> {
    lab: &'a LabState,
    scene: &'a Scene,
    painter: egui::Painter,
    visuals: egui::Visuals,
    font: egui::FontId,
    small: egui::FontId,
}

impl Pen<'_> {
    fn text_color(&self) -> egui::Color32 {
        self.visuals.text_color()
    }
}

/// The colour of something broken (an unplugged NIC, a lost path).
const BROKEN: egui::Color32 = egui::Color32::from_rgb(215, 50, 50);
/// The colour of migrations in flight and of drags.
const MOVING: egui::Color32 = egui::Color32::from_rgb(255, 200, 0);

fn draw(ui: &mut egui::Ui, lab: &LabState, scene: &Scene, actions: &mut Actions) {
    let pen = Pen {
        lab,
        scene,
        painter: ui.painter().clone(),
        visuals: ui.visuals().clone(),
        font: egui::FontId::proportional(13.0),
        small: egui::FontId::proportional(11.0),
    };
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
