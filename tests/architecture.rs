//! The code's shape, checked: the app's files import each other without cycles, panels cannot
//! change the lab, series columns are named in one place, plots and exports never parse log text,
//! no function takes a bundle of arguments behind a lint allow, and no function outside tests runs
//! over 150 lines. Each check reads the source files, so breaking a rule fails here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn files_under(rel: &str) -> Vec<PathBuf> {
    let mut v = Vec::new();
    rust_files(&root().join(rel), &mut v);
    v.sort();
    v
}

/// The code of a file without comments and without its `#[cfg(test)]` module (kept at the end).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .map(|l| match l.find("//") {
            // A `//` inside a string literal is rare in this code base; good enough here.
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module path of a file under `app/src` (`ui/canvas/hosts.rs` → `["ui","canvas","hosts"]`).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut segs: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if segs
        .last()
        .is_some_and(|s| s == "mod" || s == "lib" || s == "main")
    {
        segs.pop();
    }
    segs
}

/// Every path written in `code` that starts with `crate::`, `super::` or a child module name,
/// resolved to module paths (a `{a, b::c}` group counts each member).
fn referenced(code: &str, me: &[String], children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let n = bytes.len();
    let mut i = 0;
    while i < n {
        let starts_word = i == 0
            || !(bytes[i - 1].is_alphanumeric() || bytes[i - 1] == '_' || bytes[i - 1] == ':');
        if !starts_word || !(bytes[i].is_alphabetic() || bytes[i] == '_') {
            i += 1;
            continue;
        }
        // Read a path like a::b::{c, d::e}.
        let mut j = i;
        let mut segs: Vec<String> = Vec::new();
        loop {
            let s = j;
            while j < n && (bytes[j].is_alphanumeric() || bytes[j] == '_') {
                j += 1;
            }
            segs.push(bytes[s..j].iter().collect());
            if j + 1 < n && bytes[j] == ':' && bytes[j + 1] == ':' {
                j += 2;
                if j < n && bytes[j] == '{' {
                    // One level of grouping.
                    let close = (j..n).find(|&k| bytes[k] == '}').unwrap_or(n);
                    let inner: String = bytes[j + 1..close].iter().collect();
                    for part in inner.split(',') {
                        let part = part.trim();
                        if part.is_empty() {
                            continue;
                        }
                        let mut full = segs.clone();
                        full.extend(part.split("::").map(|p| p.trim().to_string()));
                        out.push(full);
                    }
                    j = close;
                    segs.clear();
                    break;
                }
                continue;
            }
            break;
        }
        if segs.len() > 1 {
            out.push(segs);
        }
        i = j.max(i + 1);
    }
    out.into_iter()
        .filter_map(|p| {
            let mut base: Vec<String> = me.to_vec();
            let mut rest = p.as_slice();
            match rest.first().map(String::as_str) {
                Some("crate") => {
                    base.clear();
                    rest = &rest[1..];
                }
                Some("super") => {
                    while rest.first().is_some_and(|s| s == "super") {
                        base.pop();
                        rest = &rest[1..];
                    }
                }
                Some("self") => rest = &rest[1..],
                Some(c) if children.contains(c) => {}
                _ => return None,
            }
            base.extend(rest.iter().cloned());
            Some(base)
        })
        .collect()
}

#[test]
fn the_app_files_import_each_other_without_cycles() {
    let src = root().join("app/src");
    let files = files_under("app/src");
    let modules: BTreeMap<Vec<String>, PathBuf> = files
        .iter()
        .map(|f| (module_of(&src, f), f.clone()))
        .collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (m, f) in &modules {
        let text = code(f);
        let children: BTreeSet<String> = text
            .lines()
            .filter_map(|l| {
                let l = l.trim().trim_start_matches("pub ");
                l.strip_prefix("mod ")
                    .and_then(|r| r.strip_suffix(';'))
                    .map(str::to_string)
            })
            .collect();
        for p in referenced(&text, m, &children) {
            // The longest prefix of the path that is a file of ours.
            if let Some(target) = (1..=p.len())
                .rev()
                .map(|k| p[..k].to_vec())
                .find(|k| modules.contains_key(k))
                && &target != m
            {
                edges.entry(m.clone()).or_default().insert(target);
            }
        }
    }
    // Depth-first search for a cycle.
    fn visit(
        m: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        state: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
    ) {
        state.insert(m.clone(), 1);
        stack.push(m.clone());
        for t in edges.get(m).into_iter().flatten() {
            match state.get(t).copied().unwrap_or(0) {
                1 => {
                    let at = stack.iter().position(|x| x == t).unwrap();
                    let cycle: Vec<String> = stack[at..].iter().map(|x| x.join("::")).collect();
                    panic!("import cycle: {} → {}", cycle.join(" → "), t.join("::"));
                }
                0 => visit(t, edges, state, stack),
                _ => {}
            }
        }
        stack.pop();
        state.insert(m.clone(), 2);
    }
    let mut state = BTreeMap::new();
    for m in modules.keys() {
        if state.get(m).copied().unwrap_or(0) == 0 {
            visit(m, &edges, &mut state, &mut Vec::new());
        }
    }
    // The layering the docs describe: the output layer and the ui's lower layers never reach up.
    let deps = |m: &str| -> BTreeSet<String> {
        let key: Vec<String> = m.split("::").map(str::to_string).collect();
        edges
            .get(&key)
            .into_iter()
            .flatten()
            .map(|t| t.join("::"))
            .collect()
    };
    for (low, high) in [
        ("output", "ui"),
        ("output", "cli"),
        ("output", "gui"),
        ("ui::jobs", "ui::state"),
        ("ui::state", "ui::dispatch"),
        ("ui::action", "ui::dispatch"),
    ] {
        assert!(
            !deps(low)
                .iter()
                .any(|d| d == high || d.starts_with(&format!("{high}::"))),
            "{low} uses {high}: {:?}",
            deps(low)
        );
    }
    assert!(
        deps("ui::jobs").is_empty(),
        "jobs knows nothing of labs: {:?}",
        deps("ui::jobs")
    );
    assert!(
        edges.len() > 20,
        "the import scan found too little: {}",
        edges.len()
    );
}

