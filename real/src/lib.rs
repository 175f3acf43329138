//! The real transport (`lmlab-real`): the pre-copy algorithm of [`lmlab_engine::precopy`] run on a
//! real memory image that a real guest thread keeps dirtying, over one or many real TCP channels
//! (optionally compressed), to an in-process destination (loopback) or an `lmlab agent` on another
//! host — measured.
//!
//! This crate has the threads, sockets and clocks the engine never has; the engine never calls it. Its results ([`RealReport`]) carry the same kind of series as a simulated run, so
//! the GUI and exports can put measured and predicted side by side.
//!
//! - [`image`]: the memory image, content profiles, the guest writer, page digests;
//! - [`wire`]: framing and message formats;
//! - [`secure`]: authentication (SPAKE2 and key confirmation, session-bound data connections) and
//!   the optional encryption of every connection (AES-256-GCM);
//! - [`source`]: the pre-copy sender over N channels;
//! - [`agent`]: the destination (one migration at a time, memory cap, survives bad peers);
//! - [`cpu`]: CPU accounting per side (thread groups) and per core (sysinfo);
//! - [`predict`]: the model's prediction for the same VM and the measured-vs-model error;
//! - `rdma` (feature `rdma`, Linux): device detection and RDMA writes into the destination image.

pub mod agent;
pub mod cpu;
pub mod image;
pub mod predict;
#[cfg(all(feature = "rdma", target_os = "linux"))]
pub mod rdma;
pub mod secure;
pub mod source;
pub mod wire;

use lmlab_engine::precopy;
use lmlab_engine::scenario::{MemoryProfile, MigrationSettings};
use lmlab_engine::time::SimDuration;
use lmlab_engine::units::Bytes;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64};
use std::time::Instant;
pub use wire::Codec;

/// Smallest and largest socket buffer (`SO_SNDBUF`, `SO_RCVBUF`) a run may ask for: every OS
/// takes a C `int`, and none honours more than this.
pub const SOCKET_BUFFER_RANGE: std::ops::RangeInclusive<usize> = (4 << 10)..=(1 << 30);

/// Socket options for every channel.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SocketOptions {
    pub send_buffer: Option<usize>,
    pub recv_buffer: Option<usize>,
    pub nodelay: bool,
    /// Local addresses to bind the channels to, round robin (empty: let the OS choose).
    pub bind: Vec<IpAddr>,
}

impl SocketOptions {
    /// Refuses buffer sizes this OS would not give a socket in full. The OS caps them silently
    /// (Linux at `net.core.wmem_max` / `rmem_max`), so a probe socket is given each size and
    /// asked what it got: a run never goes ahead with smaller buffers than it says it used.
    pub fn check_buffers(&self) -> Result<(), RealError> {
        use socket2::{Domain, Protocol, Socket, Type};
        if self.send_buffer.is_none() && self.recv_buffer.is_none() {
            return Ok(());
        }
        let sock =
            Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).map_err(RealError::Io)?;
        let refused = |flag: &str, asked: usize, got: std::io::Result<usize>, cap: &str| {
            let got = match got {
                // Linux reports twice what it honours (the rest is its bookkeeping).
                Ok(g) if cfg!(target_os = "linux") => g / 2,
                Ok(g) => g,
                Err(e) => {
                    return Some(format!(
                        "{flag} {}: this OS does not take it ({e})",
                        Bytes(asked as u64)
                    ));
                }
            };
            (got < asked).then(|| {
                format!(
                    "{flag} {}: this OS gives a socket at most {}{cap}; ask for less or raise \
                     the limit",
                    Bytes(asked as u64),
                    Bytes(got as u64)
                )
            })
        };
        let linux = cfg!(target_os = "linux");
        if let Some(b) = self.send_buffer {
            let got = sock
                .set_send_buffer_size(b)
                .and_then(|()| sock.send_buffer_size());
            let cap = if linux { " (net.core.wmem_max)" } else { "" };
            if let Some(m) = refused("--send-buffer", b, got, cap) {
                return Err(RealError::Config(m));
            }
        }
        if let Some(b) = self.recv_buffer {
            let got = sock
                .set_recv_buffer_size(b)
                .and_then(|()| sock.recv_buffer_size());
            let cap = if linux { " (net.core.rmem_max)" } else { "" };
            if let Some(m) = refused("--recv-buffer", b, got, cap) {
                return Err(RealError::Config(m));
            }
        }
        Ok(())
    }
}

