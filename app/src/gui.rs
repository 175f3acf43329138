//! The window: an eframe app around the [`Workbench`] in [`crate::ui`]. Thin on purpose
//! (egui_demo_app style): everything testable lives in `ui`, which kittest drives without a
//! window. Preferences persist through eframe's storage; `lmlab screenshot` reuses the same app
//! and saves one frame as PNG.

use crate::presets;
use crate::ui::action::FileAction;
use crate::ui::prefs::PREFS_KEY;
use crate::ui::{LabState, Prefs, Selection, View, ViewAction, Workbench};
use anyhow::{Context as _, Result, anyhow, bail};
use lmlab_engine::SimTime;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What `lmlab screenshot` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShotView {
    Lab,
    Compare,
    /// The Real run view after a loopback run of the first VM (1 GiB, 4 channels).
    Real,
    /// The Check view (pre-flight checks; with an inventory, how it was resolved).
    Check,
    /// The Calibrate view, after a calibration against the `--measured` files.
    Calibrate,
}

/// A screenshot to take: the lab, the time to run it to, the window size and view, the PNG.
#[derive(Debug)]
pub struct Shot<'a> {
    pub file: &'a Path,
    pub out: &'a Path,
    pub at: SimTime,
    pub size: [f32; 2],
    pub view: ShotView,
    pub presentation: bool,
    /// Measurement files loaded beside the lab.
    pub measured: &'a [PathBuf],
    /// A VM to select first.
    pub select: Option<&'a str>,
}

/// A screenshot being taken: the frame to grab, where to save it, and what happened.
#[derive(Debug)]
struct ScreenshotJob {
    out: PathBuf,
    frames: u32,
    requested: bool,
    result: Arc<Mutex<Option<Result<(), String>>>>,
}

#[derive(Debug)]
pub struct LmlabApp {
    /// The window's content.
    pub bench: Workbench,
    screenshot: Option<ScreenshotJob>,
}

impl LmlabApp {
    pub fn new(lab: LabState) -> Self {
        LmlabApp {
            bench: Workbench::new(lab),
            screenshot: None,
        }
    }
}

impl eframe::App for LmlabApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        // Closing with unsaved changes asks first (Save / Discard / Cancel).
        if ctx.input(|i| i.viewport().close_requested())
            && self.screenshot.is_none()
            && !self.bench.close_requested()
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
        }
        self.bench.show(ui);
        if self.bench.closing() {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        if let Some(job) = &mut self.screenshot {
            job.frames += 1;
            let done = job.result.lock().map(|r| r.is_some()).unwrap_or(true);
            if done {
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            } else if job.frames >= 4 && !job.requested {
                // A few frames first, so layout and fonts have settled.
                job.requested = true;
                let out = job.out.clone();
                let result = job.result.clone();
                let ctx2 = ctx.clone();
                ctx.request_screenshot(move |image| {
                    let r = write_png(&out, &image).map_err(|e| format!("{e:#}"));
                    if let Ok(mut slot) = result.lock() {
                        *slot = Some(r);
                    }
                    ctx2.request_repaint();
                });
            }
            ctx.request_repaint();
        }
    }

    fn persist_egui_memory(&self) -> bool {
        self.screenshot.is_none()
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.screenshot.is_none() {
            eframe::set_value(storage, PREFS_KEY, self.bench.lab.prefs());
        }
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        // A clean exit: the recovery file is not needed.
        if let Some(p) = self.bench.lab.recovery()
            && let Err(e) = std::fs::remove_file(p)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            eprintln!(
                "lmlab: {}: cannot remove the recovery file: {e}",
                p.display()
            );
        }
    }
}

fn write_png(path: &Path, image: &egui::ColorImage) -> Result<()> {
    let [w, h] = image.size;
    let mut bytes = Vec::with_capacity(w * h * 4);
    for c in &image.pixels {
        bytes.extend_from_slice(&c.to_srgba_unmultiplied());
    }
    let mut buf = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut buf, w as u32, h as u32);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().context("PNG header")?;
        writer.write_image_data(&bytes).context("PNG data")?;
    }
    crate::output::write_file(path, &buf)
}

fn load(file: Option<&Path>) -> Result<LabState> {
    match file {
        Some(p) => crate::ui::files::open(p).map_err(|e| anyhow!(e)),
        None => Ok(LabState::new(presets::load(presets::DEFAULT_PRESET)?)),
    }
}

fn options(title: String, size: [f32; 2]) -> eframe::NativeOptions {
    eframe::NativeOptions {
        renderer: eframe::Renderer::Glow,
        viewport: egui::ViewportBuilder::default()
            .with_title(title)
            .with_inner_size(size)
            .with_min_inner_size([800.0, 500.0]),
        ..Default::default()
    }
}

