//! Command wrappers: in a generation whose packs declare an environment (`[env]`), each command
//! in `bin/` is a small `/bin/sh` script instead of a symlink. It exports the generation's
//! variables, defaults its optional ones, checks the required variables of the command's own
//! pack, puts the generation's `bin/` first on `PATH`, and `exec`s the program in the store —
//! so `.aibox/current/bin/<cmd>` works from PATH without `aibox run` (store-format/SPEC.md §5).
//! A command of a pack that declares `[permissions]` is always a wrapper, which runs it through
//! `aibox sandbox-exec` (docs/plugins.md).

use std::path::Path;

use super::record::GenerationEnv;

/// Quote `s` for a POSIX shell: single quotes, with `'` written `'\''`.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The wrapper script of command `name` (of pack `pack`) running `target`, in a generation whose
/// environment is `env` and whose `bin/` is `bin_dir`. Variable names were checked when the
/// packs were read; values and paths are quoted.
pub fn script(
    env: &GenerationEnv,
    pack: &str,
    name: &str,
    bin_dir: &Path,
    target: &Path,
    sandbox: Option<(&Path, &Path)>,
) -> String {
    let mut s = String::from("#!/bin/sh\n");
    s.push_str(&format!(
        "# Written by aibox: `{name}` of `{pack}` in its generation's environment.\n"
    ));
    s.push_str(&format!(
        "PATH={}\"${{PATH:+:$PATH}}\"; export PATH\n",
        quote(&bin_dir.display().to_string())
    ));
    for (k, v) in &env.vars {
        s.push_str(&format!("{k}={}; export {k}\n", quote(v)));
    }
    for (k, default) in &env.optional {
        s.push_str(&format!(
            "if [ -z \"${{{k}-}}\" ]; then {k}={}; export {k}; fi\n",
            quote(default)
        ));
    }
    for (k, r) in env.required.iter().filter(|(_, r)| r.pack == pack) {
        let message = format!(
            "{name}: the environment variable `{k}` is required by `{pack}` and not set: {}",
            r.description
        );
        s.push_str(&format!(
            "if [ -z \"${{{k}-}}\" ]; then printf '%s\\n' {} >&2; exit 1; fi\n",
            quote(&message)
        ));
    }
    match sandbox {
        // `aibox sandbox-exec` applies the pack's `[permissions]`, keeping the generation's
        // variables, and execs the program.
        Some((aibox, root)) => {
            s.push_str(&format!(
                "exec {} sandbox-exec --pack-dir {}",
                quote(&aibox.display().to_string()),
                quote(&root.display().to_string())
            ));
            let names = env.vars.keys().chain(env.optional.keys()).chain(
                env.required
                    .iter()
                    .filter(|(_, r)| r.pack == pack)
                    .map(|(k, _)| k),
            );
            for k in names {
                s.push_str(&format!(" --keep {k}"));
            }
            s.push_str(&format!(
                " -- {} \"$@\"\n",
                quote(&target.display().to_string())
            ));
        }
        None => s.push_str(&format!(
            "exec {} \"$@\"\n",
            quote(&target.display().to_string())
        )),
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::record::RequiredVar;

    #[test]
    fn values_and_paths_are_quoted_and_only_the_packs_own_requirements_are_checked() {
        let mut env = GenerationEnv::default();
        env.vars.insert("A".into(), "it's $HOME `x`".into());
        env.optional.insert("B".into(), "b".into());
        for (var, pack) in [("MINE", "p"), ("THEIRS", "q")] {
            env.required.insert(
                var.into(),
                RequiredVar {
                    pack: pack.into(),
                    description: "d".into(),
                },
            );
        }
        let s = script(
            &env,
            "p",
            "tool",
            Path::new("/g/bin"),
            Path::new("/s/it's/tool"),
            None,
        );
        assert!(s.contains(r"A='it'\''s $HOME `x`'; export A"), "{s}");
        assert!(s.contains("exec '/s/it'\\''s/tool' \"$@\""), "{s}");
        assert!(s.contains("MINE") && !s.contains("THEIRS"), "{s}");
    }
}
