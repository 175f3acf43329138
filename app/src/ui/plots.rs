//! Plots on one time axis (one range set on every plot each frame, one cursor): throughput of
//! migrations and hosts,
//! live-migration CPU per host (or per logical processor), node state bands and VM state bands;
//! every failure and repair is a labelled marker across all of them, migration phases are marked.
//! Long runs stay smooth: lines are decimated for display (min/max per bucket); the full data stays
//! in the engine for export.

use super::action::{Actions, ViewAction};
use super::state::LabState;
use super::theme::{backup_color, is_color, node_color, series_color, text_on, vm_color};
use egui_plot::{Line, LineStyle, Plot, PlotPoint, PlotUi, Polygon, Text, VLine};
use lmlab_engine::chart::{Audience, ChartLine, LineColor, LineData, LineRole, TimeChartKind};
use lmlab_engine::sim::{NodeDisplay, SeriesKey, VmState};
use lmlab_engine::{SimDuration, SimTime};

const MAX_POINTS: usize = 800;
const MAX_MARKERS: usize = 150;
/// Rows of fault labels at the top of the throughput plot.
const LABEL_ROWS: usize = 4;
const MAX_VM_BANDS: usize = 40;

/// The timeline's own view state: the one time range every plot shows when it does not follow
/// the present, where the pointer is, and what each plot showed in the last frame.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TimelineView {
    /// The shared range (t_s from, to) while not following the present.
    range: Option<(f64, f64)>,
    /// The cursor time last centred on (a click in the log moves the range to it).
    cursor_seen: Option<f64>,
    /// Simulated time under the pointer, for the readout.
    hover_t: Option<f64>,
    /// Each time plot's x range and where it sat on screen in the last frame.
    shown: Vec<(&'static str, PlotShown)>,
    /// The lab generation this view belongs to.
    generation: u64,
    /// What is typed in the Go to field.
    go_to: String,
    /// The height the timeline took in the last frame, in points (presentation sizes the lab
    /// from it so the plots never scroll).
    used_h: Option<f32>,
}

/// What one time plot showed: its time range and the screen x of its plot area's edges.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlotShown {
    /// (t_s from, to).
    pub range: (f64, f64),
    /// (left, right) of the plot area, in points: the same in every plot, so one instant is at
    /// one x.
    pub screen_x: (f32, f32),
    /// (top, bottom) of the plot area, in points.
    pub screen_y: (f32, f32),
}

