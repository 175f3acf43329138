//! The real transport's wire protocol (version 2), shared by the source and the agent.
//!
//! Every connection starts with the 8-byte magic `LMLABRT2`, then frames of
//! `[type: u8][length: u32 LE][payload]`, payloads little-endian. The handshake (`Hello`,
//! `Reply`, `Confirm`) is in [`crate::secure`]: SPAKE2 and key confirmation on the control
//! connection, a session-bound proof on each data connection; with encryption every later frame
//! is sealed (AES-256-GCM, its head authenticated, a 16-byte tag after the payload). Every length
//! and index read from a peer is checked before it is used: a malformed frame is an error for
//! that connection, never a panic or an unbounded allocation.

pub use crate::secure::{FrameIn, FrameOut};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const MAGIC: &[u8; 8] = b"LMLABRT2";
/// Largest frame a peer may send: a batch of 256 pages plus its index, with room to spare.
pub const MAX_FRAME: u32 = 4 << 20;
pub const MAX_PAGES_PER_BATCH: u32 = 256;
/// Largest frame on a data channel: a full batch (header, index, 256 pages) and a seal's tag.
pub const MAX_BATCH_FRAME: usize = PAGES_HEAD_LEN
    + 8 * MAX_PAGES_PER_BATCH as usize
    + MAX_PAGES_PER_BATCH as usize * super::image::PAGE
    + crate::secure::TAG_LEN;
pub const MAX_CHANNELS: u16 = 64;
/// How long the source waits for any step of a handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Index entry flag: the page is all zeros and has no bytes in the blob.
pub const ZERO_FLAG: u64 = 1 << 63;

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("connection: {0}")]
    Io(std::io::Error),
    #[error("protocol: {0}")]
    Protocol(String),
    #[error("authentication failed: {0}")]
    Auth(String),
    #[error("peer refused: {0}")]
    Refused(String),
    /// What this end refused (the text says so).
    #[error("{0}")]
    Denied(String),
    #[error("timed out {0}")]
    Timeout(&'static str),
}

// By hand rather than `#[from]`: the message already holds the cause, and a `source` would make
// error chains print it twice.
impl From<std::io::Error> for WireError {
    fn from(e: std::io::Error) -> Self {
        WireError::Io(e)
    }
}

pub fn proto(msg: impl Into<String>) -> WireError {
    WireError::Protocol(msg.into())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// Source → agent: a connection's first frame (`secure::Hello`).
    Hello = 1,
    /// Agent → source: its SPAKE2 message (control) or its nonce (data).
    Reply = 2,
    /// Either way: key confirmation (the source's first, the agent's only after checking it).
    Confirm = 3,
    Begin = 4,
    Accept = 5,
    Ready = 6,
    Pages = 7,
    PassEnd = 8,
    ChannelLost = 9,
    PassAck = 10,
    Verify = 11,
    Verified = 12,
    Error = 13,
    /// Destination → source: the RDMA port to connect to (u16).
    RdmaReady = 14,
    /// Destination → source: the registered regions of its image.
    RdmaRegions = 15,
}

impl Kind {
    fn from_u8(b: u8) -> Option<Kind> {
        use Kind::*;
        Some(match b {
            1 => Hello,
            2 => Reply,
            3 => Confirm,
            4 => Begin,
            5 => Accept,
            6 => Ready,
            7 => Pages,
            8 => PassEnd,
            9 => ChannelLost,
            10 => PassAck,
            11 => Verify,
            12 => Verified,
            13 => Error,
            14 => RdmaReady,
            15 => RdmaRegions,
            _ => return None,
        })
    }
}

/// Batch compression.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    #[default]
    None,
    Lz4,
    Zstd,
}

impl Codec {
    pub fn to_u8(self) -> u8 {
        match self {
            Codec::None => 0,
            Codec::Lz4 => 1,
            Codec::Zstd => 2,
        }
    }
    pub fn from_u8(b: u8) -> Option<Codec> {
        match b {
            0 => Some(Codec::None),
            1 => Some(Codec::Lz4),
            2 => Some(Codec::Zstd),
            _ => None,
        }
    }
    pub fn parse(s: &str) -> Option<Codec> {
        match s {
            "none" => Some(Codec::None),
            "lz4" => Some(Codec::Lz4),
            "zstd" => Some(Codec::Zstd),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Codec::None => "none",
            Codec::Lz4 => "lz4",
            Codec::Zstd => "zstd",
        }
    }
}

