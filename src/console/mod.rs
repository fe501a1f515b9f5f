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

mod pages;

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

use crate::approval::{Approval, ApprovalStore, PendingPage};
use crate::audit::journal::{AuditLog, Query as LogQuery};
use crate::audit::{Entry, Journal};
use crate::auth::{Authenticator, Caller, Role};
use crate::error::Error;

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
    approvals: Arc<ApprovalStore>,
    log: Arc<AuditLog>,
    auth: Arc<Authenticator>,
    sessions: DashMap<String, Arc<Session>>,
    ttl: Duration,
    compliance: crate::compliance::ComplianceConfig,
    data_dir: PathBuf,
    sink_urls: Vec<String>,
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
    pub sink_urls: Vec<String>,
    /// The console's own address, for the Origin check (a port 0 bind is
    /// learnt from the request instead).
    pub admin_addr: Option<std::net::SocketAddr>,
}

impl Console {
    pub fn new(
        settings: Settings,
        approvals: Arc<ApprovalStore>,
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
            sink_urls: settings.sink_urls,
            own_addr: settings.admin_addr.filter(|a| a.port() != 0),
            stopping,
        }
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

#[derive(Deserialize)]
struct LoginQuery {
    #[serde(default)]
    expired: Option<String>,
}

/// The sign-in page, with a CSRF token bound to a cookie (kept while the
/// browser keeps it, so two open sign-in tabs both work).
async fn login_page(State(c): State<Shared>, headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let note = q.expired.map(|_| "Your session ended; sign in again.".to_string());
    let csrf = cookie(&headers, LOGIN_COOKIE)
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(random_token);
    let set = format!("{LOGIN_COOKIE}={csrf}; Path=/login; HttpOnly; Secure; SameSite=Strict");
    let page = pages::login(!c.auth.enabled(), note.as_deref(), None, &csrf);
    ([(header::SET_COOKIE, set)], Html(page.into_string())).into_response()
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    csrf: String,
}

async fn login(
    State(c): State<Shared>,
    ConnectInfo(Client(client)): ConnectInfo<Client>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let open = !c.auth.enabled();
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).is_some_and(|v| v == "cross-site") {
        return error_page(StatusCode::FORBIDDEN, "Sign in from the console's own page.");
    }
    // The form must carry the token its page set in this browser's cookie.
    if !same_token(&f.csrf, &cookie(&headers, LOGIN_COOKIE).unwrap_or_default()) {
        return error_page(
            StatusCode::FORBIDDEN,
            "This sign-in form is stale or came from another site; reload the page and try again.",
        );
    }
    let csrf = f.csrf.clone();
    let refused = |c: Shared, who: String, why: String| {
        let csrf = csrf.clone();
        async move {
            c.record(&who, "sign_in_refused", "", &why, client).await;
            (StatusCode::FORBIDDEN, Html(pages::login(open, None, Some(&why), &csrf).into_string())).into_response()
        }
    };
    let caller = match c.auth.authenticate(Some(&format!("Bearer {}", f.token.trim())), &[]) {
        Ok(caller) => caller,
        Err(_) => return refused(c, "unknown".into(), "That token is not valid.".into()).await,
    };
    if !(caller.has(Role::Reviewer) || caller.has(Role::Auditor)) {
        let why =
            format!("{} has no reviewer or auditor role: agent credentials cannot use the console.", caller.identity);
        return refused(c, caller.identity.clone(), why).await;
    }
    let name = f.name.trim().to_string();
    if open && name.is_empty() {
        return refused(
            c,
            "anonymous".into(),
            "Authentication is off: give your name, which goes into the audit log.".into(),
        )
        .await;
    }
    // Abandoned sessions go when anyone signs in.
    let now = Instant::now();
    c.sessions.retain(|_, s| s.expires > now);
    let id = random_token();
    let s = Session { caller, name, csrf: random_token(), expires: Instant::now() + c.ttl };
    let who = who(&s);
    c.sessions.insert(id.clone(), Arc::new(s));
    c.record(&who, "sign_in", "", "ok", client).await;
    let cookie = format!("{COOKIE}={id}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}", c.ttl.as_secs());
    ([(header::SET_COOKIE, cookie)], Redirect::to("/approvals")).into_response()
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(c): State<Shared>,
    ConnectInfo(Client(client)): ConnectInfo<Client>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Ok(s) = session(&c, &headers) {
        if check_csrf(&s, &headers, &f.csrf).is_ok() {
            if let Some(id) = cookie_value(&headers) {
                c.sessions.remove(&id);
            }
            c.record(&who(&s), "sign_out", "", "ok", client).await;
        }
    }
    let cookie = format!("{COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response()
}

/// Which page of the pending approvals to show (`?page_token=`, the
/// previous page's `next_page_token`).
#[derive(Deserialize, Default)]
struct PageQuery {
    #[serde(default)]
    page_token: String,
}

/// One page of the pending approvals (the same domain call as gRPC's
/// `ListPending`, at its default page size) and the recently closed ones.
fn queue(c: &Console, caller: &Caller, page_token: &str) -> Result<(PendingPage, Vec<Approval>), Error> {
    Ok((c.approvals.list_pending(caller, "", 0, page_token)?, c.approvals.list_recent(caller, 10)?))
}

async fn approvals_page(State(c): State<Shared>, SignedIn(s): SignedIn, Query(q): Query<PageQuery>) -> Response {
    if let Err(r) = need(&s, "the approvals queue", &[Role::Reviewer, Role::Auditor]) {
        return r;
    }
    match queue(&c, &s.caller, &q.page_token) {
        Ok((page, recent)) => Html(
            pages::approvals(&pages::Nav::of(&who(&s), &s.csrf, &s.caller), &page, &q.page_token, &recent)
                .into_string(),
        )
        .into_response(),
        Err(e) => error_status(e),
    }
}

async fn approvals_list(State(c): State<Shared>, headers: HeaderMap, Query(q): Query<PageQuery>) -> Response {
    let s = match session(&c, &headers) {
        Ok(s) => s,
        Err(_) => return StatusCode::UNAUTHORIZED.into_response(),
    };
    match queue(&c, &s.caller, &q.page_token) {
        Ok((page, recent)) => Html(pages::queue(&page, &q.page_token, &recent).into_string()).into_response(),
        Err(e) => error_status(e),
    }
}

async fn approval_page(
    State(c): State<Shared>,
    SignedIn(s): SignedIn,
    ConnectInfo(Client(client)): ConnectInfo<Client>,
    Path(id): Path<String>,
) -> Response {
    // A reviewer's first look is recorded as `shown` by the store.
    let got = c.approvals.get(&s.caller, &id).await;
    c.record(&who(&s), "view_approval", &id, if got.is_ok() { "ok" } else { "refused" }, client).await;
    match got {
        Ok(a) => {
            Html(pages::approval(&pages::Nav::of(&who(&s), &s.csrf, &s.caller), &a, None).into_string()).into_response()
        }
        Err(e) => error_status(e),
    }
}

/// A domain error as a page, with the HTTP status of the one table
/// ([`Error::statuses`]).
fn error_status(e: Error) -> Response {
    let status = StatusCode::from_u16(e.statuses().http).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    error_page(status, &e.to_string())
}

#[derive(Deserialize)]
struct DecideForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    reason: String,
}

