//! `scripts/aqua-coverage DIR`: every entry of an aqua registry checkout through aibox's reader
//! and its download plans for linux-x86_64, linux-aarch64 and macos-aarch64 (aqua's
//! darwin/arm64), at each package's newest version (its `pkg.yaml`); prints the counts and
//! the most common reasons an entry is not fully supported.

fn main() -> std::process::ExitCode {
    let Some(dir) = std::env::args_os().nth(1) else {
        aibox::printer::out("usage: aqua_coverage <aqua-registry checkout>");
        return std::process::ExitCode::from(2);
    };
    let dir = std::path::PathBuf::from(dir);
    let files = match aibox::registry::backends::aqua::checkout::registry_files(&dir.join("pkgs")) {
        Ok(f) if !f.is_empty() => f,
        Ok(_) => {
            aibox::printer::out(format!("{}: no pkgs/**/registry.yaml", dir.display()));
            return std::process::ExitCode::FAILURE;
        }
        Err(e) => {
            aibox::printer::out(format!("{}: {e}", dir.display()));
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut texts = Vec::new();
    for f in &files {
        match aibox::fs::read_regular_string(f, 64 << 20) {
            Ok(t) => texts.push((t, f.display().to_string())),
            Err(e) => aibox::printer::out(format!("{}: {e}", f.display())),
        }
    }
    let index =
        match aibox::aqua::Index::parse_many(texts.iter().map(|(t, o)| (t.as_str(), o.clone()))) {
            Ok(i) => i,
            Err(e) => {
                aibox::printer::out(e.to_string());
                return std::process::ExitCode::FAILURE;
            }
        };
    let versions = aibox::registry::backends::aqua::checkout::newest_versions(&dir);
    let report = aibox::aqua::coverage::measure(
        &index,
        &versions,
        &["linux-x86_64", "linux-aarch64", "macos-aarch64"],
    );
    aibox::printer::out(format!("registry files: {}", files.len()));
    for line in report.lines() {
        aibox::printer::out(line);
    }
    std::process::ExitCode::SUCCESS
}
