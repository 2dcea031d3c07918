//! The local page (`aibox ui`) and the static catalog (`aibox catalog build`): a second front
//! end beside the command line, calling the same [`crate::ops`] functions.
//!
//! The page is served on 127.0.0.1 only, and every request must carry the random token of the
//! URL printed at start; the `Host` header must name the loopback address and port (against DNS
//! rebinding); state-changing requests are POSTs that also carry a second random token (CSRF)
//! and, when the browser sends one, a same-origin `Origin`. Responses forbid framing, scripts,
//! referrers to other sites and caching. Work runs on plain threads (the `ops` functions block), never on the
//! server's runtime.

mod app;
pub mod catalog;
pub mod discover;
mod install;
mod installed;
pub mod pages;
mod updates;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::error::{Error, Result};
use crate::ops::{self, Options};
use app::{Params, Shared, Ui, bad_form, blocking, failed, form_ok, html, same, target_of};
use pages::{notice, page};

/// `aibox ui` settings.
#[derive(Debug, Clone)]
pub struct UiOptions {
    /// 0: any free port.
    pub port: u16,
    /// Open the page in the default browser (`xdg-open`).
    pub open: bool,
}

fn random_hex() -> Result<String> {
    let bytes = crate::fs::random_bytes::<16>()
        .map_err(|e| Error::io("cannot read random bytes for the page's token", e))?;
    Ok(hex::encode(bytes))
}

/// Serve the page until Ctrl-C; prints its URL (with the token) on stdout.
pub fn serve(opts: &Options, ui: &UiOptions) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start the page's runtime", e))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", ui.port))
            .await
            .map_err(|e| {
                Error::io(format!("cannot listen on 127.0.0.1:{}", ui.port), e)
                    .with_hint("choose another port with `aibox ui --port <N>` (0: any free one)")
            })?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::io("cannot read the page's address", e))?
            .port();
        let state = Arc::new(Ui {
            opts: opts.clone(),
            token: random_hex()?,
            csrf: random_hex()?,
            port,
            updates: std::sync::Mutex::new(None),
        });
        let url = format!("http://127.0.0.1:{port}/?token={}", state.token);
        updates::refresh_count(&state);
        let app = Router::new()
            .route("/", get(root))
            .route("/discover", get(discover::discover))
            .route("/pack", get(pack))
            .route("/installed", get(installed::installed))
            .route("/diff", get(diff))
            .route("/updates", get(updates::updates))
            .route("/rollback", post(rollback))
            .route("/update", post(updates::update))
            .route("/install", post(install::install))
            .route("/uninstall", post(install::uninstall))
            .fallback(not_found)
            .layer(middleware::from_fn_with_state(state.clone(), guard))
            .with_state(state);
        crate::printer::out(&url);
        opts.reporter.status(
            "Serving",
            "the aibox page on 127.0.0.1 only (the URL above holds its token); Ctrl-C stops it",
        );
        if ui.open {
            let _ = std::process::Command::new("xdg-open")
                .arg(&url)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn();
        }
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| Error::io("the page's server failed", e))
    })
}

/// Refuse what is not for us: another `Host` (DNS rebinding), a missing or wrong token, a
/// cross-origin POST; and set the headers every answer carries.
async fn guard(State(ui): State<Shared>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let allowed = [
        format!("127.0.0.1:{}", ui.port),
        format!("localhost:{}", ui.port),
    ];
    let refused = if !allowed.iter().any(|a| a == host) {
        Some((
            StatusCode::MISDIRECTED_REQUEST,
            "this page answers only to its loopback address",
        ))
    } else if !query_token(req.uri().query()).is_some_and(|t| same(&t, &ui.token)) {
        Some((
            StatusCode::FORBIDDEN,
            "a missing or wrong token: open the URL `aibox ui` printed",
        ))
    } else if req.method() == axum::http::Method::POST
        && req
            .headers()
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok())
            .is_some_and(|o| !allowed.iter().any(|a| o == format!("http://{a}")))
    {
        Some((StatusCode::FORBIDDEN, "a request from another site"))
    } else {
        None
    };
    let mut response = match refused {
        Some((status, why)) => (status, why.to_owned()).into_response(),
        None => next.run(req).await,
    };
    let h = response.headers_mut();
    for (k, v) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        h.insert(k, HeaderValue::from_static(v));
    }
    response
}

