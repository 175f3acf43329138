//! The preset labs shipped in `assets/scenarios/`, compiled into the binary so `lmlab` works from
//! anywhere without the source tree.

use lmlab_engine::Scenario;

#[derive(Debug)]
pub struct Preset {
    pub file: &'static str,
    pub title: &'static str,
    pub text: &'static str,
}

pub const PRESETS: &[Preset] = &[
    Preset {
        file: "seed-lab.toml",
        title: "Seed lab: 2 hosts, 2 x 10 GbE RDMA",
        text: include_str!("../../assets/scenarios/seed-lab.toml"),
    },
    Preset {
        file: "resiliency-lab.toml",
        title: "Resiliency lab: 4-node WS2016 cluster",
        text: include_str!("../../assets/scenarios/resiliency-lab.toml"),
    },
];

/// The lab `lmlab` opens when no file is given.
pub const DEFAULT_PRESET: &str = "seed-lab.toml";

pub fn load(file: &str) -> anyhow::Result<Scenario> {
    let p = PRESETS
        .iter()
        .find(|p| p.file == file)
        .ok_or_else(|| anyhow::anyhow!("no built-in lab named {file}"))?;
    Ok(Scenario::from_toml(
        p.text,
        &format!("(built-in) {}", p.file),
    )?)
}
