//! Headless commands. Every error reaches the user once, as one line naming what was wrong, and
//! the process exits non-zero.

use crate::gui::ShotView;
use crate::output;
use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use lmlab_engine::compare::CompareSort;
use lmlab_engine::report::{Report, backup_jobs_csv, events_csv, write_series_csv};
use lmlab_engine::time::parse_duration;
use lmlab_engine::{SimDuration, SimTime, Simulation};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Parser)]
#[command(
    name = "lmlab",
    version,
    about = "Live Migration Lab: a workbench for Hyper-V live-migration transports and failover-cluster resiliency",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// Scenario or session to open in the window (default: the built-in seed lab).
    pub file: Option<PathBuf>,
    /// Measurement files to load beside it (PerfMon CSV, VMMS events, `lmlab real` JSON).
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub measured: Vec<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Simulate a scenario headless and write its report.
    Run(RunArgs),
    /// Run every named configuration of a scenario and compare throughput and CPU.
    Compare(CompareArgs),
    /// Open the GUI on a scenario, run it to a time, save a PNG of the window and exit.
    Screenshot(ScreenshotArgs),
    /// Write every chart (PNG and SVG), the series and events (CSV) and the report (JSON) of a
    /// session or scenario.
    Export(ExportArgs),
    /// Write a PDF report of a session or scenario: the lab, the comparison, the timeline, the
    /// migrations, warnings and assumptions.
    Report(ReportArgs),
    /// Migrate a real memory image over real TCP channels (loopback, or to an agent) and measure it.
    Real(Box<crate::real_cli::RealArgs>),
    /// Serve as the destination of `lmlab real --to` on this host.
    Agent(crate::real_cli::AgentArgs),
    /// Turn a cluster inventory (from assets/collect/Get-LmlabInventory.ps1, schema
    /// lmlab.inventory/1) into a scenario, resolving which network live migration really uses.
    Import(ImportArgs),
    /// Pre-flight checks of a lab (scenario, or an inventory, which adds the checks only an
    /// inventory can answer): each rule passes, warns or fails, with its reason and source. The
    /// exit code is non-zero when a rule fails.
    Check(CheckArgs),
    /// Each effective setting of a lab with the rule that decided it: cluster behaviour, each
    /// host's live-migration settings, RDMA and RSS per NIC, the path from each host to the next;
    /// for an inventory, first how each node's live-migration networks were resolved.
    Explain(ExplainArgs),
    /// Set measured live migrations (PerfMon CSV, VMMS events, `lmlab real` JSON) beside the
    /// model's migrations of the same VMs: the error table, and with --out the charts with the
    /// measured lines.
    Overlay(crate::measured_cli::OverlayArgs),
    /// Fit the transport's cost parameters to measured runs (bounded least squares) and write
    /// the lab with the fitted [transport] table.
    Calibrate(crate::measured_cli::CalibrateArgs),
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A scenario (.toml) or an inventory (.json, schema lmlab.inventory/1).
    pub file: PathBuf,
    /// Seed of the transport model's trials (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// `lmlab explain`: one line per setting, `subject: what = value (rule)`.
