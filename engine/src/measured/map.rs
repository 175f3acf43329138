//! Names in measurement files → names in the lab. PerfMon paths name hosts as Windows does
//! (`HV1`, sometimes `hv1.contoso.local`) and NICs by their interface description (`Mellanox
//! ConnectX-3 Pro Ethernet Adapter #2`, which the `Network Adapter` set writes as `… _2`); the lab
//! names them as the user or the importer did. A name matches case-insensitively, a host also by
//! the first label of its DNS name, a NIC also by the description the importer kept. What still
//! does not match the user maps with a `--map` file (or the window's dialog):
//!
//! ```toml
//! [hosts]
//! HV1 = "hv1"
//! [nics]
//! "HV1/Mellanox ConnectX-3 Pro Ethernet Adapter" = "SMB1"   # or the instance alone
//! [vms]
//! "APP02" = "app02"
//! [migration]      # what the measured migration was, when the files do not say
//! vm = "app02"
//! from = "hv1"
//! to = "hv2"
//! [counters]       # PerfMon names of another language → the English ones lmlab reads
//! "Prozessorinformationen" = "Processor Information"
//! ```

use crate::scenario::ScenarioSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The user's mapping of measured names to lab names.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NameMap {
    pub hosts: BTreeMap<String, String>,
    pub nics: BTreeMap<String, String>,
    pub vms: BTreeMap<String, String>,
    pub migration: MigrationHint,
    /// Counter-set and counter names as a localized Windows writes them → the English names.
    pub counters: BTreeMap<String, String>,
}

/// What the measured migration was, for files that do not say (a `lmlab real` run without a
/// scenario, or counters without the live-migration set).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MigrationHint {
    pub vm: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// A name the lab does not have, with where it was seen.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unmapped {
    pub kind: NameKind,
    pub name: String,
    pub file: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NameKind {
    Host,
    Nic,
    Vm,
}

impl NameKind {
    pub fn word(self) -> &'static str {
        match self {
            NameKind::Host => "host",
            NameKind::Nic => "NIC",
            NameKind::Vm => "VM",
        }
    }
}

/// `Network Adapter` instances are descriptions with `(`→`[`, `)`→`]`, `#`→`_`, `/`→`_`.
fn transformed(description: &str) -> String {
    description
        .chars()
        .map(|c| match c {
            '(' => '[',
            ')' => ']',
            '#' | '/' | '\\' => '_',
            c => c,
        })
        .collect()
}

fn same(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

impl NameMap {
    /// Reads a `--map` file's text; errors say the line.
    pub fn parse(text: &str, file: &str) -> Result<NameMap, String> {
        toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1))
                .unwrap_or(1);
            format!("{file}:{line}: {}", e.message())
        })
    }

    /// The English name of a counter set or counter (itself when the map has no translation).
    pub fn counter<'a>(&'a self, name: &'a str) -> &'a str {
        self.counters
            .iter()
            .find(|(k, _)| same(k, name))
            .map_or(name, |(_, v)| v.as_str())
    }

    /// The lab's host for a measured host name.
    pub fn host(&self, spec: &ScenarioSpec, name: &str) -> Option<String> {
        if let Some(v) = self.hosts.iter().find(|(k, _)| same(k, name)).map(|x| x.1) {
            return spec.hosts.iter().any(|h| h.name == *v).then(|| v.clone());
        }
        let first_label = name.split('.').next().unwrap_or(name);
        spec.hosts
            .iter()
            .find(|h| same(&h.name, name) || same(&h.name, first_label))
            .map(|h| h.name.clone())
    }

    /// The lab's VM for a measured VM name.
    pub fn vm(&self, spec: &ScenarioSpec, name: &str) -> Option<String> {
        if let Some(v) = self.vms.iter().find(|(k, _)| same(k, name)).map(|x| x.1) {
            return spec.vms.iter().any(|m| m.name == *v).then(|| v.clone());
        }
        spec.vms
            .iter()
            .find(|v| same(&v.name, name))
            .map(|v| v.name.clone())
    }

    /// The lab's NIC on `host` (a lab host) for a PerfMon instance (`RDMA Activity` writes the
    /// description, `Network Adapter` the transformed description).
    pub fn nic(
        &self,
        spec: &ScenarioSpec,
        measured_host: &str,
        host: &str,
        instance: &str,
    ) -> Option<String> {
        let h = spec.hosts.iter().find(|h| h.name == host)?;
        let qualified = format!("{measured_host}/{instance}");
        let mapped = self
            .nics
            .iter()
            .find(|(k, _)| same(k, &qualified))
            .or_else(|| self.nics.iter().find(|(k, _)| same(k, instance)))
            .map(|x| x.1.clone());
        if let Some(v) = mapped {
            return h.nics.iter().any(|n| n.name == v).then_some(v);
        }
        h.nics
            .iter()
            .find(|n| {
                same(&n.name, instance)
                    || (!n.description.is_empty()
                        && (same(&n.description, instance)
                            || same(&transformed(&n.description), instance)))
            })
            .map(|n| n.name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_network_adapter_instance_is_the_description_transformed() {
        assert_eq!(
            transformed("Intel(R) Ethernet Controller X710 #2"),
            "Intel[R] Ethernet Controller X710 _2"
        );
    }

    #[test]
    fn a_map_file_with_an_unknown_table_is_refused_with_its_line() {
        let e =
            NameMap::parse("[hosts]\nHV1 = \"hv1\"\n[nodes]\nx = \"y\"\n", "m.toml").unwrap_err();
        assert!(e.starts_with("m.toml:3:"), "{e}");
    }
}
