//! Reading a data connection: `Pages` batches applied to the destination image with pass
//! ordering (uncompressed batches read straight into the image with `readv`; sealed ones opened
//! first), `PassEnd`s passed on to the control session.

use super::image::DestImage;
use super::{DataEvent, IDLE_LIMIT, Log, Migration};
use crate::image::{CHUNK_PAGES, DIGEST_GROUP, PAGE, page_digest, zero_page_digest};
use crate::wire::{
    self, Codec, FRAME_HEAD_LEN, FrameIn, FrameOut, Kind, MAX_BATCH_FRAME, PAGES_HEAD_LEN,
    PagesHead, PassEnd, Reader, WireError, parse_index_entry, proto, send,
};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpStream;

/// Serves data channel `channel` of `migration` once it has joined: tells the source it is
/// ready, then receives on a blocking thread (as the source sends: see `source::Channel`) until
/// the channel or the migration ends.
pub(super) async fn serve_channel(
    migration: &Arc<Migration>,
    mut s: TcpStream,
    peer: SocketAddr,
    channel: u16,
    mut out: FrameOut,
    inp: FrameIn,
    log: &Log,
) -> Result<(), WireError> {
    send(&mut s, &mut out, Kind::Ready, &[]).await?;
    let mut s = s.into_std()?;
    s.set_nonblocking(false)?;
    s.set_read_timeout(Some(IDLE_LIMIT))?;
    match s.try_clone() {
        Ok(c) => migration
            .sockets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((channel, c)),
        // Without a clone the end of the migration cannot wake this receiver: it stops at its
        // next frame or the idle limit instead.
        Err(e) => log(format!(
            "{peer}: channel {channel}: cannot keep a handle to close it ({e})"
        )),
    }
    if migration.is_finished() {
        return Ok(());
    }
    let m = migration.clone();
    let result = tokio::task::spawn_blocking(move || {
        let r = receive(&m, &mut s, channel, inp);
        if r.is_err() {
            // Closed at once (this handle and the migration's), so the source's next write
            // fails instead of filling a socket nobody reads.
            m.forget_socket(channel);
        }
        r
    })
    .await
    .map_err(|e| proto(format!("receiver thread failed: {e}")))?;
    match result {
        // The source closing its channels after the migration is the normal end.
        Ok(()) if migration.is_finished() => {}
        Ok(()) => {
            migration.notify(DataEvent::Lost(channel));
            log(format!(
                "{peer}: channel {channel} closed by the source mid-migration"
            ));
        }
        Err(e) => {
            migration.notify(DataEvent::Lost(channel));
            log(format!("{peer}: channel {channel} lost: {e}"));
        }
    }
    Ok(())
}

/// Reads frames until the source closes the channel or the migration has finished.
fn receive(
    migration: &Migration,
    s: &mut std::net::TcpStream,
    channel: u16,
    mut inp: FrameIn,
) -> Result<(), WireError> {
    use std::io::Read;
    let mut bufs = RecvBufs::default();
    let mut sealed = Vec::new();
    loop {
        let mut head = [0u8; FRAME_HEAD_LEN];
        match s.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        let kind = wire::kind_of(head[0])?;
        let len = wire::frame_len(&head)?;
        if len > MAX_BATCH_FRAME {
            return Err(proto(format!(
                "frame of {len} bytes on a data channel (at most {MAX_BATCH_FRAME})"
            )));
        }
        if migration.is_finished() {
            return Ok(());
        }
        migration.touch();
        let buf = if inp.is_sealed() {
            // The whole frame is read and opened before any of it is used.
            sealed.resize(len, 0);
            s.read_exact(&mut sealed)?;
            inp.open_in_place(&head, &mut sealed)?;
            if kind == Kind::Pages {
                let n = sealed.len();
                read_batch(&migration.image, &mut sealed.as_slice(), n, &mut bufs)?;
                continue;
            }
            &sealed
        } else {
            if kind == Kind::Pages {
                read_batch(&migration.image, s, len, &mut bufs)?;
                continue;
            }
            bufs.buf.resize(len, 0);
            s.read_exact(&mut bufs.buf)?;
            &bufs.buf
        };
        match kind {
            Kind::PassEnd => {
                let end = PassEnd::decode(buf)?;
                migration.notify(DataEvent::PassEnd(channel, end.pass));
            }
            k => return Err(proto(format!("unexpected {k:?} on a data channel"))),
        }
    }
}

