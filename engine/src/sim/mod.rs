//! The simulation: world state, the event loop, and the four calls that drive it.
//!
//! Invariants:
//! - `now` never decreases; `advance_to(t)` with `t < now` does nothing.
//! - Everything that happens is caused by a command or a queued event; both are processed in the
//!   kernel's deterministic order, so the same scenario, seed and commands give the same log,
//!   series and snapshot, byte for byte.
//! - A VM is always owned by exactly one host.
//!
//! The models plug in here: the transport (`crate::transport`, steady-state rates), the live
//! migration (`migration.rs`, pre-copy) and the failover cluster (`cluster.rs` and `quorum.rs`,
//! resiliency and quorum). Each model owns its state beside the shared [`World`] (`world.rs`:
//! nodes, VMs, storage, the clock); its handlers change the world and their own state and
//! return [`Effects`] (`effects.rs`: log entries, timers, hosts to re-rate, work asked of a
//! model), which [`Simulation`] applies in order. Commands change the components they name and
//! the models react to the change.

mod backup;
mod cluster;
mod effects;
mod integration;
mod migration;
mod quorum;
mod series;
mod world;

pub use backup::{
    BackupJob, JobOutcome, JobPhase, RestorePoint, ThirdPartyRun, VSS_E_SNAPSHOT_SET_IN_PROGRESS,
    VSS_E_WRITERERROR_NONRETRYABLE, VmBackup,
};
use backup::{BackupState, BackupTimer};
use cluster::{ClusterState, Membership, NodeCommand, NodeTimer, VmTimer};
pub use cluster::{DrainStatus, RoleState};
use effects::{ClusterWork, Effect, Effects};
pub use integration::{
    COMPONENTS, ERROR_INSTALL_FAILURE, IntegrationStatus, IsActivity, IsComponent, IsStatus,
    IsSummary,
};
use integration::{IntegrationState, IsTimer};
use migration::MigrationState;
pub use migration::{Migration, Outcome, Phase};
pub use series::{Column, Series, SeriesKey};

use crate::command::{Command, CommandKind, TimedCommand};
use crate::kernel::{EventClass, EventQueue};
use crate::scenario::Scenario;
use crate::time::{SimDuration, SimTime};
use crate::transport::NetState;
use serde::Serialize;
use world::World;

/// Node State as `Get-ClusterNode` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum NodeState {
    Up,
    Down,
    Paused,
    Joining,
}

/// State of the cluster service (ClusSvc) on a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ServiceState {
    Running,
    Crashed,
    Stopped,
}

/// Hyper-V VM state names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum VmState {
    Running,
    Off,
    Starting,
    Paused,
    Saved,
    RunningCritical,
    PausedCritical,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NicStatus {
    pub name: String,
    pub plugged: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeStatus {
    pub name: String,
    pub state: NodeState,
    /// `Isolated`, `Quarantined`, drain flags, as Failover Cluster Manager shows them.
    pub status: Vec<String>,
    pub service: ServiceState,
    pub powered: bool,
    pub networks_cut: bool,
    pub nics: Vec<NicStatus>,
    /// Storage this node cannot reach (lost paths).
    pub storage_lost: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VmStatus {
    pub name: String,
    pub host: String,
    pub state: VmState,
    /// Cluster role state (`Get-ClusterGroup`).
    pub role: RoleState,
    /// The cluster no longer monitors the role (its node is isolated).
    pub unmonitored: bool,
    /// Seconds the VM has been down in unplanned outages so far (with `count_frozen_as_outage`,
    /// Running-Critical and Paused-Critical time too).
    pub outage_s: f64,
    /// Seconds the VM has been Running-Critical or Paused-Critical so far.
    pub frozen_s: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StorageStatus {
    pub name: String,
    pub online: bool,
}

/// What kind of line an event log entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    NodeState,
    VmState,
    MigrationStart,
    MigrationPhase,
    MigrationEnd,
    Fault,
    Repair,
    Operation,
    /// A trainer's caption from the script.
    Caption,
    /// Replay Manager and VSS: backup jobs, snapshot sets, restore points.
    Backup,
    /// A guest's Integration Services: setup, removal, restarts.
    IntegrationServices,
}

impl EventKind {
    /// The name reports and CSV files use (`node_state`, `migration_phase`, …).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::NodeState => "node_state",
            EventKind::VmState => "vm_state",
            EventKind::MigrationStart => "migration_start",
            EventKind::MigrationPhase => "migration_phase",
            EventKind::MigrationEnd => "migration_end",
            EventKind::Fault => "fault",
            EventKind::Repair => "repair",
            EventKind::Operation => "operation",
            EventKind::Caption => "caption",
            EventKind::Backup => "backup",
            EventKind::IntegrationServices => "integration_services",
        }
    }
}

