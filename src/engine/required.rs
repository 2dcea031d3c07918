//! `requires-aibox`: a project that needs another aibox than the one running. Reading the
//! project fails with [`WrongAibox`] before anything is done; at the edge, the CLI then runs
//! the newest matching aibox from the self profile's generations with the same arguments
//! ([`matching_binary`]), or shows the error with a hint to install one.

/// The name of the aibox CLI's own pack (kind `cli`, in the `self` profile).
pub const PACK: &str = "aibox";

use std::path::PathBuf;

use semver::Version;

use crate::error::Hint;
use crate::manifest::request::Request;
use crate::store::Store;

/// Set in the environment of an aibox started for `requires-aibox`, so it never starts
/// another.
pub const REEXEC_ENV: &str = crate::env_vars::REQUIRED_BY;

/// The running aibox does not satisfy the project's `requires-aibox`.
#[derive(Debug, thiserror::Error)]
#[error("`{manifest}` requires aibox `{request}`, but this is aibox {running}")]
pub struct WrongAibox {
    pub manifest: PathBuf,
    pub request: Request,
    pub running: Version,
}

impl Hint for WrongAibox {
    fn hints(&self) -> Vec<String> {
        vec![format!(
            "install a matching aibox with `aibox self update --version '{}'`; it stays in the store for this project after `aibox self rollback`",
            self.request
        )]
    }
}

/// The newest aibox binary in the self profile's generations whose version matches
/// `request`: its version and path (in the store).
pub fn matching_binary(request: &Request, home: crate::store::Home) -> Option<(Version, PathBuf)> {
    let store = Store::open_home(home).ok()?;
    let profile = store.self_profile().ok()?;
    let mut best: Option<(Version, PathBuf)> = None;
    for id in store.generation_ids(&profile).ok()? {
        let Ok(record) = store.generation(&profile, id) else {
            continue;
        };
        for p in record.packs.iter().filter(|p| p.name == PACK) {
            let Ok(v) = Version::parse(&p.version) else {
                continue;
            };
            let path = store.layout().pack(&p.store).join("bin").join(PACK);
            let usable = request.matches(&v) && crate::fs::exists(&path).unwrap_or(false);
            if usable && best.as_ref().is_none_or(|(b, _)| v > *b) {
                best = Some((v, path));
            }
        }
    }
    best
}

/// Run the aibox `path` with this process's arguments in its place (returns only on failure).
pub fn exec(path: &std::path::Path, request: &Request) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    std::process::Command::new(path)
        .args(std::env::args_os().skip(1))
        .env(REEXEC_ENV, request.as_str())
        .exec()
}
