//! What the command line and the window both do with files: load a scenario or a session (or run a
//! scenario to a time), write files atomically, and export every chart and data file of a run.
//! Knows nothing of terminals or windows: progress and cancelling come in as a callback.

use anyhow::{Context, Result, anyhow, bail};
use lmlab_engine::compare::{CompareReport, CompareSort, compare_csv};
use lmlab_engine::export::{Chart, Drawing, TimeWindow, png, svg, time_chart_with};
use lmlab_engine::measured::MeasuredRun;
use lmlab_engine::report::{Report, backup_jobs_csv, events_csv, write_series_csv};
use lmlab_engine::session::SessionFile;
use lmlab_engine::{Scenario, SimTime, Simulation};
use std::path::{Path, PathBuf};

/// Told how far a long operation is (`done` of `total` steps); returns false to cancel it.
pub type OnProgress<'a> = &'a mut dyn FnMut(usize, usize) -> bool;

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

/// Advances to `until` in 100 steps, reporting each; stops early (before `until`) if cancelled.
pub fn run_to(sim: &mut Simulation, until: SimTime, progress: OnProgress<'_>) {
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

/// [`write_file`] for content made while it is written.
pub fn write_file_with(
    path: &Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<()> {
    lmlab_engine::session::atomic_write_with(path, write)
        .with_context(|| format!("{}: cannot write", path.display()))
}

/// The comparison as pretty JSON with a trailing newline.
pub fn compare_json(report: &CompareReport) -> Result<String> {
    let mut s =
        serde_json::to_string_pretty(report).context("cannot write the comparison as JSON")?;
    s.push('\n');
    Ok(s)
}

/// Writes an export's files one by one into a staging folder beside the target (`DIR.lmlab-new`),
/// telling `progress` before each and stopping when it says so; [`Folder::finish`] then puts the
/// staged folder in the target's place (the old export moves aside to `DIR.lmlab-old` for the two
/// renames, then is removed). A killed or cancelled export leaves the old folder or the new one,
/// never a mix; the next export into that folder tidies what a kill left.
struct Folder<'p, 'q> {
    target: &'p Path,
    /// Where the files are written until the export is complete.
    dir: PathBuf,
    written: Vec<PathBuf>,
    progress: OnProgress<'q>,
    total: usize,
}

/// A sibling of `dir` with a suffix on its name.
fn beside(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir
        .file_name()
        .map(std::ffi::OsStr::to_os_string)
        .unwrap_or_else(|| "export".into());
    name.push(suffix);
    dir.with_file_name(name)
}

/// The files an export writes: a folder holding anything else is not replaced.
fn is_export_file(name: &str) -> bool {
    const STEMS: [&str; 4] = ["throughput", "cpu", "states", "compare"];
    const DATA: [&str; 7] = [
        "series.csv",
        "events.csv",
        "backup-jobs.csv",
        "report.json",
        "report.pdf",
        "compare.csv",
        "measured-error.csv",
    ];
    DATA.contains(&name)
        || STEMS.iter().any(|s| {
            [".png", "@2x.png", ".svg"]
                .iter()
                .any(|e| name == format!("{s}{e}"))
        })
}

impl<'p, 'q> Folder<'p, 'q> {
    fn create(target: &'p Path, total: usize, progress: OnProgress<'q>) -> Result<Self> {
        let shown = target.display();
        let (staging, old) = (beside(target, ".lmlab-new"), beside(target, ".lmlab-old"));
        // What a killed export left: a half-written staging folder (dropped), and an old export
        // moved aside whose replacement never arrived (put back).
        if staging.exists() {
            std::fs::remove_dir_all(&staging)
                .with_context(|| format!("{}: cannot remove", staging.display()))?;
        }
        if old.exists() {
            if target.exists() {
                std::fs::remove_dir_all(&old)
                    .with_context(|| format!("{}: cannot remove", old.display()))?;
            } else {
                std::fs::rename(&old, target)
                    .with_context(|| format!("{}: cannot put back {}", shown, old.display()))?;
            }
        }
        if target.exists() {
            let meta = std::fs::metadata(target)
                .with_context(|| format!("{shown}: cannot read the folder"))?;
            if !meta.is_dir() {
                bail!("{shown}: is a file, not a folder");
            }
            let entries = std::fs::read_dir(target)
                .with_context(|| format!("{shown}: cannot read the folder"))?;
            for e in entries {
                let e = e.with_context(|| format!("{shown}: cannot read the folder"))?;
                let name = e.file_name().to_string_lossy().into_owned();
                if !is_export_file(&name) {
                    bail!(
                        "{shown}: holds `{name}`, which an export does not write; an export \
                         replaces the whole folder, so choose a new or empty folder"
                    );
                }
            }
        }
        std::fs::create_dir_all(&staging)
            .with_context(|| format!("{}: cannot create the folder", staging.display()))?;
        Ok(Folder {
            target,
            dir: staging,
            written: Vec::new(),
            progress,
            total,
        })
    }

    /// Drops the staging folder of a cancelled export (the target stays as it was).
    fn abandon(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    /// The next step is about to start; false when cancelled.
    fn next(&mut self) -> bool {
        (self.progress)(self.written.len() * STEP, self.total * STEP)
    }

    /// Writes `name` with the bytes `make` returns, unless cancelled first (then `Ok(false)`).
    fn put(&mut self, name: &str, make: impl FnOnce() -> Result<Vec<u8>>) -> Result<bool> {
        if !self.next() {
            return Ok(false);
        }
        let p = self.dir.join(name);
        write_file(&p, &make()?)?;
        self.written.push(p);
        Ok(true)
    }

    /// [`Folder::put`] for a file written as it is made (series and report of a long run).
    fn put_with(
        &mut self,
        name: &str,
        write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> Result<bool> {
        if !self.next() {
            return Ok(false);
        }
        let p = self.dir.join(name);
        write_file_with(&p, write)?;
        self.written.push(p);
        Ok(true)
    }

    /// A chart as `name.png`, `name@2x.png` (twice the pixels, for print and high-density
    /// screens) and `name.svg`.
    fn chart(&mut self, name: &str, d: &Drawing<'_>, size: (u32, u32)) -> Result<bool> {
        Ok(self.put(&format!("{name}.png"), || {
            png(d, size, 1).map_err(|e| anyhow!("{name}.png: {e}"))
        })? && self.put(&format!("{name}@2x.png"), || {
            png(d, size, 2).map_err(|e| anyhow!("{name}@2x.png: {e}"))
        })? && self.put(&format!("{name}.svg"), || {
            svg(d, size)
                .map(String::into_bytes)
                .map_err(|e| anyhow!("{name}.svg: {e}"))
        })?)
    }

    /// `compare.csv`, `compare.png`, `compare.svg`.
    fn compare(&mut self, c: &CompareReport, size: (u32, u32)) -> Result<bool> {
        Ok(self.put("compare.csv", || Ok(compare_csv(c).into_bytes()))?
            && self.chart("compare", &Drawing::Compare(c), size)?)
    }

    /// Puts the staged folder in the target's place; the files, at their final paths.
    fn finish(self) -> Result<Vec<PathBuf>> {
        let old = beside(self.target, ".lmlab-old");
        let had_old = self.target.exists();
        if had_old {
            std::fs::rename(self.target, &old).with_context(|| {
                format!(
                    "{}: cannot move the old export aside",
                    self.target.display()
                )
            })?;
        }
        if let Err(e) = std::fs::rename(&self.dir, self.target) {
            if had_old {
                let _ = std::fs::rename(&old, self.target);
            }
            return Err(e)
                .with_context(|| format!("{}: cannot put in place", self.target.display()));
        }
        if had_old {
            let _ = std::fs::remove_dir_all(&old);
        }
        (self.progress)(self.total * STEP, self.total * STEP);
        let target = self.target;
        Ok(self
            .written
            .iter()
            .filter_map(|p| p.file_name().map(|n| target.join(n)))
            .collect())
    }
}

/// Progress counts in thousandths of a file, so a long step (the comparison) moves the bar too.
const STEP: usize = 1000;

/// Files of an export without the comparison: three charts in three files each, two CSVs, the
/// report as JSON and as PDF.
const RUN_FILES: usize = 13;
/// The comparison's files.
const COMPARE_FILES: usize = 4;

/// What an export draws: chart size (1× pixels), the time window of the time charts, the order
/// of the comparison's rows.
#[derive(Clone, Copy, Debug)]
pub struct ExportOptions<'a> {
    pub size: (u32, u32),
    pub window: TimeWindow,
    pub sort: CompareSort,
    /// Measured runs to draw beside the model's lines (and their error table,
    /// `measured-error.csv`); empty for none.
    pub measured: &'a [MeasuredRun],
}

/// Writes every chart and data file of a run into `dir` (replacing an earlier export there);
/// returns the files written, or `None` when `progress` cancelled (then `dir` is as it was).
pub fn export_all(
    sim: &Simulation,
    dir: &Path,
    opts: &ExportOptions<'_>,
    progress: OnProgress<'_>,
) -> Result<Option<Vec<PathBuf>>> {
    let compares = !sim.scenario().spec.configurations.is_empty();
    let backups = usize::from(!sim.backup_jobs().is_empty());
    let total = RUN_FILES
        + backups
        + if compares { COMPARE_FILES } else { 0 }
        + usize::from(!opts.measured.is_empty());
    let mut out = Folder::create(dir, total, progress)?;
    match fill_export(&mut out, sim, opts, compares) {
        Ok(Some(())) => out.finish().map(Some),
        Ok(None) => {
            out.abandon();
            Ok(None)
        }
        Err(e) => {
            out.abandon();
            Err(e)
        }
    }
}

/// Writes the export's files into the staging folder; `None` when cancelled.
fn fill_export(
    out: &mut Folder<'_, '_>,
    sim: &Simulation,
    opts: &ExportOptions<'_>,
    compares: bool,
) -> Result<Option<()>> {
    let ExportOptions {
        size,
        window,
        sort,
        measured,
    } = *opts;
    for chart in Chart::ALL {
        let tc;
        let d = match chart {
            Chart::States => Drawing::States(sim, window),
            c => {
                tc = time_chart_with(sim, c, window, measured);
                Drawing::Time(&tc)
            }
        };
        if !out.chart(chart.file_stem(), &d, size)? {
            return Ok(None);
        }
    }
    let report = Report::from_simulation(sim);
    let done = out.put_with("series.csv", |w| write_series_csv(&report.series, w))?
        && out.put("events.csv", || Ok(events_csv(&report.events).into_bytes()))?
        && out.put_with("report.json", |w| report.write_json(w))?
        && (measured.is_empty()
            || out.put("measured-error.csv", || {
                let cs = lmlab_engine::measured::overlay::compare(sim, measured);
                Ok(lmlab_engine::measured::overlay::error_csv(&cs).into_bytes())
            })?)
        && (sim.backup_jobs().is_empty()
            || out.put("backup-jobs.csv", || Ok(backup_jobs_csv(sim).into_bytes()))?);
    if !done {
        return Ok(None);
    }
    let mut compared = None;
    if compares {
        // The comparison can take a while: it stops as soon as Cancel is pressed.
        // Its progress moves the bar through the step of the next file.
        let (k, total) = (out.written.len(), out.total);
        let mut go_on =
            |d: usize, t: usize| (out.progress)(k * STEP + d * STEP / t.max(1), total * STEP);
        let Some(mut c) =
            lmlab_engine::compare::compare_with_progress(sim.scenario(), sim.seed(), &mut go_on)
        else {
            return Ok(None);
        };
        c.sort(sort);
        if !out.compare(&c, size)? {
            return Ok(None);
        }
        compared = Some(c);
    }
    // The PDF report last: it reuses the comparison.
    let command = "lmlab export (or File → Export) on this lab";
    if !out.put("report.pdf", || {
        lmlab_engine::export::report_pdf(sim, &report, compared.as_ref(), window, command, measured)
            .map_err(|e| anyhow!("report.pdf: {e}"))
    })? {
        return Ok(None);
    }
    Ok(Some(()))
}

/// The PDF report of a run (the comparison is run first when the lab has configurations).
pub fn report_pdf(
    sim: &Simulation,
    window: TimeWindow,
    sort: CompareSort,
    command: &str,
    measured: &[MeasuredRun],
) -> Result<Vec<u8>> {
    let compare = (!sim.scenario().spec.configurations.is_empty()).then(|| {
        let mut c = lmlab_engine::compare::compare(sim.scenario(), sim.seed());
        c.sort(sort);
        c
    });
    let report = Report::from_simulation(sim);
    lmlab_engine::export::report_pdf(sim, &report, compare.as_ref(), window, command, measured)
        .map_err(|e| anyhow!("report.pdf: {e}"))
}

/// Writes `compare.csv`, `compare.png`, `compare@2x.png` and `compare.svg` into `dir`
/// (replacing an earlier export there).
pub fn export_compare(c: &CompareReport, dir: &Path, size: (u32, u32)) -> Result<()> {
    let mut none = no_progress();
    let mut out = Folder::create(dir, COMPARE_FILES, &mut none)?;
    match out.compare(c, size) {
        Ok(_) => out.finish().map(drop),
        Err(e) => {
            out.abandon();
            Err(e)
        }
    }
}
