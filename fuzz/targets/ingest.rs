//! AFL++ harness for the `ingest` fuzz target (see src/fuzz.rs).

fn main() {
    afl::fuzz!(|data: &[u8]| aibox::fuzz::run("ingest", data));
}
