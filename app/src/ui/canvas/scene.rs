//! What every drawing function of the canvas reads: the frame's [`Scene`] (node and storage
//! states, where the shapes are, each host's VMs) and the [`Pen`] (painter and styles).

use super::super::layout::{HOST_W, STORAGE_SIZE, SWITCH_SIZE, host_height_for, key};
use super::super::state::LabState;
use lmlab_engine::sim::{NodeStatus, StorageStatus};

/// What the canvas reads each frame: node and storage states, each host's VMs, and where the
/// shapes are. VMs themselves are read by index without copying.
pub(super) struct Scene {
    pub(super) nodes: Vec<NodeStatus>,
    pub(super) storage: Vec<StorageStatus>,
    pub(super) host_rects: Vec<egui::Rect>,
    /// VM indices on each host.
    pub(super) by_host: Vec<Vec<usize>>,
}

impl Scene {
    pub(super) fn of(lab: &LabState) -> Scene {
        let spec = lab.spec();
        let mut by_host: Vec<Vec<usize>> = vec![Vec::new(); spec.hosts.len()];
        for vi in 0..spec.vms.len() {
            if let Some((hi, _, _)) = lab.sim().vm_view(vi)
                && let Some(list) = by_host.get_mut(hi)
            {
                list.push(vi);
            }
        }
        // Each box fits the VMs it holds now (a migration or failover changes that).
        let host_rects = spec
            .hosts
            .iter()
            .zip(&by_host)
            .map(|(h, vms)| {
                egui::Rect::from_min_size(
                    pos(lab, &key("host", &h.name)),
                    egui::vec2(HOST_W, host_height_for(h, vms.len())),
                )
            })
            .collect();
        Scene {
            nodes: lab.sim().node_statuses(),
            storage: lab.sim().storage_statuses(),
            host_rects,
            by_host,
        }
    }
}

pub(super) fn pos(lab: &LabState, key: &str) -> egui::Pos2 {
    lab.layout()
        .get(key)
        .map_or(egui::Pos2::ZERO, |p| egui::pos2(p[0], p[1]))
}

pub(super) fn switch_rect(lab: &LabState, name: &str) -> egui::Rect {
    egui::Rect::from_min_size(pos(lab, &key("switch", name)), SWITCH_SIZE.into())
}

pub(super) fn storage_rect(lab: &LabState, name: &str) -> egui::Rect {
    egui::Rect::from_min_size(pos(lab, &key("storage", name)), STORAGE_SIZE.into())
}

/// What every drawing function needs: the lab, the frame's scene, the painter and its styles.
pub(super) struct Pen<'a> {
    pub(super) lab: &'a LabState,
    pub(super) scene: &'a Scene,
    pub(super) painter: egui::Painter,
    pub(super) visuals: egui::Visuals,
    pub(super) font: egui::FontId,
    pub(super) small: egui::FontId,
}

/// Smallest size on screen (points) for the canvas's labels: names of VMs, NICs and hosts.
const MIN_TEXT_PT: f32 = 14.0;
/// Text grows at most this much in scene units to stay readable when the lab is zoomed out (16
/// units, what a NIC row of 18 holds);
/// beyond it, labels are elided.
const MAX_TEXT_SCALE: f32 = 1.45;

impl<'a> Pen<'a> {
    /// `zoom` is how many screen points one scene unit takes: text grows in scene units as the
    /// lab is zoomed out, so labels stay readable (up to a limit; long labels are elided).
    pub(super) fn new(ui: &egui::Ui, lab: &'a LabState, scene: &'a Scene, zoom: f32) -> Pen<'a> {
        let scale = (MIN_TEXT_PT / 11.0 / zoom.max(0.01)).clamp(1.0, MAX_TEXT_SCALE);
        Pen {
            lab,
            scene,
            painter: ui.painter().clone(),
            visuals: ui.visuals().clone(),
            font: egui::FontId::proportional(13.0 * scale.max(1.0)),
            small: egui::FontId::proportional(11.0 * scale),
        }
    }

    /// Draws `text` at `pos`, elided with "…" to `max_w` scene units.
    pub(super) fn text_fit(
        &self,
        pos: egui::Pos2,
        align: egui::Align2,
        text: impl Into<String>,
        font: &egui::FontId,
        color: egui::Color32,
        max_w: f32,
    ) {
        let mut job = egui::text::LayoutJob::simple_singleline(text.into(), font.clone(), color);
        job.wrap = egui::text::TextWrapping::truncate_at_width(max_w.max(8.0));
        let galley = self.painter.layout_job(job);
        let rect = align.anchor_size(pos, galley.size());
        self.painter.galley(rect.min, galley, color);
    }

    pub(super) fn text_color(&self) -> egui::Color32 {
        self.visuals.text_color()
    }
}

/// The colour of something broken (an unplugged NIC, a lost path).
pub(super) const BROKEN: egui::Color32 = egui::Color32::from_rgb(215, 50, 50);
/// The colour of migrations in flight and of drags.
pub(super) const MOVING: egui::Color32 = egui::Color32::from_rgb(255, 200, 0);