/// Length of a frame's head: type (u8) and payload length (u32 LE).
pub const FRAME_HEAD_LEN: usize = 5;

/// The head of a frame of `kind` whose payload is `len` bytes.
pub fn frame_head(kind: Kind, len: usize) -> [u8; FRAME_HEAD_LEN] {
    let mut head = [0u8; FRAME_HEAD_LEN];
    head[0] = kind as u8;
    head[1..].copy_from_slice(&(len as u32).to_le_bytes());
    head
}

pub async fn write_frame<W: AsyncWriteExt + Unpin>(
    w: &mut W,
    kind: Kind,
    payload: &[u8],
) -> Result<(), WireError> {
    w.write_all(&frame_head(kind, payload.len())).await?;
    w.write_all(payload).await?;
    Ok(())
}

/// The kind named by a frame's first byte.
pub fn kind_of(b: u8) -> Result<Kind, WireError> {
    Kind::from_u8(b).ok_or_else(|| proto(format!("unknown frame type {b}")))
}

/// The payload length a frame head announces, refused above [`MAX_FRAME`].
pub fn frame_len(head: &[u8; FRAME_HEAD_LEN]) -> Result<usize, WireError> {
    let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]);
    if len > MAX_FRAME {
        return Err(proto(format!(
            "frame of {len} bytes is larger than {MAX_FRAME}"
        )));
    }
    Ok(len as usize)
}

/// Reads one frame into `buf` (reused between calls) and returns its kind.
pub async fn read_frame<R: AsyncReadExt + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
) -> Result<Kind, WireError> {
    let mut head = [0u8; FRAME_HEAD_LEN];
    r.read_exact(&mut head).await?;
    let kind = kind_of(head[0])?;
    let len = frame_len(&head)?;
    buf.resize(len, 0);
    r.read_exact(buf).await?;
    Ok(kind)
}

/// Reads a frame and requires its kind; an `Error` frame from the peer becomes `Refused`.
pub async fn expect<R: AsyncReadExt + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
    want: Kind,
) -> Result<(), WireError> {
    expect_max(r, buf, want, MAX_FRAME as usize).await
}

/// Largest handshake frame (a Hello is at most 51 bytes; an Error text fits too).
pub const MAX_HANDSHAKE_FRAME: usize = 1024;

/// [`expect`] with a smaller bound on the frame's length: before a peer has authenticated,
/// nothing it sends may make us allocate more than this.
pub async fn expect_max<R: AsyncReadExt + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
    want: Kind,
    max: usize,
) -> Result<(), WireError> {
    let mut head = [0u8; FRAME_HEAD_LEN];
    r.read_exact(&mut head).await?;
    let kind = kind_of(head[0])?;
    let len = frame_len(&head)?;
    if len > max {
        return Err(proto(format!(
            "{kind:?} frame of {len} bytes is larger than {max}"
        )));
    }
    buf.resize(len, 0);
    r.read_exact(buf).await?;
    match kind {
        k if k == want => Ok(()),
        Kind::Error => Err(WireError::Refused(error_text(buf))),
        k => Err(proto(format!("expected {want:?}, got {k:?}"))),
    }
}

/// The text of an `Error` frame's payload (its first KiB, lossy UTF-8).
pub fn error_text(payload: &[u8]) -> String {
    String::from_utf8_lossy(&payload[..payload.len().min(1024)]).into_owned()
}

/// A cursor over a payload that refuses to read past its end.
#[derive(Debug)]
pub struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub fn new(b: &'a [u8]) -> Reader<'a> {
        Reader { b, at: 0 }
    }
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| {
                proto(format!(
                    "payload truncated: wanted {n} bytes at offset {}",
                    self.at
                ))
            })?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    pub fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.bytes(1)?[0])
    }
    pub fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.bytes(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    pub fn u32(&mut self) -> Result<u32, WireError> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.bytes(4)?);
        Ok(u32::from_le_bytes(a))
    }
    pub fn u64(&mut self) -> Result<u64, WireError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.bytes(8)?);
        Ok(u64::from_le_bytes(a))
    }
    pub fn f64(&mut self) -> Result<f64, WireError> {
        Ok(f64::from_bits(self.u64()?))
    }
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }
    pub fn rest(&mut self) -> &'a [u8] {
        let s = &self.b[self.at..];
        self.at = self.b.len();
        s
    }
    pub fn done(&self) -> Result<(), WireError> {
        if self.at == self.b.len() {
            Ok(())
        } else {
            Err(proto(format!(
                "{} unexpected bytes at the end of a frame",
                self.b.len() - self.at
            )))
        }
    }
}

