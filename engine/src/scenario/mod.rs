//! Scenario files: loading, validation and the validated [`Scenario`].
//!
//! Invariants of a [`Scenario`]: every name is unique in its kind, every reference (a VM's host and
//! storage, a NIC's switch, team members, script and configuration targets) resolves, every number
//! is inside its documented range, and the script is sorted by time (stable for equal times).
//! Any file that breaks one of these is refused with one error naming file, line and column.

mod edit;
mod spec;
mod validate;

pub use edit::{Edit, EditError, LabSettings, Thing};
pub use spec::*;

use crate::command::TimedCommand;
use crate::located::{Located, ReadError, read_text};
use std::path::Path;

/// One place in a scenario document, like `hosts[0].nics[1].speed`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

pub(crate) fn path_to_string(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Why a scenario was refused. `Display` gives the one line a user sees.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{file}: cannot read the scenario: {error}")]
    Io {
        file: String,
        // Not a `source`: the message already holds it, and error chains would print it twice.
        error: std::io::Error,
    },
    #[error(transparent)]
    Invalid(Located),
}

impl ScenarioError {
    /// (line, column), 1-based, when the error points into the file.
    pub fn location(&self) -> Option<(usize, usize)> {
        match self {
            ScenarioError::Invalid(l) => Some((l.line, l.column)),
            ScenarioError::Io { .. } => None,
        }
    }
}

/// Why a lab built in code (the GUI's inspector and canvas, tests) is not a valid scenario: the
/// field path and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SpecError {
    /// Like `hosts[0].nics[1].speed`.
    pub path: String,
    pub message: String,
}

/// A validated scenario, ready to simulate.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub spec: ScenarioSpec,
    /// The script as commands, sorted by time.
    pub script: Vec<TimedCommand>,
}

/// The largest scenario file we read; anything bigger is surely not a lab description.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

impl Scenario {
    /// Reads and validates a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = read_text(path, MAX_FILE_BYTES, "scenarios").map_err(|e| match e {
            ReadError::Io(error) => ScenarioError::Io {
                file: path.display().to_string(),
                error,
            },
            ReadError::Invalid(l) => ScenarioError::Invalid(l),
        })?;
        Scenario::from_toml(&text, &path.display().to_string())
    }

    /// Parses and validates scenario text; `file` names it in errors.
    pub fn from_toml(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
        let at = |offset: usize, message: String| {
            ScenarioError::Invalid(Located::at_offset(file, text.as_bytes(), offset, message))
        };
        let toml_err = |e: toml::de::Error| {
            let offset = e.span().map_or(0, |s| s.start);
            at(offset, e.message().trim().to_string())
        };
        let doc = toml::de::DeTable::parse(text).map_err(toml_err)?;

        // Check the version before the fields, so a newer file says "newer" rather than "unknown field".
        match doc.get_ref().get("format_version") {
            None => {
                return Err(at(
                    0,
                    format!(
                        "`format_version` is missing: add `format_version = {FORMAT_VERSION}` at the top"
                    ),
                ));
            }
            Some(v) => {
                let n = v
                    .get_ref()
                    .as_integer()
                    .and_then(|i| i.as_str().parse::<i64>().ok());
                match n {
                    Some(n) if n == i64::from(FORMAT_VERSION) => {}
                    Some(n) if n > i64::from(FORMAT_VERSION) => {
                        return Err(at(
                            v.span().start,
                            format!(
                                "format_version {n} was written by a newer lmlab; this build reads version {FORMAT_VERSION}"
                            ),
                        ));
                    }
                    _ => {
                        return Err(at(
                            v.span().start,
                            format!("`format_version` must be {FORMAT_VERSION}"),
                        ));
                    }
                }
            }
        }

        let spec: ScenarioSpec = toml::from_str(text).map_err(toml_err)?;
        let script = validate::validate(&spec).map_err(|(path, message)| {
            let offset = span_of_path(doc.get_ref(), &path).unwrap_or(0);
            let where_ = path_to_string(&path);
            at(offset, format!("{where_}: {message}"))
        })?;
        Ok(Scenario { spec, script })
    }

    /// Validates a spec built in code (the GUI's inspector, tests). Errors name the field path.
    pub fn from_spec(spec: ScenarioSpec) -> Result<Scenario, SpecError> {
        let script = validate::validate(&spec).map_err(|(path, message)| SpecError {
            path: path_to_string(&path),
            message,
        })?;
        Ok(Scenario { spec, script })
    }

    /// Writes the scenario back as TOML (what the GUI saves).
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(&self.spec)
    }

    pub fn host(&self, name: &str) -> Option<(usize, &HostSpec)> {
        self.spec
            .hosts
            .iter()
            .enumerate()
            .find(|(_, h)| h.name == name)
    }

    pub fn vm(&self, name: &str) -> Option<(usize, &VmSpec)> {
        self.spec
            .vms
            .iter()
            .enumerate()
            .find(|(_, v)| v.name == name)
    }

    /// The migration settings a host runs with (scenario defaults plus its overrides).
    pub fn migration_settings(&self, host: usize) -> MigrationSettings {
        match self.spec.hosts.get(host) {
            Some(h) => self.spec.migration.with(&h.migration),
            None => self.spec.migration.clone(),
        }
    }
}

/// The byte offset where `path` starts in the parsed document, or the nearest existing parent's.
fn span_of_path(root: &toml::de::DeTable<'_>, path: &[Seg]) -> Option<usize> {
    let (first, rest) = path.split_first()?;
    let Seg::Key(k) = first else { return None };
    let mut cur = root.get(k.as_str())?;
    let mut best = Some(cur.span().start);
    for seg in rest {
        let next = match seg {
            Seg::Key(k) => cur.get_ref().get(k.as_str()),
            Seg::Index(i) => cur.get_ref().get(*i),
        };
        match next {
            Some(n) => {
                cur = n;
                best = Some(cur.span().start);
            }
            None => break,
        }
    }
    best
}
