//! The inspector: every property of the selection (and the cluster and migration settings when
//! nothing is selected). A changed part becomes a lab edit ([`Edit`]) that the engine validates;
//! an invalid value is refused in place with the reason.

use super::action::{Actions, LabAction, ViewAction};
use super::hints;
use super::state::{LabState, Selection};
use super::widgets::labeled;
use lmlab_engine::SimDuration;
use lmlab_engine::scenario::*;
use lmlab_engine::sim::SeriesKey;
use lmlab_engine::units::{BitRate, ByteRate, Bytes};

pub fn show(ui: &mut egui::Ui, lab: &LabState, actions: &mut Actions) {
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading("Inspector");
                if *lab.selection() != Selection::Cluster && ui.button("Cluster settings").clicked()
                {
                    actions.push(ViewAction::Select(Selection::Cluster));
                }
            });
            if let Some(e) = &lab.screen.inspector_error {
                ui.colored_label(ui.visuals().error_fg_color, format!("Refused: {e}"));
            }
            // Only the selected part is copied and compared each frame (labs can hold thousands
            // of VMs); a change becomes one edit of that part.
            let spec = lab.spec();
            let mut edited: Option<Edit> = None;
            match lab.selection() {
                Selection::Cluster => {
                    let mut l = spec.settings();
                    cluster(ui, &mut l.cluster, &mut l.migration);
                    ui.separator();
                    egui::CollapsingHeader::new("Transport model parameters")
                        .show(ui, |ui| transport(ui, &mut l.transport));
                    if l != spec.settings() {
                        edited = Some(Edit::SetSettings(Box::new(l)));
                    }
                }
                Selection::Host(name) => {
                    if let Some(i) = spec.hosts.iter().position(|h| &h.name == name) {
                        let switches: Vec<String> =
                            spec.switches.iter().map(|s| s.name.clone()).collect();
                        let mut h = spec.hosts[i].clone();
                        host(ui, &mut h, &switches, lab);
                        if h != spec.hosts[i] {
                            edited = Some(Edit::SetHost(Box::new(h)));
                        }
                    }
                }
                Selection::Switch(name) => {
                    if let Some(i) = spec.switches.iter().position(|s| &s.name == name) {
                        let mut sw = spec.switches[i].clone();
                        ui.strong(format!("Switch {}", sw.name));
                        hints::on(
                            ui.checkbox(&mut sw.dcb_pfc, "DCB with Priority Flow Control (PFC)"),
                            "DCB with Priority Flow Control (PFC)",
                        );
                        hints::on(
                            ui.checkbox(&mut sw.lacp, "LACP / static port channels"),
                            "LACP / static port channels",
                        );
                        if sw != spec.switches[i] {
                            edited = Some(Edit::SetSwitch(sw));
                        }
                    }
                }
                Selection::Storage(name) => {
                    if let Some(i) = spec.storage.iter().position(|s| &s.name == name) {
                        let mut st = spec.storage[i].clone();
                        ui.strong(format!("Storage {}", st.name));
                        combo(
                            ui,
                            "Kind",
                            &mut st.kind,
                            &[
                                (StorageKind::Smb3, "SMB3 file share (SOFS)"),
                                (StorageKind::Csv, "CSV block storage"),
                            ],
                        );
                        if st != spec.storage[i] {
                            edited = Some(Edit::SetStorage(st));
                        }
                    }
                }
                Selection::Vm(name) => {
                    let storages: Vec<String> =
                        spec.storage.iter().map(|s| s.name.clone()).collect();
                    if let Some(i) = spec.vms.iter().position(|v| &v.name == name) {
                        let mut v = spec.vms[i].clone();
                        vm(ui, &mut v, &storages);
                        if v != spec.vms[i] {
                            edited = Some(Edit::SetVm(Box::new(v)));
                        }
                    }
                    vm_actions(ui, lab, name, actions);
                    integration_services(ui, lab, name, actions);
                }
            }
            if let Some(e) = edited {
                actions.push(LabAction::Edit(e));
            }
        });
}

