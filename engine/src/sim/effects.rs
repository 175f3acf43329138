//! What a model's handler wants done, returned as a value: log entries, timers, hosts whose
//! migration rates must be recomputed, and work asked of a model (the other one, or the rest of
//! its own reaction once that work is done). The simulation loop applies the effects in order;
//! work asked of a model runs to completion, with everything it returns, before the next effect.
//!
//! Invariants:
//! - a handler changes the world itself only up to the first piece of work it asks of a model;
//!   whatever it does after that is itself asked for (`ClusterWork` and `MigrationWork` carry the
//!   rest of a loop), so the world changes in the same order as if the models called each other;
//! - a timer carries the generation it was set with, read when the handler set it.

use super::{EventKind, LogEvent, Mark, Scheduled};
use crate::time::SimTime;
use crate::transport::NetState;

/// One thing a handler wants done.
#[derive(Clone, Debug)]
pub(super) enum Effect {
    /// Append an entry to the event log.
    Log(LogEvent),
    /// Queue a model's timer.
    Timer { at: SimTime, what: Scheduled },
    /// Recompute the migration rates through this host before time moves on.
    Rerate(usize),
    /// Work for the failover-cluster model.
    Cluster(ClusterWork),
    /// Work for the live-migration model.
    Migration(MigrationWork),
    /// A drain asks for a live migration of `vm` to `to`, then goes on with `rest` (which hears
    /// why the request was refused, if it was).
    DrainMigrate {
        vm: usize,
        to: usize,
        rest: DrainRest,
    },
}

/// Work asked of the failover-cluster model.
#[derive(Clone, Debug)]
pub(super) enum ClusterWork {
    /// Mark drains complete and finish clean stops (after a migration ended).
    CheckDrains,
    /// The rest of [`ClusterWork::CheckDrains`], from this host on.
    CheckDrainsFrom(usize),
    /// A live migration of `vm` from `from` failed; a drain of `from` is Failed and retried.
    LiveMigrationFailed { vm: usize, from: usize, why: String },
    /// A live migration moved `vm` to its destination: its role is Online and monitored.
    MigratedIn(usize),
    /// Storage resiliency for every VM on a node.
    RefreshStorageOfNode(usize),
    /// The rest of losing quorum, after the migrations failed: `nodes` were members.
    QuorumLost { nodes: Vec<usize>, resilient: bool },
    /// The rest of a drain.
    Drain(DrainRest),
}

/// Where a drain is: the VMs still to move off `host` (the next one last), memory as the drain
/// has placed it so far, and why the drain failed, if it has.
#[derive(Clone, Debug)]
pub(super) struct DrainRest {
    pub host: usize,
    pub vms: Vec<usize>,
    pub used: Vec<u64>,
    pub failed: Option<String>,
}

/// Work asked of the live-migration model.
#[derive(Clone, Debug)]
pub(super) enum MigrationWork {
    /// Fail these migrations one after the other.
    Fail { ids: Vec<usize>, reason: String },
    /// Start queued migrations that involve one of these hosts.
    StartQueuedOn(Vec<usize>),
    /// The rest of starting queued migrations: these candidates, in order.
    StartQueuedRest(Vec<usize>),
    /// The rest of reacting to a fault: check these migrations against the network `net`.
    AfterFaultRest { ids: Vec<usize>, net: NetState },
}

/// What a handler returns: effects in the order they must be applied.
#[derive(Clone, Debug)]
pub(super) struct Effects {
    /// The instant the handler ran at (log entries carry it).
    now: SimTime,
    list: Vec<Effect>,
    /// Whether `list` holds work asked of a model.
    asks_work: bool,
}

impl Effects {
    pub fn new(now: SimTime) -> Effects {
        Effects {
            now,
            list: Vec::new(),
            asks_work: false,
        }
    }

    /// Logs an event; faults and repairs are marked as such.
    pub fn log(&mut self, kind: EventKind, subject: String, detail: String, event_id: Option<u32>) {
        self.marked(kind, subject, detail, event_id, Mark::of(kind));
    }

    /// Logs an event with what it marks on a timeline.
    pub fn marked(
        &mut self,
        kind: EventKind,
        subject: String,
        detail: String,
        event_id: Option<u32>,
        mark: Mark,
    ) {
        self.list.push(Effect::Log(LogEvent {
            t: self.now,
            kind,
            subject,
            detail,
            event_id,
            mark,
        }));
    }

    pub fn timer(&mut self, at: SimTime, what: Scheduled) {
        self.list.push(Effect::Timer { at, what });
    }

    pub fn rerate(&mut self, host: usize) {
        self.list.push(Effect::Rerate(host));
    }

    pub fn cluster(&mut self, work: ClusterWork) {
        self.push(Effect::Cluster(work));
    }

    pub fn migration(&mut self, work: MigrationWork) {
        self.push(Effect::Migration(work));
    }

    pub fn push(&mut self, e: Effect) {
        self.asks_work |= matches!(
            e,
            Effect::Cluster(_) | Effect::Migration(_) | Effect::DrainMigrate { .. }
        );
        self.list.push(e);
    }

    /// Whether work was asked of a model: whatever the handler does next must be asked for too.
    pub fn asks_work(&self) -> bool {
        self.asks_work
    }

    /// The effects, in order.
    #[cfg(test)]
    pub fn list(&self) -> &[Effect] {
        &self.list
    }

    pub fn into_list(self) -> Vec<Effect> {
        self.list
    }
}
