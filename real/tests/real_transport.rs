//! The real transport on loopback: real bytes, real sockets, a real guest writer. Every migration
//! that reports `verified` had its destination image checked against the source, page by page and
//! by a full scan.

// Tests fail by panicking; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lmlab_engine::scenario::{MemoryProfile, MemoryProfileName};
use lmlab_real::agent::{self, AgentConfig};
use lmlab_real::secure;
use lmlab_real::wire::{self, Kind};
use lmlab_real::{Codec, Fault, RealConfig, RealReport, Target, run};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const MIB: u64 = 1 << 20;

fn cfg(memory_mib: u64, channels: u16, codec: Codec, dirty_mib_s: f64) -> RealConfig {
    RealConfig {
        memory_bytes: memory_mib * MIB,
        channels,
        codec,
        dirty_rate_bytes_per_s: dirty_mib_s * MIB as f64,
        working_set_bytes: memory_mib * MIB / 4,
        seed: 42,
        ..RealConfig::default()
    }
}

fn quiet(_: lmlab_real::Step<'_>) {}

fn migrate(c: &RealConfig) -> RealReport {
    println!("seed {}", c.seed);
    match run(c, &Target::Loopback, &quiet) {
        Ok(r) => r,
        Err(e) => panic!("run failed: {e}"),
    }
}

fn assert_verified(r: &RealReport) {
    assert!(r.verified, "not verified: {:?}", r.error);
    assert!(r.error.is_none());
    assert!(r.avg_gbps > 0.0 && r.downtime_ms > 0.0);
    assert!(r.passes >= 1);
    if r.channels_lost.is_empty() {
        assert_eq!(
            r.bytes_per_pass[0], r.memory_bytes,
            "pass 1 moves all memory"
        );
    }
    let moved: u64 = r.bytes_per_pass.iter().sum::<u64>() + r.switchover_bytes;
    assert!(moved >= r.memory_bytes, "every page moved at least once");
}

#[test]
fn one_channel_without_compression_moves_a_dirtied_image_and_verifies_it() {
    let r = migrate(&cfg(64, 1, Codec::None, 40.0));
    assert_verified(&r);
    assert!(r.pages_dirtied > 0, "the guest wrote during the migration");
    assert_eq!(r.series.iter().map(|s| s.channel_gbps.len()).max(), Some(1));
}

#[test]
fn four_channels_with_lz4_verify_and_all_carry_pages() {
    let r = migrate(&cfg(96, 4, Codec::Lz4, 40.0));
    assert_verified(&r);
    assert!(
        r.reduction_ratio > 1.5,
        "mixed content compresses: {}",
        r.reduction_ratio
    );
    let per_channel: Vec<f64> = (0..4)
        .map(|i| r.series.iter().map(|s| s.channel_gbps[i]).sum())
        .collect();
    assert!(per_channel.iter().all(|&g| g > 0.0), "{per_channel:?}");
}

#[test]
fn four_channels_without_compression_and_one_with_zstd_verify() {
    assert_verified(&migrate(&cfg(64, 4, Codec::None, 40.0)));
    let r = migrate(&cfg(64, 1, Codec::Zstd, 40.0));
    assert_verified(&r);
    assert!(r.reduction_ratio > 1.5);
}

#[test]
fn random_content_is_sent_whole_and_zero_pages_are_elided() {
    let mut c = cfg(32, 2, Codec::None, 0.0);
    c.profile = MemoryProfile::Named(MemoryProfileName::Random);
    let r = migrate(&c);
    assert_verified(&r);
    assert!(
        r.reduction_ratio < 1.01 && r.reduction_ratio > 0.99,
        "{}",
        r.reduction_ratio
    );
    c.profile = MemoryProfile::Named(MemoryProfileName::Zeros);
    let r = migrate(&c);
    assert_verified(&r);
    assert!(r.reduction_ratio > 100.0, "{}", r.reduction_ratio);
}

#[test]
fn a_guest_dirtying_faster_than_the_link_hits_the_pass_limit_and_still_verifies() {
    // A 1-pass limit forces the switch-over with whatever is dirty.
    let mut c = cfg(32, 1, Codec::None, 400.0);
    c.max_passes = 1;
    let r = migrate(&c);
    assert_verified(&r);
    assert_eq!(r.passes, 1);
}

#[test]
fn a_dropped_channel_of_four_moves_its_pages_to_the_others() {
    let mut c = cfg(64, 4, Codec::None, 20.0);
    c.fault = Some(Fault {
        channel: 2,
        after_bytes: 4 * MIB,
    });
    let r = migrate(&c);
    let per_channel: Vec<f64> = (0..4)
        .map(|i| r.series.iter().map(|s| s.channel_gbps[i]).sum())
        .collect();
    println!("{per_channel:?} {:?}", r.bytes_per_pass);
    assert_verified(&r);
    assert_eq!(r.channels_lost.len(), 1, "{:?}", r.channels_lost);
    assert_eq!(r.channels_lost[0].channel, 2);
    assert!(r.channels_lost[0].pages_resent > 0);
}

#[test]
fn a_dropped_only_channel_fails_cleanly_and_reports_nothing_migrated() {
    let mut c = cfg(32, 1, Codec::None, 20.0);
    c.fault = Some(Fault {
        channel: 0,
        after_bytes: 4 * MIB,
    });
    let r = migrate(&c);
    assert!(!r.verified);
    let e = r.error.clone().unwrap_or_default();
    assert!(e.contains("all channels lost"), "{e}");
    assert_eq!(
        r.downtime_ms, 0.0,
        "the guest was never paused for a switch-over"
    );
}

fn agent_with_log(
    secret: &[u8],
    max_memory: u64,
) -> (agent::RunningAgent, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let l2 = lines.clone();
    let a = agent::spawn(
        "127.0.0.1:0",
        AgentConfig::new(secret.to_vec(), max_memory),
        Arc::new(move |line| {
            if let Ok(mut v) = l2.lock() {
                v.push(line);
            }
        }),
    );
    match a {
        Ok(a) => (a, lines),
        Err(e) => panic!("agent: {e}"),
    }
}

/// Authenticates a control connection by hand and sends `begin`; returns the connection and
/// the agent's answer (the session on Accept).
async fn raw_begin(
    addr: std::net::SocketAddr,
    begin: wire::Begin,
) -> (
    tokio::net::TcpStream,
    Result<secure::Session, wire::WireError>,
) {
    let mut c = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (session, mut out, mut inp) = secure::source_control(&mut c, b"s", false)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    wire::send(&mut c, &mut out, Kind::Begin, &begin.encode())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut buf = Vec::new();
    let r = wire::recv_expect(&mut c, &mut inp, &mut buf, Kind::Accept)
        .await
        .map(|()| session);
    (c, r)
}

fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn to_agent(a: &agent::RunningAgent, secret: &[u8]) -> Target {
    Target::Agent {
        addr: a.addr.to_string(),
        secret: secret.to_vec(),
    }
}

fn wait_for_log(lines: &Mutex<Vec<String>>, needle: &str) -> String {
    for _ in 0..100 {
        if let Some(l) = lines
            .lock()
            .ok()
            .and_then(|v| v.iter().find(|l| l.contains(needle)).cloned())
        {
            return l;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "no log line with {needle:?}: {:?}",
        lines.lock().map(|v| v.clone())
    );
}

#[test]
fn the_agent_rejects_a_wrong_secret_and_then_serves_the_right_one() {
    let (a, log) = agent_with_log(b"right horse battery", 64 * MIB);
    let c = cfg(16, 2, Codec::Lz4, 0.0);
    let e = run(&c, &to_agent(&a, b"wrong"), &quiet)
        .map(|_| ())
        .err()
        .map(|e| e.to_string());
    let e = e.unwrap_or_default();
    assert!(e.contains("authentication failed"), "{e}");
    wait_for_log(&log, "authentication failed");
    let r = run(&c, &to_agent(&a, b"right horse battery"), &quiet);
    assert_verified(&r.unwrap_or_else(|e| panic!("{e}")));
    wait_for_log(&log, "migration verified");
}

#[test]
fn the_agent_refuses_more_memory_than_its_cap() {
    // A 16 MiB image over one channel takes 24 MiB with the agent's tables and buffers.
    let (a, log) = agent_with_log(b"s", 32 * MIB);
    let e = run(&cfg(32, 1, Codec::None, 0.0), &to_agent(&a, b"s"), &quiet)
        .map(|_| ())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("at most 32 MiB"), "{e}");
    wait_for_log(&log, "at most 32 MiB");
    // Still serving.
    assert_verified(
        &run(&cfg(16, 1, Codec::None, 0.0), &to_agent(&a, b"s"), &quiet)
            .unwrap_or_else(|e| panic!("{e}")),
    );
}

#[test]
fn the_agent_survives_garbage_truncated_frames_and_disconnects() {
    let (a, log) = agent_with_log(b"s", 64 * MIB);
    // Not our protocol at all.
    if let Ok(mut s) = TcpStream::connect(a.addr) {
        let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink);
    }
    wait_for_log(&log, "not an lmlab peer");
    // Right magic, then a frame that claims to be huge.
    if let Ok(mut s) = TcpStream::connect(a.addr) {
        let _ = s.write_all(wire::MAGIC);
        let _ = s.write_all(&[Kind::Hello as u8, 0xff, 0xff, 0xff, 0x7f]);
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink);
    }
    wait_for_log(&log, "larger than");
    // A truncated Hello, then a disconnect.
    if let Ok(mut s) = TcpStream::connect(a.addr) {
        let _ = s.write_all(wire::MAGIC);
        let _ = s.write_all(&[Kind::Hello as u8, 32, 0, 0, 0, 1, 2, 3]);
    }
    wait_for_log(&log, "early eof");
    // An unknown frame type.
    if let Ok(mut s) = TcpStream::connect(a.addr) {
        let _ = s.write_all(wire::MAGIC);
        let _ = s.write_all(&[200, 0, 0, 0, 0]);
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink);
    }
    wait_for_log(&log, "unknown frame type 200");
    // After all that, a real migration still works.
    let r = run(&cfg(16, 2, Codec::None, 10.0), &to_agent(&a, b"s"), &quiet);
    assert_verified(&r.unwrap_or_else(|e| panic!("{e}")));
}