fn combo<T: PartialEq + Copy>(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut T,
    options: &[(T, &str)],
) {
    let current = options.iter().find(|o| o.0 == *value).map_or("?", |o| o.1);
    let r = egui::ComboBox::from_label(label)
        .selected_text(current)
        .show_ui(ui, |ui| {
            for (v, text) in options {
                ui.selectable_value(value, *v, *text);
            }
        });
    hints::on(r.response, label);
}

fn secs(ui: &mut egui::Ui, label: &str, d: &mut SimDuration, max: f64) {
    let mut s = d.as_secs_f64();
    if labeled(ui, label, |ui| {
        ui.add(
            egui::DragValue::new(&mut s)
                .range(0.0..=max)
                .suffix(" s")
                .speed(1.0),
        )
    })
    .changed()
    {
        *d = SimDuration::from_secs_f64(s);
    }
}

fn millis(ui: &mut egui::Ui, label: &str, d: &mut SimDuration, lo: f64, hi: f64) {
    let mut ms = d.as_millis_f64();
    if labeled(ui, label, |ui| {
        ui.add(
            egui::DragValue::new(&mut ms)
                .range(lo..=hi)
                .suffix(" ms")
                .speed(10.0),
        )
    })
    .changed()
    {
        *d = SimDuration::from_secs_f64(ms / 1000.0);
    }
}

fn gib(ui: &mut egui::Ui, label: &str, b: &mut Bytes, max: f64) {
    let mut g = b.as_f64() / Bytes::GIB as f64;
    if labeled(ui, label, |ui| {
        ui.add(
            egui::DragValue::new(&mut g)
                .range(0.0..=max)
                .suffix(" GiB")
                .speed(1.0),
        )
    })
    .changed()
    {
        *b = Bytes((g * Bytes::GIB as f64).round() as u64);
    }
}

fn count(ui: &mut egui::Ui, label: &str, v: &mut u32, lo: u32, hi: u32) {
    labeled(ui, label, |ui| {
        ui.add(egui::DragValue::new(v).range(lo..=hi))
    });
}

