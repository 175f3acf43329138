//! What the transport model answers: per migration, per host, per link and per flow.

#[derive(Clone, Debug, PartialEq)]
pub struct MigrationResult {
    /// Payload bytes per second on the wire (after compression).
    pub wire_bytes_per_s: f64,
    /// Guest memory moved per second (wire rate times the compression ratio).
    pub memory_bytes_per_s: f64,
    /// Compression ratio applied (1 without compression).
    pub compression_ratio: f64,
    /// The path as a user would describe it.
    pub path: String,
    /// Connections carrying this migration (shared with others for an SMB session).
    pub connections: usize,
    /// Whether it is one TCP connection (TCP/IP or Compression): bound to one interface.
    pub tcp: bool,
    /// Member NICs (indices) of the interfaces used at the source and the destination.
    pub src_nics: Vec<usize>,
    pub dst_nics: Vec<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HostCpu {
    /// Busy share of all logical processors, 0-100.
    pub cpu_pct: f64,
    /// Busy share of each logical processor, 0-100.
    pub lp_pct: Vec<f64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinkUse {
    /// Wire bytes per second sent and received (all headers included).
    pub tx_bytes_per_s: f64,
    pub rx_bytes_per_s: f64,
    pub capacity_bytes_per_s: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FlowResult {
    /// Index of the first migration this flow carries.
    pub migration: usize,
    pub protocol: &'static str,
    pub src_nic: String,
    pub dst_nic: String,
    /// Receive processor at the destination, if the flow has one.
    pub dst_lp: Option<usize>,
    pub payload_bytes_per_s: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Solution {
    pub migrations: Vec<MigrationResult>,
    pub hosts: Vec<HostCpu>,
    /// Per host, per NIC.
    pub links: Vec<Vec<LinkUse>>,
    pub flows: Vec<FlowResult>,
}

impl Solution {
    /// Sum of all migrations' memory rates, in Gbit/s.
    pub fn total_memory_gbps(&self) -> f64 {
        self.migrations
            .iter()
            .map(|m| m.memory_bytes_per_s)
            .sum::<f64>()
            * 8.0
            / 1e9
    }
}