/// One event-log entry: what happened, when, to what.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LogEvent {
    #[serde(rename = "t_s", serialize_with = "ser_secs")]
    pub t: SimTime,
    pub kind: EventKind,
    pub subject: String,
    pub detail: String,
    /// The Windows event ID where one exists (1135, 1672, 1177, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<u32>,
    /// What the event marks on a timeline, beside the human text: plots and exports read this,
    /// never `detail`. Not part of the report format (its `kind` and `detail` say the same).
    #[serde(skip)]
    pub mark: Mark,
}

/// What a log event marks on a timeline.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mark {
    /// Nothing worth a marker (state changes, requests, operations).
    #[default]
    None,
    /// A fault was injected (a user command or a script line).
    Fault,
    /// A fault was repaired.
    Repair,
    /// A live migration started pre-copy pass `pass` (1-based).
    PassStarted { pass: u32 },
    /// A live migration paused its VM for the switch-over.
    SwitchOver,
    /// The VM resumed on the destination.
    Resumed,
    /// A live migration ended.
    MigrationEnded(Outcome),
    /// A caption for the audience; `pause` stops the clock in the window.
    Caption { pause: bool },
    /// A requester found another shadow-copy set in creation (0x80042316).
    VssConflict,
    /// A failed backup job will be retried.
    BackupRetry,
    /// A backup job ended.
    BackupEnded(JobOutcome),
}

impl Mark {
    /// What an event of `kind` marks by itself: faults and repairs (captions mark themselves).
    pub fn of(kind: EventKind) -> Mark {
        match kind {
            EventKind::Fault => Mark::Fault,
            EventKind::Repair => Mark::Repair,
            _ => Mark::None,
        }
    }

    /// A fault or a repair: drawn as a labelled marker across every time chart.
    pub fn is_fault_or_repair(self) -> bool {
        matches!(self, Mark::Fault | Mark::Repair)
    }

    /// A trainer's caption.
    pub fn is_caption(self) -> bool {
        matches!(self, Mark::Caption { .. })
    }

    /// A step of a live migration's pre-copy (a pass or the switch-over).
    pub fn is_precopy_step(self) -> bool {
        matches!(self, Mark::PassStarted { .. } | Mark::SwitchOver)
    }
}

fn ser_secs<S: serde::Serializer>(t: &SimTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(t.as_secs_f64())
}

/// Everything a panel needs to draw the present moment. Cheap to clone relative to a frame.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Snapshot {
    #[serde(rename = "t_s", serialize_with = "ser_secs")]
    pub now: SimTime,
    pub nodes: Vec<NodeStatus>,
    pub vms: Vec<VmStatus>,
    pub storage: Vec<StorageStatus>,
    /// Number of log events so far (the log itself is read with [`Simulation::events`]).
    pub event_count: usize,
}

/// Status flags as `ClusterNodeStatusInformation` and Failover Cluster Manager show them.
fn node_status_flags(m: &Membership) -> Vec<String> {
    let mut v = Vec::new();
    if m.isolated {
        v.push("Isolated".to_string());
    }
    if m.quarantined.is_some() {
        v.push("Quarantined".to_string());
    }
    match m.drain {
        DrainStatus::InProgress => v.push("DrainInProgress".to_string()),
        DrainStatus::Completed => v.push("DrainCompleted".to_string()),
        DrainStatus::Failed => v.push("DrainFailed".to_string()),
        DrainStatus::NotInitiated => {}
    }
    v
}

/// What the cluster model reacts to after a command changed a component (the reaction runs
/// after the command's own log line).
#[derive(Clone, Copy, Debug)]
enum Reaction {
    Node(usize),
    /// A reboot takes longer than any heartbeat threshold: the node left membership.
    PowerOn(usize),
    Storage,
    /// A node command the cluster model may refuse.
    Command(NodeCommand, usize),
}

/// Why a command was refused. The world is unchanged when this is returned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("no host named `{0}`")]
    UnknownNode(String),
    #[error("no VM named `{0}`")]
    UnknownVm(String),
    #[error("no NIC named `{nic}` on {node}")]
    UnknownNic { node: String, nic: String },
    #[error("no storage named `{0}`")]
    UnknownStorage(String),
    #[error("no backup set named `{0}`")]
    UnknownSet(String),
    #[error("{vm} already runs on {host}")]
    AlreadyThere { vm: String, host: String },
    #[error("{0}")]
    Refused(String),
}

