//! The Go template subset aqua entries are written in: `{{.Version}}`, `{{trimV .Version}}`,
//! pipelines (`{{.Version | trimPrefix "v"}}`), parentheses and fields of their values
//! (`{{(semver .Version).Major}}`), `{{if eq .GOOS "darwin"}}…{{else}}…{{end}}` and `{{-`/`-}}`
//! trimming, with the functions the public registry uses (aqua's `trimV` and the sprig
//! functions `trimPrefix`, `trimSuffix`, `replace`, `title`, `lower`, `upper`, `trim`,
//! `semver`, `splitList`, `index`, `regexFind`, `eq`, `ne`, `not`, `and`, `or`). Anything else
//! is an error naming it: a template aibox cannot render is never guessed at.

use std::collections::BTreeMap;

/// A value inside a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Str(String),
    Int(i64),
    Bool(bool),
    List(Vec<String>),
    /// A map of fields (`semver`'s result, `.Vars`).
    Map(BTreeMap<String, Val>),
}

impl Val {
    fn text(&self) -> String {
        match self {
            Val::Str(s) => s.clone(),
            Val::Int(i) => i.to_string(),
            Val::Bool(b) => b.to_string(),
            Val::List(l) => format!("[{}]", l.join(" ")),
            Val::Map(_) => "map[…]".into(),
        }
    }

    fn truthy(&self) -> bool {
        match self {
            Val::Str(s) => !s.is_empty(),
            Val::Int(i) => *i != 0,
            Val::Bool(b) => *b,
            Val::List(l) => !l.is_empty(),
            Val::Map(m) => !m.is_empty(),
        }
    }
}

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template `{template}`: {message}")]
pub struct TemplateError {
    pub template: String,
    pub message: String,
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Action(Pipe),
    If(Pipe, Vec<Node>, Vec<Node>),
}

type Pipe = Vec<Cmd>;

#[derive(Debug, Clone)]
struct Cmd(Vec<Term>);

#[derive(Debug, Clone)]
enum Term {
    Field(Vec<String>),
    Str(String),
    Int(i64),
    Bool(bool),
    Func(String),
    Paren(Pipe, Vec<String>),
}

/// Render `template` with the fields `data` (`Version`, `OS`, …).
pub fn render(template: &str, data: &BTreeMap<String, Val>) -> Result<String, TemplateError> {
    let err = |message: String| TemplateError {
        template: template.to_owned(),
        message,
    };
    let nodes = parse(template).map_err(err)?;
    let mut out = String::new();
    eval_nodes(&nodes, data, &mut out).map_err(err)?;
    Ok(out)
}

/// Whether `template` parses (its functions known), without rendering it.
pub fn check(template: &str) -> Result<(), TemplateError> {
    parse(template)
        .map(|_| ())
        .map_err(|message| TemplateError {
            template: template.to_owned(),
            message,
        })
}

