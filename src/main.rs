//! The `aibox` binary: everything lives in the library; this only runs the CLI.

fn main() {
    std::process::exit(aibox::cli::main());
}
