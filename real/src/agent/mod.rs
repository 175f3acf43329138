//! The destination: `lmlab agent` on another host, or the same code in-process for loopback runs.
//!
//! Invariants:
//! - nothing is received before the peer proved it knows the secret (control connections) or the
//!   session's data key (data connections); the agent sends nothing that depends on the secret
//!   before the peer has proved it (see `secure`);
//! - an unauthenticated connection is a cheap task with a deadline (`Limits`): a few per address,
//!   a bounded number in all, the oldest idle one closed when a new one arrives at a limit, so
//!   idle connections cannot lock a legitimate peer out;
//! - one migration at a time, its slot taken only after authentication: a second control
//!   connection gets "busy" and is closed;
//! - a migration's image, page tables, connection buffers and threads fit in `max_memory` (see
//!   [`session_bytes`]), and in the memory this machine has available; at most 64 channels, and
//!   no more data connections than the channels it declared;
//! - a page is written only if its batch's pass is not older than the page's last write, so a late
//!   batch from a dropped channel can never overwrite a newer copy;
//! - any malformed frame, timeout or disconnect ends that connection (and, on the control
//!   connection, the migration) with one log line; the listener keeps serving.
//!
//! Layout: `listener` accepts connections, authenticates them and starts a migration (the one
//! slot, the memory cap); `session` drives a migration on its control connection; `receive`
//! reads the data channels into the destination image of `image` (`DestImage`).

mod image;
mod listener;
mod receive;
mod session;

pub use listener::serve;

use super::RdmaError;
use super::cpu;
use crate::secure::Session;
use image::DestImage;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// Thread-name prefix of the destination's runtime (CPU accounting).
pub const THREAD_PREFIX: &str = "lm-dst";
/// A control message the peer does not read within this time ends the migration.
pub const WRITE_LIMIT: Duration = Duration::from_secs(30);
/// A migration with no frame on any connection for this long is abandoned.
pub const IDLE_LIMIT: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct AgentConfig {
    pub secret: Vec<u8>,
    /// Most memory one migration may take on this agent, bytes: its image and everything kept
    /// for it ([`session_bytes`]).
    pub max_memory: u64,
    /// Refuse migrations whose source did not ask for encryption.
    pub require_encryption: bool,
    pub limits: Limits,
}

impl AgentConfig {
    /// An agent with the default limits that follows what the source asks about encryption.
    pub fn new(secret: Vec<u8>, max_memory: u64) -> AgentConfig {
        AgentConfig {
            secret,
            max_memory,
            require_encryption: false,
            limits: Limits::default(),
        }
    }
}

impl std::fmt::Debug for AgentConfig {
    // Never print the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentConfig")
            .field("max_memory", &self.max_memory)
            .field("require_encryption", &self.require_encryption)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Bounds on connections that have not authenticated yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Time from accepting a connection to the end of its handshake; an idle or slow peer is
    /// closed then.
    pub handshake_deadline: Duration,
    /// Unauthenticated connections held at once from one address; a new one beyond it closes
    /// that address's oldest (an idle one first).
    pub pending_per_address: usize,
    /// Unauthenticated connections held at once in all; a new one beyond it closes the oldest
    /// (an idle one first) of the address with the most.
    pub pending_total: usize,
    /// Time between two checks of a key confirmation from an address whose last one failed: an
    /// online guesser gets a few guesses a second per address, while a legitimate source on the
    /// same address, one of at most `pending_per_address` in the queue, still gets in before its
    /// deadline.
    pub guess_spacing: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            handshake_deadline: Duration::from_secs(5),
            pending_per_address: 8,
            pending_total: 256,
            guess_spacing: Duration::from_millis(250),
        }
    }
}

/// Memory kept per data channel beside the image: its receive buffers (a frame, a decompressed
/// batch, a scratch group, a sealed frame) and its thread's stack, rounded up.
pub const CHANNEL_BYTES: u64 = 4 << 20;
/// Memory kept for the control connection: its largest frame, rounded up.
pub const CONTROL_BYTES: u64 = 4 << 20;
/// Blocking threads the agent may run at once: a migration's data channels (one each) and a few
/// for committing the image and scanning it, twice over so a migration winding down never holds
/// up the next.
pub const MAX_BLOCKING_THREADS: usize = 2 * (crate::wire::MAX_CHANNELS as usize + 4);

/// The memory a migration of `memory_bytes` over `channels` channels takes on the agent: the
/// image, its per-page pass and digest tables (12 bytes a page), and the buffers of its
/// connections. `--max-memory` bounds this.
pub fn session_bytes(memory_bytes: u64, channels: u16) -> u64 {
    let pages = memory_bytes / crate::image::PAGE as u64;
    memory_bytes
        .saturating_add(pages.saturating_mul(12))
        .saturating_add(u64::from(channels).saturating_mul(CHANNEL_BYTES))
        .saturating_add(CONTROL_BYTES)
}

