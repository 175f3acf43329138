//! The ceiling for any memory-to-memory transfer over loopback TCP on this host: N streams move a
//! memory image (random bytes) into a second, already committed one, with nothing else — no
//! protocol, no zero-page test, no digests, no dirty tracking. `scripts/bench-real.sh` sets it
//! beside lmlab and iperf3: iperf3 resends one buffer that stays in the cache, while a migration
//! (and this) must read every page from memory and write it into memory at the other end.
//!
//! `cargo run --release -p lmlab-engine --example tcp_ceiling -- [SIZE (4GiB, 512MiB)] [streams]`
//! prints `gbps cpu_s_per_gib` (CPU of the whole process: both ends).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use lmlab_real::cpu::process_cpu_s;
use std::io::{Read, Write};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let size = args.get(1).map_or("4GiB", String::as_str);
    let n: usize = match (size.strip_suffix("GiB"), size.strip_suffix("MiB")) {
        (Some(g), _) => g.parse::<usize>().expect("size in GiB") << 30,
        (_, Some(m)) => m.parse::<usize>().expect("size in MiB") << 20,
        _ => panic!("size {size:?}: write it as 4GiB or 512MiB"),
    };
    let streams: usize = args.get(2).map_or(1, |s| s.parse().expect("streams"));
    assert!((1..=64).contains(&streams), "1 to 64 streams");
    assert!(n >= streams << 20, "at least 1 MiB per stream");
    let mut src = vec![0u8; n];
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for w in src.chunks_exact_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        w.copy_from_slice(&x.to_le_bytes());
    }
    // Written, so committed before the clock starts (as lmlab's destination image is).
    let mut dst = vec![1u8; n];
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let part = n.div_ceil(streams);
    let cpu0 = process_cpu_s();
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for (i, from) in src.chunks(part).enumerate() {
            s.spawn(move || {
                let mut c = std::net::TcpStream::connect(addr).expect("connect");
                c.write_all(&[i as u8]).expect("send");
                for b in from.chunks(1 << 20) {
                    c.write_all(b).expect("send");
                }
            });
        }
        let mut conns: Vec<(u8, std::net::TcpStream)> = (0..streams)
            .map(|_| {
                let (mut c, _) = listener.accept().expect("accept");
                let mut i = [0u8];
                c.read_exact(&mut i).expect("stream number");
                (i[0], c)
            })
            .collect();
        conns.sort_by_key(|c| c.0);
        for (to, (_, mut c)) in dst.chunks_mut(part).zip(conns) {
            s.spawn(move || c.read_exact(to).expect("receive"));
        }
    });
    let secs = t0.elapsed().as_secs_f64();
    let cpu = process_cpu_s() - cpu0;
    assert!(src == dst, "the copy differs from the source");
    println!(
        "{:.3} {:.3}",
        n as f64 * 8.0 / secs / 1e9,
        cpu / (n as f64 / (1u64 << 30) as f64)
    );
}
