//! The destination's copy of the image.

use crate::image::{Digest, Image, page_digest, zero_page_digest};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// The destination's copy of the image: page bytes in locked chunks plus, per page, the pass of
/// its last write and the digest of what was written.
pub(super) struct DestImage {
    pub(super) image: Image,
    pass: Vec<AtomicU32>,
    digest: Vec<AtomicU64>,
}

impl DestImage {
    pub(super) fn new(pages: usize) -> DestImage {
        let zero = zero_page_digest();
        DestImage {
            image: Image::zeroed(pages),
            pass: (0..pages).map(|_| AtomicU32::new(0)).collect(),
            digest: (0..pages).map(|_| AtomicU64::new(zero)).collect(),
        }
    }

    pub(super) fn pages(&self) -> usize {
        self.pass.len()
    }

    /// Writes page `p` as sent by a batch of `pass` (`None`: a zero page), unless a newer pass
    /// already wrote it.
    pub(super) fn write(&self, p: usize, pass: u32, bytes: Option<&[u8]>) {
        self.image.with_page_mut(p, |page| {
            // Under the chunk lock: the pass check and the write are one step.
            if !self.takes(p, pass) {
                return;
            }
            let digest = match bytes {
                Some(b) => {
                    page.copy_from_slice(b);
                    page_digest(page)
                }
                None => {
                    page.fill(0);
                    zero_page_digest()
                }
            };
            self.record(p, pass, digest);
        });
    }

    /// Whether page `p` may be written by a batch of `pass`: not if a newer pass already wrote it.
    /// Callers hold the page's chunk lock across this check and the write.
    pub(super) fn takes(&self, p: usize, pass: u32) -> bool {
        self.pass[p].load(Ordering::Acquire) <= pass
    }

    /// Notes that page `p` now holds what `pass` sent, whose digest is `digest`.
    pub(super) fn record(&self, p: usize, pass: u32, digest: u64) {
        self.pass[p].store(pass, Ordering::Release);
        self.digest[p].store(digest, Ordering::Release);
    }

    /// The pass of page `p`'s last write and the digest recorded for it.
    #[cfg(test)]
    pub(super) fn page_record(&self, p: usize) -> (u32, u64) {
        (
            self.pass[p].load(Ordering::Acquire),
            self.digest[p].load(Ordering::Acquire),
        )
    }

    /// The digest of the page-digest table (what the source's table must match).
    pub(super) fn table_digest(&self) -> u64 {
        let mut d = Digest::new();
        for x in &self.digest {
            d.push(x.load(Ordering::Acquire));
        }
        d.finish()
    }
}
