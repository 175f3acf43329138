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
use super::image::{DIGEST_GROUP, Digest, PAGE, page_digest, zero_page_digest};
use super::wire::{
    self, Begin, Codec, Kind, PAGES_HEAD_LEN, PagesHead, Reader, Role, Verified, WireError,
    ZERO_FLAG, proto, read_frame, write_frame,
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
        let zero = zero_page_digest();
        DestImage {
            image: super::image::Image::zeroed(pages),
            pass: (0..pages).map(|_| AtomicU32::new(0)).collect(),
            digest: (0..pages).map(|_| AtomicU64::new(zero)).collect(),
        }
    }

    fn write(&self, p: usize, pass: u32, bytes: Option<&[u8]>) {
        self.image.with_page_mut(p, |page| {
            // Under the chunk lock: the pass check and the write are one step.
            if !self.takes(p, pass) {
                return;
            }
            let digest = match bytes {
                Some(b) => {
                    page.copy_from_slice(b);
                    page_digest(page)
                }
                None => {
                    page.fill(0);
                    zero_page_digest()
                }
            };
            self.record(p, pass, digest);
        });
    }

    /// Whether page `p` may be written by a batch of `pass`: not if a newer pass already wrote it.
    /// Callers hold the page's chunk lock across this check and the write.
    fn takes(&self, p: usize, pass: u32) -> bool {
        self.pass[p].load(Ordering::Acquire) <= pass
    }

    /// Notes that page `p` now holds what `pass` sent, whose digest is `digest`.
    fn record(&self, p: usize, pass: u32, digest: u64) {
        self.pass[p].store(pass, Ordering::Release);
        self.digest[p].store(digest, Ordering::Release);
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
    let mut bufs = RecvBufs::default();
    loop {
        let mut head = [0u8; 5];
        match s.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        let kind = wire::kind_of(head[0])?;
        let len = wire::frame_len(&head)?;
        if session.finished.load(Ordering::Acquire) {
            return Ok(());
        }
        session.touch();
        if kind == Kind::Pages {
            read_batch(&session.image, s, len, &mut bufs)?;
            continue;
        }
        let buf = &mut bufs.buf;
        buf.resize(len, 0);
        s.read_exact(buf)?;
        match kind {
            Kind::PassEnd => {
                let mut r = Reader::new(buf);
                let pass = r.u32()?;
                r.done()?;
                let _ = session.events.send(DataEvent::PassEnd(channel, pass));
            }
            k => return Err(proto(format!("unexpected {k:?} on a data channel"))),
        }
    }
}

/// Buffers a receiver reuses from batch to batch.
#[derive(Default)]
struct RecvBufs {
    buf: Vec<u8>,
    raw: Vec<u8>,
    scratch: Vec<u8>,
}

/// Reads the rest of a `Pages` frame of `len` bytes (its 5-byte head already read) and writes
/// its pages. Header and index come first; an uncompressed batch's pages are then read straight
/// into the image (`readv`), as the source sent them straight from its image.
fn read_batch(
    img: &DestImage,
    s: &mut impl std::io::Read,
    len: usize,
    b: &mut RecvBufs,
) -> Result<(), WireError> {
    if len < PAGES_HEAD_LEN {
        return Err(proto(format!("batch frame of {len} bytes")));
    }
    let mut ph = [0u8; PAGES_HEAD_LEN];
    s.read_exact(&mut ph)?;
    let pages = PagesHead::read(&mut Reader::new(&ph))?;
    let index_len = pages.count as usize * 8;
    if len < PAGES_HEAD_LEN + index_len {
        return Err(proto(format!(
            "batch of {} pages in a {len}-byte frame",
            pages.count
        )));
    }
    b.buf.resize(index_len, 0);
    s.read_exact(&mut b.buf)?;
    let blob_len = len - PAGES_HEAD_LEN - index_len;
    let batch = Batch::parse(&pages, &b.buf, img.pass.len(), blob_len)?;
    if pages.codec == Codec::None && batch.ascending {
        return read_into_image(img, s, &pages, &batch, &mut b.scratch);
    }
    b.buf.resize(blob_len, 0);
    s.read_exact(&mut b.buf)?;
    // `decode` yields exactly `raw_len` bytes, which `Batch::parse` matched against the index.
    let data = decode(&pages, &b.buf, &mut b.raw)?;
    for (&(p, zero), &at) in batch.entries.iter().zip(&batch.data_at) {
        img.write(p, pages.pass, (!zero).then(|| &data[at..at + PAGE]));
    }
    Ok(())
}

