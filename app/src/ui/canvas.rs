//! The lab canvas (egui::Scene: pan with the mouse, zoom with the wheel): hosts with their NICs
//! and VM chips, switches, storage, the links between them with live throughput, and markers for
//! migrations in flight. Shapes are added from the palette, dragged to place, selected, deleted;
//! VMs are dragged onto another host to live-migrate; right-click gives every failure and repair.

use super::theme::{node_color, vm_color};
use super::{LabState, Selection, UiAction};
use lmlab_engine::Command;
use lmlab_engine::scenario::{
    HostSpec, NicSpec, ScenarioSpec, StorageKind, StorageSpec, SwitchSpec, VmSpec,
};
use lmlab_engine::sim::{NodeDisplay, Phase};
use std::collections::BTreeMap;

const HOST_W: f32 = 250.0;
const MAX_CHIPS: usize = 24;

/// What is dragged when a VM chip is dragged.
#[derive(Clone, Debug)]
struct VmDrag(String);

/// What is dragged from a NIC's port: (host, NIC), to cable it to a switch.
#[derive(Clone, Debug)]
struct PortDrag(String, String);

/// Hosts in rows, storage above them, switches below.
pub fn default_layout(spec: &ScenarioSpec) -> BTreeMap<String, [f32; 2]> {
    let mut m = BTreeMap::new();
    let per_row = 6usize;
    let mut row_height = 0.0f32;
    for (i, h) in spec.hosts.iter().enumerate() {
        let (row, col) = (i / per_row, i % per_row);
        row_height = row_height.max(host_height(h, spec));
        m.insert(
            format!("host:{}", h.name),
            [col as f32 * (HOST_W + 50.0), 140.0 + row as f32 * 420.0],
        );
    }
    let rows = spec.hosts.len().div_ceil(per_row).max(1);
    let width = spec.hosts.len().min(per_row).max(1) as f32 * (HOST_W + 50.0);
    let below = 140.0 + (rows - 1) as f32 * 420.0 + row_height + 90.0;
    for (i, s) in spec.switches.iter().enumerate() {
        let x = width / 2.0 - 90.0 + (i as f32 - (spec.switches.len() as f32 - 1.0) / 2.0) * 240.0;
        m.insert(format!("switch:{}", s.name), [x, below]);
    }
    for (i, s) in spec.storage.iter().enumerate() {
        let x = width / 2.0 - 80.0 + (i as f32 - (spec.storage.len() as f32 - 1.0) / 2.0) * 220.0;
        m.insert(format!("storage:{}", s.name), [x, 10.0]);
    }
    m
}

/// The area the lab's shapes cover, with a margin: the initial view of the canvas.
pub fn bounds(spec: &ScenarioSpec, layout: &BTreeMap<String, [f32; 2]>) -> egui::Rect {
    let mut r = egui::Rect::NOTHING;
    for h in &spec.hosts {
        if let Some(p) = layout.get(&format!("host:{}", h.name)) {
            r = r.union(egui::Rect::from_min_size(
                egui::pos2(p[0], p[1]),
                egui::vec2(HOST_W, host_height(h, spec)),
            ));
        }
    }
    for (kind, names) in [
        (
            "switch",
            spec.switches
                .iter()
                .map(|s| s.name.clone())
                .collect::<Vec<_>>(),
        ),
        (
            "storage",
            spec.storage.iter().map(|s| s.name.clone()).collect(),
        ),
    ] {
        for n in names {
            if let Some(p) = layout.get(&format!("{kind}:{n}")) {
                r = r.union(egui::Rect::from_min_size(
                    egui::pos2(p[0], p[1]),
                    egui::vec2(180.0, 50.0),
                ));
            }
        }
    }
    if !r.is_finite() || r.width() <= 0.0 {
        return egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(800.0, 500.0));
    }
    r.expand(40.0)
}

fn host_height(h: &HostSpec, spec: &ScenarioSpec) -> f32 {
    let vms = spec.vms.iter().filter(|v| v.host == h.name).count();
    let rows = if vms <= MAX_CHIPS { vms.div_ceil(2) } else { 1 };
    30.0 + 18.0 + 18.0 * h.nics.len() as f32 + 10.0 + rows as f32 * 24.0 + 10.0
}

fn pos(lab: &LabState, key: &str) -> egui::Pos2 {
    lab.layout
        .get(key)
        .map_or(egui::Pos2::ZERO, |p| egui::pos2(p[0], p[1]))
}

