//! Lab edits as data: what the canvas and the inspector ask for, applied to a spec with the
//! cascade rules a lab needs (deleting a host removes its VMs, the script lines and configuration
//! references that name something gone; renaming follows every reference). The result is not yet
//! validated: [`super::Scenario::from_spec`] does that, so an edit that would break a rule is
//! refused with the reason. Undo stacks on these values.

use super::{ClusterSettings, MigrationSettings};
use super::{HostSpec, ScenarioSpec, StorageSpec, SwitchSpec, VmSpec};
use crate::transport::TransportParams;

/// A named part of the lab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Thing {
    Host(String),
    Switch(String),
    Storage(String),
    Vm(String),
}

impl std::fmt::Display for Thing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Thing::Host(n) => write!(f, "host {n}"),
            Thing::Switch(n) => write!(f, "switch {n}"),
            Thing::Storage(n) => write!(f, "storage {n}"),
            Thing::Vm(n) => write!(f, "VM {n}"),
        }
    }
}

/// The settings that belong to the lab as a whole.
#[derive(Clone, Debug, PartialEq)]
pub struct LabSettings {
    pub cluster: ClusterSettings,
    pub migration: MigrationSettings,
    pub transport: TransportParams,
}

/// One change to a lab.
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    AddHost(Box<HostSpec>),
    AddSwitch(SwitchSpec),
    AddStorage(StorageSpec),
    AddVm(Box<VmSpec>),
    /// Removes the thing and what depends on it.
    Remove(Thing),
    /// Renames the thing and every reference to it.
    Rename {
        thing: Thing,
        to: String,
    },
    /// Keeps a VM's disks on another storage.
    MoveDisks {
        vm: String,
        storage: String,
    },
    /// Cables a host's NIC to a switch, or unplugs the cable (`None`).
    Cable {
        host: String,
        nic: String,
        switch: Option<String>,
    },
    /// Replaces the host of the same name (every property but the name).
    SetHost(Box<HostSpec>),
    SetSwitch(SwitchSpec),
    SetStorage(StorageSpec),
    SetVm(Box<VmSpec>),
    SetSettings(Box<LabSettings>),
}

impl std::fmt::Display for Edit {
    /// What the edit does, as an Undo menu names it ("remove host hv1").
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Edit::AddHost(h) => write!(f, "add host {}", h.name),
            Edit::AddSwitch(w) => write!(f, "add switch {}", w.name),
            Edit::AddStorage(st) => write!(f, "add storage {}", st.name),
            Edit::AddVm(v) => write!(f, "add VM {}", v.name),
            Edit::Remove(t) => write!(f, "remove {t}"),
            Edit::Rename { thing, to } => write!(f, "rename {thing} to {to}"),
            Edit::MoveDisks { vm, storage } => write!(f, "keep {vm}'s disks on {storage}"),
            Edit::Cable {
                host,
                nic,
                switch: Some(w),
            } => write!(f, "cable {nic} on {host} to {w}"),
            Edit::Cable {
                host,
                nic,
                switch: None,
            } => write!(f, "unplug the cable of {nic} on {host}"),
            Edit::SetHost(h) => write!(f, "change host {}", h.name),
            Edit::SetSwitch(w) => write!(f, "change switch {}", w.name),
            Edit::SetStorage(st) => write!(f, "change storage {}", st.name),
            Edit::SetVm(v) => write!(f, "change VM {}", v.name),
            Edit::SetSettings(_) => write!(f, "change the cluster settings"),
        }
    }
}

/// Why an edit does not apply to a lab.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("the lab has no {0}")]
    Unknown(Thing),
    #[error("the lab has no NIC {nic} on {host}")]
    UnknownNic { host: String, nic: String },
    #[error("the name {0:?} is taken")]
    NameTaken(String),
}

fn find<'a, T>(items: &'a mut [T], name: &str, of: impl Fn(&T) -> &str) -> Option<&'a mut T> {
    items.iter_mut().find(|x| of(x) == name)
}

