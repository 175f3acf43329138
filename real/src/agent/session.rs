//! The control session of one migration: accepts it (and sets up RDMA), then serves the source's
//! control frames — pass ends, lost channels, verification — and acknowledges each pass once
//! every live data channel has ended it.

use super::{DataEvent, IDLE_LIMIT, Migration, THREAD_PREFIX, WRITE_LIMIT};
use crate::RdmaError;
use crate::cpu::{self, CoreSampler};
use crate::wire::{
    self, Accept, ChannelLost, FrameIn, FrameOut, Kind, PassAck, PassEnd, Verified, Verify,
    VerifyMode, WireError, proto, recv, send,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

/// A control frame as the reader task passes it on.
type Frame = Result<(Kind, Vec<u8>), WireError>;

/// Drives one migration on its control connection. Returns whether the final check passed.
pub(super) async fn run(
    migration: &Arc<Migration>,
    s: TcpStream,
    out: FrameOut,
    inp: FrameIn,
    events: mpsc::UnboundedReceiver<DataEvent>,
) -> Result<bool, WireError> {
    ControlSession::start(migration, s, out, inp, events)
        .await?
        .serve()
        .await
}

/// A write to a peer that must not take longer than [`WRITE_LIMIT`].
async fn timed(w: impl Future<Output = Result<(), WireError>>) -> Result<(), WireError> {
    tokio::time::timeout(WRITE_LIMIT, w)
        .await
        .map_err(|_| WireError::Timeout("writing to the source (it stopped reading)"))?
}

/// Which data channels joined, which are alive and which ended which pass: decides when the
/// pass the source waits for can be acknowledged.
#[derive(Debug, Default)]
struct Passes {
    joined: u64,
    alive: u64,
    /// Per pass, the channels that ended it.
    ended: BTreeMap<u32, u64>,
    /// The pass the source waits to have acknowledged.
    waiting: Option<u32>,
}

impl Passes {
    fn joined(&mut self, ch: u16) {
        self.joined |= 1 << ch;
        self.alive |= 1 << ch;
    }

    fn lost(&mut self, ch: u16) {
        if ch < 64 {
            self.alive &= !(1 << ch);
        }
    }

    fn ended(&mut self, ch: u16, pass: u32) -> Result<(), WireError> {
        *self.ended.entry(pass).or_default() |= 1 << ch;
        if self.ended.len() > 8 {
            return Err(proto(
                "data channels ended more than 8 passes nobody asked about",
            ));
        }
        Ok(())
    }

    /// The acknowledgement of the pass the source waits for, once all `channels` have joined
    /// and every live one has ended it.
    fn ready(&self, channels: u16) -> Option<PassAck> {
        let pass = self.waiting?;
        let mask = self.ended.get(&pass).copied().unwrap_or(0);
        let all_in = self.joined.count_ones() == u32::from(channels);
        (all_in && mask & self.alive == self.alive).then_some(PassAck {
            pass,
            mask: mask & self.alive,
        })
    }

    fn acknowledged(&mut self, pass: u32) {
        self.ended.retain(|&p, _| p > pass);
        self.waiting = None;
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(all(feature = "rdma", target_os = "linux"))]
type RdmaHold = crate::rdma::Endpoint;
#[cfg(not(all(feature = "rdma", target_os = "linux")))]
type RdmaHold = ();

/// The state of one migration's control session.
struct ControlSession {
    migration: Arc<Migration>,
    wr: OwnedWriteHalf,
    out: FrameOut,
    /// The control connection's frames, read by their own task: a read cut short by `select!`
    /// would lose bytes.
    frames: mpsc::Receiver<Frame>,
    _reader: AbortOnDrop,
    events: mpsc::UnboundedReceiver<DataEvent>,
    passes: Passes,
    /// This machine's per-core load during the migration.
    cores: CoreSampler,
    /// This side's CPU seconds and the clock when the session started.
    cpu0: f64,
    t0: Instant,
    /// CPU and wall seconds when the pause ended: the migration's cost (the full scan after it
    /// is verification, counted separately by its time).
    cpu_at_pause_end: Option<(f64, f64)>,
    /// This image's full digest, once scanned.
    full_digest: Option<u64>,
    /// The final outcome, once the source sent its full digest: the session then ends.
    full_ok: Option<bool>,
    /// With RDMA the source writes pages straight into the image; the endpoint is kept until
    /// the end.
    _rdma: Option<RdmaHold>,
}

impl ControlSession {
    /// Accepts the migration (and sets up RDMA) on `s`, then starts reading its frames.
    async fn start(
        migration: &Arc<Migration>,
        mut s: TcpStream,
        mut out: FrameOut,
        inp: FrameIn,
        events: mpsc::UnboundedReceiver<DataEvent>,
    ) -> Result<ControlSession, WireError> {
        let cpu0 = cpu::thread_group_cpu_s(THREAD_PREFIX).0;
        let t0 = Instant::now();
        let cores = CoreSampler::new();
        let accept = Accept {
            cores: cpu::cores() as u16,
        };
        send(&mut s, &mut out, Kind::Accept, &accept.encode()).await?;
        let rdma = if migration.rdma {
            Some(rdma_setup(migration, &mut s, &mut out).await?)
        } else {
            None
        };
        let (rd, wr) = s.into_split();
        let (frames, reader) = spawn_reader(rd, inp);
        Ok(ControlSession {
            migration: migration.clone(),
            wr,
            out,
            frames,
            _reader: reader,
            events,
            passes: Passes::default(),
            cores,
            cpu0,
            t0,
            cpu_at_pause_end: None,
            full_digest: None,
            full_ok: None,
            _rdma: rdma,
        })
    }

    /// Serves control frames, data channels' events and the idle check until the outcome.
    async fn serve(mut self) -> Result<bool, WireError> {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        self.migration.touch();
        loop {
            tokio::select! {
                frame = self.frames.recv() => {
                    self.migration.touch();
                    let (kind, buf) = match frame {
                        Some(f) => f?,
                        None => return Err(proto("control reader ended")),
                    };
                    self.on_frame(kind, &buf).await?;
                }
                ev = self.events.recv() => self.on_event(ev)?,
                _ = tick.tick() => self.on_tick()?,
            }
            if let Some(done) = self.full_ok {
                return Ok(done);
            }
            self.acknowledge().await?;
        }
    }

    async fn on_frame(&mut self, kind: Kind, buf: &[u8]) -> Result<(), WireError> {
        match kind {
            Kind::ChannelLost => self.passes.lost(ChannelLost::decode(buf)?.channel),
            // The source waits for this pass to be acknowledged.
            Kind::PassEnd => self.passes.waiting = Some(PassEnd::decode(buf)?.pass),
            Kind::Verify => self.verify(Verify::decode(buf)?).await?,
            Kind::Error => return Err(WireError::Refused(wire::error_text(buf))),
            k => {
                return Err(proto(format!("unexpected {k:?} on the control connection")));
            }
        }
        Ok(())
    }

    /// Checks what the source asks and answers with our digest, our CPU and our cores' load.
    async fn verify(&mut self, v: Verify) -> Result<(), WireError> {
        let mine = match v.mode {
            VerifyMode::PageDigests => self.migration.image.table_digest(),
            VerifyMode::FullScan => {
                let m = self.migration.clone();
                let d = tokio::task::spawn_blocking(move || m.image.image.checksum())
                    .await
                    .map_err(|e| proto(format!("checksum thread failed: {e}")))?;
                self.full_digest = Some(d);
                d
            }
            VerifyMode::Outcome => self
                .full_digest
                .ok_or_else(|| proto("outcome before the full scan"))?,
        };
        let ok = mine == v.digest;
        self.cores.tick();
        // The migration's cost ends with the pause (page digests); the full scan after it is
        // verification. (RDMA runs skip the page digests: their pause ends with the full scan.)
        if v.mode == VerifyMode::PageDigests
            || (v.mode == VerifyMode::FullScan && self.cpu_at_pause_end.is_none())
        {
            self.cpu_at_pause_end = Some((
                cpu::thread_group_cpu_s(THREAD_PREFIX).0 - self.cpu0,
                self.t0.elapsed().as_secs_f64(),
            ));
        }
        let (cpu_s, wall_s) = self.cpu_at_pause_end.unwrap_or_default();
        let answer = Verified {
            ok,
            digest: mine,
            cpu_s,
            wall_s,
            cores: cpu::cores() as u16,
            per_core_pct: self.cores.mean_per_core(),
        };
        timed(send(
            &mut self.wr,
            &mut self.out,
            Kind::Verified,
            &answer.encode(),
        ))
        .await?;
        if v.mode == VerifyMode::Outcome {
            self.full_ok = Some(ok);
        }
        Ok(())
    }

    fn on_event(&mut self, ev: Option<DataEvent>) -> Result<(), WireError> {
        match ev {
            Some(DataEvent::Joined(ch)) => self.passes.joined(ch),
            Some(DataEvent::PassEnd(ch, pass)) => self.passes.ended(ch, pass)?,
            Some(DataEvent::Lost(ch)) => self.passes.lost(ch),
            // The migration holds the sender while this session runs.
            None => {}
        }
        Ok(())
    }

    fn on_tick(&mut self) -> Result<(), WireError> {
        self.cores.tick();
        if self.migration.idle_ms() > IDLE_LIMIT.as_millis() as u64 {
            return Err(WireError::Timeout("no data for 60 s"));
        }
        Ok(())
    }

    /// Acknowledges the pass the source waits for once every live channel has ended it.
    async fn acknowledge(&mut self) -> Result<(), WireError> {
        if let Some(ack) = self.passes.ready(self.migration.channels) {
            timed(send(
                &mut self.wr,
                &mut self.out,
                Kind::PassAck,
                &ack.encode(),
            ))
            .await?;
            self.passes.acknowledged(ack.pass);
        }
        Ok(())
    }
}

/// Reads the control connection's frames on their own task, until the first error.
fn spawn_reader(mut rd: OwnedReadHalf, mut inp: FrameIn) -> (mpsc::Receiver<Frame>, AbortOnDrop) {
    let (tx, frames) = mpsc::channel::<Frame>(4);
    let task = tokio::spawn(async move {
        let mut b = Vec::new();
        loop {
            let r = recv(&mut rd, &mut inp, &mut b)
                .await
                .map(|k| (k, std::mem::take(&mut b)));
            let stop = r.is_err();
            if tx.send(r).await.is_err() || stop {
                break;
            }
        }
    });
    (frames, AbortOnDrop(task))
}

/// An RDMA failure as the source is told it.
fn rdma_refused(e: RdmaError) -> WireError {
    WireError::Refused(e.to_string())
}

/// Listens for the source's RDMA connection, registers the image's chunks for remote write and
/// sends their keys.
async fn rdma_setup(
    migration: &Arc<Migration>,
    s: &mut TcpStream,
    out: &mut FrameOut,
) -> Result<RdmaHold, WireError> {
    #[cfg(all(feature = "rdma", target_os = "linux"))]
    {
        use crate::rdma::Listener;
        let (listener, port) = Listener::bind(0).map_err(rdma_refused)?;
        send(s, out, Kind::RdmaReady, &wire::RdmaReady { port }.encode()).await?;
        let regions = migration.image.image.chunk_regions();
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
            .map_err(rdma_refused)?;
        send(
            s,
            out,
            Kind::RdmaRegions,
            &wire::RdmaRegion::encode_all(&keys),
        )
        .await?;
        Ok(ep)
    }
    #[cfg(not(all(feature = "rdma", target_os = "linux")))]
    {
        // Unused without RDMA support, which the listener refuses before a session starts.
        let _ = (migration, s, out);
        super::rdma_possible().map_err(rdma_refused)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_pass_is_acknowledged_once_every_live_channel_ended_it() {
        let mut p = Passes::default();
        p.joined(0);
        p.waiting = Some(1);
        // Channel 1 has not joined yet.
        p.ended(0, 1).unwrap();
        assert_eq!(p.ready(2), None);
        p.joined(1);
        assert_eq!(p.ready(2), None);
        // A lost channel is not waited for, and is left out of the mask.
        p.lost(1);
        assert_eq!(p.ready(2), Some(PassAck { pass: 1, mask: 1 }));
        p.acknowledged(1);
        assert_eq!(p.ready(2), None);
        assert!(p.ended.is_empty());
    }

    #[test]
    fn too_many_unasked_pass_ends_are_refused() {
        let mut p = Passes::default();
        p.joined(0);
        for pass in 1..=8 {
            p.ended(0, pass).unwrap();
        }
        assert!(p.ended(0, 9).is_err());
    }
}
