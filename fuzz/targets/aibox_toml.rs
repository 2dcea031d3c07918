//! AFL++ harness for the `aibox_toml` fuzz target (see src/fuzz.rs).

fn main() {
    afl::fuzz!(|data: &[u8]| aibox::fuzz::run("aibox_toml", data));
}
