//! The window's content, in layers (each uses only the ones above it):
//!
//! 1. `jobs` — a generic worker [`jobs::Job`] with progress and Cancel; knows nothing of labs.
//! 2. `state` (plain data the panels read), `action` (what a panel may ask for, grouped: lab,
//!    view, file, job), `prefs`, `layout` (where shapes sit), `widgets`, `hints` (what each
//!    field means), `theme`, `checkpoints` (copies of the run for quick jumps back).
//! 3. Services: `dispatch` (the one place state changes, one function per action group; its
//!    handling of simulated time, playing and travelling back, is in `clock`), `files`
//!    (open, save, dialogs, recovery), `real_run` (real runs).
//! 4. Panels: `toolbar`, `canvas/`, `inspector`, `plots`, `log`, `compare`, `real`, `dialogs`,
//!    `keys` (keyboard shortcuts).
//!    Each receives `&LabState` (plus its own view state) and pushes actions; none can change
//!    the simulation.
//! 5. `frame` — the [`Workbench`]: lays the panels out, then dispatches the frame's actions.
//!
//! Editing the lab (inspector, palette, canvas) produces a [`lmlab_engine::scenario::Edit`]; the
//! run then restarts from time zero on the new lab, re-applies every command the user gave at its
//! time, and comes back to the present — the same replay a saved session uses.

pub mod action;
mod calibrate;
mod canvas;
mod check;
mod checkpoints;
mod clock;
mod compare;
mod dialogs;
mod dispatch;
pub mod files;
mod frame;
pub mod hints;
mod inspector;
pub mod jobs;
mod keys;
mod layout;
mod log;
mod measured;
mod plots;
pub mod prefs;
mod real;
pub mod real_run;
pub mod state;
mod theme;
mod toolbar;
mod widgets;

pub use action::{Action, FileAction, JobAction, LabAction, ViewAction};
pub use checkpoints::approx_bytes as checkpoint_bytes;
pub use dispatch::EXPORT_SIZE;
pub use frame::Workbench;
pub use plots::PlotShown;
pub use prefs::Prefs;
pub use state::{LabState, Selection, View, Work};
