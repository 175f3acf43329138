//! The one-click report: a PDF of A4 landscape pages, each drawn as an SVG (the charts are the
//! exported ones; the tables are laid out here) and put into the PDF by krilla, text embedded
//! with the chart font. Pages: the lab; the comparison table and chart (when the lab has
//! configurations); the node and VM timeline and the throughput chart over the time window;
//! the migrations; forecast warnings, the model's assumptions and how to reproduce the report.

use super::axis::{TimeWindow, clock_label};
use super::{Chart, ChartError, Drawing, FONT, svg, time_chart_with};
use crate::compare::CompareReport;
use crate::report::Report;
use crate::sim::Simulation;
use std::fmt::Write as _;

/// A page in SVG pixels (A4 landscape's proportions).
const PAGE: (u32, u32) = (1600, 1131);

/// The report of a run as PDF bytes. `report` is the run's report (as `report.json` holds it),
/// `compare` the comparison of the lab's configurations when it has any; `command` is how to
/// make the same report again; `measured` runs are drawn beside the model's throughput and CPU
/// and their errors get a page.
pub fn report_pdf(
    sim: &Simulation,
    report: &Report,
    compare: Option<&CompareReport>,
    window: TimeWindow,
    command: &str,
    measured: &[crate::measured::MeasuredRun],
) -> Result<Vec<u8>, ChartError> {
    let mut pages = vec![lab_page(sim, window)];
    if let Some(c) = compare {
        pages.push(compare_page(c));
        pages.push(chart_page(
            "Comparison",
            &svg(&Drawing::Compare(c), (1600, 1000))?,
        ));
    }
    pages.push(chart_page(
        "Timeline",
        &svg(&Drawing::States(sim, window), (1600, 1000))?,
    ));
    let tc = time_chart_with(sim, Chart::Throughput, window, measured);
    pages.push(chart_page(
        "Throughput",
        &svg(&Drawing::Time(&tc), (1600, 1000))?,
    ));
    if !measured.is_empty() {
        let cpu = time_chart_with(sim, Chart::Cpu, window, measured);
        pages.push(chart_page(
            "Live-migration CPU, measured beside the model",
            &svg(&Drawing::Time(&cpu), (1600, 1000))?,
        ));
        pages.extend(measured_pages(sim, measured));
    }
    pages.extend(migration_pages(report));
    pages.push(notes_page(sim, report, command));
    to_pdf(&pages)
}

/// An SVG page being written: a white sheet, text and rules at pixel positions.
struct Sheet {
    body: String,
}

impl Sheet {
    fn new() -> Sheet {
        Sheet {
            body: String::new(),
        }
    }

    fn text(&mut self, x: f64, y: f64, size: f64, bold: bool, text: &str) {
        let weight = if bold { " font-weight=\"bold\"" } else { "" };
        let _ = write!(
            self.body,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" font-family=\"{FONT}\" font-size=\"{size}\"{weight} fill=\"#141414\">{}</text>",
            escape(text)
        );
    }

    fn rule(&mut self, y: f64) {
        let _ = write!(
            self.body,
            "<line x1=\"60\" y1=\"{y:.1}\" x2=\"1540\" y2=\"{y:.1}\" stroke=\"#bbbbbb\" stroke-width=\"1\"/>"
        );
    }

    /// A table: a header row and rows, columns starting at `xs`; returns the y under it.
    fn table(&mut self, mut y: f64, xs: &[f64], header: &[&str], rows: &[Vec<String>]) -> f64 {
        for (x, h) in xs.iter().zip(header) {
            self.text(*x, y, 19.0, true, h);
        }
        self.rule(y + 10.0);
        y += 36.0;
        for r in rows {
            let cells = cell_lines(xs, r);
            for (x, lines) in xs.iter().zip(&cells) {
                for (i, line) in lines.iter().enumerate() {
                    self.text(*x, y + LINE * i as f64, 18.0, false, line);
                }
            }
            y += row_height(&cells);
        }
        y
    }

