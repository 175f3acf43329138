//! Time charts for reports: throughput and live-migration CPU (the lines of the window's chart
//! description, [`crate::chart::lines`]) and the node and VM state timeline. Each has its title,
//! a key of its lines above the plot (never over the data), one time axis in h:mm:ss, numbered
//! markers for faults and repairs and lettered ones for captions, with their texts in a key
//! under the chart.

use super::axis::{Marker, MarkerKind, TimeWindow, clock_label, markers, stagger, ticks};
use super::{
    CAPTION_RGB, Chart, ChartError, DrawResult, FAULT_RGB, GREY_RGB, Px, REPAIR_RGB, SERIES_RGB,
    err, node_rgb, rgb, vm_rgb,
};
use crate::chart::{Audience, LineColor, LineRole, TimeChartKind, lines};
use crate::sim::{NodeDisplay, Simulation, VmState};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// How a line is drawn: its colour and whether dashed (so lines differ in greyscale too).
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesLine {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub color: [u8; 3],
    pub dashed: bool,
    pub width: f64,
    /// A dot at every point: a measured series (PerfMon, `lmlab real`) beside the model's lines.
    pub dots: bool,
}

/// The lines and markers of a time chart, taken from a run.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeChart {
    pub title: String,
    pub y_label: String,
    pub lines: Vec<SeriesLine>,
    pub markers: Vec<Marker>,
    pub window: TimeWindow,
}

/// The data of a time chart (throughput or CPU) of a run over `window`.
pub fn time_chart(sim: &Simulation, chart: Chart, window: TimeWindow) -> TimeChart {
    time_chart_with(sim, chart, window, &[])
}

/// [`time_chart`] with measured runs drawn beside the model's lines (from where the model's
/// migration of each run's VM starts; [`crate::chart::measured_lines`]).
pub fn time_chart_with(
    sim: &Simulation,
    chart: Chart,
    window: TimeWindow,
    measured: &[crate::measured::MeasuredRun],
) -> TimeChart {
    let spec = &sim.scenario().spec;
    let (kind, title, y_label) = match chart {
        Chart::Cpu => (TimeChartKind::Cpu, "live-migration CPU per host", "CPU %"),
        _ => (
            TimeChartKind::Throughput,
            "live-migration throughput",
            "Gbit/s",
        ),
    };
    let mut all = lines(sim, kind, Audience::Report, window.from_s);
    let m = crate::chart::measured_lines(sim, kind, measured);
    all.extend(m);
    let lines = all
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let (dashed, width) = match l.role {
                LineRole::Total => (false, 3.0),
                LineRole::HostReceive | LineRole::NicReceive | LineRole::AverageCpu => (true, 2.0),
                LineRole::NicSend => (true, 1.5),
                // Every other host dashed: two hosts with the same CPU (both ends of an RDMA
                // migration) then show both colours instead of one line hiding the other.
                LineRole::HostCpu => (i % 2 == 1, 2.0),
                LineRole::Migration => (false, 2.0),
                LineRole::Measured => (false, 1.5),
            };
            SeriesLine {
                points: clip(&l.points(sim.series()), window.from_s, window.to_s),
                color: match l.color {
                    LineColor::Palette(i) => SERIES_RGB[i % SERIES_RGB.len()],
                    LineColor::Grey => GREY_RGB,
                },
                dashed,
                width,
                dots: l.role == LineRole::Measured,
                name: l.label,
            }
        })
        .collect();
    TimeChart {
        title: format!("{}: {}", spec.name, title),
        y_label: y_label.into(),
        lines,
        markers: markers(sim, window),
        window,
    }
}

type Plot<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A key entry: a line (solid or dashed) or a filled swatch.
pub(super) enum KeyMark {
    Line {
        color: [u8; 3],
        dashed: bool,
    },
    Fill([u8; 3]),
    Diamond([u8; 3]),
    /// A thin line with dots: a measured series.
    Dots([u8; 3]),
}

