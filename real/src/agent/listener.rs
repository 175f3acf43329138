//! Accepting connections: the handshake (bounded in number), then a control connection starts a
//! migration — one at a time, within the memory cap — and a data connection joins the migration
//! whose token it presents.

use super::image::DestImage;
use super::{AgentConfig, DataEvent, Log, MAX_HANDSHAKES, Migration, rdma_possible, receive};
use crate::image::PAGE;
use crate::wire::{self, Begin, Kind, Role, WireError, proto, read_frame, write_frame};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// State shared by all connections of one agent.
struct Agent {
    config: AgentConfig,
    active: Mutex<Slot>,
    /// Connections still in their handshake: bounded, so unauthenticated peers cannot pile up.
    handshakes: Arc<tokio::sync::Semaphore>,
    log: Log,
}

/// The agent's one migration slot: reserved while the image is allocated, then the migration.
#[derive(Default)]
struct Slot {
    busy: bool,
    session: Option<Arc<Migration>>,
}

/// Holds the slot; frees it when dropped (also when allocation or set-up fails half-way).
struct Reservation(Arc<Agent>);

impl Reservation {
    /// Takes the agent's slot, unless another migration has it.
    fn claim(agent: &Arc<Agent>) -> Option<Reservation> {
        {
            let mut slot = lock_active(agent);
            if slot.busy {
                return None;
            }
            slot.busy = true;
        }
        Some(Reservation(agent.clone()))
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut slot = lock_active(&self.0);
        slot.busy = false;
        slot.session = None;
    }
}

fn lock_active(agent: &Agent) -> std::sync::MutexGuard<'_, Slot> {
    agent.active.lock().unwrap_or_else(|p| p.into_inner())
}

/// Ends a migration when dropped: marks it finished (its receivers stop at their next frame) and
/// frees the agent for the next one.
struct Finish {
    migration: Arc<Migration>,
    /// Dropped after `drop` below has run, which frees the slot.
    _slot: Reservation,
}