/// Drop channel `channel` once it has carried `after_bytes` of memory (tests and demos).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    pub channel: u16,
    pub after_bytes: u64,
}

/// What to migrate and how.
#[derive(Clone, Debug, PartialEq)]
pub struct RealConfig {
    pub memory_bytes: u64,
    pub channels: u16,
    pub codec: Codec,
    pub dirty_rate_bytes_per_s: f64,
    pub working_set_bytes: u64,
    pub profile: MemoryProfile,
    /// Pause the switch-over aims for, and the pass limit (as in the scenario's migration settings).
    pub target_pause: SimDuration,
    pub max_passes: u32,
    pub socket: SocketOptions,
    pub fault: Option<Fault>,
    /// Seeds the image content and the guest's writes.
    pub seed: u64,
    /// Move pages by RDMA writes instead of TCP channels (feature `rdma` and a device on both
    /// ends).
    pub rdma: bool,
    /// Seal every connection of the migration (AES-256-GCM with keys from the handshake).
    pub encrypt: bool,
}

impl Default for RealConfig {
    fn default() -> Self {
        let s = MigrationSettings::default();
        RealConfig {
            memory_bytes: 1 << 30,
            channels: 1,
            codec: Codec::None,
            dirty_rate_bytes_per_s: 0.0,
            working_set_bytes: 1 << 30,
            profile: MemoryProfile::default(),
            target_pause: s.target_pause,
            max_passes: s.max_passes,
            socket: SocketOptions {
                nodelay: true,
                ..SocketOptions::default()
            },
            fault: None,
            seed: 1,
            rdma: false,
            encrypt: false,
        }
    }
}

impl RealConfig {
    /// The stop-rule settings: the scenario's rule with no device state, setup or resume cost,
    /// because a real run moves only memory.
    pub fn settings(&self) -> MigrationSettings {
        MigrationSettings {
            target_pause: self.target_pause,
            max_passes: self.max_passes,
            device_state: Bytes(0),
            switchover_overhead: SimDuration::ZERO,
            setup: SimDuration::ZERO,
            cleanup: SimDuration::ZERO,
            ..MigrationSettings::default()
        }
    }

    /// Checks the numbers before anything is allocated or connected.
    pub fn validate(&self) -> Result<(), RealError> {
        let bad = |m: String| Err(RealError::Config(m));
        if self.memory_bytes < image::PAGE as u64
            || !self.memory_bytes.is_multiple_of(image::PAGE as u64)
        {
            return bad(format!(
                "memory must be a positive multiple of 4 KiB, got {} bytes",
                self.memory_bytes
            ));
        }
        if self.memory_bytes > (u32::MAX as u64) * image::PAGE as u64 {
            return bad("memory above 16 TiB".into());
        }
        if self.channels == 0 || self.channels > wire::MAX_CHANNELS {
            return bad(format!(
                "channels must be 1 to {}, got {}",
                wire::MAX_CHANNELS,
                self.channels
            ));
        }
        if !(self.dirty_rate_bytes_per_s >= 0.0 && self.dirty_rate_bytes_per_s.is_finite()) {
            return bad("dirty rate must be zero or more".into());
        }
        if self.max_passes == 0 {
            return bad("max passes must be at least 1".into());
        }
        for (name, size) in [
            ("send buffer", self.socket.send_buffer),
            ("receive buffer", self.socket.recv_buffer),
        ] {
            if let Some(b) = size
                && !SOCKET_BUFFER_RANGE.contains(&b)
            {
                return bad(format!(
                    "socket {name} of {}: use 4 KiB to 1 GiB (what every OS accepts)",
                    Bytes(b as u64)
                ));
            }
        }
        self.socket.check_buffers()?;
        if self.rdma && self.encrypt {
            return bad("--encrypt seals TCP connections; RDMA writes cannot be sealed, so use one or the other".into());
        }
        if self.rdma {
            rdma_usable()?;
        }
        Ok(())
    }

    /// Memory the source side of this run takes: the image, its dirty bitmap and the digests of
    /// what was sent (8 bytes a page), and with a loopback destination that agent's share too.
    pub fn memory_needed(&self, target: &Target) -> u64 {
        let pages = self.memory_bytes / image::PAGE as u64;
        let source = self
            .memory_bytes
            .saturating_add(pages.saturating_mul(8) + pages / 8)
            .saturating_add(u64::from(self.channels).saturating_mul(agent::CHANNEL_BYTES));
        match target {
            Target::Loopback => {
                source.saturating_add(agent::session_bytes(self.memory_bytes, self.channels))
            }
            Target::Agent { .. } => source,
        }
    }

