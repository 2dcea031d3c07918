//! Running a pack's or plugin's program in aibox's place: `exec` it, or — when its
//! `[permissions.limits]` set `cpu-seconds` — start it, wait, and pass its exit status on, so
//! that a program the kernel stops at that limit is reported as such ("used up its cpu-seconds
//! limit") instead of ending with no word.

use std::os::unix::process::{CommandExt, ExitStatusExt};

use crate::error::{Error, Result};

/// Run `cmd` (already sandboxed) in place of this process; `what` names it in messages. With
/// no `cpu_seconds` the process is replaced (`exec`); with one, this process stays to watch
/// it and exits with its status. Returns only on failure: `Err` when the program could not be
/// started (for the caller's hints), `Ok` with the error of a program its limit stopped.
pub fn run(
    mut cmd: std::process::Command,
    cpu_seconds: Option<u64>,
    what: &str,
) -> std::io::Result<Error> {
    let Some(limit) = cpu_seconds else {
        return Err(cmd.exec());
    };
    let mut child = cmd.spawn()?;
    // Like system(3): a Ctrl-C or Ctrl-\ reaches the program (same process group), which
    // decides; this process only waits for it.
    // SAFETY: setting a signal's disposition to SIG_IGN is always sound.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGQUIT, libc::SIG_IGN);
    }
    let status = match child.wait() {
        Ok(status) => status,
        Err(err) => return Ok(Error::io(format!("cannot wait for {what}"), err)),
    };
    match judge(status, limit, children_cpu_seconds(), what) {
        Err(e) => Ok(e),
        Ok(code) => {
            // A program ended by another signal ends this process by the same signal, as if
            // it had been exec'd.
            if let Some(sig) = status.signal() {
                // SAFETY: restoring the default disposition and raising a signal are sound.
                unsafe {
                    libc::signal(sig, libc::SIG_DFL);
                    libc::raise(sig);
                }
            }
            std::process::exit(code)
        }
    }
}

/// The CPU time (user + system) of the children this process has waited for, in seconds.
fn children_cpu_seconds() -> u64 {
    // SAFETY: `usage` is a plain C struct getrusage fills in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } != 0 {
        return 0;
    }
    (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec).max(0) as u64
}

/// The exit code to pass on for `status`, or the error that says which limit ended it:
/// SIGXCPU (the soft limit), or SIGKILL after `cpu` seconds reached the limit (the hard
/// limit, one second later, for a program that caught SIGXCPU).
fn judge(status: std::process::ExitStatus, limit: u64, cpu: u64, what: &str) -> Result<i32> {
    let at_limit = match status.signal() {
        Some(libc::SIGXCPU) => true,
        Some(libc::SIGKILL) => cpu >= limit,
        _ => false,
    };
    match (status.code(), status.signal()) {
        (Some(code), _) => Ok(code),
        (_, Some(sig)) if at_limit => Err(Error::msg(format!(
            "{what} was stopped: it used up its cpu-seconds limit ({limit} s of CPU time)"
        ))
        .with_hint("the limit is the pack's own (`cpu-seconds` under `[permissions.limits]` of its pack.toml): a version of the pack that declares more is needed for longer work")
        .with_exit_code(128 + sig)),
        (_, Some(sig)) => Ok(128 + sig),
        (None, None) => Ok(crate::error::exit::FAILURE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_stopped_at_its_cpu_limit_is_named_and_others_pass_their_status_on() {
        let raw = |wait: i32| std::process::ExitStatus::from_raw(wait);
        assert_eq!(judge(raw(3 << 8), 5, 9, "`x`").unwrap(), 3);
        assert_eq!(
            judge(raw(libc::SIGTERM), 5, 9, "`x`").unwrap(),
            128 + libc::SIGTERM
        );
        // A SIGKILL before the limit was reached is someone else's.
        assert_eq!(
            judge(raw(libc::SIGKILL), 5, 1, "`x`").unwrap(),
            128 + libc::SIGKILL
        );
        let e = judge(raw(libc::SIGXCPU), 5, 5, "`x` of `p`").unwrap_err();
        assert!(e.to_string().contains("cpu-seconds limit (5 s"), "{e}");
        assert_eq!(e.exit_code(), 128 + libc::SIGXCPU);
        let e = judge(raw(libc::SIGKILL), 5, 6, "`x`").unwrap_err();
        assert_eq!(e.exit_code(), 128 + libc::SIGKILL);
    }
}
