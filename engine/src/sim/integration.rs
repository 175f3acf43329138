//! Integration Services per VM (backup-and-is.md §6): what is installed in the guest, what its
//! running components speak, and the setup, removal and restart that change them. The status
//! rows are `Get-VMIntegrationService`'s; the backup model reads [`IntegrationState::vss_ok`].
//!
//! Invariants:
//! - at most one activity (setup, removal, restart) runs in a guest at a time, and a timer only
//!   ends the activity it was set for (its generation);
//! - the components speak the installed version only after a restart (`running` follows
//!   `installed` when the guest boots); a removal stops them at once;
//! - error 1603 is drawn only for an in-place upgrade, from the lab's own `"integration-1603"`
//!   stream, so no other model's numbers move.

use super::effects::Effects;
use super::world::World;
use super::{CommandError, EventKind, Scheduled, VmState};
use crate::rng::SimRng;
use crate::time::SimTime;
use serde::Serialize;

/// What the guest is doing to its Integration Services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum IsActivity {
    /// Setup over outdated components (`upgrade`) or on a guest that has none.
    Installing {
        upgrade: bool,
    },
    Uninstalling,
    Rebooting,
}

/// One guest's Integration Services.
#[derive(Clone, Debug)]
pub(super) struct GuestIs {
    /// The version on disk (registry `IntegrationServicesVersion`); none after a removal.
    pub installed: Option<String>,
    /// The version the running components speak; none while removed or not yet contacted.
    pub running: Option<String>,
    pub busy: Option<IsActivity>,
    /// A removal waits for a restart before setup may run again.
    pub reboot_pending: bool,
    /// The last setup's Windows Installer error, if it failed.
    pub last_error: Option<u32>,
    pub generation: u64,
}

/// A guest's Integration Services in one word, for timelines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum IsSummary {
    /// The running components speak the host's version.
    UpToDate,
    /// Protocol Mismatch: the components speak another version.
    Mismatch,
    /// Setup or removal in progress.
    Busy,
    /// No Contact: the guest restarts, or has no Integration Services.
    NoContact,
}

impl IsSummary {
    /// The summaries timelines show, in legend order (UpToDate is drawn as nothing).
    pub const LEGEND: [IsSummary; 3] = [IsSummary::Mismatch, IsSummary::Busy, IsSummary::NoContact];

    pub fn label(self) -> &'static str {
        match self {
            IsSummary::UpToDate => "IS up to date",
            IsSummary::Mismatch => "IS Protocol Mismatch",
            IsSummary::Busy => "IS setup",
            IsSummary::NoContact => "IS No Contact",
        }
    }
}

/// A timer of the Integration Services model: the guest's activity ends.
#[derive(Clone, Copy, Debug)]
pub(super) struct IsTimer {
    pub vm: usize,
    pub generation: u64,
}

/// Integration Services of every VM, in scenario order.
#[derive(Clone, Debug)]
pub(super) struct IntegrationState {
    pub guests: Vec<GuestIs>,
    rng: SimRng,
    /// Whether any Integration Services command ran (reports show the table only when the lab
    /// has something to say about it).
    pub touched: bool,
    /// Each guest's summary over time (a change recorded once, at the instant it happens).
    pub timeline: Vec<Vec<(SimTime, IsSummary)>>,
}

/// `PrimaryOperationalStatus` / `SecondaryOperationalStatus` codes (Msvm_HeartbeatComponent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum IsStatus {
    Ok,
    NoContact,
    LostCommunication,
    ProtocolMismatch,
}

impl IsStatus {
    /// The code WMI reports.
    pub fn code(self) -> u32 {
        match self {
            IsStatus::Ok => 2,
            IsStatus::NoContact => 12,
            IsStatus::LostCommunication => 13,
            IsStatus::ProtocolMismatch => 32775,
        }
    }

