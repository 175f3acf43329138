//! Charts for reports and slides, drawn from the data with plotters as PNG and SVG: throughput,
//! live-migration CPU, the node/VM state timeline with labelled failure markers, and the
//! comparison bar chart. Colours and labels are the window's (the GUI takes its palette from here);
//! the font is embedded (Ubuntu Light, as egui uses), so charts look the same on every machine.

use crate::compare::CompareReport;
use crate::sim::{NodeDisplay, Simulation, VmState};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
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

pub const FAULT_RGB: [u8; 3] = [220, 60, 60];

/// Lines that summarise others (an average).
pub const GREY_RGB: [u8; 3] = [160, 160, 160];

const FONT: &str = "lmlab-sans";
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/Ubuntu-Light.ttf");

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

/// A named line.
#[derive(Clone, Debug)]
pub struct SeriesLine {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub color: [u8; 3],
}

/// The lines and markers of a time chart, taken from a run.
#[derive(Clone, Debug)]
pub struct TimeChart {
    pub title: String,
    pub y_label: String,
    pub lines: Vec<SeriesLine>,
    /// Fault and repair markers: (t_s, label).
    pub markers: Vec<(f64, String)>,
    pub t_max: f64,
}

fn markers(sim: &Simulation) -> Vec<(f64, String)> {
    sim.events()
        .iter()
        .filter(|e| e.mark.is_fault_or_repair())
        .map(|e| (e.t.as_secs_f64(), e.detail.chars().take(32).collect()))
        .collect()
}

/// The data of a time chart (throughput or CPU) from a run: the report's lines of
/// [`crate::chart::lines`].
pub fn time_chart(sim: &Simulation, chart: Chart) -> TimeChart {
    use crate::chart::{Audience, LineColor, TimeChartKind, lines};
    let spec = &sim.scenario().spec;
    let (kind, title, y_label) = match chart {
        Chart::Cpu => (TimeChartKind::Cpu, "Live-migration CPU per host", "CPU %"),
        _ => (
            TimeChartKind::Throughput,
            "Live-migration throughput",
            "Gbit/s",
        ),
    };
    let t_max = sim.now().as_secs_f64().max(1.0);
    let lines = lines(sim, kind, Audience::Report, 0.0)
        .into_iter()
        .map(|l| SeriesLine {
            points: l.points(sim.series()),
            color: match l.color {
                LineColor::Palette(i) => SERIES_RGB[i % SERIES_RGB.len()],
                LineColor::Grey => GREY_RGB,
            },
            name: l.label,
        })
        .collect();
    TimeChart {
        title: format!("{} — {}", spec.name, title),
        y_label: y_label.into(),
        lines,
        markers: markers(sim),
        t_max,
    }
}

type DrawResult = Result<(), ChartError>;

fn err<E: std::fmt::Display>(e: E) -> ChartError {
    ChartError::Draw(e.to_string())
}

type Chart2d<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The legend box every chart uses.
fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart2d<'a, DB>,
    pos: SeriesLabelPosition,
    size: u32,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(pos)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, size))
        .draw()
        .map_err(err)
}

/// One row of state bands: each state from its start to the next change (or `now`).
fn bands<'a, DB: DrawingBackend + 'a, S>(
    chart: &mut Chart2d<'a, DB>,
    row: f64,
    timeline: &[(crate::time::SimTime, S)],
    now: crate::time::SimTime,
    color: impl Fn(&S) -> [u8; 3],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    for (k, (t, state)) in timeline.iter().enumerate() {
        let end = timeline.get(k + 1).map_or(now, |n| n.0);
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [
                    (t.as_secs_f64(), row - 0.35),
                    (end.as_secs_f64(), row + 0.35),
                ],
                rgb(color(state)).filled(),
            )))
            .map_err(err)?;
    }
    Ok(())
}

/// A legend entry that is only a colour swatch.
fn swatch<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart2d<'a, DB>,
    label: String,
    color: [u8; 3],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let c = rgb(color);
    chart
        .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())
        .map_err(err)?
        .label(label)
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
    Ok(())
}

