//! The agent against peers without the secret, idle connection floods and greedy peers with it,
//! and what crosses the wire with and without encryption. Everything runs on 127.0.0.1.

// Tests fail by panicking; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lmlab_engine::scenario::{MemoryProfile, MemoryProfileName};
use lmlab_real::agent::{self, AgentConfig, Limits};
use lmlab_real::secure::{self, AUTH_FAILED, PAKE_MSG_LEN};
use lmlab_real::wire::{self, Kind, WireError};
use lmlab_real::{RealConfig, RealReport, Target, run};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const MIB: u64 = 1 << 20;

fn cfg(memory_mib: u64, channels: u16) -> RealConfig {
    RealConfig {
        memory_bytes: memory_mib * MIB,
        channels,
        working_set_bytes: memory_mib * MIB,
        seed: 7,
        ..RealConfig::default()
    }
}

fn quiet(_: lmlab_real::Step<'_>) {}

type Lines = Arc<Mutex<Vec<String>>>;

fn agent_with(config: AgentConfig) -> (agent::RunningAgent, Lines) {
    let lines: Lines = Arc::default();
    let l2 = lines.clone();
    let a = agent::spawn(
        "127.0.0.1:0",
        config,
        Arc::new(move |line| {
            if let Ok(mut v) = l2.lock() {
                v.push(line);
            }
        }),
    )
    .unwrap_or_else(|e| panic!("agent: {e}"));
    (a, lines)
}

fn agent_with_log(secret: &[u8], max_memory: u64) -> (agent::RunningAgent, Lines) {
    agent_with(AgentConfig::new(secret.to_vec(), max_memory))
}

fn to_agent(a: &SocketAddr, secret: &[u8]) -> Target {
    Target::Agent {
        addr: a.to_string(),
        secret: secret.to_vec(),
    }
}

fn wait_for_log(lines: &Lines, needle: &str) -> String {
    for _ in 0..200 {
        if let Some(l) = lines
            .lock()
            .ok()
            .and_then(|v| v.iter().find(|l| l.contains(needle)).cloned())
        {
            return l;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!(
        "no log line with {needle:?}: {:?}",
        lines.lock().map(|v| v.clone())
    );
}

fn assert_verified(r: &RealReport) {
    assert!(r.verified, "not verified: {:?}", r.error);
    assert!(r.error.is_none());
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A stream that keeps a copy of every byte read from it: what the agent sent.
struct Tap {
    s: tokio::net::TcpStream,
    seen: Vec<u8>,
}

impl AsyncRead for Tap {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let me = &mut *self;
        let r = Pin::new(&mut me.s).poll_read(cx, buf);
        me.seen.extend_from_slice(&buf.filled()[before..]);
        r
    }
}

impl AsyncWrite for Tap {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.s).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.s).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.s).poll_shutdown(cx)
    }
}

/// A peer that runs the whole control handshake with `guess` as the secret, then reads until
/// the agent closes. Returns how the handshake ended and every byte the agent sent.
fn guess_once(addr: SocketAddr, guess: &[u8]) -> (Result<(), WireError>, Vec<u8>) {
    rt().block_on(async {
        let s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut tap = Tap {
            s,
            seen: Vec::new(),
        };
        let r = secure::source_control(&mut tap, guess, false)
            .await
            .map(|_| ());
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(
            Duration::from_secs(3),
            tokio::io::AsyncReadExt::read_to_end(&mut tap, &mut rest),
        )
        .await;
        (r, tap.seen)
    })
}

/// A peer that sends a valid Hello (SPAKE2 message for `guess`) and then never confirms;
/// returns what the agent sent within `wait`.
fn hello_without_confirming(addr: SocketAddr, guess: &[u8], wait: Duration) -> Vec<u8> {
    use spake2::{Ed25519Group, Identity, Password, Spake2};
    let (_state, msg) = Spake2::<Ed25519Group>::start_a(
        &Password::new(guess),
        &Identity::new(b"lmlab real source"),
        &Identity::new(b"lmlab agent"),
    );
    let mut s = TcpStream::connect(addr).unwrap();
    let mut hello = vec![0u8, 0];
    hello.extend_from_slice(&msg);
    s.write_all(wire::MAGIC).unwrap();
    s.write_all(&wire::frame_head(Kind::Hello, hello.len()))
        .unwrap();
    s.write_all(&hello).unwrap();
    s.set_read_timeout(Some(wait)).unwrap();
    let mut got = Vec::new();
    let mut b = [0u8; 256];
    while let Ok(n) = s.read(&mut b) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&b[..n]);
    }
    got
}

