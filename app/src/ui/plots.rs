//! Plots on one shared time axis (linked x axes and cursor): throughput of migrations and hosts,
//! live-migration CPU per host (or per logical processor), node state bands and VM state bands;
//! every failure and repair is a labelled marker across all of them, migration phases are marked.
//! Long runs stay smooth: lines are decimated for display (min/max per bucket); the full data stays
//! in the engine for export.

use super::action::{Actions, ViewAction};
use super::state::LabState;
use super::theme::{node_color, series_color, vm_color};
use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoint, PlotUi, Polygon, Text, VLine};
use lmlab_engine::chart::{Audience, ChartLine, LineColor, LineData, LineRole, TimeChartKind};
use lmlab_engine::sim::{NodeDisplay, SeriesKey, VmState};

const MAX_POINTS: usize = 800;
const MAX_MARKERS: usize = 150;
const MAX_VM_BANDS: usize = 40;

pub fn show(ui: &mut egui::Ui, lab: &LabState, actions: &mut Actions) {
    let now = lab.sim().now().as_secs_f64();
    ui.horizontal(|ui| {
        ui.strong("Timeline");
        let mut follow = lab.clock.follow;
        if ui.checkbox(&mut follow, "Follow the present").changed() {
            actions.push(ViewAction::SetFollow(follow));
        }
        if let Some(t) = lab.clock.cursor_t {
            ui.label(format!("cursor at {t:.3} s"));
        }
    });
    let group = egui::Id::unique("lmlab-time-axis");
    let avail = ui.available_height();
    let nodes = lab.spec().hosts.len();
    let vms = lab.spec().vms.len();
    let band_rows = |n: usize| (n as f32 * 20.0 + 30.0).clamp(70.0, 240.0);
    let line_h =
        ((avail - band_rows(nodes) - band_rows(vms.min(MAX_VM_BANDS)) - 60.0) / 2.0).max(130.0);
    let window = 600.0_f64;
    let (follow, cursor) = (lab.clock.follow, lab.clock.cursor_t);
    let x_bounds = if follow {
        Some(((now - window).max(0.0), now.max(10.0) + 1.0))
    } else {
        cursor.map(|t| (t - 60.0, t + 60.0))
    };
    let markers = markers(lab, x_bounds.unwrap_or((0.0, now)));
    egui::ScrollArea::vertical()
        .id_salt("plots")
        .show(ui, |ui| {
            let base = |id: &str, h: f32| {
                Plot::new(id)
                    .height(h)
                    .link_axis(group, [true, false])
                    .link_cursor(group, [true, false])
                    .allow_scroll(false)
                    .legend(
                        Legend::default()
                            .position(egui_plot::Corner::LeftTop)
                            .background_alpha(0.5),
                    )
            };
            // Throughput and CPU: the chart description's lines, fault labels on the first.
            for (id, unit, kind, labels) in [
                ("throughput", "Gbit/s", TimeChartKind::Throughput, true),
                ("cpu", "LM CPU %", TimeChartKind::Cpu, false),
            ] {
                base(id, line_h)
                    .y_axis_label(unit)
                    .include_y(0.0)
                    .show(ui, |p| {
                        set_x(p, x_bounds, follow, cursor.is_some());
                        let from_s = x_bounds.map_or(0.0, |b| b.0);
                        let lines =
                            lmlab_engine::chart::lines(lab.sim(), kind, Audience::Window, from_s);
                        draw_lines(p, lab, &lines);
                        draw_markers(p, &markers, cursor, labels);
                    });
            }
            if lab.prefs().per_core {
                per_core(ui, lab);
            }
            // Node state bands.
            key(
                ui,
                "Nodes",
                &NodeDisplay::LEGEND.map(|d| (format!("{d:?}"), node_color(d))),
            );
            let names: Vec<String> = lab.spec().hosts.iter().map(|h| h.name.clone()).collect();
            base("nodes", band_rows(nodes))
                .show_axes([true, false])
                .show_grid([true, false])
                .include_y(-0.5)
                .include_y(nodes as f64 - 0.5)
                .show(ui, |p| {
                    set_x(p, x_bounds, follow, cursor.is_some());
                    node_bands(p, lab, now);
                    row_names(p, &names);
                    draw_markers(p, &markers, cursor, false);
                });
            // VM state bands (or counts for large labs).
            if vms <= MAX_VM_BANDS {
                key(
                    ui,
                    "VMs",
                    &VmState::LEGEND.map(|s| (format!("{s:?}"), vm_color(s))),
                );
                let names: Vec<String> = lab.spec().vms.iter().map(|v| v.name.clone()).collect();
                base("vms", band_rows(vms))
                    .show_axes([true, false])
                    .show_grid([true, false])
                    .include_y(-0.5)
                    .include_y(vms as f64 - 0.5)
                    .show(ui, |p| {
                        set_x(p, x_bounds, follow, cursor.is_some());
                        vm_bands(p, lab, now);
                        row_names(p, &names);
                        draw_markers(p, &markers, cursor, false);
                    });
            } else {
                base("vms", band_rows(MAX_VM_BANDS))
                    .y_axis_label("VMs")
                    .include_y(0.0)
                    .show(ui, |p| {
                        set_x(p, x_bounds, follow, cursor.is_some());
                        vm_counts(p, lab);
                        draw_markers(p, &markers, cursor, false);
                    });
            }
        });
}

