//! The Calibrate view: measured runs (File → Load measurements…) beside the model's migrations of
//! the same VMs, with the error of each quantity; drop-downs for names the lab lacks; and the
//! calibration of the transport's costs to the runs, with the error of every measured number
//! before and after, each parameter's fate, and the button that applies the fit to the lab.

use super::action::{Actions, FileAction, JobAction, LabAction, ViewAction};
use super::state::{LabState, MeasuredSet};
use lmlab_engine::Command;
use lmlab_engine::calibrate::{Calibration, Status};
use lmlab_engine::measured::overlay::{self, Comparison};
use lmlab_engine::measured::{MeasuredRun, NameKind};
use lmlab_engine::scenario::Edit;

pub fn show(ui: &mut egui::Ui, lab: &LabState, actions: &mut Actions) {
    ui.heading("Measured beside the model");
    let Some(m) = lab.results.measured.as_ref() else {
        ui.label(
            "Load what you measured on your cluster — PerfMon CSV logs (typeperf or relog), the \
             VMMS 20415/20417 events (CSV or XML), or `lmlab real` reports — to see each live \
             migration beside the model's migration of the same VM, and to fit the transport's \
             costs to them.",
        );
        if ui.button("Load measurements…").clicked() {
            actions.push(FileAction::LoadMeasurements);
        }
        return;
    };
    ui.horizontal_wrapped(|ui| {
        ui.label(format!("{} file(s):", m.files.len()));
        for f in &m.files {
            ui.label(egui::RichText::new(short(f)).monospace());
        }
        if ui.button("Add…").clicked() {
            actions.push(FileAction::LoadMeasurements);
        }
        if ui.button("Clear").clicked() {
            actions.push(FileAction::ClearMeasurements);
        }
    });
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            names(ui, lab, m, actions);
            for n in &m.data.notes {
                ui.label(format!("• {n}"));
            }
            let cs = overlay::compare(lab.sim(), &m.data.runs);
            for (k, (run, c)) in m.data.runs.iter().zip(&cs).enumerate() {
                ui.add_space(8.0);
                run_errors(ui, lab, (k, run, c), actions);
            }
            ui.add_space(12.0);
            ui.separator();
            calibration(ui, lab, m, actions);
        });
}

fn short(p: &std::path::Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    )
}

/// Names the lab does not have, each with a drop-down of the lab's names of its kind.
fn names(ui: &mut egui::Ui, lab: &LabState, m: &MeasuredSet, actions: &mut Actions) {
    if m.data.unmapped.is_empty() {
        return;
    }
    ui.add_space(6.0);
    ui.strong("Names the lab does not have — map them to the lab's:");
    let spec = lab.spec();
    egui::Grid::new("measured-names")
        .num_columns(3)
        .spacing([12.0, 6.0])
        .show(ui, |ui| {
            for (k, u) in m.data.unmapped.iter().enumerate() {
                ui.label(u.kind.word());
                ui.label(egui::RichText::new(&u.name).monospace());
                let choices: Vec<String> = match u.kind {
                    NameKind::Host => spec.hosts.iter().map(|h| h.name.clone()).collect(),
                    NameKind::Vm => spec.vms.iter().map(|v| v.name.clone()).collect(),
                    NameKind::Nic => spec
                        .hosts
                        .iter()
                        .flat_map(|h| h.nics.iter().map(|n| n.name.clone()))
                        .collect::<std::collections::BTreeSet<_>>()
                        .into_iter()
                        .collect(),
                };
                egui::ComboBox::new(("map", k), "in the lab")
                    .selected_text("choose…")
                    .show_ui(ui, |ui| {
                        for c in choices {
                            if ui.selectable_label(false, &c).clicked() {
                                actions.push(ViewAction::MapMeasuredName {
                                    kind: u.kind,
                                    name: u.name.clone(),
                                    to: c,
                                });
                            }
                        }
                    });
                ui.end_row();
            }
        });
}

