//! Copies of the run taken as the clock passes regular times (every two simulated minutes at
//! first), so a jump back replays from the latest copy before the target instead of from time
//! zero. The engine is deterministic, so the result is the state a replay from zero reaches; a
//! copy is used only when the commands it had applied are exactly the ones the run has before
//! its time. At most [`MAX_KEPT`] copies are kept: when there would be more, every other one is
//! dropped and the spacing doubles, so they stay evenly spread over any length of run.

use lmlab_engine::{SimDuration, SimTime, Simulation, TimedCommand};

/// Copies kept at most.
pub const MAX_KEPT: usize = 24;
/// Memory the copies may take together, about: each is a whole simulation with its series so
/// far, so a long run of a large lab keeps fewer, further apart.
pub const BUDGET_BYTES: usize = 256 << 20;
/// The first spacing of copies, in simulated seconds.
const FIRST_EVERY_S: u64 = 120;

#[derive(Clone, Debug)]
pub struct Checkpoints {
    every: SimDuration,
    /// By time, each at a multiple of `every`.
    kept: Vec<Simulation>,
}

impl Default for Checkpoints {
    fn default() -> Self {
        Checkpoints {
            every: SimDuration::from_secs(FIRST_EVERY_S),
            kept: Vec::new(),
        }
    }
}

impl Checkpoints {
    /// Forgets every copy (the lab or its seed changed).
    pub fn clear(&mut self) {
        *self = Checkpoints::default();
    }

    /// Forgets the copies at or after `t` (a new command there changes what follows).
    pub fn forget_from(&mut self, t: SimTime) {
        self.kept.retain(|s| s.now() < t);
    }

    /// How many copies are kept.
    pub fn len(&self) -> usize {
        self.kept.len()
    }

    /// The first time after `now` a copy is due.
    pub fn next_due(&self, now: SimTime) -> SimTime {
        let every = self.every.as_micros().max(1);
        SimTime::from_micros((now.as_micros() / every + 1).saturating_mul(every))
    }

    /// Keeps a copy of `sim` (at a due time) unless one for that time is kept already.
    pub fn record(&mut self, sim: &Simulation) {
        let t = sim.now();
        match self.kept.binary_search_by(|s| s.now().cmp(&t)) {
            Ok(_) => return,
            Err(i) => self.kept.insert(i, sim.clone()),
        }
        // The newest copy is the largest (series only grow): judge the budget by it.
        let each = approx_bytes(sim);
        while self.kept.len() > MAX_KEPT
            || (self.kept.len() > 2 && self.kept.len() * each > BUDGET_BYTES)
        {
            // Keep the copies at multiples of twice the spacing.
            let every = self.every.as_micros().max(1) * 2;
            self.kept.retain(|s| s.now().as_micros() % every == 0);
            self.every = SimDuration::from_micros(every);
        }
    }

    /// Memory the copies take, about.
    pub fn approx_total_bytes(&self) -> usize {
        self.kept.iter().map(approx_bytes).sum()
    }

    /// The latest copy at or before `t` that applied exactly the commands of `all` (all the run's
    /// commands, in time order) that come before its time.
    pub fn start_for(&self, t: SimTime, all: &[TimedCommand]) -> Option<&Simulation> {
        self.kept.iter().rev().find(|s| {
            let at = s.now();
            let had = s.history();
            at <= t
                && all.starts_with(had)
                && all
                    .get(had.len())
                    .is_none_or(|next| SimTime::ZERO + next.at > at)
        })
    }
}

/// About how much memory a copy of `sim` takes: its series, log and state timelines, plus a
/// share per VM and node for the model's state.
pub fn approx_bytes(sim: &Simulation) -> usize {
    let series = sim.series();
    let samples = series.stored_points() * 16 + series.columns().count() * 64;
    let events = sim.events().len() * 160;
    let changes: usize = sim.node_timeline().iter().map(Vec::len).sum::<usize>()
        + sim.vm_timeline().iter().map(Vec::len).sum::<usize>();
    let parts = (sim.vm_timeline().len() + sim.node_timeline().len()) * 512;
    samples + events + changes * 16 + parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use lmlab_engine::Scenario;

    fn lab() -> Simulation {
        let scenario: Scenario = crate::presets::load("resiliency-lab.toml").expect("preset");
        Simulation::new(scenario, 1)
    }

    #[test]
    fn copies_stay_evenly_spread_and_at_most_max_kept_however_long_the_run() {
        let mut sim = lab();
        let mut cps = Checkpoints::default();
        // Six hours: 180 copies due two minutes apart, thinned three times to 16 minutes apart.
        loop {
            let due = cps.next_due(sim.now());
            if due > SimTime::from_secs(6 * 3600) {
                break;
            }
            sim.advance_to(due);
            cps.record(&sim);
            assert!(cps.len() <= MAX_KEPT);
        }
        let times: Vec<u64> = cps.kept.iter().map(|s| s.now().as_micros()).collect();
        let every = cps.every.as_micros();
        assert_eq!(
            every,
            8 * FIRST_EVERY_S * 1_000_000,
            "thinned to 16 minutes apart"
        );
        assert_eq!(cps.len(), 22);
        assert!(times.windows(2).all(|w| w[1] - w[0] == every), "{times:?}");
        assert!(cps.len() >= MAX_KEPT / 2, "{}", cps.len());
    }

    #[test]
    fn a_copy_is_used_only_when_its_commands_are_the_runs() {
        use lmlab_engine::{Command, TimedCommand};
        let mut sim = lab();
        sim.advance_to(SimTime::from_secs(60));
        let crash = TimedCommand {
            at: SimDuration::from_secs(60),
            command: Command::CrashClusterService {
                node: "node1".into(),
            },
        };
        sim.apply(crash.command.clone()).expect("crash");
        sim.advance_to(SimTime::from_secs(120));
        let mut cps = Checkpoints::default();
        cps.record(&sim);
        let same = [crash.clone()];
        assert!(cps.start_for(SimTime::from_secs(130), &same).is_some());
        // Not before its time, not when the run had other commands before it.
        assert!(cps.start_for(SimTime::from_secs(119), &same).is_none());
        assert!(cps.start_for(SimTime::from_secs(130), &[]).is_none());
        let mut later = crash.clone();
        later.at = SimDuration::from_secs(90);
        assert!(
            cps.start_for(SimTime::from_secs(130), &[crash.clone(), later])
                .is_none()
        );
        let mut after = crash.clone();
        after.at = SimDuration::from_secs(200);
        assert!(
            cps.start_for(SimTime::from_secs(300), &[crash, after])
                .is_some()
        );
        cps.forget_from(SimTime::from_secs(100));
        assert_eq!(cps.len(), 0);
    }
}
