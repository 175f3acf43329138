//! Every number the transport model uses, with its default and where it comes from. Each is a
//! field of the scenario's `[transport]` table, so users can calibrate to their own hardware
//! (reference claim 10). Costs are CPU cycles per payload byte on one logical processor at the
//! host's clock; docs/transport-model.md explains how the defaults were calibrated.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransportParams {
    // --- Wire -----------------------------------------------------------------------------
    /// Per-frame Ethernet cost on the wire: preamble+SFD 8, header 14, FCS 4, inter-frame gap 12.
    pub ethernet_overhead_bytes: f64,
    /// IPv4 (20) + TCP with timestamps (32) header bytes per segment.
    pub tcp_ip_header_bytes: f64,
    /// RoCEv2 headers per frame: IPv4 20 + UDP 8 + BTH 12 + ICRC 4 (Ethernet counted separately).
    pub rdma_header_bytes: f64,

    // --- Receive side (destination) ---------------------------------------------------------
    /// TCP/IP receive processing (interrupt, DPC, TCP) per byte, on the flow's RSS processor.
    pub tcp_rx_cpb: f64,
    /// LBFO team driver per byte, on each side, on the processor that handles the packet.
    pub lbfo_cpb: f64,
    /// Hyper-V live-migration worker per byte at the destination (TCP/IP and Compression options):
    /// one thread per migration, so this sets the one-core-per-VM cap (seed: 4.5-5 Gbps).
    pub lm_worker_rx_cpb: f64,
    /// SMB server per byte at the destination; runs on the connection's RSS processor.
    pub smb_server_cpb: f64,
    /// Extra latency of a memory read served by the other socket's memory instead of the local
    /// one (nanoseconds). With `cache_line_bytes` it sets what a byte read across sockets costs:
    /// `remote_access_penalty_ns × clock / cache_line_bytes` cycles (only on hosts with more than
    /// one socket, only for the share of receive queues on a socket other than the NIC's).
    pub remote_access_penalty_ns: f64,
    /// Bytes moved per memory access (one cache line).
    pub cache_line_bytes: f64,
    /// Reads of each received payload byte on the destination's receive path, each of which
    /// crosses sockets when the data is on the other node (see `remote_access_penalty_ns`), for
    /// TCP/IP live migration: the stack's copy into the socket buffer and the LM worker's copy
    /// into guest memory. A structural count, not a measurement (docs/transport-model.md §4).
    pub cross_socket_reads_tcp: f64,
    /// The same for SMB over TCP, whose data passes more layers: the stack, the SMB server's
    /// copy into its request buffer, the hand-off to the live-migration buffers and the memory
    /// worker's copy into guest memory. A structural count, chosen with row 3 in view.
    pub cross_socket_reads_smb: f64,

    // --- Send side (source) -------------------------------------------------------------------
    /// TCP/IP send processing per byte (with large send offload).
    pub tcp_tx_cpb: f64,
    /// Live-migration worker per byte at the source (reading and framing guest memory).
    pub lm_worker_tx_cpb: f64,
    /// SMB client per byte at the source.
    pub smb_client_cpb: f64,
    /// Live-migration memory-copy worker per guest-memory byte on SMB paths (SMB over TCP and SMB
    /// Direct), at each end: reading guest memory into the transport's buffers at the source,
    /// writing it into guest memory at the destination. TCP/IP and Compression have their own
    /// single worker (`lm_worker_*_cpb`).
    pub lm_memcopy_cpb: f64,
    /// Most guest memory one VM's memory-copy worker moves per second, whatever the transport
    /// (Gbit/s). The worker is multi-threaded but bounded (Hyper-V's "Memory Walker: Maximum
    /// Threads" counter); no source states a figure, so this is an assumption.
    pub lm_memcopy_ceiling_gbps: f64,

    // --- RDMA and compression -----------------------------------------------------------------
    /// SMB Direct per byte on each side (posting work requests, completions): nearly zero.
    pub rdma_cpb: f64,
    /// RoCE without PFC (unsupported by Microsoft): packets the NIC retransmits after each drop
    /// (go-back-N from the lost packet: about the packets in flight). Drops happen only when a
    /// link is offered more than its capacity; see docs/transport-model.md §3.
    pub roce_gbn_window_packets: f64,
    /// Compression per uncompressed byte at the source (Hyper-V's compressor, one thread per VM).
    pub compress_cpb: f64,
    /// Decompression per uncompressed byte at the destination.
    pub decompress_cpb: f64,
    /// Compression ratio of each page class (uncompressed / compressed). Zero pages cost a marker.
    pub ratio_zero: f64,
    pub ratio_pattern: f64,
    pub ratio_duplicate: f64,
    pub ratio_text: f64,
    pub ratio_random: f64,

    // --- RSS and connections ------------------------------------------------------------------
    /// Receive queues of the inbox default RSS (Microsoft: "two").
    pub rss_default_queues: u32,
    /// First logical processor of the inbox default RSS (core 0), used by every NIC alike.
    pub rss_default_base_lp: u32,
    /// SMB Multichannel connections per RSS-capable interface (`ConnectionCountPerRssNetworkInterface`).
    pub smb_connections_per_rss_nic: u32,
    /// SMB Direct connections per RDMA interface.
    pub smb_direct_connections_per_nic: u32,
    /// SMB `MaximumConnectionCountPerServer`.
    pub smb_max_connections: u32,
    /// TCP port of the live-migration listener.
    pub lm_tcp_port: u16,
    /// Trials `lmlab compare` runs per configuration (each with its own ephemeral ports and RSS
    /// placement); the table shows the median and the range.
    pub compare_trials: u32,

    // --- Retired ------------------------------------------------------------------------------
    /// Fitted lumps and a fixed RoCE fraction of earlier versions, replaced by the placement and
    /// loss models (docs/transport-model.md §4). Files that name them still load; the values
    /// are ignored and never written back.
    #[serde(rename = "smb_handoff_cpb", skip_serializing)]
    retired_smb_handoff_cpb: Option<f64>,
    #[serde(rename = "rss_unaware_overhead_cpb", skip_serializing)]
    retired_rss_unaware_overhead_cpb: Option<f64>,
    #[serde(rename = "numa_remote_factor", skip_serializing)]
    retired_numa_remote_factor: Option<f64>,
    #[serde(rename = "roce_without_pfc_efficiency", skip_serializing)]
    retired_roce_without_pfc_efficiency: Option<f64>,
}

