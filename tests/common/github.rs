//! A loopback server that answers as the GitHub releases API does (`AIBOX_GITHUB_API`): the
//! releases of repositories, their assets, and source archives.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::fake::{FakeRegistry, Reply};

/// A repository and its releases: tag → asset names.
pub type Repo<'a> = (&'a str, &'a [(&'a str, &'a [&'a str])]);

/// A loopback server: `/repos/<repo>/releases` answers `releases[repo]` (JSON made from
/// tag → asset names), `/dl/<file>` serves `files[file]`, and any other path served with
/// [`GitHub::serve_path`] (source archives: `/repos/<repo>/tarball/<tag>`) answers its bytes.
pub struct GitHub {
    pub server: FakeRegistry,
    files: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
}

impl GitHub {
    pub fn start(releases: &[Repo<'_>]) -> GitHub {
        let files: Arc<Mutex<BTreeMap<String, Vec<u8>>>> = Arc::default();
        let port = Arc::new(Mutex::new(0u16));
        let json: BTreeMap<String, Vec<(String, Vec<String>)>> = releases
            .iter()
            .map(|(repo, tags)| {
                (
                    format!("/repos/{repo}/releases"),
                    tags.iter()
                        .map(|(t, assets)| {
                            (
                                (*t).to_owned(),
                                assets.iter().map(|a| (*a).to_owned()).collect(),
                            )
                        })
                        .collect(),
                )
            })
            .collect();
        let (f, p) = (files.clone(), port.clone());
        let server = FakeRegistry::start(move |req| {
            let path = req.path.split('?').next().unwrap_or_default();
            if let Some(tags) = json.get(path) {
                let port = *p.lock().unwrap();
                let list: Vec<serde_json::Value> = tags
                    .iter()
                    .map(|(tag, assets)| {
                        serde_json::json!({
                            "tag_name": tag, "draft": false, "prerelease": false,
                            "assets": assets.iter().map(|a| serde_json::json!({
                                "name": a,
                                "browser_download_url": format!("http://127.0.0.1:{port}/dl/{a}"),
                            })).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                return Reply::new(200, serde_json::to_string(&list).unwrap().as_bytes());
            }
            if let Some(file) = path.strip_prefix("/dl/")
                && let Some(bytes) = f.lock().unwrap().get(file)
            {
                return Reply::new(200, bytes);
            }
            if let Some(bytes) = f.lock().unwrap().get(&format!("path:{path}")) {
                return Reply::new(200, bytes);
            }
            Reply::new(404, b"{\"message\":\"Not Found\"}")
        });
        *port.lock().unwrap() = server.host().rsplit(':').next().unwrap().parse().unwrap();
        GitHub { server, files }
    }

    pub fn serve(&self, file: &str, bytes: Vec<u8>) {
        self.files.lock().unwrap().insert(file.to_owned(), bytes);
    }

    /// The bytes served as `/dl/<file>`.
    pub fn file(&self, file: &str) -> Vec<u8> {
        self.files.lock().unwrap()[file].clone()
    }

    /// Serve `bytes` at the absolute `path`.
    pub fn serve_path(&self, path: &str, bytes: Vec<u8>) {
        self.files
            .lock()
            .unwrap()
            .insert(format!("path:{path}"), bytes);
    }

    /// The URL `/dl/<file>` is served at.
    pub fn url(&self, file: &str) -> String {
        format!("http://{}/dl/{file}", self.server.host())
    }

    pub fn api(&self) -> String {
        format!("http://{}", self.server.host())
    }
}
