//! UI content, one panel per file. Panels read the engine's snapshot and return [`UiAction`]s; the
//! actions are applied once per frame in [`LabState::show`] (rerun's command-queue style), so a
//! panel never mutates the simulation directly.

mod log;
mod nodes;
mod toolbar;

use lmlab_engine::{Command, Scenario, SimDuration, SimTime, Simulation, Snapshot};

/// How fast simulated time runs relative to the wall clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speed {
    X1,
    X10,
    X100,
    /// As fast as possible: a fixed large step per frame.
    Max,
}

impl Speed {
    pub const ALL: [Speed; 4] = [Speed::X1, Speed::X10, Speed::X100, Speed::Max];
    pub fn label(self) -> &'static str {
        match self {
            Speed::X1 => "1×",
            Speed::X10 => "10×",
            Speed::X100 => "100×",
            Speed::Max => "max",
        }
    }
}

/// Something the user asked for this frame.
#[derive(Clone, Debug, PartialEq)]
pub enum UiAction {
    Play,
    Pause,
    /// Advance to the next pending event.
    Step,
    SetSpeed(Speed),
    Apply(Command),
    OpenPreset(&'static str),
}

#[derive(Debug)]
pub struct LabState {
    pub sim: Simulation,
    pub playing: bool,
    pub speed: Speed,
    /// The last error to show in the status line.
    pub status: Option<String>,
}

impl LabState {
    pub fn new(scenario: Scenario) -> Self {
        let seed = scenario.spec.seed;
        LabState {
            sim: Simulation::new(scenario, seed),
            playing: false,
            speed: Speed::X1,
            status: None,
        }
    }

    /// Draws the whole window content and applies what the user did.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let snap = self.sim.snapshot();
        let mut actions = Vec::new();
        egui::Panel::top("toolbar").show(ui, |ui| {
            toolbar::show(ui, self, &snap, &mut actions);
        });
        egui::Panel::bottom("status").show(ui, |ui| {
            ui.horizontal(|ui| match &self.status {
                Some(s) => ui.colored_label(ui.visuals().error_fg_color, s),
                None => ui.label(format!(
                    "{} — seed {} — {} events",
                    self.sim.scenario().spec.name,
                    self.sim.seed(),
                    snap.event_count
                )),
            });
        });
        egui::Panel::bottom("log")
            .resizable(true)
            .default_size(220.0)
            .show(ui, |ui| {
                log::show(ui, self.sim.events());
            });
        egui::CentralPanel::default().show(ui, |ui| {
            nodes::show(ui, self.sim.scenario(), &snap, &mut actions);
        });

        self.advance_clock(ui.ctx());
        for a in actions {
            self.handle(a);
        }
    }

    fn advance_clock(&mut self, ctx: &egui::Context) {
        if !self.playing {
            return;
        }
        let dt = f64::from(ctx.input(|i| i.stable_dt).min(0.1));
        let step = match self.speed {
            Speed::X1 => SimDuration::from_secs_f64(dt),
            Speed::X10 => SimDuration::from_secs_f64(dt * 10.0),
            Speed::X100 => SimDuration::from_secs_f64(dt * 100.0),
            Speed::Max => SimDuration::from_secs(60),
        };
        self.sim.advance_by(step);
        ctx.request_repaint();
    }

    pub fn handle(&mut self, action: UiAction) {
        match action {
            UiAction::Play => self.playing = true,
            UiAction::Pause => self.playing = false,
            UiAction::Step => {
                let next = self.sim.next_deadline().unwrap_or(self.sim.now());
                self.sim.advance_to(next.max(self.sim.now()));
            }
            UiAction::SetSpeed(s) => self.speed = s,
            UiAction::Apply(cmd) => match self.sim.apply(cmd) {
                Ok(()) => self.status = None,
                Err(e) => self.status = Some(format!("refused: {e}")),
            },
            UiAction::OpenPreset(file) => match crate::presets::load(file) {
                Ok(s) => *self = LabState::new(s),
                Err(e) => self.status = Some(format!("{e:#}")),
            },
        }
    }

    /// Runs the simulation to `t` (used by tests and the screenshot command).
    pub fn run_to(&mut self, t: SimTime) {
        self.sim.advance_to(t);
    }
}

/// `h:mm:ss.s` for the simulated clock.
pub fn format_clock(t: SimTime) -> String {
    let total = t.as_secs_f64();
    let h = (total / 3600.0).floor();
    let m = ((total - h * 3600.0) / 60.0).floor();
    let s = total - h * 3600.0 - m * 60.0;
    format!("{h:.0}:{m:02.0}:{s:04.1}")
}

#[allow(dead_code)]
fn _assert_snapshot_is_send(s: Snapshot) -> impl Send {
    s
}
