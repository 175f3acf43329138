//! What the canvas's shapes share: accessible names, select-and-drag, and the right-click menus
//! with every fault and repair.

use super::super::action::{Actions, LabAction, ViewAction};
use super::super::layout::key;
use super::super::state::{LabState, Selection};
use super::scene::Pen;
use lmlab_engine::Command;
use lmlab_engine::sim::NodeStatus;

/// What is dragged from a NIC's port: (host, NIC), to cable it to a switch.
#[derive(Clone, Debug)]
pub(super) struct PortDrag(pub String, pub String);

/// Names a canvas widget for screen readers and tests, with its on-screen bounds: egui reports
/// the bounds of widgets inside a `Scene` in scene coordinates, so they are transformed here.
pub(super) fn a11y(ui: &egui::Ui, resp: &egui::Response, label: impl Into<String>) {
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

/// A shape's area on the canvas: named for screen readers, click selects it, dragging moves it.
pub(super) fn shape(
    ui: &mut egui::Ui,
    pen: &Pen<'_>,
    rect: egui::Rect,
    (kind, name): (&str, &str),
    sel: Selection,
    actions: &mut Actions,
) -> egui::Response {
    let resp = ui.interact(
        rect,
        egui::Id::unique((kind, name)),
        egui::Sense::click_and_drag(),
    );
    a11y(ui, &resp, format!("{kind} {name}"));
    shape_response(&resp, pen.lab, key(kind, name), sel, actions);
    resp
}

/// Click selects the shape; dragging moves it.
pub(super) fn shape_response(
    resp: &egui::Response,
    lab: &LabState,
    key: String,
    sel: Selection,
    actions: &mut Actions,
) {
    if resp.clicked() {
        actions.push(ViewAction::Select(sel));
    }
    if resp.dragged() {
        let d = resp.drag_delta();
        let p = lab.layout().get(&key).copied().unwrap_or([0.0, 0.0]);
        actions.push(LabAction::MoveShape(key, [p[0] + d.x, p[1] + d.y]));
    }
}

fn item(ui: &mut egui::Ui, label: &str, cmd: Command, actions: &mut Actions) {
    if ui.button(label).clicked() {
        actions.push(LabAction::Apply(cmd));
        ui.close();
    }
}

pub(super) fn nic_menu(
    resp: &egui::Response,
    host: &str,
    nic: &str,
    plugged: bool,
    actions: &mut Actions,
) {
    resp.context_menu(|ui| {
        let (node, nic_name) = (host.to_string(), nic.to_string());
        if plugged {
            let cmd = Command::PullNic {
                node,
                nic: nic_name,
            };
            item(ui, &format!("Pull {nic} on {host}"), cmd, actions);
        } else {
            let cmd = Command::PlugNic {
                node,
                nic: nic_name,
            };
            item(ui, &format!("Plug {nic} on {host} back in"), cmd, actions);
        }
    });
}

pub(super) fn host_menu(resp: &egui::Response, node: &NodeStatus, actions: &mut Actions) {
    use lmlab_engine::sim::ServiceState as S;
    let n = node.name.clone();
    resp.context_menu(|ui| {
        let node_cmd = |f: fn(String) -> Command| f(n.clone());
        ui.label(egui::RichText::new(format!("{n} — cluster service {:?}", node.service)).weak());
        match node.service {
            S::Running => {
                let crash = node_cmd(|node| Command::CrashClusterService { node });
                item(ui, "Crash cluster service", crash, actions);
                let stop = node_cmd(|node| Command::StopClusterService { node });
                item(ui, "Stop cluster service (drain)", stop, actions);
            }
            S::Crashed => {
                let restart = node_cmd(|node| Command::RestartClusterService { node });
                item(ui, "Restart cluster service", restart, actions);
            }
            S::Stopped => {
                let start = node_cmd(|node| Command::StartClusterService { node });
                item(ui, "Start cluster service", start, actions);
            }
        }
        if node.powered {
            item(
                ui,
                "Power off",
                node_cmd(|node| Command::PowerOff { node }),
                actions,
            );
        } else {
            item(
                ui,
                "Power on",
                node_cmd(|node| Command::PowerOn { node }),
                actions,
            );
        }
        if node.networks_cut {
            let heal = node_cmd(|node| Command::HealNetworks { node });
            item(ui, "Heal cluster networks", heal, actions);
        } else {
            let cut = node_cmd(|node| Command::CutNetworks { node });
            item(ui, "Cut cluster networks", cut, actions);
        }
        ui.separator();
        let pause = node_cmd(|node| Command::PauseNode { node });
        item(ui, "Pause (drain roles)", pause, actions);
        item(
            ui,
            "Resume",
            node_cmd(|node| Command::ResumeNode { node }),
            actions,
        );
        if node.status.iter().any(|s| s == "Quarantined") {
            let clear = node_cmd(|node| Command::ClearQuarantine { node });
            item(ui, "Clear quarantine", clear, actions);
        }
    });
}

pub(super) fn storage_menu(
    resp: &egui::Response,
    pen: &Pen<'_>,
    storage: &str,
    online: bool,
    actions: &mut Actions,
) {
    resp.context_menu(|ui| {
        let s = storage.to_string();
        if online {
            let cmd = Command::LoseStorage {
                storage: s.clone(),
                node: None,
            };
            item(ui, "Lose storage (all nodes)", cmd, actions);
        } else {
            let cmd = Command::RestoreStorage {
                storage: s.clone(),
                node: None,
            };
            item(ui, "Restore storage (all nodes)", cmd, actions);
        }
        for (hi, h) in pen.lab.spec().hosts.iter().enumerate() {
            let node = Some(h.name.clone());
            if pen.scene.nodes[hi].storage_lost.iter().any(|x| x == &s) {
                let cmd = Command::RestoreStorage {
                    storage: s.clone(),
                    node,
                };
                item(ui, &format!("Restore path from {}", h.name), cmd, actions);
            } else {
                let cmd = Command::LoseStorage {
                    storage: s.clone(),
                    node,
                };
                item(ui, &format!("Lose path from {}", h.name), cmd, actions);
            }
        }
    });
}
