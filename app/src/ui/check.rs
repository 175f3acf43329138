//! The Check view: the lab's pre-flight checks (`lmlab_engine::check`, the same rules as
//! `lmlab check`), each PASS / WARN / FAIL with its subject, reason and source; and, for a lab
//! imported from an inventory, how its live-migration settings were resolved and what the import
//! could not model.

use super::state::LabState;
use lmlab_engine::check::{Verdict, check};

/// Okabe–Ito colours, with the verdict's word on each so greyscale and colour-blind readers see it.
fn badge(v: Verdict) -> egui::Color32 {
    match v {
        Verdict::Pass => egui::Color32::from_rgb(0, 158, 115),
        Verdict::Warn => egui::Color32::from_rgb(230, 159, 0),
        Verdict::Fail => egui::Color32::from_rgb(213, 94, 0),
    }
}

pub fn show(ui: &mut egui::Ui, lab: &LabState) {
    let imported = lab.results.inventory.as_ref();
    let findings = check(lab.spec(), imported.map(|i| &i.imported.facts));
    let count = |v: Verdict| findings.iter().filter(|f| f.verdict == v).count();
    ui.heading(format!("Pre-flight checks of {}", lab.spec().name));
    ui.label(format!(
        "{} failed, {} warnings, {} passed — the rules of `lmlab check`{}",
        count(Verdict::Fail),
        count(Verdict::Warn),
        count(Verdict::Pass),
        if imported.is_some() {
            ", with the inventory's own rules"
        } else {
            " (import an inventory for the rules on management networks, limits and DCBX)"
        }
    ));
    ui.add_space(6.0);
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            // Worst first, then in rule order; each finding on two lines: verdict, rule and
            // subject; under them the reason and its source.
            let mut sorted: Vec<_> = findings.iter().collect();
            sorted.sort_by_key(|f| std::cmp::Reverse(f.verdict));
            for (k, f) in sorted.into_iter().enumerate() {
                ui.horizontal(|ui| {
                    let word = egui::RichText::new(format!(" {} ", f.verdict.word()))
                        .strong()
                        .monospace()
                        .color(egui::Color32::BLACK)
                        .background_color(badge(f.verdict));
                    ui.label(word);
                    ui.strong(f.rule);
                    ui.label(format!("— {}", f.subject));
                });
                ui.indent(("finding", k), |ui| {
                    ui.add(egui::Label::new(&f.reason).wrap());
                    ui.label(egui::RichText::new(f.source).weak().small());
                });
                ui.add_space(4.0);
            }
            if let Some(i) = imported {
                ui.add_space(12.0);
                ui.heading(format!("Imported from {}", i.file.display()));
                ui.strong("How live migration was resolved");
                egui::Grid::new("check-decisions")
                    .striped(true)
                    .num_columns(3)
                    .spacing([12.0, 6.0])
                    .show(ui, |ui| {
                        for d in &i.imported.decisions {
                            ui.label(&d.subject);
                            ui.label(format!("{} = {}", d.what, d.value));
                            ui.add(egui::Label::new(&d.rule).wrap());
                            ui.end_row();
                        }
                    });
                ui.add_space(6.0);
                ui.strong("Not modelled");
                for w in &i.imported.warnings {
                    ui.label(format!("• {w}"));
                }
            }
        });
}
