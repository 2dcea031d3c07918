//! Unpacking a layer while it downloads: the bytes a blob's download (or copy) writes to its
//! staging file are also handed, in order, to a reader on another thread, which unpacks them
//! into objects that get their names only once the whole blob matched its digest.
//!
//! Chunks travel as [`Bytes`], so a chunk already held that way (a network read) is handed on
//! without a copy. The channel between them is bounded, so memory stays flat: a reader slower than the
//! network slows the download down instead of buffering it. When a download has to start
//! again from the first byte (a registry that ignored a range request), what was handed on is
//! no longer a prefix of the blob: the tee is marked broken and the caller unpacks the
//! verified staging file instead.

use std::io::{Read, Write};

use bytes::Bytes;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Chunks in flight between the download and the reader (each at most a read buffer, about
/// 400 KiB): enough to keep both sides busy (16 measured no faster, and 3.7 MiB more at peak;
/// docs/benchmarks.md, Memory).
const CHUNKS_IN_FLIGHT: usize = 4;

/// The sending side, given to the download.
#[derive(Debug)]
pub struct Tee {
    tx: Mutex<Option<SyncSender<Bytes>>>,
    broken: AtomicBool,
}

/// The receiving side: the blob's bytes in order, then the end once the tee is closed.
#[derive(Debug)]
pub struct TeeReader {
    rx: Receiver<Bytes>,
    chunk: Bytes,
    at: usize,
}

impl Tee {
    /// A connected tee and reader.
    pub fn new() -> (Tee, TeeReader) {
        let (tx, rx) = sync_channel(CHUNKS_IN_FLIGHT);
        (
            Tee {
                tx: Mutex::new(Some(tx)),
                broken: AtomicBool::new(false),
            },
            TeeReader {
                rx,
                chunk: Bytes::new(),
                at: 0,
            },
        )
    }

    /// Hand on the next bytes of the blob (blocks while the reader is behind). A reader that
    /// stopped (it found the archive bad) is not an error here: the download goes on, so that
    /// a wrong digest is still reported as such.
    pub fn send(&self, bytes: Bytes) {
        let mut tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sender) = tx.as_ref()
            && sender.send(bytes).is_err()
        {
            *tx = None;
        }
    }

    /// The download starts again from the first byte: what was handed on cannot be used.
    pub fn restart(&self) {
        self.broken.store(true, Ordering::Relaxed);
        self.close();
    }

    /// No more bytes: the reader sees the end.
    pub fn close(&self) {
        *self.tx.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Whether the bytes handed on are not the blob (see [`Tee::restart`]).
    pub fn is_broken(&self) -> bool {
        self.broken.load(Ordering::Relaxed)
    }
}

/// Writing to a tee hands a copy of the bytes on; it never fails (see [`Tee::send`]).
impl Write for &Tee {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.send(Bytes::copy_from_slice(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Read for TeeReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.rx.recv() {
                Ok(next) => {
                    self.chunk = next;
                    self.at = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_arrive_in_order_then_the_end() {
        let (tee, mut reader) = Tee::new();
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let got = std::thread::scope(|s| {
            let r = s.spawn(move || {
                let mut out = Vec::new();
                reader.read_to_end(&mut out).map(|_| out)
            });
            for chunk in data.chunks(777) {
                tee.send(Bytes::copy_from_slice(chunk));
            }
            tee.close();
            r.join().unwrap().unwrap()
        });
        assert_eq!(got, data);
        assert!(!tee.is_broken());
    }

    #[test]
    fn a_reader_that_stops_never_blocks_the_sender() {
        let (tee, reader) = Tee::new();
        drop(reader);
        for _ in 0..(CHUNKS_IN_FLIGHT * 4) {
            tee.send(Bytes::from_static(&[0; 1024]));
        }
        tee.close();
    }

    #[test]
    fn a_restart_breaks_the_tee_and_ends_the_reader() {
        let (tee, mut reader) = Tee::new();
        tee.send(Bytes::from_static(b"abc"));
        tee.restart();
        tee.send(Bytes::from_static(b"abc")); // the download goes on into its staging file only
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abc");
        assert!(tee.is_broken());
    }
}
