//! Replay Manager backup sets, their jobs and the VSS rules that decide a job's outcome
//! (backup-and-is.md §1-§5, the state machine of §7.1): one queue per Replay Manager server
//! (FIFO, at most `queue_max`, a warning above `queue_warn_above`, the rest discarded), one job
//! running at a time, one shadow-copy set in creation per node (a second requester gets
//! `VSS_E_SNAPSHOT_SET_IN_PROGRESS`), retries of retryable failures, restore points and their
//! retention.
//!
//! Invariants:
//! - a job's phases only move forward, and a timer only moves the job on from the phase it was
//!   set for; a job ends once, `Succeeded`, `Failed` or `Discarded`;
//! - a node's VSS lock is held by at most one requester, from StartSnapshotSet until the commit
//!   (DoSnapshotSet) ends or the job fails;
//! - a VM is marked as being backed up (live migration refused) from PrepareForSnapshot to
//!   PostSnapshot of a running job only;
//! - a restore point keeps the retention its set had when it was made.

use super::effects::Effects;
use super::integration::IntegrationState;
use super::world::World;
use super::{EventKind, Mark, Scheduled, VmState};
use crate::scenario::{BackupFallback, BackupSetKind, VmMoved};
use crate::time::SimTime;
use serde::Serialize;
use std::collections::VecDeque;

/// Where a job is (§7.1; StartSnapshotSet is the instant between Preparing and GuestPrep).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum JobPhase {
    Queued,
    Preparing,
    /// PrepareForSnapshot: the guests' own snapshots or saved states.
    GuestPrep,
    /// Freeze, the array snapshots, thaw.
    Commit,
    PostSnapshot,
    Done,
}

/// How a job ended (Backup State Successful / Failed; Discarded by a full queue).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobOutcome {
    Succeeded,
    Failed,
    Discarded,
}

impl JobOutcome {
    /// The name reports and CSV files use.
    pub fn name(self) -> &'static str {
        match self {
            JobOutcome::Succeeded => "succeeded",
            JobOutcome::Failed => "failed",
            JobOutcome::Discarded => "discarded",
        }
    }
}

/// How one VM was backed up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VmBackup {
    /// Child VM snapshot through the guest's VSS: application-consistent.
    Online,
    /// Saved for the snapshot (through the cluster).
    SavedState,
    /// Copied as it was, with a warning.
    CrashConsistent,
    /// The VM was off.
    Offline,
    /// Left out: it runs on another host than the set's (`vm_moved = "skip_vm"`).
    Skipped,
}

impl VmBackup {
    /// The name reports and CSV files use.
    pub fn name(self) -> &'static str {
        match self {
            VmBackup::Online => "online",
            VmBackup::SavedState => "saved_state",
            VmBackup::CrashConsistent => "crash_consistent",
            VmBackup::Offline => "offline",
            VmBackup::Skipped => "skipped",
        }
    }
}

/// One run of a backup set. A retry is a new job with the next `attempt`.
#[derive(Clone, Debug, PartialEq)]
pub struct BackupJob {
    /// Index of the set in the scenario.
    pub set: usize,
    /// 1 for the scheduled or manual run, 2 for its first retry, …
    pub attempt: u32,
    pub manual: bool,
    pub queued: SimTime,
    pub started: Option<SimTime>,
    pub ended: Option<SimTime>,
    pub phase: JobPhase,
    pub outcome: Option<JobOutcome>,
    /// The VMs the job covered and how.
    pub vms: Vec<(usize, VmBackup)>,
    /// The VSS or Replay Manager error code of a failure.
    pub code: Option<u32>,
    pub error: Option<String>,
    /// When the retry of this failed job runs.
    pub retry_at: Option<SimTime>,
}

/// A restore point (one per successful job), holding one replay per snapshotted volume.
#[derive(Clone, Debug, PartialEq)]
pub struct RestorePoint {
    pub set: usize,
    pub job: usize,
    pub created: SimTime,
    pub replays: u32,
    /// The set's retention when the point was made: it expires once this many newer exist.
    pub keep_points: u32,
    pub expired: Option<SimTime>,
}

/// A third-party requester's use of a node's hardware VSS provider.
#[derive(Clone, Debug, PartialEq)]
pub struct ThirdPartyRun {
    pub node: usize,
    pub start: SimTime,
    pub end: SimTime,
    /// It found the snapshot set in progress and failed.
    pub failed: bool,
}

