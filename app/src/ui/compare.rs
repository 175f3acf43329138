//! The comparison view: every named configuration of the lab through the transport model. Two
//! plots on one x axis — throughput (the model's median bar, a whisker over its trials, the
//! value) and the live-migration CPU of both hosts — with the measured reference as a diamond and
//! its range as a bar through it; a key above the plots (never over the bars), and a table that
//! names every configuration and its settings. Colours are the exported chart's.

use super::action::{Actions, JobAction, ViewAction};
use super::state::LabState;
use super::theme::rgb;
use egui_plot::{Bar, BarChart, Line, MarkerShape, Plot, PlotPoint, PlotUi, Points, Text};
use lmlab_engine::compare::{CompareReport, CompareRow, CompareSort};
use lmlab_engine::export::{COMPARE_DST_CPU_RGB, COMPARE_MODEL_RGB, COMPARE_SRC_CPU_RGB};

/// What each sort order is called in the window.
fn sort_label(s: CompareSort) -> &'static str {
    match s {
        CompareSort::File => "As in the file",
        CompareSort::Throughput => "Fastest first",
        CompareSort::Cpu => "Lowest CPU first",
        CompareSort::Name => "By name",
    }
}

pub fn show(ui: &mut egui::Ui, lab: &LabState, actions: &mut Actions) {
    let sort = lab.prefs().compare_sort;
    ui.horizontal_wrapped(|ui| {
        ui.heading("Compare configurations");
        if ui.button("Run comparison").clicked() {
            actions.push(JobAction::RunCompare);
        }
        ui.label(format!(
            "{} configurations in this lab",
            lab.spec().configurations.len()
        ));
        ui.separator();
        let label = ui.label("Order");
        let mut chosen = sort;
        egui::ComboBox::from_id_salt("compare-sort")
            .selected_text(sort_label(sort))
            .show_ui(ui, |ui| {
                for s in CompareSort::ALL {
                    ui.selectable_value(&mut chosen, s, sort_label(s));
                }
            })
            .response
            .labelled_by(label.id)
            .on_hover_text("The order of the bars and rows here and in exported charts");
        if chosen != sort {
            let mut prefs = lab.prefs().clone();
            prefs.compare_sort = chosen;
            actions.push(ViewAction::SetPrefs(prefs));
        }
    });
    let Some(report) = lab.compare() else {
        ui.label("Runs each [[configurations]] entry of the lab (like `lmlab compare`) and shows the results here.");
        return;
    };
    let mut report = report.clone();
    report.sort(sort);
    let reference = reference_color(ui);
    key(ui, &report, reference);
    let ids: Vec<String> = report.rows.iter().map(|r| r.id.clone()).collect();
    let n = report.rows.len() as f64;
    let formatter = move |mark: egui_plot::GridMark, _r: &std::ops::RangeInclusive<f64>| {
        let i = mark.value.round();
        if (mark.value - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < ids.len() {
            ids[i as usize].clone()
        } else {
            String::new()
        }
    };
    let half = ((ui.available_height() - 40.0) * 0.62 / 2.0).max(150.0);
    // Headroom above the tallest mark for its value label.
    let top =
        |f: &dyn Fn(&CompareRow) -> f64| report.rows.iter().map(f).fold(1.0_f64, f64::max) * 1.15;
    let plot = |id: &str, unit: &str, y_max: f64| {
        Plot::new(id)
            .height(half)
            .y_axis_label(unit)
            .include_y(0.0)
            .include_y(y_max)
            .include_x(-0.5)
            .include_x(n - 0.5)
            .allow_scroll(false)
            .allow_drag(false)
            .allow_zoom(false)
            .x_axis_formatter(formatter.clone())
    };
    let t_max = top(&|r| {
        let reference = r.reference.as_ref().map_or(0.0, |f| {
            f.throughput_range_gbps
                .map_or(0.0, |[_, hi]| hi)
                .max(f.throughput_gbps.unwrap_or(0.0))
        });
        r.throughput_max_gbps.max(r.throughput_gbps).max(reference)
    });
    let ink = ui.visuals().text_color();
    plot("compare-throughput", "Gbit/s", t_max).show(ui, |p| {
        let model: Vec<Bar> = report
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                Bar::new(i as f64, r.throughput_gbps)
                    .width(0.5)
                    .fill(rgb(COMPARE_MODEL_RGB))
                    .name(&r.name)
            })
            .collect();
        p.bar_chart(BarChart::new("model", model).color(rgb(COMPARE_MODEL_RGB)));
        for (i, r) in report.rows.iter().enumerate() {
            let x = i as f64;
            whisker(p, x, r.throughput_min_gbps, r.throughput_max_gbps, ink);
            value_label(p, x, r.throughput_max_gbps, r.throughput_gbps);
        }
        references(p, &report, 0.34, reference, |f| {
            (f.throughput_gbps, f.throughput_range_gbps)
        });
    });
    let c_max = top(&|r| {
        let reference = r.reference.as_ref().map_or(0.0, |f| {
            f.cpu_range_pct
                .map_or(0.0, |[_, hi]| hi)
                .max(f.cpu_pct.unwrap_or(0.0))
        });
        r.cpu_max_pct().max(reference)
    });
    plot("compare-cpu", "CPU %", c_max).show(ui, |p| {
        for (name, offset, color, value) in [
            (
                "source CPU",
                -0.13,
                COMPARE_SRC_CPU_RGB,
                (|r: &CompareRow| r.cpu_src_pct) as fn(&CompareRow) -> f64,
            ),
            ("destination CPU", 0.13, COMPARE_DST_CPU_RGB, |r| {
                r.cpu_dst_pct
            }),
        ] {
            let bars: Vec<Bar> = report
                .rows
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    Bar::new(i as f64 + offset, value(r))
                        .width(0.24)
                        .fill(rgb(color))
                        .name(format!("{} {name}", r.name))
                })
                .collect();
            p.bar_chart(BarChart::new(name, bars).color(rgb(color)));
            for (i, r) in report.rows.iter().enumerate() {
                value_label(p, i as f64 + offset, value(r), value(r));
            }
        }
        references(p, &report, 0.36, reference, |f| {
            (f.cpu_pct, f.cpu_range_pct)
        });
    });
    table(ui, &report);
}

