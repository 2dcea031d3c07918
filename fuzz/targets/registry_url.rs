//! AFL++ harness for the `registry_url` fuzz target (see src/fuzz.rs).

fn main() {
    afl::fuzz!(|data: &[u8]| aibox::fuzz::run("registry_url", data));
}