/// One run: what it is, where the model's migration is, and the error table.
fn run_errors(
    ui: &mut egui::Ui,
    lab: &LabState,
    (k, run, c): (usize, &MeasuredRun, &Comparison),
    actions: &mut Actions,
) {
    ui.strong(&run.label);
    if let Some(start) = c.model_start_s {
        ui.label(format!(
            "model: the migration from {} — {}",
            super::widgets::format_clock(
                lmlab_engine::SimTime::ZERO + lmlab_engine::SimDuration::from_secs_f64(start)
            ),
            c.model_path
        ));
    }
    if let Some(note) = &c.note {
        ui.label(note);
        migrate_button(ui, lab, run, actions);
    }
    if c.quantities.is_empty() {
        return;
    }
    // Wide: the table and the plots side by side; narrow (a 720p projector): the plots under it.
    let wide = ui.available_width() >= 1400.0;
    let plots = |ui: &mut egui::Ui| {
        if let Some(start) = c.model_start_s {
            run_plot(ui, lab, (k, run, start));
        }
    };
    if wide {
        ui.horizontal_top(|ui| {
            errors_grid(ui, k, c);
            plots(ui);
        });
    } else {
        errors_grid(ui, k, c);
        ui.horizontal_top(plots);
    }
}

fn errors_grid(ui: &mut egui::Ui, k: usize, c: &Comparison) {
    egui::Grid::new(("measured-errors", k))
        .striped(true)
        .num_columns(5)
        .spacing([16.0, 4.0])
        .show(ui, |ui| {
            for h in ["", "measured", "model", "model − measured", ""] {
                ui.strong(h);
            }
            ui.end_row();
            for q in &c.quantities {
                ui.label(&q.name);
                ui.label(format!("{:.3} {}", q.measured, q.unit));
                ui.label(format!("{:.3} {}", q.model, q.unit));
                ui.label(format!("{:+.3} {}", q.error(), q.unit));
                ui.label(
                    q.error_pct()
                        .map_or(String::new(), |p| format!("{p:+.1} %")),
                );
                ui.end_row();
            }
        });
}

