//! Versions the way aqua compares them in `semver("…")` constraints (HashiCorp's go-version
//! rules): a leading `v`, any number of numeric segments (missing ones are 0), a pre-release
//! after `-` (or straight after the digits, `1.0rc1`) and build metadata after `+`. A
//! pre-release sorts before its release.

use std::cmp::Ordering;

/// A parsed version (equal when it compares equal: `1.2` is `1.2.0`).
#[derive(Debug, Clone)]
pub struct GoVersion {
    pub segments: Vec<u64>,
    pub pre: String,
    pub meta: String,
}

impl GoVersion {
    /// Parse `s`; `None` when it does not start with a number (after an optional `v`).
    pub fn parse(s: &str) -> Option<GoVersion> {
        let s = s.trim();
        let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
        let (s, meta) = match s.split_once('+') {
            Some((a, m)) => (a, m.to_owned()),
            None => (s, String::new()),
        };
        let digits_end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (nums, rest) = s.split_at(digits_end);
        let nums = nums.trim_end_matches('.');
        if nums.is_empty() || nums.contains("..") {
            return None;
        }
        let segments = nums
            .split('.')
            .map(|p| p.parse::<u64>().ok())
            .collect::<Option<Vec<_>>>()?;
        let pre = rest.strip_prefix('-').unwrap_or(rest);
        if !pre
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '~'))
        {
            return None;
        }
        Some(GoVersion {
            segments,
            pre: pre.to_owned(),
            meta,
        })
    }

    fn segment(&self, i: usize) -> u64 {
        self.segments.get(i).copied().unwrap_or(0)
    }
}

impl PartialEq for GoVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for GoVersion {}

impl PartialOrd for GoVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for GoVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.segments.len().max(other.segments.len()).max(3);
        for i in 0..n {
            match self.segment(i).cmp(&other.segment(i)) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => compare_pre(&self.pre, &other.pre),
        }
    }
}

/// Pre-releases part by part: numbers by value and before words, words by text; a shorter
/// list first when one is a prefix of the other.
fn compare_pre(a: &str, b: &str) -> Ordering {
    let (pa, pb): (Vec<&str>, Vec<&str>) =
        (a.split(['.', '-']).collect(), b.split(['.', '-']).collect());
    for (x, y) in pa.iter().zip(&pb) {
        let o = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(i), Ok(j)) => i.cmp(&j),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            (Err(_), Err(_)) => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    pa.len().cmp(&pb.len())
}

/// Whether `version` meets every comma-separated comparison of `constraint` (`>= 1.2, < 2`).
/// A version that does not parse meets none (aqua: false); a malformed constraint is an error.
pub fn satisfies(constraint: &str, version: &str) -> Result<bool, String> {
    let v = GoVersion::parse(version);
    let mut all = true;
    for part in constraint.split(',') {
        let part = part.trim();
        let (op, rest) = ["<=", ">=", "!=", "<", ">", "=", "~>"]
            .iter()
            .find_map(|op| part.strip_prefix(op).map(|r| (*op, r)))
            .ok_or_else(|| {
                format!("`{part}` is not a comparison (use one of >=, >, <, <=, !=, =)")
            })?;
        let bound =
            GoVersion::parse(rest).ok_or_else(|| format!("`{}` is not a version", rest.trim()))?;
        let Some(v) = &v else {
            all = false;
            continue;
        };
        let ok = match op {
            "<=" => v <= &bound,
            ">=" => v >= &bound,
            "!=" => v != &bound,
            "<" => v < &bound,
            ">" => v > &bound,
            "=" => v.cmp(&bound) == Ordering::Equal,
            _ => return Err(format!("`{op}` is not supported in `{constraint}`")),
        };
        all &= ok;
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_like_go_version() {
        let p = |s| GoVersion::parse(s).unwrap();
        assert!(p("v1.2.3") < p("1.10.0"));
        assert!(p("1.2") == p("1.2.0"));
        assert!(p("1.0.0-rc1") < p("1.0.0"));
        assert!(p("1.0.0-alpha") < p("1.0.0-beta"));
        assert!(p("1.0.0-rc.2") < p("1.0.0-rc.10"));
        assert!(p("0.0.9") < p("0.0.10"));
        assert!(GoVersion::parse("latest").is_none());
        assert!(satisfies("<= 0.1.1", "0.1.0").unwrap());
        assert!(!satisfies("<= 0.1.1", "0.1.2").unwrap());
        assert!(satisfies(">= 1.0.2", "v1.7.0").unwrap());
        assert!(satisfies(">= 1, < 2", "1.9.9").unwrap());
        assert!(!satisfies(">= 1, < 2", "2.0.0").unwrap());
        assert!(!satisfies("< 2", "nightly").unwrap());
        assert!(satisfies("<= x", "1.0.0").is_err());
        assert!(satisfies("~ 1", "1.0.0").is_err());
    }
}
