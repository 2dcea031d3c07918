//! AFL++ harness for the `aibox_lock` fuzz target (see src/fuzz.rs).

fn main() {
    afl::fuzz!(|data: &[u8]| aibox::fuzz::run("aibox_lock", data));
}