impl TimelineView {
    /// Each time plot's range and screen position in the last frame.
    pub fn shown(&self) -> &[(&'static str, PlotShown)] {
        &self.shown
    }

    /// The height the timeline needs, in points: what it took last frame, else an estimate.
    pub fn needed_h(&self, ui: &egui::Ui, lab: &LabState) -> f32 {
        self.used_h.unwrap_or_else(|| compact_height(ui, lab))
    }
}

/// Seconds shown while following the present.
const FOLLOW_WINDOW_S: f64 = 600.0;

/// The range while following: the last ten minutes, at least the first ten seconds.
fn follow_range(now: f64) -> (f64, f64) {
    let from = (now - FOLLOW_WINDOW_S).max(0.0);
    (from, run_end(from, now))
}

/// Where a range that shows the present ends: a little after it (4 % of the range, at least a
/// second), so the newest data and the last time label are not cut by the plot's edge.
fn run_end(from: f64, now: f64) -> f64 {
    let end = now.max(10.0);
    end + ((end - from) * 0.04).max(1.0)
}

/// What the user did to one plot this frame.
#[derive(Default)]
struct Gesture {
    /// The plot's new range after a zoom or pan.
    moved: Option<(f64, f64)>,
    reset: bool,
    hover_t: Option<f64>,
}

impl Gesture {
    /// Reads one plot's response: a changed x range is a zoom or pan; a double-click resets.
    fn read<R>(&mut self, r: &egui_plot::PlotResponse<R>, set: (f64, f64)) -> PlotShown {
        let b = r.transform.bounds();
        let got = (b.min()[0], b.max()[0]);
        let eps = (set.1 - set.0).abs().max(1e-9) * 1e-6;
        if (got.0 - set.0).abs() > eps || (got.1 - set.1).abs() > eps {
            self.moved.get_or_insert(got);
        }
        if r.response.double_clicked() {
            self.reset = true;
        }
        if let Some(pos) = r.response.hover_pos() {
            self.hover_t = Some(r.transform.value_from_position(pos).x);
        }
        let frame = r.transform.frame();
        PlotShown {
            range: got,
            screen_x: (frame.left(), frame.right()),
            screen_y: (frame.top(), frame.bottom()),
        }
    }
}

/// The timeline. `compact` (presentation mode) shows throughput and the state bands only, sized to
/// fit without scrolling.
pub fn show(
    ui: &mut egui::Ui,
    lab: &LabState,
    view: &mut TimelineView,
    compact: bool,
    actions: &mut Actions,
) {
    let start = ui.cursor().top();
    if view.generation != lab.doc.generation {
        *view = TimelineView {
            generation: lab.doc.generation,
            ..TimelineView::default()
        };
    }
    let now = lab.sim().now().as_secs_f64();
    let (follow, cursor) = (lab.clock.follow, lab.clock.cursor_t);
    if cursor != view.cursor_seen {
        if let Some(t) = cursor {
            view.range = Some((t - 60.0, t + 60.0));
        }
        view.cursor_seen = cursor;
    }
    if follow {
        view.range = None;
    }
    let range = view.range.unwrap_or_else(|| follow_range(now));
    // Presentation puts the follow switch and the time controls on one row, to leave room for
    // the plots.
    if compact {
        ui.horizontal(|ui| {
            follow_switch(ui, follow, cursor, actions);
            time_controls(ui, lab, &mut view.go_to, actions);
        });
    } else {
        ui.horizontal(|ui| {
            ui.strong("Timeline");
            follow_switch(ui, follow, cursor, actions);
        });
        ui.horizontal(|ui| time_controls(ui, lab, &mut view.go_to, actions));
    }
    if !compact || view.hover_t.is_some() {
        readout(ui, lab, view.hover_t, range.0);
    }
    let avail = ui.available_height();
    let mut pass = Pass {
        lab,
        range,
        now,
        cursor,
        markers: markers(lab, range),
        gesture: Gesture::default(),
        shown: Vec::new(),
        compact,
    };
    let head = ui.cursor().top() - start;
    let out = egui::ScrollArea::vertical()
        .id_salt("plots")
        .show(ui, |ui| pass.plots(ui, avail));
    view.used_h = Some(head + out.content_size.y + 2.0 * ui.spacing().item_spacing.y);
    let Pass { gesture, shown, .. } = pass;
    view.shown = shown;
    view.hover_t = gesture.hover_t;
    // One range for every plot: a double-click shows the whole run, a zoom or pan in any plot
    // moves them all; either stops following the present.
    let next = if gesture.reset {
        Some((0.0, run_end(0.0, now)))
    } else {
        gesture.moved
    };
    if let Some(r) = next {
        view.range = Some(r);
        if follow {
            actions.push(ViewAction::SetFollow(false));
        }
    }
}

/// "Follow the present", and where the cursor is.
fn follow_switch(ui: &mut egui::Ui, follow: bool, cursor: Option<f64>, actions: &mut Actions) {
    let mut f = follow;
    if ui
        .checkbox(&mut f, "Follow the present")
        .on_hover_text("Show the last ten minutes as the clock runs; wheel or drag a plot to look back, double-click for the whole run")
        .changed()
    {
        actions.push(ViewAction::SetFollow(f));
    }
    if let Some(t) = cursor {
        ui.label(format!("cursor at {}", clock_label(t)));
    }
}

/// Restart, back to the previous event or the last fault, the scrub bar over the whole run, and a
/// typed time to go to.
fn time_controls(ui: &mut egui::Ui, lab: &LabState, go_to: &mut String, actions: &mut Actions) {
    {
        if ui
            .button("Restart")
            .on_hover_text(
                "Restart: back to 0:00:00; the commands given stay and play again (Home)",
            )
            .clicked()
        {
            actions.push(ViewAction::Restart);
        }
        if ui
            .button("Back")
            .on_hover_text("Back to the previous event (←)")
            .clicked()
        {
            actions.push(ViewAction::StepBack);
        }
        if ui
            .button("Last fault")
            .on_hover_text("Back to the latest fault or repair")
            .clicked()
        {
            actions.push(ViewAction::BackToFault);
        }
        let end = lab.horizon().as_secs_f64().max(1.0);
        let mut t = lab.sim().now().as_secs_f64();
        let scrub = ui
            .add(
                egui::Slider::new(&mut t, 0.0..=end)
                    .show_value(false)
                    .custom_formatter(|v, _| clock_label(v)),
            )
            .on_hover_text("Scrub: any time of the run so far");
        if scrub.changed() {
            actions.push(ViewAction::GoTo(
                SimTime::ZERO + SimDuration::from_secs_f64(t),
            ));
        }
        let field = super::widgets::labeled(ui, "Go to", |ui| {
            ui.add(
                egui::TextEdit::singleline(go_to)
                    .hint_text("0:05:00")
                    .desired_width(70.0),
            )
        });
        let typed = super::clock::parse_time(go_to);
        if !go_to.trim().is_empty() && typed.is_none() {
            ui.colored_label(
                ui.visuals().error_fg_color,
                "write a time like 0:05:00 or 5m",
            );
        }
        if field.lost_focus()
            && ui.input(|i| i.key_pressed(egui::Key::Enter))
            && let Some(t) = typed
        {
            actions.push(ViewAction::GoTo(t));
        }
        if !lab.future().is_empty() {
            ui.label(
                egui::RichText::new(format!("{} recorded command(s) ahead", lab.future().len()))
                    .weak(),
            );
        }
    }
}

/// The node and VM state keys, for presentation mode's side column (the bands have no room for
/// them there).
pub fn state_keys(ui: &mut egui::Ui, lab: &LabState) {
    node_key(ui);
    vm_key(ui);
    if !lab.spec().backup_sets.is_empty() {
        backup_key(ui);
    }
}

fn node_key(ui: &mut egui::Ui) {
    key(
        ui,
        "Nodes",
        &NodeDisplay::LEGEND.map(|d| (format!("{d:?}"), node_color(d))),
    );
}

fn vm_key(ui: &mut egui::Ui) {
    key(
        ui,
        "VMs",
        &VmState::LEGEND.map(|s| (format!("{s:?}"), vm_color(s))),
    );
}

/// The backup lane's colour key.
fn backup_key(ui: &mut egui::Ui) {
    use lmlab_engine::chart::LaneBand;
    use lmlab_engine::sim::JobOutcome;
    let entries = [
        ("succeeded", LaneBand::Job(Some(JobOutcome::Succeeded))),
        ("failed", LaneBand::Job(Some(JobOutcome::Failed))),
        ("running", LaneBand::Job(None)),
        ("third-party VSS", LaneBand::ThirdParty),
    ]
    .map(|(n, b)| (n.to_string(), backup_color(b)));
    let is = lmlab_engine::sim::IsSummary::LEGEND.map(|s| (s.label().to_string(), is_color(s)));
    let all: Vec<(String, egui::Color32)> = entries.into_iter().chain(is).collect();
    key(ui, "Backup jobs", &all);
}

/// Job and third-party bands (at least 3 px wide, so a 20-second job shows on a night's axis),
/// and the lane's markers with their labels.
fn backup_bands(p: &mut PlotUi, lane: &lmlab_engine::chart::BackupLane) {
    let b = p.plot_bounds();
    let per_px = (b.max()[0] - b.min()[0]) / f64::from(p.response().rect.width().max(1.0));
    for &(row, a, z, what) in &lane.bands {
        band(
            p,
            row as f64,
            a,
            z.max(a + 3.0 * per_px),
            backup_color(what),
        );
    }
    for &(row, t, what) in &lane.marks {
        let y = row as f64;
        let w = 4.0 * per_px;
        let diamond = vec![[t - w, y], [t, y + 0.42], [t + w, y], [t, y - 0.42]];
        let color = match what {
            lmlab_engine::chart::LaneMark::VssConflict => egui::Color32::from_rgb(220, 60, 60),
            lmlab_engine::chart::LaneMark::Retry => egui::Color32::from_rgb(240, 228, 66),
            lmlab_engine::chart::LaneMark::Discarded => egui::Color32::GRAY,
        };
        p.polygon(
            Polygon::new("", diamond)
                .fill_color(color)
                .stroke(egui::Stroke::new(1.0, egui::Color32::BLACK))
                .allow_hover(false),
        );
        p.text(
            Text::new("", PlotPoint::new(t + 2.0 * w, y), what.label())
                .color(color)
                .anchor(egui::Align2::LEFT_CENTER),
        );
    }
}

/// Height of the throughput plot in presentation mode (lower when the backup lane needs room).
fn compact_line_h(ui: &egui::Ui, lab: &LabState) -> f32 {
    if backup_rows(lab) > 0 {
        (ui.ctx().content_rect().height() * 0.10).max(60.0)
    } else {
        (ui.ctx().content_rect().height() * 0.16).max(90.0)
    }
}

/// Height of the backup lane: thinner rows than the state bands in presentation mode.
fn lane_rows(n: usize, compact: bool) -> f32 {
    if compact {
        (n as f32 * 8.0 + 14.0).clamp(30.0, 120.0)
    } else {
        band_rows(n, false)
    }
}

/// The height presentation mode's timeline needs to show every plot without scrolling: the
/// control row, throughput, both keys and both band plots, and the one time axis.
fn compact_height(ui: &egui::Ui, lab: &LabState) -> f32 {
    let row = ui.spacing().interact_size.y + ui.spacing().item_spacing.y;
    let gap = ui.spacing().item_spacing.y;
    let nodes = lab.spec().hosts.len();
    let vms = lab.spec().vms.len().min(MAX_VM_BANDS);
    let axis = 24.0;
    // The separator and the control row (the keys are in the side column).
    let rows = 2.0 * row + 6.0;
    let backups = backup_rows(lab);
    let lane = if backups > 0 {
        lane_rows(backups, true) + gap
    } else {
        0.0
    };
    rows + compact_line_h(ui, lab)
        + band_rows(nodes, true)
        + band_rows(vms, true)
        + lane
        + axis
        + 3.0 * gap
}

/// Rows of the backup lane: one per set and per node a third-party requester used.
fn backup_rows(lab: &LabState) -> usize {
    let sets = lab.spec().backup_sets.len();
    if sets == 0 {
        return 0;
    }
    let mut nodes: Vec<usize> = lab
        .sim()
        .third_party_backups()
        .iter()
        .map(|r| r.node)
        .collect();
    nodes.sort_unstable();
    nodes.dedup();
    sets + nodes.len()
}

/// Height of a band plot with `n` rows.
fn band_rows(n: usize, compact: bool) -> f32 {
    if compact {
        (n as f32 * 11.0 + 22.0).clamp(40.0, 160.0)
    } else {
        (n as f32 * 20.0 + 30.0).clamp(70.0, 240.0)
    }
}

/// A time plot: zoom and pan on the time axis only, the time axis in h:mm:ss, the pointer's time
/// linked across plots; the shared range is set on it each frame.
fn time_plot(id: &str, h: f32) -> Plot<'_> {
    Plot::new(id)
        .height(h)
        .link_cursor(egui::Id::unique("lmlab-time-cursor"), [true, false])
        .allow_scroll(false)
        .allow_zoom([true, false])
        .allow_drag([true, false])
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
        .auto_bounds([false, true])
        .x_grid_spacer(time_grid)
        .x_axis_formatter(|m, _| clock_label(m.value))
        // One width for every plot's y axis, so one instant is at one x in all of them.
        .y_axis_min_width(Y_AXIS_W)
}

