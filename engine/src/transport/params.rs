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
    /// Extra per byte when SMB work cannot stay on a NUMA-local RSS processor (non-NUMA-aware RSS):
    /// the request is handed to a worker on another processor, a cache-cold (often cross-socket) copy.
    pub smb_handoff_cpb: f64,
    /// Multiplier on receive processing done on a processor of another socket than the NIC.
    pub numa_remote_factor: f64,
    /// Extra per received byte when the NIC's RSS is not NUMA-aware (the inbox default): receive
    /// buffers and the data land on whichever node, and the remote memory traffic and coherence
    /// stalls show up as busy time spread over the host's processors.
    pub rss_unaware_overhead_cpb: f64,

    // --- Send side (source) -------------------------------------------------------------------
    /// TCP/IP send processing per byte (with large send offload).
    pub tcp_tx_cpb: f64,
    /// Live-migration worker per byte at the source (reading and framing guest memory).
    pub lm_worker_tx_cpb: f64,
    /// SMB client per byte at the source.
    pub smb_client_cpb: f64,

    // --- RDMA and compression -----------------------------------------------------------------
    /// SMB Direct per byte on each side (posting work requests, completions): nearly zero.
    pub rdma_cpb: f64,
    /// Fraction of line rate RoCE keeps on a lossy switch (no PFC): go-back-N retransmission after
    /// drops. Assumption; iWARP and InfiniBand are unaffected.
    pub roce_without_pfc_efficiency: f64,
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
            smb_handoff_cpb: 4.1,
            numa_remote_factor: 1.6,
            rss_unaware_overhead_cpb: 1.6,
            tcp_tx_cpb: 0.35,
            lm_worker_tx_cpb: 1.2,
            smb_client_cpb: 0.6,
            rdma_cpb: 0.12,
            roce_without_pfc_efficiency: 0.35,
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
            ("smb_handoff_cpb", self.smb_handoff_cpb),
            ("rss_unaware_overhead_cpb", self.rss_unaware_overhead_cpb),
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
            ("numa_remote_factor", self.numa_remote_factor),
        ] {
            if !v.is_finite() || !(1.0..=10_000.0).contains(&v) {
                return Err((name, format!("must be from 1 to 10000, found {v}")));
            }
        }
        if !(self.roce_without_pfc_efficiency > 0.0 && self.roce_without_pfc_efficiency <= 1.0) {
            return Err((
                "roce_without_pfc_efficiency",
                "must be more than 0 and at most 1".into(),
            ));
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
