//! `lmlab overlay` and `lmlab calibrate`, and the `--measured`/`--map` options `lmlab export`
//! shares: measurement files read and mapped to the lab, set beside the model's migrations, and
//! the transport's costs fitted to them.

use crate::output;
use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use lmlab_engine::calibrate::{Calibration, Observation, Status, calibrate, calibrated_toml};
use lmlab_engine::measured::overlay::{self, Comparison};
use lmlab_engine::measured::{self, Measurements, NameMap};
use lmlab_engine::{Scenario, Simulation};
use std::path::{Path, PathBuf};

/// Measurement files and the name map.
#[derive(Clone, Debug, Default, Args)]
pub struct MeasuredArgs {
    /// Measurement files: PerfMon CSV (relog or typeperf), VMMS events 20415/20417 (CSV or XML),
    /// `lmlab real --json` reports. Files of one migration (one per host) make one run.
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub measured: Vec<PathBuf>,
    /// Names in the measurements → names in the lab, for names that differ (TOML with
    /// `[hosts]`, `[nics]`, `[vms]` and `[migration]`; docs/measurements.md).
    #[arg(long, value_name = "FILE")]
    pub map: Option<PathBuf>,
}

/// Most bytes of a map file.
const MAX_MAP_BYTES: u64 = 1024 * 1024;

/// A bounded text file; the error names it.
fn read_text(path: &Path, max: u64, kinds: &str) -> Result<String> {
    use lmlab_engine::located::ReadError;
    lmlab_engine::located::read_text(path, max, kinds).map_err(|e| match e {
        ReadError::Io(e) => anyhow!("{}: cannot read: {e}", path.display()),
        ReadError::Invalid(l) => anyhow!("{l}"),
    })
}

/// Reads a `--map` file.
pub fn read_map(path: &Path) -> Result<NameMap> {
    let text = read_text(path, MAX_MAP_BYTES, "map files")?;
    NameMap::parse(&text, &path.display().to_string()).map_err(|e| anyhow!(e))
}

impl MeasuredArgs {
    /// The runs the files make on `scenario`; names that do not map and notes go to standard
    /// error. An error when the files make no run.
    pub fn load(&self, scenario: &Scenario) -> Result<Measurements> {
        let names = match &self.map {
            Some(p) => read_map(p)?,
            None => NameMap::default(),
        };
        let paths: Vec<&Path> = self.measured.iter().map(PathBuf::as_path).collect();
        let m = measured::load_all(&paths, &scenario.spec, &names)?;
        for u in &m.unmapped {
            eprintln!(
                "warning: {}: {} {:?} is not in the lab; name it in a --map file ([{}s])",
                u.file,
                u.kind.word(),
                u.name,
                u.kind.word().to_ascii_lowercase()
            );
        }
        for n in &m.notes {
            eprintln!("note: {n}");
        }
        if m.runs.is_empty() {
            bail!(
                "the measurement files hold no live migration of a VM of the lab{}",
                if m.unmapped.is_empty() {
                    ""
                } else {
                    " (see the names above that do not map)"
                }
            );
        }
        Ok(m)
    }
}

#[derive(Debug, Args)]
pub struct OverlayArgs {
    /// Scenario (.toml) or session (.json) the measurements are set beside.
    pub file: PathBuf,
    #[command(flatten)]
    pub measured: MeasuredArgs,
    /// Also write the charts with the measured lines, the error table (measured-error.csv) and
    /// every other export file into DIR.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write the comparison as JSON to PATH, or to standard output with `-`.
    #[arg(long, value_name = "PATH|-")]
    pub json: Option<String>,
}

/// A scenario prepared for the runs (each run's migration added if the lab lacks it) and run
/// until the model's migrations ended, or a session replayed as it is.
pub fn run_beside(
    file: &Path,
    measured: &MeasuredArgs,
) -> Result<(Simulation, Measurements, Vec<String>)> {
    if output::is_session(file)? {
        let sim = output::open_session(file)?.sim;
        let m = measured.load(sim.scenario())?;
        return Ok((sim, m, Vec::new()));
    }
    let scenario = output::load_scenario(file)?;
    let m = measured.load(&scenario)?;
    let (prepared, notes) = overlay::prepare(&scenario, &m.runs);
    let seed = prepared.spec.seed;
    let mut sim = Simulation::new(prepared, seed);
    overlay::run_until_compared(&mut sim, &m.runs, 24 * 3600);
    Ok((sim, m, notes))
}

fn print_comparisons(cs: &[Comparison]) {
    for c in cs {
        println!("{}", c.run);
        if let Some(start) = c.model_start_s {
            println!("  model: migration from {start:.1} s, {}", c.model_path);
        }
        if let Some(n) = &c.note {
            println!("  {n}");
        }
        for q in &c.quantities {
            println!(
                "  {:<14} measured {:>10.3} {:<6}  model {:>10.3}  error {:>+9.3}{}",
                q.name,
                q.measured,
                q.unit,
                q.model,
                q.error(),
                q.error_pct()
                    .map_or(String::new(), |p| format!(" ({p:+.1} %)"))
            );
        }
    }
}