/// Opens the window on `file`, or on the built-in default lab.
/// `measured` files are loaded beside the lab first (as File → Load measurements…).
pub fn open(file: Option<&Path>, measured: &[PathBuf]) -> Result<()> {
    let mut lab = load(file)?;
    if !measured.is_empty() {
        lab.handle(FileAction::AddMeasurements(measured.to_vec()));
        if lab.measured_runs().is_empty() {
            bail!("{}", lab.status().unwrap_or("the measurements make no run"));
        }
    }
    let title = format!("lmlab — {}", lab.spec().name);
    if let Some(p) = crate::ui::files::recovery_path() {
        let offer = p.exists();
        lab = lab.with_recovery(p, offer);
    }
    let lab = lab.with_dialogs();
    eframe::run_native(
        "lmlab",
        options(title, [1500.0, 950.0]),
        Box::new(move |cc| {
            let prefs: Prefs = cc
                .storage
                .and_then(|s| eframe::get_value(s, PREFS_KEY))
                .unwrap_or_default();
            let mut lab = lab.with_welcome(!prefs.welcome_seen);
            lab.handle(ViewAction::SetPrefs(prefs));
            Ok(Box::new(LmlabApp::new(lab)))
        }),
    )
    .map_err(|e| anyhow!("cannot open the window: {e}"))
}

/// `lmlab screenshot`: runs the lab to `at`, opens the window at `size`, saves one frame as PNG.
pub fn screenshot(shot: &Shot<'_>) -> Result<()> {
    let mut lab = load(Some(shot.file))?;
    let title = format!("lmlab — {}", lab.spec().name);
    if !shot.measured.is_empty() {
        lab.handle(FileAction::AddMeasurements(shot.measured.to_vec()));
        if lab.measured_runs().is_empty() {
            bail!("{}", lab.status().unwrap_or("the measurements make no run"));
        }
    }
    lab.run_to(shot.at);
    if shot.presentation {
        lab.handle(ViewAction::TogglePresentation);
    }
    if let Some(vm) = shot.select {
        if !lab.spec().vms.iter().any(|v| v.name == vm) {
            bail!("{}: no VM named `{vm}`", shot.file.display());
        }
        lab.handle(ViewAction::Select(Selection::Vm(vm.to_string())));
    }
    match shot.view {
        ShotView::Lab => lab.handle(ViewAction::SetView(View::Lab)),
        ShotView::Compare => {
            lab.handle(ViewAction::SetView(View::Compare));
            let report = lmlab_engine::compare::compare(lab.sim().scenario(), lab.seed());
            lab.show_comparison(report);
        }
        ShotView::Check => lab.handle(ViewAction::SetView(View::Check)),
        ShotView::Calibrate => {
            lab.handle(ViewAction::SetView(View::Calibrate));
            lab.calibrate_now().map_err(|e| anyhow!(e))?;
        }
        ShotView::Real => {
            lab.handle(ViewAction::SetView(View::Real));
            let mut settings = lab.real_settings().clone();
            settings.memory_mib = 1024;
            lab.handle(ViewAction::SetRealSettings(Box::new(settings)));
            let req = crate::ui::real_run::request(&lab).map_err(|e| anyhow!(e))?;
            let run = crate::ui::real_run::execute(req, &|_| {}).map_err(|e| anyhow!(e))?;
            lab.show_real_run(run);
        }
    }
    let result = Arc::new(Mutex::new(None));
    let job = ScreenshotJob {
        out: shot.out.to_path_buf(),
        frames: 0,
        requested: false,
        result: result.clone(),
    };
    let mut opts = options(title, shot.size);
    // A screenshot starts from nothing a window left behind: no window size and no egui memory
    // (a presentation run's zoom restored into the next run made a 1280x720 shot 1728x972).
    opts.persist_window = false;
    let fresh = std::env::temp_dir().join(format!("lmlab-screenshot-{}", std::process::id()));
    opts.persistence_path = Some(fresh.clone());
    let _ = std::fs::remove_dir_all(&fresh);
    eframe::run_native(
        "lmlab-screenshot",
        opts,
        Box::new(move |_cc| {
            let mut app = LmlabApp::new(lab);
            app.screenshot = Some(job);
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow!("cannot open the window: {e}"))?;
    let _ = std::fs::remove_dir_all(&fresh);
    match result
        .lock()
        .map_err(|_| anyhow!("screenshot state poisoned"))?
        .take()
    {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => bail!("{}: {e}", shot.out.display()),
        None => bail!("the window closed before the screenshot was taken"),
    }
}
