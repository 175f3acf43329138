//! The source side: pre-copy of a real image over N authenticated TCP channels.
//!
//! Pass 1 sends every page; each later pass sends the pages the guest dirtied during the one
//! before; after each pass the stop rule of `crate::precopy` (the same function the simulated
//! engine uses) decides between another pass and the switch-over, from the pass's *measured*
//! rate. A pass's pages are cut into batches striped over the channels (equal shares, as SMB
//! Multichannel spreads its connections); the share of a channel lost mid-pass is taken over by
//! the others. A pass ends when the destination acknowledges it; pages a lost channel sent in an
//! unacknowledged pass are marked dirty again and go in the next pass over the channels left.
//! The switch-over stops the guest, sends the remainder, and the pause ends when the destination
//! has checked its page digests against ours. A full scan of both images then decides `verified`.

use super::cpu::{self, CoreSampler};
use super::image::{
    DIGEST_GROUP, Digest, Image, PAGE, Writer, is_zero, page_digest, zero_page_digest,
};
use super::wire::{
    self, Begin, Codec, Kind, MAX_PAGES_PER_BATCH, PAGES_HEAD_LEN, PagesHead, Reader, Role,
    Verified, WireError, ZERO_FLAG, proto, write_frame,
};
use super::{ChannelLoss, Fault, RealConfig, RealReport, Sample, SocketOptions};
use crate::precopy::{self, Next};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

pub const THREAD_PREFIX: &str = "lm-src";
const ACK_TIMEOUT: Duration = Duration::from_secs(120);
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Counters the sampler reads every 100 ms.
#[derive(Debug)]
pub(crate) struct Meters {
    /// Guest-memory bytes moved per channel (zero pages count as 4 KiB: that is what they move).
    pub memory: Vec<AtomicU64>,
    /// Bytes written to each socket.
    pub wire: Vec<AtomicU64>,
    pub pass: AtomicU32,
    pub done: AtomicBool,
}

/// A data channel. Authenticated with async I/O, then switched to a blocking socket: bulk copies
/// run on blocking threads (`spawn_blocking`), which is what keeps them close to the wire's speed.
struct Channel {
    index: u16,
    stream: std::net::TcpStream,
}