    /// The status description as shown (only "OK" is documented; the others are the enum's
    /// names spelled out, UNCONFIRMED).
    pub fn description(self) -> &'static str {
        match self {
            IsStatus::Ok => "OK",
            IsStatus::NoContact => "No Contact",
            IsStatus::LostCommunication => "Lost Communication",
            IsStatus::ProtocolMismatch => "Protocol Mismatch",
        }
    }
}

/// One row of `Get-VMIntegrationService`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IsComponent {
    pub name: &'static str,
    pub enabled: bool,
    pub primary: Option<IsStatus>,
    pub secondary: Option<IsStatus>,
}

/// A VM's Integration Services as `Get-VM` and `Get-VMIntegrationService` show them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IntegrationStatus {
    pub guest_os: String,
    /// The guest's version (`IntegrationServicesVersion`), none when removed.
    pub version: Option<String>,
    pub host_version: String,
    /// `IntegrationServicesState`: "Up to date" or "Update required".
    pub state: &'static str,
    /// What the guest is doing now, if anything.
    pub activity: Option<IsActivity>,
    /// The last setup's error (1603).
    pub last_error: Option<u32>,
    pub components: Vec<IsComponent>,
}

/// The components in `Get-VMIntegrationService`'s order; Guest Service Interface is disabled
/// by default.
pub const COMPONENTS: [(&str, bool); 6] = [
    ("Guest Service Interface", false),
    ("Heartbeat", true),
    ("Key-Value Pair Exchange", true),
    ("Shutdown", true),
    ("Time Synchronization", true),
    ("VSS", true),
];

/// Windows Installer's ERROR_INSTALL_FAILURE.
pub const ERROR_INSTALL_FAILURE: u32 = 1603;

impl IntegrationState {
    pub fn new(w: &World) -> IntegrationState {
        let host = &w.scenario.spec.integration.host_version;
        let guests = w
            .scenario
            .spec
            .vms
            .iter()
            .map(|v| {
                let version = v
                    .integration_services
                    .clone()
                    .unwrap_or_else(|| host.clone());
                GuestIs {
                    installed: Some(version.clone()),
                    running: Some(version),
                    busy: None,
                    reboot_pending: false,
                    last_error: None,
                    generation: 0,
                }
            })
            .collect();
        let mut st = IntegrationState {
            guests,
            rng: SimRng::fork(w.seed, "integration-1603"),
            touched: false,
            timeline: Vec::new(),
        };
        st.timeline = (0..st.guests.len())
            .map(|v| vec![(SimTime::ZERO, st.summary(w, v))])
            .collect();
        st
    }

    /// Guest `vm`'s Integration Services in one word.
    pub fn summary(&self, w: &World, vm: usize) -> IsSummary {
        let g = &self.guests[vm];
        match (g.busy, &g.running) {
            (Some(IsActivity::Rebooting), _) | (_, None) => IsSummary::NoContact,
            (Some(_), _) => IsSummary::Busy,
            (None, Some(v)) if *v == w.scenario.spec.integration.host_version => {
                IsSummary::UpToDate
            }
            (None, Some(_)) => IsSummary::Mismatch,
        }
    }

    /// Records guest `vm`'s summary on its timeline if it changed.
    fn note(&mut self, w: &World, vm: usize) {
        let now = self.summary(w, vm);
        if let Some(tl) = self.timeline.get_mut(vm)
            && tl.last().is_none_or(|l| l.1 != now)
        {
            tl.push((w.now, now));
        }
    }

    /// Whether the guest can take an online backup now: running, no activity, its VSS
    /// component speaking the host's version (a Protocol Mismatch is assumed to fail, §6.4).
    pub fn vss_ok(&self, w: &World, vm: usize) -> bool {
        let g = &self.guests[vm];
        w.vms[vm].state == VmState::Running
            && g.busy.is_none()
            && g.running.as_deref() == Some(w.scenario.spec.integration.host_version.as_str())
    }