impl ScenarioSpec {
    /// The lab with `edit` applied (not yet validated).
    pub fn edited(&self, edit: &Edit) -> Result<ScenarioSpec, EditError> {
        let mut s = self.clone();
        match edit {
            Edit::AddHost(h) => add(&mut s.hosts, (**h).clone(), |x| &x.name)?,
            Edit::AddSwitch(w) => add(&mut s.switches, w.clone(), |x| &x.name)?,
            Edit::AddStorage(st) => add(&mut s.storage, st.clone(), |x| &x.name)?,
            Edit::AddVm(v) => add(&mut s.vms, (**v).clone(), |x| &x.name)?,
            Edit::Remove(thing) => s.remove(thing)?,
            Edit::Rename { thing, to } => s.rename(thing, to)?,
            Edit::MoveDisks { vm, storage } => {
                if !s.storage.iter().any(|x| &x.name == storage) {
                    return Err(EditError::Unknown(Thing::Storage(storage.clone())));
                }
                find(&mut s.vms, vm, |x| &x.name)
                    .ok_or_else(|| EditError::Unknown(Thing::Vm(vm.clone())))?
                    .storage = storage.clone();
            }
            Edit::Cable { host, nic, switch } => {
                if let Some(w) = switch
                    && !s.switches.iter().any(|x| &x.name == w)
                {
                    return Err(EditError::Unknown(Thing::Switch(w.clone())));
                }
                let h = find(&mut s.hosts, host, |x| &x.name)
                    .ok_or_else(|| EditError::Unknown(Thing::Host(host.clone())))?;
                find(&mut h.nics, nic, |x| &x.name)
                    .ok_or_else(|| EditError::UnknownNic {
                        host: host.clone(),
                        nic: nic.clone(),
                    })?
                    .switch = switch.clone();
            }
            Edit::SetHost(h) => set(&mut s.hosts, (**h).clone(), |x| &x.name, Thing::Host)?,
            Edit::SetSwitch(w) => set(&mut s.switches, w.clone(), |x| &x.name, Thing::Switch)?,
            Edit::SetStorage(st) => set(&mut s.storage, st.clone(), |x| &x.name, Thing::Storage)?,
            Edit::SetVm(v) => set(&mut s.vms, (**v).clone(), |x| &x.name, Thing::Vm)?,
            Edit::SetSettings(l) => {
                s.cluster = l.cluster.clone();
                s.migration = l.migration.clone();
                s.transport = l.transport.clone();
            }
        }
        Ok(s)
    }

    /// The lab's own settings, for [`Edit::SetSettings`].
    pub fn settings(&self) -> LabSettings {
        LabSettings {
            cluster: self.cluster.clone(),
            migration: self.migration.clone(),
            transport: self.transport.clone(),
        }
    }

    fn remove(&mut self, thing: &Thing) -> Result<(), EditError> {
        let gone = |found: bool| {
            found
                .then_some(())
                .ok_or_else(|| EditError::Unknown(thing.clone()))
        };
        match thing {
            Thing::Host(h) => {
                gone(take(&mut self.hosts, h, |x| &x.name))?;
                self.vms.retain(|v| &v.host != h);
                if &self.cluster.lower_quorum_priority_node == h {
                    self.cluster.lower_quorum_priority_node.clear();
                }
            }
            Thing::Switch(w) => {
                gone(take(&mut self.switches, w, |x| &x.name))?;
                for h in &mut self.hosts {
                    for n in &mut h.nics {
                        if n.switch.as_ref() == Some(w) {
                            n.switch = None;
                        }
                    }
                    // A host with no cabled NIC has nothing to team.
                    if h.nics.iter().all(|n| n.switch.is_none()) {
                        h.teaming = Default::default();
                    }
                }
            }
            Thing::Storage(st) => {
                gone(take(&mut self.storage, st, |x| &x.name))?;
                self.vms.retain(|v| &v.storage != st);
            }
            Thing::Vm(v) => gone(take(&mut self.vms, v, |x| &x.name))?,
        }
        self.drop_dangling_references();
        Ok(())
    }

    /// Script entries and configurations that name something gone go too; so do configurations
    /// that would migrate more VMs than their source host still has.
    fn drop_dangling_references(&mut self) {
        let names: Vec<String> = self
            .hosts
            .iter()
            .map(|h| h.name.clone())
            .chain(self.vms.iter().map(|v| v.name.clone()))
            .chain(self.storage.iter().map(|v| v.name.clone()))
            .collect();
        // Backup sets lose the VMs and volumes that are gone; a set defined on a gone host, or
        // left with no components, goes, and so do script lines that name it.
        for b in &mut self.backup_sets {
            b.vms.retain(|v| names.contains(v));
            b.volumes.retain(|v| names.contains(v));
        }
        self.backup_sets
            .retain(|b| names.contains(&b.host) && !(b.vms.is_empty() && b.volumes.is_empty()));
        let sets: Vec<String> = self.backup_sets.iter().map(|b| b.name.clone()).collect();
        self.script.retain(|e| {
            [&e.node, &e.vm, &e.to, &e.storage]
                .iter()
                .all(|f| f.as_ref().is_none_or(|n| names.contains(n)))
                && e.set.as_ref().is_none_or(|n| sets.contains(n))
        });
        let (hosts, vms) = (&self.hosts, &self.vms);
        self.configurations.retain(|c| {
            [&c.from, &c.to]
                .iter()
                .all(|f| f.as_ref().is_none_or(|n| names.contains(n)))
                && vms
                    .iter()
                    .filter(|v| Some(&v.host) == c.from.as_ref().or(hosts.first().map(|h| &h.name)))
                    .count()
                    >= c.vms as usize
        });
    }