#[test]
fn an_authenticated_peer_sending_bad_pages_is_cut_off_and_the_agent_goes_on() {
    let (a, log) = agent_with_log(b"s", 64 * MIB);
    let rt = current_thread_runtime();
    let begin = wire::Begin {
        memory_bytes: 16 * MIB,
        channels: 1,
        rdma: false,
    };
    let streams = rt.block_on(async {
        let (c, session) = raw_begin(a.addr, begin).await;
        let session = session.unwrap_or_else(|e| panic!("{e}"));
        let mut d = tokio::net::TcpStream::connect(a.addr)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let (mut out, mut inp) = secure::source_data(&mut d, &session, 0)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut buf = Vec::new();
        wire::recv_expect(&mut d, &mut inp, &mut buf, Kind::Ready)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // A page index far outside the 16 MiB image.
        let mut p = vec![0u8; 13];
        wire::PagesHead {
            pass: 1,
            codec: Codec::None,
            count: 1,
            raw_len: 4096,
        }
        .write(&mut p);
        p.extend_from_slice(&(1u64 << 40).to_le_bytes());
        p.extend_from_slice(&[7u8; 4096]);
        wire::send(&mut d, &mut out, Kind::Pages, &p)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // While this migration is open, a second one is refused as busy.
        let (_c2, busy) = raw_begin(a.addr, begin).await;
        assert!(
            matches!(busy, Err(wire::WireError::Refused(ref m)) if m.contains("busy")),
            "{busy:?}"
        );
        (c, d)
    });
    wait_for_log(&log, "outside the");
    wait_for_log(&log, "busy");
    drop(streams); // closes the control connection: the agent abandons that migration
    drop(rt);
    wait_for_log(&log, "abandoned");
    let r = run(&cfg(16, 1, Codec::None, 0.0), &to_agent(&a, b"s"), &quiet);
    assert_verified(&r.unwrap_or_else(|e| panic!("{e}")));
}

