//! Migrations in flight: one arrow per pair of hosts with one label (a VM's phase and progress,
//! or how many VMs are moving and the slowest one's progress), so labels never pile up over the
//! host boxes.

use super::scene::{MOVING, Pen};
use lmlab_engine::sim::Phase;
use std::collections::BTreeMap;

pub(super) fn arrows(pen: &Pen<'_>) {
    let spec = pen.lab.spec();
    let sim = pen.lab.sim();
    let rects = &pen.scene.host_rects;
    // Migrations in flight, grouped by (source, destination).
    let mut pairs: BTreeMap<(usize, usize), Vec<&lmlab_engine::sim::Migration>> = BTreeMap::new();
    for m in sim.migrations() {
        if matches!(
            m.phase,
            Phase::Queued | Phase::Setup | Phase::Precopy | Phase::SwitchOver | Phase::Resume
        ) {
            pairs.entry((m.from, m.to)).or_default().push(m);
        }
    }
    for ((from, to), migs) in pairs {
        let (a, b) = (rects[from], rects[to]);
        let (p, q) = (
            a.center() + egui::vec2(0.0, 10.0),
            b.center() + egui::vec2(0.0, 10.0),
        );
        pen.painter.arrow(p, q - p, egui::Stroke::new(3.0, MOVING));
        let what = |m: &lmlab_engine::sim::Migration| match m.phase {
            Phase::Queued => "queued".to_string(),
            Phase::Precopy => format!(
                "pass {} · {:.0} %",
                m.passes + 1,
                100.0 * m.stage_progress(sim.now())
            ),
            p => format!("{p:?}"),
        };
        let text = match migs.as_slice() {
            [m] => format!("{} {}", spec.vms[m.vm].name, what(m)),
            [first, ..] => {
                // The moving migration furthest behind tells when the group will be done.
                let queued = migs.iter().filter(|m| m.phase == Phase::Queued).count();
                let slowest = migs
                    .iter()
                    .filter(|m| m.phase != Phase::Queued || queued == migs.len())
                    .min_by(|x, y| {
                        (x.passes, x.stage_progress(sim.now()))
                            .partial_cmp(&(y.passes, y.stage_progress(sim.now())))
                            .unwrap_or(std::cmp::Ordering::Equal)
                    })
                    .unwrap_or(first);
                let waiting = if queued > 0 && queued < migs.len() {
                    format!(", {queued} queued")
                } else {
                    String::new()
                };
                format!("{} VMs · {}{waiting}", migs.len(), what(slowest))
            }
            [] => continue,
        };
        // In the gap between the two boxes when they sit side by side, so the label covers
        // neither host's text.
        let x = if a.right() <= b.left() {
            (a.right() + b.left()) / 2.0
        } else if b.right() <= a.left() {
            (b.right() + a.left()) / 2.0
        } else {
            (p.x + q.x) / 2.0
        };
        let t = if (q.x - p.x).abs() > 1.0 {
            ((x - p.x) / (q.x - p.x)).clamp(0.0, 1.0)
        } else {
            0.5
        };
        let at = p + (q - p) * t - egui::vec2(0.0, 6.0);
        let galley = pen.painter.layout_no_wrap(text, pen.font.clone(), MOVING);
        let r = egui::Align2::CENTER_BOTTOM.anchor_size(at, galley.size());
        pen.painter.rect_filled(
            r.expand(2.0),
            3.0,
            pen.visuals.extreme_bg_color.gamma_multiply(0.85),
        );
        pen.painter.galley(r.min, galley, MOVING);
    }
}
