//! The suite proves that aibox works for the people it is for: it must itself run as an
//! unprivileged user (scripts/test drops to one when started as root), so that no test passes
//! only because root may write anywhere, move sealed directories or mount filesystems.
// Tests use std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

#[test]
fn the_suite_runs_as_an_unprivileged_user() {
    // SAFETY: geteuid cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert_ne!(
        euid, 0,
        "the tests must run as an unprivileged user, as aibox's users do: run `scripts/test` (started as root, it runs every test as the user `aibox-test`)"
    );
    // And that user really cannot write where only root can.
    let probe = std::path::Path::new("/etc/aibox-unprivileged-probe");
    assert!(
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(probe)
            .is_err(),
        "an unprivileged user could write to /etc"
    );
}
