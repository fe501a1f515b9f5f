//! The reviewer and investigator console: server-rendered HTML (maud) on the
//! admin address, with one small script (`assets/console.js`) for live
//! updates and for checking inclusion proofs in the browser. No CDN, no
//! build step.
//!
//! - Sign-in takes the same bearer tokens as the gRPC API; roles mean the
//!   same (`reviewer` decides approvals, `auditor` investigates and reports;
//!   an `agent` token is refused). Decisions go through
//!   [`crate::approval::ApprovalStore`], so separation of duties is the
//!   API's own.
//! - A session is a random id in an `HttpOnly; Secure; SameSite=Strict`
//!   cookie; every form carries the session's CSRF token (sign-in, before
//!   there is a session, carries a token bound to a cookie of its own), and
//!   every state-changing request must name this console as its `Origin`
//!   (or, without one, `Referer`): a request from another origin, or from
//!   none, is refused with 403 before any handler runs.
//! - Every console action is an audit record (`console_action`).

// Handlers return `Result<_, Response>` so a refusal is the page to show;
// boxing every refusal would buy nothing on this path.
#![allow(clippy::result_large_err)]

mod approvals;
mod investigate;
mod pages;
mod reports;
mod signin;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::approval::{Approval, PendingPage, Reviews};
use crate::audit::journal::{AuditLog, Query as LogQuery};
use crate::audit::{Entry, Journal};
use crate::auth::{Authenticator, Caller, Role};
use crate::error::Error;

use approvals::*;
use investigate::*;
use reports::*;
use signin::*;

pub const COOKIE: &str = "warden_console";

/// The sign-in page's CSRF token, before there is a session to hold one.
pub const LOGIN_COOKIE: &str = "warden_console_login";

/// The console's settings (`[console]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// A signed-in session ends after this long.
    pub session_ttl_seconds: u64,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self { session_ttl_seconds: 8 * 3600 }
    }
}

struct Session {
    caller: Caller,
    /// The name a reviewer gave at sign-in when authentication is off.
    name: String,
    csrf: String,
    expires: Instant,
}

pub struct Console {
    approvals: Arc<dyn Reviews>,
    log: Arc<AuditLog>,
    auth: Arc<Authenticator>,
    sessions: DashMap<String, Arc<Session>>,
    ttl: Duration,
    compliance: crate::compliance::ComplianceConfig,
    data_dir: PathBuf,
    stores: crate::sink::Cursors,
    /// On a fleet service: the central store its reports read every
    /// instance's log from.
    central: Option<String>,
    /// The configured admin address: an origin naming it is this console's
    /// own even when a proxy rewrote `Host`.
    own_addr: Option<SocketAddr>,
    /// Turns true when the server starts shutting down: live streams end,
    /// so graceful shutdown never waits on an open browser tab.
    stopping: tokio::sync::watch::Receiver<bool>,
}

type Shared = Arc<Console>;

