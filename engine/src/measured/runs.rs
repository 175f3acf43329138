//! PerfMon columns sorted into pieces (a VM's live-migration counters on one host, a host's
//! CPU, a NIC's traffic, a host's SMB Direct bytes), then joined into runs by VM and time.

use super::events::BlackoutEvent;
use super::map::{NameKind, NameMap, Unmapped};
use super::perfmon::{CounterColumn, PerfmonLog};
use super::{HostCpu, MeasuredRun, Measurements, NicTraffic, Points, short};
use crate::scenario::ScenarioSpec;

/// Seconds by which samples of two files may miss each other and still be one migration.
const JOIN_S: f64 = 5.0;
/// How long after a migration's last sample its VMMS event may come.
const EVENT_AFTER_S: f64 = 10.0;

/// One VM's live-migration counters in one file.
#[derive(Clone, Debug)]
struct LmPiece {
    file: String,
    /// The lab's host, when the measured one maps.
    host: Option<String>,
    /// The lab's VM, or the measured name when it maps to none.
    vm: String,
    mapped: bool,
    t: Vec<f64>,
    present: Vec<bool>,
    /// Guest memory sent per second, Gbit/s, with the counter's name.
    sent: Option<(String, Vec<Option<f64>>)>,
    pass1_pages: Option<f64>,
    step_s: f64,
}

impl LmPiece {
    fn window(&self) -> Option<(f64, f64)> {
        let first = self.present.iter().position(|p| *p)?;
        let last = self.present.iter().rposition(|p| *p)?;
        // The migration ended by the first sample without it (or one step after the last).
        let end = self
            .t
            .get(last + 1)
            .copied()
            .unwrap_or(self.t[last] + self.step_s);
        Some((self.t[first], end))
    }
}

/// A measured series of a host (CPU) or NIC, times in UTC seconds.
#[derive(Clone, Debug)]
struct Timed {
    file: String,
    host: String,
    nic: String,
    direction: String,
    t: Vec<f64>,
    v: Vec<Option<f64>>,
}

impl Timed {
    fn relative(&self, from: f64, to: f64) -> Points {
        self.t
            .iter()
            .zip(&self.v)
            .filter(|(t, _)| **t >= from - JOIN_S && **t <= to + JOIN_S)
            .filter_map(|(t, v)| v.map(|v| (t - from, v)))
            .collect()
    }
}

/// Everything the PerfMon logs held, before runs are formed.
#[derive(Default)]
pub(super) struct Pieces {
    lm: Vec<LmPiece>,
    cpu: Vec<Timed>,
    nics: Vec<Timed>,
    smb_direct: Vec<Timed>,
}