/// The parts of a time chart's page: title, key of lines, plot, marker key.
struct Page {
    title_h: f64,
    key_h: f64,
    markers_h: f64,
}

/// Rows of the marker key at most (more are counted, and events.csv has them all).
const MAX_KEY_ROWS: usize = 8;

/// The part of a polyline (points in time order) inside `from..=to`, cut exactly at the edges.
pub(super) fn clip(points: &[(f64, f64)], from: f64, to: f64) -> Vec<(f64, f64)> {
    let lerp =
        |p: (f64, f64), q: (f64, f64), t: f64| (t, p.1 + (q.1 - p.1) * (t - p.0) / (q.0 - p.0));
    let mut out: Vec<(f64, f64)> = Vec::new();
    if let [p] = points {
        if p.0 >= from && p.0 <= to {
            out.push(*p);
        }
        return out;
    }
    for w in points.windows(2) {
        let (p, q) = (w[0], w[1]);
        if q.0 < from || p.0 > to {
            continue;
        }
        let a = if p.0 < from { lerp(p, q, from) } else { p };
        let b = if q.0 > to { lerp(p, q, to) } else { q };
        if out.last() != Some(&a) {
            out.push(a);
        }
        out.push(b);
    }
    out
}

fn marker_cols(width: f64) -> usize {
    if width >= 1400.0 { 3 } else { 2 }
}

fn marker_rows(n: usize, cols: usize) -> usize {
    n.div_ceil(cols).min(MAX_KEY_ROWS)
}

fn page<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    px: Px,
    keys: &[(String, KeyMark)],
    n_markers: usize,
) -> Page {
    let w = f64::from(root.dim_in_pixel().0) / px.0;
    let key_rows = key_rows(root, px, keys, w);
    let cols = marker_cols(w);
    let rows = marker_rows(n_markers, cols);
    Page {
        title_h: 44.0,
        key_h: key_rows as f64 * 22.0 + 4.0,
        markers_h: if rows == 0 {
            0.0
        } else {
            rows as f64 * 19.0 + 14.0
        },
    }
}

/// How many rows the key of lines needs across `w`.
fn key_rows<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    px: Px,
    keys: &[(String, KeyMark)],
    w: f64,
) -> usize {
    let (mut x, mut rows) = (f64::INFINITY, 0);
    for (name, _) in keys {
        let need = 34.0 + text_w(root, px, name, 14.0);
        if x + need > w - 32.0 {
            rows += 1;
            x = 16.0;
        }
        x += need;
    }
    rows
}

/// A text's width in logical pixels.
fn text_w<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, px: Px, text: &str, size: f64) -> f64 {
    root.estimate_text_size(text, &TextStyle::from(px.font(size)))
        .map_or(text.len() as f64 * size * 0.5, |s| f64::from(s.0) / px.0)
}

/// Draws `text` at logical (x, y) on `root` with an anchor.
pub(super) fn put<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    px: Px,
    text: &str,
    at: (f64, f64),
    size: f64,
    color: [u8; 3],
    pos: (HPos, VPos),
) -> DrawResult {
    let style = px.font(size).color(&rgb(color)).pos(Pos::new(pos.0, pos.1));
    root.draw(&Text::new(
        text.to_string(),
        (px.i(at.0), px.i(at.1)),
        style,
    ))
    .map_err(err)
}

/// The title, centred at the top.
pub(super) fn title<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    px: Px,
    text: &str,
) -> DrawResult {
    let w = f64::from(root.dim_in_pixel().0) / px.0;
    put(
        root,
        px,
        text,
        (w / 2.0, 12.0),
        24.0,
        [20, 20, 20],
        (HPos::Center, VPos::Top),
    )
}

