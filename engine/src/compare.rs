//! Comparison runs: each named configuration of a scenario applied to the lab, its workload
//! solved by the transport model over several trials, and one row per configuration.
//!
//! A trial differs from another only in the seed that picks ephemeral ports, which moves flows
//! between team members and RSS queues: the spread between trials is the run-to-run variation the
//! seed post reports (rows 2 and 4), not noise added to the answer.

use crate::rng::SimRng;
use crate::scenario::{
    ConfigurationSpec, InitialVmState, ReferenceFigures, Scenario, ScenarioSpec, TeamSpec,
    TeamingMode,
};
use crate::transport::{MigrationReq, NetState, Solution, solve};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CompareRow {
    pub id: String,
    pub name: String,
    /// Aggregate guest-memory throughput of the median trial, Gbit/s.
    pub throughput_gbps: f64,
    pub throughput_min_gbps: f64,
    pub throughput_max_gbps: f64,
    pub cpu_src_pct: f64,
    pub cpu_dst_pct: f64,
    /// Time to copy the migrating VMs' memory once at these rates (no dirty-page passes).
    pub duration_s: f64,
    /// The path actually used (median trial).
    pub path: String,
    pub vms: u32,
    pub trials: u32,
    /// The settings this configuration ran with, as the scenario format names them.
    pub settings: ConfigurationSettings,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<ReferenceFigures>,
}

/// The effective settings of a configuration's run (what it changed and what it kept from the
/// lab), on the source host, in the scenario format's names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfigurationSettings {
    pub teaming: String,
    pub teaming_algorithm: String,
    pub performance_option: String,
    pub smb_direct: bool,
    /// The source host's NICs' RSS mode, or `mixed`.
    pub rss: String,
    pub from: String,
    pub to: String,
}

impl ConfigurationSettings {
    fn of(spec: &ScenarioSpec, from: usize, to: usize) -> ConfigurationSettings {
        let h = &spec.hosts[from];
        let mut rss: Vec<String> = h.nics.iter().map(|n| name_of(&n.rss)).collect();
        rss.dedup();
        ConfigurationSettings {
            teaming: name_of(&h.teaming.mode),
            teaming_algorithm: if h.teaming.mode == TeamingMode::None {
                String::new()
            } else {
                name_of(&h.teaming.algorithm)
            },
            performance_option: name_of(
                &h.migration
                    .performance_option
                    .unwrap_or(spec.migration.performance_option),
            ),
            smb_direct: h.migration.smb_direct.unwrap_or(spec.migration.smb_direct),
            rss: match rss.as_slice() {
                [one] => one.clone(),
                [] => String::new(),
                _ => "mixed".to_string(),
            },
            from: h.name.clone(),
            to: spec
                .hosts
                .get(to)
                .map_or_else(String::new, |h| h.name.clone()),
        }
    }
}

/// A unit enum's name as the scenario format writes it (its serde name).
fn name_of<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// The order of a comparison's rows in tables and charts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CompareSort {
    /// As the configurations appear in the file.
    #[default]
    File,
    /// Fastest first.
    Throughput,
    /// Cheapest first: the busier host's CPU, lowest first.
    Cpu,
    /// By configuration name, A to Z.
    Name,
}

impl CompareSort {
    pub const ALL: [CompareSort; 4] = [
        CompareSort::File,
        CompareSort::Throughput,
        CompareSort::Cpu,
        CompareSort::Name,
    ];

    /// The word the command line takes (`--sort`).
    pub fn word(self) -> &'static str {
        match self {
            CompareSort::File => "file",
            CompareSort::Throughput => "throughput",
            CompareSort::Cpu => "cpu",
            CompareSort::Name => "name",
        }
    }

    pub fn parse(word: &str) -> Result<CompareSort, String> {
        CompareSort::ALL
            .into_iter()
            .find(|s| s.word().eq_ignore_ascii_case(word.trim()))
            .ok_or_else(|| {
                let words: Vec<&str> = CompareSort::ALL.iter().map(|s| s.word()).collect();
                format!(
                    "unknown sort order '{word}': use one of {}",
                    words.join(", ")
                )
            })
    }
}