/// The agent's SPAKE2 `Reply` frame at the start of `bytes`: its 32-byte point.
fn reply_point(bytes: &[u8]) -> [u8; 32] {
    assert!(bytes.len() >= 5 + PAKE_MSG_LEN, "{bytes:?}");
    assert_eq!(bytes[0], Kind::Reply as u8);
    assert_eq!(&bytes[1..5], &(PAKE_MSG_LEN as u32).to_le_bytes());
    assert_eq!(bytes[5], b'B', "SPAKE2 side B");
    bytes[6..5 + PAKE_MSG_LEN].try_into().unwrap()
}

/// What this shows: all a peer without the secret ever gets from the agent is (1) one SPAKE2
/// message, a fresh random curve point whose form and length do not depend on the secret or on
/// whether the peer's guess was right, and (2) after a wrong confirmation, a fixed refusal text.
/// The agent's key confirmation — the only bytes that would let a peer check a guess offline —
/// never comes before the peer's own confirmation has checked out. So a guess costs one
/// connection (an online guess), never an offline computation.
#[test]
fn a_transcript_seen_by_a_peer_without_the_key_contains_nothing_key_dependent() {
    let (a1, log1) = agent_with_log(b"first agent secret", 64 * MIB);
    let (a2, _log2) = agent_with_log(b"a different secret", 64 * MIB);
    let refusal = {
        let mut f = wire::frame_head(Kind::Error, AUTH_FAILED.len()).to_vec();
        f.extend_from_slice(AUTH_FAILED.as_bytes());
        f
    };
    let mut points = Vec::new();
    for addr in [a1.addr, a2.addr] {
        let (r, seen) = guess_once(addr, b"guess 0000");
        let e = r.unwrap_err().to_string();
        assert!(e.contains("did not accept our secret"), "{e}");
        // Exactly: the Reply, then the fixed refusal. No Confirm frame, nothing else.
        assert_eq!(seen.len(), 5 + PAKE_MSG_LEN + refusal.len(), "{seen:?}");
        points.push(reply_point(&seen));
        assert_eq!(&seen[5 + PAKE_MSG_LEN..], &refusal[..]);
    }
    wait_for_log(&log1, "wrong secret");
    // Before the peer confirms, the agent's bytes are the same whether the guess is right or
    // wrong: a Reply, then silence.
    for guess in [&b"first agent secret"[..], b"guess 0001"] {
        let seen = hello_without_confirming(a1.addr, guess, Duration::from_millis(400));
        assert_eq!(seen.len(), 5 + PAKE_MSG_LEN, "{seen:?}");
        points.push(reply_point(&seen));
    }
    // Every point is fresh: none repeats across agents, secrets and guesses.
    let mut unique = points.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), points.len(), "{points:?}");
}

#[test]
fn a_wrong_key_is_refused_with_a_clear_error_on_both_sides() {
    let (a, log) = agent_with_log(b"right horse battery", 64 * MIB);
    let e = run(&cfg(16, 2), &to_agent(&a.addr, b"wrong horse"), &quiet)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("authentication failed") && e.contains("wrong secret"),
        "{e}"
    );
    let line = wait_for_log(&log, "authentication failed");
    assert!(line.contains("wrong secret"), "{line}");
    // Still serving the right one.
    assert_verified(
        &run(
            &cfg(16, 2),
            &to_agent(&a.addr, b"right horse battery"),
            &quiet,
        )
        .unwrap(),
    );
}

#[test]
fn wrong_guesses_from_one_address_are_spaced_out_and_the_right_secret_still_gets_in() {
    let mut config = AgentConfig::new(b"spaced secret".to_vec(), 64 * MIB);
    config.limits.guess_spacing = Duration::from_millis(200);
    let (a, _log) = agent_with(config);
    let t = Instant::now();
    for i in 0..5 {
        let (r, _) = guess_once(a.addr, format!("guess {i}").as_bytes());
        assert!(r.is_err());
    }
    // The first check is at once, each later one at least 200 ms after the one before.
    assert!(
        t.elapsed() >= Duration::from_millis(780),
        "{:?}",
        t.elapsed()
    );
    assert_verified(&run(&cfg(8, 1), &to_agent(&a.addr, b"spaced secret"), &quiet).unwrap());
}

#[test]
fn with_200_unauthenticated_connections_held_open_a_legitimate_migration_succeeds() {
    let (a, log) = agent_with_log(b"flood secret", 64 * MIB);
    // Half say nothing at all; half send the first bytes of a handshake and stall.
    let held: Vec<TcpStream> = (0..200)
        .map(|i| {
            let mut s = TcpStream::connect(a.addr).unwrap();
            if i % 2 == 1 {
                s.write_all(b"LMLAB").unwrap();
            }
            s
        })
        .collect();
    wait_for_log(&log, "to make room");
    let t = Instant::now();
    let r = run(&cfg(32, 4), &to_agent(&a.addr, b"flood secret"), &quiet).unwrap();
    assert_verified(&r);
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    // The agent closed all but a few of them to make room (the rest close at the deadline).
    let closed = held
        .iter()
        .filter(|s| {
            s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
            match (&**s).read(&mut [0u8; 8]) {
                Ok(n) => n == 0,
                Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
            }
        })
        .count();
    assert!(closed >= 190, "{closed} of 200 closed");
}