/// Split into text and actions, then build `if`/`else`/`end` blocks.
fn parse(src: &str) -> Result<Vec<Node>, String> {
    enum Tok {
        Text(String),
        Act(String),
    }
    let mut toks = Vec::new();
    let mut rest = src;
    while let Some(start) = rest.find("{{") {
        let mut text = rest[..start].to_owned();
        let inner_start = start + 2;
        let end = rest[inner_start..]
            .find("}}")
            .ok_or("an action `{{` is not closed")?
            + inner_start;
        let mut inner = &rest[inner_start..end];
        if let Some(i) = inner.strip_prefix('-') {
            inner = i;
            text = text.trim_end().to_owned();
        }
        let mut after = &rest[end + 2..];
        if let Some(i) = inner.strip_suffix('-') {
            inner = i;
            after = after.trim_start();
        }
        if !text.is_empty() {
            toks.push(Tok::Text(text));
        }
        toks.push(Tok::Act(inner.trim().to_owned()));
        rest = after;
    }
    if rest.contains("}}") {
        return Err("`}}` without `{{`".into());
    }
    if !rest.is_empty() {
        toks.push(Tok::Text(rest.to_owned()));
    }
    // Blocks: a stack of (condition, then, else, in_else).
    let mut stack: Vec<(Pipe, Vec<Node>, Vec<Node>, bool)> = Vec::new();
    let mut top: Vec<Node> = Vec::new();
    fn push(stack: &mut [(Pipe, Vec<Node>, Vec<Node>, bool)], top: &mut Vec<Node>, n: Node) {
        match stack.last_mut() {
            Some((_, _, e, true)) => e.push(n),
            Some((_, t, _, false)) => t.push(n),
            None => top.push(n),
        }
    }
    for tok in toks {
        match tok {
            Tok::Text(t) => push(&mut stack, &mut top, Node::Text(t)),
            Tok::Act(a) => {
                if let Some(cond) = a.strip_prefix("if ") {
                    stack.push((parse_pipe(cond)?, Vec::new(), Vec::new(), false));
                } else if a == "else" {
                    match stack.last_mut() {
                        Some(b) if !b.3 => b.3 = true,
                        _ => return Err("`else` outside an `if`".into()),
                    }
                } else if a == "end" {
                    let (c, t, e, _) = stack.pop().ok_or("`end` without `if`")?;
                    push(&mut stack, &mut top, Node::If(c, t, e));
                } else if let Some(word) = ["range", "with", "define", "template", "block"]
                    .iter()
                    .find(|w| a == **w || a.starts_with(&format!("{w} ")))
                {
                    return Err(format!("`{word}` is not supported"));
                } else if a.starts_with("/*") {
                    // A comment.
                } else {
                    push(&mut stack, &mut top, Node::Action(parse_pipe(&a)?));
                }
            }
        }
    }
    if !stack.is_empty() {
        return Err("an `if` has no `end`".into());
    }
    Ok(top)
}

const FUNCS: &[&str] = &[
    "trimV",
    "trimPrefix",
    "trimSuffix",
    "replace",
    "title",
    "lower",
    "upper",
    "trim",
    "semver",
    "splitList",
    "index",
    "regexFind",
    "eq",
    "ne",
    "not",
    "and",
    "or",
];

