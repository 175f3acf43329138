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
    Preset {
        file: "four-1gbe.toml",
        title: "4 x 1 GbE: Multichannel vs teaming vs compression",
        text: include_str!("../../assets/scenarios/four-1gbe.toml"),
    },
    Preset {
        file: "one-1gbe-compression.toml",
        title: "1 x 1 GbE: compression",
        text: include_str!("../../assets/scenarios/one-1gbe-compression.toml"),
    },
    Preset {
        file: "smb-direct-no-pfc.toml",
        title: "SMB Direct on a switch without PFC",
        text: include_str!("../../assets/scenarios/smb-direct-no-pfc.toml"),
    },
    Preset {
        file: "rdma-one-host.toml",
        title: "RDMA on one host only",
        text: include_str!("../../assets/scenarios/rdma-one-host.toml"),
    },
    Preset {
        file: "backup-night.toml",
        title: "Backup night: Replay Manager, VSS and Integration Services",
        text: include_str!("../../assets/scenarios/backup-night.toml"),
    },
    Preset {
        file: "two-1gbe-netns.toml",
        title: "2 x 1 GbE links: one TCP connection vs Multichannel",
        text: include_str!("../../assets/scenarios/two-1gbe-netns.toml"),
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