// ---- randomness and framing of authenticated connections ---------------------------------

/// 32 fresh random bytes from the OS.
pub fn nonce() -> Result<[u8; 32], WireError> {
    let mut n = [0u8; 32];
    getrandom::fill(&mut n).map_err(|e| WireError::Io(std::io::Error::other(e.to_string())))?;
    Ok(n)
}

/// Sends one frame on an authenticated connection (sealed if it is encrypted).
pub async fn send<W: AsyncWriteExt + Unpin>(
    w: &mut W,
    out: &mut FrameOut,
    kind: Kind,
    payload: &[u8],
) -> Result<(), WireError> {
    let f = out.frame(kind, payload)?;
    w.write_all(&f).await?;
    Ok(())
}

/// Reads one frame of an authenticated connection into `buf` (opened if it is sealed) and
/// returns its kind.
pub async fn recv<R: AsyncReadExt + Unpin>(
    r: &mut R,
    inp: &mut FrameIn,
    buf: &mut Vec<u8>,
) -> Result<Kind, WireError> {
    let mut head = [0u8; FRAME_HEAD_LEN];
    r.read_exact(&mut head).await?;
    let kind = kind_of(head[0])?;
    let len = frame_len(&head)?;
    buf.resize(len, 0);
    r.read_exact(buf).await?;
    inp.open_in_place(&head, buf)?;
    Ok(kind)
}

/// [`recv`] that requires the frame's kind; an `Error` frame from the peer becomes `Refused`.
pub async fn recv_expect<R: AsyncReadExt + Unpin>(
    r: &mut R,
    inp: &mut FrameIn,
    buf: &mut Vec<u8>,
    want: Kind,
) -> Result<(), WireError> {
    match recv(r, inp, buf).await? {
        k if k == want => Ok(()),
        Kind::Error => Err(WireError::Refused(error_text(buf))),
        k => Err(proto(format!("expected {want:?}, got {k:?}"))),
    }
}

// ---- session messages -----------------------------------------------------------------------

/// What the source asks the destination to receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Begin {
    pub memory_bytes: u64,
    /// TCP data channels; 0 with `rdma` (pages then move by RDMA writes).
    pub channels: u16,
    pub rdma: bool,
}

impl Begin {
    pub fn encode(&self) -> Vec<u8> {
        let mut v = self.memory_bytes.to_le_bytes().to_vec();
        v.extend_from_slice(&(super::image::PAGE as u32).to_le_bytes());
        v.extend_from_slice(&self.channels.to_le_bytes());
        v.push(u8::from(self.rdma));
        v
    }
    pub fn decode(b: &[u8]) -> Result<Begin, WireError> {
        let mut r = Reader::new(b);
        let memory_bytes = r.u64()?;
        let page = r.u32()?;
        let channels = r.u16()?;
        let rdma = match r.u8()? {
            0 => false,
            1 => true,
            x => return Err(proto(format!("unknown transport {x}"))),
        };
        r.done()?;
        if page as usize != super::image::PAGE {
            return Err(proto(format!("page size {page} (this agent uses 4096)")));
        }
        if memory_bytes == 0 || !memory_bytes.is_multiple_of(super::image::PAGE as u64) {
            return Err(proto(format!(
                "memory of {memory_bytes} bytes is not a whole number of pages"
            )));
        }
        if (channels == 0 && !rdma) || channels > MAX_CHANNELS {
            return Err(proto(format!("{channels} channels (1 to {MAX_CHANNELS})")));
        }
        Ok(Begin {
            memory_bytes,
            rdma,
            channels,
        })
    }
}

/// The destination's answer to `Begin`: its core count. (Data channels name the session by the
/// id both ends derived in the handshake.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accept {
    pub cores: u16,
}

