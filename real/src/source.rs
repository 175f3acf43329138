//! The source side: pre-copy of a real image over N authenticated TCP channels.
//!
//! Pass 1 sends every page; each later pass sends the pages the guest dirtied during the one
//! before; after each pass the stop rule of `lmlab_engine::precopy` (the same function the simulated
//! engine uses) decides between another pass and the switch-over, from the pass's *measured*
//! rate. A pass's pages are cut into batches striped over the channels (equal shares, as SMB
//! Multichannel spreads its connections); the share of a channel lost mid-pass is taken over by
//! the others. A pass ends when the destination acknowledges it; pages a lost channel sent in an
//! unacknowledged pass are marked dirty again and go in the next pass over the channels left.
//! The switch-over stops the guest, sends the remainder, and the pause ends when the destination
//! has checked its page digests against ours. A full scan of both images then decides `verified`.
//!
//! `Link` opens the connections; a `Sender` holds what every pass shares (connections, image,
//! digests of what was sent, meters, the report) and runs the passes — one path, `Sender::pass`,
//! for TCP channels and RDMA — the switch-over and the checks. Each channel's part of a pass is a
//! `Share`, sent on a blocking thread.

use super::cpu::{self, CoreSampler};
use super::image::{
    DIGEST_GROUP, Digest, Image, PAGE, Writer, is_zero, page_digest, zero_page_digest,
};
use super::wire::{
    self, Accept, Begin, ChannelLost, Codec, FRAME_HEAD_LEN, FrameIn, FrameOut, Kind,
    MAX_PAGES_PER_BATCH, PAGES_HEAD_LEN, PagesHead, PassAck, PassEnd, Verified, Verify, VerifyMode,
    WireError, index_entry, proto,
};
use super::{
    ChannelLoss, Fault, RdmaError, RealConfig, RealError, RealReport, Sample, SocketOptions, Step,
};
use crate::secure::{self, Session};
use lmlab_engine::precopy::{self, Next};
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
    /// Seals what the channel sends when the session is encrypted.
    out: FrameOut,
}

/// The authenticated control connection and its framing.
struct Control {
    s: TcpStream,
    out: FrameOut,
    inp: FrameIn,
}

impl Control {
    async fn send(&mut self, kind: Kind, payload: &[u8]) -> Result<(), WireError> {
        wire::send(&mut self.s, &mut self.out, kind, payload).await
    }

    /// The payload of the next frame, which must be of kind `want`.
    async fn expect(&mut self, want: Kind) -> Result<Vec<u8>, WireError> {
        let mut buf = Vec::new();
        wire::recv_expect(&mut self.s, &mut self.inp, &mut buf, want).await?;
        Ok(buf)
    }
}

