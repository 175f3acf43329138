//! lmlab's application layer: the command line and the GUI. The engine does the work; this crate
//! parses what the user asked for, turns it into engine calls, and shows or writes the results.

pub mod cli;
pub mod gui;
pub mod presets;
pub mod real_cli;
pub mod ui;
