//! Which lines a time chart shows: the one description the window (`app/src/ui/plots.rs`) and the
//! exporter ([`crate::export`]) both read. Each line carries its label, its palette colour, its
//! role (readers choose a line style per role and medium) and its data; readers never name series
//! columns or decide selection themselves.
//!
//! The window and a report differ in what they can afford: the window shows send and receive per
//! NIC and each migration's own rate (a reader can hover and zoom), a report the total and each
//! host's receive traffic. [`Audience`] says which.

use crate::sim::{Column, Series, SeriesKey, Simulation};
use std::borrow::Cow;

/// A time chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeChartKind {
    /// Live-migration throughput, Gbit/s.
    Throughput,
    /// Live-migration CPU per host, %.
    Cpu,
}

/// Who reads the chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// The window: interactive, per NIC and per migration.
    Window,
    /// An exported chart: fewer, wider lines.
    Report,
}

/// What a line is; readers pick its style from this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineRole {
    /// All live migrations together.
    Total,
    /// One NIC's receive traffic on the wire.
    NicReceive,
    /// One NIC's send traffic on the wire.
    NicSend,
    /// One host's receive traffic on the wire, all NICs.
    HostReceive,
    /// One migration's guest-memory rate, exact steps at each change.
    Migration,
    /// One host's live-migration CPU.
    HostCpu,
    /// The average CPU of all hosts (large labs).
    AverageCpu,
    /// A measured series (PerfMon, `lmlab real`) set beside the model's: drawn with a dot at
    /// every sample, in the colour of the model's line it is compared with.
    Measured,
}

/// A line's colour: an index into the shared palette ([`crate::export::SERIES_RGB`]) or grey.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineColor {
    Palette(usize),
    Grey,
}

/// A line's data.
#[derive(Clone, Debug, PartialEq)]
pub enum LineData<'a> {
    /// A column of the series: one value per sample, stored as change points.
    Sampled(Cow<'a, Column>),
    /// Points (t_s, value) in time order.
    Points(Vec<[f64; 2]>),
}

/// One line of a time chart.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartLine<'a> {
    pub label: String,
    pub role: LineRole,
    pub color: LineColor,
    pub data: LineData<'a>,
}

impl ChartLine<'_> {
    /// The line as (t_s, value) points.
    pub fn points(&self, series: &Series) -> Vec<(f64, f64)> {
        match &self.data {
            LineData::Sampled(c) => series.polyline(c),
            LineData::Points(p) => p.iter().map(|p| (p[0], p[1])).collect(),
        }
    }
}

/// Lines at most in a CPU chart; larger labs show the busiest and the average.
pub const MAX_CPU_LINES: usize = 12;
/// NICs at most for per-NIC lines in the window (else per host).
const MAX_NIC_LINES: usize = 16;
/// Hosts at most with their own receive line.
const MAX_HOST_LINES: usize = 16;
/// Migrations with their own line in the window (the latest).
const MAX_MIGRATION_LINES: usize = 12;
/// A report lists every host's CPU in labs up to this size, else only hosts that did work.
const REPORT_ALL_HOSTS: usize = 8;

/// The lines of `kind` for `audience`; `from_s` is where the visible time range starts, from which
/// the window's CPU chart picks the busiest hosts.
pub fn lines(
    sim: &Simulation,
    kind: TimeChartKind,
    audience: Audience,
    from_s: f64,
) -> Vec<ChartLine<'_>> {
    match (kind, audience) {
        (TimeChartKind::Throughput, Audience::Window) => throughput_window(sim),
        (TimeChartKind::Throughput, Audience::Report) => throughput_report(sim),
        (TimeChartKind::Cpu, Audience::Window) => cpu_window(sim, from_s),
        (TimeChartKind::Cpu, Audience::Report) => cpu_report(sim),
    }
}

fn sampled(v: &Column) -> LineData<'_> {
    LineData::Sampled(Cow::Borrowed(v))
}

