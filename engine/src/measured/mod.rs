//! Measurements to set beside the model (issue 19): so far PerfMon CSV logs
//! ([`perfmon`]), read within a size cap with the encodings PowerShell and the PerfMon tools write.

pub mod perfmon;

use crate::located::{ReadError, read_bytes};
use std::path::Path;

/// The largest measurement file read: a day of 1 s samples of a few hundred counters.
pub const MAX_MEASURED_BYTES: u64 = 64 * 1024 * 1024;

/// Why a measurement file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MeasuredError {
    #[error("{file}: cannot read the measurements: {error}")]
    Io { file: String, error: std::io::Error },
    #[error("{file}:{line}: {message}")]
    Invalid {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{0}")]
    File(crate::located::Located),
}

/// Reads a PerfMon CSV (UTF-8, UTF-16 with a byte-order mark, or Windows-1252).
pub fn load_perfmon(path: &Path) -> Result<perfmon::PerfmonLog, MeasuredError> {
    let file = path.display().to_string();
    let bytes = read_bytes(path, MAX_MEASURED_BYTES, "measurement files").map_err(|e| match e {
        ReadError::Io(error) => MeasuredError::Io {
            file: file.clone(),
            error,
        },
        ReadError::Invalid(l) => MeasuredError::File(l),
    })?;
    perfmon::parse(&crate::inventory::decode(&bytes), &file)
}
