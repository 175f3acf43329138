//! The window's state as plain data, grouped by what it is about. Panels read it (`&LabState`);
//! only `ui/dispatch.rs` changes it, in answer to the [`super::action::Action`]s panels push.

use super::checkpoints::Checkpoints;
use super::jobs::{Job, Running};
use super::prefs::Prefs;
use lmlab_engine::compare::CompareReport;
use lmlab_engine::precopy::Forecast;
use lmlab_engine::scenario::ScenarioSpec;
use lmlab_engine::{Scenario, SimTime, Simulation, TimedCommand};
use lmlab_real::predict::Prediction;
use lmlab_real::{Codec, RealReport};
use std::collections::BTreeMap;
use std::path::PathBuf;

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
    /// Pre-flight checks, and how an imported inventory was resolved.
    Check,
    /// Measured runs beside the model: errors, name mapping, calibration.
    Calibrate,
}

/// The inventory a lab was imported from, with what the import resolved and warned.
#[derive(Clone, Debug)]
pub struct ImportedFrom {
    pub file: PathBuf,
    pub imported: lmlab_engine::inventory::Imported,
}

impl PartialEq for ImportedFrom {
    fn eq(&self, other: &Self) -> bool {
        self.file == other.file && self.imported.toml == other.imported.toml
    }
}

/// A migration the user asked for, waiting for confirmation with its forecast.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingMigration {
    pub vm: String,
    pub to: String,
    pub forecast: Result<Forecast, String>,
}

/// What a typed-path prompt is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathFor {
    Open,
    SaveAs,
    /// A folder for charts, CSV and the report.
    Export,
    /// The PDF report's file.
    Report,
    /// A measurement file to add (PerfMon CSV, VMMS events, `lmlab real` JSON).
    Measurements,
}

/// What to do once the user has answered the unsaved-changes question.
#[derive(Clone, Debug, PartialEq)]
pub enum Then {
    OpenPreset(&'static str),
    /// File → Open (the dialog or prompt comes next).
    Open,
    /// File → Import inventory (the dialog or prompt comes next).
    ImportInventory,
    OpenPath(PathBuf),
    /// Close the window.
    Close,
}

/// The answer to "the lab has unsaved changes".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsaved {
    Save,
    Discard,
    Cancel,
}

/// The typed-path prompt shown when no file dialog is available.
#[derive(Clone, Debug, PartialEq)]
pub struct PathPrompt {
    pub purpose: PathFor,
    pub text: String,
}

/// Settings of the Real run view.
#[derive(Clone, Debug, PartialEq)]
pub struct RealSettings {
    pub vm: Option<String>,
    pub to_host: Option<String>,
    pub memory_mib: u32,
    pub channels: u16,
    pub codec: Codec,
    pub use_agent: bool,
    pub agent_addr: String,
    pub secret: String,
    /// Seal every connection to the agent (`lmlab real --encrypt`).
    pub encrypt: bool,
}

impl Default for RealSettings {
    fn default() -> Self {
        RealSettings {
            vm: None,
            to_host: None,
            memory_mib: 512,
            channels: 4,
            codec: Codec::None,
            use_agent: false,
            agent_addr: "192.0.2.10:7400".into(),
            secret: String::new(),
            encrypt: false,
        }
    }
}

/// A finished real run with the model's prediction for the same VM.
#[derive(Clone, Debug, PartialEq)]
pub struct RealRun {
    pub report: RealReport,
    pub prediction: Option<Prediction>,
    pub prediction_error: Option<String>,
}

/// What an export job hands back: the number of files written, or `None` when cancelled.
pub type Exported = Result<Option<usize>, String>;

/// The long operation running on a worker, if any (one at a time).
#[derive(Debug)]
pub enum Work {
    Compare(Job<Option<CompareReport>>),
    Export { dir: PathBuf, job: Job<Exported> },
    Real(Job<Result<RealRun, String>>),
    Calibrate(Job<Result<lmlab_engine::calibrate::Calibration, String>>),
}

impl Work {
    /// The job, as its progress bar sees it.
    pub fn job(&self) -> &dyn Running {
        match self {
            Work::Compare(j) => j,
            Work::Export { job, .. } => job,
            Work::Real(j) => j,
            Work::Calibrate(j) => j,
        }
    }
}

/// The lab and its commands as they were before a change: what Undo goes back to.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// The change that followed, as the Undo and Redo items name it.
    pub label: String,
    pub spec: ScenarioSpec,
    pub history: Vec<TimedCommand>,
    /// The recorded commands after the present (after a jump back).
    pub future: Vec<TimedCommand>,
    pub layout: BTreeMap<String, [f32; 2]>,
}

