//! The live-migration engine inside the simulation: queueing by host slots, setup, pre-copy
//! passes at rates from the transport model, switch-over, resume and clean-up, and failures in
//! flight.
//!
//! Invariants:
//! - a VM is owned by exactly one host at every instant: the owner changes only when a
//!   switch-over completes; a failure before that leaves the VM on its source;
//! - a migration holds one slot on its source and one on its destination from start to clean-up
//!   end; queued migrations start in request order when both hosts have a free slot;
//! - rates are recomputed (all active migrations together) whenever a transfer starts or stops or
//!   the network changes; bytes already sent are settled at the old rate first.
//!
//! The model owns [`MigrationState`] (every migration among it); its handlers (methods on it,
//! run through a `MigrationHandler`) change the shared [`World`] and that state and return
//! [`Effects`]: log entries, timers, hosts to re-rate, and work asked of the cluster model (a
//! drain's migration failed, drains to check, a migrated VM's role).

use super::cluster::ClusterState;
use super::effects::{ClusterWork, Effects, MigrationWork};
use super::world::World;
use super::{EventKind, Mark, Scheduled, VmState};
use crate::precopy::{self, Forecast, Next, RemedyHints};
use crate::scenario::{MigrationSettings, PerformanceOption, RdmaKind, TeamingMode};
use crate::time::{SimDuration, SimTime};
use crate::transport::{MigrationReq, solve};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Queued,
    Setup,
    /// Pre-copy pass `n` (1-based) in progress.
    Precopy,
    /// VM paused, remainder and device state on the wire.
    SwitchOver,
    /// Fixed part of the pause: resume on the destination.
    Resume,
    /// VM runs on the destination; the source cleans up.
    Cleanup,
    Completed,
    Failed,
}

/// How a migration ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Completed,
    Failed,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Failed => "failed",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

impl Phase {
    pub fn holds_slot(self) -> bool {
        matches!(
            self,
            Phase::Setup | Phase::Precopy | Phase::SwitchOver | Phase::Resume | Phase::Cleanup
        )
    }
    pub fn transfers(self) -> bool {
        matches!(self, Phase::Precopy | Phase::SwitchOver)
    }
    pub fn finished(self) -> bool {
        matches!(self, Phase::Completed | Phase::Failed)
    }
}

#[derive(Clone, Debug)]
pub struct Migration {
    pub vm: usize,
    pub from: usize,
    pub to: usize,
    pub settings: MigrationSettings,
    pub phase: Phase,
    pub requested: SimTime,
    pub started: Option<SimTime>,
    pub ended: Option<SimTime>,
    /// Passes completed (QEMU's dirty-sync count).
    pub passes: u32,
    /// Bytes in the current pass or switch-over, and what is left of them.
    pub stage_bytes: f64,
    pub stage_left: f64,
    pub stage_started: SimTime,
    /// Guest-memory bytes per second now.
    pub rate: f64,
    pub last_settle: SimTime,
    /// Guest-memory bytes sent so far.
    pub transferred: f64,
    pub wire_bytes: f64,
    /// Compression ratio on the wire (1 without compression).
    pub ratio: f64,
    pub peak_rate: f64,
    pub transfer_time_s: f64,
    pub pause_started: Option<SimTime>,
    pub downtime: Option<SimDuration>,
    /// The switch-over pause took longer than the target pause (flagged in the log and report).
    pub pause_over_target: bool,
    pub setup_time: Option<SimDuration>,
    pub outcome: Option<Outcome>,
    pub reason: Option<String>,
    pub path: String,
    /// Member NICs (indices) of the TCP interface at each end, for failure detection.
    pub src_nics: Vec<usize>,
    pub dst_nics: Vec<usize>,
    pub tcp: bool,
    pub forecast: Forecast,
    /// (time, Gbit/s) each time the rate changed.
    pub rate_history: Vec<(SimTime, f64)>,
    /// Events for this migration older than this generation are stale.
    pub generation: u64,
}

impl Migration {
    /// Share of the current pass (or switch-over) already sent at `now`, 0-1, counting bytes sent
    /// since the last settlement at the current rate.
    pub fn stage_progress(&self, now: SimTime) -> f64 {
        if self.stage_bytes <= 0.0 {
            return 0.0;
        }
        let since = if self.phase.transfers() {
            self.rate * now.since(self.last_settle).as_secs_f64()
        } else {
            0.0
        };
        let left = (self.stage_left - since).max(0.0);
        (1.0 - left / self.stage_bytes).clamp(0.0, 1.0)
    }
}

