//! UI content, one panel per file. Panels read the engine (snapshot, series, log) and return
//! [`UiAction`]s; the actions are applied once per frame in [`LabState::show`] (rerun's
//! command-queue style), so a panel never mutates the simulation directly.
//!
//! Editing the lab (inspector, palette, deleting) changes the scenario; the run then restarts from
//! time zero on the new lab, re-applies every command the user gave at its time, and comes back to
//! the present — the same replay a saved session uses.

mod canvas;
mod compare;
pub mod files;
mod inspector;
pub mod jobs;
mod log;
mod plots;
pub mod real;
mod theme;
mod toolbar;

pub use theme::Prefs;

use lmlab_engine::compare::CompareReport;
use lmlab_engine::precopy::Forecast;
use lmlab_engine::scenario::ScenarioSpec;
use lmlab_engine::{Command, Scenario, SimDuration, SimTime, Simulation};
use std::collections::BTreeMap;

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

/// What the inspector shows.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Selection {
    #[default]
    Cluster,
    Host(String),
    Switch(String),
    Storage(String),
    Vm(String),
}

/// The big area in the middle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Lab,
    Compare,
    Real,
}

/// A migration the user asked for, waiting for confirmation with its forecast.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingMigration {
    pub vm: String,
    pub to: String,
    pub forecast: Result<Forecast, String>,
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
    /// The lab changed (inspector, palette, delete): validate, then replay.
    Edit(Box<ScenarioSpec>),
    Select(Selection),
    /// Show the forecast for a migration and ask for confirmation.
    AskMigration {
        vm: String,
        to: String,
    },
    ConfirmMigration,
    CancelMigration,
    /// Move a canvas shape (key like `host:hv1`) to a scene position.
    MoveShape(String, [f32; 2]),
    SetCursor(f64),
    SetFollow(bool),
    SetView(View),
    RunCompare,
    SetPrefs(Prefs),
    CloseWelcome,
    /// File menu.
    Open,
    Save,
    SaveAs,
    OpenPath(std::path::PathBuf),
    SaveTo(std::path::PathBuf),
    /// Recover the autosaved session (true) or discard it.
    Recover(bool),
    Export,
    ExportTo(std::path::PathBuf),
    /// Settings of the Real run view changed.
    SetReal(Box<real::RealPanel>),
    /// Start a real migration with the Real run view's settings.
    RunReal,
}

#[derive(Debug)]
pub struct LabState {
    pub sim: Simulation,
    pub seed: u64,
    pub playing: bool,
    pub speed: Speed,
    /// The last message for the status line (errors in red).
    pub status: Option<String>,
    pub selection: Selection,
    /// Canvas positions by shape key (`host:NAME`, `switch:NAME`, `storage:NAME`).
    pub layout: BTreeMap<String, [f32; 2]>,
    pub scene_rect: egui::Rect,
    pub view: View,
    /// Plots follow the present; false = free zoom.
    pub follow: bool,
    pub cursor_t: Option<f64>,
    pub log_filter: String,
    pub log_kinds: log::Kinds,
    pub pending: Option<PendingMigration>,
    pub compare: Option<CompareReport>,
    pub inspector_error: Option<String>,
    pub prefs: Prefs,
    pub show_welcome: bool,
    fonts_installed: bool,
    /// The session file this lab was opened from or saved to.
    pub file: Option<std::path::PathBuf>,
    /// Unsaved changes since the last save (or autosave).
    pub dirty: bool,
    /// Where autosaves go (None: autosave off, e.g. in tests).
    pub recovery: Option<std::path::PathBuf>,
    pub recovery_offer: Option<std::path::PathBuf>,
    last_autosave: Option<std::time::Instant>,
    pub path_prompt: Option<files::PathPrompt>,
    /// Whether to try native file dialogs (off in tests and headless runs).
    pub dialogs: bool,
    /// Work running on a worker thread, with its progress.
    pub job: Option<jobs::Job>,
    pub real: real::RealPanel,
}