fn cluster(ui: &mut egui::Ui, c: &mut ClusterSettings, m: &mut MigrationSettings) {
    ui.strong(format!("Cluster {}", c.name));
    combo(
        ui,
        "ResiliencyLevel",
        &mut c.resiliency_level,
        &[
            (ResiliencyLevel::AlwaysIsolate, "AlwaysIsolate (2)"),
            (
                ResiliencyLevel::IsolateOnSpecialHeartbeat,
                "IsolateOnSpecialHeartbeat (1)",
            ),
        ],
    );
    secs(
        ui,
        "ResiliencyDefaultPeriod",
        &mut c.resiliency_default_period,
        86_400.0,
    );
    count(
        ui,
        "QuarantineThreshold",
        &mut c.quarantine_threshold,
        1,
        1000,
    );
    let mut until_cleared = c.quarantine_duration == QuarantineDuration::UntilCleared;
    if ui
        .checkbox(&mut until_cleared, "Quarantine until cleared (0xFFFFFFFF)")
        .changed()
    {
        c.quarantine_duration = if until_cleared {
            QuarantineDuration::UntilCleared
        } else {
            QuarantineDuration::For(SimDuration::from_secs(7200))
        };
    }
    if let QuarantineDuration::For(d) = &mut c.quarantine_duration {
        secs(ui, "QuarantineDuration", d, 4_294_967.0);
    }
    combo(
        ui,
        "Quarantine cap",
        &mut c.quarantine_cap,
        &[
            (QuarantineCap::Pct20, "20 % of nodes (seed)"),
            (QuarantineCap::Pct25, "25 % of nodes (book)"),
        ],
    );
    millis(
        ui,
        "SameSubnetDelay",
        &mut c.same_subnet_delay,
        250.0,
        2000.0,
    );
    count(
        ui,
        "SameSubnetThreshold",
        &mut c.same_subnet_threshold,
        3,
        120,
    );
    millis(
        ui,
        "CrossSubnetDelay",
        &mut c.cross_subnet_delay,
        250.0,
        4000.0,
    );
    count(
        ui,
        "CrossSubnetThreshold",
        &mut c.cross_subnet_threshold,
        3,
        120,
    );
    combo(
        ui,
        "Witness",
        &mut c.witness,
        &[
            (Witness::None, "None"),
            (Witness::Disk, "Disk"),
            (Witness::FileShare, "File share"),
            (Witness::Cloud, "Cloud"),
        ],
    );
    count(ui, "RouteHistoryLength", &mut c.route_history_length, 0, 40);
    count(ui, "ClusterFunctionalLevel", &mut c.functional_level, 8, 12);
    hints::on(
        egui::ComboBox::from_label("Isolation needs VM version")
            .selected_text(c.isolation_min_config_version.clone())
            .show_ui(ui, |ui| {
                for ver in ["5.0", "6.0", "6.2", "7.0", "8.0", "9.0"] {
                    ui.selectable_value(&mut c.isolation_min_config_version, ver.to_string(), ver);
                }
            })
            .response,
        "Isolation needs VM version",
    );
    secs(ui, "Joining takes", &mut c.join_time, 3600.0);
    secs(
        ui,
        "Running-Critical to Paused-Critical",
        &mut c.critical_pause_after,
        3600.0,
    );
    secs(ui, "VM start time", &mut c.vm_start_time, 3600.0);
    let mut q = c.quick_migration_rate.as_mib_per_s();
    if labeled(ui, "Quick migration rate", |ui| {
        ui.add(
            egui::DragValue::new(&mut q)
                .range(1.0..=1_000_000.0)
                .suffix(" MiB/s"),
        )
    })
    .changed()
    {
        c.quick_migration_rate = ByteRate::mib_per_s(q);
    }
    combo(
        ui,
        "Low-priority drain",
        &mut c.drain_low_priority,
        &[
            (DrainMove::QuickMigration, "Quick migration"),
            (DrainMove::LiveMigration, "Live migration"),
        ],
    );
    ui.separator();
    ui.strong("Live migration (all hosts)");
    migration(ui, m);
}

fn migration(ui: &mut egui::Ui, m: &mut MigrationSettings) {
    combo(
        ui,
        "Performance option",
        &mut m.performance_option,
        &[
            (PerformanceOption::TcpIp, "TCP/IP"),
            (PerformanceOption::Compression, "Compression"),
            (PerformanceOption::Smb, "SMB"),
        ],
    );
    hints::on(
        ui.checkbox(&mut m.smb_direct, "Allow SMB Direct (RDMA)"),
        "Allow SMB Direct (RDMA)",
    );
    count(
        ui,
        "Simultaneous live migrations",
        &mut m.max_simultaneous,
        1,
        512,
    );
    count(ui, "Maximum passes", &mut m.max_passes, 1, 100);
    millis(ui, "Target pause", &mut m.target_pause, 1.0, 60_000.0);
    millis(ui, "Setup", &mut m.setup, 0.0, 3_600_000.0);
    let mut dev = m.device_state.as_f64() / Bytes::MIB as f64;
    if labeled(ui, "Device state", |ui| {
        ui.add(
            egui::DragValue::new(&mut dev)
                .range(0.0..=65_536.0)
                .suffix(" MiB"),
        )
    })
    .changed()
    {
        m.device_state = Bytes((dev * Bytes::MIB as f64).round() as u64);
    }
    millis(
        ui,
        "Switch-over overhead",
        &mut m.switchover_overhead,
        0.0,
        60_000.0,
    );
    millis(ui, "Clean-up", &mut m.cleanup, 0.0, 3_600_000.0);
}

