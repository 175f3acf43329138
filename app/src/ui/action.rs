//! What a panel may ask for, grouped by what it changes. Panels push these; the dispatcher
//! (`ui/dispatch.rs`) is the one place that carries them out, once per frame.

use super::prefs::Prefs;
use super::state::{PathFor, RealSettings, Selection, Speed, Unsaved, View};
use lmlab_engine::scenario::Edit;
use lmlab_engine::{Command, SimTime};
use std::path::PathBuf;

/// Something the user asked for this frame.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Lab(LabAction),
    View(ViewAction),
    File(FileAction),
    Job(JobAction),
}

/// Changes to the lab and what runs in it.
#[derive(Clone, Debug, PartialEq)]
pub enum LabAction {
    /// A command to the running lab (a fault, a repair, an operation).
    Apply(Command),
    /// Edit the lab (validated, then the run replays to the present on the new lab).
    Edit(Edit),
    /// Show the forecast for a migration and ask for confirmation.
    AskMigration {
        vm: String,
        to: String,
    },
    ConfirmMigration,
    CancelMigration,
    /// Move a canvas shape (key like `host:hv1`) to a scene position.
    MoveShape(String, [f32; 2]),
    /// Take back the last lab edit or applied command; do it again.
    Undo,
    Redo,
}

/// How the window shows the lab; nothing here changes the lab.
#[derive(Clone, Debug, PartialEq)]
pub enum ViewAction {
    Play,
    Pause,
    /// Play if paused, pause if playing.
    PlayPause,
    /// Play on to the next caption of the script, and pause there.
    PlayToCaption,
    /// Advance to the next pending event.
    Step,
    /// Go back to the previous event in the log.
    StepBack,
    /// Go back to the latest fault or repair.
    BackToFault,
    /// Go back to time zero (the recorded commands stay, to be played again).
    Restart,
    /// Show the lab at this time (back by replay, forward by running on).
    GoTo(SimTime),
    SetSpeed(Speed),
    Select(Selection),
    SetCursor(f64),
    SetFollow(bool),
    SetView(View),
    SetPrefs(Prefs),
    /// Settings of the Real run view changed.
    SetRealSettings(Box<RealSettings>),
    /// Presentation mode on or off.
    TogglePresentation,
    /// Fit the canvas to the lab.
    FitCanvas,
    /// Show or hide the keyboard shortcuts window.
    ShowShortcuts(bool),
    CloseWelcome,
    /// A name in the measurements that the lab lacks, mapped to one of the lab's.
    MapMeasuredName {
        kind: lmlab_engine::measured::NameKind,
        name: String,
        to: String,
    },
}

/// Files: open, save, presets, recovery, export.
#[derive(Clone, Debug, PartialEq)]
pub enum FileAction {
    Open,
    Save,
    SaveAs,
    OpenPath(PathBuf),
    SaveTo(PathBuf),
    OpenPreset(&'static str),
    /// Recover the autosaved session (true) or discard it.
    Recover(bool),
    /// File → Import inventory: asks first when there are unsaved changes.
    ImportInventory,
    /// Add measurement files (a dialog, or a typed path).
    LoadMeasurements,
    AddMeasurements(Vec<PathBuf>),
    /// The Real run view's last run, added to the measurements.
    AddLastRealRun,
    ClearMeasurements,
    Export,
    ExportTo(PathBuf),
    /// Export → Report (PDF): the file dialog (or a typed path) comes next.
    ExportReport,
    ExportReportTo(PathBuf),
    /// The text of the typed-path prompt changed.
    PromptText(String),
    /// Close the typed-path prompt: with its path (`Some`), or cancelled.
    PromptDone(Option<(PathFor, PathBuf)>),
    /// The answer to the unsaved-changes question.
    Unsaved(Unsaved),
    /// The window is asked to close (asks first when there are unsaved changes).
    Close,
}

/// Long operations on a worker.
#[derive(Clone, Debug, PartialEq)]
pub enum JobAction {
    RunCompare,
    /// Start a real migration with the Real run view's settings.
    RunReal,
    /// Fit the transport's costs to the loaded measurements.
    Calibrate,
    /// Stop the running job at its next check.
    Cancel,
}

impl From<LabAction> for Action {
    fn from(a: LabAction) -> Self {
        Action::Lab(a)
    }
}
impl From<ViewAction> for Action {
    fn from(a: ViewAction) -> Self {
        Action::View(a)
    }
}
impl From<FileAction> for Action {
    fn from(a: FileAction) -> Self {
        Action::File(a)
    }
}
impl From<JobAction> for Action {
    fn from(a: JobAction) -> Self {
        Action::Job(a)
    }
}

/// The actions panels push during a frame.
#[derive(Debug, Default)]
pub struct Actions(Vec<Action>);

impl Actions {
    pub fn push(&mut self, a: impl Into<Action>) {
        self.0.push(a.into());
    }
    pub fn take(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.0)
    }
}
