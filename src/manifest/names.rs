//! Names in manifests: the pack name syntax, and the one "did you mean" of every message.

/// Check a pack name: `[a-z0-9][a-z0-9-]*`, at most 64 characters. The error is the reason.
pub fn validate_pack_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if name.len() > 64 {
        return Err(format!(
            "the name is {} characters long (at most 64)",
            name.len()
        ));
    }
    let first = name.as_bytes()[0];
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
        return Err("it must start with a lowercase letter or a digit".into());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "`{bad}` is not allowed (use lowercase letters, digits and `-`)"
        ));
    }
    Ok(())
}

/// `; did you mean `x`?` for a suggestion, or nothing: the tail of "not found" messages.
pub fn did_you_mean_tail(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

/// The closest of `candidates` to `word`, if one is close enough to suggest: the one "did you
/// mean" of every message (names, keys, commands).
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, c)| c.to_owned())
}
