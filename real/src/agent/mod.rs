//! The destination: `lmlab agent` on another host, or the same code in-process for loopback runs.
//!
//! Invariants:
//! - nothing is received before the peer proved it knows the secret;
//! - one migration at a time: a second control connection gets "busy" and is closed;
//! - a peer may not ask for more memory than `max_memory`, nor more than 64 channels;
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
use image::DestImage;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// Thread-name prefix of the destination's runtime (CPU accounting).
pub const THREAD_PREFIX: &str = "lm-dst";
/// Connections allowed to be in their handshake at once.
pub const MAX_HANDSHAKES: usize = 64;
/// A control message the peer does not read within this time ends the migration.
pub const WRITE_LIMIT: Duration = Duration::from_secs(30);
/// A migration with no frame on any connection for this long is abandoned.
pub const IDLE_LIMIT: Duration = Duration::from_secs(60);

#[derive(Clone, Debug)]
pub struct AgentConfig {
    pub secret: Vec<u8>,
    /// Largest image a peer may ask for, bytes.
    pub max_memory: u64,
}

/// Log sink: one line per event.
pub type Log = Arc<dyn Fn(String) + Send + Sync>;

/// One migration, shared by its control session and its data channels' receivers.
struct Migration {
    token: [u8; 16],
    channels: u16,
    rdma: bool,
    image: DestImage,
    /// Data channels' news for the control session.
    events: mpsc::UnboundedSender<DataEvent>,
    last_activity_ms: AtomicU64,
    started: Instant,
    /// Set when the control connection ends: data channels closing after that is normal.
    finished: AtomicBool,
    /// Clones of the data sockets, shut down when the migration ends.
    sockets: Mutex<Vec<std::net::TcpStream>>,
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