fn parse_pipe(src: &str) -> Result<Pipe, String> {
    let mut p = Parser {
        s: src.as_bytes(),
        i: 0,
    };
    let pipe = p.pipe()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected `{}`", &src[p.i..]));
    }
    Ok(pipe)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn pipe(&mut self) -> Result<Pipe, String> {
        let mut cmds = vec![self.cmd()?];
        loop {
            self.ws();
            if self.peek() == Some(b'|') {
                self.i += 1;
                cmds.push(self.cmd()?);
            } else {
                return Ok(cmds);
            }
        }
    }

    fn cmd(&mut self) -> Result<Cmd, String> {
        let mut terms = Vec::new();
        loop {
            self.ws();
            match self.peek() {
                None | Some(b'|' | b')') => break,
                _ => terms.push(self.term()?),
            }
        }
        if terms.is_empty() {
            return Err("an empty command".into());
        }
        Ok(Cmd(terms))
    }

    fn fields(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while self.peek() == Some(b'.') {
            self.i += 1;
            let start = self.i;
            while self
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
            {
                self.i += 1;
            }
            out.push(String::from_utf8_lossy(&self.s[start..self.i]).into_owned());
        }
        out
    }

    fn term(&mut self) -> Result<Term, String> {
        match self.peek() {
            Some(b'.') => {
                let f = self.fields();
                if f.iter().any(String::is_empty) {
                    return Err("`.` alone (the whole data) is not supported".into());
                }
                Ok(Term::Field(f))
            }
            Some(b'"') => {
                self.i += 1;
                let mut out = String::new();
                loop {
                    let c = self.peek().ok_or("a string is not closed")?;
                    self.i += 1;
                    match c {
                        b'"' => break,
                        b'\\' => {
                            let e = self.peek().ok_or("a string is not closed")?;
                            self.i += 1;
                            out.push(match e {
                                b'n' => '\n',
                                b't' => '\t',
                                b'\\' => '\\',
                                b'"' => '"',
                                other => return Err(format!("escape `\\{}`", other as char)),
                            });
                        }
                        _ => {
                            // Copy a whole UTF-8 sequence.
                            let start = self.i - 1;
                            while self.peek().is_some_and(|b| (b & 0xC0) == 0x80) {
                                self.i += 1;
                            }
                            out.push_str(&String::from_utf8_lossy(&self.s[start..self.i]));
                        }
                    }
                }
                Ok(Term::Str(out))
            }
            Some(b'`') => {
                self.i += 1;
                let start = self.i;
                while self.peek().is_some_and(|c| c != b'`') {
                    self.i += 1;
                }
                if self.peek().is_none() {
                    return Err("a raw string is not closed".into());
                }
                let s = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                self.i += 1;
                Ok(Term::Str(s))
            }
            Some(b'(') => {
                self.i += 1;
                let p = self.pipe()?;
                self.ws();
                if self.peek() != Some(b')') {
                    return Err("`(` is not closed".into());
                }
                self.i += 1;
                Ok(Term::Paren(p, self.fields()))
            }
            Some(c) if c.is_ascii_digit() || c == b'-' => {
                let start = self.i;
                self.i += 1;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.i += 1;
                }
                let text = String::from_utf8_lossy(&self.s[start..self.i]);
                text.parse()
                    .map(Term::Int)
                    .map_err(|_| format!("`{text}` is not a number"))
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.i;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    self.i += 1;
                }
                let name = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                match name.as_str() {
                    "true" | "false" => Ok(Term::Bool(name == "true")),
                    _ if FUNCS.contains(&name.as_str()) => Ok(Term::Func(name)),
                    _ => Err(format!("the function `{name}` is not supported")),
                }
            }
            Some(c) => Err(format!("unexpected `{}`", c as char)),
            None => Err("unexpected end".into()),
        }
    }
}

fn eval_nodes(
    nodes: &[Node],
    data: &BTreeMap<String, Val>,
    out: &mut String,
) -> Result<(), String> {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Action(p) => out.push_str(&eval_pipe(p, data)?.text()),
            Node::If(c, t, e) => {
                let branch = if eval_pipe(c, data)?.truthy() { t } else { e };
                eval_nodes(branch, data, out)?;
            }
        }
    }
    Ok(())
}

fn eval_pipe(pipe: &Pipe, data: &BTreeMap<String, Val>) -> Result<Val, String> {
    let mut prev: Option<Val> = None;
    for cmd in pipe {
        prev = Some(eval_cmd(cmd, data, prev)?);
    }
    prev.ok_or_else(|| "an empty pipeline".into())
}

fn field_of(mut v: Val, path: &[String]) -> Result<Val, String> {
    for f in path {
        v = match v {
            Val::Map(mut m) => m
                .remove(f)
                .ok_or_else(|| format!("there is no field `.{f}`"))?,
            other => return Err(format!("`{}` has no field `.{f}`", other.text())),
        };
    }
    Ok(v)
}

fn eval_term(t: &Term, data: &BTreeMap<String, Val>) -> Result<Val, String> {
    match t {
        Term::Field(path) => {
            let first = data
                .get(&path[0])
                .cloned()
                .ok_or_else(|| format!("`.{}` is not available here", path[0]))?;
            field_of(first, &path[1..])
        }
        Term::Str(s) => Ok(Val::Str(s.clone())),
        Term::Int(i) => Ok(Val::Int(*i)),
        Term::Bool(b) => Ok(Val::Bool(*b)),
        Term::Paren(p, fields) => field_of(eval_pipe(p, data)?, fields),
        Term::Func(f) => call(f, Vec::new()),
    }
}

