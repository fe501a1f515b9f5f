//! Compliance reports: the list, generating one, opening one.

use super::*;

pub(super) async fn reports_page(State(c): State<Shared>, SignedIn(s): SignedIn) -> Response {
    if let Err(r) = need(&s, "compliance reports", &[Role::Auditor]) {
        return r;
    }
    let name = who(&s);
    let nav = pages::Nav::of(&name, &s.csrf, &s.caller);
    Html(pages::reports(&nav, &report_list(&c), None).into_string()).into_response()
}

/// Reports recorded in the log, newest first, with whether the console
/// keeps their files.
pub(super) fn report_list(c: &Console) -> Vec<(Row, bool)> {
    let seqs = c
        .log
        .query(&LogQuery { kind: crate::audit::record::Kind::ReportGenerated.as_str().into(), ..LogQuery::default() });
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
pub(super) struct ReportForm {
    #[serde(default)]
    pub(super) csrf: String,
    #[serde(default)]
    pub(super) framework: String,
    #[serde(default)]
    pub(super) from: String,
    #[serde(default)]
    pub(super) to: String,
    #[serde(default)]
    pub(super) tenant: String,
}

pub(super) async fn generate_report(
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
    let req = crate::compliance::ReportRequest {
        framework,
        from,
        to,
        tenant: f.tenant.clone(),
        application: String::new(),
        actor: who(&s),
    };
    let req = match req.scoped(&s.caller) {
        Ok(req) => req,
        Err(e) => return fail(&c, e.to_string()),
    };
    let source = crate::compliance::Source::of(c.central.as_deref());
    let generated = match crate::compliance::generate_from(c.log.clone(), &c.compliance, req, &c.stores, source).await {
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

pub(super) async fn open_report(
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