    /// Refuses a run that would need more memory than this machine has available (it would
    /// fail to allocate, or be killed, half-way).
    pub fn check_memory(&self, target: &Target) -> Result<(), RealError> {
        let need = self.memory_needed(target);
        match cpu::available_memory() {
            Some(avail) if need > avail => Err(RealError::Config(format!(
                "--memory {}: this run needs about {}{} and this machine has {} available; use \
                 a smaller --memory",
                Bytes(self.memory_bytes),
                approx_size(need),
                if matches!(target, Target::Loopback) {
                    " (source and in-process destination)"
                } else {
                    ""
                },
                approx_size(avail)
            ))),
            _ => Ok(()),
        }
    }
}

/// A size for people: MiB below 1 GiB, else GiB with one decimal.
fn approx_size(b: u64) -> String {
    if b < 1 << 30 {
        format!("{} MiB", b.div_ceil(1 << 20))
    } else {
        format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64)
    }
}

/// Where the destination is.
#[derive(Clone)]
pub enum Target {
    /// An agent started in this process on 127.0.0.1 (its own runtime and threads).
    Loopback,
    /// An `lmlab agent` at `addr` (or several addresses of it, comma-separated, one per NIC)
    /// that knows `secret`.
    Agent { addr: String, secret: Vec<u8> },
}

impl std::fmt::Debug for Target {
    // Never print the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Loopback => write!(f, "Loopback"),
            Target::Agent { addr, .. } => write!(f, "Agent {{ addr: {addr:?}, secret: <hidden> }}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RealError {
    #[error("{0}")]
    Config(String),
    /// `rdma` asked for where pages cannot move by RDMA.
    #[error("{0}")]
    Rdma(RdmaError),
    #[error("{0}")]
    Wire(wire::WireError),
    #[error("cannot start: {0}")]
    Io(std::io::Error),
    /// The guest writer thread died: the run did not dirty memory as configured.
    #[error("{0}")]
    Guest(image::GuestPanicked),
    /// The 100 ms sampler thread died: the run's measured series is lost.
    #[error("the sampler thread panicked ({0}); the run's measured series is lost")]
    Sampler(String),
}

impl From<RdmaError> for RealError {
    fn from(e: RdmaError) -> Self {
        RealError::Rdma(e)
    }
}

impl From<image::GuestPanicked> for RealError {
    fn from(e: image::GuestPanicked) -> Self {
        RealError::Guest(e)
    }
}

/// Why pages cannot move by RDMA, or how an RDMA operation failed. The texts are the ones shown
/// to users (and sent to a source by an agent that refuses).
#[derive(Debug, thiserror::Error)]
pub enum RdmaError {
    #[error(
        "this lmlab was built without RDMA support (Linux only: `cargo build --release --features rdma`, which needs libibverbs); use TCP"
    )]
    NotBuilt,
    #[error("this agent was built without RDMA support; use TCP")]
    AgentNotBuilt,
    #[error("no RDMA device found; use TCP")]
    NoDevice,
    /// Listing the devices failed.
    #[error("no RDMA device found ({0}); use TCP")]
    DeviceList(std::io::Error),
    /// A librdmacm/libibverbs call failed.
    #[error("{call}: {error}")]
    Call {
        call: &'static str,
        error: std::io::Error,
    },
    /// A write's completion reported a status other than success.
    #[error("RDMA write failed with completion status {0}")]
    Completion(u32),
    /// A request this side refuses before it reaches the device.
    #[error("{0}")]
    Invalid(String),
    /// The agent's own RDMA check failed (as the source shows it).
    #[error("agent: {0}")]
    Agent(Box<RdmaError>),
}

// By hand rather than `#[from]`, so error chains do not print the cause twice.
impl From<wire::WireError> for RealError {
    fn from(e: wire::WireError) -> Self {
        RealError::Wire(e)
    }
}

impl From<std::io::Error> for RealError {
    fn from(e: std::io::Error) -> Self {
        RealError::Io(e)
    }
}