pub fn show(ui: &mut egui::Ui, lab: &mut LabState, actions: &mut Vec<UiAction>) {
    palette(ui, lab, actions);
    let snap = Frame {
        nodes: lab.sim.node_statuses(),
        storage: lab.sim.storage_statuses(),
    };
    let mut rect = lab.scene_rect;
    let lab_ro: &LabState = lab;
    egui::Scene::new()
        .zoom_range(0.05..=3.0)
        .show(ui, &mut rect, |ui| draw(ui, lab_ro, &snap, actions));
    lab.scene_rect = rect;
}

fn palette(ui: &mut egui::Ui, lab: &LabState, actions: &mut Vec<UiAction>) {
    ui.horizontal_wrapped(|ui| {
        let spec = lab.spec();
        if ui.button("Add host").clicked() {
            let mut s = spec.clone();
            let name = unique(
                &s.hosts.iter().map(|h| h.name.clone()).collect::<Vec<_>>(),
                "hv",
            );
            let nic_switch = s.switches.first().map(|x| x.name.clone());
            s.hosts.push(HostSpec {
                name: name.clone(),
                sockets: 2,
                cores_per_socket: 8,
                smt: true,
                clock_ghz: 2.6,
                memory: lmlab_engine::units::Bytes::gib(256),
                subnet: String::new(),
                teaming: Default::default(),
                migration: Default::default(),
                nics: vec![new_nic("nic1", nic_switch)],
            });
            actions.push(UiAction::Edit(Box::new(s)));
            actions.push(UiAction::Select(Selection::Host(name)));
        }
        if ui.button("Add switch").clicked() {
            let mut s = spec.clone();
            let name = unique(
                &s.switches
                    .iter()
                    .map(|h| h.name.clone())
                    .collect::<Vec<_>>(),
                "sw",
            );
            s.switches.push(SwitchSpec {
                name: name.clone(),
                dcb_pfc: false,
                lacp: true,
            });
            actions.push(UiAction::Edit(Box::new(s)));
            actions.push(UiAction::Select(Selection::Switch(name)));
        }
        if ui.button("Add storage").clicked() {
            let mut s = spec.clone();
            let name = unique(
                &s.storage.iter().map(|h| h.name.clone()).collect::<Vec<_>>(),
                "share",
            );
            s.storage.push(StorageSpec {
                name: name.clone(),
                kind: StorageKind::Smb3,
            });
            actions.push(UiAction::Edit(Box::new(s)));
            actions.push(UiAction::Select(Selection::Storage(name)));
        }
        let target = match &lab.selection {
            Selection::Host(h) => Some(h.clone()),
            Selection::Vm(v) => spec
                .vms
                .iter()
                .find(|x| &x.name == v)
                .map(|x| x.host.clone()),
            _ => spec.hosts.first().map(|h| h.name.clone()),
        };
        if ui
            .add_enabled(
                target.is_some() && !spec.storage.is_empty(),
                egui::Button::new("Add VM"),
            )
            .on_hover_text("Adds a VM to the selected host")
            .clicked()
            && let Some(host) = target
        {
            let mut s = spec.clone();
            let name = unique(
                &s.vms.iter().map(|h| h.name.clone()).collect::<Vec<_>>(),
                "vm",
            );
            s.vms.push(VmSpec {
                name: name.clone(),
                host,
                memory: lmlab_engine::units::Bytes::gib(8),
                dirty_rate: lmlab_engine::units::ByteRate::mib_per_s(10.0),
                working_set: Some(lmlab_engine::units::Bytes::gib(2)),
                memory_profile: Default::default(),
                config_version: "8.0".into(),
                storage: s.storage[0].name.clone(),
                priority: Default::default(),
                resiliency_period: Default::default(),
                state: Default::default(),
            });
            actions.push(UiAction::Edit(Box::new(s)));
            actions.push(UiAction::Select(Selection::Vm(name)));
        }
        let deletable = !matches!(lab.selection, Selection::Cluster);
        let delete_key =
            ui.input(|i| i.key_pressed(egui::Key::Delete)) && !ui.ctx().egui_wants_keyboard_input();
        if (ui
            .add_enabled(deletable, egui::Button::new("Delete"))
            .clicked()
            || (deletable && delete_key))
            && let Some(s) = delete(spec, &lab.selection)
        {
            actions.push(UiAction::Edit(Box::new(s)));
            actions.push(UiAction::Select(Selection::Cluster));
        }
        ui.label(
            egui::RichText::new(
                "drag a VM to a host (migrate) or storage · drag a NIC port to a switch · right-click to break",
            )
            .weak(),
        );
    });
}

