//! Authentication and encryption of the real transport (wire version 2), from reviewed parts:
//! SPAKE2 over Ed25519 (RustCrypto `spake2`) turns the shared secret into a session key, HKDF-SHA256
//! (`hkdf`) derives every other key from it, HMAC-SHA256 (`hmac`) confirms keys and authenticates
//! data connections, and AES-256-GCM (`aes-gcm`) seals frames when the source asks for
//! encryption. Nothing here is a primitive of our own.
//!
//! The control connection (the source connects, the agent answers):
//!
//! 1. source → agent: magic, `Hello` {role 0, flags (bit 0: encrypt), SPAKE2 message A};
//! 2. agent → source: `Reply` {SPAKE2 message B};
//! 3. source → agent: `Confirm` {HMAC(source confirmation key, transcript hash)};
//! 4. agent → source, only once it has checked 3: `Confirm` {HMAC(agent confirmation key, …)}.
//!
//! SPAKE2 messages are uniformly random points whoever sends them, so a peer without the secret
//! gets nothing from the agent it could test a guess against offline: the first key-dependent
//! byte the agent sends is its confirmation, and it sends it only to a peer that proved the key
//! first. Each connection is one online guess, no more.
//!
//! A data connection needs no second PAKE: it names the session by its public id and proves it
//! holds the session's data key with an HMAC over both sides' fresh nonces:
//!
//! 1. source → agent: magic, `Hello` {role 1, session id, channel, source nonce};
//! 2. agent → source: `Reply` {agent nonce};
//! 3. source → agent: `Confirm` {HMAC(data key, "data source" ‖ id ‖ channel ‖ nonces)};
//! 4. agent → source, once it has checked 3 and admitted the channel: `Confirm` {HMAC(data key,
//!    "data agent" ‖ …)}.
//!
//! With encryption every frame after the handshake, on every connection, is sealed: its head
//! (type, length) stays readable and is authenticated as associated data, the payload is
//! encrypted, and a 16-byte tag follows. Each direction of each connection has its own key and a
//! frame counter as nonce, so a frame cannot be replayed, reordered, dropped unnoticed or moved
//! to another connection.

use crate::wire::{
    self, FRAME_HEAD_LEN, Kind, MAGIC, MAX_HANDSHAKE_FRAME, Reader, WireError, expect_max, proto,
    write_frame,
};
use aes_gcm::{AeadInOut, Aes256Gcm, KeyInit};
use hmac::Mac;
use sha2::{Digest, Sha256};
use spake2::{Ed25519Group, Identity, Password, Spake2};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Length of a SPAKE2 message (side byte and an Ed25519 point).
pub const PAKE_MSG_LEN: usize = 33;
/// Length of an AES-GCM tag, added to every sealed frame.
pub const TAG_LEN: usize = 16;
const ID_SOURCE: &[u8] = b"lmlab real source";
const ID_AGENT: &[u8] = b"lmlab agent";
/// What an agent says, in plain text, to a peer whose confirmation is wrong. The same words
/// whatever the secret: a peer without it learns only that its guess was wrong.
pub const AUTH_FAILED: &str = "authentication failed: this agent does not share the secret";

type HmacSha256 = hmac::Hmac<Sha256>;
type Hkdf = hkdf::Hkdf<Sha256>;

/// A connection's first frame, as the source sends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hello {
    Control {
        encrypt: bool,
        pake: [u8; PAKE_MSG_LEN],
    },
    Data {
        session: [u8; 16],
        channel: u16,
        nonce: [u8; 32],
    },
}

impl Hello {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Hello::Control { encrypt, pake } => {
                let mut v = vec![0, u8::from(*encrypt)];
                v.extend_from_slice(pake);
                v
            }
            Hello::Data {
                session,
                channel,
                nonce,
            } => {
                let mut v = vec![1];
                v.extend_from_slice(session);
                v.extend_from_slice(&channel.to_le_bytes());
                v.extend_from_slice(nonce);
                v
            }
        }
    }

    pub fn decode(b: &[u8]) -> Result<Hello, WireError> {
        let mut r = Reader::new(b);
        let hello = match r.u8()? {
            0 => {
                let flags = r.u8()?;
                if flags > 1 {
                    return Err(proto(format!("unknown Hello flags {flags:#x}")));
                }
                Hello::Control {
                    encrypt: flags == 1,
                    pake: r.array()?,
                }
            }
            1 => Hello::Data {
                session: r.array()?,
                channel: r.u16()?,
                nonce: r.array()?,
            },
            x => return Err(proto(format!("unknown role {x}"))),
        };
        r.done()?;
        Ok(hello)
    }
}

