//! Charts for reports and slides, drawn from the data with plotters as PNG and SVG: throughput,
//! live-migration CPU, the node/VM state timeline with labelled failure markers, and the
//! comparison bar chart. Colours and labels are the window's (the GUI takes its palette from here);
//! the font is embedded (Ubuntu Light, as egui uses), so charts look the same on every machine.

mod axis;
mod bars;
mod pdf;
mod time;

pub use pdf::report_pdf;

pub use axis::{Marker, MarkerKind, TimeWindow, WindowError, clock_label, ticks};
pub use time::{SeriesLine, TimeChart, time_chart, time_chart_with};

use crate::compare::CompareReport;
use crate::sim::{NodeDisplay, Simulation, VmState};
use plotters::coord::Shift;
use plotters::prelude::*;

/// The series palette (RGB) shared with the window.
pub const SERIES_RGB: [[u8; 3]; 8] = [
    [66, 135, 245],
    [245, 130, 48],
    [60, 180, 75],
    [220, 60, 90],
    [145, 30, 180],
    [70, 190, 200],
    [190, 170, 40],
    [240, 50, 230],
];

/// Node state colours, shared with the window. From the Okabe–Ito palette, so that every pair
/// differs in hue and in lightness and stays apart for colour-blind readers and in greyscale:
/// Up green, Isolated orange (light), Quarantined reddish purple, Down vermillion (dark),
/// Joining yellow (lightest), Paused blue (darkest).
pub fn node_rgb(d: NodeDisplay) -> [u8; 3] {
    match d {
        NodeDisplay::Up => [0, 158, 115],
        NodeDisplay::Joining => [240, 228, 66],
        NodeDisplay::Paused => [0, 114, 178],
        NodeDisplay::Isolated => [230, 159, 0],
        NodeDisplay::Quarantined => [204, 121, 167],
        NodeDisplay::Down => [213, 94, 0],
    }
}

/// VM state colours, shared with the window, on the same principle: Running green,
/// Running-Critical sky blue (a running VM whose storage is gone: not the orange of an isolated
/// node), Paused-Critical wine (dark), Saved and Paused blue, Starting yellow, Off grey.
pub fn vm_rgb(s: VmState) -> [u8; 3] {
    match s {
        VmState::Running => [0, 158, 115],
        VmState::Starting => [240, 228, 66],
        VmState::RunningCritical => [86, 180, 233],
        VmState::PausedCritical => [136, 34, 85],
        VmState::Paused | VmState::Saved => [0, 114, 178],
        VmState::Off => [140, 140, 140],
    }
}

/// Backup lane colours, shared with the window: a succeeded job bluish green, a failed one
/// vermillion, a discarded one grey, a running one sky blue; a third-party requester's use of the
/// VSS provider reddish purple.
pub fn backup_rgb(band: crate::chart::LaneBand) -> [u8; 3] {
    use crate::chart::LaneBand;
    use crate::sim::JobOutcome;
    match band {
        LaneBand::Job(Some(JobOutcome::Succeeded)) => [0, 158, 115],
        LaneBand::Job(Some(JobOutcome::Failed)) => [213, 94, 0],
        LaneBand::Job(Some(JobOutcome::Discarded)) => [140, 140, 140],
        LaneBand::Job(None) => [86, 180, 233],
        LaneBand::ThirdParty => [204, 121, 167],
    }
}

/// Integration Services summary colours (a strip over a VM's state band): Protocol Mismatch
/// orange, setup yellow, No Contact dark grey; up to date is not drawn.
pub fn is_rgb(s: crate::sim::IsSummary) -> [u8; 3] {
    use crate::sim::IsSummary;
    match s {
        IsSummary::UpToDate => [0, 158, 115],
        IsSummary::Mismatch => [230, 159, 0],
        IsSummary::Busy => [240, 228, 66],
        IsSummary::NoContact => [60, 60, 60],
    }
}

/// Black or white, whichever reads better on `c` (WCAG relative luminance).
pub fn text_rgb_on(c: [u8; 3]) -> [u8; 3] {
    let lin = |v: u8| {
        let v = f64::from(v) / 255.0;
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let l = 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
    // Contrast against black (l + 0.05) / 0.05 versus against white 1.05 / (l + 0.05).
    if (l + 0.05) / 0.05 > 1.05 / (l + 0.05) {
        [0, 0, 0]
    } else {
        [255, 255, 255]
    }
}

/// Markers: faults vermillion, repairs bluish green, captions blue (Okabe–Ito, dark enough for
/// white tags).
pub const FAULT_RGB: [u8; 3] = [213, 94, 0];
pub const REPAIR_RGB: [u8; 3] = [0, 130, 95];
pub const CAPTION_RGB: [u8; 3] = [0, 114, 178];

/// The comparison's colours, in the window and in exports: the model's throughput, the source
/// and destination host's CPU (light and dark, so they differ in greyscale too). The measured
/// reference is a black (in the dark window: white) diamond, its range a bar through it.
pub const COMPARE_MODEL_RGB: [u8; 3] = SERIES_RGB[0];
pub const COMPARE_SRC_CPU_RGB: [u8; 3] = [245, 170, 90];
pub const COMPARE_DST_CPU_RGB: [u8; 3] = [150, 70, 20];

/// Lines that summarise others (an average).
pub const GREY_RGB: [u8; 3] = [160, 160, 160];

const FONT: &str = "lmlab-sans";
static FONT_BYTES: &[u8] = include_bytes!("../../../assets/fonts/Ubuntu-Light.ttf");

/// Why a chart could not be drawn or encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChartError {
    #[error("the embedded chart font could not be loaded")]
    Font,
    #[error("cannot draw the chart: {0}")]
    Draw(String),
    #[error("cannot encode the PNG: {0}")]
    Png(String),
}

