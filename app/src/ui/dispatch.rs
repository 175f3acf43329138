//! The one place the window's state changes: every [`Action`] a panel pushed is carried out here,
//! once per frame, by one function per action group. Lab edits are validated by the engine and
//! the run replays to the present on the new lab; long operations start worker jobs whose results
//! are applied when they finish.

use super::action::{Action, FileAction, JobAction, LabAction, ViewAction};
use super::files;
use super::jobs::Job;
use super::layout::{default_layout, key};
use super::real_run;
use super::state::{
    Checkpoint, FilePlaces, LabState, MAX_UNDO, PathFor, PathPrompt, PendingMigration, Then,
    Unsaved, Work,
};
use lmlab_engine::scenario::Edit;
use lmlab_engine::sim::Mark;
use lmlab_engine::{Command, Scenario, SimTime};
use std::path::{Path, PathBuf};

/// Size of the charts the window exports, in pixels.
pub const EXPORT_SIZE: (u32, u32) = (1600, 900);

impl LabState {
    /// Carries out one action.
    pub fn handle(&mut self, action: impl Into<Action>) {
        match action.into() {
            Action::Lab(a) => self.lab_action(a),
            Action::View(a) => self.view_action(a),
            Action::File(a) => self.file_action(a),
            Action::Job(a) => self.job_action(a),
        }
    }

    fn lab_action(&mut self, a: LabAction) {
        match a {
            LabAction::Apply(cmd) => self.apply(cmd),
            LabAction::Edit(edit) => self.edit(&edit),
            LabAction::AskMigration { vm, to } => {
                let forecast = self.doc.sim.forecast(&vm, &to).map_err(|e| e.to_string());
                self.screen.pending = Some(PendingMigration { vm, to, forecast });
            }
            LabAction::ConfirmMigration => {
                if let Some(p) = self.screen.pending.take() {
                    self.apply(Command::Migrate { vm: p.vm, to: p.to });
                }
            }
            LabAction::CancelMigration => self.screen.pending = None,
            LabAction::MoveShape(key, pos) => {
                self.doc.layout.insert(key, pos);
                self.doc.dirty = true;
            }
            LabAction::Undo => self.undo_redo(true),
            LabAction::Redo => self.undo_redo(false),
        }
    }

    /// The lab as it is now, to come back to.
    fn checkpoint(&self, label: String) -> Checkpoint {
        Checkpoint {
            label,
            spec: self.spec().clone(),
            history: self.doc.sim.history().to_vec(),
            future: self.doc.future.clone(),
            layout: self.doc.layout.clone(),
        }
    }

    /// Remembers the state before a change that succeeded; a new change forgets what was undone.
    fn remember(&mut self, before: Checkpoint) {
        let stack = &mut self.doc.undo;
        stack.undo.push(before);
        if stack.undo.len() > MAX_UNDO {
            stack.undo.remove(0);
        }
        stack.redo.clear();
    }

    /// Goes back to the last checkpoint (undo) or forward again (redo): the lab and its commands
    /// as they were, replayed to the present. Shapes keep where the user put them.
    fn undo_redo(&mut self, undo: bool) {
        let stack = &mut self.doc.undo;
        let Some(to) = (if undo {
            stack.undo.pop()
        } else {
            stack.redo.pop()
        }) else {
            return;
        };
        let here = self.checkpoint(to.label.clone());
        let scenario = match Scenario::from_spec(to.spec.clone()) {
            Ok(s) => s,
            // Cannot happen: every checkpoint was a valid lab. Say so rather than lose it.
            Err(e) => {
                self.screen.status = Some(format!("cannot go back to that lab: {e}"));
                return;
            }
        };
        if to.spec != here.spec {
            self.results.compare = None;
            self.lab_changed();
        }
        let skipped = self.rebuild(scenario, &to.history);
        self.doc.future = to.future.clone();
        for (key, pos) in &to.layout {
            self.doc.layout.entry(key.clone()).or_insert(*pos);
        }
        self.doc.dirty = true;
        self.screen.inspector_error = None;
        let word = if undo { "undid" } else { "redid" };
        self.screen.status = Some(if skipped.is_empty() {
            format!("{word}: {}", to.label)
        } else {
            format!("{word}: {}; {}", to.label, skipped.join("; "))
        });
        let stack = &mut self.doc.undo;
        if undo {
            stack.redo.push(here);
        } else {
            stack.undo.push(here);
        }
    }