impl MigrationState {
    /// Whether `vm` may live-migrate to `to` now; the source host if so.
    fn check_migration(
        &self,
        w: &World,
        cluster: &ClusterState,
        vm: usize,
        to: usize,
    ) -> Result<usize, super::CommandError> {
        use super::CommandError as E;
        let spec = &w.scenario.spec;
        let v = &w.vms[vm];
        let vm_name = spec.vms[vm].name.clone();
        if v.host == to {
            return Err(E::AlreadyThere {
                vm: vm_name,
                host: spec.hosts[to].name.clone(),
            });
        }
        if self.vm_busy[vm] {
            return Err(E::Refused(format!("{vm_name} is already being migrated")));
        }
        if v.in_backup {
            return Err(E::Refused(format!(
                "{vm_name} is being backed up (Hyper-V VSS writer, PrepareForSnapshot to PostSnapshot): it cannot be live-migrated now"
            )));
        }
        if !matches!(v.state, VmState::Running) {
            return Err(E::Refused(format!(
                "{vm_name} is {:?}: only running VMs live-migrate",
                v.state
            )));
        }
        if let Some(why) = host_unavailable(w, to) {
            return Err(E::Refused(format!("{} {why}", spec.hosts[to].name)));
        }
        if !cluster.accepts_roles(w, to) {
            return Err(E::Refused(format!(
                "{} does not accept roles now ({:?})",
                spec.hosts[to].name, w.nodes[to].state
            )));
        }
        Ok(v.host)
    }

    /// The convergence forecast for migrating `vm` to `to` now, without starting anything (what
    /// the GUI shows before the user confirms).
    pub fn preview_migration(
        &self,
        w: &World,
        cluster: &ClusterState,
        vm: usize,
        to: usize,
    ) -> Result<Forecast, super::CommandError> {
        let from = self.check_migration(w, cluster, vm, to)?;
        let settings = w.scenario.migration_settings(from);
        Ok(self.forecast_for(w, vm, from, to, &settings))
    }

    /// The convergence forecast for migrating `vm` now, with everything else that is running.
    fn forecast_for(
        &self,
        w: &World,
        vm: usize,
        from: usize,
        to: usize,
        settings: &MigrationSettings,
    ) -> Forecast {
        let spec = &w.scenario.spec;
        // The migrations already running on the same two hosts share its resources.
        let mut reqs: Vec<MigrationReq> = self
            .holding
            .iter()
            .map(|&i| &self.migrations[i])
            .filter(|m| {
                m.phase != Phase::Cleanup && [m.from, m.to].iter().any(|h| *h == from || *h == to)
            })
            .map(|m| MigrationReq {
                vm: m.vm,
                from: m.from,
                to: m.to,
            })
            .collect();
        reqs.push(MigrationReq { vm, from, to });
        let sol = solve(spec, &reqs, &w.net_state(), w.seed);
        let rate = sol.migrations.last().map_or(0.0, |r| r.memory_bytes_per_s);
        let v = &spec.vms[vm];
        let memory = v.memory.as_f64();
        let ws = v.working_set.map_or(memory, |w| w.as_f64());
        let rdma_both = [from, to]
            .iter()
            .all(|&h| spec.hosts[h].nics.iter().any(|n| n.rdma != RdmaKind::None));
        let opt = settings.performance_option;
        let hints = RemedyHints {
            smb_direct_possible: rdma_both
                && !(opt == PerformanceOption::Smb && settings.smb_direct),
            more_channels_possible: spec.hosts[from].nics.len() > 1
                && (opt != PerformanceOption::Smb
                    || spec.hosts[from].teaming.mode != TeamingMode::None),
            compression_possible: opt != PerformanceOption::Compression,
        };
        precopy::forecast(memory, ws, v.dirty_rate.0, rate, settings, hints)
    }
}

/// Why a host cannot take part in a migration right now, if it cannot.
pub(super) fn host_unavailable(w: &World, h: usize) -> Option<&'static str> {
    let n = &w.nodes[h];
    if !n.powered {
        Some("is powered off")
    } else if n.service != super::ServiceState::Running {
        Some("has no running cluster service")
    } else if n.networks_cut {
        Some("has its networks cut")
    } else {
        None
    }
}

/// One call into the migration model: its state, the world, and the effects so far.
struct MigrationHandler<'a> {
    lm: &'a mut MigrationState,
    w: &'a mut World,
    fx: Effects,
}