fn eval_cmd(cmd: &Cmd, data: &BTreeMap<String, Val>, piped: Option<Val>) -> Result<Val, String> {
    let Cmd(terms) = cmd;
    if let Term::Func(f) = &terms[0] {
        let mut args = terms[1..]
            .iter()
            .map(|t| eval_term(t, data))
            .collect::<Result<Vec<_>, _>>()?;
        args.extend(piped);
        return call(f, args);
    }
    if terms.len() > 1 || piped.is_some() {
        return Err("only a function takes arguments".into());
    }
    eval_term(&terms[0], data)
}

fn text_arg(f: &str, args: &[Val], i: usize) -> Result<String, String> {
    match args.get(i) {
        Some(Val::Str(s)) => Ok(s.clone()),
        Some(Val::Int(n)) => Ok(n.to_string()),
        Some(other) => Err(format!("`{f}` wants text, got `{}`", other.text())),
        None => Err(format!("`{f}` wants {} arguments", i + 1)),
    }
}

fn arity(f: &str, args: &[Val], n: usize) -> Result<(), String> {
    if args.len() == n {
        Ok(())
    } else {
        Err(format!("`{f}` takes {n} argument(s), {} given", args.len()))
    }
}

/// Go's `strings.Title`: each word's first letter in upper case.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric() && c != '_' && c != '\'';
    }
    out
}