/// A timer of the backup model.
#[derive(Clone, Copy, Debug)]
pub(super) enum BackupTimer {
    /// A set's schedule is due.
    SetDue(usize),
    /// A job's phase ends.
    Step { job: usize, phase: JobPhase },
    /// A failed job's retry is due.
    Retry(usize),
    /// A third-party requester's snapshot set is done (index into the runs).
    ThirdPartyDone(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum VssHolder {
    Job(usize),
    ThirdParty(usize),
}

/// `VSS_E_SNAPSHOT_SET_IN_PROGRESS`.
pub const VSS_E_SNAPSHOT_SET_IN_PROGRESS: u32 = 0x8004_2316;
/// `VSS_E_WRITERERROR_NONRETRYABLE`.
pub const VSS_E_WRITERERROR_NONRETRYABLE: u32 = 0x8004_23F4;

/// The backup model's state: jobs, the queue, VSS locks per node, restore points.
#[derive(Clone, Debug)]
pub(super) struct BackupState {
    pub jobs: Vec<BackupJob>,
    queue: VecDeque<usize>,
    running: Option<usize>,
    vss: Vec<Option<VssHolder>>,
    pub points: Vec<RestorePoint>,
    pub third_party: Vec<ThirdPartyRun>,
    /// Each set's current retention (a modified set keeps its restore points).
    pub keep: Vec<u32>,
    /// VMs this model saved for a saved-state backup (to resume them).
    saved: Vec<usize>,
}

impl BackupState {
    pub fn new(w: &World) -> BackupState {
        BackupState {
            jobs: Vec::new(),
            queue: VecDeque::new(),
            running: None,
            vss: vec![None; w.nodes.len()],
            points: Vec::new(),
            third_party: Vec::new(),
            keep: w
                .scenario
                .spec
                .backup_sets
                .iter()
                .map(|s| s.keep_points)
                .collect(),
            saved: Vec::new(),
        }
    }

    /// The first timer of every scheduled set (what the simulation queues at time zero).
    pub fn first_timers(w: &World) -> Vec<(SimTime, BackupTimer)> {
        w.scenario
            .spec
            .backup_sets
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let sch = s.schedule.as_ref()?;
                Some((SimTime::ZERO + sch.start, BackupTimer::SetDue(i)))
            })
            .collect()
    }

    fn set_name(w: &World, set: usize) -> String {
        w.scenario.spec.backup_sets[set].name.clone()
    }

    fn log(fx: &mut Effects, w: &World, set: usize, text: String, mark: Mark) {
        fx.marked(EventKind::Backup, Self::set_name(w, set), text, None, mark);
    }

    /// A timer fired.
    pub fn timer_fired(&mut self, w: &mut World, is: &IntegrationState, t: BackupTimer) -> Effects {
        let mut fx = Effects::new(w.now);
        match t {
            BackupTimer::SetDue(set) => {
                if let Some(every) = w.scenario.spec.backup_sets[set]
                    .schedule
                    .as_ref()
                    .and_then(|s| s.every)
                {
                    let next = Scheduled::Backup(BackupTimer::SetDue(set));
                    fx.timer(w.now + every, next);
                }
                self.new_job(w, set, 1, false, &mut fx);
            }
            BackupTimer::Step { job, phase } => {
                if self.jobs[job].phase == phase {
                    self.step(w, is, job, &mut fx);
                }
            }
            BackupTimer::Retry(job) => {
                let (set, attempt, manual) = {
                    let j = &self.jobs[job];
                    (j.set, j.attempt + 1, j.manual)
                };
                self.new_job(w, set, attempt, manual, &mut fx);
            }
            BackupTimer::ThirdPartyDone(run) => {
                if let Some(n) =
                    (0..self.vss.len()).find(|&n| self.vss[n] == Some(VssHolder::ThirdParty(run)))
                {
                    self.vss[n] = None;
                    let node = w.scenario.spec.hosts[n].name.clone();
                    fx.log(
                        EventKind::Backup,
                        node,
                        "third-party backup finished: its shadow-copy set is created".into(),
                        None,
                    );
                }
            }
        }
        fx
    }

    /// `run_backup_set`: a manual run.
    pub fn run_now(&mut self, w: &World, set: usize) -> Effects {
        let mut fx = Effects::new(w.now);
        self.new_job(w, set, 1, true, &mut fx);
        fx
    }