impl MigrationState {
    /// Runs `f` on a handler for this state and returns the effects it wants applied.
    fn handle<R>(
        &mut self,
        w: &mut World,
        f: impl FnOnce(&mut MigrationHandler<'_>) -> R,
    ) -> (R, Effects) {
        let mut h = MigrationHandler {
            fx: Effects::new(w.now),
            lm: self,
            w,
        };
        let r = f(&mut h);
        (r, h.fx)
    }

    /// Requests a live migration of `vm` to `to`; it starts now or queues behind others.
    /// Refused requests change nothing.
    pub fn request(
        &mut self,
        w: &mut World,
        cluster: &ClusterState,
        vm: usize,
        to: usize,
    ) -> Result<Effects, super::CommandError> {
        let (r, fx) = self.handle(w, |x| x.request_migration(cluster, vm, to));
        r.map(|()| fx)
    }

    /// A migration's timer fired: it moves to its next phase.
    pub fn step(&mut self, w: &mut World, id: usize, generation: u64) -> Effects {
        self.handle(w, |x| x.migration_step(id, generation)).1
    }

    /// Recomputes the rates of the transferring migrations connected to `seeds` (hosts).
    pub fn recompute_rates_of(
        &mut self,
        w: &mut World,
        seeds: std::collections::BTreeSet<usize>,
    ) -> Effects {
        self.handle(w, |x| x.recompute_rates_of(seeds)).1
    }

    /// After a fault: fail what can no longer continue, then let the rest re-route.
    pub fn after_fault(&mut self, w: &mut World) -> Effects {
        self.handle(w, |x| {
            let net = x.w.net_state();
            let holding: Vec<usize> = x.lm.holding.iter().copied().collect();
            x.after_fault_rest(holding, net);
        })
        .1
    }

    /// Work asked of the migration model (by the cluster model, or the rest of its own work).
    pub fn work(&mut self, w: &mut World, work: MigrationWork) -> Effects {
        self.handle(w, |x| match work {
            MigrationWork::Fail { ids, reason } => x.fail_each(ids, reason),
            MigrationWork::StartQueuedOn(hosts) => x.start_queued_on(&hosts),
            MigrationWork::StartQueuedRest(ids) => x.start_queued_ids(ids),
            MigrationWork::AfterFaultRest { ids, net } => x.after_fault_rest(ids, net),
        })
        .1
    }
}

impl MigrationHandler<'_> {
    /// Requests a live migration; it starts now or queues behind others. Errors change nothing.
    fn request_migration(
        &mut self,
        cluster: &ClusterState,
        vm: usize,
        to: usize,
    ) -> Result<(), super::CommandError> {
        let from = self.lm.check_migration(self.w, cluster, vm, to)?;
        let vm_name = self.w.scenario.spec.vms[vm].name.clone();
        let settings = self.w.scenario.migration_settings(from);
        let forecast = self.lm.forecast_for(self.w, vm, from, to, &settings);
        let m = Migration {
            vm,
            from,
            to,
            settings,
            phase: Phase::Queued,
            requested: self.w.now,
            started: None,
            ended: None,
            passes: 0,
            stage_bytes: 0.0,
            stage_left: 0.0,
            stage_started: self.w.now,
            rate: 0.0,
            last_settle: self.w.now,
            transferred: 0.0,
            wire_bytes: 0.0,
            ratio: 1.0,
            peak_rate: 0.0,
            transfer_time_s: 0.0,
            pause_started: None,
            downtime: None,
            pause_over_target: false,
            setup_time: None,
            outcome: None,
            reason: None,
            path: String::new(),
            src_nics: Vec::new(),
            dst_nics: Vec::new(),
            tcp: false,
            forecast,
            rate_history: Vec::new(),
            generation: 0,
        };
        let detail = match &m.forecast.warning {
            Some(w) => format!(
                "live migration to {} requested; forecast: {w}",
                self.w.scenario.spec.hosts[to].name
            ),
            None => format!(
                "live migration to {} requested; forecast: {} pass(es), {:.1} s, pause {:.0} ms",
                self.w.scenario.spec.hosts[to].name,
                m.forecast.passes,
                m.forecast.total_s,
                m.forecast.pause_ms
            ),
        };
        let id = self.lm.migrations.len();
        self.lm.migrations.push(m);
        self.lm.queued.insert(id);
        self.lm.queued_by_host[from].insert(id);
        self.lm.queued_by_host[to].insert(id);
        self.lm.vm_busy[vm] = true;
        self.fx.log(EventKind::Operation, vm_name, detail, None);
        self.start_queued_on(&[from, to]);
        Ok(())
    }