/// Every cost and protocol parameter of the transport model (docs/transport-model.md §4).
fn transport(ui: &mut egui::Ui, t: &mut lmlab_engine::transport::TransportParams) {
    ui.label("Cycles per byte on one logical processor; calibrate to your hardware.");
    for (label, v, lo, hi) in [
        ("TCP receive (cpb)", &mut t.tcp_rx_cpb, 0.0, 1000.0),
        ("TCP send (cpb)", &mut t.tcp_tx_cpb, 0.0, 1000.0),
        ("LBFO team (cpb)", &mut t.lbfo_cpb, 0.0, 1000.0),
        (
            "LM worker receive (cpb)",
            &mut t.lm_worker_rx_cpb,
            0.0,
            1000.0,
        ),
        ("LM worker send (cpb)", &mut t.lm_worker_tx_cpb, 0.0, 1000.0),
        ("SMB server (cpb)", &mut t.smb_server_cpb, 0.0, 1000.0),
        ("SMB client (cpb)", &mut t.smb_client_cpb, 0.0, 1000.0),
        ("LM memory copy (cpb)", &mut t.lm_memcopy_cpb, 0.0, 1000.0),
        (
            "LM memory-copy ceiling per VM (Gbit/s)",
            &mut t.lm_memcopy_ceiling_gbps,
            1.0,
            10_000.0,
        ),
        (
            "Remote memory penalty (ns)",
            &mut t.remote_access_penalty_ns,
            0.0,
            1000.0,
        ),
        ("Cache line (bytes)", &mut t.cache_line_bytes, 1.0, 10_000.0),
        (
            "Cross-socket reads, TCP",
            &mut t.cross_socket_reads_tcp,
            0.0,
            1000.0,
        ),
        (
            "Cross-socket reads, SMB",
            &mut t.cross_socket_reads_smb,
            0.0,
            1000.0,
        ),
        ("RDMA (cpb)", &mut t.rdma_cpb, 0.0, 1000.0),
        ("Compress (cpb)", &mut t.compress_cpb, 0.0, 1000.0),
        ("Decompress (cpb)", &mut t.decompress_cpb, 0.0, 1000.0),
        (
            "RoCE without PFC: go-back-N packets",
            &mut t.roce_gbn_window_packets,
            0.0,
            1000.0,
        ),
        ("Ratio zero pages", &mut t.ratio_zero, 1.0, 10_000.0),
        ("Ratio pattern pages", &mut t.ratio_pattern, 1.0, 10_000.0),
        (
            "Ratio duplicate pages",
            &mut t.ratio_duplicate,
            1.0,
            10_000.0,
        ),
        ("Ratio text pages", &mut t.ratio_text, 1.0, 10_000.0),
        ("Ratio random pages", &mut t.ratio_random, 1.0, 10_000.0),
        (
            "Ethernet overhead (bytes)",
            &mut t.ethernet_overhead_bytes,
            0.0,
            1000.0,
        ),
        (
            "TCP/IP headers (bytes)",
            &mut t.tcp_ip_header_bytes,
            0.0,
            1000.0,
        ),
        (
            "RDMA headers (bytes)",
            &mut t.rdma_header_bytes,
            0.0,
            1000.0,
        ),
    ] {
        labeled(ui, label, |ui| {
            ui.add(egui::DragValue::new(v).range(lo..=hi).speed(0.01))
        });
    }
    count(ui, "Default RSS queues", &mut t.rss_default_queues, 1, 256);
    count(
        ui,
        "Default RSS base LP",
        &mut t.rss_default_base_lp,
        0,
        4095,
    );
    count(
        ui,
        "SMB connections per RSS NIC",
        &mut t.smb_connections_per_rss_nic,
        1,
        16,
    );
    count(
        ui,
        "SMB Direct connections per NIC",
        &mut t.smb_direct_connections_per_nic,
        1,
        16,
    );
    count(
        ui,
        "SMB max connections",
        &mut t.smb_max_connections,
        1,
        1024,
    );
    count(ui, "Comparison trials", &mut t.compare_trials, 1, 101);
}