    /// Why the guest cannot take an online backup, for the log.
    pub fn why_not_online(&self, w: &World, vm: usize) -> String {
        let g = &self.guests[vm];
        if w.vms[vm].state != VmState::Running {
            return format!("the VM is {:?}", w.vms[vm].state);
        }
        match (g.busy, &g.running) {
            (Some(IsActivity::Rebooting), _) => "the guest is restarting (No Contact)".into(),
            (Some(a), _) => format!("Integration Services are busy ({a:?})"),
            (None, None) => "no Integration Services answer (VSS: No Contact)".into(),
            (None, Some(v)) => format!("VSS Integration Service {v}: Protocol Mismatch"),
        }
    }

    /// The status of VM `vm`, as the cmdlets show it.
    pub fn status(&self, w: &World, vm: usize) -> IntegrationStatus {
        let g = &self.guests[vm];
        let host = &w.scenario.spec.integration.host_version;
        let running = w.vms[vm].state == VmState::Running;
        let (primary, secondary) = match (g.busy, &g.running) {
            _ if !running => (None, None),
            (Some(IsActivity::Rebooting), _) | (_, None) => (Some(IsStatus::NoContact), None),
            (Some(IsActivity::Uninstalling), _) => (Some(IsStatus::LostCommunication), None),
            (_, Some(v)) if v == host => (Some(IsStatus::Ok), Some(IsStatus::Ok)),
            (_, Some(_)) => (Some(IsStatus::Ok), Some(IsStatus::ProtocolMismatch)),
        };
        let components = COMPONENTS
            .iter()
            .map(|&(name, enabled)| IsComponent {
                name,
                enabled,
                primary,
                // Only Heartbeat reports a secondary OK; a mismatch shows on every component.
                secondary: secondary.filter(|s| name == "Heartbeat" || *s != IsStatus::Ok),
            })
            .collect();
        let up_to_date = g.installed.as_deref() == Some(host.as_str()) && g.running == g.installed;
        IntegrationStatus {
            guest_os: w.scenario.spec.vms[vm].guest_os.clone(),
            version: g.installed.clone(),
            host_version: host.clone(),
            state: if up_to_date {
                "Up to date"
            } else {
                "Update required"
            },
            activity: g.busy,
            last_error: g.last_error,
            components,
        }
    }

    fn vm_name(w: &World, vm: usize) -> &str {
        &w.scenario.spec.vms[vm].name
    }

    fn start(&mut self, w: &World, vm: usize, what: IsActivity, fx: &mut Effects) {
        let s = &w.scenario.spec.integration;
        let g = &mut self.guests[vm];
        g.busy = Some(what);
        g.generation += 1;
        let d = match what {
            IsActivity::Installing { .. } => s.install_time,
            IsActivity::Uninstalling => s.uninstall_time,
            IsActivity::Rebooting => s.guest_reboot_time,
        };
        let timer = IsTimer {
            vm,
            generation: g.generation,
        };
        fx.timer(w.now + d, Scheduled::Integration(timer));
    }

    /// Checks that the guest runs and is idle.
    fn idle(&self, w: &World, vm: usize) -> Result<(), CommandError> {
        let name = Self::vm_name(w, vm);
        if w.vms[vm].state != VmState::Running {
            return Err(CommandError::Refused(format!(
                "{name} is {:?}: the guest must be running",
                w.vms[vm].state
            )));
        }
        if let Some(a) = self.guests[vm].busy {
            return Err(CommandError::Refused(format!("{name} is busy: {a:?}")));
        }
        Ok(())
    }

