//! One frame of the window: the panels laid out around the lab, each reading the state and
//! pushing actions, then the actions carried out, the clock advanced and finished jobs applied.

use super::action::{Action, Actions};
use super::canvas::{self, CanvasView};
use super::log::{self, LogView};
use super::plots::{PlotShown, TimelineView};
use super::state::{LabState, View};
use super::{calibrate, check, compare, dialogs, inspector, keys, plots, real, theme, toolbar};

/// The window's content: the lab's state and the panels' own view state.
#[derive(Debug)]
pub struct Workbench {
    pub lab: LabState,
    canvas: CanvasView,
    log: LogView,
    timeline: TimelineView,
    fonts_installed: bool,
}

impl Workbench {
    pub fn new(lab: LabState) -> Self {
        Workbench {
            lab,
            canvas: CanvasView::default(),
            log: LogView::default(),
            timeline: TimelineView::default(),
            fonts_installed: false,
        }
    }

    /// Each time plot's range and screen position in the last frame: all the same, by design.
    pub fn timeline_ranges(&self) -> &[(&'static str, PlotShown)] {
        self.timeline.shown()
    }

    /// Carries out one action, as if a panel had pushed it.
    pub fn handle(&mut self, action: impl Into<Action>) {
        self.lab.handle(action);
    }

    /// The window is asked to close: true when it may (nothing unsaved, or the user agreed);
    /// otherwise the unsaved-changes question is shown and the window stays.
    pub fn close_requested(&mut self) -> bool {
        if self.lab.screen.close_now {
            return true;
        }
        self.lab.handle(super::action::FileAction::Close);
        self.lab.screen.close_now
    }

    /// Whether the user agreed to close the window (the app then closes it).
    pub fn closing(&self) -> bool {
        self.lab.screen.close_now
    }

    /// Draws the whole window content and applies what the user did.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        if !self.fonts_installed {
            theme::install_fonts(ui.ctx());
            self.fonts_installed = true;
        }
        theme::apply(ui.ctx(), self.lab.prefs());
        let mut actions = Actions::default();
        self.panels(ui, &mut actions);
        let lab = &mut self.lab;
        lab.screen.view_range = self.timeline.shown().first().map(|(_, s)| s.range);
        lab.autosave();
        if lab.tick(f64::from(ui.ctx().input(|i| i.stable_dt))) {
            ui.ctx().request_repaint();
        }
        for a in actions.take() {
            lab.handle(a);
        }
        lab.finish_work();
        if lab.work().is_some() {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(50));
        }
    }

    fn panels(&mut self, ui: &mut egui::Ui, actions: &mut Actions) {
        let lab = &self.lab;
        egui::Panel::top("toolbar").show(ui, |ui| toolbar::show(ui, lab, actions));
        egui::Panel::bottom("status").show(ui, |ui| toolbar::status_line(ui, lab));
        if lab.work().is_some() {
            egui::Panel::bottom("job").show(ui, |ui| dialogs::job_bar(ui, lab, actions));
        }
        if !lab.prefs().presentation {
            egui::Panel::left("inspector")
                .resizable(true)
                .default_size(290.0)
                .show(ui, |ui| inspector::show(ui, lab, actions));
            // The comparison runs the transport model alone and the checks read the lab alone:
            // no events to log, and their bars, tables and reasons need the width (so do the
            // measured runs' tables).
            if !matches!(
                lab.screen.view,
                View::Compare | View::Check | View::Calibrate
            ) {
                let view = &mut self.log;
                egui::Panel::right("log")
                    .resizable(true)
                    .default_size(470.0)
                    .show(ui, |ui| log::show(ui, lab, view, actions));
            }
        }
        let canvas_view = &mut self.canvas;
        let timeline = &mut self.timeline;
        let presenting = lab.prefs().presentation;
        if presenting && lab.screen.view == View::Lab {
            // Presentation: the latest events beside the lab, so the whole story is on one screen.
            let width = (ui.ctx().content_rect().width() * 0.28).max(240.0);
            egui::Panel::right("latest")
                .resizable(false)
                .exact_size(width)
                .show(ui, |ui| {
                    // The trainer's caption heads the story column, covering nothing.
                    dialogs::caption(ui, lab, actions);
                    plots::state_keys(ui, lab);
                    ui.separator();
                    log::latest(ui, lab, 14, actions);
                });
        }
        egui::CentralPanel::default().show(ui, |ui| match lab.screen.view {
            View::Lab => {
                if !presenting {
                    dialogs::caption(ui, lab, actions);
                }
                let h = ui.available_height();
                // Presentation: the plots take what they need to show every row, the lab the rest.
                let canvas_h = if presenting {
                    (h - timeline.needed_h(ui, lab) - ui.spacing().item_spacing.y - 6.0).max(140.0)
                } else {
                    (h * 0.48).max(160.0)
                };
                ui.allocate_ui(egui::vec2(ui.available_width(), canvas_h), |ui| {
                    canvas::show(ui, lab, canvas_view, actions);
                });
                ui.separator();
                plots::show(ui, lab, timeline, presenting, actions);
            }
            View::Compare => compare::show(ui, lab, actions),
            View::Real => real::show(ui, lab, actions),
            View::Check => check::show(ui, lab),
            View::Calibrate => calibrate::show(ui, lab, actions),
        });
        let ctx = ui.ctx();
        dialogs::migration(ctx, lab, actions);
        if lab.screen.show_welcome && lab.screen.recovery_offer.is_none() {
            dialogs::welcome(ctx, actions);
        }
        dialogs::path_prompt(ctx, lab, actions);
        dialogs::recovery_offer(ctx, lab, actions);
        dialogs::shortcuts(ctx, lab, actions);
        dialogs::unsaved(ctx, lab, actions);
        keys::read(ctx, lab, actions);
    }
}