/// The host's effective settings with the rule behind each (`lmlab explain`), and for an
/// imported lab how its live-migration networks were resolved.
fn effective(ui: &mut egui::Ui, host: &str, lab: &LabState) {
    egui::CollapsingHeader::new("Effective settings, and why")
        .id_salt(("effective", host))
        .show(ui, |ui| {
            let imported = lab
                .results
                .inventory
                .iter()
                .flat_map(|i| i.imported.decisions.iter());
            let settings = lmlab_engine::explain::settings(lab.sim().scenario());
            for d in imported
                .chain(settings.iter())
                .filter(|d| d.subject == host)
            {
                ui.add(egui::Label::new(format!("{} = {}", d.what, d.value)).wrap());
                ui.indent(("why", &d.what), |ui| {
                    ui.add(egui::Label::new(egui::RichText::new(&d.rule).weak()).wrap());
                });
            }
        });
}

/// The host's name and its live-migration CPU now.
fn host_now(ui: &mut egui::Ui, h: &HostSpec, lab: &LabState) {
    ui.strong(format!("Host {}", h.name));
    if let Some(cpu) = lab
        .sim()
        .series()
        .get(SeriesKey::HostCpu { host: &h.name })
        .map(lmlab_engine::sim::Column::last)
    {
        ui.label(format!("Live-migration CPU now: {cpu:.1} %"));
    }
}

fn host(ui: &mut egui::Ui, h: &mut HostSpec, switches: &[String], lab: &LabState) {
    host_now(ui, h, lab);
    count(ui, "Sockets", &mut h.sockets, 1, 16);
    count(ui, "Cores per socket", &mut h.cores_per_socket, 1, 512);
    hints::on(
        ui.checkbox(&mut h.smt, "SMT (hyper-threading)"),
        "SMT (hyper-threading)",
    );
    labeled(ui, "Clock", |ui| {
        ui.add(
            egui::DragValue::new(&mut h.clock_ghz)
                .range(0.5..=10.0)
                .suffix(" GHz")
                .speed(0.05),
        )
    });
    gib(ui, "Memory", &mut h.memory, 65_536.0);
    labeled(ui, "Subnet", |ui| ui.text_edit_singleline(&mut h.subnet));
    ui.separator();
    ui.strong("Teaming");
    combo(
        ui,
        "Teaming mode",
        &mut h.teaming.mode,
        &[
            (TeamingMode::None, "None (separate NICs)"),
            (TeamingMode::SwitchIndependent, "Switch independent"),
            (TeamingMode::Static, "Static"),
            (TeamingMode::Lacp, "LACP"),
            (TeamingMode::Set, "Switch Embedded Teaming"),
        ],
    );
    if h.teaming.mode == TeamingMode::None {
        h.teaming.members.clear();
    }
    combo(
        ui,
        "Load balancing",
        &mut h.teaming.algorithm,
        &[
            (
                LoadBalancingAlgorithm::TransportPorts,
                "Address hash (transport ports)",
            ),
            (LoadBalancingAlgorithm::IPAddresses, "Address hash (IP)"),
            (LoadBalancingAlgorithm::MacAddresses, "Address hash (MAC)"),
            (LoadBalancingAlgorithm::HyperVPort, "Hyper-V port"),
            (LoadBalancingAlgorithm::Dynamic, "Dynamic"),
        ],
    );
    effective(ui, &h.name, lab);
    ui.separator();
    ui.strong("NICs");
    let mut remove = None;
    for (i, n) in h.nics.iter_mut().enumerate() {
        ui.push_id(i, |ui| {
            egui::CollapsingHeader::new(format!("{} {}", n.name, n.speed))
                .default_open(i == 0)
                .show(ui, |ui| {
                    let mut g = n.speed.as_gbps();
                    if labeled(ui, "Speed", |ui| {
                        ui.add(
                            egui::DragValue::new(&mut g)
                                .range(0.01..=400.0)
                                .suffix(" Gbps"),
                        )
                    })
                    .changed()
                    {
                        n.speed = BitRate::gbps(g);
                    }
                    combo(
                        ui,
                        "RDMA",
                        &mut n.rdma,
                        &[
                            (RdmaKind::None, "None"),
                            (RdmaKind::RoCE, "RoCE"),
                            (RdmaKind::IWarp, "iWARP"),
                            (RdmaKind::InfiniBand, "InfiniBand"),
                        ],
                    );
                    hints::on(
                        ui.checkbox(&mut n.rss_capable, "RSS capable"),
                        "RSS capable",
                    );
                    combo(
                        ui,
                        "RSS",
                        &mut n.rss,
                        &[
                            (RssMode::Default, "Inbox default"),
                            (RssMode::Tuned, "Tuned"),
                            (RssMode::Disabled, "Disabled"),
                        ],
                    );
                    if n.rss == RssMode::Tuned {
                        count(
                            ui,
                            "RSS queues",
                            &mut n.rss_tuned.queues,
                            1,
                            n.rss_max_queues,
                        );
                        count(ui, "Base core", &mut n.rss_tuned.base_core, 0, 4095);
                        count(ui, "RSS NUMA node", &mut n.rss_tuned.numa_node, 0, 15);
                    }
                    count(ui, "NIC NUMA node", &mut n.numa_node, 0, 15);
                    count(ui, "Max RSS queues", &mut n.rss_max_queues, 1, 256);
                    count(ui, "MTU", &mut n.mtu, 576, 9216);
                    let mut sw = n.switch.clone().unwrap_or_default();
                    hints::on(
                        egui::ComboBox::from_label("Cabled to")
                            .selected_text(if sw.is_empty() { "(not cabled)" } else { &sw })
                            .show_ui(ui, |ui| {
                                ui.selectable_value(&mut sw, String::new(), "(not cabled)");
                                for s in switches {
                                    ui.selectable_value(&mut sw, s.clone(), s);
                                }
                            })
                            .response,
                        "Cabled to",
                    );
                    n.switch = (!sw.is_empty()).then_some(sw);
                    if ui.button("Remove this NIC").clicked() {
                        remove = Some(i);
                    }
                });
        });
    }
    if let Some(i) = remove {
        let name = h.nics[i].name.clone();
        h.nics.remove(i);
        h.teaming.members.retain(|m| m != &name);
    }
    if ui.button("Add NIC").clicked() {
        let names: Vec<String> = h.nics.iter().map(|n| n.name.clone()).collect();
        let name = (1..)
            .map(|i| format!("nic{i}"))
            .find(|n| !names.contains(n))
            .unwrap_or_default();
        h.nics.push(NicSpec::new(&name, switches.first().cloned()));
    }
}