/// Buffers a receiver reuses from batch to batch.
#[derive(Default)]
struct RecvBufs {
    buf: Vec<u8>,
    raw: Vec<u8>,
    scratch: Vec<u8>,
}

/// Reads the rest of a `Pages` frame of `len` bytes (its 5-byte head already read) and writes
/// its pages. Header and index come first; an uncompressed batch's pages are then read straight
/// into the image (`readv`), as the source sent them straight from its image.
fn read_batch(
    img: &DestImage,
    s: &mut impl std::io::Read,
    len: usize,
    b: &mut RecvBufs,
) -> Result<(), WireError> {
    if len < PAGES_HEAD_LEN {
        return Err(proto(format!("batch frame of {len} bytes")));
    }
    let mut ph = [0u8; PAGES_HEAD_LEN];
    s.read_exact(&mut ph)?;
    let pages = PagesHead::read(&mut Reader::new(&ph))?;
    let index_len = pages.count as usize * 8;
    if len < PAGES_HEAD_LEN + index_len {
        return Err(proto(format!(
            "batch of {} pages in a {len}-byte frame",
            pages.count
        )));
    }
    b.buf.resize(index_len, 0);
    s.read_exact(&mut b.buf)?;
    let blob_len = len - PAGES_HEAD_LEN - index_len;
    let batch = Batch::parse(&pages, &b.buf, img.pages(), blob_len)?;
    if pages.codec == Codec::None && batch.ascending {
        return read_into_image(img, s, &pages, &batch, &mut b.scratch);
    }
    b.buf.resize(blob_len, 0);
    s.read_exact(&mut b.buf)?;
    // `decode` yields exactly `raw_len` bytes, which `Batch::parse` matched against the index.
    let data = decode(&pages, &b.buf, &mut b.raw)?;
    for (&(p, zero), &at) in batch.entries.iter().zip(&batch.data_at) {
        img.write(p, pages.pass, (!zero).then(|| &data[at..at + PAGE]));
    }
    Ok(())
}

/// A batch's page index, checked: every page inside the image, and as many data pages as the
/// blob holds.
struct Batch {
    /// (page, is zero) in the order the batch lists them.
    entries: Vec<(usize, bool)>,
    /// Offset of each entry's bytes in the (uncompressed) blob; unused for zero pages.
    data_at: Vec<usize>,
    /// Pages strictly ascending (what our source sends): the batch can be read in place.
    ascending: bool,
}

impl Batch {
    fn parse(
        head: &PagesHead,
        index: &[u8],
        pages: usize,
        blob_len: usize,
    ) -> Result<Batch, WireError> {
        let mut entries = Vec::with_capacity(head.count as usize);
        let mut data_at = Vec::with_capacity(head.count as usize);
        let mut at = 0;
        let mut ascending = true;
        for e in index.chunks_exact(8) {
            let (p, zero) = parse_index_entry(e.try_into().unwrap_or([0; 8]));
            if p >= pages as u64 {
                return Err(proto(format!("page {p} is outside the {pages}-page image")));
            }
            let p = p as usize;
            ascending &= entries.last().is_none_or(|&(q, _)| q < p);
            entries.push((p, zero));
            data_at.push(at);
            if !zero {
                at += PAGE;
            }
        }
        let batch = Batch {
            entries,
            data_at,
            ascending,
        };
        if head.codec == Codec::None {
            batch.check_data(blob_len)?;
        }
        batch.check_data(head.raw_len as usize)?;
        Ok(batch)
    }

    fn data_pages(&self) -> usize {
        self.entries.iter().filter(|e| !e.1).count()
    }

    fn check_data(&self, bytes: usize) -> Result<(), WireError> {
        let n = self.data_pages();
        if n * PAGE != bytes {
            return Err(proto(format!(
                "{n} data pages but {bytes} bytes of page data"
            )));
        }
        Ok(())
    }
}

