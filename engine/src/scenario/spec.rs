//! The scenario file format, version 1, as serde types. These structs are both what a TOML file
//! deserializes into and what the GUI edits and writes back; they hold names, not indices, so they
//! stay readable. `validate` checks everything serde cannot (references, ranges, uniqueness).
//! Documented for users in `docs/scenario-format.md`; keep the two in step.

use crate::time::SimDuration;
use crate::units::{BitRate, ByteRate, Bytes};
use serde::{Deserialize, Serialize};

/// The format version this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    pub format_version: u32,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Seed used when the command line gives none.
    #[serde(default)]
    pub seed: u64,
    /// How far `lmlab run` simulates when `--until` is not given.
    #[serde(default = "default_until")]
    pub until: SimDuration,
    /// Step of the sampled time series in reports.
    #[serde(default = "default_sample_step")]
    pub sample_step: SimDuration,
    #[serde(default)]
    pub cluster: ClusterSettings,
    /// Live-migration settings every host starts with (a host may override them).
    #[serde(default)]
    pub migration: MigrationSettings,
    /// Cost and protocol parameters of the transport model (docs/transport-model.md).
    #[serde(default)]
    pub transport: crate::transport::TransportParams,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub switches: Vec<SwitchSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage: Vec<StorageSpec>,
    #[serde(default)]
    pub hosts: Vec<HostSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vms: Vec<VmSpec>,
    /// Integration Services of the hosts and the update path (`[integration]`).
    #[serde(default, skip_serializing_if = "IntegrationSettings::is_default")]
    pub integration: IntegrationSettings,
    /// Replay Manager and VSS settings (`[backup]`).
    #[serde(default, skip_serializing_if = "BackupSettings::is_default")]
    pub backup: BackupSettings,
    /// Replay Manager backup sets (`[[backup_sets]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backup_sets: Vec<BackupSetSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub script: Vec<ScriptEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configurations: Vec<ConfigurationSpec>,
}

fn default_until() -> SimDuration {
    SimDuration::from_secs(600)
}
fn default_sample_step() -> SimDuration {
    SimDuration::from_secs(1)
}

// ---------------------------------------------------------------------------------------------
// Cluster

/// `(Get-Cluster).ResiliencyLevel`: 1 = IsolateOnSpecialHeartbeat, 2 = AlwaysIsolate. Files may
/// use the name or the number, as PowerShell accepts both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub enum ResiliencyLevel {
    IsolateOnSpecialHeartbeat,
    /// lmlab's default (domain.md "Our defaults": what the seed observed on TPv2).
    #[default]
    AlwaysIsolate,
}

impl<'de> Deserialize<'de> for ResiliencyLevel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = ResiliencyLevel;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("\"AlwaysIsolate\" (2) or \"IsolateOnSpecialHeartbeat\" (1)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ResiliencyLevel, E> {
                match v {
                    "AlwaysIsolate" | "2" => Ok(ResiliencyLevel::AlwaysIsolate),
                    "IsolateOnSpecialHeartbeat" | "1" => {
                        Ok(ResiliencyLevel::IsolateOnSpecialHeartbeat)
                    }
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(v), &self)),
                }
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<ResiliencyLevel, E> {
                match v {
                    2 => Ok(ResiliencyLevel::AlwaysIsolate),
                    1 => Ok(ResiliencyLevel::IsolateOnSpecialHeartbeat),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Signed(v), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// Largest share of nodes that may be quarantined at once (at least one node). CONFLICT in the
/// sources: the seed says 20 %, the book 25 %.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum QuarantineCap {
    #[default]
    #[serde(rename = "20%")]
    Pct20,
    #[serde(rename = "25%")]
    Pct25,
}

impl QuarantineCap {
    /// The share of the node count.
    pub fn share(self) -> f64 {
        match self {
            QuarantineCap::Pct20 => 0.20,
            QuarantineCap::Pct25 => 0.25,
        }
    }

    /// Most nodes that may be quarantined at once among `nodes`: the share, at least one.
    pub fn nodes(self, nodes: usize) -> usize {
        ((nodes as f64 * self.share()).floor() as usize).max(1)
    }
}

/// `QuarantineDuration`: a time, or until `Start-ClusterNode -ClearQuarantine` (0xFFFFFFFF).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuarantineDuration {
    UntilCleared,
    For(SimDuration),
}