/// The run and the model over the migration: throughput and each compared NIC (RDMA Activity
/// for SMB Direct, Network Adapter otherwise) beside the model's lines of the same NICs, each
/// measured host's CPU beside the model's. Dots are measured samples.
fn run_plot(ui: &mut egui::Ui, lab: &LabState, (k, run, start): (usize, &MeasuredRun, f64)) {
    use egui_plot::{Corner, Legend, Line, Plot, Points};
    use lmlab_engine::chart::{Audience, ChartLine, LineColor, LineRole, TimeChartKind, lines};
    let sim = lab.sim();
    let (from, to) = (start - 2.0, start + run.total_s.unwrap_or(10.0) + 3.0);
    let color = |c: LineColor| match c {
        LineColor::Palette(i) => super::theme::series_color(i),
        LineColor::Grey => egui::Color32::GRAY,
    };
    let clip = |p: Vec<(f64, f64)>| -> Vec<[f64; 2]> {
        p.into_iter()
            .filter(|(t, _)| *t >= from && *t <= to)
            .map(|(t, v)| [t - start, v])
            .collect()
    };
    let pts = |p: &[(f64, f64)]| -> Vec<[f64; 2]> { p.iter().map(|(t, v)| [*t, *v]).collect() };
    let rdma = lab
        .sim()
        .migrations()
        .iter()
        .any(|m| m.path.starts_with("SMB Direct"));
    let nics: Vec<_> = run
        .nics
        .iter()
        .filter(|n| n.direction.starts_with("RDMA") == rdma)
        .collect();
    let model_nic = |model: &[ChartLine<'_>], n: &lmlab_engine::measured::NicTraffic| {
        let word = if matches!(n.direction.as_str(), "sent" | "RDMA out") {
            "send"
        } else {
            "receive"
        };
        let label = format!("{} {} {word}", n.host, n.nic);
        model.iter().position(|l| l.label == label)
    };
    let w = (ui.available_width() / 2.0 - 8.0).max(220.0);
    for (kind, unit) in [
        (TimeChartKind::Throughput, "Gbit/s"),
        (TimeChartKind::Cpu, "CPU %"),
    ] {
        let model = lines(sim, kind, Audience::Window, from);
        let mut measured: Vec<(String, egui::Color32, Vec<[f64; 2]>)> = Vec::new();
        let mut shown: Vec<usize> = Vec::new();
        match kind {
            TimeChartKind::Throughput => {
                shown.extend(model.iter().position(|l| l.role == LineRole::Total));
                measured.push((
                    format!("measured {}", run.vm),
                    color(LineColor::Palette(0)),
                    pts(&run.throughput),
                ));
                for n in &nics {
                    let m = model_nic(&model, n);
                    shown.extend(m);
                    let c = m.map_or(egui::Color32::GRAY, |i| color(model[i].color));
                    let name = format!("measured {} {} {}", n.host, n.nic, n.direction);
                    measured.push((name, c, pts(&n.gbps)));
                }
            }
            TimeChartKind::Cpu => {
                for c in &run.cpu {
                    let i = model.iter().position(|l| l.label == c.host);
                    shown.extend(i);
                    let col = i.map_or(egui::Color32::GRAY, |i| color(model[i].color));
                    measured.push((format!("measured {}", c.host), col, pts(&c.pct)));
                }
            }
        }
        Plot::new(("measured-run", k, unit))
            .width(w)
            .height(230.0)
            // Room after the migration for the key, so it covers no sample (more on a narrow
            // plot, where the key takes a larger share).
            .legend(Legend::default().position(Corner::RightTop))
            .y_axis_label(unit)
            .x_axis_label("s from the migration's start")
            .include_x(from - start)
            .include_x((to - start) * if w < 620.0 { 2.6 } else { 1.8 })
            .include_y(0.0)
            .allow_scroll(false)
            .show(ui, |p| {
                for &i in &shown {
                    let l = &model[i];
                    let line =
                        Line::new(format!("model {}", l.label), clip(l.points(sim.series())));
                    p.line(line.color(color(l.color)).width(2.0).allow_band(false));
                }
                for (name, c, pts) in measured {
                    p.points(Points::new(name.clone(), pts.clone()).color(c).radius(3.0));
                    p.line(Line::new(name, pts).color(c).width(1.0));
                }
            });
    }
}

/// A button that starts the migration the run is of (from where the VM is now, so the user sees
/// it happen), when the lab is on the run's source host.
fn migrate_button(ui: &mut egui::Ui, lab: &LabState, run: &MeasuredRun, actions: &mut Actions) {
    let spec = lab.spec();
    let Some(i) = spec.vms.iter().position(|v| v.name == run.vm) else {
        return;
    };
    // Where the VM runs now (it may have moved since the lab began).
    let Some(host) = lab
        .sim()
        .vm_view(i)
        .and_then(|(h, _, _)| spec.hosts.get(h))
        .map(|h| h.name.clone())
    else {
        return;
    };
    if lab
        .sim()
        .migrations()
        .iter()
        .any(|m| m.vm == i && m.ended.is_none())
    {
        ui.label(format!("{} is migrating now", run.vm));
        return;
    }
    let source = run.from.clone().unwrap_or_else(|| host.clone());
    let to = if host != source {
        source.clone()
    } else {
        match run.to.clone().or_else(|| {
            spec.hosts
                .iter()
                .map(|h| h.name.clone())
                .find(|h| *h != host)
        }) {
            Some(t) => t,
            None => return,
        }
    };
    let text = if host != source {
        format!(
            "Move {} to {source} first (the measurement started there)",
            run.vm
        )
    } else {
        format!("Migrate {} to {to} now", run.vm)
    };
    if ui.button(text).clicked() {
        actions.push(LabAction::Apply(Command::Migrate {
            vm: run.vm.clone(),
            to,
        }));
        actions.push(ViewAction::Play);
    }
}