/// Something queued to happen at a later instant: a script line, a sample, or a model's timer.
#[derive(Clone, Debug)]
enum Scheduled {
    /// Index into the scenario's script.
    Script(usize),
    Sample,
    /// A migration's current phase ends (stale if the generation moved on).
    Migration {
        id: usize,
        generation: u64,
    },
    Node {
        node: usize,
        generation: u64,
        what: NodeTimer,
    },
    Vm {
        vm: usize,
        generation: u64,
        what: VmTimer,
    },
    /// A guest's Integration Services activity ends.
    Integration(IsTimer),
    /// A backup set, job or third-party requester's timer.
    Backup(BackupTimer),
}

/// A running lab. See the module documentation for its invariants. A clone is an independent
/// copy that goes on exactly as the original would (the GUI exports a clone on a worker).
#[derive(Clone, Debug)]
pub struct Simulation {
    /// The scenario, the clock, nodes, VMs and storage: what both models read and change.
    world: World,
    queue: EventQueue<Scheduled>,
    log: Vec<LogEvent>,
    series: Series,
    /// Commands applied through [`Simulation::apply`] (not the script), for sessions.
    history: Vec<TimedCommand>,
    /// The live-migration model's own state (migration.rs): every migration, slots, phase
    /// indexes and the latest transport results.
    lm: MigrationState,
    /// Hosts whose migrations' rates must be recomputed before time moves on.
    rerate: std::collections::BTreeSet<usize>,
    vm_index: std::collections::HashMap<String, usize>,
    /// The failover-cluster model's own state (cluster.rs, quorum.rs).
    cluster: ClusterState,
    /// State changes per node, for state bands in plots and exports.
    node_timeline: Vec<Vec<(SimTime, NodeDisplay)>>,
    /// The guests' Integration Services (integration.rs).
    is: IntegrationState,
    /// Replay Manager's backup sets, jobs and VSS locks (backup.rs).
    backup: BackupState,
}

/// What a node looks like in Failover Cluster Manager: its State, or the status that explains it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum NodeDisplay {
    Up,
    Down,
    Paused,
    Joining,
    Isolated,
    Quarantined,
}

impl NodeDisplay {
    /// The order legends and colour keys list them in.
    pub const LEGEND: [NodeDisplay; 6] = [
        NodeDisplay::Up,
        NodeDisplay::Isolated,
        NodeDisplay::Quarantined,
        NodeDisplay::Down,
        NodeDisplay::Joining,
        NodeDisplay::Paused,
    ];
}

impl VmState {
    /// The states timelines show, in legend order.
    pub const LEGEND: [VmState; 6] = [
        VmState::Running,
        VmState::RunningCritical,
        VmState::PausedCritical,
        VmState::Saved,
        VmState::Starting,
        VmState::Off,
    ];
}

impl Simulation {
    /// Starts a lab at time zero with the scenario's script queued.
    pub fn new(scenario: Scenario, seed: u64) -> Simulation {
        let spec = &scenario.spec;
        let lm = MigrationState::new(spec);
        let vm_index = spec
            .vms
            .iter()
            .enumerate()
            .map(|(i, v)| (v.name.clone(), i))
            .collect();
        let mut queue = EventQueue::new();
        for i in 0..scenario.script.len() {
            let at = SimTime::ZERO + scenario.script[i].at;
            queue.schedule(at, EventClass::Command, Scheduled::Script(i));
        }
        queue.schedule(SimTime::ZERO, EventClass::Sample, Scheduled::Sample);
        let series = Series::new(spec.sample_step);
        let cluster = ClusterState::new(spec, seed);
        let world = World::new(scenario, seed);
        for (at, t) in BackupState::first_timers(&world) {
            queue.schedule(at, EventClass::Model, Scheduled::Backup(t));
        }
        let is = IntegrationState::new(&world);
        let backup = BackupState::new(&world);
        let mut sim = Simulation {
            world,
            is,
            backup,
            queue,
            log: Vec::new(),
            series,
            history: Vec::new(),
            lm,
            rerate: Default::default(),
            vm_index,
            cluster,
            node_timeline: Vec::new(),
        };
        // The votes as the cluster starts: not an event worth a log line.
        let _ = sim.cluster.reweigh(&mut sim.world, &sim.lm);
        sim.node_timeline = (0..sim.world.nodes.len())
            .map(|h| vec![(SimTime::ZERO, sim.node_display(h))])
            .collect();
        sim
    }