/// Reads an uncompressed batch's pages from the socket straight into the image (one `readv`),
/// with the chunks involved write-locked, so the pass check and the write are one step. A page a
/// newer pass already wrote is read into `scratch` and dropped.
fn read_into_image(
    img: &DestImage,
    s: &mut impl std::io::Read,
    head: &PagesHead,
    batch: &Batch,
    scratch: &mut Vec<u8>,
) -> Result<(), WireError> {
    let mut guards = Vec::new();
    for &(p, _) in &batch.entries {
        let c = p / CHUNK_PAGES;
        if guards.last().is_none_or(|(gc, _)| *gc != c) {
            guards.push((c, img.image.write_chunk(c)));
        }
    }
    let mut data = Vec::with_capacity(batch.entries.len());
    for &(p, zero) in &batch.entries {
        match (zero, img.takes(p, head.pass)) {
            (false, f) => data.push((p, f)),
            (true, true) => {
                let (_, g) = guard_of(&mut guards, p)?;
                let off = (p % CHUNK_PAGES) * PAGE;
                g[off..off + PAGE].fill(0);
                img.record(p, head.pass, zero_page_digest());
            }
            (true, false) => {}
        }
    }
    scratch.resize(DIGEST_GROUP * PAGE, 0);
    // In groups that fit the core's cache, each page's digest is taken right after the kernel
    // wrote it (see the source's `send_plain`).
    for group in data.chunks(DIGEST_GROUP) {
        {
            let mut spare = scratch.chunks_exact_mut(PAGE);
            let mut io = Vec::with_capacity(group.len());
            let mut want = group.iter().peekable();
            for (c, g) in guards.iter_mut() {
                let mut in_chunk = g.chunks_exact_mut(PAGE);
                let mut next = 0;
                while let Some(&&(p, fresh)) = want.peek() {
                    if p / CHUNK_PAGES != *c {
                        break;
                    }
                    want.next();
                    let off = p % CHUNK_PAGES;
                    let page = in_chunk
                        .nth(off - next)
                        .ok_or_else(|| proto(format!("page {p} is past the image's end")))?;
                    next = off + 1;
                    io.push(std::io::IoSliceMut::new(if fresh {
                        page
                    } else {
                        spare.next().ok_or_else(|| proto("scratch page missing"))?
                    }));
                }
            }
            read_exact_vectored(s, &mut io)?;
        }
        for &(p, _) in group.iter().filter(|(_, f)| *f) {
            let (_, g) = guard_of(&mut guards, p)?;
            let off = (p % CHUNK_PAGES) * PAGE;
            img.record(p, head.pass, page_digest(&g[off..off + PAGE]));
        }
    }
    Ok(())
}

type ChunkGuard<'a> = (usize, std::sync::RwLockWriteGuard<'a, Vec<u8>>);

fn guard_of<'g, 'a>(
    guards: &'g mut [ChunkGuard<'a>],
    p: usize,
) -> Result<&'g mut ChunkGuard<'a>, WireError> {
    guards
        .iter_mut()
        .find(|(c, _)| *c == p / CHUNK_PAGES)
        .ok_or_else(|| proto(format!("page {p}'s chunk is not locked")))
}

