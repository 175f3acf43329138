//! Accepting connections. Each one is a task with a deadline until it has authenticated, held
//! in a bounded table of pending connections; a control connection then starts a migration —
//! one at a time, within the memory cap — and a data connection joins the migration whose
//! session it proves.

use super::image::DestImage;
use super::{
    AgentConfig, DataEvent, Limits, Log, Migration, rdma_possible, receive, session_bytes,
};
use crate::image::PAGE;
use crate::secure::{self, Hello, Session};
use crate::wire::{self, Begin, FrameIn, FrameOut, Kind, WireError, proto, recv, send};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

/// State shared by all connections of one agent.
struct Agent {
    config: AgentConfig,
    active: Mutex<Slot>,
    /// Connections still in their handshake.
    pending: Mutex<Pending>,
    /// Per address whose key confirmation failed: when its next confirmation may be checked.
    guesses: Mutex<HashMap<IpAddr, Instant>>,
    log: Log,
}

impl Agent {
    /// Waits for `ip`'s turn to have a confirmation checked, if it failed one lately: checks
    /// from such an address are `guess_spacing` apart.
    async fn guess_turn(&self, ip: IpAddr) {
        let spacing = self.config.limits.guess_spacing;
        let slot = {
            let mut g = lock(&self.guesses);
            let now = Instant::now();
            let Some(next) = g.get_mut(&ip) else {
                return;
            };
            let slot = (*next).max(now);
            *next = slot + spacing;
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
    }

    /// Notes that `ip` failed a key confirmation.
    fn guessed_wrong(&self, ip: IpAddr) {
        let mut g = lock(&self.guesses);
        let now = Instant::now();
        // Bounded: addresses that have been quiet for a minute are forgotten.
        if g.len() >= 4096 {
            g.retain(|_, t| *t + Duration::from_secs(60) > now);
        }
        if g.len() < 4096 {
            let next = g.entry(ip).or_insert(now);
            *next = (*next).max(now + self.config.limits.guess_spacing);
        }
    }
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
            let mut slot = lock(&agent.active);
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
        let mut slot = lock(&self.0.active);
        slot.busy = false;
        slot.session = None;
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Unauthenticated connections, per address in the order they arrived. Making room closes the
/// oldest connection that has not sent a byte yet (else the oldest): a legitimate peer's
/// connection is the newest and talks at once, so held-open idle connections go first.
#[derive(Default)]
struct Pending {
    next_id: u64,
    total: usize,
    by_addr: HashMap<IpAddr, Vec<Waiting>>,
}

struct Waiting {
    id: u64,
    /// Set once the peer has sent its first bytes.
    talked: Arc<AtomicBool>,
    /// Dropping it tells the connection's task to close.
    _close: oneshot::Sender<()>,
}

/// A newly admitted connection's place in the table.
struct Admitted {
    id: u64,
    talked: Arc<AtomicBool>,
    closed: oneshot::Receiver<()>,
}

impl Pending {
    /// Admits a connection from `ip`, first making room under `limits`.
    fn admit(&mut self, ip: IpAddr, limits: &Limits) -> Admitted {
        if self.by_addr.get(&ip).map_or(0, Vec::len) >= limits.pending_per_address.max(1) {
            self.make_room(ip);
        }
        if self.total >= limits.pending_total.max(1)
            && let Some(busiest) = self
                .by_addr
                .iter()
                .max_by_key(|(_, v)| v.len())
                .map(|(a, _)| *a)
        {
            self.make_room(busiest);
        }
        let (close, closed) = oneshot::channel();
        let talked = Arc::new(AtomicBool::new(false));
        let id = self.next_id;
        self.next_id += 1;
        self.by_addr.entry(ip).or_default().push(Waiting {
            id,
            talked: talked.clone(),
            _close: close,
        });
        self.total += 1;
        Admitted { id, talked, closed }
    }

    /// Closes `ip`'s oldest silent connection, or else its oldest.
    fn make_room(&mut self, ip: IpAddr) {
        let Some(list) = self.by_addr.get_mut(&ip) else {
            return;
        };
        let at = list
            .iter()
            .position(|w| !w.talked.load(Ordering::Acquire))
            .unwrap_or(0);
        if at < list.len() {
            list.remove(at);
            self.total -= 1;
        }
        if list.is_empty() {
            self.by_addr.remove(&ip);
        }
    }

    /// Forgets connection `id` of `ip` (it authenticated, failed or was closed).
    fn leave(&mut self, ip: IpAddr, id: u64) {
        let Some(list) = self.by_addr.get_mut(&ip) else {
            return;
        };
        if let Some(at) = list.iter().position(|w| w.id == id) {
            list.remove(at);
            self.total -= 1;
        }
        if list.is_empty() {
            self.by_addr.remove(&ip);
        }
    }
}

/// Takes a connection out of the pending table when dropped.
struct PendingGuard<'a> {
    agent: &'a Agent,
    ip: IpAddr,
    id: u64,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        lock(&self.agent.pending).leave(self.ip, self.id);
    }
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
        let socks = lock(&self.migration.sockets);
        for (_, s) in socks.iter() {
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
        pending: Mutex::new(Pending::default()),
        guesses: Mutex::new(HashMap::new()),
        log,
    });
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors, most likely: pending connections close at their
                // deadline and free them.
                (agent.log)(format!("accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let agent = agent.clone();
        tokio::spawn(async move {
            if let Err(e) = connection(&agent, stream, peer).await {
                (agent.log)(format!("{peer}: {e}; connection closed"));
            }
        });
    }
}