/// A batch's page index, checked: every page inside the image, and as many data pages as the
/// blob holds.
struct Batch {
    /// (page, is zero) in the order the batch lists them.
    entries: Vec<(usize, bool)>,
    /// Offset of each entry's bytes in the (uncompressed) blob; unused for zero pages.
    data_at: Vec<usize>,
    /// Pages strictly ascending (what our source sends): the batch can be read in place.
    ascending: bool,
}

impl Batch {
    fn parse(
        head: &PagesHead,
        index: &[u8],
        pages: usize,
        blob_len: usize,
    ) -> Result<Batch, WireError> {
        let mut entries = Vec::with_capacity(head.count as usize);
        let mut data_at = Vec::with_capacity(head.count as usize);
        let mut at = 0;
        let mut ascending = true;
        for e in index.chunks_exact(8) {
            let v = u64::from_le_bytes(e.try_into().unwrap_or([0; 8]));
            let p = v & !ZERO_FLAG;
            if p >= pages as u64 {
                return Err(proto(format!("page {p} is outside the {pages}-page image")));
            }
            let p = p as usize;
            ascending &= entries.last().is_none_or(|&(q, _)| q < p);
            let zero = v & ZERO_FLAG != 0;
            entries.push((p, zero));
            data_at.push(at);
            if !zero {
                at += PAGE;
            }
        }
        let batch = Batch {
            entries,
            data_at,
            ascending,
        };
        if head.codec == Codec::None {
            batch.check_data(blob_len)?;
        }
        batch.check_data(head.raw_len as usize)?;
        Ok(batch)
    }

    fn data_pages(&self) -> usize {
        self.entries.iter().filter(|e| !e.1).count()
    }

    fn check_data(&self, bytes: usize) -> Result<(), WireError> {
        let n = self.data_pages();
        if n * PAGE != bytes {
            return Err(proto(format!(
                "{n} data pages but {bytes} bytes of page data"
            )));
        }
        Ok(())
    }
}

