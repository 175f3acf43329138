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

use super::cpu::{self, CoreSampler};
use super::image::{Digest, PAGE, page_digest};
use super::wire::{
    self, Begin, Codec, Kind, PagesHead, Reader, Role, Verified, WireError, ZERO_FLAG, proto,
    read_frame, write_frame,
};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
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

/// The destination's copy of the image: page bytes in locked chunks plus, per page, the pass of
/// its last write and the digest of what was written.
struct DestImage {
    image: super::image::Image,
    pass: Vec<AtomicU32>,
    digest: Vec<AtomicU64>,
}

impl DestImage {
    fn new(pages: usize) -> DestImage {
        let zero = page_digest(&[0u8; PAGE]);
        DestImage {
            image: super::image::Image::zeroed(pages),
            pass: (0..pages).map(|_| AtomicU32::new(0)).collect(),
            digest: (0..pages).map(|_| AtomicU64::new(zero)).collect(),
        }
    }

    fn write(&self, p: usize, pass: u32, bytes: Option<&[u8]>) {
        self.image.with_page_mut(p, |page| {
            // Under the chunk lock: the pass check and the write are one step.
            if self.pass[p].load(Ordering::Acquire) > pass {
                return;
            }
            match bytes {
                Some(b) => page.copy_from_slice(b),
                None => page.fill(0),
            }
            self.pass[p].store(pass, Ordering::Release);
            self.digest[p].store(page_digest(page), Ordering::Release);
        });
    }

    fn table_digest(&self) -> u64 {
        let mut d = Digest::new();
        for x in &self.digest {
            d.push(x.load(Ordering::Acquire));
        }
        d.finish()
    }
}

struct Session {
    token: [u8; 16],
    channels: u16,
    rdma: bool,
    image: DestImage,
    events: mpsc::UnboundedSender<DataEvent>,
    last_activity_ms: AtomicU64,
    started: Instant,
    /// Set when the control connection ends: data channels closing after that is normal.
    finished: std::sync::atomic::AtomicBool,
    /// Clones of the data sockets, shut down when the session ends.
    sockets: Mutex<Vec<std::net::TcpStream>>,
}

impl Session {
    fn touch(&self) {
        self.last_activity_ms
            .store(self.started.elapsed().as_millis() as u64, Ordering::Release);
    }
}

enum DataEvent {
    Joined(u16),
    PassEnd(u16, u32),
    Lost(u16),
}

/// A write to a peer that must not take longer than [`WRITE_LIMIT`].
async fn timed(w: impl Future<Output = Result<(), WireError>>) -> Result<(), WireError> {
    tokio::time::timeout(WRITE_LIMIT, w)
        .await
        .map_err(|_| WireError::Timeout("writing to the source (it stopped reading)"))?
}

/// Whether this agent can receive by RDMA, in the words the source will show.
fn rdma_possible() -> Result<(), String> {
    #[cfg(all(feature = "rdma", target_os = "linux"))]
    {
        super::rdma::require_device().map_err(|e| format!("agent: {e}"))
    }
    #[cfg(not(all(feature = "rdma", target_os = "linux")))]
    {
        Err("this agent was built without RDMA support; use TCP".into())
    }
}

#[cfg(all(feature = "rdma", target_os = "linux"))]
type RdmaHold = super::rdma::Endpoint;
#[cfg(not(all(feature = "rdma", target_os = "linux")))]
type RdmaHold = ();

/// Listens for the source's RDMA connection, registers the image's chunks for remote write and
/// sends their keys.
async fn rdma_setup(session: &Arc<Session>, s: &mut TcpStream) -> Result<RdmaHold, WireError> {
    #[cfg(all(feature = "rdma", target_os = "linux"))]
    {
        use super::rdma::{Listener, Region};
        let (listener, port) = Listener::bind(0).map_err(WireError::Refused)?;
        write_frame(s, Kind::RdmaReady, &port.to_le_bytes()).await?;
        let regions = session.image.image.chunk_regions();
        let accept = tokio::task::spawn_blocking(move || {
            let r: Vec<(*mut u8, usize)> =
                regions.iter().map(|&(a, l)| (a as *mut u8, l)).collect();
            listener.accept(&r)
        });
        // A source that never connects must not keep the agent busy.
        let (ep, keys) = tokio::time::timeout(wire::HANDSHAKE_TIMEOUT, accept)
            .await
            .map_err(|_| WireError::Timeout("waiting for the source's RDMA connection"))?
            .map_err(|e| proto(format!("RDMA accept failed: {e}")))?
            .map_err(WireError::Refused)?;
        write_frame(s, Kind::RdmaRegions, &Region::encode_all(&keys)).await?;
        Ok(ep)
    }
    #[cfg(not(all(feature = "rdma", target_os = "linux")))]
    {
        let _ = (session, s);
        rdma_possible().map_err(WireError::Refused)
    }
}