/// The reference marker's colour: black on a light background, white on a dark one.
fn reference_color(ui: &egui::Ui) -> egui::Color32 {
    if ui.visuals().dark_mode {
        egui::Color32::WHITE
    } else {
        egui::Color32::BLACK
    }
}

/// The key, above the plots: what each colour and mark means.
fn key(ui: &mut egui::Ui, report: &CompareReport, reference: egui::Color32) {
    let trials = report.rows.iter().map(|r| r.trials).max().unwrap_or(1);
    let ranged = report
        .rows
        .iter()
        .filter_map(|r| r.reference.as_ref())
        .any(|f| f.throughput_range_gbps.is_some() || f.cpu_range_pct.is_some());
    ui.horizontal_wrapped(|ui| {
        for (color, text) in [
            (
                COMPARE_MODEL_RGB,
                format!("model throughput (median of {trials} trials; whisker: their range)"),
            ),
            (COMPARE_SRC_CPU_RGB, "source host CPU".to_string()),
            (COMPARE_DST_CPU_RGB, "destination host CPU".to_string()),
        ] {
            let (r, _) = ui.allocate_exact_size(egui::vec2(14.0, 14.0), egui::Sense::hover());
            ui.painter().rect_filled(r, 2.0, rgb(color));
            ui.label(text);
            ui.add_space(8.0);
        }
        let (r, _) = ui.allocate_exact_size(egui::vec2(14.0, 14.0), egui::Sense::hover());
        let c = r.center();
        let d = 6.0;
        ui.painter().add(egui::Shape::convex_polygon(
            vec![
                c + egui::vec2(0.0, -d),
                c + egui::vec2(d, 0.0),
                c + egui::vec2(0.0, d),
                c + egui::vec2(-d, 0.0),
            ],
            reference,
            egui::Stroke::NONE,
        ));
        ui.label(if ranged {
            "measured reference (bar: the range measured)"
        } else {
            "measured reference"
        });
    });
}

