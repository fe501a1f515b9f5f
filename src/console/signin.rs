//! Signing in and out: the sign-in page with its own CSRF token, tokens
//! checked by the same authenticator as gRPC, sessions.

use super::*;

#[derive(Deserialize)]
pub(super) struct LoginQuery {
    #[serde(default)]
    pub(super) expired: Option<String>,
}

/// The sign-in page, with a CSRF token bound to a cookie (kept while the
/// browser keeps it, so two open sign-in tabs both work).
pub(super) async fn login_page(State(c): State<Shared>, headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let note = q.expired.map(|_| "Your session ended; sign in again.".to_string());
    let csrf = cookie(&headers, LOGIN_COOKIE)
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(random_token);
    let set = format!("{LOGIN_COOKIE}={csrf}; Path=/login; HttpOnly; Secure; SameSite=Strict");
    let page = pages::login(!c.auth.enabled(), note.as_deref(), None, &csrf);
    ([(header::SET_COOKIE, set)], Html(page.into_string())).into_response()
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    pub(super) token: String,
    #[serde(default)]
    pub(super) name: String,
    #[serde(default)]
    pub(super) csrf: String,
}

pub(super) async fn login(
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
pub(super) struct CsrfForm {
    #[serde(default)]
    pub(super) csrf: String,
}

pub(super) async fn logout(
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