impl Default for QuarantineDuration {
    fn default() -> Self {
        QuarantineDuration::For(SimDuration::from_secs(7200))
    }
}

impl Serialize for QuarantineDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            QuarantineDuration::UntilCleared => s.serialize_str("until-cleared"),
            QuarantineDuration::For(d) => d.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for QuarantineDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        keyword_or_duration(
            d,
            "until-cleared",
            "\"until-cleared\" or a duration like \"300s\"",
        )
        .map(|v| v.map_or(QuarantineDuration::UntilCleared, QuarantineDuration::For))
    }
}

/// Reads either `keyword` (-> None) or a duration (-> Some).
fn keyword_or_duration<'de, D: serde::Deserializer<'de>>(
    d: D,
    keyword: &'static str,
    expecting: &'static str,
) -> Result<Option<SimDuration>, D::Error> {
    struct V(&'static str, &'static str);
    impl serde::de::Visitor<'_> for V {
        type Value = Option<SimDuration>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.1)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            if v == self.0 {
                return Ok(None);
            }
            crate::time::parse_duration(v)
                .map(Some)
                .map_err(|e| E::custom(format!("{e}, or \"{}\"", self.0)))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            if v == 0 {
                Ok(Some(SimDuration::ZERO))
            } else {
                Err(E::custom(format!(
                    "a bare number {v} is not a duration: write the unit, like \"{v}s\", or \"{}\"",
                    self.0
                )))
            }
        }
    }
    d.deserialize_any(V(keyword, expecting))
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Witness {
    #[default]
    None,
    Disk,
    FileShare,
    Cloud,
}