/// One 100 ms sample of a real run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub t_s: f64,
    pub pass: u32,
    /// Guest memory moved per second, per channel and in total (Gbit/s).
    pub channel_gbps: Vec<f64>,
    pub total_gbps: f64,
    /// Bytes on the wire per second (after zero-page elision and compression).
    pub wire_gbps: f64,
    /// Source migration threads' CPU, % of the whole machine.
    pub cpu_src_pct: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelLoss {
    pub channel: u16,
    pub t_s: f64,
    pub reason: String,
    /// Pages it had sent in the unacknowledged pass, marked dirty again.
    pub pages_resent: u64,
}

/// What a real run measured. Field names are part of the JSON contract (docs/real-transport.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RealReport {
    /// The destination's image matched the source's, page digests and full scan: only then did the
    /// migration happen.
    pub verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub destination: String,
    pub memory_bytes: u64,
    pub channels: u16,
    /// Pages moved by RDMA writes (then `channels` does not apply).
    pub rdma: bool,
    /// Every connection was sealed (AES-256-GCM).
    #[serde(default)]
    pub encrypted: bool,
    pub compress: Codec,
    pub dirty_rate_bytes_per_s: f64,
    pub working_set_bytes: u64,
    /// Guest memory moved (every pass and the switch-over) per second of migration, Gbit/s.
    pub avg_gbps: f64,
    /// Bytes on the wire per second of migration, Gbit/s.
    pub wire_gbps: f64,
    /// Guest bytes per wire byte (zero pages and compression).
    pub reduction_ratio: f64,
    pub total_s: f64,
    /// Pre-copy passes (the switch-over not counted).
    pub passes: u32,
    pub bytes_per_pass: Vec<u64>,
    pub wire_bytes_per_pass: Vec<u64>,
    pub switchover_bytes: u64,
    /// From the guest stopped to the destination confirming its page digests.
    pub downtime_ms: f64,
    /// The full-image scan on both ends after the switch-over.
    pub verify_full_ms: f64,
    pub target_pause_ms: f64,
    pub max_passes: u32,
    pub pages_dirtied: u64,
    pub cpu_src_pct: f64,
    pub cpu_dst_pct: f64,
    pub cpu_src_s: f64,
    pub cpu_dst_s: f64,
    /// CPU seconds per GiB of guest memory moved.
    pub cpu_src_s_per_gib: f64,
    pub cpu_dst_s_per_gib: f64,
    /// True when each side's CPU is its own threads'; false when only whole processes could be
    /// measured (then a loopback run counts both sides in each).
    pub cpu_per_side: bool,
    pub cores_src: usize,
    pub cores_dst: usize,
    pub per_core_src_pct: Vec<f64>,
    pub per_core_dst_pct: Vec<f64>,
    pub series: Vec<Sample>,
    pub channels_lost: Vec<ChannelLoss>,
}

impl RealReport {
    /// The report of a run that failed before any page moved (nothing was migrated).
    pub fn failed(cfg: &RealConfig, destination: String, error: String) -> RealReport {
        let mut r = RealReport::new(cfg, destination);
        r.error = Some(error);
        r
    }

    fn new(cfg: &RealConfig, destination: String) -> RealReport {
        RealReport {
            verified: false,
            error: None,
            destination,
            memory_bytes: cfg.memory_bytes,
            channels: cfg.channels,
            rdma: cfg.rdma,
            encrypted: cfg.encrypt,
            compress: cfg.codec,
            dirty_rate_bytes_per_s: cfg.dirty_rate_bytes_per_s,
            working_set_bytes: cfg.working_set_bytes.min(cfg.memory_bytes),
            avg_gbps: 0.0,
            wire_gbps: 0.0,
            reduction_ratio: 0.0,
            total_s: 0.0,
            passes: 0,
            bytes_per_pass: Vec::new(),
            wire_bytes_per_pass: Vec::new(),
            switchover_bytes: 0,
            downtime_ms: 0.0,
            verify_full_ms: 0.0,
            target_pause_ms: cfg.target_pause.as_millis_f64(),
            max_passes: cfg.max_passes,
            pages_dirtied: 0,
            cpu_src_pct: 0.0,
            cpu_dst_pct: 0.0,
            cpu_src_s: 0.0,
            cpu_dst_s: 0.0,
            cpu_src_s_per_gib: 0.0,
            cpu_dst_s_per_gib: 0.0,
            cpu_per_side: cpu::thread_group_cpu_s(source::THREAD_PREFIX).1,
            cores_src: cpu::cores(),
            cores_dst: 0,
            per_core_src_pct: Vec::new(),
            per_core_dst_pct: Vec::new(),
            series: Vec::new(),
            channels_lost: Vec::new(),
        }
    }