fn set_x(p: &mut PlotUi, bounds: Option<(f64, f64)>, follow: bool, has_cursor: bool) {
    if let Some((a, b)) = bounds
        && (follow || has_cursor)
    {
        p.set_plot_bounds_x(a..=b);
    }
}

/// A colour key above a band plot.
fn key(ui: &mut egui::Ui, title: &str, entries: &[(String, egui::Color32)]) {
    ui.horizontal(|ui| {
        ui.label(egui::RichText::new(title).strong());
        for (name, color) in entries {
            let (r, _) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
            ui.painter().rect_filled(r, 2.0, *color);
            ui.label(name);
        }
    });
}

/// Row names drawn inside the plot at its left edge, so they stay visible when zooming.
fn row_names(p: &mut PlotUi, names: &[String]) {
    let x0 = p.plot_bounds().min()[0];
    for (i, n) in names.iter().enumerate() {
        p.text(
            Text::new(
                "",
                PlotPoint::new(x0, i as f64),
                egui::RichText::new(n).strong(),
            )
            .color(egui::Color32::WHITE)
            .anchor(egui::Align2::LEFT_CENTER),
        );
    }
}

/// Min/max per bucket so a long series keeps its peaks with a bounded number of points.
pub fn decimate(t: &[f64], v: &[f64], max: usize) -> Vec<[f64; 2]> {
    let n = t.len().min(v.len());
    if n <= max {
        return (0..n).map(|i| [t[i], v[i]]).collect();
    }
    let buckets = max / 2;
    let per = n.div_ceil(buckets);
    let mut out = Vec::with_capacity(buckets * 2);
    for b in (0..n).step_by(per) {
        let end = (b + per).min(n);
        let (mut lo, mut hi) = (b, b);
        for i in b..end {
            if v[i] < v[lo] {
                lo = i;
            }
            if v[i] > v[hi] {
                hi = i;
            }
        }
        let (first, second) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        out.push([t[first], v[first]]);
        if second != first {
            out.push([t[second], v[second]]);
        }
    }
    out
}

