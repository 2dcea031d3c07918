//! The `hello-rs` plugin: aibox runs it as `aibox hello-rs`, sandboxed, with
//! AIBOX_WORKSPACE, AIBOX_PLUGIN_DIR, AIBOX_VERSION, AIBOX_CONFIG and AIBOX_GENERATION set.

use std::io::Read;

fn greeting(who: &str, workspace: &str) -> String {
    format!("hello {who} from hello-rs in {workspace}")
}

fn main() {
    let arg = std::env::args().nth(1);
    if let Some(event) = arg.as_deref().and_then(|a| a.strip_prefix("--aibox-event=")) {
        // A lifecycle event (JSON on stdin): remember the last one.
        let mut json = String::new();
        std::io::stdin().read_to_string(&mut json).expect("read the event");
        let dir = std::env::var("AIBOX_PLUGIN_DIR").expect("AIBOX_PLUGIN_DIR");
        std::fs::write(format!("{dir}/last-{event}.json"), json).expect("write the event");
        return;
    }
    let workspace = std::env::var("AIBOX_WORKSPACE").unwrap_or_else(|_| "?".into());
    println!("{}", greeting(arg.as_deref().unwrap_or("world"), &workspace));
}

#[cfg(test)]
mod tests {
    #[test]
    fn greets() {
        assert_eq!(super::greeting("team", "/ws"), "hello team from hello-rs in /ws");
    }
}
