//! The window: an eframe app around the UI in [`crate::ui`]. Thin on purpose (egui_demo_app style):
//! everything testable lives in `ui`, which kittest drives without a window. Preferences persist
//! through eframe's storage; `lmlab screenshot` reuses the same app and saves one frame as PNG.

use crate::presets;
use crate::ui::{LabState, Prefs};
use anyhow::{Context as _, Result, anyhow, bail};
use lmlab_engine::SimTime;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const PREFS_KEY: &str = "lmlab-prefs";

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
    /// The lab on screen.
    pub lab: LabState,
    screenshot: Option<ScreenshotJob>,
}

impl LmlabApp {
    pub fn new(lab: LabState) -> Self {
        LmlabApp {
            lab,
            screenshot: None,
        }
    }
}

impl eframe::App for LmlabApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.lab.show(ui);
        let ctx = ui.ctx().clone();
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

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.screenshot.is_none() {
            eframe::set_value(storage, PREFS_KEY, &self.lab.prefs);
        }
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        // A clean exit: the recovery file is not needed.
        if let Some(p) = &self.lab.recovery {
            let _ = std::fs::remove_file(p);
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
    crate::cli::write_file(path, &buf)
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
pub fn open(file: Option<&Path>) -> Result<()> {
    let mut lab = load(file)?;
    let title = format!("lmlab — {}", lab.spec().name);
    lab.recovery = crate::ui::files::recovery_path();
    lab.dialogs = true;
    if let Some(p) = &lab.recovery
        && p.exists()
    {
        lab.recovery_offer = Some(p.clone());
    }
    eframe::run_native(
        "lmlab",
        options(title, [1500.0, 950.0]),
        Box::new(move |cc| {
            let prefs: Prefs = cc
                .storage
                .and_then(|s| eframe::get_value(s, PREFS_KEY))
                .unwrap_or_default();
            lab.show_welcome = !prefs.welcome_seen;
            lab.prefs = prefs;
            Ok(Box::new(LmlabApp::new(lab)))
        }),
    )
    .map_err(|e| anyhow!("cannot open the window: {e}"))
}

/// `lmlab screenshot`: runs the lab to `at`, opens the window at `size`, saves one frame as PNG.
pub fn screenshot(
    file: &Path,
    out: &Path,
    at: SimTime,
    size: [f32; 2],
    view: crate::cli::ShotView,
) -> Result<()> {
    let mut lab = load(Some(file))?;
    let title = format!("lmlab — {}", lab.spec().name);
    lab.run_to(at);
    match view {
        crate::cli::ShotView::Lab => {}
        crate::cli::ShotView::Compare => {
            lab.handle(crate::ui::UiAction::SetView(crate::ui::View::Compare));
            lab.compare = Some(lmlab_engine::compare::compare(lab.sim.scenario(), lab.seed));
        }
        crate::cli::ShotView::Real => {
            lab.handle(crate::ui::UiAction::SetView(crate::ui::View::Real));
            lab.real.memory_mib = 1024;
            let req = crate::ui::real::request(&lab).map_err(|e| anyhow::anyhow!(e))?;
            let run = crate::ui::real::execute(req, &|_| {}).map_err(|e| anyhow::anyhow!(e))?;
            lab.real.last = Some(run);
        }
    }
    let result = Arc::new(Mutex::new(None));
    let job = ScreenshotJob {
        out: out.to_path_buf(),
        frames: 0,
        requested: false,
        result: result.clone(),
    };
    let mut opts = options(title, size);
    opts.persist_window = false;
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
    match result
        .lock()
        .map_err(|_| anyhow!("screenshot state poisoned"))?
        .take()
    {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => bail!("{}: {e}", out.display()),
        None => bail!("the window closed before the screenshot was taken"),
    }
}
