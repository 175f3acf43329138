//! A host box: header with its state badge (drag to place, right-click for faults), hardware line,
//! one row per NIC with its port (drag the port onto a switch to cable it), and its VM chips
//! (click to select, drag onto another host to migrate, right-click to migrate).

use super::super::action::{Actions, LabAction, ViewAction};
use super::super::layout::{HOST_W, MAX_CHIPS, key};
use super::super::state::Selection;
use super::super::theme::{node_color, text_on, vm_color};
use super::links::port_pos;
use super::menus::{PortDrag, a11y, host_menu, nic_menu, shape_response};
use super::scene::{BROKEN, MOVING, Pen};
use lmlab_engine::scenario::HostSpec;
use lmlab_engine::sim::{NodeDisplay, VmState};

/// What is dragged when a VM chip is dragged.
#[derive(Clone, Debug)]
pub(super) struct VmDrag(pub String);

pub(super) fn host(ui: &mut egui::Ui, pen: &Pen<'_>, hi: usize, actions: &mut Actions) {
    let h = &pen.lab.spec().hosts[hi];
    let r = pen.scene.host_rects[hi];
    let mut y = header(ui, pen, hi, h, r, actions);
    let hw = format!(
        "{}×{} cores{} @ {} GHz · {} · {:?}",
        h.sockets,
        h.cores_per_socket,
        if h.smt { " (SMT)" } else { "" },
        h.clock_ghz,
        h.memory,
        h.teaming.mode
    );
    pen.text_fit(
        egui::pos2(r.left() + 10.0, y),
        egui::Align2::LEFT_TOP,
        hw,
        &pen.small,
        pen.visuals.weak_text_color(),
        HOST_W - 20.0,
    );
    y += 18.0;
    for ni in 0..h.nics.len() {
        nic_row(ui, pen, hi, ni, y, actions);
        y += 18.0;
    }
    y += 6.0;
    chips(ui, pen, hi, y, actions);
    // A VM dropped anywhere on this host (header, NIC rows or chips) asks to migrate here.
    // Checked by position: egui hands the payload to the first widget that asks, whatever its
    // type, and the host is covered by several widgets.
    if ui.input(|i| i.pointer.any_released())
        && egui::DragAndDrop::has_payload_of_type::<VmDrag>(ui.ctx())
        && let Some(p) = ui.ctx().pointer_latest_pos()
        && let Some(t) = ui.ctx().layer_transform_from_global(ui.layer_id())
        && r.contains(t * p)
        && let Some(payload) = egui::DragAndDrop::take_payload::<VmDrag>(ui.ctx())
        && elsewhere(pen, hi, &payload.0)
    {
        actions.push(LabAction::AskMigration {
            vm: payload.0.clone(),
            to: h.name.clone(),
        });
    }
}

/// The box, its name and state badge; returns where the next line starts.
fn header(
    ui: &mut egui::Ui,
    pen: &Pen<'_>,
    hi: usize,
    h: &HostSpec,
    r: egui::Rect,
    actions: &mut Actions,
) -> f32 {
    let display = pen
        .lab
        .sim()
        .node_timeline()
        .get(hi)
        .and_then(|t| t.last())
        .map_or(NodeDisplay::Up, |x| x.1);
    let color = node_color(display);
    let selected = *pen.lab.selection() == Selection::Host(h.name.clone());
    let body = ui.interact(
        r,
        egui::Id::unique(("host-body", &h.name)),
        egui::Sense::hover(),
    );
    let drop_hover = body.dnd_hover_payload::<VmDrag>().is_some();
    pen.painter.rect(
        r,
        8.0,
        pen.visuals.extreme_bg_color,
        egui::Stroke::new(if selected || drop_hover { 4.0 } else { 2.5 }, color),
        egui::StrokeKind::Inside,
    );
    let header = egui::Rect::from_min_size(r.min, egui::vec2(HOST_W, 28.0));
    // The badge fits its word at the current text size (up to half the box).
    let word_w = pen
        .painter
        .layout_no_wrap(format!("{display:?}"), pen.small.clone(), color)
        .size()
        .x;
    let badge_w = (word_w + 14.0).clamp(92.0, HOST_W / 2.0);
    let badge_rect = egui::Rect::from_min_size(
        header.right_top() + egui::vec2(-badge_w - 8.0, 5.0),
        egui::vec2(badge_w, 18.0_f32.max(pen.small.size + 4.0)),
    );
    let title = egui::FontId::proportional(pen.font.size * 16.0 / 13.0);
    pen.text_fit(
        header.left_center() + egui::vec2(10.0, 0.0),
        egui::Align2::LEFT_CENTER,
        &h.name,
        &title,
        pen.text_color(),
        HOST_W - 26.0 - badge_w,
    );
    pen.painter.rect_filled(badge_rect, 9.0, color);
    pen.text_fit(
        badge_rect.center(),
        egui::Align2::CENTER_CENTER,
        format!("{display:?}"),
        &pen.small,
        text_on(color),
        badge_rect.width() - 6.0,
    );
    let resp = ui.interact(
        header,
        egui::Id::unique(("host", &h.name)),
        egui::Sense::click_and_drag(),
    );
    a11y(ui, &resp, format!("host {}: {display:?}", h.name));
    let resp = resp.on_hover_ui(|ui| host_figures(ui, pen, hi));
    shape_response(
        &resp,
        pen.lab,
        key("host", &h.name),
        Selection::Host(h.name.clone()),
        actions,
    );
    host_menu(&resp, &pen.scene.nodes[hi], actions);
    header.bottom() + 2.0
}

