//! The lab at a glance: one card per host with its components and VMs. (The drawn canvas with
//! switches and links replaces this with the workbench GUI.)

use super::UiAction;
use lmlab_engine::sim::{NodeState, ServiceState};
use lmlab_engine::{Command, Scenario, Snapshot};

pub fn node_color(ui: &egui::Ui, state: NodeState, healthy: bool) -> egui::Color32 {
    match (state, healthy) {
        (NodeState::Up, true) => egui::Color32::from_rgb(60, 170, 90),
        (NodeState::Up, false) | (NodeState::Joining, _) => egui::Color32::from_rgb(220, 160, 40),
        (NodeState::Paused, _) => egui::Color32::from_rgb(90, 140, 220),
        (NodeState::Down, _) => ui.visuals().error_fg_color,
    }
}

pub fn show(ui: &mut egui::Ui, scenario: &Scenario, snap: &Snapshot, actions: &mut Vec<UiAction>) {
    ui.heading(&scenario.spec.name);
    if !scenario.spec.description.is_empty() {
        ui.label(scenario.spec.description.trim());
    }
    ui.add_space(8.0);
    egui::ScrollArea::vertical().show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            for (node, spec) in snap.nodes.iter().zip(&scenario.spec.hosts) {
                let healthy =
                    node.powered && node.service == ServiceState::Running && !node.networks_cut;
                let color = node_color(ui, node.state, healthy);
                egui::Frame::group(ui.style())
                    .stroke(egui::Stroke::new(2.0, color))
                    .inner_margin(10.0)
                    .show(ui, |ui| {
                        ui.vertical(|ui| {
                            ui.set_width(260.0);
                            ui.horizontal(|ui| {
                                ui.label(egui::RichText::new(&node.name).heading().strong());
                                ui.label(
                                    egui::RichText::new(format!("{:?}", node.state))
                                        .color(color)
                                        .strong(),
                                );
                            })
                            .response
                            .context_menu(|ui| {
                                let n = node.name.clone();
                                for (label, cmd) in [
                                    (
                                        "Crash cluster service",
                                        Command::CrashClusterService { node: n.clone() },
                                    ),
                                    (
                                        "Restart cluster service",
                                        Command::RestartClusterService { node: n.clone() },
                                    ),
                                    ("Power off", Command::PowerOff { node: n.clone() }),
                                    ("Power on", Command::PowerOn { node: n.clone() }),
                                ] {
                                    if ui.button(label).clicked() {
                                        actions.push(UiAction::Apply(cmd));
                                    }
                                }
                            });
                            ui.label(format!(
                                "{} × {} cores @ {} GHz, {}",
                                spec.sockets, spec.cores_per_socket, spec.clock_ghz, spec.memory
                            ));
                            ui.label(format!(
                                "cluster service {:?}, power {}",
                                node.service,
                                if node.powered { "on" } else { "off" }
                            ));
                            for (nic, nspec) in node.nics.iter().zip(&spec.nics) {
                                let rdma = format!("{:?}", nspec.rdma);
                                ui.label(format!(
                                    "  {} {} {}{}",
                                    nic.name,
                                    nspec.speed,
                                    if rdma == "None" {
                                        String::new()
                                    } else {
                                        format!("RDMA {rdma}")
                                    },
                                    if nic.plugged { "" } else { " (unplugged)" }
                                ));
                            }
                            ui.separator();
                            for vm in snap.vms.iter().filter(|v| v.host == node.name) {
                                ui.label(format!("{}  {:?}", vm.name, vm.state));
                            }
                        })
                    });
            }
        });
    });
}
