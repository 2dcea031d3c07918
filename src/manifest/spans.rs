//! Finding where a key or value sits in a TOML text (byte spans), so that errors found after
//! parsing can still point at a line and column.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Whether to point at a key or at its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Key,
    Value,
}

/// The byte span of the key (or value) at `path` (table keys from the document root), if the
/// text parses and has it. Paths through arrays of tables are not followed.
pub fn locate(text: &str, path: &[&str], part: Part) -> Option<Range<usize>> {
    let doc = DeTable::parse(text).ok()?;
    locate_in(doc.get_ref(), path, part)
}

/// Like [`locate`], on an already parsed table.
pub(crate) fn locate_in(table: &DeTable<'_>, path: &[&str], part: Part) -> Option<Range<usize>> {
    let (first, rest) = path.split_first()?;
    let (key, value) = table.iter().find(|(k, _)| k.get_ref() == first)?;
    if rest.is_empty() {
        return Some(match part {
            Part::Key => key.span(),
            Part::Value => value.span(),
        });
    }
    match value.get_ref() {
        DeValue::Table(inner) => locate_in(inner, rest, part),
        _ => None,
    }
}

/// The entries of a table in document order (by key position).
pub(crate) fn in_order<'a, 'i>(
    table: &'a DeTable<'i>,
) -> Vec<(
    &'a Spanned<std::borrow::Cow<'i, str>>,
    &'a Spanned<DeValue<'i>>,
)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}