/// Runs one migration to the agent at `addr`. Never panics on peer behaviour; failures after the
/// connection is up are reported in the returned report (`verified: false`, `error`).
pub(crate) async fn migrate(
    cfg: &RealConfig,
    addrs: &[SocketAddr],
    secret: &[u8],
    image: Arc<Image>,
    meters: Arc<Meters>,
    progress: &(dyn Fn(super::Step<'_>) + Sync),
) -> Result<RealReport, WireError> {
    let addr = *addrs
        .first()
        .ok_or_else(|| proto("no destination address"))?;
    let names: Vec<String> = addrs.iter().map(ToString::to_string).collect();
    let mut report = RealReport::new(cfg, names.join(","));
    let channels_n = cfg.channels;
    // --- connect and set up -----------------------------------------------------------------
    let mut control = connect(addr, &cfg.socket, 0).await?;
    wire::client_handshake(&mut control, secret, Role::Control).await?;
    let begin = Begin {
        memory_bytes: image.bytes(),
        channels: if cfg.rdma { 0 } else { channels_n },
        rdma: cfg.rdma,
    };
    write_frame(&mut control, Kind::Begin, &begin.encode()).await?;
    let mut buf = Vec::new();
    // The agent commits the whole image before it accepts: allow for that.
    let commit_time = SETUP_TIMEOUT + Duration::from_secs(image.bytes() >> 30);
    tokio::time::timeout(
        commit_time,
        wire::expect(&mut control, &mut buf, Kind::Accept),
    )
    .await
    .map_err(|_| WireError::Timeout("waiting for the agent to accept"))??;
    let mut r = Reader::new(&buf);
    let token: [u8; 16] = r.array()?;
    report.cores_dst = r.u16()? as usize;
    r.done()?;
    let mut channels = Vec::new();
    #[cfg(all(feature = "rdma", target_os = "linux"))]
    let mut rdma_link = if cfg.rdma {
        Some(rdma_connect(&mut control, addr, &image).await?)
    } else {
        None
    };
    #[cfg(not(all(feature = "rdma", target_os = "linux")))]
    let mut rdma_link: Option<RdmaLink> = None;
    for i in 0..if cfg.rdma { 0 } else { channels_n } {
        let mut s = connect(addrs[i as usize % addrs.len()], &cfg.socket, i as usize).await?;
        wire::client_handshake(&mut s, secret, Role::Data { token, channel: i }).await?;
        tokio::time::timeout(SETUP_TIMEOUT, wire::expect(&mut s, &mut buf, Kind::Ready))
            .await
            .map_err(|_| WireError::Timeout("waiting for a channel to be ready"))??;
        let stream = s.into_std()?;
        stream.set_nonblocking(false)?;
        // A destination that stops reading fails the channel instead of hanging the run.
        stream.set_write_timeout(Some(ACK_TIMEOUT))?;
        channels.push(Channel { index: i, stream });
    }
    let text = if cfg.rdma {
        format!("connected: RDMA to {addr}")
    } else {
        format!("connected: {channels_n} channel(s) to {addr}")
    };
    progress(super::Step {
        pass: 0,
        text: &text,
    });

    // --- pre-copy ---------------------------------------------------------------------------
    let cpu0 = cpu::thread_group_cpu_s(THREAD_PREFIX).0;
    let t0 = Instant::now();
    let sent_digest: Arc<Vec<AtomicU64>> =
        Arc::new((0..image.pages()).map(|_| AtomicU64::new(0)).collect());
    let mut writer = Writer::start(
        image.clone(),
        cfg.dirty_rate_bytes_per_s,
        (cfg.working_set_bytes / PAGE as u64) as usize,
        cfg.seed,
    );
    image.clear_dirty();
    let mut list: Vec<u32> = (0..image.pages() as u32).collect();
    let mut pass: u32 = 1;
    let settings = cfg.settings();
    let outcome: Result<(), WireError> = async {
        loop {
            let (memory, wire_b, secs) = any_pass(
                pass,
                &list,
                &mut channels,
                &mut rdma_link,
                &mut control,
                &image,
                &sent_digest,
                cfg,
                &meters,
                &mut report,
                t0,
            )
            .await?;
            report.bytes_per_pass.push(memory);
            report.wire_bytes_per_pass.push(wire_b);
            report.passes = pass;
            let rate = if secs > 0.0 {
                memory as f64 / secs
            } else {
                f64::INFINITY
            };
            let dirty = (image.dirty_count() * PAGE) as f64;
            let text = format!(
                "pass {pass}: {} MiB in {:.2} s ({:.2} Gbit/s); {:.1} MiB dirty",
                memory >> 20,
                secs,
                rate * 8.0 / 1e9,
                dirty / 1048576.0
            );
            progress(super::Step { pass, text: &text });
            match precopy::after_pass(pass, dirty, rate, &settings) {
                Next::Pass(_) => {
                    list = image.take_dirty();
                    pass += 1;
                }
                Next::SwitchOver(_) => break,
            }
        }
        // --- switch-over: stop the guest, send the rest, check digests ----------------------
        writer.stop();
        let paused = Instant::now();
        report.pages_dirtied = writer.pages_written();
        loop {
            pass += 1;
            list = image.take_dirty();
            let (memory, wire_b, _) = any_pass(
                pass,
                &list,
                &mut channels,
                &mut rdma_link,
                &mut control,
                &image,
                &sent_digest,
                cfg,
                &meters,
                &mut report,
                t0,
            )
            .await?;
            report.switchover_bytes += memory;
            report.wire_bytes_per_pass.push(wire_b);
            // A channel lost in the final pass leaves pages dirty again: send them too.
            if image.dirty_count() == 0 {
                break;
            }
        }
        let mut table = Digest::new();
        for d in sent_digest.iter() {
            table.push(d.load(Ordering::Acquire));
        }
        // RDMA writes bypass the destination's page digests: its pause ends with the full check.
        let v = if cfg.rdma {
            Verified {
                ok: true,
                digest: 0,
                cpu_s: 0.0,
                wall_s: 0.0,
                cores: 0,
                per_core_pct: Vec::new(),
            }
        } else {
            verify(&mut control, 0, table.finish()).await?
        };
        report.downtime_ms = paused.elapsed().as_secs_f64() * 1e3;
        if !v.ok {
            return Err(proto(
                "the destination's page digests differ from the source's",
            ));
        }
        let total = t0.elapsed().as_secs_f64();
        report.total_s = total;
        let cpu_src = cpu::thread_group_cpu_s(THREAD_PREFIX).0 - cpu0;
        // Full scan on both ends: the only thing that makes a migration count as done.
        // Both ends scan at once; then the source tells the destination the outcome.
        let scan = Instant::now();
        let img = image.clone();
        let mine = tokio::task::spawn_blocking(move || img.checksum());
        let theirs = verify(&mut control, 1, 0).await?;
        let mine = mine
            .await
            .map_err(|e| proto(format!("checksum thread failed: {e}")))?;
        let outcome = verify(&mut control, 2, mine).await?;
        report.verify_full_ms = scan.elapsed().as_secs_f64() * 1e3;
        if cfg.rdma {
            report.downtime_ms = paused.elapsed().as_secs_f64() * 1e3;
            report.total_s = t0.elapsed().as_secs_f64();
        }
        report.verified = theirs.digest == mine && outcome.ok;
        if !report.verified {
            return Err(proto("full-image checksums differ"));
        }
        report.set_cpu(cpu_src, total, &outcome);
        Ok(())
    }
    .await;
    writer.stop();
    meters.done.store(true, Ordering::Release);
    if let Err(e) = outcome {
        report.verified = false;
        report.error = Some(e.to_string());
        report.total_s = t0.elapsed().as_secs_f64();
    }
    let _ = control.shutdown().await;
    for c in &channels {
        let _ = c.stream.shutdown(std::net::Shutdown::Both);
    }
    report.finish();
    Ok(report)
}

/// Tells the destination pass `pass` is sent and waits for its acknowledgement; returns the
/// mask of channels whose share the destination has applied.
async fn await_ack(control: &mut TcpStream, pass: u32) -> Result<u64, WireError> {
    write_frame(control, Kind::PassEnd, &pass.to_le_bytes()).await?;
    let mut buf = Vec::new();
    tokio::time::timeout(ACK_TIMEOUT, wire::expect(control, &mut buf, Kind::PassAck))
        .await
        .map_err(|_| WireError::Timeout("waiting for the pass acknowledgement"))??;
    let mut r = Reader::new(&buf);
    let acked = r.u32()?;
    let mask = r.u64()?;
    r.done()?;
    if acked != pass {
        return Err(proto(format!(
            "acknowledgement for pass {acked}, expected {pass}"
        )));
    }
    Ok(mask)
}

/// One pass over TCP channels, or by RDMA when the run has an RDMA link.
#[allow(clippy::too_many_arguments)]
async fn any_pass(
    pass: u32,
    list: &[u32],
    channels: &mut Vec<Channel>,
    rdma_link: &mut Option<RdmaLink>,
    control: &mut TcpStream,
    image: &Arc<Image>,
    sent_digest: &Arc<Vec<AtomicU64>>,
    cfg: &RealConfig,
    meters: &Arc<Meters>,
    report: &mut RealReport,
    t0: Instant,
) -> Result<(u64, u64, f64), WireError> {
    #[cfg(all(feature = "rdma", target_os = "linux"))]
    if let Some(link) = rdma_link {
        return rdma_pass(pass, list, link, control, image, meters).await;
    }
    #[cfg(not(all(feature = "rdma", target_os = "linux")))]
    let _ = rdma_link;
    run_pass(
        pass,
        list,
        channels,
        control,
        image,
        sent_digest,
        cfg,
        meters,
        report,
        t0,
    )
    .await
}

/// Without the `rdma` feature there is never an RDMA link.
#[cfg(not(all(feature = "rdma", target_os = "linux")))]
enum RdmaLink {}

/// The RDMA connection to the destination and its image's regions (one per chunk).
#[cfg(all(feature = "rdma", target_os = "linux"))]
struct RdmaLink {
    ep: Option<super::rdma::Endpoint>,
    regions: Vec<super::rdma::Region>,
}

#[cfg(all(feature = "rdma", target_os = "linux"))]
async fn rdma_connect(
    control: &mut TcpStream,
    addr: SocketAddr,
    image: &Arc<Image>,
) -> Result<RdmaLink, WireError> {
    let mut buf = Vec::new();
    wire::expect(control, &mut buf, Kind::RdmaReady).await?;
    let mut r = Reader::new(&buf);
    let port = r.u16()?;
    r.done()?;
    let local = image.chunk_regions();
    let host = addr.ip().to_string();
    let ep = tokio::task::spawn_blocking(move || {
        let l: Vec<(*mut u8, usize)> = local.iter().map(|&(a, n)| (a as *mut u8, n)).collect();
        super::rdma::Endpoint::connect(&host, port, &l)
    })
    .await
    .map_err(|e| proto(format!("RDMA connect failed: {e}")))?
    .map_err(WireError::Refused)?;
    wire::expect(control, &mut buf, Kind::RdmaRegions).await?;
    let regions = super::rdma::Region::decode_all(&buf)?;
    if regions.len() != image.chunk_regions().len() {
        return Err(proto("the destination's image has a different shape"));
    }
    Ok(RdmaLink {
        ep: Some(ep),
        regions,
    })
}

/// One pass by RDMA: each run of consecutive pages of a chunk is one write into the
/// destination's copy of that chunk, made while the chunk is read-locked.
#[cfg(all(feature = "rdma", target_os = "linux"))]
async fn rdma_pass(
    pass: u32,
    list: &[u32],
    link: &mut RdmaLink,
    control: &mut TcpStream,
    image: &Arc<Image>,
    meters: &Arc<Meters>,
) -> Result<(u64, u64, f64), WireError> {
    use super::image::CHUNK_PAGES;
    meters.pass.store(pass, Ordering::Release);
    let started = Instant::now();
    let mut ep = link.ep.take().ok_or_else(|| proto("RDMA endpoint lost"))?;
    let regions = link.regions.clone();
    let (pages, image2, meters2) = (list.to_vec(), image.clone(), meters.clone());
    let (ep, r) = tokio::task::spawn_blocking(move || {
        let mut i = 0;
        while i < pages.len() {
            let first = pages[i] as usize;
            let chunk = first / CHUNK_PAGES;
            let mut n = 1;
            while i + n < pages.len()
                && pages[i + n] as usize == first + n
                && (first + n) / CHUNK_PAGES == chunk
            {
                n += 1;
            }
            let off = (first % CHUNK_PAGES) * PAGE;
            let _guard = image2.read_chunk(chunk);
            if let Err(e) = ep.write(chunk, off, n * PAGE, regions[chunk], off as u64) {
                return (ep, Err(e));
            }
            meters2.memory[0].fetch_add((n * PAGE) as u64, Ordering::AcqRel);
            meters2.wire[0].fetch_add((n * PAGE) as u64, Ordering::AcqRel);
            i += n;
        }
        (ep, Ok(()))
    })
    .await
    .map_err(|e| proto(format!("RDMA writer failed: {e}")))?;
    link.ep = Some(ep);
    r.map_err(WireError::Refused)?;
    await_ack(control, pass).await?;
    let bytes = (list.len() * PAGE) as u64;
    Ok((bytes, bytes, started.elapsed().as_secs_f64()))
}

async fn verify(control: &mut TcpStream, mode: u8, digest: u64) -> Result<Verified, WireError> {
    let mut p = vec![mode];
    p.extend_from_slice(&digest.to_le_bytes());
    write_frame(control, Kind::Verify, &p).await?;
    let mut buf = Vec::new();
    let v = tokio::time::timeout(ACK_TIMEOUT, wire::expect(control, &mut buf, Kind::Verified))
        .await
        .map_err(|_| WireError::Timeout("waiting for the destination's check"))?;
    v?;
    Verified::decode(&buf)
}

/// Sends `list` over the live channels; returns (memory bytes, wire bytes, seconds) once the
/// destination acknowledged the pass. Channels that fail are dropped and their unacknowledged
/// pages marked dirty again.
#[allow(clippy::too_many_arguments)]
async fn run_pass(
    pass: u32,
    list: &[u32],
    channels: &mut Vec<Channel>,
    control: &mut TcpStream,
    image: &Arc<Image>,
    sent_digest: &Arc<Vec<AtomicU64>>,
    cfg: &RealConfig,
    meters: &Arc<Meters>,
    report: &mut RealReport,
    t0: Instant,
) -> Result<(u64, u64, f64), WireError> {
    if channels.is_empty() {
        return Err(proto("all channels lost"));
    }
    meters.pass.store(pass, Ordering::Release);
    let started = Instant::now();
    let work = Arc::new(PassWork::new(list, channels.len()));
    let mut memory = 0u64;
    let mut wire_b = 0u64;
    // Each channel sends its own stripe, then helps with the others' until no batch is left, so
    // a fast stream does not wait for a slow one and a lost channel's unclaimed batches are taken
    // by the survivors (what it had claimed is marked dirty again by `lose`).
    let mut tasks = Vec::new();
    for (stripe, mut ch) in channels.drain(..).enumerate() {
        let (work, image, digest, meters) = (
            work.clone(),
            image.clone(),
            sent_digest.clone(),
            meters.clone(),
        );
        let share = Share {
            stripe,
            pass,
            codec: cfg.codec,
            fault: cfg.fault.filter(|f| f.channel == ch.index),
        };
        tasks.push(tokio::task::spawn_blocking(move || {
            let mut tally = (0u64, 0u64);
            let mut sent = Vec::new();
            let r = send_share(
                &mut ch, share, &work, &image, &digest, &meters, &mut sent, &mut tally,
            );
            (ch, sent, tally, r)
        }));
    }
    let mut pool: Vec<(Channel, Vec<u32>)> = Vec::new();
    for t in tasks {
        let (ch, sent, (m, w), r) = t
            .await
            .map_err(|e| proto(format!("a channel task failed: {e}")))?;
        // Bytes a lost channel sent count too: they used the link, even if they are resent.
        memory += m;
        wire_b += w;
        match r {
            Ok(()) => pool.push((ch, sent)),
            Err(e) => {
                lose(image, &sent, ch.index, &e.to_string(), report, t0);
                write_frame(control, Kind::ChannelLost, &ch.index.to_le_bytes()).await?;
            }
        }
    }
    // Batches nobody sent (every channel failed mid-pass) stay dirty.
    while let Some(pages) = work.claim(0) {
        for &p in pages {
            image.mark_dirty(p as usize);
        }
    }
    let mut done: Vec<(Channel, Vec<u32>)> = Vec::new();
    for (mut ch, sent) in pool {
        let mut end = vec![Kind::PassEnd as u8, 4, 0, 0, 0];
        end.extend_from_slice(&pass.to_le_bytes());
        match std::io::Write::write_all(&mut ch.stream, &end) {
            Ok(()) => done.push((ch, sent)),
            Err(e) => {
                lose(image, &sent, ch.index, &e.to_string(), report, t0);
                write_frame(control, Kind::ChannelLost, &ch.index.to_le_bytes()).await?;
            }
        }
    }
    let mask = await_ack(control, pass).await?;
    for (ch, sent) in done {
        if ch.index < 64 && mask & (1 << ch.index) != 0 {
            channels.push(ch);
        } else {
            lose(
                image,
                &sent,
                ch.index,
                "the destination lost it",
                report,
                t0,
            );
        }
    }
    if channels.is_empty() {
        return Err(proto("all channels lost"));
    }
    Ok((memory, wire_b, started.elapsed().as_secs_f64()))
}

fn lose(
    image: &Image,
    sent: &[u32],
    channel: u16,
    why: &str,
    report: &mut RealReport,
    t0: Instant,
) {
    for &p in sent {
        image.mark_dirty(p as usize);
    }
    report.channels_lost.push(ChannelLoss {
        channel,
        t_s: t0.elapsed().as_secs_f64(),
        reason: why.to_string(),
        pages_resent: sent.len() as u64,
    });
}

/// One pass's pages in batches, striped over the channels: channel `k` sends batches `k`,
/// `k + n`, `k + 2n`, …, then helps with the others' stripes, so a slow or lost channel's share
/// is taken over by the rest. Every batch is claimed exactly once.
struct PassWork {
    pages: Vec<u32>,
    /// Next batch number to hand out within each stripe.
    next: Vec<AtomicUsize>,
}

impl PassWork {
    const BATCH: usize = MAX_PAGES_PER_BATCH as usize;

    fn new(list: &[u32], stripes: usize) -> PassWork {
        PassWork {
            pages: list.to_vec(),
            next: (0..stripes.max(1)).map(|_| AtomicUsize::new(0)).collect(),
        }
    }

    /// The next unclaimed batch of stripe `own`, or else of any other stripe.
    fn claim(&self, own: usize) -> Option<&[u32]> {
        let n = self.next.len();
        let batches = self.pages.len().div_ceil(Self::BATCH);
        for k in (0..n).map(|i| (own + i) % n) {
            loop {
                let j = self.next[k].load(Ordering::Acquire);
                let b = k + j * n;
                if b >= batches {
                    break;
                }
                if self.next[k]
                    .compare_exchange(j, j + 1, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    let at = b * Self::BATCH;
                    return Some(&self.pages[at..(at + Self::BATCH).min(self.pages.len())]);
                }
            }
        }
        None
    }
}

/// What one channel sends in a pass.
#[derive(Clone, Copy)]
struct Share {
    stripe: usize,
    pass: u32,
    codec: Codec,
    fault: Option<Fault>,
}

#[allow(clippy::too_many_arguments)]
fn send_share(
    ch: &mut Channel,
    share: Share,
    work: &PassWork,
    image: &Image,
    digest: &[AtomicU64],
    meters: &Meters,
    sent: &mut Vec<u32>,
    tally: &mut (u64, u64),
) -> Result<(), WireError> {
    let batch = MAX_PAGES_PER_BATCH as usize;
    let mut head = Vec::with_capacity(5 + PAGES_HEAD_LEN + 8 * batch);
    let mut frame = Vec::with_capacity(5 + PAGES_HEAD_LEN + 8 * batch + batch * PAGE);
    let mut raw = Vec::with_capacity(batch * PAGE);
    let idx = ch.index as usize;
    let Share {
        stripe,
        pass,
        codec,
        fault,
    } = share;
    while let Some(pages) = work.claim(stripe) {
        // Record before sending: if the channel dies, these pages are resent.
        sent.extend_from_slice(pages);
        if let Some(f) = fault
            && meters.memory[idx].load(Ordering::Acquire) >= f.after_bytes
        {
            let _ = ch.stream.shutdown(std::net::Shutdown::Both);
            return Err(proto("dropped by fault injection"));
        }
        let wire_len = if codec == Codec::None {
            send_plain(&mut ch.stream, &mut head, pass, pages, image, digest)?
        } else {
            build_packed(&mut frame, &mut raw, pass, pages, image, digest, codec);
            std::io::Write::write_all(&mut ch.stream, &frame)?;
            frame.len()
        };
        let m = (pages.len() * PAGE) as u64;
        tally.0 += m;
        tally.1 += wire_len as u64;
        meters.memory[idx].fetch_add(m, Ordering::AcqRel);
        meters.wire[idx].fetch_add(wire_len as u64, Ordering::AcqRel);
    }
    Ok(())
}

fn frame_head(
    head: &mut Vec<u8>,
    pass: u32,
    codec: Codec,
    count: usize,
    raw_len: usize,
    blob_len: usize,
) {
    let len = PAGES_HEAD_LEN + 8 * count + blob_len;
    head.clear();
    head.push(Kind::Pages as u8);
    head.extend_from_slice(&(len as u32).to_le_bytes());
    let mut h = [0u8; PAGES_HEAD_LEN];
    PagesHead {
        pass,
        codec,
        count: count as u32,
        raw_len: raw_len as u32,
    }
    .write(&mut h);
    head.extend_from_slice(&h);
}

/// Sends an uncompressed batch without copying page bytes in user space: the pages' chunks stay
/// read-locked while the kernel copies them from the image (one `writev`).
fn send_plain(
    stream: &mut std::net::TcpStream,
    head: &mut Vec<u8>,
    pass: u32,
    pages: &[u32],
    image: &Image,
    digest: &[AtomicU64],
) -> Result<usize, WireError> {
    use super::image::CHUNK_PAGES;
    // Batches are sorted page lists, so their chunks come in order.
    let mut guards = Vec::new();
    let mut chunk_of = Vec::with_capacity(pages.len());
    for &p in pages {
        let c = p as usize / CHUNK_PAGES;
        if guards.last().is_none_or(|(gc, _)| *gc != c) {
            guards.push((c, image.read_chunk(c)));
        }
        chunk_of.push(guards.len() - 1);
    }
    let mut index = Vec::with_capacity(8 * pages.len());
    let mut data: Vec<(u32, &[u8])> = Vec::with_capacity(pages.len());
    for (&p, &g) in pages.iter().zip(&chunk_of) {
        let off = (p as usize % CHUNK_PAGES) * PAGE;
        let page = &guards[g].1[off..off + PAGE];
        let zero = is_zero(page);
        index.extend_from_slice(&(p as u64 | if zero { ZERO_FLAG } else { 0 }).to_le_bytes());
        if zero {
            digest[p as usize].store(zero_page_digest(), Ordering::Release);
        } else {
            data.push((p, page));
        }
    }
    let blob = data.len() * PAGE;
    frame_head(head, pass, Codec::None, pages.len(), blob, blob);
    head.extend_from_slice(&index);
    // In groups that fit the core's cache: the kernel's copy brings each page in from memory
    // once, and its digest is then taken from the cache. The chunks are read-locked throughout,
    // so the digest is of exactly the bytes sent.
    let mut io: Vec<std::io::IoSlice<'_>> = Vec::with_capacity(DIGEST_GROUP + 1);
    io.push(std::io::IoSlice::new(head));
    for group in data.chunks(DIGEST_GROUP) {
        io.extend(group.iter().map(|(_, s)| std::io::IoSlice::new(s)));
        write_all_vectored(stream, &mut io)?;
        io.clear();
        for &(p, page) in group {
            digest[p as usize].store(page_digest(page), Ordering::Release);
        }
    }
    if !io.is_empty() {
        write_all_vectored(stream, &mut io)?;
    }
    Ok(head.len() + blob)
}

fn write_all_vectored(
    w: &mut std::net::TcpStream,
    mut bufs: &mut [std::io::IoSlice<'_>],
) -> std::io::Result<()> {
    use std::io::Write;
    while !bufs.is_empty() {
        match w.write_vectored(bufs) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => std::io::IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Builds one compressed `Pages` frame (type, length, header, index, blob) into `frame`.
fn build_packed(
    frame: &mut Vec<u8>,
    raw: &mut Vec<u8>,
    pass: u32,
    pages: &[u32],
    image: &Image,
    digest: &[AtomicU64],
    codec: Codec,
) {
    raw.clear();
    let mut index = Vec::with_capacity(8 * pages.len());
    for &p in pages {
        let zero = image.with_page(p as usize, |src| {
            digest[p as usize].store(page_digest(src), Ordering::Release);
            if is_zero(src) {
                true
            } else {
                raw.extend_from_slice(src);
                false
            }
        });
        index.extend_from_slice(&(p as u64 | if zero { ZERO_FLAG } else { 0 }).to_le_bytes());
    }
    let packed = match codec {
        Codec::Lz4 => Some(lz4_flex::block::compress(raw)),
        Codec::Zstd => zstd::bulk::compress(raw, 1).ok(),
        Codec::None => None,
    };
    let (used, blob): (Codec, &[u8]) = match &packed {
        Some(c) if c.len() < raw.len() => (codec, c),
        _ => (Codec::None, raw),
    };
    frame_head(frame, pass, used, pages.len(), raw.len(), blob.len());
    frame.extend_from_slice(&index);
    frame.extend_from_slice(blob);
}

/// Opens a TCP connection with the configured socket options; channel `i` binds to the `i`-th
/// local address of the list (round robin), so channels can be spread over several NICs.
async fn connect(addr: SocketAddr, o: &SocketOptions, i: usize) -> Result<TcpStream, WireError> {
    use socket2::{Domain, Protocol, Socket, Type};
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if let Some(b) = o.send_buffer {
        sock.set_send_buffer_size(b)?;
    }
    if let Some(b) = o.recv_buffer {
        sock.set_recv_buffer_size(b)?;
    }
    sock.set_tcp_nodelay(o.nodelay)?;
    if !o.bind.is_empty() {
        let local = SocketAddr::new(o.bind[i % o.bind.len()], 0);
        sock.bind(&local.into()).map_err(|e| {
            WireError::Io(std::io::Error::new(
                e.kind(),
                format!("binding to {local}: {e}"),
            ))
        })?;
    }
    sock.set_nonblocking(true)?;
    let std: std::net::TcpStream = sock.into();
    let s = tokio::time::timeout(
        wire::HANDSHAKE_TIMEOUT,
        tokio::net::TcpSocket::from_std_stream(std).connect(addr),
    )
    .await
    .map_err(|_| WireError::Timeout("connecting"))?
    .map_err(|e| {
        WireError::Io(std::io::Error::new(
            e.kind(),
            format!("connecting to {addr}: {e}"),
        ))
    })?;
    Ok(s)
}

/// Samples the meters every 100 ms into the report's series (runs on its own thread).
pub(crate) fn sample(
    meters: &Meters,
    channels: usize,
    t0: Instant,
) -> (Vec<Sample>, Vec<(f64, Vec<f64>)>) {
    let mut out = Vec::new();
    let mut cores = CoreSampler::new();
    let mut last_mem = vec![0u64; channels];
    let mut last_wire = 0u64;
    let mut last_cpu = cpu::thread_group_cpu_s(THREAD_PREFIX).0;
    let mut last_t = 0.0;
    let step = Duration::from_millis(100);
    let mut next = t0 + step;
    loop {
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
        next += step;
        let t = t0.elapsed().as_secs_f64();
        let dt = (t - last_t).max(1e-6);
        let mut channel_gbps = Vec::with_capacity(channels);
        for (i, m) in meters.memory.iter().enumerate() {
            let v = m.load(Ordering::Acquire);
            channel_gbps.push((v - last_mem[i]) as f64 * 8.0 / dt / 1e9);
            last_mem[i] = v;
        }
        let wire: u64 = meters.wire.iter().map(|w| w.load(Ordering::Acquire)).sum();
        let cpu_now = cpu::thread_group_cpu_s(THREAD_PREFIX).0;
        out.push(Sample {
            t_s: t,
            pass: meters.pass.load(Ordering::Acquire),
            total_gbps: channel_gbps.iter().sum(),
            wire_gbps: (wire - last_wire) as f64 * 8.0 / dt / 1e9,
            channel_gbps,
            cpu_src_pct: 100.0 * (cpu_now - last_cpu) / dt / cpu::cores() as f64,
        });
        last_wire = wire;
        last_cpu = cpu_now;
        last_t = t;
        cores.tick();
        if meters.done.load(Ordering::Acquire) {
            break;
        }
    }
    (out, cores.samples)
}
