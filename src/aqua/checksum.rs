//! Checksum files as releases publish them: `<hex>  <file>` lines (`sha256sum`'s, with `*`
//! for binary mode and paths reduced to their file name), one bare digest, the whole file as
//! the digest (`raw`), or lines matched by the entry's regular expressions (`regexp`); and
//! digests of downloaded bytes by the algorithm an entry declares.

use sha2::Digest as _;

use crate::aqua::resolve::{Algorithm, FileFormat};

/// The digest (lowercase hex) `content` gives for `asset`; `None` when it lists none.
pub fn find(content: &str, format: &FileFormat, asset: &str) -> Result<Option<String>, String> {
    let content = content.replace("\r\n", "\n");
    let found = match format {
        FileFormat::Raw => Some(content.trim().to_owned()),
        FileFormat::Lines => {
            let lines: Vec<&str> = content.trim().lines().collect();
            if let [one] = lines.as_slice()
                && !one.contains([' ', '\t'])
            {
                Some((*one).to_owned())
            } else {
                lines.iter().find_map(|line| {
                    let (digest, file) = line.split_once([' ', '\t'])?;
                    let file = file.trim();
                    let file = file.rsplit('/').next().unwrap_or(file);
                    (file.trim_start_matches('*') == asset).then(|| digest.to_owned())
                })
            }
        }
        FileFormat::Regexp { checksum, file } => {
            let c = regex::Regex::new(checksum).map_err(|e| e.to_string())?;
            let group = |re: &regex::Regex, line: &str| {
                re.captures(line)
                    .and_then(|m| m.get(1))
                    .map(|m| m.as_str().to_owned())
            };
            match file {
                None => content.lines().find_map(|l| group(&c, l)),
                Some(f) => {
                    let f = regex::Regex::new(f).map_err(|e| e.to_string())?;
                    content.lines().find_map(|l| {
                        let digest = group(&c, l)?;
                        (group(&f, l)? == asset).then_some(digest)
                    })
                }
            }
        }
    };
    Ok(found.map(|d| d.trim().to_ascii_lowercase()))
}

/// Whether `digest` is hex of the length `algorithm` makes.
pub fn well_formed(digest: &str, algorithm: Algorithm) -> bool {
    let len = match algorithm {
        Algorithm::Sha256 => 64,
        Algorithm::Sha512 => 128,
        Algorithm::Sha1 => 40,
        Algorithm::Md5 => 32,
    };
    digest.len() == len && digest.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A running digest of downloaded bytes.
pub enum Hasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
    Sha1(sha1::Sha1),
}

impl Hasher {
    /// A hasher for `algorithm` (`None`: md5, which aibox does not compute).
    pub fn new(algorithm: Algorithm) -> Option<Hasher> {
        match algorithm {
            Algorithm::Sha256 => Some(Hasher::Sha256(sha2::Sha256::new())),
            Algorithm::Sha512 => Some(Hasher::Sha512(sha2::Sha512::new())),
            Algorithm::Sha1 => Some(Hasher::Sha1(<sha1::Sha1 as sha1::Digest>::new())),
            Algorithm::Md5 => None,
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
            Hasher::Sha1(h) => sha1::Digest::update(h, bytes),
        }
    }

    /// Lowercase hex.
    pub fn finish(self) -> String {
        match self {
            Hasher::Sha256(h) => hex::encode(h.finalize()),
            Hasher::Sha512(h) => hex::encode(h.finalize()),
            Hasher::Sha1(h) => hex::encode(sha1::Digest::finalize(h)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn reads_the_usual_shapes() {
        let sums = format!("{A}  tool-linux.tar.gz\n{B} *dist/tool-darwin.tar.gz\r\n");
        assert_eq!(
            find(&sums, &FileFormat::Lines, "tool-darwin.tar.gz").unwrap(),
            Some(B.into())
        );
        assert_eq!(find(&sums, &FileFormat::Lines, "other").unwrap(), None);
        assert_eq!(
            find(&format!("{}\n", A.to_uppercase()), &FileFormat::Lines, "x").unwrap(),
            Some(A.into())
        );
        assert_eq!(
            find(&format!(" {A} "), &FileFormat::Raw, "x").unwrap(),
            Some(A.into())
        );
        let bsd = format!("SHA512 (yq_linux_amd64) = {A}{A}\nSHA512 (yq_darwin_arm64) = {B}{B}\n");
        let re = FileFormat::Regexp {
            checksum: r"^SHA512\s+\([^)]+\)\s+=\s+([A-Fa-f0-9]{128})$".into(),
            file: Some(r"^SHA512\s+\(([^)]+)\)\s+=\s+[A-Fa-f0-9]{128}$".into()),
        };
        assert_eq!(
            find(&bsd, &re, "yq_darwin_arm64").unwrap(),
            Some(format!("{B}{B}"))
        );
        assert!(well_formed(A, Algorithm::Sha256));
        assert!(!well_formed(A, Algorithm::Sha512));
        let mut h = Hasher::new(Algorithm::Sha1).unwrap();
        h.update(b"abc");
        assert_eq!(h.finish(), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }
}