#[test]
fn a_killed_agent_fails_the_migration_cleanly() {
    let (a, _log) = agent_with_log(b"s", 512 * MIB);
    let target = to_agent(&a, b"s");
    // Kill the agent while the migration runs (a 256 MiB guest that never stops dirtying).
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(a);
    });
    let mut c = cfg(256, 2, Codec::Zstd, 2000.0);
    c.working_set_bytes = 256 * MIB;
    let r = run(&c, &target, &quiet);
    let _ = killer.join();
    match r {
        Ok(r) => {
            assert!(!r.verified, "a killed destination cannot have verified");
            assert!(r.error.is_some());
        }
        Err(e) => println!("failed before the first pass: {e}"),
    }
}

#[test]
fn an_agent_without_rdma_refuses_an_rdma_migration_with_the_reason() {
    let (a, log) = agent_with_log(b"s", 64 * MIB);
    let begin = wire::Begin {
        memory_bytes: 16 * MIB,
        channels: 0,
        rdma: true,
    };
    let (_c, r) = current_thread_runtime().block_on(raw_begin(a.addr, begin));
    let msg = match r {
        Err(wire::WireError::Refused(m)) => m,
        other => panic!("{other:?}"),
    };
    assert!(msg.contains("use TCP"), "{msg}");
    wait_for_log(&log, "use TCP");
}
