//! Migrations in flight: an arrow from source to destination with the phase and progress.

use super::scene::{MOVING, Pen};
use lmlab_engine::sim::Phase;
use std::collections::BTreeMap;

pub(super) fn arrows(pen: &Pen<'_>) {
    let spec = pen.lab.spec();
    let sim = pen.lab.sim();
    let rects = &pen.scene.host_rects;
    let mut stacked: BTreeMap<(usize, usize), f32> = BTreeMap::new();
    for m in sim.migrations() {
        if !matches!(
            m.phase,
            Phase::Queued | Phase::Setup | Phase::Precopy | Phase::SwitchOver | Phase::Resume
        ) {
            continue;
        }
        let (a, b) = (rects[m.from], rects[m.to]);
        let (p, q) = (
            a.center() + egui::vec2(0.0, 10.0),
            b.center() + egui::vec2(0.0, 10.0),
        );
        pen.painter.arrow(p, q - p, egui::Stroke::new(3.0, MOVING));
        let what = match m.phase {
            Phase::Queued => "queued".to_string(),
            Phase::Precopy => format!(
                "pass {} · {:.0} %",
                m.passes + 1,
                100.0 * m.stage_progress(sim.now())
            ),
            p => format!("{p:?}"),
        };
        let k = stacked.entry((m.from, m.to)).or_insert(0.0);
        let at = p + (q - p) * 0.5 - egui::vec2(0.0, 12.0 + *k);
        *k += 16.0;
        let galley = pen.painter.layout_no_wrap(
            format!("{} {what}", spec.vms[m.vm].name),
            pen.font.clone(),
            MOVING,
        );
        let r = egui::Align2::CENTER_BOTTOM.anchor_size(at, galley.size());
        pen.painter.rect_filled(
            r.expand(2.0),
            3.0,
            pen.visuals.extreme_bg_color.gamma_multiply(0.85),
        );
        pen.painter.galley(r.min, galley, MOVING);
    }
}
