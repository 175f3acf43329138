//! The event log, newest last, reading like a cluster log: time, subject, event ID, message.

use lmlab_engine::sim::LogEvent;

pub fn show(ui: &mut egui::Ui, events: &[LogEvent]) {
    ui.strong("Event log");
    egui::ScrollArea::vertical()
        .stick_to_bottom(true)
        .auto_shrink([false, false])
        .show_rows(
            ui,
            ui.text_style_height(&egui::TextStyle::Monospace),
            events.len(),
            |ui, rows| {
                for e in &events[rows] {
                    ui.monospace(format!(
                        "{:>10.3}s  {:<12} {:>5}  {}",
                        e.t.as_secs_f64(),
                        e.subject,
                        e.event_id.map(|i| i.to_string()).unwrap_or_default(),
                        e.detail
                    ));
                }
            },
        );
}
