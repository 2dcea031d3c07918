//! The expression language of `version_constraint` and `version_filter` (a subset of
//! expr-lang, as the public registry writes it): `"true"`, `"false"`, `semver("<= 1.2")`,
//! `semverWithVersion(">= 1", trimPrefix(Version, "cli-"))`, `Version == "v1.0"`, `!=`,
//! `Version in ["a", "b"]`, `startsWith`, `endsWith`, `contains`, `matches` (a regular
//! expression), `not`/`!`, `and`/`&&`, `or`/`||` and parentheses. `Version` is the tag,
//! `SemVer` the tag without the package's `version_prefix`; `semver(…)` compares `SemVer`.
//! Anything else is an error naming what is not supported.

/// What an expression sees.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a> {
    pub version: &'a str,
    pub semver: &'a str,
}

#[derive(Debug, Clone, PartialEq)]
enum V {
    Str(String),
    Bool(bool),
    List(Vec<String>),
}

/// Evaluate `expr` to a boolean.
pub fn eval(expr: &str, env: Env<'_>) -> Result<bool, String> {
    let toks = lex(expr)?;
    let mut p = P {
        t: &toks,
        i: 0,
        env,
    };
    let v = p.or()?;
    if p.i != toks.len() {
        return Err(format!("`{expr}`: unexpected `{}`", toks[p.i].text()));
    }
    match v {
        V::Bool(b) => Ok(b),
        _ => Err(format!("`{expr}` is not a condition")),
    }
}

/// Whether `expr` is one aibox evaluates (parsed against a sample version).
pub fn check(expr: &str) -> Result<(), String> {
    eval(
        expr,
        Env {
            version: "v1.0.0",
            semver: "1.0.0",
        },
    )
    .map(|_| ())
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Ident(String),
    Op(&'static str),
}

impl Tok {
    fn text(&self) -> String {
        match self {
            Tok::Str(s) => format!("{s:?}"),
            Tok::Ident(s) => s.clone(),
            Tok::Op(o) => (*o).to_owned(),
        }
    }
}

fn lex(src: &str) -> Result<Vec<Tok>, String> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'"' || c == b'\'' || c == b'`' {
            let q = c;
            let mut s = Vec::new();
            i += 1;
            loop {
                let &c = b
                    .get(i)
                    .ok_or_else(|| format!("`{src}`: a string is not closed"))?;
                i += 1;
                if c == q {
                    break;
                }
                if c == b'\\' && q != b'`' {
                    let &e = b
                        .get(i)
                        .ok_or_else(|| format!("`{src}`: a string is not closed"))?;
                    i += 1;
                    s.push(match e {
                        b'n' => b'\n',
                        b't' => b'\t',
                        other => other,
                    });
                } else {
                    s.push(c);
                }
            }
            out.push(Tok::Str(String::from_utf8_lossy(&s).into_owned()));
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Ident(src[start..i].to_owned()));
            continue;
        }
        let two = src.get(i..i + 2).unwrap_or("");
        if let Some(op) = ["==", "!=", "&&", "||"].iter().find(|o| **o == two) {
            out.push(Tok::Op(op));
            i += 2;
            continue;
        }
        let one = match c {
            b'(' => "(",
            b')' => ")",
            b'[' => "[",
            b']' => "]",
            b',' => ",",
            b'!' => "!",
            _ => {
                return Err(format!(
                    "`{src}`: `{}` is not supported",
                    src[i..].chars().next().unwrap_or('?')
                ));
            }
        };
        out.push(Tok::Op(one));
        i += 1;
    }
    Ok(out)
}

struct P<'a> {
    t: &'a [Tok],
    i: usize,
    env: Env<'a>,
}

