//! CPU measurement for the real transport.
//!
//! - Each side's cost is the CPU time of its own threads, found by name prefix (`lm-src`,
//!   `lm-dst`): on Linux from `/proc/self/task/*/stat`, so a loopback run with both ends in one
//!   process still splits source from destination, and the guest writer (`lm-guest`) is never
//!   counted as migration cost. Elsewhere the whole process's CPU time (sysinfo) stands in, and
//!   the report says so.
//! - Per-core load of the machine comes from sysinfo, sampled no faster than its 200 ms minimum.

use std::time::Instant;

/// CPU seconds used so far by this process's threads whose names start with `prefix`.
/// Returns `(seconds, exact)`; `exact` is false when only the whole process could be measured.
pub fn thread_group_cpu_s(prefix: &str) -> (f64, bool) {
    #[cfg(target_os = "linux")]
    {
        if let Some(s) = linux_threads_cpu_s(prefix) {
            return (s, true);
        }
    }
    let _ = prefix;
    (process_cpu_s(), false)
}

#[cfg(target_os = "linux")]
fn linux_threads_cpu_s(prefix: &str) -> Option<f64> {
    // USER_HZ is 100 on every Linux ABI in use.
    const TICKS_PER_S: f64 = 100.0;
    let mut ticks: u64 = 0;
    for entry in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue; // the thread ended meanwhile
        };
        // Fields: pid (comm) state ... utime(14) stime(15); comm may hold spaces, so split at ')'.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if !stat[open + 1..close].starts_with(prefix) {
            continue;
        }
        let rest: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let utime: u64 = rest.get(11).and_then(|v| v.parse().ok()).unwrap_or(0);
        let stime: u64 = rest.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
        ticks += utime + stime;
    }
    Some(ticks as f64 / TICKS_PER_S)
}

/// Memory this machine has available for new allocations, bytes (sysinfo); `None` where it
/// cannot tell.
pub fn available_memory() -> Option<u64> {
    let mut sys = sysinfo::System::new().ok()?;
    sys.refresh_memory();
    Some(sys.available_memory()).filter(|&b| b > 0)
}

/// CPU seconds of the whole process (sysinfo).
pub fn process_cpu_s() -> f64 {
    let Ok(pid) = sysinfo::get_current_pid() else {
        return 0.0;
    };
    let Ok(mut sys) = sysinfo::System::new() else {
        return 0.0;
    };
    sys.refresh_processes(sysinfo::ProcessesToUpdate::Some(&[pid]), true);
    sys.process(pid)
        .map(|p| p.accumulated_cpu_time() as f64 / 1e3)
        .unwrap_or(0.0)
}

pub fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Samples the machine's per-core load (sysinfo), at most every 200 ms.
#[derive(Debug)]
pub struct CoreSampler {
    sys: Option<sysinfo::System>,
    last: Instant,
    /// (seconds since start, busy % of each core)
    pub samples: Vec<(f64, Vec<f64>)>,
    start: Instant,
}

impl CoreSampler {
    pub fn new() -> CoreSampler {
        let sys = sysinfo::System::new().ok().map(|mut s| {
            s.refresh_cpu_usage();
            s
        });
        let now = Instant::now();
        CoreSampler {
            sys,
            last: now,
            samples: Vec::new(),
            start: now,
        }
    }

    /// Takes a sample if at least the minimum interval has passed since the last one.
    pub fn tick(&mut self) {
        if self.last.elapsed() < sysinfo::MINIMUM_CPU_UPDATE_INTERVAL {
            return;
        }
        if let Some(sys) = &mut self.sys {
            sys.refresh_cpu_usage();
            self.last = Instant::now();
            let per: Vec<f64> = sys.cpus().iter().map(|c| c.usage() as f64).collect();
            self.samples.push((self.start.elapsed().as_secs_f64(), per));
        }
    }

    /// Mean busy % of each core over the samples taken.
    pub fn mean_per_core(&self) -> Vec<f64> {
        let Some(n) = self.samples.first().map(|s| s.1.len()) else {
            return Vec::new();
        };
        let mut sum = vec![0.0; n];
        for (_, s) in &self.samples {
            for (a, b) in sum.iter_mut().zip(s) {
                *a += b;
            }
        }
        sum.iter().map(|v| v / self.samples.len() as f64).collect()
    }
}

impl Default for CoreSampler {
    fn default() -> Self {
        CoreSampler::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_named_thread_is_counted_in_its_group_only() {
        let h = std::thread::Builder::new()
            .name("lm-test-busy".into())
            .spawn(|| {
                let t = Instant::now();
                let mut x = 0u64;
                while t.elapsed().as_millis() < 300 {
                    x = x.wrapping_mul(31).wrapping_add(7);
                }
                std::hint::black_box(x);
                thread_group_cpu_s("lm-test-busy")
            });
        let (busy, exact) = h
            .map(|h| h.join().unwrap_or((0.0, false)))
            .unwrap_or((0.0, false));
        assert!(busy > 0.1, "{busy}");
        if exact {
            let (other, _) = thread_group_cpu_s("lm-test-nobody");
            assert_eq!(other, 0.0);
        }
    }
}
