//! The shared world both models read and change: the scenario, the clock, the nodes' and VMs'
//! component state, storage, and each VM's state changes over time.
//!
//! Invariants:
//! - a VM is always owned by exactly one host (`Vm::host`);
//! - every change of a VM's state goes through [`World::note_vm_state`] at the instant it
//!   happens, so the VM timeline holds each change once, in time order.

use super::{NodeState, ServiceState, VmState};
use crate::scenario::{InitialVmState, Scenario};
use crate::time::SimTime;
use crate::transport::NetState;

/// A node's components, as the commands change them (the cluster's view is in `Membership`).
#[derive(Clone, Debug)]
pub(super) struct Node {
    pub service: ServiceState,
    pub powered: bool,
    pub networks_cut: bool,
    pub nic_plugged: Vec<bool>,
    pub storage_lost: Vec<bool>,
    pub state: NodeState,
}

#[derive(Clone, Debug)]
pub(super) struct Vm {
    pub host: usize,
    pub state: VmState,
    /// A backup job is between PrepareForSnapshot and PostSnapshot for this VM: live migration
    /// is refused (backup-and-is.md §5, `lm_blocked_during: prepare..post`).
    pub in_backup: bool,
}

/// The nodes, VMs and storage of a running lab, with the scenario they come from and the time.
#[derive(Clone, Debug)]
pub(super) struct World {
    pub scenario: Scenario,
    pub seed: u64,
    pub now: SimTime,
    pub nodes: Vec<Node>,
    pub vms: Vec<Vm>,
    pub storage_online: Vec<bool>,
    /// State changes per VM, for state bands in plots and exports.
    pub vm_timeline: Vec<Vec<(SimTime, VmState)>>,
}

impl World {
    /// The world of `scenario` at time zero: every node up, every VM as the scenario says.
    pub fn new(scenario: Scenario, seed: u64) -> World {
        let spec = &scenario.spec;
        let nodes = spec
            .hosts
            .iter()
            .map(|h| Node {
                service: ServiceState::Running,
                powered: true,
                networks_cut: false,
                nic_plugged: vec![true; h.nics.len()],
                storage_lost: vec![false; spec.storage.len()],
                state: NodeState::Up,
            })
            .collect();
        let vms: Vec<Vm> = spec
            .vms
            .iter()
            .map(|v| Vm {
                host: scenario.host(&v.host).map_or(0, |(i, _)| i),
                state: match v.state {
                    InitialVmState::Running => VmState::Running,
                    InitialVmState::Off => VmState::Off,
                },
                in_backup: false,
            })
            .collect();
        let vm_timeline = vms.iter().map(|v| vec![(SimTime::ZERO, v.state)]).collect();
        World {
            storage_online: vec![true; spec.storage.len()],
            scenario,
            seed,
            now: SimTime::ZERO,
            nodes,
            vms,
            vm_timeline,
        }
    }

    /// Records VM `v`'s state on its timeline if it changed.
    pub fn note_vm_state(&mut self, v: usize) {
        let st = self.vms[v].state;
        if let Some(tl) = self.vm_timeline.get_mut(v)
            && tl.last().is_none_or(|l| l.1 != st)
        {
            tl.push((self.now, st));
        }
    }

    /// Which NICs carry traffic now: plugged, on a powered node whose networks are not cut.
    pub fn net_state(&self) -> NetState {
        NetState {
            nic_up: self
                .nodes
                .iter()
                .map(|n| {
                    n.nic_plugged
                        .iter()
                        .map(|&p| p && n.powered && !n.networks_cut)
                        .collect()
                })
                .collect(),
        }
    }

    /// Whether a node's heartbeats reach the others.
    pub fn heartbeats_flow(&self, h: usize) -> bool {
        let n = &self.nodes[h];
        n.powered
            && n.service == ServiceState::Running
            && !n.networks_cut
            && n.nic_plugged.iter().any(|&p| p)
    }

    /// The VMs owned by host `h`, in scenario order.
    pub fn vms_on(&self, h: usize) -> Vec<usize> {
        (0..self.vms.len())
            .filter(|&v| self.vms[v].host == h)
            .collect()
    }
}

/// The resiliency lab without its script, as the models see it at time zero (for unit tests of
/// one handler at a time).
#[cfg(test)]
pub(super) fn test_lab() -> (
    World,
    super::cluster::ClusterState,
    super::migration::MigrationState,
) {
    let text = include_str!("../../../assets/scenarios/resiliency-lab.toml");
    let text = text.split("# The seed's experiment").next().unwrap_or(text);
    let scenario = Scenario::from_toml(text, "resiliency-lab.toml").expect("the lab loads");
    let cluster = super::cluster::ClusterState::new(&scenario.spec, 1);
    let lm = super::migration::MigrationState::new(&scenario.spec);
    (World::new(scenario, 1), cluster, lm)
}