fn query_token(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
}

/// Compare secrets in time independent of where they differ.
async fn not_found(State(ui): State<Shared>) -> Response {
    html(
        StatusCode::NOT_FOUND,
        page(
            &ui.links(),
            "",
            "Not found",
            &notice("error", "There is no such page."),
        ),
    )
}

async fn root(State(ui): State<Shared>) -> Response {
    let to = ui.links().live("/discover", &[]);
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

async fn pack(State(ui): State<Shared>, Query(q): Query<Params>) -> Response {
    let name = q.get("name").cloned().unwrap_or_default();
    let registry = q.get("registry").cloned().unwrap_or_default();
    let opts = ui.opts.clone();
    let work = blocking(move || -> Result<ops::search::Info> {
        // Only the configured registries: a URL in a link never points aibox elsewhere.
        let sources: Vec<_> = ops::search::registries(&opts, &[])?
            .into_iter()
            .filter(|(u, ..)| *u == registry)
            .collect();
        if sources.is_empty() {
            return Err(Error::msg(format!(
                "`{registry}` is not one of the configured registries"
            )));
        }
        let mut info = ops::search::info(
            &name,
            &sources,
            &crate::engine::context::source_options(&opts, false),
        )?;
        if info.kind == "skill" {
            info.agents = crate::engine::skills::project_folders(&opts);
        }
        Ok(info)
    })
    .await;
    match work {
        Some(Ok(info)) => {
            let title = format!("{} {}", info.name, info.version);
            html(
                StatusCode::OK,
                page(&ui.links(), "Discover", &title, &pages::pack(&info)),
            )
        }
        Some(Err(e)) => failed(&ui, "Discover", "Pack", &e),
        None => failed(&ui, "Discover", "Pack", &Error::msg("the lookup stopped")),
    }
}

async fn diff(State(ui): State<Shared>, Query(q): Query<Params>) -> Response {
    let Some(target) = target_of(&ui, q.get("target")) else {
        return failed(
            &ui,
            "Installed",
            "Difference",
            &Error::msg("no such profile"),
        );
    };
    let id = |k: &str| q.get(k).and_then(|v| v.parse::<u64>().ok());
    let (a, b) = (id("a"), id("b"));
    let opts = ui.opts.clone();
    match blocking(move || ops::generations::diff(&opts, target, a, b)).await {
        Some(Ok((a, b, d))) => html(
            StatusCode::OK,
            page(
                &ui.links(),
                "Installed",
                "Difference",
                &pages::diff(a, b, &d),
            ),
        ),
        Some(Err(e)) => failed(&ui, "Installed", "Difference", &e),
        None => failed(
            &ui,
            "Installed",
            "Difference",
            &Error::msg("the comparison stopped"),
        ),
    }
}

async fn rollback(State(ui): State<Shared>, Form(form): Form<Params>) -> Response {
    if !form_ok(&ui, &form) {
        return bad_form();
    }
    let Some(target) = target_of(&ui, form.get("target")) else {
        return failed(
            &ui,
            "Installed",
            "Installed",
            &Error::msg("no such profile"),
        );
    };
    let Some(to) = form.get("to").and_then(|t| t.parse::<u64>().ok()) else {
        return failed(
            &ui,
            "Installed",
            "Installed",
            &Error::msg("no generation given"),
        );
    };
    let opts = ui.opts.clone();
    let message =
        match blocking(move || ops::generations::rollback(&opts, target, Some(to), false)).await {
            Some(Ok(r)) => notice(
                "ok",
                &format!(
                    "Switched to generation {} (from {}).",
                    r.to,
                    r.from.map_or("?".into(), |f| f.to_string())
                ),
            ),
            Some(Err(e)) => notice("error", &e.render()),
            None => notice("error", "the rollback stopped"),
        };
    updates::refresh_count(&ui);
    installed::installed_page(&ui, Some(message)).await
}
