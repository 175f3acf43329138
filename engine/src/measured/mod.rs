//! Measurements to set beside the model (issue 19): PerfMon CSV logs ([`perfmon`]), the VMMS
//! blackout events 20415/20417 as CSV or XML ([`events`]) and `lmlab real` JSON reports
//! ([`real`]), read within a size cap with the encodings PowerShell and the PerfMon tools write,
//! their names mapped to the lab's ([`map`]) and assembled into [`MeasuredRun`]s: one per live
//! migration, whatever number of files (one per host, plus the events) it was measured in.
//! [`overlay`] sets a run beside the model's migration of the same VM; `crate::calibrate` fits
//! the transport's costs to runs.

pub mod events;
pub mod map;
pub mod overlay;
pub mod perfmon;
pub mod real;
mod runs;

use crate::located::{ReadError, read_bytes};
use crate::scenario::ScenarioSpec;
pub use map::{NameKind, NameMap, Unmapped};
use std::path::Path;

/// The largest measurement file read: a day of 1 s samples of a few hundred counters.
pub const MAX_MEASURED_BYTES: u64 = 64 * 1024 * 1024;
/// Most measurement files one overlay or calibration reads.
pub const MAX_MEASURED_FILES: usize = 64;

/// Why a measurement file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MeasuredError {
    #[error("{file}: cannot read the measurements: {error}")]
    Io { file: String, error: std::io::Error },
    #[error("{file}:{line}: {message}")]
    Invalid {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{0}")]
    File(crate::located::Located),
    /// The files read, but do not make a migration of the lab.
    #[error("{0}")]
    Runs(String),
}

impl MeasuredError {
    pub(crate) fn invalid(file: &str, line: usize, message: impl Into<String>) -> MeasuredError {
        MeasuredError::Invalid {
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }
}

/// Points `(seconds, value)` in time order.
pub type Points = Vec<(f64, f64)>;

/// One host's CPU during a run.
#[derive(Clone, Debug, PartialEq)]
pub struct HostCpu {
    /// The lab's host name.
    pub host: String,
    /// `% Processor Time` of the root partition (PerfMon), or the migration's threads (`lmlab
    /// real`), per sample.
    pub pct: Points,
}

/// One NIC's traffic during a run, Gbit/s on the wire (or RDMA bytes).
#[derive(Clone, Debug, PartialEq)]
pub struct NicTraffic {
    pub host: String,
    /// The lab's NIC name, or the measured instance when it maps to none.
    pub nic: String,
    /// "sent", "received", "RDMA out", "RDMA in".
    pub direction: String,
    pub gbps: Points,
}

/// One measured live migration, in the lab's names, with times in seconds from its start.
#[derive(Clone, Debug, PartialEq)]
pub struct MeasuredRun {
    /// "app02 hv1 → hv2 (lm-hv1.csv, vmms.xml)".
    pub label: String,
    pub files: Vec<String>,
    pub vm: String,
    pub from: Option<String>,
    pub to: Option<String>,
    /// When it started, seconds since 1970 UTC (absent for `lmlab real` runs).
    pub start_utc_s: Option<f64>,
    /// Guest memory moved per second, Gbit/s (the live-migration transport counter; without it,
    /// SMB Direct bytes of the source).
    pub throughput: Points,
    /// Where the throughput came from ("SMB Transport: Bytes Sent/sec", …).
    pub throughput_source: String,
    pub cpu: Vec<HostCpu>,
    pub nics: Vec<NicTraffic>,
    /// The blackout (VMMS 20415/20417, or the real run's downtime), ms.
    pub pause_ms: Option<f64>,
    /// From the first sample that saw the migration to its end (the event, or the first sample
    /// without it), s.
    pub total_s: Option<f64>,
    /// The image size, when the files say (`lmlab real`, or pass 1's page count × 4 KiB).
    pub memory_bytes: Option<u64>,
}

/// What reading a set of files gave: the runs, and names the lab does not have.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Measurements {
    pub runs: Vec<MeasuredRun>,
    pub unmapped: Vec<Unmapped>,
    /// Things worth saying (a file with nothing usable, a counter without samples).
    pub notes: Vec<String>,
}

/// A file of one of the three kinds, parsed but not yet in the lab's names.
#[derive(Clone, Debug, PartialEq)]
pub enum MeasuredFile {
    Perfmon(perfmon::PerfmonLog),
    Events(Vec<events::BlackoutEvent>),
    Real(real::RealRun),
}

fn read(path: &Path) -> Result<Vec<u8>, MeasuredError> {
    let file = path.display().to_string();
    read_bytes(path, MAX_MEASURED_BYTES, "measurement files").map_err(|e| match e {
        ReadError::Io(error) => MeasuredError::Io { file, error },
        ReadError::Invalid(l) => MeasuredError::File(l),
    })
}

/// Reads a PerfMon CSV (UTF-8, UTF-16 with a byte-order mark, or Windows-1252).
pub fn load_perfmon(path: &Path) -> Result<perfmon::PerfmonLog, MeasuredError> {
    let bytes = read(path)?;
    perfmon::parse(
        &crate::inventory::decode(&bytes),
        &path.display().to_string(),
    )
}

/// Reads any measurement file, telling the kind from its content: a PDH-CSV header, an XML
/// event export, a CSV of events, or a JSON report of `lmlab real`.
pub fn load(path: &Path) -> Result<MeasuredFile, MeasuredError> {
    let bytes = read(path)?;
    let file = path.display().to_string();
    parse(&crate::inventory::decode(&bytes), &file)
}