    fn set_cpu(&mut self, cpu_src_s: f64, total_s: f64, dst: &wire::Verified) {
        self.cpu_src_s = cpu_src_s;
        self.cpu_dst_s = dst.cpu_s;
        self.cores_dst = dst.cores as usize;
        self.per_core_dst_pct = dst.per_core_pct.clone();
        let pct = |s: f64, cores: usize| {
            if total_s > 0.0 {
                100.0 * s / total_s / cores.max(1) as f64
            } else {
                0.0
            }
        };
        self.cpu_src_pct = pct(cpu_src_s, self.cores_src);
        self.cpu_dst_pct = pct(dst.cpu_s, self.cores_dst);
    }

    /// Totals and ratios from the per-pass figures.
    fn finish(&mut self) {
        let memory: u64 = self.bytes_per_pass.iter().sum::<u64>() + self.switchover_bytes;
        let wire: u64 = self.wire_bytes_per_pass.iter().sum();
        if self.total_s > 0.0 {
            self.avg_gbps = memory as f64 * 8.0 / self.total_s / 1e9;
            self.wire_gbps = wire as f64 * 8.0 / self.total_s / 1e9;
        }
        self.reduction_ratio = if wire > 0 {
            memory as f64 / wire as f64
        } else {
            0.0
        };
        let gib = memory as f64 / (1u64 << 30) as f64;
        if gib > 0.0 {
            self.cpu_src_s_per_gib = self.cpu_src_s / gib;
            self.cpu_dst_s_per_gib = self.cpu_dst_s / gib;
        }
    }

    /// What the stop rule predicts for this run at its measured rate: passes and pause.
    pub fn forecast_at_measured_rate(&self, cfg: &RealConfig) -> precopy::Forecast {
        precopy::forecast(
            self.memory_bytes as f64,
            self.working_set_bytes as f64,
            self.dirty_rate_bytes_per_s,
            self.avg_gbps * 1e9 / 8.0,
            &cfg.settings(),
            precopy::RemedyHints::default(),
        )
    }
}

/// One step of a real run, for progress displays: the pass it concerns (0 while setting up) and
/// a line for people.
#[derive(Clone, Copy, Debug)]
pub struct Step<'a> {
    pub pass: u32,
    pub text: &'a str,
}