    /// `modify_backup_set`: edited in place; existing restore points keep their retention.
    pub fn modify(&mut self, w: &World, set: usize, keep: u32) -> Effects {
        let mut fx = Effects::new(w.now);
        self.keep[set] = keep;
        let kept = self
            .points
            .iter()
            .filter(|p| p.set == set && p.expired.is_none())
            .count();
        let text = format!(
            "backup set modified in place (Replay Manager 7.6): new restore points are kept {keep}; its {kept} restore points keep the retention they were made with"
        );
        Self::log(&mut fx, w, set, text, Mark::None);
        fx
    }

    /// `third_party_backup`: another requester takes the node's hardware VSS provider.
    pub fn third_party(&mut self, w: &World, node: usize, d: crate::SimDuration) -> Effects {
        let mut fx = Effects::new(w.now);
        let name = w.scenario.spec.hosts[node].name.clone();
        let run = self.third_party.len();
        let failed = self.vss[node].is_some();
        self.third_party.push(ThirdPartyRun {
            node,
            start: w.now,
            end: if failed { w.now } else { w.now + d },
            failed,
        });
        if failed {
            fx.marked(
                EventKind::Backup,
                name,
                "third-party backup failed: StartSnapshotSet returned VSS_E_SNAPSHOT_SET_IN_PROGRESS (0x80042316), Replay Manager's snapshot set is in creation".into(),
                None,
                Mark::VssConflict,
            );
        } else {
            self.vss[node] = Some(VssHolder::ThirdParty(run));
            let t = Scheduled::Backup(BackupTimer::ThirdPartyDone(run));
            fx.timer(w.now + d, t);
        }
        fx
    }

    fn new_job(&mut self, w: &World, set: usize, attempt: u32, manual: bool, fx: &mut Effects) {
        let b = &w.scenario.spec.backup;
        let id = self.jobs.len();
        self.jobs.push(BackupJob {
            set,
            attempt,
            manual,
            queued: w.now,
            started: None,
            ended: None,
            phase: JobPhase::Queued,
            outcome: None,
            vms: Vec::new(),
            code: None,
            error: None,
            retry_at: None,
        });
        let waiting = self.queue.len() + usize::from(self.running.is_some());
        if waiting >= b.queue_max as usize {
            let j = &mut self.jobs[id];
            j.phase = JobPhase::Done;
            j.outcome = Some(JobOutcome::Discarded);
            j.ended = Some(w.now);
            let text = format!(
                "the backup job queue accepts no more jobs ({} queued): the job was discarded",
                b.queue_max
            );
            Self::log(fx, w, set, text, Mark::BackupEnded(JobOutcome::Discarded));
            return;
        }
        self.queue.push_back(id);
        let what = if attempt > 1 {
            format!("retry {} of {}", attempt - 1, b.retry_attempts)
        } else if manual {
            "manual run".into()
        } else {
            "scheduled run".into()
        };
        Self::log(
            fx,
            w,
            set,
            format!("backup job queued ({what})"),
            Mark::None,
        );
        if self.queue.len() > b.queue_warn_above as usize {
            let text = format!(
                "warning: {} backup jobs are queued (more than {})",
                self.queue.len(),
                b.queue_warn_above
            );
            Self::log(fx, w, set, text, Mark::None);
        }
        self.try_start(w, fx);
    }

    /// Starts the next queued job if none runs.
    fn try_start(&mut self, w: &World, fx: &mut Effects) {
        if self.running.is_some() {
            return;
        }
        let Some(id) = self.queue.pop_front() else {
            return;
        };
        self.running = Some(id);
        let j = &mut self.jobs[id];
        j.started = Some(w.now);
        j.phase = JobPhase::Preparing;
        let set = j.set;
        Self::log(
            fx,
            w,
            set,
            "backup job started: gathering writer metadata".into(),
            Mark::None,
        );
        self.after(
            w,
            id,
            JobPhase::Preparing,
            w.scenario.spec.backup.prepare_time,
            fx,
        );
    }

    fn after(
        &self,
        w: &World,
        job: usize,
        phase: JobPhase,
        d: crate::SimDuration,
        fx: &mut Effects,
    ) {
        fx.timer(
            w.now + d,
            Scheduled::Backup(BackupTimer::Step { job, phase }),
        );
    }