/// Undo and redo of lab edits and applied commands (the newest last).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UndoStack {
    pub undo: Vec<Checkpoint>,
    pub redo: Vec<Checkpoint>,
}

/// Changes Undo remembers at most (the oldest are forgotten first).
pub const MAX_UNDO: usize = 200;

/// The lab being worked on: what a session file saves.
#[derive(Debug)]
pub struct Document {
    pub sim: Simulation,
    pub seed: u64,
    /// Canvas positions by shape key (`host:NAME`, `switch:NAME`, `storage:NAME`).
    pub layout: BTreeMap<String, [f32; 2]>,
    /// The session file this lab was opened from or saved to.
    pub file: Option<PathBuf>,
    /// Unsaved changes since the last save.
    pub dirty: bool,
    /// Counts labs opened in this window, so views can fit a new lab once.
    pub generation: u64,
    pub undo: UndoStack,
    /// Commands given after the present, kept after a jump back in time and applied again at
    /// their times as the clock passes them (`ui/clock.rs`).
    pub future: Vec<TimedCommand>,
    /// The furthest time the run has reached (the end of the scrub bar).
    pub horizon: SimTime,
    /// Copies of the run at regular times, for quick jumps back (`ui/checkpoints.rs`).
    pub checkpoints: Checkpoints,
}

/// The simulated clock and the timeline's view of it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clock {
    pub playing: bool,
    pub speed: Speed,
    /// Plots follow the present; false = free zoom.
    pub follow: bool,
    pub cursor_t: Option<f64>,
    /// Playing until the next caption (then the clock pauses there).
    pub to_caption: bool,
}

/// What the screen shows besides the lab: selection, view, dialogs, messages.
#[derive(Clone, Debug, PartialEq)]
pub struct Screen {
    pub selection: Selection,
    pub view: View,
    pub pending: Option<PendingMigration>,
    /// The last message for the status line (errors in red).
    pub status: Option<String>,
    pub inspector_error: Option<String>,
    pub show_welcome: bool,
    pub path_prompt: Option<PathPrompt>,
    pub recovery_offer: Option<PathBuf>,
    /// Counts requests to fit the canvas to the lab.
    pub fit_canvas: u64,
    pub show_shortcuts: bool,
    /// Waiting for Save / Discard / Cancel before doing this.
    pub unsaved: Option<Then>,
    /// Done once the save the user chose has succeeded.
    pub after_save: Option<Then>,
    /// The user agreed to close the window.
    pub close_now: bool,
    /// The time range the timeline showed last frame (for exports of "what the timeline shows").
    pub view_range: Option<(f64, f64)>,
}

/// Results of comparisons and real runs, and the Real run view's settings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Results {
    pub compare: Option<CompareReport>,
    /// Set when the lab was imported from an inventory.
    pub inventory: Option<ImportedFrom>,
    pub real: RealSettings,
    pub real_last: Option<RealRun>,
    /// Measurements loaded beside the lab (File → Load measurements…).
    pub measured: Option<MeasuredSet>,
}

/// Measurement files loaded into the window: what they held, the names mapped to the lab's,
/// the runs they make, and the last calibration against them.
#[derive(Clone, Debug, PartialEq)]
pub struct MeasuredSet {
    pub files: Vec<PathBuf>,
    /// The files as read, so a changed mapping applies without reading them again.
    pub parsed: Vec<(String, lmlab_engine::measured::MeasuredFile)>,
    pub names: lmlab_engine::measured::NameMap,
    pub data: lmlab_engine::measured::Measurements,
    pub calibration: Option<lmlab_engine::calibrate::Calibration>,
}

impl MeasuredSet {
    /// The runs again from the parsed files with the current names, on `spec`.
    /// A calibration stays while the runs stay the same (an applied fit, an unrelated edit).
    pub fn remap(&mut self, spec: &ScenarioSpec) {
        let data = lmlab_engine::measured::assemble(&self.parsed, spec, &self.names);
        if data != self.data {
            self.data = data;
            self.calibration = None;
        }
    }
}

/// Where files go: autosave and whether native dialogs may be used.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FilePlaces {
    /// Where autosaves go (None: autosave off, e.g. in tests).
    pub recovery: Option<PathBuf>,
    /// Whether to try native file dialogs (off in tests and headless runs).
    pub dialogs: bool,
    pub last_autosave: Option<std::time::Instant>,
}

/// Everything the window shows, as data.
#[derive(Debug)]
pub struct LabState {
    pub(super) doc: Document,
    pub(super) clock: Clock,
    pub(super) screen: Screen,
    pub(super) results: Results,
    pub(super) work: Option<Work>,
    pub(super) prefs: Prefs,
    pub(super) places: FilePlaces,
}

