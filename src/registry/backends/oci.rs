//! Remote OCI registries (`oci://host[:port]/base`, pack `name` in repository `<base>/<name>`,
//! tags = versions) through `oci-client` on an internal tokio runtime: metadata cached by
//! digest forever and tags with a TTL, `--offline` served from the cache only, blobs fetched
//! by [`crate::registry::transfer::fetch`], and pushing built packs or layout refs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::{Client, Reference};
use semver::Version;

use crate::manifest::pack::PackManifest;
use crate::registry::backends::backend::Backend;
use crate::registry::backends::content;
use crate::registry::format::artifact::{self, Descriptor};
use crate::registry::transfer::auth;
use crate::registry::transfer::cache::{self, MetaCache};
pub use crate::registry::transfer::url::RegistryUrl;
use crate::registry::{RegistryError, SourceOptions};
use crate::store::{PackId, Store};

/// An `oci://` source.
pub struct OciSource {
    pub(super) url: String,
    pub(super) reg: RegistryUrl,
    pub(super) client: Client,
    /// The token exchange, holding the credentials (the registry client never does).
    pub(super) token: crate::registry::transfer::token::Exchange,
    pub(super) rt: &'static tokio::runtime::Runtime,
    pub(super) cache: MetaCache,
    pub(super) opts: SourceOptions,
    pub(super) tags: Mutex<HashMap<String, Arc<Vec<String>>>>,
    pub(super) http: crate::registry::transfer::http::Http,
}

impl std::fmt::Debug for OciSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OciSource").field("url", &self.url).finish()
    }
}

impl OciSource {
    /// Open `oci://host[:port]/base`. Plain HTTP is used only for loopback hosts or when
    /// `opts.insecure`; the cache lives under the aibox home's `cache/`.
    pub fn open(url: &str, opts: &SourceOptions) -> Result<OciSource, RegistryError> {
        let reg = RegistryUrl::parse(url)?;
        let config = crate::config::load().ok();
        let configured_insecure = config.as_ref().is_some_and(|c| {
            c.registries.values().any(|r| {
                let prefix = r.url.trim_end_matches('/');
                r.insecure && (url == prefix || url.starts_with(&format!("{prefix}/")))
            })
        });
        // The token services the user names for registries on this host.
        let token_services: Vec<String> = config
            .iter()
            .flat_map(|c| c.registries.values())
            .filter(|r| {
                RegistryUrl::parse(&r.url).is_ok_and(|u| u.host.eq_ignore_ascii_case(&reg.host))
            })
            .filter_map(|r| r.token_service.clone())
            .collect();
        let http = reg.is_loopback() || opts.insecure || configured_insecure;
        let config = ClientConfig {
            protocol: if http {
                ClientProtocol::HttpsExcept(vec![reg.host.clone()])
            } else {
                ClientProtocol::Https
            },
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(Duration::from_secs(60)),
            platform_resolver: None,
            max_concurrent_download: 8,
            user_agent: concat!("aibox/", env!("CARGO_PKG_VERSION")),
            tls_certs_only: crate::registry::transfer::roots::oci_roots(),
            ..Default::default()
        };
        let client = Client::try_from(config).map_err(|e| RegistryError::Client {
            what: "registry client",
            source: Box::new(e),
        })?;
        let rt = crate::registry::transfer::http::runtime()?;
        let (auth, origin) = auth::credentials(&reg.host, opts.reporter);
        // The registry client gets no credentials: requests go out anonymous, and a 401
        // challenge is answered by aibox's own token exchange once per repository, which
        // hands the client a token (or Basic, when the registry asks for nothing else).
        let token = crate::registry::transfer::token::Exchange::new(
            http,
            &reg.host,
            auth,
            origin,
            &token_services,
            opts.reporter,
        )?;
        let layout = crate::store::Store::home_layout(opts.home)?;
        let cache = MetaCache::new(&layout.cache(), &reg.host);
        let http_client = crate::registry::transfer::http::Http::new(
            &reg,
            http,
            !reg.is_loopback() && (opts.insecure || configured_insecure),
            opts.reporter,
        )?;
        Ok(OciSource {
            url: url.into(),
            reg,
            client,
            token,
            rt,
            cache,
            opts: *opts,
            tags: Mutex::new(HashMap::new()),
            http: http_client,
        })
    }

    pub fn registry(&self) -> &RegistryUrl {
        &self.reg
    }