/// The peer's address, over TLS or not (recorded with each action).
#[derive(Clone, Copy, Debug)]
pub struct Client(SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TcpListener>> for Client {
    fn connect_info(stream: axum::serve::IncomingStream<'_, TcpListener>) -> Self {
        Client(*stream.remote_addr())
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, crate::tls::MetricsListener>> for Client {
    fn connect_info(stream: axum::serve::IncomingStream<'_, crate::tls::MetricsListener>) -> Self {
        Client(*stream.remote_addr())
    }
}

/// What the console needs of the service's configuration.
pub struct Settings {
    pub console: ConsoleConfig,
    pub compliance: crate::compliance::ComplianceConfig,
    /// Where reports are written (`<data_dir>/reports`).
    pub data_dir: PathBuf,
    /// The configured stores, for the reports' shipping facts.
    pub stores: crate::sink::Cursors,
    /// On a fleet service: the central store (reports cover every
    /// instance's verified log).
    pub central: Option<String>,
    /// The console's own address, for the Origin check (a port 0 bind is
    /// learnt from the request instead).
    pub admin_addr: Option<std::net::SocketAddr>,
}

impl Console {
    pub fn new(
        settings: Settings,
        approvals: Arc<dyn Reviews>,
        log: Arc<AuditLog>,
        auth: Arc<Authenticator>,
        stopping: tokio::sync::watch::Receiver<bool>,
    ) -> Self {
        Self {
            approvals,
            log,
            auth,
            sessions: DashMap::new(),
            ttl: Duration::from_secs(settings.console.session_ttl_seconds),
            compliance: settings.compliance,
            data_dir: settings.data_dir,
            stores: settings.stores,
            central: settings.central,
            own_addr: settings.admin_addr.filter(|a| a.port() != 0),
            stopping,
        }
    }

    /// The log an investigation names: this service's own (empty, or its
    /// origin; `true`), or on a fleet service another instance's verified
    /// central copy ([`crate::fleet::logs`]).
    async fn log_of(&self, instance: &str) -> Result<(Arc<dyn crate::audit::journal::LogRead>, bool), Error> {
        if instance.is_empty() || instance == self.log.origin() {
            let own: Arc<dyn crate::audit::journal::LogRead> = self.log.clone();
            return Ok((own, true));
        }
        let Some(central) = &self.central else {
            return Err(Error::invalid("instance", "this console holds only its own log"));
        };
        Ok((crate::fleet::logs::FleetLogs::new(central).log(&self.log, instance).await?, false))
    }

    fn reports_dir(&self) -> PathBuf {
        self.data_dir.join("reports")
    }

    async fn record(&self, who: &str, action: &'static str, target: &str, outcome: &str, client: SocketAddr) {
        crate::telemetry::console_action(action, outcome.starts_with("refused") || action == "sign_in_refused");
        let entry = Entry::ConsoleAction {
            context: crate::request::Context { application: "warden-console".into(), ..Default::default() },
            actor: storable(who, 500),
            action: action.to_string(),
            target: storable(target, 500),
            outcome: storable(outcome, 500),
            client: client.ip().to_string(),
        };
        if let Err(e) = self.log.append(entry).await {
            tracing::error!(error = %e, action, "recording a console action failed");
        }
    }
}

/// What a person typed, as a console record keeps it: the action is
/// recorded even when the input is refused, so control characters (NUL
/// included, which no store could hold) are replaced rather than refused.
fn storable(s: &str, max_chars: usize) -> String {
    s.chars()
        .take(max_chars)
        .map(|c| if c.is_control() && !matches!(c, '\t' | '\n') { '\u{FFFD}' } else { c })
        .collect()
}

fn random_token() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("the OS random source");
    hex::encode(b)
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE)
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// Compares a submitted token with the expected one in constant time; an
/// empty expected token never matches.
fn same_token(submitted: &str, expected: &str) -> bool {
    !expected.is_empty()
        && submitted.len() == expected.len()
        && submitted.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// The signed-in session, or a redirect to the sign-in page.
fn session(console: &Console, headers: &HeaderMap) -> Result<Arc<Session>, Response> {
    let id = cookie_value(headers).ok_or_else(|| Redirect::to("/login").into_response())?;
    let s = console.sessions.get(&id).map(|s| s.clone()).ok_or_else(|| Redirect::to("/login").into_response())?;
    if s.expires < Instant::now() {
        console.sessions.remove(&id);
        return Err(Redirect::to("/login?expired=1").into_response());
    }
    Ok(s)
}

/// The signed-in session as an extractor; without one, the sign-in page.
struct SignedIn(Arc<Session>);

impl axum::extract::FromRequestParts<Shared> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &Shared) -> Result<Self, Response> {
        session(state, &parts.headers).map(SignedIn)
    }
}

/// A state-changing request must carry the session's CSRF token and, when
/// the browser says where it comes from, come from this origin.
fn check_csrf(s: &Session, headers: &HeaderMap, token: &str) -> Result<(), Response> {
    let cross_site =
        headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).is_some_and(|v| v != "same-origin" && v != "none");
    if cross_site || !same_token(token, &s.csrf) {
        return Err(error_page(
            StatusCode::FORBIDDEN,
            "This form is stale or came from another site; reload the page and try again.",
        ));
    }
    Ok(())
}

fn error_page(status: StatusCode, message: &str) -> Response {
    (status, Html(pages::message("Not allowed", message).into_string())).into_response()
}

fn need(s: &Session, what: &str, roles: &[Role]) -> Result<(), Response> {
    s.caller.require(what, roles).map_err(|e| error_page(StatusCode::FORBIDDEN, &e.to_string()))
}