#[test]
fn an_unauthenticated_connection_that_sends_nothing_is_closed_at_the_deadline() {
    let mut config = AgentConfig::new(b"deadline secret".to_vec(), 64 * MIB);
    config.limits = Limits {
        handshake_deadline: Duration::from_millis(600),
        ..Limits::default()
    };
    let (a, log) = agent_with(config);
    let mut s = TcpStream::connect(a.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let t = Instant::now();
    let n = s.read(&mut [0u8; 16]).unwrap_or(0);
    let waited = t.elapsed();
    assert_eq!(n, 0, "the agent sends an idle peer nothing");
    assert!(
        waited >= Duration::from_millis(500) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    wait_for_log(&log, "handshake deadline");
}

/// An authenticated control connection that began a migration of `channels` channels.
struct Control {
    s: tokio::net::TcpStream,
    session: secure::Session,
    _out: wire::FrameOut,
}

async fn begin(addr: SocketAddr, secret: &[u8], channels: u16) -> Result<Control, WireError> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let (session, mut out, mut inp) = secure::source_control(&mut s, secret, false).await?;
    let b = wire::Begin {
        memory_bytes: 16 * MIB,
        channels,
        rdma: false,
    };
    wire::send(&mut s, &mut out, Kind::Begin, &b.encode()).await?;
    let mut buf = Vec::new();
    wire::recv_expect(&mut s, &mut inp, &mut buf, Kind::Accept).await?;
    Ok(Control {
        s,
        session,
        _out: out,
    })
}

/// Opens data channel `channel` of `session` and waits for the agent to be ready.
async fn join(
    addr: SocketAddr,
    session: &secure::Session,
    channel: u16,
) -> Result<tokio::net::TcpStream, WireError> {
    let mut d = tokio::net::TcpStream::connect(addr).await?;
    let (_out, mut inp) = secure::source_data(&mut d, session, channel).await?;
    let mut buf = Vec::new();
    wire::recv_expect(&mut d, &mut inp, &mut buf, Kind::Ready).await?;
    Ok(d)
}

#[test]
fn a_data_connection_beyond_the_declared_channel_count_is_refused() {
    let (a, log) = agent_with_log(b"s", 64 * MIB);
    rt().block_on(async {
        let c = begin(a.addr, b"s", 2).await.unwrap();
        let d0 = join(a.addr, &c.session, 0).await.unwrap();
        let d1 = join(a.addr, &c.session, 1).await.unwrap();
        // A third connection: channel 2 does not exist, and channel 1 is taken.
        let e = join(a.addr, &c.session, 2).await.unwrap_err().to_string();
        assert!(
            e.contains("declared 2 data channel(s)") && e.contains("channel 2"),
            "{e}"
        );
        let e = join(a.addr, &c.session, 1).await.unwrap_err().to_string();
        assert!(
            e.contains("channel 1 of this migration has already joined"),
            "{e}"
        );
        drop((d0, d1, c.s));
    });
    let line = wait_for_log(&log, "declared 2 data channel(s)");
    assert!(line.contains("refused"), "{line}");
    wait_for_log(&log, "already joined");
}

#[test]
fn a_data_connection_that_names_a_session_without_its_key_is_refused() {
    let (a, log) = agent_with_log(b"s", 64 * MIB);
    rt().block_on(async {
        let c = begin(a.addr, b"s", 1).await.unwrap();
        // Another authenticated session (its Begin is refused as busy) has other keys; with the
        // running session's public id it still cannot join.
        let mut other = tokio::net::TcpStream::connect(a.addr).await.unwrap();
        let (mut forged, _, _) = secure::source_control(&mut other, b"s", false)
            .await
            .unwrap();
        forged.id = c.session.id;
        let e = join(a.addr, &forged, 0).await.unwrap_err().to_string();
        assert!(e.contains("did not accept"), "{e}");
        // The real key still joins channel 0: the forged attempt took nothing.
        join(a.addr, &c.session, 0).await.unwrap();
        drop(c.s);
    });
    wait_for_log(&log, "without the session's key");
}

/// A TCP relay on loopback in front of `to`: keeps every byte the source sent (the first
/// `keep` of each connection) and, if `flip_at` is set, flips one byte that far into the second
/// connection (the first data channel).
struct Relay {
    addr: SocketAddr,
    sent: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        let _ = TcpStream::connect(self.addr);
    }
}