/// Width of every time plot's y axis (labels and numbers), in points.
const Y_AXIS_W: f32 = 60.0;

/// A plot of state bands, one row per node or VM (its y axis is empty but as wide as the
/// others').
fn band_plot(id: &str, rows: usize, compact: bool) -> Plot<'_> {
    time_plot(id, band_rows(rows, compact))
        .y_axis_formatter(|_, _| String::new())
        .show_grid([true, false])
        .include_y(-0.5)
        .include_y(rows as f64 - 0.5)
}

/// One frame of the timeline's plots, and what the user did to them.
struct Pass<'a> {
    lab: &'a LabState,
    range: (f64, f64),
    now: f64,
    cursor: Option<f64>,
    markers: Vec<Marker>,
    gesture: Gesture,
    shown: Vec<(&'static str, PlotShown)>,
    compact: bool,
}

impl Pass<'_> {
    fn plots(&mut self, ui: &mut egui::Ui, avail: f32) {
        let (lab, range, cursor) = (self.lab, self.range, self.cursor);
        let nodes = lab.spec().hosts.len();
        let vms = lab.spec().vms.len();
        // Presentation shows throughput only, above the bands, all without scrolling.
        let (line_plots, min_h) = if self.compact { (1, 90.0) } else { (2, 130.0) };
        let backups = backup_rows(lab);
        let lane = if backups > 0 {
            lane_rows(backups, self.compact) + 30.0
        } else {
            0.0
        };
        let bands =
            band_rows(nodes, self.compact) + band_rows(vms.min(MAX_VM_BANDS), self.compact) + lane;
        let line_h = if self.compact {
            compact_line_h(ui, lab)
        } else {
            ((avail - bands - 60.0) / line_plots as f32).max(min_h)
        };
        // Throughput and CPU: the chart description's lines, fault labels on the first.
        let charts = [
            ("throughput", "Gbit/s", TimeChartKind::Throughput, true),
            ("cpu", "LM CPU %", TimeChartKind::Cpu, false),
        ];
        for (id, unit, kind, labels) in charts.into_iter().take(line_plots) {
            let markers = &self.markers;
            let mut lines = lmlab_engine::chart::lines(lab.sim(), kind, Audience::Window, range.0);
            let measured =
                lmlab_engine::chart::measured_lines(lab.sim(), kind, lab.measured_runs());
            lines.extend(measured);
            // The key sits above the plot, never over the data (presentation has no room for it:
            // the readout names the lines there).
            if !self.compact {
                line_key(ui, &lines);
            }
            // Presentation draws the time axis once, under the last plot.
            let r = time_plot(id, line_h)
                .show_axes([!self.compact, true])
                .y_axis_label(unit)
                .include_y(0.0)
                .include_y(1.0)
                .show(ui, |p| {
                    p.set_plot_bounds_x(range.0..=range.1);
                    draw_lines(p, lab, &lines);
                    draw_markers(p, markers, cursor, labels);
                });
            self.shown.push((id, self.gesture.read(&r, range)));
        }
        if lab.prefs().per_core && !self.compact {
            per_core(ui, lab);
        }
        // The backup lane (labs with backup sets) first: it is what such a lab is about.
        self.backup_plot(ui);
        self.node_bands(ui);
        self.vm_plot(ui);
    }

    /// The backup lane: one row per backup set (and per node a third-party requester used), job
    /// bands by outcome, VSS conflicts and retries marked. Only in labs with backup sets.
    fn backup_plot(&mut self, ui: &mut egui::Ui) {
        let (lab, range, cursor) = (self.lab, self.range, self.cursor);
        let lane = lmlab_engine::chart::backup_lane(lab.sim());
        if lane.is_empty() {
            return;
        }
        if !self.compact {
            backup_key(ui);
        }
        let markers = &self.markers;
        let rows = lane.rows.len();
        let r = time_plot("backups", lane_rows(rows, self.compact))
            .y_axis_formatter(|_, _| String::new())
            .show_grid([true, false])
            .include_y(-0.5)
            .include_y(rows as f64 - 0.5)
            .show_axes([!self.compact, true])
            .show(ui, |p| {
                p.set_plot_bounds_x(range.0..=range.1);
                backup_bands(p, &lane);
                let x0 = p.plot_bounds().min()[0];
                for (i, n) in lane.rows.iter().enumerate() {
                    p.text(
                        Text::new(
                            "",
                            PlotPoint::new(x0, i as f64),
                            egui::RichText::new(n).strong(),
                        )
                        .anchor(egui::Align2::LEFT_CENTER),
                    );
                }
                draw_markers(p, markers, cursor, false);
            });
        self.shown.push(("backups", self.gesture.read(&r, range)));
    }

    fn node_bands(&mut self, ui: &mut egui::Ui) {
        let (lab, range, cursor, now) = (self.lab, self.range, self.cursor, self.now);
        if !self.compact {
            node_key(ui);
        }
        let names: Vec<String> = lab.spec().hosts.iter().map(|h| h.name.clone()).collect();
        let rows = names.len();
        let markers = &self.markers;
        let r = band_plot("nodes", rows, self.compact)
            .show_axes([!self.compact, true])
            .show(ui, |p| {
                p.set_plot_bounds_x(range.0..=range.1);
                node_bands(p, lab, now);
                row_names(p, &names, lab.sim().node_timeline(), node_color);
                draw_markers(p, markers, cursor, false);
            });
        self.shown.push(("nodes", self.gesture.read(&r, range)));
    }

    /// VM state bands, or the count of running VMs for large labs.
    fn vm_plot(&mut self, ui: &mut egui::Ui) {
        let (lab, range, cursor, now) = (self.lab, self.range, self.cursor, self.now);
        let vms = lab.spec().vms.len();
        let markers = &self.markers;
        let r = if vms <= MAX_VM_BANDS {
            if !self.compact {
                vm_key(ui);
            }
            let names: Vec<String> = lab.spec().vms.iter().map(|v| v.name.clone()).collect();
            band_plot("vms", vms, self.compact).show(ui, |p| {
                p.set_plot_bounds_x(range.0..=range.1);
                vm_bands(p, lab, now);
                row_names(p, &names, lab.sim().vm_timeline(), vm_color);
                draw_markers(p, markers, cursor, false);
            })
        } else {
            time_plot("vms", band_rows(MAX_VM_BANDS, self.compact))
                .y_axis_label("VMs")
                .include_y(0.0)
                .show(ui, |p| {
                    p.set_plot_bounds_x(range.0..=range.1);
                    vm_counts(p, lab);
                    draw_markers(p, markers, cursor, false);
                })
        };
        self.shown.push(("vms", self.gesture.read(&r, range)));
    }
}

