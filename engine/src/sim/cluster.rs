//! The failover-cluster engine: heartbeats and membership, VM Compute Resiliency (Isolated,
//! Unmonitored, Running-Critical / Paused-Critical, resiliency periods), quarantine, failover,
//! drains, clean stops and quorum. Behaviour and every assumption: docs/cluster-model.md.
//!
//! Invariants:
//! - a node is in active membership only while its heartbeats flow and it has joined;
//! - no more nodes are quarantined at once than the cap (20 % or 25 % of nodes, at least one);
//! - every VM has exactly one owner node at every instant; failover moves the owner and restarts
//!   the VM, after the old instance is stopped;
//! - the cluster log is in time order (events are appended as time advances).

use super::{EventKind, NodeState, Scheduled, ServiceState, Simulation, VmState};
use crate::kernel::EventClass;
use crate::scenario::{
    DrainMove, Priority, QuarantineCap, QuarantineDuration, ResiliencyLevel, ResiliencyPeriod,
    StorageKind, parse_config_version,
};
use crate::time::{SimDuration, SimTime};

/// `ClusterNodeDrainStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum DrainStatus {
    NotInitiated,
    InProgress,
    Completed,
    Failed,
}

/// `ClusterGroupState` of a VM role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum RoleState {
    Online,
    Offline,
    Failed,
    Pending,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NodeTimer {
    /// Enough heartbeats missed: the node leaves membership.
    Lost,
    /// The resiliency period of an isolated node ran out.
    PeriodExpired,
    /// Joining finished: the node is Up.
    Joined,
    QuarantineOver,
    /// A failed drain is tried again.
    DrainRetry,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum VmTimer {
    PauseCritical,
    Started,
    /// The VM role's own resiliency period ran out while its node was isolated.
    RolePeriodExpired,
    /// A quick migration to this host finished.
    QuickDone(usize),
}

/// Per-node cluster state, beside the component state in `Node`.
#[derive(Clone, Debug)]
pub(super) struct Membership {
    pub member: bool,
    pub isolated: bool,
    /// `Some(None)`: quarantined until cleared; `Some(Some(t))`: until `t`.
    pub quarantined: Option<Option<SimTime>>,
    pub paused: bool,
    pub drain: DrainStatus,
    /// A clean stop waits for its drain.
    pub stopping: bool,
    /// Times of ungraceful membership losses (for the sliding hour).
    pub failures: Vec<SimTime>,
    pub lost_pending: bool,
    /// Timers older than this are stale.
    pub generation: u64,
    /// Phase of this node's heartbeats within the delay.
    pub heartbeat_phase: SimDuration,
    /// `DynamicWeight`: whether the node votes now (quorum.rs).
    pub vote: bool,
    /// Drain retries used since the drain began.
    pub drain_retries_used: u32,
}

/// Per-VM cluster state.
#[derive(Clone, Debug)]
pub(super) struct Role {
    pub state: RoleState,
    pub unmonitored: bool,
    pub generation: u64,
    pub outage_since: Option<SimTime>,
    pub outage: SimDuration,
    /// Running-Critical or Paused-Critical since (the guest is frozen or its I/O fails).
    pub frozen_since: Option<SimTime>,
    pub frozen: SimDuration,
    /// A quick migration or restart is under way.
    pub moving: bool,
}

impl Role {
    pub fn new(running: bool) -> Role {
        Role {
            state: if running {
                RoleState::Online
            } else {
                RoleState::Offline
            },
            unmonitored: false,
            generation: 0,
            outage_since: None,
            outage: SimDuration::ZERO,
            frozen_since: None,
            frozen: SimDuration::ZERO,
            moving: false,
        }
    }
}

/// The failover-cluster model's own state, beside the shared world of nodes, VMs and storage
/// in [`Simulation`].
#[derive(Clone, Debug)]
pub(super) struct ClusterState {
    /// Per node: membership, isolation, quarantine, drain, failures, votes.
    pub members: Vec<Membership>,
    /// Per VM: its cluster role.
    pub roles: Vec<Role>,
    /// Quorum lost: no partition holds a majority of the votes.
    pub down: bool,
    /// Whether the witness votes now (dynamic witness), and the node whose vote was zeroed last.
    pub witness_vote: bool,
    pub zeroed: Option<usize>,
    /// Draws which node's vote dynamic quorum zeroes (when no node is named for it).
    pub quorum_rng: crate::rng::SimRng,
}

const HOUR: SimDuration = SimDuration::from_secs(3600);

impl Simulation {
    // ---------------------------------------------------------------------------------------
    // Facts

    /// Whether a node's heartbeats reach the others.
    pub(super) fn heartbeats_flow(&self, h: usize) -> bool {
        let n = &self.nodes[h];
        n.powered
            && n.service == ServiceState::Running
            && !n.networks_cut
            && n.nic_plugged.iter().any(|&p| p)
    }

    /// Whether new roles may be placed on a node.
    pub(super) fn accepts_roles(&self, h: usize) -> bool {
        let m = &self.cluster.members[h];
        // A node that is off or unreachable but not yet noticed refuses the start attempt.
        self.nodes[h].state == NodeState::Up
            && self.heartbeats_flow(h)
            && m.member
            && !m.paused
            && m.quarantined.is_none()
            && !self.cluster.down
    }

    /// Memory in use or reserved on each host: VMs that are not Off, plus incoming migrations.
    fn memory_used(&self) -> Vec<u64> {
        let spec = &self.scenario.spec;
        let mut used = vec![0u64; self.nodes.len()];
        for (i, v) in self.vms.iter().enumerate() {
            if v.state != VmState::Off || self.cluster.roles[i].moving {
                used[v.host] = used[v.host].saturating_add(spec.vms[i].memory.0);
            }
        }
        for &id in &self.lm.holding {
            let m = &self.migrations[id];
            used[m.to] = used[m.to].saturating_add(spec.vms[m.vm].memory.0);
        }
        used
    }

    /// The node with the most free memory that accepts roles and fits the VM.
    fn place(&self, vm: usize, exclude: usize, used: &[u64]) -> Option<usize> {
        let need = self.scenario.spec.vms[vm].memory.0;
        (0..self.nodes.len())
            .filter(|&h| h != exclude && self.accepts_roles(h))
            .filter(|&h| used[h].saturating_add(need) <= self.scenario.spec.hosts[h].memory.0)
            .max_by_key(|&h| {
                (
                    self.scenario.spec.hosts[h].memory.0 - used[h],
                    std::cmp::Reverse(h),
                )
            })
    }

    fn storage_ok(&self, vm: usize) -> bool {
        let spec = &self.scenario.spec;
        let h = self.vms[vm].host;
        let Some(si) = spec
            .storage
            .iter()
            .position(|s| s.name == spec.vms[vm].storage)
        else {
            return true;
        };
        if !self.storage_online[si] || self.nodes[h].storage_lost[si] {
            return false;
        }
        // CSV access goes through the cluster: an isolated node loses it; a joining or quarantined
        // node whose cluster service runs has it (assumption: the seed drains quarantined nodes
        // by live migration, which needs the VMs running).
        let n = &self.nodes[h];
        let m = &self.cluster.members[h];
        spec.storage[si].kind != StorageKind::Csv
            || m.member
            || (n.powered
                && n.service == ServiceState::Running
                && (n.state == NodeState::Joining || m.quarantined.is_some()))
    }

    // ---------------------------------------------------------------------------------------
    // Timers

    pub(super) fn node_timer(&mut self, h: usize, at: SimTime, what: NodeTimer) {
        let generation = self.cluster.members[h].generation;
        self.queue.schedule(
            at,
            EventClass::Model,
            Scheduled::Node {
                node: h,
                generation,
                what,
            },
        );
    }

    fn vm_timer(&mut self, vm: usize, at: SimTime, what: VmTimer) {
        let generation = self.cluster.roles[vm].generation;
        self.queue.schedule(
            at,
            EventClass::Model,
            Scheduled::Vm {
                vm,
                generation,
                what,
            },
        );
    }

    pub(super) fn node_event(&mut self, h: usize, detail: &str, id: Option<u32>) {
        let name = self.scenario.spec.hosts[h].name.clone();
        self.push_event(EventKind::NodeState, name, detail.to_string(), id);
    }

    fn vm_event(&mut self, vm: usize, detail: String) {
        let name = self.scenario.spec.vms[vm].name.clone();
        self.push_event(EventKind::VmState, name, detail, None);
    }

    pub(super) fn set_vm_state(&mut self, vm: usize, state: VmState) {
        let detail = format!("{state:?}");
        self.set_vm_state_logged(vm, state, detail);
    }

    /// Changes a VM's state with the log line `detail`, keeping frozen time (Running-Critical,
    /// Paused-Critical) and, when `count_frozen_as_outage`, the outage in step.
    fn set_vm_state_logged(&mut self, vm: usize, state: VmState, detail: String) {
        let old = self.vms[vm].state;
        if old == state {
            return;
        }
        let critical = |s: VmState| matches!(s, VmState::RunningCritical | VmState::PausedCritical);
        let count = self.scenario.spec.cluster.count_frozen_as_outage;
        if critical(state) && !critical(old) {
            self.cluster.roles[vm].frozen_since = Some(self.now);
            if count {
                self.outage_starts(vm);
            }
        } else if critical(old) && !critical(state) {
            if let Some(t) = self.cluster.roles[vm].frozen_since.take() {
                let d = self.now.since(t);
                self.cluster.roles[vm].frozen = SimDuration::from_micros(
                    self.cluster.roles[vm].frozen.as_micros() + d.as_micros(),
                );
            }
            if count && state == VmState::Running {
                self.outage_ends(vm);
            }
        }
        self.vms[vm].state = state;
        self.note_vm_state(vm);
        self.vm_event(vm, detail);
    }

    pub(super) fn outage_starts(&mut self, vm: usize) {
        if self.cluster.roles[vm].outage_since.is_none() {
            self.cluster.roles[vm].outage_since = Some(self.now);
        }
    }

    fn outage_ends(&mut self, vm: usize) {
        if let Some(t) = self.cluster.roles[vm].outage_since.take() {
            let d = self.now.since(t);
            self.cluster.roles[vm].outage =
                SimDuration::from_micros(self.cluster.roles[vm].outage.as_micros() + d.as_micros());
        }
    }

    /// When the others notice `h`'s heartbeats stopped now: the last heartbeat plus
    /// delay × threshold (same or cross subnet, whichever peer notices first).
    fn detection_time(&self, h: usize) -> SimTime {
        let c = &self.scenario.spec.cluster;
        let spec = &self.scenario.spec;
        let same =
            (0..self.nodes.len()).any(|o| o != h && spec.hosts[o].subnet == spec.hosts[h].subnet);
        let (delay, threshold) = if same || self.nodes.len() == 1 {
            (c.same_subnet_delay, c.same_subnet_threshold)
        } else {
            (c.cross_subnet_delay, c.cross_subnet_threshold)
        };
        let d = delay.as_micros().max(1);
        let phase = self.cluster.members[h].heartbeat_phase.as_micros() % d;
        let now = self.now.as_micros();
        let last = if now >= phase {
            phase + (now - phase) / d * d
        } else {
            0
        };
        SimTime::from_micros(last + d * u64::from(threshold))
    }

    // ---------------------------------------------------------------------------------------
    // Reactions

    /// Re-evaluates a node after one of its components changed.
    pub(super) fn node_changed(&mut self, h: usize) {
        let flows = self.heartbeats_flow(h);
        let m = &self.cluster.members[h];
        if self.cluster.down {
            self.try_regroup();
        } else if !flows && m.member && !m.lost_pending {
            self.cluster.members[h].lost_pending = true;
            let at = self.detection_time(h);
            self.node_timer(h, at, NodeTimer::Lost);
        } else if flows && m.lost_pending {
            // Back before enough heartbeats were missed: nothing happened.
            self.cluster.members[h].lost_pending = false;
            self.cluster.members[h].generation += 1;
        } else if flows && !m.member && self.nodes[h].state != NodeState::Joining {
            self.rejoin(h);
        }
        self.refresh_storage_of_node(h);
    }

    /// Node timers.
    pub(super) fn node_timer_fired(&mut self, h: usize, generation: u64, what: NodeTimer) {
        if self.cluster.members[h].generation != generation {
            return;
        }
        match what {
            NodeTimer::Lost => self.membership_lost(h),
            NodeTimer::PeriodExpired => {
                if self.cluster.members[h].isolated {
                    self.cluster.members[h].isolated = false;
                    self.node_event(h, "Down (resiliency period expired)", None);
                    self.fail_over_node(h);
                }
            }
            NodeTimer::Joined => {
                if !self.heartbeats_flow(h) {
                    return;
                }
                let m = &mut self.cluster.members[h];
                m.member = true;
                m.isolated = false;
                self.nodes[h].state = if self.cluster.members[h].paused {
                    NodeState::Paused
                } else {
                    NodeState::Up
                };
                let st = format!("{:?}", self.nodes[h].state);
                self.node_event(h, &st, None);
                self.reweigh();
                // Its VMs are monitored again; storage comes back; VMs that were off restart.
                let vms: Vec<usize> = (0..self.vms.len())
                    .filter(|&v| self.vms[v].host == h)
                    .collect();
                for v in vms {
                    if self.cluster.roles[v].unmonitored {
                        self.cluster.roles[v].unmonitored = false;
                        self.vm_event(v, "monitored again (Online)".into());
                    }
                    if self.vms[v].state == VmState::Off
                        && !self.cluster.roles[v].moving
                        && matches!(
                            self.cluster.roles[v].state,
                            RoleState::Online | RoleState::Pending
                        )
                    {
                        self.restart_vm(v, h);
                    }
                }
                self.refresh_storage_of_node(h);
                self.retry_failed_roles();
            }
            NodeTimer::QuarantineOver => {
                if self.cluster.members[h].quarantined.is_some() {
                    self.leave_quarantine(h, "quarantine period over");
                }
            }
            NodeTimer::DrainRetry => self.retry_drain(h),
        }
    }

    /// A node that was powered off and on before the others noticed: booting took longer than
    /// the heartbeat threshold, so it left membership all the same.
    pub(super) fn power_cycled(&mut self, h: usize) {
        self.cluster.members[h].generation += 1;
        self.membership_lost(h);
    }

    fn membership_lost(&mut self, h: usize) {
        let now = self.now;
        let m = &mut self.cluster.members[h];
        m.lost_pending = false;
        m.member = false;
        m.failures.push(now);
        m.failures.retain(|&t| now.since(t) < HOUR);
        m.generation += 1;
        self.nodes[h].state = NodeState::Down;
        let name = self.scenario.spec.hosts[h].name.clone();
        self.push_event(
            EventKind::NodeState,
            name.clone(),
            format!("{name} removed from active failover cluster membership"),
            Some(1135),
        );
        if self.cluster.down || self.check_quorum(Some(h)) {
            self.isolate_or_fail_over(h);
        }
        self.refresh_storage_of_node(h);
    }

    /// A node out of membership: Isolated with its VMs (VM Compute Resiliency), or Down with
    /// its VMs failed over (resiliency off, functional level below 9, or a failure that does not
    /// qualify under `IsolateOnSpecialHeartbeat`).
    pub(super) fn isolate_or_fail_over(&mut self, h: usize) {
        let c = &self.scenario.spec.cluster;
        let service_alive = self.nodes[h].powered && self.nodes[h].service == ServiceState::Running;
        let qualifies = match c.resiliency_level {
            ResiliencyLevel::AlwaysIsolate => true,
            // Assumption (docs/cluster-model.md): only a node whose cluster service still runs.
            ResiliencyLevel::IsolateOnSpecialHeartbeat => service_alive,
        };
        if c.resiliency_default_period.is_zero() || c.functional_level < 9 || !qualifies {
            let why = if c.functional_level < 9 {
                "Down (functional level below 9: no VM Compute Resiliency)"
            } else {
                "Down"
            };
            self.node_event(h, why, None);
            self.fail_over_node(h);
        } else {
            self.isolate(h);
        }
    }

    /// Isolated: the node keeps its VMs, which become Unmonitored. Each VM role's own
    /// `resiliency_period` is honoured, shorter or longer than the cluster's; the node stays
    /// Isolated until its last VM's period runs out.
    fn isolate(&mut self, h: usize) {
        let now = self.now;
        let c = self.scenario.spec.cluster.clone();
        self.cluster.members[h].isolated = true;
        self.node_event(h, "Isolated", None);
        let min_version = parse_config_version(&c.isolation_min_config_version).unwrap_or((0, 0));
        let vms: Vec<usize> = (0..self.vms.len())
            .filter(|&v| self.vms[v].host == h)
            .collect();
        let mut periods = Vec::new();
        for v in vms {
            let spec_v = &self.scenario.spec.vms[v];
            let version = parse_config_version(&spec_v.config_version).unwrap_or((0, 0));
            if version < min_version {
                // Below the required version: no isolation handling, it fails over.
                self.fail_over_vm(v, h);
                continue;
            }
            let period = vm_period(spec_v.resiliency_period, c.resiliency_default_period);
            if self.cluster.roles[v].state == RoleState::Online || self.vms[v].state != VmState::Off
            {
                self.cluster.roles[v].unmonitored = true;
                self.vm_event(v, "Unmonitored".into());
            }
            periods.push((v, period));
        }
        let node_period = periods
            .iter()
            .map(|p| p.1)
            .fold(c.resiliency_default_period, SimDuration::max);
        for (v, period) in periods {
            if period < node_period {
                self.vm_timer(v, now + period, VmTimer::RolePeriodExpired);
            }
        }
        self.node_timer(h, now + node_period, NodeTimer::PeriodExpired);
    }

    /// A node whose heartbeats flow again comes back: quarantined if it failed too often.
    fn rejoin(&mut self, h: usize) {
        let now = self.now;
        let c = self.scenario.spec.cluster.clone();
        if self.cluster.members[h].quarantined.is_some() {
            return; // not allowed to join until the quarantine ends
        }
        self.cluster.members[h]
            .failures
            .retain(|&t| now.since(t) < HOUR);
        let failures = self.cluster.members[h].failures.len() as u32;
        let quarantined_now = self
            .cluster
            .members
            .iter()
            .filter(|m| m.quarantined.is_some())
            .count();
        let cap = quarantine_cap(c.quarantine_cap, self.nodes.len());
        // Quarantine is a Windows Server 2016 feature: not at functional level 8.
        if c.functional_level >= 9
            && failures >= c.quarantine_threshold
            && !self.cluster.members[h].failures.is_empty()
        {
            if quarantined_now < cap {
                self.quarantine(h, failures);
                return;
            }
            let detail = format!(
                "{failures} failures in the last hour, but {quarantined_now} of at most {cap} nodes already quarantined: not quarantined"
            );
            self.node_event(h, &detail, None);
        }
        self.cluster.members[h].generation += 1;
        self.nodes[h].state = NodeState::Joining;
        self.node_event(h, "Joining", None);
        self.node_timer(h, now + c.join_time, NodeTimer::Joined);
    }

    fn quarantine(&mut self, h: usize, failures: u32) {
        let now = self.now;
        let c = &self.scenario.spec.cluster;
        let until = match c.quarantine_duration {
            QuarantineDuration::UntilCleared => None,
            QuarantineDuration::For(d) => Some(now + d),
        };
        let m = &mut self.cluster.members[h];
        m.quarantined = Some(until);
        m.isolated = false;
        m.generation += 1;
        self.nodes[h].state = NodeState::Down;
        let name = self.scenario.spec.hosts[h].name.clone();
        let clears = until.map_or(
            "when cleared (Start-ClusterNode -ClearQuarantine)".to_string(),
            |t| format!("at {t}"),
        );
        self.push_event(
            EventKind::NodeState,
            name.clone(),
            format!("Quarantined: {name} left membership {failures} times within an hour; quarantine clears {clears}"),
            Some(1672),
        );
        if let Some(t) = until {
            self.node_timer(h, t, NodeTimer::QuarantineOver);
        }
        // Its VMs are drained off to other nodes (the node itself is up); the cluster tracks
        // them while it moves them, so none stays Unmonitored.
        let vms: Vec<usize> = (0..self.vms.len())
            .filter(|&v| self.vms[v].host == h && self.cluster.roles[v].unmonitored)
            .collect();
        for v in vms {
            self.cluster.roles[v].unmonitored = false;
            self.vm_event(
                v,
                "monitored again (its node is quarantined and drained)".into(),
            );
        }
        self.refresh_storage_of_node(h);
        self.cluster.members[h].drain_retries_used = 0;
        self.drain(h);
    }

    pub(super) fn leave_quarantine(&mut self, h: usize, why: &str) {
        self.cluster.members[h].quarantined = None;
        self.cluster.members[h].failures.clear();
        self.cluster.members[h].drain = DrainStatus::NotInitiated;
        self.cluster.members[h].generation += 1;
        self.node_event(h, &format!("quarantine lifted: {why}"), None);
        if self.heartbeats_flow(h) && !self.cluster.down {
            self.rejoin(h);
        }
    }

    /// VM timers.
    pub(super) fn vm_timer_fired(&mut self, vm: usize, generation: u64, what: VmTimer) {
        if self.cluster.roles[vm].generation != generation {
            return;
        }
        match what {
            VmTimer::PauseCritical => {
                if self.vms[vm].state == VmState::RunningCritical {
                    self.set_vm_state(vm, VmState::PausedCritical);
                }
            }
            VmTimer::Started => {
                self.cluster.roles[vm].moving = false;
                if self.vms[vm].state == VmState::Starting {
                    self.set_vm_state(vm, VmState::Running);
                    self.cluster.roles[vm].state = RoleState::Online;
                    self.outage_ends(vm);
                    self.refresh_storage(vm);
                }
            }
            VmTimer::RolePeriodExpired => {
                let h = self.vms[vm].host;
                if self.cluster.members[h].isolated {
                    self.fail_over_vm(vm, h);
                }
            }
            VmTimer::QuickDone(to) => {
                self.cluster.roles[vm].moving = false;
                self.cluster.roles[vm].unmonitored = false;
                let from = self.vms[vm].host;
                // The target may have gone (off, out of membership) while the VM was saved:
                // it is restored on another node that accepts roles, or its role Fails.
                let target = if self.accepts_roles(to) {
                    Some(to)
                } else {
                    let used = self.memory_used();
                    self.place(vm, from, &used)
                };
                let to_name = self.scenario.spec.hosts[to].name.clone();
                match target {
                    Some(t) => {
                        self.vms[vm].host = t;
                        let t_name = self.scenario.spec.hosts[t].name.clone();
                        let detail = if t == to {
                            format!("Running on {t_name}: quick migration done")
                        } else {
                            format!(
                                "Running on {t_name}: quick migration restored there ({to_name} cannot host it now)"
                            )
                        };
                        self.set_vm_state_logged(vm, VmState::Running, detail);
                        self.cluster.roles[vm].state = RoleState::Online;
                        self.outage_ends(vm);
                        self.refresh_storage(vm);
                    }
                    None => {
                        self.cluster.roles[vm].state = RoleState::Failed;
                        self.set_vm_state_logged(
                            vm,
                            VmState::Off,
                            format!("Off: quick migration to {to_name} failed (no node can host it now); role Failed"),
                        );
                    }
                }
                self.check_drains();
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Failover and placement

    fn fail_over_node(&mut self, h: usize) {
        let mut vms: Vec<usize> = (0..self.vms.len())
            .filter(|&v| self.vms[v].host == h)
            .collect();
        let spec = &self.scenario.spec;
        vms.sort_by_key(|&v| (std::cmp::Reverse(spec.vms[v].priority), v));
        let mut used = self.memory_used();
        for v in vms {
            self.fail_over_vm_with(v, h, &mut used);
        }
    }

    /// Stops the VM's instance on `from` and restarts it on the best node (unplanned failover).
    fn fail_over_vm(&mut self, vm: usize, from: usize) {
        let mut used = self.memory_used();
        self.fail_over_vm_with(vm, from, &mut used);
    }

    /// [`Self::fail_over_vm`] with the memory accounting kept by the caller (batches).
    fn fail_over_vm_with(&mut self, vm: usize, from: usize, used: &mut [u64]) {
        if self.vms[vm].host != from || self.cluster.roles[vm].state == RoleState::Offline {
            return;
        }
        self.cluster.roles[vm].generation += 1;
        self.cluster.roles[vm].unmonitored = false;
        if self.vms[vm].state != VmState::Off {
            self.outage_starts(vm);
            self.set_vm_state(vm, VmState::Off);
        } else {
            self.outage_starts(vm);
        }
        if self.scenario.spec.vms[vm].priority == Priority::NoAutoStart {
            self.cluster.roles[vm].state = RoleState::Offline;
            self.vm_event(vm, "not restarted (priority No Auto Start)".into());
            return;
        }
        match self.place(vm, from, used) {
            Some(to) => {
                let mem = self.scenario.spec.vms[vm].memory.0;
                used[to] = used[to].saturating_add(mem);
                self.vms[vm].host = to;
                let name = self.scenario.spec.hosts[to].name.clone();
                self.vm_event(vm, format!("failing over to {name}"));
                self.restart_vm(vm, to);
            }
            None => {
                self.cluster.roles[vm].state = RoleState::Failed;
                let why = if self.cluster.down {
                    "role Failed: Off until the cluster regains quorum"
                } else {
                    "role Failed: no node can take it"
                };
                self.vm_event(vm, why.into());
            }
        }
    }

    /// Starts a VM on `h`, which must accept roles (Up, in membership, not paused or
    /// quarantined, the cluster has quorum); otherwise its role is Failed and placed later.
    fn restart_vm(&mut self, vm: usize, h: usize) {
        if !self.accepts_roles(h) {
            self.cluster.roles[vm].state = RoleState::Failed;
            let name = self.scenario.spec.hosts[h].name.clone();
            self.vm_event(vm, format!("role Failed: {name} cannot host it now"));
            return;
        }
        self.vms[vm].host = h;
        self.cluster.roles[vm].unmonitored = false;
        self.cluster.roles[vm].state = RoleState::Pending;
        self.cluster.roles[vm].moving = true;
        self.outage_starts(vm);
        let name = self.scenario.spec.hosts[h].name.clone();
        self.set_vm_state_logged(vm, VmState::Starting, format!("Starting on {name}"));
        let at = self.now + self.scenario.spec.cluster.vm_start_time;
        self.vm_timer(vm, at, VmTimer::Started);
    }

    /// Retries roles that could not be placed (after capacity comes back).
    pub(super) fn retry_failed_roles(&mut self) {
        let failed: Vec<usize> = (0..self.vms.len())
            .filter(|&v| self.cluster.roles[v].state == RoleState::Failed)
            .collect();
        if failed.is_empty() {
            return;
        }
        let mut used = self.memory_used();
        for v in failed {
            if let Some(to) = self.place(v, usize::MAX, &used) {
                let mem = self.scenario.spec.vms[v].memory.0;
                used[to] = used[to].saturating_add(mem);
                self.restart_vm(v, to);
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Storage

    pub(super) fn refresh_storage_of_node(&mut self, h: usize) {
        let vms: Vec<usize> = (0..self.vms.len())
            .filter(|&v| self.vms[v].host == h)
            .collect();
        for v in vms {
            self.refresh_storage(v);
        }
    }

    pub(super) fn refresh_all_storage(&mut self) {
        for v in 0..self.vms.len() {
            self.refresh_storage(v);
        }
    }

    /// Storage resiliency: a VM whose disks fail goes Running-Critical, then Paused-Critical; it
    /// resumes when the storage returns.
    fn refresh_storage(&mut self, vm: usize) {
        let ok = self.storage_ok(vm);
        match (self.vms[vm].state, ok) {
            (VmState::Running, false) => {
                self.set_vm_state(vm, VmState::RunningCritical);
                let at = self.now + self.scenario.spec.cluster.critical_pause_after;
                self.vm_timer(vm, at, VmTimer::PauseCritical);
            }
            (VmState::RunningCritical | VmState::PausedCritical, true) => {
                self.cluster.roles[vm].generation += 1;
                self.set_vm_state(vm, VmState::Running);
            }
            _ => {}
        }
    }

    // ---------------------------------------------------------------------------------------
    // Drain, pause, stop

    /// Moves every VM off `h`: live migration for High and Medium, quick migration for Low
    /// (unless set otherwise), highest priority first.
    pub(super) fn drain(&mut self, h: usize) {
        self.cluster.members[h].drain = DrainStatus::InProgress;
        self.node_event(h, "drain in progress", None);
        let spec = &self.scenario.spec;
        let mut vms: Vec<usize> = (0..self.vms.len())
            .filter(|&v| {
                self.vms[v].host == h
                    && self.vms[v].state != VmState::Off
                    && !self.cluster.roles[v].moving
                    && !self.lm.vm_busy[v]
            })
            .collect();
        vms.sort_by_key(|&v| (std::cmp::Reverse(spec.vms[v].priority), v));
        let mut failed = None;
        let mut used = self.memory_used();
        for v in vms {
            let Some(to) = self.place(v, h, &used) else {
                failed = Some("no node that accepts roles has room for every VM".to_string());
                continue;
            };
            let mem = self.scenario.spec.vms[v].memory.0;
            used[to] = used[to].saturating_add(mem);
            let quick = self.scenario.spec.vms[v].priority <= Priority::Low
                && self.scenario.spec.cluster.drain_low_priority == DrainMove::QuickMigration;
            if quick || self.vms[v].state != VmState::Running {
                self.quick_migrate(v, to);
            } else if let Err(e) = self.request_migration(v, to) {
                failed = Some(e.to_string());
            }
        }
        if let Some(why) = failed {
            self.drain_failed(h, &why);
        }
        self.check_drains();
    }

    /// A drain could not move every role (`DrainStatus` Failed, `DrainFailed` in the status):
    /// the roles stay on the paused node and the drain is retried `drain_retries` times after
    /// `drain_retry_delay`. A quarantined node's drain that runs out of retries falls back to
    /// quick migration (facts doc §5, assumption), so no VM is left there with nothing pending.
    pub(super) fn drain_failed(&mut self, h: usize, why: &str) {
        if self.cluster.members[h].drain == DrainStatus::Failed {
            return; // one retry is already pending
        }
        self.cluster.members[h].drain = DrainStatus::Failed;
        let c = &self.scenario.spec.cluster;
        let (used, max, delay) = (
            self.cluster.members[h].drain_retries_used,
            c.drain_retries,
            c.drain_retry_delay,
        );
        if used < max {
            let detail = format!(
                "drain failed: {why}; retry {} of {max} in {delay}",
                used + 1
            );
            self.node_event(h, &detail, None);
            self.node_timer(h, self.now + delay, NodeTimer::DrainRetry);
            return;
        }
        if self.cluster.members[h].quarantined.is_some() {
            let detail = format!(
                "drain failed after {max} retries: {why}; quarantined, so its VMs are quick-migrated"
            );
            self.node_event(h, &detail, None);
            self.quick_drain(h);
        } else {
            let detail = format!(
                "drain failed after {max} retries: {why}; the roles stay on the paused node"
            );
            self.node_event(h, &detail, None);
            if self.cluster.members[h].stopping {
                self.cluster.members[h].stopping = false;
                self.node_event(
                    h,
                    "Stop-ClusterNode did not complete: the drain failed",
                    None,
                );
            }
        }
    }

    /// A drain retry timer fired: drain again if the node is still paused or quarantined.
    fn retry_drain(&mut self, h: usize) {
        let m = &self.cluster.members[h];
        if m.drain != DrainStatus::Failed || !(m.paused || m.quarantined.is_some()) {
            return;
        }
        self.cluster.members[h].drain_retries_used += 1;
        self.drain(h);
    }

    /// Moves every VM still on `h` by quick migration, where a node has room.
    fn quick_drain(&mut self, h: usize) {
        let vms: Vec<usize> = (0..self.vms.len())
            .filter(|&v| {
                self.vms[v].host == h
                    && self.vms[v].state != VmState::Off
                    && !self.cluster.roles[v].moving
                    && !self.lm.vm_busy[v]
            })
            .collect();
        let mut used = self.memory_used();
        for v in vms {
            match self.place(v, h, &used) {
                Some(to) => {
                    let mem = self.scenario.spec.vms[v].memory.0;
                    used[to] = used[to].saturating_add(mem);
                    self.quick_migrate(v, to);
                }
                None => {
                    self.vm_event(v, "stays on its quarantined node: no node has room".into());
                }
            }
        }
    }

    fn quick_migrate(&mut self, vm: usize, to: usize) {
        let c = &self.scenario.spec.cluster;
        let mem = self.scenario.spec.vms[vm].memory.as_f64();
        let secs = 2.0 * mem / c.quick_migration_rate.0;
        self.cluster.roles[vm].moving = true;
        self.cluster.roles[vm].state = RoleState::Pending;
        self.cluster.roles[vm].generation += 1;
        self.outage_starts(vm);
        self.set_vm_state(vm, VmState::Saved);
        let name = self.scenario.spec.hosts[to].name.clone();
        self.vm_event(vm, format!("quick migration to {name}: saved, {secs:.1} s"));
        let at = self.now + SimDuration::from_secs_f64(secs);
        self.vm_timer(vm, at, VmTimer::QuickDone(to));
    }

    /// Marks drains complete when their node has no VMs left, and finishes clean stops.
    pub(super) fn check_drains(&mut self) {
        for h in 0..self.nodes.len() {
            if self.cluster.members[h].drain != DrainStatus::InProgress
                && !self.cluster.members[h].stopping
            {
                continue;
            }
            let busy = (0..self.vms.len()).any(|v| {
                self.vms[v].host == h
                    && (self.vms[v].state != VmState::Off || self.cluster.roles[v].moving)
            }) || self
                .lm
                .holding
                .iter()
                .any(|&id| self.migrations[id].from == h);
            if busy {
                continue;
            }
            if self.cluster.members[h].drain == DrainStatus::InProgress {
                self.cluster.members[h].drain = DrainStatus::Completed;
                self.node_event(h, "drain completed", None);
            }
            if self.cluster.members[h].stopping {
                self.cluster.members[h].stopping = false;
                self.cluster.members[h].paused = false;
                self.cluster.members[h].member = false;
                self.cluster.members[h].generation += 1;
                self.nodes[h].service = ServiceState::Stopped;
                self.nodes[h].state = NodeState::Down;
                self.node_event(h, "Down (cluster service stopped cleanly)", None);
                // Graceful: with dynamic quorum the node's vote moves to the others first.
                if self.scenario.spec.cluster.dynamic_quorum {
                    self.reweigh();
                } else {
                    self.check_quorum(None);
                }
            }
        }
    }

    /// `Stop-ClusterNode`: refused if quorum would be lost; drains, then stops the service.
    pub(super) fn stop_node_cleanly(&mut self, h: usize) -> Result<(), super::CommandError> {
        if let Some(why) = self.stop_would_lose_quorum(h) {
            return Err(super::CommandError::Refused(why));
        }
        if !self.cluster.members[h].member {
            self.nodes[h].service = ServiceState::Stopped;
            return Ok(());
        }
        self.cluster.members[h].stopping = true;
        self.cluster.members[h].paused = true;
        self.cluster.members[h].drain_retries_used = 0;
        self.nodes[h].state = NodeState::Paused;
        self.drain(h);
        Ok(())
    }

    pub(super) fn pause_node(&mut self, h: usize) -> Result<(), super::CommandError> {
        if !self.cluster.members[h].member {
            return Err(super::CommandError::Refused(format!(
                "{} is not Up",
                self.scenario.spec.hosts[h].name
            )));
        }
        self.cluster.members[h].paused = true;
        self.cluster.members[h].drain_retries_used = 0;
        self.nodes[h].state = NodeState::Paused;
        self.node_event(h, "Paused", None);
        self.drain(h);
        Ok(())
    }

    pub(super) fn resume_node(&mut self, h: usize) -> Result<(), super::CommandError> {
        if !self.cluster.members[h].paused {
            return Err(super::CommandError::Refused(format!(
                "{} is not paused",
                self.scenario.spec.hosts[h].name
            )));
        }
        self.cluster.members[h].paused = false;
        self.cluster.members[h].drain = DrainStatus::NotInitiated;
        if self.cluster.members[h].member {
            self.nodes[h].state = NodeState::Up;
            self.node_event(h, "Up", None);
        }
        self.retry_failed_roles();
        Ok(())
    }

    pub(super) fn clear_quarantine(&mut self, h: usize) -> Result<(), super::CommandError> {
        if self.cluster.members[h].quarantined.is_none() {
            return Err(super::CommandError::Refused(format!(
                "{} is not quarantined",
                self.scenario.spec.hosts[h].name
            )));
        }
        self.leave_quarantine(h, "Start-ClusterNode -ClearQuarantine");
        Ok(())
    }
}

/// Most nodes that may be quarantined at once: the share of the node count, at least one.
pub fn quarantine_cap(cap: QuarantineCap, nodes: usize) -> usize {
    let share = match cap {
        QuarantineCap::Pct20 => 0.20,
        QuarantineCap::Pct25 => 0.25,
    };
    ((nodes as f64 * share).floor() as usize).max(1)
}

/// A VM role's resiliency period: its own (0 is read as "use the cluster default", like −1, the
/// facts doc's default for `group_period_zero_means`), or the cluster's.
fn vm_period(own: ResiliencyPeriod, cluster: SimDuration) -> SimDuration {
    match own {
        ResiliencyPeriod::Own(p) if !p.is_zero() => p,
        _ => cluster,
    }
}