    /// Moves a migration to a new phase, keeping slots and the phase indexes in step.
    fn set_phase(&mut self, id: usize, phase: Phase) {
        let old = self.lm.migrations[id].phase;
        let (from, to, vm) = (
            self.lm.migrations[id].from,
            self.lm.migrations[id].to,
            self.lm.migrations[id].vm,
        );
        if old.holds_slot() && !phase.holds_slot() {
            self.lm.slots[from] -= 1;
            self.lm.slots[to] -= 1;
            self.lm.holding.remove(&id);
        } else if !old.holds_slot() && phase.holds_slot() {
            self.lm.slots[from] += 1;
            self.lm.slots[to] += 1;
            self.lm.holding.insert(id);
        }
        if old.transfers() != phase.transfers() {
            if phase.transfers() {
                self.lm.transferring.insert(id);
            } else {
                self.lm.transferring.remove(&id);
            }
            self.fx.rerate(from);
            self.fx.rerate(to);
        }
        if old == Phase::Queued {
            self.lm.queued.remove(&id);
            self.lm.queued_by_host[from].remove(&id);
            self.lm.queued_by_host[to].remove(&id);
        }
        if phase.finished() {
            self.lm.vm_busy[vm] = false;
        }
        self.lm.migrations[id].phase = phase;
    }

    /// Starts queued migrations, oldest first, while both of their hosts have a free slot.
    pub(super) fn start_queued(&mut self) {
        let all: Vec<usize> = (0..self.w.nodes.len()).collect();
        self.start_queued_on(&all);
    }

    /// Like [`Self::start_queued`], for the migrations that involve one of `hosts` (where a slot
    /// freed or a host changed).
    pub(super) fn start_queued_on(&mut self, hosts: &[usize]) {
        let mut queued: Vec<usize> = Vec::new();
        for &h in hosts {
            // Walk a host's queue only while it has a free slot: the rest cannot start anyway.
            let free = self.lm.slots[h] < self.lm.max_simultaneous[h];
            if free || host_unavailable(self.w, h).is_some() {
                queued.extend(self.lm.queued_by_host[h].iter().copied());
            }
        }
        queued.sort_unstable();
        queued.dedup();
        self.start_queued_ids(queued);
    }

    /// Starts the queued migrations among `ids`, in order, where both hosts have a free slot.
    fn start_queued_ids(&mut self, ids: Vec<usize>) {
        let mut ids = ids.into_iter();
        while let Some(id) = ids.next() {
            if self.lm.migrations[id].phase != Phase::Queued {
                continue;
            }
            let (from, to) = (self.lm.migrations[id].from, self.lm.migrations[id].to);
            if let Some((h, why)) = host_unavailable(self.w, to)
                .map(|w| (to, w))
                .or(host_unavailable(self.w, from).map(|w| (from, w)))
            {
                let reason = format!("{} {why}", self.w.scenario.spec.hosts[h].name);
                self.fail(id, reason);
                if self.fx.asks_work() {
                    // The rest waits for what the failure set off.
                    let rest: Vec<usize> = ids.collect();
                    if !rest.is_empty() {
                        self.fx.migration(MigrationWork::StartQueuedRest(rest));
                    }
                    return;
                }
                continue;
            }
            let max_from = self.lm.max_simultaneous[from];
            let max_to = self.lm.max_simultaneous[to];
            if self.lm.slots[from] >= max_from || self.lm.slots[to] >= max_to {
                continue;
            }
            let now = self.w.now;
            self.set_phase(id, Phase::Setup);
            let m = &mut self.lm.migrations[id];
            m.started = Some(now);
            m.stage_started = now;
            let setup = m.settings.setup;
            let vm = m.vm;
            let detail = format!(
                "{} → {}: setup",
                self.w.scenario.spec.hosts[from].name, self.w.scenario.spec.hosts[to].name
            );
            self.schedule_step(id, now + setup);
            let name = self.w.scenario.spec.vms[vm].name.clone();
            self.fx.log(EventKind::MigrationStart, name, detail, None);
        }
    }

    fn schedule_step(&mut self, id: usize, at: SimTime) {
        let m = &mut self.lm.migrations[id];
        m.generation += 1;
        let generation = m.generation;
        self.fx.timer(at, Scheduled::Migration { id, generation });
    }