impl Accept {
    pub fn encode(&self) -> Vec<u8> {
        self.cores.to_le_bytes().to_vec()
    }
    pub fn decode(b: &[u8]) -> Result<Accept, WireError> {
        let mut r = Reader::new(b);
        let cores = r.u16()?;
        r.done()?;
        Ok(Accept { cores })
    }
}

/// Source → destination, on the control connection and on every data channel: all of pass
/// `pass` is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PassEnd {
    pub pass: u32,
}

impl PassEnd {
    pub fn encode(&self) -> [u8; 4] {
        self.pass.to_le_bytes()
    }
    pub fn decode(b: &[u8]) -> Result<PassEnd, WireError> {
        let mut r = Reader::new(b);
        let pass = r.u32()?;
        r.done()?;
        Ok(PassEnd { pass })
    }
    /// The whole frame, head included, for a data channel's blocking socket.
    pub fn frame(&self) -> [u8; FRAME_HEAD_LEN + 4] {
        let mut f = [0u8; FRAME_HEAD_LEN + 4];
        f[..FRAME_HEAD_LEN].copy_from_slice(&frame_head(Kind::PassEnd, 4));
        f[FRAME_HEAD_LEN..].copy_from_slice(&self.encode());
        f
    }
}

/// Destination → source: pass `pass` is applied; `mask` has bit `i` set for each channel `i`
/// whose share the destination received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PassAck {
    pub pass: u32,
    pub mask: u64,
}

impl PassAck {
    pub fn encode(&self) -> Vec<u8> {
        let mut v = self.pass.to_le_bytes().to_vec();
        v.extend_from_slice(&self.mask.to_le_bytes());
        v
    }
    pub fn decode(b: &[u8]) -> Result<PassAck, WireError> {
        let mut r = Reader::new(b);
        let pass = r.u32()?;
        let mask = r.u64()?;
        r.done()?;
        Ok(PassAck { pass, mask })
    }
}

/// Source → destination: the source gave up data channel `channel`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelLost {
    pub channel: u16,
}

impl ChannelLost {
    pub fn encode(&self) -> [u8; 2] {
        self.channel.to_le_bytes()
    }
    pub fn decode(b: &[u8]) -> Result<ChannelLost, WireError> {
        let mut r = Reader::new(b);
        let channel = r.u16()?;
        r.done()?;
        Ok(ChannelLost { channel })
    }
}

/// Destination → source: the RDMA port to connect to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RdmaReady {
    pub port: u16,
}

impl RdmaReady {
    pub fn encode(&self) -> [u8; 2] {
        self.port.to_le_bytes()
    }
    pub fn decode(b: &[u8]) -> Result<RdmaReady, WireError> {
        let mut r = Reader::new(b);
        let port = r.u16()?;
        r.done()?;
        Ok(RdmaReady { port })
    }
}

/// A registered remote region of the destination's image (RDMA): where the source may write.
/// The `RdmaRegions` payload is a table of them (`encode_all`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RdmaRegion {
    pub addr: u64,
    pub len: u64,
    pub rkey: u32,
}

impl RdmaRegion {
    pub fn encode_all(regions: &[RdmaRegion]) -> Vec<u8> {
        let mut v = (regions.len() as u32).to_le_bytes().to_vec();
        for r in regions {
            v.extend_from_slice(&r.addr.to_le_bytes());
            v.extend_from_slice(&r.len.to_le_bytes());
            v.extend_from_slice(&r.rkey.to_le_bytes());
        }
        v
    }
    pub fn decode_all(b: &[u8]) -> Result<Vec<RdmaRegion>, WireError> {
        let mut r = Reader::new(b);
        let n = r.u32()? as usize;
        if n > 1 << 24 {
            return Err(proto(format!("{n} RDMA regions")));
        }
        let mut out = Vec::with_capacity(n.min(b.len() / 20));
        for _ in 0..n {
            out.push(RdmaRegion {
                addr: r.u64()?,
                len: r.u64()?,
                rkey: r.u32()?,
            });
        }
        r.done()?;
        Ok(out)
    }
}

/// What a `Verify` asks the destination to check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum VerifyMode {
    /// Compare the page-digest tables (ends the pause).
    PageDigests = 0,
    /// Scan the whole image and report its digest (the source scans its own meanwhile).
    FullScan = 1,
    /// The source's full-image digest: the outcome.
    Outcome = 2,
}

