//! Zip archives (release assets, and later skill registries' downloads) as tar streams: a zip
//! is checked for what only zips can get wrong — local and central headers that disagree,
//! overlapping or unlisted entries, duplicate names, encrypted entries, setuid, setgid and
//! sticky modes, more entries or bytes than the limits allow — and written out as a tar that
//! the store then ingests with every rule a layer gets (names, `..`, absolute paths, links
//! out, devices, duplicates).

use std::io::{Read, Seek, Write};

use crate::store::budget::Limits;

/// Why a zip was refused.
#[derive(Debug, thiserror::Error)]
pub enum ZipError {
    #[error("not a usable zip archive: {0}")]
    Unreadable(#[from] zip::result::ZipError),
    #[error("zip entry `{name}`: {problem}")]
    Entry { name: String, problem: String },
    #[error("the zip holds more than {0} entries")]
    TooManyEntries(u64),
    #[error("the zip expands to more than {0} bytes")]
    TooLarge(u64),
    #[error("cannot write the converted archive: {0}")]
    Io(#[from] std::io::Error),
}

/// Write the zip read from `zip` as a tar to `out`, within `limits` (checked against the sizes
/// the zip declares and the bytes actually decompressed).
pub fn to_tar(zip: impl Read + Seek, out: impl Write, limits: &Limits) -> Result<(), ZipError> {
    to_tar_within(zip, out, limits, u64::MAX)
}

/// [`to_tar`], refusing any entry that declares more than `max_file` bytes.
pub fn to_tar_within(
    zip: impl Read + Seek,
    out: impl Write,
    limits: &Limits,
    max_file: u64,
) -> Result<(), ZipError> {
    let mut archive = zip::ZipArchive::new(zip)?;
    archive.validate_header_consistency()?;
    if archive.len() as u64 > limits.max_entries {
        return Err(ZipError::TooManyEntries(limits.max_entries));
    }
    let mut tar = tar::Builder::new(out);
    tar.mode(tar::HeaderMode::Deterministic);
    let mut total = 0u64;
    for i in 0..archive.len() {
        // Read without decrypting first: an encrypted entry is named, not asked a password for.
        {
            let raw = archive.by_index_raw(i)?;
            if raw.encrypted() {
                return Err(ZipError::Entry {
                    name: raw.name()?.into_owned(),
                    problem: "is encrypted".into(),
                });
            }
        }
        let mut file = archive.by_index(i)?;
        let name = file.name()?.into_owned();
        let entry = |problem: &str| ZipError::Entry {
            name: name.clone(),
            problem: problem.to_owned(),
        };
        if name.starts_with('/')
            || name.contains('\\')
            || name.contains('\0')
            || name.split('/').any(|part| part == "..")
        {
            return Err(entry(
                "has a path that leaves the archive (absolute, `..`, or a backslash)",
            ));
        }
        let mode = file.unix_mode().unwrap_or(0);
        // The crate clears the special bits from `unix_mode`: read them from the raw
        // attributes (the Unix mode is their high 16 bits).
        let raw = if file.system() == zip::System::Unix {
            file.external_attributes() >> 16
        } else {
            0
        };
        if raw & 0o7000 != 0 {
            return Err(entry("has a setuid, setgid or sticky mode"));
        }
        let kind = mode & 0o170000;
        if kind != 0 && !matches!(kind, 0o100000 | 0o040000 | 0o120000) {
            return Err(entry("is a device, FIFO or socket"));
        }
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        if file.is_dir() {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o755);
            header.set_size(0);
            tar.append_data(&mut header, name.trim_end_matches('/'), std::io::empty())?;
            continue;
        }
        if file.size() > max_file {
            return Err(entry(&format!("is larger than {max_file} bytes")));
        }
        total = total.saturating_add(file.size());
        if total > limits.max_bytes {
            return Err(ZipError::TooLarge(limits.max_bytes));
        }
        // Never more than declared: a lying size header cannot expand further.
        let declared = file.size();
        let mut data = Vec::new();
        (&mut file)
            .take(declared.saturating_add(1))
            .read_to_end(&mut data)?;
        if data.len() as u64 != declared {
            return Err(entry("holds more or fewer bytes than its header says"));
        }
        if file.is_symlink() {
            let target = String::from_utf8(data)
                .map_err(|_| entry("is a link whose target is not UTF-8"))?;
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_mode(0o777);
            header.set_size(0);
            tar.append_link(&mut header, &name, &target)?;
            continue;
        }
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(if mode & 0o111 != 0 { 0o755 } else { 0o644 });
        header.set_size(data.len() as u64);
        tar.append_data(&mut header, &name, data.as_slice())?;
    }
    tar.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use zip::write::SimpleFileOptions;

    fn zip_of(entries: &[(&str, &[u8], u32)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data, mode) in entries {
            w.start_file(*name, SimpleFileOptions::default().unix_permissions(*mode))
                .unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn convert(bytes: Vec<u8>) -> Result<Vec<(String, u32)>, String> {
        let mut out = Vec::new();
        to_tar(Cursor::new(bytes), &mut out, &Limits::new(1 << 20, 100))
            .map_err(|e| e.to_string())?;
        let mut names = Vec::new();
        for e in tar::Archive::new(out.as_slice()).entries().unwrap() {
            let e = e.unwrap();
            names.push((
                e.path().unwrap().display().to_string(),
                e.header().mode().unwrap(),
            ));
        }
        Ok(names)
    }

    #[test]
    fn files_and_modes_become_tar_entries() {
        let got = convert(zip_of(&[
            ("SKILL.md", b"x", 0o644),
            ("scripts/run.sh", b"#!/bin/sh\n", 0o755),
        ]))
        .unwrap();
        assert_eq!(
            got,
            [
                ("SKILL.md".to_owned(), 0o644),
                ("scripts/run.sh".to_owned(), 0o755)
            ]
        );
    }

    #[test]
    fn what_only_zips_get_wrong_is_refused() {
        // Writers mask the mode: set the setuid bit in the central directory's external
        // attributes (offset 38 of the header, the Unix mode in its high 16 bits).
        let mut bytes = zip_of(&[("x", b"x", 0o755)]);
        let central = bytes.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        bytes[central + 38..central + 42].copy_from_slice(&((0o104755u32) << 16).to_le_bytes());
        let setuid = convert(bytes).unwrap_err();
        assert!(setuid.contains("setuid"), "{setuid}");
        let big = convert(zip_of(&[
            ("a", &[0u8; 600_000], 0o644),
            ("b", &[0u8; 600_000], 0o644),
        ]))
        .unwrap_err();
        assert!(big.contains("more than 1048576 bytes"), "{big}");
        // A local header whose name differs from the central directory's.
        let mut bytes = zip_of(&[("good.txt", b"x", 0o644)]);
        let at = bytes.windows(8).position(|w| w == b"good.txt").unwrap();
        bytes[at..at + 8].copy_from_slice(b"evil.txt");
        let mismatch = convert(bytes).unwrap_err();
        assert!(mismatch.contains("not a usable zip archive"), "{mismatch}");
        assert!(convert(b"PK\x03\x04 not really".to_vec()).is_err());
    }
}
