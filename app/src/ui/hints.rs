//! What every inspector field means, shown when the pointer rests on it: the real system's name
//! for it, its default and what the model does with it. Keyed by the field's label.

use std::cell::RefCell;

/// Each field's label and what it means.
const HINTS: &[(&str, &str)] = &[
    // The cluster (Get-Cluster properties).
    (
        "ResiliencyLevel",
        "How a node that loses the cluster goes Isolated. AlwaysIsolate (2, the default): \
             always Isolated first, its VMs keep running Unmonitored for the resiliency period. \
             IsolateOnSpecialHeartbeat (1): only when the cluster service was told why it left.",
    ),
    (
        "ResiliencyDefaultPeriod",
        "Seconds an Isolated node's VMs may run Unmonitored before they fail over, for VMs \
             without their own ResiliencyPeriod (default 240 s).",
    ),
    (
        "QuarantineThreshold",
        "Failures within one hour that put a node in Quarantine (default 3).",
    ),
    (
        "Quarantine until cleared (0xFFFFFFFF)",
        "QuarantineDuration 0xFFFFFFFF: the node stays quarantined until \
             Start-ClusterNode -ClearQuarantine.",
    ),
    (
        "QuarantineDuration",
        "Seconds a quarantined node is kept out of the cluster before it may join again \
             (default 7200 s).",
    ),
    (
        "Quarantine cap",
        "At most this share of the nodes (at least one) is quarantined at a time; the next \
             failing node stays in the cluster. The seed says 20 %, Microsoft's blog 25 %.",
    ),
    (
        "SameSubnetDelay",
        "Milliseconds between heartbeats to nodes on the same subnet.",
    ),
    (
        "SameSubnetThreshold",
        "Heartbeats missed on the same subnet before a node is declared lost (WS2016: 10).",
    ),
    (
        "CrossSubnetDelay",
        "Milliseconds between heartbeats to nodes on another subnet.",
    ),
    (
        "CrossSubnetThreshold",
        "Heartbeats missed across subnets before a node is declared lost (WS2016: 20).",
    ),
    (
        "RouteHistoryLength",
        "Heartbeat history the cluster logs per route (default 10).",
    ),
    (
        "Witness",
        "The quorum witness: none, a file share or a disk. A witness adds a vote, so a cluster \
             with an even number of nodes keeps quorum when half of them are lost.",
    ),
    (
        "ClusterFunctionalLevel",
        "9 is Windows Server 2016; 8 is a cluster mid-upgrade from 2012 R2 (mixed mode).",
    ),
    (
        "Isolation needs VM version",
        "VMs below this configuration version are not kept running while their node is \
             Isolated: they fail over as before Windows Server 2016.",
    ),
    (
        "Joining takes",
        "How long a node that comes back stays Joining before it is Up.",
    ),
    (
        "Running-Critical to Paused-Critical",
        "After a VM on an Isolated node loses its storage it is Running-Critical; this long \
             later it is Paused-Critical (its I/O is failing).",
    ),
    (
        "VM start time",
        "How long a VM takes to start on its new node after a failover.",
    ),
    (
        "Quick migration rate",
        "How fast a quick migration saves and restores a VM's memory through storage.",
    ),
    (
        "Low-priority drain",
        "How a drain moves VMs of low priority: live or quick migration.",
    ),
    // Live migration (Set-VMHost).
    (
        "Performance option",
        "Set-VMHost -VirtualMachineMigrationPerformanceOption: TCP/IP, Compression (the \
             default) or SMB (SMB Direct when the NICs have RDMA).",
    ),
    (
        "Allow SMB Direct (RDMA)",
        "With the SMB option, use RDMA when both hosts' NICs have it; off forces SMB over TCP.",
    ),
    (
        "Simultaneous live migrations",
        "Set-VMHost -MaximumVirtualMachineMigrations (default 2); more wait in a queue.",
    ),
    (
        "Maximum passes",
        "Memory copy passes before the VM is paused for the switch-over, however much is \
             still dirty.",
    ),
    (
        "Target pause",
        "The switch-over happens as soon as what is left can be copied within this pause.",
    ),
    (
        "Setup",
        "Time to create the VM on the destination before the first copy pass.",
    ),
    (
        "Device state",
        "Processor and device state copied during the pause.",
    ),
    (
        "Switch-over overhead",
        "Fixed time of the switch-over on top of the last copy.",
    ),
    (
        "Clean-up",
        "Time the source spends removing the VM after it runs on the destination.",
    ),
    // Transport model parameters.
    (
        "TCP receive (cpb)",
        "CPU cycles per byte to receive over TCP/IP on one logical processor.",
    ),
    (
        "TCP send (cpb)",
        "CPU cycles per byte to send over TCP/IP on one logical processor.",
    ),
    (
        "LBFO team (cpb)",
        "Extra cycles per byte through an LBFO team's multiplexor driver.",
    ),
    (
        "LM worker receive (cpb)",
        "Cycles per byte of the live-migration worker writing received memory into the VM.",
    ),
    (
        "LM worker send (cpb)",
        "Cycles per byte of the live-migration worker reading the VM's memory to send.",
    ),
    (
        "SMB server (cpb)",
        "Cycles per byte of the SMB server on the receiving host.",
    ),
    (
        "SMB client (cpb)",
        "Cycles per byte of the SMB client on the sending host.",
    ),
    (
        "LM memory copy (cpb)",
        "Cycles per guest-memory byte of the migration's memory-copy worker at each end (SMB \
         paths).",
    ),
    (
        "LM memory-copy ceiling per VM (Gbit/s)",
        "Most guest memory one VM's memory-copy worker moves per second, on every transport \
         (an assumption: no source states it).",
    ),
    (
        "Remote memory penalty (ns)",
        "Extra latency of a memory read served by the other socket (typical two-socket figure: \
         60 ns).",
    ),
    (
        "Cache line (bytes)",
        "Bytes per memory read: the cross-socket cost is counted per cache line.",
    ),
    (
        "Cross-socket reads, TCP",
        "How often each received byte is read on the TCP/IP receive path when its processor \
         is on the other socket.",
    ),
    (
        "Cross-socket reads, SMB",
        "How often each received byte is read on the SMB receive path when its processor is on \
         the other socket.",
    ),
    (
        "RoCE without PFC: go-back-N packets",
        "Packets RoCE resends after each drop on a switch without flow control.",
    ),
    (
        "RDMA (cpb)",
        "Cycles per byte of SMB Direct (the NIC does the copying).",
    ),
    (
        "Compress (cpb)",
        "Cycles per byte to compress memory (Compression option).",
    ),
    (
        "Decompress (cpb)",
        "Cycles per byte to decompress memory on the destination.",
    ),
    (
        "Ratio zero pages",
        "How much the Compression option shrinks pages of this kind (2 = to half).",
    ),
    (
        "Ratio pattern pages",
        "How much the Compression option shrinks pages of this kind (2 = to half).",
    ),
    (
        "Ratio duplicate pages",
        "How much the Compression option shrinks pages of this kind (2 = to half).",
    ),
    (
        "Ratio text pages",
        "How much the Compression option shrinks pages of this kind (2 = to half).",
    ),
    (
        "Ratio random pages",
        "How much the Compression option shrinks pages of this kind (2 = to half).",
    ),
    (
        "Ethernet overhead (bytes)",
        "Bytes per frame on the wire besides the payload: header, FCS, preamble, gap.",
    ),
    (
        "TCP/IP headers (bytes)",
        "IP and TCP header bytes per frame.",
    ),
    (
        "RDMA headers (bytes)",
        "RoCE or iWARP header bytes per frame.",
    ),
    (
        "Default RSS queues",
        "Receive queues of a NIC whose RSS is left at the inbox default.",
    ),
    (
        "Default RSS base LP",
        "First logical processor the inbox default RSS uses.",
    ),
    (
        "SMB connections per RSS NIC",
        "SMB Multichannel opens this many TCP connections per RSS NIC.",
    ),
    (
        "SMB Direct connections per NIC",
        "SMB Multichannel's RDMA connections per RDMA NIC.",
    ),
    (
        "SMB max connections",
        "SMB Multichannel's limit on connections per session.",
    ),
    (
        "Comparison trials",
        "Runs per configuration in Compare, with different seeds: the figures are medians \
             with their range.",
    ),
    // Hosts and NICs.
    ("Sockets", "Processor sockets (NUMA nodes) of the host."),
    ("Cores per socket", "Physical cores in each socket."),
    ("SMT (hyper-threading)", "Two logical processors per core."),
    (
        "Clock",
        "Processor clock: the cycles per byte above are spent at this rate.",
    ),
    ("Memory", "The host's memory."),
    (
        "Subnet",
        "The host's cluster network subnet: heartbeats across subnets use the cross-subnet settings.",
    ),
    (
        "Teaming",
        "How the NICs are combined: separate NICs (SMB Multichannel uses each), an LBFO team \
             (no RDMA) or Switch Embedded Teaming.",
    ),
    (
        "Teaming mode",
        "Switch independent, static or LACP (needs port channels on the switch).",
    ),
    (
        "Load balancing",
        "How a team spreads flows over its members.",
    ),
    ("Speed", "Link speed of the NIC."),
    (
        "MTU",
        "Largest frame payload: 1500, or jumbo frames up to 9014.",
    ),
    (
        "RDMA",
        "The NIC's RDMA kind, if any: RoCE (needs PFC), iWARP or InfiniBand.",
    ),
    (
        "RSS",
        "Inbox default RSS, or tuned (base core and queue count set per NIC).",
    ),
    (
        "RSS capable",
        "The NIC spreads receive work over several processors.",
    ),
    (
        "RSS queues",
        "Receive queues, each served by one logical processor.",
    ),
    (
        "Max RSS queues",
        "Upper limit on receive queues for this NIC.",
    ),
    ("Base core", "First processor the NIC's RSS uses."),
    (
        "RSS NUMA node",
        "The socket whose processors the NIC's RSS uses.",
    ),
    ("NIC NUMA node", "The socket the NIC is attached to (PCIe)."),
    ("Cabled to", "The switch this NIC's cable goes to."),
    // VMs.
    ("Working set", "The VM's memory that the migration copies."),
    (
        "Dirty rate",
        "How fast the running VM rewrites its memory while it is copied.",
    ),
    (
        "Memory content",
        "What the memory holds: it decides how well Compression shrinks it.",
    ),
    (
        "Storage",
        "Where the VM's files are: a CSV or an SMB3 file share.",
    ),
    (
        "Priority",
        "Cluster priority: high-priority VMs start and move first.",
    ),
    (
        "IS version",
        "The guest's Integration Services version (IntegrationServicesVersion): another \
             version than the hosts' shows Protocol Mismatch and rules out an online backup.",
    ),
    (
        "Configuration version",
        "The VM's configuration version: VMs below the cluster's required version are \
             not kept running while their node is Isolated.",
    ),
    (
        "Own ResiliencyPeriod",
        "Give this VM its own ResiliencyPeriod instead of the cluster's default.",
    ),
    (
        "ResiliencyPeriod",
        "Seconds this VM may run Unmonitored on an Isolated node.",
    ),
    // Switches and storage.
    (
        "DCB with Priority Flow Control (PFC)",
        "Lossless Ethernet for RoCE: without it RoCE loses packets under load.",
    ),
    (
        "LACP / static port channels",
        "The switch offers port channels for LACP or static teams.",
    ),
    (
        "Kind",
        "CSV block storage or an SMB3 file share (Scale-Out File Server).",
    ),
    // Elsewhere in the window.
    (
        "Go to",
        "Type a time (0:05:00, 5m, 90s) and press Enter to see the lab at that time.",
    ),
    // A VM's Integration Services (Get-VM, Get-VMIntegrationService).
    (
        "Guest OS",
        "The guest operating system as Key-Value Pair Exchange reports it.",
    ),
    (
        "IntegrationServicesVersion",
        "The guest's Integration Services version (registry HKLM\\Software\\Microsoft\\Virtual \
             Machine\\Auto, IntegrationServicesVersion); none after a removal.",
    ),
    (
        "Host's version",
        "The hosts' Integration Services version. A guest with another version negotiates an \
             older protocol: Protocol Mismatch, and no online (VSS) backup.",
    ),
    (
        "IntegrationServicesState",
        "Get-VM's IntegrationServicesState: Up to date, or Update required while the guest's \
             components differ from the host's.",
    ),
    (
        "In progress",
        "What the guest is doing to its Integration Services: setup, removal or a restart \
             (Heartbeat No Contact meanwhile).",
    ),
    (
        "Last setup",
        "The last setup's Windows Installer error. 1603 is ERROR_INSTALL_FAILURE; the seed's \
             repair is uninstall, restart, reinstall, restart.",
    ),
    (
        "Name",
        "The Integration Services component (Get-VMIntegrationService Name).",
    ),
    (
        "Enabled",
        "Whether the component is enabled on the VM (Guest Service Interface is off by default).",
    ),
    (
        "PrimaryStatusDescription",
        "The component's primary status: OK, No Contact (not installed, not answering, or the \
             guest is booting), Lost Communication (stopped answering).",
    ),
    (
        "SecondaryStatusDescription",
        "The secondary status: OK on Heartbeat; Protocol Mismatch (32775) when the guest's \
             components run another protocol version than the host's.",
    ),
    (
        "Backup in progress",
        "A backup job is between PrepareForSnapshot and PostSnapshot for this VM: live \
             migration is refused until it ends.",
    ),
    (
        "Upgrade",
        "Insert the Integration Services setup disk and run setup over outdated components \
             (on the seed's old guests this can end with error 1603).",
    ),
    (
        "Uninstall",
        "Remove the Integration Services from the guest; a restart finishes the removal.",
    ),
    (
        "Restart guest",
        "Restart the guest operating system: Heartbeat is No Contact until it is back.",
    ),
    (
        "Install",
        "Install the Integration Services on a guest that has none (after a removal and a \
             restart); setup restarts the guest.",
    ),
    (
        "Filter",
        "Show only the events whose subject or text contains this.",
    ),
    (
        "Path",
        "The file's full path; Enter to confirm, Esc to cancel.",
    ),
];

/// The hover text for the field labelled `label`, if there is one.
pub fn hint(label: &str) -> Option<&'static str> {
    if let Some((_, text)) = HINTS.iter().find(|(l, _)| *l == label) {
        return Some(text);
    }
    MISSING.with(|m| {
        let mut m = m.borrow_mut();
        if !m.iter().any(|x| x == label) {
            m.push(label.to_string());
        }
    });
    None
}

thread_local! {
    /// Labels asked for that have no hint, for the test that every field has one.
    static MISSING: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// The labels shown so far (on this thread) that have no hint.
pub fn missing() -> Vec<String> {
    MISSING.with(|m| m.borrow().clone())
}

/// Adds the hint for `label` to a response, if it has one.
pub fn on(response: egui::Response, label: &str) -> egui::Response {
    match hint(label) {
        Some(h) => response.on_hover_text(h),
        None => response,
    }
}
