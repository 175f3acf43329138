//! The "Real run" view: moves a real memory image with the selected VM's settings (memory capped,
//! dirty rate, working set, content, stop rule) over real TCP channels — on loopback or to an
//! `lmlab agent` — and shows the measurement beside the model's prediction for the same VM, with
//! the error.

use super::action::{Actions, FileAction, JobAction, ViewAction};
use super::real_run::chosen_vm;
use super::state::{LabState, RealRun};
use super::theme::series_color;
use egui_plot::{HLine, Legend, Line, Plot, PlotPoints};
use lmlab_real::Codec;
use lmlab_real::predict::error_vs_model;

pub fn show(ui: &mut egui::Ui, lab: &LabState, actions: &mut Actions) {
    ui.horizontal_wrapped(|ui| {
        ui.heading("Real run");
        ui.label("moves a real memory image with the selected VM's settings and measures it");
    });
    let mut p = lab.real_settings().clone();
    let vm = chosen_vm(lab);
    egui::Grid::new("real-settings")
        .num_columns(4)
        .spacing([10.0, 6.0])
        .show(ui, |ui| {
            let l = ui.label("VM");
            egui::ComboBox::from_id_salt("real-vm")
                .selected_text(vm.clone().unwrap_or_else(|| "none".into()))
                .show_ui(ui, |ui| {
                    for v in &lab.spec().vms {
                        ui.selectable_value(&mut p.vm, Some(v.name.clone()), &v.name);
                    }
                })
                .response
                .labelled_by(l.id);
            let l2 = ui.label("Model migrates to");
            egui::ComboBox::from_id_salt("real-to")
                .selected_text(
                    p.to_host
                        .clone()
                        .unwrap_or_else(|| "first other host".into()),
                )
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut p.to_host, None, "first other host");
                    for h in &lab.spec().hosts {
                        ui.selectable_value(&mut p.to_host, Some(h.name.clone()), &h.name);
                    }
                })
                .response
                .labelled_by(l2.id);
            ui.end_row();
            let l = ui.label("Memory cap (MiB)");
            ui.add(egui::DragValue::new(&mut p.memory_mib).range(16..=65536))
                .labelled_by(l.id);
            let l = ui.label("Channels");
            ui.add(egui::DragValue::new(&mut p.channels).range(1..=64))
                .labelled_by(l.id);
            ui.end_row();
            let l3 = ui.label("Compression");
            egui::ComboBox::from_id_salt("real-codec")
                .selected_text(p.codec.name())
                .show_ui(ui, |ui| {
                    for c in [Codec::None, Codec::Lz4, Codec::Zstd] {
                        ui.selectable_value(&mut p.codec, c, c.name());
                    }
                })
                .response
                .labelled_by(l3.id);
            ui.label("Destination");
            ui.horizontal(|ui| {
                ui.radio_value(&mut p.use_agent, false, "loopback");
                ui.radio_value(&mut p.use_agent, true, "agent");
            });
            ui.end_row();
            if p.use_agent {
                let l = ui.label("Agent address");
                ui.add(
                    egui::TextEdit::singleline(&mut p.agent_addr)
                        .desired_width(160.0)
                        .hint_text("HOST:PORT"),
                )
                .labelled_by(l.id);
                let l = ui.label("Shared secret");
                ui.add(
                    egui::TextEdit::singleline(&mut p.secret)
                        .password(true)
                        .desired_width(160.0)
                        .hint_text("as given to lmlab agent"),
                )
                .labelled_by(l.id);
                ui.end_row();
                ui.label("Encryption");
                ui.checkbox(&mut p.encrypt, "encrypt every connection (AES-256-GCM)");
                ui.end_row();
            }
        });
    let busy = lab.work().is_some();
    if ui
        .add_enabled(!busy, egui::Button::new("Run real migration"))
        .clicked()
    {
        actions.push(JobAction::RunReal);
    }
    if p != *lab.real_settings() {
        actions.push(ViewAction::SetRealSettings(Box::new(p)));
    }
    ui.separator();
    let Some(run) = lab.real_last() else {
        ui.label("The run allocates the image, starts a guest thread that dirties it at the VM's rate, pre-copies it with the same stop rule as the model, verifies the destination's copy, and plots throughput and CPU next to the model's prediction.");
        return;
    };
    summary(ui, run);
    if run.report.verified
        && ui
            .button("Set beside the model (Calibrate view)")
            .on_hover_text("Adds this run to the lab's measurements, as `lmlab real --json` would write it, so the Calibrate view compares it and fits the costs to it")
            .clicked()
    {
        actions.push(FileAction::AddLastRealRun);
    }
    plots(ui, run);
}

