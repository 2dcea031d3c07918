//! Writing a pack layer as a stream. The directory's reproducible tar goes through the
//! compressor into a temporary file under the store's `tmp/`, its SHA-256 and size computed on
//! the way, while the same tar bytes feed the store's tar ingestion on a second thread through
//! a [`crate::registry::transfer::tee`] (the check that the layer reproduces the tree). Memory stays a few buffers whatever the size of
//! the pack.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use sha2::{Digest as _, Sha256};

use crate::fs;
use crate::registry::RegistryError;
use crate::registry::format::artifact::{
    Blob, Compression, LAYER_TAR_GZIP, LAYER_TAR_ZSTD, invalid,
};
use crate::registry::transfer::tee::Tee;
use crate::store::Store;
use crate::store::tree::Tree;

/// The zstd level of pack layers: zstd's default. Level 19 made a layer ~20% smaller but
/// compressed at ~1 MB/s (a 60 MB tool took a minute to publish); level 3 runs at ~150 MB/s on
/// one thread. One thread and a fixed level: the bytes depend only on the input (and the zstd
/// library), never on the machine or on how the input is fed, so builds stay reproducible.
pub const ZSTD_LEVEL: i32 = 3;

/// Write the compressed tar of `dir` as a layer blob backed by a temporary file, and return
/// it with the tree that ingesting the same tar into `store` produced.
pub fn write(store: &Store, dir: &Path, c: Compression) -> Result<(Blob, Tree), RegistryError> {
    let io = |context: String| move |source| RegistryError::Io { context, source };
    let tmp_dir = store.staging()?;
    let tmp = fs::temp_file_in(&tmp_dir).map_err(io(format!(
        "cannot create a layer file in `{}`",
        tmp_dir.display()
    )))?;
    let (file, path) = tmp.into_parts();
    let (tee, reader) = Tee::new();
    let (written, tree) = std::thread::scope(|s| {
        let ingest =
            s.spawn(move || store.ingest_tar(reader, &crate::store::budget::Limits::unlimited()));
        let sink = Hashing::new(BufWriter::with_capacity(1 << 20, file));
        let written = write_tar(dir, Both(Encoder::new(c, sink), &tee));
        // On success and on error alike: the check sees the end of the tar.
        tee.close();
        (written, ingest.join())
    });
    let tree =
        tree.map_err(|_| RegistryError::Internal("the layer check stopped unexpectedly".into()))?;
    let (sink, tree) = match (written, tree) {
        (Ok(sink), Ok(tree)) => (sink, tree),
        (Err(e), _) => return Err(e),
        (Ok(_), Err(check)) => return Err(check.into()),
    };
    let Hashing { inner, sha, size } = sink;
    // A temporary file read back by this process only: flushed, never fsynced.
    inner
        .into_inner()
        .map_err(|e| e.into_error())
        .map_err(io(format!("cannot write `{}`", path.display())))?;
    let media_type = match c {
        Compression::Zstd => LAYER_TAR_ZSTD,
        Compression::Gzip => LAYER_TAR_GZIP,
    };
    let digest = format!("sha256:{}", hex::encode(sha.finalize()));
    Ok((Blob::file(media_type, digest, size, path), tree))
}

/// The tar of `dir` into `out`: returns what the compressor wrote to.
fn write_tar(
    dir: &Path,
    out: Both<Encoder<Hashing<BufWriter<std::fs::File>>>, &Tee>,
) -> Result<Hashing<BufWriter<std::fs::File>>, RegistryError> {
    let io = |source| RegistryError::Io {
        context: format!("cannot write the layer of `{}`", dir.display()),
        source,
    };
    // Buffered before the split, so the check receives the tar in chunks of this size.
    let mut builder = tar::Builder::new(BufWriter::with_capacity(64 << 10, out));
    append_dir(&mut builder, dir, "")?;
    let buffered = builder.into_inner().map_err(io)?;
    let Both(encoder, _) = buffered.into_inner().map_err(|e| io(e.into_error()))?;
    encoder.finish().map_err(io)
}