impl P<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(x)) if x == w)
    }

    fn is_op(&self, o: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(x)) if *x == o)
    }

    fn expect(&mut self, o: &str) -> Result<(), String> {
        if self.is_op(o) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!(
                "expected `{o}`, found {}",
                self.peek().map_or("the end".into(), Tok::text)
            ))
        }
    }

    fn bool(v: V, what: &str) -> Result<bool, String> {
        match v {
            V::Bool(b) => Ok(b),
            _ => Err(format!("`{what}` needs conditions on both sides")),
        }
    }

    fn or(&mut self) -> Result<V, String> {
        let mut v = self.and()?;
        while self.is_word("or") || self.is_op("||") {
            self.i += 1;
            let r = self.and()?;
            v = V::Bool(Self::bool(v, "or")? | Self::bool(r, "or")?);
        }
        Ok(v)
    }

    fn and(&mut self) -> Result<V, String> {
        let mut v = self.not()?;
        while self.is_word("and") || self.is_op("&&") {
            self.i += 1;
            let r = self.not()?;
            v = V::Bool(Self::bool(v, "and")? & Self::bool(r, "and")?);
        }
        Ok(v)
    }

    fn not(&mut self) -> Result<V, String> {
        if self.is_word("not") || self.is_op("!") {
            self.i += 1;
            let v = self.not()?;
            return Ok(V::Bool(!Self::bool(v, "not")?));
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<V, String> {
        let left = self.primary()?;
        let op = match self.peek() {
            Some(Tok::Op(o)) if matches!(*o, "==" | "!=") => (*o).to_owned(),
            Some(Tok::Ident(w))
                if matches!(
                    w.as_str(),
                    "in" | "startsWith" | "endsWith" | "contains" | "matches"
                ) =>
            {
                w.clone()
            }
            _ => return Ok(left),
        };
        self.i += 1;
        let right = self.primary()?;
        let text = |v: &V| match v {
            V::Str(s) => Ok(s.clone()),
            _ => Err(format!("`{op}` compares text")),
        };
        Ok(V::Bool(match op.as_str() {
            "==" => left == right,
            "!=" => left != right,
            "in" => match &right {
                V::List(l) => l.contains(&text(&left)?),
                _ => return Err("`in` needs a list".into()),
            },
            "startsWith" => text(&left)?.starts_with(&text(&right)?),
            "endsWith" => text(&left)?.ends_with(&text(&right)?),
            "contains" => text(&left)?.contains(&text(&right)?),
            _ => regex::Regex::new(&text(&right)?)
                .map_err(|e| format!("`matches`: {e}"))?
                .is_match(&text(&left)?),
        }))
    }

    fn args(&mut self) -> Result<Vec<V>, String> {
        self.expect("(")?;
        let mut out = Vec::new();
        if !self.is_op(")") {
            loop {
                out.push(self.or()?);
                if self.is_op(",") {
                    self.i += 1;
                } else {
                    break;
                }
            }
        }
        self.expect(")")?;
        Ok(out)
    }

    fn primary(&mut self) -> Result<V, String> {
        let tok = self.peek().cloned().ok_or("unexpected end")?;
        self.i += 1;
        match tok {
            Tok::Str(s) => Ok(V::Str(s)),
            Tok::Op("(") => {
                let v = self.or()?;
                self.expect(")")?;
                Ok(v)
            }
            Tok::Op("[") => {
                let mut items = Vec::new();
                while !self.is_op("]") {
                    match self.peek() {
                        Some(Tok::Str(s)) => items.push(s.clone()),
                        other => {
                            return Err(format!(
                                "a list holds strings, not {}",
                                other.map_or("the end".into(), Tok::text)
                            ));
                        }
                    }
                    self.i += 1;
                    if self.is_op(",") {
                        self.i += 1;
                    } else if !self.is_op("]") {
                        return Err("expected `,` or `]` in a list".into());
                    }
                }
                self.i += 1;
                Ok(V::List(items))
            }
            Tok::Ident(w) => match w.as_str() {
                "true" => Ok(V::Bool(true)),
                "false" => Ok(V::Bool(false)),
                "Version" => Ok(V::Str(self.env.version.to_owned())),
                "SemVer" => Ok(V::Str(self.env.semver.to_owned())),
                "semver" | "semverWithVersion" | "trimPrefix" | "trimSuffix" => {
                    let args = self.args()?;
                    let text = |i: usize| match args.get(i) {
                        Some(V::Str(s)) => Ok(s.clone()),
                        _ => Err(format!("`{w}` takes text arguments")),
                    };
                    let count = |n: usize| {
                        if args.len() == n {
                            Ok(())
                        } else {
                            Err(format!("`{w}` takes {n} argument(s)"))
                        }
                    };
                    match w.as_str() {
                        "semver" => {
                            count(1)?;
                            Ok(V::Bool(crate::aqua::version::satisfies(
                                &text(0)?,
                                self.env.semver,
                            )?))
                        }
                        "semverWithVersion" => {
                            count(2)?;
                            Ok(V::Bool(crate::aqua::version::satisfies(
                                &text(0)?,
                                &text(1)?,
                            )?))
                        }
                        "trimPrefix" => {
                            count(2)?;
                            let s = text(0)?;
                            Ok(V::Str(
                                s.strip_prefix(text(1)?.as_str()).unwrap_or(&s).to_owned(),
                            ))
                        }
                        _ => {
                            count(2)?;
                            let s = text(0)?;
                            Ok(V::Str(
                                s.strip_suffix(text(1)?.as_str()).unwrap_or(&s).to_owned(),
                            ))
                        }
                    }
                }
                other => Err(format!("`{other}` is not supported")),
            },
            Tok::Op(o) => Err(format!("unexpected `{o}`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(expr: &str, version: &str) -> bool {
        let semver = version.strip_prefix("jq-").unwrap_or(version);
        eval(expr, Env { version, semver }).unwrap()
    }

    #[test]
    fn constraints_as_the_registry_writes_them() {
        assert!(at("true", "v1.0.0"));
        assert!(!at("false", "v1.0.0"));
        assert!(at("semver(\"<= 0.0.9\")", "0.0.9"));
        assert!(!at("semver(\"<= 0.0.9\")", "0.0.10"));
        assert!(at("Version == \"0.0.12\"", "0.0.12"));
        assert!(at("semver(\"< 1.8.0\")", "jq-1.7.1"));
        assert!(at("Version == \"jq-1.5rc1\"", "jq-1.5rc1"));
        assert!(at("Version in [\"a\", \"v2\"]", "v2"));
        assert!(at(
            "(not (Version in [\"latest\", \"stable\"])) and semver(\"> 0.4.5\")",
            "v0.10.0"
        ));
        assert!(!at(
            "(not (Version in [\"latest\", \"stable\"])) and semver(\"> 0.4.5\")",
            "latest"
        ));
        assert!(at("not Version startsWith \"cli-\"", "v2.0.0"));
        assert!(at(
            "Version startsWith \"cli-\" || semver(\">= 3\")",
            "v3.1.0"
        ));
        assert!(at(
            "semverWithVersion(\">= 1.2\", trimPrefix(Version, \"cli-\"))",
            "cli-1.3.0"
        ));
        assert!(at("Version matches \"^v[0-9]+$\"", "v12"));
        assert!(at("semver(\"<= 1\") && semver(\">= 0.5\")", "0.7.0"));
        assert!(at("!(Version contains \"rc\")", "v1.0.0"));
    }

    #[test]
    fn refuses_the_rest() {
        for e in [
            "let words = [\"a\"]; true",
            "Version ==",
            "semver(1)",
            "foo(\"x\")",
            "Version",
            "semver(\"<= x\")",
        ] {
            assert!(check(e).is_err(), "{e}");
        }
    }
}