/// `lmlab overlay`: the error table; the export with measured lines with `--out`.
pub fn overlay_cmd(args: &OverlayArgs) -> Result<()> {
    let (sim, m, notes) = run_beside(&args.file, &args.measured)?;
    for n in &notes {
        eprintln!("lab: {n}");
    }
    let cs = overlay::compare(&sim, &m.runs);
    match args.json.as_deref() {
        Some("-") => {}
        _ => print_comparisons(&cs),
    }
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&cs).context("cannot write JSON")? + "\n";
        if path == "-" {
            print!("{text}");
        } else {
            output::write_file(Path::new(path), text.as_bytes())?;
        }
    }
    if let Some(dir) = &args.out {
        let opts = output::ExportOptions {
            size: (1600, 900),
            window: lmlab_engine::export::TimeWindow::activity(&sim),
            sort: Default::default(),
            measured: &m.runs,
        };
        let files =
            output::export_all(&sim, dir, &opts, &mut output::no_progress())?.unwrap_or_default();
        eprintln!(
            "lmlab overlay: wrote {} files into {}",
            files.len(),
            dir.display()
        );
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// The scenario (.toml) whose `[transport]` table is fitted.
    pub file: PathBuf,
    #[command(flatten)]
    pub measured: MeasuredArgs,
    /// Also fit the reference figures of the lab's configurations (the seed's measured rows).
    #[arg(long)]
    pub references: bool,
    /// The calibrated scenario to write: the same lab with the fitted `[transport]` table.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Write the fit (parameters, residuals) as JSON to PATH, or to standard output with `-`.
    #[arg(long, value_name = "PATH|-")]
    pub json: Option<String>,
}

/// The observations of `lmlab calibrate`: each measured run on the lab as it was measured, and
/// the reference rows with `--references`.
pub fn observations(
    scenario: &Scenario,
    args: &MeasuredArgs,
    references: bool,
) -> Result<(Vec<Observation>, Vec<String>)> {
    let mut obs = Vec::new();
    let mut sources = Vec::new();
    if !args.measured.is_empty() {
        let m = args.load(scenario)?;
        let (prepared, _) = overlay::prepare(scenario, &m.runs);
        for run in &m.runs {
            obs.push(Observation::of_run(&prepared, run).map_err(|e| anyhow!(e))?);
            sources.push(run.label.clone());
        }
    }
    if references {
        let refs = Observation::of_references(scenario);
        if refs.is_empty() {
            bail!("--references: the lab's configurations carry no reference figures");
        }
        sources.push(format!(
            "the reference figures of {} configurations",
            refs.len()
        ));
        obs.extend(refs);
    }
    if obs.is_empty() {
        bail!("nothing to calibrate against: give --measured FILE… or --references");
    }
    Ok((obs, sources))
}

fn print_calibration(c: &Calibration) {
    println!(
        "{:<26} {:>10} {:>10} {:>10}  status",
        "parameter", "before", "after", "± σ"
    );
    for p in &c.params {
        let (sigma, status) = match &p.status {
            Status::Fitted { sigma } => (format!("{sigma:.4}"), "fitted".to_string()),
            Status::AtBound { bound } => (String::new(), format!("fitted to its bound {bound}")),
            Status::NotConstrained { needs } => (
                String::new(),
                format!("not constrained, kept; would need {needs}"),
            ),
            Status::NotSeparable { from, needs } => (
                String::new(),
                format!(
                    "not separable from {}, kept; would need {needs}",
                    from.join(", ")
                ),
            ),
        };
        println!(
            "{:<26} {:>10.4} {:>10.4} {:>10}  {status}",
            p.name, p.before, p.after, sigma
        );
    }
    println!();
    println!(
        "{:<48} {:<18} {:>9} {:>7} {:>9} {:>9}",
        "run", "quantity", "measured", "σ", "before", "after"
    );
    for r in &c.residuals {
        println!(
            "{:<48} {:<18} {:>9.3} {:>7.3} {:>9.3} {:>9.3}",
            lmlab_engine::limits::excerpt(&r.observation, 48),
            r.quantity,
            r.measured,
            r.sigma,
            r.before,
            r.after
        );
    }
    println!(
        "chi-square {:.2} before, {:.2} after ({} numbers)",
        c.chi2_before,
        c.chi2_after,
        c.residuals.len()
    );
}

/// `lmlab calibrate`: fits, prints the parameters and residuals, writes the calibrated lab.
pub fn calibrate_cmd(args: &CalibrateArgs) -> Result<()> {
    if output::is_session(&args.file)? {
        bail!(
            "{}: calibrate reads a scenario (.toml), whose [transport] table it replaces",
            args.file.display()
        );
    }
    let scenario = output::load_scenario(&args.file)?;
    let (obs, sources) = observations(&scenario, &args.measured, args.references)?;
    let c = calibrate(&obs, &scenario.spec.transport)?;
    let file = args.file.display().to_string();
    let text = read_text(
        &args.file,
        lmlab_engine::scenario::MAX_FILE_BYTES,
        "scenarios",
    )?;
    let out = calibrated_toml(&text, &file, &c, &sources).map_err(|e| anyhow!(e))?;
    match args.json.as_deref() {
        Some("-") => print!("{}", serde_json::to_string_pretty(&c)? + "\n"),
        other => {
            if let Some(p) = other {
                output::write_file(
                    Path::new(p),
                    (serde_json::to_string_pretty(&c)? + "\n").as_bytes(),
                )?;
            }
            print_calibration(&c);
        }
    }
    output::write_file(&args.out, out.as_bytes())?;
    eprintln!("lmlab calibrate: wrote {}", args.out.display());
    Ok(())
}
