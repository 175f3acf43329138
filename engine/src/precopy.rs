//! Pre-copy live migration: the decisions and formulas shared by the simulated migration engine,
//! the convergence forecast and the real transport (the `lmlab-real` crate). Pure functions of bytes, rates and
//! settings; no time source.
//!
//! Model (docs/migration-model.md):
//! - memory moves in 4 KiB pages; pass 1 sends all of it, working set first;
//! - pass k+1 resends the pages dirtied during pass k. A guest writing `dirty_rate` bytes/s at
//!   random over its working set `W` dirties `W · (1 − e^(−dirty_rate · t / W))` distinct bytes in
//!   `t` seconds: a page written twice is sent once;
//! - after each pass: if the pause needed to send the dirty remainder plus device state (and the
//!   fixed resume overhead) fits in the target pause, or the pass limit is reached, the VM is
//!   paused and the remainder plus device state is copied (switch-over); otherwise another pass
//!   starts. So a migration that converges never pauses longer than the target.

use crate::scenario::MigrationSettings;
use serde::Serialize;

pub const PAGE_BYTES: f64 = 4096.0;

/// Distinct bytes dirtied in `seconds` by a guest writing `dirty_rate` bytes/s over `working_set`.
pub fn dirtied_bytes(working_set: f64, dirty_rate: f64, seconds: f64) -> f64 {
    if working_set <= 0.0 || dirty_rate <= 0.0 || seconds <= 0.0 {
        return 0.0;
    }
    let writes = dirty_rate * seconds;
    let d = working_set * (1.0 - (-writes / working_set).exp());
    // Whole pages: a write touches at least one page.
    (d / PAGE_BYTES).ceil() * PAGE_BYTES
}

/// What follows a finished pass.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Next {
    /// Another pre-copy pass of this many bytes.
    Pass(f64),
    /// Pause the VM and copy this many bytes of memory (plus device state).
    SwitchOver(f64),
}

/// The stop rule, applied after pass `passes_done` left `dirty` bytes, at `rate` bytes/s.
pub fn after_pass(passes_done: u32, dirty: f64, rate: f64, s: &MigrationSettings) -> Next {
    let fits = pause_seconds(dirty, rate, s) <= s.target_pause.as_secs_f64();
    if fits || passes_done >= s.max_passes {
        Next::SwitchOver(dirty)
    } else {
        Next::Pass(dirty)
    }
}

/// Bytes copied during the switch-over: the memory remainder plus device state.
pub fn switchover_bytes(remainder: f64, s: &MigrationSettings) -> f64 {
    remainder + s.device_state.as_f64()
}

/// Pause the VM feels for a switch-over of `remainder` memory bytes at `rate` bytes/s.
pub fn pause_seconds(remainder: f64, rate: f64, s: &MigrationSettings) -> f64 {
    if rate <= 0.0 {
        return f64::INFINITY;
    }
    switchover_bytes(remainder, s) / rate + s.switchover_overhead.as_secs_f64()
}

/// A prediction made before a migration starts, at the rate the transport model gives it then.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Forecast {
    /// Guest-memory rate assumed, Gbit/s.
    pub rate_gbps: f64,
    pub passes: u32,
    pub total_s: f64,
    pub pause_ms: f64,
    /// Memory bytes expected on the wire in all passes and the switch-over.
    pub bytes: f64,
    pub converges: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remedies: Vec<String>,
}

/// What a remedy could be; the caller knows the lab and fills the list.
#[derive(Clone, Copy, Debug, Default)]
pub struct RemedyHints {
    pub smb_direct_possible: bool,
    pub more_channels_possible: bool,
    pub compression_possible: bool,
}