/// Draws the chart description's lines in the window's styles.
fn draw_lines(p: &mut PlotUi, lab: &LabState, lines: &[ChartLine<'_>]) {
    let t = &lab.sim().series().t_s;
    for l in lines {
        let pts = match &l.data {
            LineData::Sampled(v) => decimate(t, v, MAX_POINTS),
            LineData::Points(pts) => pts.clone(),
        };
        let color = match l.color {
            LineColor::Palette(i) => series_color(i),
            LineColor::Grey => egui::Color32::GRAY,
        };
        let line = Line::new(l.label.clone(), pts).color(color);
        p.line(match l.role {
            LineRole::Total | LineRole::AverageCpu => line.width(2.0),
            LineRole::NicReceive | LineRole::HostReceive => line.style(LineStyle::dashed_dense()),
            LineRole::NicSend => line.style(LineStyle::dotted_dense()),
            LineRole::Migration => line.width(1.2).allow_band(false),
            LineRole::HostCpu => line,
        });
    }
}

fn per_core(ui: &mut egui::Ui, lab: &LabState) {
    ui.label("Live-migration CPU per logical processor, now:");
    for (h, host) in lab.spec().hosts.iter().enumerate() {
        let lps = lab.sim().lm_cpu_per_lp(h);
        if lps.iter().all(|&x| x <= 0.0) {
            continue;
        }
        let bars: Vec<egui_plot::Bar> = lps
            .iter()
            .enumerate()
            .map(|(i, &v)| egui_plot::Bar::new(i as f64, v).width(0.8))
            .collect();
        Plot::new(("lp", h))
            .height(80.0)
            .include_y(0.0)
            .include_y(100.0)
            .allow_scroll(false)
            .show(ui, |p| {
                p.bar_chart(
                    egui_plot::BarChart::new(format!("{} per LP", host.name), bars)
                        .color(series_color(h)),
                );
            });
    }
}

fn band(p: &mut PlotUi, row: f64, a: f64, b: f64, color: egui::Color32) {
    if b <= a {
        return;
    }
    let pts = vec![
        [a, row - 0.38],
        [b, row - 0.38],
        [b, row + 0.38],
        [a, row + 0.38],
    ];
    p.polygon(
        Polygon::new("", pts)
            .fill_color(color)
            .stroke(egui::Stroke::NONE)
            .allow_hover(false),
    );
}

fn node_bands(p: &mut PlotUi, lab: &LabState, now: f64) {
    for (i, tl) in lab.sim().node_timeline().iter().enumerate() {
        let row = i as f64;
        for (k, (t, d)) in tl.iter().enumerate() {
            let end = tl.get(k + 1).map_or(now, |n| n.0.as_secs_f64());
            band(p, row, t.as_secs_f64(), end, node_color(*d));
        }
    }
}

fn vm_bands(p: &mut PlotUi, lab: &LabState, now: f64) {
    for (i, tl) in lab.sim().vm_timeline().iter().enumerate() {
        let row = i as f64;
        for (k, (t, s)) in tl.iter().enumerate() {
            let end = tl.get(k + 1).map_or(now, |n| n.0.as_secs_f64());
            band(p, row, t.as_secs_f64(), end, vm_color(*s));
        }
    }
}

fn vm_counts(p: &mut PlotUi, lab: &LabState) {
    let s = lab.sim().series();
    let running = s.sum_of(
        lab.spec()
            .hosts
            .iter()
            .map(|h| SeriesKey::VmsRunning { host: &h.name }),
    );
    p.line(
        Line::new("VMs running", decimate(&s.t_s, &running, MAX_POINTS))
            .color(vm_color(VmState::Running)),
    );
}

/// Faults, repairs and switch-overs inside the visible window: (time, label, is fault or repair).
fn markers(lab: &LabState, window: (f64, f64)) -> Vec<(f64, String, bool)> {
    let events = lab.sim().events();
    let from = events.partition_point(|e| e.t.as_secs_f64() < window.0);
    let mut out: Vec<(f64, String, bool)> = events[from..]
        .iter()
        .take_while(|e| e.t.as_secs_f64() <= window.1)
        .filter(|e| e.mark.is_fault_or_repair() || e.mark.is_precopy_step())
        .map(|e| {
            let label: String = e.detail.chars().take(28).collect();
            (e.t.as_secs_f64(), label, e.mark.is_fault_or_repair())
        })
        .collect();
    if out.len() > MAX_MARKERS {
        // Keep every fault and repair first, then as many phase marks as fit.
        out.sort_by_key(|m| !m.2);
        out.truncate(MAX_MARKERS);
    }
    out
}

fn draw_markers(
    p: &mut PlotUi,
    markers: &[(f64, String, bool)],
    cursor: Option<f64>,
    labels: bool,
) {
    let top = p.plot_bounds().max()[1];
    for (k, (t, label, fault)) in markers.iter().enumerate() {
        let color = if *fault {
            egui::Color32::from_rgb(220, 60, 60)
        } else {
            egui::Color32::from_gray(150)
        };
        p.vline(
            VLine::new("", *t)
                .color(color)
                .style(if *fault {
                    LineStyle::Solid
                } else {
                    LineStyle::dotted_dense()
                })
                .width(1.0),
        );
        if labels && *fault {
            p.text(
                Text::new(
                    "",
                    PlotPoint::new(*t, top * (0.95 - 0.08 * (k % 4) as f64)),
                    label.clone(),
                )
                .color(color)
                .anchor(egui::Align2::LEFT_TOP),
            );
        }
    }
    if let Some(t) = cursor {
        p.vline(
            VLine::new("", t)
                .color(egui::Color32::from_rgb(255, 200, 0))
                .width(2.0),
        );
    }
}