pub fn explain(args: &ExplainArgs) -> Result<()> {
    use lmlab_engine::inventory;
    let file = args.file.display().to_string();
    let inventory_file = args
        .file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let mut lines = Vec::new();
    let lab = if inventory_file {
        let v = inventory::load(&args.file)?;
        let imported = inventory::import(&v, &file)?;
        lines.extend(imported.decisions.iter().cloned());
        lmlab_engine::Scenario::from_toml(&imported.toml, &file)
            .map_err(|e| anyhow::anyhow!("the lab imported from {file} does not load: {e}"))?
    } else {
        output::load_scenario(&args.file)?
    };
    let seed = args.seed.unwrap_or(lab.spec.seed);
    lines.extend(lmlab_engine::explain::explain(&lab, seed));
    for d in &lines {
        println!("{}: {} = {} ({})", d.subject, d.what, d.value, d.rule);
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A scenario (.toml) or an inventory (.json, schema lmlab.inventory/1).
    pub file: PathBuf,
    /// Also write the findings as JSON to PATH (`-` for standard output instead of the table).
    #[arg(long, value_name = "PATH|-")]
    pub json: Option<String>,
}

/// `lmlab check`: the findings as a table (or JSON); an error when any rule fails.
pub fn check(args: &CheckArgs) -> Result<()> {
    use lmlab_engine::check::{Verdict, check};
    use lmlab_engine::inventory;
    let file = args.file.display().to_string();
    let inventory_file = args
        .file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let findings = if inventory_file {
        let v = inventory::load(&args.file)?;
        let imported = inventory::import(&v, &file)?;
        let lab = lmlab_engine::Scenario::from_toml(&imported.toml, &file)
            .map_err(|e| anyhow::anyhow!("the lab imported from {file} does not load: {e}"))?;
        check(&lab.spec, Some(&imported.facts))
    } else {
        check(&output::load_scenario(&args.file)?.spec, None)
    };
    let json = || -> Result<String> {
        Ok(
            serde_json::to_string_pretty(&findings).context("cannot write the findings as JSON")?
                + "\n",
        )
    };
    match args.json.as_deref() {
        Some("-") => print!("{}", json()?),
        other => {
            if let Some(path) = other {
                output::write_file(Path::new(path), json()?.as_bytes())?;
            }
            for f in &findings {
                println!(
                    "{}  {:<56} {:<14} {} ({})",
                    f.verdict.word(),
                    f.rule,
                    f.subject,
                    f.reason,
                    f.source
                );
            }
        }
    }
    let failed = findings
        .iter()
        .filter(|f| f.verdict == Verdict::Fail)
        .count();
    let warned = findings
        .iter()
        .filter(|f| f.verdict == Verdict::Warn)
        .count();
    eprintln!(
        "lmlab check: {file}: {failed} failed, {warned} warnings, {} findings",
        findings.len()
    );
    if failed > 0 {
        anyhow::bail!("{failed} check(s) failed");
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The inventory (JSON; UTF-8, UTF-16 or Windows-1252).
    pub inventory: PathBuf,
    /// The scenario to write (TOML).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// `lmlab import`: writes the scenario (after checking it loads), prints each resolved setting
/// with its rule and each warning.
pub fn import(args: &ImportArgs) -> Result<()> {
    use lmlab_engine::inventory;
    let file = args.inventory.display().to_string();
    let v = inventory::load(&args.inventory)?;
    let imported = inventory::import(&v, &file)?;
    lmlab_engine::Scenario::from_toml(&imported.toml, &args.out.display().to_string())
        .map_err(|e| anyhow::anyhow!("the lab imported from {file} does not load: {e}"))?;
    output::write_file(&args.out, imported.toml.as_bytes())?;
    for d in &imported.decisions {
        println!("{}: {} = {} ({})", d.subject, d.what, d.value, d.rule);
    }
    for w in &imported.warnings {
        eprintln!("warning: {w}");
    }
    eprintln!("lmlab import: wrote {}", args.out.display());
    Ok(())
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Session (.json) or scenario (.toml) file.
    pub file: PathBuf,
    /// Folder to write into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// For a scenario: simulated time to run first (default: the scenario's `until`).
    #[arg(long, value_parser = parse_cli_until)]
    pub until: Option<SimDuration>,
    /// Chart size in pixels, like 1600x900 (each PNG also comes at twice that, as NAME@2x.png).
    #[arg(long, value_parser = parse_size, default_value = "1600x900")]
    pub size: [f32; 2],
    /// The time the charts show: `activity` (first to last event, with a margin), `all` (the
    /// whole run), or FROM-TO like 0:05:00-0:20:00.
    #[arg(long, default_value = "activity", value_name = "WINDOW")]
    pub window: String,
    /// Order of the comparison's rows: `file` (as written), `throughput` (fastest first), `cpu`
    /// (cheapest first) or `name`.
    #[arg(long, default_value = "file", value_parser = parse_sort, value_name = "ORDER")]
    pub sort: CompareSort,
    /// Measured runs to draw beside the model's lines (a scenario that does not migrate their
    /// VMs gets those migrations added, as `lmlab overlay` does).
    #[command(flatten)]
    pub measured: crate::measured_cli::MeasuredArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Session (.json) or scenario (.toml) file.
    pub file: PathBuf,
    /// The PDF to write.
    #[arg(long, value_name = "FILE.pdf")]
    pub out: PathBuf,
    /// For a scenario: simulated time to run first (default: the scenario's `until`).
    #[arg(long, value_parser = parse_cli_until)]
    pub until: Option<SimDuration>,
    /// The time the charts show: `activity`, `all`, or FROM-TO like 0:05:00-0:20:00.
    #[arg(long, default_value = "activity", value_name = "WINDOW")]
    pub window: String,
    /// Order of the comparison's rows: `file` (as written), `throughput` (fastest first), `cpu`
    /// (cheapest first) or `name`.
    #[arg(long, default_value = "file", value_parser = parse_sort, value_name = "ORDER")]
    pub sort: CompareSort,
    /// Measured runs to set beside the model: drawn on the throughput and CPU pages, their
    /// errors on a page of their own.
    #[command(flatten)]
    pub measured: crate::measured_cli::MeasuredArgs,
}

pub fn report(args: &ReportArgs) -> Result<()> {
    let (sim, runs) = load_beside(&args.file, args.until, &args.measured)?;
    let window = lmlab_engine::export::TimeWindow::parse(&args.window, &sim)
        .map_err(|e| anyhow::anyhow!("--window: {e}"))?;
    let until = args
        .until
        .map_or(String::new(), |u| format!(" --until {u}"));
    let mut measured = String::new();
    if !args.measured.measured.is_empty() {
        measured.push_str(" --measured");
        for m in &args.measured.measured {
            measured.push_str(&format!(" {}", m.display()));
        }
    }
    if let Some(m) = &args.measured.map {
        measured.push_str(&format!(" --map {}", m.display()));
    }
    let command = format!(
        "lmlab report {}{until} --window {} --sort {}{measured}",
        args.file.display(),
        args.window,
        args.sort.word()
    );
    let pdf = output::report_pdf(&sim, window, args.sort, &command, &runs)?;
    output::write_file(&args.out, &pdf)?;
    eprintln!("lmlab report: wrote {}", args.out.display());
    Ok(())
}

/// Loads a session, or runs a scenario to `until` (default: its own `until`).
fn load_run(file: &Path, until: Option<SimDuration>) -> Result<Simulation> {
    if output::is_session(file)? {
        return Ok(output::open_session(file)?.sim);
    }
    let scenario = output::load_scenario(file)?;
    let until = until.unwrap_or(scenario.spec.until);
    lmlab_engine::limits::check_sample_step(scenario.spec.sample_step, until)
        .map_err(|e| anyhow::anyhow!("--until: {e}"))?;
    let seed = scenario.spec.seed;
    let mut sim = Simulation::new(scenario, seed);
    output::run_to(
        &mut sim,
        SimTime::ZERO + until,
        &mut terminal_progress(until),
    );
    Ok(sim)
}

/// The run of `file` (to `until`), or with measurements the lab set up as they were measured
/// and run until the model's migrations ended.
fn load_beside(
    file: &Path,
    until: Option<SimDuration>,
    measured: &crate::measured_cli::MeasuredArgs,
) -> Result<(Simulation, Vec<lmlab_engine::measured::MeasuredRun>)> {
    if measured.measured.is_empty() {
        return Ok((load_run(file, until)?, Vec::new()));
    }
    let (sim, m, notes) = crate::measured_cli::run_beside(file, measured)?;
    for n in &notes {
        eprintln!("lab: {n}");
    }
    Ok((sim, m.runs))
}

pub fn export(args: &ExportArgs) -> Result<()> {
    let (sim, runs) = load_beside(&args.file, args.until, &args.measured)?;
    let size = (args.size[0] as u32, args.size[1] as u32);
    let window = lmlab_engine::export::TimeWindow::parse(&args.window, &sim)
        .map_err(|e| anyhow::anyhow!("--window: {e}"))?;
    let opts = output::ExportOptions {
        size,
        window,
        sort: args.sort,
        measured: &runs,
    };
    let files =
        output::export_all(&sim, &args.out, &opts, &mut output::no_progress())?.unwrap_or_default();
    eprintln!(
        "lmlab export: wrote {} files into {}",
        files.len(),
        args.out.display()
    );
    Ok(())
}

#[derive(Debug, Args)]
pub struct ScreenshotArgs {
    /// Scenario file (TOML).
    pub file: PathBuf,
    /// Where to write the PNG.
    #[arg(long, value_name = "PNG")]
    pub out: PathBuf,
    /// Simulated time to run to first, like 90s or 10m (default 0).
    #[arg(long, value_parser = parse_cli_until)]
    pub at: Option<SimDuration>,
    /// Window size in logical pixels, like 1600x1000.
    #[arg(long, value_parser = parse_size, default_value = "1600x1000")]
    pub size: [f32; 2],
    /// What to show: the lab (canvas and plots) or the comparison of its configurations.
    #[arg(long, value_enum, default_value = "lab")]
    pub view: ShotView,
    /// In presentation mode (large, uncluttered; side panels hidden).
    #[arg(long)]
    pub presentation: bool,
    /// Measurement files to load beside the lab (as File → Load measurements…).
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub measured: Vec<PathBuf>,
    /// Select this VM first (the inspector shows it), like vm-xp-2.
    #[arg(long, value_name = "VM")]
    pub select: Option<String>,
}

fn parse_size(s: &str) -> Result<[f32; 2], String> {
    let err = || format!("malformed size `{s}`: write it like 1600x1000");
    let (w, h) = s.split_once(['x', 'X']).ok_or_else(err)?;
    let w: u32 = w.trim().parse().map_err(|_| err())?;
    let h: u32 = h.trim().parse().map_err(|_| err())?;
    if !(320..=8192).contains(&w) || !(240..=8192).contains(&h) {
        return Err(format!("size `{s}` is outside 320x240 to 8192x8192"));
    }
    Ok([w as f32, h as f32])
}

pub fn screenshot(args: &ScreenshotArgs) -> Result<()> {
    let at = SimTime::ZERO + args.at.unwrap_or(SimDuration::ZERO);
    crate::gui::screenshot(&crate::gui::Shot {
        file: &args.file,
        out: &args.out,
        at,
        size: args.size,
        view: args.view,
        presentation: args.presentation,
        measured: &args.measured,
        select: args.select.as_deref(),
    })?;
    eprintln!("lmlab screenshot: wrote {}", args.out.display());
    Ok(())
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Scenario file (TOML) with [[configurations]].
    pub file: PathBuf,
    /// Random seed (default: the scenario's `seed`).
    #[arg(long, allow_hyphen_values = true)]
    pub seed: Option<u64>,
    /// Write the rows as JSON to PATH, or to standard output with `-`.
    #[arg(long, value_name = "PATH|-")]
    pub json: Option<String>,
    /// Write compare.csv into DIR (created if missing).
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,
    /// Order of the comparison's rows: `file` (as written), `throughput` (fastest first), `cpu`
    /// (cheapest first) or `name`.
    #[arg(long, default_value = "file", value_parser = parse_sort, value_name = "ORDER")]
    pub sort: CompareSort,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario file (TOML).
    pub file: PathBuf,
    /// Simulated time to run, like 90s, 10m or 2h (default: the scenario's `until`).
    #[arg(long, value_parser = parse_cli_until)]
    pub until: Option<SimDuration>,
    /// Random seed (default: the scenario's `seed`). The report names it, so any run replays.
    #[arg(long, allow_hyphen_values = true)]
    pub seed: Option<u64>,
    /// Write the JSON report to PATH, or to standard output with `-`.
    #[arg(long, value_name = "PATH|-")]
    pub json: Option<String>,
    /// Write series.csv and events.csv into DIR (created if missing).
    #[arg(long, value_name = "DIR")]
    pub csv: Option<PathBuf>,
}

fn parse_cli_duration(s: &str) -> Result<SimDuration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

/// A run length from the command line: the same limit as a scenario's `until`.
fn parse_cli_until(s: &str) -> Result<SimDuration, String> {
    let d = parse_cli_duration(s)?;
    lmlab_engine::limits::check_until(d)?;
    Ok(d)
}

pub fn run(args: &RunArgs) -> Result<()> {
    let scenario = output::load_scenario(&args.file)?;
    let seed = args.seed.unwrap_or(scenario.spec.seed);
    let until = args.until.unwrap_or(scenario.spec.until);
    lmlab_engine::limits::check_sample_step(scenario.spec.sample_step, until)
        .map_err(|e| anyhow::anyhow!("--until: {e}"))?;
    // The seed goes to stderr on every run, so any surprising result can be replayed.
    eprintln!(
        "lmlab run: {} (seed {seed}, until {until})",
        args.file.display()
    );
    let mut sim = Simulation::new(scenario, seed);
    output::run_to(
        &mut sim,
        SimTime::ZERO + until,
        &mut terminal_progress(until),
    );
    let report = Report::from_simulation(&sim);
    for m in &report.migrations {
        if let Some(w) = &m.forecast.warning {
            eprintln!("warning: {} → {}: {w}", m.vm, m.to);
            for r in &m.forecast.remedies {
                eprintln!("  what would help: {r}");
            }
        }
    }

    if let Some(dir) = &args.csv {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the CSV folder", dir.display()))?;
        output::write_file_with(&dir.join("series.csv"), |w| {
            write_series_csv(&report.series, w)
        })?;
        output::write_file(
            &dir.join("events.csv"),
            events_csv(&report.events).as_bytes(),
        )?;
        // Labs with backup sets only, so other labs' folders do not change.
        if !sim.backup_jobs().is_empty() {
            output::write_file(
                &dir.join("backup-jobs.csv"),
                backup_jobs_csv(&sim).as_bytes(),
            )?;
        }
    }
    match args.json.as_deref() {
        Some("-") => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            report
                .write_json(&mut out)
                .and_then(|()| out.flush())
                .context("cannot write the report to standard output")?;
        }
        Some(path) => output::write_file_with(Path::new(path), |w| report.write_json(w))?,
        None => print_summary(&report),
    }
    Ok(())
}

/// Progress of a simulation run to `until` on a terminal when it takes more than a moment
/// (Ctrl+C cancels, as for any command; nothing has been written yet at that point). The line
/// ends when the run does.
fn terminal_progress(until: SimDuration) -> impl FnMut(usize, usize) -> bool {
    use std::io::IsTerminal;
    let show = std::io::stderr().is_terminal();
    let start = std::time::Instant::now();
    let mut shown = false;
    let end_s = until.as_secs_f64();
    move |done, total| {
        if show && start.elapsed().as_secs_f64() > 0.5 {
            let share = done as f64 / total.max(1) as f64;
            eprint!(
                "\rsimulating: {:>3} % (t = {:.0} s of {end_s:.0} s)",
                (100.0 * share).round(),
                end_s * share
            );
            shown = true;
        }
        if shown && done >= total {
            eprintln!();
            shown = false;
        }
        true
    }
}

fn parse_sort(s: &str) -> Result<CompareSort, String> {
    CompareSort::parse(s)
}

pub fn compare(args: &CompareArgs) -> Result<()> {
    use lmlab_engine::compare::compare;
    let scenario = output::load_scenario(&args.file)?;
    if scenario.spec.configurations.is_empty() {
        bail!(
            "{}: the scenario names no [[configurations]] to compare",
            args.file.display()
        );
    }
    let seed = args.seed.unwrap_or(scenario.spec.seed);
    eprintln!("lmlab compare: {} (seed {seed})", args.file.display());
    let mut report = compare(&scenario, seed);
    report.sort(args.sort);
    if let Some(dir) = &args.export {
        output::export_compare(&report, dir, (1600, 900))?;
    }
    match args.json.as_deref() {
        Some("-") => {
            let mut out = std::io::stdout().lock();
            out.write_all(output::compare_json(&report)?.as_bytes())
                .and_then(|()| out.flush())
                .context("cannot write to standard output")?;
        }
        Some(path) => {
            output::write_file(Path::new(path), output::compare_json(&report)?.as_bytes())?;
            print_compare_table(&report);
        }
        None => print_compare_table(&report),
    }
    Ok(())
}

fn print_compare_table(report: &lmlab_engine::compare::CompareReport) {
    let w = report
        .rows
        .iter()
        .map(|r| r.id.len())
        .max()
        .unwrap_or(2)
        .max(2);
    println!(
        "{:<w$} {:>6} {:>11} {:>6} {:>6} {:>7}  {:<17} path",
        "id", "Gbps", "range", "src %", "dst %", "time s", "reference"
    );
    for r in &report.rows {
        let reference = r.reference.as_ref().map_or_else(String::new, |f| {
            let t = f
                .throughput_gbps
                .map_or_else(String::new, |t| format!("{t} Gbps"));
            let c = f.cpu_pct.map_or_else(String::new, |c| format!(" {c} %"));
            format!("{t}{c}")
        });
        println!(
            "{:<w$} {:>6.1} {:>11} {:>6.1} {:>6.1} {:>7.1}  {:<17} {}",
            r.id,
            r.throughput_gbps,
            format!("{:.1}-{:.1}", r.throughput_min_gbps, r.throughput_max_gbps),
            r.cpu_src_pct,
            r.cpu_dst_pct,
            r.duration_s,
            reference,
            r.path
        );
    }
}

fn print_summary(report: &Report) {
    println!(
        "{}: simulated {:.0} s, seed {} ({}), {} events",
        report.scenario,
        report.until_s,
        report.seed,
        report.rng,
        report.events.len()
    );
    for e in &report.events {
        println!(
            "{:>10.3}s  {:<10} {}",
            e.t.as_secs_f64(),
            e.subject,
            e.detail
        );
    }
    println!("nodes:");
    for (name, n) in &report.nodes.0 {
        println!("  {name:<10} {:?}  service {:?}", n.state, n.service);
    }
    println!("vms:");
    for (name, v) in &report.vms.0 {
        println!("  {name:<12} {:?} on {}", v.state, v.host);
    }
    if !report.migrations.is_empty() {
        println!("migrations:");
        for m in &report.migrations {
            println!(
                "  {:<12} {} → {}  {:<9} {:>3} pass(es)  pause {:>8}  total {:>8}  avg {:5.2} Gbps  {}",
                m.vm,
                m.from,
                m.to,
                m.outcome.map_or(m.phase.as_str(), |o| o.name()),
                m.iterations,
                m.downtime_ms.map_or("-".into(), |d| format!("{d:.1} ms")),
                m.total_time_ms
                    .map_or("-".into(), |d| format!("{:.1} s", d / 1e3)),
                m.avg_gbps,
                m.reason.as_deref().unwrap_or(&m.path)
            );
        }
    }
}