impl CompareRow {
    /// The busier host's live-migration CPU.
    pub fn cpu_max_pct(&self) -> f64 {
        self.cpu_src_pct.max(self.cpu_dst_pct)
    }
}

impl CompareReport {
    /// The rows in the given order; ties keep the file's order.
    pub fn sort(&mut self, by: CompareSort) {
        match by {
            CompareSort::File => {}
            CompareSort::Throughput => self
                .rows
                .sort_by(|a, b| b.throughput_gbps.total_cmp(&a.throughput_gbps)),
            CompareSort::Cpu => self
                .rows
                .sort_by(|a, b| a.cpu_max_pct().total_cmp(&b.cpu_max_pct())),
            CompareSort::Name => self.rows.sort_by_cached_key(|r| r.name.to_lowercase()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CompareReport {
    pub scenario: String,
    pub seed: u64,
    pub rows: Vec<CompareRow>,
}

/// The lab with a configuration's changes applied: teaming on every host (members: all NICs),
/// transport settings everywhere, RSS mode on every NIC.
pub fn apply_configuration(spec: &ScenarioSpec, cfg: &ConfigurationSpec) -> ScenarioSpec {
    let mut s = spec.clone();
    if let Some(opt) = cfg.performance_option {
        s.migration.performance_option = opt;
    }
    if let Some(d) = cfg.smb_direct {
        s.migration.smb_direct = d;
    }
    for h in &mut s.hosts {
        if cfg.performance_option.is_some() {
            h.migration.performance_option = None;
        }
        if cfg.smb_direct.is_some() {
            h.migration.smb_direct = None;
        }
        if let Some(mode) = cfg.teaming {
            h.teaming = TeamSpec {
                mode,
                algorithm: cfg.teaming_algorithm.unwrap_or(h.teaming.algorithm),
                members: Vec::new(),
                host_vnics: h.teaming.host_vnics,
            };
        } else if let Some(alg) = cfg.teaming_algorithm {
            h.teaming.algorithm = alg;
        }
        if h.teaming.mode == TeamingMode::None {
            h.teaming.members.clear();
        }
        if let Some(rss) = cfg.rss {
            for n in &mut h.nics {
                n.rss = rss;
            }
        }
    }
    s
}

/// The migrations a configuration starts: the first `vms` running VMs of the source host.
pub fn workload(spec: &ScenarioSpec, cfg: &ConfigurationSpec) -> Vec<MigrationReq> {
    let host = |name: &Option<String>, default: usize| {
        name.as_ref()
            .and_then(|n| spec.hosts.iter().position(|h| &h.name == n))
            .unwrap_or(default)
    };
    let from = host(&cfg.from, 0);
    let to = host(&cfg.to, if from == 0 { 1 } else { 0 });
    spec.vms
        .iter()
        .enumerate()
        .filter(|(_, v)| v.host == spec.hosts[from].name && v.state == InitialVmState::Running)
        .take(cfg.vms as usize)
        .map(|(vm, _)| MigrationReq { vm, from, to })
        .collect()
}

/// Runs one configuration: `trials` solutions, reported at the median throughput.
pub fn run_configuration(scenario: &Scenario, cfg: &ConfigurationSpec, seed: u64) -> CompareRow {
    let spec = apply_configuration(&scenario.spec, cfg);
    let migs = workload(&spec, cfg);
    let net = NetState::all_up(&spec);
    let trials = spec.transport.compare_trials.max(1);
    let mut results: Vec<Solution> = (0..trials)
        .map(|t| {
            // The same trial seeds for every configuration: renaming or reordering
            // configurations never changes a row.
            let trial_seed = SimRng::fork(seed, &format!("compare/trial/{t}")).next_u64();
            solve(&spec, &migs, &net, trial_seed)
        })
        .collect();
    results.sort_by(|a, b| a.total_memory_gbps().total_cmp(&b.total_memory_gbps()));
    let min = results.first().map_or(0.0, Solution::total_memory_gbps);
    let max = results.last().map_or(0.0, Solution::total_memory_gbps);
    let median = &results[results.len() / 2];
    let from = migs.first().map_or(0, |m| m.from);
    let to = migs.first().map_or(1, |m| m.to);
    let memory: f64 = migs.iter().map(|m| spec.vms[m.vm].memory.as_f64()).sum();
    let rate: f64 = median.migrations.iter().map(|m| m.memory_bytes_per_s).sum();
    CompareRow {
        id: cfg.id.clone(),
        name: if cfg.name.is_empty() {
            cfg.id.clone()
        } else {
            cfg.name.clone()
        },
        throughput_gbps: median.total_memory_gbps(),
        throughput_min_gbps: min,
        throughput_max_gbps: max,
        cpu_src_pct: median.hosts.get(from).map_or(0.0, |h| h.cpu_pct),
        cpu_dst_pct: median.hosts.get(to).map_or(0.0, |h| h.cpu_pct),
        duration_s: if rate > 0.0 {
            memory / rate
        } else {
            f64::INFINITY
        },
        path: median
            .migrations
            .first()
            .map_or_else(String::new, |m| m.path.clone()),
        vms: migs.len() as u32,
        trials,
        settings: ConfigurationSettings::of(&spec, from, to),
        reference: cfg.reference.clone(),
    }
}

pub fn compare(scenario: &Scenario, seed: u64) -> CompareReport {
    compare_with_progress(scenario, seed, &mut |_, _| true).unwrap_or_else(|| CompareReport {
        scenario: scenario.spec.name.clone(),
        seed,
        rows: Vec::new(),
    })
}

/// Like [`compare`], calling `progress(done, total)` after each configuration; returning false
/// from it cancels (then `None`).
pub fn compare_with_progress(
    scenario: &Scenario,
    seed: u64,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Option<CompareReport> {
    let total = scenario.spec.configurations.len();
    let mut rows = Vec::with_capacity(total);
    for (i, c) in scenario.spec.configurations.iter().enumerate() {
        rows.push(run_configuration(scenario, c, seed));
        if !progress(i + 1, total) {
            return None;
        }
    }
    Some(CompareReport {
        scenario: scenario.spec.name.clone(),
        seed,
        rows,
    })
}

/// `compare.csv`: one row per configuration; documented in docs/transport-model.md.
pub fn compare_csv(report: &CompareReport) -> String {
    use crate::report::csv_field;
    let mut out = String::from(
        "id,name,teaming,teaming_algorithm,performance_option,smb_direct,rss,from,to,throughput_gbps,throughput_min_gbps,throughput_max_gbps,cpu_src_pct,cpu_dst_pct,duration_s,vms,path,reference_throughput_gbps,reference_cpu_pct\n",
    );
    for r in &report.rows {
        let (rt, rc) = r
            .reference
            .as_ref()
            .map_or((None, None), |f| (f.throughput_gbps, f.cpu_pct));
        let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
        let c = &r.settings;
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{:.3},{:.3},{:.3},{:.2},{:.2},{:.2},{},{},{},{}\n",
            csv_field(&r.id),
            csv_field(&r.name),
            csv_field(&c.teaming),
            csv_field(&c.teaming_algorithm),
            csv_field(&c.performance_option),
            c.smb_direct,
            csv_field(&c.rss),
            csv_field(&c.from),
            csv_field(&c.to),
            r.throughput_gbps,
            r.throughput_min_gbps,
            r.throughput_max_gbps,
            r.cpu_src_pct,
            r.cpu_dst_pct,
            r.duration_s,
            r.vms,
            csv_field(&r.path),
            opt(rt),
            opt(rc)
        ));
    }
    out
}