    /// The running job's phase ended: on to the next one.
    fn step(&mut self, w: &mut World, is: &IntegrationState, id: usize, fx: &mut Effects) {
        let b = w.scenario.spec.backup.clone();
        match self.jobs[id].phase {
            JobPhase::Preparing => self.snapshot_set_start(w, is, id, fx),
            JobPhase::GuestPrep => {
                self.resume_saved(w);
                self.jobs[id].phase = JobPhase::Commit;
                self.after(w, id, JobPhase::Commit, b.commit_time, fx);
            }
            JobPhase::Commit => {
                self.release_vss(id);
                self.jobs[id].phase = JobPhase::PostSnapshot;
                self.after(w, id, JobPhase::PostSnapshot, b.post_time, fx);
            }
            JobPhase::PostSnapshot => self.succeed(w, id, fx),
            JobPhase::Queued | JobPhase::Done => {}
        }
    }

    /// The VMs a job covers: a VM-based set's VMs found through its host, a volume-based set's
    /// VMs on its CSVs wherever they run. `Err` = the job fails (message).
    fn components(
        &self,
        w: &World,
        set: usize,
        fx: &mut Effects,
    ) -> Result<Vec<(usize, VmBackup)>, String> {
        let spec = &w.scenario.spec;
        let s = &spec.backup_sets[set];
        let host = spec
            .hosts
            .iter()
            .position(|h| h.name == s.host)
            .unwrap_or(0);
        if !w.nodes[host].powered {
            return Err(format!(
                "the Replay Manager service on {} cannot be reached",
                s.host
            ));
        }
        let mut out = Vec::new();
        match s.kind {
            BackupSetKind::Vm => {
                for name in &s.vms {
                    let Some(v) = spec.vms.iter().position(|x| &x.name == name) else {
                        continue;
                    };
                    if w.vms[v].host == host {
                        out.push((v, VmBackup::Online));
                        continue;
                    }
                    let now_on = &spec.hosts[w.vms[v].host].name;
                    match spec.backup.vm_moved {
                        VmMoved::FailJob => {
                            return Err(format!(
                                "{name} was not found on {}: it runs on {now_on}, and the Hyper-V VSS writer on {} does not report it; VSS has no partial backups, so the whole job fails",
                                s.host, s.host
                            ));
                        }
                        VmMoved::SkipVm => {
                            let text = format!(
                                "warning: {name} was not found on {} (it runs on {now_on}): skipped",
                                s.host
                            );
                            Self::log(fx, w, set, text, Mark::None);
                            out.push((v, VmBackup::Skipped));
                        }
                    }
                }
                if out.iter().all(|(_, how)| *how == VmBackup::Skipped) {
                    return Err("no VM of the set runs on its host".into());
                }
            }
            BackupSetKind::Volume => {
                for (v, vm) in spec.vms.iter().enumerate() {
                    if s.volumes.contains(&vm.storage) {
                        out.push((v, VmBackup::Online));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Preparing ended: find the components, take the node's VSS lock, then PrepareForSnapshot
    /// in every guest.
    fn snapshot_set_start(
        &mut self,
        w: &mut World,
        is: &IntegrationState,
        id: usize,
        fx: &mut Effects,
    ) {
        let set = self.jobs[id].set;
        let mut vms = match self.components(w, set, fx) {
            Ok(v) => v,
            Err(why) => return self.fail(w, id, None, why, false, fx),
        };
        let spec = &w.scenario.spec;
        let host_name = spec.backup_sets[set].host.clone();
        let host = spec
            .hosts
            .iter()
            .position(|h| h.name == host_name)
            .unwrap_or(0);
        if self.vss[host].is_some() {
            let why = format!(
                "StartSnapshotSet on {host_name} returned VSS_E_SNAPSHOT_SET_IN_PROGRESS (0x80042316): another requester's shadow-copy set is in creation"
            );
            return self.fail(w, id, Some(VSS_E_SNAPSHOT_SET_IN_PROGRESS), why, true, fx);
        }
        self.vss[host] = Some(VssHolder::Job(id));
        let b = spec.backup.clone();
        let mut prep = b.guest_vss_time;
        for k in 0..vms.len() {
            let (v, how) = vms[k];
            if how == VmBackup::Skipped {
                continue;
            }
            let name = w.scenario.spec.vms[v].name.clone();
            vms[k].1 = if w.vms[v].state == VmState::Off {
                VmBackup::Offline
            } else if is.vss_ok(w, v) {
                VmBackup::Online
            } else {
                let why = is.why_not_online(w, v);
                match b.fallback {
                    BackupFallback::Fail => {
                        let text = format!(
                            "Microsoft Hyper-V VSS Writer failed for {name}: {why}; online backup impossible and the policy allows no fallback (VSS_E_WRITERERROR_NONRETRYABLE 0x800423F4)"
                        );
                        self.release_vss(id);
                        self.jobs[id].vms = vms;
                        let code = Some(VSS_E_WRITERERROR_NONRETRYABLE);
                        return self.fail(w, id, code, text, false, fx);
                    }
                    BackupFallback::SavedState => {
                        let text =
                            format!("{name}: {why}; saved through the cluster for the snapshot");
                        Self::log(fx, w, set, text, Mark::None);
                        prep = prep.max(b.saved_state_pause);
                        VmBackup::SavedState
                    }
                    BackupFallback::CrashConsistent => {
                        let text = format!("warning: {name}: {why}; backed up crash-consistent");
                        Self::log(fx, w, set, text, Mark::None);
                        VmBackup::CrashConsistent
                    }
                }
            };
        }
        for &(v, how) in &vms {
            match how {
                VmBackup::Skipped => {}
                VmBackup::SavedState => {
                    w.vms[v].state = VmState::Saved;
                    w.note_vm_state(v);
                    self.saved.push(v);
                    w.vms[v].in_backup = true;
                }
                _ => w.vms[v].in_backup = true,
            }
        }
        let online = vms.iter().filter(|(_, h)| *h == VmBackup::Online).count();
        let text = format!(
            "StartSnapshotSet on {host_name}: shadow-copy set in creation; PrepareForSnapshot in {} VMs ({online} online)",
            vms.iter().filter(|(_, h)| *h != VmBackup::Skipped).count()
        );
        Self::log(fx, w, set, text, Mark::None);
        let j = &mut self.jobs[id];
        j.vms = vms;
        j.phase = JobPhase::GuestPrep;
        self.after(w, id, JobPhase::GuestPrep, prep, fx);
    }

    fn resume_saved(&mut self, w: &mut World) {
        for v in std::mem::take(&mut self.saved) {
            if w.vms[v].state == VmState::Saved {
                w.vms[v].state = VmState::Running;
                w.note_vm_state(v);
            }
        }
    }

    fn release_vss(&mut self, id: usize) {
        for h in self.vss.iter_mut() {
            if *h == Some(VssHolder::Job(id)) {
                *h = None;
            }
        }
    }

    /// Ends the running job (either way) and starts the next.
    fn finish(&mut self, w: &mut World, id: usize, outcome: JobOutcome, fx: &mut Effects) {
        self.resume_saved(w);
        self.release_vss(id);
        for &(v, _) in &self.jobs[id].vms {
            w.vms[v].in_backup = false;
        }
        let j = &mut self.jobs[id];
        j.phase = JobPhase::Done;
        j.outcome = Some(outcome);
        j.ended = Some(w.now);
        if self.running == Some(id) {
            self.running = None;
        }
        self.try_start(w, fx);
    }

    fn succeed(&mut self, w: &mut World, id: usize, fx: &mut Effects) {
        let set = self.jobs[id].set;
        let s = &w.scenario.spec.backup_sets[set];
        let replays = match s.kind {
            BackupSetKind::Volume => s.volumes.len(),
            BackupSetKind::Vm => {
                let mut vols: Vec<&str> = self.jobs[id]
                    .vms
                    .iter()
                    .filter(|(_, h)| *h != VmBackup::Skipped)
                    .map(|(v, _)| w.scenario.spec.vms[*v].storage.as_str())
                    .collect();
                vols.sort_unstable();
                vols.dedup();
                vols.len()
            }
        } as u32;
        let count = |h: VmBackup| self.jobs[id].vms.iter().filter(|(_, x)| *x == h).count();
        let mut how = format!("{} online", count(VmBackup::Online));
        for (label, h) in [
            ("saved state", VmBackup::SavedState),
            ("crash-consistent", VmBackup::CrashConsistent),
            ("offline", VmBackup::Offline),
            ("skipped", VmBackup::Skipped),
        ] {
            if count(h) > 0 {
                how.push_str(&format!(", {} {label}", count(h)));
            }
        }
        let text = format!(
            "backup job succeeded (Backup State: Successful): restore point with {replays} replays, Available (Not Verified); VMs: {how}"
        );
        Self::log(fx, w, set, text, Mark::BackupEnded(JobOutcome::Succeeded));
        self.points.push(RestorePoint {
            set,
            job: id,
            created: w.now,
            replays,
            keep_points: self.keep[set],
            expired: None,
        });
        self.expire(w, set, fx);
        self.finish(w, id, JobOutcome::Succeeded, fx);
    }

    /// Retention: a restore point expires once as many newer points of its set exist as it was
    /// made to keep.
    fn expire(&mut self, w: &World, set: usize, fx: &mut Effects) {
        let live: Vec<usize> = (0..self.points.len())
            .filter(|&i| self.points[i].set == set && self.points[i].expired.is_none())
            .collect();
        for (k, &i) in live.iter().enumerate() {
            let newer = live.len() - 1 - k;
            if newer as u32 >= self.points[i].keep_points {
                self.points[i].expired = Some(w.now);
                let text = format!(
                    "restore point of {} expired (kept {})",
                    self.points[i].created, self.points[i].keep_points
                );
                Self::log(fx, w, set, text, Mark::None);
            }
        }
    }

    /// The job failed; a retryable failure is retried after the delay while attempts are left.
    fn fail(
        &mut self,
        w: &mut World,
        id: usize,
        code: Option<u32>,
        why: String,
        retryable: bool,
        fx: &mut Effects,
    ) {
        let b = w.scenario.spec.backup.clone();
        let set = self.jobs[id].set;
        let j = &mut self.jobs[id];
        j.code = code;
        j.error = Some(why.clone());
        let may_retry = retryable && (!j.manual || b.retry_manual_runs);
        let retry = may_retry && j.attempt <= b.retry_attempts;
        let mark = if code == Some(VSS_E_SNAPSHOT_SET_IN_PROGRESS) {
            Mark::VssConflict
        } else {
            Mark::BackupEnded(JobOutcome::Failed)
        };
        Self::log(
            fx,
            w,
            set,
            format!("backup job failed (Backup State: Failed): {why}"),
            mark,
        );
        if retry {
            let at = w.now + b.retry_delay;
            self.jobs[id].retry_at = Some(at);
            let text = format!(
                "retry {} of {} of the failed job in {}",
                self.jobs[id].attempt, b.retry_attempts, b.retry_delay
            );
            Self::log(fx, w, set, text, Mark::BackupRetry);
            fx.timer(at, Scheduled::Backup(BackupTimer::Retry(id)));
        } else if may_retry {
            let text = format!(
                "no retries left ({} made): the job stays failed",
                b.retry_attempts
            );
            Self::log(fx, w, set, text, Mark::None);
        }
        self.finish(w, id, JobOutcome::Failed, fx);
    }
}

#[cfg(test)]
mod tests {
    use super::super::effects::Effect;
    use super::super::world::test_lab;
    use super::*;
    use crate::SimDuration;

    #[test]
    fn a_third_party_requester_holds_the_vss_lock_and_a_second_one_logs_the_conflict() {
        let (w, _, _) = test_lab();
        let mut b = BackupState::new(&w);
        let fx = b.third_party(&w, 0, SimDuration::from_secs(60));
        // Nothing logged: one timer for when its snapshot set is done.
        let [
            Effect::Timer {
                at,
                what: Scheduled::Backup(BackupTimer::ThirdPartyDone(0)),
            },
        ] = fx.list()
        else {
            panic!("{:?}", fx.list());
        };
        assert_eq!(*at, w.now + SimDuration::from_secs(60));
        assert_eq!(b.vss[0], Some(VssHolder::ThirdParty(0)));
        let fx = b.third_party(&w, 0, SimDuration::from_secs(60));
        let [Effect::Log(l)] = fx.list() else {
            panic!("{:?}", fx.list());
        };
        assert_eq!(l.mark, Mark::VssConflict);
        assert!(l.detail.contains("0x80042316"));
        assert!(b.third_party[1].failed);
    }

    #[test]
    fn modifying_a_set_only_logs_and_changes_the_retention_of_new_points() {
        let (mut w, _, _) = test_lab();
        w.scenario
            .spec
            .backup_sets
            .push(crate::scenario::BackupSetSpec {
                name: "s".into(),
                kind: BackupSetKind::Vm,
                host: "node1".into(),
                vms: vec!["vm-sofs-1".into()],
                volumes: Vec::new(),
                schedule: None,
                keep_points: 7,
            });
        let mut b = BackupState::new(&w);
        let fx = b.modify(&w, 0, 2);
        assert!(matches!(fx.list(), [Effect::Log(_)]));
        assert_eq!(b.keep, [2]);
        assert!(b.jobs.is_empty() && b.points.is_empty());
    }
}