fn total(sim: &Simulation) -> Option<ChartLine<'_>> {
    sim.series()
        .get(SeriesKey::AllMigrationsGbps)
        .map(|col| ChartLine {
            label: "all live migrations".into(),
            role: LineRole::Total,
            color: LineColor::Palette(0),
            data: sampled(col),
        })
}

fn host_receive(
    s: &Series,
    h: &crate::scenario::HostSpec,
    color: usize,
) -> Option<ChartLine<'static>> {
    let rx = s.host_rx_gbps(h);
    rx.any_positive().then(|| ChartLine {
        label: format!("{} receive (wire)", h.name),
        role: LineRole::HostReceive,
        color: LineColor::Palette(color),
        data: LineData::Sampled(Cow::Owned(rx)),
    })
}

fn throughput_report(sim: &Simulation) -> Vec<ChartLine<'_>> {
    let s = sim.series();
    let spec = &sim.scenario().spec;
    let mut out: Vec<ChartLine<'_>> = total(sim).into_iter().collect();
    for (k, h) in spec.hosts.iter().enumerate().take(MAX_HOST_LINES) {
        out.extend(host_receive(s, h, k + 1));
    }
    out
}

fn throughput_window(sim: &Simulation) -> Vec<ChartLine<'_>> {
    let s = sim.series();
    let spec = &sim.scenario().spec;
    let mut out: Vec<ChartLine<'_>> = total(sim).into_iter().collect();
    // Per NIC (each team member is a NIC): receive and send, for NICs that carried traffic; with
    // many NICs, per host receive instead.
    let nics: usize = spec.hosts.iter().map(|h| h.nics.len()).sum();
    let mut k = 1;
    for h in &spec.hosts {
        if nics <= MAX_NIC_LINES {
            for n in &h.nics {
                let (host, nic) = (h.name.as_str(), n.name.as_str());
                for (key, role, word) in [
                    (
                        SeriesKey::NicReceive { host, nic },
                        LineRole::NicReceive,
                        "receive",
                    ),
                    (SeriesKey::NicSend { host, nic }, LineRole::NicSend, "send"),
                ] {
                    if let Some(col) = s.get(key)
                        && col.any_positive()
                    {
                        out.push(ChartLine {
                            label: format!("{host} {nic} {word}"),
                            role,
                            color: LineColor::Palette(k),
                            data: sampled(col),
                        });
                        k += 1;
                    }
                }
            }
        } else if spec.hosts.len() <= MAX_HOST_LINES
            && let Some(line) = host_receive(s, h, k)
        {
            out.push(line);
            k += 1;
        }
    }
    // Per migration: exact steps from its rate changes (the latest few).
    let now = sim.now().as_secs_f64();
    let migs = sim.migrations();
    for (k, m) in migs
        .iter()
        .enumerate()
        .skip(migs.len().saturating_sub(MAX_MIGRATION_LINES))
    {
        if m.rate_history.is_empty() {
            continue;
        }
        let mut pts = Vec::new();
        let mut last = 0.0;
        for (t, g) in &m.rate_history {
            pts.push([t.as_secs_f64(), last]);
            pts.push([t.as_secs_f64(), *g]);
            last = *g;
        }
        let end = m.ended.map_or(now, |t| t.as_secs_f64());
        let stop = m
            .pause_started
            .map_or(end, |t| {
                t.as_secs_f64() + m.downtime.map_or(0.0, |d| d.as_secs_f64())
            })
            .min(end);
        pts.push([stop, last]);
        pts.push([stop, 0.0]);
        out.push(ChartLine {
            label: format!("{} → {}", spec.vms[m.vm].name, spec.hosts[m.to].name),
            role: LineRole::Migration,
            color: LineColor::Palette(k + 3),
            data: LineData::Points(pts),
        });
    }
    out
}

