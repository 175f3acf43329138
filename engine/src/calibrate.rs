//! `lmlab calibrate`: the transport's cost parameters fitted to measured runs by bounded
//! least squares (Levenberg–Marquardt with box constraints, the `rmpfit` crate: CMPFIT in pure
//! Rust, which also gives each parameter's standard error from the covariance).
//!
//! An observation is one measured migration (or one of the lab's configurations with its
//! reference figures): the lab as it was measured, the migrations it ran, and the measured
//! throughput and CPU, each with the uncertainty it is weighed by. The model of an observation is
//! the transport model's steady state, solved as `lmlab compare` does (the median of the trials).
//!
//! Before fitting, each parameter's effect on the residuals is measured (a 5 % step). A
//! parameter that moves no residual is not constrained by these measurements; one whose effect
//! is (nearly) a combination of parameters already kept cannot be told apart from them. Both are
//! held at their value and reported with the measurement that would constrain them; only the
//! others are fitted.

use crate::compare::{apply_configuration, workload};
use crate::measured::MeasuredRun;
use crate::rng::SimRng;
use crate::scenario::{Scenario, ScenarioSpec};
use crate::transport::{MigrationReq, NetState, Solution, TransportParams, solve};
use rmpfit::{MPConfig, MPFitter, MPPar, MPResult};
use serde::Serialize;

/// A fitted parameter: how to read and write it, its bounds and what measurement constrains it.
struct Param {
    name: &'static str,
    get: fn(&TransportParams) -> f64,
    set: fn(&mut TransportParams, f64),
    lo: f64,
    hi: f64,
    needs: &'static str,
}

macro_rules! param {
    ($f:ident, $lo:expr, $hi:expr, $needs:expr) => {
        Param {
            name: stringify!($f),
            get: |p| p.$f,
            set: |p, v| p.$f = v,
            lo: $lo,
            hi: $hi,
            needs: $needs,
        }
    };
}

/// The cost parameters calibration may move (the structural constants — header sizes,
/// connection counts, compression ratios — stay).
const PARAMS: &[Param] = &[
    param!(
        tcp_rx_cpb,
        0.01,
        50.0,
        "the destination's CPU during a TCP/IP or SMB-over-TCP migration"
    ),
    param!(
        lbfo_cpb,
        0.0,
        50.0,
        "a host's CPU during a migration over an LBFO team"
    ),
    param!(
        lm_worker_rx_cpb,
        0.1,
        100.0,
        "the throughput of one TCP/IP migration on fast links (one core per VM)"
    ),
    param!(
        smb_server_cpb,
        0.0,
        50.0,
        "the destination's CPU during an SMB over TCP migration"
    ),
    param!(
        remote_access_penalty_ns,
        0.0,
        500.0,
        "a migration to a two-socket host with the inbox default RSS"
    ),
    param!(
        tcp_tx_cpb,
        0.0,
        50.0,
        "the source's CPU during a TCP/IP or SMB-over-TCP migration"
    ),
    param!(
        lm_worker_tx_cpb,
        0.0,
        50.0,
        "the source's CPU during a TCP/IP migration"
    ),
    param!(
        smb_client_cpb,
        0.0,
        50.0,
        "the source's CPU during an SMB over TCP migration"
    ),
    param!(
        lm_memcopy_cpb,
        0.0,
        50.0,
        "a host's CPU during an SMB Direct migration"
    ),
    param!(
        lm_memcopy_ceiling_gbps,
        1.0,
        1000.0,
        "the throughput of one SMB migration over links faster than one VM's memory copy"
    ),
    param!(
        rdma_cpb,
        0.0,
        50.0,
        "a host's CPU during an SMB Direct migration, beside one over TCP"
    ),
    param!(
        compress_cpb,
        0.1,
        100.0,
        "the throughput or source CPU of a Compression migration"
    ),
    param!(
        decompress_cpb,
        0.0,
        100.0,
        "the destination's CPU during a Compression migration"
    ),
];

/// What an observation measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// All its migrations' guest memory per second, Gbit/s.
    Throughput,
    /// One host's CPU, % (index into the lab's hosts).
    Cpu(usize),
    /// The busier of the source and the destination, % (how the seed reports CPU).
    BusierCpu,
}

/// One measured number and how much it is trusted (one standard deviation).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Target {
    pub measure: Measure,
    pub name: String,
    pub value: f64,
    pub sigma: f64,
}

