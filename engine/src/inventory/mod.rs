//! A cluster's inventory (`lmlab.inventory/1`, `docs/inventory-format.md`): what the read-only
//! collector `assets/collect/Get-LmlabInventory.ps1` writes, or an admin writes by hand from
//! cmdlet output. [`import`] turns it into a scenario: nodes, NICs, teams, switches inferred from
//! the cluster networks, cluster and migration settings, storage and VMs — with the network live
//! migration really uses resolved as Windows resolves it ([`Decision`]), and warnings for what lmlab
//! cannot model.

mod import;
mod read;

pub use import::{Decision, Facts, Imported, import};
pub use read::decode;

use crate::located::{ReadError, read_bytes};
use std::path::Path;

/// The schema this build reads.
pub const SCHEMA: &str = "lmlab.inventory/1";
/// The largest inventory read: a 64-node cluster's is a few MB.
pub const MAX_INVENTORY_BYTES: u64 = 32 * 1024 * 1024;

/// Why an inventory could not be read or imported.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("{file}: cannot read the inventory: {error}")]
    Io { file: String, error: std::io::Error },
    #[error("{file}: at {path}: {message}")]
    Invalid {
        file: String,
        path: String,
        message: String,
    },
    #[error("{0}")]
    File(crate::located::Located),
}

/// Reads an inventory file (bounded, regular files only) and imports it; `name` names the lab.
pub fn load(path: &Path) -> Result<serde_json::Value, InventoryError> {
    let file = path.display().to_string();
    let bytes = read_bytes(path, MAX_INVENTORY_BYTES, "inventories").map_err(|e| match e {
        ReadError::Io(error) => InventoryError::Io {
            file: file.clone(),
            error,
        },
        ReadError::Invalid(l) => InventoryError::File(l),
    })?;
    parse(&bytes, &file)
}

/// Parses inventory bytes (any of the encodings PowerShell writes) and checks the schema.
pub fn parse(bytes: &[u8], file: &str) -> Result<serde_json::Value, InventoryError> {
    let text = decode(bytes);
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| InventoryError::Invalid {
            file: file.to_string(),
            path: format!("line {}, column {}", e.line(), e.column()),
            message: format!("not JSON: {e}"),
        })?;
    let j = read::J::root(&v, file);
    match j.k("schema").opt_str()? {
        Some(s) if s == SCHEMA => Ok(v),
        Some(s) => j.k("schema").fail(format!(
            "\"{s}\" is not an inventory schema this build reads ({SCHEMA})"
        )),
        None => j.k("schema").fail(format!(
            "missing: an lmlab inventory starts with \"schema\": \"{SCHEMA}\""
        )),
    }
}