/// One NIC's line in the box and its port on the bottom edge.
fn nic_row(ui: &mut egui::Ui, pen: &Pen<'_>, hi: usize, ni: usize, y: f32, actions: &mut Actions) {
    let h = &pen.lab.spec().hosts[hi];
    let nic = &h.nics[ni];
    let r = pen.scene.host_rects[hi];
    let plugged = pen.scene.nodes[hi].nics.get(ni).is_none_or(|n| n.plugged);
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
    let color = if plugged { pen.text_color() } else { BROKEN };
    pen.painter.text(
        row.left_top(),
        egui::Align2::LEFT_TOP,
        text,
        pen.small.clone(),
        color,
    );
    let resp = ui.interact(
        row,
        egui::Id::unique(("nic", &h.name, &nic.name)),
        egui::Sense::click(),
    );
    a11y(ui, &resp, format!("NIC {} on {}", nic.name, h.name));
    if resp.clicked() {
        actions.push(ViewAction::Select(Selection::Host(h.name.clone())));
    }
    nic_menu(&resp, &h.name, &nic.name, plugged, actions);
    // Port dot on the bottom edge, where the link starts: drag it onto a switch to cable it.
    let port = port_pos(r, ni);
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
        pen.painter
            .line_segment([port, t * p], egui::Stroke::new(2.0, MOVING));
    }
    pen.painter.circle_filled(port, 4.0, color);
}

/// The host's VM chips, two per row, or a count when there are too many.
fn chips(ui: &mut egui::Ui, pen: &Pen<'_>, hi: usize, y: f32, actions: &mut Actions) {
    let r = pen.scene.host_rects[hi];
    let on_host = &pen.scene.by_host[hi];
    let sim = pen.lab.sim();
    if on_host.len() > MAX_CHIPS {
        let running = on_host
            .iter()
            .filter(|&&vi| sim.vm_view(vi).is_some_and(|v| v.1 == VmState::Running))
            .count();
        pen.painter.text(
            egui::pos2(r.left() + 10.0, y),
            egui::Align2::LEFT_TOP,
            format!("{} VMs ({running} running)", on_host.len()),
            pen.font.clone(),
            pen.text_color(),
        );
        return;
    }
    let spec = pen.lab.spec();
    let chips = on_host.iter().filter_map(|&vi| {
        sim.vm_view(vi).map(|(_, state, unmonitored)| Chip {
            name: &spec.vms[vi].name,
            state,
            unmonitored,
        })
    });
    for (k, c) in chips.enumerate() {
        let chip = egui::Rect::from_min_size(
            egui::pos2(
                r.left() + 10.0 + (k % 2) as f32 * 118.0,
                y + (k / 2) as f32 * 24.0,
            ),
            egui::vec2(112.0, 20.0),
        );
        chip_at(ui, pen, hi, chip, &c, actions);
    }
}

/// What a chip shows: a VM's name and state.
struct Chip<'a> {
    name: &'a str,
    state: VmState,
    unmonitored: bool,
}