fn vm(ui: &mut egui::Ui, v: &mut VmSpec, storages: &[String]) {
    ui.strong(format!("VM {} (on {})", v.name, v.host));
    gib(ui, "Memory", &mut v.memory, 12_288.0);
    let mut ws = v.working_set.unwrap_or(v.memory);
    gib(ui, "Working set", &mut ws, 12_288.0);
    v.working_set = Some(ws);
    let mut mib = v.dirty_rate.as_mib_per_s();
    if labeled(ui, "Dirty rate", |ui| {
        ui.add(
            egui::DragValue::new(&mut mib)
                .range(0.0..=100_000.0)
                .suffix(" MiB/s")
                .speed(5.0),
        )
    })
    .changed()
    {
        v.dirty_rate = ByteRate::mib_per_s(mib);
    }
    let mut profile = match &v.memory_profile {
        MemoryProfile::Named(n) => *n,
        MemoryProfile::Custom(_) => MemoryProfileName::Mixed,
    };
    combo(
        ui,
        "Memory content",
        &mut profile,
        &[
            (MemoryProfileName::Mixed, "Mixed server"),
            (MemoryProfileName::Idle, "Idle guest"),
            (MemoryProfileName::Database, "Database"),
            (MemoryProfileName::Random, "Random (incompressible)"),
            (MemoryProfileName::Zeros, "Zero pages"),
        ],
    );
    if !matches!(v.memory_profile, MemoryProfile::Custom(_)) {
        v.memory_profile = MemoryProfile::Named(profile);
    }
    hints::on(
        egui::ComboBox::from_label("Configuration version")
            .selected_text(v.config_version.clone())
            .show_ui(ui, |ui| {
                for ver in ["5.0", "6.2", "7.0", "7.1", "8.0", "9.0"] {
                    ui.selectable_value(&mut v.config_version, ver.to_string(), ver);
                }
            })
            .response,
        "Configuration version",
    );
    hints::on(
        egui::ComboBox::from_label("Storage")
            .selected_text(v.storage.clone())
            .show_ui(ui, |ui| {
                for s in storages {
                    ui.selectable_value(&mut v.storage, s.clone(), s);
                }
            })
            .response,
        "Storage",
    );
    guest(ui, v);
    combo(
        ui,
        "Priority",
        &mut v.priority,
        &[
            (Priority::High, "High (3000)"),
            (Priority::Medium, "Medium (2000)"),
            (Priority::Low, "Low (1000)"),
            (Priority::NoAutoStart, "No Auto Start"),
        ],
    );
    let mut own = matches!(v.resiliency_period, ResiliencyPeriod::Own(_));
    if hints::on(
        ui.checkbox(&mut own, "Own ResiliencyPeriod"),
        "Own ResiliencyPeriod",
    )
    .changed()
    {
        v.resiliency_period = if own {
            ResiliencyPeriod::Own(SimDuration::from_secs(60))
        } else {
            ResiliencyPeriod::ClusterDefault
        };
    }
    if let ResiliencyPeriod::Own(d) = &mut v.resiliency_period {
        secs(ui, "ResiliencyPeriod", d, 86_400.0);
    }
}

