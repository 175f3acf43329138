//! The real transport's wire protocol (version 1), shared by the source and the agent.
//!
//! Every connection starts with the 8-byte magic `LMLABRT1`, then frames of
//! `[type: u8][length: u32 LE][payload]`, payloads little-endian. Authentication is a mutual
//! HMAC-SHA256 challenge–response over fresh 32-byte nonces; the secret never crosses the wire.
//! Every length and index read from a peer is checked before it is used: a malformed frame is an
//! error for that connection, never a panic or an unbounded allocation.

use hmac::{KeyInit, Mac};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const MAGIC: &[u8; 8] = b"LMLABRT1";
/// Largest frame a peer may send: a batch of 256 pages plus its index, with room to spare.
pub const MAX_FRAME: u32 = 4 << 20;
pub const MAX_PAGES_PER_BATCH: u32 = 256;
pub const MAX_CHANNELS: u16 = 64;
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
    Hello = 1,
    Challenge = 2,
    Auth = 3,
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
            2 => Challenge,
            3 => Auth,
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

pub async fn write_frame<W: AsyncWriteExt + Unpin>(
    w: &mut W,
    kind: Kind,
    payload: &[u8],
) -> Result<(), WireError> {
    let mut head = [0u8; 5];
    head[0] = kind as u8;
    head[1..].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    w.write_all(&head).await?;
    w.write_all(payload).await?;
    Ok(())
}

/// The kind named by a frame's first byte.
pub fn kind_of(b: u8) -> Result<Kind, WireError> {
    Kind::from_u8(b).ok_or_else(|| proto(format!("unknown frame type {b}")))
}

/// The payload length a frame head announces, refused above [`MAX_FRAME`].
pub fn frame_len(head: &[u8; 5]) -> Result<usize, WireError> {
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
    let mut head = [0u8; 5];
    r.read_exact(&mut head).await?;
    let kind =
        Kind::from_u8(head[0]).ok_or_else(|| proto(format!("unknown frame type {}", head[0])))?;
    let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]);
    if len > MAX_FRAME {
        return Err(proto(format!(
            "frame of {len} bytes is larger than {MAX_FRAME}"
        )));
    }
    buf.resize(len as usize, 0);
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

/// Largest handshake frame (Auth: proof, role, token, channel; an Error text fits too).
pub const MAX_HANDSHAKE_FRAME: usize = 1024;

/// [`expect`] with a smaller bound on the frame's length: before a peer has authenticated,
/// nothing it sends may make us allocate more than this.
pub async fn expect_max<R: AsyncReadExt + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
    want: Kind,
    max: usize,
) -> Result<(), WireError> {
    let mut head = [0u8; 5];
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
        Kind::Error => Err(WireError::Refused(
            String::from_utf8_lossy(&buf[..buf.len().min(1024)]).into_owned(),
        )),
        k => Err(proto(format!("expected {want:?}, got {k:?}"))),
    }
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

// ---- authentication -------------------------------------------------------------------------

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

pub fn nonce() -> Result<[u8; 32], WireError> {
    let mut n = [0u8; 32];
    getrandom::fill(&mut n).map_err(|e| WireError::Io(std::io::Error::other(e.to_string())))?;
    Ok(n)
}

fn mac(secret: &[u8], label: &[u8], a: &[u8; 32], b: &[u8; 32]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m =
        <HmacSha256 as KeyInit>::new_from_slice(secret).unwrap_or_else(|_| unreachable_hmac());
    m.update(label);
    m.update(a);
    m.update(b);
    m
}

#[cold]
fn unreachable_hmac() -> HmacSha256 {
    // new_from_slice only fails for fixed-size keys; HMAC has none. Keep a defined value anyway.
    <HmacSha256 as KeyInit>::new(&Default::default())
}

pub fn proof(secret: &[u8], label: &[u8], a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let out = mac(secret, label, a, b).finalize().into_bytes();
    let mut p = [0u8; 32];
    p.copy_from_slice(&out);
    p
}

/// Constant-time check of a peer's proof.
pub fn check_proof(secret: &[u8], label: &[u8], a: &[u8; 32], b: &[u8; 32], got: &[u8]) -> bool {
    mac(secret, label, a, b).verify_slice(got).is_ok()
}

/// A peer's role on a connection, declared in its `Auth` frame and covered by its proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Control,
    Data { token: [u8; 16], channel: u16 },
}

