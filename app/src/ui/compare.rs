//! The comparison view: every named configuration of the lab through the transport model, as bars
//! for throughput and CPU side by side, with the reference figures when the file has them.

use super::action::{Actions, JobAction};
use super::state::LabState;
use super::theme::series_color;
use egui_plot::{Bar, BarChart, Legend, Plot};

pub fn show(ui: &mut egui::Ui, lab: &LabState, actions: &mut Actions) {
    ui.horizontal(|ui| {
        ui.heading("Compare configurations");
        if ui.button("Run comparison").clicked() {
            actions.push(JobAction::RunCompare);
        }
        ui.label(format!(
            "{} configurations in this lab",
            lab.spec().configurations.len()
        ));
    });
    let Some(report) = lab.compare() else {
        ui.label("Runs each [[configurations]] entry of the lab (like `lmlab compare`) and shows the results here.");
        return;
    };
    let names: Vec<String> = report.rows.iter().map(|r| r.id.clone()).collect();
    let n = report.rows.len() as f64;
    let formatter = move |mark: egui_plot::GridMark, _r: &std::ops::RangeInclusive<f64>| {
        let i = mark.value.round();
        if (mark.value - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < names.len() {
            names[i as usize].clone()
        } else {
            String::new()
        }
    };
    let half = (ui.available_height() - 160.0).max(160.0) / 2.0;
    // One bar group per configuration, both plots on the same x axis.
    let plot = |id: &str, unit: &str| {
        Plot::new(id)
            .height(half)
            .legend(Legend::default())
            .y_axis_label(unit)
            .include_y(0.0)
            .include_x(-0.5)
            .include_x(n - 0.5)
            .allow_scroll(false)
    };
    let bars =
        |f: &dyn Fn(&lmlab_engine::compare::CompareRow) -> Option<f64>, offset: f64, name: &str| {
            report
                .rows
                .iter()
                .enumerate()
                .filter_map(|(i, r)| {
                    f(r).map(|v| {
                        Bar::new(i as f64 + offset, v)
                            .width(0.28)
                            .name(format!("{} {name}", r.id))
                    })
                })
                .collect::<Vec<_>>()
        };
    plot("compare-throughput", "Gbit/s")
        .x_axis_formatter(formatter.clone())
        .show(ui, |p| {
            p.bar_chart(
                BarChart::new("model", bars(&|r| Some(r.throughput_gbps), -0.15, "model"))
                    .color(series_color(0)),
            );
            p.bar_chart(
                BarChart::new(
                    "reference",
                    bars(
                        &|r| r.reference.as_ref().and_then(|x| x.throughput_gbps),
                        0.15,
                        "reference",
                    ),
                )
                .color(series_color(2)),
            );
        });
    plot("compare-cpu", "CPU %")
        .x_axis_formatter(formatter)
        .show(ui, |p| {
            p.bar_chart(
                BarChart::new("source CPU", bars(&|r| Some(r.cpu_src_pct), -0.2, "source"))
                    .color(series_color(1)),
            );
            p.bar_chart(
                BarChart::new(
                    "destination CPU",
                    bars(&|r| Some(r.cpu_dst_pct), 0.0, "destination"),
                )
                .color(series_color(0)),
            );
            p.bar_chart(
                BarChart::new(
                    "reference CPU",
                    bars(
                        &|r| r.reference.as_ref().and_then(|x| x.cpu_pct),
                        0.2,
                        "reference",
                    ),
                )
                .color(series_color(2)),
            );
        });
    egui::ScrollArea::vertical().show(ui, |ui| {
        egui::Grid::new("compare-table")
            .striped(true)
            .show(ui, |ui| {
                for h in ["id", "Gbps", "range", "src %", "dst %", "path"] {
                    ui.strong(h);
                }
                ui.end_row();
                for r in &report.rows {
                    ui.label(&r.id);
                    ui.label(format!("{:.1}", r.throughput_gbps));
                    ui.label(format!(
                        "{:.1}-{:.1}",
                        r.throughput_min_gbps, r.throughput_max_gbps
                    ));
                    ui.label(format!("{:.1}", r.cpu_src_pct));
                    ui.label(format!("{:.1}", r.cpu_dst_pct));
                    ui.label(&r.path);
                    ui.end_row();
                }
            });
    });
}
