//! Small helpers every panel uses.

use lmlab_engine::SimTime;

/// `h:mm:ss.s` for the simulated clock.
pub fn format_clock(t: SimTime) -> String {
    let total = t.as_secs_f64();
    let h = (total / 3600.0).floor();
    let m = ((total - h * 3600.0) / 60.0).floor();
    let s = total - h * 3600.0 - m * 60.0;
    format!("{h:.0}:{m:02.0}:{s:04.1}")
}

/// A label and a widget, with the widget labelled by the label for screen readers and tests, and
/// the field's hint (what it means) on both.
pub fn labeled(
    ui: &mut egui::Ui,
    text: &str,
    add: impl FnOnce(&mut egui::Ui) -> egui::Response,
) -> egui::Response {
    ui.horizontal(|ui| {
        let l = super::hints::on(ui.label(text), text);
        super::hints::on(add(ui).labelled_by(l.id), text)
    })
    .inner
}
