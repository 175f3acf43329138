//! What the command line and the window both do with files: load a scenario or a session (or run a
//! scenario to a time), write files atomically, and export every chart and data file of a run.
//! Knows nothing of terminals or windows: progress and cancelling come in as a callback.

use anyhow::{Context, Result, anyhow};
use lmlab_engine::compare::{CompareReport, compare_csv};
use lmlab_engine::export::{Chart, Drawing, png, svg, time_chart};
use lmlab_engine::report::{Report, events_csv, series_csv};
use lmlab_engine::session::SessionFile;
use lmlab_engine::{Scenario, SimDuration, SimTime, Simulation};
use std::path::{Path, PathBuf};

/// Told how far a long operation is (`done` of `total` steps); returns false to cancel it.
pub type Progress<'a> = &'a mut dyn FnMut(usize, usize) -> bool;

/// A progress callback that never cancels.
pub fn no_progress() -> impl FnMut(usize, usize) -> bool {
    |_, _| true
}

/// Loads a scenario; the error already names file, line and column.
pub fn load_scenario(path: &Path) -> Result<Scenario> {
    Ok(Scenario::load(path)?)
}

/// Whether `path` holds a session (JSON: its first non-blank byte is `{`) rather than a scenario.
pub fn is_session(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut f =
        std::fs::File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let mut buf = [0u8; 4096];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        if n == 0 {
            return Ok(false);
        }
        if let Some(b) = buf[..n].iter().find(|b| !b.is_ascii_whitespace()) {
            return Ok(*b == b'{');
        }
    }
}

/// A session file and the simulation it replays to.
#[derive(Debug)]
pub struct OpenedSession {
    pub file: SessionFile,
    pub sim: Simulation,
}

/// Loads and replays a session file.
pub fn open_session(path: &Path) -> Result<OpenedSession> {
    let file = SessionFile::load(path)?;
    let sim = file.open(&path.display().to_string())?;
    Ok(OpenedSession { file, sim })
}

/// Loads a session, or runs a scenario to `until` (default: its own `until`), with progress.
pub fn load_run(
    file: &Path,
    until: Option<SimDuration>,
    progress: Progress<'_>,
) -> Result<Simulation> {
    if is_session(file)? {
        Ok(open_session(file)?.sim)
    } else {
        let scenario = load_scenario(file)?;
        let until = until.unwrap_or(scenario.spec.until);
        let seed = scenario.spec.seed;
        let mut sim = Simulation::new(scenario, seed);
        run_to(&mut sim, SimTime::ZERO + until, progress);
        Ok(sim)
    }
}

/// Advances to `until` in 100 steps, reporting each; stops early (before `until`) if cancelled.
pub fn run_to(sim: &mut Simulation, until: SimTime, progress: Progress<'_>) {
    let total = until.as_micros().max(1);
    let steps = 100u64;
    for k in 1..=steps {
        let t = if k == steps {
            until
        } else {
            SimTime::from_micros(total / steps * k)
        };
        sim.advance_to(t);
        if !progress(k as usize, steps as usize) {
            return;
        }
    }
}

/// Writes a file through a temporary file, a flush and a rename, so a crash never leaves half a
/// file (the session module's atomic write).
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    lmlab_engine::session::atomic_write(path, bytes)
        .with_context(|| format!("{}: cannot write", path.display()))
}

/// The comparison as pretty JSON with a trailing newline.
pub fn compare_json(report: &CompareReport) -> Result<String> {
    let mut s =
        serde_json::to_string_pretty(report).context("cannot write the comparison as JSON")?;
    s.push('\n');
    Ok(s)
}

/// One file of an export: its name and how to make its bytes.
type Part<'a> = (String, Box<dyn FnOnce() -> Result<Vec<u8>> + 'a>);

fn chart_parts<'a>(name: &str, d: Drawing<'a>, size: (u32, u32), parts: &mut Vec<Part<'a>>) {
    let d = std::rc::Rc::new(d);
    let (d1, stem) = (d.clone(), name.to_string());
    parts.push((
        format!("{name}.png"),
        Box::new(move || png(&d1, size).map_err(|e| anyhow!("{stem}.png: {e}"))),
    ));
    let stem = name.to_string();
    parts.push((
        format!("{name}.svg"),
        Box::new(move || {
            svg(&d, size)
                .map(String::into_bytes)
                .map_err(|e| anyhow!("{stem}.svg: {e}"))
        }),
    ));
}

/// The comparison's files: `compare.csv`, `compare.png`, `compare.svg`.
fn compare_parts<'a>(c: &'a CompareReport, size: (u32, u32), parts: &mut Vec<Part<'a>>) {
    parts.push((
        "compare.csv".into(),
        Box::new(move || Ok(compare_csv(c).into_bytes())),
    ));
    chart_parts("compare", Drawing::Compare(c), size, parts);
}

fn write_parts(dir: &Path, parts: Vec<Part<'_>>, progress: Progress<'_>) -> Result<Option<Vec<PathBuf>>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create the folder", dir.display()))?;
    let total = parts.len();
    let mut written = Vec::new();
    for (k, (name, make)) in parts.into_iter().enumerate() {
        if !progress(k, total) {
            return Ok(None);
        }
        let p = dir.join(&name);
        write_file(&p, &make()?)?;
        written.push(p);
    }
    progress(total, total);
    Ok(Some(written))
}

/// Writes every chart and data file of a run into `dir`; returns the files written, or `None`
/// when `progress` cancelled (files already written stay).
pub fn export_all(
    sim: &Simulation,
    dir: &Path,
    size: (u32, u32),
    progress: Progress<'_>,
) -> Result<Option<Vec<PathBuf>>> {
    let charts: Vec<_> = Chart::ALL
        .iter()
        .map(|&c| (c, (c != Chart::States).then(|| time_chart(sim, c))))
        .collect();
    let report = Report::from_simulation(sim);
    let compare = (!sim.scenario().spec.configurations.is_empty())
        .then(|| lmlab_engine::compare::compare(sim.scenario(), sim.seed()));
    let mut parts: Vec<Part<'_>> = Vec::new();
    for (chart, tc) in &charts {
        let d = match tc {
            Some(tc) => Drawing::Time(tc),
            None => Drawing::States(sim),
        };
        chart_parts(chart.file_stem(), d, size, &mut parts);
    }
    let r = &report;
    parts.push((
        "series.csv".into(),
        Box::new(move || Ok(series_csv(&r.series).into_bytes())),
    ));
    parts.push((
        "events.csv".into(),
        Box::new(move || Ok(events_csv(&r.events).into_bytes())),
    ));
    parts.push((
        "report.json".into(),
        Box::new(move || Ok(r.to_json().into_bytes())),
    ));
    if let Some(c) = &compare {
        compare_parts(c, size, &mut parts);
    }
    write_parts(dir, parts, progress)
}

/// Writes `compare.csv`, `compare.png` and `compare.svg` into `dir`.
pub fn export_compare(c: &CompareReport, dir: &Path, size: (u32, u32)) -> Result<()> {
    let mut parts = Vec::new();
    compare_parts(c, size, &mut parts);
    write_parts(dir, parts, &mut no_progress()).map(|_| ())
}
