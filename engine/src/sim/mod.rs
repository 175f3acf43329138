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
//! migration (`migration.rs`, pre-copy) and the failover cluster (`cluster.rs`, resiliency and
//! quorum). Commands change the components they name and the models react to the change.

mod cluster;
mod migration;
mod quorum;
mod series;

use cluster::{ClusterState, Membership, NodeTimer, Role, VmTimer};
pub use cluster::{DrainStatus, RoleState, quarantine_cap};
use migration::MigrationState;
pub use migration::{Migration, Outcome, Phase};
pub use series::{Column, Series, SeriesKey};

use crate::command::{Command, CommandKind, TimedCommand};
use crate::kernel::{EventClass, EventQueue};
use crate::rng::SimRng;
use crate::scenario::{InitialVmState, Scenario};
use crate::time::{SimDuration, SimTime};
use crate::transport::NetState;
use serde::Serialize;

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
}

impl Mark {
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
    Stop(usize),
    Pause(usize),
    Resume(usize),
    ClearQuarantine(usize),
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
}

#[derive(Clone, Debug)]
struct Node {
    service: ServiceState,
    powered: bool,
    networks_cut: bool,
    nic_plugged: Vec<bool>,
    storage_lost: Vec<bool>,
    state: NodeState,
}

#[derive(Clone, Debug)]
struct Vm {
    host: usize,
    state: VmState,
}