/// The guest's operating system and Integration Services version, from the guests the seed's
/// story has (plus whatever the lab already names).
fn guest(ui: &mut egui::Ui, v: &mut VmSpec) {
    let mut oses = vec![
        "Windows Server 2016",
        "Windows Server 2012 R2",
        "Windows Server 2008 R2 SP1",
        "Windows Server 2003 R2 SP2 x64",
        "Windows XP SP3 x86",
    ];
    let current = v.guest_os.clone();
    if !current.is_empty() && !oses.contains(&current.as_str()) {
        oses.push(&current);
    }
    hints::on(
        egui::ComboBox::from_label("Guest OS")
            .selected_text(if v.guest_os.is_empty() {
                "not stated".to_string()
            } else {
                v.guest_os.clone()
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut v.guest_os, String::new(), "not stated");
                for os in &oses {
                    ui.selectable_value(&mut v.guest_os, os.to_string(), *os);
                }
            })
            .response,
        "Guest OS",
    );
    let mut versions = vec!["6.3.9600.16384", "6.2.9200.16433", "6.1.7601.17514"];
    let current = v.integration_services.clone().unwrap_or_default();
    if !current.is_empty() && !versions.contains(&current.as_str()) {
        versions.push(&current);
    }
    hints::on(
        egui::ComboBox::from_label("IS version")
            .selected_text(
                v.integration_services
                    .clone()
                    .unwrap_or_else(|| "the hosts'".to_string()),
            )
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut v.integration_services, None, "the hosts'");
                for ver in &versions {
                    ui.selectable_value(&mut v.integration_services, Some(ver.to_string()), *ver);
                }
            })
            .response,
        "IS version",
    );
}

fn vm_actions(ui: &mut egui::Ui, lab: &LabState, name: &str, actions: &mut Actions) {
    let Some(i) = lab.spec().vms.iter().position(|v| v.name == name) else {
        return;
    };
    let Some((host, state, unmonitored)) = lab.sim().vm_view(i) else {
        return;
    };
    let host = lab.spec().hosts.get(host).map_or("", |h| h.name.as_str());
    ui.separator();
    ui.label(format!(
        "Now {state:?} on {host}{}",
        if unmonitored { ", Unmonitored" } else { "" }
    ));
    ui.menu_button("Live-migrate to…", |ui| {
        for h in lab.spec().hosts.iter().filter(|h| h.name != host) {
            if ui.button(&h.name).clicked() {
                actions.push(LabAction::AskMigration {
                    vm: name.to_string(),
                    to: h.name.clone(),
                });
                ui.close();
            }
        }
    });
}