impl Role {
    fn encode(self) -> Vec<u8> {
        match self {
            Role::Control => vec![0],
            Role::Data { token, channel } => {
                let mut v = vec![1];
                v.extend_from_slice(&token);
                v.extend_from_slice(&channel.to_le_bytes());
                v
            }
        }
    }
    fn decode(b: &[u8]) -> Result<Role, WireError> {
        let mut r = Reader::new(b);
        let role = match r.u8()? {
            0 => Role::Control,
            1 => Role::Data {
                token: r.array()?,
                channel: r.u16()?,
            },
            x => return Err(proto(format!("unknown role {x}"))),
        };
        r.done()?;
        Ok(role)
    }
}

/// The client's proof: HMAC over both nonces and the role it asks for, so the role cannot be
/// changed on the way.
fn role_proof(secret: &[u8], sn: &[u8; 32], cn: &[u8; 32], role: &[u8]) -> [u8; 32] {
    let mut m = mac(secret, b"lmlab client", sn, cn);
    m.update(role);
    let mut p = [0u8; 32];
    p.copy_from_slice(&m.finalize().into_bytes());
    p
}

/// Client side of the handshake: magic, Hello, verify the agent's proof, send ours and the role.
pub async fn client_handshake<S: AsyncReadExt + AsyncWriteExt + Unpin>(
    s: &mut S,
    secret: &[u8],
    role: Role,
) -> Result<(), WireError> {
    let run = async {
        let mut buf = Vec::new();
        s.write_all(MAGIC).await?;
        let cn = nonce()?;
        write_frame(s, Kind::Hello, &cn).await?;
        expect_max(s, &mut buf, Kind::Challenge, MAX_HANDSHAKE_FRAME).await?;
        let mut r = Reader::new(&buf);
        let sn: [u8; 32] = r.array()?;
        let agent_proof: [u8; 32] = r.array()?;
        r.done()?;
        if !check_proof(secret, b"lmlab agent", &cn, &sn, &agent_proof) {
            return Err(WireError::Auth(
                "the agent does not know our secret (wrong secret or not an lmlab agent)".into(),
            ));
        }
        let role_bytes = role.encode();
        let mut p = role_proof(secret, &sn, &cn, &role_bytes).to_vec();
        p.extend_from_slice(&role_bytes);
        write_frame(s, Kind::Auth, &p).await?;
        Ok(())
    };
    tokio::time::timeout(HANDSHAKE_TIMEOUT, run)
        .await
        .map_err(|_| WireError::Timeout("during the handshake"))?
}

/// Agent side of the handshake; returns the role the authenticated peer asked for.
pub async fn server_handshake<S: AsyncReadExt + AsyncWriteExt + Unpin>(
    s: &mut S,
    secret: &[u8],
) -> Result<Role, WireError> {
    let run = async {
        let mut magic = [0u8; 8];
        s.read_exact(&mut magic).await?;
        if &magic != MAGIC {
            return Err(proto(format!(
                "not an lmlab peer (first bytes {:?})",
                String::from_utf8_lossy(&magic)
            )));
        }
        let mut buf = Vec::new();
        expect_max(s, &mut buf, Kind::Hello, MAX_HANDSHAKE_FRAME).await?;
        let mut r = Reader::new(&buf);
        let cn: [u8; 32] = r.array()?;
        r.done()?;
        let sn = nonce()?;
        let mut ch = sn.to_vec();
        ch.extend_from_slice(&proof(secret, b"lmlab agent", &cn, &sn));
        write_frame(s, Kind::Challenge, &ch).await?;
        match expect_max(s, &mut buf, Kind::Auth, MAX_HANDSHAKE_FRAME).await {
            Err(WireError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(WireError::Auth(
                    "the peer left after our challenge (it does not share our secret)".into(),
                ));
            }
            r => r?,
        }
        let mut r = Reader::new(&buf);
        let got = r.bytes(32)?;
        let role_bytes = r.rest();
        let mut m = mac(secret, b"lmlab client", &sn, &cn);
        m.update(role_bytes);
        if m.verify_slice(got).is_err() {
            let _ = write_frame(s, Kind::Error, b"authentication failed").await;
            return Err(WireError::Auth("wrong secret".into()));
        }
        Role::decode(role_bytes)
    };
    tokio::time::timeout(HANDSHAKE_TIMEOUT, run)
        .await
        .map_err(|_| WireError::Timeout("during the handshake"))?
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
