//! AFL++ harness for the `oci_json` fuzz target (see src/fuzz.rs).

fn main() {
    afl::fuzz!(|data: &[u8]| aibox::fuzz::run("oci_json", data));
}