    /// Whether the registry answers (for `aibox doctor`): a description of the answer.
    pub fn ping(&self) -> Result<String, RegistryError> {
        if self.opts.offline {
            return Err(self.offline(format!("`{}`", self.url)));
        }
        match self.rt.block_on(self.http.ping(&self.reg))? {
            200 => Ok("answers".into()),
            401 => Ok(format!(
                "answers, asks for credentials ({})",
                self.token.origin()
            )),
            code => Err(RegistryError::BadAnswer {
                from: format!("`{}`", self.reg.host),
                message: format!("answered HTTP {code} to `GET /v2/`: not an OCI registry API"),
            }),
        }
    }

    pub(super) fn reference(&self, name: &str, tag: &str) -> Reference {
        Reference::with_tag(self.reg.host.clone(), self.reg.repo(name), tag.into())
    }

    pub(super) fn by_digest(&self, name: &str, digest: &str) -> Reference {
        Reference::with_digest(self.reg.host.clone(), self.reg.repo(name), digest.into())
    }

    pub(super) fn offline(&self, what: String) -> RegistryError {
        RegistryError::Offline { what }
    }

    pub(super) fn auth_hint(&self, e: RegistryError) -> RegistryError {
        match e {
            // A refusal after credentials were kept from a token service on another host says
            // so, and how to send them.
            RegistryError::Auth { what, message } if self.token.withheld().is_some() => self
                .token
                .withheld_error(&what, &format!("then the registry refused: {message}")),
            RegistryError::Auth { what, message } => RegistryError::Auth {
                what,
                message: format!("{message}; used {}", self.token.origin()),
            },
            other => other,
        }
    }

    /// Fetch a version's artifact for `platform` and build it (tree hash from its config).
    pub fn pull(
        &self,
        name: &str,
        version: &Version,
        platform: &str,
        store: &Store,
    ) -> Result<(PackId, Arc<PackManifest>, String), RegistryError> {
        let (id, info) = content::fetch_any(self, store, name, version, platform)?;
        let digest = content::resolve(self, name, version)?.digest;
        Ok((id, info.pack, digest))
    }

    /// The resolved top-level digest of a version.
    pub fn resolve_digest(&self, name: &str, version: &Version) -> Result<String, RegistryError> {
        Ok(self.tagged(name, version)?.1)
    }

    fn download_small(
        &self,
        name: &str,
        desc: &Descriptor,
        max: u64,
        tmp: &std::path::Path,
    ) -> Result<Vec<u8>, RegistryError> {
        if desc.size > max {
            return Err(artifact::invalid(
                &self.url,
                format!(
                    "blob {} is {} bytes, more than the {max} allowed",
                    desc.digest, desc.size
                ),
            ));
        }
        let what = format!("`{}` on {}", self.reg.repo(name), self.reg.host);
        let repo = self.reg.repo(name);
        let file = self
            .rt
            .block_on(crate::registry::transfer::fetch::download(
                &crate::registry::transfer::fetch::Origin {
                    http: &self.http,
                    oci: &self.client,
                    exchange: &self.token,
                    reg: &self.reg,
                    repo: &repo,
                },
                desc,
                tmp,
                &crate::registry::transfer::fetch::Watch {
                    what: &what,
                    reporter: self.opts.reporter,
                    on_bytes: &|_| {},
                    tee: None,
                },
            ))
            .map_err(|e| self.auth_hint(e))?;
        crate::fs::read(file.path()).map_err(|source| RegistryError::Io {
            context: "cannot read a staging file".into(),
            source,
        })
    }
}

impl Backend for OciSource {
    fn reporter(&self) -> crate::printer::Reporter {
        self.opts.reporter
    }
    fn home(&self) -> crate::store::Home {
        self.opts.home
    }
    fn url(&self) -> &str {
        &self.url
    }

    fn list_names(&self) -> Result<Vec<String>, RegistryError> {
        self.catalog()
    }

    fn list_versions(&self, name: &str) -> Result<Vec<Version>, RegistryError> {
        let mut v: Vec<Version> = self
            .tags(name)?
            .iter()
            .filter_map(|t| Version::parse(t).ok())
            .collect();
        v.sort();
        if v.is_empty() {
            return Err(RegistryError::NotFound {
                name: name.into(),
                source_url: self.url.clone(),
                suggestion: None,
            });
        }
        Ok(v)
    }

    fn remote(&self) -> bool {
        true
    }

