//! The failover-cluster engine: heartbeats and membership, VM Compute Resiliency (Isolated,
//! Unmonitored, Running-Critical / Paused-Critical, resiliency periods), quarantine, failover,
//! drains, clean stops and quorum. Behaviour and every assumption: docs/cluster-model.md.
//!
//! The model owns [`ClusterState`]; its handlers (methods on it, run through a
//! `ClusterHandler`) change the shared [`World`] and that state, read the migration model's
//! state, and return [`Effects`]: log entries, timers, and work asked of the migration model (a
//! drain's live migrations, failing every migration when quorum is lost).
//!
//! Invariants:
//! - a node is in active membership only while its heartbeats flow and it has joined;
//! - no more nodes are quarantined at once than the cap (20 % or 25 % of nodes, at least one);
//! - every VM has exactly one owner node at every instant; failover moves the owner and restarts
//!   the VM, after the old instance is stopped;
//! - the cluster log is in time order (events are appended as time advances).

use super::effects::{ClusterWork, DrainRest, Effect, Effects};
use super::migration::MigrationState;
use super::world::World;
use super::{EventKind, NodeState, Scheduled, ServiceState, VmState};
use crate::rng::SimRng;
use crate::scenario::{
    DrainMove, InitialVmState, Priority, QuarantineDuration, ResiliencyLevel, ResiliencyPeriod,
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

/// The failover-cluster model's own state, beside the shared [`World`] of nodes, VMs and
/// storage.
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
    pub quorum_rng: SimRng,
}

const HOUR: SimDuration = SimDuration::from_secs(3600);

impl ClusterState {
    /// The cluster as it starts: every node a member, heartbeat phases and the quorum RNG drawn
    /// from `seed`, each VM's role Online if the VM runs.
    pub fn new(spec: &crate::scenario::ScenarioSpec, seed: u64) -> ClusterState {
        let mut hb = SimRng::fork(seed, "heartbeat-phase");
        let delay = spec.cluster.same_subnet_delay.as_micros().max(1);
        let members = spec
            .hosts
            .iter()
            .map(|_| Membership {
                member: true,
                isolated: false,
                quarantined: None,
                paused: false,
                drain: DrainStatus::NotInitiated,
                stopping: false,
                failures: Vec::new(),
                lost_pending: false,
                generation: 0,
                heartbeat_phase: SimDuration::from_micros(hb.below(delay)),
                vote: true,
                drain_retries_used: 0,
            })
            .collect();
        let roles = spec
            .vms
            .iter()
            .map(|v| Role::new(v.state == InitialVmState::Running))
            .collect();
        ClusterState {
            members,
            roles,
            down: false,
            witness_vote: false,
            zeroed: None,
            quorum_rng: SimRng::fork(seed, "quorum"),
        }
    }
}

/// One call into the cluster model: its state, the world, what the migration model shows (read
/// only), and the effects so far.
pub(super) struct ClusterHandler<'a> {
    pub(super) c: &'a mut ClusterState,
    pub(super) w: &'a mut World,
    pub(super) lm: &'a MigrationState,
    pub(super) fx: Effects,
}