    /// Applies what a model's handler returned, in order; work asked of a model runs, with
    /// everything it returns, before the next effect.
    fn apply_effects(&mut self, fx: Effects) {
        let mut todo: Vec<Effect> = fx.into_list();
        todo.reverse();
        while let Some(e) = todo.pop() {
            let more = match e {
                Effect::Log(ev) => {
                    self.log.push(ev);
                    continue;
                }
                Effect::Timer { at, what } => {
                    self.queue.schedule(at, EventClass::Model, what);
                    continue;
                }
                Effect::Rerate(h) => {
                    self.rerate.insert(h);
                    continue;
                }
                Effect::Cluster(work) => self.cluster.work(&mut self.world, &self.lm, work),
                Effect::Migration(work) => self.lm.work(&mut self.world, work),
                Effect::DrainMigrate { vm, to, mut rest } => {
                    match self.lm.request(&mut self.world, &self.cluster, vm, to) {
                        Ok(fx) => {
                            todo.push(Effect::Cluster(ClusterWork::Drain(rest)));
                            fx
                        }
                        Err(e) => {
                            rest.failed = Some(e.to_string());
                            self.cluster
                                .work(&mut self.world, &self.lm, ClusterWork::Drain(rest))
                        }
                    }
                }
            };
            todo.extend(more.into_list().into_iter().rev());
        }
    }

    /// Recomputes migration rates where something changed (the hosts marked since the last
    /// recomputation), until nothing is left to re-rate.
    fn recompute_rates(&mut self) {
        let mut guard = 0;
        while !self.rerate.is_empty() && guard < 8 {
            guard += 1;
            let seeds = std::mem::take(&mut self.rerate);
            let fx = self.lm.recompute_rates_of(&mut self.world, seeds);
            self.apply_effects(fx);
        }
    }

    /// Every migration requested so far, in request order.
    pub fn migrations(&self) -> &[Migration] {
        &self.lm.migrations
    }

    /// Every backup job so far (retries are jobs of their own), in the order they were made.
    pub fn backup_jobs(&self) -> &[BackupJob] {
        &self.backup.jobs
    }

    /// Every restore point made so far, with its expiry.
    pub fn restore_points(&self) -> &[RestorePoint] {
        &self.backup.points
    }

    /// Every third-party requester's use of a hardware VSS provider.
    pub fn third_party_backups(&self) -> &[ThirdPartyRun] {
        &self.backup.third_party
    }

    /// VM `vm`'s Integration Services as `Get-VM` and `Get-VMIntegrationService` show them.
    pub fn integration_status(&self, vm: usize) -> Option<IntegrationStatus> {
        (vm < self.world.vms.len()).then(|| self.is.status(&self.world, vm))
    }

    /// Whether the lab has backups or Integration Services to report (reports carry them only
    /// then, so other labs' files do not change).
    pub fn has_backup_or_is_data(&self) -> bool {
        self.is.has_data(&self.world) || !self.backup.jobs.is_empty()
    }

    /// Each VM's Integration Services summary over time (index = VM), starting at time zero.
    pub fn is_timeline(&self) -> &[Vec<(SimTime, IsSummary)>] {
        &self.is.timeline
    }

    /// Whether VM `vm` is being backed up now (PrepareForSnapshot to PostSnapshot).
    pub fn vm_in_backup(&self, vm: usize) -> bool {
        self.world.vms.get(vm).is_some_and(|v| v.in_backup)
    }

    /// Live-migration CPU % of each logical processor of host `h` now (empty when idle).
    pub fn lm_cpu_per_lp(&self, h: usize) -> &[f64] {
        self.lm.host_lp.get(h).map_or(&[], |v| v.as_slice())
    }

    /// State changes of each node (index = host), starting at time zero.
    pub fn node_timeline(&self) -> &[Vec<(SimTime, NodeDisplay)>] {
        &self.node_timeline
    }

    /// State changes of each VM (index = VM), starting at time zero.
    pub fn vm_timeline(&self) -> &[Vec<(SimTime, VmState)>] {
        &self.world.vm_timeline
    }

    /// A new run of `scenario` that re-applies `history` at the same times and stops at `until`.
    /// Commands the new lab refuses are skipped and returned with the reason.
    pub fn replay(
        scenario: Scenario,
        seed: u64,
        history: &[TimedCommand],
        until: SimTime,
    ) -> (Simulation, Vec<String>) {
        let mut sim = Simulation::new(scenario, seed);
        let mut skipped = Vec::new();
        for c in history {
            let at = SimTime::ZERO + c.at;
            if at > until {
                break;
            }
            sim.advance_to(at);
            if let Err(e) = sim.apply(c.command.clone()) {
                skipped.push(format!("{}: {} skipped: {e}", at, c.command.describe()));
            }
        }
        sim.advance_to(until);
        (sim, skipped)
    }

    /// The forecast for a migration the user is about to start (names as in commands).
    pub fn forecast(&self, vm: &str, to: &str) -> Result<crate::precopy::Forecast, CommandError> {
        let vi = *self
            .vm_index
            .get(vm)
            .ok_or_else(|| CommandError::UnknownVm(vm.to_string()))?;
        let ti = self.node_index(to)?;
        self.lm
            .preview_migration(&self.world, &self.cluster, vi, ti)
    }