    fn view_action(&mut self, a: ViewAction) {
        match a {
            ViewAction::Play => self.clock.playing = true,
            ViewAction::Pause => {
                self.clock.playing = false;
                self.clock.to_caption = false;
            }
            ViewAction::PlayPause => {
                self.clock.playing = !self.clock.playing;
                self.clock.to_caption = false;
            }
            ViewAction::PlayToCaption => {
                self.clock.playing = true;
                self.clock.to_caption = true;
            }
            ViewAction::TogglePresentation => self.prefs.presentation = !self.prefs.presentation,
            ViewAction::FitCanvas => self.screen.fit_canvas += 1,
            ViewAction::ShowShortcuts(on) => self.screen.show_shortcuts = on,
            ViewAction::Step => {
                let now = self.doc.sim.now();
                let next = self.next_moment().unwrap_or(now);
                self.forward_to(next.max(now));
            }
            ViewAction::StepBack => {
                if let Some(t) = self.previous_event(|_| true) {
                    self.go_to(t);
                }
            }
            ViewAction::BackToFault => match self.previous_event(Mark::is_fault_or_repair) {
                Some(t) => self.go_to(t),
                None => self.screen.status = Some("no fault or repair before now".into()),
            },
            ViewAction::Restart => self.go_to(SimTime::ZERO),
            ViewAction::GoTo(t) => self.go_to(t),
            ViewAction::SetSpeed(s) => self.clock.speed = s,
            ViewAction::Select(s) => {
                self.screen.selection = s;
                self.screen.inspector_error = None;
            }
            ViewAction::SetCursor(t) => {
                self.clock.cursor_t = Some(t);
                self.clock.follow = false;
            }
            ViewAction::SetFollow(f) => {
                self.clock.follow = f;
                if f {
                    self.clock.cursor_t = None;
                }
            }
            ViewAction::SetView(v) => self.screen.view = v,
            ViewAction::SetPrefs(p) => self.prefs = p,
            ViewAction::SetRealSettings(p) => self.results.real = *p,
            ViewAction::MapMeasuredName { kind, name, to } => {
                self.map_measured_name(kind, name, to)
            }
            ViewAction::CloseWelcome => {
                self.screen.show_welcome = false;
                self.prefs.welcome_seen = true;
            }
        }
    }

    fn file_action(&mut self, a: FileAction) {
        match a {
            FileAction::Open => self.unless_unsaved(Then::Open),
            FileAction::ImportInventory => self.unless_unsaved(Then::ImportInventory),
            FileAction::OpenPath(p) => self.unless_unsaved(Then::OpenPath(p)),
            FileAction::OpenPreset(file) => self.unless_unsaved(Then::OpenPreset(file)),
            FileAction::Close => self.unless_unsaved(Then::Close),
            FileAction::Unsaved(answer) => self.answer_unsaved(answer),
            FileAction::Save => match self.doc.file.clone() {
                Some(p) => self.save_to(p),
                None => self.save_as(),
            },
            FileAction::SaveAs => self.save_as(),
            FileAction::SaveTo(p) => self.save_to(p),
            FileAction::Recover(yes) => self.recover(yes),
            FileAction::Export => match files::pick_folder(self.places.dialogs) {
                Some(Some(p)) => self.export_to(p),
                Some(None) => {}
                None => self.prompt(PathFor::Export, String::new()),
            },
            FileAction::ExportTo(dir) => self.export_to(dir),
            FileAction::LoadMeasurements => match files::pick_measurements(self.places.dialogs) {
                Some(Some(ps)) => self.add_measurements(&ps),
                Some(None) => {}
                None => self.prompt(PathFor::Measurements, String::new()),
            },
            FileAction::AddMeasurements(ps) => self.add_measurements(&ps),
            FileAction::AddLastRealRun => self.add_last_real_run(),
            FileAction::ClearMeasurements => self.results.measured = None,
            FileAction::ExportReport => match files::pick_pdf(self.places.dialogs) {
                Some(Some(p)) => self.report_to(p),
                Some(None) => {}
                None => self.prompt(PathFor::Report, String::new()),
            },
            FileAction::ExportReportTo(p) => self.report_to(p),
            FileAction::PromptText(text) => {
                if let Some(p) = &mut self.screen.path_prompt {
                    p.text = text;
                }
            }
            FileAction::PromptDone(answer) => {
                self.screen.path_prompt = None;
                if answer.is_none() {
                    // A cancelled Save as also cancels what was to follow it.
                    self.screen.after_save = None;
                }
                match answer {
                    Some((PathFor::Open, p)) => self.open_path(&p),
                    Some((PathFor::SaveAs, p)) => self.save_to(p),
                    Some((PathFor::Export, p)) => self.export_to(p),
                    Some((PathFor::Report, p)) => self.report_to(p),
                    Some((PathFor::Measurements, p)) => self.add_measurements(&[p]),
                    None => {}
                }
            }
        }
    }

