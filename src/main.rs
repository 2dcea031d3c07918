//! The `aibox` binary: everything lives in the library; this only runs the CLI. The version
//! it reports can be set when it is built (`AIBOX_BUILD_VERSION=1.2.3 cargo build`), so that
//! releases and tests can make binaries that tell themselves apart; only this file reads it,
//! so changing it rebuilds this file alone.

fn main() {
    if let Some(v) = option_env!("AIBOX_BUILD_VERSION") {
        aibox::platform::set_version(v);
    }
    std::process::exit(aibox::cli::main());
}
