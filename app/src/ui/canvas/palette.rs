//! The row above the canvas: add a host, switch, storage or VM, delete the selection.

use super::super::action::{Actions, LabAction, ViewAction};
use super::super::state::{LabState, Selection};
use lmlab_engine::scenario::{
    Edit, HostSpec, NicSpec, StorageKind, StorageSpec, SwitchSpec, Thing, VmSpec,
};
use lmlab_engine::units::{ByteRate, Bytes};

pub(super) fn show(ui: &mut egui::Ui, lab: &LabState, actions: &mut Actions) {
    ui.horizontal_wrapped(|ui| {
        let spec = lab.spec();
        let mut add = |edit: Edit, select: Selection| {
            actions.push(LabAction::Edit(edit));
            actions.push(ViewAction::Select(select));
        };
        if ui
            .button("Add host")
            .on_hover_text("A new host with one 10 GbE NIC on the first switch")
            .clicked()
        {
            let name = unique(spec.hosts.iter().map(|h| &h.name), "hv");
            let nic_switch = spec.switches.first().map(|x| x.name.clone());
            let host = HostSpec {
                name: name.clone(),
                sockets: 2,
                cores_per_socket: 8,
                smt: true,
                clock_ghz: 2.6,
                memory: Bytes::gib(256),
                subnet: String::new(),
                teaming: Default::default(),
                migration: Default::default(),
                nics: vec![NicSpec::new("nic1", nic_switch)],
            };
            add(Edit::AddHost(Box::new(host)), Selection::Host(name));
        }
        if ui
            .button("Add switch")
            .on_hover_text("A new switch (LACP, no PFC)")
            .clicked()
        {
            let name = unique(spec.switches.iter().map(|h| &h.name), "sw");
            let switch = SwitchSpec {
                name: name.clone(),
                dcb_pfc: false,
                lacp: true,
            };
            add(Edit::AddSwitch(switch), Selection::Switch(name));
        }
        if ui
            .button("Add storage")
            .on_hover_text("A new SMB3 file share")
            .clicked()
        {
            let name = unique(spec.storage.iter().map(|h| &h.name), "share");
            let storage = StorageSpec {
                name: name.clone(),
                kind: StorageKind::Smb3,
            };
            add(Edit::AddStorage(storage), Selection::Storage(name));
        }
        let target = match lab.selection() {
            Selection::Host(h) => Some(h.clone()),
            Selection::Vm(v) => spec
                .vms
                .iter()
                .find(|x| &x.name == v)
                .map(|x| x.host.clone()),
            _ => spec.hosts.first().map(|h| h.name.clone()),
        };
        if ui
            .add_enabled(
                target.is_some() && !spec.storage.is_empty(),
                egui::Button::new("Add VM"),
            )
            .on_hover_text("Adds a VM to the selected host")
            .clicked()
            && let Some(host) = target
            && let Some(storage) = spec.storage.first()
        {
            let name = unique(spec.vms.iter().map(|h| &h.name), "vm");
            let vm = VmSpec {
                name: name.clone(),
                host,
                memory: Bytes::gib(8),
                dirty_rate: ByteRate::mib_per_s(10.0),
                working_set: Some(Bytes::gib(2)),
                memory_profile: Default::default(),
                config_version: "8.0".into(),
                storage: storage.name.clone(),
                priority: Default::default(),
                resiliency_period: Default::default(),
                state: Default::default(),
                guest_os: String::new(),
                integration_services: None,
            };
            add(Edit::AddVm(Box::new(vm)), Selection::Vm(name));
        }
        let thing = selected_thing(lab.selection());
        let delete_key =
            ui.input(|i| i.key_pressed(egui::Key::Delete)) && !ui.ctx().egui_wants_keyboard_input();
        if (ui
            .add_enabled(thing.is_some(), egui::Button::new("Delete"))
            .on_hover_text("Delete the selection and what depends on it (Delete; Ctrl+Z undoes)")
            .clicked()
            || delete_key)
            && let Some(t) = thing
        {
            add(Edit::Remove(t), Selection::Cluster);
        }
        if ui
            .button("Fit")
            .on_hover_text("Fit the canvas to the lab (F)")
            .clicked()
        {
            actions.push(ViewAction::FitCanvas);
        }
        ui.label(
            egui::RichText::new(
                "drag a VM to a host (migrate) or storage · drag a NIC port to a switch · right-click to break",
            )
            .weak(),
        );
    });
}

/// The selection as a part of the lab (the cluster itself is not one).
fn selected_thing(sel: &Selection) -> Option<Thing> {
    match sel {
        Selection::Cluster => None,
        Selection::Host(n) => Some(Thing::Host(n.clone())),
        Selection::Switch(n) => Some(Thing::Switch(n.clone())),
        Selection::Storage(n) => Some(Thing::Storage(n.clone())),
        Selection::Vm(n) => Some(Thing::Vm(n.clone())),
    }
}

/// The first `stemN` not in `existing`.
fn unique<'a>(existing: impl Iterator<Item = &'a String> + Clone, stem: &str) -> String {
    (1..)
        .map(|i| format!("{stem}{i}"))
        .find(|n| !existing.clone().any(|e| e == n))
        .unwrap_or_else(|| stem.to_string())
}