fn chip_at(
    ui: &mut egui::Ui,
    pen: &Pen<'_>,
    hi: usize,
    chip: egui::Rect,
    c: &Chip<'_>,
    actions: &mut Actions,
) {
    let (name, state, unmonitored) = (c.name, c.state, c.unmonitored);
    let sel = matches!(pen.lab.selection(), Selection::Vm(n) if n == name);
    let fill = vm_color(state);
    pen.painter.rect(
        chip,
        4.0,
        fill,
        egui::Stroke::new(if sel { 2.0 } else { 0.0 }, pen.text_color()),
        egui::StrokeKind::Inside,
    );
    let label = if unmonitored {
        format!("{name} (unmon.)")
    } else {
        name.to_string()
    };
    pen.text_fit(
        chip.left_center() + egui::vec2(6.0, 0.0),
        egui::Align2::LEFT_CENTER,
        label,
        &pen.small,
        text_on(fill),
        chip.width() - 10.0,
    );
    let resp = ui.interact(
        chip,
        egui::Id::unique(("vm", name)),
        egui::Sense::click_and_drag(),
    );
    a11y(ui, &resp, format!("VM {name}: {state:?}"));
    let resp = resp.on_hover_ui(|ui| vm_figures(ui, pen, name));
    if resp.clicked() {
        actions.push(ViewAction::Select(Selection::Vm(name.to_string())));
    }
    if resp.drag_started() {
        resp.dnd_set_drag_payload(VmDrag(name.to_string()));
    }
    if resp.dragged()
        && let Some(p) = ui.ctx().pointer_latest_pos()
    {
        let layer = egui::LayerId::new(egui::Order::Tooltip, egui::Id::unique("vm-drag"));
        ui.ctx().layer_painter(layer).text(
            p + egui::vec2(12.0, 0.0),
            egui::Align2::LEFT_CENTER,
            format!("migrate {name}"),
            pen.font.clone(),
            pen.text_color(),
        );
    }
    let this = &pen.lab.spec().hosts[hi].name;
    resp.context_menu(|ui| {
        for other in pen.lab.spec().hosts.iter().filter(|o| &o.name != this) {
            if ui
                .button(format!("Live-migrate to {}", other.name))
                .clicked()
            {
                actions.push(LabAction::AskMigration {
                    vm: name.to_string(),
                    to: other.name.clone(),
                });
                ui.close();
            }
        }
    });
}

/// Whether `vm` runs somewhere other than host `hi` (dropping a VM on its own host does nothing).
fn elsewhere(pen: &Pen<'_>, hi: usize, vm: &str) -> bool {
    pen.lab
        .spec()
        .vms
        .iter()
        .position(|v| v.name == vm)
        .and_then(|i| pen.lab.sim().vm_view(i))
        .is_some_and(|v| v.0 != hi)
}

/// A host's live figures, on hover: state and flags, cluster service, VMs, live-migration CPU and
/// traffic.
fn host_figures(ui: &mut egui::Ui, pen: &Pen<'_>, hi: usize) {
    use lmlab_engine::sim::SeriesKey;
    let h = &pen.lab.spec().hosts[hi];
    let node = &pen.scene.nodes[hi];
    let series = pen.lab.sim().series();
    ui.strong(&h.name);
    let flags = if node.status.is_empty() {
        String::new()
    } else {
        format!(" ({})", node.status.join(", "))
    };
    ui.label(format!(
        "{:?}{flags} · cluster service {:?} · {}",
        node.state,
        node.service,
        if node.powered {
            "powered"
        } else {
            "powered off"
        }
    ));
    ui.label(format!("{} VMs here", pen.scene.by_host[hi].len()));
    let cpu = series.last(SeriesKey::HostCpu { host: &h.name });
    let (tx, rx): (f64, f64) = h.nics.iter().fold((0.0, 0.0), |(t, r), n| {
        let (host, nic) = (h.name.as_str(), n.name.as_str());
        (
            t + series.last(SeriesKey::NicSend { host, nic }),
            r + series.last(SeriesKey::NicReceive { host, nic }),
        )
    });
    ui.label(format!(
        "live migration: CPU {cpu:.1} %, sending {tx:.2} Gbit/s, receiving {rx:.2} Gbit/s"
    ));
}

/// A VM's live figures, on hover: state, memory, where its disks are, a migration in flight.
fn vm_figures(ui: &mut egui::Ui, pen: &Pen<'_>, name: &str) {
    let spec = pen.lab.spec();
    let sim = pen.lab.sim();
    let Some(vi) = spec.vms.iter().position(|v| v.name == name) else {
        return;
    };
    let v = &spec.vms[vi];
    ui.strong(name);
    if let Some((host, state, unmonitored)) = sim.vm_view(vi) {
        ui.label(format!(
            "{state:?} on {}{}",
            spec.hosts.get(host).map_or("?", |h| h.name.as_str()),
            if unmonitored { ", Unmonitored" } else { "" }
        ));
    }
    ui.label(format!(
        "{} memory, dirtying {:.0} MiB/s · disks on {}",
        v.memory,
        v.dirty_rate.as_mib_per_s(),
        v.storage
    ));
    let moving = sim
        .migrations()
        .iter()
        .rev()
        .find(|m| m.vm == vi && !m.phase.finished());
    if let Some(m) = moving {
        ui.label(format!(
            "migrating to {}: {:?}, pass {}, {:.1} Gbit/s{}",
            spec.hosts[m.to].name,
            m.phase,
            m.passes + 1,
            m.rate * 8.0 / 1e9,
            if m.path.is_empty() {
                String::new()
            } else {
                format!(" over {}", m.path)
            }
        ));
    }
}