/// Which end of a connection this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Source,
    Agent,
}

/// What both ends of an authenticated control connection share: every key of the migration is
/// derived from it. Never printed.
#[derive(Clone)]
pub struct Session {
    hkdf: Hkdf,
    /// Public name of the session, which data connections present.
    pub id: [u8; 16],
    /// The source asked for every connection of the session to be sealed.
    pub encrypt: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("encrypt", &self.encrypt)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Keys from the SPAKE2 key, salted with the transcript hash (so the Hello's flags are bound
    /// to them).
    fn new(pake_key: &[u8], transcript: &[u8; 32], encrypt: bool) -> Result<Session, WireError> {
        let hkdf = Hkdf::new(Some(transcript), pake_key);
        let mut s = Session {
            hkdf,
            id: [0; 16],
            encrypt,
        };
        s.id = s.key(b"session id", &[])?;
        Ok(s)
    }

    /// HKDF-Expand of `label ‖ context`.
    fn key<const N: usize>(&self, label: &[u8], context: &[u8]) -> Result<[u8; N], WireError> {
        let mut out = [0u8; N];
        let mut info = b"lmlab v2 ".to_vec();
        info.extend_from_slice(label);
        info.extend_from_slice(context);
        self.hkdf
            .expand(&info, &mut out)
            .map_err(|_| proto("key derivation failed"))?;
        Ok(out)
    }

    /// The HMAC of `data` under the key derived for `label`.
    fn mac(&self, label: &[u8], data: &[u8]) -> Result<HmacSha256, WireError> {
        let key: [u8; 32] = self.key(label, &[])?;
        let mut m = <HmacSha256 as KeyInit>::new_from_slice(&key)
            .map_err(|_| proto("HMAC key rejected"))?;
        m.update(data);
        Ok(m)
    }

    /// The sealing of one connection's two directions (plain unless the session is encrypted):
    /// what `end` sends and what it receives.
    fn streams(&self, end: End, context: &[u8]) -> Result<(FrameOut, FrameIn), WireError> {
        if !self.encrypt {
            return Ok((FrameOut::plain(), FrameIn::plain()));
        }
        let to_agent: [u8; 32] = self.key(b"seal source to agent", context)?;
        let to_source: [u8; 32] = self.key(b"seal agent to source", context)?;
        let (out, inp) = match end {
            End::Source => (to_agent, to_source),
            End::Agent => (to_source, to_agent),
        };
        Ok((FrameOut::sealed(&out), FrameIn::sealed(&inp)))
    }

    /// The sealing of the control connection for `end`.
    pub fn control_streams(&self, end: End) -> Result<(FrameOut, FrameIn), WireError> {
        self.streams(end, b"control")
    }
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The transcript hash of a control handshake: every byte both sides sent before confirming.
fn control_transcript(hello: &[u8], reply: &[u8]) -> [u8; 32] {
    sha256(&[MAGIC, b"control", hello, reply])
}

fn mac_bytes(m: HmacSha256) -> Vec<u8> {
    m.finalize().into_bytes().to_vec()
}

/// A handshake step that must not take longer than `HANDSHAKE_TIMEOUT` (the agent bounds its
/// side by its own, shorter deadline too).
async fn timed<T>(f: impl Future<Output = Result<T, WireError>>) -> Result<T, WireError> {
    tokio::time::timeout(wire::HANDSHAKE_TIMEOUT, f)
        .await
        .map_err(|_| WireError::Timeout("during the handshake"))?
}

/// The agent's answer after our confirmation: its own, or its `Error` (a refusal), or the
/// connection closing.
async fn read_agent_confirm<S: AsyncReadExt + Unpin>(
    s: &mut S,
    buf: &mut Vec<u8>,
) -> Result<(), WireError> {
    match expect_max(s, buf, Kind::Confirm, MAX_HANDSHAKE_FRAME).await {
        Err(WireError::Refused(m)) if m == AUTH_FAILED => Err(WireError::Auth(
            "the agent did not accept our secret (wrong secret?)".into(),
        )),
        Err(WireError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err(WireError::Auth(
                "the agent closed the connection after our confirmation (wrong secret?)".into(),
            ))
        }
        r => r,
    }
}

/// Source side of the control handshake; returns the session and the control connection's
/// framing.
pub async fn source_control<S: AsyncReadExt + AsyncWriteExt + Unpin>(
    s: &mut S,
    secret: &[u8],
    encrypt: bool,
) -> Result<(Session, FrameOut, FrameIn), WireError> {
    timed(async {
        let (pake, msg_a) = Spake2::<Ed25519Group>::start_a(
            &Password::new(secret),
            &Identity::new(ID_SOURCE),
            &Identity::new(ID_AGENT),
        );
        let hello = Hello::Control {
            encrypt,
            pake: msg_a
                .as_slice()
                .try_into()
                .map_err(|_| proto("SPAKE2 message of an unexpected length"))?,
        }
        .encode();
        s.write_all(MAGIC).await?;
        write_frame(s, Kind::Hello, &hello).await?;
        let mut buf = Vec::new();
        expect_max(s, &mut buf, Kind::Reply, MAX_HANDSHAKE_FRAME).await?;
        let reply = buf.clone();
        let key = pake
            .finish(&reply)
            .map_err(|e| proto(format!("the agent's SPAKE2 message is not valid ({e})")))?;
        let th = control_transcript(&hello, &reply);
        let session = Session::new(&key, &th, encrypt)?;
        write_frame(
            s,
            Kind::Confirm,
            &mac_bytes(session.mac(b"source confirm", &th)?),
        )
        .await?;
        read_agent_confirm(s, &mut buf).await?;
        if session
            .mac(b"agent confirm", &th)?
            .verify_slice(&buf)
            .is_err()
        {
            return Err(WireError::Auth(
                "the agent's key confirmation is wrong (not the agent we share the secret with)"
                    .into(),
            ));
        }
        let (out, inp) = session.control_streams(End::Source)?;
        Ok((session, out, inp))
    })
    .await
}

/// The context that binds a data connection's keys and proofs: session, channel, both nonces.
fn data_context(session: &Session, channel: u16, source: &[u8; 32], agent: &[u8; 32]) -> Vec<u8> {
    let mut c = session.id.to_vec();
    c.extend_from_slice(&channel.to_le_bytes());
    c.extend_from_slice(source);
    c.extend_from_slice(agent);
    c
}

/// Source side of a data connection's handshake for channel `channel` of `session`; returns
/// the connection's framing.
pub async fn source_data<S: AsyncReadExt + AsyncWriteExt + Unpin>(
    s: &mut S,
    session: &Session,
    channel: u16,
) -> Result<(FrameOut, FrameIn), WireError> {
    timed(async {
        let nonce = wire::nonce()?;
        let hello = Hello::Data {
            session: session.id,
            channel,
            nonce,
        };
        s.write_all(MAGIC).await?;
        write_frame(s, Kind::Hello, &hello.encode()).await?;
        let mut buf = Vec::new();
        expect_max(s, &mut buf, Kind::Reply, MAX_HANDSHAKE_FRAME).await?;
        let mut r = Reader::new(&buf);
        let agent_nonce: [u8; 32] = r.array()?;
        r.done()?;
        let ctx = data_context(session, channel, &nonce, &agent_nonce);
        write_frame(
            s,
            Kind::Confirm,
            &mac_bytes(session.mac(b"data source", &ctx)?),
        )
        .await?;
        read_agent_confirm(s, &mut buf).await?;
        if session
            .mac(b"data agent", &ctx)?
            .verify_slice(&buf)
            .is_err()
        {
            return Err(WireError::Auth(
                "the agent's proof on a data connection is wrong".into(),
            ));
        }
        session.streams(End::Source, &ctx)
    })
    .await
}

/// Agent side, first step: the magic and the peer's `Hello`.
pub async fn agent_hello<S: AsyncReadExt + Unpin>(
    s: &mut S,
    progressed: impl FnOnce(),
) -> Result<Hello, WireError> {
    let mut magic = [0u8; 8];
    s.read_exact(&mut magic).await?;
    progressed();
    if &magic != MAGIC {
        let old = magic.starts_with(b"LMLABRT");
        return Err(proto(if old {
            format!(
                "an lmlab of another wire version ({}; this agent speaks {})",
                String::from_utf8_lossy(&magic),
                String::from_utf8_lossy(MAGIC)
            )
        } else {
            format!(
                "not an lmlab peer (first bytes {:?})",
                String::from_utf8_lossy(&magic)
            )
        }));
    }
    let mut buf = Vec::new();
    expect_max(s, &mut buf, Kind::Hello, MAX_HANDSHAKE_FRAME).await?;
    Hello::decode(&buf)
}

/// Reads the peer's `Confirm`; a peer that leaves instead is one that could not make it.
async fn read_confirm<S: AsyncReadExt + Unpin>(
    s: &mut S,
    buf: &mut Vec<u8>,
) -> Result<(), WireError> {
    match expect_max(s, buf, Kind::Confirm, MAX_HANDSHAKE_FRAME).await {
        Err(WireError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(
            WireError::Auth("the peer left before confirming the key".into()),
        ),
        r => r,
    }
}

/// Tells a peer whose confirmation is wrong, in words that do not depend on the secret, and
/// returns the error to log (`why`).
async fn refuse_auth<S: AsyncWriteExt + Unpin>(s: &mut S, why: &str) -> WireError {
    // Best effort: a guessing peer may not wait to read it.
    let _ = write_frame(s, Kind::Error, AUTH_FAILED.as_bytes()).await;
    WireError::Auth(why.into())
}

/// Agent side of a control connection after its `Hello`: answers the SPAKE2 message, checks the
/// source's confirmation, and only then confirms. Returns the session and the connection's
/// framing.
///
/// `gate` is awaited between reading the source's confirmation and checking it: the agent
/// spaces out the checks of an address that keeps guessing wrong.
pub async fn agent_control<S: AsyncReadExt + AsyncWriteExt + Unpin>(
    s: &mut S,
    secret: &[u8],
    hello: &Hello,
    gate: impl Future<Output = ()>,
) -> Result<(Session, FrameOut, FrameIn), WireError> {
    let Hello::Control { encrypt, pake } = *hello else {
        return Err(proto("not a control Hello"));
    };
    let (state, msg_b) = Spake2::<Ed25519Group>::start_b(
        &Password::new(secret),
        &Identity::new(ID_SOURCE),
        &Identity::new(ID_AGENT),
    );
    let key = match state.finish(&pake) {
        Ok(k) => k,
        Err(e) => {
            let msg = format!("the peer's SPAKE2 message is not valid ({e})");
            let _ = write_frame(s, Kind::Error, msg.as_bytes()).await;
            return Err(proto(msg));
        }
    };
    write_frame(s, Kind::Reply, &msg_b).await?;
    let th = control_transcript(&hello.encode(), &msg_b);
    let session = Session::new(&key, &th, encrypt)?;
    let mut buf = Vec::new();
    read_confirm(s, &mut buf).await?;
    gate.await;
    if session
        .mac(b"source confirm", &th)?
        .verify_slice(&buf)
        .is_err()
    {
        return Err(refuse_auth(
            s,
            "wrong secret (the peer's key confirmation does not match)",
        )
        .await);
    }
    write_frame(
        s,
        Kind::Confirm,
        &mac_bytes(session.mac(b"agent confirm", &th)?),
    )
    .await?;
    let (out, inp) = session.control_streams(End::Agent)?;
    Ok((session, out, inp))
}

/// A data connection whose source proved it holds the session's data key; the agent confirms
/// (`confirm`) once it has admitted the channel.
#[derive(Debug)]
pub struct ProvenData {
    context: Vec<u8>,
    pub channel: u16,
}

/// Agent side of a data connection after its `Hello`, for the session it names: sends a fresh
/// nonce and checks the source's proof.
pub async fn agent_data<S: AsyncReadExt + AsyncWriteExt + Unpin>(
    s: &mut S,
    session: &Session,
    channel: u16,
    source_nonce: &[u8; 32],
) -> Result<ProvenData, WireError> {
    let nonce = wire::nonce()?;
    write_frame(s, Kind::Reply, &nonce).await?;
    let context = data_context(session, channel, source_nonce, &nonce);
    let mut buf = Vec::new();
    read_confirm(s, &mut buf).await?;
    if session
        .mac(b"data source", &context)?
        .verify_slice(&buf)
        .is_err()
    {
        return Err(refuse_auth(
            s,
            "a data connection without the session's key (its proof does not match)",
        )
        .await);
    }
    Ok(ProvenData { context, channel })
}

impl ProvenData {
    /// Confirms to the source and returns the data connection's framing.
    pub async fn confirm<S: AsyncWriteExt + Unpin>(
        self,
        s: &mut S,
        session: &Session,
    ) -> Result<(FrameOut, FrameIn), WireError> {
        write_frame(
            s,
            Kind::Confirm,
            &mac_bytes(session.mac(b"data agent", &self.context)?),
        )
        .await?;
        session.streams(End::Agent, &self.context)
    }
}

// ---- sealed frames --------------------------------------------------------------------------

/// The nonce of frame number `n` of a direction.
fn nonce_of(n: u64) -> aes_gcm::Nonce<aes_gcm::aead::consts::U12> {
    let mut b = [0u8; 12];
    b[..8].copy_from_slice(&n.to_le_bytes());
    b.into()
}

/// One direction's AES-256-GCM key and frame counter.
struct Keyed {
    aead: Aes256Gcm,
    counter: u64,
}

impl Keyed {
    fn new(key: &[u8; 32]) -> Keyed {
        Keyed {
            aead: Aes256Gcm::new(key.into()),
            counter: 0,
        }
    }

    fn next(&mut self) -> Result<u64, WireError> {
        let n = self.counter;
        self.counter = n
            .checked_add(1)
            .ok_or_else(|| proto("frame counter exhausted"))?;
        Ok(n)
    }
}

/// What one end sends on a connection: frames as they are, or sealed.
pub struct FrameOut(Option<Keyed>);

/// What one end receives on a connection: frames as they are, or sealed.
pub struct FrameIn(Option<Keyed>);

impl std::fmt::Debug for FrameOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FrameOut {{ sealed: {} }}", self.0.is_some())
    }
}

impl std::fmt::Debug for FrameIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FrameIn {{ sealed: {} }}", self.0.is_some())
    }
}

