//! Cables: each host to the storage its VMs use (red when the path is lost), each NIC to its
//! switch with its live load (width and brightness), with a handle to pull or plug it.

use super::super::action::Actions;
use super::menus::{a11y, nic_menu};
use super::scene::{BROKEN, Pen, storage_rect, switch_rect};
use lmlab_engine::sim::SeriesKey;

pub(super) fn storage_paths(pen: &Pen<'_>) {
    let spec = pen.lab.spec();
    for hi in 0..spec.hosts.len() {
        let used: std::collections::BTreeSet<&str> = pen.scene.by_host[hi]
            .iter()
            .map(|&vi| spec.vms[vi].storage.as_str())
            .collect();
        for st in used {
            let r = storage_rect(pen.lab, st);
            let lost = pen.scene.nodes[hi].storage_lost.iter().any(|x| x == st)
                || pen.scene.storage.iter().any(|x| x.name == st && !x.online);
            let color = if lost {
                BROKEN
            } else {
                pen.visuals.weak_text_color()
            };
            pen.painter.line_segment(
                [pen.scene.host_rects[hi].center_top(), r.center_bottom()],
                egui::Stroke::new(1.0, color),
            );
        }
    }
}

/// Where NIC `ni`'s port sits on its host box.
pub(super) fn port_pos(host: egui::Rect, ni: usize) -> egui::Pos2 {
    egui::pos2(host.left() + 20.0 + ni as f32 * 24.0, host.bottom())
}

pub(super) fn nic_links(ui: &mut egui::Ui, pen: &Pen<'_>, actions: &mut Actions) {
    let series = pen.lab.sim().series();
    for (hi, h) in pen.lab.spec().hosts.iter().enumerate() {
        let node = &pen.scene.nodes[hi];
        for (ni, nic) in h.nics.iter().enumerate() {
            let Some(sw) = &nic.switch else { continue };
            let port = port_pos(pen.scene.host_rects[hi], ni);
            let target = switch_rect(pen.lab, sw).center_top();
            let (host, name) = (h.name.as_str(), nic.name.as_str());
            let load = series.last(SeriesKey::NicSend { host, nic: name })
                + series.last(SeriesKey::NicReceive { host, nic: name });
            let plugged = node.nics.get(ni).is_none_or(|n| n.plugged);
            let util = (load / nic.speed.as_gbps().max(0.001)).clamp(0.0, 1.0) as f32;
            let (width, color) = if !plugged || node.networks_cut {
                (2.0, BROKEN)
            } else {
                (
                    1.5 + 6.0 * util,
                    egui::Color32::from_rgb(66, 135, 245).gamma_multiply(0.45 + 0.55 * util),
                )
            };
            pen.painter
                .line_segment([port, target], egui::Stroke::new(width, color));
            // A handle in the middle of the link: hover for the load, right-click to pull/plug.
            let mid = port + (target - port) * 0.5;
            let resp = ui.interact(
                egui::Rect::from_center_size(mid, egui::vec2(14.0, 14.0)),
                egui::Id::unique(("link", host, name)),
                egui::Sense::click(),
            );
            a11y(ui, &resp, format!("link {name} on {host}"));
            pen.painter.circle_filled(mid, 4.0, color);
            let resp = resp.on_hover_text(format!("{host} {name}: {load:.2} Gbps on the wire"));
            nic_menu(&resp, host, name, plugged, actions);
        }
    }
}
