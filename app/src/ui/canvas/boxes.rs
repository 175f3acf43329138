//! Switch and storage boxes: drag to place, click to select, drop a NIC port on a switch to cable
//! it, drop a VM chip on storage to keep its disks there, right-click storage to lose or restore it.

use super::super::action::{Actions, LabAction};
use super::super::state::Selection;
use super::hosts::VmDrag;
use super::menus::{PortDrag, shape, storage_menu};
use super::scene::{BROKEN, Pen, storage_rect, switch_rect};
use lmlab_engine::scenario::{Edit, StorageKind};

/// A box with a name on top and a line of detail at the bottom.
fn labelled_box(
    pen: &Pen<'_>,
    r: egui::Rect,
    rounding: f32,
    stroke: egui::Stroke,
    name: &str,
    detail: String,
) {
    pen.painter.rect(
        r,
        rounding,
        pen.visuals.extreme_bg_color,
        stroke,
        egui::StrokeKind::Inside,
    );
    pen.text_fit(
        r.center_top() + egui::vec2(0.0, 4.0),
        egui::Align2::CENTER_TOP,
        name,
        &pen.font,
        pen.text_color(),
        r.width() - 8.0,
    );
    pen.text_fit(
        r.center_bottom() - egui::vec2(0.0, 4.0),
        egui::Align2::CENTER_BOTTOM,
        detail,
        &pen.small,
        pen.visuals.weak_text_color(),
        r.width() - 8.0,
    );
}

pub(super) fn switches(ui: &mut egui::Ui, pen: &Pen<'_>, actions: &mut Actions) {
    for s in &pen.lab.spec().switches {
        let r = switch_rect(pen.lab, &s.name);
        let selected = *pen.lab.selection() == Selection::Switch(s.name.clone());
        let stroke = egui::Stroke::new(
            if selected { 3.0 } else { 1.5 },
            pen.visuals.widgets.active.bg_stroke.color,
        );
        let flags = format!(
            "{}{}",
            if s.dcb_pfc { "DCB/PFC " } else { "no PFC " },
            if s.lacp { "LACP" } else { "" }
        );
        labelled_box(pen, r, 6.0, stroke, &s.name, flags);
        let sel = Selection::Switch(s.name.clone());
        let resp = shape(ui, pen, r, ("switch", &s.name), sel, actions);
        // A NIC port dropped here is cabled to this switch.
        if let Some(p) = resp.dnd_release_payload::<PortDrag>() {
            actions.push(LabAction::Edit(Edit::Cable {
                host: p.0.clone(),
                nic: p.1.clone(),
                switch: Some(s.name.clone()),
            }));
        }
    }
}

pub(super) fn storage(ui: &mut egui::Ui, pen: &Pen<'_>, actions: &mut Actions) {
    for st in &pen.lab.spec().storage {
        let r = storage_rect(pen.lab, &st.name);
        let online = pen
            .scene
            .storage
            .iter()
            .find(|x| x.name == st.name)
            .is_none_or(|x| x.online);
        let selected = *pen.lab.selection() == Selection::Storage(st.name.clone());
        let stroke_color = if online {
            pen.visuals.widgets.active.bg_stroke.color
        } else {
            BROKEN
        };
        let kind = match st.kind {
            StorageKind::Smb3 => "SMB3 file share",
            StorageKind::Csv => "CSV block storage",
        };
        let detail = if online {
            kind.to_string()
        } else {
            format!("{kind} — LOST")
        };
        let stroke = egui::Stroke::new(if selected { 3.0 } else { 1.5 }, stroke_color);
        labelled_box(pen, r, 14.0, stroke, &st.name, detail);
        let sel = Selection::Storage(st.name.clone());
        let resp = shape(ui, pen, r, ("storage", &st.name), sel, actions);
        // A VM chip dropped here keeps its disks on this storage.
        if let Some(p) = resp.dnd_release_payload::<VmDrag>() {
            actions.push(LabAction::Edit(Edit::MoveDisks {
                vm: p.0.clone(),
                storage: st.name.clone(),
            }));
        }
        storage_menu(&resp, pen, &st.name, online, actions);
    }
}