/// The key of lines or states, wrapped in rows from `top`.
pub(super) fn key<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    px: Px,
    keys: &[(String, KeyMark)],
    top: f64,
) -> DrawResult {
    let w = f64::from(root.dim_in_pixel().0) / px.0;
    let (mut x, mut y) = (f64::INFINITY, top - 22.0);
    for (name, mark) in keys {
        let need = 34.0 + text_w(root, px, name, 14.0);
        if x + need > w - 32.0 {
            x = 16.0;
            y += 22.0;
        }
        let mid = y + 11.0;
        match mark {
            KeyMark::Line { color, dashed } => {
                let c = rgb(*color).stroke_width(px.u(3.0));
                let segs: &[(f64, f64)] = if *dashed {
                    &[(0.0, 7.0), (11.0, 18.0), (22.0, 26.0)]
                } else {
                    &[(0.0, 26.0)]
                };
                for (a, b) in segs {
                    root.draw(&PathElement::new(
                        vec![(px.i(x + a), px.i(mid)), (px.i(x + b), px.i(mid))],
                        c,
                    ))
                    .map_err(err)?;
                }
            }
            KeyMark::Dots(color) => {
                root.draw(&PathElement::new(
                    vec![(px.i(x), px.i(mid)), (px.i(x + 26.0), px.i(mid))],
                    rgb(*color).stroke_width(px.u(1.5)),
                ))
                .map_err(err)?;
                for dx in [4.0, 13.0, 22.0] {
                    root.draw(&Circle::new(
                        (px.i(x + dx), px.i(mid)),
                        px.i(3.5),
                        rgb(*color).filled(),
                    ))
                    .map_err(err)?;
                }
            }
            KeyMark::Diamond(color) => {
                let (cx, r) = (x + 13.0, 7.0);
                let pts = [(cx, mid - r), (cx + r, mid), (cx, mid + r), (cx - r, mid)];
                root.draw(&Polygon::new(
                    pts.map(|(a, b)| (px.i(a), px.i(b))).to_vec(),
                    rgb(*color).filled(),
                ))
                .map_err(err)?;
            }
            KeyMark::Fill(color) => {
                root.draw(&Rectangle::new(
                    [
                        (px.i(x + 4.0), px.i(mid - 7.0)),
                        (px.i(x + 22.0), px.i(mid + 7.0)),
                    ],
                    rgb(*color).filled(),
                ))
                .map_err(err)?;
            }
        }
        put(
            root,
            px,
            name,
            (x + 32.0, mid),
            14.0,
            [30, 30, 30],
            (HPos::Left, VPos::Center),
        )?;
        x += need;
    }
    Ok(())
}

fn marker_rgb(kind: MarkerKind) -> [u8; 3] {
    match kind {
        MarkerKind::Fault => FAULT_RGB,
        MarkerKind::Repair => REPAIR_RGB,
        MarkerKind::Caption => CAPTION_RGB,
    }
}

/// The time axis (gridlines and h:mm:ss labels) and the markers with their tags, on a plot.
fn time_axis_and_markers<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    plot: &Plot<'_, DB>,
    px: Px,
    w: TimeWindow,
    ms: &[Marker],
    y: (f64, f64),
) -> DrawResult {
    let (step, ts) = ticks(w, 10);
    let to_px = |t: f64, v: f64| {
        let (x, y) = plot.backend_coord(&(t, v));
        (f64::from(x) / px.0, f64::from(y) / px.0)
    };
    for t in ts {
        let (x0, y0) = to_px(t, y.0);
        let (_, y1) = to_px(t, y.1);
        root.draw(&PathElement::new(
            vec![(px.i(x0), px.i(y0)), (px.i(x0), px.i(y1))],
            RGBColor(215, 215, 215).stroke_width(px.u(1.0)),
        ))
        .map_err(err)?;
        put(
            root,
            px,
            &clock_label(t, step),
            (x0, y0 + 8.0),
            14.0,
            [40, 40, 40],
            (HPos::Center, VPos::Top),
        )?;
    }
    let xs: Vec<f64> = ms.iter().map(|m| to_px(m.t_s, y.0).0).collect();
    let rows = stagger(&xs, 26.0, 3);
    // Lines first (light, behind the data), then the tags above the plot, so no line crosses a
    // tag.
    for (m, x) in ms.iter().zip(&xs) {
        let (_, y0) = to_px(m.t_s, y.0);
        let (_, y1) = to_px(m.t_s, y.1);
        let color = rgb(marker_rgb(m.kind)).mix(0.6);
        root.draw(&PathElement::new(
            vec![(px.i(*x), px.i(y0)), (px.i(*x), px.i(y1))],
            color.stroke_width(px.u(1.0)),
        ))
        .map_err(err)?;
    }
    for ((m, x), row) in ms.iter().zip(&xs).zip(rows) {
        let (_, y1) = to_px(m.t_s, y.1);
        let cy = y1 - 14.0 - row as f64 * 24.0;
        let color = rgb(marker_rgb(m.kind));
        root.draw(&PathElement::new(
            vec![(px.i(*x), px.i(cy)), (px.i(*x), px.i(y1))],
            color.stroke_width(px.u(1.0)),
        ))
        .map_err(err)?;
        root.draw(&Rectangle::new(
            [
                (px.i(x - 11.0), px.i(cy - 10.0)),
                (px.i(x + 11.0), px.i(cy + 10.0)),
            ],
            color.filled(),
        ))
        .map_err(err)?;
        put(
            root,
            px,
            &m.tag,
            (*x, cy),
            14.0,
            [255, 255, 255],
            (HPos::Center, VPos::Center),
        )?;
    }
    Ok(())
}