/// Reads an uncompressed batch's pages from the socket straight into the image (one `readv`),
/// with the chunks involved write-locked, so the pass check and the write are one step. A page a
/// newer pass already wrote is read into `scratch` and dropped.
fn read_into_image(
    img: &DestImage,
    s: &mut impl std::io::Read,
    head: &PagesHead,
    batch: &Batch,
    scratch: &mut Vec<u8>,
) -> Result<(), WireError> {
    use super::image::CHUNK_PAGES;
    let mut guards = Vec::new();
    for &(p, _) in &batch.entries {
        let c = p / CHUNK_PAGES;
        if guards.last().is_none_or(|(gc, _)| *gc != c) {
            guards.push((c, img.image.write_chunk(c)));
        }
    }
    let mut data = Vec::with_capacity(batch.entries.len());
    for &(p, zero) in &batch.entries {
        match (zero, img.takes(p, head.pass)) {
            (false, f) => data.push((p, f)),
            (true, true) => {
                let (_, g) = guard_of(&mut guards, p)?;
                let off = (p % CHUNK_PAGES) * PAGE;
                g[off..off + PAGE].fill(0);
                img.record(p, head.pass, zero_page_digest());
            }
            (true, false) => {}
        }
    }
    scratch.resize(DIGEST_GROUP * PAGE, 0);
    // In groups that fit the core's cache, each page's digest is taken right after the kernel
    // wrote it (see the source's `send_plain`).
    for group in data.chunks(DIGEST_GROUP) {
        {
            let mut spare = scratch.chunks_exact_mut(PAGE);
            let mut io = Vec::with_capacity(group.len());
            let mut want = group.iter().peekable();
            for (c, g) in guards.iter_mut() {
                let mut in_chunk = g.chunks_exact_mut(PAGE);
                let mut next = 0;
                while let Some(&&(p, fresh)) = want.peek() {
                    if p / CHUNK_PAGES != *c {
                        break;
                    }
                    want.next();
                    let off = p % CHUNK_PAGES;
                    let page = in_chunk
                        .nth(off - next)
                        .ok_or_else(|| proto(format!("page {p} is past the image's end")))?;
                    next = off + 1;
                    io.push(std::io::IoSliceMut::new(if fresh {
                        page
                    } else {
                        spare.next().ok_or_else(|| proto("scratch page missing"))?
                    }));
                }
            }
            read_exact_vectored(s, &mut io)?;
        }
        for &(p, _) in group.iter().filter(|(_, f)| *f) {
            let (_, g) = guard_of(&mut guards, p)?;
            let off = (p % CHUNK_PAGES) * PAGE;
            img.record(p, head.pass, page_digest(&g[off..off + PAGE]));
        }
    }
    Ok(())
}

type ChunkGuard<'a> = (usize, std::sync::RwLockWriteGuard<'a, Vec<u8>>);

fn guard_of<'g, 'a>(
    guards: &'g mut [ChunkGuard<'a>],
    p: usize,
) -> Result<&'g mut ChunkGuard<'a>, WireError> {
    use super::image::CHUNK_PAGES;
    guards
        .iter_mut()
        .find(|(c, _)| *c == p / CHUNK_PAGES)
        .ok_or_else(|| proto(format!("page {p}'s chunk is not locked")))
}

