//! A VM's memory as the real transport sees it: 4 KiB pages in chunks, each chunk behind its own
//! lock, a dirty bitmap, a guest writer thread, and page digests for verification.
//!
//! Invariants:
//! - a page is only read or written under its chunk's lock, so a sender never sees a torn page;
//! - the writer sets a page's dirty bit *after* changing it, under the same lock: a pass that took
//!   the bitmap before the write resends the page in the next pass, so once the writer has stopped
//!   and a last pass has run, every page at the destination equals the source's.

use lmlab_engine::scenario::{MemoryMix, MemoryProfile};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const PAGE: usize = 4096;
/// Pages per lock: 256 pages = 1 MiB.
pub const CHUNK_PAGES: usize = 256;

/// A memory image: page contents in locked chunks plus a dirty bitmap.
#[derive(Debug)]
pub struct Image {
    pages: usize,
    chunks: Vec<RwLock<Vec<u8>>>,
    dirty: Vec<AtomicU64>,
}

impl Image {
    /// A zero-filled image of `pages` pages.
    pub fn zeroed(pages: usize) -> Image {
        let n_chunks = pages.div_ceil(CHUNK_PAGES);
        let chunks = (0..n_chunks)
            .map(|c| {
                let here = (pages - c * CHUNK_PAGES).min(CHUNK_PAGES);
                // Written, not calloc'ed: the memory is faulted in now rather than during the
                // migration, as a hypervisor's destination commits the VM's memory up front.
                #[allow(clippy::slow_vector_initialization)] // on purpose: see above
                let mut v = Vec::with_capacity(here * PAGE);
                v.resize(here * PAGE, 0u8);
                RwLock::new(v)
            })
            .collect();
        Image {
            pages,
            chunks,
            dirty: (0..pages.div_ceil(64)).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// An image filled per a content profile, reproducibly from `seed`.
    pub fn filled(pages: usize, profile: &MemoryProfile, seed: u64) -> Image {
        let img = Image::zeroed(pages);
        let mix = profile.mix();
        let mut rng = XorShift::new(seed);
        let mut text = TextGen::new(seed ^ 0x5eed);
        for p in 0..pages {
            let kind = PageKind::pick(&mix, rng.unit());
            img.with_page_mut(p, |page| fill_page(page, kind, &mut rng, &mut text));
        }
        img
    }

    pub fn pages(&self) -> usize {
        self.pages
    }

    pub fn bytes(&self) -> u64 {
        (self.pages * PAGE) as u64
    }

    // A poisoned chunk only means another thread panicked while holding it; the bytes are still
    // bytes, and verification catches any damage.
    pub(crate) fn write_chunk(&self, chunk: usize) -> RwLockWriteGuard<'_, Vec<u8>> {
        self.chunks[chunk]
            .write()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Chunk `chunk` (pages `chunk * CHUNK_PAGES ..`) locked for reading: senders hold it while
    /// the kernel copies its pages, so the guest cannot change a page mid-send.
    pub fn read_chunk(&self, chunk: usize) -> RwLockReadGuard<'_, Vec<u8>> {
        self.chunks[chunk]
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Runs `f` on page `p` under its chunk's lock.
    pub fn with_page<R>(&self, p: usize, f: impl FnOnce(&[u8]) -> R) -> R {
        let g = self.read_chunk(p / CHUNK_PAGES);
        let off = (p % CHUNK_PAGES) * PAGE;
        f(&g[off..off + PAGE])
    }

    /// Runs `f` on page `p`, writable, under its chunk's lock.
    pub fn with_page_mut<R>(&self, p: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let mut g = self.write_chunk(p / CHUNK_PAGES);
        let off = (p % CHUNK_PAGES) * PAGE;
        f(&mut g[off..off + PAGE])
    }

    pub fn mark_dirty(&self, p: usize) {
        self.dirty[p / 64].fetch_or(1 << (p % 64), Ordering::AcqRel);
    }

    pub fn dirty_count(&self) -> usize {
        self.dirty
            .iter()
            .map(|w| w.load(Ordering::Acquire).count_ones() as usize)
            .sum()
    }

    /// Takes the dirty set (clearing it) as a sorted list of pages.
    pub fn take_dirty(&self) -> Vec<u32> {
        let mut out = Vec::new();
        for (i, w) in self.dirty.iter().enumerate() {
            let mut bits = w.swap(0, Ordering::AcqRel);
            while bits != 0 {
                let b = bits.trailing_zeros() as usize;
                out.push((i * 64 + b) as u32);
                bits &= bits - 1;
            }
        }
        out
    }

    pub fn clear_dirty(&self) {
        for w in &self.dirty {
            w.store(0, Ordering::Release);
        }
    }

    /// Address and length of every chunk's memory, for registering it with an RDMA NIC. The
    /// buffers never move or resize, so the addresses stay valid as long as the image lives.
    pub fn chunk_regions(&self) -> Vec<(usize, usize)> {
        (0..self.chunks.len())
            .map(|c| {
                let mut g = self.write_chunk(c);
                (g.as_mut_ptr() as usize, g.len())
            })
            .collect()
    }

    /// Digest of the whole image as it is now (a full scan).
    pub fn checksum(&self) -> u64 {
        let mut h = Digest::new();
        for p in 0..self.pages {
            let d = self.with_page(p, page_digest);
            h.push(d);
        }
        h.finish()
    }
}

/// Combines per-page digests in page order.
#[derive(Debug, Clone, Copy)]
pub struct Digest(u64);

impl Digest {
    pub fn new() -> Digest {
        Digest(0x6c6d_6c61_625f_696d)
    }
    pub fn push(&mut self, page_digest: u64) {
        self.0 = (self.0 ^ page_digest)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(27);
    }
    pub fn finish(self) -> u64 {
        mix64(self.0)
    }
}

impl Default for Digest {
    fn default() -> Self {
        Digest::new()
    }
}

fn mix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// A fast 64-bit digest of one page: XXH3 (about as fast as copying the page). Not cryptographic:
/// it detects damage, not forgery. Peers prove the shared secret, but the stream after that is
/// not integrity-protected (docs/real-transport.md, "Security").
pub fn page_digest(page: &[u8]) -> u64 {
    twox_hash::XxHash3_64::oneshot(page)
}

/// [`page_digest`] of a zero page.
pub fn zero_page_digest() -> u64 {
    static ZERO: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *ZERO.get_or_init(|| page_digest(&[0u8; PAGE]))
}

/// Pages the transport moves between taking digests: 256 KiB, which stays in a core's cache
/// between the kernel's copy and the digest.
pub const DIGEST_GROUP: usize = 64;

pub fn is_zero(page: &[u8]) -> bool {
    page.chunks_exact(64)
        .all(|c| c.iter().fold(0u8, |a, b| a | b) == 0)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum PageKind {
    Zero,
    Pattern,
    Duplicate,
    Text,
    Random,
}

impl PageKind {
    fn pick(m: &MemoryMix, u: f64) -> PageKind {
        let mut acc = m.zero;
        if u < acc {
            return PageKind::Zero;
        }
        acc += m.pattern;
        if u < acc {
            return PageKind::Pattern;
        }
        acc += m.duplicate;
        if u < acc {
            return PageKind::Duplicate;
        }
        acc += m.text;
        if u < acc {
            return PageKind::Text;
        }
        PageKind::Random
    }
}

fn fill_page(page: &mut [u8], kind: PageKind, rng: &mut XorShift, text: &mut TextGen) {
    match kind {
        PageKind::Zero => {}
        PageKind::Pattern => {
            // A repeated 16-byte structure, like a page of identical records or a fill pattern.
            let seed = rng.next_u64().to_le_bytes();
            for (i, b) in page.iter_mut().enumerate() {
                *b = seed[i % 8] ^ (i / 8 % 2) as u8;
            }
        }
        PageKind::Duplicate => {
            // One of a few shared library pages: identical across the image.
            let which = rng.next_u64() % 8;
            let mut r = XorShift::new(0xD0_0D ^ which);
            for c in page.chunks_exact_mut(8) {
                c.copy_from_slice(&r.next_u64().to_le_bytes());
            }
        }
        PageKind::Text => text.fill(page),
        PageKind::Random => {
            for c in page.chunks_exact_mut(8) {
                c.copy_from_slice(&rng.next_u64().to_le_bytes());
            }
        }
    }
}

/// Word-like text from a small vocabulary: compresses about like logs and documents.
struct TextGen {
    rng: XorShift,
}

impl TextGen {
    const WORDS: [&'static str; 32] = [
        "the",
        "migration",
        "host",
        "cluster",
        "node",
        "memory",
        "page",
        "virtual",
        "machine",
        "network",
        "storage",
        "service",
        "started",
        "stopped",
        "error",
        "warning",
        "info",
        "at",
        "from",
        "to",
        "with",
        "SMB",
        "RDMA",
        "TCP",
        "bytes",
        "ms",
        "user",
        "request",
        "ok",
        "failed",
        "retry",
        "queue",
    ];
    fn new(seed: u64) -> TextGen {
        TextGen {
            rng: XorShift::new(seed),
        }
    }
    fn fill(&mut self, page: &mut [u8]) {
        let mut i = 0;
        while i < page.len() {
            let r = self.rng.next_u64();
            let word = if r.is_multiple_of(7) {
                // A number, like a timestamp or an id.
                format!("{}", r >> 40)
            } else {
                Self::WORDS[(r % 32) as usize].to_string()
            };
            for &b in word.as_bytes().iter().chain(b" ") {
                if i < page.len() {
                    page[i] = b;
                    i += 1;
                }
            }
        }
    }
}

/// xorshift64*: tiny, seedable, good enough to pick pages and fill random bytes.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> XorShift {
        XorShift(mix64(seed) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The guest: a thread that writes `rate` bytes/s as whole-page writes at random over the first
/// `working_set_pages` pages, marking each written page dirty.
/// The guest writer thread panicked: the run did not dirty memory as configured.
#[derive(Debug, thiserror::Error)]
#[error("the guest writer thread panicked: {0}")]
pub struct GuestPanicked(pub String);

/// The text of a thread's panic payload.
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "no message".into()
    }
}

#[derive(Debug)]
pub struct Writer {
    stop: Arc<AtomicBool>,
    written: Arc<AtomicU64>,
    handle: Option<JoinHandle<()>>,
}

impl Writer {
    pub fn start(
        image: Arc<Image>,
        rate_bytes_per_s: f64,
        working_set_pages: usize,
        seed: u64,
    ) -> std::io::Result<Writer> {
        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicU64::new(0));
        let handle = if rate_bytes_per_s > 0.0 && working_set_pages > 0 {
            let (stop2, written2) = (stop.clone(), written.clone());
            let ws = working_set_pages.min(image.pages());
            Some(
                std::thread::Builder::new()
                    .name("lm-guest".into())
                    .spawn(move || {
                        guest_loop(&image, rate_bytes_per_s, ws, seed, &stop2, &written2);
                    })?,
            )
        } else {
            None
        };
        Ok(Writer {
            stop,
            written,
            handle,
        })
    }

    /// Stops the guest and waits until it has made its last write. Fails if the guest thread
    /// panicked (reported once: later calls find it stopped).
    pub fn stop(&mut self) -> Result<(), GuestPanicked> {
        self.stop.store(true, Ordering::Release);
        match self.handle.take() {
            Some(h) => h.join().map_err(|p| GuestPanicked(panic_text(&*p))),
            None => Ok(()),
        }
    }

    pub fn pages_written(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // A writer still running here belongs to a run that already failed for another reason
        // (a finished run stops it and reports a panic); there is nobody left to tell.
        let _ = self.stop();
    }
}

fn guest_loop(
    image: &Image,
    rate: f64,
    ws: usize,
    seed: u64,
    stop: &AtomicBool,
    written: &AtomicU64,
) {
    let mut rng = XorShift::new(seed ^ 0x0067_7565_7374);
    let start = Instant::now();
    let mut done: u64 = 0;
    let mut stamp: u64 = 1;
    while !stop.load(Ordering::Acquire) {
        let due = (start.elapsed().as_secs_f64() * rate / PAGE as f64) as u64;
        while done < due && !stop.load(Ordering::Acquire) {
            let p = (rng.next_u64() % ws as u64) as usize;
            let at = (rng.next_u64() % (PAGE as u64 / 8)) as usize * 8;
            stamp = stamp.wrapping_add(1);
            image.with_page_mut(p, |page| {
                page[at..at + 8].copy_from_slice(&stamp.to_le_bytes());
            });
            image.mark_dirty(p);
            done += 1;
            written.store(done, Ordering::Release);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lmlab_engine::scenario::MemoryProfileName;

    #[test]
    fn profiles_fill_the_fractions_they_name() {
        let img = Image::filled(4096, &MemoryProfile::Named(MemoryProfileName::Mixed), 7);
        let zero = (0..img.pages())
            .filter(|&p| img.with_page(p, is_zero))
            .count();
        let frac = zero as f64 / 4096.0;
        assert!((frac - 0.35).abs() < 0.03, "zero fraction {frac}");
        let img = Image::filled(64, &MemoryProfile::Named(MemoryProfileName::Zeros), 7);
        assert_eq!(img.checksum(), Image::zeroed(64).checksum());
    }

    #[test]
    fn the_zero_page_digest_is_a_zero_pages_digest() {
        assert_eq!(zero_page_digest(), page_digest(&[0u8; PAGE]));
        assert!(is_zero(&[0u8; PAGE]));
    }

    #[test]
    fn a_written_page_is_dirty_and_changes_the_checksum() {
        let img = Arc::new(Image::filled(
            512,
            &MemoryProfile::Named(MemoryProfileName::Random),
            1,
        ));
        let before = img.checksum();
        img.clear_dirty();
        let mut w = Writer::start(img.clone(), 4e6, 512, 3).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        w.stop().unwrap();
        assert!(w.pages_written() > 0);
        let dirty = img.take_dirty();
        assert!(!dirty.is_empty());
        assert_eq!(img.dirty_count(), 0);
        assert_ne!(img.checksum(), before);
    }
}