fn read_exact_vectored(
    r: &mut impl std::io::Read,
    mut bufs: &mut [std::io::IoSliceMut<'_>],
) -> std::io::Result<()> {
    while !bufs.is_empty() {
        match r.read_vectored(bufs) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => std::io::IoSliceMut::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The uncompressed page data of a batch's blob.
fn decode<'a>(
    head: &PagesHead,
    blob: &'a [u8],
    raw: &'a mut Vec<u8>,
) -> Result<&'a [u8], WireError> {
    match head.codec {
        Codec::None => Ok(blob),
        Codec::Lz4 => {
            raw.resize(head.raw_len as usize, 0);
            let n = lz4_flex::block::decompress_into(blob, raw)
                .map_err(|e| proto(format!("lz4 batch does not decompress: {e}")))?;
            if n != raw.len() {
                return Err(proto("lz4 batch decompressed to the wrong length"));
            }
            Ok(raw)
        }
        Codec::Zstd => {
            raw.resize(head.raw_len as usize, 0);
            let n = zstd::bulk::decompress_to_buffer(blob, raw)
                .map_err(|e| proto(format!("zstd batch does not decompress: {e}")))?;
            if n != raw.len() {
                return Err(proto("zstd batch decompressed to the wrong length"));
            }
            Ok(raw)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    /// A `Pages` frame's payload (after the 5-byte head): header, index, uncompressed blob.
    fn batch(pass: u32, pages: &[(u64, Option<u8>)]) -> Vec<u8> {
        let data: Vec<u8> = pages
            .iter()
            .filter_map(|(_, fill)| fill.map(|b| vec![b; PAGE]))
            .flatten()
            .collect();
        let mut out = vec![0u8; PAGES_HEAD_LEN];
        PagesHead {
            pass,
            codec: Codec::None,
            count: pages.len() as u32,
            raw_len: data.len() as u32,
        }
        .write(&mut out);
        for &(p, fill) in pages {
            out.extend_from_slice(&wire::index_entry(p as u32, fill.is_none()));
        }
        out.extend_from_slice(&data);
        out
    }

    fn read_all(img: &DestImage, frames: &[Vec<u8>]) -> Result<(), WireError> {
        let stream: Vec<u8> = frames.concat();
        let mut r: &[u8] = &stream;
        let mut bufs = RecvBufs::default();
        for f in frames {
            read_batch(img, &mut r, f.len(), &mut bufs)?;
        }
        assert!(r.is_empty(), "{} bytes left unread", r.len());
        Ok(())
    }

    fn page(img: &DestImage, p: usize) -> Vec<u8> {
        img.image.with_page(p, <[u8]>::to_vec)
    }

    fn assert_page(img: &DestImage, p: usize, byte: u8, pass: u32) {
        assert_eq!(page(img, p), vec![byte; PAGE], "page {p}");
        let (written_by, digest) = img.page_record(p);
        assert_eq!(written_by, pass, "pass of page {p}");
        assert_eq!(digest, page_digest(&vec![byte; PAGE]), "digest of page {p}");
    }

    #[test]
    fn an_ascending_batch_lands_in_place_across_chunks_with_zero_pages() {
        let img = DestImage::new(600);
        // Pages on both sides of a chunk boundary (256), a zero page among them, more than one
        // digest group.
        let mut list: Vec<(u64, Option<u8>)> = (200..300).map(|p| (p, Some(p as u8))).collect();
        list[60] = (260, None);
        img.write(260, 1, Some(&[9u8; PAGE]));
        read_all(&img, &[batch(2, &list)]).unwrap();
        for &(p, fill) in &list {
            assert_page(&img, p as usize, fill.unwrap_or(0), 2);
        }
        assert_page(&img, 199, 0, 0);
    }

    #[test]
    fn a_late_batch_never_overwrites_a_newer_copy_and_the_stream_stays_in_step() {
        let img = DestImage::new(64);
        let newer = batch(3, &[(5, Some(0xAA)), (7, None)]);
        let late = batch(2, &[(4, Some(1)), (5, Some(2)), (6, Some(3)), (7, Some(4))]);
        let after = batch(4, &[(8, Some(5))]);
        img.write(7, 1, Some(&[0x77; PAGE]));
        read_all(&img, &[newer, late, after]).unwrap();
        assert_page(&img, 4, 1, 2);
        assert_page(&img, 5, 0xAA, 3);
        assert_page(&img, 6, 3, 2);
        assert_page(&img, 7, 0, 3);
        assert_page(&img, 8, 5, 4);
    }

    #[test]
    fn an_unordered_batch_is_still_applied_page_by_page() {
        let img = DestImage::new(64);
        let b = batch(1, &[(9, Some(9)), (3, Some(3)), (9, Some(10))]);
        read_all(&img, &[b]).unwrap();
        assert_page(&img, 3, 3, 1);
        assert_page(&img, 9, 10, 1);
    }

    #[test]
    fn a_batch_whose_blob_does_not_match_its_index_is_refused_before_writing() {
        let img = DestImage::new(64);
        let mut b = batch(1, &[(1, Some(1)), (2, Some(2))]);
        b.truncate(b.len() - PAGE);
        // The header still says two data pages.
        let e = read_all(&img, &[b]).unwrap_err().to_string();
        assert!(e.contains("bytes of page data"), "{e}");
        assert_page(&img, 1, 0, 0);
        let e = read_all(&img, &[vec![0u8; 3]]).unwrap_err().to_string();
        assert!(e.contains("batch frame of 3 bytes"), "{e}");
    }
}