fn draw_time<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &TimeChart) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(err)?;
    let y_max = c
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .fold(0.0_f64, f64::max)
        .max(1.0)
        * 1.1;
    let mut chart = ChartBuilder::on(root)
        .caption(&c.title, (FONT, 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..c.t_max, 0.0..y_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("simulated time (s)")
        .y_desc(c.y_label.as_str())
        .label_style((FONT, 14))
        .draw()
        .map_err(err)?;
    for (k, (t, label)) in c.markers.iter().enumerate() {
        let color = rgb(FAULT_RGB);
        chart
            .draw_series(LineSeries::new(
                vec![(*t, 0.0), (*t, y_max)],
                color.stroke_width(1),
            ))
            .map_err(err)?;
        let y = y_max * (0.96 - 0.06 * (k % 5) as f64);
        chart
            .draw_series(std::iter::once(Text::new(
                label.clone(),
                (*t, y),
                (FONT, 12).into_font().color(&color),
            )))
            .map_err(err)?;
    }
    for l in &c.lines {
        let color = rgb(l.color);
        chart
            .draw_series(LineSeries::new(
                l.points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(err)?
            .label(l.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3))
            });
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft, 13)?;
    root.present().map_err(err)
}

fn draw_states<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, sim: &Simulation) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(err)?;
    let spec = &sim.scenario().spec;
    let t_max = sim.now().as_secs_f64().max(1.0);
    let vm_rows = if spec.vms.len() <= 40 {
        spec.vms.len()
    } else {
        0
    };
    let rows = spec.hosts.len() + vm_rows;
    let names: Vec<String> = spec
        .hosts
        .iter()
        .map(|h| h.name.clone())
        .chain(spec.vms.iter().take(vm_rows).map(|v| v.name.clone()))
        .collect();
    let mut chart = ChartBuilder::on(root)
        .caption(format!("{} — node and VM states", spec.name), (FONT, 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(90)
        .build_cartesian_2d(0.0..t_max, -0.5..(rows.max(1) as f64 - 0.5))
        .map_err(err)?;
    let label = |y: &f64| {
        let i = y.round();
        if (y - i).abs() < 1e-6 && i >= 0.0 {
            names.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .x_desc("simulated time (s)")
        .y_labels(rows.max(1))
        .y_label_formatter(&label)
        .disable_y_mesh()
        .label_style((FONT, 13))
        .draw()
        .map_err(err)?;
    let now = sim.now();
    for (i, tl) in sim.node_timeline().iter().enumerate() {
        bands(&mut chart, i as f64, tl, now, |d| node_rgb(*d))?;
    }
    for (i, tl) in sim.vm_timeline().iter().enumerate().take(vm_rows) {
        bands(&mut chart, (spec.hosts.len() + i) as f64, tl, now, |s| {
            vm_rgb(*s)
        })?;
    }
    // Legend: one entry per state that appears.
    for d in NodeDisplay::LEGEND {
        if sim
            .node_timeline()
            .iter()
            .any(|tl| tl.iter().any(|x| x.1 == d))
        {
            swatch(&mut chart, format!("node {d:?}"), node_rgb(d))?;
        }
    }
    for s in VmState::LEGEND {
        if vm_rows > 0
            && sim
                .vm_timeline()
                .iter()
                .any(|tl| tl.iter().any(|x| x.1 == s))
        {
            swatch(&mut chart, format!("VM {s:?}"), vm_rgb(s))?;
        }
    }
    for (k, (t, label)) in markers(sim).iter().enumerate() {
        let color = rgb(FAULT_RGB);
        chart
            .draw_series(LineSeries::new(
                vec![(*t, -0.5), (*t, rows as f64 - 0.5)],
                color.stroke_width(1),
            ))
            .map_err(err)?;
        let y = rows as f64 * (0.97 - 0.05 * (k % 4) as f64) - 0.5;
        chart
            .draw_series(std::iter::once(Text::new(
                label.clone(),
                (*t, y),
                (FONT, 12).into_font().color(&color),
            )))
            .map_err(err)?;
    }
    legend(&mut chart, SeriesLabelPosition::LowerRight, 12)?;
    root.present().map_err(err)
}

fn draw_compare<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, r: &CompareReport) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(err)?;
    let (top, bottom) = root.split_vertically(root.dim_in_pixel().1 / 2);
    let n = r.rows.len().max(1);
    let ids: Vec<String> = r.rows.iter().map(|x| x.id.clone()).collect();
    let bars =
        |area: &DrawingArea<DB, Shift>, title: &str, y_desc: &str, sets: &[BarSet]| -> DrawResult {
            let y_max = sets
                .iter()
                .flat_map(|s| s.2.iter().flatten().copied())
                .fold(1.0_f64, f64::max)
                * 1.15;
            let mut chart = ChartBuilder::on(area)
                .caption(title, (FONT, 20))
                .margin(10)
                .x_label_area_size(36)
                .y_label_area_size(56)
                .build_cartesian_2d(-0.5..(n as f64 - 0.5), 0.0..y_max)
                .map_err(err)?;
            let fmt = |x: &f64| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    ids.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            };
            chart
                .configure_mesh()
                .x_labels(n)
                .x_label_formatter(&fmt)
                .y_desc(y_desc)
                .disable_x_mesh()
                .label_style((FONT, 13))
                .draw()
                .map_err(err)?;
            let w = 0.8 / sets.len() as f64;
            for (k, (name, color, values)) in sets.iter().enumerate() {
                let c = rgb(*color);
                let off = -0.4 + w * k as f64;
                chart
                    .draw_series(values.iter().enumerate().filter_map(|(i, v)| {
                        v.map(|v| {
                            Rectangle::new(
                                [(i as f64 + off, 0.0), (i as f64 + off + w * 0.9, v)],
                                c.filled(),
                            )
                        })
                    }))
                    .map_err(err)?
                    .label(name.to_string())
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled())
                    });
            }
            legend(&mut chart, SeriesLabelPosition::UpperRight, 13)
        };
    bars(
        &top,
        &format!("{} — throughput", r.scenario),
        "Gbit/s",
        &[
            (
                "model",
                SERIES_RGB[0],
                r.rows.iter().map(|x| Some(x.throughput_gbps)).collect(),
            ),
            (
                "reference",
                SERIES_RGB[2],
                r.rows
                    .iter()
                    .map(|x| x.reference.as_ref().and_then(|f| f.throughput_gbps))
                    .collect(),
            ),
        ],
    )?;
    bars(
        &bottom,
        "CPU of the busier host",
        "CPU %",
        &[
            (
                "source CPU",
                SERIES_RGB[1],
                r.rows.iter().map(|x| Some(x.cpu_src_pct)).collect(),
            ),
            (
                "destination CPU",
                SERIES_RGB[0],
                r.rows.iter().map(|x| Some(x.cpu_dst_pct)).collect(),
            ),
            (
                "reference CPU",
                SERIES_RGB[2],
                r.rows
                    .iter()
                    .map(|x| x.reference.as_ref().and_then(|f| f.cpu_pct))
                    .collect(),
            ),
        ],
    )?;
    root.present().map_err(err)
}