/// An authenticated connection, ready for its role.
enum Authed {
    Control {
        session: Session,
        out: FrameOut,
        inp: FrameIn,
    },
    Data {
        migration: Arc<Migration>,
        channel: u16,
        out: FrameOut,
        inp: FrameIn,
    },
}

async fn connection(
    agent: &Arc<Agent>,
    mut s: TcpStream,
    peer: SocketAddr,
) -> Result<(), WireError> {
    let limits = agent.config.limits;
    let admitted = lock(&agent.pending).admit(peer.ip(), &limits);
    let guard = PendingGuard {
        agent,
        ip: peer.ip(),
        id: admitted.id,
    };
    if let Err(e) = s.set_nodelay(true) {
        (agent.log)(format!("{peer}: cannot set TCP_NODELAY ({e}); continuing"));
    }
    let talked = admitted.talked.clone();
    let authed = tokio::select! {
        r = tokio::time::timeout(limits.handshake_deadline, handshake(agent, &mut s, peer, talked)) => {
            r.map_err(|_| WireError::Timeout("before authenticating (handshake deadline)"))?
        }
        _ = admitted.closed => Err(WireError::Denied(
            "closed while unauthenticated, to make room for newer connections".into(),
        )),
    };
    drop(guard);
    match authed? {
        Authed::Control { session, out, inp } => control(agent, s, peer, session, out, inp).await,
        Authed::Data {
            migration,
            channel,
            out,
            inp,
        } => {
            migration.notify(DataEvent::Joined(channel));
            receive::serve_channel(&migration, s, peer, channel, out, inp, &agent.log).await
        }
    }
}

/// Tells a peer, in a plain `Error` frame, why we close. Best effort: a peer that has gone
/// cannot read it, and the caller logs the reason either way.
async fn tell_plain(s: &mut TcpStream, text: &str) {
    let _ = wire::write_frame(s, Kind::Error, text.as_bytes()).await;
}

/// The handshake of a connection: `Hello`, then the control connection's SPAKE2 and key
/// confirmation, or the data connection's proof and admission.
async fn handshake(
    agent: &Agent,
    s: &mut TcpStream,
    peer: SocketAddr,
    talked: Arc<AtomicBool>,
) -> Result<Authed, WireError> {
    let hello = match secure::agent_hello(s, || talked.store(true, Ordering::Release)).await {
        Ok(h) => h,
        Err(e) => {
            if e.to_string().contains("another wire version") {
                tell_plain(s, "this agent speaks lmlab wire version 2; update lmlab").await;
            }
            return Err(e);
        }
    };
    match hello {
        Hello::Control { .. } => {
            let gate = agent.guess_turn(peer.ip());
            match secure::agent_control(s, &agent.config.secret, &hello, gate).await {
                Ok((session, out, inp)) => Ok(Authed::Control { session, out, inp }),
                Err(e) => {
                    if matches!(e, WireError::Auth(_)) {
                        agent.guessed_wrong(peer.ip());
                    }
                    Err(e)
                }
            }
        }
        Hello::Data {
            session,
            channel,
            nonce,
        } => {
            let migration = lock(&agent.active)
                .session
                .as_ref()
                .filter(|m| m.session.id == session)
                .cloned();
            let Some(migration) = migration else {
                tell_plain(s, "no migration with this session on this agent").await;
                return Err(WireError::Denied(
                    "refused a data connection for a session this agent does not run".into(),
                ));
            };
            let proven = secure::agent_data(s, &migration.session, channel, &nonce).await?;
            if let Err(msg) = migration.admit(channel) {
                tell_plain(s, &msg).await;
                return Err(WireError::Denied(format!("data connection {msg}")));
            }
            let (out, inp) = proven.confirm(s, &migration.session).await?;
            (agent.log)(format!("{peer}: data channel {channel} joined"));
            Ok(Authed::Data {
                migration,
                channel,
                out,
                inp,
            })
        }
    }
}

/// Refuses the peer's request with `msg` on an authenticated connection: tells it, and returns
/// the error to log.
async fn refuse(s: &mut TcpStream, out: &mut FrameOut, msg: String) -> WireError {
    let _ = send(s, out, Kind::Error, msg.as_bytes()).await;
    let _ = s.shutdown().await;
    WireError::Denied(format!("refused: {msg}"))
}