impl Drop for Finish {
    fn drop(&mut self) {
        self.migration.finished.store(true, Ordering::Release);
        // Wake receivers blocked in a read, so the image is freed now, not when a peer writes.
        let socks = self
            .migration
            .sockets
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for s in socks.iter() {
            // A socket the peer already closed may refuse; it is shut either way.
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// Listens on `listener` until the task is dropped, serving one migration at a time.
pub async fn serve(listener: TcpListener, config: AgentConfig, log: Log) {
    let agent = Arc::new(Agent {
        config,
        active: Mutex::new(Slot::default()),
        handshakes: Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES)),
        log,
    });
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                (agent.log)(format!("accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let agent = agent.clone();
        let Ok(permit) = agent.handshakes.clone().try_acquire_owned() else {
            (agent.log)(format!(
                "{peer}: refused, {MAX_HANDSHAKES} connections are already authenticating"
            ));
            continue;
        };
        tokio::spawn(async move {
            if let Err(e) = connection(&agent, stream, peer, permit).await {
                (agent.log)(format!("{peer}: {e}; connection closed"));
            }
        });
    }
}

async fn connection(
    agent: &Arc<Agent>,
    mut s: TcpStream,
    peer: SocketAddr,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> Result<(), WireError> {
    if let Err(e) = s.set_nodelay(true) {
        (agent.log)(format!("{peer}: cannot set TCP_NODELAY ({e}); continuing"));
    }
    let role = wire::server_handshake(&mut s, &agent.config.secret).await?;
    drop(permit);
    match role {
        Role::Control => control(agent, s, peer).await,
        Role::Data { token, channel } => data(agent, s, peer, token, channel).await,
    }
}

/// Tells the peer why we close, in an `Error` frame. Best effort: a peer that has gone cannot
/// read it, and the caller logs the reason either way.
async fn tell(s: &mut TcpStream, text: &str) {
    let _ = write_frame(s, Kind::Error, text.as_bytes()).await;
}

/// Refuses the peer's request with `msg`: tells it, and returns the error to log.
async fn refuse(s: &mut TcpStream, msg: String) -> WireError {
    tell(s, &msg).await;
    WireError::Refused(msg)
}

/// A control connection: checks the peer's `Begin`, takes the slot, allocates the image and runs
/// the migration's session.
async fn control(agent: &Arc<Agent>, mut s: TcpStream, peer: SocketAddr) -> Result<(), WireError> {
    let begin = read_begin(&mut s).await?;
    if begin.memory_bytes > agent.config.max_memory {
        let msg = format!(
            "asked for {} MiB of memory; this agent allows at most {} MiB (--max-memory)",
            begin.memory_bytes >> 20,
            agent.config.max_memory >> 20
        );
        return Err(refuse(&mut s, msg).await);
    }
    if begin.rdma
        && let Err(e) = rdma_possible()
    {
        return Err(refuse(&mut s, e.to_string()).await);
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let pages = (begin.memory_bytes / PAGE as u64) as usize;
    let mut token = [0u8; 16];
    token.copy_from_slice(&wire::nonce()?[..16]);
    let Some(reservation) = Reservation::claim(agent) else {
        let msg = "busy: this agent is serving another migration";
        return Err(refuse(&mut s, msg.into()).await);
    };
    // Committing gigabytes takes a while: on a blocking thread, with the slot reserved.
    let image = tokio::task::spawn_blocking(move || DestImage::new(pages))
        .await
        .map_err(|e| proto(format!("allocating the image failed: {e}")))?;
    let migration = Arc::new(Migration {
        token,
        channels: begin.channels,
        rdma: begin.rdma,
        image,
        events: tx,
        last_activity_ms: AtomicU64::new(0),
        started: Instant::now(),
        finished: Default::default(),
        sockets: Mutex::new(Vec::new()),
    });
    lock_active(agent).session = Some(migration.clone());
    // However this ends (even if the task is dropped), receivers stop and the slot frees.
    let finish = Finish {
        migration: migration.clone(),
        _slot: reservation,
    };
    (agent.log)(format!(
        "{peer}: migration of {} MiB over {} channel(s) started",
        begin.memory_bytes >> 20,
        begin.channels
    ));
    let result = super::session::run(&migration, s, rx).await;
    drop(finish);
    match &result {
        Ok(true) => (agent.log)(format!("{peer}: migration verified; image released")),
        Ok(false) => (agent.log)(format!("{peer}: verification FAILED; image discarded")),
        Err(e) => (agent.log)(format!(
            "{peer}: migration abandoned ({e}); image discarded"
        )),
    }
    result.map(|_| ())
}

/// Reads the control connection's first frame, which must be a valid `Begin`.
async fn read_begin(s: &mut TcpStream) -> Result<Begin, WireError> {
    let mut buf = Vec::new();
    let kind = tokio::time::timeout(wire::HANDSHAKE_TIMEOUT, read_frame(s, &mut buf))
        .await
        .map_err(|_| WireError::Timeout("waiting for Begin"))??;
    if kind != Kind::Begin {
        return Err(proto(format!("expected Begin, got {kind:?}")));
    }
    match Begin::decode(&buf) {
        Ok(b) => Ok(b),
        Err(e) => {
            tell(s, &e.to_string()).await;
            Err(e)
        }
    }
}

/// A data connection: joins the migration whose token it presents, then receives.
async fn data(
    agent: &Arc<Agent>,
    mut s: TcpStream,
    peer: SocketAddr,
    token: [u8; 16],
    channel: u16,
) -> Result<(), WireError> {
    let migration = lock_active(agent)
        .session
        .as_ref()
        .filter(|x| x.token == token)
        .cloned();
    let Some(migration) = migration else {
        tell(&mut s, "no migration with this token").await;
        return Err(WireError::Refused(
            "data channel for an unknown migration".into(),
        ));
    };
    if channel >= migration.channels {
        tell(&mut s, "channel number out of range").await;
        return Err(proto(format!(
            "channel {channel} of {}",
            migration.channels
        )));
    }
    migration.notify(DataEvent::Joined(channel));
    receive::serve_channel(&migration, s, peer, channel, &agent.log).await
}