pub fn new_nic(name: &str, switch: Option<String>) -> NicSpec {
    NicSpec {
        name: name.into(),
        speed: lmlab_engine::units::BitRate::gbps(10.0),
        rdma: Default::default(),
        rss_capable: true,
        rss_max_queues: 16,
        rss: Default::default(),
        rss_tuned: Default::default(),
        switch,
        mtu: 1500,
        numa_node: 0,
    }
}

fn unique(existing: &[String], stem: &str) -> String {
    (1..)
        .map(|i| format!("{stem}{i}"))
        .find(|n| !existing.contains(n))
        .unwrap_or_else(|| stem.to_string())
}

/// The lab without the selected thing (and what depends on it: a host's VMs, a switch's cables).
fn delete(spec: &ScenarioSpec, sel: &Selection) -> Option<ScenarioSpec> {
    let mut s = spec.clone();
    match sel {
        Selection::Host(h) => {
            s.hosts.retain(|x| &x.name != h);
            s.vms.retain(|v| &v.host != h);
        }
        Selection::Switch(w) => {
            s.switches.retain(|x| &x.name != w);
            for h in &mut s.hosts {
                for n in &mut h.nics {
                    if n.switch.as_ref() == Some(w) {
                        n.switch = None;
                    }
                }
                if h.nics.iter().all(|n| n.switch.is_none()) {
                    h.teaming = Default::default();
                }
            }
        }
        Selection::Storage(st) => {
            s.storage.retain(|x| &x.name != st);
            s.vms.retain(|v| &v.storage != st);
        }
        Selection::Vm(v) => s.vms.retain(|x| &x.name != v),
        Selection::Cluster => return None,
    }
    // Script entries and configurations that name something gone go too.
    let names: Vec<String> = s
        .hosts
        .iter()
        .map(|h| h.name.clone())
        .chain(s.vms.iter().map(|v| v.name.clone()))
        .chain(s.storage.iter().map(|v| v.name.clone()))
        .collect();
    s.script.retain(|e| {
        [&e.node, &e.vm, &e.to, &e.storage]
            .iter()
            .all(|f| f.as_ref().is_none_or(|n| names.contains(n)))
    });
    s.configurations.retain(|c| {
        [&c.from, &c.to]
            .iter()
            .all(|f| f.as_ref().is_none_or(|n| names.contains(n)))
            && s.vms
                .iter()
                .filter(|v| Some(&v.host) == c.from.as_ref().or(s.hosts.first().map(|h| &h.name)))
                .count()
                >= c.vms as usize
    });
    Some(s)
}

/// What the canvas reads each frame: nodes and storage; VMs are read by index without copying.
struct Frame {
    nodes: Vec<lmlab_engine::sim::NodeStatus>,
    storage: Vec<lmlab_engine::sim::StorageStatus>,
}

/// A VM chip to draw.
struct Chip<'a> {
    name: &'a str,
    state: lmlab_engine::sim::VmState,
    unmonitored: bool,
}