fn who(s: &Session) -> String {
    if s.caller.authenticated || s.name.is_empty() {
        s.caller.identity.clone()
    } else {
        s.name.clone()
    }
}

/// Whether a state-changing request comes from this console's own pages:
/// its `Origin` (or, when a browser sent none, the origin of its `Referer`)
/// must name the host and port the request was sent to (`Host`), or the
/// configured admin address. No origin at all, or `null`, is refused:
/// browsers send `Origin` with every POST, and nothing else needs the forms.
fn from_own_origin(c: &Console, req: &axum::extract::Request) -> bool {
    use axum::http::uri::{Authority, Uri};
    let headers = req.headers();
    let claimed = headers.get(header::ORIGIN).or_else(|| headers.get(header::REFERER)).and_then(|v| v.to_str().ok());
    let Some(claimed) = claimed.and_then(|v| v.parse::<Uri>().ok()) else { return false };
    let default_port = match claimed.scheme_str() {
        Some("https") => 443,
        Some("http") => 80,
        _ => return false,
    };
    let Some(from) = claimed.authority() else { return false };
    let same = |a: &Authority| {
        a.host().eq_ignore_ascii_case(from.host())
            && a.port_u16().unwrap_or(default_port) == from.port_u16().unwrap_or(default_port)
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<Authority>().ok())
        .or_else(|| req.uri().authority().cloned());
    host.as_ref().is_some_and(same)
        || c.own_addr.and_then(|a| a.to_string().parse::<Authority>().ok()).as_ref().is_some_and(same)
}

/// Refuses every state-changing request that does not come from the
/// console's own origin, before any handler (or form parsing) runs.
async fn same_origin_layer(
    State(c): State<Shared>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::http::Method;
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && !from_own_origin(&c, &req) {
        return error_page(
            StatusCode::FORBIDDEN,
            "This request did not come from the console's own pages; open the console and try again.",
        );
    }
    next.run(req).await
}

/// Security headers on every response: no framing, no sniffing, scripts
/// and styles from this origin only.
async fn headers_layer(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
            .parse()
            .expect("static header"),
        );
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, "nosniff".parse().expect("static header"));
    // `same-origin` rather than `no-referrer`: with `no-referrer` a browser
    // sends `Origin: null` on the console's own form posts, which the origin
    // check must refuse; links to other sites still get no referrer.
    h.insert(header::REFERRER_POLICY, "same-origin".parse().expect("static header"));
    h.insert(header::CACHE_CONTROL, "no-store".parse().expect("static header"));
    res
}

pub fn router(console: Shared) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/approvals") }))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/approvals", get(approvals_page))
        .route("/approvals/list", get(approvals_list))
        .route("/approvals/{id}", get(approval_page))
        .route("/approvals/{id}/decide", post(decide))
        .route("/events", get(events))
        .route("/investigate", get(investigate))
        .route("/sessions/{id}", get(timeline))
        .route("/records/{seq}/proof", get(proof))
        .route("/reports", get(reports_page).post(generate_report))
        .route("/reports/{id}/report.html", get(open_report))
        .route(
            "/assets/console.js",
            get(|| async { ([(header::CONTENT_TYPE, "text/javascript")], include_str!("assets/console.js")) }),
        )
        .route(
            "/assets/console.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css")], include_str!("assets/console.css")) }),
        )
        .layer(axum::middleware::from_fn_with_state(console.clone(), same_origin_layer))
        .layer(axum::middleware::from_fn(headers_layer))
        .with_state(console)
}

pub async fn serve(
    listener: TcpListener,
    tls: Option<crate::tls::Acceptor>,
    console: Shared,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(console).into_make_service_with_connect_info::<Client>();
    match tls {
        Some(acceptor) => {
            axum::serve(crate::tls::MetricsListener::new(listener, &acceptor)?, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
        None => axum::serve(listener, app).with_graceful_shutdown(shutdown).await,
    }
}

/// A domain error as a page, with the HTTP status of the one table
/// ([`Error::statuses`]).
fn error_status(e: Error) -> Response {
    let status = StatusCode::from_u16(e.statuses().http).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    error_page(status, &e.to_string())
}