/// `h:mm:ss` (with tenths below a minute of range) for a time in seconds.
fn clock_label(t: f64) -> String {
    if t < 0.0 {
        return String::new();
    }
    let whole = t.floor();
    let (h, m, s) = (
        whole as u64 / 3600,
        whole as u64 / 60 % 60,
        whole as u64 % 60,
    );
    let tenths = ((t - whole) * 10.0).round() as u64;
    if tenths > 0 && tenths < 10 {
        format!("{h}:{m:02}:{s:02}.{tenths}")
    } else {
        format!("{h}:{m:02}:{s:02}")
    }
}

/// Grid lines at steps a clock reads well: 1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10, 15, 30 min, 1, 2,
/// 3, 6, 12 h, days.
fn time_grid(input: egui_plot::GridInput) -> Vec<egui_plot::GridMark> {
    const STEPS: [f64; 20] = [
        0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0,
        3600.0, 7200.0, 10800.0, 21600.0, 43200.0,
    ];
    let (lo, hi) = input.bounds;
    // No finer than a few hundred lines across the plot, whatever egui suggests.
    let base = input.base_step_size.max((hi - lo) / 300.0).max(1e-3);
    // Three levels like egui's own grid (fine, medium, coarse: about ×10 apart), each at the next
    // step a clock reads well.
    let step_at_least = |x: f64| {
        STEPS
            .iter()
            .copied()
            .find(|&s| s >= x)
            .unwrap_or_else(|| (x / 86_400.0).ceil() * 86_400.0)
    };
    let mut marks = Vec::new();
    for level in [1.0, 10.0, 100.0] {
        let step = step_at_least(base * level);
        let mut k = (lo / step).floor();
        while k * step <= hi && marks.len() < 3000 {
            marks.push(egui_plot::GridMark {
                value: k * step,
                step_size: step,
            });
            k += 1.0;
        }
    }
    marks
}

