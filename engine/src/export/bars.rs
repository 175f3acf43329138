//! The comparison chart: one column per configuration, named (wrapped) under it. Above,
//! throughput: the model's median bar with its range over the trials and its value, the
//! measured reference as a black diamond. Below, the live-migration CPU of both hosts, source
//! and destination side by side, with the reference CPU as a diamond. Fill, whisker and diamond
//! differ in shape, so model and reference stay apart in greyscale too.

use super::time::{KeyMark, key, put, title};
use super::{
    COMPARE_DST_CPU_RGB, COMPARE_MODEL_RGB, COMPARE_SRC_CPU_RGB, DrawResult, Px, err, rgb,
};
use crate::compare::CompareReport;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

/// Colours: the model's throughput, source and destination CPU (lighter and darker, so they
/// differ in greyscale), the reference.
const MODEL: [u8; 3] = COMPARE_MODEL_RGB;
const SRC_CPU: [u8; 3] = COMPARE_SRC_CPU_RGB;
const DST_CPU: [u8; 3] = COMPARE_DST_CPU_RGB;
const REFERENCE: [u8; 3] = [0, 0, 0];

/// One panel's bars: per configuration, its bars (value, range, colour) and a reference.
struct Panel<'a> {
    title: &'a str,
    unit: &'a str,
    bars: Vec<Vec<Bar>>,
    reference: Vec<Option<Reference>>,
}

/// A measured reference: its value and, when the source gives one, the range it spread over.
#[derive(Clone, Copy)]
struct Reference {
    value: f64,
    range: Option<[f64; 2]>,
}

impl Reference {
    fn of(value: Option<f64>, range: Option<[f64; 2]>) -> Option<Reference> {
        value.map(|value| Reference { value, range })
    }
}

struct Bar {
    value: f64,
    range: Option<(f64, f64)>,
    color: [u8; 3],
}

pub(super) fn draw_compare<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    px: Px,
    r: &CompareReport,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(err)?;
    title(
        root,
        px,
        &format!("{}: live migration by configuration", r.scenario),
    )?;
    let trials = r.rows.iter().map(|x| x.trials).max().unwrap_or(1);
    let ranged = r
        .rows
        .iter()
        .filter_map(|x| x.reference.as_ref())
        .any(|f| f.throughput_range_gbps.is_some() || f.cpu_range_pct.is_some());
    let mut keys = vec![
        (
            format!("model throughput (median of {trials} trials; whisker: their range)"),
            KeyMark::Fill(MODEL),
        ),
        ("source host CPU".to_string(), KeyMark::Fill(SRC_CPU)),
        ("destination host CPU".to_string(), KeyMark::Fill(DST_CPU)),
    ];
    // The reference's key only where there is one to read.
    if r.rows.iter().any(|x| x.reference.is_some()) {
        keys.push((
            if ranged {
                "measured reference (bar: the range measured)".to_string()
            } else {
                "measured reference".to_string()
            },
            KeyMark::Diamond(REFERENCE),
        ));
    }
    key(root, px, &keys, 44.0)?;
    let throughput = Panel {
        title: "Throughput",
        unit: "Gbit/s",
        bars: r
            .rows
            .iter()
            .map(|x| {
                vec![Bar {
                    value: x.throughput_gbps,
                    range: Some((x.throughput_min_gbps, x.throughput_max_gbps)),
                    color: MODEL,
                }]
            })
            .collect(),
        reference: r
            .rows
            .iter()
            .map(|x| {
                x.reference
                    .as_ref()
                    .and_then(|f| Reference::of(f.throughput_gbps, f.throughput_range_gbps))
            })
            .collect(),
    };
    let cpu = Panel {
        title: "Live-migration CPU of each host",
        unit: "CPU %",
        bars: r
            .rows
            .iter()
            .map(|x| {
                vec![
                    Bar {
                        value: x.cpu_src_pct,
                        range: None,
                        color: SRC_CPU,
                    },
                    Bar {
                        value: x.cpu_dst_pct,
                        range: None,
                        color: DST_CPU,
                    },
                ]
            })
            .collect(),
        reference: r
            .rows
            .iter()
            .map(|x| {
                x.reference
                    .as_ref()
                    .and_then(|f| Reference::of(f.cpu_pct, f.cpu_range_pct))
            })
            .collect(),
    };
    let names: Vec<&str> = r.rows.iter().map(|x| x.name.as_str()).collect();
    let body = root.margin(px.u(92.0), 0, 0, 0);
    let h = body.dim_in_pixel().1 / 2;
    let (top, bottom) = body.split_vertically(h);
    panel(root, &top, px, &throughput, &names)?;
    panel(root, &bottom, px, &cpu, &names)?;
    root.present().map_err(err)
}