fn draw(ui: &mut egui::Ui, lab: &LabState, snap: &Frame, actions: &mut Vec<UiAction>) {
    let spec = lab.spec();
    let painter = ui.painter().clone();
    let visuals = ui.visuals().clone();
    let text_color = visuals.text_color();
    let panel = visuals.extreme_bg_color;
    let font = egui::FontId::proportional(13.0);
    let small = egui::FontId::proportional(11.0);
    let timeline = lab.sim.node_timeline();

    // Geometry first, so links can be drawn under the shapes.
    let mut host_rects = Vec::new();
    for h in &spec.hosts {
        let p = pos(lab, &format!("host:{}", h.name));
        host_rects.push(egui::Rect::from_min_size(
            p,
            egui::vec2(HOST_W, host_height(h, spec)),
        ));
    }
    let switch_rect = |name: &str| {
        egui::Rect::from_min_size(pos(lab, &format!("switch:{name}")), egui::vec2(180.0, 44.0))
    };
    let storage_rect = |name: &str| {
        egui::Rect::from_min_size(
            pos(lab, &format!("storage:{name}")),
            egui::vec2(160.0, 50.0),
        )
    };

    // VMs by host, once per frame.
    let mut by_host: Vec<Vec<usize>> = vec![Vec::new(); spec.hosts.len()];
    for vi in 0..spec.vms.len() {
        if let Some((hi, _, _)) = lab.sim.vm_view(vi)
            && let Some(list) = by_host.get_mut(hi)
        {
            list.push(vi);
        }
    }

    // Host ↔ storage.
    for (hi, _h) in spec.hosts.iter().enumerate() {
        let used: std::collections::BTreeSet<&str> = by_host[hi]
            .iter()
            .map(|&vi| spec.vms[vi].storage.as_str())
            .collect();
        for st in used {
            let r = storage_rect(st);
            let lost = snap.nodes[hi].storage_lost.iter().any(|x| x == st)
                || snap.storage.iter().any(|x| x.name == st && !x.online);
            let color = if lost {
                egui::Color32::from_rgb(215, 50, 50)
            } else {
                visuals.weak_text_color()
            };
            painter.line_segment(
                [host_rects[hi].center_top(), r.center_bottom()],
                egui::Stroke::new(1.0, color),
            );
        }
    }

    // NIC ↔ switch links with live throughput.
    for (hi, h) in spec.hosts.iter().enumerate() {
        let hr = host_rects[hi];
        for (ni, nic) in h.nics.iter().enumerate() {
            let Some(sw) = &nic.switch else { continue };
            let port = egui::pos2(hr.left() + 20.0 + ni as f32 * 24.0, hr.bottom());
            let target = switch_rect(sw).center_top();
            let series = lab.sim.series();
            let gbps = |col: &str| {
                series
                    .columns
                    .get(col)
                    .and_then(|c| c.last())
                    .copied()
                    .unwrap_or(0.0)
            };
            let load = gbps(&format!("{}.{}.tx_gbps", h.name, nic.name))
                + gbps(&format!("{}.{}.rx_gbps", h.name, nic.name));
            let plugged = snap.nodes[hi].nics.get(ni).is_none_or(|n| n.plugged);
            let util = (load / nic.speed.as_gbps().max(0.001)).clamp(0.0, 1.0) as f32;
            let (width, color) = if !plugged || snap.nodes[hi].networks_cut {
                (2.0, egui::Color32::from_rgb(215, 50, 50))
            } else {
                (
                    1.5 + 6.0 * util,
                    egui::Color32::from_rgb(66, 135, 245).gamma_multiply(0.45 + 0.55 * util),
                )
            };
            painter.line_segment([port, target], egui::Stroke::new(width, color));
            // A handle in the middle of the link: hover for the load, right-click to pull/plug.
            let mid = port + (target - port) * 0.5;
            let hr_id = egui::Id::unique(("link", &h.name, &nic.name));
            let resp = ui.interact(
                egui::Rect::from_center_size(mid, egui::vec2(14.0, 14.0)),
                hr_id,
                egui::Sense::click(),
            );
            a11y(ui, &resp, format!("link {} on {}", nic.name, h.name));
            painter.circle_filled(mid, 4.0, color);
            let resp = resp.on_hover_text(format!(
                "{} {}: {:.2} Gbps on the wire",
                h.name, nic.name, load
            ));
            nic_menu(&resp, &h.name, &nic.name, plugged, actions);
        }
    }

    // Switches.
    for s in &spec.switches {
        let r = switch_rect(&s.name);
        let selected = lab.selection == Selection::Switch(s.name.clone());
        painter.rect(
            r,
            6.0,
            panel,
            egui::Stroke::new(
                if selected { 3.0 } else { 1.5 },
                visuals.widgets.active.bg_stroke.color,
            ),
            egui::StrokeKind::Inside,
        );
        painter.text(
            r.center_top() + egui::vec2(0.0, 6.0),
            egui::Align2::CENTER_TOP,
            &s.name,
            font.clone(),
            text_color,
        );
        let flags = format!(
            "{}{}",
            if s.dcb_pfc { "DCB/PFC " } else { "no PFC " },
            if s.lacp { "LACP" } else { "" }
        );
        painter.text(
            r.center_bottom() - egui::vec2(0.0, 6.0),
            egui::Align2::CENTER_BOTTOM,
            flags,
            small.clone(),
            visuals.weak_text_color(),
        );
        let resp = ui.interact(
            r,
            egui::Id::unique(("switch", &s.name)),
            egui::Sense::click_and_drag(),
        );
        a11y(ui, &resp, format!("switch {}", s.name));
        shape_response(
            &resp,
            lab,
            format!("switch:{}", s.name),
            Selection::Switch(s.name.clone()),
            actions,
        );
        // A NIC port dropped here is cabled to this switch.
        if let Some(p) = resp.dnd_release_payload::<PortDrag>() {
            let mut spec2 = spec.clone();
            if let Some(n) = spec2
                .hosts
                .iter_mut()
                .find(|h| h.name == p.0)
                .and_then(|h| h.nics.iter_mut().find(|n| n.name == p.1))
            {
                n.switch = Some(s.name.clone());
                actions.push(UiAction::Edit(Box::new(spec2)));
            }
        }
    }

    // Storage.
    for st in &spec.storage {
        let r = storage_rect(&st.name);
        let online = snap
            .storage
            .iter()
            .find(|x| x.name == st.name)
            .is_none_or(|x| x.online);
        let selected = lab.selection == Selection::Storage(st.name.clone());
        let stroke_color = if online {
            visuals.widgets.active.bg_stroke.color
        } else {
            egui::Color32::from_rgb(215, 50, 50)
        };
        painter.rect(
            r,
            14.0,
            panel,
            egui::Stroke::new(if selected { 3.0 } else { 1.5 }, stroke_color),
            egui::StrokeKind::Inside,
        );
        painter.text(
            r.center_top() + egui::vec2(0.0, 6.0),
            egui::Align2::CENTER_TOP,
            &st.name,
            font.clone(),
            text_color,
        );
        let kind = match st.kind {
            StorageKind::Smb3 => "SMB3 file share",
            StorageKind::Csv => "CSV block storage",
        };
        painter.text(
            r.center_bottom() - egui::vec2(0.0, 6.0),
            egui::Align2::CENTER_BOTTOM,
            if online {
                kind.to_string()
            } else {
                format!("{kind} — LOST")
            },
            small.clone(),
            visuals.weak_text_color(),
        );
        let resp = ui.interact(
            r,
            egui::Id::unique(("storage", &st.name)),
            egui::Sense::click_and_drag(),
        );
        a11y(ui, &resp, format!("storage {}", st.name));
        // A VM chip dropped here keeps its disks on this storage.
        if let Some(p) = resp.dnd_release_payload::<VmDrag>() {
            let mut spec2 = spec.clone();
            if let Some(v) = spec2.vms.iter_mut().find(|v| v.name == p.0) {
                v.storage = st.name.clone();
                actions.push(UiAction::Edit(Box::new(spec2)));
            }
        }
        shape_response(
            &resp,
            lab,
            format!("storage:{}", st.name),
            Selection::Storage(st.name.clone()),
            actions,
        );
        resp.context_menu(|ui| {
            let s = st.name.clone();
            if ui
                .button(if online {
                    "Lose storage (all nodes)"
                } else {
                    "Restore storage (all nodes)"
                })
                .clicked()
            {
                let cmd = if online {
                    Command::LoseStorage {
                        storage: s.clone(),
                        node: None,
                    }
                } else {
                    Command::RestoreStorage {
                        storage: s.clone(),
                        node: None,
                    }
                };
                actions.push(UiAction::Apply(cmd));
                ui.close();
            }
            for (hi, h) in spec.hosts.iter().enumerate() {
                let lost = snap.nodes[hi].storage_lost.iter().any(|x| x == &s);
                let label = if lost {
                    format!("Restore path from {}", h.name)
                } else {
                    format!("Lose path from {}", h.name)
                };
                if ui.button(label).clicked() {
                    let node = Some(h.name.clone());
                    let cmd = if lost {
                        Command::RestoreStorage {
                            storage: s.clone(),
                            node,
                        }
                    } else {
                        Command::LoseStorage {
                            storage: s.clone(),
                            node,
                        }
                    };
                    actions.push(UiAction::Apply(cmd));
                    ui.close();
                }
            }
        });
    }

    // Hosts with NICs and VM chips.
    for (hi, h) in spec.hosts.iter().enumerate() {
        let r = host_rects[hi];
        let node = &snap.nodes[hi];
        let display = timeline
            .get(hi)
            .and_then(|t| t.last())
            .map_or(NodeDisplay::Up, |x| x.1);
        let color = node_color(display);
        let selected = lab.selection == Selection::Host(h.name.clone());
        let body = ui.interact(
            r,
            egui::Id::unique(("host-body", &h.name)),
            egui::Sense::hover(),
        );
        let drop_hover = body.dnd_hover_payload::<VmDrag>().is_some();
        painter.rect(
            r,
            8.0,
            panel,
            egui::Stroke::new(if selected || drop_hover { 4.0 } else { 2.5 }, color),
            egui::StrokeKind::Inside,
        );
        // Header: name and state badge.
        let header = egui::Rect::from_min_size(r.min, egui::vec2(HOST_W, 28.0));
        painter.text(
            header.left_center() + egui::vec2(10.0, 0.0),
            egui::Align2::LEFT_CENTER,
            &h.name,
            egui::FontId::proportional(16.0),
            text_color,
        );
        let badge = format!("{display:?}");
        let badge_rect = egui::Rect::from_min_size(
            header.right_top() + egui::vec2(-100.0, 5.0),
            egui::vec2(92.0, 18.0),
        );
        painter.rect_filled(badge_rect, 9.0, color);
        painter.text(
            badge_rect.center(),
            egui::Align2::CENTER_CENTER,
            badge,
            small.clone(),
            egui::Color32::WHITE,
        );
        let hresp = ui.interact(
            header,
            egui::Id::unique(("host", &h.name)),
            egui::Sense::click_and_drag(),
        );
        a11y(ui, &hresp, format!("host {}: {display:?}", h.name));
        shape_response(
            &hresp,
            lab,
            format!("host:{}", h.name),
            Selection::Host(h.name.clone()),
            actions,
        );
        host_menu(&hresp, node, actions);
        let mut y = header.bottom() + 2.0;
        let hw = format!(
            "{}×{} cores{} @ {} GHz · {} · {:?}",
            h.sockets,
            h.cores_per_socket,
            if h.smt { " (SMT)" } else { "" },
            h.clock_ghz,
            h.memory,
            h.teaming.mode
        );
        painter.text(
            egui::pos2(r.left() + 10.0, y),
            egui::Align2::LEFT_TOP,
            hw,
            small.clone(),
            visuals.weak_text_color(),
        );
        y += 18.0;
        for (ni, nic) in h.nics.iter().enumerate() {
            let plugged = node.nics.get(ni).is_none_or(|n| n.plugged);
            let rdma = if nic.rdma == Default::default() {
                String::new()
            } else {
                format!(" · {:?}", nic.rdma)
            };
            let text = format!(
                "{} {}{}{}",
                nic.name,
                nic.speed,
                rdma,
                if plugged { "" } else { " · UNPLUGGED" }
            );
            let row = egui::Rect::from_min_size(
                egui::pos2(r.left() + 10.0, y),
                egui::vec2(HOST_W - 20.0, 16.0),
            );
            painter.text(
                row.left_top(),
                egui::Align2::LEFT_TOP,
                text,
                small.clone(),
                if plugged {
                    text_color
                } else {
                    egui::Color32::from_rgb(215, 50, 50)
                },
            );
            let resp = ui.interact(
                row,
                egui::Id::unique(("nic", &h.name, &nic.name)),
                egui::Sense::click(),
            );
            a11y(ui, &resp, format!("NIC {} on {}", nic.name, h.name));
            if resp.clicked() {
                actions.push(UiAction::Select(Selection::Host(h.name.clone())));
            }
            nic_menu(&resp, &h.name, &nic.name, plugged, actions);
            // Port dot on the bottom edge, where the link starts: drag it onto a switch to cable it.
            let port = egui::pos2(r.left() + 20.0 + ni as f32 * 24.0, r.bottom());
            let presp = ui.interact(
                egui::Rect::from_center_size(port, egui::vec2(12.0, 12.0)),
                egui::Id::unique(("port", &h.name, &nic.name)),
                egui::Sense::drag(),
            );
            a11y(ui, &presp, format!("port {} on {}", nic.name, h.name));
            if presp.drag_started() {
                presp.dnd_set_drag_payload(PortDrag(h.name.clone(), nic.name.clone()));
            }
            if presp.dragged()
                && let Some(p) = ui.ctx().pointer_latest_pos()
                && let Some(t) = ui.ctx().layer_transform_from_global(ui.layer_id())
            {
                painter.line_segment(
                    [port, t * p],
                    egui::Stroke::new(2.0, egui::Color32::from_rgb(255, 200, 0)),
                );
            }
            painter.circle_filled(
                port,
                4.0,
                if plugged {
                    text_color
                } else {
                    egui::Color32::from_rgb(215, 50, 50)
                },
            );
            y += 18.0;
        }
        y += 6.0;
        let vms: Vec<Chip> = if by_host[hi].len() > MAX_CHIPS {
            Vec::new()
        } else {
            by_host[hi]
                .iter()
                .filter_map(|&vi| {
                    let (_, state, unmonitored) = lab.sim.vm_view(vi)?;
                    Some(Chip {
                        name: &spec.vms[vi].name,
                        state,
                        unmonitored,
                    })
                })
                .collect()
        };
        if by_host[hi].len() > MAX_CHIPS {
            let running = by_host[hi]
                .iter()
                .filter(|&&vi| {
                    lab.sim
                        .vm_view(vi)
                        .is_some_and(|v| v.1 == lmlab_engine::sim::VmState::Running)
                })
                .count();
            painter.text(
                egui::pos2(r.left() + 10.0, y),
                egui::Align2::LEFT_TOP,
                format!("{} VMs ({running} running)", by_host[hi].len()),
                font.clone(),
                text_color,
            );
        } else {
            for (k, v) in vms.iter().enumerate() {
                let chip = egui::Rect::from_min_size(
                    egui::pos2(
                        r.left() + 10.0 + (k % 2) as f32 * 118.0,
                        y + (k / 2) as f32 * 24.0,
                    ),
                    egui::vec2(112.0, 20.0),
                );
                let sel = matches!(&lab.selection, Selection::Vm(n) if n == v.name);
                painter.rect(
                    chip,
                    4.0,
                    vm_color(v.state).gamma_multiply(0.85),
                    egui::Stroke::new(if sel { 2.0 } else { 0.0 }, text_color),
                    egui::StrokeKind::Inside,
                );
                let label = if v.unmonitored {
                    format!("{} (unmon.)", v.name)
                } else {
                    v.name.to_string()
                };
                painter.text(
                    chip.left_center() + egui::vec2(6.0, 0.0),
                    egui::Align2::LEFT_CENTER,
                    label,
                    small.clone(),
                    egui::Color32::WHITE,
                );
                let resp = ui.interact(
                    chip,
                    egui::Id::unique(("vm", &v.name)),
                    egui::Sense::click_and_drag(),
                );
                a11y(ui, &resp, format!("VM {}: {:?}", v.name, v.state));
                if resp.clicked() {
                    actions.push(UiAction::Select(Selection::Vm(v.name.to_string())));
                }
                if resp.drag_started() {
                    resp.dnd_set_drag_payload(VmDrag(v.name.to_string()));
                }
                if resp.dragged()
                    && let Some(p) = ui.ctx().pointer_latest_pos()
                {
                    let layer =
                        egui::LayerId::new(egui::Order::Tooltip, egui::Id::unique("vm-drag"));
                    ui.ctx().layer_painter(layer).text(
                        p + egui::vec2(12.0, 0.0),
                        egui::Align2::LEFT_CENTER,
                        format!("migrate {}", v.name),
                        font.clone(),
                        text_color,
                    );
                }
                resp.context_menu(|ui| {
                    for other in spec.hosts.iter().filter(|o| o.name != h.name) {
                        if ui
                            .button(format!("Live-migrate to {}", other.name))
                            .clicked()
                        {
                            actions.push(UiAction::AskMigration {
                                vm: v.name.to_string(),
                                to: other.name.clone(),
                            });
                            ui.close();
                        }
                    }
                });
            }
        }
        // A VM dropped anywhere on this host (header, NIC rows or chips) asks to migrate here.
        // Checked by position: egui hands the payload to the first widget that asks, whatever
        // its type, and the host is covered by several widgets.
        if ui.input(|i| i.pointer.any_released())
            && egui::DragAndDrop::has_payload_of_type::<VmDrag>(ui.ctx())
            && let Some(p) = ui.ctx().pointer_latest_pos()
            && let Some(t) = ui.ctx().layer_transform_from_global(ui.layer_id())
            && r.contains(t * p)
            && let Some(payload) = egui::DragAndDrop::take_payload::<VmDrag>(ui.ctx())
            && vms_here(lab, hi, &payload.0)
        {
            actions.push(UiAction::AskMigration {
                vm: payload.0.clone(),
                to: h.name.clone(),
            });
        }
    }

    // Migrations in flight: an arrow from source to destination with progress.
    let mut stacked: BTreeMap<(usize, usize), f32> = BTreeMap::new();
    for m in lab.sim.migrations() {
        if !matches!(
            m.phase,
            Phase::Queued | Phase::Setup | Phase::Precopy | Phase::SwitchOver | Phase::Resume
        ) {
            continue;
        }
        let (a, b) = (host_rects[m.from], host_rects[m.to]);
        let (p, q) = (
            a.center() + egui::vec2(0.0, 10.0),
            b.center() + egui::vec2(0.0, 10.0),
        );
        let color = egui::Color32::from_rgb(255, 200, 0);
        painter.arrow(p, q - p, egui::Stroke::new(3.0, color));
        let what = match m.phase {
            Phase::Queued => "queued".to_string(),
            Phase::Precopy => format!(
                "pass {} · {:.0} %",
                m.passes + 1,
                100.0 * m.stage_progress(lab.sim.now())
            ),
            p => format!("{p:?}"),
        };
        let k = stacked.entry((m.from, m.to)).or_insert(0.0);
        let at = p + (q - p) * 0.5 - egui::vec2(0.0, 12.0 + *k);
        *k += 16.0;
        let galley = painter.layout_no_wrap(
            format!("{} {what}", spec.vms[m.vm].name),
            font.clone(),
            color,
        );
        let r = egui::Align2::CENTER_BOTTOM.anchor_size(at, galley.size());
        painter.rect_filled(
            r.expand(2.0),
            3.0,
            visuals.extreme_bg_color.gamma_multiply(0.85),
        );
        painter.galley(r.min, galley, color);
    }
}