    fn job_action(&mut self, a: JobAction) {
        match a {
            JobAction::RunCompare => self.run_compare(),
            JobAction::RunReal => self.run_real(),
            JobAction::Calibrate => self.run_calibrate(),
            JobAction::Cancel => {
                if let Some(w) = &self.work {
                    w.job().cancel();
                }
            }
        }
    }

    /// Does `then` now, or first asks Save / Discard / Cancel when the lab has unsaved changes.
    fn unless_unsaved(&mut self, then: Then) {
        if self.doc.dirty {
            self.screen.unsaved = Some(then);
        } else {
            self.carry_out(then);
        }
    }

    fn answer_unsaved(&mut self, answer: Unsaved) {
        let Some(then) = self.screen.unsaved.take() else {
            return;
        };
        match answer {
            Unsaved::Cancel => {}
            Unsaved::Discard => self.carry_out(then),
            Unsaved::Save => {
                // Carried out once the save succeeds (after a Save as dialog or prompt, if any).
                self.screen.after_save = Some(then);
                match self.doc.file.clone() {
                    Some(p) => self.save_to(p),
                    None => self.save_as(),
                }
            }
        }
    }

    fn carry_out(&mut self, then: Then) {
        // Another lab would orphan the job: its result belongs to this one, and a real run
        // cannot be stopped half-way.
        if self.work.is_some() && then != Then::Close {
            self.screen.status =
                Some("a job is running: wait for it to finish or cancel it first".into());
            return;
        }
        match then {
            Then::OpenPreset(file) => match crate::presets::load(file) {
                Ok(s) => self.replace_lab(LabState::new(s)),
                Err(e) => self.screen.status = Some(format!("{e:#}")),
            },
            Then::Open => match files::pick_open(self.places.dialogs) {
                Some(Some(p)) => self.open_path(&p),
                Some(None) => {}
                None => self.prompt(PathFor::Open, String::new()),
            },
            Then::ImportInventory => match files::pick_inventory(self.places.dialogs) {
                Some(Some(p)) => self.open_path(&p),
                Some(None) => {}
                None => self.prompt(PathFor::Open, String::new()),
            },
            Then::OpenPath(p) => self.open_path(&p),
            Then::Close => self.screen.close_now = true,
        }
    }

    /// Shows a comparison computed elsewhere (the screenshot command runs it in the foreground).
    pub fn show_comparison(&mut self, report: lmlab_engine::compare::CompareReport) {
        self.results.compare = Some(report);
    }

    /// Shows a real run made elsewhere (the screenshot command runs it in the foreground).
    pub fn show_real_run(&mut self, run: super::state::RealRun) {
        self.results.real_last = Some(run);
    }