fn host_cpu<'a>(sim: &'a Simulation, k: usize, col: &'a Column) -> ChartLine<'a> {
    ChartLine {
        label: sim.scenario().spec.hosts[k].name.clone(),
        role: LineRole::HostCpu,
        color: LineColor::Palette(k),
        data: sampled(col),
    }
}

fn cpu_report(sim: &Simulation) -> Vec<ChartLine<'_>> {
    let s = sim.series();
    let spec = &sim.scenario().spec;
    let mut out = Vec::new();
    for (k, h) in spec.hosts.iter().enumerate() {
        if let Some(col) = s.get(SeriesKey::HostCpu { host: &h.name })
            && (col.any_positive() || spec.hosts.len() <= REPORT_ALL_HOSTS)
            && out.len() < MAX_CPU_LINES
        {
            out.push(host_cpu(sim, k, col));
        }
    }
    out
}

/// Every host's CPU; with many hosts, the busiest in the visible range plus the average.
fn cpu_window(sim: &Simulation, from_s: f64) -> Vec<ChartLine<'_>> {
    let s = sim.series();
    let first = s.samples_before(from_s);
    let hosts = &sim.scenario().spec.hosts;
    let cols: Vec<(usize, &Column)> = hosts
        .iter()
        .enumerate()
        .filter_map(|(k, h)| s.get(SeriesKey::HostCpu { host: &h.name }).map(|c| (k, c)))
        .collect();
    let mut shown: Vec<(usize, &Column, f64)> = cols
        .iter()
        .map(|&(k, c)| (k, c, c.max_between(first, s.len())))
        .collect();
    let mut out = Vec::new();
    if shown.len() > MAX_CPU_LINES {
        shown.retain(|x| x.2 > 0.0);
        shown.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
        shown.truncate(MAX_CPU_LINES);
        let n = cols.len().max(1) as f64;
        let avg = s
            .sum_of(hosts.iter().map(|h| SeriesKey::HostCpu { host: &h.name }))
            .map(|x| x / n);
        out.push(ChartLine {
            label: "average of all hosts".into(),
            role: LineRole::AverageCpu,
            color: LineColor::Grey,
            data: LineData::Sampled(Cow::Owned(avg)),
        });
    }
    out.extend(shown.into_iter().map(|(k, col, _)| host_cpu(sim, k, col)));
    out
}

/// The measured lines of `kind` for runs set beside the model ([`crate::measured::overlay`]):
/// each run's throughput (the colour of the model's total) or each measured host's CPU (the
/// colour of that host's line), from where the model's migration of the run's VM starts. Runs
/// the lab does not migrate have no lines. (Each NIC's measured traffic is in the error table,
/// [`crate::measured::overlay`]: beside every per-NIC line it made the key too long to read.)
pub fn measured_lines(
    sim: &Simulation,
    kind: TimeChartKind,
    runs: &[crate::measured::MeasuredRun],
) -> Vec<ChartLine<'static>> {
    let hosts = &sim.scenario().spec.hosts;
    let mut out = Vec::new();
    let matched = crate::measured::overlay::model_migrations(sim, runs);
    for (run, m) in runs.iter().zip(matched) {
        let Some(start) = m.and_then(|m| m.started).map(|t| t.as_secs_f64()) else {
            continue;
        };
        let shifted = |p: &[(f64, f64)]| -> Vec<[f64; 2]> {
            p.iter().map(|(t, v)| [start + t, *v]).collect()
        };
        match kind {
            TimeChartKind::Throughput => {
                if !run.throughput.is_empty() {
                    out.push(ChartLine {
                        label: format!("measured {}", run.vm),
                        role: LineRole::Measured,
                        color: LineColor::Palette(0),
                        data: LineData::Points(shifted(&run.throughput)),
                    });
                }
            }
            TimeChartKind::Cpu => {
                for c in &run.cpu {
                    let k = hosts.iter().position(|h| h.name == c.host).unwrap_or(0);
                    out.push(ChartLine {
                        label: match run.cpu_idle_pct(&c.host) {
                            Some(idle) => format!("measured {} (idle {idle:.1} %)", c.host),
                            None => format!("measured {}", c.host),
                        },
                        role: LineRole::Measured,
                        color: LineColor::Palette(k),
                        data: LineData::Points(shifted(&c.pct)),
                    });
                }
            }
        }
    }
    out
}