    fn node_display(&self, h: usize) -> NodeDisplay {
        let m = &self.cluster.members[h];
        if m.quarantined.is_some() {
            NodeDisplay::Quarantined
        } else if m.isolated {
            NodeDisplay::Isolated
        } else {
            match self.world.nodes[h].state {
                NodeState::Up => NodeDisplay::Up,
                NodeState::Down => NodeDisplay::Down,
                NodeState::Paused => NodeDisplay::Paused,
                NodeState::Joining => NodeDisplay::Joining,
            }
        }
    }

    fn note_node_states(&mut self) {
        for h in 0..self.world.nodes.len() {
            let d = self.node_display(h);
            if self.node_timeline[h].last().is_none_or(|l| l.1 != d) {
                self.node_timeline[h].push((self.world.now, d));
            }
        }
    }

    /// Which NICs carry traffic now: plugged, on a powered node whose networks are not cut.
    pub fn net_state(&self) -> NetState {
        self.world.net_state()
    }

    pub fn scenario(&self) -> &Scenario {
        &self.world.scenario
    }
    pub fn seed(&self) -> u64 {
        self.world.seed
    }
    pub fn now(&self) -> SimTime {
        self.world.now
    }
    pub fn events(&self) -> &[LogEvent] {
        &self.log
    }
    pub fn series(&self) -> &Series {
        &self.series
    }
    /// Commands given through [`Simulation::apply`], with their times: what a session stores.
    pub fn history(&self) -> &[TimedCommand] {
        &self.history
    }

    /// Applies a user command at the current time. Refused commands change nothing.
    pub fn apply(&mut self, cmd: Command) -> Result<(), CommandError> {
        let r = self.execute(&cmd);
        self.recompute_rates();
        self.note_node_states();
        r?;
        self.history.push(TimedCommand {
            at: self.world.now.since(SimTime::ZERO),
            command: cmd,
        });
        Ok(())
    }

    /// Runs every event due at or before `t`, in order, and moves the clock to `t`.
    pub fn advance_to(&mut self, t: SimTime) {
        if t < self.world.now {
            return;
        }
        while let Some((at, ev)) = self.queue.pop_due(t) {
            self.world.now = at;
            match ev {
                Scheduled::Script(i) => {
                    let cmd = self.world.scenario.script[i].command.clone();
                    if let Err(e) = self.execute(&cmd) {
                        // The loader checked names, so this only happens for state the script did
                        // not foresee; log it rather than stop the run.
                        self.push_event(
                            EventKind::Operation,
                            cmd.subject().to_string(),
                            format!("script action refused: {e}"),
                            None,
                        );
                    }
                }
                Scheduled::Sample => {
                    self.recompute_rates();
                    self.sample();
                    let step = self.world.scenario.spec.sample_step;
                    self.queue
                        .schedule(at + step, EventClass::Sample, Scheduled::Sample);
                }
                Scheduled::Migration { id, generation } => {
                    let fx = self.lm.step(&mut self.world, id, generation);
                    self.apply_effects(fx);
                }
                Scheduled::Node {
                    node,
                    generation,
                    what,
                } => {
                    let timer = (node, generation, what);
                    let fx = self
                        .cluster
                        .node_timer_fired(&mut self.world, &self.lm, timer);
                    self.apply_effects(fx);
                }
                Scheduled::Vm {
                    vm,
                    generation,
                    what,
                } => {
                    let timer = (vm, generation, what);
                    let fx = self
                        .cluster
                        .vm_timer_fired(&mut self.world, &self.lm, timer);
                    self.apply_effects(fx);
                }
                Scheduled::Integration(t) => {
                    let fx = self.is.timer_fired(&self.world, t);
                    self.apply_effects(fx);
                }
                Scheduled::Backup(t) => {
                    let fx = self.backup.timer_fired(&mut self.world, &self.is, t);
                    self.apply_effects(fx);
                }
            }
            // Rates change once per instant, after everything that happens at it.
            if self.queue.peek_time().is_none_or(|next| next > at) {
                self.recompute_rates();
                self.note_node_states();
            }
        }
        self.world.now = t;
    }

    /// Convenience: advance by a duration.
    pub fn advance_by(&mut self, d: SimDuration) {
        self.advance_to(self.world.now + d);
    }