impl FrameOut {
    pub fn plain() -> FrameOut {
        FrameOut(None)
    }

    fn sealed(key: &[u8; 32]) -> FrameOut {
        FrameOut(Some(Keyed::new(key)))
    }

    pub fn is_sealed(&self) -> bool {
        self.0.is_some()
    }

    /// Seals, in place, a frame built in `frame`: its head (type, plaintext length) then its
    /// payload. Afterwards the head counts the tag, the payload is encrypted and the tag
    /// follows. Does nothing on a plain connection.
    pub fn seal_in_place(&mut self, frame: &mut Vec<u8>) -> Result<(), WireError> {
        let Some(k) = self.0.as_mut() else {
            return Ok(());
        };
        if frame.len() < FRAME_HEAD_LEN {
            return Err(proto("frame shorter than its head"));
        }
        let sealed_len = frame.len() - FRAME_HEAD_LEN + TAG_LEN;
        let sealed_len = u32::try_from(sealed_len).map_err(|_| proto("frame too long to seal"))?;
        frame[1..FRAME_HEAD_LEN].copy_from_slice(&sealed_len.to_le_bytes());
        let n = k.next()?;
        let (head, body) = frame.split_at_mut(FRAME_HEAD_LEN);
        let tag = k
            .aead
            .encrypt_inout_detached(&nonce_of(n), head, body.into())
            .map_err(|_| proto("encryption failed"))?;
        frame.extend_from_slice(&tag);
        Ok(())
    }

