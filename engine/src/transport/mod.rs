//! The transport model: which connections a live migration opens, over which NICs and team
//! members they run, which processors handle them, and the rates they get.
//!
//! Invariants of a [`Solution`]:
//! - no link direction carries more than its capacity, no logical processor is above 100 %, and
//!   no host's CPU total is above its capacity (the solver only fills up to saturation);
//! - the result is a pure function of the scenario, the migrations, the NIC states and the seed
//!   (the seed only chooses ephemeral TCP ports, which decide hash placement).
//!
//! Equations and parameters: docs/transport-model.md.
//!
//! Layers, each using only those above it:
//! - `hash`, `params`: the Toeplitz/XOR-fold hashes and the model's constants;
//! - `solution`: the public result types;
//! - `fairness`: the shared resources and the max-min fair (water-filling) solver over them;
//! - `topology`: processor layout, RSS placement, interfaces and teams, member selection,
//!   worker placement;
//! - `flows`: the migrations asked for, the connections each performance option opens for them
//!   and their costs per byte;
//! - `solve`: the entry point, from topology through flows and rates to the results.

mod fairness;
mod flows;
mod hash;
mod params;
mod solution;
mod solve;
mod topology;

pub use flows::MigrationReq;
pub use hash::{FlowKey, RSS_KEY, rss_queue, toeplitz, xor_fold_member};
pub use params::TransportParams;
pub use solution::{FlowResult, HostCpu, LinkUse, MigrationResult, Solution};
pub use solve::solve;
pub use topology::NetState;
