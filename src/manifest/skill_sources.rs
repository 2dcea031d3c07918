//! The sources skills come from besides packs' registries, as `aibox.toml` writes them:
//! `clawhub:<base-url>` registries, `github:owner/repo` registries (their releases) and
//! `github:owner/repo#<rev>` (a repository at one revision), and the request form
//! `{ git = "https://github.com/owner/repo", rev = "…" }`, which names a repository at a
//! revision without a `[registries]` entry.

/// The registry alias a `{ git = … }` request of `name` gets (never a name a user can write in
/// `[registries]`, whose keys are bare TOML keys without `:`… written by aibox only).
pub fn git_alias(name: &str) -> String {
    format!("git:{name}")
}

/// Whether `alias` is one [`git_alias`] made.
pub fn is_git_alias(alias: &str) -> bool {
    alias.starts_with("git:")
}

/// Why `rev` is not a revision aibox asks GitHub for: a commit, branch or tag name
/// (`[A-Za-z0-9._/-]`, no `..`, not starting with `-` or `/`, at most 200 characters).
pub fn bad_rev(rev: &str) -> Option<&'static str> {
    if rev.is_empty() {
        return Some("is empty");
    }
    if rev.len() > 200 {
        return Some("is longer than 200 characters");
    }
    if !rev
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'))
    {
        return Some("holds a character other than letters, digits, `.`, `_`, `/` and `-`");
    }
    if rev.contains("..") || rev.starts_with(['-', '/']) || rev.ends_with('/') {
        return Some("is not a branch, tag or commit name");
    }
    None
}

/// Whether `part` is a GitHub owner or repository name aibox accepts.
fn good_part(part: &str) -> bool {
    !part.is_empty()
        && part != "."
        && part != ".."
        && part.len() <= 100
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Why a `github:owner/repo` or `github:owner/repo#rev` URL is unusable.
pub fn check_github(url: &str) -> Result<(), &'static str> {
    let rest = url.strip_prefix("github:").unwrap_or(url);
    let (repo, rev) = match rest.split_once('#') {
        Some((repo, rev)) => (repo, Some(rev)),
        None => (rest, None),
    };
    let parts: Vec<&str> = repo.split('/').collect();
    if parts.len() != 2 || !parts.iter().all(|p| good_part(p)) {
        return Err("is not `github:<owner>/<repo>` (or `github:<owner>/<repo>#<rev>`)");
    }
    if let Some(reason) = rev.and_then(bad_rev) {
        return Err(match reason {
            "is empty" => "has an empty revision after `#`",
            _ => "has a revision after `#` that is not a branch, tag or commit name",
        });
    }
    Ok(())
}

/// Why a `clawhub:<base-url>` URL is unusable.
pub fn check_clawhub(url: &str) -> Result<(), &'static str> {
    let base = url.strip_prefix("clawhub:").unwrap_or(url);
    let Ok(parsed) = ::url::Url::parse(base) else {
        return Err("is not `clawhub:<base-url>` (like `clawhub:https://clawhub.ai`)");
    };
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none_or(str::is_empty) {
        return Err("needs an `https://` base URL (like `clawhub:https://clawhub.ai`)");
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err("has a query or fragment; give the registry's base URL");
    }
    Ok(())
}

/// The registry URL of `{ git = …, rev = … }`: `github:owner/repo#<rev>` (`HEAD`, the default
/// branch, when no `rev` is given). `git` is `https://github.com/owner/repo` (with or without
/// `.git`) or `github:owner/repo`.
pub fn git_url(git: &str, rev: Option<&str>) -> Result<String, String> {
    let repo = git
        .strip_prefix("github:")
        .or_else(|| git.strip_prefix("https://github.com/"))
        .map(|r| r.trim_end_matches('/'))
        .map(|r| r.strip_suffix(".git").unwrap_or(r))
        .ok_or_else(|| {
            "only GitHub repositories are supported: `https://github.com/<owner>/<repo>` or `github:<owner>/<repo>`".to_owned()
        })?;
    let rev = rev.unwrap_or("HEAD");
    if let Some(reason) = bad_rev(rev) {
        return Err(format!("`rev` {reason}"));
    }
    let url = format!("github:{repo}#{rev}");
    check_github(&url).map_err(|e| format!("`{git}` {e}"))?;
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_requests_name_a_repository_at_a_revision() {
        assert_eq!(
            git_url("https://github.com/acme/skills", Some("v1.2")).unwrap(),
            "github:acme/skills#v1.2"
        );
        assert_eq!(
            git_url("https://github.com/acme/skills.git", None).unwrap(),
            "github:acme/skills#HEAD"
        );
        assert_eq!(
            git_url(
                "github:acme/skills",
                Some("0123456789abcdef0123456789abcdef01234567")
            )
            .unwrap(),
            "github:acme/skills#0123456789abcdef0123456789abcdef01234567"
        );
        assert!(git_url("https://gitlab.com/acme/skills", None).is_err());
        assert!(git_url("https://github.com/acme/skills", Some("../x")).is_err());
        assert!(git_url("https://github.com/acme/skills", Some("a b")).is_err());
        assert!(git_url("https://github.com/acme", None).is_err());
        assert!(git_url("https://github.com/acme/a/b", None).is_err());
    }

    #[test]
    fn registry_urls_are_checked() {
        assert!(check_github("github:acme/skills").is_ok());
        assert!(check_github("github:acme/skills#main").is_ok());
        assert!(check_github("github:acme/skills#").is_err());
        assert!(check_github("github:acme/skills#-x").is_err());
        assert!(check_github("github:../skills").is_err());
        assert!(check_clawhub("clawhub:https://clawhub.ai").is_ok());
        assert!(check_clawhub("clawhub:http://127.0.0.1:8787/").is_ok());
        assert!(check_clawhub("clawhub:ftp://x").is_err());
        assert!(check_clawhub("clawhub:clawhub.ai").is_err());
        assert!(check_clawhub("clawhub:https://x/?q=1").is_err());
        assert!(is_git_alias(&git_alias("review-pr")));
    }
}