    /// The whole frame of `kind` with `payload`, sealed if this direction is.
    pub fn frame(&mut self, kind: Kind, payload: &[u8]) -> Result<Vec<u8>, WireError> {
        let mut f = Vec::with_capacity(FRAME_HEAD_LEN + payload.len() + TAG_LEN);
        f.extend_from_slice(&wire::frame_head(kind, payload.len()));
        f.extend_from_slice(payload);
        self.seal_in_place(&mut f)?;
        Ok(f)
    }
}

impl FrameIn {
    pub fn plain() -> FrameIn {
        FrameIn(None)
    }

    fn sealed(key: &[u8; 32]) -> FrameIn {
        FrameIn(Some(Keyed::new(key)))
    }

    pub fn is_sealed(&self) -> bool {
        self.0.is_some()
    }

    /// Opens, in place, the payload `buf` of the frame whose head is `head`; afterwards `buf`
    /// holds the plaintext. Does nothing on a plain connection.
    pub fn open_in_place(
        &mut self,
        head: &[u8; FRAME_HEAD_LEN],
        buf: &mut Vec<u8>,
    ) -> Result<(), WireError> {
        let Some(k) = self.0.as_mut() else {
            return Ok(());
        };
        let Some(plain_len) = buf.len().checked_sub(TAG_LEN) else {
            return Err(proto(format!("sealed frame of {} bytes", buf.len())));
        };
        let n = k.next()?;
        let (body, tag) = buf.split_at_mut(plain_len);
        let tag = aes_gcm::Tag::<aes_gcm::aead::consts::U16>::try_from(&*tag)
            .map_err(|_| proto("tag of the wrong length"))?;
        k.aead
            .decrypt_inout_detached(&nonce_of(n), head, body.into(), &tag)
            .map_err(|_| {
                WireError::Auth(
                    "a sealed frame failed its integrity check (altered on the way)".into(),
                )
            })?;
        buf.truncate(plain_len);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    type Handshake = Result<(Session, FrameOut, FrameIn), WireError>;

    /// Runs the control handshake between a source with `a` and an agent with `b`.
    fn control(a: &'static [u8], b: &'static [u8], encrypt: bool) -> (Handshake, Handshake) {
        rt().block_on(async {
            let (mut c, mut s) = tokio::io::duplex(4096);
            let agent = tokio::spawn(async move {
                let hello = agent_hello(&mut s, || {}).await?;
                agent_control(&mut s, b, &hello, async {}).await
            });
            let src = source_control(&mut c, a, encrypt).await;
            (src, agent.await.unwrap())
        })
    }

    #[test]
    fn both_ends_with_the_same_secret_share_a_session_and_its_sealed_frames() {
        let (src, agent) = control(b"correct horse", b"correct horse", true);
        let (s1, mut out, _) = src.unwrap();
        let (s2, _, mut inp) = agent.unwrap();
        assert_eq!(s1.id, s2.id);
        assert!(s1.encrypt && s2.encrypt);
        let f = out.frame(Kind::Begin, b"hello pages").unwrap();
        assert_eq!(f.len(), FRAME_HEAD_LEN + 11 + TAG_LEN);
        let head: [u8; 5] = f[..5].try_into().unwrap();
        let mut body = f[5..].to_vec();
        inp.open_in_place(&head, &mut body).unwrap();
        assert_eq!(body, b"hello pages");
        // A flipped bit in the next frame is caught, and so is a replay of the first.
        let mut g = out.frame(Kind::Begin, b"more").unwrap();
        g[7] ^= 1;
        let head: [u8; 5] = g[..5].try_into().unwrap();
        assert!(matches!(
            inp.open_in_place(&head, &mut g[5..].to_vec()),
            Err(WireError::Auth(_))
        ));
        let head: [u8; 5] = f[..5].try_into().unwrap();
        assert!(inp.open_in_place(&head, &mut f[5..].to_vec()).is_err());
    }

    #[test]
    fn different_secrets_fail_on_both_ends_and_sessions_differ_every_time() {
        let (src, agent) = control(b"correct horse", b"battery staple", false);
        let e = src.unwrap_err().to_string();
        assert!(e.contains("did not accept our secret"), "{e}");
        let e = agent.unwrap_err().to_string();
        assert!(e.contains("wrong secret"), "{e}");
        let (a, _) = control(b"same secret", b"same secret", false);
        let (b, _) = control(b"same secret", b"same secret", false);
        assert_ne!(a.unwrap().0.id, b.unwrap().0.id);
    }

    #[test]
    fn hello_frames_round_trip_and_refuse_unknown_roles_and_flags() {
        let h = Hello::Data {
            session: [3; 16],
            channel: 7,
            nonce: [9; 32],
        };
        assert_eq!(Hello::decode(&h.encode()).unwrap(), h);
        let c = Hello::Control {
            encrypt: true,
            pake: [0x41; PAKE_MSG_LEN],
        };
        assert_eq!(c.encode().len(), 2 + PAKE_MSG_LEN);
        assert_eq!(Hello::decode(&c.encode()).unwrap(), c);
        assert!(Hello::decode(&[2]).is_err());
        let mut bad = c.encode();
        bad[1] = 4;
        assert!(Hello::decode(&bad).is_err());
    }
}
