//! `aibox doctor`: print each check (data on stdout) and fail when one failed.

use crate::error::{Error, Result};
use crate::ops::doctor::Status;
use crate::ops::{self, Options};

pub(super) fn run(opts: &Options) -> Result<()> {
    let checks = ops::doctor::doctor(opts);
    if opts.json {
        crate::printer::print_json(&checks);
    } else {
        for c in &checks {
            let mark = match c.status {
                Status::Ok => "ok",
                Status::Warn => "warn",
                Status::Fail => "FAIL",
            };
            crate::printer::out(format!("{mark:>4}  {}: {}", c.name, c.detail));
            if let Some(fix) = &c.fix {
                crate::printer::out(format!("      fix: {fix}"));
            }
        }
    }
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    if failed > 0 {
        return Err(Error::shown_in_output(format!("{failed} checks failed"))
            .with_hint("each failed check above says how to fix it"));
    }
    Ok(())
}