/// Runs one migration to the agent at `addrs` (channel `i` to the `i`-th, round robin). Never
/// panics on peer behaviour; failures after the connection is up are reported in the returned
/// report (`verified: false`, `error`).
pub(crate) async fn migrate(
    cfg: &RealConfig,
    addrs: &[SocketAddr],
    secret: &[u8],
    image: Arc<Image>,
    meters: Arc<Meters>,
    progress: &(dyn Fn(Step<'_>) + Sync),
) -> Result<RealReport, WireError> {
    let addr = *addrs
        .first()
        .ok_or_else(|| proto("no destination address"))?;
    let names: Vec<String> = addrs.iter().map(ToString::to_string).collect();
    let mut report = RealReport::new(cfg, names.join(","));
    let link = Link::connect(cfg, addrs, secret, &image).await?;
    report.cores_dst = link.cores_dst as usize;
    let text = if cfg.rdma {
        format!("connected: RDMA to {addr}")
    } else {
        format!("connected: {} channel(s) to {addr}", cfg.channels)
    };
    progress(Step {
        pass: 0,
        text: &text,
    });
    Ok(Sender::new(cfg, link, image, meters, report)
        .run(progress)
        .await)
}

/// The connections of one migration: control, and the TCP data channels or the RDMA link.
struct Link {
    control: Control,
    channels: Vec<Channel>,
    rdma: Option<RdmaLink>,
    /// Cores of the destination machine (from its `Accept`).
    cores_dst: u16,
}

impl Link {
    /// Connects and authenticates the control connection, asks the agent to begin, then opens
    /// the data channels (or the RDMA link).
    async fn connect(
        cfg: &RealConfig,
        addrs: &[SocketAddr],
        secret: &[u8],
        image: &Arc<Image>,
    ) -> Result<Link, WireError> {
        let addr = *addrs
            .first()
            .ok_or_else(|| proto("no destination address"))?;
        let mut s = connect(addr, &cfg.socket, 0).await?;
        let (session, out, inp) = secure::source_control(&mut s, secret, cfg.encrypt).await?;
        let mut control = Control { s, out, inp };
        let begin = Begin {
            memory_bytes: image.bytes(),
            channels: if cfg.rdma { 0 } else { cfg.channels },
            rdma: cfg.rdma,
        };
        control.send(Kind::Begin, &begin.encode()).await?;
        // The agent commits the whole image before it accepts: allow for that.
        let commit_time = SETUP_TIMEOUT + Duration::from_secs(image.bytes() >> 30);
        let buf = tokio::time::timeout(commit_time, control.expect(Kind::Accept))
            .await
            .map_err(|_| WireError::Timeout("waiting for the agent to accept"))??;
        let accept = Accept::decode(&buf)?;
        let rdma = if cfg.rdma {
            Some(RdmaLink::connect(&mut control, addr, image).await?)
        } else {
            None
        };
        let mut channels = Vec::new();
        for i in 0..begin.channels {
            let to = addrs[i as usize % addrs.len()];
            channels.push(open_channel(to, cfg, &session, i).await?);
        }
        Ok(Link {
            control,
            channels,
            rdma,
            cores_dst: accept.cores,
        })
    }
}

/// Opens data channel `i` to `addr` for the migration of `session`, waits until the
/// destination is ready for it, and switches it to a blocking socket.
async fn open_channel(
    addr: SocketAddr,
    cfg: &RealConfig,
    session: &Session,
    i: u16,
) -> Result<Channel, WireError> {
    let mut s = connect(addr, &cfg.socket, i as usize).await?;
    let (out, mut inp) = secure::source_data(&mut s, session, i).await?;
    let mut buf = Vec::new();
    tokio::time::timeout(
        SETUP_TIMEOUT,
        wire::recv_expect(&mut s, &mut inp, &mut buf, Kind::Ready),
    )
    .await
    .map_err(|_| WireError::Timeout("waiting for a channel to be ready"))??;
    let stream = s.into_std()?;
    stream.set_nonblocking(false)?;
    // A destination that stops reading fails the channel instead of hanging the run.
    stream.set_write_timeout(Some(ACK_TIMEOUT))?;
    Ok(Channel {
        index: i,
        stream,
        out,
    })
}

/// What one pass moved.
#[derive(Clone, Copy, Debug)]
struct Moved {
    /// Guest memory, bytes (also what lost channels sent: it used the link).
    memory: u64,
    /// Bytes on the wire.
    wire: u64,
    secs: f64,
}

/// A channel with the pages it sent in the pass not yet acknowledged: if the channel is lost,
/// they are marked dirty again.
struct Sent {
    ch: Channel,
    pages: Vec<u32>,
}

/// One migration's sender once connected: everything its passes share, and the pass loop,
/// switch-over and checks as methods.
struct Sender<'a> {
    cfg: &'a RealConfig,
    control: Control,
    /// The live data channels (none with RDMA).
    channels: Vec<Channel>,
    rdma: Option<RdmaLink>,
    image: Arc<Image>,
    /// Each page's digest as last sent: the table the destination's must match.
    sent_digest: Arc<Vec<AtomicU64>>,
    meters: Arc<Meters>,
    report: RealReport,
    /// The source's CPU seconds and the clock when the pre-copy started.
    cpu0: f64,
    t0: Instant,
}

impl<'a> Sender<'a> {
    fn new(
        cfg: &'a RealConfig,
        link: Link,
        image: Arc<Image>,
        meters: Arc<Meters>,
        report: RealReport,
    ) -> Sender<'a> {
        let cpu0 = cpu::thread_group_cpu_s(THREAD_PREFIX).0;
        let t0 = Instant::now();
        let sent_digest = Arc::new((0..image.pages()).map(|_| AtomicU64::new(0)).collect());
        Sender {
            cfg,
            control: link.control,
            channels: link.channels,
            rdma: link.rdma,
            image,
            sent_digest,
            meters,
            report,
            cpu0,
            t0,
        }
    }

    /// Runs the migration to its end; a failure is recorded in the report.
    async fn run(mut self, progress: &(dyn Fn(Step<'_>) + Sync)) -> RealReport {
        let outcome = self.transfer(progress).await;
        self.meters.done.store(true, Ordering::Release);
        if let Err(e) = outcome {
            self.report.verified = false;
            self.report.error = Some(e.to_string());
            self.report.total_s = self.t0.elapsed().as_secs_f64();
        }
        self.close().await;
        self.report.finish();
        self.report
    }

    /// Pre-copy with the guest running, then the switch-over and both checks.
    async fn transfer(&mut self, progress: &(dyn Fn(Step<'_>) + Sync)) -> Result<(), RealError> {
        let cfg = self.cfg;
        // Dropped on any early return, which stops the guest.
        let mut writer = Writer::start(
            self.image.clone(),
            cfg.dirty_rate_bytes_per_s,
            (cfg.working_set_bytes / PAGE as u64) as usize,
            cfg.seed,
        )?;
        self.image.clear_dirty();
        let last = self.precopy(progress).await?;
        // --- switch-over: stop the guest, send the rest, check digests ----------------------
        writer.stop()?;
        let paused = Instant::now();
        self.report.pages_dirtied = writer.pages_written();
        self.switch_over(last).await?;
        self.check_page_digests(paused).await?;
        self.check_full_image(paused).await?;
        Ok(())
    }

    /// Pre-copy passes until the stop rule calls the switch-over; returns the last pass's
    /// number.
    async fn precopy(&mut self, progress: &(dyn Fn(Step<'_>) + Sync)) -> Result<u32, WireError> {
        let settings = self.cfg.settings();
        let mut list: Vec<u32> = (0..self.image.pages() as u32).collect();
        let mut pass: u32 = 1;
        loop {
            let moved = self.pass(pass, &list).await?;
            self.report.bytes_per_pass.push(moved.memory);
            self.report.wire_bytes_per_pass.push(moved.wire);
            self.report.passes = pass;
            let rate = if moved.secs > 0.0 {
                moved.memory as f64 / moved.secs
            } else {
                f64::INFINITY
            };
            let dirty = (self.image.dirty_count() * PAGE) as f64;
            let text = format!(
                "pass {pass}: {} MiB in {:.2} s ({:.2} Gbit/s); {:.1} MiB dirty",
                moved.memory >> 20,
                moved.secs,
                rate * 8.0 / 1e9,
                dirty / 1048576.0
            );
            progress(Step { pass, text: &text });
            match precopy::after_pass(pass, dirty, rate, &settings) {
                Next::Pass(_) => {
                    list = self.image.take_dirty();
                    pass += 1;
                }
                Next::SwitchOver(_) => return Ok(pass),
            }
        }
    }

    /// With the guest stopped, sends what it dirtied after pass `last`, until nothing is left.
    async fn switch_over(&mut self, last: u32) -> Result<(), WireError> {
        let mut pass = last;
        loop {
            pass += 1;
            let list = self.image.take_dirty();
            let moved = self.pass(pass, &list).await?;
            self.report.switchover_bytes += moved.memory;
            self.report.wire_bytes_per_pass.push(moved.wire);
            // A channel lost in the final pass leaves pages dirty again: send them too.
            if self.image.dirty_count() == 0 {
                return Ok(());
            }
        }
    }

    /// Ends the pause: the destination's page-digest table must match what was sent. RDMA
    /// writes bypass the destination's page digests: its pause ends with the full check.
    async fn check_page_digests(&mut self, paused: Instant) -> Result<(), WireError> {
        let ok = if self.cfg.rdma {
            true
        } else {
            let mut table = Digest::new();
            for d in self.sent_digest.iter() {
                table.push(d.load(Ordering::Acquire));
            }
            self.verify(VerifyMode::PageDigests, table.finish())
                .await?
                .ok
        };
        self.report.downtime_ms = paused.elapsed().as_secs_f64() * 1e3;
        if !ok {
            return Err(proto(
                "the destination's page digests differ from the source's",
            ));
        }
        Ok(())
    }

    /// Full scan on both ends: the only thing that makes a migration count as done. Both ends
    /// scan at once; then the source tells the destination the outcome.
    async fn check_full_image(&mut self, paused: Instant) -> Result<(), WireError> {
        let total = self.t0.elapsed().as_secs_f64();
        self.report.total_s = total;
        let cpu_src = cpu::thread_group_cpu_s(THREAD_PREFIX).0 - self.cpu0;
        let scan = Instant::now();
        let img = self.image.clone();
        let mine = tokio::task::spawn_blocking(move || img.checksum());
        let theirs = self.verify(VerifyMode::FullScan, 0).await?;
        let mine = mine
            .await
            .map_err(|e| proto(format!("checksum thread failed: {e}")))?;
        let outcome = self.verify(VerifyMode::Outcome, mine).await?;
        self.report.verify_full_ms = scan.elapsed().as_secs_f64() * 1e3;
        if self.cfg.rdma {
            self.report.downtime_ms = paused.elapsed().as_secs_f64() * 1e3;
            self.report.total_s = self.t0.elapsed().as_secs_f64();
        }
        self.report.verified = theirs.digest == mine && outcome.ok;
        if !self.report.verified {
            return Err(proto("full-image checksums differ"));
        }
        self.report.set_cpu(cpu_src, total, &outcome);
        Ok(())
    }

    /// One pass of `list`, by RDMA when the run has an RDMA link, else over the TCP channels;
    /// returns what it moved once the destination acknowledged it.
    async fn pass(&mut self, pass: u32, list: &[u32]) -> Result<Moved, WireError> {
        match self.rdma.as_mut() {
            None => self.tcp_pass(pass, list).await,
            Some(link) => {
                self.meters.pass.store(pass, Ordering::Release);
                let started = Instant::now();
                link.write(list, &self.image, &self.meters).await?;
                self.await_ack(pass).await?;
                let bytes = (list.len() * PAGE) as u64;
                Ok(Moved {
                    memory: bytes,
                    wire: bytes,
                    secs: started.elapsed().as_secs_f64(),
                })
            }
        }
    }

    /// One pass over the live TCP channels. Channels that fail are dropped and their
    /// unacknowledged pages marked dirty again.
    async fn tcp_pass(&mut self, pass: u32, list: &[u32]) -> Result<Moved, WireError> {
        if self.channels.is_empty() {
            return Err(proto("all channels lost"));
        }
        self.meters.pass.store(pass, Ordering::Release);
        let started = Instant::now();
        let work = Arc::new(PassWork::new(list, self.channels.len()));
        let (sent, memory, wire) = self.send_shares(pass, &work).await?;
        // Batches nobody sent (every channel failed mid-pass) stay dirty.
        while let Some(pages) = work.claim(0) {
            for &p in pages {
                self.image.mark_dirty(p as usize);
            }
        }
        let ended = self.end_pass_on_channels(pass, sent).await?;
        let mask = self.await_ack(pass).await?;
        self.keep_acknowledged(ended, mask);
        if self.channels.is_empty() {
            return Err(proto("all channels lost"));
        }
        Ok(Moved {
            memory,
            wire,
            secs: started.elapsed().as_secs_f64(),
        })
    }

    /// Each channel sends its own stripe of `work`, then helps with the others' until no batch
    /// is left, so a fast stream does not wait for a slow one and a lost channel's unclaimed
    /// batches are taken by the survivors (what it had claimed is marked dirty again). Returns
    /// the channels that sent their share, and the memory and wire bytes of all of them.
    async fn send_shares(
        &mut self,
        pass: u32,
        work: &Arc<PassWork>,
    ) -> Result<(Vec<Sent>, u64, u64), WireError> {
        let tasks: Vec<_> = self
            .channels
            .drain(..)
            .enumerate()
            .map(|(stripe, ch)| {
                let share = Share {
                    stripe,
                    pass,
                    codec: self.cfg.codec,
                    fault: self.cfg.fault.filter(|f| f.channel == ch.index),
                    work: work.clone(),
                    image: self.image.clone(),
                    digest: self.sent_digest.clone(),
                    meters: self.meters.clone(),
                };
                tokio::task::spawn_blocking(move || share.send(ch))
            })
            .collect();
        let (mut sent, mut memory, mut wire) = (Vec::new(), 0u64, 0u64);
        for t in tasks {
            let done = t
                .await
                .map_err(|e| proto(format!("a channel task failed: {e}")))?;
            // Bytes a lost channel sent count too: they used the link, even if they are resent.
            memory += done.memory;
            wire += done.wire;
            match done.result {
                Ok(()) => sent.push(done.sent),
                Err(e) => self.channel_failed(done.sent, &e.to_string()).await?,
            }
        }
        Ok((sent, memory, wire))
    }

    /// Ends the pass on every channel that sent its share: `PassEnd` after its last batch.
    async fn end_pass_on_channels(
        &mut self,
        pass: u32,
        sent: Vec<Sent>,
    ) -> Result<Vec<Sent>, WireError> {
        let mut ended = Vec::new();
        for mut s in sent {
            let mut end = PassEnd { pass }.frame().to_vec();
            let sent =
                s.ch.out
                    .seal_in_place(&mut end)
                    .and_then(|()| Ok(std::io::Write::write_all(&mut s.ch.stream, &end)?));
            match sent {
                Ok(()) => ended.push(s),
                Err(e) => self.channel_failed(s, &e.to_string()).await?,
            }
        }
        Ok(ended)
    }

    /// Keeps the channels whose share the destination applied (bit set in `mask`); the others'
    /// pages go again.
    fn keep_acknowledged(&mut self, ended: Vec<Sent>, mask: u64) {
        for s in ended {
            if s.ch.index < 64 && mask & (1 << s.ch.index) != 0 {
                self.channels.push(s.ch);
            } else {
                self.lose(&s.pages, s.ch.index, "the destination lost it");
            }
        }
    }

    /// A channel failed in this pass: its pages go again, the destination is told not to wait
    /// for it, and its socket is closed.
    async fn channel_failed(&mut self, s: Sent, why: &str) -> Result<(), WireError> {
        self.lose(&s.pages, s.ch.index, why);
        let lost = ChannelLost {
            channel: s.ch.index,
        };
        self.control.send(Kind::ChannelLost, &lost.encode()).await
    }

    /// Marks the pages a lost channel sent dirty again and records the loss.
    fn lose(&mut self, pages: &[u32], channel: u16, why: &str) {
        for &p in pages {
            self.image.mark_dirty(p as usize);
        }
        self.report.channels_lost.push(ChannelLoss {
            channel,
            t_s: self.t0.elapsed().as_secs_f64(),
            reason: why.to_string(),
            pages_resent: pages.len() as u64,
        });
    }

    /// Tells the destination pass `pass` is sent and waits for its acknowledgement; returns the
    /// mask of channels whose share the destination has applied.
    async fn await_ack(&mut self, pass: u32) -> Result<u64, WireError> {
        let end = PassEnd { pass };
        self.control.send(Kind::PassEnd, &end.encode()).await?;
        let buf = tokio::time::timeout(ACK_TIMEOUT, self.control.expect(Kind::PassAck))
            .await
            .map_err(|_| WireError::Timeout("waiting for the pass acknowledgement"))??;
        let ack = PassAck::decode(&buf)?;
        if ack.pass != pass {
            return Err(proto(format!(
                "acknowledgement for pass {}, expected {pass}",
                ack.pass
            )));
        }
        Ok(ack.mask)
    }

    /// Asks the destination for the check `mode` against our `digest`.
    async fn verify(&mut self, mode: VerifyMode, digest: u64) -> Result<Verified, WireError> {
        let v = Verify { mode, digest };
        self.control.send(Kind::Verify, &v.encode()).await?;
        let buf = tokio::time::timeout(ACK_TIMEOUT, self.control.expect(Kind::Verified))
            .await
            .map_err(|_| WireError::Timeout("waiting for the destination's check"))??;
        Verified::decode(&buf)
    }

    /// Closes every connection. Failures are ignored: the outcome is already recorded, and a
    /// broken socket has nothing left to close.
    async fn close(&mut self) {
        let _ = self.control.s.shutdown().await;
        for c in &self.channels {
            let _ = c.stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// The RDMA connection to the destination and its image's regions (one per chunk).
#[cfg(all(feature = "rdma", target_os = "linux"))]
struct RdmaLink {
    /// Taken while a pass writes on a blocking thread.
    ep: Option<super::rdma::Endpoint>,
    regions: Vec<wire::RdmaRegion>,
}

/// Without the `rdma` feature there is never an RDMA link.
#[cfg(not(all(feature = "rdma", target_os = "linux")))]
enum RdmaLink {}

/// An RDMA failure as the run reports it.
fn rdma_failed(e: RdmaError) -> WireError {
    WireError::Refused(e.to_string())
}

#[cfg(all(feature = "rdma", target_os = "linux"))]
impl RdmaLink {
    /// Connects to the RDMA port the destination announced and receives its image's regions.
    async fn connect(
        control: &mut Control,
        addr: SocketAddr,
        image: &Arc<Image>,
    ) -> Result<RdmaLink, WireError> {
        let buf = control.expect(Kind::RdmaReady).await?;
        let port = wire::RdmaReady::decode(&buf)?.port;
        let local = image.chunk_regions();
        let host = addr.ip().to_string();
        let ep = tokio::task::spawn_blocking(move || {
            let l: Vec<(*mut u8, usize)> = local.iter().map(|&(a, n)| (a as *mut u8, n)).collect();
            super::rdma::Endpoint::connect(&host, port, &l)
        })
        .await
        .map_err(|e| proto(format!("RDMA connect failed: {e}")))?
        .map_err(rdma_failed)?;
        let buf = control.expect(Kind::RdmaRegions).await?;
        let regions = wire::RdmaRegion::decode_all(&buf)?;
        if regions.len() != image.chunk_regions().len() {
            return Err(proto("the destination's image has a different shape"));
        }
        Ok(RdmaLink {
            ep: Some(ep),
            regions,
        })
    }

    /// Writes `list` into the destination's image (on a blocking thread).
    async fn write(
        &mut self,
        list: &[u32],
        image: &Arc<Image>,
        meters: &Arc<Meters>,
    ) -> Result<(), WireError> {
        let mut ep = self.ep.take().ok_or_else(|| proto("RDMA endpoint lost"))?;
        let regions = self.regions.clone();
        let (pages, image, meters) = (list.to_vec(), image.clone(), meters.clone());
        let (ep, r) = tokio::task::spawn_blocking(move || {
            let r = write_runs(&mut ep, &regions, &pages, &image, &meters);
            (ep, r)
        })
        .await
        .map_err(|e| proto(format!("RDMA writer failed: {e}")))?;
        self.ep = Some(ep);
        r.map_err(rdma_failed)
    }
}

/// Each run of consecutive pages of a chunk is one write into the destination's copy of that
/// chunk, made while the chunk is read-locked.
#[cfg(all(feature = "rdma", target_os = "linux"))]
fn write_runs(
    ep: &mut super::rdma::Endpoint,
    regions: &[wire::RdmaRegion],
    pages: &[u32],
    image: &Image,
    meters: &Meters,
) -> Result<(), RdmaError> {
    use super::image::CHUNK_PAGES;
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
        let _guard = image.read_chunk(chunk);
        ep.write(chunk, off, n * PAGE, regions[chunk], off as u64)?;
        meters.memory[0].fetch_add((n * PAGE) as u64, Ordering::AcqRel);
        meters.wire[0].fetch_add((n * PAGE) as u64, Ordering::AcqRel);
        i += n;
    }
    Ok(())
}

#[cfg(not(all(feature = "rdma", target_os = "linux")))]
impl RdmaLink {
    async fn connect(
        _control: &mut Control,
        _addr: SocketAddr,
        _image: &Arc<Image>,
    ) -> Result<RdmaLink, WireError> {
        // `RealConfig::validate` refuses RDMA in such a build before anything connects.
        Err(rdma_failed(RdmaError::NotBuilt))
    }

    async fn write(
        &mut self,
        _list: &[u32],
        _image: &Arc<Image>,
        _meters: &Arc<Meters>,
    ) -> Result<(), WireError> {
        match *self {}
    }
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

/// One channel's part of a pass, with what it sends from; runs on a blocking thread.
struct Share {
    stripe: usize,
    pass: u32,
    codec: Codec,
    /// This channel's injected fault, if any.
    fault: Option<Fault>,
    work: Arc<PassWork>,
    image: Arc<Image>,
    digest: Arc<Vec<AtomicU64>>,
    meters: Arc<Meters>,
}

/// What a channel's share of a pass came to.
struct ShareDone {
    sent: Sent,
    memory: u64,
    wire: u64,
    result: Result<(), WireError>,
}

impl Share {
    fn send(self, ch: Channel) -> ShareDone {
        let mut done = ShareDone {
            sent: Sent {
                ch,
                pages: Vec::new(),
            },
            memory: 0,
            wire: 0,
            result: Ok(()),
        };
        done.result = self.send_batches(&mut done);
        done
    }

    /// Sends batches until none is left, counting them in `done`.
    fn send_batches(&self, done: &mut ShareDone) -> Result<(), WireError> {
        let batch = MAX_PAGES_PER_BATCH as usize;
        let mut head = Vec::with_capacity(FRAME_HEAD_LEN + PAGES_HEAD_LEN + 8 * batch);
        let mut frame = Vec::with_capacity(
            FRAME_HEAD_LEN + PAGES_HEAD_LEN + 8 * batch + batch * PAGE + secure::TAG_LEN,
        );
        let mut raw = Vec::with_capacity(batch * PAGE);
        let ch = &mut done.sent.ch;
        let idx = ch.index as usize;
        while let Some(pages) = self.work.claim(self.stripe) {
            // Record before sending: if the channel dies, these pages are resent.
            done.sent.pages.extend_from_slice(pages);
            if let Some(f) = self.fault
                && self.meters.memory[idx].load(Ordering::Acquire) >= f.after_bytes
            {
                // The fault is the broken link itself: whether shutting it succeeds is moot.
                let _ = ch.stream.shutdown(std::net::Shutdown::Both);
                return Err(proto("dropped by fault injection"));
            }
            // Sealed batches are built in a buffer and encrypted there; plain uncompressed ones
            // go straight from the image.
            let wire_len = if self.codec == Codec::None && !ch.out.is_sealed() {
                self.send_plain(&mut ch.stream, &mut head, pages)?
            } else {
                self.build_packed(&mut frame, &mut raw, pages);
                ch.out.seal_in_place(&mut frame)?;
                std::io::Write::write_all(&mut ch.stream, &frame)?;
                frame.len()
            };
            let m = (pages.len() * PAGE) as u64;
            done.memory += m;
            done.wire += wire_len as u64;
            self.meters.memory[idx].fetch_add(m, Ordering::AcqRel);
            self.meters.wire[idx].fetch_add(wire_len as u64, Ordering::AcqRel);
        }
        Ok(())
    }

    /// Sends an uncompressed batch without copying page bytes in user space: the pages' chunks
    /// stay read-locked while the kernel copies them from the image (one `writev`).
    fn send_plain(
        &self,
        stream: &mut std::net::TcpStream,
        head: &mut Vec<u8>,
        pages: &[u32],
    ) -> Result<usize, WireError> {
        use super::image::CHUNK_PAGES;
        let digest = &self.digest;
        // Batches are sorted page lists, so their chunks come in order.
        let mut guards = Vec::new();
        let mut chunk_of = Vec::with_capacity(pages.len());
        for &p in pages {
            let c = p as usize / CHUNK_PAGES;
            if guards.last().is_none_or(|(gc, _)| *gc != c) {
                guards.push((c, self.image.read_chunk(c)));
            }
            chunk_of.push(guards.len() - 1);
        }
        let mut index = Vec::with_capacity(8 * pages.len());
        let mut data: Vec<(u32, &[u8])> = Vec::with_capacity(pages.len());
        for (&p, &g) in pages.iter().zip(&chunk_of) {
            let off = (p as usize % CHUNK_PAGES) * PAGE;
            let page = &guards[g].1[off..off + PAGE];
            let zero = is_zero(page);
            index.extend_from_slice(&index_entry(p, zero));
            if zero {
                digest[p as usize].store(zero_page_digest(), Ordering::Release);
            } else {
                data.push((p, page));
            }
        }
        let blob = data.len() * PAGE;
        PagesHead {
            pass: self.pass,
            codec: Codec::None,
            count: pages.len() as u32,
            raw_len: blob as u32,
        }
        .start_frame(head, blob);
        head.extend_from_slice(&index);
        // In groups that fit the core's cache: the kernel's copy brings each page in from memory
        // once, and its digest is then taken from the cache. The chunks are read-locked
        // throughout, so the digest is of exactly the bytes sent.
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

    /// Builds one compressed `Pages` frame (type, length, header, index, blob) into `frame`.
    fn build_packed(&self, frame: &mut Vec<u8>, raw: &mut Vec<u8>, pages: &[u32]) {
        raw.clear();
        let mut index = Vec::with_capacity(8 * pages.len());
        for &p in pages {
            let zero = self.image.with_page(p as usize, |src| {
                self.digest[p as usize].store(page_digest(src), Ordering::Release);
                if is_zero(src) {
                    true
                } else {
                    raw.extend_from_slice(src);
                    false
                }
            });
            index.extend_from_slice(&index_entry(p, zero));
        }
        let packed = match self.codec {
            Codec::Lz4 => Some(lz4_flex::block::compress(raw)),
            // A batch zstd fails on goes uncompressed, as one that does not shrink does.
            Codec::Zstd => zstd::bulk::compress(raw, 1).ok(),
            Codec::None => None,
        };
        let (used, blob): (Codec, &[u8]) = match &packed {
            Some(c) if c.len() < raw.len() => (self.codec, c),
            _ => (Codec::None, raw),
        };
        PagesHead {
            pass: self.pass,
            codec: used,
            count: pages.len() as u32,
            raw_len: raw.len() as u32,
        }
        .start_frame(frame, blob.len());
        frame.extend_from_slice(&index);
        frame.extend_from_slice(blob);
    }
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