fn read_exact_vectored(
    r: &mut impl std::io::Read,
    mut bufs: &mut [std::io::IoSliceMut<'_>],
) -> std::io::Result<()> {
    while !bufs.is_empty() {
        match r.read_vectored(bufs) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => std::io::IoSliceMut::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The uncompressed page data of a batch's blob.
fn decode<'a>(
    head: &PagesHead,
    blob: &'a [u8],
    raw: &'a mut Vec<u8>,
) -> Result<&'a [u8], WireError> {
    match head.codec {
        Codec::None => Ok(blob),
        Codec::Lz4 => {
            raw.resize(head.raw_len as usize, 0);
            let n = lz4_flex::block::decompress_into(blob, raw)
                .map_err(|e| proto(format!("lz4 batch does not decompress: {e}")))?;
            if n != raw.len() {
                return Err(proto("lz4 batch decompressed to the wrong length"));
            }
            Ok(raw)
        }
        Codec::Zstd => {
            raw.resize(head.raw_len as usize, 0);
            let n = zstd::bulk::decompress_to_buffer(blob, raw)
                .map_err(|e| proto(format!("zstd batch does not decompress: {e}")))?;
            if n != raw.len() {
                return Err(proto("zstd batch decompressed to the wrong length"));
            }
            Ok(raw)
        }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    /// A `Pages` frame's payload (after the 5-byte head): header, index, uncompressed blob.
    fn batch(pass: u32, pages: &[(u64, Option<u8>)]) -> Vec<u8> {
        let data: Vec<u8> = pages
            .iter()
            .filter_map(|(_, fill)| fill.map(|b| vec![b; PAGE]))
            .flatten()
            .collect();
        let mut out = vec![0u8; PAGES_HEAD_LEN];
        PagesHead {
            pass,
            codec: Codec::None,
            count: pages.len() as u32,
            raw_len: data.len() as u32,
        }
        .write(&mut out);
        for &(p, fill) in pages {
            out.extend_from_slice(&(p | if fill.is_none() { ZERO_FLAG } else { 0 }).to_le_bytes());
        }
        out.extend_from_slice(&data);
        out
    }

    fn read_all(img: &DestImage, frames: &[Vec<u8>]) -> Result<(), WireError> {
        let stream: Vec<u8> = frames.concat();
        let mut r: &[u8] = &stream;
        let mut bufs = RecvBufs::default();
        for f in frames {
            read_batch(img, &mut r, f.len(), &mut bufs)?;
        }
        assert!(r.is_empty(), "{} bytes left unread", r.len());
        Ok(())
    }

    fn page(img: &DestImage, p: usize) -> Vec<u8> {
        img.image.with_page(p, <[u8]>::to_vec)
    }

    fn assert_page(img: &DestImage, p: usize, byte: u8, pass: u32) {
        assert_eq!(page(img, p), vec![byte; PAGE], "page {p}");
        assert_eq!(
            img.pass[p].load(Ordering::Acquire),
            pass,
            "pass of page {p}"
        );
        assert_eq!(
            img.digest[p].load(Ordering::Acquire),
            page_digest(&vec![byte; PAGE]),
            "digest of page {p}"
        );
    }

    #[test]
    fn an_ascending_batch_lands_in_place_across_chunks_with_zero_pages() {
        let img = DestImage::new(600);
        // Pages on both sides of a chunk boundary (256), a zero page among them, more than one
        // digest group.
        let mut list: Vec<(u64, Option<u8>)> = (200..300).map(|p| (p, Some(p as u8))).collect();
        list[60] = (260, None);
        img.write(260, 1, Some(&[9u8; PAGE]));
        read_all(&img, &[batch(2, &list)]).unwrap();
        for &(p, fill) in &list {
            assert_page(&img, p as usize, fill.unwrap_or(0), 2);
        }
        assert_page(&img, 199, 0, 0);
    }

    #[test]
    fn a_late_batch_never_overwrites_a_newer_copy_and_the_stream_stays_in_step() {
        let img = DestImage::new(64);
        let newer = batch(3, &[(5, Some(0xAA)), (7, None)]);
        let late = batch(2, &[(4, Some(1)), (5, Some(2)), (6, Some(3)), (7, Some(4))]);
        let after = batch(4, &[(8, Some(5))]);
        img.write(7, 1, Some(&[0x77; PAGE]));
        read_all(&img, &[newer, late, after]).unwrap();
        assert_page(&img, 4, 1, 2);
        assert_page(&img, 5, 0xAA, 3);
        assert_page(&img, 6, 3, 2);
        assert_page(&img, 7, 0, 3);
        assert_page(&img, 8, 5, 4);
    }

    #[test]
    fn an_unordered_batch_is_still_applied_page_by_page() {
        let img = DestImage::new(64);
        let b = batch(1, &[(9, Some(9)), (3, Some(3)), (9, Some(10))]);
        read_all(&img, &[b]).unwrap();
        assert_page(&img, 3, 3, 1);
        assert_page(&img, 9, 10, 1);
    }

    #[test]
    fn a_batch_whose_blob_does_not_match_its_index_is_refused_before_writing() {
        let img = DestImage::new(64);
        let mut b = batch(1, &[(1, Some(1)), (2, Some(2))]);
        b.truncate(b.len() - PAGE);
        // The header still says two data pages.
        let e = read_all(&img, &[b]).unwrap_err().to_string();
        assert!(e.contains("bytes of page data"), "{e}");
        assert_page(&img, 1, 0, 0);
        let e = read_all(&img, &[vec![0u8; 3]]).unwrap_err().to_string();
        assert!(e.contains("batch frame of 3 bytes"), "{e}");
    }
}