/// Whether `vm` is not already on host `hi` (dropping a VM on its own host does nothing).
fn vms_here(lab: &LabState, hi: usize, vm: &str) -> bool {
    lab.spec()
        .vms
        .iter()
        .position(|v| v.name == vm)
        .and_then(|i| lab.sim.vm_view(i))
        .is_some_and(|v| v.0 != hi)
}

/// Names a canvas widget for screen readers and tests, with its on-screen bounds: egui reports
/// the bounds of widgets inside a `Scene` in scene coordinates, so they are transformed here.
fn a11y(ui: &egui::Ui, resp: &egui::Response, label: impl Into<String>) {
    let label = label.into();
    resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, label.clone()));
    if let Some(t) = ui.ctx().layer_transform_to_global(ui.layer_id()) {
        let g = t * resp.rect;
        ui.ctx().accesskit_node_builder(resp.id, |b| {
            b.set_bounds(egui::accesskit::Rect {
                x0: g.min.x.into(),
                y0: g.min.y.into(),
                x1: g.max.x.into(),
                y1: g.max.y.into(),
            });
        });
    }
}

fn shape_response(
    resp: &egui::Response,
    lab: &LabState,
    key: String,
    sel: Selection,
    actions: &mut Vec<UiAction>,
) {
    if resp.clicked() {
        actions.push(UiAction::Select(sel));
    }
    if resp.dragged() {
        let d = resp.drag_delta();
        let p = lab.layout.get(&key).copied().unwrap_or([0.0, 0.0]);
        actions.push(UiAction::MoveShape(key, [p[0] + d.x, p[1] + d.y]));
    }
}

