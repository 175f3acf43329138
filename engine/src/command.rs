//! Commands: everything a user, a script or a test can do to a running lab. The GUI turns clicks
//! into these, the scenario script into timed ones, and sessions store them with their times so a
//! session replays exactly. Verbs are named after what an admin does (turmoil style), and refer to
//! things by name so stored sessions stay readable.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Live-migrate a VM to another host (`Move-ClusterVirtualMachineRole -MigrationType Live`).
    Migrate {
        vm: String,
        to: String,
    },
    /// Force-stop the cluster service (`Stop-Process -Name clussvc -Force`): an ungraceful failure.
    CrashClusterService {
        node: String,
    },
    /// The cluster service comes back after a crash (as the service manager restarts it).
    RestartClusterService {
        node: String,
    },
    /// Stop the cluster service cleanly (`Stop-ClusterNode`): drains the node first.
    StopClusterService {
        node: String,
    },
    /// `Start-ClusterNode` after a clean stop.
    StartClusterService {
        node: String,
    },
    /// Hard power-off of a node.
    PowerOff {
        node: String,
    },
    PowerOn {
        node: String,
    },
    /// Pull one NIC's cable.
    PullNic {
        node: String,
        nic: String,
    },
    PlugNic {
        node: String,
        nic: String,
    },
    /// Cut every cluster network of a node (the node keeps running).
    CutNetworks {
        node: String,
    },
    HealNetworks {
        node: String,
    },
    /// Storage becomes unreachable: the whole share / volume, or only from one node if `node` is set.
    LoseStorage {
        storage: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<String>,
    },
    RestoreStorage {
        storage: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<String>,
    },
    /// `Suspend-ClusterNode -Drain`: pause the node and move its roles off.
    PauseNode {
        node: String,
    },
    /// `Resume-ClusterNode`.
    ResumeNode {
        node: String,
    },
    /// `Start-ClusterNode -ClearQuarantine`.
    ClearQuarantine {
        node: String,
    },
    /// Run the Integration Services setup over outdated ones (Action → Insert Integration Services
    /// Setup Disk, then setup in the guest); on the seed's old guests it can end with error 1603.
    UpgradeIntegrationServices {
        vm: String,
    },
    /// Remove the Integration Services from the guest (a restart finishes the removal).
    UninstallIntegrationServices {
        vm: String,
    },
    /// Restart the guest operating system: its Heartbeat is No Contact until it is back.
    RebootGuest {
        vm: String,
    },
    /// Install the Integration Services on a guest that has none (after an uninstall and restart).
    InstallIntegrationServices {
        vm: String,
    },
    /// Run a Replay Manager backup set now (a manual run).
    RunBackupSet {
        set: String,
    },
    /// A third-party backup (Veeam, DPM) uses the hardware VSS provider on a node: its shadow-copy
    /// set is in creation for `duration`.
    ThirdPartyBackup {
        node: String,
        duration: crate::time::SimDuration,
    },
    /// Modify a backup set in place (Replay Manager 7.6): new restore points are kept `keep`;
    /// existing ones keep the retention they were created with.
    ModifyBackupSet {
        set: String,
        keep: u32,
    },
    /// A trainer's caption: text shown at this time (and a marker on the time axis); with `pause`,
    /// the window pauses the clock there. Changes nothing in the lab.
    Caption {
        text: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        pause: bool,
    },
}

/// How a command's effect is classified in the event log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandKind {
    Fault,
    Repair,
    Operation,
    /// A caption: text for the audience, no effect on the lab.
    Caption,
}

/// What each action needs, for the scenario loader's messages and the docs.
pub const ACTIONS: &[(&str, &[&str])] = &[
    ("migrate", &["vm", "to"]),
    ("crash_cluster_service", &["node"]),
    ("restart_cluster_service", &["node"]),
    ("stop_cluster_service", &["node"]),
    ("start_cluster_service", &["node"]),
    ("power_off", &["node"]),
    ("power_on", &["node"]),
    ("pull_nic", &["node", "nic"]),
    ("plug_nic", &["node", "nic"]),
    ("cut_networks", &["node"]),
    ("heal_networks", &["node"]),
    ("lose_storage", &["storage"]),
    ("restore_storage", &["storage"]),
    ("pause_node", &["node"]),
    ("resume_node", &["node"]),
    ("clear_quarantine", &["node"]),
    ("caption", &["text"]),
    ("upgrade_integration_services", &["vm"]),
    ("uninstall_integration_services", &["vm"]),
    ("reboot_guest", &["vm"]),
    ("install_integration_services", &["vm"]),
    ("run_backup_set", &["set"]),
    ("third_party_backup", &["node", "duration"]),
    ("modify_backup_set", &["set", "keep"]),
];