/// The marker key under the chart: tag, time and text of each, in columns.
fn marker_key<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    px: Px,
    ms: &[Marker],
    top: f64,
) -> DrawResult {
    let w = f64::from(root.dim_in_pixel().0) / px.0;
    let cols = marker_cols(w);
    let rows = marker_rows(ms.len(), cols);
    if rows == 0 {
        return Ok(());
    }
    let col_w = (w - 32.0) / cols as f64;
    let shown = (rows * cols).min(ms.len());
    // With more markers than room, the last place says how many more there are.
    let cut = shown < ms.len();
    for (k, m) in ms.iter().take(shown).enumerate() {
        let (c, r) = (k / rows, k % rows);
        let (x, y) = (16.0 + c as f64 * col_w, top + 8.0 + r as f64 * 19.0);
        if cut && k == shown - 1 {
            let more = ms.len() - shown + 1;
            let note = format!("… and {more} more (all in events.csv)");
            put(
                root,
                px,
                &note,
                (x, y),
                13.0,
                [90, 90, 90],
                (HPos::Left, VPos::Top),
            )?;
            break;
        }
        let color = marker_rgb(m.kind);
        put(
            root,
            px,
            &m.tag,
            (x + 10.0, y),
            13.0,
            color,
            (HPos::Center, VPos::Top),
        )?;
        let text = format!("{}  {}", clock_label(m.t_s, 1.0), m.text);
        let fitted = fit(root, px, &text, 13.0, col_w - 34.0);
        put(
            root,
            px,
            &fitted,
            (x + 26.0, y),
            13.0,
            [30, 30, 30],
            (HPos::Left, VPos::Top),
        )?;
    }
    Ok(())
}

/// `text` shortened with "…" to fit `max_w` logical pixels.
fn fit<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    px: Px,
    text: &str,
    size: f64,
    max_w: f64,
) -> String {
    if text_w(root, px, text, size) <= max_w {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let (mut lo, mut hi) = (0, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let s: String = chars[..mid].iter().collect::<String>() + "…";
        if text_w(root, px, &s, size) <= max_w {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    chars[..lo].iter().collect::<String>() + "…"
}

/// The part of `root` between the keys, where the plot goes.
fn plot_area<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    px: Px,
    p: &Page,
) -> DrawingArea<DB, Shift> {
    let top = p.title_h + p.key_h;
    root.margin(px.u(top), px.u(p.markers_h), px.u(8.0), px.u(28.0))
}

/// The plot in `area`: room for the marker tags above it, the time axis under it and a y axis
/// `y_area` wide.
fn build_plot<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    px: Px,
    y_area: f64,
    x: (f64, f64),
    y: (f64, f64),
) -> Result<Plot<'a, DB>, ChartError> {
    ChartBuilder::on(area)
        .margin_top(px.u(76.0))
        .x_label_area_size(px.u(34.0))
        .y_label_area_size(px.u(y_area))
        .build_cartesian_2d(x.0..x.1, y.0..y.1)
        .map_err(err)
}