/// What each line of the throughput and CPU charts shows at the time under the pointer.
fn readout(ui: &mut egui::Ui, lab: &LabState, hover_t: Option<f64>, from_s: f64) {
    let Some(t) = hover_t.filter(|t| *t >= 0.0) else {
        ui.label(egui::RichText::new("point at a plot to read every line at that time").weak());
        return;
    };
    let series = lab.sim().series();
    let mut parts = vec![format!("at {}", clock_label(t))];
    // Faults and repairs under the pointer (their labels may have had no room).
    let near = (lab.sim().now().as_secs_f64() - from_s).abs().max(1.0) * 0.005;
    for e in lab.sim().events() {
        if e.mark.is_fault_or_repair() && (e.t.as_secs_f64() - t).abs() <= near {
            parts.push(e.detail.clone());
        }
    }
    for (kind, unit) in [
        (TimeChartKind::Throughput, "Gbit/s"),
        (TimeChartKind::Cpu, "%"),
    ] {
        let mut lines = lmlab_engine::chart::lines(lab.sim(), kind, Audience::Window, from_s);
        let measured = lmlab_engine::chart::measured_lines(lab.sim(), kind, lab.measured_runs());
        lines.extend(measured);
        for l in lines {
            if let Some(v) = value_at(&l, series, t) {
                parts.push(format!("{} {v:.1} {unit}", l.label));
            }
        }
    }
    ui.add(egui::Label::new(parts.join(" · ")).wrap());
}