    /// Runs the simulation to `t` (used by tests and the screenshot command).
    pub fn run_to(&mut self, t: SimTime) {
        self.doc.sim.advance_to(t);
    }

    fn apply(&mut self, cmd: Command) {
        let before = self.checkpoint(cmd.describe());
        match self.doc.sim.apply(cmd) {
            Ok(()) => {
                self.remember(before);
                self.screen.status = self.drop_future().then(|| {
                    "the commands recorded after this time were dropped (Undo brings them back)"
                        .to_string()
                });
                self.doc.dirty = true;
            }
            Err(e) => self.screen.status = Some(format!("refused: {e}")),
        }
    }

    /// Applies a lab edit: refused in place if invalid, else replayed to the present.
    fn edit(&mut self, edit: &Edit) {
        let spec = match self.spec().edited(edit) {
            Ok(s) => s,
            Err(e) => {
                self.screen.inspector_error = Some(e.to_string());
                return;
            }
        };
        let scenario = match Scenario::from_spec(spec) {
            Ok(s) => s,
            Err(e) => {
                self.screen.inspector_error = Some(e.to_string());
                return;
            }
        };
        self.remember(self.checkpoint(edit.to_string()));
        if let Edit::Rename { thing, to } = edit {
            self.rename_shape(thing, to);
        }
        self.screen.inspector_error = None;
        self.doc.dirty = true;
        self.lab_changed();
        for (key, pos) in default_layout(&scenario.spec) {
            self.doc.layout.entry(key).or_insert(pos);
        }
        let history = self.doc.sim.history().to_vec();
        let skipped = self.rebuild(scenario, &history);
        self.results.compare = None;
        self.screen.status =
            (!skipped.is_empty()).then(|| format!("lab changed; {}", skipped.join("; ")));
    }

    /// The lab changed under a running comparison: its result would describe the old lab.
    fn lab_changed(&mut self) {
        if let Some(Work::Compare(job)) = &self.work {
            job.cancel();
        }
        // Names may match the changed lab now (or no longer).
        let spec = self.doc.sim.scenario().spec.clone();
        if let Some(m) = &mut self.results.measured {
            m.remap(&spec);
        }
    }

    /// A renamed shape keeps its place on the canvas.
    fn rename_shape(&mut self, thing: &lmlab_engine::scenario::Thing, to: &str) {
        use lmlab_engine::scenario::Thing;
        let (kind, old) = match thing {
            Thing::Host(n) => ("host", n),
            Thing::Switch(n) => ("switch", n),
            Thing::Storage(n) => ("storage", n),
            Thing::Vm(_) => return,
        };
        if let Some(p) = self.doc.layout.remove(&key(kind, old)) {
            self.doc.layout.insert(key(kind, to), p);
        }
    }

    /// Puts `lab` in this window: preferences, file places and the window's counters carry over.
    /// (Never while a job runs: `carry_out` waits for it.)
    fn replace_lab(&mut self, mut lab: LabState) {
        lab.prefs = self.prefs.clone();
        lab.places = FilePlaces {
            last_autosave: None,
            ..self.places.clone()
        };
        lab.doc.generation = self.doc.generation + 1;
        *self = lab;
    }

    fn prompt(&mut self, purpose: PathFor, text: String) {
        self.screen.path_prompt = Some(PathPrompt { purpose, text });
    }

    fn save_as(&mut self) {
        match files::pick_save(self.places.dialogs) {
            Some(Some(p)) => self.save_to(p),
            Some(None) => {}
            None => {
                let text = self
                    .doc
                    .file
                    .as_ref()
                    .map(|f| f.display().to_string())
                    .unwrap_or_default();
                self.prompt(PathFor::SaveAs, text);
            }
        }
    }

    fn open_path(&mut self, p: &Path) {
        match files::open(p) {
            Ok(lab) => {
                self.replace_lab(lab);
                self.screen.status = Some(format!("opened {}", p.display()));
            }
            // The lab that is open stays untouched.
            Err(e) => self.screen.status = Some(e),
        }
    }