/// The VM's Integration Services like `Get-VMIntegrationService` (VMName, Name, Enabled,
/// PrimaryStatusDescription, SecondaryStatusDescription), `Get-VM`'s version and state, and the
/// guest's setup, removal and restart.
fn integration_services(ui: &mut egui::Ui, lab: &LabState, name: &str, actions: &mut Actions) {
    let Some(i) = lab.spec().vms.iter().position(|v| v.name == name) else {
        return;
    };
    let Some(st) = lab.sim().integration_status(i) else {
        return;
    };
    ui.separator();
    ui.strong("Integration Services");
    let show = |ui: &mut egui::Ui, label: &str, value: String| {
        hints::on(ui.label(format!("{label}: {value}")), label);
    };
    let os = if st.guest_os.is_empty() {
        "(not stated)".to_string()
    } else {
        st.guest_os.clone()
    };
    show(ui, "Guest OS", os);
    let version = st.version.clone().unwrap_or_else(|| "(none)".into());
    show(ui, "IntegrationServicesVersion", version);
    show(ui, "Host's version", st.host_version.clone());
    show(ui, "IntegrationServicesState", st.state.to_string());
    if let Some(a) = st.activity {
        let what = match a {
            lmlab_engine::sim::IsActivity::Installing { upgrade: true } => "upgrading",
            lmlab_engine::sim::IsActivity::Installing { upgrade: false } => "installing",
            lmlab_engine::sim::IsActivity::Uninstalling => "removing",
            lmlab_engine::sim::IsActivity::Rebooting => "the guest is restarting",
        };
        show(ui, "In progress", what.to_string());
    }
    if let Some(code) = st.last_error {
        let text = format!("error code {code} (ERROR_INSTALL_FAILURE)");
        let r = ui.colored_label(ui.visuals().error_fg_color, format!("Last setup: {text}"));
        hints::on(r, "Last setup");
    }
    // The cmdlet's columns, as wide as they need (the inspector widens to show them).
    is_table(ui, name, &st.components);
    if lab.sim().vm_in_backup(i) {
        hints::on(ui.label("Backup in progress"), "Backup in progress");
    }
    is_buttons(ui, name, actions);
}

/// `Get-VMIntegrationService`'s table of one VM.
fn is_table(ui: &mut egui::Ui, name: &str, components: &[lmlab_engine::sim::IsComponent]) {
    let status = |s: Option<lmlab_engine::sim::IsStatus>| s.map_or("", |s| s.description());
    egui::Grid::new(("is-table", name))
        .striped(true)
        .num_columns(4)
        .show(ui, |ui| {
            for h in [
                "Name",
                "Enabled",
                "PrimaryStatusDescription",
                "SecondaryStatusDescription",
            ] {
                hints::on(ui.strong(h), h);
            }
            ui.end_row();
            for c in components {
                ui.label(c.name);
                ui.label(if c.enabled { "True" } else { "False" });
                ui.label(status(c.primary));
                let sec = status(c.secondary);
                if c.secondary == Some(lmlab_engine::sim::IsStatus::ProtocolMismatch) {
                    ui.colored_label(ui.visuals().warn_fg_color, sec);
                } else {
                    ui.label(sec);
                }
                ui.end_row();
            }
        });
}

/// Setup, removal and restart of the guest, as commands.
fn is_buttons(ui: &mut egui::Ui, name: &str, actions: &mut Actions) {
    ui.horizontal_wrapped(|ui| {
        let vm = || name.to_string();
        use lmlab_engine::Command;
        let buttons = [
            ("Upgrade", Command::UpgradeIntegrationServices { vm: vm() }),
            (
                "Uninstall",
                Command::UninstallIntegrationServices { vm: vm() },
            ),
            ("Restart guest", Command::RebootGuest { vm: vm() }),
            ("Install", Command::InstallIntegrationServices { vm: vm() }),
        ];
        for (label, cmd) in buttons {
            if hints::on(ui.button(label), label).clicked() {
                actions.push(LabAction::Apply(cmd));
            }
        }
    });
}