/// One set of bars in a grouped bar chart: name, colour, a value per configuration.
type BarSet<'s> = (&'s str, [u8; 3], Vec<Option<f64>>);

/// What to draw.
#[derive(Debug)]
pub enum Drawing<'a> {
    Time(&'a TimeChart),
    States(&'a Simulation),
    Compare(&'a CompareReport),
}

fn draw_on<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, d: &Drawing) -> DrawResult
where
    DB::ErrorType: 'static,
{
    match d {
        Drawing::Time(c) => draw_time(&root, c),
        Drawing::States(sim) => draw_states(&root, sim),
        Drawing::Compare(r) => draw_compare(&root, r),
    }
}

/// The chart as PNG bytes of `size` pixels.
pub fn png(d: &Drawing, size: (u32, u32)) -> Result<Vec<u8>, ChartError> {
    font_ready()?;
    let (w, h) = size;
    let mut rgb_buf = vec![0u8; (w as usize) * (h as usize) * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb_buf, (w, h)).into_drawing_area();
        draw_on(root, d)?;
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let png_err = |e: png::EncodingError| ChartError::Png(e.to_string());
        let mut writer = enc.write_header().map_err(png_err)?;
        writer.write_image_data(&rgb_buf).map_err(png_err)?;
    }
    Ok(out)
}

/// The chart as an SVG document.
pub fn svg(d: &Drawing, size: (u32, u32)) -> Result<String, ChartError> {
    font_ready()?;
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, size).into_drawing_area();
        draw_on(root, d)?;
    }
    Ok(s)
}