impl Command {
    pub fn kind(&self) -> CommandKind {
        use Command::*;
        match self {
            CrashClusterService { .. }
            | PowerOff { .. }
            | PullNic { .. }
            | CutNetworks { .. }
            | LoseStorage { .. }
            | ThirdPartyBackup { .. } => CommandKind::Fault,
            RestartClusterService { .. }
            | PowerOn { .. }
            | PlugNic { .. }
            | HealNetworks { .. }
            | RestoreStorage { .. }
            | ClearQuarantine { .. } => CommandKind::Repair,
            Migrate { .. }
            | StopClusterService { .. }
            | StartClusterService { .. }
            | PauseNode { .. }
            | ResumeNode { .. }
            | UpgradeIntegrationServices { .. }
            | UninstallIntegrationServices { .. }
            | RebootGuest { .. }
            | InstallIntegrationServices { .. }
            | RunBackupSet { .. }
            | ModifyBackupSet { .. } => CommandKind::Operation,
            Caption { .. } => CommandKind::Caption,
        }
    }

    /// The thing the command acts on, as the event log's subject.
    pub fn subject(&self) -> &str {
        use Command::*;
        match self {
            Migrate { vm, .. }
            | UpgradeIntegrationServices { vm }
            | UninstallIntegrationServices { vm }
            | RebootGuest { vm }
            | InstallIntegrationServices { vm } => vm,
            RunBackupSet { set } | ModifyBackupSet { set, .. } => set,
            ThirdPartyBackup { node, .. } => node,
            CrashClusterService { node }
            | RestartClusterService { node }
            | StopClusterService { node }
            | StartClusterService { node }
            | PowerOff { node }
            | PowerOn { node }
            | PullNic { node, .. }
            | PlugNic { node, .. }
            | CutNetworks { node }
            | HealNetworks { node }
            | PauseNode { node }
            | ResumeNode { node }
            | ClearQuarantine { node } => node,
            LoseStorage { storage, .. } | RestoreStorage { storage, .. } => storage,
            Caption { .. } => "caption",
        }
    }

    /// A one-line description for logs and menus.
    pub fn describe(&self) -> String {
        use Command::*;
        match self {
            Migrate { vm, to } => format!("live migration of {vm} to {to} requested"),
            CrashClusterService { node } => {
                format!("cluster service on {node} crashed (forced stop)")
            }
            RestartClusterService { node } => format!("cluster service on {node} restarted"),
            StopClusterService { node } => format!("cluster service on {node} stopped cleanly"),
            StartClusterService { node } => format!("cluster service on {node} started"),
            PowerOff { node } => format!("{node} powered off"),
            PowerOn { node } => format!("{node} powered on"),
            PullNic { node, nic } => format!("{nic} on {node} unplugged"),
            PlugNic { node, nic } => format!("{nic} on {node} plugged in"),
            CutNetworks { node } => format!("cluster networks of {node} cut"),
            HealNetworks { node } => format!("cluster networks of {node} restored"),
            LoseStorage {
                storage,
                node: None,
            } => format!("storage {storage} lost"),
            LoseStorage {
                storage,
                node: Some(n),
            } => format!("{n} lost its path to {storage}"),
            RestoreStorage {
                storage,
                node: None,
            } => format!("storage {storage} restored"),
            RestoreStorage {
                storage,
                node: Some(n),
            } => format!("{n} regained its path to {storage}"),
            PauseNode { node } => format!("{node} paused, draining roles"),
            ResumeNode { node } => format!("{node} resumed"),
            ClearQuarantine { node } => {
                format!("quarantine of {node} cleared (Start-ClusterNode -ClearQuarantine)")
            }
            UpgradeIntegrationServices { vm } => {
                format!("Integration Services setup disk inserted in {vm}: upgrade started")
            }
            UninstallIntegrationServices { vm } => {
                format!("Integration Services removal started in {vm}")
            }
            RebootGuest { vm } => format!("guest of {vm} restarted"),
            InstallIntegrationServices { vm } => {
                format!("Integration Services setup started in {vm}")
            }
            RunBackupSet { set } => format!("backup set {set} run now (manual)"),
            ThirdPartyBackup { node, duration } => format!(
                "a third-party backup on {node} uses the hardware VSS provider for {duration}"
            ),
            ModifyBackupSet { set, keep } => {
                format!("backup set {set} modified: keep {keep} restore points")
            }
            Caption { text, .. } => text.clone(),
        }
    }
}

/// A command with the simulated time it takes effect, as scripts and sessions hold them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimedCommand {
    pub at: crate::time::SimDuration,
    #[serde(flatten)]
    pub command: Command,
}
