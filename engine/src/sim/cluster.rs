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

use super::{EventKind, NodeState, Pending, ServiceState, Simulation, VmState};
use crate::kernel::EventClass;
use crate::scenario::{
    DrainMove, InitialVmState, Priority, QuarantineCap, QuarantineDuration, ResiliencyLevel,
    ResiliencyPeriod, StorageKind, parse_config_version,
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
}

/// Per-VM cluster state.
#[derive(Clone, Debug)]
pub(super) struct Role {
    pub state: RoleState,
    pub unmonitored: bool,
    pub generation: u64,
    pub outage_since: Option<SimTime>,
    pub outage: SimDuration,
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
            moving: false,
        }
    }
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
        let m = &self.members[h];
        self.nodes[h].state == NodeState::Up
            && m.member
            && !m.paused
            && m.quarantined.is_none()
            && !self.cluster_down
    }

    fn votes(&self) -> (usize, usize) {
        let witness =
            usize::from(self.scenario.spec.cluster.witness != crate::scenario::Witness::None);
        let members = self.members.iter().filter(|m| m.member).count();
        (members + witness, self.nodes.len() + witness)
    }

    /// Memory in use or reserved on each host: VMs that are not Off, plus incoming migrations.
    fn memory_used(&self) -> Vec<u64> {
        let spec = &self.scenario.spec;
        let mut used = vec![0u64; self.nodes.len()];
        for (i, v) in self.vms.iter().enumerate() {
            if v.state != VmState::Off || self.roles[i].moving {
                used[v.host] = used[v.host].saturating_add(spec.vms[i].memory.0);
            }
        }
        for &id in &self.book.holding {
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
        let m = &self.members[h];
        spec.storage[si].kind != StorageKind::Csv
            || m.member
            || (n.powered
                && n.service == ServiceState::Running
                && (n.state == NodeState::Joining || m.quarantined.is_some()))
    }

    // ---------------------------------------------------------------------------------------
    // Timers

    fn node_timer(&mut self, h: usize, at: SimTime, what: NodeTimer) {
        let generation = self.members[h].generation;
        self.queue.schedule(
            at,
            EventClass::Model,
            Pending::Node {
                node: h,
                generation,
                what,
            },
        );
    }

    fn vm_timer(&mut self, vm: usize, at: SimTime, what: VmTimer) {
        let generation = self.roles[vm].generation;
        self.queue.schedule(
            at,
            EventClass::Model,
            Pending::Vm {
                vm,
                generation,
                what,
            },
        );
    }

    fn node_event(&mut self, h: usize, detail: &str, id: Option<u32>) {
        let name = self.scenario.spec.hosts[h].name.clone();
        self.push_event(EventKind::NodeState, name, detail.to_string(), id);
    }

    fn vm_event(&mut self, vm: usize, detail: String) {
        let name = self.scenario.spec.vms[vm].name.clone();
        self.push_event(EventKind::VmState, name, detail, None);
    }

    fn set_vm_state(&mut self, vm: usize, state: VmState) {
        if self.vms[vm].state != state {
            self.vms[vm].state = state;
            self.note_vm_state(vm);
            let detail = format!("{state:?}");
            self.vm_event(vm, detail);
        }
    }

    fn outage_starts(&mut self, vm: usize) {
        if self.roles[vm].outage_since.is_none() {
            self.roles[vm].outage_since = Some(self.now);
        }
    }

    fn outage_ends(&mut self, vm: usize) {
        if let Some(t) = self.roles[vm].outage_since.take() {
            let d = self.now.since(t);
            self.roles[vm].outage =
                SimDuration::from_micros(self.roles[vm].outage.as_micros() + d.as_micros());
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
        let phase = self.members[h].heartbeat_phase.as_micros() % d;
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
        let m = &self.members[h];
        if self.cluster_down {
            self.try_regroup();
        } else if !flows && m.member && !m.lost_pending {
            self.members[h].lost_pending = true;
            let at = self.detection_time(h);
            self.node_timer(h, at, NodeTimer::Lost);
        } else if flows && m.lost_pending {
            // Back before enough heartbeats were missed: nothing happened.
            self.members[h].lost_pending = false;
            self.members[h].generation += 1;
        } else if flows && !m.member && self.nodes[h].state != NodeState::Joining {
            self.rejoin(h);
        }
        self.refresh_storage_of_node(h);
    }

    /// Node timers.
    pub(super) fn node_timer_fired(&mut self, h: usize, generation: u64, what: NodeTimer) {
        if self.members[h].generation != generation {
            return;
        }
        match what {
            NodeTimer::Lost => self.membership_lost(h),
            NodeTimer::PeriodExpired => {
                if self.members[h].isolated {
                    self.members[h].isolated = false;
                    self.node_event(h, "Down (resiliency period expired)", None);
                    self.fail_over_node(h);
                }
            }
            NodeTimer::Joined => {
                if !self.heartbeats_flow(h) {
                    return;
                }
                let m = &mut self.members[h];
                m.member = true;
                m.isolated = false;
                self.nodes[h].state = if self.members[h].paused {
                    NodeState::Paused
                } else {
                    NodeState::Up
                };
                let st = format!("{:?}", self.nodes[h].state);
                self.node_event(h, &st, None);
                // Its VMs are monitored again; storage comes back; VMs that were off restart.
                let vms: Vec<usize> = (0..self.vms.len())
                    .filter(|&v| self.vms[v].host == h)
                    .collect();
                for v in vms {
                    if self.roles[v].unmonitored {
                        self.roles[v].unmonitored = false;
                        self.vm_event(v, "monitored again (Online)".into());
                    }
                    if self.vms[v].state == VmState::Off
                        && !self.roles[v].moving
                        && matches!(self.roles[v].state, RoleState::Online | RoleState::Pending)
                    {
                        self.restart_vm(v, h);
                    }
                }
                self.refresh_storage_of_node(h);
                self.retry_failed_roles();
            }
            NodeTimer::QuarantineOver => {
                if self.members[h].quarantined.is_some() {
                    self.leave_quarantine(h, "quarantine period over");
                }
            }
        }
    }

    /// A node that was powered off and on before the others noticed: booting took longer than
    /// the heartbeat threshold, so it left membership all the same.
    pub(super) fn power_cycled(&mut self, h: usize) {
        self.members[h].generation += 1;
        self.membership_lost(h);
    }

    fn membership_lost(&mut self, h: usize) {
        let now = self.now;
        let c = self.scenario.spec.cluster.clone();
        let m = &mut self.members[h];
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
        let service_alive = self.nodes[h].powered && self.nodes[h].service == ServiceState::Running;
        let qualifies = match c.resiliency_level {
            ResiliencyLevel::AlwaysIsolate => true,
            // Assumption (docs/cluster-model.md): only a node whose cluster service still runs.
            ResiliencyLevel::IsolateOnSpecialHeartbeat => service_alive,
        };
        if c.resiliency_default_period.is_zero() || !qualifies {
            self.node_event(h, "Down", None);
            self.fail_over_node(h);
        } else {
            self.members[h].isolated = true;
            self.node_event(h, "Isolated", None);
            let min_version =
                parse_config_version(&c.isolation_min_config_version).unwrap_or((0, 0));
            let vms: Vec<usize> = (0..self.vms.len())
                .filter(|&v| self.vms[v].host == h)
                .collect();
            for v in vms {
                let spec_v = self.scenario.spec.vms[v].clone();
                let version = parse_config_version(&spec_v.config_version).unwrap_or((0, 0));
                if version < min_version {
                    // Below the required version: no isolation handling, it fails over.
                    self.fail_over_vm(v, h);
                    continue;
                }
                if self.roles[v].state == RoleState::Online || self.vms[v].state != VmState::Off {
                    self.roles[v].unmonitored = true;
                    self.vm_event(v, "Unmonitored".into());
                }
                let period = match spec_v.resiliency_period {
                    ResiliencyPeriod::Own(p) => p,
                    ResiliencyPeriod::ClusterDefault => c.resiliency_default_period,
                };
                if period < c.resiliency_default_period {
                    self.vm_timer(v, now + period, VmTimer::RolePeriodExpired);
                }
            }
            self.node_timer(
                h,
                now + c.resiliency_default_period,
                NodeTimer::PeriodExpired,
            );
        }
        self.refresh_storage_of_node(h);
        self.check_quorum();
    }

    /// A node whose heartbeats flow again comes back: quarantined if it failed too often.
    fn rejoin(&mut self, h: usize) {
        let now = self.now;
        let c = self.scenario.spec.cluster.clone();
        if self.members[h].quarantined.is_some() {
            return; // not allowed to join until the quarantine ends
        }
        self.members[h].failures.retain(|&t| now.since(t) < HOUR);
        let failures = self.members[h].failures.len() as u32;
        let quarantined_now = self
            .members
            .iter()
            .filter(|m| m.quarantined.is_some())
            .count();
        let cap = quarantine_cap(c.quarantine_cap, self.nodes.len());
        if failures >= c.quarantine_threshold && !self.members[h].failures.is_empty() {
            if quarantined_now < cap {
                self.quarantine(h, failures);
                return;
            }
            let detail = format!(
                "{failures} failures in the last hour, but {quarantined_now} of at most {cap} nodes already quarantined: not quarantined"
            );
            self.node_event(h, &detail, None);
        }
        self.members[h].generation += 1;
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
        let m = &mut self.members[h];
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
        // Its VMs are drained off to other nodes (the node itself is up).
        self.refresh_storage_of_node(h);
        self.drain(h);
    }

    pub(super) fn leave_quarantine(&mut self, h: usize, why: &str) {
        self.members[h].quarantined = None;
        self.members[h].failures.clear();
        self.members[h].drain = DrainStatus::NotInitiated;
        self.members[h].generation += 1;
        self.node_event(h, &format!("quarantine lifted: {why}"), None);
        if self.heartbeats_flow(h) && !self.cluster_down {
            self.rejoin(h);
        }
    }

    /// VM timers.
    pub(super) fn vm_timer_fired(&mut self, vm: usize, generation: u64, what: VmTimer) {
        if self.roles[vm].generation != generation {
            return;
        }
        match what {
            VmTimer::PauseCritical => {
                if self.vms[vm].state == VmState::RunningCritical {
                    self.set_vm_state(vm, VmState::PausedCritical);
                }
            }
            VmTimer::Started => {
                self.roles[vm].moving = false;
                if self.vms[vm].state == VmState::Starting {
                    self.set_vm_state(vm, VmState::Running);
                    self.roles[vm].state = RoleState::Online;
                    self.outage_ends(vm);
                    self.refresh_storage(vm);
                }
            }
            VmTimer::RolePeriodExpired => {
                let h = self.vms[vm].host;
                if self.members[h].isolated {
                    self.fail_over_vm(vm, h);
                }
            }
            VmTimer::QuickDone(to) => {
                self.roles[vm].moving = false;
                self.roles[vm].unmonitored = false;
                self.vms[vm].host = to;
                self.set_vm_state(vm, VmState::Running);
                self.roles[vm].state = RoleState::Online;
                self.outage_ends(vm);
                let to_name = self.scenario.spec.hosts[to].name.clone();
                self.vm_event(vm, format!("quick migration to {to_name} done"));
                self.refresh_storage(vm);
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
        if self.vms[vm].host != from || self.roles[vm].state == RoleState::Offline {
            return;
        }
        self.roles[vm].generation += 1;
        self.roles[vm].unmonitored = false;
        if self.vms[vm].state != VmState::Off {
            self.outage_starts(vm);
            self.set_vm_state(vm, VmState::Off);
        } else {
            self.outage_starts(vm);
        }
        if self.scenario.spec.vms[vm].priority == Priority::NoAutoStart {
            self.roles[vm].state = RoleState::Offline;
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
                self.roles[vm].state = RoleState::Failed;
                self.vm_event(vm, "role Failed: no node can take it".into());
            }
        }
    }

    fn restart_vm(&mut self, vm: usize, h: usize) {
        self.vms[vm].host = h;
        self.roles[vm].unmonitored = false;
        self.roles[vm].state = RoleState::Pending;
        self.roles[vm].moving = true;
        self.outage_starts(vm);
        self.set_vm_state(vm, VmState::Starting);
        let at = self.now + self.scenario.spec.cluster.vm_start_time;
        self.vm_timer(vm, at, VmTimer::Started);
    }

    /// Retries roles that could not be placed (after capacity comes back).
    pub(super) fn retry_failed_roles(&mut self) {
        let failed: Vec<usize> = (0..self.vms.len())
            .filter(|&v| self.roles[v].state == RoleState::Failed)
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
                self.roles[vm].generation += 1;
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
        self.members[h].drain = DrainStatus::InProgress;
        self.node_event(h, "drain in progress", None);
        let spec = &self.scenario.spec;
        let mut vms: Vec<usize> = (0..self.vms.len())
            .filter(|&v| {
                self.vms[v].host == h && self.vms[v].state != VmState::Off && !self.roles[v].moving
            })
            .collect();
        vms.sort_by_key(|&v| (std::cmp::Reverse(spec.vms[v].priority), v));
        let mut failed = false;
        let mut used = self.memory_used();
        for v in vms {
            let Some(to) = self.place(v, h, &used) else {
                failed = true;
                continue;
            };
            let mem = self.scenario.spec.vms[v].memory.0;
            used[to] = used[to].saturating_add(mem);
            let quick = self.scenario.spec.vms[v].priority <= Priority::Low
                && self.scenario.spec.cluster.drain_low_priority == DrainMove::QuickMigration;
            if quick || self.vms[v].state != VmState::Running {
                self.quick_migrate(v, to);
            } else if self.request_migration(v, to).is_err() {
                failed = true;
            }
        }
        if failed {
            self.members[h].drain = DrainStatus::Failed;
            self.node_event(h, "drain failed: some roles could not be moved", None);
        }
        self.check_drains();
    }

    fn quick_migrate(&mut self, vm: usize, to: usize) {
        let c = &self.scenario.spec.cluster;
        let mem = self.scenario.spec.vms[vm].memory.as_f64();
        let secs = 2.0 * mem / c.quick_migration_rate.0;
        self.roles[vm].moving = true;
        self.roles[vm].state = RoleState::Pending;
        self.roles[vm].generation += 1;
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
            if self.members[h].drain != DrainStatus::InProgress && !self.members[h].stopping {
                continue;
            }
            let busy = (0..self.vms.len()).any(|v| {
                self.vms[v].host == h && (self.vms[v].state != VmState::Off || self.roles[v].moving)
            }) || self
                .book
                .holding
                .iter()
                .any(|&id| self.migrations[id].from == h);
            if busy {
                continue;
            }
            if self.members[h].drain == DrainStatus::InProgress {
                self.members[h].drain = DrainStatus::Completed;
                self.node_event(h, "drain completed", None);
            }
            if self.members[h].stopping {
                self.members[h].stopping = false;
                self.members[h].paused = false;
                self.members[h].member = false;
                self.members[h].generation += 1;
                self.nodes[h].service = ServiceState::Stopped;
                self.nodes[h].state = NodeState::Down;
                self.node_event(h, "Down (cluster service stopped cleanly)", None);
                self.check_quorum();
            }
        }
    }

    /// `Stop-ClusterNode`: refused if quorum would be lost; drains, then stops the service.
    pub(super) fn stop_node_cleanly(&mut self, h: usize) -> Result<(), super::CommandError> {
        let (votes, total) = self.votes();
        let after = votes - usize::from(self.members[h].member);
        if self.members[h].member && after * 2 <= total {
            return Err(super::CommandError::Refused(format!(
                "stopping {} would lose quorum ({after} of {total} votes left)",
                self.scenario.spec.hosts[h].name
            )));
        }
        if !self.members[h].member {
            self.nodes[h].service = ServiceState::Stopped;
            return Ok(());
        }
        self.members[h].stopping = true;
        self.members[h].paused = true;
        self.nodes[h].state = NodeState::Paused;
        self.drain(h);
        Ok(())
    }

    pub(super) fn pause_node(&mut self, h: usize) -> Result<(), super::CommandError> {
        if !self.members[h].member {
            return Err(super::CommandError::Refused(format!(
                "{} is not Up",
                self.scenario.spec.hosts[h].name
            )));
        }
        self.members[h].paused = true;
        self.nodes[h].state = NodeState::Paused;
        self.node_event(h, "Paused", None);
        self.drain(h);
        Ok(())
    }

    pub(super) fn resume_node(&mut self, h: usize) -> Result<(), super::CommandError> {
        if !self.members[h].paused {
            return Err(super::CommandError::Refused(format!(
                "{} is not paused",
                self.scenario.spec.hosts[h].name
            )));
        }
        self.members[h].paused = false;
        self.members[h].drain = DrainStatus::NotInitiated;
        if self.members[h].member {
            self.nodes[h].state = NodeState::Up;
            self.node_event(h, "Up", None);
        }
        self.retry_failed_roles();
        Ok(())
    }

    pub(super) fn clear_quarantine(&mut self, h: usize) -> Result<(), super::CommandError> {
        if self.members[h].quarantined.is_none() {
            return Err(super::CommandError::Refused(format!(
                "{} is not quarantined",
                self.scenario.spec.hosts[h].name
            )));
        }
        self.leave_quarantine(h, "Start-ClusterNode -ClearQuarantine");
        Ok(())
    }

    // ---------------------------------------------------------------------------------------
    // Quorum

    pub(super) fn check_quorum(&mut self) {
        if self.cluster_down {
            return;
        }
        let (votes, total) = self.votes();
        if votes * 2 > total {
            return;
        }
        self.cluster_down = true;
        let cluster = self.scenario.spec.cluster.name.clone();
        self.push_event(
            EventKind::NodeState,
            cluster,
            format!("cluster lost quorum ({votes} of {total} votes): the cluster service stops on every node"),
            Some(1177),
        );
        for h in 0..self.nodes.len() {
            let m = &mut self.members[h];
            m.member = false;
            m.isolated = false;
            m.lost_pending = false;
            m.generation += 1;
            if self.nodes[h].state != NodeState::Down {
                self.nodes[h].state = NodeState::Down;
                self.node_event(h, "Down (no quorum)", None);
            }
        }
        for v in 0..self.vms.len() {
            self.roles[v].generation += 1;
            self.roles[v].unmonitored = false;
            self.roles[v].moving = false;
            if self.vms[v].state != VmState::Off {
                self.outage_starts(v);
                self.set_vm_state(v, VmState::Off);
            }
            if self.roles[v].state != RoleState::Offline
                || self.scenario.spec.vms[v].state == InitialVmState::Running
            {
                self.roles[v].state = RoleState::Pending;
            }
        }
        let ids: Vec<usize> = self
            .book
            .holding
            .iter()
            .chain(self.book.queued.iter())
            .copied()
            .collect();
        for id in ids {
            self.fail(id, "the cluster lost quorum".into());
        }
    }

    /// After quorum loss: the cluster forms again once enough nodes are reachable.
    pub(super) fn try_regroup(&mut self) {
        let witness =
            usize::from(self.scenario.spec.cluster.witness != crate::scenario::Witness::None);
        let ready: Vec<usize> = (0..self.nodes.len())
            .filter(|&h| self.heartbeats_flow(h) && self.members[h].quarantined.is_none())
            .collect();
        let total = self.nodes.len() + witness;
        if (ready.len() + witness) * 2 <= total {
            return;
        }
        self.cluster_down = false;
        let cluster = self.scenario.spec.cluster.name.clone();
        self.push_event(
            EventKind::NodeState,
            cluster,
            "cluster formed again with quorum".into(),
            None,
        );
        let join = self.scenario.spec.cluster.join_time;
        for h in ready {
            self.members[h].generation += 1;
            self.nodes[h].state = NodeState::Joining;
            self.node_event(h, "Joining", None);
            self.node_timer(h, self.now + join, NodeTimer::Joined);
        }
        // Roles come back once nodes are Up: mark them Failed so they are placed then.
        for v in 0..self.vms.len() {
            if self.roles[v].state == RoleState::Pending && self.vms[v].state == VmState::Off {
                self.roles[v].state = RoleState::Failed;
            }
        }
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