/// One panel: its bars, value labels, whiskers, reference diamonds and the names under it.
fn panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    px: Px,
    p: &Panel,
    names: &[&str],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let n = names.len().max(1);
    let y_max = p
        .bars
        .iter()
        .flatten()
        .map(|b| b.range.map_or(b.value, |r| r.1).max(b.value))
        .chain(
            p.reference
                .iter()
                .flatten()
                .map(|r| r.range.map_or(r.value, |[_, hi]| hi).max(r.value)),
        )
        .fold(1.0_f64, f64::max)
        * 1.18;
    let mut chart = ChartBuilder::on(area)
        .caption(p.title, px.font(18.0))
        .margin(px.u(10.0))
        .margin_right(px.u(24.0))
        .x_label_area_size(px.u(58.0))
        .y_label_area_size(px.u(64.0))
        .build_cartesian_2d(-0.5..(n as f64 - 0.5), 0.0..y_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc(p.unit)
        .axis_desc_style(px.font(15.0))
        .label_style(px.font(14.0))
        .max_light_lines(1)
        .light_line_style(RGBColor(242, 242, 242))
        .draw()
        .map_err(err)?;
    let to = |x: f64, y: f64| {
        let (a, b) = chart.backend_coord(&(x, y));
        (f64::from(a) / px.0, f64::from(b) / px.0)
    };
    for (i, group) in p.bars.iter().enumerate() {
        let k = group.len() as f64;
        let w = 0.7 / k;
        for (j, b) in group.iter().enumerate() {
            let x0 = i as f64 - 0.35 + w * j as f64;
            let x1 = x0 + w * 0.92;
            let (a, c) = (to(x0, 0.0), to(x1, b.value));
            root.draw(&Rectangle::new(
                [(px.i(a.0), px.i(a.1)), (px.i(c.0), px.i(c.1))],
                rgb(b.color).filled(),
            ))
            .map_err(err)?;
            let mid = (x0 + x1) / 2.0;
            let mut label_y = b.value;
            if let Some((lo, hi)) = b.range {
                whisker(root, px, to(mid, lo), to(mid, hi), [40, 40, 40], 1.5)?;
                label_y = hi;
            }
            let (lx, ly) = to(mid, label_y);
            let text = format!("{:.1}", b.value);
            put(
                root,
                px,
                &text,
                (lx, ly - 4.0),
                13.0,
                [20, 20, 20],
                (HPos::Center, VPos::Bottom),
            )?;
        }
        if let Some(r) = p.reference.get(i).copied().flatten() {
            let x = i as f64 + 0.35 + 0.06;
            if let Some([lo, hi]) = r.range {
                whisker(root, px, to(x, lo), to(x, hi), REFERENCE, 2.5)?;
            }
            diamond(root, px, to(x, r.value))?;
        }
        let (cx, cy) = to(i as f64, 0.0);
        let col_w = (to(1.0, 0.0).0 - to(0.0, 0.0).0) * 0.95;
        for (l, line) in wrap(root, px, names.get(i).copied().unwrap_or(""), col_w)
            .iter()
            .enumerate()
        {
            let at = (cx, cy + 8.0 + l as f64 * 16.0);
            put(
                root,
                px,
                line,
                at,
                13.0,
                [30, 30, 30],
                (HPos::Center, VPos::Top),
            )?;
        }
    }
    Ok(())
}

/// A range as a vertical line with caps, between two screen points (logical pixels).
fn whisker<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    px: Px,
    lo: (f64, f64),
    hi: (f64, f64),
    color: [u8; 3],
    width: f64,
) -> DrawResult {
    let c = rgb(color).stroke_width(px.u(width));
    let seg = |a: (f64, f64), b: (f64, f64)| {
        PathElement::new(vec![(px.i(a.0), px.i(a.1)), (px.i(b.0), px.i(b.1))], c)
    };
    root.draw(&seg(lo, hi)).map_err(err)?;
    root.draw(&seg((lo.0 - 5.0, lo.1), (lo.0 + 5.0, lo.1)))
        .map_err(err)?;
    root.draw(&seg((hi.0 - 5.0, hi.1), (hi.0 + 5.0, hi.1)))
        .map_err(err)
}

/// The reference mark: a black diamond centred at a screen point.
fn diamond<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    px: Px,
    at: (f64, f64),
) -> DrawResult {
    let (x, y) = at;
    let pts = vec![
        (px.i(x), px.i(y - 7.0)),
        (px.i(x + 7.0), px.i(y)),
        (px.i(x), px.i(y + 7.0)),
        (px.i(x - 7.0), px.i(y)),
    ];
    root.draw(&Polygon::new(pts, rgb(REFERENCE).filled()))
        .map_err(err)
}

/// A name broken into at most three lines that fit `w` logical pixels (the last elided).
fn wrap<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    px: Px,
    name: &str,
    w: f64,
) -> Vec<String> {
    let width = |s: &str| {
        root.estimate_text_size(s, &TextStyle::from(px.font(13.0)))
            .map_or(s.len() as f64 * 6.5, |d| f64::from(d.0) / px.0)
    };
    let mut lines: Vec<String> = Vec::new();
    for word in name.split_whitespace() {
        match lines.last_mut() {
            Some(l) if width(&format!("{l} {word}")) <= w => {
                l.push(' ');
                l.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    if lines.len() > 3 {
        let rest = lines.split_off(2).join(" ");
        let mut last: String = rest.chars().collect();
        while width(&format!("{last}…")) > w && last.pop().is_some() {}
        lines.push(format!("{last}…"));
    }
    lines
}