/// Runs one real migration and measures it. `progress` gets each step.
pub fn run(
    cfg: &RealConfig,
    target: &Target,
    progress: &(dyn Fn(Step<'_>) + Sync),
) -> Result<RealReport, RealError> {
    cfg.validate()?;
    cfg.check_memory(target)?;
    let Destination {
        addrs,
        secret,
        _agent,
    } = destination(cfg, target)?;
    let content = match &cfg.profile {
        MemoryProfile::Named(n) => format!("{n:?}").to_lowercase(),
        MemoryProfile::Custom(_) => "custom".into(),
    };
    progress(Step {
        pass: 0,
        text: &format!(
            "filling a {} MiB image ({content} content)…",
            cfg.memory_bytes >> 20
        ),
    });
    let pages = (cfg.memory_bytes / image::PAGE as u64) as usize;
    let img = Arc::new(image::Image::filled(pages, &cfg.profile, cfg.seed));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cpu::cores().clamp(1, 4))
        .thread_name(source::THREAD_PREFIX)
        // Idle blocking threads would exit after 10 s and take their CPU time with them.
        .thread_keep_alive(std::time::Duration::from_secs(24 * 3600))
        .enable_all()
        .build()?;
    let meters = Arc::new(source::Meters {
        memory: (0..cfg.channels).map(|_| AtomicU64::new(0)).collect(),
        wire: (0..cfg.channels).map(|_| AtomicU64::new(0)).collect(),
        pass: AtomicU32::new(0),
        done: AtomicBool::new(false),
    });
    let t0 = Instant::now();
    let sampler = {
        let (m, n) = (meters.clone(), cfg.channels as usize);
        std::thread::Builder::new()
            .name("lm-sampler".into())
            .spawn(move || source::sample(&m, n, t0))?
    };
    let result = rt.block_on(source::migrate(
        cfg,
        &addrs,
        &secret,
        img,
        meters.clone(),
        progress,
    ));
    meters
        .done
        .store(true, std::sync::atomic::Ordering::Release);
    let sampled = sampler.join();
    rt.shutdown_background();
    let mut report = result?;
    let (series, cores) = match sampled {
        Ok(s) => s,
        Err(panic) => return sampler_failed(report, &*panic),
    };
    if matches!(target, Target::Loopback) {
        report.destination = format!("loopback (in-process agent on {})", addrs[0]);
    }
    // The sampler started before the connection; keep the samples from the first byte on.
    let first = series.iter().position(|s| s.total_gbps > 0.0).unwrap_or(0);
    report.series = series[first.saturating_sub(1)..].to_vec();
    report.per_core_src_pct = mean_per_core(&cores);
    Ok(report)
}

/// Where a run sends its pages.
struct Destination {
    addrs: Vec<SocketAddr>,
    secret: Vec<u8>,
    /// The in-process agent of a loopback run; it stops when dropped.
    _agent: Option<agent::RunningAgent>,
}

/// Resolves `target`, starting the in-process agent of a loopback run.
fn destination(cfg: &RealConfig, target: &Target) -> Result<Destination, RealError> {
    let (addrs, secret, agent) = match target {
        Target::Loopback => {
            let secret = wire::nonce()?.to_vec();
            let agent = agent::spawn(
                "127.0.0.1:0",
                agent::AgentConfig::new(
                    secret.clone(),
                    agent::session_bytes(cfg.memory_bytes, cfg.channels),
                ),
                Arc::new(|line| {
                    if std::env::var_os("LMLAB_AGENT_LOG").is_some() {
                        eprintln!("agent: {line}");
                    }
                }),
            )?;
            (vec![agent.addr], secret, Some(agent))
        }
        Target::Agent { addr, secret } => {
            // Several addresses (comma-separated): channel i connects to the i-th, round robin,
            // so channels can use several of the destination's NICs.
            let mut addrs = Vec::new();
            for one in addr.split(',').map(str::trim).filter(|a| !a.is_empty()) {
                let a: SocketAddr = one
                    .to_socket_addrs()
                    .map_err(|e| RealError::Config(format!("--to {one}: {e}")))?
                    .next()
                    .ok_or_else(|| RealError::Config(format!("--to {one}: no address")))?;
                addrs.push(a);
            }
            if addrs.is_empty() {
                return Err(RealError::Config("--to names no address".into()));
            }
            (addrs, secret.clone(), None)
        }
    };
    Ok(Destination {
        addrs,
        secret,
        _agent: agent,
    })
}

/// The mean of each core's load over the run's samples.
fn mean_per_core(cores: &[(f64, Vec<f64>)]) -> Vec<f64> {
    let mut sum = vec![0.0; cores.first().map(|c| c.1.len()).unwrap_or(0)];
    for (_, c) in cores {
        for (a, b) in sum.iter_mut().zip(c) {
            *a += b;
        }
    }
    sum.iter().map(|v| v / cores.len().max(1) as f64).collect()
}

/// The outcome of a run whose sampler thread panicked: its measured series is lost. A verified
/// run becomes an error (its measurements are incomplete); a failed one keeps its report, whose
/// error also says the series is lost.
fn sampler_failed(
    mut report: RealReport,
    panic: &(dyn std::any::Any + Send),
) -> Result<RealReport, RealError> {
    let e = RealError::Sampler(image::panic_text(panic));
    match &mut report.error {
        Some(first) if !report.verified => {
            first.push_str(&format!("; {e}"));
            Ok(report)
        }
        _ => Err(e),
    }
}

/// Ok when this build and host can move pages by RDMA; otherwise why not (its text is the
/// sentence to show).
pub fn rdma_usable() -> Result<(), RdmaError> {
    #[cfg(all(feature = "rdma", target_os = "linux"))]
    {
        rdma::require_device()
    }
    #[cfg(not(all(feature = "rdma", target_os = "linux")))]
    {
        Err(RdmaError::NotBuilt)
    }
}

/// Whether RDMA can be used here, in words: "RDMA device(s): …", "no RDMA device found; use
/// TCP", or why this build cannot use RDMA at all.
pub fn rdma_status() -> String {
    #[cfg(all(feature = "rdma", target_os = "linux"))]
    {
        match rdma::devices() {
            Ok(list) if !list.is_empty() => format!("RDMA device(s): {}", list.join(", ")),
            Ok(_) => "no RDMA device found; use TCP".into(),
            Err(e) => RdmaError::DeviceList(e).to_string(),
        }
    }
    #[cfg(not(all(feature = "rdma", target_os = "linux")))]
    {
        RdmaError::NotBuilt.to_string()
    }
}