fn summary(ui: &mut egui::Ui, run: &RealRun) {
    let r = &run.report;
    let verdict = if r.verified {
        egui::RichText::new("verified").color(egui::Color32::from_rgb(60, 160, 90))
    } else {
        egui::RichText::new(format!(
            "NOT migrated: {} (the source keeps the authoritative copy)",
            r.error.as_deref().unwrap_or("not verified")
        ))
        .color(egui::Color32::from_rgb(200, 60, 60))
    };
    ui.horizontal_wrapped(|ui| {
        ui.label(verdict.strong());
        ui.label(format!(
            "{} MiB over {}, compression {}, to {}",
            r.memory_bytes >> 20,
            if r.rdma {
                "RDMA writes".to_string()
            } else {
                format!("{} TCP channel(s)", r.channels)
            },
            r.compress.name(),
            r.destination
        ));
    });
    egui::Grid::new("real-vs-model")
        .striped(true)
        .show(ui, |ui| {
            for h in ["", "Gbit/s", "passes", "pause ms", "src CPU %", "dst CPU %"] {
                ui.strong(h);
            }
            ui.end_row();
            ui.label("measured");
            ui.label(format!("{:.2}", r.avg_gbps));
            ui.label(r.passes.to_string());
            ui.label(format!("{:.1}", r.downtime_ms));
            ui.label(format!("{:.1}", r.cpu_src_pct));
            ui.label(format!("{:.1}", r.cpu_dst_pct));
            ui.end_row();
            if let Some(m) = &run.prediction {
                ui.label("model");
                ui.label(format!("{:.2}", m.avg_gbps));
                ui.label(m.passes.to_string());
                ui.label(format!("{:.1}", m.downtime_ms));
                ui.label(format!("{:.1}", m.cpu_src_pct));
                ui.label(format!("{:.1}", m.cpu_dst_pct));
                ui.end_row();
                let e = error_vs_model(r, m);
                ui.label("error");
                ui.label(format!("{:+.1} %", e.gbps_pct));
                ui.label(format!("{:+}", r.passes as i64 - m.passes as i64));
                ui.label(format!("{:+.1}", r.downtime_ms - m.downtime_ms));
                ui.label(format!("{:+.1} pt", e.cpu_src_points));
                ui.label(format!("{:+.1} pt", e.cpu_dst_points));
                ui.end_row();
            }
        });
    // Paths are long: their own wrapped lines, so the table never widens the view.
    ui.horizontal_wrapped(|ui| {
        ui.label(format!(
            "Measured: wire {:.2} Gbit/s ({:.2}x reduction).",
            r.wire_gbps, r.reduction_ratio
        ));
        if let Some(m) = &run.prediction {
            ui.label(format!("Model: {} → {}, {}.", m.from, m.to, m.path));
            ui.label("Error = measured − model.");
        }
    });
    if let Some(e) = &run.prediction_error {
        ui.label(format!("no model prediction: {e}"));
    }
    for l in &r.channels_lost {
        ui.label(format!(
            "channel {} lost at {:.2} s: {} ({} pages resent)",
            l.channel, l.t_s, l.reason, l.pages_resent
        ));
    }
}

fn plots(ui: &mut egui::Ui, run: &RealRun) {
    let r = &run.report;
    let t0 = r.series.first().map(|s| s.t_s).unwrap_or(0.0);
    let half = ((ui.available_height() - 20.0) / 2.0).max(140.0);
    let group = egui::Id::unique("real-time-axis");
    Plot::new("real-throughput")
        .height(half)
        .legend(Legend::default())
        .y_axis_label("Gbit/s")
        .x_axis_label("s")
        .include_y(0.0)
        .link_axis(group, [true, false])
        .allow_scroll(false)
        .show(ui, |pl| {
            let pts = |f: &dyn Fn(&lmlab_real::Sample) -> f64| -> PlotPoints<'static> {
                r.series.iter().map(|s| [s.t_s - t0, f(s)]).collect()
            };
            pl.line(
                Line::new("measured total", pts(&|s| s.total_gbps))
                    .color(series_color(0))
                    .width(2.0),
            );
            if r.channels > 1 {
                for c in 0..r.channels as usize {
                    pl.line(
                        Line::new(
                            format!("channel {c}"),
                            pts(&|s| s.channel_gbps.get(c).copied().unwrap_or(0.0)),
                        )
                        .color(series_color(3 + c))
                        .width(1.0),
                    );
                }
            }
            if let Some(m) = &run.prediction {
                let mut step: Vec<[f64; 2]> = Vec::new();
                for w in m.rate_gbps.windows(2) {
                    step.push([w[0].0, w[0].1]);
                    step.push([w[1].0, w[0].1]);
                }
                if let Some(last) = m.rate_gbps.last() {
                    step.push([last.0, last.1]);
                }
                pl.line(
                    Line::new("model", PlotPoints::from(step))
                        .color(series_color(2))
                        .style(egui_plot::LineStyle::dashed_loose())
                        .width(2.0),
                );
            }
        });
    Plot::new("real-cpu")
        .height(half)
        .legend(Legend::default())
        .y_axis_label("CPU %")
        .x_axis_label("s")
        .include_y(0.0)
        .link_axis(group, [true, false])
        .allow_scroll(false)
        .show(ui, |pl| {
            let pts: PlotPoints<'static> = r
                .series
                .iter()
                .map(|s| [s.t_s - t0, s.cpu_src_pct])
                .collect();
            pl.line(
                Line::new("measured source CPU", pts)
                    .color(series_color(1))
                    .width(2.0),
            );
            pl.hline(
                HLine::new("measured destination CPU (mean)", r.cpu_dst_pct).color(series_color(0)),
            );
            if let Some(m) = &run.prediction {
                pl.hline(
                    HLine::new("model source CPU", m.cpu_src_pct)
                        .color(series_color(2))
                        .style(egui_plot::LineStyle::dashed_loose()),
                );
                pl.hline(
                    HLine::new("model destination CPU", m.cpu_dst_pct)
                        .color(series_color(4))
                        .style(egui_plot::LineStyle::dashed_loose()),
                );
            }
        });
}