    fn tagged(&self, name: &str, version: &Version) -> Result<(Vec<u8>, String), RegistryError> {
        let repo = self.reg.repo(name);
        let tag = version.to_string();
        let rec = self.cache.get_tags(&repo);
        if let Some((digest, at)) = rec.digests.get(&tag)
            && (self.opts.offline || (!self.opts.refresh && cache::fresh(*at)))
            && let Some(bytes) = self.cache.get_blob(digest)
        {
            self.opts
                .reporter
                .trace(format!("`{repo}:{tag}` is {digest} (cached)"));
            return Ok((bytes, digest.clone()));
        }
        if self.opts.offline {
            return Err(self.offline(format!(
                "the manifest of `{repo}:{tag}` on {}",
                self.reg.host
            )));
        }
        let (bytes, digest) = self.fetch_manifest(name, &tag, None).map_err(|e| match e {
            RegistryError::NotFound { .. } => match self.tags(name) {
                Ok(_) => RegistryError::NoSuchVersion {
                    name: name.into(),
                    version: version.clone(),
                    source_url: self.url.clone(),
                },
                Err(e) => e,
            },
            other => other,
        })?;
        self.cache.put_blob(&digest, &bytes);
        self.cache.set_tag_digest(&repo, &tag, &digest);
        Ok((bytes.to_vec(), digest))
    }

    fn manifest_by_digest(&self, name: &str, digest: &str) -> Result<Vec<u8>, RegistryError> {
        artifact::digest_hex(digest)?;
        if let Some(bytes) = self.cache.get_blob(digest) {
            self.opts
                .reporter
                .trace(format!("manifest {digest} from the cache"));
            return Ok(bytes);
        }
        if self.opts.offline {
            return Err(self.offline(format!("manifest {digest} of `{}`", self.reg.repo(name))));
        }
        let (bytes, _) = self.fetch_manifest(name, digest, Some(digest))?;
        self.cache.put_blob(digest, &bytes);
        Ok(bytes.to_vec())
    }

    fn manifest_by_tag(
        &self,
        name: &str,
        tag: &str,
    ) -> Result<Option<(Vec<u8>, String)>, RegistryError> {
        if self.opts.offline {
            return Err(self.offline(format!(
                "the tag `{tag}` of `{}` on {}",
                self.reg.repo(name),
                self.reg.host
            )));
        }
        match self.fetch_manifest(name, tag, None) {
            Ok(found) => Ok(Some(found)),
            Err(RegistryError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn lists_tag(&self, name: &str, tag: &str) -> Option<bool> {
        self.tags(name).ok().map(|t| t.iter().any(|x| x == tag))
    }

    fn small_blob(
        &self,
        name: &str,
        desc: &Descriptor,
        max: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        if let Some(bytes) = self.cache.get_blob(&desc.digest) {
            self.opts
                .reporter
                .trace(format!("blob {} from the cache", desc.digest));
            return Ok(bytes);
        }
        if self.opts.offline {
            return Err(self.offline(format!("blob {} of `{}`", desc.digest, self.reg.repo(name))));
        }
        let tmp = crate::fs::temp_dir().map_err(|source| RegistryError::Io {
            context: "cannot create a temporary directory".into(),
            source,
        })?;
        let bytes = self.download_small(name, desc, max, tmp.path())?;
        self.cache.put_blob(&desc.digest, &bytes);
        Ok(bytes)
    }

    fn stage_blob(
        &self,
        name: &str,
        desc: &Descriptor,
        store: &Store,
        tee: Option<&crate::registry::transfer::tee::Tee>,
    ) -> Result<tempfile::NamedTempFile, RegistryError> {
        if self.opts.offline {
            return Err(self.offline(format!("blob {} of `{}` (pack content is not cached; run `aibox sync` once online or use an `oci-layout:` mirror)", desc.digest, self.reg.repo(name))));
        }
        let what = format!("`{}` on {}", self.reg.repo(name), self.reg.host);
        let bar = self.opts.reporter.progress(desc.size, "Fetching", true);
        bar.set_message(name.to_owned());
        let on = |n: u64| bar.inc(n);
        let repo = self.reg.repo(name);
        let r = self.rt.block_on(crate::registry::transfer::fetch::download(
            &crate::registry::transfer::fetch::Origin {
                http: &self.http,
                oci: &self.client,
                exchange: &self.token,
                reg: &self.reg,
                repo: &repo,
            },
            desc,
            &store.staging()?,
            &crate::registry::transfer::fetch::Watch {
                what: &what,
                reporter: self.opts.reporter,
                on_bytes: &on,
                tee,
            },
        ));
        bar.finish_and_clear();
        r.map_err(|e| self.auth_hint(e))
    }
}