impl VerifyMode {
    pub fn to_u8(self) -> u8 {
        self as u8
    }
    pub fn from_u8(b: u8) -> Result<VerifyMode, WireError> {
        match b {
            0 => Ok(VerifyMode::PageDigests),
            1 => Ok(VerifyMode::FullScan),
            2 => Ok(VerifyMode::Outcome),
            m => Err(proto(format!("unknown verify mode {m}"))),
        }
    }
}

/// Source → destination: check `mode`, against the source's `digest` (0 for a full scan).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verify {
    pub mode: VerifyMode,
    pub digest: u64,
}

impl Verify {
    pub fn encode(&self) -> [u8; 9] {
        let mut v = [0u8; 9];
        v[0] = self.mode.to_u8();
        v[1..].copy_from_slice(&self.digest.to_le_bytes());
        v
    }
    pub fn decode(b: &[u8]) -> Result<Verify, WireError> {
        let mut r = Reader::new(b);
        let mode = VerifyMode::from_u8(r.u8()?)?;
        let digest = r.u64()?;
        r.done()?;
        Ok(Verify { mode, digest })
    }
}

/// One entry of a `Pages` frame's index: the page number, with [`ZERO_FLAG`] for a zero page.
pub fn index_entry(page: u32, zero: bool) -> [u8; 8] {
    (page as u64 | if zero { ZERO_FLAG } else { 0 }).to_le_bytes()
}

/// An index entry's page number (not yet checked against the image) and whether it is a zero
/// page.
pub fn parse_index_entry(entry: [u8; 8]) -> (u64, bool) {
    let v = u64::from_le_bytes(entry);
    (v & !ZERO_FLAG, v & ZERO_FLAG != 0)
}

/// Header of a `Pages` frame, followed by `count` u64 index entries and the blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PagesHead {
    pub pass: u32,
    pub codec: Codec,
    pub count: u32,
    /// Uncompressed length of the blob: 4096 × non-zero pages.
    pub raw_len: u32,
}

pub const PAGES_HEAD_LEN: usize = 13;

impl PagesHead {
    pub fn write(&self, out: &mut [u8]) {
        out[0..4].copy_from_slice(&self.pass.to_le_bytes());
        out[4] = self.codec.to_u8();
        out[5..9].copy_from_slice(&self.count.to_le_bytes());
        out[9..13].copy_from_slice(&self.raw_len.to_le_bytes());
    }
    /// Starts a `Pages` frame in `out` (cleared first): frame head and this header; the
    /// `count` index entries and the blob of `blob_len` bytes are to follow.
    pub fn start_frame(&self, out: &mut Vec<u8>, blob_len: usize) {
        let len = PAGES_HEAD_LEN + 8 * self.count as usize + blob_len;
        out.clear();
        out.extend_from_slice(&frame_head(Kind::Pages, len));
        let mut h = [0u8; PAGES_HEAD_LEN];
        self.write(&mut h);
        out.extend_from_slice(&h);
    }
    pub fn read(r: &mut Reader<'_>) -> Result<PagesHead, WireError> {
        let pass = r.u32()?;
        let c = r.u8()?;
        let codec = Codec::from_u8(c).ok_or_else(|| proto(format!("unknown codec {c}")))?;
        let count = r.u32()?;
        let raw_len = r.u32()?;
        if count == 0 || count > MAX_PAGES_PER_BATCH {
            return Err(proto(format!(
                "batch of {count} pages (1 to {MAX_PAGES_PER_BATCH})"
            )));
        }
        if raw_len as usize > count as usize * super::image::PAGE
            || !(raw_len as usize).is_multiple_of(super::image::PAGE)
        {
            return Err(proto(format!(
                "batch blob of {raw_len} bytes for {count} pages"
            )));
        }
        Ok(PagesHead {
            pass,
            codec,
            count,
            raw_len,
        })
    }
}

/// The destination's answer to `Verify`.
#[derive(Clone, Debug, PartialEq)]
pub struct Verified {
    pub ok: bool,
    pub digest: u64,
    /// Destination's migration threads: CPU seconds and wall seconds since `Begin`.
    pub cpu_s: f64,
    pub wall_s: f64,
    pub cores: u16,
    /// Mean busy percentage of each core of the destination machine during the migration.
    pub per_core_pct: Vec<f64>,
}