/// What a band of the backup lane stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaneBand {
    /// A backup job, by outcome (none while it runs).
    Job(Option<crate::sim::JobOutcome>),
    /// A third-party requester holding a node's VSS provider.
    ThirdParty,
}

/// A marker on the backup lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaneMark {
    /// A requester found a snapshot set in creation (0x80042316).
    VssConflict,
    /// A failed job's retry runs.
    Retry,
    /// The queue was full: a job was discarded.
    Discarded,
}

impl LaneMark {
    /// The short label readers draw beside the marker.
    pub fn label(self) -> &'static str {
        match self {
            LaneMark::VssConflict => "VSS conflict",
            LaneMark::Retry => "retry",
            LaneMark::Discarded => "discarded",
        }
    }
}

/// The backup lane: one row per backup set, then one per node a third-party requester used;
/// job bands by outcome and conflict and retry markers. The window and exports both read it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BackupLane {
    pub rows: Vec<String>,
    /// (row, from t_s, to t_s, what).
    pub bands: Vec<(usize, f64, f64, LaneBand)>,
    /// (row, t_s, what).
    pub marks: Vec<(usize, f64, LaneMark)>,
}

impl BackupLane {
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// The backup lane of a run up to now; empty when the lab has no backup sets.
pub fn backup_lane(sim: &Simulation) -> BackupLane {
    use crate::sim::JobOutcome;
    let spec = &sim.scenario().spec;
    if spec.backup_sets.is_empty() {
        return BackupLane::default();
    }
    let now = sim.now().as_secs_f64();
    let mut rows: Vec<String> = spec.backup_sets.iter().map(|s| s.name.clone()).collect();
    let sets = rows.len();
    let mut tp_rows: Vec<usize> = Vec::new();
    for r in sim.third_party_backups() {
        if !tp_rows.contains(&r.node) {
            tp_rows.push(r.node);
            rows.push(format!("third-party {}", spec.hosts[r.node].name));
        }
    }
    let tp_row = |node: usize| sets + tp_rows.iter().position(|&n| n == node).unwrap_or(0);
    let mut bands = Vec::new();
    let mut marks = Vec::new();
    for j in sim.backup_jobs() {
        // A retry is marked when it runs (its failure is marked by the job's band and, for a VSS
        // conflict, by the conflict's marker).
        if let Some(at) = j.retry_at.map(|t| t.as_secs_f64()).filter(|&t| t <= now) {
            marks.push((j.set, at, LaneMark::Retry));
        }
        let to = j.ended.map_or(now, |t| t.as_secs_f64());
        if j.code == Some(crate::sim::VSS_E_SNAPSHOT_SET_IN_PROGRESS) {
            marks.push((j.set, to, LaneMark::VssConflict));
        }
        match (j.started, j.outcome) {
            (_, Some(JobOutcome::Discarded)) => {
                marks.push((j.set, j.queued.as_secs_f64(), LaneMark::Discarded));
            }
            (Some(from), o) => bands.push((j.set, from.as_secs_f64(), to, LaneBand::Job(o))),
            (None, _) => {}
        }
    }
    for r in sim.third_party_backups() {
        let row = tp_row(r.node);
        if r.failed {
            marks.push((row, r.start.as_secs_f64(), LaneMark::VssConflict));
        } else {
            let to = r.end.as_secs_f64().min(now);
            bands.push((row, r.start.as_secs_f64(), to, LaneBand::ThirdParty));
        }
    }
    BackupLane { rows, bands, marks }
}
