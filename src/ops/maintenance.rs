//! Store maintenance: `gc`, `store verify` and `store path`.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::store::gc::{GcOptions, GcReport};
use crate::store::verify::VerifyReport;

use crate::ops::{Options, Target, open_profile};

/// Collect garbage.
pub fn gc(opts: &Options, gc: GcOptions) -> Result<GcReport> {
    let store = opts.store()?;
    let report = store.gc(gc)?;
    if !gc.dry_run {
        crate::audit::record(
            store.layout(),
            "gc",
            None,
            serde_json::json!({
                "profiles_removed": report.profiles_removed, "generations_removed": report.generations_removed.len(),
                "packs_removed": report.packs_removed, "objects_removed": report.objects_removed,
                "bytes_freed": report.bytes_freed,
            }),
            store.reporter(),
        );
    }
    Ok(report)
}

/// Verify (and optionally repair) the store.
pub fn verify(opts: &Options, repair: bool) -> Result<VerifyReport> {
    let store = opts.store()?;
    let report = store.verify(repair)?;
    crate::audit::record(
        store.layout(),
        "verify",
        None,
        serde_json::json!({
            "store": true, "objects": report.objects_checked, "packs": report.packs_checked,
            "corrupt": report.corrupt.len(), "interrupted": report.interrupted.len(), "repaired": report.repaired,
        }),
        store.reporter(),
    );
    Ok(report)
}

/// The store path of a pack in the current generation of the project (or global profile).
pub fn pack_path(opts: &Options, target: Target, name: &str) -> Result<PathBuf> {
    let (store, profile) = open_profile(opts, target)?;
    let current = store.current(&profile)?;
    match current.packs.iter().find(|p| p.name == name) {
        Some(p) => Ok(store.layout().pack(&p.store)),
        None => {
            let names: Vec<&str> = current.packs.iter().map(|p| p.name.as_str()).collect();
            let mut err = Error::msg(format!(
                "no pack `{name}` in the current generation of `{}`",
                profile.describe()
            ));
            if let Some(s) = crate::manifest::did_you_mean(name, names.iter().copied()) {
                err = err.with_hint(format!("did you mean `{s}`?"));
            }
            Err(err
                .with_hint("`aibox generations` and `aibox diff` show what each generation holds"))
        }
    }
}