    fn heading(&mut self, text: &str) {
        self.text(60.0, 80.0, 34.0, true, text);
        self.rule(100.0);
    }

    fn finish(self) -> String {
        let (w, h) = PAGE;
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\"><rect width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>{}</svg>",
            self.body
        )
    }
}

/// Line spacing inside a table cell, and the most lines a cell wraps to.
const LINE: f64 = 22.0;
const CELL_LINES: usize = 3;

/// Each cell of a table row as its lines, wrapped to the room before the next column.
fn cell_lines(xs: &[f64], row: &[String]) -> Vec<Vec<String>> {
    xs.iter()
        .zip(row)
        .enumerate()
        .map(|(k, (x, cell))| {
            let room = xs.get(k + 1).map_or(1540.0 - x, |next| next - x - 12.0);
            wrap(cell, room, 18.0, CELL_LINES)
        })
        .collect()
}

/// The height of a table row whose cells are `cells`.
fn row_height(cells: &[Vec<String>]) -> f64 {
    let lines = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
    30.0 + LINE * (lines - 1) as f64
}

/// `text` on one line, cut with "…" to about `w` pixels at `size`.
fn clip(text: &str, w: f64, size: f64) -> String {
    wrap(text, w, size, 1).concat()
}

/// `text` wrapped at spaces to about `w` pixels at `size` (by an average glyph width), in at most
/// `max_lines` lines; what does not fit ends the last line with "…".
fn wrap(text: &str, w: f64, size: f64, max_lines: usize) -> Vec<String> {
    let max = (w / (size * 0.5)).max(4.0) as usize;
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > max {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    let cut = lines.len() > max_lines;
    lines.truncate(max_lines);
    for l in &mut lines {
        if l.chars().count() > max {
            *l = l.chars().take(max - 1).collect::<String>() + "…";
        }
    }
    if cut && let Some(last) = lines.last_mut() {
        // Drop the words that leave no room for the mark (or cut a single long word).
        while last.chars().count() >= max {
            match last.trim_end_matches('…').rfind(' ') {
                Some(i) => last.truncate(i),
                None => *last = last.chars().take(max - 1).collect(),
            }
        }
        if !last.ends_with('…') {
            last.push('…');
        }
    }
    lines
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Page 1: what the lab is and what this report covers.
fn lab_page(sim: &Simulation, window: TimeWindow) -> String {
    let spec = &sim.scenario().spec;
    let mut s = Sheet::new();
    s.heading(&spec.name);
    let run = format!(
        "Simulated with lmlab {} (seed {}) to {}; the charts show {} to {}.",
        env!("CARGO_PKG_VERSION"),
        sim.seed(),
        clock_label(sim.now().as_secs_f64(), 1.0),
        clock_label(window.from_s, 1.0),
        clock_label(window.to_s, 1.0)
    );
    s.text(60.0, 145.0, 20.0, false, &run);
    s.text(60.0, 200.0, 24.0, true, "Hosts");
    let hosts: Vec<Vec<String>> = spec
        .hosts
        .iter()
        .map(|h| {
            let nics: Vec<String> = h
                .nics
                .iter()
                .map(|n| format!("{} {}{}", n.name, n.speed, rdma_note(n)))
                .collect();
            vec![
                h.name.clone(),
                format!(
                    "{}×{} cores{} @ {} GHz",
                    h.sockets,
                    h.cores_per_socket,
                    if h.smt { " (SMT)" } else { "" },
                    h.clock_ghz
                ),
                h.memory.to_string(),
                nics.join(", "),
                format!("{:?}", h.teaming.mode),
                format!(
                    "{:?}",
                    h.migration
                        .performance_option
                        .unwrap_or(spec.migration.performance_option)
                ),
            ]
        })
        .collect();
    let xs = [60.0, 220.0, 480.0, 640.0, 1160.0, 1360.0];
    let header = [
        "Host",
        "Processors",
        "Memory",
        "NICs",
        "Teaming",
        "LM option",
    ];
    let shown = &hosts[..hosts.len().min(20)];
    let mut y = s.table(240.0, &xs, &header, shown);
    if hosts.len() > shown.len() {
        s.text(
            60.0,
            y,
            18.0,
            false,
            &format!("… and {} more hosts", hosts.len() - shown.len()),
        );
        y += 30.0;
    }
    let c = &spec.cluster;
    let cluster = format!(
        "Cluster {}: functional level {}, {:?}, resiliency period {} s, quarantine after {} failures in an hour; {} VMs, {} switches, {} storage.",
        c.name,
        c.functional_level,
        c.resiliency_level,
        c.resiliency_default_period.as_secs_f64(),
        c.quarantine_threshold,
        spec.vms.len(),
        spec.switches.len(),
        spec.storage.len()
    );
    s.text(60.0, y + 30.0, 18.0, false, &clip(&cluster, 1480.0, 18.0));
    s.finish()
}

fn rdma_note(n: &crate::scenario::NicSpec) -> &'static str {
    use crate::scenario::RdmaKind;
    match n.rdma {
        RdmaKind::None => "",
        RdmaKind::RoCE => " RoCE",
        RdmaKind::IWarp => " iWARP",
        RdmaKind::InfiniBand => " InfiniBand",
    }
}

/// The comparison as a table.
fn compare_page(c: &CompareReport) -> String {
    let mut s = Sheet::new();
    s.heading("Comparison of configurations");
    let rows: Vec<Vec<String>> = c
        .rows
        .iter()
        .map(|r| {
            let reference = r.reference.as_ref().map_or(String::new(), |f| {
                let t = f
                    .throughput_gbps
                    .map_or(String::new(), |v| format!("{v:.1} Gbit/s"));
                let u = f.cpu_pct.map_or(String::new(), |v| format!(" {v:.0} %"));
                t + &u
            });
            vec![
                r.name.clone(),
                format!(
                    "{:.1} ({:.1}–{:.1})",
                    r.throughput_gbps, r.throughput_min_gbps, r.throughput_max_gbps
                ),
                format!("{:.1} %", r.cpu_src_pct),
                format!("{:.1} %", r.cpu_dst_pct),
                r.path.clone(),
                reference,
            ]
        })
        .collect();
    let xs = [60.0, 500.0, 680.0, 780.0, 880.0, 1390.0];
    let header = [
        "Configuration",
        "Gbit/s (range)",
        "Source",
        "Dest.",
        "Path",
        "Measured",
    ];
    let y = s.table(150.0, &xs, &header, &rows);
    let note = format!(
        "Median of {} trials per configuration (seed {}); CPU is live-migration CPU of each host.",
        c.rows.iter().map(|r| r.trials).max().unwrap_or(1),
        c.seed
    );
    s.text(60.0, y + 20.0, 18.0, false, &note);
    s.finish()
}

/// Each measured run's errors against the model (`lmlab overlay`'s table), a page per 30 rows.
fn measured_pages(sim: &Simulation, measured: &[crate::measured::MeasuredRun]) -> Vec<String> {
    let cs = crate::measured::overlay::compare(sim, measured);
    let mut rows: Vec<Vec<String>> = Vec::new();
    for c in &cs {
        let run = c.run.split(" (").next().unwrap_or(&c.run).to_string();
        if let Some(n) = &c.note {
            rows.push(vec![run.clone(), n.clone()]);
        }
        for q in &c.quantities {
            rows.push(vec![
                run.clone(),
                q.name.clone(),
                format!("{:.3} {}", q.measured, q.unit),
                format!("{:.3} {}", q.model, q.unit),
                format!("{:+.3} {}", q.error(), q.unit),
                q.error_pct()
                    .map_or(String::new(), |p| format!("{p:+.1} %")),
            ]);
        }
    }
    let xs = [60.0, 420.0, 820.0, 1020.0, 1220.0, 1420.0];
    let header = [
        "Run",
        "Quantity",
        "Measured",
        "Model",
        "Model − measured",
        "",
    ];
    let files: Vec<String> = cs.iter().map(|c| c.run.clone()).collect();
    paginate(&rows, &xs)
        .into_iter()
        .map(|part| {
            let mut s = Sheet::new();
            s.heading("Measured beside the model");
            let y = s.table(150.0, &xs, &header, part);
            let mut y = y + 20.0;
            for f in &files {
                s.text(60.0, y, 16.0, false, f);
                y += LINE;
            }
            s.finish()
        })
        .collect()
}

/// A chart under a heading.
fn chart_page(title: &str, chart: &str) -> String {
    let mut s = Sheet::new();
    s.heading(title);
    let inner = chart.replacen("<svg ", "<svg x=\"0\" y=\"120\" ", 1);
    s.body.push_str(&inner);
    s.finish()
}

/// The migrations, a page per 28.
fn migration_pages(report: &Report) -> Vec<String> {
    let rows: Vec<Vec<String>> = report
        .migrations
        .iter()
        .map(|m| {
            let ms = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{:.1} s", v / 1e3));
            let pause = m.downtime_ms.map_or("—".to_string(), |v| {
                let over = if m.pause_over_target {
                    " (over target)"
                } else {
                    ""
                };
                format!("{v:.0} ms{over}")
            });
            vec![
                m.vm.clone(),
                format!("{} to {}", m.from, m.to),
                clock_label(m.start_s.unwrap_or(m.requested_s), 1.0),
                ms(m.total_time_ms),
                pause,
                m.iterations.to_string(),
                m.path.clone(),
                m.outcome.map_or(m.phase.clone(), |o| format!("{o:?}")),
            ]
        })
        .collect();
    let xs = [60.0, 260.0, 520.0, 660.0, 790.0, 990.0, 1080.0, 1380.0];
    let header = [
        "VM", "From, to", "Start", "Total", "Pause", "Passes", "Path", "Outcome",
    ];
    if rows.is_empty() {
        let mut s = Sheet::new();
        s.heading("Migrations");
        s.text(60.0, 150.0, 20.0, false, "No migration in this run.");
        return vec![s.finish()];
    }
    let chunks = paginate(&rows, &xs);
    let pages = chunks.len();
    chunks
        .iter()
        .enumerate()
        .map(|(k, chunk)| {
            let mut s = Sheet::new();
            s.heading(&if pages > 1 {
                format!("Migrations ({} of {pages})", k + 1)
            } else {
                "Migrations".to_string()
            });
            s.table(150.0, &xs, &header, chunk);
            s.finish()
        })
        .collect()
}

/// Rows split into pages: as many as fit under a page's heading.
fn paginate<'r>(rows: &'r [Vec<String>], xs: &[f64]) -> Vec<&'r [Vec<String>]> {
    let room = f64::from(PAGE.1) - 186.0 - 60.0;
    let mut pages = Vec::new();
    let (mut start, mut used) = (0, 0.0);
    for (i, r) in rows.iter().enumerate() {
        let h = row_height(&cell_lines(xs, r));
        if used + h > room && i > start {
            pages.push(&rows[start..i]);
            (start, used) = (i, 0.0);
        }
        used += h;
    }
    pages.push(&rows[start..]);
    pages
}