    /// A migration's timer fired: move it to its next phase.
    pub(super) fn migration_step(&mut self, id: usize, generation: u64) {
        if self
            .lm
            .migrations
            .get(id)
            .is_none_or(|m| m.generation != generation)
        {
            return; // superseded by a rate change or a failure
        }
        let now = self.w.now;
        let name = self.w.scenario.spec.vms[self.lm.migrations[id].vm]
            .name
            .clone();
        match self.lm.migrations[id].phase {
            Phase::Setup => {
                let m = &mut self.lm.migrations[id];
                m.setup_time = Some(now.since(m.started.unwrap_or(now)));
                let mem = self.w.scenario.spec.vms[m.vm].memory.as_f64();
                m.stage_bytes = mem;
                m.stage_left = mem;
                m.stage_started = now;
                m.last_settle = now;
                self.set_phase(id, Phase::Precopy);
                self.fx.marked(
                    EventKind::MigrationPhase,
                    name,
                    format!("pass 1: {}", fmt_bytes(mem)),
                    None,
                    Mark::PassStarted { pass: 1 },
                );
            }
            Phase::Precopy => {
                self.settle(id);
                let spec = &self.w.scenario.spec;
                let m = &mut self.lm.migrations[id];
                let v = &spec.vms[m.vm];
                let ws = v.working_set.map_or(v.memory.as_f64(), |w| w.as_f64());
                let dt = now.since(m.stage_started).as_secs_f64();
                let dirty = precopy::dirtied_bytes(ws, v.dirty_rate.0, dt);
                m.passes += 1;
                m.stage_started = now;
                let (detail, mark) = match precopy::after_pass(m.passes, dirty, m.rate, &m.settings)
                {
                    Next::Pass(b) => {
                        m.stage_bytes = b;
                        m.stage_left = b;
                        let text = format!(
                            "pass {}: {} dirtied during pass {}",
                            m.passes + 1,
                            fmt_bytes(b),
                            m.passes
                        );
                        (text, Mark::PassStarted { pass: m.passes + 1 })
                    }
                    Next::SwitchOver(b) => {
                        let bytes = precopy::switchover_bytes(b, &m.settings);
                        m.stage_bytes = bytes;
                        m.stage_left = bytes;
                        m.pause_started = Some(now);
                        let text = format!(
                            "switch-over after {} pass{}: VM paused, {} left plus device state",
                            m.passes,
                            if m.passes == 1 { "" } else { "es" },
                            fmt_bytes(b)
                        );
                        (text, Mark::SwitchOver)
                    }
                };
                if self.lm.migrations[id].pause_started == Some(now) {
                    self.set_phase(id, Phase::SwitchOver);
                }
                self.fx
                    .marked(EventKind::MigrationPhase, name, detail, None, mark);
                self.reschedule(id);
            }
            Phase::SwitchOver => {
                self.settle(id);
                self.set_phase(id, Phase::Resume); // its connections close
                let m = &mut self.lm.migrations[id];
                m.stage_left = 0.0;
                let overhead = m.settings.switchover_overhead;
                self.schedule_step(id, now + overhead);
            }
            Phase::Resume => {
                let m = &mut self.lm.migrations[id];
                let pause = now.since(m.pause_started.unwrap_or(now));
                m.downtime = Some(pause);
                let (vm, to, cleanup) = (m.vm, m.to, m.settings.cleanup);
                self.set_phase(id, Phase::Cleanup);
                // The one instant ownership moves.
                self.w.vms[vm].host = to;
                self.w.vms[vm].state = VmState::Running;
                self.w.note_vm_state(vm);
                self.fx.cluster(ClusterWork::MigratedIn(vm));
                let to_name = self.w.scenario.spec.hosts[to].name.clone();
                self.fx.marked(
                    EventKind::MigrationPhase,
                    name,
                    format!(
                        "resumed on {to_name} after a {:.1} ms pause; source cleaning up",
                        pause.as_millis_f64()
                    ),
                    None,
                    Mark::Resumed,
                );
                self.schedule_step(id, now + cleanup);
            }
            Phase::Cleanup => {
                self.set_phase(id, Phase::Completed);
                let m = &mut self.lm.migrations[id];
                m.ended = Some(now);
                m.outcome = Some(Outcome::Completed);
                m.generation += 1;
                let total = now.since(m.started.unwrap_or(now)).as_secs_f64();
                let avg = if m.transfer_time_s > 0.0 {
                    m.transferred * 8.0 / 1e9 / m.transfer_time_s
                } else {
                    0.0
                };
                let pause = m.downtime.unwrap_or(SimDuration::ZERO);
                let target = m.settings.target_pause;
                m.pause_over_target = pause > target;
                let mut detail = format!(
                    "completed in {total:.1} s: {} pass{}, pause {:.1} ms, {avg:.2} Gbps average",
                    m.passes,
                    if m.passes == 1 { "" } else { "es" },
                    pause.as_millis_f64()
                );
                // Hyper-V logs 20417 for a migration that succeeded with an unexpectedly long
                // blackout; we flag any pause over the target (threshold: assumption).
                let event_id = if m.pause_over_target {
                    detail.push_str(&format!(
                        " — the pause was over the {:.0} ms target: the guest was frozen that long",
                        target.as_millis_f64()
                    ));
                    Some(20417)
                } else {
                    None
                };
                let mark = Mark::MigrationEnded(Outcome::Completed);
                self.fx
                    .marked(EventKind::MigrationEnd, name, detail, event_id, mark);
                let (from, to) = (self.lm.migrations[id].from, self.lm.migrations[id].to);
                self.start_queued_on(&[from, to]);
                self.fx.cluster(ClusterWork::CheckDrains);
            }
            Phase::Queued | Phase::Completed | Phase::Failed => {}
        }
    }

