//! `aibox plugin init <name> [--template shell|rust]`: a plugin project that builds, passes its
//! own test and publishes with `aibox pack publish`.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fs;

use crate::engine::plugins::PREFIX;

/// The project templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// A POSIX shell script; the directory is the pack.
    Shell,
    /// A Rust crate; `./build.sh` puts the release binary into `pack/`.
    Rust,
}

/// The files of `template` for plugin `name`: relative path → (contents, executable).
fn files(template: Template, name: &str) -> Vec<(String, String, bool)> {
    let exe = format!("{PREFIX}{name}");
    let pack_toml = |bin: &str| {
        format!(
            "[pack]\nname = \"{name}\"\nversion = \"0.1.0\"\nkind = \"plugin\"\ndescription = \"The {name} plugin\"\n\n\
             [bin]\n{exe} = \"{bin}\"\n\n\
             # What the plugin may do when aibox runs it (sandboxed): see docs/plugins.md.\n\
             [permissions]\nfs.read = [\"$PROJECT\"]\nfs.write = [\"$PLUGIN_DIR\"]\n\n\
             [hooks]\nsubscribe = [\"post-switch\"]\n"
        )
    };
    match template {
        Template::Shell => vec![
            ("pack.toml".into(), pack_toml(&format!("bin/{exe}")), false),
            (
                format!("bin/{exe}"),
                format!(
                    "#!/bin/sh\n# aibox runs this as `aibox {name}`, sandboxed, with AIBOX_WORKSPACE, AIBOX_PLUGIN_DIR,\n\
                     # AIBOX_VERSION, AIBOX_CONFIG and AIBOX_GENERATION set.\nset -eu\n\
                     case \"${{1:-}}\" in\n\
                     --aibox-event=*)\n    # A lifecycle event (JSON on stdin): remember the last one.\n    cat > \"$AIBOX_PLUGIN_DIR/last-event.json\"\n    exit 0 ;;\n\
                     -h|--help)\n    echo \"usage: aibox {name} [NAME]\"\n    exit 0 ;;\n\
                     esac\n\
                     echo \"hello ${{1:-world}} from {name} in ${{AIBOX_WORKSPACE:-?}}\"\n"
                ),
                true,
            ),
            (
                "tests/run.sh".into(),
                format!(
                    "#!/bin/sh\n# The plugin's own test: `sh tests/run.sh`.\nset -eu\ncd \"$(dirname \"$0\")/..\"\n\
                     out=$(AIBOX_WORKSPACE=/ws bin/{exe} team)\n\
                     [ \"$out\" = \"hello team from {name} in /ws\" ] || {{ echo \"unexpected: $out\" >&2; exit 1; }}\n\
                     echo \"ok\"\n"
                ),
                true,
            ),
            (
                "README.md".into(),
                readme(name, "sh tests/run.sh", "."),
                false,
            ),
        ],
        Template::Rust => vec![
            (
                "Cargo.toml".into(),
                format!(
                    "[package]\nname = \"{exe}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n# A project of its own, even inside another workspace.\n[workspace]\n\n[dependencies]\n"
                ),
                false,
            ),
            (
                "src/main.rs".into(),
                format!(
                    "//! The `{name}` plugin: aibox runs it as `aibox {name}`, sandboxed, with\n\
                     //! AIBOX_WORKSPACE, AIBOX_PLUGIN_DIR, AIBOX_VERSION, AIBOX_CONFIG and AIBOX_GENERATION set.\n\n\
                     use std::io::Read;\n\n\
                     fn greeting(who: &str, workspace: &str) -> String {{\n    format!(\"hello {{who}} from {name} in {{workspace}}\")\n}}\n\n\
                     fn main() {{\n    let arg = std::env::args().nth(1);\n\
                     \x20   if let Some(event) = arg.as_deref().and_then(|a| a.strip_prefix(\"--aibox-event=\")) {{\n\
                     \x20       // A lifecycle event (JSON on stdin): remember the last one.\n\
                     \x20       let mut json = String::new();\n\
                     \x20       std::io::stdin().read_to_string(&mut json).expect(\"read the event\");\n\
                     \x20       let dir = std::env::var(\"AIBOX_PLUGIN_DIR\").expect(\"AIBOX_PLUGIN_DIR\");\n\
                     \x20       std::fs::write(format!(\"{{dir}}/last-{{event}}.json\"), json).expect(\"write the event\");\n\
                     \x20       return;\n    }}\n\
                     \x20   let workspace = std::env::var(\"AIBOX_WORKSPACE\").unwrap_or_else(|_| \"?\".into());\n\
                     \x20   println!(\"{{}}\", greeting(arg.as_deref().unwrap_or(\"world\"), &workspace));\n}}\n\n\
                     #[cfg(test)]\nmod tests {{\n    #[test]\n    fn greets() {{\n        assert_eq!(super::greeting(\"team\", \"/ws\"), \"hello team from {name} in /ws\");\n    }}\n}}\n"
                ),
                false,
            ),
            (
                "build.sh".into(),
                format!(
                    "#!/bin/sh\n# Build the release binary into the pack directory `pack/`.\nset -eu\ncd \"$(dirname \"$0\")\"\n\
                     cargo build --release --quiet\nmkdir -p pack/bin\ncp \"${{CARGO_TARGET_DIR:-target}}/release/{exe}\" pack/bin/{exe}\n"
                ),
                true,
            ),
            (
                "pack/pack.toml".into(),
                pack_toml(&format!("bin/{exe}")),
                false,
            ),
            (".gitignore".into(), "/target\n/pack/bin\n".into(), false),
            (
                "README.md".into(),
                readme(name, "cargo test && ./build.sh", "pack"),
                false,
            ),
        ],
    }
}

fn readme(name: &str, test: &str, pack_dir: &str) -> String {
    format!(
        "# {name}\n\nAn aibox plugin: `aibox {name}`.\n\n\
         ```sh\n{test}                               # test (and build)\n\
         aibox plugin install {pack_dir}                      # install it from here\n\
         aibox {name}                                          # run it\n\
         aibox pack publish {pack_dir} --registry oci://HOST/PATH   # publish it\n```\n"
    )
}

/// Write the project for plugin `name` into `dir` (created; must be empty or absent).
pub fn init(name: &str, template: Template, dir: Option<&Path>) -> Result<PathBuf> {
    crate::manifest::validate_pack_name(name).map_err(|r| {
        Error::msg(format!("`{name}` is not a plugin name: {r}"))
            .with_hint("plugin names use lowercase letters, digits and `-`, like `lint`")
    })?;
    let dir = dir.map_or_else(|| PathBuf::from(name), Path::to_path_buf);
    if fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(Error::msg(format!("`{}` is not empty", dir.display()))
            .with_hint("choose another directory with `--path`"));
    }
    for (rel, text, executable) in files(template, name) {
        let path = dir.join(&rel);
        let parent = path.parent().expect("files have a parent");
        fs::create_dir_all(parent)
            .and_then(|()| fs::write_atomic(&path, text.as_bytes()))
            .and_then(|()| {
                use std::os::unix::fs::PermissionsExt;
                let mode = if executable { 0o755 } else { 0o644 };
                fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            })
            .map_err(|e| Error::io(format!("cannot write `{}`", path.display()), e))?;
    }
    Ok(dir)
}
