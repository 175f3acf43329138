//! Session files: a lab, every command the user gave with its simulated time, the seed, the time
//! the user was at, and the canvas layout. Reopening replays the commands on the lab and arrives at
//! exactly the same state (the engine is deterministic). Documented in `docs/session-format.md`.
//!
//! Saving never loses the previous file: it writes a temporary file beside it, flushes it to disk,
//! and renames it over the old one. Loading refuses anything malformed, newer, or hostile with one
//! error naming the file, the line and what is wrong, and never panics.

use crate::command::TimedCommand;
use crate::located::{Located, ReadError, read_text};
use crate::scenario::Scenario;
use crate::sim::Simulation;
use crate::time::{SimDuration, SimTime};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// The session format this build writes and the newest it reads.
pub const SESSION_FORMAT_VERSION: u32 = 1;

/// The largest session file we read.
pub const MAX_SESSION_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionFile {
    pub format_version: u32,
    /// The lmlab that wrote it (informational).
    #[serde(default)]
    pub lmlab_version: String,
    pub seed: u64,
    /// Where the user was in simulated time.
    pub now: SimDuration,
    /// The lab, as a scenario file (TOML text), so it reads like one and loads with the same checks.
    pub scenario: String,
    /// Every command the user gave, with its time, in order.
    #[serde(default)]
    pub commands: Vec<TimedCommand>,
    /// Canvas positions by shape key (`host:NAME`, `switch:NAME`, `storage:NAME`).
    #[serde(default)]
    pub layout: BTreeMap<String, [f32; 2]>,
}

/// Why a session could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("{file}: {what}: {error}")]
    Io {
        file: String,
        what: &'static str,
        // Not a `source`: the message already holds it, and error chains would print it twice.
        error: std::io::Error,
    },
    #[error(transparent)]
    Invalid(Located),
    /// The lab could not be written as a session (a value TOML or JSON cannot hold).
    #[error("cannot write the session: {0}")]
    Encode(String),
}

impl SessionFile {
    /// Captures a running lab.
    pub fn capture(
        sim: &Simulation,
        layout: &BTreeMap<String, [f32; 2]>,
    ) -> Result<SessionFile, SessionError> {
        let scenario = sim
            .scenario()
            .to_toml()
            .map_err(|e| SessionError::Encode(format!("the lab as TOML: {e}")))?;
        Ok(SessionFile {
            format_version: SESSION_FORMAT_VERSION,
            lmlab_version: env!("CARGO_PKG_VERSION").to_string(),
            seed: sim.seed(),
            now: sim.now().since(SimTime::ZERO),
            scenario,
            commands: sim.history().to_vec(),
            layout: layout.clone(),
        })
    }

    /// The session as JSON text (what [`SessionFile::save`] writes).
    pub fn to_json(&self) -> Result<String, SessionError> {
        let mut s = serde_json::to_string_pretty(self)
            .map_err(|e| SessionError::Encode(format!("as JSON: {e}")))?;
        s.push('\n');
        Ok(s)
    }