impl LabState {
    pub fn new(scenario: Scenario) -> Self {
        let seed = scenario.spec.seed;
        let layout = canvas::default_layout(&scenario.spec);
        let scene_rect = canvas::bounds(&scenario.spec, &layout);
        LabState {
            sim: Simulation::new(scenario, seed),
            seed,
            playing: false,
            speed: Speed::X10,
            status: None,
            selection: Selection::Cluster,
            layout,
            scene_rect,
            view: View::Lab,
            follow: true,
            cursor_t: None,
            log_filter: String::new(),
            log_kinds: log::Kinds::default(),
            pending: None,
            compare: None,
            inspector_error: None,
            prefs: Prefs::default(),
            show_welcome: false,
            fonts_installed: false,
            file: None,
            dirty: false,
            recovery: None,
            recovery_offer: None,
            last_autosave: None,
            path_prompt: None,
            dialogs: false,
            job: None,
            real: real::RealPanel::default(),
        }
    }

    pub fn spec(&self) -> &ScenarioSpec {
        &self.sim.scenario().spec
    }

    /// Draws the whole window content and applies what the user did.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        if !self.fonts_installed {
            theme::install_fonts(ui.ctx());
            self.fonts_installed = true;
        }
        theme::apply(ui.ctx(), &self.prefs);
        let mut actions = Vec::new();
        egui::Panel::top("toolbar").show(ui, |ui| {
            toolbar::show(ui, self, &mut actions);
        });
        egui::Panel::bottom("status").show(ui, |ui| {
            toolbar::status_line(ui, self);
        });
        if let Some(job) = &self.job {
            egui::Panel::bottom("job").show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.label(&job.what);
                    ui.add(
                        egui::ProgressBar::new(job.fraction())
                            .show_percentage()
                            .desired_width(300.0),
                    );
                    if ui.button("Cancel").clicked() {
                        job.cancel.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                    if let Ok(note) = job.note.lock()
                        && !note.is_empty()
                    {
                        ui.label(note.as_str());
                    }
                });
            });
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(50));
        }
        if !self.prefs.presentation {
            egui::Panel::left("inspector")
                .resizable(true)
                .default_size(290.0)
                .show(ui, |ui| {
                    inspector::show(ui, self, &mut actions);
                });
            egui::Panel::right("log")
                .resizable(true)
                .default_size(470.0)
                .show(ui, |ui| {
                    log::show(ui, self, &mut actions);
                });
        }
        egui::CentralPanel::default().show(ui, |ui| match self.view {
            View::Lab => {
                let h = ui.available_height();
                let canvas_h = (h * 0.48).max(200.0);
                ui.allocate_ui(egui::vec2(ui.available_width(), canvas_h), |ui| {
                    canvas::show(ui, self, &mut actions);
                });
                ui.separator();
                plots::show(ui, self, &mut actions);
            }
            View::Compare => compare::show(ui, self, &mut actions),
            View::Real => real::show(ui, self, &mut actions),
        });
        if self.pending.is_some() {
            migration_dialog(ui.ctx(), self, &mut actions);
        }
        if self.show_welcome && self.recovery_offer.is_none() {
            theme::welcome(ui.ctx(), &mut actions);
        }
        files::prompt(ui.ctx(), self, &mut actions);
        files::recovery_offer(ui.ctx(), self, &mut actions);
        self.autosave();

        self.advance_clock(ui.ctx());
        for a in actions {
            self.handle(a);
        }
        self.finish_job();
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
                Ok(()) => {
                    self.status = None;
                    self.dirty = true;
                }
                Err(e) => self.status = Some(format!("refused: {e}")),
            },
            UiAction::OpenPreset(file) => match crate::presets::load(file) {
                Ok(s) => {
                    let prefs = self.prefs.clone();
                    *self = LabState::new(s);
                    self.prefs = prefs;
                    self.fonts_installed = true;
                }
                Err(e) => self.status = Some(format!("{e:#}")),
            },
            UiAction::Edit(spec) => self.edit(*spec),
            UiAction::Select(s) => {
                self.selection = s;
                self.inspector_error = None;
            }
            UiAction::AskMigration { vm, to } => {
                let forecast = self.sim.forecast(&vm, &to).map_err(|e| e.to_string());
                self.pending = Some(PendingMigration { vm, to, forecast });
            }
            UiAction::ConfirmMigration => {
                if let Some(p) = self.pending.take() {
                    self.handle(UiAction::Apply(Command::Migrate { vm: p.vm, to: p.to }));
                }
            }
            UiAction::CancelMigration => self.pending = None,
            UiAction::MoveShape(key, pos) => {
                self.layout.insert(key, pos);
                self.dirty = true;
            }
            UiAction::SetCursor(t) => {
                self.cursor_t = Some(t);
                self.follow = false;
            }
            UiAction::SetFollow(f) => {
                self.follow = f;
                if f {
                    self.cursor_t = None;
                }
            }
            UiAction::SetView(v) => self.view = v,
            UiAction::SetReal(p) => self.real = *p,
            UiAction::RunReal => {
                if self.job.is_some() {
                    self.status = Some("wait for the running job to finish".into());
                } else {
                    match real::request(self) {
                        Ok(req) => self.job = Some(jobs::Job::real(req)),
                        Err(e) => self.status = Some(format!("real run: {e}")),
                    }
                }
            }
            UiAction::RunCompare => {
                if self.spec().configurations.is_empty() {
                    self.status = Some("this lab names no [[configurations]] to compare".into());
                } else {
                    self.compare = Some(lmlab_engine::compare::compare(
                        self.sim.scenario(),
                        self.seed,
                    ));
                }
            }
            UiAction::SetPrefs(p) => self.prefs = p,
            UiAction::CloseWelcome => {
                self.show_welcome = false;
                self.prefs.welcome_seen = true;
            }
            UiAction::Open => match files::pick_open(self.dialogs) {
                Some(Some(p)) => self.handle(UiAction::OpenPath(p)),
                Some(None) => {}
                None => {
                    self.path_prompt = Some(files::PathPrompt {
                        purpose: files::PathFor::Open,
                        text: String::new(),
                    })
                }
            },
            UiAction::Save => match self.file.clone() {
                Some(p) => self.handle(UiAction::SaveTo(p)),
                None => self.handle(UiAction::SaveAs),
            },
            UiAction::SaveAs => match files::pick_save(self.dialogs) {
                Some(Some(p)) => self.handle(UiAction::SaveTo(p)),
                Some(None) => {}
                None => {
                    let text = self
                        .file
                        .as_ref()
                        .map(|f| f.display().to_string())
                        .unwrap_or_default();
                    self.path_prompt = Some(files::PathPrompt {
                        purpose: files::PathFor::SaveAs,
                        text,
                    })
                }
            },
            UiAction::OpenPath(p) => match files::open(&p) {
                Ok(mut lab) => {
                    lab.prefs = self.prefs.clone();
                    lab.recovery = self.recovery.clone();
                    lab.dialogs = self.dialogs;
                    lab.fonts_installed = true;
                    *self = lab;
                    self.status = Some(format!("opened {}", p.display()));
                }
                // The lab that is open stays untouched.
                Err(e) => self.status = Some(e),
            },
            UiAction::SaveTo(p) => match files::save(self, &p) {
                Ok(()) => {
                    self.file = Some(p.clone());
                    self.dirty = false;
                    self.status = Some(format!("saved {}", p.display()));
                }
                Err(e) => self.status = Some(e),
            },
            UiAction::Export => match files::pick_folder(self.dialogs) {
                Some(Some(p)) => self.handle(UiAction::ExportTo(p)),
                Some(None) => {}
                None => {
                    self.path_prompt = Some(files::PathPrompt {
                        purpose: files::PathFor::Export,
                        text: String::new(),
                    })
                }
            },
            UiAction::ExportTo(dir) => match crate::cli::export_all(&self.sim, &dir, (1600, 900)) {
                Ok(files) => {
                    self.status = Some(format!(
                        "exported {} files into {}",
                        files.len(),
                        dir.display()
                    ))
                }
                Err(e) => self.status = Some(format!("{e:#}")),
            },
            UiAction::Recover(yes) => {
                let offer = self.recovery_offer.take();
                if let Some(p) = offer {
                    if yes {
                        self.handle(UiAction::OpenPath(p.clone()));
                        self.file = None;
                        self.dirty = true;
                    } else {
                        let _ = std::fs::remove_file(&p);
                    }
                }
            }
        }
    }

    /// Applies the result of a finished background job.
    pub fn finish_job(&mut self) {
        let Some(outcome) = self.job.as_mut().and_then(jobs::Job::try_finish) else {
            return;
        };
        self.job = None;
        match outcome {
            jobs::Outcome::Compare(r) => self.compare = Some(r),
            jobs::Outcome::Real(run) => {
                // Success shows in the view itself; the status line carries failures (in red).
                self.status = (!run.report.verified)
                    .then(|| "real run failed: nothing was migrated".to_string());
                self.real.last = Some(*run);
            }
            jobs::Outcome::Exported(dir, n) => {
                self.status = Some(format!("exported {n} files into {}", dir.display()))
            }
            jobs::Outcome::Failed(e) => self.status = Some(e),
            jobs::Outcome::Cancelled => self.status = Some("cancelled".into()),
        }
    }

    /// Saves to the recovery file once a minute while there are unsaved changes.
    fn autosave(&mut self) {
        let Some(path) = self.recovery.clone() else {
            return;
        };
        if !self.dirty {
            return;
        }
        let due = self
            .last_autosave
            .is_none_or(|t| t.elapsed().as_secs_f64() >= files::AUTOSAVE_EVERY_S);
        if due {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            match files::save(self, &path) {
                Ok(()) => self.last_autosave = Some(std::time::Instant::now()),
                Err(e) => self.status = Some(format!("autosave failed: {e}")),
            }
        }
    }

    /// Applies an edited lab: refused in place if invalid, else replayed to the present.
    fn edit(&mut self, spec: ScenarioSpec) {
        match Scenario::from_spec(spec) {
            Err(e) => self.inspector_error = Some(e),
            Ok(scenario) => {
                self.inspector_error = None;
                self.dirty = true;
                for key in canvas::default_layout(&scenario.spec).into_iter() {
                    self.layout.entry(key.0).or_insert(key.1);
                }
                let now = self.sim.now();
                let history = self.sim.history().to_vec();
                let (sim, skipped) = Simulation::replay(scenario, self.seed, &history, now);
                self.sim = sim;
                self.compare = None;
                self.status =
                    (!skipped.is_empty()).then(|| format!("lab changed; {}", skipped.join("; ")));
            }
        }
    }

    /// Runs the simulation to `t` (used by tests and the screenshot command).
    pub fn run_to(&mut self, t: SimTime) {
        self.sim.advance_to(t);
    }
}