fn calibration(ui: &mut egui::Ui, lab: &LabState, m: &MeasuredSet, actions: &mut Actions) {
    ui.heading("Calibrate the transport's costs");
    ui.label(
        "Fits the cycles-per-byte costs to the runs' throughput and CPU by bounded least \
         squares; costs the runs do not constrain are kept and named.",
    );
    let busy = lab.work().is_some();
    if ui
        .add_enabled(
            !busy && !m.data.runs.is_empty(),
            egui::Button::new("Fit the costs to these runs"),
        )
        .clicked()
    {
        actions.push(JobAction::Calibrate);
    }
    let Some(c) = &m.calibration else {
        return;
    };
    ui.add_space(6.0);
    ui.strong(format!(
        "Error of each measured number, before and after (chi-square {:.2} → {:.2})",
        c.chi2_before, c.chi2_after
    ));
    residuals(ui, c);
    ui.add_space(6.0);
    ui.strong("Parameters");
    params(ui, c);
    ui.add_space(6.0);
    let mut settings = lab.spec().settings();
    let applied = settings.transport == c.transport;
    settings.transport = c.transport.clone();
    if ui
        .add_enabled(
            !applied,
            egui::Button::new(if applied {
                "Applied to the lab"
            } else {
                "Apply to the lab"
            }),
        )
        .on_hover_text("Sets the fitted [transport] costs on the lab (Undo takes them back)")
        .clicked()
    {
        actions.push(LabAction::Edit(Edit::SetSettings(Box::new(settings))));
    }
}

fn residuals(ui: &mut egui::Ui, c: &Calibration) {
    egui::Grid::new("calibration-residuals")
        .striped(true)
        .num_columns(6)
        .spacing([14.0, 4.0])
        .show(ui, |ui| {
            for h in ["run", "", "measured", "before", "after", "error after"] {
                ui.strong(h);
            }
            ui.end_row();
            for r in &c.residuals {
                // The run without its files (the table above names them).
                let run = r.observation.split(" (").next().unwrap_or(&r.observation);
                ui.label(lmlab_engine::limits::excerpt(run, 40));
                ui.label(&r.quantity);
                ui.label(format!("{:.3}", r.measured));
                ui.label(format!(
                    "{:.3} ({:+.1} σ)",
                    r.before,
                    (r.before - r.measured) / r.sigma
                ));
                ui.label(format!(
                    "{:.3} ({:+.1} σ)",
                    r.after,
                    (r.after - r.measured) / r.sigma
                ));
                ui.label(if r.measured.abs() > 1e-12 {
                    format!("{:+.1} %", 100.0 * (r.after - r.measured) / r.measured)
                } else {
                    String::new()
                });
                ui.end_row();
            }
        });
}

fn params(ui: &mut egui::Ui, c: &Calibration) {
    egui::Grid::new("calibration-params")
        .striped(true)
        .num_columns(4)
        .spacing([14.0, 4.0])
        .show(ui, |ui| {
            for h in ["parameter", "before", "after", ""] {
                ui.strong(h);
            }
            ui.end_row();
            for p in &c.params {
                ui.label(egui::RichText::new(&p.name).monospace());
                ui.label(format!("{:.4}", p.before));
                let status = match &p.status {
                    Status::Fitted { sigma } => {
                        ui.label(format!("{:.4} ± {sigma:.4}", p.after));
                        "fitted".to_string()
                    }
                    Status::AtBound { bound } => {
                        ui.label(format!("{:.4}", p.after));
                        format!("fitted to its bound {bound}")
                    }
                    Status::NotConstrained { needs } => {
                        ui.label("kept");
                        format!("not constrained: would need {needs}")
                    }
                    Status::NotSeparable { from, needs } => {
                        ui.label("kept");
                        format!("moves with {}: would need {needs}", from.join(", "))
                    }
                };
                ui.add(egui::Label::new(status).wrap());
                ui.end_row();
            }
        });
}
