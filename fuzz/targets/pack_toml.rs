//! AFL++ harness for the `pack_toml` fuzz target (see src/fuzz.rs).

fn main() {
    afl::fuzz!(|data: &[u8]| aibox::fuzz::run("pack_toml", data));
}