/// A measured migration (or reference row): the lab as measured, what ran, what was measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    pub label: String,
    pub spec: ScenarioSpec,
    pub workload: Vec<MigrationReq>,
    pub targets: Vec<Target>,
    /// Trials solved (ephemeral ports and RSS placement differ); the median counts.
    pub trials: u32,
    pub seed: u64,
}

/// How far a target is trusted: throughput to 3 % (at least 0.05 Gbit/s), CPU to 10 % (at least
/// half a point).
fn throughput_sigma(v: f64) -> f64 {
    (0.03 * v).max(0.05)
}
fn cpu_sigma(v: f64) -> f64 {
    (0.1 * v).max(0.5)
}

impl Observation {
    /// A measured run on `scenario` (already prepared: the VM on its source host): its steady
    /// throughput and each measured host's CPU.
    pub fn of_run(scenario: &Scenario, run: &MeasuredRun) -> Result<Observation, String> {
        let spec = &scenario.spec;
        let vm = spec
            .vms
            .iter()
            .position(|v| v.name == run.vm)
            .ok_or_else(|| format!("{}: no VM {} in the lab", run.label, run.vm))?;
        let host = |n: &Option<String>| {
            n.as_ref()
                .and_then(|n| spec.hosts.iter().position(|h| &h.name == n))
        };
        let from = host(&run.from).unwrap_or_else(|| {
            spec.hosts
                .iter()
                .position(|h| h.name == spec.vms[vm].host)
                .unwrap_or(0)
        });
        let to = host(&run.to)
            .or_else(|| (0..spec.hosts.len()).find(|h| *h != from))
            .ok_or_else(|| format!("{}: the lab has no host to migrate to", run.label))?;
        let mut targets = Vec::new();
        if let Some(t) = run.throughput_gbps() {
            targets.push(Target {
                measure: Measure::Throughput,
                name: "throughput".into(),
                value: t,
                sigma: throughput_sigma(t),
            });
        }
        for (k, h) in spec.hosts.iter().enumerate() {
            if let Some(c) = run.cpu_pct(&h.name) {
                targets.push(Target {
                    measure: Measure::Cpu(k),
                    name: format!("CPU {}", h.name),
                    value: c,
                    sigma: cpu_sigma(c),
                });
            }
        }
        if targets.is_empty() {
            return Err(format!("{}: no throughput or CPU was measured", run.label));
        }
        Ok(Observation {
            label: run.label.clone(),
            spec: spec.clone(),
            workload: vec![MigrationReq { vm, from, to }],
            targets,
            trials: spec.transport.compare_trials.max(1),
            seed: spec.seed,
        })
    }

    /// The lab's configurations that carry reference figures (the seed's measured rows): the
    /// stated value (a range's middle), trusted to the range's half plus 5 % (throughput) or
    /// 1.5 points (CPU).
    pub fn of_references(scenario: &Scenario) -> Vec<Observation> {
        let spec = &scenario.spec;
        let mid = |v: Option<f64>, r: Option<[f64; 2]>| match (v, r) {
            (_, Some([a, b])) => Some(((a + b) / 2.0, (b - a).abs() / 2.0)),
            (Some(v), None) => Some((v, 0.0)),
            _ => None,
        };
        spec.configurations
            .iter()
            .filter_map(|cfg| {
                let r = cfg.reference.as_ref()?;
                let mut targets = Vec::new();
                if let Some((v, half)) = mid(r.throughput_gbps, r.throughput_range_gbps) {
                    targets.push(Target {
                        measure: Measure::Throughput,
                        name: "throughput".into(),
                        value: v,
                        sigma: half + 0.05 * v,
                    });
                }
                if let Some((v, half)) = mid(r.cpu_pct, r.cpu_range_pct) {
                    targets.push(Target {
                        measure: Measure::BusierCpu,
                        name: "CPU (busier host)".into(),
                        value: v,
                        sigma: half + 1.5,
                    });
                }
                let s = apply_configuration(spec, cfg);
                let migs = workload(&s, cfg);
                (!targets.is_empty() && !migs.is_empty()).then(|| Observation {
                    label: format!("{} ({})", cfg.id, cfg.name),
                    trials: s.transport.compare_trials.max(1),
                    seed: spec.seed,
                    spec: s,
                    workload: migs,
                    targets,
                })
            })
            .collect()
    }