/// Log sink: one line per event.
pub type Log = Arc<dyn Fn(String) + Send + Sync>;

/// One migration, shared by its control session and its data channels' receivers.
struct Migration {
    /// The authenticated control connection's session: data connections prove its data key.
    session: Arc<Session>,
    channels: u16,
    /// Bit `i` set once data channel `i` has joined: each joins once.
    joined: Mutex<u64>,
    rdma: bool,
    image: DestImage,
    /// Data channels' news for the control session.
    events: mpsc::UnboundedSender<DataEvent>,
    last_activity_ms: AtomicU64,
    started: Instant,
    /// Set when the control connection ends: data channels closing after that is normal.
    finished: AtomicBool,
    /// Clones of the data sockets (by channel), shut down when the migration ends.
    sockets: Mutex<Vec<(u16, std::net::TcpStream)>>,
}

impl Migration {
    /// Notes that a frame arrived on one of the migration's connections.
    fn touch(&self) {
        self.last_activity_ms
            .store(self.started.elapsed().as_millis() as u64, Ordering::Release);
    }

    /// Milliseconds since the last frame on any of the migration's connections.
    fn idle_ms(&self) -> u64 {
        let now = self.started.elapsed().as_millis() as u64;
        now.saturating_sub(self.last_activity_ms.load(Ordering::Acquire))
    }

    fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    /// Tells the control session about a data channel. Nobody listens once the session has
    /// ended, and then there is nothing to tell.
    fn notify(&self, event: DataEvent) {
        let _ = self.events.send(event);
    }

    /// Drops the migration's handle on channel `channel`'s socket, so that closing the
    /// receiver's closes the connection.
    fn forget_socket(&self, channel: u16) {
        self.sockets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(c, _)| *c != channel);
    }

    /// Admits data channel `channel`, once: within the channels the source declared, and not
    /// one that has already joined. The error is the sentence the peer is told.
    fn admit(&self, channel: u16) -> Result<(), String> {
        if channel >= self.channels {
            return Err(format!(
                "refused: this migration declared {} data channel(s), numbered from 0; channel \
                 {channel} is not one of them",
                self.channels
            ));
        }
        let mut joined = self.joined.lock().unwrap_or_else(|p| p.into_inner());
        if *joined & (1 << channel) != 0 {
            return Err(format!(
                "refused: data channel {channel} of this migration has already joined (it has {} \
                 channel(s))",
                self.channels
            ));
        }
        *joined |= 1 << channel;
        Ok(())
    }
}

/// What a data channel tells the control session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DataEvent {
    Joined(u16),
    PassEnd(u16, u32),
    Lost(u16),
}

/// Whether this agent can receive by RDMA (the error's text is what the source will show).
fn rdma_possible() -> Result<(), RdmaError> {
    #[cfg(all(feature = "rdma", target_os = "linux"))]
    {
        super::rdma::require_device().map_err(|e| RdmaError::Agent(Box::new(e)))
    }
    #[cfg(not(all(feature = "rdma", target_os = "linux")))]
    {
        Err(RdmaError::AgentNotBuilt)
    }
}

/// Starts an agent on `addr` in its own runtime (threads named `lm-dst`); returns the bound
/// address and a handle that stops it when dropped.
pub fn spawn(addr: &str, config: AgentConfig, log: Log) -> Result<RunningAgent, std::io::Error> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cpu::cores().clamp(1, 4))
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .thread_name(THREAD_PREFIX)
        // Idle blocking threads would exit after 10 s and take their CPU time with them.
        .thread_keep_alive(Duration::from_secs(24 * 3600))
        .enable_all()
        .build()?;
    let listener = rt.block_on(TcpListener::bind(addr))?;
    let local = listener.local_addr()?;
    let task = rt.spawn(serve(listener, config, log.clone()));
    Ok(RunningAgent {
        rt: Some(rt),
        task,
        addr: local,
        log,
    })
}

/// An agent serving in the background; dropping it stops it.
pub struct RunningAgent {
    rt: Option<tokio::runtime::Runtime>,
    task: tokio::task::JoinHandle<()>,
    pub addr: SocketAddr,
    log: Log,
}

impl std::fmt::Debug for RunningAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningAgent")
            .field("addr", &self.addr)
            .finish()
    }
}

impl RunningAgent {
    /// Blocks the calling thread while the agent serves (for `lmlab agent`). It serves until
    /// stopped; should its task panic, that is logged before this returns.
    pub fn wait(mut self) {
        if let Some(rt) = self.rt.take() {
            let task = std::mem::replace(&mut self.task, rt.spawn(async {}));
            if let Err(e) = rt.block_on(task) {
                (self.log)(format!("the agent stopped: {e}"));
            }
        }
    }
}

impl Drop for RunningAgent {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}