    /// Counts bytes sent since the last settlement at the current rate.
    fn settle(&mut self, id: usize) {
        let now = self.w.now;
        let m = &mut self.lm.migrations[id];
        if m.phase.transfers() {
            let dt = now.since(m.last_settle).as_secs_f64();
            let sent = (m.rate * dt).min(m.stage_left);
            m.stage_left -= sent;
            m.transferred += sent;
            m.transfer_time_s += dt;
            m.wire_bytes += sent / m.ratio.max(1.0);
        }
        m.last_settle = now;
    }

    /// Schedules the end of the current stage of one migration at its current rate.
    fn reschedule(&mut self, id: usize) {
        let m = &self.lm.migrations[id];
        if m.rate > 0.0 && m.phase.transfers() {
            let secs = m.stage_left / m.rate;
            let at = self.w.now + SimDuration::from_secs_f64(secs).max(SimDuration::from_micros(1));
            self.schedule_step(id, at);
        } else {
            // Stalled: no event until the rate changes.
            self.lm.migrations[id].generation += 1;
        }
    }

    /// Recomputes rates where something changed: the transferring migrations connected (through
    /// shared hosts) to the hosts in `seeds`. Components that share no host share no resource,
    /// so solving them apart gives the same rates as solving everything.
    fn recompute_rates_of(&mut self, seeds: std::collections::BTreeSet<usize>) {
        // Grow the host set over transferring migrations until it is closed.
        let mut hosts = seeds;
        let ids: Vec<usize> = loop {
            let before = hosts.len();
            let ids: Vec<usize> = self
                .lm
                .transferring
                .iter()
                .copied()
                .filter(|&i| {
                    hosts.contains(&self.lm.migrations[i].from)
                        || hosts.contains(&self.lm.migrations[i].to)
                })
                .collect();
            for &i in &ids {
                hosts.insert(self.lm.migrations[i].from);
                hosts.insert(self.lm.migrations[i].to);
            }
            if hosts.len() == before {
                break ids;
            }
        };
        for &id in &ids {
            self.settle(id);
        }
        let reqs: Vec<MigrationReq> = ids
            .iter()
            .map(|&i| {
                let m = &self.lm.migrations[i];
                MigrationReq {
                    vm: m.vm,
                    from: m.from,
                    to: m.to,
                }
            })
            .collect();
        let sol = solve(
            &self.w.scenario.spec,
            &reqs,
            &self.w.net_state(),
            self.w.seed,
        );
        for &h in &hosts {
            self.lm.host_cpu[h] = sol.hosts[h].cpu_pct;
            self.lm.host_lp[h].clone_from(&sol.hosts[h].lp_pct);
            self.lm.host_links[h].clone_from(&sol.links[h]);
        }
        let mut no_path = Vec::new();
        for (k, &id) in ids.iter().enumerate() {
            let r = &sol.migrations[k];
            let now = self.w.now;
            let m = &mut self.lm.migrations[id];
            if m.path.is_empty() {
                m.path = r.path.clone();
                m.tcp = r.tcp;
                m.src_nics = r.src_nics.clone();
                m.dst_nics = r.dst_nics.clone();
            }
            m.ratio = r.compression_ratio;
            if r.connections == 0 {
                no_path.push(id);
            }
            if (r.memory_bytes_per_s - m.rate).abs() > 1e-6 || m.rate_history.is_empty() {
                m.rate_history.push((now, r.memory_bytes_per_s * 8.0 / 1e9));
            }
            m.rate = r.memory_bytes_per_s;
            m.peak_rate = m.peak_rate.max(m.rate);
            self.reschedule(id);
        }
        self.fail_each(no_path, "no network path left between the hosts".into());
    }