impl ClusterState {
    /// Runs `f` on a handler for this state and returns the effects it wants applied.
    fn handle<R>(
        &mut self,
        w: &mut World,
        lm: &MigrationState,
        f: impl FnOnce(&mut ClusterHandler<'_>) -> R,
    ) -> (R, Effects) {
        let mut h = ClusterHandler {
            fx: Effects::new(w.now),
            c: self,
            w,
            lm,
        };
        let r = f(&mut h);
        (r, h.fx)
    }

    /// Whether new roles may be placed on a node.
    pub fn accepts_roles(&self, w: &World, h: usize) -> bool {
        let m = &self.members[h];
        // A node that is off or unreachable but not yet noticed refuses the start attempt.
        w.nodes[h].state == NodeState::Up
            && w.heartbeats_flow(h)
            && m.member
            && !m.paused
            && m.quarantined.is_none()
            && !self.down
    }

    /// Work asked of the cluster model (by the migration model, or the rest of its own work).
    pub fn work(&mut self, w: &mut World, lm: &MigrationState, work: ClusterWork) -> Effects {
        self.handle(w, lm, |x| match work {
            ClusterWork::CheckDrains => x.check_drains_from(0),
            ClusterWork::CheckDrainsFrom(h) => x.check_drains_from(h),
            ClusterWork::LiveMigrationFailed { vm, from, why } => {
                if x.c.members[from].drain == DrainStatus::InProgress && x.w.vms[vm].host == from {
                    x.drain_failed(from, &why);
                }
            }
            ClusterWork::MigratedIn(vm) => {
                x.c.roles[vm].unmonitored = false;
                x.c.roles[vm].state = RoleState::Online;
            }
            ClusterWork::RefreshStorageOfNode(h) => x.refresh_storage_of_node(h),
            ClusterWork::QuorumLost { nodes, resilient } => x.quorum_lost_rest(nodes, resilient),
            ClusterWork::Drain(rest) => x.drain_rest(rest),
        })
        .1
    }

    /// Re-evaluates a node after one of its components changed.
    pub fn node_changed(&mut self, w: &mut World, lm: &MigrationState, h: usize) -> Effects {
        self.handle(w, lm, |x| x.node_changed(h)).1
    }

    /// A node timer fired.
    pub fn node_timer_fired(
        &mut self,
        w: &mut World,
        lm: &MigrationState,
        timer: (usize, u64, NodeTimer),
    ) -> Effects {
        let (h, generation, what) = timer;
        self.handle(w, lm, |x| x.node_timer_fired(h, generation, what))
            .1
    }

    /// A VM timer fired.
    pub fn vm_timer_fired(
        &mut self,
        w: &mut World,
        lm: &MigrationState,
        timer: (usize, u64, VmTimer),
    ) -> Effects {
        let (vm, generation, what) = timer;
        self.handle(w, lm, |x| x.vm_timer_fired(vm, generation, what))
            .1
    }

    /// A node that was powered off and on before the others noticed.
    pub fn power_cycled(&mut self, w: &mut World, lm: &MigrationState, h: usize) -> Effects {
        self.handle(w, lm, |x| x.power_cycled(h)).1
    }

    /// Host `h` lost power: its VMs' instances stop; roles that failed are placed again.
    pub fn host_lost_power(&mut self, w: &mut World, lm: &MigrationState, h: usize) -> Effects {
        self.handle(w, lm, |x| {
            for v in x.w.vms_on(h) {
                if x.w.vms[v].state != VmState::Off {
                    x.power_off_vm(v);
                }
            }
            x.retry_failed_roles();
        })
        .1
    }

    /// Storage changed somewhere: storage resiliency for every VM.
    pub fn storage_changed(&mut self, w: &mut World, lm: &MigrationState) -> Effects {
        self.handle(w, lm, |x| x.refresh_all_storage()).1
    }

    /// Dynamic quorum re-weighting (as the cluster starts).
    pub fn reweigh(&mut self, w: &mut World, lm: &MigrationState) -> Effects {
        self.handle(w, lm, |x| x.reweigh()).1
    }

    /// `Stop-ClusterNode`, `Suspend-ClusterNode`, `Resume-ClusterNode` and
    /// `Start-ClusterNode -ClearQuarantine`; refused ones change nothing.
    pub fn node_command(
        &mut self,
        w: &mut World,
        lm: &MigrationState,
        command: (NodeCommand, usize),
    ) -> Result<Effects, super::CommandError> {
        let (what, h) = command;
        let (r, fx) = self.handle(w, lm, |x| match what {
            NodeCommand::Stop => x.stop_node_cleanly(h),
            NodeCommand::Pause => x.pause_node(h),
            NodeCommand::Resume => x.resume_node(h),
            NodeCommand::ClearQuarantine => x.clear_quarantine(h),
        });
        r.map(|()| fx)
    }
}

/// The node commands the cluster model may refuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NodeCommand {
    Stop,
    Pause,
    Resume,
    ClearQuarantine,
}