/// [`load`] on text already read.
pub fn parse(text: &str, file: &str) -> Result<MeasuredFile, MeasuredError> {
    let head = text.trim_start_matches('\u{feff}').trim_start();
    if head.starts_with("\"(PDH-CSV") || head.starts_with("(PDH-CSV") {
        perfmon::parse(text, file).map(MeasuredFile::Perfmon)
    } else if head.starts_with('<') {
        events::parse_xml(head, file).map(MeasuredFile::Events)
    } else if head.starts_with('{') {
        real::parse(head, file).map(MeasuredFile::Real)
    } else if head.starts_with('"') || head.starts_with("TimeCreated") || head.starts_with('#') {
        events::parse_csv(text, file).map(MeasuredFile::Events)
    } else {
        Err(MeasuredError::invalid(
            file,
            1,
            "not a measurement file lmlab reads: expected a PerfMon CSV (relog or typeperf, \
             first cell \"(PDH-CSV 4.0) …\"), VMMS events 20415/20417 as CSV or XML, or the JSON \
             of `lmlab real`",
        ))
    }
}

/// Reads every file and assembles the runs in the lab's names.
pub fn load_all(
    paths: &[&Path],
    spec: &ScenarioSpec,
    names: &NameMap,
) -> Result<Measurements, MeasuredError> {
    if paths.len() > MAX_MEASURED_FILES {
        return Err(MeasuredError::Runs(format!(
            "{} measurement files: at most {MAX_MEASURED_FILES} are read at once",
            paths.len()
        )));
    }
    let mut files = Vec::with_capacity(paths.len());
    for p in paths {
        files.push((p.display().to_string(), load(p)?));
    }
    Ok(assemble(&files, spec, names))
}

/// The file's name without its folder, for labels.
pub(crate) fn short(file: &str) -> String {
    Path::new(file)
        .file_name()
        .map_or_else(|| file.to_string(), |f| f.to_string_lossy().into_owned())
}

/// Runs from parsed files: a run per migration seen in the PerfMon logs (files whose samples
/// overlap in time and name the same VM are one run), each `lmlab real` report a run of its
/// own; host CPU, NIC traffic and blackout events join the run they overlap.
pub fn assemble(
    files: &[(String, MeasuredFile)],
    spec: &ScenarioSpec,
    names: &NameMap,
) -> Measurements {
    let mut out = Measurements::default();
    let mut pieces = runs::Pieces::default();
    let mut events = Vec::new();
    for (file, f) in files {
        match f {
            MeasuredFile::Perfmon(log) => pieces.add(log, file, spec, names, &mut out.unmapped),
            MeasuredFile::Events(list) => {
                events.extend(list.iter().map(|e| (file.clone(), e.clone())));
            }
            MeasuredFile::Real(r) => {
                match r.run(file, spec, names, (&mut out.unmapped, &mut out.notes)) {
                    Ok(run) => out.runs.push(run),
                    Err(e) => out.notes.push(e),
                }
            }
        }
    }
    let runs = pieces.runs(names, &events, &mut out);
    out.runs.extend(runs);
    out.unmapped.sort();
    out.unmapped.dedup();
    out
}

/// The median of the samples above half the largest: the rate while the copy ran, without the
/// ramp, the blackout's sample and the samples where the migration was over.
pub fn steady(points: &[(f64, f64)]) -> Option<f64> {
    let max = points.iter().map(|p| p.1).fold(0.0_f64, f64::max);
    if max <= 0.0 {
        return None;
    }
    let mut v: Vec<f64> = points
        .iter()
        .map(|p| p.1)
        .filter(|v| *v >= 0.5 * max)
        .collect();
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

/// The times of the samples [`steady`] kept.
pub fn steady_window(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let max = points.iter().map(|p| p.1).fold(0.0_f64, f64::max);
    let kept = points.iter().filter(|p| max > 0.0 && p.1 >= 0.5 * max);
    let (lo, hi) = kept.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
        (lo.min(p.0), hi.max(p.0))
    });
    (lo <= hi).then_some((lo, hi))
}

/// The mean of `points` within `from..=to`.
pub fn mean_between(points: &[(f64, f64)], from: f64, to: f64) -> Option<f64> {
    let v: Vec<f64> = points
        .iter()
        .filter(|p| p.0 >= from - 1e-9 && p.0 <= to + 1e-9)
        .map(|p| p.1)
        .collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

impl MeasuredRun {
    /// The steady throughput, Gbit/s.
    pub fn throughput_gbps(&self) -> Option<f64> {
        steady(&self.throughput)
    }

    /// A host's mean CPU over the steady part of the copy, %, less its idle CPU when the log
    /// has samples from before or after the migration ([`MeasuredRun::cpu_idle_pct`]).
    pub fn cpu_pct(&self, host: &str) -> Option<f64> {
        let c = self.cpu.iter().find(|c| c.host == host)?;
        let (from, to) = steady_window(&self.throughput)?;
        let busy = mean_between(&c.pct, from, to)?;
        Some((busy - self.cpu_idle_pct(host).unwrap_or(0.0)).max(0.0))
    }

    /// A host's CPU without the migration: the median of its samples before the first sample
    /// that saw the migration or after its end (none when the log has no such sample).
    pub fn cpu_idle_pct(&self, host: &str) -> Option<f64> {
        let c = self.cpu.iter().find(|c| c.host == host)?;
        let end = self
            .total_s
            .or_else(|| self.throughput.last().map(|p| p.0))?;
        let mut idle: Vec<f64> = c
            .pct
            .iter()
            .filter(|p| p.0 < -1e-9 || p.0 > end + 1e-9)
            .map(|p| p.1)
            .collect();
        idle.sort_by(f64::total_cmp);
        let n = idle.len();
        (n > 0).then(|| (idle[(n - 1) / 2] + idle[n / 2]) / 2.0)
    }
}