/// Ends a session when dropped: marks it finished (its receivers stop at their next frame) and
/// frees the agent for the next migration.
struct Finish(Arc<Session>, #[allow(dead_code)] Reservation);

impl Drop for Finish {
    fn drop(&mut self) {
        self.0.finished.store(true, Ordering::Release);
        // Wake receivers blocked in a read, so the image is freed now, not when a peer writes.
        let socks = self.0.sockets.lock().unwrap_or_else(|p| p.into_inner());
        for s in socks.iter() {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        // The reservation (second field) frees the slot as it drops after this.
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// State shared by all connections of one agent.
struct Agent {
    config: AgentConfig,
    active: Mutex<Slot>,
    /// Connections still in their handshake: bounded, so unauthenticated peers cannot pile up.
    handshakes: Arc<tokio::sync::Semaphore>,
    log: Log,
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
    let _ = s.set_nodelay(true);
    let role = wire::server_handshake(&mut s, &agent.config.secret).await?;
    drop(permit);
    match role {
        Role::Control => control(agent, s, peer).await,
        Role::Data { token, channel } => data(agent, s, peer, token, channel).await,
    }
}

/// The agent's one migration slot: reserved while the image is allocated, then the session.
#[derive(Default)]
struct Slot {
    busy: bool,
    session: Option<Arc<Session>>,
}

/// Frees the slot when dropped (also when allocation or set-up fails half-way).
struct Reservation(Arc<Agent>);

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

async fn control(agent: &Arc<Agent>, mut s: TcpStream, peer: SocketAddr) -> Result<(), WireError> {
    let mut buf = Vec::new();
    let kind = tokio::time::timeout(wire::HANDSHAKE_TIMEOUT, read_frame(&mut s, &mut buf))
        .await
        .map_err(|_| WireError::Timeout("waiting for Begin"))??;
    if kind != Kind::Begin {
        return Err(proto(format!("expected Begin, got {kind:?}")));
    }
    let begin = match Begin::decode(&buf) {
        Ok(b) => b,
        Err(e) => {
            let _ = write_frame(&mut s, Kind::Error, e.to_string().as_bytes()).await;
            return Err(e);
        }
    };
    if begin.memory_bytes > agent.config.max_memory {
        let msg = format!(
            "asked for {} MiB of memory; this agent allows at most {} MiB (--max-memory)",
            begin.memory_bytes >> 20,
            agent.config.max_memory >> 20
        );
        let _ = write_frame(&mut s, Kind::Error, msg.as_bytes()).await;
        return Err(WireError::Refused(msg));
    }
    if begin.rdma
        && let Err(msg) = rdma_possible()
    {
        let _ = write_frame(&mut s, Kind::Error, msg.as_bytes()).await;
        return Err(WireError::Refused(msg));
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let pages = (begin.memory_bytes / PAGE as u64) as usize;
    let token: [u8; 16] = wire::nonce()?[..16].try_into().unwrap_or([0; 16]);
    let claimed = {
        let mut slot = lock_active(agent);
        if slot.busy {
            false
        } else {
            slot.busy = true;
            true
        }
    };
    if !claimed {
        let msg = "busy: this agent is serving another migration";
        let _ = write_frame(&mut s, Kind::Error, msg.as_bytes()).await;
        return Err(WireError::Refused(msg.into()));
    }
    let reservation = Reservation(agent.clone());
    // Committing gigabytes takes a while: on a blocking thread, with the slot reserved.
    let image = tokio::task::spawn_blocking(move || DestImage::new(pages))
        .await
        .map_err(|e| proto(format!("allocating the image failed: {e}")))?;
    let session = Arc::new(Session {
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
    lock_active(agent).session = Some(session.clone());
    // However this ends (even if the task is dropped), receivers stop and the slot frees.
    let finish = Finish(session.clone(), reservation);
    (agent.log)(format!(
        "{peer}: migration of {} MiB over {} channel(s) started",
        begin.memory_bytes >> 20,
        begin.channels
    ));
    let result = run_session(&session, s, &mut rx).await;
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

/// Drives one migration on the control connection. Returns whether the final check passed.
async fn run_session(
    session: &Arc<Session>,
    mut s: TcpStream,
    rx: &mut mpsc::UnboundedReceiver<DataEvent>,
) -> Result<bool, WireError> {
    let cpu0 = cpu::thread_group_cpu_s(THREAD_PREFIX).0;
    let t0 = Instant::now();
    let mut cores = CoreSampler::new();
    let mut accept = session.token.to_vec();
    accept.extend_from_slice(&(cpu::cores() as u16).to_le_bytes());
    write_frame(&mut s, Kind::Accept, &accept).await?;
    // With RDMA the source writes pages straight into the image; keep the endpoint until the end.
    let _rdma = if session.rdma {
        Some(rdma_setup(session, &mut s).await?)
    } else {
        None
    };

    // Frames are read by their own task: a read cut short by `select!` would lose bytes.
    let (mut rd, mut wr) = s.into_split();
    let (ftx, mut frames) = mpsc::channel::<Result<(Kind, Vec<u8>), WireError>>(4);
    let _reader = AbortOnDrop(tokio::spawn(async move {
        let mut b = Vec::new();
        loop {
            let r = read_frame(&mut rd, &mut b)
                .await
                .map(|k| (k, std::mem::take(&mut b)));
            let stop = r.is_err();
            if ftx.send(r).await.is_err() || stop {
                break;
            }
        }
    }));
    let mut joined: u64 = 0;
    let mut alive: u64 = 0;
    let mut ended: BTreeMap<u32, u64> = BTreeMap::new();
    let mut waiting: Option<u32> = None;
    let mut buf;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut full_ok = None;
    let mut full_digest = None;
    let mut cpu_at_pause_end: Option<(f64, f64)> = None;
    session.touch();
    loop {
        tokio::select! {
            frame = frames.recv() => {
                session.touch();
                let (kind, got) = match frame {
                    Some(f) => f?,
                    None => return Err(proto("control reader ended")),
                };
                buf = got;
                let mut r = Reader::new(&buf);
                match kind {
                    Kind::ChannelLost => {
                        let ch = r.u16()?;
                        r.done()?;
                        if ch < 64 { alive &= !(1 << ch); }
                    }
                    Kind::PassEnd => {
                        // The source waits for this pass to be acknowledged.
                        let pass = r.u32()?;
                        r.done()?;
                        waiting = Some(pass);
                    }
                    Kind::Verify => {
                        // Mode 0: compare page-digest tables (ends the pause). 1: scan the whole
                        // image and report its digest (the source scans its own meanwhile).
                        // 2: the source's full digest: the outcome.
                        let mode = r.u8()?;
                        let digest = r.u64()?;
                        r.done()?;
                        let mine = match mode {
                            0 => session.image.table_digest(),
                            1 => {
                                let sess = session.clone();
                                let d = tokio::task::spawn_blocking(move || sess.image.image.checksum())
                                    .await
                                    .map_err(|e| proto(format!("checksum thread failed: {e}")))?;
                                full_digest = Some(d);
                                d
                            }
                            2 => full_digest.ok_or_else(|| proto("outcome before the full scan"))?,
                            m => return Err(proto(format!("unknown verify mode {m}"))),
                        };
                        let ok = mine == digest;
                        cores.tick();
                        // The migration's cost ends with the pause (mode 0); the full scan
                        // after it is verification, counted separately by its time.
                        // (RDMA runs skip mode 0: their pause ends with the full scan.)
                        if mode == 0 || (mode == 1 && cpu_at_pause_end.is_none()) {
                            cpu_at_pause_end = Some((
                                cpu::thread_group_cpu_s(THREAD_PREFIX).0 - cpu0,
                                t0.elapsed().as_secs_f64(),
                            ));
                        }
                        let (cpu_s, wall_s) = cpu_at_pause_end.unwrap_or_default();
                        let v = Verified {
                            ok,
                            digest: mine,
                            cpu_s,
                            wall_s,
                            cores: cpu::cores() as u16,
                            per_core_pct: cores.mean_per_core(),
                        };
                        timed(write_frame(&mut wr, Kind::Verified, &v.encode())).await?;
                        if mode == 2 {
                            full_ok = Some(ok);
                        }
                    }
                    Kind::Error => {
                        return Err(WireError::Refused(String::from_utf8_lossy(&buf[..buf.len().min(1024)]).into_owned()));
                    }
                    k => return Err(proto(format!("unexpected {k:?} on the control connection"))),
                }
            }
            ev = rx.recv() => {
                match ev {
                    Some(DataEvent::Joined(ch)) => { joined |= 1 << ch; alive |= 1 << ch; }
                    Some(DataEvent::PassEnd(ch, pass)) => {
                        *ended.entry(pass).or_default() |= 1 << ch;
                        if ended.len() > 8 {
                            return Err(proto("data channels ended more than 8 passes nobody asked about"));
                        }
                    }
                    Some(DataEvent::Lost(ch)) => { alive &= !(1 << ch); }
                    None => {}
                }
            }
            _ = tick.tick() => {
                cores.tick();
                let now = session.started.elapsed().as_millis() as u64;
                let idle = now.saturating_sub(session.last_activity_ms.load(Ordering::Acquire));
                if idle > IDLE_LIMIT.as_millis() as u64 {
                    return Err(WireError::Timeout("no data for 60 s"));
                }
            }
        }
        if let Some(done) = full_ok {
            return Ok(done);
        }
        // Acknowledge the pass the source waits for once every live channel has ended it.
        if let Some(pass) = waiting {
            let mask = ended.get(&pass).copied().unwrap_or(0);
            if joined.count_ones() == u32::from(session.channels) && mask & alive == alive {
                let mut ack = pass.to_le_bytes().to_vec();
                ack.extend_from_slice(&(mask & alive).to_le_bytes());
                timed(write_frame(&mut wr, Kind::PassAck, &ack)).await?;
                ended.retain(|&p, _| p > pass);
                waiting = None;
            }
        }
    }
}

async fn data(
    agent: &Arc<Agent>,
    mut s: TcpStream,
    peer: SocketAddr,
    token: [u8; 16],
    channel: u16,
) -> Result<(), WireError> {
    let session = lock_active(agent)
        .session
        .as_ref()
        .filter(|x| x.token == token)
        .cloned();
    let Some(session) = session else {
        let _ = write_frame(&mut s, Kind::Error, b"no migration with this token").await;
        return Err(WireError::Refused(
            "data channel for an unknown migration".into(),
        ));
    };
    if channel >= session.channels {
        let _ = write_frame(&mut s, Kind::Error, b"channel number out of range").await;
        return Err(proto(format!("channel {channel} of {}", session.channels)));
    }
    let _ = session.events.send(DataEvent::Joined(channel));
    write_frame(&mut s, Kind::Ready, &[]).await?;
    // Bulk receive on a blocking thread (as the source sends): see `source::Channel`.
    let mut s = s.into_std()?;
    s.set_nonblocking(false)?;
    s.set_read_timeout(Some(IDLE_LIMIT))?;
    if let Ok(c) = s.try_clone() {
        session
            .sockets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(c);
    }
    if session.finished.load(Ordering::Acquire) {
        return Ok(());
    }
    let sess = session.clone();
    let result = tokio::task::spawn_blocking(move || receive(&sess, &mut s, channel))
        .await
        .map_err(|e| proto(format!("receiver thread failed: {e}")))?;
    let finished = session.finished.load(Ordering::Acquire);
    match result {
        // The source closing its channels after the migration is the normal end.
        Ok(()) if finished => {}
        Ok(()) => {
            let _ = session.events.send(DataEvent::Lost(channel));
            (agent.log)(format!(
                "{peer}: channel {channel} closed by the source mid-migration"
            ));
        }
        Err(e) => {
            let _ = session.events.send(DataEvent::Lost(channel));
            (agent.log)(format!("{peer}: channel {channel} lost: {e}"));
        }
    }
    Ok(())
}

fn receive(session: &Session, s: &mut std::net::TcpStream, channel: u16) -> Result<(), WireError> {
    use std::io::Read;
    let mut buf = Vec::new();
    let mut raw = Vec::new();
    loop {
        let mut head = [0u8; 5];
        match s.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        let kind = wire::kind_of(head[0])?;
        let len = wire::frame_len(&head)?;
        buf.resize(len, 0);
        s.read_exact(&mut buf)?;
        if session.finished.load(Ordering::Acquire) {
            return Ok(());
        }
        session.touch();
        match kind {
            Kind::Pages => apply(&session.image, &buf, &mut raw)?,
            Kind::PassEnd => {
                let mut r = Reader::new(&buf);
                let pass = r.u32()?;
                r.done()?;
                let _ = session.events.send(DataEvent::PassEnd(channel, pass));
            }
            k => return Err(proto(format!("unexpected {k:?} on a data channel"))),
        }
    }
}

/// Decodes a `Pages` frame and writes its pages.
fn apply(img: &DestImage, frame: &[u8], raw: &mut Vec<u8>) -> Result<(), WireError> {
    let mut r = Reader::new(frame);
    let head = PagesHead::read(&mut r)?;
    let index = r.bytes(head.count as usize * 8)?;
    let blob = r.rest();
    let data: &[u8] = match head.codec {
        Codec::None => {
            if blob.len() != head.raw_len as usize {
                return Err(proto(format!(
                    "batch blob is {} bytes, header says {}",
                    blob.len(),
                    head.raw_len
                )));
            }
            blob
        }
        Codec::Lz4 => {
            raw.resize(head.raw_len as usize, 0);
            let n = lz4_flex::block::decompress_into(blob, raw)
                .map_err(|e| proto(format!("lz4 batch does not decompress: {e}")))?;
            if n != raw.len() {
                return Err(proto("lz4 batch decompressed to the wrong length"));
            }
            raw
        }
        Codec::Zstd => {
            raw.resize(head.raw_len as usize, 0);
            let n = zstd::bulk::decompress_to_buffer(blob, raw)
                .map_err(|e| proto(format!("zstd batch does not decompress: {e}")))?;
            if n != raw.len() {
                return Err(proto("zstd batch decompressed to the wrong length"));
            }
            raw
        }
    };
    let pages = img.pass.len() as u64;
    // Check the whole index before writing anything.
    let mut nonzero = 0usize;
    for e in index.chunks_exact(8) {
        let v = u64::from_le_bytes(e.try_into().unwrap_or([0; 8]));
        if v & !ZERO_FLAG >= pages {
            return Err(proto(format!(
                "page {} is outside the {pages}-page image",
                v & !ZERO_FLAG
            )));
        }
        if v & ZERO_FLAG == 0 {
            nonzero += 1;
        }
    }
    if nonzero * PAGE != data.len() {
        return Err(proto(format!(
            "{nonzero} data pages but {} bytes of page data",
            data.len()
        )));
    }
    let mut at = 0;
    for e in index.chunks_exact(8) {
        let v = u64::from_le_bytes(e.try_into().unwrap_or([0; 8]));
        let p = (v & !ZERO_FLAG) as usize;
        if v & ZERO_FLAG != 0 {
            img.write(p, head.pass, None);
        } else {
            img.write(p, head.pass, Some(&data[at..at + PAGE]));
            at += PAGE;
        }
    }
    Ok(())
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
    let task = rt.spawn(serve(listener, config, log));
    Ok(RunningAgent {
        rt: Some(rt),
        task,
        addr: local,
    })
}

/// An agent serving in the background; dropping it stops it.
pub struct RunningAgent {
    rt: Option<tokio::runtime::Runtime>,
    task: tokio::task::JoinHandle<()>,
    pub addr: SocketAddr,
}

impl std::fmt::Debug for RunningAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningAgent")
            .field("addr", &self.addr)
            .finish()
    }
}

impl RunningAgent {
    /// Blocks the calling thread while the agent serves (for `lmlab agent`).
    pub fn wait(mut self) {
        if let Some(rt) = self.rt.take() {
            let task = std::mem::replace(&mut self.task, rt.spawn(async {}));
            let _ = rt.block_on(task);
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