    /// The model's value of each target with parameters `p`.
    pub fn model(&self, p: &TransportParams) -> Vec<f64> {
        let mut spec = self.spec.clone();
        spec.transport = p.clone();
        let net = NetState::all_up(&spec);
        let mut sols: Vec<Solution> = (0..self.trials)
            .map(|t| {
                let seed = SimRng::fork(self.seed, &format!("compare/trial/{t}")).next_u64();
                solve(&spec, &self.workload, &net, seed)
            })
            .collect();
        sols.sort_by(|a, b| a.total_memory_gbps().total_cmp(&b.total_memory_gbps()));
        let sol = &sols[sols.len() / 2];
        let (from, to) = self.workload.first().map_or((0, 1), |m| (m.from, m.to));
        let cpu = |h: usize| sol.hosts.get(h).map_or(0.0, |c| c.cpu_pct);
        self.targets
            .iter()
            .map(|t| match t.measure {
                Measure::Throughput => sol.total_memory_gbps(),
                Measure::Cpu(h) => cpu(h),
                Measure::BusierCpu => cpu(from).max(cpu(to)),
            })
            .collect()
    }
}

/// What calibration did with a parameter.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// Fitted; `sigma` is its standard error.
    Fitted { sigma: f64 },
    /// Fitted to one of its bounds (the measurements push it further).
    AtBound { bound: f64 },
    /// No measured number depends on it.
    NotConstrained { needs: String },
    /// Its effect cannot be told apart from the parameters named.
    NotSeparable { from: Vec<String>, needs: String },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FittedParam {
    pub name: String,
    pub before: f64,
    pub after: f64,
    #[serde(flatten)]
    pub status: Status,
}

/// One measured number before and after.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Residual {
    pub observation: String,
    pub quantity: String,
    pub measured: f64,
    pub sigma: f64,
    pub before: f64,
    pub after: f64,
}

/// The result of a calibration.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Calibration {
    pub params: Vec<FittedParam>,
    pub residuals: Vec<Residual>,
    /// Σ((model − measured)/σ)² before and after.
    pub chi2_before: f64,
    pub chi2_after: f64,
    pub observations: Vec<String>,
    #[serde(skip)]
    pub transport: TransportParams,
}

/// Why calibration could not run.
#[derive(Debug, thiserror::Error)]
pub enum CalibrateError {
    #[error("nothing to fit: no measured throughput or CPU")]
    NoTargets,
    #[error(
        "no cost parameter is constrained by these measurements: {0}. Measure CPU as well as throughput, or add runs over other transports"
    )]
    NothingIdentifiable(String),
    #[error("the fit failed: {0}")]
    Solver(String),
}