/// Runs the stop rule at a constant rate: passes, total time (setup included), pause.
pub fn forecast(
    memory: f64,
    working_set: f64,
    dirty_rate: f64,
    rate: f64,
    s: &MigrationSettings,
    hints: RemedyHints,
) -> Forecast {
    let setup = s.setup.as_secs_f64();
    let mut t = setup;
    let mut bytes = 0.0;
    let mut pass_bytes = memory;
    let mut passes = 0;
    let remainder;
    loop {
        if rate <= 0.0 {
            remainder = pass_bytes;
            break;
        }
        let dt = pass_bytes / rate;
        t += dt;
        bytes += pass_bytes;
        passes += 1;
        let dirty = dirtied_bytes(working_set, dirty_rate, dt);
        match after_pass(passes, dirty, rate, s) {
            Next::Pass(b) => pass_bytes = b,
            Next::SwitchOver(b) => {
                remainder = b;
                break;
            }
        }
    }
    let pause = pause_seconds(remainder, rate, s);
    bytes += remainder;
    t += pause + s.cleanup.as_secs_f64();
    let converges = pause <= s.target_pause.as_secs_f64();
    let ratio = if rate > 0.0 {
        dirty_rate / rate
    } else {
        f64::INFINITY
    };
    let mut remedies = Vec::new();
    let warning = if !converges || ratio > 0.8 {
        if hints.smb_direct_possible {
            remedies
                .push("use SMB Direct (RDMA NICs on both hosts, SMB performance option)".into());
        }
        if hints.more_channels_possible {
            remedies.push(
                "use SMB Multichannel over more NICs (SMB performance option, no LBFO team)".into(),
            );
        }
        if hints.compression_possible {
            remedies.push("use Compression if the guest's memory compresses well".into());
        }
        remedies.push(format!(
            "lower the guest's dirty rate below {:.0} MiB/s",
            0.5 * rate / (1024.0 * 1024.0)
        ));
        Some(if converges {
            format!(
                "dirty rate is {:.0} % of the transfer rate: the migration barely converges",
                100.0 * ratio
            )
        } else {
            format!(
                "will not converge: the guest dirties {:.0} MiB/s against {:.0} MiB/s of transfer; after {passes} passes the pause will be about {:.0} ms",
                dirty_rate / 1048576.0,
                rate / 1048576.0,
                pause * 1e3
            )
        })
    } else {
        None
    };
    Forecast {
        rate_gbps: rate * 8.0 / 1e9,
        passes,
        total_s: t,
        pause_ms: pause * 1e3,
        bytes,
        converges,
        warning,
        remedies,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_dirtied_twice_is_sent_once() {
        let ws = 1024.0 * PAGE_BYTES;
        // Writing ten times the working set dirties (almost) all of it, never more.
        let d = dirtied_bytes(ws, ws, 10.0);
        assert!(d <= ws && d > 0.999 * ws);
        // Small writes: about one byte dirtied per byte written, rounded up to pages.
        let d = dirtied_bytes(1e12, PAGE_BYTES * 10.0, 1.0);
        assert_eq!(d, PAGE_BYTES * 10.0);
        assert_eq!(dirtied_bytes(ws, 0.0, 5.0), 0.0);
    }

    #[test]
    fn an_idle_vm_needs_one_pass_and_a_millisecond_pause() {
        let s = MigrationSettings::default();
        let gib = 1024.0 * 1024.0 * 1024.0;
        let rate = 1e9;
        let f = forecast(16.0 * gib, 0.0, 0.0, rate, &s, RemedyHints::default());
        assert_eq!(f.passes, 1);
        assert!(f.converges && f.warning.is_none());
        let expect =
            s.setup.as_secs_f64() + 16.0 * gib / rate + f.pause_ms / 1e3 + s.cleanup.as_secs_f64();
        assert!((f.total_s - expect).abs() < 1e-9);
        assert!(f.pause_ms < 50.0, "{}", f.pause_ms);
    }

    #[test]
    fn a_vm_dirtying_faster_than_the_link_hits_the_pass_limit() {
        let s = MigrationSettings::default();
        let gib = 1024.0 * 1024.0 * 1024.0;
        let f = forecast(
            8.0 * gib,
            4.0 * gib,
            2e9,
            1e9,
            &s,
            RemedyHints {
                compression_possible: true,
                ..Default::default()
            },
        );
        assert_eq!(f.passes, s.max_passes);
        assert!(!f.converges);
        assert!(f.pause_ms > 1000.0);
        assert!(
            f.warning
                .as_deref()
                .unwrap_or("")
                .contains("will not converge")
        );
        assert!(f.remedies.iter().any(|r| r.contains("Compression")));
    }
}
