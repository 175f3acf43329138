//! The JSON report of `lmlab real --json` as a measured run: its 100 ms samples of guest memory
//! moved and the source's CPU, the downtime, the total time and each side's mean CPU. The
//! hosts and VM are the ones its `model` block names (a run made with `--scenario … --vm …`);
//! otherwise the source and destination are called `source` and `destination`, which the map
//! file's `[hosts]` (or `[migration]`) turn into the lab's names.

use super::map::{NameKind, NameMap, Unmapped};
use super::{HostCpu, MeasuredError, MeasuredRun, Points, short};
use crate::scenario::ScenarioSpec;
use serde::Deserialize;

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct RealSample {
    pub t_s: f64,
    pub total_gbps: f64,
    #[serde(default)]
    pub cpu_src_pct: f64,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct RealModel {
    pub vm: String,
    pub from: String,
    pub to: String,
}

/// The fields of a real run's report that a measured run needs.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct RealRun {
    pub verified: bool,
    #[serde(default)]
    pub error: Option<String>,
    pub memory_bytes: u64,
    pub avg_gbps: f64,
    pub total_s: f64,
    pub downtime_ms: f64,
    pub cpu_src_pct: f64,
    pub cpu_dst_pct: f64,
    pub series: Vec<RealSample>,
    #[serde(default)]
    pub model: Option<RealModel>,
    /// Logical processors of the machines it ran on (0: not said).
    #[serde(default)]
    pub cores_src: usize,
    #[serde(default)]
    pub cores_dst: usize,
}

/// Most samples read (an hour at 100 ms).
const MAX_SAMPLES: usize = 36_000;

pub fn parse(text: &str, file: &str) -> Result<RealRun, MeasuredError> {
    let r: RealRun = serde_json::from_str(text).map_err(|e| {
        MeasuredError::invalid(
            file,
            e.line(),
            format!("not the JSON of `lmlab real --json`: {e}"),
        )
    })?;
    let finite = [
        r.avg_gbps,
        r.total_s,
        r.downtime_ms,
        r.cpu_src_pct,
        r.cpu_dst_pct,
    ]
    .iter()
    .all(|v| v.is_finite() && *v >= 0.0);
    if !finite
        || r.series
            .iter()
            .any(|s| !s.t_s.is_finite() || !s.total_gbps.is_finite())
    {
        return Err(MeasuredError::invalid(
            file,
            1,
            "a figure is negative or not a number",
        ));
    }
    if r.series.len() > MAX_SAMPLES {
        return Err(MeasuredError::invalid(
            file,
            1,
            format!("{} samples: at most {MAX_SAMPLES}", r.series.len()),
        ));
    }
    Ok(r)
}

impl RealRun {
    /// The run in the lab's names; names that do not map are listed in `unmapped`. A side's CPU
    /// is kept only when the machine it ran on has as many logical processors as the lab's host
    /// (a share of 2 cores says nothing about a host of 32); `notes` says when it was dropped.
    pub(super) fn run(
        &self,
        file: &str,
        spec: &ScenarioSpec,
        names: &NameMap,
        (unmapped, notes): (&mut Vec<Unmapped>, &mut Vec<String>),
    ) -> Result<MeasuredRun, String> {
        if !self.verified {
            return Err(format!(
                "{file}: the real run failed ({}); it is not a measurement",
                self.error.as_deref().unwrap_or("not verified")
            ));
        }
        let m = self.model.as_ref();
        let mut name = |kind: NameKind, measured: Option<&str>, hint: &Option<String>| {
            let mapped = match (measured, kind) {
                (Some(n), NameKind::Vm) => names.vm(spec, n),
                (Some(n), _) => names.host(spec, n),
                (None, _) => None,
            };
            mapped.or_else(|| hint.clone()).or_else(|| {
                unmapped.push(Unmapped {
                    kind,
                    name: measured.unwrap_or("(not named)").to_string(),
                    file: file.to_string(),
                });
                None
            })
        };
        let from = name(
            NameKind::Host,
            Some(m.map_or("source", |m| m.from.as_str())),
            &names.migration.from,
        );
        let to = name(
            NameKind::Host,
            Some(m.map_or("destination", |m| m.to.as_str())),
            &names.migration.to,
        );
        let vm =
            name(NameKind::Vm, m.map(|m| m.vm.as_str()), &names.migration.vm).ok_or_else(|| {
                format!(
                    "{file}: the real run names no VM of the lab: run it with --scenario and --vm, \
                     or say `[migration] vm = \"…\"` in the --map file"
                )
            })?;
        let throughput: Points = self.series.iter().map(|s| (s.t_s, s.total_gbps)).collect();
        let mut same_machine = |host: &Option<String>, cores: usize| {
            let h = host.as_ref()?;
            let lps =
                spec.hosts.iter().find(|x| &x.name == h).map(|x| {
                    (x.sockets * x.cores_per_socket * if x.smt { 2 } else { 1 }) as usize
                })?;
            if cores == lps {
                Some(h.clone())
            } else {
                notes.push(format!(
                    "{file}: the run's CPU on {h} is left out: it ran on {cores} logical processors, {h} has {lps}"
                ));
                None
            }
        };
        let (src_host, dst_host) = (
            same_machine(&from, self.cores_src),
            same_machine(&to, self.cores_dst),
        );
        let mut cpu = Vec::new();
        if let Some(h) = &src_host {
            cpu.push(HostCpu {
                host: h.clone(),
                pct: self.series.iter().map(|s| (s.t_s, s.cpu_src_pct)).collect(),
            });
        }
        if let Some(h) = &dst_host {
            // Only the mean is measured on the destination: a flat line over the copy.
            cpu.push(HostCpu {
                host: h.clone(),
                pct: self
                    .series
                    .iter()
                    .map(|s| (s.t_s, self.cpu_dst_pct))
                    .collect(),
            });
        }
        Ok(MeasuredRun {
            label: format!(
                "{vm} {} → {} ({}, lmlab real)",
                from.as_deref().unwrap_or("?"),
                to.as_deref().unwrap_or("?"),
                short(file)
            ),
            files: vec![file.to_string()],
            vm,
            from,
            to,
            start_utc_s: None,
            throughput,
            throughput_source: "lmlab real: guest memory moved".into(),
            cpu,
            nics: Vec::new(),
            pause_ms: Some(self.downtime_ms),
            total_s: Some(self.total_s),
            memory_bytes: Some(self.memory_bytes),
        })
    }
}