    /// Fails `ids` one after the other, each after what the one before set off.
    fn fail_each(&mut self, ids: Vec<usize>, reason: String) {
        let mut ids = ids.into_iter();
        while let Some(id) = ids.next() {
            self.fail(id, reason.clone());
            if self.fx.asks_work() {
                let rest: Vec<usize> = ids.collect();
                if !rest.is_empty() {
                    self.fx.migration(MigrationWork::Fail { ids: rest, reason });
                }
                return;
            }
        }
    }

    /// Ends a migration unsuccessfully. The VM stays on (or returns to) its source. What follows
    /// (the drain told, queued migrations started, drains checked) is asked for as work.
    fn fail(&mut self, id: usize, reason: String) {
        if self.lm.migrations[id].phase.finished() || self.lm.migrations[id].phase == Phase::Cleanup
        {
            return; // after resume the VM already runs on the destination: nothing to undo
        }
        self.settle(id);
        let now = self.w.now;
        self.set_phase(id, Phase::Failed);
        let m = &mut self.lm.migrations[id];
        m.ended = Some(now);
        m.outcome = Some(Outcome::Failed);
        m.reason = Some(reason.clone());
        m.generation += 1;
        let (vm, from) = (m.vm, m.from);
        if m.pause_started.is_some() {
            m.downtime = Some(now.since(m.pause_started.unwrap_or(now)));
        }
        // The source stays the authoritative copy: the VM resumes there if the host is alive.
        self.w.vms[vm].host = from;
        if !self.w.nodes[from].powered {
            self.w.vms[vm].state = VmState::Off;
            self.w.note_vm_state(vm);
        }
        let name = self.w.scenario.spec.vms[vm].name.clone();
        let from_name = self.w.scenario.spec.hosts[from].name.clone();
        self.fx.marked(
            EventKind::MigrationEnd,
            name,
            format!("failed: {reason}; the VM stays on {from_name}"),
            None,
            Mark::MigrationEnded(Outcome::Failed),
        );
        // A drain's live migration failed: the drain is Failed and retried (cluster.rs).
        let vm_name = self.w.scenario.spec.vms[vm].name.clone();
        self.fx.cluster(ClusterWork::LiveMigrationFailed {
            vm,
            from,
            why: format!("{vm_name} could not be moved ({reason})"),
        });
        let to = self.lm.migrations[id].to;
        self.fx
            .migration(MigrationWork::StartQueuedOn(vec![from, to]));
        self.fx.cluster(ClusterWork::CheckDrains);
    }

    /// After a fault: fail what can no longer continue among `ids` (checked against the network
    /// `net` as the fault left it), then let the rest re-route.
    fn after_fault_rest(&mut self, ids: Vec<usize>, net: crate::transport::NetState) {
        let mut ids = ids.into_iter();
        while let Some(id) = ids.next() {
            if self.fx.asks_work() {
                // A failure set something off: the rest waits for it.
                let ids = std::iter::once(id).chain(ids).collect();
                self.fx
                    .migration(MigrationWork::AfterFaultRest { ids, net });
                return;
            }
            let m = &self.lm.migrations[id];
            if !m.phase.holds_slot() {
                continue;
            }
            let (from, to) = (m.from, m.to);
            if let Some(why) = host_unavailable(self.w, from) {
                let r = format!("source {} {why}", self.w.scenario.spec.hosts[from].name);
                self.fail(id, r);
                continue;
            }
            if let Some(why) = host_unavailable(self.w, to) {
                let r = format!("destination {} {why}", self.w.scenario.spec.hosts[to].name);
                self.fail(id, r);
                continue;
            }
            let m = &self.lm.migrations[id];
            if m.tcp && m.phase.transfers() {
                // A TCP connection cannot move to another interface; a team re-hashes inside itself.
                let down = |h: usize, nics: &[usize]| {
                    !nics.is_empty()
                        && nics
                            .iter()
                            .all(|&n| !net.nic_up[h].get(n).copied().unwrap_or(false))
                };
                if down(from, &m.src_nics) || down(to, &m.dst_nics) {
                    let r = "its TCP connection's NIC went down".to_string();
                    self.fail(id, r);
                }
            }
        }
        if self.fx.asks_work() {
            self.fx.migration(MigrationWork::AfterFaultRest {
                ids: Vec::new(),
                net,
            });
            return;
        }
        // The network changed: every transferring migration may re-route.
        let hosts: Vec<usize> = self
            .lm
            .transferring
            .iter()
            .flat_map(|&i| [self.lm.migrations[i].from, self.lm.migrations[i].to])
            .collect();
        for h in hosts {
            self.fx.rerate(h);
        }
        self.start_queued();
    }
}

