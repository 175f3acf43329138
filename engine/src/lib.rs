//! lmlab-engine: the deterministic core of Live Migration Lab.
//!
//! Four calls drive a [`sim::Simulation`]: [`apply`](sim::Simulation::apply) a command,
//! [`advance_to`](sim::Simulation::advance_to) a time, take a [`snapshot`](sim::Simulation::snapshot),
//! and ask for the [`next_deadline`](sim::Simulation::next_deadline). The GUI, the CLI and the tests
//! all drive it the same way. Nothing in this crate reads a clock, spawns a thread or opens a
//! socket: the real transport, which does all three, is its own crate (`lmlab-real`) on top of
//! this one. Exports draw charts into memory (PNG and SVG bytes) with plotters; writing them to
//! files is the caller's part.

pub mod calibrate;
pub mod chart;
pub mod check;
pub mod command;
pub mod compare;
pub mod explain;
pub mod export;
pub mod inventory;
pub mod kernel;
pub mod limits;
pub mod located;
pub mod measured;
pub mod precopy;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod session;
pub mod sim;
pub mod time;
pub mod transport;
pub mod units;

pub use command::{Command, TimedCommand};
pub use scenario::{Scenario, ScenarioError};
pub use sim::{Simulation, Snapshot};
pub use time::{SimDuration, SimTime};