    fn rename(&mut self, thing: &Thing, to: &str) -> Result<(), EditError> {
        let to = to.to_string();
        let taken = match thing {
            Thing::Host(_) => self.hosts.iter().any(|x| x.name == to),
            Thing::Switch(_) => self.switches.iter().any(|x| x.name == to),
            Thing::Storage(_) => self.storage.iter().any(|x| x.name == to),
            Thing::Vm(_) => self.vms.iter().any(|x| x.name == to),
        };
        if taken {
            return Err(EditError::NameTaken(to));
        }
        let unknown = || EditError::Unknown(thing.clone());
        let follow = |r: &mut Option<String>, old: &str| {
            if r.as_deref() == Some(old) {
                *r = Some(to.clone());
            }
        };
        match thing {
            Thing::Host(old) => {
                find(&mut self.hosts, old, |x| &x.name)
                    .ok_or_else(unknown)?
                    .name = to.clone();
                for v in self.vms.iter_mut().filter(|v| &v.host == old) {
                    v.host = to.clone();
                }
                if &self.cluster.lower_quorum_priority_node == old {
                    self.cluster.lower_quorum_priority_node = to.clone();
                }
                for b in self.backup_sets.iter_mut().filter(|b| &b.host == old) {
                    b.host = to.clone();
                }
                for e in &mut self.script {
                    follow(&mut e.node, old);
                    follow(&mut e.to, old);
                }
                for c in &mut self.configurations {
                    follow(&mut c.from, old);
                    follow(&mut c.to, old);
                }
            }
            Thing::Switch(old) => {
                find(&mut self.switches, old, |x| &x.name)
                    .ok_or_else(unknown)?
                    .name = to.clone();
                for n in self.hosts.iter_mut().flat_map(|h| h.nics.iter_mut()) {
                    follow(&mut n.switch, old);
                }
            }
            Thing::Storage(old) => {
                find(&mut self.storage, old, |x| &x.name)
                    .ok_or_else(unknown)?
                    .name = to.clone();
                for v in self.vms.iter_mut().filter(|v| &v.storage == old) {
                    v.storage = to.clone();
                }
                for n in self
                    .backup_sets
                    .iter_mut()
                    .flat_map(|b| b.volumes.iter_mut())
                {
                    if n == old {
                        *n = to.clone();
                    }
                }
                for e in &mut self.script {
                    follow(&mut e.storage, old);
                }
            }
            Thing::Vm(old) => {
                find(&mut self.vms, old, |x| &x.name)
                    .ok_or_else(unknown)?
                    .name = to.clone();
                for e in &mut self.script {
                    follow(&mut e.vm, old);
                }
                for n in self.backup_sets.iter_mut().flat_map(|b| b.vms.iter_mut()) {
                    if n == old {
                        *n = to.clone();
                    }
                }
            }
        }
        Ok(())
    }
}

/// Removes the item named `name`; whether there was one.
fn take<T>(items: &mut Vec<T>, name: &str, of: impl Fn(&T) -> &String) -> bool {
    let before = items.len();
    items.retain(|x| of(x) != name);
    items.len() != before
}

fn add<T>(items: &mut Vec<T>, item: T, name: impl Fn(&T) -> &String) -> Result<(), EditError> {
    if items.iter().any(|x| name(x) == name(&item)) {
        return Err(EditError::NameTaken(name(&item).clone()));
    }
    items.push(item);
    Ok(())
}

fn set<T>(
    items: &mut [T],
    item: T,
    name: impl Fn(&T) -> &String,
    thing: impl Fn(String) -> Thing,
) -> Result<(), EditError> {
    let slot = items
        .iter_mut()
        .find(|x| name(x) == name(&item))
        .ok_or_else(|| EditError::Unknown(thing(name(&item).clone())))?;
    *slot = item;
    Ok(())
}