/// What the model assumes, in short; the model documents have each parameter's basis.
const ASSUMPTIONS: [&str; 6] = [
    "Transport: flows are solved over NICs, teams and RSS queues; CPU is cycles per byte on each logical processor at the host's clock (docs/transport-model.md).",
    "Live migration: pre-copy passes at the solved rate against each VM's dirty rate, then a pause for what is left and the device state (docs/migration-model.md).",
    "Cluster: WS2016 VM Compute Resiliency (isolation, Unmonitored, quarantine), dynamic quorum, drains (docs/cluster-model.md).",
    "Figures are a model's, not measurements: the seed's nine measured rows are reproduced from physical parameters, within their tolerances.",
    "Time is simulated and deterministic: the same lab, seed and commands give the same report.",
    "What the models leave out is listed in docs/transport-model.md and docs/cluster-model.md (\"not modelled\").",
];

/// Forecast warnings, assumptions and how to make this report again.
fn notes_page(sim: &Simulation, report: &Report, command: &str) -> String {
    let mut s = Sheet::new();
    s.heading("Warnings, assumptions, reproduction");
    let mut y = 160.0;
    s.text(60.0, y, 24.0, true, "Forecast warnings");
    y += 40.0;
    let warnings: Vec<String> = report
        .migrations
        .iter()
        .filter_map(|m| {
            m.forecast
                .warning
                .as_ref()
                .map(|w| format!("{}: {w}", m.vm))
        })
        .collect();
    if warnings.is_empty() {
        s.text(
            60.0,
            y,
            18.0,
            false,
            "None: every migration was forecast to converge.",
        );
        y += 30.0;
    }
    for w in warnings.iter().take(8) {
        s.text(60.0, y, 18.0, false, &clip(w, 1480.0, 18.0));
        y += 30.0;
    }
    y += 30.0;
    s.text(60.0, y, 24.0, true, "Assumptions");
    y += 40.0;
    for a in ASSUMPTIONS {
        s.text(60.0, y, 18.0, false, &clip(a, 1480.0, 18.0));
        y += 30.0;
    }
    y += 30.0;
    s.text(60.0, y, 24.0, true, "Reproduce");
    y += 40.0;
    let again = format!(
        "lmlab {} · seed {} · {}",
        env!("CARGO_PKG_VERSION"),
        sim.seed(),
        command
    );
    s.text(60.0, y, 18.0, false, &clip(&again, 1480.0, 18.0));
    s.finish()
}