impl LabState {
    pub fn new(scenario: Scenario) -> Self {
        let seed = scenario.spec.seed;
        let layout = super::layout::default_layout(&scenario.spec);
        LabState {
            doc: Document {
                sim: Simulation::new(scenario, seed),
                seed,
                layout,
                file: None,
                dirty: false,
                generation: 0,
                undo: UndoStack::default(),
                future: Vec::new(),
                checkpoints: Checkpoints::default(),
                horizon: SimTime::ZERO,
            },
            clock: Clock {
                playing: false,
                speed: Speed::X10,
                follow: true,
                cursor_t: None,
                to_caption: false,
            },
            screen: Screen {
                selection: Selection::Cluster,
                view: View::Lab,
                pending: None,
                status: None,
                inspector_error: None,
                show_welcome: false,
                path_prompt: None,
                recovery_offer: None,
                fit_canvas: 0,
                show_shortcuts: false,
                unsaved: None,
                after_save: None,
                close_now: false,
                view_range: None,
            },
            results: Results::default(),
            work: None,
            prefs: Prefs::default(),
            places: FilePlaces::default(),
        }
    }

    /// The measured runs loaded beside the lab (none when nothing is loaded).
    pub fn measured_runs(&self) -> &[lmlab_engine::measured::MeasuredRun] {
        self.results
            .measured
            .as_ref()
            .map_or(&[], |m| m.data.runs.as_slice())
    }

    /// Native file dialogs may be used (the window on a desktop; not in tests or screenshots).
    pub fn with_dialogs(mut self) -> Self {
        self.places.dialogs = true;
        self
    }

    /// Shows the welcome window first.
    pub fn with_welcome(mut self, show: bool) -> Self {
        self.screen.show_welcome = show;
        self
    }

    /// Autosaves go to `path`; with `offer`, the window first offers to recover what is there.
    pub fn with_recovery(mut self, path: PathBuf, offer: bool) -> Self {
        if offer {
            self.screen.recovery_offer = Some(path.clone());
        }
        self.places.recovery = Some(path);
        self
    }

    pub fn sim(&self) -> &Simulation {
        &self.doc.sim
    }
    pub fn spec(&self) -> &ScenarioSpec {
        &self.doc.sim.scenario().spec
    }
    pub fn seed(&self) -> u64 {
        self.doc.seed
    }
    pub fn layout(&self) -> &BTreeMap<String, [f32; 2]> {
        &self.doc.layout
    }
    pub fn file(&self) -> Option<&std::path::Path> {
        self.doc.file.as_deref()
    }
    pub fn dirty(&self) -> bool {
        self.doc.dirty
    }
    pub fn status(&self) -> Option<&str> {
        self.screen.status.as_deref()
    }
    pub fn selection(&self) -> &Selection {
        &self.screen.selection
    }
    pub fn pending(&self) -> Option<&PendingMigration> {
        self.screen.pending.as_ref()
    }
    pub fn path_prompt(&self) -> Option<&PathPrompt> {
        self.screen.path_prompt.as_ref()
    }
    pub fn compare(&self) -> Option<&CompareReport> {
        self.results.compare.as_ref()
    }
    pub fn real_settings(&self) -> &RealSettings {
        &self.results.real
    }
    pub fn real_last(&self) -> Option<&RealRun> {
        self.results.real_last.as_ref()
    }
    /// Recorded commands after the present (after a jump back in time).
    pub fn future(&self) -> &[TimedCommand] {
        &self.doc.future
    }
    /// How many copies of the run are kept for quick jumps back.
    pub fn checkpoints_kept(&self) -> usize {
        self.doc.checkpoints.len()
    }
    /// Whether the clock is running.
    pub fn playing(&self) -> bool {
        self.clock.playing
    }
    /// Whether the timeline follows the present.
    pub fn clock_follows(&self) -> bool {
        self.clock.follow
    }
    /// What Undo would take back, and what Redo would do again.
    pub fn undo_label(&self) -> Option<&str> {
        self.doc.undo.undo.last().map(|c| c.label.as_str())
    }
    pub fn redo_label(&self) -> Option<&str> {
        self.doc.undo.redo.last().map(|c| c.label.as_str())
    }
    /// The long operation running on a worker, if any.
    pub fn work(&self) -> Option<&Work> {
        self.work.as_ref()
    }
    pub fn prefs(&self) -> &Prefs {
        &self.prefs
    }
    pub fn recovery(&self) -> Option<&std::path::Path> {
        self.places.recovery.as_deref()
    }
}