async fn decide(
    State(c): State<Shared>,
    SignedIn(s): SignedIn,
    ConnectInfo(Client(client)): ConnectInfo<Client>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<DecideForm>,
) -> Response {
    if let Err(r) = check_csrf(&s, &headers, &f.csrf) {
        return r;
    }
    let approve = match f.verdict.as_str() {
        "approve" => true,
        "deny" => false,
        _ => return error_page(StatusCode::BAD_REQUEST, "Choose approve or deny."),
    };
    let declared = if s.caller.authenticated { String::new() } else { s.name.clone() };
    let result = c.approvals.decide(&s.caller, &id, approve, &declared, &f.reason).await;
    let outcome = match &result {
        Ok(a) => a.state.as_str().to_string(),
        Err(e) => format!("refused: {e}"),
    };
    c.record(&who(&s), "decide", &id, &outcome, client).await;
    match result {
        Ok(_) => Redirect::to("/approvals").into_response(),
        Err(e @ (Error::InvalidArgument { .. } | Error::PermissionDenied(_) | Error::FailedPrecondition(_))) => {
            match c.approvals.get(&s.caller, &id).await {
                Ok(a) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Html(
                        pages::approval(&pages::Nav::of(&who(&s), &s.csrf, &s.caller), &a, Some(&e.to_string()))
                            .into_string(),
                    ),
                )
                    .into_response(),
                Err(_) => error_status(e),
            }
        }
        Err(e) => error_status(e),
    }
}