fn nic_menu(
    resp: &egui::Response,
    host: &str,
    nic: &str,
    plugged: bool,
    actions: &mut Vec<UiAction>,
) {
    resp.context_menu(|ui| {
        let (label, cmd) = if plugged {
            (
                format!("Pull {nic} on {host}"),
                Command::PullNic {
                    node: host.into(),
                    nic: nic.into(),
                },
            )
        } else {
            (
                format!("Plug {nic} on {host} back in"),
                Command::PlugNic {
                    node: host.into(),
                    nic: nic.into(),
                },
            )
        };
        if ui.button(label).clicked() {
            actions.push(UiAction::Apply(cmd));
            ui.close();
        }
    });
}

fn host_menu(
    resp: &egui::Response,
    snap_node: &lmlab_engine::sim::NodeStatus,
    actions: &mut Vec<UiAction>,
) {
    let n = snap_node.name.clone();
    resp.context_menu(|ui| {
        use lmlab_engine::sim::ServiceState as S;
        let mut item = |ui: &mut egui::Ui, label: &str, cmd: Command| {
            if ui.button(label).clicked() {
                actions.push(UiAction::Apply(cmd));
                ui.close();
            }
        };
        ui.label(
            egui::RichText::new(format!("{n} — cluster service {:?}", snap_node.service)).weak(),
        );
        if snap_node.service == S::Running {
            item(
                ui,
                "Crash cluster service",
                Command::CrashClusterService { node: n.clone() },
            );
            item(
                ui,
                "Stop cluster service (drain)",
                Command::StopClusterService { node: n.clone() },
            );
        } else if snap_node.service == S::Crashed {
            item(
                ui,
                "Restart cluster service",
                Command::RestartClusterService { node: n.clone() },
            );
        } else {
            item(
                ui,
                "Start cluster service",
                Command::StartClusterService { node: n.clone() },
            );
        }
        if snap_node.powered {
            item(ui, "Power off", Command::PowerOff { node: n.clone() });
        } else {
            item(ui, "Power on", Command::PowerOn { node: n.clone() });
        }
        if snap_node.networks_cut {
            item(
                ui,
                "Heal cluster networks",
                Command::HealNetworks { node: n.clone() },
            );
        } else {
            item(
                ui,
                "Cut cluster networks",
                Command::CutNetworks { node: n.clone() },
            );
        }
        ui.separator();
        item(
            ui,
            "Pause (drain roles)",
            Command::PauseNode { node: n.clone() },
        );
        item(ui, "Resume", Command::ResumeNode { node: n.clone() });
        if snap_node.status.iter().any(|s| s == "Quarantined") {
            item(
                ui,
                "Clear quarantine",
                Command::ClearQuarantine { node: n.clone() },
            );
        }
    });
}