#[test]
fn no_panel_can_change_the_lab() {
    for f in files_under("app/src/ui") {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if ["dispatch.rs", "state.rs", "frame.rs"].contains(&name.as_str()) {
            continue;
        }
        let text = code(&f);
        assert!(
            !text.contains("&mut LabState") && !text.contains("&mut Simulation"),
            "{} takes the lab mutably",
            f.display()
        );
    }
}

#[test]
fn series_columns_are_named_only_in_the_series_module() {
    // What the column names contain (`hv1.nic1.rx_gbps`, `hv1.lm_cpu_pct`, `lm_gbps`, …).
    let needles = [
        ".rx_gbps",
        ".tx_gbps",
        "lm_cpu_pct",
        ".healthy",
        "vms_running",
        "migrations_active",
        "migrations_queued",
    ];
    let mut files = files_under("app/src");
    files.extend(files_under("engine/src"));
    files.extend(files_under("real/src"));
    for f in files {
        if f.ends_with("sim/series.rs") {
            continue;
        }
        for (k, line) in code(&f).lines().enumerate() {
            // Only string literals (the column names), not identifiers or doc text.
            let quoted: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
            for q in quoted {
                assert!(
                    q != "lm_gbps" && !needles.iter().any(|n| q.contains(n)),
                    "{}:{}: a series column named outside sim/series.rs: {line}",
                    f.display(),
                    k + 1
                );
            }
        }
    }
}

#[test]
fn plots_and_exports_read_log_structure_not_text() {
    for rel in [
        "app/src/ui/plots.rs",
        "engine/src/export/mod.rs",
        "engine/src/export/axis.rs",
        "engine/src/export/time.rs",
        "engine/src/export/bars.rs",
        "engine/src/chart.rs",
    ] {
        let text = code(&root().join(rel));
        assert!(!text.contains("starts_with"), "{rel} parses text");
        assert!(!text.contains("detail.contains"), "{rel} parses log text");
    }
}

#[test]
fn no_function_hides_a_bundle_of_arguments_or_runs_over_150_lines() {
    let mut files = files_under("app/src");
    files.extend(files_under("engine/src"));
    files.extend(files_under("real/src"));
    files.extend(files_under("engine/benches"));
    files.extend(files_under("app/benches"));
    let mut long = Vec::new();
    for f in &files {
        let text = code(f);
        assert!(
            !text.contains("too_many_arguments"),
            "{} allows too_many_arguments",
            f.display()
        );
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim_start();
            let is_fn = (t.starts_with("fn ")
                || t.starts_with("pub fn ")
                || t.starts_with("pub(crate) fn ")
                || t.starts_with("pub(super) fn ")
                || t.starts_with("async fn ")
                || t.starts_with("pub async fn "))
                && !t.ends_with(';');
            if !is_fn {
                continue;
            }
            let indent = l.len() - t.len();
            let end = lines[i + 1..]
                .iter()
                .position(|x| {
                    x.len() > indent && x.starts_with(&format!("{}}}", " ".repeat(indent)))
                        || (x.trim() == "}" && x.len() - x.trim_start().len() == indent)
                })
                .map_or(0, |p| p + 1);
            if end > 150 {
                long.push(format!("{}:{} ({} lines): {}", f.display(), i + 1, end, t));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over 150 lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn architecture_md_names_every_source_file() {
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let mut missing = Vec::new();
    for dir in ["app/src", "engine/src", "real/src"] {
        for f in files_under(dir) {
            let rel = f
                .strip_prefix(root())
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let rel = rel.trim_start_matches("./").to_string();
            let folder = format!("`{}/`", rel.rsplit_once('/').map_or("", |x| x.0));
            if !doc.contains(&format!("`{rel}`")) && !doc.contains(&folder) {
                missing.push(rel);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md does not name: {missing:?}"
    );
}