/// Server-sent events: `approvals` whenever the queue changes.
async fn events(
    State(c): State<Shared>,
    headers: HeaderMap,
) -> Result<Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>>, StatusCode> {
    session(&c, &headers).map_err(|_| StatusCode::UNAUTHORIZED)?;
    let rx = c.approvals.changes();
    let stop = c.stopping.clone();
    let stream = futures_util::stream::unfold((rx, stop), |(mut rx, mut stop)| async move {
        if *stop.borrow() {
            return None;
        }
        tokio::select! {
            changed = rx.changed() => changed.ok()?,
            _ = stop.changed() => return None,
        }
        let n = *rx.borrow_and_update();
        Some((Ok(Event::default().event("approvals").data(n.to_string())), (rx, stop)))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

#[derive(Deserialize, Default)]
pub struct Search {
    #[serde(default)]
    pub session: String,
    #[serde(default)]
    pub trace: String,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub tool: String,
    #[serde(default)]
    pub decision: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
}

/// One record as the console lists it.
pub struct Row {
    pub seq: u64,
    pub id: String,
    pub at: String,
    pub kind: String,
    pub session: String,
    pub summary: String,
    /// The record as stored: redacted, hashed, encrypted and erased fields
    /// stay so.
    pub body: serde_json::Value,
}

fn rows(log: &AuditLog, seqs: &[u64]) -> Vec<Row> {
    seqs.iter()
        .filter_map(|&seq| {
            let r = log.record(seq).ok().flatten()?;
            // As stored (redacted, hashed and encrypted fields stay so),
            // with erased subjects' fields shown as erased.
            let v = log.mark_erased(&r.canonical).ok()?;
            let body = v["body"].clone();
            Some(Row {
                seq,
                id: r.record_id,
                at: r.recorded_at,
                kind: r.kind,
                session: v["attributes"]["gen_ai.conversation.id"].as_str().unwrap_or_default().to_string(),
                summary: pages::summary(&body),
                body,
            })
        })
        .collect()
}

async fn investigate(
    State(c): State<Shared>,
    SignedIn(s): SignedIn,
    ConnectInfo(Client(client)): ConnectInfo<Client>,
    Query(q): Query<Search>,
) -> Response {
    if let Err(r) = need(&s, "investigation", &[Role::Auditor]) {
        return r;
    }
    let name = who(&s);
    let nav = pages::Nav::of(&name, &s.csrf, &s.caller);
    let asked =
        [&q.session, &q.trace, &q.user, &q.tool, &q.decision, &q.from, &q.to].iter().any(|v| !v.trim().is_empty());
    if !asked {
        return Html(pages::investigate(&nav, &q, None, None).into_string()).into_response();
    }
    let time = |field: &str, v: &str| -> Result<Option<i128>, String> {
        if v.trim().is_empty() {
            return Ok(None);
        }
        crate::compliance::incident::parse_time(v)
            .map(|t| Some(t.unix_timestamp_nanos()))
            .map_err(|m| format!("{field}: {m}"))
    };
    let (from, to) = match (time("from", &q.from), time("to", &q.to)) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) | (_, Err(e)) => {
            return Html(pages::investigate(&nav, &q, None, Some(&e)).into_string()).into_response()
        }
    };
    // The same checks and tenant rule as gRPC's Query and the CLI.
    let search = LogQuery {
        session_id: q.session.clone(),
        trace_id: q.trace.clone(),
        user_id: q.user.clone(),
        tool: q.tool.clone(),
        decision: q.decision.clone(),
        from_unix_nanos: from,
        to_unix_nanos: to,
        ..Default::default()
    };
    let query = match search.checked(&s.caller, 200) {
        Ok(query) => query,
        Err(e @ Error::InvalidArgument { .. }) => {
            return Html(pages::investigate(&nav, &q, None, Some(&e.to_string())).into_string()).into_response()
        }
        Err(e) => return error_status(e),
    };
    let described = format!("{query:?}");
    let log = c.log.clone();
    let found = tokio::task::spawn_blocking(move || {
        let seqs = log.query(&query);
        rows(&log, &seqs)
    })
    .await
    .unwrap_or_default();
    c.record(&who(&s), "search", &described, &format!("{} records", found.len()), client).await;
    Html(pages::investigate(&nav, &q, Some(&found), None).into_string()).into_response()
}

async fn timeline(
    State(c): State<Shared>,
    SignedIn(s): SignedIn,
    ConnectInfo(Client(client)): ConnectInfo<Client>,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = need(&s, "investigation", &[Role::Auditor]) {
        return r;
    }
    let search = LogQuery { session_id: id.clone(), ..Default::default() };
    let query = match search.checked(&s.caller, 2000) {
        Ok(q) => q,
        Err(e) => return error_status(e),
    };
    let log = c.log.clone();
    let found = tokio::task::spawn_blocking(move || {
        let mut seqs = log.query(&query);
        // Approval steps carry the session in their context too; records of
        // approvals asked for in the session are in the same list.
        seqs.sort_unstable();
        rows(&log, &seqs)
    })
    .await
    .unwrap_or_default();
    c.record(&who(&s), "view_timeline", &id, &format!("{} records", found.len()), client).await;
    let name = who(&s);
    let nav = pages::Nav::of(&name, &s.csrf, &s.caller);
    Html(pages::timeline(&nav, &id, &found).into_string()).into_response()
}

/// What the page needs to check that record `seq` is in the log: its exact
/// bytes, its inclusion proof in the latest signed checkpoint, that
/// checkpoint, and the log's public key.
#[derive(Serialize)]
struct ProofJson {
    leaf_index: u64,
    entry_b64: String,
    tree_size: u64,
    hashes: Vec<String>,
    root: String,
    note: String,
    signature: String,
    public_key: String,
}

async fn proof(State(c): State<Shared>, headers: HeaderMap, Path(seq): Path<u64>) -> Response {
    let s = match session(&c, &headers) {
        Ok(s) => s,
        Err(_) => return StatusCode::UNAUTHORIZED.into_response(),
    };
    if s.caller.require("proof", &[Role::Auditor]).is_err() {
        return StatusCode::FORBIDDEN.into_response();
    }
    let log = c.log.clone();
    let tenant_ok = |v: &serde_json::Value| {
        s.caller.tenants.is_empty()
            || s.caller.may_act_for(v["attributes"]["warden.tenant"].as_str().unwrap_or_default())
    };
    let Some(cp) = log.latest_checkpoint() else { return StatusCode::SERVICE_UNAVAILABLE.into_response() };
    let cp = if cp.tree_size <= seq {
        // Newer than the latest checkpoint: ask for one.
        match log.checkpoint().await {
            Ok(cp) => cp,
            Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        }
    } else {
        cp
    };
    let Ok(Some(r)) = log.record(seq) else { return StatusCode::NOT_FOUND.into_response() };
    if !crate::audit::record::read_value(&r.canonical).is_ok_and(|v| tenant_ok(&v)) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Ok(hashes) = log.inclusion_proof(seq, cp.tree_size) else { return StatusCode::NOT_FOUND.into_response() };
    Json(ProofJson {
        leaf_index: seq,
        entry_b64: B64.encode(&r.canonical),
        tree_size: cp.tree_size,
        hashes: hashes.iter().map(hex::encode).collect(),
        root: hex::encode(cp.root),
        note: cp.note.clone(),
        signature: cp.signature.clone(),
        public_key: B64.encode(log.public_key().raw),
    })
    .into_response()
}

async fn reports_page(State(c): State<Shared>, SignedIn(s): SignedIn) -> Response {
    if let Err(r) = need(&s, "compliance reports", &[Role::Auditor]) {
        return r;
    }
    let name = who(&s);
    let nav = pages::Nav::of(&name, &s.csrf, &s.caller);
    Html(pages::reports(&nav, &report_list(&c), None).into_string()).into_response()
}

/// Reports recorded in the log, newest first, with whether the console
/// keeps their files.
fn report_list(c: &Console) -> Vec<(Row, bool)> {
    let seqs = c.log.query(&LogQuery { kind: "report_generated".into(), ..LogQuery::default() });
    let mut list: Vec<(Row, bool)> = rows(&c.log, &seqs)
        .into_iter()
        .map(|r| {
            let kept = c.reports_dir().join(&r.id).join("report.html").exists();
            (r, kept)
        })
        .collect();
    list.reverse();
    list
}

#[derive(Deserialize)]
struct ReportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    framework: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    tenant: String,
}