/// The tar of a pack directory, byte-for-byte reproducible: entries sorted by name, parents
/// first, mtime 0, uid/gid 0, no user/group names, modes 0755 (directories, executables) or
/// 0644, GNU long-name records only when a path needs them, no pax records.
fn append_dir<W: Write>(
    b: &mut tar::Builder<W>,
    dir: &Path,
    prefix: &str,
) -> Result<(), RegistryError> {
    let io = |what: &Path| {
        let what = what.display().to_string();
        move |source| RegistryError::Io {
            context: format!("cannot read `{what}`"),
            source,
        }
    };
    let mut names = Vec::new();
    for item in fs::read_dir(dir).map_err(io(dir))? {
        names.push(item.map_err(io(dir))?.file_name());
    }
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let name = name
            .to_str()
            .ok_or_else(|| invalid(&path.display().to_string(), "the name is not valid UTF-8"))?;
        let rel = if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}/{name}")
        };
        let meta = fs::symlink_metadata(&path).map_err(io(&path))?;
        let mut h = tar::Header::new_gnu();
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        let tar_io = |source| RegistryError::Io {
            context: format!("cannot add `{rel}` to the tar"),
            source,
        };
        if meta.file_type().is_symlink() {
            let target = fs::read_link(&path).map_err(io(&path))?;
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_mode(0o777);
            h.set_size(0);
            b.append_link(&mut h, &rel, &target).map_err(tar_io)?;
        } else if meta.is_dir() {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
            b.append_data(&mut h, format!("{rel}/"), io::empty())
                .map_err(tar_io)?;
            append_dir(b, &path, &rel)?;
        } else if meta.is_file() {
            use crate::fs::PermissionsExt;
            let exec = meta.permissions().mode() & 0o111 != 0;
            h.set_entry_type(tar::EntryType::Regular);
            h.set_mode(if exec { 0o755 } else { 0o644 });
            h.set_size(meta.len());
            let file = fs::open_regular(&path).map_err(io(&path))?;
            b.append_data(&mut h, &rel, file).map_err(tar_io)?;
        } else {
            return Err(invalid(
                &path.display().to_string(),
                "device files, FIFOs and sockets are not allowed in a pack",
            ));
        }
    }
    Ok(())
}

/// The layer compressor.
enum Encoder<W: Write> {
    Zstd(zstd::Encoder<'static, W>),
    Gzip(flate2::write::GzEncoder<W>),
}

impl<W: Write> Encoder<W> {
    fn new(c: Compression, out: W) -> Encoder<W> {
        match c {
            Compression::Zstd => Encoder::Zstd(
                zstd::Encoder::new(out, ZSTD_LEVEL).expect("zstd accepts its default level"),
            ),
            Compression::Gzip => Encoder::Gzip(
                flate2::GzBuilder::new()
                    .mtime(0)
                    .write(out, flate2::Compression::default()),
            ),
        }
    }

    fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Zstd(e) => e.finish(),
            Encoder::Gzip(e) => e.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Zstd(e) => e.write(buf),
            Encoder::Gzip(e) => e.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Zstd(e) => e.flush(),
            Encoder::Gzip(e) => e.flush(),
        }
    }
}

/// Every byte to both writers.
struct Both<A, B>(A, B);

impl<A: Write, B: Write> Write for Both<A, B> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_all(buf)?;
        self.1.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()?;
        self.1.flush()
    }
}

/// A writer that computes the SHA-256 and size of what passes through.
struct Hashing<W> {
    inner: W,
    sha: Sha256,
    size: u64,
}

impl<W> Hashing<W> {
    fn new(inner: W) -> Hashing<W> {
        Hashing {
            inner,
            sha: Sha256::new(),
            size: 0,
        }
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