impl Default for TransportParams {
    fn default() -> Self {
        TransportParams {
            ethernet_overhead_bytes: 38.0,
            tcp_ip_header_bytes: 52.0,
            rdma_header_bytes: 44.0,
            tcp_rx_cpb: 1.2,
            lbfo_cpb: 0.45,
            lm_worker_rx_cpb: 4.6,
            smb_server_cpb: 0.9,
            remote_access_penalty_ns: 60.0,
            cache_line_bytes: 64.0,
            cross_socket_reads_tcp: 2.0,
            cross_socket_reads_smb: 4.0,
            tcp_tx_cpb: 0.35,
            lm_worker_tx_cpb: 1.2,
            smb_client_cpb: 0.6,
            lm_memcopy_cpb: 0.25,
            lm_memcopy_ceiling_gbps: 40.0,
            rdma_cpb: 0.12,
            roce_gbn_window_packets: 8.0,
            compress_cpb: 3.5,
            decompress_cpb: 1.2,
            ratio_zero: 512.0,
            ratio_pattern: 40.0,
            ratio_duplicate: 2.0,
            ratio_text: 3.0,
            ratio_random: 1.0,
            rss_default_queues: 2,
            rss_default_base_lp: 0,
            smb_connections_per_rss_nic: 4,
            smb_direct_connections_per_nic: 2,
            smb_max_connections: 32,
            lm_tcp_port: 6600,
            compare_trials: 7,
            retired_smb_handoff_cpb: None,
            retired_rss_unaware_overhead_cpb: None,
            retired_numa_remote_factor: None,
            retired_roce_without_pfc_efficiency: None,
        }
    }
}

impl TransportParams {
    /// Checks ranges; errors name the field.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let nonneg = [
            ("ethernet_overhead_bytes", self.ethernet_overhead_bytes),
            ("tcp_ip_header_bytes", self.tcp_ip_header_bytes),
            ("rdma_header_bytes", self.rdma_header_bytes),
            ("tcp_rx_cpb", self.tcp_rx_cpb),
            ("lbfo_cpb", self.lbfo_cpb),
            ("lm_worker_rx_cpb", self.lm_worker_rx_cpb),
            ("smb_server_cpb", self.smb_server_cpb),
            ("remote_access_penalty_ns", self.remote_access_penalty_ns),
            ("cross_socket_reads_tcp", self.cross_socket_reads_tcp),
            ("cross_socket_reads_smb", self.cross_socket_reads_smb),
            ("lm_memcopy_cpb", self.lm_memcopy_cpb),
            ("roce_gbn_window_packets", self.roce_gbn_window_packets),
            ("tcp_tx_cpb", self.tcp_tx_cpb),
            ("lm_worker_tx_cpb", self.lm_worker_tx_cpb),
            ("smb_client_cpb", self.smb_client_cpb),
            ("rdma_cpb", self.rdma_cpb),
            ("compress_cpb", self.compress_cpb),
            ("decompress_cpb", self.decompress_cpb),
        ];
        for (name, v) in nonneg {
            if !v.is_finite() || !(0.0..=1000.0).contains(&v) {
                return Err((name, format!("must be from 0 to 1000, found {v}")));
            }
        }
        for (name, v) in [
            ("ratio_zero", self.ratio_zero),
            ("ratio_pattern", self.ratio_pattern),
            ("ratio_duplicate", self.ratio_duplicate),
            ("ratio_text", self.ratio_text),
            ("ratio_random", self.ratio_random),
            ("cache_line_bytes", self.cache_line_bytes),
            ("lm_memcopy_ceiling_gbps", self.lm_memcopy_ceiling_gbps),
        ] {
            if !v.is_finite() || !(1.0..=10_000.0).contains(&v) {
                return Err((name, format!("must be from 1 to 10000, found {v}")));
            }
        }
        for (name, v, lo, hi) in [
            ("rss_default_queues", self.rss_default_queues, 1, 256),
            (
                "smb_connections_per_rss_nic",
                self.smb_connections_per_rss_nic,
                1,
                16,
            ),
            (
                "smb_direct_connections_per_nic",
                self.smb_direct_connections_per_nic,
                1,
                16,
            ),
            ("smb_max_connections", self.smb_max_connections, 1, 1024),
            ("compare_trials", self.compare_trials, 1, 101),
            ("rss_default_base_lp", self.rss_default_base_lp, 0, 4095),
        ] {
            if v < lo || v > hi {
                return Err((name, format!("must be from {lo} to {hi}, found {v}")));
            }
        }
        Ok(())
    }
}