/// How the cluster moves Low-priority VMs when it drains a node (High and Medium always live-migrate).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DrainMove {
    #[default]
    QuickMigration,
    LiveMigration,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterSettings {
    pub name: String,
    pub resiliency_level: ResiliencyLevel,
    /// 0 turns VM Compute Resiliency off (the pre-2016 behaviour).
    pub resiliency_default_period: SimDuration,
    /// Isolations within a sliding hour that quarantine a node.
    pub quarantine_threshold: u32,
    pub quarantine_duration: QuarantineDuration,
    pub quarantine_cap: QuarantineCap,
    pub same_subnet_delay: SimDuration,
    pub same_subnet_threshold: u32,
    pub cross_subnet_delay: SimDuration,
    pub cross_subnet_threshold: u32,
    pub route_history_length: u32,
    /// 8 = Windows Server 2012 R2, 9 = 2016.
    pub functional_level: u32,
    /// VMs below this configuration version skip isolation handling and fail over (seed: 6.x).
    pub isolation_min_config_version: String,
    pub witness: Witness,
    pub drain_low_priority: DrainMove,
    /// Time from the cluster service starting on a node to the node being Up (Joining).
    pub join_time: SimDuration,
    /// Running-Critical to Paused-Critical: how long a VM's storage I/O may fail before the
    /// storage-resiliency pause (assumption).
    pub critical_pause_after: SimDuration,
    /// How long a restarted VM is Starting before it runs again (its outage ends).
    pub vm_start_time: SimDuration,
    /// Save and restore rate of a quick migration (memory to and from shared storage).
    pub quick_migration_rate: ByteRate,
    /// `(Get-Cluster).DynamicQuorum`: votes are re-weighted after every verified departure.
    pub dynamic_quorum: bool,
    /// Dynamic witness: the witness votes only while the voting nodes are even in number.
    pub dynamic_witness: bool,
    /// `(Get-Cluster).LowerQuorumPriorityNodeID`: the node that loses its vote first when the
    /// cluster must zero one; empty = chosen by the seeded RNG.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub lower_quorum_priority_node: String,
    /// Times a failed drain is retried (CAU `MaxRetriesPerNode` default 3).
    pub drain_retries: u32,
    /// Wait before a failed drain is retried (assumption).
    pub drain_retry_delay: SimDuration,
    /// Count Running-Critical and Paused-Critical time (a frozen guest) as outage.
    pub count_frozen_as_outage: bool,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        ClusterSettings {
            name: "cluster".into(),
            resiliency_level: ResiliencyLevel::AlwaysIsolate,
            resiliency_default_period: SimDuration::from_secs(240),
            quarantine_threshold: 3,
            quarantine_duration: QuarantineDuration::default(),
            quarantine_cap: QuarantineCap::Pct20,
            same_subnet_delay: SimDuration::from_millis(1000),
            same_subnet_threshold: 10,
            cross_subnet_delay: SimDuration::from_millis(1000),
            cross_subnet_threshold: 20,
            route_history_length: 10,
            functional_level: 9,
            isolation_min_config_version: "6.0".into(),
            witness: Witness::None,
            drain_low_priority: DrainMove::QuickMigration,
            join_time: SimDuration::from_secs(5),
            critical_pause_after: SimDuration::from_secs(10),
            vm_start_time: SimDuration::from_secs(30),
            quick_migration_rate: ByteRate::mib_per_s(1024.0),
            dynamic_quorum: true,
            dynamic_witness: true,
            lower_quorum_priority_node: String::new(),
            drain_retries: 3,
            drain_retry_delay: SimDuration::from_secs(60),
            count_frozen_as_outage: true,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Migration settings

/// `Set-VMHost -VirtualMachineMigrationPerformanceOption`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PerformanceOption {
    #[serde(rename = "TCPIP", alias = "TcpIp", alias = "TCP")]
    TcpIp,
    /// The Hyper-V default.
    #[default]
    Compression,
    #[serde(rename = "SMB")]
    Smb,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MigrationSettings {
    pub performance_option: PerformanceOption,
    /// `Set-VMHost -MaximumVirtualMachineMigrations`.
    pub max_simultaneous: u32,
    /// Memory copy passes before the switch-over is forced (5: 2012 R2+ model; 10: 2008 R2 model).
    pub max_passes: u32,
    /// Whether SMB may use RDMA (SMB Direct) when both ends have RDMA NICs.
    pub smb_direct: bool,
    /// The switch-over starts once the dirty remainder can be sent within this pause.
    pub target_pause: SimDuration,
    /// Connection, configuration transfer, skeleton VM and memory allocation on the destination.
    pub setup: SimDuration,
    /// Processor and device state copied during the switch-over.
    pub device_state: Bytes,
    /// Fixed part of the pause: suspend, resume on the destination, storage handles, ARP.
    pub switchover_overhead: SimDuration,
    /// Source clean-up after the VM runs on the destination.
    pub cleanup: SimDuration,
    /// `Set-SmbBandwidthLimit -Category LiveMigration`: the most SMB live-migration traffic a host
    /// sends (SMB over TCP and SMB Direct); none by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smb_bandwidth_limit: Option<ByteRate>,
}

impl Default for MigrationSettings {
    fn default() -> Self {
        MigrationSettings {
            performance_option: PerformanceOption::Compression,
            max_simultaneous: 2,
            max_passes: 5,
            smb_direct: true,
            target_pause: SimDuration::from_millis(100),
            setup: SimDuration::from_millis(1500),
            device_state: Bytes::mib(2),
            switchover_overhead: SimDuration::from_millis(15),
            cleanup: SimDuration::from_millis(500),
            smb_bandwidth_limit: None,
        }
    }
}

/// Per-host overrides of [`MigrationSettings`]; absent fields keep the scenario-wide value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MigrationOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub performance_option: Option<PerformanceOption>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_simultaneous: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_passes: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smb_direct: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_pause: Option<SimDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup: Option<SimDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_state: Option<Bytes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub switchover_overhead: Option<SimDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cleanup: Option<SimDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smb_bandwidth_limit: Option<ByteRate>,
}

impl MigrationSettings {
    pub fn with(&self, o: &MigrationOverrides) -> MigrationSettings {
        MigrationSettings {
            performance_option: o.performance_option.unwrap_or(self.performance_option),
            max_simultaneous: o.max_simultaneous.unwrap_or(self.max_simultaneous),
            max_passes: o.max_passes.unwrap_or(self.max_passes),
            smb_direct: o.smb_direct.unwrap_or(self.smb_direct),
            target_pause: o.target_pause.unwrap_or(self.target_pause),
            setup: o.setup.unwrap_or(self.setup),
            device_state: o.device_state.unwrap_or(self.device_state),
            switchover_overhead: o.switchover_overhead.unwrap_or(self.switchover_overhead),
            cleanup: o.cleanup.unwrap_or(self.cleanup),
            smb_bandwidth_limit: o.smb_bandwidth_limit.or(self.smb_bandwidth_limit),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Switches and storage

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchSpec {
    pub name: String,
    /// Data Center Bridging with Priority Flow Control (needed by RoCE).
    #[serde(default)]
    pub dcb_pfc: bool,
    /// Whether the switch can form LACP / static port channels (switch-dependent teaming).
    #[serde(default = "yes")]
    pub lacp: bool,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StorageKind {
    /// SMB3 file share (Scale-Out File Server): does not depend on the Hyper-V cluster.
    #[serde(rename = "SMB3", alias = "SOFS", alias = "smb3")]
    Smb3,
    /// Block storage (FC, iSCSI, SAS, …) behind Cluster Shared Volumes.
    #[serde(rename = "CSV", alias = "csv")]
    Csv,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSpec {
    pub name: String,
    pub kind: StorageKind,
}

// ---------------------------------------------------------------------------------------------
// Hosts and NICs

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TeamingMode {
    /// No team: every NIC stands alone (SMB Multichannel can still use them all).
    #[default]
    None,
    SwitchIndependent,
    Static,
    #[serde(alias = "LACP")]
    Lacp,
    /// Switch Embedded Teaming (switch independent, 1-8 NICs, keeps RDMA).
    #[serde(rename = "SET")]
    Set,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LoadBalancingAlgorithm {
    /// Address hash on TCP/UDP ports (the LBFO default for address hashing).
    TransportPorts,
    IPAddresses,
    MacAddresses,
    HyperVPort,
    #[default]
    Dynamic,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TeamSpec {
    pub mode: TeamingMode,
    pub algorithm: LoadBalancingAlgorithm,
    /// NIC names; empty means every NIC of the host.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// SET only: host vNICs for live migration and SMB, vNIC `k` pinned to member `k`; absent =
    /// one per member (Microsoft's documented pattern for RDMA on SET).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_vnics: Option<u32>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RdmaKind {
    #[default]
    None,
    #[serde(alias = "RoCEv2")]
    RoCE,
    #[serde(rename = "iWARP", alias = "IWARP")]
    IWarp,
    InfiniBand,
}

/// Which RSS settings a NIC runs with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RssMode {
    /// The inbox default: NUMAStatic, few queues round-robin over the sockets from processor 0,
    /// the same for every NIC.
    #[default]
    Default,
    /// The NIC's `rss_tuned` settings.
    Tuned,
    /// RSS turned off: all receive processing on one core.
    Disabled,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RssTuning {
    pub queues: u32,
    pub base_core: u32,
    pub numa_node: u32,
}

impl Default for RssTuning {
    fn default() -> Self {
        RssTuning {
            queues: 8,
            base_core: 0,
            numa_node: 0,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NicSpec {
    pub name: String,
    pub speed: BitRate,
    #[serde(default)]
    pub rdma: RdmaKind,
    /// Whether the adapter reports RSS capability.
    #[serde(default = "yes")]
    pub rss_capable: bool,
    #[serde(default = "default_rss_max_queues")]
    pub rss_max_queues: u32,
    #[serde(default)]
    pub rss: RssMode,
    #[serde(default)]
    pub rss_tuned: RssTuning,
    /// The switch this port is cabled to; absent = not cabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switch: Option<String>,
    /// IP MTU in bytes (1500 standard, 9000 jumbo frames).
    #[serde(default = "default_mtu")]
    pub mtu: u32,
    /// The socket (NUMA node) whose PCIe lanes the NIC hangs off.
    #[serde(default)]
    pub numa_node: u32,
    /// The adapter's interface description (`Get-NetAdapter`'s InterfaceDescription), by which
    /// PerfMon names it; kept by `lmlab import`, used to match measured counters to this NIC.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

impl NicSpec {
    /// A NIC as a new one is added to a lab: 10 GbE, RSS capable (16 queues, inbox default), no
    /// RDMA, MTU 1500, NUMA node 0, cabled to `switch`.
    pub fn new(name: &str, switch: Option<String>) -> NicSpec {
        NicSpec {
            name: name.into(),
            speed: BitRate::gbps(10.0),
            rdma: Default::default(),
            rss_capable: true,
            rss_max_queues: 16,
            rss: Default::default(),
            rss_tuned: Default::default(),
            switch,
            mtu: 1500,
            numa_node: 0,
            description: String::new(),
        }
    }
}

fn default_mtu() -> u32 {
    1500
}

fn default_rss_max_queues() -> u32 {
    16
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    pub name: String,
    pub sockets: u32,
    pub cores_per_socket: u32,
    /// Simultaneous multithreading (two logical processors per core).
    #[serde(default)]
    pub smt: bool,
    pub clock_ghz: f64,
    pub memory: Bytes,
    /// Cluster network subnet: heartbeats between different subnets use the cross-subnet delay
    /// and threshold.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subnet: String,
    #[serde(default)]
    pub teaming: TeamSpec,
    #[serde(default)]
    pub migration: MigrationOverrides,
    #[serde(default)]
    pub nics: Vec<NicSpec>,
}

// ---------------------------------------------------------------------------------------------
// VMs

/// What a guest's memory holds, as fractions of its pages. Decides compression ratios. Written as a
/// name (`"mixed"`) or a table of fractions (`{ zero = 0.3, pattern = 0.1, … }`).
#[derive(Clone, Debug, PartialEq)]
pub enum MemoryProfile {
    Named(MemoryProfileName),
    Custom(MemoryMix),
}

impl Default for MemoryProfile {
    fn default() -> Self {
        MemoryProfile::Named(MemoryProfileName::Mixed)
    }
}

impl Serialize for MemoryProfile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            MemoryProfile::Named(n) => n.serialize(s),
            MemoryProfile::Custom(m) => m.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for MemoryProfile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = MemoryProfile;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a profile name (mixed, idle, database, random, zeros) or a table of fractions",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<MemoryProfile, E> {
                MemoryProfileName::deserialize(serde::de::value::StrDeserializer::<E>::new(v))
                    .map(MemoryProfile::Named)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                m: A,
            ) -> Result<MemoryProfile, A::Error> {
                MemoryMix::deserialize(serde::de::value::MapAccessDeserializer::new(m))
                    .map(MemoryProfile::Custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemoryProfileName {
    /// A typical server guest (setup.md's measured image).
    #[default]
    Mixed,
    /// A freshly booted, mostly empty guest.
    Idle,
    /// A database buffer pool: little zero memory, much data.
    Database,
    /// Encrypted or already compressed data: nothing compresses.
    Random,
    /// All zero pages.
    Zeros,
}

/// Page-content fractions; they must add up to 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryMix {
    pub zero: f64,
    pub pattern: f64,
    pub duplicate: f64,
    pub text: f64,
    pub random: f64,
}

impl MemoryProfile {
    pub fn mix(&self) -> MemoryMix {
        let m = |zero, pattern, duplicate, text, random| MemoryMix {
            zero,
            pattern,
            duplicate,
            text,
            random,
        };
        match self {
            MemoryProfile::Custom(mix) => mix.clone(),
            MemoryProfile::Named(name) => match name {
                MemoryProfileName::Mixed => m(0.35, 0.10, 0.10, 0.20, 0.25),
                MemoryProfileName::Idle => m(0.70, 0.10, 0.05, 0.10, 0.05),
                MemoryProfileName::Database => m(0.05, 0.05, 0.10, 0.50, 0.30),
                MemoryProfileName::Random => m(0.0, 0.0, 0.0, 0.0, 1.0),
                MemoryProfileName::Zeros => m(1.0, 0.0, 0.0, 0.0, 0.0),
            },
        }
    }
}

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Priority {
    NoAutoStart,
    Low,
    #[default]
    Medium,
    High,
}

impl Priority {
    /// The numeric value PowerShell shows (`(Get-ClusterGroup).Priority`).
    pub fn value(self) -> u32 {
        match self {
            Priority::High => 3000,
            Priority::Medium => 2000,
            Priority::Low => 1000,
            Priority::NoAutoStart => 0,
        }
    }
}

/// A VM role's `ResiliencyPeriod`: its own time, or the cluster's ResiliencyDefaultPeriod.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResiliencyPeriod {
    #[default]
    ClusterDefault,
    Own(SimDuration),
}

impl Serialize for ResiliencyPeriod {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ResiliencyPeriod::ClusterDefault => s.serialize_str("cluster-default"),
            ResiliencyPeriod::Own(d) => d.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for ResiliencyPeriod {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        keyword_or_duration(
            d,
            "cluster-default",
            "\"cluster-default\" or a duration like \"60s\"",
        )
        .map(|v| v.map_or(ResiliencyPeriod::ClusterDefault, ResiliencyPeriod::Own))
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum InitialVmState {
    #[default]
    Running,
    Off,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmSpec {
    pub name: String,
    pub host: String,
    pub memory: Bytes,
    /// Rate at which the guest writes to memory (spread over its working set).
    #[serde(default)]
    pub dirty_rate: ByteRate,
    /// Memory the guest actively touches; absent = all of its memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_set: Option<Bytes>,
    #[serde(default)]
    pub memory_profile: MemoryProfile,
    /// VM configuration version, like "8.0" (2016 default) or "5.0" (2012 R2).
    #[serde(default = "default_config_version")]
    pub config_version: String,
    pub storage: String,
    #[serde(default)]
    pub priority: Priority,
    #[serde(default)]
    pub resiliency_period: ResiliencyPeriod,
    #[serde(default)]
    pub state: InitialVmState,
    /// The guest operating system as Key-Value Pair Exchange reports it ("Windows Server 2003 R2
    /// SP2 x64"); empty = not stated.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub guest_os: String,
    /// The guest's Integration Services version (registry `IntegrationServicesVersion`); absent
    /// = the hosts' version (up to date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_services: Option<String>,
}

fn default_config_version() -> String {
    "8.0".into()
}

/// Parses "8.0" into (8, 0).
pub fn parse_config_version(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

// ---------------------------------------------------------------------------------------------
// Script

/// One timed action. Which of `node`, `vm`, `to`, `nic`, `storage` are needed depends on `action`;
/// see [`crate::command::Command`] for the verbs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptEntry {
    pub at: SimDuration,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
    /// A caption's text (`action = "caption"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A caption pauses the clock in the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<bool>,
    /// A backup set's name (`run_backup_set`, `modify_backup_set`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<String>,
    /// How long a third-party requester holds its shadow-copy set (`third_party_backup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<SimDuration>,
    /// Restore points a modified set keeps (`modify_backup_set`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep: Option<u32>,
}

// ---------------------------------------------------------------------------------------------
// Integration Services and backups (backup-and-is.md)

/// The hosts' Integration Services and how a guest's are updated (backup-and-is.md §6).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntegrationSettings {
    /// The hosts' Integration Services version (WS2012 R2 RTM: 6.3.9600.16384).
    pub host_version: String,
    /// Chance that an in-place upgrade of outdated Integration Services ends with error 1603
    /// (0.015: 3 of > 200 VMs in the seed; the seed preset uses 1.0).
    pub p_1603: f64,
    /// Setup from the Integration Services disk, in the guest (assumption).
    pub install_time: SimDuration,
    /// Removing the Integration Services (assumption).
    pub uninstall_time: SimDuration,
    /// A guest restart, No Contact meanwhile (assumption).
    pub guest_reboot_time: SimDuration,
}

impl Default for IntegrationSettings {
    fn default() -> Self {
        IntegrationSettings {
            host_version: "6.3.9600.16384".into(),
            p_1603: 0.015,
            install_time: SimDuration::from_secs(180),
            uninstall_time: SimDuration::from_secs(120),
            guest_reboot_time: SimDuration::from_secs(120),
        }
    }
}

impl IntegrationSettings {
    pub fn is_default(&self) -> bool {
        *self == IntegrationSettings::default()
    }
}

/// What a VM-based set does when one of its VMs runs on another host than the set's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VmMoved {
    /// VSS has no partial backups: the whole job fails (the doc's default).
    #[default]
    FailJob,
    /// The moved VM is left out with a warning.
    SkipVm,
}

/// What a backup does with a VM whose guest cannot take an online (VSS) backup.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupFallback {
    /// The VM is saved for the snapshot (Hyper-V 2012 R2's offline path).
    SavedState,
    /// A crash-consistent copy with a warning (current Veeam; the doc's default).
    #[default]
    CrashConsistent,
    /// The job fails (Veeam "require successful processing", NetApp SMHV default).
    Fail,
}

/// Replay Manager's queue, retries and the VSS timings of a job (backup-and-is.md §3-§5, §7.1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupSettings {
    /// Jobs the Replay Manager server's queue holds; more are discarded (Dell guide: 10).
    pub queue_max: u32,
    /// A warning event when more than this many jobs are queued (Dell guide: 5).
    pub queue_warn_above: u32,
    /// Retries of a job that failed with a retryable VSS error (UNCONFIRMED; MS advice: 3).
    pub retry_attempts: u32,
    /// Wait before a retry (UNCONFIRMED; MS advice: ten minutes).
    pub retry_delay: SimDuration,
    /// Whether manual runs are retried too (Veeam does not).
    pub retry_manual_runs: bool,
    /// A VM-based set's VM that runs elsewhere: the job fails or skips it (UNCONFIRMED).
    pub vm_moved: VmMoved,
    /// The path for a guest without working VSS Integration Services.
    pub fallback: BackupFallback,
    /// Writer metadata and the component check (assumption).
    pub prepare_time: SimDuration,
    /// The guest's own VSS snapshot during PrepareForSnapshot (assumption).
    pub guest_vss_time: SimDuration,
    /// How long a saved-state backup keeps the VM saved (assumption).
    pub saved_state_pause: SimDuration,
    /// Freeze, commit of the array snapshots and thaw (CommitSnapshots: under a second).
    pub commit_time: SimDuration,
    /// PostSnapshot: VMs back to their state, the restore point recorded (assumption).
    pub post_time: SimDuration,
}

impl Default for BackupSettings {
    fn default() -> Self {
        BackupSettings {
            queue_max: 10,
            queue_warn_above: 5,
            retry_attempts: 3,
            retry_delay: SimDuration::from_secs(600),
            retry_manual_runs: false,
            vm_moved: VmMoved::FailJob,
            fallback: BackupFallback::CrashConsistent,
            prepare_time: SimDuration::from_secs(5),
            guest_vss_time: SimDuration::from_secs(10),
            saved_state_pause: SimDuration::from_secs(10),
            commit_time: SimDuration::from_millis(500),
            post_time: SimDuration::from_secs(5),
        }
    }
}

impl BackupSettings {
    pub fn is_default(&self) -> bool {
        *self == BackupSettings::default()
    }
}

/// Which components a backup set names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupSetKind {
    /// Components are VMs, found through the set's host.
    Vm,
    /// Components are CSVs: one array snapshot per CSV, whichever node runs the VMs.
    Volume,
}

/// When a set runs: first at `start`, then every `every` (absent = once).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupSchedule {
    pub start: SimDuration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<SimDuration>,
}

/// A Replay Manager backup set (Hyper-V extension).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupSetSpec {
    pub name: String,
    pub kind: BackupSetKind,
    /// The host the set was defined on: its VSS requester runs there.
    pub host: String,
    /// A VM-based set's VMs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vms: Vec<String>,
    /// A volume-based set's CSVs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
    /// Absent = runs only when asked (`run_backup_set`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<BackupSchedule>,
    /// Restore points kept: a point expires once this many newer ones exist (assumption: 7).
    #[serde(default = "default_keep_points")]
    pub keep_points: u32,
}

fn default_keep_points() -> u32 {
    7
}

// ---------------------------------------------------------------------------------------------
// Comparison configurations

/// Measured figures a configuration should reproduce (shown beside the model's).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceFigures {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput_gbps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_pct: Option<f64>,
    /// The range the measurements spread over, `[low, high]` Gbit/s, when the source gives one
    /// (runs that varied, "4.5-5 per VM"); the chart draws it around the reference marker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput_range_gbps: Option<[f64; 2]>,
    /// The range of the measured CPU, `[low, high]` percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_range_pct: Option<[f64; 2]>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// A named variant of the lab for `lmlab compare`: it changes only what it names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigurationSpec {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Teaming mode applied to every host (members: all of its NICs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teaming: Option<TeamingMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teaming_algorithm: Option<LoadBalancingAlgorithm>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance_option: Option<PerformanceOption>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smb_direct: Option<bool>,
    /// RSS mode applied to every NIC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss: Option<RssMode>,
    /// Source host of the workload (default: the first host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Destination host (default: the first other host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// How many of the source host's VMs migrate at once (in file order).
    pub vms: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<ReferenceFigures>,
}