    /// `upgrade`, `uninstall`, `reboot` or `install` asked by a command. Errors change nothing.
    pub fn command(
        &mut self,
        w: &World,
        vm: usize,
        what: IsActivity,
    ) -> Result<Effects, CommandError> {
        self.idle(w, vm)?;
        let name = Self::vm_name(w, vm).to_string();
        let host = w.scenario.spec.integration.host_version.clone();
        let g = &self.guests[vm];
        let refuse = |why: &str| Err(CommandError::Refused(format!("{name}: {why}")));
        match what {
            IsActivity::Installing { upgrade: true } => match &g.installed {
                None => return refuse("no Integration Services to upgrade: install them"),
                Some(v) if *v == host && g.running.as_ref() == Some(v) => {
                    return refuse("Integration Services are up to date");
                }
                Some(_) => {}
            },
            IsActivity::Installing { upgrade: false } => {
                if g.installed.is_some() {
                    return refuse("Integration Services are installed: upgrade or remove them");
                }
                if g.reboot_pending {
                    return refuse("restart the guest to finish the removal first");
                }
            }
            IsActivity::Uninstalling => {
                if g.installed.is_none() {
                    return refuse("no Integration Services are installed");
                }
            }
            IsActivity::Rebooting => {}
        }
        self.touched = true;
        let mut fx = Effects::new(w.now);
        if what == IsActivity::Rebooting {
            fx.log(
                EventKind::IntegrationServices,
                name.clone(),
                "Heartbeat: No Contact (the guest is restarting)".into(),
                None,
            );
        }
        self.start(w, vm, what, &mut fx);
        self.note(w, vm);
        Ok(fx)
    }

    /// A guest's activity ended.
    pub fn timer_fired(&mut self, w: &World, t: IsTimer) -> Effects {
        let mut fx = Effects::new(w.now);
        let g = &self.guests[t.vm];
        let Some(what) = g.busy.filter(|_| g.generation == t.generation) else {
            return fx;
        };
        let name = Self::vm_name(w, t.vm).to_string();
        let host = w.scenario.spec.integration.host_version.clone();
        let p_1603 = w.scenario.spec.integration.p_1603;
        let log = |fx: &mut Effects, text: String, id: Option<u32>| {
            fx.log(EventKind::IntegrationServices, name.clone(), text, id)
        };
        self.guests[t.vm].busy = None;
        match what {
            IsActivity::Installing { upgrade } => {
                // Drawn for every upgrade, so the stream does not depend on the outcome.
                let failed = upgrade && self.rng.unit_f64() < p_1603;
                let g = &mut self.guests[t.vm];
                if failed {
                    g.last_error = Some(ERROR_INSTALL_FAILURE);
                    log(
                        &mut fx,
                        "Hyper-V Integration Services setup: one of the update processes returned error code 1603 (ERROR_INSTALL_FAILURE); the old components stay".into(),
                        Some(1033),
                    );
                } else {
                    g.installed = Some(host.clone());
                    g.last_error = None;
                    log(
                        &mut fx,
                        format!(
                            "Hyper-V Integration Services {host} installed; setup restarts the guest"
                        ),
                        Some(1033),
                    );
                    log(
                        &mut fx,
                        "Heartbeat: No Contact (the guest is restarting)".into(),
                        None,
                    );
                    self.start(w, t.vm, IsActivity::Rebooting, &mut fx);
                }
            }
            IsActivity::Uninstalling => {
                let g = &mut self.guests[t.vm];
                g.installed = None;
                g.running = None;
                g.reboot_pending = true;
                log(
                    &mut fx,
                    "Hyper-V Integration Services removed; restart the guest to finish (all components: No Contact)".into(),
                    None,
                );
            }
            IsActivity::Rebooting => {
                let g = &mut self.guests[t.vm];
                g.running = g.installed.clone();
                g.reboot_pending = false;
                let text = match &g.running {
                    Some(v) if *v == host => "guest restarted; Heartbeat: OK".to_string(),
                    Some(v) => format!(
                        "guest restarted; Heartbeat: OK, Protocol Mismatch (guest {v}, host {host})"
                    ),
                    None => "guest restarted without Integration Services; Heartbeat: No Contact"
                        .to_string(),
                };
                log(&mut fx, text, None);
            }
        }
        self.note(w, t.vm);
        fx
    }

    /// Whether a report should carry the table: the lab states guests or versions, or a
    /// command touched them.
    pub fn has_data(&self, w: &World) -> bool {
        let spec = &w.scenario.spec;
        self.touched
            || !spec.integration.is_default()
            || !spec.backup_sets.is_empty()
            || spec
                .vms
                .iter()
                .any(|v| !v.guest_os.is_empty() || v.integration_services.is_some())
    }
}