fn residuals(obs: &[Observation], p: &TransportParams) -> Vec<f64> {
    obs.iter()
        .flat_map(|o| {
            o.model(p)
                .into_iter()
                .zip(&o.targets)
                .map(|(m, t)| (m - t.value) / t.sigma)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn with(base: &TransportParams, free: &[usize], scale: &[f64]) -> TransportParams {
    let mut p = base.clone();
    for (k, &j) in free.iter().enumerate() {
        let v = (PARAMS[j].get)(base) * scale[k];
        (PARAMS[j].set)(&mut p, v);
    }
    p
}

struct Problem<'a> {
    obs: &'a [Observation],
    base: &'a TransportParams,
    free: Vec<usize>,
    pars: Vec<MPPar>,
    m: usize,
    config: MPConfig,
}

impl MPFitter for Problem<'_> {
    fn eval(&mut self, params: &[f64], deviates: &mut [f64]) -> MPResult<()> {
        let r = residuals(self.obs, &with(self.base, &self.free, params));
        deviates.copy_from_slice(&r);
        Ok(())
    }
    fn number_of_points(&self) -> usize {
        self.m
    }
    fn parameters(&self) -> &[MPPar] {
        &self.pars
    }
    fn config(&self) -> &MPConfig {
        &self.config
    }
}

/// Relative step of the identifiability probe.
const PROBE: f64 = 0.05;
/// A parameter whose 100 % change moves the residuals by less than this (in σ) is not constrained.
const MIN_EFFECT: f64 = 0.05;
/// A parameter whose effect keeps less than this share once the kept ones are taken out is not
/// separable from them.
const MIN_OWN_SHARE: f64 = 0.2;

/// Which parameters the observations constrain, in order of effect; the others with why.
fn identifiable(obs: &[Observation], p: &TransportParams) -> (Vec<usize>, Vec<(usize, Status)>) {
    let r0 = residuals(obs, p);
    let mut cols: Vec<(usize, Vec<f64>, f64)> = PARAMS
        .iter()
        .enumerate()
        .map(|(j, par)| {
            let v = (par.get)(p);
            let mut q = p.clone();
            let step = if v.abs() > 1e-9 { v * PROBE } else { PROBE };
            (par.set)(&mut q, v + step);
            let col: Vec<f64> = residuals(obs, &q)
                .iter()
                .zip(&r0)
                .map(|(a, b)| (a - b) * (v.abs().max(1e-9) / step))
                .collect();
            let norm = col.iter().map(|x| x * x).sum::<f64>().sqrt();
            (j, col, norm)
        })
        .collect();
    cols.sort_by(|a, b| b.2.total_cmp(&a.2));
    let mut kept: Vec<(usize, Vec<f64>)> = Vec::new(); // orthonormal basis, with owner
    let mut free = Vec::new();
    let mut out = Vec::new();
    for (j, col, norm) in cols {
        if norm < MIN_EFFECT {
            out.push((
                j,
                Status::NotConstrained {
                    needs: PARAMS[j].needs.into(),
                },
            ));
            continue;
        }
        let mut rest = col.clone();
        let mut overlap: Vec<(usize, f64)> = Vec::new();
        for (owner, b) in &kept {
            let d: f64 = rest.iter().zip(b).map(|(x, y)| x * y).sum();
            for (x, y) in rest.iter_mut().zip(b) {
                *x -= d * y;
            }
            overlap.push((*owner, d.abs()));
        }
        let own = rest.iter().map(|x| x * x).sum::<f64>().sqrt();
        if own < MIN_OWN_SHARE * norm {
            overlap.sort_by(|a, b| b.1.total_cmp(&a.1));
            let from: Vec<String> = overlap
                .iter()
                .filter(|o| o.1 > 0.2 * norm)
                .map(|o| PARAMS[o.0].name.to_string())
                .collect();
            out.push((
                j,
                Status::NotSeparable {
                    from,
                    needs: PARAMS[j].needs.into(),
                },
            ));
            continue;
        }
        kept.push((j, rest.iter().map(|x| x / own).collect()));
        free.push(j);
    }
    (free, out)
}

fn round_sig(v: f64, digits: i32) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(digits - 1 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

/// Fits the transport's cost parameters of `base` to the observations.
pub fn calibrate(
    obs: &[Observation],
    base: &TransportParams,
) -> Result<Calibration, CalibrateError> {
    let m: usize = obs.iter().map(|o| o.targets.len()).sum();
    if m == 0 {
        return Err(CalibrateError::NoTargets);
    }
    let (free, held) = identifiable(obs, base);
    if free.is_empty() {
        let names: Vec<&str> = PARAMS.iter().map(|p| p.name).collect();
        return Err(CalibrateError::NothingIdentifiable(names.join(", ")));
    }
    let pars: Vec<MPPar> = free
        .iter()
        .map(|&j| {
            let v = (PARAMS[j].get)(base).max(1e-9);
            let mut par = MPPar::new();
            par.limited_low = true;
            par.limited_up = true;
            par.limit_low = PARAMS[j].lo / v;
            par.limit_up = PARAMS[j].hi / v;
            par.rel_step = 1e-3;
            par
        })
        .collect();
    let mut config = MPConfig::new();
    config.max_iter = 200;
    let mut problem = Problem {
        obs,
        base,
        free: free.clone(),
        pars,
        m,
        config,
    };
    let mut scale = vec![1.0; free.len()];
    let status = problem
        .mpfit(&mut scale)
        .map_err(|e| CalibrateError::Solver(format!("{e:?}")))?;
    // Four significant digits: well inside any uncertainty, and a file a person can read.
    let mut fitted = with(base, &free, &scale);
    for &j in &free {
        let v = (PARAMS[j].get)(&fitted);
        (PARAMS[j].set)(
            &mut fitted,
            round_sig(v, 4).clamp(PARAMS[j].lo, PARAMS[j].hi),
        );
    }
    let dof = m.saturating_sub(free.len());
    // Standard errors from the covariance, scaled by the fit's own scatter when there are more
    // numbers than parameters (the stated σ may be too tight or too loose).
    let scatter = if dof > 0 {
        (status.best_norm / dof as f64).sqrt().max(1.0)
    } else {
        1.0
    };
    let mut params: Vec<FittedParam> = PARAMS
        .iter()
        .enumerate()
        .map(|(j, par)| {
            let before = (par.get)(base);
            let after = (par.get)(&fitted);
            let status = match free.iter().position(|&f| f == j) {
                Some(k) => {
                    let at_bound = [par.lo, par.hi]
                        .into_iter()
                        .find(|b| (after - b).abs() <= 1e-6 * b.abs().max(1.0));
                    match at_bound {
                        Some(bound) => Status::AtBound { bound },
                        None => Status::Fitted {
                            sigma: status.xerror[k] * before.abs() * scatter,
                        },
                    }
                }
                None => held
                    .iter()
                    .find(|h| h.0 == j)
                    .map(|h| h.1.clone())
                    .unwrap_or(Status::NotConstrained {
                        needs: par.needs.into(),
                    }),
            };
            FittedParam {
                name: par.name.into(),
                before,
                after,
                status,
            }
        })
        .collect();
    params.sort_by_key(|p| !matches!(p.status, Status::Fitted { .. } | Status::AtBound { .. }));
    let before: Vec<Vec<f64>> = obs.iter().map(|o| o.model(base)).collect();
    let after: Vec<Vec<f64>> = obs.iter().map(|o| o.model(&fitted)).collect();
    let mut out = Vec::new();
    let (mut chi2_before, mut chi2_after) = (0.0, 0.0);
    for (k, o) in obs.iter().enumerate() {
        for (i, t) in o.targets.iter().enumerate() {
            chi2_before += ((before[k][i] - t.value) / t.sigma).powi(2);
            chi2_after += ((after[k][i] - t.value) / t.sigma).powi(2);
            out.push(Residual {
                observation: o.label.clone(),
                quantity: t.name.clone(),
                measured: t.value,
                sigma: t.sigma,
                before: before[k][i],
                after: after[k][i],
            });
        }
    }
    Ok(Calibration {
        params,
        residuals: out,
        chi2_before,
        chi2_after,
        observations: obs.iter().map(|o| o.label.clone()).collect(),
        transport: fitted,
    })
}

/// The scenario's text with its `[transport]` table replaced by the fitted one, under a comment
/// saying what was fitted from what. The result is checked: it must load, hold the fitted
/// parameters and otherwise be the same lab.
pub fn calibrated_toml(
    original: &str,
    file: &str,
    cal: &Calibration,
    sources: &[String],
) -> Result<String, String> {
    let lines: Vec<&str> = original.lines().collect();
    let is_header = |l: &str| l.trim_start().starts_with('[');
    let is_transport = |l: &str| {
        let t = l.trim();
        t.strip_prefix("[transport]")
            .is_some_and(|rest| rest.trim().is_empty() || rest.trim_start().starts_with('#'))
    };
    let mut kept = Vec::with_capacity(lines.len());
    let mut skipping = false;
    for l in &lines {
        if is_header(l) {
            skipping = is_transport(l);
        }
        if !skipping {
            kept.push(*l);
        }
    }
    while kept.last().is_some_and(|l| l.trim().is_empty()) {
        kept.pop();
    }
    let mut text = kept.join("\n");
    text.push_str("\n\n");
    text.push_str(&comment(cal, sources));
    let table = toml::to_string(&cal.transport).map_err(|e| e.to_string())?;
    text.push_str("[transport]\n");
    text.push_str(&table);
    // The check: the same lab, with the fitted parameters.
    let a = Scenario::from_toml(original, file).map_err(|e| e.to_string())?;
    let b = Scenario::from_toml(&text, file)
        .map_err(|e| format!("the calibrated file does not load: {e}"))?;
    let mut a_spec = a.spec.clone();
    a_spec.transport = cal.transport.clone();
    if a_spec != b.spec || a.script != b.script {
        return Err(format!(
            "{file}: its [transport] table could not be replaced on its own (is it written as \
             dotted keys or inline?); edit it by hand"
        ));
    }
    Ok(text)
}

fn comment(cal: &Calibration, sources: &[String]) -> String {
    let mut c =
        String::from("# Calibrated by `lmlab calibrate` (bounded least squares, rmpfit) from:\n");
    for s in sources {
        c.push_str(&format!("#   {s}\n"));
    }
    c.push_str(&format!(
        "# chi-square {:.2} before, {:.2} after, over {} measured numbers.\n",
        cal.chi2_before,
        cal.chi2_after,
        cal.residuals.len()
    ));
    for p in &cal.params {
        let what = match &p.status {
            Status::Fitted { sigma } => {
                format!("fitted: {:.4} -> {:.4} (± {:.4})", p.before, p.after, sigma)
            }
            Status::AtBound { bound } => format!(
                "fitted to its bound {bound}: {:.4} -> {:.4}",
                p.before, p.after
            ),
            Status::NotConstrained { .. } => "not constrained by these measurements; kept".into(),
            Status::NotSeparable { from, .. } => {
                format!("not separable from {}; kept", from.join(", "))
            }
        };
        c.push_str(&format!("#   {}: {what}\n", p.name));
    }
    c
}
