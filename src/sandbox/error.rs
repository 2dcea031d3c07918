//! Why a sandbox cannot be built, with what to do about it.

use std::path::PathBuf;

/// A sandbox that cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot build the sandbox: {0}")]
    Ruleset(String),
    #[error("cannot build the sandbox's seccomp filter: {0}")]
    Seccomp(String),
    #[error(
        "`{0}` is set: it is a switch for aibox's own tests, and this build does not run pack code with it"
    )]
    TestSwitch(&'static str),
    #[error("cannot connect to the Unix socket `{}` (declared in `net.unix`)", path.display())]
    UnixSocket {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl crate::error::Hint for SandboxError {
    fn hints(&self) -> Vec<String> {
        match self {
            SandboxError::TestSwitch(name) => vec![format!(
                "unset it (`unset {name}`); only test builds of aibox (debug builds) honour it"
            )],
            SandboxError::UnixSocket { .. } => vec![
                "the pack is handed a connection to each Unix socket it declares before it starts: start the service listening there, or ask the publisher to change `net.unix`".into(),
            ],
            _ => Vec::new(),
        }
    }
}