/// A running lab. See the module documentation for its invariants. A clone is an independent
/// copy that goes on exactly as the original would (the GUI exports a clone on a worker).
#[derive(Clone, Debug)]
pub struct Simulation {
    scenario: Scenario,
    seed: u64,
    now: SimTime,
    queue: EventQueue<Scheduled>,
    nodes: Vec<Node>,
    vms: Vec<Vm>,
    storage_online: Vec<bool>,
    log: Vec<LogEvent>,
    series: Series,
    /// Commands applied through [`Simulation::apply`] (not the script), for sessions.
    history: Vec<TimedCommand>,
    /// Every migration ever requested, in request order.
    migrations: Vec<Migration>,
    /// Slots, phase indexes and the latest transport results.
    lm: MigrationState,
    vm_index: std::collections::HashMap<String, usize>,
    /// The failover-cluster model's own state (cluster.rs, quorum.rs).
    cluster: ClusterState,
    /// State changes per node and per VM, for state bands in plots and exports.
    node_timeline: Vec<Vec<(SimTime, NodeDisplay)>>,
    vm_timeline: Vec<Vec<(SimTime, VmState)>>,
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
        let vm_index = spec
            .vms
            .iter()
            .enumerate()
            .map(|(i, v)| (v.name.clone(), i))
            .collect();
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
        let vms = spec
            .vms
            .iter()
            .map(|v| Vm {
                host: scenario.host(&v.host).map_or(0, |(i, _)| i),
                state: match v.state {
                    InitialVmState::Running => VmState::Running,
                    InitialVmState::Off => VmState::Off,
                },
            })
            .collect();
        let mut queue = EventQueue::new();
        for i in 0..scenario.script.len() {
            let at = SimTime::ZERO + scenario.script[i].at;
            queue.schedule(at, EventClass::Command, Scheduled::Script(i));
        }
        queue.schedule(SimTime::ZERO, EventClass::Sample, Scheduled::Sample);
        let series = Series::new(spec.sample_step);
        let mut sim = Simulation {
            storage_online: vec![true; spec.storage.len()],

            scenario,
            seed,
            now: SimTime::ZERO,
            queue,
            nodes,
            vms,
            log: Vec::new(),
            series,
            history: Vec::new(),
            migrations: Vec::new(),
            lm,
            vm_index,
            cluster: ClusterState {
                members,
                roles,
                down: false,
                witness_vote: false,
                zeroed: None,
                quorum_rng: SimRng::fork(seed, "quorum"),
            },
            node_timeline: Vec::new(),
            vm_timeline: Vec::new(),
        };
        // The votes as the cluster starts: not an event worth a log line.
        sim.reweigh();
        sim.log.clear();
        sim.node_timeline = (0..sim.nodes.len())
            .map(|h| vec![(SimTime::ZERO, sim.node_display(h))])
            .collect();
        sim.vm_timeline = sim
            .vms
            .iter()
            .map(|v| vec![(SimTime::ZERO, v.state)])
            .collect();
        sim
    }

    /// Every migration requested so far, in request order.
    pub fn migrations(&self) -> &[Migration] {
        &self.migrations
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
        &self.vm_timeline
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
        self.preview_migration(vi, ti)
    }

    fn node_display(&self, h: usize) -> NodeDisplay {
        let m = &self.cluster.members[h];
        if m.quarantined.is_some() {
            NodeDisplay::Quarantined
        } else if m.isolated {
            NodeDisplay::Isolated
        } else {
            match self.nodes[h].state {
                NodeState::Up => NodeDisplay::Up,
                NodeState::Down => NodeDisplay::Down,
                NodeState::Paused => NodeDisplay::Paused,
                NodeState::Joining => NodeDisplay::Joining,
            }
        }
    }

    fn note_node_states(&mut self) {
        for h in 0..self.nodes.len() {
            let d = self.node_display(h);
            if self.node_timeline[h].last().is_none_or(|l| l.1 != d) {
                self.node_timeline[h].push((self.now, d));
            }
        }
    }

    fn note_vm_state(&mut self, v: usize) {
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

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }
    pub fn seed(&self) -> u64 {
        self.seed
    }
    pub fn now(&self) -> SimTime {
        self.now
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
            at: self.now.since(SimTime::ZERO),
            command: cmd,
        });
        Ok(())
    }

    /// Runs every event due at or before `t`, in order, and moves the clock to `t`.
    pub fn advance_to(&mut self, t: SimTime) {
        if t < self.now {
            return;
        }
        while let Some((at, ev)) = self.queue.pop_due(t) {
            self.now = at;
            match ev {
                Scheduled::Script(i) => {
                    let cmd = self.scenario.script[i].command.clone();
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
                    let step = self.scenario.spec.sample_step;
                    self.queue
                        .schedule(at + step, EventClass::Sample, Scheduled::Sample);
                }
                Scheduled::Migration { id, generation } => self.migration_step(id, generation),
                Scheduled::Node {
                    node,
                    generation,
                    what,
                } => self.node_timer_fired(node, generation, what),
                Scheduled::Vm {
                    vm,
                    generation,
                    what,
                } => self.vm_timer_fired(vm, generation, what),
            }
            // Rates change once per instant, after everything that happens at it.
            if self.queue.peek_time().is_none_or(|next| next > at) {
                self.recompute_rates();
                self.note_node_states();
            }
        }
        self.now = t;
    }

    /// Convenience: advance by a duration.
    pub fn advance_by(&mut self, d: SimDuration) {
        self.advance_to(self.now + d);
    }

    /// The time of the next thing that will happen, if anything is pending.
    pub fn next_deadline(&self) -> Option<SimTime> {
        self.queue.peek_time()
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            now: self.now,
            nodes: self.node_statuses(),
            vms: self.vm_statuses(),
            storage: self.storage_statuses(),
            event_count: self.log.len(),
        }
    }

    /// Every node's state (the `nodes` part of a snapshot).
    pub fn node_statuses(&self) -> Vec<NodeStatus> {
        let spec = &self.scenario.spec;
        spec.hosts
            .iter()
            .zip(&self.nodes)
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
        let spec = &self.scenario.spec;
        spec.vms
            .iter()
            .zip(&self.vms)
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
                    + r.outage_since.map_or(0, |t| self.now.since(t).as_micros()))
                    as f64
                    / 1e6,
                frozen_s: (r.frozen.as_micros()
                    + r.frozen_since.map_or(0, |t| self.now.since(t).as_micros()))
                    as f64
                    / 1e6,
            })
            .collect()
    }

    /// Every storage's state (the `storage` part of a snapshot).
    pub fn storage_statuses(&self) -> Vec<StorageStatus> {
        let spec = &self.scenario.spec;
        spec.storage
            .iter()
            .zip(&self.storage_online)
            .map(|(s, &online)| StorageStatus {
                name: s.name.clone(),
                online,
            })
            .collect()
    }

    /// Host index, state and Unmonitored flag of VM `i`, without allocating (for drawing).
    pub fn vm_view(&self, i: usize) -> Option<(usize, VmState, bool)> {
        let v = self.vms.get(i)?;
        Some((
            v.host,
            v.state,
            self.cluster.roles.get(i).is_some_and(|r| r.unmonitored),
        ))
    }

    fn node_index(&self, name: &str) -> Result<usize, CommandError> {
        self.scenario
            .host(name)
            .map(|(i, _)| i)
            .ok_or_else(|| CommandError::UnknownNode(name.to_string()))
    }

    fn storage_index(&self, name: &str) -> Result<usize, CommandError> {
        self.scenario
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
                return self.request_migration(vi, ti);
            }
            CrashClusterService { node } => {
                let i = self.node_index(node)?;
                self.nodes[i].service = ServiceState::Crashed;
                reaction = Reaction::Node(i);
            }
            RestartClusterService { node } | StartClusterService { node } => {
                let i = self.node_index(node)?;
                if self.nodes[i].powered {
                    self.nodes[i].service = ServiceState::Running;
                }
                reaction = Reaction::Node(i);
            }
            StopClusterService { node } => {
                let i = self.node_index(node)?;
                reaction = Reaction::Stop(i);
            }
            PowerOff { node } => {
                let i = self.node_index(node)?;
                self.nodes[i].powered = false;
                let vms: Vec<usize> = (0..self.vms.len())
                    .filter(|&v| self.vms[v].host == i)
                    .collect();
                for v in vms {
                    if self.vms[v].state != VmState::Off {
                        self.power_off_vm(v);
                    }
                }
                self.retry_failed_roles();
                reaction = Reaction::Node(i);
            }
            PowerOn { node } => {
                let i = self.node_index(node)?;
                if self.nodes[i].powered {
                    return Err(CommandError::Refused(format!(
                        "{node} is already powered on"
                    )));
                }
                self.nodes[i].powered = true;
                // The node boots and its cluster service starts (unless it was stopped cleanly).
                if self.nodes[i].service == ServiceState::Crashed {
                    self.nodes[i].service = ServiceState::Running;
                }
                reaction = Reaction::PowerOn(i);
            }
            PullNic { node, nic } | PlugNic { node, nic } => {
                let i = self.node_index(node)?;
                let ni = self.scenario.spec.hosts[i]
                    .nics
                    .iter()
                    .position(|n| &n.name == nic)
                    .ok_or_else(|| CommandError::UnknownNic {
                        node: node.clone(),
                        nic: nic.clone(),
                    })?;
                self.nodes[i].nic_plugged[ni] = matches!(cmd, PlugNic { .. });
                reaction = Reaction::Node(i);
            }
            CutNetworks { node } | HealNetworks { node } => {
                let i = self.node_index(node)?;
                self.nodes[i].networks_cut = matches!(cmd, CutNetworks { .. });
                reaction = Reaction::Node(i);
            }
            LoseStorage { storage, node } | RestoreStorage { storage, node } => {
                let si = self.storage_index(storage)?;
                let lost = matches!(cmd, LoseStorage { .. });
                match node {
                    Some(n) => {
                        let i = self.node_index(n)?;
                        self.nodes[i].storage_lost[si] = lost;
                    }
                    None => self.storage_online[si] = !lost,
                }
                reaction = Reaction::Storage;
            }
            PauseNode { node } => reaction = Reaction::Pause(self.node_index(node)?),
            ResumeNode { node } => reaction = Reaction::Resume(self.node_index(node)?),
            ClearQuarantine { node } => {
                reaction = Reaction::ClearQuarantine(self.node_index(node)?)
            }
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
        let result = match reaction {
            Reaction::Node(i) => {
                if !self.migrations.is_empty() {
                    self.migrations_after_fault();
                }
                self.node_changed(i);
                Ok(())
            }
            Reaction::PowerOn(i) => {
                if self.cluster.members[i].member {
                    self.power_cycled(i);
                }
                self.node_changed(i);
                Ok(())
            }
            Reaction::Storage => {
                self.refresh_all_storage();
                Ok(())
            }
            Reaction::Stop(i) => self.stop_node_cleanly(i),
            Reaction::Pause(i) => self.pause_node(i),
            Reaction::Resume(i) => self.resume_node(i),
            Reaction::ClearQuarantine(i) => self.clear_quarantine(i),
        };
        if result.is_err() {
            self.log.truncate(mark);
        }
        result
    }

    /// A VM's instance stops (its host lost power).
    fn power_off_vm(&mut self, v: usize) {
        let starting = self.vms[v].state == VmState::Starting;
        // Through the one state setter, so frozen time ends with the instance.
        self.set_vm_state(v, VmState::Off);
        if starting {
            // Its start failed with the host: the role is placed again (elsewhere).
            let r = &mut self.cluster.roles[v];
            r.generation += 1;
            r.moving = false;
            r.state = RoleState::Failed;
            let host = self.scenario.spec.hosts[self.vms[v].host].name.clone();
            self.push_event(
                EventKind::VmState,
                self.scenario.spec.vms[v].name.clone(),
                format!("start on {host} failed: the host lost power; role Failed"),
                None,
            );
            return;
        }
        if self.cluster.roles[v].state == RoleState::Online {
            // The role still counts as online until the cluster notices.
            self.cluster.roles[v].generation += 1;
        }
        self.roles_outage_start(v);
    }

    fn roles_outage_start(&mut self, v: usize) -> bool {
        if self.cluster.roles[v].outage_since.is_none() {
            self.cluster.roles[v].outage_since = Some(self.now);
            true
        } else {
            false
        }
    }

    /// Logs an event; faults and repairs are marked as such.
    fn push_event(
        &mut self,
        kind: EventKind,
        subject: String,
        detail: String,
        event_id: Option<u32>,
    ) {
        let mark = match kind {
            EventKind::Fault => Mark::Fault,
            EventKind::Repair => Mark::Repair,
            _ => Mark::None,
        };
        self.push_marked(kind, subject, detail, event_id, mark);
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
            t: self.now,
            kind,
            subject,
            detail,
            event_id,
            mark,
        });
    }

    /// Records one row of the series.
    fn sample(&mut self) {
        let mut running = vec![0usize; self.nodes.len()];
        for v in &self.vms {
            if v.state == VmState::Running
                && let Some(c) = running.get_mut(v.host)
            {
                *c += 1;
            }
        }
        let spec = &self.scenario.spec;
        let mut values: Vec<(SeriesKey<'_>, f64)> = Vec::new();
        for (hi, ((h, n), vms)) in spec.hosts.iter().zip(&self.nodes).zip(running).enumerate() {
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
            .map(|&i| self.migrations[i].rate)
            .sum();
        values.push((SeriesKey::MigrationsActive, active as f64));
        values.push((SeriesKey::MigrationsQueued, queued as f64));
        values.push((SeriesKey::AllMigrationsGbps, lm * 8.0 / 1e9));
        debug_assert_eq!(
            self.series.t(self.series.len()),
            self.now.as_secs_f64(),
            "samples fall on multiples of the step"
        );
        self.series.push_row(values);
    }
}
