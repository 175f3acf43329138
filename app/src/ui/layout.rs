//! Where the lab's shapes sit on the canvas: the default arrangement (hosts in rows, storage
//! above, switches below), the sizes of shapes, and the area they cover. Shared by the state (a
//! new lab's layout) and the canvas (drawing it).

use lmlab_engine::scenario::{HostSpec, ScenarioSpec};
use std::collections::BTreeMap;

/// Width of a host box.
pub const HOST_W: f32 = 250.0;
/// VM chips a host box shows; more are summarised as a count.
pub const MAX_CHIPS: usize = 24;
/// Size of a switch box and of a storage box.
pub const SWITCH_SIZE: [f32; 2] = [180.0, 44.0];
pub const STORAGE_SIZE: [f32; 2] = [160.0, 50.0];

/// The layout key of a shape: `host:NAME`, `switch:NAME`, `storage:NAME`.
pub fn key(kind: &str, name: &str) -> String {
    format!("{kind}:{name}")
}

/// Hosts in rows, storage above them, switches below.
pub fn default_layout(spec: &ScenarioSpec) -> BTreeMap<String, [f32; 2]> {
    let mut m = BTreeMap::new();
    let per_row = 6usize;
    let mut row_height = 0.0f32;
    for (i, h) in spec.hosts.iter().enumerate() {
        let (row, col) = (i / per_row, i % per_row);
        row_height = row_height.max(host_height(h, spec));
        m.insert(
            key("host", &h.name),
            [col as f32 * (HOST_W + 50.0), 140.0 + row as f32 * 420.0],
        );
    }
    let rows = spec.hosts.len().div_ceil(per_row).max(1);
    let width = spec.hosts.len().min(per_row).max(1) as f32 * (HOST_W + 50.0);
    let below = 140.0 + (rows - 1) as f32 * 420.0 + row_height + 90.0;
    for (i, s) in spec.switches.iter().enumerate() {
        let x = width / 2.0 - 90.0 + (i as f32 - (spec.switches.len() as f32 - 1.0) / 2.0) * 240.0;
        m.insert(key("switch", &s.name), [x, below]);
    }
    for (i, s) in spec.storage.iter().enumerate() {
        let x = width / 2.0 - 80.0 + (i as f32 - (spec.storage.len() as f32 - 1.0) / 2.0) * 220.0;
        m.insert(key("storage", &s.name), [x, 10.0]);
    }
    m
}

/// The area the lab's shapes cover, with a margin: the initial view of the canvas. With
/// `hosts_only` (presentation mode), the hosts alone, so they fill the canvas and read large.
pub fn bounds(
    spec: &ScenarioSpec,
    layout: &BTreeMap<String, [f32; 2]>,
    hosts_only: bool,
) -> egui::Rect {
    let mut r = egui::Rect::NOTHING;
    for h in &spec.hosts {
        if let Some(p) = layout.get(&key("host", &h.name)) {
            r = r.union(egui::Rect::from_min_size(
                egui::pos2(p[0], p[1]),
                egui::vec2(HOST_W, host_height(h, spec)),
            ));
        }
    }
    if hosts_only && r.is_finite() && r.width() > 0.0 {
        return r.expand(16.0);
    }
    let boxes = spec
        .switches
        .iter()
        .map(|s| key("switch", &s.name))
        .chain(spec.storage.iter().map(|s| key("storage", &s.name)));
    for k in boxes {
        if let Some(p) = layout.get(&k) {
            r = r.union(egui::Rect::from_min_size(
                egui::pos2(p[0], p[1]),
                egui::vec2(180.0, 50.0),
            ));
        }
    }
    if !r.is_finite() || r.width() <= 0.0 {
        return egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(800.0, 500.0));
    }
    r.expand(40.0)
}

/// Height of a host box as the lab starts (its VMs as the scenario places them).
pub fn host_height(h: &HostSpec, spec: &ScenarioSpec) -> f32 {
    host_height_for(h, spec.vms.iter().filter(|v| v.host == h.name).count())
}

/// Height of a host box holding `vms` VMs: header, hardware line, one row per NIC, the chips two
/// per row (or one line with the count when there are too many to draw).
pub fn host_height_for(h: &HostSpec, vms: usize) -> f32 {
    let rows = if vms <= MAX_CHIPS { vms.div_ceil(2) } else { 1 };
    30.0 + 18.0 + 18.0 * h.nics.len() as f32 + 10.0 + rows as f32 * 24.0 + 10.0
}