/// Why a migration of `begin` cannot run here, if it cannot: the memory cap, this machine's
/// available memory, or RDMA.
fn refusal(config: &AgentConfig, begin: &Begin) -> Option<String> {
    let need = session_bytes(begin.memory_bytes, begin.channels);
    if need > config.max_memory {
        return Some(format!(
            "asked for {} MiB of memory over {} channel(s), {} MiB with the agent's tables and \
             buffers; this agent allows at most {} MiB (--max-memory)",
            begin.memory_bytes >> 20,
            begin.channels,
            need.div_ceil(1 << 20),
            config.max_memory >> 20
        ));
    }
    if let Some(avail) = crate::cpu::available_memory()
        && need > avail
    {
        return Some(format!(
            "asked for {} MiB of memory ({} MiB with the agent's tables and buffers); the agent's \
             machine has {} MiB available",
            begin.memory_bytes >> 20,
            need.div_ceil(1 << 20),
            avail >> 20
        ));
    }
    if begin.rdma
        && let Err(e) = rdma_possible()
    {
        return Some(e.to_string());
    }
    None
}

/// A control connection: checks the peer's `Begin`, takes the slot, allocates the image and runs
/// the migration's session.
async fn control(
    agent: &Arc<Agent>,
    mut s: TcpStream,
    peer: SocketAddr,
    session: Session,
    mut out: FrameOut,
    mut inp: FrameIn,
) -> Result<(), WireError> {
    // Read first, so that closing after a refusal leaves nothing unread (which would reset the
    // connection before the source reads why).
    let begin = read_begin(&mut s, &mut out, &mut inp).await?;
    if agent.config.require_encryption && !session.encrypt {
        let msg = "this agent requires encryption: run lmlab real with --encrypt";
        return Err(refuse(&mut s, &mut out, msg.into()).await);
    }
    if let Some(msg) = refusal(&agent.config, &begin) {
        return Err(refuse(&mut s, &mut out, msg).await);
    }
    let Some(reservation) = Reservation::claim(agent) else {
        let msg = "busy: this agent is serving another migration";
        return Err(refuse(&mut s, &mut out, msg.into()).await);
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let pages = (begin.memory_bytes / PAGE as u64) as usize;
    // Committing gigabytes takes a while: on a blocking thread, with the slot reserved.
    let image = tokio::task::spawn_blocking(move || DestImage::new(pages))
        .await
        .map_err(|e| proto(format!("allocating the image failed: {e}")))?;
    let encrypted = session.encrypt;
    let migration = Arc::new(Migration {
        session: Arc::new(session),
        channels: begin.channels,
        joined: Mutex::new(0),
        rdma: begin.rdma,
        image,
        events: tx,
        last_activity_ms: AtomicU64::new(0),
        started: Instant::now(),
        finished: Default::default(),
        sockets: Mutex::new(Vec::new()),
    });
    lock(&agent.active).session = Some(migration.clone());
    // However this ends (even if the task is dropped), receivers stop and the slot frees.
    let finish = Finish {
        migration: migration.clone(),
        _slot: reservation,
    };
    (agent.log)(format!(
        "{peer}: migration of {} MiB over {} channel(s){} started",
        begin.memory_bytes >> 20,
        begin.channels,
        if encrypted { ", encrypted" } else { "" }
    ));
    let result = super::session::run(&migration, s, out, inp, rx).await;
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

/// Reads the control connection's first frame after the handshake, which must be a valid
/// `Begin`.
async fn read_begin(
    s: &mut TcpStream,
    out: &mut FrameOut,
    inp: &mut FrameIn,
) -> Result<Begin, WireError> {
    let mut buf = Vec::new();
    let kind = tokio::time::timeout(wire::HANDSHAKE_TIMEOUT, recv(s, inp, &mut buf))
        .await
        .map_err(|_| WireError::Timeout("waiting for Begin"))??;
    if kind != Kind::Begin {
        return Err(proto(format!("expected Begin, got {kind:?}")));
    }
    match Begin::decode(&buf) {
        Ok(b) => Ok(b),
        Err(e) => {
            let _ = send(s, out, Kind::Error, e.to_string().as_bytes()).await;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn room_is_made_by_closing_the_oldest_silent_connection_of_the_busiest_address() {
        let limits = Limits {
            pending_per_address: 3,
            pending_total: 5,
            ..Limits::default()
        };
        let mut p = Pending::default();
        let mut a: Vec<Admitted> = (0..3).map(|_| p.admit(ip(1), &limits)).collect();
        // The oldest has talked; a fourth from the same address closes the second.
        a[0].talked.store(true, Ordering::Release);
        a.push(p.admit(ip(1), &limits));
        assert_eq!(p.total, 3);
        assert!(a[1].closed.try_recv().is_err());
        assert!(matches!(
            a[0].closed.try_recv(),
            Err(oneshot::error::TryRecvError::Empty)
        ));
        // Two from another address fill the table; a third address's first connection then
        // closes one of the busiest address's, never its own.
        let _b: Vec<Admitted> = (0..2).map(|_| p.admit(ip(2), &limits)).collect();
        assert_eq!(p.total, 5);
        let c = p.admit(ip(3), &limits);
        assert_eq!(p.total, 5);
        assert_eq!(p.by_addr[&ip(1)].len(), 2);
        assert_eq!(p.by_addr[&ip(3)].len(), 1);
        p.leave(ip(3), c.id);
        assert!(!p.by_addr.contains_key(&ip(3)));
        assert_eq!(p.total, 4);
    }
}