/// The live-migration model's own state: every migration, host slots, the queue and the phase
/// indexes (which keep it fast with thousands of migrations), and the latest transport results.
#[derive(Clone, Debug, Default)]
pub struct MigrationState {
    /// Every migration ever requested, in request order.
    pub migrations: Vec<Migration>,
    pub slots: Vec<u32>,
    pub max_simultaneous: Vec<u32>,
    pub queued: std::collections::BTreeSet<usize>,
    /// Queued migrations by the hosts they involve (each is in two sets).
    pub queued_by_host: Vec<std::collections::BTreeSet<usize>>,
    pub holding: std::collections::BTreeSet<usize>,
    pub transferring: std::collections::BTreeSet<usize>,
    pub vm_busy: Vec<bool>,
    /// Latest live-migration CPU % and link use per host.
    pub host_cpu: Vec<f64>,
    pub host_links: Vec<Vec<crate::transport::LinkUse>>,
    /// Latest live-migration CPU % per logical processor.
    pub host_lp: Vec<Vec<f64>>,
}

impl MigrationState {
    pub fn new(spec: &crate::scenario::ScenarioSpec) -> MigrationState {
        MigrationState {
            slots: vec![0; spec.hosts.len()],
            max_simultaneous: spec
                .hosts
                .iter()
                .map(|h| spec.migration.with(&h.migration).max_simultaneous)
                .collect(),
            vm_busy: vec![false; spec.vms.len()],
            queued_by_host: vec![Default::default(); spec.hosts.len()],
            host_cpu: vec![0.0; spec.hosts.len()],
            host_lp: vec![Vec::new(); spec.hosts.len()],
            host_links: spec
                .hosts
                .iter()
                .map(|h| vec![Default::default(); h.nics.len()])
                .collect(),
            ..MigrationState::default()
        }
    }
}

fn fmt_bytes(b: f64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if b >= 1024.0 * MIB {
        format!("{:.2} GiB", b / (1024.0 * MIB))
    } else if b >= MIB {
        format!("{:.1} MiB", b / MIB)
    } else {
        format!("{:.0} KiB", b / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::super::effects::Effect;
    use super::super::world::test_lab;
    use super::*;

    #[test]
    fn a_live_migration_request_logs_the_request_and_its_setup_and_sets_the_setup_timer() {
        let (mut w, c, mut lm) = test_lab();
        let fx = lm
            .request(&mut w, &c, 0, 1)
            .expect("vm-sofs-1 may move to node2");
        let setup = lm.migrations[0].settings.setup;
        match fx.list() {
            [
                Effect::Log(requested),
                Effect::Timer {
                    at,
                    what: Scheduled::Migration { id: 0, generation },
                },
                Effect::Log(started),
            ] => {
                assert_eq!(requested.kind, EventKind::Operation);
                assert!(
                    requested
                        .detail
                        .starts_with("live migration to node2 requested; forecast:")
                );
                assert_eq!(started.kind, EventKind::MigrationStart);
                assert_eq!(started.detail, "node1 → node2: setup");
                assert_eq!(*at, w.now + setup);
                assert_eq!(*generation, lm.migrations[0].generation);
            }
            other => panic!("unexpected effects {other:?}"),
        }
        assert_eq!(lm.migrations[0].phase, Phase::Setup);
        assert_eq!((lm.slots[0], lm.slots[1]), (1, 1));
        // The setup ends: pass 1 starts, and both hosts' rates are to be recomputed.
        w.now = w.now + setup;
        let generation = lm.migrations[0].generation;
        let fx = lm.step(&mut w, 0, generation);
        assert!(matches!(
            fx.list(),
            [Effect::Rerate(0), Effect::Rerate(1), Effect::Log(l)]
                if l.mark == Mark::PassStarted { pass: 1 }
        ));
    }
}
