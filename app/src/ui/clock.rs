//! The dispatcher's handling of simulated time: playing forward, and travelling back. A jump back
//! replays the lab from time zero with the commands given before the target time (the engine is
//! deterministic, so it arrives at exactly the state the run had then); the commands given later
//! are kept as the recorded future and applied again at their times when the clock passes them.
//! A new command drops the recorded future (it changes what follows); Undo brings it back.

use super::state::{LabState, Speed};
use lmlab_engine::sim::Mark;
use lmlab_engine::{Scenario, SimDuration, SimTime, Simulation, TimedCommand};

impl LabState {
    /// Advances the simulated clock by a frame of `dt_s` wall-clock seconds while playing;
    /// returns whether it is playing (the frame then asks for the next one).
    pub fn tick(&mut self, dt_s: f64) -> bool {
        if !self.clock.playing {
            return false;
        }
        let dt = dt_s.min(0.1);
        let step = match self.clock.speed {
            Speed::X1 => SimDuration::from_secs_f64(dt),
            Speed::X10 => SimDuration::from_secs_f64(dt * 10.0),
            Speed::X100 => SimDuration::from_secs_f64(dt * 100.0),
            Speed::Max => SimDuration::from_secs(60),
        };
        let now = self.doc.sim.now();
        let to = now + step;
        // A pausing caption (or any caption when playing to the next one) stops the clock at it.
        match self.next_caption(now, self.clock.to_caption) {
            Some(at) if at <= to => {
                self.forward_to(at);
                self.clock.playing = false;
                self.clock.to_caption = false;
            }
            _ => self.forward_to(to),
        }
        true
    }

    /// The time of the script's next caption after `after` that pauses (or any, with `any`).
    pub fn next_caption(&self, after: SimTime, any: bool) -> Option<SimTime> {
        self.doc
            .sim
            .scenario()
            .script
            .iter()
            .filter(|c| {
                matches!(c.command, lmlab_engine::Command::Caption { pause, .. } if pause || any)
            })
            .map(|c| SimTime::ZERO + c.at)
            .find(|&at| at > after)
    }

    /// The end of the run so far: the furthest time reached, or the last recorded command.
    pub fn horizon(&self) -> SimTime {
        let last_future = self.doc.future.last().map(|c| SimTime::ZERO + c.at);
        self.doc
            .horizon
            .max(self.doc.sim.now())
            .max(last_future.unwrap_or(SimTime::ZERO))
    }

    /// Runs forward to `to`, applying recorded commands at their times and keeping a copy of the
    /// run at each checkpoint time it passes.
    pub(super) fn forward_to(&mut self, to: SimTime) {
        loop {
            let due = self.doc.checkpoints.next_due(self.doc.sim.now());
            if due > to {
                break;
            }
            self.play_commands_to(due);
            self.doc.checkpoints.record(&self.doc.sim);
        }
        self.play_commands_to(to);
        self.doc.horizon = self.doc.horizon.max(to);
    }

    /// Runs forward to `to`, applying recorded commands at their times.
    fn play_commands_to(&mut self, to: SimTime) {
        while let Some(c) = self.doc.future.first() {
            let at = SimTime::ZERO + c.at;
            if at > to {
                break;
            }
            let c = self.doc.future.remove(0);
            self.doc.sim.advance_to(at);
            if let Err(e) = self.doc.sim.apply(c.command.clone()) {
                self.screen.status = Some(format!("{at}: {} skipped: {e}", c.command.describe()));
            }
        }
        self.doc.sim.advance_to(to);
    }

    /// The next thing that will happen: a model event or a recorded command.
    pub(super) fn next_moment(&self) -> Option<SimTime> {
        let future = self.doc.future.first().map(|c| SimTime::ZERO + c.at);
        match (self.doc.sim.next_deadline(), future) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Shows the lab at `t`: forward by running on, back by replaying from the latest checkpoint
    /// before it (or from zero).
    pub(super) fn go_to(&mut self, t: SimTime) {
        let now = self.doc.sim.now();
        if t >= now {
            self.forward_to(t);
            return;
        }
        let mut all: Vec<TimedCommand> = self.doc.sim.history().to_vec();
        all.append(&mut self.doc.future);
        let split = all.partition_point(|c| SimTime::ZERO + c.at <= t);
        let future = all.split_off(split);
        self.doc.horizon = self.doc.horizon.max(now);
        if let Some(start) = self.doc.checkpoints.start_for(t, &all) {
            // From the copy: the commands after its time come back as the recorded future and
            // are applied on the way to `t`.
            let from = start.history().len();
            self.doc.sim = start.clone();
            let mut rest = all.split_off(from);
            rest.extend(future);
            self.doc.future = rest;
            self.screen.status = None;
            self.play_commands_to(t);
            return;
        }
        let scenario = self.doc.sim.scenario().clone();
        let (sim, skipped) = Simulation::replay(scenario, self.doc.seed, &all, t);
        self.doc.sim = sim;
        self.doc.future = future;
        if !skipped.is_empty() {
            self.screen.status = Some(skipped.join("; "));
        }
    }

    /// The time of the latest log event before now that `pick` accepts.
    pub(super) fn previous_event(&self, pick: impl Fn(Mark) -> bool) -> Option<SimTime> {
        let now = self.doc.sim.now();
        self.doc
            .sim
            .events()
            .iter()
            .rev()
            .find(|e| e.t < now && pick(e.mark))
            .map(|e| e.t)
    }

    /// A new command changes what follows: the recorded future is dropped.
    pub(super) fn drop_future(&mut self) -> bool {
        let had = !self.doc.future.is_empty();
        self.doc.future.clear();
        let now = self.doc.sim.now();
        self.doc.checkpoints.forget_from(now);
        self.doc.horizon = self.doc.sim.now();
        had
    }

    /// Rebuilds the run of `scenario` with `history` to the present (edits and undo).
    pub(super) fn rebuild(&mut self, scenario: Scenario, history: &[TimedCommand]) -> Vec<String> {
        let now = self.doc.sim.now();
        let (sim, skipped) = Simulation::replay(scenario, self.doc.seed, history, now);
        self.doc.sim = sim;
        self.doc.checkpoints.clear();
        skipped
    }
}

/// A time typed by the user: `h:mm:ss` (or `m:ss`) or a duration like `90s`, `5m`, `1h30m`.
pub fn parse_time(text: &str) -> Option<SimTime> {
    lmlab_engine::time::parse_clock(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_times_read_as_clocks_or_durations() {
        assert_eq!(parse_time("0:05:00"), Some(SimTime::from_secs(300)));
        assert_eq!(parse_time("1:30"), Some(SimTime::from_secs(90)));
        assert_eq!(parse_time("1h30m"), Some(SimTime::from_secs(5400)));
        assert_eq!(parse_time("soon"), None);
        assert_eq!(parse_time("1:-2"), None);
    }
}