/// A line's value at `t`: the latest sample (or step) at or before it.
fn value_at(line: &ChartLine<'_>, series: &lmlab_engine::sim::Series, t: f64) -> Option<f64> {
    match &line.data {
        LineData::Sampled(c) => {
            let i = series.samples_until(t).checked_sub(1)?;
            Some(c.value(i))
        }
        LineData::Points(p) => {
            let i = p.partition_point(|q| q[0] <= t).checked_sub(1)?;
            Some(p[i][1])
        }
    }
}

/// A colour key above a band plot.
fn key(ui: &mut egui::Ui, title: &str, entries: &[(String, egui::Color32)]) {
    ui.horizontal_wrapped(|ui| {
        ui.label(egui::RichText::new(title).strong());
        for (name, color) in entries {
            // Swatch and name as one piece, so a wrap never parts them.
            let font = egui::TextStyle::Body.resolve(ui.style());
            let text = ui.visuals().text_color();
            let galley = ui.painter().layout_no_wrap(name.clone(), font, text);
            let size = egui::vec2(16.0 + galley.size().x, galley.size().y.max(12.0));
            let (r, _) = ui.allocate_exact_size(size, egui::Sense::hover());
            let swatch = egui::Rect::from_center_size(
                egui::pos2(r.left() + 6.0, r.center().y),
                egui::vec2(12.0, 12.0),
            );
            ui.painter().rect_filled(swatch, 2.0, *color);
            let at = egui::pos2(r.left() + 16.0, r.center().y - galley.size().y / 2.0);
            ui.painter().galley(at, galley, text);
        }
    });
}