fn call(f: &str, args: Vec<Val>) -> Result<Val, String> {
    let t = |i| text_arg(f, &args, i);
    match f {
        "trimV" => {
            arity(f, &args, 1)?;
            Ok(Val::Str(
                t(0)?.strip_prefix('v').map_or(t(0)?, str::to_owned),
            ))
        }
        "trimPrefix" => {
            arity(f, &args, 2)?;
            let s = t(1)?;
            Ok(Val::Str(
                s.strip_prefix(t(0)?.as_str()).unwrap_or(&s).to_owned(),
            ))
        }
        "trimSuffix" => {
            arity(f, &args, 2)?;
            let s = t(1)?;
            Ok(Val::Str(
                s.strip_suffix(t(0)?.as_str()).unwrap_or(&s).to_owned(),
            ))
        }
        "replace" => {
            arity(f, &args, 3)?;
            Ok(Val::Str(t(2)?.replace(&t(0)?, &t(1)?)))
        }
        "title" => {
            arity(f, &args, 1)?;
            Ok(Val::Str(title(&t(0)?)))
        }
        "lower" => {
            arity(f, &args, 1)?;
            Ok(Val::Str(t(0)?.to_lowercase()))
        }
        "upper" => {
            arity(f, &args, 1)?;
            Ok(Val::Str(t(0)?.to_uppercase()))
        }
        "trim" => {
            arity(f, &args, 1)?;
            Ok(Val::Str(t(0)?.trim().to_owned()))
        }
        "semver" => {
            arity(f, &args, 1)?;
            let v = crate::aqua::version::GoVersion::parse(&t(0)?).ok_or_else(|| {
                format!("`{}` is not a semantic version", t(0).unwrap_or_default())
            })?;
            let num = |i: usize| Val::Int(v.segments.get(i).copied().unwrap_or(0) as i64);
            Ok(Val::Map(BTreeMap::from([
                ("Major".to_owned(), num(0)),
                ("Minor".to_owned(), num(1)),
                ("Patch".to_owned(), num(2)),
                ("Prerelease".to_owned(), Val::Str(v.pre.clone())),
                ("Metadata".to_owned(), Val::Str(v.meta.clone())),
                ("Original".to_owned(), Val::Str(t(0)?)),
            ])))
        }
        "splitList" => {
            arity(f, &args, 2)?;
            Ok(Val::List(
                t(1)?.split(t(0)?.as_str()).map(str::to_owned).collect(),
            ))
        }
        "index" => {
            arity(f, &args, 2)?;
            let (Val::List(l), Val::Int(i)) = (&args[0], &args[1]) else {
                return Err("`index` takes a list and a number".into());
            };
            usize::try_from(*i)
                .ok()
                .and_then(|i| l.get(i))
                .map(|s| Val::Str(s.clone()))
                .ok_or_else(|| format!("index {i} is out of range"))
        }
        "regexFind" => {
            arity(f, &args, 2)?;
            let re = regex::Regex::new(&t(0)?).map_err(|e| format!("`regexFind`: {e}"))?;
            let s = t(1)?;
            Ok(Val::Str(
                re.find(&s)
                    .map(|m| m.as_str().to_owned())
                    .unwrap_or_default(),
            ))
        }
        "eq" | "ne" => {
            if args.len() < 2 {
                return Err(format!("`{f}` takes at least 2 arguments"));
            }
            let same = args[1..].iter().any(|a| a == &args[0]);
            Ok(Val::Bool(if f == "eq" { same } else { !same }))
        }
        "not" => {
            arity(f, &args, 1)?;
            Ok(Val::Bool(!args[0].truthy()))
        }
        "and" => Ok(args
            .iter()
            .find(|a| !a.truthy())
            .or(args.last())
            .cloned()
            .unwrap_or(Val::Bool(true))),
        "or" => Ok(args
            .iter()
            .find(|a| a.truthy())
            .or(args.last())
            .cloned()
            .unwrap_or(Val::Bool(false))),
        _ => Err(format!("the function `{f}` is not supported")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> BTreeMap<String, Val> {
        [
            ("Version", "v1.2.3"),
            ("SemVer", "1.2.3"),
            ("OS", "linux"),
            ("GOOS", "darwin"),
            ("Arch", "x86_64"),
            ("Format", "tar.gz"),
            ("Asset", "tool-1.2.3.tar.gz"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Val::Str(v.to_owned())))
        .collect()
    }

    #[test]
    fn renders_what_the_registry_writes() {
        let d = data();
        for (t, want) in [
            (
                "ripgrep-{{.Version}}-{{.Arch}}-{{.OS}}.{{.Format}}",
                "ripgrep-v1.2.3-x86_64-linux.tar.gz",
            ),
            ("gh_{{trimV .Version}}_{{.OS}}", "gh_1.2.3_linux"),
            ("{{.Version | trimV}}", "1.2.3"),
            ("{{trimPrefix \"v1.\" .Version}}", "2.3"),
            ("{{trimPrefix \"v\" .Version | trimV}}", "1.2.3"),
            ("{{replace \".\" \"_\" .Version}}", "v1_2_3"),
            ("{{title .OS}}", "Linux"),
            ("{{(semver .Version).Major}}.x", "1.x"),
            ("{{(semver .SemVer).Minor}}", "2"),
            ("{{index (splitList \".\" (trimV .Version)) 1}}", "2"),
            ("{{.Version | regexFind \"[0-9]+\"}}", "1"),
            ("{{trimSuffix \".tar.gz\" .Asset}}", "tool-1.2.3"),
            ("{{if eq .GOOS \"darwin\"}}mac{{else}}other{{end}}", "mac"),
            ("{{if eq .OS \"darwin\"}}mac{{else}}other{{end}}", "other"),
            ("a {{- .OS -}} b", "alinuxb"),
            ("no template", "no template"),
        ] {
            assert_eq!(render(t, &d).unwrap(), want, "{t}");
        }
    }

    #[test]
    fn refuses_what_it_cannot_render() {
        let d = data();
        for (t, why) in [
            ("{{env \"HOME\"}}", "the function `env` is not supported"),
            ("{{.Nope}}", "`.Nope` is not available here"),
            ("{{.Version", "not closed"),
            ("{{if .OS}}x", "has no `end`"),
            ("{{range .X}}{{end}}", "`range` is not supported"),
            ("{{trimV}}", "takes 1 argument"),
        ] {
            let e = render(t, &d).unwrap_err();
            assert!(e.message.contains(why), "{t}: {e}");
        }
    }
}