fn migration_dialog(ctx: &egui::Context, lab: &LabState, actions: &mut Vec<UiAction>) {
    let Some(p) = &lab.pending else { return };
    egui::Window::new("Live migration")
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
        .show(ctx, |ui| {
            ui.heading(format!("{} → {}", p.vm, p.to));
            match &p.forecast {
                Ok(f) => {
                    ui.label(format!(
                        "Forecast at {:.1} Gbps: {} pass(es), {:.1} s in all, pause {:.0} ms",
                        f.rate_gbps, f.passes, f.total_s, f.pause_ms
                    ));
                    if let Some(w) = &f.warning {
                        ui.colored_label(ui.visuals().warn_fg_color, w);
                        for r in &f.remedies {
                            ui.label(format!("• {r}"));
                        }
                    }
                    ui.horizontal(|ui| {
                        if ui.button("Start migration").clicked() {
                            actions.push(UiAction::ConfirmMigration);
                        }
                        if ui.button("Cancel").clicked() {
                            actions.push(UiAction::CancelMigration);
                        }
                    });
                }
                Err(e) => {
                    ui.colored_label(
                        ui.visuals().error_fg_color,
                        format!("Not possible now: {e}"),
                    );
                    if ui.button("Close").clicked() {
                        actions.push(UiAction::CancelMigration);
                    }
                }
            }
        });
}

/// `h:mm:ss.s` for the simulated clock.
pub fn format_clock(t: SimTime) -> String {
    let total = t.as_secs_f64();
    let h = (total / 3600.0).floor();
    let m = ((total - h * 3600.0) / 60.0).floor();
    let s = total - h * 3600.0 - m * 60.0;
    format!("{h:.0}:{m:02.0}:{s:04.1}")
}

/// A label and a widget, with the widget labelled by the label for screen readers and tests.
pub fn labeled(
    ui: &mut egui::Ui,
    text: &str,
    add: impl FnOnce(&mut egui::Ui) -> egui::Response,
) -> egui::Response {
    ui.horizontal(|ui| {
        let l = ui.label(text);
        add(ui).labelled_by(l.id)
    })
    .inner
}