/// The lines of a chart as a wrapped row of coloured swatches and names above the plot.
fn line_key(ui: &mut egui::Ui, lines: &[ChartLine<'_>]) {
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 6.0;
        for l in lines {
            let color = match l.color {
                LineColor::Palette(i) => series_color(i),
                LineColor::Grey => egui::Color32::GRAY,
            };
            let (r, _) = ui.allocate_exact_size(egui::vec2(14.0, 10.0), egui::Sense::hover());
            let y = r.center().y;
            let stroke = egui::Stroke::new(2.5, color);
            match l.role {
                LineRole::NicReceive | LineRole::HostReceive | LineRole::NicSend => {
                    ui.painter().line_segment(
                        [egui::pos2(r.left(), y), egui::pos2(r.left() + 5.0, y)],
                        stroke,
                    );
                    ui.painter().line_segment(
                        [egui::pos2(r.right() - 5.0, y), egui::pos2(r.right(), y)],
                        stroke,
                    );
                }
                LineRole::Measured => {
                    ui.painter().line_segment(
                        [egui::pos2(r.left(), y), egui::pos2(r.right(), y)],
                        egui::Stroke::new(1.0, color),
                    );
                    for x in [r.left() + 2.0, r.center().x, r.right() - 2.0] {
                        ui.painter().circle_filled(egui::pos2(x, y), 2.5, color);
                    }
                }
                _ => {
                    ui.painter()
                        .line_segment([egui::pos2(r.left(), y), egui::pos2(r.right(), y)], stroke);
                }
            }
            ui.label(&l.label);
        }
    });
}

/// Row names drawn inside the plot at its left edge, so they stay visible when zooming, in black
/// or white to read on the band they sit on.
fn row_names<S: Copy>(
    p: &mut PlotUi,
    names: &[String],
    timelines: &[Vec<(SimTime, S)>],
    color: impl Fn(S) -> egui::Color32,
) {
    let x0 = p.plot_bounds().min()[0];
    for (i, n) in names.iter().enumerate() {
        let under = timelines.get(i).and_then(|tl| {
            let k = tl.partition_point(|(t, _)| t.as_secs_f64() <= x0);
            tl.get(k.saturating_sub(1)).map(|x| x.1)
        });
        let text = under.map_or(egui::Color32::WHITE, |s| text_on(color(s)));
        p.text(
            Text::new(
                "",
                PlotPoint::new(x0, i as f64),
                egui::RichText::new(n).strong().color(text),
            )
            .anchor(egui::Align2::LEFT_CENTER),
        );
    }
}

