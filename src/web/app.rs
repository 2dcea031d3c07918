//! What every handler of the local page shares: the server's state (options, the session
//! token and the form token), blocking work off the async threads, and the common answers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::pages::{Links, notice, page};
use crate::error::Error;
use crate::ops::{self, Options, Target};

pub(super) struct Ui {
    pub(super) opts: Options,
    pub(super) token: String,
    pub(super) csrf: String,
    pub(super) port: u16,
    /// How many packs the Updates view lists (shown on its tab), once known.
    pub(super) updates: std::sync::Mutex<Option<usize>>,
}

impl Ui {
    pub(super) fn links(&self) -> Links {
        Links::Live {
            token: self.token.clone(),
            csrf: self.csrf.clone(),
            updates: *self.updates.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Record the number of packs the Updates view lists.
    pub(super) fn set_updates(&self, count: Option<usize>) {
        *self.updates.lock().unwrap_or_else(|e| e.into_inner()) = count;
    }

    /// The profiles shown: the project's (when started inside one) and the global one.
    pub(super) fn targets(&self) -> Vec<(&'static str, Target, String)> {
        let mut out = Vec::new();
        if let Ok(p) = ops::find_project(&self.opts) {
            out.push((
                "project",
                Target::Project,
                format!("Project {}", p.root.display()),
            ));
        }
        out.push(("global", Target::Global, "Global profile".to_owned()));
        out
    }
}

pub(super) type Shared = Arc<Ui>;
pub(super) type Params = HashMap<String, String>;

pub(super) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Run blocking `ops` work on the runtime's blocking pool; `None` when it panicked (the
/// handler then answers with an error page).
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    tokio::task::spawn_blocking(|| {
        // Each request is a run of its own: its unpack budget starts from zero.
        crate::store::new_run();
        f()
    })
    .await
    .ok()
}

pub(super) fn html(status: StatusCode, body: String) -> Response {
    (status, Html(body)).into_response()
}

pub(super) fn failed(ui: &Ui, current: &str, title: &str, e: &Error) -> Response {
    html(
        StatusCode::INTERNAL_SERVER_ERROR,
        page(&ui.links(), current, title, &notice("error", &e.render())),
    )
}

pub(super) fn target_of(ui: &Ui, key: Option<&String>) -> Option<Target> {
    ui.targets()
        .into_iter()
        .find(|(k, _, _)| Some(&k.to_string()) == key)
        .map(|(_, t, _)| t)
}

/// Whether a POST's form carries the page's CSRF token.
pub(super) fn form_ok(ui: &Ui, form: &Params) -> bool {
    form.get("csrf").is_some_and(|c| same(c, &ui.csrf))
}

pub(super) fn bad_form() -> Response {
    (StatusCode::FORBIDDEN, "a missing or wrong form token").into_response()
}
