//! Plugins the user disabled (`aibox plugin disable NAME`): kept installed, never dispatched —
//! `aibox <name>` refuses with how to enable it, and lifecycle events skip it. The list is
//! `disabled-plugins` in the aibox home (store-format/SPEC.md §1): one plugin name per line,
//! written atomically; a line that is not a valid plugin name is ignored. It lives outside
//! `plugin-data/`, which plugins may write, so a plugin cannot enable itself.

use std::collections::BTreeSet;

use crate::error::{Error, Result};
use crate::fs;
use crate::store::Layout;

/// The largest list read.
const MAX_BYTES: u64 = 1 << 20;

/// The names disabled in the home of `layout` (none when the file is missing or unreadable).
pub fn read(layout: &Layout) -> BTreeSet<String> {
    let Ok(text) = fs::read_regular_string(&layout.disabled_plugins(), MAX_BYTES) else {
        return BTreeSet::new();
    };
    text.lines()
        .map(str::trim)
        .filter(|l| crate::manifest::validate_pack_name(l).is_ok())
        .map(str::to_owned)
        .collect()
}

/// Whether the plugin `name` is disabled.
pub fn is_disabled(layout: &Layout, name: &str) -> bool {
    read(layout).contains(name)
}

/// Disable (`disabled`) or enable `name`; returns whether anything changed.
pub fn set(layout: &Layout, name: &str, disabled: bool) -> Result<bool> {
    let mut names = read(layout);
    let changed = if disabled {
        names.insert(name.to_owned())
    } else {
        names.remove(name)
    };
    if !changed {
        return Ok(false);
    }
    let path = layout.disabled_plugins();
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create `{}`", dir.display()), e))?;
    }
    let text: String = names.iter().map(|n| format!("{n}\n")).collect();
    fs::write_atomic(&path, text.as_bytes())
        .map_err(|e| Error::io(format!("cannot write `{}`", path.display()), e))?;
    Ok(true)
}

/// The error for running a disabled plugin.
pub fn refused(name: &str) -> Error {
    Error::msg(format!(
        "the plugin `{name}` is disabled: it is installed but not run"
    ))
    .with_hint(format!(
        "`aibox plugin enable {name}` enables it again; `aibox plugin list` shows which plugins are disabled"
    ))
}
