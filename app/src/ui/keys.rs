//! Keyboard shortcuts: read once per frame (unless a text field has the keyboard) and turned into
//! the same actions the menus push. `SHORTCUTS` is what Help → Keyboard shortcuts lists.

use super::action::{Actions, FileAction, LabAction, ViewAction};
use super::state::{LabState, Unsaved};
use egui::{Key, KeyboardShortcut, Modifiers};

/// Every shortcut: keys as shown, what it does.
pub const SHORTCUTS: &[(&str, &str)] = &[
    ("Space", "play / pause"),
    ("→", "step to the next event"),
    ("←", "back to the previous event"),
    (
        "Home",
        "restart from 0:00:00 (the commands given play again)",
    ),
    ("Ctrl+Z", "undo the last lab edit or command"),
    ("Ctrl+Shift+Z, Ctrl+Y", "redo"),
    ("Ctrl+S", "save"),
    ("Ctrl+Shift+S", "save as"),
    ("Ctrl+O", "open"),
    ("Ctrl+E", "export charts, CSV and report"),
    ("F", "fit the canvas to the lab"),
    ("F5", "presentation mode on / off"),
    ("Delete", "delete the selection (undoable)"),
    ("Esc", "close the open dialog"),
    ("F1", "this list"),
];

fn pressed(ctx: &egui::Context, modifiers: Modifiers, key: Key) -> bool {
    ctx.input_mut(|i| i.consume_shortcut(&KeyboardShortcut::new(modifiers, key)))
}

pub fn read(ctx: &egui::Context, lab: &LabState, actions: &mut Actions) {
    if ctx.egui_wants_keyboard_input() {
        return;
    }
    let cmd = Modifiers::COMMAND;
    let cmd_shift = Modifiers::COMMAND | Modifiers::SHIFT;
    // Longer combinations first: consuming Ctrl+Z would also match Ctrl+Shift+Z.
    if pressed(ctx, cmd_shift, Key::Z) || pressed(ctx, cmd, Key::Y) {
        actions.push(LabAction::Redo);
    }
    if pressed(ctx, cmd, Key::Z) {
        actions.push(LabAction::Undo);
    }
    if pressed(ctx, cmd_shift, Key::S) {
        actions.push(FileAction::SaveAs);
    }
    if pressed(ctx, cmd, Key::S) {
        actions.push(FileAction::Save);
    }
    if pressed(ctx, cmd, Key::O) {
        actions.push(FileAction::Open);
    }
    if pressed(ctx, cmd, Key::E) {
        actions.push(FileAction::Export);
    }
    let none = Modifiers::NONE;
    if pressed(ctx, none, Key::Space) {
        actions.push(ViewAction::PlayPause);
    }
    if pressed(ctx, none, Key::ArrowRight) {
        actions.push(ViewAction::Step);
    }
    if pressed(ctx, none, Key::ArrowLeft) {
        actions.push(ViewAction::StepBack);
    }
    if pressed(ctx, none, Key::Home) {
        actions.push(ViewAction::Restart);
    }
    if pressed(ctx, none, Key::F) {
        actions.push(ViewAction::FitCanvas);
    }
    if pressed(ctx, none, Key::F5) {
        actions.push(ViewAction::TogglePresentation);
    }
    if pressed(ctx, none, Key::F1) {
        actions.push(ViewAction::ShowShortcuts(!lab.screen.show_shortcuts));
    }
    if pressed(ctx, none, Key::Escape) {
        escape(lab, actions);
    }
}

/// Esc closes the topmost dialog.
fn escape(lab: &LabState, actions: &mut Actions) {
    if lab.path_prompt().is_some() {
        actions.push(FileAction::PromptDone(None));
    } else if lab.screen.unsaved.is_some() {
        actions.push(FileAction::Unsaved(Unsaved::Cancel));
    } else if lab.pending().is_some() {
        actions.push(LabAction::CancelMigration);
    } else if lab.screen.show_shortcuts {
        actions.push(ViewAction::ShowShortcuts(false));
    } else if lab.screen.show_welcome {
        actions.push(ViewAction::CloseWelcome);
    }
}