impl Verified {
    pub fn encode(&self) -> Vec<u8> {
        let mut v = vec![u8::from(self.ok)];
        v.extend_from_slice(&self.digest.to_le_bytes());
        v.extend_from_slice(&self.cpu_s.to_bits().to_le_bytes());
        v.extend_from_slice(&self.wall_s.to_bits().to_le_bytes());
        v.extend_from_slice(&self.cores.to_le_bytes());
        v.extend_from_slice(&(self.per_core_pct.len() as u16).to_le_bytes());
        for p in &self.per_core_pct {
            v.extend_from_slice(&p.to_bits().to_le_bytes());
        }
        v
    }
    pub fn decode(b: &[u8]) -> Result<Verified, WireError> {
        let mut r = Reader::new(b);
        let ok = r.u8()? == 1;
        let digest = r.u64()?;
        let cpu_s = r.f64()?;
        let wall_s = r.f64()?;
        let cores = r.u16()?;
        let n = r.u16()?;
        let mut per_core_pct = Vec::with_capacity(n.min(1024) as usize);
        for _ in 0..n {
            per_core_pct.push(r.f64()?);
        }
        r.done()?;
        Ok(Verified {
            ok,
            digest,
            cpu_s,
            wall_s,
            cores,
            per_core_pct,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn session_messages_keep_their_version_2_layout() {
        assert_eq!(
            PassEnd { pass: 0x0403_0201 }.frame(),
            [Kind::PassEnd as u8, 4, 0, 0, 0, 1, 2, 3, 4]
        );
        let ack = PassAck { pass: 7, mask: 5 };
        assert_eq!(ack.encode(), [7, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(PassAck::decode(&ack.encode()).unwrap(), ack);
        assert_eq!(ChannelLost { channel: 3 }.encode(), [3, 0]);
        assert_eq!(RdmaReady::decode(&[0x34, 0x12]).unwrap().port, 0x1234);
        let a = Accept { cores: 8 };
        assert_eq!(a.encode(), [8, 0]);
        assert_eq!(Accept::decode(&a.encode()).unwrap(), a);
        let v = Verify {
            mode: VerifyMode::Outcome,
            digest: 1,
        };
        assert_eq!(v.encode(), [2, 1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Verify::decode(&v.encode()).unwrap(), v);
        assert_eq!(index_entry(5, true), (5 | ZERO_FLAG).to_le_bytes());
        assert_eq!(parse_index_entry(index_entry(5, false)), (5, false));
        let mut f = Vec::new();
        PagesHead {
            pass: 1,
            codec: Codec::Lz4,
            count: 2,
            raw_len: 4096,
        }
        .start_frame(&mut f, 100);
        assert_eq!(f.len(), FRAME_HEAD_LEN + PAGES_HEAD_LEN);
        assert_eq!(
            frame_len(&f[..5].try_into().unwrap()).unwrap(),
            13 + 16 + 100
        );
        assert_eq!(f[0], Kind::Pages as u8);
    }

    #[test]
    fn unknown_verify_modes_and_truncated_messages_are_protocol_errors() {
        let e = Verify::decode(&[3, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap_err();
        assert!(
            matches!(e, WireError::Protocol(ref m) if m == "unknown verify mode 3"),
            "{e}"
        );
        assert!(matches!(
            Verify::decode(&[0, 1]),
            Err(WireError::Protocol(_))
        ));
        assert!(matches!(
            PassEnd::decode(&[1, 0, 0, 0, 0]),
            Err(WireError::Protocol(_))
        ));
    }

    #[test]
    fn region_tables_round_trip_and_refuse_truncation() {
        let r = vec![
            RdmaRegion {
                addr: 1 << 40,
                len: 1 << 20,
                rkey: 7,
            },
            RdmaRegion {
                addr: 5,
                len: 4096,
                rkey: u32::MAX,
            },
        ];
        let b = RdmaRegion::encode_all(&r);
        assert_eq!(RdmaRegion::decode_all(&b).ok(), Some(r));
        assert!(RdmaRegion::decode_all(&b[..b.len() - 1]).is_err());
    }
}