    fn save_to(&mut self, p: PathBuf) {
        match files::save(self, &p) {
            Ok(()) => {
                self.screen.status = Some(format!("saved {}", p.display()));
                self.doc.file = Some(p);
                self.doc.dirty = false;
                if let Some(then) = self.screen.after_save.take() {
                    self.carry_out(then);
                }
            }
            Err(e) => {
                self.screen.status = Some(e);
                self.screen.after_save = None;
            }
        }
    }

    fn recover(&mut self, yes: bool) {
        let Some(p) = self.screen.recovery_offer.take() else {
            return;
        };
        if yes {
            self.carry_out(Then::OpenPath(p.clone()));
            self.doc.file = None;
            self.doc.dirty = true;
        } else if let Err(e) = std::fs::remove_file(&p)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            self.screen.status = Some(format!("{}: cannot remove: {e}", p.display()));
        }
    }

    /// Saves to the recovery file once a minute while there are unsaved changes.
    pub fn autosave(&mut self) {
        let Some(path) = self.places.recovery.clone() else {
            return;
        };
        let due = self
            .places
            .last_autosave
            .is_none_or(|t| t.elapsed().as_secs_f64() >= files::AUTOSAVE_EVERY_S);
        if !self.doc.dirty || !due {
            return;
        }
        if let Some(dir) = path.parent()
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            self.screen.status = Some(format!("autosave failed: {}: {e}", dir.display()));
            return;
        }
        match files::save(self, &path) {
            Ok(()) => self.places.last_autosave = Some(std::time::Instant::now()),
            Err(e) => self.screen.status = Some(format!("autosave failed: {e}")),
        }
    }

    /// Starts `work` unless another job runs.
    pub(super) fn start(&mut self, work: impl FnOnce(&Self) -> Result<Work, String>) {
        if self.work.is_some() {
            self.screen.status = Some("wait for the running job to finish".into());
            return;
        }
        match work(self) {
            Ok(w) => self.work = Some(w),
            Err(e) => self.screen.status = Some(e),
        }
    }

    fn run_compare(&mut self) {
        if self.spec().configurations.is_empty() {
            self.screen.status = Some("this lab names no [[configurations]] to compare".into());
            return;
        }
        self.start(|lab| {
            let (scenario, seed) = (lab.sim().scenario().clone(), lab.doc.seed);
            Ok(Work::Compare(Job::spawn(
                "Comparing configurations",
                move |p| {
                    lmlab_engine::compare::compare_with_progress(&scenario, seed, &mut p.callback())
                },
            )))
        });
    }

    /// Writes every chart and data file of the run into `dir` on a worker, from a copy of the
    /// simulation (the window goes on running the original).
    fn export_to(&mut self, dir: PathBuf) {
        self.start(|lab| {
            let sim = lab.sim().clone();
            let what = format!("Exporting into {}", dir.display());
            let d = dir.clone();
            let (window, sort) = (lab.export_window(&sim), lab.prefs.compare_sort);
            let runs = lab.measured_runs().to_vec();
            let job = Job::spawn(what, move |p| {
                let opts = crate::output::ExportOptions {
                    size: EXPORT_SIZE,
                    window,
                    sort,
                    measured: &runs,
                };
                crate::output::export_all(&sim, &d, &opts, &mut p.callback())
                    .map(|files| files.map(|f| f.len()))
                    .map_err(|e| format!("{e:#}"))
            });
            Ok(Work::Export { dir, job })
        });
    }

    /// Writes the PDF report of the run on a worker, from a copy of the simulation.
    fn report_to(&mut self, file: PathBuf) {
        self.start(|lab| {
            let sim = lab.sim().clone();
            let what = format!("Writing the report {}", file.display());
            let f = file.clone();
            let window = lab.export_window(&sim);
            let sort = lab.prefs.compare_sort;
            let runs = lab.measured_runs().to_vec();
            let job = Job::spawn(what, move |_| {
                let command = "File → Export → Report (PDF) on this lab";
                crate::output::report_pdf(&sim, window, sort, command, &runs)
                    .and_then(|pdf| crate::output::write_file(&f, &pdf))
                    .map(|()| Some(1))
                    .map_err(|e| format!("{e:#}"))
            });
            Ok(Work::Export { dir: file, job })
        });
    }

    /// The time window exports draw, as the Export menu chose: the activity, what the timeline
    /// shows (within the run), or the whole run.
    pub fn export_window(
        &self,
        sim: &lmlab_engine::Simulation,
    ) -> lmlab_engine::export::TimeWindow {
        use super::prefs::ExportWindow;
        use lmlab_engine::export::TimeWindow;
        match (self.prefs.export_window, self.screen.view_range) {
            (ExportWindow::All, _) => TimeWindow::all(sim),
            (ExportWindow::View, Some((a, b))) => {
                let all = TimeWindow::all(sim);
                let (from, to) = (a.max(0.0), b.min(all.to_s));
                if to - from >= 1.0 {
                    TimeWindow {
                        from_s: from,
                        to_s: to,
                    }
                } else {
                    all
                }
            }
            _ => TimeWindow::activity(sim),
        }
    }

    fn run_real(&mut self) {
        self.start(|lab| {
            let req = real_run::request(lab).map_err(|e| format!("real run: {e}"))?;
            let what = format!(
                "Real run: {} MiB over {} channel(s)",
                req.config.memory_bytes >> 20,
                req.config.channels
            );
            // The bar counts passes against the pass limit: a run that converges early jumps to
            // done. A real run cannot stop half-way (both ends simply abandon a half-done
            // migration), so Cancel only hides its result.
            let passes = req.config.max_passes as usize + 1;
            Ok(Work::Real(Job::spawn(what, move |p| {
                let progress = |step: lmlab_real::Step<'_>| {
                    p.set(step.pass as usize, passes);
                    p.note(step.text);
                };
                real_run::execute(req, &progress).map_err(|e| format!("real run: {e}"))
            })))
        });
    }

    /// Applies the result of a finished job.
    pub fn finish_work(&mut self) {
        let status = match &mut self.work {
            None => return,
            Some(Work::Compare(job)) => {
                let cancelled = job.cancel_requested();
                match job.try_finish() {
                    None => return,
                    Some(Ok(Some(r))) if !cancelled => {
                        self.results.compare = Some(r);
                        None
                    }
                    Some(Ok(_)) => Some("cancelled".to_string()),
                    Some(Err(e)) => Some(e.to_string()),
                }
            }
            Some(Work::Export { dir, job }) => match job.try_finish() {
                None => return,
                Some(Ok(Ok(Some(1)))) => Some(format!("wrote {}", dir.display())),
                Some(Ok(Ok(Some(n)))) => Some(format!("exported {n} files into {}", dir.display())),
                Some(Ok(Ok(None))) => {
                    Some(format!("export cancelled; {} is as it was", dir.display()))
                }
                Some(Ok(Err(e))) => Some(e),
                Some(Err(e)) => Some(e.to_string()),
            },
            Some(Work::Real(job)) => {
                let cancelled = job.cancel_requested();
                match job.try_finish() {
                    None => return,
                    Some(_) if cancelled => Some("cancelled".to_string()),
                    Some(Ok(Ok(run))) => {
                        // Success shows in the view itself; the status line carries failures.
                        let failed = !run.report.verified;
                        self.results.real_last = Some(run);
                        failed.then(|| "real run failed: nothing was migrated".to_string())
                    }
                    Some(Ok(Err(e))) => Some(e),
                    Some(Err(e)) => Some(e.to_string()),
                }
            }
            Some(Work::Calibrate(job)) => match job.try_finish() {
                None => return,
                Some(Ok(Ok(c))) => {
                    if let Some(m) = &mut self.results.measured {
                        m.calibration = Some(c);
                    }
                    None
                }
                Some(Ok(Err(e))) => Some(format!("calibration: {e}")),
                Some(Err(e)) => Some(e.to_string()),
            },
        };
        self.work = None;
        if status.is_some() {
            self.screen.status = status;
        }
    }
}