impl ClusterHandler<'_> {
    // ---------------------------------------------------------------------------------------
    // Facts

    /// Whether new roles may be placed on a node.
    fn accepts_roles(&self, h: usize) -> bool {
        self.c.accepts_roles(self.w, h)
    }

    /// Memory in use or reserved on each host: VMs that are not Off, plus incoming migrations.
    fn memory_used(&self) -> Vec<u64> {
        let spec = &self.w.scenario.spec;
        let mut used = vec![0u64; self.w.nodes.len()];
        for (i, v) in self.w.vms.iter().enumerate() {
            if v.state != VmState::Off || self.c.roles[i].moving {
                used[v.host] = used[v.host].saturating_add(spec.vms[i].memory.0);
            }
        }
        for &id in &self.lm.holding {
            let m = &self.lm.migrations[id];
            used[m.to] = used[m.to].saturating_add(spec.vms[m.vm].memory.0);
        }
        used
    }

    /// The node with the most free memory that accepts roles and fits the VM.
    fn place(&self, vm: usize, exclude: usize, used: &[u64]) -> Option<usize> {
        let need = self.w.scenario.spec.vms[vm].memory.0;
        (0..self.w.nodes.len())
            .filter(|&h| h != exclude && self.accepts_roles(h))
            .filter(|&h| used[h].saturating_add(need) <= self.w.scenario.spec.hosts[h].memory.0)
            .max_by_key(|&h| {
                (
                    self.w.scenario.spec.hosts[h].memory.0 - used[h],
                    std::cmp::Reverse(h),
                )
            })
    }

    fn storage_ok(&self, vm: usize) -> bool {
        let spec = &self.w.scenario.spec;
        let h = self.w.vms[vm].host;
        let Some(si) = spec
            .storage
            .iter()
            .position(|s| s.name == spec.vms[vm].storage)
        else {
            return true;
        };
        if !self.w.storage_online[si] || self.w.nodes[h].storage_lost[si] {
            return false;
        }
        // CSV access goes through the cluster: an isolated node loses it; a joining or quarantined
        // node whose cluster service runs has it (assumption: the seed drains quarantined nodes
        // by live migration, which needs the VMs running).
        let n = &self.w.nodes[h];
        let m = &self.c.members[h];
        spec.storage[si].kind != StorageKind::Csv
            || m.member
            || (n.powered
                && n.service == ServiceState::Running
                && (n.state == NodeState::Joining || m.quarantined.is_some()))
    }

    // ---------------------------------------------------------------------------------------
    // Timers

    pub(super) fn node_timer(&mut self, h: usize, at: SimTime, what: NodeTimer) {
        let generation = self.c.members[h].generation;
        self.fx.timer(
            at,
            Scheduled::Node {
                node: h,
                generation,
                what,
            },
        );
    }

    fn vm_timer(&mut self, vm: usize, at: SimTime, what: VmTimer) {
        let generation = self.c.roles[vm].generation;
        self.fx.timer(
            at,
            Scheduled::Vm {
                vm,
                generation,
                what,
            },
        );
    }

    pub(super) fn node_event(&mut self, h: usize, detail: &str, id: Option<u32>) {
        let name = self.w.scenario.spec.hosts[h].name.clone();
        self.fx
            .log(EventKind::NodeState, name, detail.to_string(), id);
    }

    fn vm_event(&mut self, vm: usize, detail: String) {
        let name = self.w.scenario.spec.vms[vm].name.clone();
        self.fx.log(EventKind::VmState, name, detail, None);
    }

    pub(super) fn set_vm_state(&mut self, vm: usize, state: VmState) {
        let detail = format!("{state:?}");
        self.set_vm_state_logged(vm, state, detail);
    }

    /// Changes a VM's state with the log line `detail`, keeping frozen time (Running-Critical,
    /// Paused-Critical) and, when `count_frozen_as_outage`, the outage in step.
    fn set_vm_state_logged(&mut self, vm: usize, state: VmState, detail: String) {
        let old = self.w.vms[vm].state;
        if old == state {
            return;
        }
        let critical = |s: VmState| matches!(s, VmState::RunningCritical | VmState::PausedCritical);
        let count = self.w.scenario.spec.cluster.count_frozen_as_outage;
        if critical(state) && !critical(old) {
            self.c.roles[vm].frozen_since = Some(self.w.now);
            if count {
                self.outage_starts(vm);
            }
        } else if critical(old) && !critical(state) {
            if let Some(t) = self.c.roles[vm].frozen_since.take() {
                let d = self.w.now.since(t);
                self.c.roles[vm].frozen =
                    SimDuration::from_micros(self.c.roles[vm].frozen.as_micros() + d.as_micros());
            }
            if count && state == VmState::Running {
                self.outage_ends(vm);
            }
        }
        self.w.vms[vm].state = state;
        self.w.note_vm_state(vm);
        self.vm_event(vm, detail);
    }

    pub(super) fn outage_starts(&mut self, vm: usize) {
        if self.c.roles[vm].outage_since.is_none() {
            self.c.roles[vm].outage_since = Some(self.w.now);
        }
    }

    fn outage_ends(&mut self, vm: usize) {
        if let Some(t) = self.c.roles[vm].outage_since.take() {
            let d = self.w.now.since(t);
            self.c.roles[vm].outage =
                SimDuration::from_micros(self.c.roles[vm].outage.as_micros() + d.as_micros());
        }
    }

    /// When the others notice `h`'s heartbeats stopped now: the last heartbeat plus
    /// delay × threshold (same or cross subnet, whichever peer notices first).
    fn detection_time(&self, h: usize) -> SimTime {
        let c = &self.w.scenario.spec.cluster;
        let spec = &self.w.scenario.spec;
        let same =
            (0..self.w.nodes.len()).any(|o| o != h && spec.hosts[o].subnet == spec.hosts[h].subnet);
        let (delay, threshold) = if same || self.w.nodes.len() == 1 {
            (c.same_subnet_delay, c.same_subnet_threshold)
        } else {
            (c.cross_subnet_delay, c.cross_subnet_threshold)
        };
        let d = delay.as_micros().max(1);
        let phase = self.c.members[h].heartbeat_phase.as_micros() % d;
        let now = self.w.now.as_micros();
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
        let flows = self.w.heartbeats_flow(h);
        let m = &self.c.members[h];
        if self.c.down {
            self.try_regroup();
        } else if !flows && m.member && !m.lost_pending {
            self.c.members[h].lost_pending = true;
            let at = self.detection_time(h);
            self.node_timer(h, at, NodeTimer::Lost);
        } else if flows && m.lost_pending {
            // Back before enough heartbeats were missed: nothing happened.
            self.c.members[h].lost_pending = false;
            self.c.members[h].generation += 1;
        } else if flows && !m.member && self.w.nodes[h].state != NodeState::Joining {
            self.rejoin(h);
        }
        if self.fx.asks_work() {
            // A quarantine's drain asked for migrations: storage is refreshed after them.
            self.fx.cluster(ClusterWork::RefreshStorageOfNode(h));
        } else {
            self.refresh_storage_of_node(h);
        }
    }

    /// Node timers.
    pub(super) fn node_timer_fired(&mut self, h: usize, generation: u64, what: NodeTimer) {
        if self.c.members[h].generation != generation {
            return;
        }
        match what {
            NodeTimer::Lost => self.membership_lost(h),
            NodeTimer::PeriodExpired => {
                if self.c.members[h].isolated {
                    self.c.members[h].isolated = false;
                    self.node_event(h, "Down (resiliency period expired)", None);
                    self.fail_over_node(h);
                }
            }
            NodeTimer::Joined => {
                if !self.w.heartbeats_flow(h) {
                    return;
                }
                let m = &mut self.c.members[h];
                m.member = true;
                m.isolated = false;
                self.w.nodes[h].state = if self.c.members[h].paused {
                    NodeState::Paused
                } else {
                    NodeState::Up
                };
                let st = format!("{:?}", self.w.nodes[h].state);
                self.node_event(h, &st, None);
                self.reweigh();
                // Its VMs are monitored again; storage comes back; VMs that were off restart.
                let vms: Vec<usize> = (0..self.w.vms.len())
                    .filter(|&v| self.w.vms[v].host == h)
                    .collect();
                for v in vms {
                    if self.c.roles[v].unmonitored {
                        self.c.roles[v].unmonitored = false;
                        self.vm_event(v, "monitored again (Online)".into());
                    }
                    if self.w.vms[v].state == VmState::Off
                        && !self.c.roles[v].moving
                        && matches!(
                            self.c.roles[v].state,
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
                if self.c.members[h].quarantined.is_some() {
                    self.leave_quarantine(h, "quarantine period over");
                }
            }
            NodeTimer::DrainRetry => self.retry_drain(h),
        }
    }

    /// A node that was powered off and on before the others noticed: booting took longer than
    /// the heartbeat threshold, so it left membership all the same.
    pub(super) fn power_cycled(&mut self, h: usize) {
        self.c.members[h].generation += 1;
        self.membership_lost(h);
    }

    fn membership_lost(&mut self, h: usize) {
        let now = self.w.now;
        let m = &mut self.c.members[h];
        m.lost_pending = false;
        m.member = false;
        m.failures.push(now);
        m.failures.retain(|&t| now.since(t) < HOUR);
        m.generation += 1;
        self.w.nodes[h].state = NodeState::Down;
        let name = self.w.scenario.spec.hosts[h].name.clone();
        self.fx.log(
            EventKind::NodeState,
            name.clone(),
            format!("{name} removed from active failover cluster membership"),
            Some(1135),
        );
        if self.c.down || self.check_quorum(Some(h)) {
            self.isolate_or_fail_over(h);
        }
        if self.fx.asks_work() {
            // Quorum was lost and the migrations are failed first.
            self.fx.cluster(ClusterWork::RefreshStorageOfNode(h));
        } else {
            self.refresh_storage_of_node(h);
        }
    }

    /// A node out of membership: Isolated with its VMs (VM Compute Resiliency), or Down with
    /// its VMs failed over (resiliency off, functional level below 9, or a failure that does not
    /// qualify under `IsolateOnSpecialHeartbeat`).
    pub(super) fn isolate_or_fail_over(&mut self, h: usize) {
        let c = &self.w.scenario.spec.cluster;
        let service_alive =
            self.w.nodes[h].powered && self.w.nodes[h].service == ServiceState::Running;
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
        let now = self.w.now;
        let c = self.w.scenario.spec.cluster.clone();
        self.c.members[h].isolated = true;
        self.node_event(h, "Isolated", None);
        let min_version = parse_config_version(&c.isolation_min_config_version).unwrap_or((0, 0));
        let vms: Vec<usize> = (0..self.w.vms.len())
            .filter(|&v| self.w.vms[v].host == h)
            .collect();
        let mut periods = Vec::new();
        for v in vms {
            let spec_v = &self.w.scenario.spec.vms[v];
            let version = parse_config_version(&spec_v.config_version).unwrap_or((0, 0));
            if version < min_version {
                // Below the required version: no isolation handling, it fails over.
                self.fail_over_vm(v, h);
                continue;
            }
            let period = vm_period(spec_v.resiliency_period, c.resiliency_default_period);
            if self.c.roles[v].state == RoleState::Online || self.w.vms[v].state != VmState::Off {
                self.c.roles[v].unmonitored = true;
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
        let now = self.w.now;
        let c = self.w.scenario.spec.cluster.clone();
        if self.c.members[h].quarantined.is_some() {
            return; // not allowed to join until the quarantine ends
        }
        self.c.members[h].failures.retain(|&t| now.since(t) < HOUR);
        let failures = self.c.members[h].failures.len() as u32;
        let quarantined_now = self
            .c
            .members
            .iter()
            .filter(|m| m.quarantined.is_some())
            .count();
        let cap = c.quarantine_cap.nodes(self.w.nodes.len());
        // Quarantine is a Windows Server 2016 feature: not at functional level 8.
        if c.functional_level >= 9
            && failures >= c.quarantine_threshold
            && !self.c.members[h].failures.is_empty()
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
        self.c.members[h].generation += 1;
        self.w.nodes[h].state = NodeState::Joining;
        self.node_event(h, "Joining", None);
        self.node_timer(h, now + c.join_time, NodeTimer::Joined);
    }

    fn quarantine(&mut self, h: usize, failures: u32) {
        let now = self.w.now;
        let c = &self.w.scenario.spec.cluster;
        let until = match c.quarantine_duration {
            QuarantineDuration::UntilCleared => None,
            QuarantineDuration::For(d) => Some(now + d),
        };
        let m = &mut self.c.members[h];
        m.quarantined = Some(until);
        m.isolated = false;
        m.generation += 1;
        self.w.nodes[h].state = NodeState::Down;
        let name = self.w.scenario.spec.hosts[h].name.clone();
        let clears = until.map_or(
            "when cleared (Start-ClusterNode -ClearQuarantine)".to_string(),
            |t| format!("at {t}"),
        );
        self.fx.log(
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
        let vms: Vec<usize> = (0..self.w.vms.len())
            .filter(|&v| self.w.vms[v].host == h && self.c.roles[v].unmonitored)
            .collect();
        for v in vms {
            self.c.roles[v].unmonitored = false;
            self.vm_event(
                v,
                "monitored again (its node is quarantined and drained)".into(),
            );
        }
        self.refresh_storage_of_node(h);
        self.c.members[h].drain_retries_used = 0;
        self.drain(h);
    }

    pub(super) fn leave_quarantine(&mut self, h: usize, why: &str) {
        self.c.members[h].quarantined = None;
        self.c.members[h].failures.clear();
        self.c.members[h].drain = DrainStatus::NotInitiated;
        self.c.members[h].generation += 1;
        self.node_event(h, &format!("quarantine lifted: {why}"), None);
        if self.w.heartbeats_flow(h) && !self.c.down {
            self.rejoin(h);
        }
    }

    /// VM timers.
    pub(super) fn vm_timer_fired(&mut self, vm: usize, generation: u64, what: VmTimer) {
        if self.c.roles[vm].generation != generation {
            return;
        }
        match what {
            VmTimer::PauseCritical => {
                if self.w.vms[vm].state == VmState::RunningCritical {
                    self.set_vm_state(vm, VmState::PausedCritical);
                }
            }
            VmTimer::Started => {
                self.c.roles[vm].moving = false;
                if self.w.vms[vm].state == VmState::Starting {
                    self.set_vm_state(vm, VmState::Running);
                    self.c.roles[vm].state = RoleState::Online;
                    self.outage_ends(vm);
                    self.refresh_storage(vm);
                }
            }
            VmTimer::RolePeriodExpired => {
                let h = self.w.vms[vm].host;
                if self.c.members[h].isolated {
                    self.fail_over_vm(vm, h);
                }
            }
            VmTimer::QuickDone(to) => {
                self.c.roles[vm].moving = false;
                self.c.roles[vm].unmonitored = false;
                let from = self.w.vms[vm].host;
                // The target may have gone (off, out of membership) while the VM was saved:
                // it is restored on another node that accepts roles, or its role Fails.
                let target = if self.accepts_roles(to) {
                    Some(to)
                } else {
                    let used = self.memory_used();
                    self.place(vm, from, &used)
                };
                let to_name = self.w.scenario.spec.hosts[to].name.clone();
                match target {
                    Some(t) => {
                        self.w.vms[vm].host = t;
                        let t_name = self.w.scenario.spec.hosts[t].name.clone();
                        let detail = if t == to {
                            format!("Running on {t_name}: quick migration done")
                        } else {
                            format!(
                                "Running on {t_name}: quick migration restored there ({to_name} cannot host it now)"
                            )
                        };
                        self.set_vm_state_logged(vm, VmState::Running, detail);
                        self.c.roles[vm].state = RoleState::Online;
                        self.outage_ends(vm);
                        self.refresh_storage(vm);
                    }
                    None => {
                        self.c.roles[vm].state = RoleState::Failed;
                        self.set_vm_state_logged(
                            vm,
                            VmState::Off,
                            format!("Off: quick migration to {to_name} failed (no node can host it now); role Failed"),
                        );
                    }
                }
                self.check_drains_from(0);
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Failover and placement

    fn fail_over_node(&mut self, h: usize) {
        let mut vms: Vec<usize> = (0..self.w.vms.len())
            .filter(|&v| self.w.vms[v].host == h)
            .collect();
        let spec = &self.w.scenario.spec;
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
        if self.w.vms[vm].host != from || self.c.roles[vm].state == RoleState::Offline {
            return;
        }
        self.c.roles[vm].generation += 1;
        self.c.roles[vm].unmonitored = false;
        if self.w.vms[vm].state != VmState::Off {
            self.outage_starts(vm);
            self.set_vm_state(vm, VmState::Off);
        } else {
            self.outage_starts(vm);
        }
        if self.w.scenario.spec.vms[vm].priority == Priority::NoAutoStart {
            self.c.roles[vm].state = RoleState::Offline;
            self.vm_event(vm, "not restarted (priority No Auto Start)".into());
            return;
        }
        match self.place(vm, from, used) {
            Some(to) => {
                let mem = self.w.scenario.spec.vms[vm].memory.0;
                used[to] = used[to].saturating_add(mem);
                self.w.vms[vm].host = to;
                let name = self.w.scenario.spec.hosts[to].name.clone();
                self.vm_event(vm, format!("failing over to {name}"));
                self.restart_vm(vm, to);
            }
            None => {
                self.c.roles[vm].state = RoleState::Failed;
                let why = if self.c.down {
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
            self.c.roles[vm].state = RoleState::Failed;
            let name = self.w.scenario.spec.hosts[h].name.clone();
            self.vm_event(vm, format!("role Failed: {name} cannot host it now"));
            return;
        }
        self.w.vms[vm].host = h;
        self.c.roles[vm].unmonitored = false;
        self.c.roles[vm].state = RoleState::Pending;
        self.c.roles[vm].moving = true;
        self.outage_starts(vm);
        let name = self.w.scenario.spec.hosts[h].name.clone();
        self.set_vm_state_logged(vm, VmState::Starting, format!("Starting on {name}"));
        let at = self.w.now + self.w.scenario.spec.cluster.vm_start_time;
        self.vm_timer(vm, at, VmTimer::Started);
    }

    /// Retries roles that could not be placed (after capacity comes back).
    pub(super) fn retry_failed_roles(&mut self) {
        let failed: Vec<usize> = (0..self.w.vms.len())
            .filter(|&v| self.c.roles[v].state == RoleState::Failed)
            .collect();
        if failed.is_empty() {
            return;
        }
        let mut used = self.memory_used();
        for v in failed {
            if let Some(to) = self.place(v, usize::MAX, &used) {
                let mem = self.w.scenario.spec.vms[v].memory.0;
                used[to] = used[to].saturating_add(mem);
                self.restart_vm(v, to);
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Storage

    pub(super) fn refresh_storage_of_node(&mut self, h: usize) {
        let vms: Vec<usize> = (0..self.w.vms.len())
            .filter(|&v| self.w.vms[v].host == h)
            .collect();
        for v in vms {
            self.refresh_storage(v);
        }
    }

    pub(super) fn refresh_all_storage(&mut self) {
        for v in 0..self.w.vms.len() {
            self.refresh_storage(v);
        }
    }

    /// Storage resiliency: a VM whose disks fail goes Running-Critical, then Paused-Critical; it
    /// resumes when the storage returns.
    fn refresh_storage(&mut self, vm: usize) {
        let ok = self.storage_ok(vm);
        match (self.w.vms[vm].state, ok) {
            (VmState::Running, false) => {
                self.set_vm_state(vm, VmState::RunningCritical);
                let at = self.w.now + self.w.scenario.spec.cluster.critical_pause_after;
                self.vm_timer(vm, at, VmTimer::PauseCritical);
            }
            (VmState::RunningCritical | VmState::PausedCritical, true) => {
                self.c.roles[vm].generation += 1;
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
        self.c.members[h].drain = DrainStatus::InProgress;
        self.node_event(h, "drain in progress", None);
        let spec = &self.w.scenario.spec;
        let mut vms: Vec<usize> = (0..self.w.vms.len())
            .filter(|&v| {
                self.w.vms[v].host == h
                    && self.w.vms[v].state != VmState::Off
                    && !self.c.roles[v].moving
                    && !self.lm.vm_busy[v]
            })
            .collect();
        vms.sort_by_key(|&v| (std::cmp::Reverse(spec.vms[v].priority), v));
        vms.reverse();
        let used = self.memory_used();
        self.drain_rest(DrainRest {
            host: h,
            vms,
            used,
            failed: None,
        });
    }

    /// Goes on with a drain: moves the VMs left (`rest.vms`, last first) until one needs a live
    /// migration, which is asked of the migration model with the rest of the drain after it.
    fn drain_rest(&mut self, mut rest: DrainRest) {
        let h = rest.host;
        while let Some(v) = rest.vms.pop() {
            let Some(to) = self.place(v, h, &rest.used) else {
                rest.failed = Some("no node that accepts roles has room for every VM".to_string());
                continue;
            };
            let mem = self.w.scenario.spec.vms[v].memory.0;
            rest.used[to] = rest.used[to].saturating_add(mem);
            let quick = self.w.scenario.spec.vms[v].priority <= Priority::Low
                && self.w.scenario.spec.cluster.drain_low_priority == DrainMove::QuickMigration;
            if quick || self.w.vms[v].state != VmState::Running {
                self.quick_migrate(v, to);
            } else {
                self.fx.push(Effect::DrainMigrate { vm: v, to, rest });
                return;
            }
        }
        if let Some(why) = rest.failed {
            self.drain_failed(h, &why);
        }
        self.check_drains_from(0);
    }

    /// A drain could not move every role (`DrainStatus` Failed, `DrainFailed` in the status):
    /// the roles stay on the paused node and the drain is retried `drain_retries` times after
    /// `drain_retry_delay`. A quarantined node's drain that runs out of retries falls back to
    /// quick migration (facts doc §5, assumption), so no VM is left there with nothing pending.
    pub(super) fn drain_failed(&mut self, h: usize, why: &str) {
        if self.c.members[h].drain == DrainStatus::Failed {
            return; // one retry is already pending
        }
        self.c.members[h].drain = DrainStatus::Failed;
        let c = &self.w.scenario.spec.cluster;
        let (used, max, delay) = (
            self.c.members[h].drain_retries_used,
            c.drain_retries,
            c.drain_retry_delay,
        );
        if used < max {
            let detail = format!(
                "drain failed: {why}; retry {} of {max} in {delay}",
                used + 1
            );
            self.node_event(h, &detail, None);
            self.node_timer(h, self.w.now + delay, NodeTimer::DrainRetry);
            return;
        }
        if self.c.members[h].quarantined.is_some() {
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
            if self.c.members[h].stopping {
                self.c.members[h].stopping = false;
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
        let m = &self.c.members[h];
        if m.drain != DrainStatus::Failed || !(m.paused || m.quarantined.is_some()) {
            return;
        }
        self.c.members[h].drain_retries_used += 1;
        self.drain(h);
    }

    /// Moves every VM still on `h` by quick migration, where a node has room.
    fn quick_drain(&mut self, h: usize) {
        let vms: Vec<usize> = (0..self.w.vms.len())
            .filter(|&v| {
                self.w.vms[v].host == h
                    && self.w.vms[v].state != VmState::Off
                    && !self.c.roles[v].moving
                    && !self.lm.vm_busy[v]
            })
            .collect();
        let mut used = self.memory_used();
        for v in vms {
            match self.place(v, h, &used) {
                Some(to) => {
                    let mem = self.w.scenario.spec.vms[v].memory.0;
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
        let c = &self.w.scenario.spec.cluster;
        let mem = self.w.scenario.spec.vms[vm].memory.as_f64();
        let secs = 2.0 * mem / c.quick_migration_rate.0;
        self.c.roles[vm].moving = true;
        self.c.roles[vm].state = RoleState::Pending;
        self.c.roles[vm].generation += 1;
        self.outage_starts(vm);
        self.set_vm_state(vm, VmState::Saved);
        let name = self.w.scenario.spec.hosts[to].name.clone();
        self.vm_event(vm, format!("quick migration to {name}: saved, {secs:.1} s"));
        let at = self.w.now + SimDuration::from_secs_f64(secs);
        self.vm_timer(vm, at, VmTimer::QuickDone(to));
    }

    /// Marks drains complete when their node has no VMs left, and finishes clean stops, for the
    /// hosts from `first` on.
    fn check_drains_from(&mut self, first: usize) {
        for h in first..self.w.nodes.len() {
            if self.c.members[h].drain != DrainStatus::InProgress && !self.c.members[h].stopping {
                continue;
            }
            let busy = (0..self.w.vms.len()).any(|v| {
                self.w.vms[v].host == h
                    && (self.w.vms[v].state != VmState::Off || self.c.roles[v].moving)
            }) || self
                .lm
                .holding
                .iter()
                .any(|&id| self.lm.migrations[id].from == h);
            if busy {
                continue;
            }
            if self.c.members[h].drain == DrainStatus::InProgress {
                self.c.members[h].drain = DrainStatus::Completed;
                self.node_event(h, "drain completed", None);
            }
            if self.c.members[h].stopping {
                self.c.members[h].stopping = false;
                self.c.members[h].paused = false;
                self.c.members[h].member = false;
                self.c.members[h].generation += 1;
                self.w.nodes[h].service = ServiceState::Stopped;
                self.w.nodes[h].state = NodeState::Down;
                self.node_event(h, "Down (cluster service stopped cleanly)", None);
                // Graceful: with dynamic quorum the node's vote moves to the others first.
                if self.w.scenario.spec.cluster.dynamic_quorum {
                    self.reweigh();
                } else if !self.check_quorum(None) && self.fx.asks_work() {
                    // Quorum was lost: the other hosts are checked after the migrations failed.
                    self.fx.cluster(ClusterWork::CheckDrainsFrom(h + 1));
                    return;
                }
            }
        }
    }

    /// A VM's instance stops (its host lost power).
    fn power_off_vm(&mut self, v: usize) {
        let starting = self.w.vms[v].state == VmState::Starting;
        // Through the one state setter, so frozen time ends with the instance.
        self.set_vm_state(v, VmState::Off);
        if starting {
            // Its start failed with the host: the role is placed again (elsewhere).
            let r = &mut self.c.roles[v];
            r.generation += 1;
            r.moving = false;
            r.state = RoleState::Failed;
            let host = self.w.scenario.spec.hosts[self.w.vms[v].host].name.clone();
            self.fx.log(
                EventKind::VmState,
                self.w.scenario.spec.vms[v].name.clone(),
                format!("start on {host} failed: the host lost power; role Failed"),
                None,
            );
            return;
        }
        if self.c.roles[v].state == RoleState::Online {
            // The role still counts as online until the cluster notices.
            self.c.roles[v].generation += 1;
        }
        self.outage_starts(v);
    }

    /// `Stop-ClusterNode`: refused if quorum would be lost; drains, then stops the service.
    pub(super) fn stop_node_cleanly(&mut self, h: usize) -> Result<(), super::CommandError> {
        if let Some(why) = self.stop_would_lose_quorum(h) {
            return Err(super::CommandError::Refused(why));
        }
        if !self.c.members[h].member {
            self.w.nodes[h].service = ServiceState::Stopped;
            return Ok(());
        }
        self.c.members[h].stopping = true;
        self.c.members[h].paused = true;
        self.c.members[h].drain_retries_used = 0;
        self.w.nodes[h].state = NodeState::Paused;
        self.drain(h);
        Ok(())
    }

    pub(super) fn pause_node(&mut self, h: usize) -> Result<(), super::CommandError> {
        if !self.c.members[h].member {
            return Err(super::CommandError::Refused(format!(
                "{} is not Up",
                self.w.scenario.spec.hosts[h].name
            )));
        }
        self.c.members[h].paused = true;
        self.c.members[h].drain_retries_used = 0;
        self.w.nodes[h].state = NodeState::Paused;
        self.node_event(h, "Paused", None);
        self.drain(h);
        Ok(())
    }

    pub(super) fn resume_node(&mut self, h: usize) -> Result<(), super::CommandError> {
        if !self.c.members[h].paused {
            return Err(super::CommandError::Refused(format!(
                "{} is not paused",
                self.w.scenario.spec.hosts[h].name
            )));
        }
        self.c.members[h].paused = false;
        self.c.members[h].drain = DrainStatus::NotInitiated;
        if self.c.members[h].member {
            self.w.nodes[h].state = NodeState::Up;
            self.node_event(h, "Up", None);
        }
        self.retry_failed_roles();
        Ok(())
    }

    pub(super) fn clear_quarantine(&mut self, h: usize) -> Result<(), super::CommandError> {
        if self.c.members[h].quarantined.is_none() {
            return Err(super::CommandError::Refused(format!(
                "{} is not quarantined",
                self.w.scenario.spec.hosts[h].name
            )));
        }
        self.leave_quarantine(h, "Start-ClusterNode -ClearQuarantine");
        Ok(())
    }
}

/// A VM role's resiliency period: its own (0 is read as "use the cluster default", like −1, the
/// facts doc's default for `group_period_zero_means`), or the cluster's.
fn vm_period(own: ResiliencyPeriod, cluster: SimDuration) -> SimDuration {
    match own {
        ResiliencyPeriod::Own(p) if !p.is_zero() => p,
        _ => cluster,
    }
}

#[cfg(test)]
mod tests {
    use super::super::LogEvent;
    use super::super::world::test_lab;
    use super::*;

    fn logs(fx: &Effects) -> Vec<&LogEvent> {
        fx.list()
            .iter()
            .filter_map(|e| match e {
                Effect::Log(l) => Some(l),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_crashed_cluster_service_is_noticed_later_then_logs_1135_and_isolates_the_node() {
        let (mut w, mut c, lm) = test_lab();
        w.nodes[0].service = ServiceState::Crashed;
        let fx = c.node_changed(&mut w, &lm, 0);
        // Nothing is logged yet: one timer, for when the others have missed enough heartbeats.
        let [
            Effect::Timer {
                at,
                what:
                    Scheduled::Node {
                        node: 0,
                        generation,
                        what: NodeTimer::Lost,
                    },
            },
        ] = fx.list()
        else {
            panic!("expected one Lost timer, got {:?}", fx.list());
        };
        assert!(*at > w.now);
        w.now = *at;
        let fx = c.node_timer_fired(&mut w, &lm, (0, *generation, NodeTimer::Lost));
        let logs = logs(&fx);
        assert_eq!(logs[0].event_id, Some(1135));
        assert_eq!(
            logs[0].detail,
            "node1 removed from active failover cluster membership"
        );
        assert!(
            logs.iter()
                .any(|l| l.subject == "node1" && l.detail == "Isolated")
        );
        let period_end = w.now + SimDuration::from_secs(60);
        assert!(fx.list().iter().any(|e| matches!(
            e,
            Effect::Timer {
                at,
                what: Scheduled::Node { node: 0, what: NodeTimer::PeriodExpired, .. },
            } if *at == period_end
        )));
        // Isolation keeps the VMs where they are: nothing is asked of the migration model.
        assert!(!fx.asks_work());
        assert!(c.members[0].isolated && !c.members[0].member);
    }

    #[test]
    fn pausing_a_node_asks_the_migration_model_for_a_live_migration_instead_of_starting_it() {
        let (mut w, mut c, lm) = test_lab();
        let fx = c
            .node_command(&mut w, &lm, (NodeCommand::Pause, 0))
            .expect("node1 can be paused");
        let logs = logs(&fx);
        assert_eq!(logs[0].detail, "Paused");
        assert_eq!(logs[1].detail, "drain in progress");
        // The drain stops at its first live migration and hands the rest of itself along.
        let Some(Effect::DrainMigrate { vm, to, rest }) = fx.list().last() else {
            panic!("expected a live migration asked for, got {:?}", fx.list());
        };
        assert_eq!(w.vms[*vm].host, 0);
        assert_ne!(*to, 0);
        assert_eq!(rest.host, 0);
        assert!(
            lm.migrations.is_empty(),
            "the cluster model started nothing itself"
        );
        assert_eq!(w.nodes[0].state, NodeState::Paused);
    }
}
