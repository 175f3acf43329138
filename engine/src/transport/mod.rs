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

mod hash;
mod params;
mod solve;

pub use hash::{FlowKey, RSS_KEY, rss_queue, toeplitz, xor_fold_member};
pub use params::TransportParams;
pub use solve::{
    FlowResult, HostCpu, LinkUse, MigrationReq, MigrationResult, NetState, Solution, solve,
};
