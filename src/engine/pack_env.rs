//! What packs may export: a protected variable (`manifest::env_rule`) set by a pack's `[env]`
//! is refused at install unless the profile's `aibox.toml` allows it (`[policy]
//! allow-pack-env`), and `aibox env`, `aibox run` and the no-op check of `sync` look at a
//! generation's record again, so a record made under other rules (an older aibox, an allowance
//! since removed) exports only what the rule lets through now.

use std::path::Path;

use crate::error::{Error, Result};
use crate::manifest::env_rule::{self, Protection};
use crate::manifest::pack::PackManifest;
use crate::store::PackId;
use crate::store::generations::GenerationEnv;

/// The first variable of `packs` a pack may not set under `allowed` (the names `manifest`
/// allows), as an error naming the pack, the variable, why, and the key that would allow it.
pub fn check_packs(
    packs: &[(PackId, PackManifest)],
    allowed: &[String],
    manifest: &Path,
) -> Result<()> {
    for (id, m) in packs {
        let names = m.env.vars.keys().chain(m.env.optional.keys());
        for name in names {
            if env_rule::pack_may_set(name, allowed) {
                continue;
            }
            let why = env_rule::protection(name).expect("refused names are protected");
            return Err(refusal(&id.name, name, why, manifest));
        }
    }
    Ok(())
}

fn refusal(pack: &str, name: &str, why: Protection, manifest: &Path) -> Error {
    let err = Error::msg(format!("pack `{pack}` may not set `{name}`: {why}"));
    if why.reserved {
        return err.with_hint(format!(
            "nothing was installed; remove `{pack}`, or ask its publisher to drop `{name}` from its `[env]`"
        ));
    }
    err.with_hint(format!(
        "nothing was installed; if you trust `{pack}` to set it, allow it in `{}`: `[policy] allow-pack-env = [\"{name}\"]`",
        manifest.display()
    ))
}

/// The names of `env`'s exports (variables and optional defaults) a pack may not set under
/// `allowed`, sorted.
pub fn refused(env: &GenerationEnv, allowed: &[String]) -> Vec<String> {
    let mut out: Vec<String> = env
        .vars
        .keys()
        .chain(env.optional.keys())
        .filter(|k| !env_rule::pack_may_set(k, allowed))
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `env` without what [`refused`] names; each dropped name is reported once.
pub fn exportable(
    env: &GenerationEnv,
    allowed: &[String],
    reporter: crate::printer::Reporter,
) -> GenerationEnv {
    let dropped = refused(env, allowed);
    let mut out = env.clone();
    for name in &dropped {
        out.vars.remove(name);
        out.optional.remove(name);
        let why = env_rule::protection(name).expect("refused names are protected");
        reporter.warn(format!(
            "not exporting `{name}`, which the current generation's packs set: {why}; run `aibox sync` to rebuild the environment"
        ));
    }
    out
}
