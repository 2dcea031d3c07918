//! The metadata of an `oci://` source — manifests, tag lists and the catalog — fetched through
//! [`crate::registry::transfer::http`] with their limits enforced while they stream: 4 MiB per manifest, 16 MiB
//! and 100,000 names per list. Lists are followed page by page (the `Link` header, else
//! `last`), and a registry that never advances cannot make aibox loop.

use std::sync::Arc;

use serde::Deserialize;

use crate::registry::RegistryError;
use crate::registry::backends::oci::OciSource;
use crate::registry::format::artifact::{self, INDEX_MEDIA_TYPE, MANIFEST_MEDIA_TYPE};
use crate::registry::transfer::cache;

/// Largest tag list or catalog page (bytes).
const MAX_LIST_BYTES: u64 = 16 << 20;
/// Most names a tag list or catalog may hold in all.
const MAX_LIST_NAMES: usize = 100_000;
/// Names asked for per page.
const PAGE: usize = 1000;

const ACCEPT: &[&str] = &[MANIFEST_MEDIA_TYPE, INDEX_MEDIA_TYPE];

#[derive(Deserialize)]
struct TagsPage {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct CatalogPage {
    #[serde(default)]
    repositories: Option<Vec<String>>,
}

impl OciSource {
    /// GET the manifest `reference` (a tag or a digest) of pack `name`, at most 4 MiB, and
    /// return it with its SHA-256 digest, checked against `expected` (a digest reference)
    /// and the registry's `Docker-Content-Digest`. A missing manifest is
    /// [`RegistryError::NotFound`].
    pub(super) fn fetch_manifest(
        &self,
        name: &str,
        reference: &str,
        expected: Option<&str>,
    ) -> Result<(Vec<u8>, String), RegistryError> {
        let repo = self.reg.repo(name);
        let what = format!("fetching the manifest `{repo}:{reference}`");
        let path = format!("{repo}/manifests/{reference}");
        let resp = self
            .rt
            .block_on(self.http.get(
                &self.client,
                &self.token,
                &self.reg,
                &repo,
                &path,
                ACCEPT,
                artifact::MAX_METADATA_BYTES,
                &what,
            ))
            .map_err(|e| self.auth_hint(e))?;
        if resp.is_not_found() {
            return Err(RegistryError::NotFound {
                name: name.into(),
                source_url: self.url.clone(),
                suggestion: None,
            });
        }
        if let Some(e) = resp.error(&what) {
            return Err(self.auth_hint(e));
        }
        let claimed = expected
            .or(resp.digest_header())
            .filter(|d| d.starts_with("sha256:"));
        if let Some(claimed) = claimed {
            let what = format!("manifest `{repo}:{reference}`");
            crate::registry::format::digest::check_bytes(claimed, &resp.body, &what)?;
        }
        let digest = artifact::sha256_digest(&resp.body);
        Ok((resp.body, digest))
    }

    /// Every tag of pack `name`'s repository (cached with a TTL).
    pub fn tags(&self, name: &str) -> Result<Arc<Vec<String>>, RegistryError> {
        if let Some(t) = self.tags.lock().expect("tags lock").get(name) {
            return Ok(t.clone());
        }
        let repo = self.reg.repo(name);
        let rec = self.cache.get_tags(&repo);
        let cached = rec
            .listed_at
            .filter(|at| self.opts.offline || (!self.opts.refresh && cache::fresh(*at)));
        let tags = if let Some(at) = cached {
            self.opts.reporter.trace(format!(
                "tags of `{repo}` from the cache (listed {}s ago)",
                cache::now().saturating_sub(at)
            ));
            rec.tags
        } else if self.opts.offline {
            return Err(self.offline(format!("the tag list of `{repo}` on {}", self.reg.host)));
        } else {
            let what = format!("listing the tags of `{repo}`");
            let tags = self
                .list(&repo, &format!("{repo}/tags/list"), &what, |body| {
                    serde_json::from_slice::<TagsPage>(body).map(|p| p.tags.unwrap_or_default())
                })
                .map_err(|e| match e {
                    RegistryError::NotFound { .. } => RegistryError::NotFound {
                        name: name.into(),
                        source_url: self.url.clone(),
                        suggestion: None,
                    },
                    other => other,
                })?;
            self.cache.set_tag_list(&repo, tags.clone());
            tags
        };
        let tags = Arc::new(tags);
        self.tags
            .lock()
            .expect("tags lock")
            .insert(name.into(), tags.clone());
        Ok(tags)
    }

    /// Repositories under the base path (`/v2/_catalog`), as pack names.
    pub fn catalog(&self) -> Result<Vec<String>, RegistryError> {
        let cached = self
            .cache
            .get_catalog()
            .filter(|(at, _)| self.opts.offline || (!self.opts.refresh && cache::fresh(*at)));
        let repos = match cached {
            Some((_, repos)) => repos,
            None if self.opts.offline => {
                return Err(self.offline(format!("the repository list of {}", self.reg.host)));
            }
            None => {
                let what = format!(
                    "listing the repositories of {} (`/v2/_catalog`)",
                    self.reg.host
                );
                let repos = self.list("_catalog", "_catalog", &what, |body| {
                    serde_json::from_slice::<CatalogPage>(body)
                        .map(|p| p.repositories.unwrap_or_default())
                })?;
                self.cache.set_catalog(&repos);
                repos
            }
        };
        let prefix = if self.reg.base.is_empty() {
            String::new()
        } else {
            format!("{}/", self.reg.base)
        };
        let mut names: Vec<String> = repos
            .iter()
            .filter_map(|r| r.strip_prefix(&prefix))
            .filter(|n| crate::manifest::validate_pack_name(n).is_ok())
            .map(str::to_owned)
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Fetch a paginated list: `n` names per page, continued while the registry says there is
    /// more (a `Link` header, or a full page), from the last name seen.
    fn list(
        &self,
        auth_repo: &str,
        path: &str,
        what: &str,
        page: impl Fn(&[u8]) -> serde_json::Result<Vec<String>>,
    ) -> Result<Vec<String>, RegistryError> {
        let mut all: Vec<String> = Vec::new();
        let mut last: Option<String> = None;
        loop {
            let mut query = format!("{path}?n={PAGE}");
            if let Some(l) = &last {
                let encoded: String = url::form_urlencoded::byte_serialize(l.as_bytes()).collect();
                query.push_str(&format!("&last={encoded}"));
            }
            let resp = self
                .rt
                .block_on(self.http.get(
                    &self.client,
                    &self.token,
                    &self.reg,
                    auth_repo,
                    &query,
                    &["application/json"],
                    MAX_LIST_BYTES,
                    what,
                ))
                .map_err(|e| self.auth_hint(e))?;
            if resp.is_not_found() {
                return Err(RegistryError::NotFound {
                    name: auth_repo.into(),
                    source_url: self.url.clone(),
                    suggestion: None,
                });
            }
            if let Some(e) = resp.error(what) {
                return Err(self.auth_hint(e));
            }
            let names = page(&resp.body)
                .map_err(|e| artifact::invalid(what, format!("not a list of names: {e}")))?;
            let more = resp.headers.contains_key("link") || names.len() >= PAGE;
            let next = names.last().cloned();
            all.extend(names);
            if all.len() > MAX_LIST_NAMES {
                return Err(artifact::invalid(
                    what,
                    format!("the registry lists more than {MAX_LIST_NAMES} names"),
                ));
            }
            // A page that does not move past the last name ends the listing.
            if !more || next.is_none() || next == last {
                break;
            }
            last = next;
        }
        Ok(all)
    }
}
