//! Reading an answer's body with a limit enforced while it streams: never past `max` bytes
//! (an error), or for error bodies, the first `max` bytes.

use crate::registry::RegistryError;
use crate::registry::transfer::hops::network_error;

/// Largest error body read (the rest is ignored).
pub(crate) const MAX_ERROR_BODY: u64 = 64 << 10;

/// Read a body chunk by chunk, stopping past `max` (an error, or for error bodies, the end).
pub(crate) async fn read_limited(
    mut resp: reqwest::Response,
    max: u64,
    what: &str,
    truncate: bool,
) -> Result<Vec<u8>, RegistryError> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| network_error(e, what))? {
        if (body.len() + chunk.len()) as u64 > max {
            if truncate {
                let keep = max as usize - body.len();
                body.extend_from_slice(&chunk[..keep.min(chunk.len())]);
                return Ok(body);
            }
            return Err(too_large(what, max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

pub(crate) fn too_large(what: &str, max: u64) -> RegistryError {
    let shown = if max.is_multiple_of(1 << 20) {
        format!("{} MiB", max >> 20)
    } else {
        format!("{max} bytes")
    };
    RegistryError::InvalidPack {
        path: what.into(),
        message: format!("the registry's answer is larger than {shown}; stopped reading"),
    }
}