/// The pages as one PDF: each SVG read with the chart font and drawn on an A4 landscape page.
fn to_pdf(pages: &[String]) -> Result<Vec<u8>, ChartError> {
    use krilla::Document;
    use krilla::geom::Size;
    use krilla::page::PageSettings;
    use krilla_svg::{SurfaceExt, SvgSettings};
    let (opt, family) = super::render_options();
    let a4 = (842.0_f32, 595.0_f32);
    let mut doc = Document::new();
    for (k, page) in pages.iter().enumerate() {
        let svg = super::with_family(page, family);
        let tree = resvg::usvg::Tree::from_str(&svg, opt)
            .map_err(|e| ChartError::Draw(format!("report page {}: {e}", k + 1)))?;
        let settings = PageSettings::from_wh(a4.0, a4.1)
            .ok_or_else(|| ChartError::Draw("the page size".into()))?;
        let mut p = doc.start_page_with(settings);
        let mut surface = p.surface();
        let size = Size::from_wh(a4.0, a4.1).ok_or_else(|| ChartError::Draw("size".into()))?;
        surface
            .draw_svg(&tree, size, SvgSettings::default())
            .ok_or_else(|| ChartError::Draw(format!("report page {}", k + 1)))?;
        surface.finish();
        p.finish();
    }
    doc.finish()
        .map_err(|e| ChartError::Draw(format!("cannot write the PDF: {e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_wraps_at_spaces_and_marks_what_does_not_fit() {
        // 10 characters to a line at 18 px in 90 px.
        assert_eq!(
            wrap("SMB Direct over nic1", 90.0, 18.0, 3),
            ["SMB Direct", "over nic1"]
        );
        assert_eq!(wrap("short", 90.0, 18.0, 3), ["short"]);
        assert_eq!(
            wrap("one two three four five six seven", 90.0, 18.0, 2),
            ["one two", "three…"]
        );
        assert_eq!(wrap("abcdefghijklmnop", 90.0, 18.0, 2), ["abcdefghi…"]);
        assert_eq!(clip("one two three four", 90.0, 18.0), "one two…");
    }
}