    /// The time of the next thing that will happen, if anything is pending.
    pub fn next_deadline(&self) -> Option<SimTime> {
        self.queue.peek_time()
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            now: self.world.now,
            nodes: self.node_statuses(),
            vms: self.vm_statuses(),
            storage: self.storage_statuses(),
            event_count: self.log.len(),
        }
    }

    /// Every node's state (the `nodes` part of a snapshot).
    pub fn node_statuses(&self) -> Vec<NodeStatus> {
        let spec = &self.world.scenario.spec;
        spec.hosts
            .iter()
            .zip(&self.world.nodes)
            .zip(&self.cluster.members)
            .map(|((h, n), m)| NodeStatus {
                name: h.name.clone(),
                state: n.state,
                status: node_status_flags(m),
                service: n.service,
                powered: n.powered,
                networks_cut: n.networks_cut,
                nics: h
                    .nics
                    .iter()
                    .zip(&n.nic_plugged)
                    .map(|(nic, &plugged)| NicStatus {
                        name: nic.name.clone(),
                        plugged,
                    })
                    .collect(),
                storage_lost: spec
                    .storage
                    .iter()
                    .zip(&n.storage_lost)
                    .filter(|(_, lost)| **lost)
                    .map(|(s, _)| s.name.clone())
                    .collect(),
            })
            .collect()
    }

    /// Every VM's state (the `vms` part of a snapshot), in scenario order.
    pub fn vm_statuses(&self) -> Vec<VmStatus> {
        let spec = &self.world.scenario.spec;
        spec.vms
            .iter()
            .zip(&self.world.vms)
            .zip(&self.cluster.roles)
            .map(|((v, s), r)| VmStatus {
                name: v.name.clone(),
                host: spec
                    .hosts
                    .get(s.host)
                    .map_or_else(String::new, |h| h.name.clone()),
                state: s.state,
                role: r.state,
                unmonitored: r.unmonitored,
                outage_s: (r.outage.as_micros()
                    + r.outage_since
                        .map_or(0, |t| self.world.now.since(t).as_micros()))
                    as f64
                    / 1e6,
                frozen_s: (r.frozen.as_micros()
                    + r.frozen_since
                        .map_or(0, |t| self.world.now.since(t).as_micros()))
                    as f64
                    / 1e6,
            })
            .collect()
    }

    /// Every storage's state (the `storage` part of a snapshot).
    pub fn storage_statuses(&self) -> Vec<StorageStatus> {
        let spec = &self.world.scenario.spec;
        spec.storage
            .iter()
            .zip(&self.world.storage_online)
            .map(|(s, &online)| StorageStatus {
                name: s.name.clone(),
                online,
            })
            .collect()
    }

    /// Host index, state and Unmonitored flag of VM `i`, without allocating (for drawing).
    pub fn vm_view(&self, i: usize) -> Option<(usize, VmState, bool)> {
        let v = self.world.vms.get(i)?;
        Some((
            v.host,
            v.state,
            self.cluster.roles.get(i).is_some_and(|r| r.unmonitored),
        ))
    }

    fn node_index(&self, name: &str) -> Result<usize, CommandError> {
        self.world
            .scenario
            .host(name)
            .map(|(i, _)| i)
            .ok_or_else(|| CommandError::UnknownNode(name.to_string()))
    }

    fn storage_index(&self, name: &str) -> Result<usize, CommandError> {
        self.world
            .scenario
            .spec
            .storage
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| CommandError::UnknownStorage(name.to_string()))
    }

    /// Checks a command against the world and carries it out; nothing changes on error.
    fn execute(&mut self, cmd: &Command) -> Result<(), CommandError> {
        use Command::*;
        let reaction;
        match cmd {
            Migrate { vm, to } => {
                let vi = *self
                    .vm_index
                    .get(vm.as_str())
                    .ok_or_else(|| CommandError::UnknownVm(vm.clone()))?;
                let ti = self.node_index(to)?;
                // Logs its own request line (with the forecast).
                let fx = self.lm.request(&mut self.world, &self.cluster, vi, ti)?;
                self.apply_effects(fx);
                return Ok(());
            }
            CrashClusterService { node } => {
                let i = self.node_index(node)?;
                self.world.nodes[i].service = ServiceState::Crashed;
                reaction = Reaction::Node(i);
            }
            RestartClusterService { node } | StartClusterService { node } => {
                let i = self.node_index(node)?;
                if self.world.nodes[i].powered {
                    self.world.nodes[i].service = ServiceState::Running;
                }
                reaction = Reaction::Node(i);
            }
            StopClusterService { node } => {
                let i = self.node_index(node)?;
                reaction = Reaction::Command(NodeCommand::Stop, i);
            }
            PowerOff { node } => {
                let i = self.node_index(node)?;
                self.world.nodes[i].powered = false;
                let fx = self.cluster.host_lost_power(&mut self.world, &self.lm, i);
                self.apply_effects(fx);
                reaction = Reaction::Node(i);
            }
            PowerOn { node } => {
                let i = self.node_index(node)?;
                if self.world.nodes[i].powered {
                    return Err(CommandError::Refused(format!(
                        "{node} is already powered on"
                    )));
                }
                self.world.nodes[i].powered = true;
                // The node boots and its cluster service starts (unless it was stopped cleanly).
                if self.world.nodes[i].service == ServiceState::Crashed {
                    self.world.nodes[i].service = ServiceState::Running;
                }
                reaction = Reaction::PowerOn(i);
            }
            PullNic { node, nic } | PlugNic { node, nic } => {
                let i = self.node_index(node)?;
                let ni = self.world.scenario.spec.hosts[i]
                    .nics
                    .iter()
                    .position(|n| &n.name == nic)
                    .ok_or_else(|| CommandError::UnknownNic {
                        node: node.clone(),
                        nic: nic.clone(),
                    })?;
                self.world.nodes[i].nic_plugged[ni] = matches!(cmd, PlugNic { .. });
                reaction = Reaction::Node(i);
            }
            CutNetworks { node } | HealNetworks { node } => {
                let i = self.node_index(node)?;
                self.world.nodes[i].networks_cut = matches!(cmd, CutNetworks { .. });
                reaction = Reaction::Node(i);
            }
            LoseStorage { storage, node } | RestoreStorage { storage, node } => {
                let si = self.storage_index(storage)?;
                let lost = matches!(cmd, LoseStorage { .. });
                match node {
                    Some(n) => {
                        let i = self.node_index(n)?;
                        self.world.nodes[i].storage_lost[si] = lost;
                    }
                    None => self.world.storage_online[si] = !lost,
                }
                reaction = Reaction::Storage;
            }
            PauseNode { node } => {
                reaction = Reaction::Command(NodeCommand::Pause, self.node_index(node)?)
            }
            ResumeNode { node } => {
                reaction = Reaction::Command(NodeCommand::Resume, self.node_index(node)?)
            }
            ClearQuarantine { node } => {
                reaction = Reaction::Command(NodeCommand::ClearQuarantine, self.node_index(node)?)
            }
            UpgradeIntegrationServices { .. }
            | UninstallIntegrationServices { .. }
            | RebootGuest { .. }
            | InstallIntegrationServices { .. }
            | RunBackupSet { .. }
            | ModifyBackupSet { .. }
            | ThirdPartyBackup { .. } => return self.guest_or_backup(cmd),
            Caption { text, pause } => {
                let mark = Mark::Caption { pause: *pause };
                self.push_marked(
                    EventKind::Caption,
                    "caption".into(),
                    text.clone(),
                    None,
                    mark,
                );
                return Ok(());
            }
        }
        let kind = match cmd.kind() {
            CommandKind::Fault => EventKind::Fault,
            CommandKind::Repair => EventKind::Repair,
            CommandKind::Operation => EventKind::Operation,
            CommandKind::Caption => EventKind::Caption,
        };
        // The command is logged first, then what the cluster does about it.
        let mark = self.log.len();
        self.push_event(kind, cmd.subject().to_string(), cmd.describe(), None);
        let (cluster, w, lm) = (&mut self.cluster, &mut self.world, &self.lm);
        let result = match reaction {
            Reaction::Node(i) => {
                if !self.lm.migrations.is_empty() {
                    let fx = self.lm.after_fault(&mut self.world);
                    self.apply_effects(fx);
                }
                Ok(self.cluster.node_changed(&mut self.world, &self.lm, i))
            }
            Reaction::PowerOn(i) => {
                if cluster.members[i].member {
                    let fx = cluster.power_cycled(w, lm, i);
                    self.apply_effects(fx);
                }
                Ok(self.cluster.node_changed(&mut self.world, &self.lm, i))
            }
            Reaction::Storage => Ok(cluster.storage_changed(w, lm)),
            Reaction::Command(what, i) => cluster.node_command(w, lm, (what, i)),
        };
        match result {
            Ok(fx) => {
                self.apply_effects(fx);
                Ok(())
            }
            Err(e) => {
                self.log.truncate(mark);
                Err(e)
            }
        }
    }

    /// The Integration Services and backup commands: each asks its model, then is logged with
    /// what the model returned; nothing changes on error.
    fn guest_or_backup(&mut self, cmd: &Command) -> Result<(), CommandError> {
        use Command::*;
        let fx = match cmd {
            UpgradeIntegrationServices { vm }
            | UninstallIntegrationServices { vm }
            | RebootGuest { vm }
            | InstallIntegrationServices { vm } => {
                let vi = self.vm_of(vm)?;
                let what = match cmd {
                    UpgradeIntegrationServices { .. } => IsActivity::Installing { upgrade: true },
                    UninstallIntegrationServices { .. } => IsActivity::Uninstalling,
                    RebootGuest { .. } => IsActivity::Rebooting,
                    _ => IsActivity::Installing { upgrade: false },
                };
                self.is.command(&self.world, vi, what)?
            }
            RunBackupSet { set } => {
                let si = self.set_of(set)?;
                self.backup.run_now(&self.world, si)
            }
            ModifyBackupSet { set, keep } => {
                let si = self.set_of(set)?;
                self.backup.modify(&self.world, si, *keep)
            }
            ThirdPartyBackup { node, duration } => {
                let i = self.node_index(node)?;
                self.backup.third_party(&self.world, i, *duration)
            }
            _ => {
                return Err(CommandError::Refused(format!(
                    "{} is not a backup command",
                    cmd.describe()
                )));
            }
        };
        self.logged(cmd, fx);
        Ok(())
    }

    /// A VM's index by name.
    fn vm_of(&self, name: &str) -> Result<usize, CommandError> {
        self.vm_index
            .get(name)
            .copied()
            .ok_or_else(|| CommandError::UnknownVm(name.to_string()))
    }

    /// A backup set's index by name.
    fn set_of(&self, name: &str) -> Result<usize, CommandError> {
        self.world
            .scenario
            .spec
            .backup_sets
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| CommandError::UnknownSet(name.to_string()))
    }

    /// Logs a command, then applies what its model returned.
    fn logged(&mut self, cmd: &Command, fx: Effects) {
        let kind = match cmd.kind() {
            CommandKind::Fault => EventKind::Fault,
            CommandKind::Repair => EventKind::Repair,
            CommandKind::Operation => EventKind::Operation,
            CommandKind::Caption => EventKind::Caption,
        };
        self.push_event(kind, cmd.subject().to_string(), cmd.describe(), None);
        self.apply_effects(fx);
    }

    /// Logs an event; faults and repairs are marked as such.
    fn push_event(
        &mut self,
        kind: EventKind,
        subject: String,
        detail: String,
        event_id: Option<u32>,
    ) {
        self.push_marked(kind, subject, detail, event_id, Mark::of(kind));
    }

    /// Logs an event with what it marks on a timeline.
    fn push_marked(
        &mut self,
        kind: EventKind,
        subject: String,
        detail: String,
        event_id: Option<u32>,
        mark: Mark,
    ) {
        self.log.push(LogEvent {
            t: self.world.now,
            kind,
            subject,
            detail,
            event_id,
            mark,
        });
    }

    /// Records one row of the series.
    fn sample(&mut self) {
        let mut running = vec![0usize; self.world.nodes.len()];
        for v in &self.world.vms {
            if v.state == VmState::Running
                && let Some(c) = running.get_mut(v.host)
            {
                *c += 1;
            }
        }
        let spec = &self.world.scenario.spec;
        let mut values: Vec<(SeriesKey<'_>, f64)> = Vec::new();
        for (hi, ((h, n), vms)) in spec
            .hosts
            .iter()
            .zip(&self.world.nodes)
            .zip(running)
            .enumerate()
        {
            let host = h.name.as_str();
            let healthy = n.powered && n.service == ServiceState::Running && !n.networks_cut;
            values.push((SeriesKey::Healthy { host }, f64::from(u8::from(healthy))));
            values.push((SeriesKey::VmsRunning { host }, vms as f64));
            values.push((SeriesKey::HostCpu { host }, self.lm.host_cpu[hi]));
            for (ni, nic) in h.nics.iter().enumerate() {
                let l = &self.lm.host_links[hi][ni];
                let g = |b: f64| b * 8.0 / 1e9;
                let nic = nic.name.as_str();
                values.push((SeriesKey::NicSend { host, nic }, g(l.tx_bytes_per_s)));
                values.push((SeriesKey::NicReceive { host, nic }, g(l.rx_bytes_per_s)));
            }
        }
        let active = self.lm.holding.len();
        let queued = self.lm.queued.len();
        let lm: f64 = self
            .lm
            .transferring
            .iter()
            .map(|&i| self.lm.migrations[i].rate)
            .sum();
        values.push((SeriesKey::MigrationsActive, active as f64));
        values.push((SeriesKey::MigrationsQueued, queued as f64));
        values.push((SeriesKey::AllMigrationsGbps, lm * 8.0 / 1e9));
        debug_assert_eq!(
            self.series.t(self.series.len()),
            self.world.now.as_secs_f64(),
            "samples fall on multiples of the step"
        );
        self.series.push_row(values);
    }
}