fn is(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn gbps(c: &CounterColumn) -> Vec<Option<f64>> {
    c.values.iter().map(|v| v.map(|b| b * 8.0 / 1e9)).collect()
}

/// `app02:VM Live Migration` → `app02`.
fn lm_vm(instance: &str) -> &str {
    let lower = instance.to_ascii_lowercase();
    match lower.rfind(":vm live migration") {
        Some(i) => &instance[..i],
        None => instance.rsplit_once(':').map_or(instance, |(v, _)| v),
    }
}

impl Pieces {
    /// Sorts a log's columns; names the lab lacks go to `unmapped`.
    pub(super) fn add(
        &mut self,
        log: &PerfmonLog,
        file: &str,
        spec: &ScenarioSpec,
        names: &NameMap,
        unmapped: &mut Vec<Unmapped>,
    ) {
        let step_s = log
            .t_utc_s
            .windows(2)
            .map(|w| w[1] - w[0])
            .find(|d| *d > 0.0)
            .unwrap_or(1.0);
        let mut miss = |kind, name: &str| {
            unmapped.push(Unmapped {
                kind,
                name: name.to_string(),
                file: file.to_string(),
            })
        };
        let mut cpu_parts: Vec<(String, bool, &CounterColumn)> = Vec::new();
        for c in &log.columns {
            let p = &c.path;
            let host = names.host(spec, &p.host);
            if host.is_none() {
                miss(NameKind::Host, &p.host);
            }
            let instance = p.instance.as_deref().unwrap_or("");
            let object = names.counter(&p.object);
            let counter_name = names.counter(&p.counter);
            if is(object, "Hyper-V VM Live Migration") {
                let measured = lm_vm(instance);
                let vm = names.vm(spec, measured);
                if vm.is_none() {
                    miss(NameKind::Vm, measured);
                }
                let piece = self.lm_piece(file, &host, vm, measured, log, step_s);
                for (k, v) in c.values.iter().enumerate() {
                    piece.present[k] |= v.is_some();
                }
                let counter = counter_name.to_ascii_lowercase();
                if counter.ends_with("transport: bytes sent/sec") {
                    piece.sent = Some((counter_name.to_string(), gbps(c)));
                } else if counter == "transfer pass: dirty page count" {
                    let number = log.columns.iter().find(|o| {
                        o.path.instance == p.instance
                            && is(names.counter(&o.path.counter), "Transfer pass: Number")
                    });
                    piece.pass1_pages = number.and_then(|n| {
                        let k = n.values.iter().position(|v| *v == Some(1.0))?;
                        c.values.get(k).copied().flatten()
                    });
                }
                continue;
            }
            let Some(host) = host else { continue };
            let timed = |nic: String, direction: &str, v: Vec<Option<f64>>| Timed {
                file: file.to_string(),
                host: host.clone(),
                nic,
                direction: direction.to_string(),
                t: log.t_utc_s.clone(),
                v,
            };
            if is(object, "Processor Information") && is(counter_name, "% Processor Time") {
                if is(instance, "_Total") {
                    cpu_parts.push((host.clone(), true, c));
                } else if instance.ends_with(",_Total") {
                    cpu_parts.push((host.clone(), false, c));
                }
            } else if (is(object, "SMB Direct Connection") || is(object, "SMB Direct"))
                && is(instance, "_Total")
            {
                let moved = gbps(c);
                match self.smb_direct.iter_mut().find(|s| s.host == host) {
                    // Written and read: the larger is what this host moved.
                    Some(s) => {
                        for (a, b) in s.v.iter_mut().zip(moved) {
                            *a = match (*a, b) {
                                (Some(a), Some(b)) => Some(a.max(b)),
                                (a, b) => a.or(b),
                            };
                        }
                    }
                    None => self
                        .smb_direct
                        .push(timed("SMB Direct".into(), "moved", moved)),
                }
            } else if is(object, "RDMA Activity") || is(object, "Network Adapter") {
                let direction = match counter_name.to_ascii_lowercase().as_str() {
                    "rdma outbound bytes/sec" => "RDMA out",
                    "rdma inbound bytes/sec" => "RDMA in",
                    "bytes sent/sec" => "sent",
                    "bytes received/sec" => "received",
                    _ => continue,
                };
                let nic = names
                    .nic(spec, &p.host, &host, instance)
                    .unwrap_or_else(|| {
                        miss(NameKind::Nic, &format!("{}/{instance}", p.host));
                        instance.to_string()
                    });
                self.nics.push(timed(nic, direction, gbps(c)));
            }
        }
        self.add_cpu(file, log, cpu_parts);
    }

    /// One CPU series per host: `_Total`, else the mean of the NUMA nodes' `N,_Total`.
    fn add_cpu(
        &mut self,
        file: &str,
        log: &PerfmonLog,
        parts: Vec<(String, bool, &CounterColumn)>,
    ) {
        let mut hosts: Vec<&String> = parts.iter().map(|p| &p.0).collect();
        hosts.dedup();
        for host in hosts {
            let total = parts.iter().find(|p| &p.0 == host && p.1);
            let nodes: Vec<&CounterColumn> = match total {
                Some(t) => vec![t.2],
                None => parts.iter().filter(|p| &p.0 == host).map(|p| p.2).collect(),
            };
            let v = (0..log.t_utc_s.len())
                .map(|k| {
                    let vals: Vec<f64> = nodes.iter().filter_map(|c| c.values[k]).collect();
                    (!vals.is_empty()).then(|| vals.iter().sum::<f64>() / vals.len() as f64)
                })
                .collect();
            self.cpu.push(Timed {
                file: file.to_string(),
                host: host.clone(),
                nic: String::new(),
                direction: String::new(),
                t: log.t_utc_s.clone(),
                v,
            });
        }
    }

    fn lm_piece(
        &mut self,
        file: &str,
        host: &Option<String>,
        vm: Option<String>,
        measured: &str,
        log: &PerfmonLog,
        step_s: f64,
    ) -> &mut LmPiece {
        let mapped = vm.is_some();
        let vm = vm.unwrap_or_else(|| measured.to_string());
        let at = self
            .lm
            .iter()
            .position(|p| p.file == file && p.vm == vm && p.host == *host);
        let k = at.unwrap_or_else(|| {
            self.lm.push(LmPiece {
                file: file.to_string(),
                host: host.clone(),
                vm,
                mapped,
                t: log.t_utc_s.clone(),
                present: vec![false; log.t_utc_s.len()],
                sent: None,
                pass1_pages: None,
                step_s,
            });
            self.lm.len() - 1
        });
        &mut self.lm[k]
    }

    /// Runs: live-migration pieces of the same VM that overlap in time are one run.
    pub(super) fn runs(
        &self,
        names: &NameMap,
        events: &[(String, BlackoutEvent)],
        out: &mut Measurements,
    ) -> Vec<MeasuredRun> {
        let mut groups: Vec<(String, f64, f64, Vec<&LmPiece>)> = Vec::new();
        for p in self.lm.iter().filter(|p| p.mapped) {
            let Some((a, b)) = p.window() else { continue };
            match groups
                .iter_mut()
                .find(|g| g.0 == p.vm && a <= g.2 + JOIN_S && b >= g.1 - JOIN_S)
            {
                Some(g) => {
                    g.1 = g.1.min(a);
                    g.2 = g.2.max(b);
                    g.3.push(p);
                }
                None => groups.push((p.vm.clone(), a, b, vec![p])),
            }
        }
        let mut runs: Vec<MeasuredRun> = groups
            .into_iter()
            .map(|(vm, start, end, ps)| self.run_of(vm, start, end, &ps, names, events))
            .collect();
        if runs.is_empty() && !self.smb_direct.is_empty() {
            match self.smb_direct_run(names, events) {
                Ok(r) => runs.push(r),
                Err(e) => out.notes.push(e),
            }
        }
        runs
    }

    fn run_of(
        &self,
        vm: String,
        start: f64,
        end: f64,
        ps: &[&LmPiece],
        names: &NameMap,
        events: &[(String, BlackoutEvent)],
    ) -> MeasuredRun {
        let source = ps.iter().find(|p| p.sent.is_some());
        let from = source
            .and_then(|p| p.host.clone())
            .or(names.migration.from.clone());
        let to = ps
            .iter()
            .filter_map(|p| p.host.clone())
            .find(|h| Some(h) != from.as_ref())
            .or(names.migration.to.clone());
        let throughput: Points = source
            .and_then(|p| p.sent.as_ref().map(|s| (p, s)))
            .map(|(p, (_, v))| {
                p.t.iter()
                    .zip(v)
                    .filter_map(|(t, v)| v.map(|v| (t - start, v)))
                    .collect()
            })
            .unwrap_or_default();
        let mut files: Vec<String> = ps.iter().map(|p| p.file.clone()).collect();
        let mut run = MeasuredRun {
            label: String::new(),
            files: Vec::new(),
            vm,
            from,
            to,
            start_utc_s: Some(start),
            throughput,
            throughput_source: source
                .and_then(|p| p.sent.as_ref().map(|s| s.0.clone()))
                .unwrap_or_default(),
            cpu: Vec::new(),
            nics: Vec::new(),
            pause_ms: None,
            total_s: Some(end - start),
            memory_bytes: ps
                .iter()
                .find_map(|p| p.pass1_pages)
                .map(|pages| (pages * 4096.0) as u64),
        };
        self.join(&mut run, start, end, &mut files, events);
        run
    }

    /// Host CPU, NIC traffic and events that overlap the run join it.
    fn join(
        &self,
        run: &mut MeasuredRun,
        start: f64,
        end: f64,
        files: &mut Vec<String>,
        events: &[(String, BlackoutEvent)],
    ) {
        for c in &self.cpu {
            let pct = c.relative(start, end);
            if !pct.is_empty() && !run.cpu.iter().any(|x| x.host == c.host) {
                run.cpu.push(HostCpu {
                    host: c.host.clone(),
                    pct,
                });
                files.push(c.file.clone());
            }
        }
        for n in self.nics.iter().chain(&self.smb_direct) {
            let gbps = n.relative(start, end);
            if !gbps.is_empty() {
                run.nics.push(NicTraffic {
                    host: n.host.clone(),
                    nic: n.nic.clone(),
                    direction: n.direction.clone(),
                    gbps,
                });
                files.push(n.file.clone());
            }
        }
        if let Some((file, e)) = events.iter().find(|(_, e)| {
            e.vm.eq_ignore_ascii_case(&run.vm)
                && e.t_utc_s >= start - JOIN_S
                && e.t_utc_s <= end + EVENT_AFTER_S
        }) {
            run.pause_ms = Some(e.blackout_s * 1e3);
            run.total_s = Some(e.t_utc_s - start);
            files.push(file.clone());
        }
        // The other host whose counters overlap the migration is where it went.
        if run.to.is_none() {
            let others = run
                .cpu
                .iter()
                .map(|c| &c.host)
                .chain(run.nics.iter().map(|n| &n.host))
                .find(|h| Some(*h) != run.from.as_ref());
            run.to = others.cloned();
        }
        let mut seen = Vec::new();
        files.retain(|f| {
            let new = !seen.contains(f);
            seen.push(f.clone());
            new
        });
        run.label = format!(
            "{} {} → {} ({})",
            run.vm,
            run.from.as_deref().unwrap_or("?"),
            run.to.as_deref().unwrap_or("?"),
            files
                .iter()
                .map(|f| short(f))
                .collect::<Vec<_>>()
                .join(", ")
        );
        run.files = files.clone();
    }

    /// Without live-migration counters: the SMB Direct bytes of the source, for the VM the map
    /// names.
    fn smb_direct_run(
        &self,
        names: &NameMap,
        events: &[(String, BlackoutEvent)],
    ) -> Result<MeasuredRun, String> {
        let Some(vm) = names.migration.vm.clone() else {
            return Err(
                "no `Hyper-V VM Live Migration` counters: say which VM migrated with \
                        `[migration] vm = \"…\"` in the --map file to use the SMB Direct counters"
                    .into(),
            );
        };
        let moved = |s: &&Timed| s.v.iter().flatten().sum::<f64>();
        let src = match &names.migration.from {
            Some(h) => self.smb_direct.iter().find(|s| &s.host == h),
            None => self
                .smb_direct
                .iter()
                .max_by(|a, b| moved(a).total_cmp(&moved(b))),
        }
        .ok_or("no SMB Direct counters of the source host named in the --map file")?;
        let max = src.v.iter().flatten().fold(0.0_f64, |a, b| a.max(*b));
        let busy: Vec<f64> = src
            .t
            .iter()
            .zip(&src.v)
            .filter(|(_, v)| v.is_some_and(|v| max > 0.0 && v >= 0.05 * max))
            .map(|(t, _)| *t)
            .collect();
        let (Some(start), Some(last)) = (busy.first().copied(), busy.last().copied()) else {
            return Err("the SMB Direct counters moved no bytes".into());
        };
        let end = last + 1.0;
        let mut files = vec![src.file.clone()];
        let mut run = MeasuredRun {
            label: String::new(),
            files: Vec::new(),
            vm,
            from: Some(src.host.clone()),
            to: names.migration.to.clone(),
            start_utc_s: Some(start),
            throughput: src.relative(start, end),
            throughput_source: "SMB Direct: Bytes RDMA Written/Read".into(),
            cpu: Vec::new(),
            nics: Vec::new(),
            pause_ms: None,
            total_s: Some(end - start),
            memory_bytes: None,
        };
        self.join(&mut run, start, end, &mut files, events);
        Ok(run)
    }
}