/// A range as a thin vertical line over a bar.
fn whisker(p: &mut PlotUi, x: f64, lo: f64, hi: f64, c: egui::Color32) {
    if hi - lo <= f64::EPSILON {
        return;
    }
    p.line(
        Line::new("", vec![[x, lo], [x, hi]])
            .color(c)
            .width(1.5)
            .allow_hover(false),
    );
    for y in [lo, hi] {
        p.line(
            Line::new("", vec![[x - 0.06, y], [x + 0.06, y]])
                .color(c)
                .width(1.5)
                .allow_hover(false),
        );
    }
}

/// A bar's value, just above the higher of its top and its whisker.
fn value_label(p: &mut PlotUi, x: f64, above: f64, value: f64) {
    p.text(
        Text::new(
            "",
            PlotPoint::new(x, above),
            egui::RichText::new(format!("{value:.1}")).size(13.0),
        )
        .anchor(egui::Align2::CENTER_BOTTOM)
        .allow_hover(false),
    );
}

/// Each row's reference as a diamond right of its bars, its range (if any) as a bar through it.
fn references(
    p: &mut PlotUi,
    report: &CompareReport,
    offset: f64,
    color: egui::Color32,
    pick: impl Fn(&lmlab_engine::scenario::ReferenceFigures) -> (Option<f64>, Option<[f64; 2]>),
) {
    let mut points = Vec::new();
    for (i, r) in report.rows.iter().enumerate() {
        let Some((Some(v), range)) = r.reference.as_ref().map(&pick) else {
            continue;
        };
        let x = i as f64 + offset;
        if let Some([lo, hi]) = range {
            p.line(
                Line::new("", vec![[x, lo], [x, hi]])
                    .color(color)
                    .width(3.0)
                    .allow_hover(false),
            );
        }
        points.push([x, v]);
    }
    p.points(
        Points::new("measured reference", points)
            .shape(MarkerShape::Diamond)
            .filled(true)
            .radius(6.0)
            .color(color),
    );
}

/// Every configuration by name, with its settings and figures.
fn table(ui: &mut egui::Ui, report: &CompareReport) {
    egui::ScrollArea::both().show(ui, |ui| {
        egui::Grid::new("compare-table")
            .striped(true)
            .show(ui, |ui| {
                for h in [
                    "id",
                    "configuration",
                    "teaming",
                    "option",
                    "RSS",
                    "Gbps",
                    "over trials",
                    "src %",
                    "dst %",
                    "reference",
                    "path",
                ] {
                    ui.strong(h);
                }
                ui.end_row();
                for r in &report.rows {
                    let s = &r.settings;
                    ui.label(&r.id);
                    ui.label(&r.name);
                    ui.label(if s.teaming_algorithm.is_empty() {
                        s.teaming.clone()
                    } else {
                        format!("{} / {}", s.teaming, s.teaming_algorithm)
                    });
                    ui.label(if s.performance_option == "SMB" && s.smb_direct {
                        "SMB (Direct allowed)".to_string()
                    } else {
                        s.performance_option.clone()
                    });
                    ui.label(&s.rss);
                    ui.label(format!("{:.1}", r.throughput_gbps));
                    ui.label(if r.throughput_max_gbps - r.throughput_min_gbps < 0.05 {
                        "same every trial".to_string()
                    } else {
                        format!("{:.1}-{:.1}", r.throughput_min_gbps, r.throughput_max_gbps)
                    });
                    ui.label(format!("{:.1}", r.cpu_src_pct));
                    ui.label(format!("{:.1}", r.cpu_dst_pct));
                    ui.label(reference_text(r));
                    ui.label(&r.path);
                    ui.end_row();
                }
            });
    });
}

fn reference_text(r: &CompareRow) -> String {
    let Some(f) = &r.reference else {
        return String::new();
    };
    let mut parts = Vec::new();
    match (f.throughput_gbps, f.throughput_range_gbps) {
        (Some(_), Some([lo, hi])) => parts.push(format!("{lo}-{hi} Gbps")),
        (Some(t), None) => parts.push(format!("{t} Gbps")),
        _ => {}
    }
    match (f.cpu_pct, f.cpu_range_pct) {
        (Some(_), Some([lo, hi])) => parts.push(format!("{lo}-{hi} %")),
        (Some(c), None) => parts.push(format!("{c} %")),
        _ => {}
    }
    parts.join(", ")
}