pub(super) fn draw_time<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    px: Px,
    c: &TimeChart,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(err)?;
    let w = c.window;
    let y_max = c
        .lines
        .iter()
        .flat_map(|l| l.points.iter().filter(|p| w.contains(p.0)).map(|p| p.1))
        .fold(0.0_f64, f64::max)
        .max(1.0)
        * 1.08;
    let keys: Vec<(String, KeyMark)> = c
        .lines
        .iter()
        .map(|l| {
            let mark = if l.dots {
                KeyMark::Dots(l.color)
            } else {
                KeyMark::Line {
                    color: l.color,
                    dashed: l.dashed,
                }
            };
            (l.name.clone(), mark)
        })
        .collect();
    let p = page(root, px, &keys, c.markers.len());
    title(root, px, &c.title)?;
    key(root, px, &keys, p.title_h)?;
    let area = plot_area(root, px, &p);
    let mut plot = build_plot(&area, px, 70.0, (w.from_s, w.to_s), (0.0, y_max))?;
    plot.configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc(c.y_label.as_str())
        .axis_desc_style(px.font(16.0))
        .label_style(px.font(14.0))
        .max_light_lines(1)
        .light_line_style(RGBColor(242, 242, 242))
        .draw()
        .map_err(err)?;
    time_axis_and_markers(root, &plot, px, w, &c.markers, (0.0, y_max))?;
    for l in &c.lines {
        let style = rgb(l.color).stroke_width(px.u(l.width));
        let pts = l.points.iter().copied();
        if l.dashed {
            plot.draw_series(DashedLineSeries::new(pts, px.i(9.0), px.i(5.0), style))
                .map_err(err)?;
        } else {
            plot.draw_series(LineSeries::new(pts, style)).map_err(err)?;
        }
        if l.dots {
            let dot = rgb(l.color).filled();
            plot.draw_series(
                l.points
                    .iter()
                    .filter(|p| w.contains(p.0))
                    .map(|p| Circle::new(*p, px.i(3.5), dot)),
            )
            .map_err(err)?;
        }
    }
    let h = f64::from(root.dim_in_pixel().1) / px.0;
    marker_key(root, px, &c.markers, h - p.markers_h)?;
    root.present().map_err(err)
}