async fn generate_report(
    State(c): State<Shared>,
    SignedIn(s): SignedIn,
    ConnectInfo(Client(client)): ConnectInfo<Client>,
    headers: HeaderMap,
    Form(f): Form<ReportForm>,
) -> Response {
    if let Err(r) = check_csrf(&s, &headers, &f.csrf).and_then(|()| need(&s, "compliance reports", &[Role::Auditor])) {
        return r;
    }
    let name = who(&s);
    let nav = pages::Nav::of(&name, &s.csrf, &s.caller);
    let fail = |c: &Console, e: String| {
        (StatusCode::BAD_REQUEST, Html(pages::reports(&nav, &report_list(c), Some(&e)).into_string())).into_response()
    };
    let framework = match crate::compliance::Framework::parse(&f.framework) {
        Ok(fw) => fw,
        Err(e) => return fail(&c, e.to_string()),
    };
    let (from, to) = match crate::compliance::ReportRequest::period(&f.from, &f.to) {
        Ok(p) => p,
        Err(e) => return fail(&c, e.to_string()),
    };
    if let Err(e) = s.caller.require_tenant(&f.tenant) {
        return fail(&c, e.to_string());
    }
    let req = crate::compliance::ReportRequest {
        framework,
        from,
        to,
        tenant: f.tenant.clone(),
        application: String::new(),
        actor: who(&s),
    };
    let lag = crate::sink::lag(&c.data_dir, &c.sink_urls, c.log.size());
    let generated = match crate::compliance::generate(c.log.clone(), &c.compliance, req, lag).await {
        Ok(g) => g,
        Err(e) => return fail(&c, e.to_string()),
    };
    let dir = c.reports_dir().join(&generated.record.record_id);
    if let Err(e) = generated.write(&dir) {
        return fail(&c, e.to_string());
    }
    c.record(&who(&s), "generate_report", &generated.record.record_id, "ok", client).await;
    Redirect::to("/reports").into_response()
}

async fn open_report(
    State(c): State<Shared>,
    SignedIn(s): SignedIn,
    ConnectInfo(Client(client)): ConnectInfo<Client>,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = need(&s, "compliance reports", &[Role::Auditor]) {
        return r;
    }
    if uuid::Uuid::parse_str(&id).is_err() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let path = c.reports_dir().join(&id).join("report.html");
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            c.record(&who(&s), "open_report", &id, "ok", client).await;
            // The report has inline styles of its own; it gets its own policy.
            (
                [
                    (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                    (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'; img-src data:"),
                ],
                bytes,
            )
                .into_response()
        }
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}