fn font_ready() -> Result<(), ChartError> {
    static ONCE: std::sync::OnceLock<Result<(), ChartError>> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES)
            .map_err(|_| ChartError::Font)
    })
    .clone()
}

fn rgb(c: [u8; 3]) -> RGBColor {
    RGBColor(c[0], c[1], c[2])
}

/// Which chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chart {
    Throughput,
    Cpu,
    States,
}

impl Chart {
    pub const ALL: [Chart; 3] = [Chart::Throughput, Chart::Cpu, Chart::States];
    pub fn file_stem(self) -> &'static str {
        match self {
            Chart::Throughput => "throughput",
            Chart::Cpu => "cpu",
            Chart::States => "states",
        }
    }
}

type DrawResult = Result<(), ChartError>;

fn err<E: std::fmt::Display>(e: E) -> ChartError {
    ChartError::Draw(e.to_string())
}

/// Logical pixels to device pixels: 1 for a 1× PNG or an SVG, 2 for a 2× PNG. Every size in the
/// drawing code is logical, so a 2× chart is the same chart, sharper.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Px(pub f64);

impl Px {
    fn i(self, v: f64) -> i32 {
        (v * self.0).round() as i32
    }
    fn u(self, v: f64) -> u32 {
        (v * self.0).round().max(0.0) as u32
    }
    fn font(self, size: f64) -> FontDesc<'static> {
        (FONT, size * self.0).into_font()
    }
}

/// What to draw.
#[derive(Debug)]
pub enum Drawing<'a> {
    Time(&'a TimeChart),
    States(&'a Simulation, TimeWindow),
    Compare(&'a CompareReport),
}

fn draw_on<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, px: Px, d: &Drawing) -> DrawResult
where
    DB::ErrorType: 'static,
{
    match d {
        Drawing::Time(c) => time::draw_time(&root, px, c),
        Drawing::States(sim, w) => time::draw_states(&root, px, sim, *w),
        Drawing::Compare(r) => bars::draw_compare(&root, px, r),
    }
}

/// The chart as PNG bytes: its SVG rendered at `scale` (1 or 2) device pixels per pixel of
/// `size` by resvg, so the PNG and the SVG are the same picture, text laid out properly.
pub fn png(d: &Drawing, size: (u32, u32), scale: u32) -> Result<Vec<u8>, ChartError> {
    let scale = scale.clamp(1, 4);
    let (opt, family) = render_options();
    let svg = with_family(&svg(d, size)?, family);
    let tree = resvg::usvg::Tree::from_str(&svg, opt)
        .map_err(|e| ChartError::Draw(format!("cannot read the chart back: {e}")))?;
    let (w, h) = (size.0 * scale, size.1 * scale);
    let mut pixmap = resvg::tiny_skia::Pixmap::new(w, h)
        .ok_or_else(|| ChartError::Png(format!("a {w}x{h} picture is too large")))?;
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    let s = scale as f32;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(s, s),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| ChartError::Png(e.to_string()))
}

/// The SVG with the chart font named by its own family name, as resvg knows it (the SVG's
/// @font-face is for viewers).
fn with_family(svg: &str, family: &str) -> String {
    svg.replace(
        &format!("font-family=\"{FONT}\""),
        &format!("font-family=\"{family}\""),
    )
}

/// resvg's options: the chart font and nothing from the system, so every machine renders the
/// same.
fn render_options() -> &'static (resvg::usvg::Options<'static>, String) {
    static OPT: std::sync::OnceLock<(resvg::usvg::Options<'static>, String)> =
        std::sync::OnceLock::new();
    OPT.get_or_init(|| {
        let mut opt = resvg::usvg::Options::default();
        let db = opt.fontdb_mut();
        db.load_font_data(FONT_BYTES.to_vec());
        let family = db
            .faces()
            .next()
            .and_then(|f| f.families.first().map(|x| x.0.clone()))
            .unwrap_or_else(|| FONT.to_string());
        opt.font_family = family.clone();
        (opt, family)
    })
}

/// The chart as an SVG document of `size` pixels, its font embedded (so it renders the same
/// wherever it is opened).
pub fn svg(d: &Drawing, size: (u32, u32)) -> Result<String, ChartError> {
    font_ready()?;
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, size).into_drawing_area();
        draw_on(root, Px(1.0), d)?;
    }
    Ok(embed_font(&s))
}

/// The SVG with the chart font embedded as a `@font-face` right after the opening tag.
fn embed_font(svg: &str) -> String {
    use base64::Engine as _;
    static FACE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let face = FACE.get_or_init(|| {
        let b64 = base64::engine::general_purpose::STANDARD.encode(FONT_BYTES);
        format!(
            "<defs><style type=\"text/css\">@font-face {{ font-family: \"{FONT}\"; \
             src: url(data:font/ttf;base64,{b64}) format(\"truetype\"); }}</style></defs>"
        )
    });
    match svg
        .find("<svg")
        .and_then(|i| svg[i..].find('>').map(|j| i + j + 1))
    {
        Some(at) => format!("{}\n{}{}", &svg[..at], face, &svg[at..]),
        None => svg.to_string(),
    }
}