fn relay(to: SocketAddr, flip_at: Option<usize>) -> Relay {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let sent: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let (sent2, stop2) = (sent.clone(), stop.clone());
    std::thread::spawn(move || {
        for (n, c) in l.incoming().enumerate() {
            if stop2.load(Ordering::Acquire) {
                break;
            }
            let Ok(mut c) = c else { continue };
            let Ok(mut up) = TcpStream::connect(to) else {
                continue;
            };
            let (mut c2, mut up2) = (c.try_clone().unwrap(), up.try_clone().unwrap());
            let slot = {
                let mut v = sent2.lock().unwrap();
                v.push(Vec::new());
                v.len() - 1
            };
            let sent3 = sent2.clone();
            let flip = flip_at.filter(|_| n == 1);
            std::thread::spawn(move || {
                let mut b = vec![0u8; 64 << 10];
                let mut at = 0usize;
                while let Ok(k) = c.read(&mut b) {
                    if k == 0 {
                        break;
                    }
                    if let Some(f) = flip
                        && (at..at + k).contains(&f)
                    {
                        b[f - at] ^= 0x40;
                    }
                    at += k;
                    sent3.lock().unwrap()[slot].extend_from_slice(&b[..k]);
                    if up.write_all(&b[..k]).is_err() {
                        break;
                    }
                }
                let _ = up.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut up2, &mut c2);
                let _ = c2.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    Relay { addr, sent, stop }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn with_encrypt_no_page_crosses_the_wire_in_clear_and_without_it_pages_do() {
    let (a, _log) = agent_with_log(b"wire secret", 64 * MIB);
    let mut c = cfg(4, 2);
    c.profile = MemoryProfile::Named(MemoryProfileName::Random);
    // The same image the source fills (same profile and seed): bytes from two of its pages.
    let img = lmlab_real::image::Image::filled(1024, &c.profile, c.seed);
    let needles: Vec<Vec<u8>> = [3usize, 700]
        .iter()
        .map(|&p| img.with_page(p, |b| b[100..132].to_vec()))
        .collect();
    for encrypt in [false, true] {
        c.encrypt = encrypt;
        let r = relay(a.addr, None);
        let report = run(&c, &to_agent(&r.addr, b"wire secret"), &quiet).unwrap();
        assert_verified(&report);
        assert_eq!(report.encrypted, encrypt);
        let sent = r.sent.lock().unwrap().concat();
        assert!(sent.len() as u64 > 4 * MIB, "{} bytes relayed", sent.len());
        for n in &needles {
            assert_eq!(contains(&sent, n), !encrypt, "encrypt {encrypt}");
        }
    }
}

#[test]
fn an_altered_byte_on_an_encrypted_channel_is_caught_and_never_lands() {
    let (a, log) = agent_with_log(b"tamper secret", 64 * MIB);
    let mut c = cfg(8, 1);
    c.encrypt = true;
    let r = relay(a.addr, Some(3 * MIB as usize));
    let report = run(&c, &to_agent(&r.addr, b"tamper secret"), &quiet).unwrap();
    assert!(!report.verified);
    let e = report.error.clone().unwrap_or_default();
    assert!(e.contains("all channels lost"), "{e}");
    wait_for_log(&log, "integrity check");
}

#[test]
fn an_agent_that_requires_encryption_refuses_a_plain_migration_and_takes_an_encrypted_one() {
    let mut config = AgentConfig::new(b"enc only".to_vec(), 64 * MIB);
    config.require_encryption = true;
    let (a, log) = agent_with(config);
    let mut c = cfg(8, 2);
    let e = run(&c, &to_agent(&a.addr, b"enc only"), &quiet)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("requires encryption") && e.contains("--encrypt"),
        "{e}"
    );
    wait_for_log(&log, "requires encryption");
    c.encrypt = true;
    let r = run(&c, &to_agent(&a.addr, b"enc only"), &quiet).unwrap();
    assert_verified(&r);
    assert!(r.encrypted);
}

#[test]
fn a_migration_that_would_not_fit_the_memory_cap_with_its_buffers_is_refused() {
    // 32 MiB image over 8 channels: 32 MiB + tables + 9 × 4 MiB of buffers > 48 MiB.
    let (a, log) = agent_with_log(b"s", 48 * MIB);
    let e = run(&cfg(32, 8), &to_agent(&a.addr, b"s"), &quiet)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("at most 48 MiB") && e.contains("8 channel(s)"),
        "{e}"
    );
    wait_for_log(&log, "at most 48 MiB");
    // The same image over one channel fits.
    assert_verified(&run(&cfg(32, 1), &to_agent(&a.addr, b"s"), &quiet).unwrap());
}
