//! The approval queue, one approval, deciding it, and the live updates
//! (server-sent events on the store's changes).

use super::*;

/// Which page of the pending approvals to show (`?page_token=`, the
/// previous page's `next_page_token`).
#[derive(Deserialize, Default)]
pub(super) struct PageQuery {
    #[serde(default)]
    pub(super) page_token: String,
}

/// One page of the pending approvals (the same domain call as gRPC's
/// `ListPending`, at its default page size) and the recently closed ones.
pub(super) fn queue(c: &Console, caller: &Caller, page_token: &str) -> Result<(PendingPage, Vec<Approval>), Error> {
    Ok((c.approvals.list_pending(caller, "", 0, page_token)?, c.approvals.list_recent(caller, 10)?))
}

pub(super) async fn approvals_page(
    State(c): State<Shared>,
    SignedIn(s): SignedIn,
    Query(q): Query<PageQuery>,
) -> Response {
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

pub(super) async fn approvals_list(
    State(c): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let s = match session(&c, &headers) {
        Ok(s) => s,
        Err(_) => return StatusCode::UNAUTHORIZED.into_response(),
    };
    match queue(&c, &s.caller, &q.page_token) {
        Ok((page, recent)) => Html(pages::queue(&page, &q.page_token, &recent).into_string()).into_response(),
        Err(e) => error_status(e),
    }
}

pub(super) async fn approval_page(
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

#[derive(Deserialize)]
pub(super) struct DecideForm {
    #[serde(default)]
    pub(super) csrf: String,
    #[serde(default)]
    pub(super) verdict: String,
    #[serde(default)]
    pub(super) reason: String,
}

pub(super) async fn decide(
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
pub(super) async fn events(
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