    /// Parses and checks session text; `file` names it in errors.
    pub fn from_json(text: &str, file: &str) -> Result<SessionFile, SessionError> {
        let invalid = |line: usize, column: usize, message: String| {
            SessionError::Invalid(Located {
                file: file.to_string(),
                line,
                column,
                message,
            })
        };
        // Read the version first, so a newer file says "newer" rather than "unknown field".
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| invalid(e.line(), e.column(), json_message(&e)))?;
        match value
            .get("format_version")
            .and_then(serde_json::Value::as_u64)
        {
            None => {
                return Err(invalid(
                    1,
                    1,
                    "not an lmlab session: `format_version` is missing".into(),
                ));
            }
            Some(v) if v > u64::from(SESSION_FORMAT_VERSION) => {
                return Err(invalid(
                    1,
                    1,
                    format!(
                        "session format {v} was written by a newer lmlab; this build reads version {SESSION_FORMAT_VERSION}"
                    ),
                ));
            }
            Some(v) if v != u64::from(SESSION_FORMAT_VERSION) => {
                return Err(invalid(1, 1, format!("unknown session format {v}")));
            }
            Some(_) => {}
        }
        // serde would take a number for the `action` tag as a variant's index (5 = power_off):
        // a command names its action with a word, or the file is refused.
        if let Some(cmds) = value.get("commands").and_then(serde_json::Value::as_array) {
            for (i, c) in cmds.iter().enumerate() {
                match c.get("action") {
                    Some(serde_json::Value::String(_)) | None => {}
                    Some(other) => {
                        let shown: String = other.to_string().chars().take(40).collect();
                        return Err(invalid(
                            1,
                            1,
                            format!(
                                "commands[{i}].action must be a word like \"power_off\", found {shown}"
                            ),
                        ));
                    }
                }
            }
        }
        let s: SessionFile = serde_json::from_str(text)
            .map_err(|e| invalid(e.line(), e.column(), json_message(&e)))?;
        if s.commands.windows(2).any(|w| w[0].at > w[1].at) {
            return Err(invalid(1, 1, "`commands` are not in time order".into()));
        }
        if s.commands.last().is_some_and(|c| c.at > s.now) {
            return Err(invalid(1, 1, "a command is later than `now`".into()));
        }
        if s.commands.len() > crate::limits::MAX_SCRIPT {
            return Err(invalid(
                1,
                1,
                format!(
                    "{} commands; a session holds at most {}",
                    s.commands.len(),
                    crate::limits::MAX_SCRIPT
                ),
            ));
        }
        if s.now.as_secs_f64() > crate::limits::MAX_RUN_S {
            return Err(invalid(
                1,
                1,
                "`now` is more than a year of simulated time".into(),
            ));
        }
        if s.layout
            .values()
            .any(|p| !p[0].is_finite() || !p[1].is_finite())
        {
            return Err(invalid(
                1,
                1,
                "`layout` holds a position that is not a finite number".into(),
            ));
        }
        Ok(s)
    }

    /// Reads a session file.
    pub fn load(path: &Path) -> Result<SessionFile, SessionError> {
        let file = path.display().to_string();
        let text = read_text(path, MAX_SESSION_BYTES, "sessions").map_err(|e| match e {
            ReadError::Io(error) => SessionError::Io {
                file: file.clone(),
                what: "cannot read the session",
                error,
            },
            ReadError::Invalid(l) => SessionError::Invalid(l),
        })?;
        SessionFile::from_json(&text, &file)
    }

    /// Rebuilds the lab and replays the commands to `now`. Any command the lab refuses means the
    /// file does not describe a real session: it is refused, naming the command.
    pub fn open(&self, file: &str) -> Result<Simulation, SessionError> {
        let scenario = Scenario::from_toml(&self.scenario, &format!("{file} (its scenario)"))
            .map_err(|e| {
                let (line, column) = e.location().unwrap_or((1, 1));
                SessionError::Invalid(Located {
                    file: file.to_string(),
                    line,
                    column,
                    message: format!("the embedded scenario is invalid: {e}"),
                })
            })?;
        let (sim, skipped) = Simulation::replay(
            scenario,
            self.seed,
            &self.commands,
            SimTime::ZERO + self.now,
        );
        if let Some(first) = skipped.first() {
            return Err(SessionError::Invalid(Located::at_start(
                file,
                format!("the session does not replay: {first}"),
            )));
        }
        Ok(sim)
    }

    /// Saves atomically (temporary file, flush, rename over the old file).
    pub fn save(&self, path: &Path) -> Result<(), SessionError> {
        atomic_write(path, self.to_json()?.as_bytes()).map_err(|e| SessionError::Io {
            file: path.display().to_string(),
            what: "cannot save the session",
            error: e,
        })
    }
}

fn json_message(e: &serde_json::Error) -> String {
    // serde_json appends " at line L column C"; the location is in the prefix already.
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Writes `bytes` to `path` so that a crash at any moment leaves either the old file or the new
/// one, never a mixture: temporary file in the same folder, `fsync`, rename over the target.
/// Removes what killed saves of this file left: `.NAME.PID.tmp` of other processes. (Two
/// processes saving one file at the same moment race anyway; the loser's rename then fails with
/// a clear error and the file keeps the winner's bytes.)
fn remove_stale_temps(path: &Path, name: &std::ffi::OsStr) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let ours = format!("{}", std::process::id());
    for e in entries.flatten() {
        let n = e.file_name();
        let n = n.to_string_lossy();
        let Some(pid) = n
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".tmp"))
        else {
            continue;
        };
        if !pid.is_empty() && pid != ours && pid.bytes().all(|b| b.is_ascii_digit()) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

pub fn atomic_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    atomic_write_with(path, |w| w.write_all(bytes))
}

/// [`atomic_write`] for content made while it is written (a long CSV or report): `write` gets a
/// buffered writer to the temporary file, so the content is never held in memory whole.
pub fn atomic_write_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    if path.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "is a folder, expected a file path",
        ));
    }
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    remove_stale_temps(path, name);
    let result = (|| {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        write(&mut f)?;
        let f = f
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable where the platform allows it.
        #[cfg(unix)]
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && let Ok(d) = std::fs::File::open(dir)
        {
            // Best effort: the file itself is already on disk; some file systems refuse this.
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        // The write's own error is what the user sees; a temp file that cannot be removed
        // either is left for the next save to replace.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