/// Min/max per bucket so a long line keeps its peaks with a bounded number of points.
pub fn decimate(pts: &[(f64, f64)], max: usize) -> Vec<[f64; 2]> {
    let n = pts.len();
    if n <= max {
        return pts.iter().map(|&(t, v)| [t, v]).collect();
    }
    let (t, v): (Vec<f64>, Vec<f64>) = pts.iter().copied().unzip();
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
    let series = lab.sim().series();
    for l in lines {
        let pts = match &l.data {
            LineData::Sampled(c) => decimate(&series.polyline(c), MAX_POINTS),
            LineData::Points(pts) => pts.clone(),
        };
        let color = match l.color {
            LineColor::Palette(i) => series_color(i),
            LineColor::Grey => egui::Color32::GRAY,
        };
        // Lines are corners only (a series' change points): egui_plot's band drawing, made for
        // dense samples, would join the envelope of far-apart corners into slopes that are not
        // there.
        if l.role == LineRole::Measured {
            // A measurement: its samples as dots, joined by a thin line.
            p.points(
                egui_plot::Points::new(l.label.clone(), pts.clone())
                    .color(color)
                    .radius(3.0),
            );
        }
        let line = Line::new(l.label.clone(), pts)
            .color(color)
            .allow_band(false);
        p.line(match l.role {
            LineRole::Measured => line.width(1.0),
            LineRole::Total | LineRole::AverageCpu => line.width(2.0),
            LineRole::NicReceive | LineRole::HostReceive => line.style(LineStyle::dashed_dense()),
            LineRole::NicSend => line.style(LineStyle::dotted_dense()),
            LineRole::Migration => line.width(1.2),
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
    if !lab.sim().has_backup_or_is_data() {
        return;
    }
    // Integration Services that are not up to date: a strip over the band's upper part.
    for (i, tl) in lab.sim().is_timeline().iter().enumerate() {
        let row = i as f64;
        for (k, (t, s)) in tl.iter().enumerate() {
            if *s == lmlab_engine::sim::IsSummary::UpToDate {
                continue;
            }
            let end = tl.get(k + 1).map_or(now, |n| n.0.as_secs_f64());
            let (a, b) = (t.as_secs_f64(), end);
            if b > a {
                let pts = vec![
                    [a, row + 0.12],
                    [b, row + 0.12],
                    [b, row + 0.38],
                    [a, row + 0.38],
                ];
                p.polygon(
                    Polygon::new("", pts)
                        .fill_color(is_color(*s))
                        .stroke(egui::Stroke::NONE)
                        .allow_hover(false),
                );
            }
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
        Line::new("VMs running", decimate(&s.polyline(&running), MAX_POINTS))
            .color(vm_color(VmState::Running))
            .allow_band(false),
    );
}

/// Faults, repairs and switch-overs inside the visible window: (time, label, is fault or repair).
/// What a marker line stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum MarkerKind {
    /// A fault or repair: a red line with its label.
    Fault,
    /// A trainer's caption: a blue line with its label.
    Caption,
    /// A pass or switch-over of a migration: a dotted grey line.
    Step,
}

/// One marker line: time, label, kind.
type Marker = (f64, String, MarkerKind);

/// Faults, repairs, captions and migration steps inside the visible window.
fn markers(lab: &LabState, window: (f64, f64)) -> Vec<Marker> {
    let events = lab.sim().events();
    let from = events.partition_point(|e| e.t.as_secs_f64() < window.0);
    let mut out: Vec<Marker> = events[from..]
        .iter()
        .take_while(|e| e.t.as_secs_f64() <= window.1)
        .filter_map(|e| {
            let kind = if e.mark.is_fault_or_repair() {
                MarkerKind::Fault
            } else if e.mark.is_caption() {
                MarkerKind::Caption
            } else if e.mark.is_precopy_step() {
                MarkerKind::Step
            } else {
                return None;
            };
            let label: String = e.detail.chars().take(28).collect();
            Some((e.t.as_secs_f64(), label, kind))
        })
        .collect();
    if out.len() > MAX_MARKERS {
        // Keep every fault, repair and caption first, then as many phase marks as fit.
        out.sort_by_key(|m| m.2);
        out.truncate(MAX_MARKERS);
    }
    out
}

/// Marker lines across the plot; with `labels`, fault, repair and caption labels placed in up to
/// four rows so that none overlaps another (right-aligned at the right edge so none is cut off); a
/// label with no free row is left out, and the readout names it when the pointer is near its line.
fn draw_markers(p: &mut PlotUi, markers: &[Marker], cursor: Option<f64>, labels: bool) {
    let color_of = |k: MarkerKind| match k {
        MarkerKind::Fault => egui::Color32::from_rgb(220, 60, 60),
        MarkerKind::Caption => egui::Color32::from_rgb(86, 180, 233),
        MarkerKind::Step => egui::Color32::from_gray(150),
    };
    for (t, _, kind) in markers {
        let style = if *kind == MarkerKind::Step {
            LineStyle::dotted_dense()
        } else {
            LineStyle::Solid
        };
        p.vline(
            VLine::new("", *t)
                .color(color_of(*kind))
                .style(style)
                .width(1.0),
        );
    }
    if labels {
        let b = p.plot_bounds();
        let (x0, x1) = (b.min()[0], b.max()[0]);
        let (y0, y1) = (b.min()[1], b.max()[1]);
        let per_px = (x1 - x0) / f64::from(p.response().rect.width().max(1.0));
        let mut labelled: Vec<&Marker> =
            markers.iter().filter(|m| m.2 != MarkerKind::Step).collect();
        labelled.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut row_end = [f64::NEG_INFINITY; LABEL_ROWS];
        for (t, label, kind) in labelled {
            // About 7 px per character of the 14 px proportional font, plus a margin.
            let w = (label.chars().count() as f64 * 7.0 + 10.0) * per_px;
            let right = *t + w > x1;
            let span = if right { (*t - w, *t) } else { (*t, *t + w) };
            let Some(row) = (0..LABEL_ROWS).find(|&r| row_end[r] < span.0) else {
                continue;
            };
            row_end[row] = span.1;
            let y = y1 - (y1 - y0) * (0.03 + 0.11 * row as f64);
            let anchor = if right {
                egui::Align2::RIGHT_TOP
            } else {
                egui::Align2::LEFT_TOP
            };
            p.text(
                Text::new("", PlotPoint::new(*t, y), label.clone())
                    .color(color_of(*kind))
                    .anchor(anchor),
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
