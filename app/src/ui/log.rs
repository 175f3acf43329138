//! The event log, reading like a cluster log: time, subject, event ID, message. Filterable by
//! text and kind; clicking a line moves the plot cursor to its time.

use super::action::{Actions, ViewAction};
use super::state::LabState;
use super::widgets::labeled;
use lmlab_engine::sim::{EventKind, JobOutcome, Mark};

/// Which kinds of lines are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kinds {
    pub faults: bool,
    pub nodes: bool,
    pub vms: bool,
    pub migrations: bool,
}

impl Default for Kinds {
    fn default() -> Self {
        Kinds {
            faults: true,
            nodes: true,
            vms: true,
            migrations: true,
        }
    }
}

impl Kinds {
    fn shows(&self, k: EventKind) -> bool {
        match k {
            EventKind::Fault | EventKind::Repair | EventKind::Operation | EventKind::Caption => {
                self.faults
            }
            EventKind::NodeState => self.nodes,
            // A guest's Integration Services and its backups are VM lines.
            EventKind::VmState | EventKind::Backup | EventKind::IntegrationServices => self.vms,
            EventKind::MigrationStart | EventKind::MigrationPhase | EventKind::MigrationEnd => {
                self.migrations
            }
        }
    }
}

/// The log's own view state: its filter (reset when another lab opens).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogView {
    pub filter: String,
    pub kinds: Kinds,
    /// The lab generation the filter belongs to.
    generation: u64,
    /// Rows shown last frame: when more arrive, the log scrolls to the newest.
    seen_rows: usize,
}

/// The colour of a log line.
fn line_color(ui: &egui::Ui, e: &lmlab_engine::sim::LogEvent) -> egui::Color32 {
    match e.kind {
        EventKind::Fault => ui.visuals().error_fg_color,
        EventKind::Repair => egui::Color32::from_rgb(46, 160, 90),
        EventKind::Caption => egui::Color32::from_rgb(86, 180, 233),
        EventKind::NodeState if e.event_id.is_some() => ui.visuals().warn_fg_color,
        EventKind::Backup | EventKind::IntegrationServices
            if matches!(
                e.mark,
                Mark::VssConflict | Mark::BackupEnded(JobOutcome::Failed | JobOutcome::Discarded)
            ) || e.event_id.is_some() =>
        {
            ui.visuals().warn_fg_color
        }
        _ => ui.visuals().text_color(),
    }
}

/// The latest `n` events, newest last, for presentation mode: time, subject and text, wrapped.
pub fn latest(ui: &mut egui::Ui, lab: &LabState, n: usize, actions: &mut Actions) {
    ui.heading("Latest events");
    ui.label(egui::RichText::new("newest first").weak());
    // Newest first, so the newest is on screen however many fit under the caption.
    let events = lab.sim().events();
    for e in events[events.len().saturating_sub(n)..].iter().rev() {
        let t = e.t.as_secs_f64();
        let (h, m, s) = (t as u64 / 3600, t as u64 / 60 % 60, t % 60.0);
        let text = format!("{h}:{m:02}:{s:04.1}  {}  {}", e.subject, e.detail);
        let resp = ui.add(
            egui::Label::new(egui::RichText::new(text).color(line_color(ui, e)))
                .wrap()
                .sense(egui::Sense::click()),
        );
        if resp.clicked() {
            actions.push(ViewAction::SetCursor(t));
        }
    }
}

pub fn show(ui: &mut egui::Ui, lab: &LabState, view: &mut LogView, actions: &mut Actions) {
    if view.generation != lab.doc.generation {
        *view = LogView {
            generation: lab.doc.generation,
            ..LogView::default()
        };
    }
    ui.heading("Event log");
    labeled(ui, "Filter", |ui| ui.text_edit_singleline(&mut view.filter));
    ui.horizontal_wrapped(|ui| {
        ui.checkbox(&mut view.kinds.faults, "Faults & commands");
        ui.checkbox(&mut view.kinds.nodes, "Nodes");
        ui.checkbox(&mut view.kinds.vms, "VMs");
        ui.checkbox(&mut view.kinds.migrations, "Migrations");
    });
    ui.separator();
    let filter = view.filter.to_lowercase();
    let kinds = view.kinds;
    let events = lab.sim().events();
    let rows: Vec<usize> = (0..events.len())
        .filter(|&i| {
            let e = &events[i];
            kinds.shows(e.kind)
                && (filter.is_empty()
                    || e.subject.to_lowercase().contains(&filter)
                    || e.detail.to_lowercase().contains(&filter)
                    || e.event_id.is_some_and(|id| id.to_string() == filter))
        })
        .collect();
    let row_h = ui.text_style_height(&egui::TextStyle::Monospace) + 4.0;
    // New rows scroll the log to the newest once (not every frame, as `stick_to_bottom` would,
    // which keeps some layouts repainting).
    let mut area = egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .animated(false);
    if rows.len() != view.seen_rows {
        // The offset that shows the last row at the bottom (past it, the area would spring back).
        let content = rows.len() as f32 * (row_h + ui.spacing().item_spacing.y);
        let bottom = (content - ui.available_height()).max(0.0);
        area = area.vertical_scroll_offset(bottom);
        view.seen_rows = rows.len();
    }
    area.show_rows(ui, row_h, rows.len(), |ui, range| {
        for &i in &rows[range] {
            let e = &events[i];
            let color = line_color(ui, e);
            let text = format!(
                "{:>9.3}  {:<10} {:>5}  {}",
                e.t.as_secs_f64(),
                e.subject,
                e.event_id.map(|i| i.to_string()).unwrap_or_default(),
                e.detail
            );
            let selected = lab.clock.cursor_t == Some(e.t.as_secs_f64());
            let resp = ui
                .add(
                    egui::Button::selectable(
                        selected,
                        egui::RichText::new(text).monospace().color(color),
                    )
                    .truncate(),
                )
                .on_hover_text(&e.detail);
            if resp.clicked() {
                actions.push(ViewAction::SetCursor(e.t.as_secs_f64()));
            }
        }
    });
}