/// The state timeline: a row per node and (up to 40) VM, the same axis and markers.
pub(super) fn draw_states<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    px: Px,
    sim: &Simulation,
    w: TimeWindow,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(err)?;
    let spec = &sim.scenario().spec;
    let vm_rows = if spec.vms.len() <= 40 {
        spec.vms.len()
    } else {
        0
    };
    // The backup lane (labs with backup sets only) sits between the nodes and the VMs.
    let lane = crate::chart::backup_lane(sim);
    let rows = spec.hosts.len() + lane.rows.len() + vm_rows;
    let names: Vec<String> = spec
        .hosts
        .iter()
        .map(|h| h.name.clone())
        .chain(lane.rows.iter().cloned())
        .chain(spec.vms.iter().take(vm_rows).map(|v| v.name.clone()))
        .collect();
    let mut keys = state_keys(sim, vm_rows > 0);
    if !lane.is_empty() {
        keys.extend(lane_keys());
    }
    if sim.has_backup_or_is_data() && vm_rows > 0 {
        for s in crate::sim::IsSummary::LEGEND {
            if sim
                .is_timeline()
                .iter()
                .any(|tl| tl.iter().any(|x| x.1 == s))
            {
                keys.push((s.label().to_string(), KeyMark::Fill(super::is_rgb(s))));
            }
        }
    }
    let ms = markers(sim, w);
    let p = page(root, px, &keys, ms.len());
    title(root, px, &format!("{}: node and VM states", spec.name))?;
    key(root, px, &keys, p.title_h)?;
    let y = (-0.5, rows.max(1) as f64 - 0.5);
    let area = plot_area(root, px, &p);
    let mut plot = build_plot(&area, px, 110.0, (w.from_s, w.to_s), y)?;
    let label = |v: &f64| {
        let i = v.round();
        // Top row first: nodes at the top, then the VMs.
        let k = rows as f64 - 1.0 - i;
        if (v - i).abs() < 1e-6 && k >= 0.0 {
            names.get(k as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    plot.configure_mesh()
        .disable_x_mesh()
        .disable_y_mesh()
        .x_labels(0)
        .y_labels(rows.max(1))
        .y_label_formatter(&label)
        .label_style(px.font(14.0))
        .draw()
        .map_err(err)?;
    time_axis_and_markers(root, &plot, px, w, &ms, y)?;
    let now = sim.now();
    let row_of = |k: usize| rows as f64 - 1.0 - k as f64;
    for (i, tl) in sim.node_timeline().iter().enumerate() {
        bands(&mut plot, row_of(i), tl, now, w, |d| node_rgb(*d))?;
    }
    let first_vm = spec.hosts.len() + lane.rows.len();
    for (i, tl) in sim.vm_timeline().iter().enumerate().take(vm_rows) {
        bands(&mut plot, row_of(first_vm + i), tl, now, w, |s| vm_rgb(*s))?;
    }
    lane_bands(&mut plot, &lane, |r| row_of(spec.hosts.len() + r), w)?;
    if sim.has_backup_or_is_data() {
        for (i, tl) in sim.is_timeline().iter().enumerate().take(vm_rows) {
            is_strips(&mut plot, row_of(first_vm + i), tl, now, w)?;
        }
    }
    let h = f64::from(root.dim_in_pixel().1) / px.0;
    marker_key(root, px, &ms, h - p.markers_h)?;
    root.present().map_err(err)
}

/// The backup lane's key: job outcomes, a third-party requester, the markers.
fn lane_keys() -> Vec<(String, KeyMark)> {
    use crate::chart::LaneBand;
    use crate::sim::JobOutcome;
    [
        (
            "backup succeeded",
            LaneBand::Job(Some(JobOutcome::Succeeded)),
        ),
        ("backup failed", LaneBand::Job(Some(JobOutcome::Failed))),
        ("third-party VSS", LaneBand::ThirdParty),
    ]
    .into_iter()
    .map(|(n, b)| (n.to_string(), KeyMark::Fill(super::backup_rgb(b))))
    .chain([
        ("VSS conflict".to_string(), KeyMark::Diamond(LANE_CONFLICT)),
        ("retry".to_string(), KeyMark::Diamond(LANE_RETRY)),
    ])
    .collect()
}

const LANE_CONFLICT: [u8; 3] = [220, 60, 60];
const LANE_RETRY: [u8; 3] = [190, 170, 40];

/// The backup lane's bands (at least 1/400 of the window wide, so a 20-second job shows on a
/// night's axis) and its markers as diamonds.
fn lane_bands<DB: DrawingBackend>(
    plot: &mut Plot<'_, DB>,
    lane: &crate::chart::BackupLane,
    row_of: impl Fn(usize) -> f64,
    w: TimeWindow,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let min_w = (w.to_s - w.from_s) / 400.0;
    for &(r, a, z, what) in &lane.bands {
        let (a, b) = (a.max(w.from_s), z.max(a + min_w).min(w.to_s));
        if b <= a {
            continue;
        }
        let row = row_of(r);
        plot.draw_series(std::iter::once(Rectangle::new(
            [(a, row - 0.36), (b, row + 0.36)],
            rgb(super::backup_rgb(what)).filled(),
        )))
        .map_err(err)?;
    }
    for &(r, t, what) in &lane.marks {
        if t < w.from_s || t > w.to_s {
            continue;
        }
        let color = match what {
            crate::chart::LaneMark::VssConflict => LANE_CONFLICT,
            crate::chart::LaneMark::Retry => LANE_RETRY,
            crate::chart::LaneMark::Discarded => [140, 140, 140],
        };
        let (row, dx) = (row_of(r), min_w);
        let diamond = vec![
            (t - dx, row),
            (t, row + 0.42),
            (t + dx, row),
            (t, row - 0.42),
        ];
        plot.draw_series(std::iter::once(Polygon::new(diamond, rgb(color).filled())))
            .map_err(err)?;
    }
    Ok(())
}

/// A VM's Integration Services summary as a strip over the upper part of its state band (up to
/// date is not drawn).
fn is_strips<DB: DrawingBackend>(
    plot: &mut Plot<'_, DB>,
    row: f64,
    timeline: &[(crate::time::SimTime, crate::sim::IsSummary)],
    now: crate::time::SimTime,
    w: TimeWindow,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    for (k, (t, s)) in timeline.iter().enumerate() {
        if *s == crate::sim::IsSummary::UpToDate {
            continue;
        }
        let end = timeline.get(k + 1).map_or(now, |n| n.0).as_secs_f64();
        let (a, b) = (t.as_secs_f64().max(w.from_s), end.min(w.to_s));
        if b <= a {
            continue;
        }
        plot.draw_series(std::iter::once(Rectangle::new(
            [(a, row + 0.12), (b, row + 0.36)],
            rgb(super::is_rgb(*s)).filled(),
        )))
        .map_err(err)?;
    }
    Ok(())
}

/// The key of the states that appear in the run.
fn state_keys(sim: &Simulation, vms: bool) -> Vec<(String, KeyMark)> {
    let mut keys = Vec::new();
    for d in NodeDisplay::LEGEND {
        if sim
            .node_timeline()
            .iter()
            .any(|tl| tl.iter().any(|x| x.1 == d))
        {
            keys.push((format!("node {d:?}"), KeyMark::Fill(node_rgb(d))));
        }
    }
    for s in VmState::LEGEND {
        if vms
            && sim
                .vm_timeline()
                .iter()
                .any(|tl| tl.iter().any(|x| x.1 == s))
        {
            keys.push((format!("VM {s:?}"), KeyMark::Fill(vm_rgb(s))));
        }
    }
    keys
}

/// One row of state bands: each state from its start to the next change (or `now`), clipped
/// to the window.
fn bands<DB: DrawingBackend, S>(
    plot: &mut Plot<'_, DB>,
    row: f64,
    timeline: &[(crate::time::SimTime, S)],
    now: crate::time::SimTime,
    w: TimeWindow,
    color: impl Fn(&S) -> [u8; 3],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    for (k, (t, state)) in timeline.iter().enumerate() {
        let end = timeline.get(k + 1).map_or(now, |n| n.0).as_secs_f64();
        let (a, b) = (t.as_secs_f64().max(w.from_s), end.min(w.to_s));
        if b <= a {
            continue;
        }
        plot.draw_series(std::iter::once(Rectangle::new(
            [(a, row - 0.36), (b, row + 0.36)],
            rgb(color(state)).filled(),
        )))
        .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_cut_exactly_at_the_window_edges() {
        let line = [(0.0, 0.0), (10.0, 10.0), (20.0, 10.0), (30.0, 0.0)];
        assert_eq!(
            clip(&line, 5.0, 25.0),
            [(5.0, 5.0), (10.0, 10.0), (20.0, 10.0), (25.0, 5.0)]
        );
        // A flat stretch whose corners are both outside the window still crosses it.
        assert_eq!(clip(&line, 12.0, 18.0), [(12.0, 10.0), (18.0, 10.0)]);
        assert!(clip(&line, 31.0, 40.0).is_empty());
        assert_eq!(clip(&[(3.0, 1.0)], 0.0, 5.0), [(3.0, 1.0)]);
    }
}
