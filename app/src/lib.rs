//! lmlab's application layer: the command line and the GUI. The engine does the work; this crate
//! parses what the user asked for, turns it into engine calls, and shows or writes the results.
//!
//! Layers, from the bottom up (a module uses only those below it): `output` (files both the CLI
//! and the window write: exports, atomic writes, loading a scenario or session) and `presets` ←
//! `ui` (the window's content, layered inside, see its documentation) ← `gui` (the eframe app) ←
//! `real_cli` ← `measured_cli` (overlay, calibrate) ← `cli` (the command line) ← `main.rs`.

pub mod cli;
pub mod gui;
pub mod measured_cli;
pub mod output;
pub mod presets;
pub mod real_cli;
pub mod ui;
