//! Investigating: searching the log, a session's timeline, and the
//! inclusion proofs the page checks in the browser. On a fleet service a
//! timeline and its proofs may name another instance (`?instance=`): its
//! verified central copy is read through [`crate::fleet::logs`], as by
//! gRPC's `Query`; fields that instance stored hashed or encrypted show as
//! stored (markers), since its subject keys stay on it.

use super::*;
use crate::audit::journal::LogRead;
use crate::audit::read::Body;

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
    /// `gen_ai.operation.name`.
    #[serde(default)]
    pub operation: String,
    /// `gen_ai.provider.name`.
    #[serde(default)]
    pub provider: String,
    /// `gen_ai.request.model`.
    #[serde(default)]
    pub model: String,
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
    /// Its GenAI facts (model, operation, provider, token counts) by
    /// OpenTelemetry name: in clear whatever the privacy settings stored
    /// of the event's attributes.
    pub gen_ai: Vec<(&'static str, String)>,
    /// The record as stored: redacted, hashed, encrypted and erased fields
    /// stay so.
    pub body: serde_json::Value,
    /// The same body, typed.
    pub read: Body,
    /// The instance whose log holds it, when not this service's own.
    pub instance: String,
}

/// Which instance's log (a fleet service's console); empty: its own.
#[derive(Deserialize, Default)]
pub struct Instance {
    #[serde(default)]
    pub instance: String,
}

pub(super) fn rows(log: &AuditLog, seqs: &[u64]) -> Vec<Row> {
    rows_of(log, seqs, Some(log), "")
}

/// Rows of `log` (this service's, or another instance's copy): as stored
/// (redacted, hashed and encrypted fields stay so), with erased subjects'
/// fields shown as erased where `erasures` (the local log) knows them.
fn rows_of(log: &dyn LogRead, seqs: &[u64], erasures: Option<&AuditLog>, instance: &str) -> Vec<Row> {
    seqs.iter()
        .filter_map(|&seq| {
            let r = log.record(seq).ok().flatten()?;
            let v = match erasures {
                Some(local) => local.mark_erased(&r.canonical).ok()?,
                None => crate::audit::record::read_value(&r.canonical).ok()?,
            };
            let body = v["body"].clone();
            let read = Body::from_value(body.clone());
            Some(Row {
                seq,
                id: r.record_id,
                at: r.recorded_at,
                kind: r.kind,
                session: v["attributes"]["gen_ai.conversation.id"].as_str().unwrap_or_default().to_string(),
                summary: pages::summary(&read),
                gen_ai: crate::audit::record::GEN_AI_FACTS
                    .iter()
                    .filter_map(|&k| Some((k, v["attributes"][k].as_str()?.to_string())))
                    .collect(),
                body,
                read,
                instance: instance.to_string(),
            })
        })
        .collect()
}

pub(super) async fn investigate(
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
        [&q.session, &q.trace, &q.user, &q.tool, &q.decision, &q.operation, &q.provider, &q.model, &q.from, &q.to]
            .iter()
            .any(|v| !v.trim().is_empty());
    if !asked {
        return Html(pages::investigate(&nav, &q, None, None).into_string()).into_response();
    }
    let time = |field: &str, v: &str| -> Result<Option<i128>, String> {
        if v.trim().is_empty() {
            return Ok(None);
        }
        crate::timestamp::parse(v).map(|t| Some(t.unix_timestamp_nanos())).map_err(|m| format!("{field}: {m}"))
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
        operation: q.operation.clone(),
        provider: q.provider.clone(),
        model: q.model.clone(),
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

pub(super) async fn timeline(
    State(c): State<Shared>,
    SignedIn(s): SignedIn,
    ConnectInfo(Client(client)): ConnectInfo<Client>,
    Path(id): Path<String>,
    Query(which): Query<Instance>,
) -> Response {
    if let Err(r) = need(&s, "investigation", &[Role::Auditor]) {
        return r;
    }
    let search = LogQuery { session_id: id.clone(), ..Default::default() };
    let query = match search.checked(&s.caller, 2000) {
        Ok(q) => q,
        Err(e) => return error_status(e),
    };
    let (log, own) = match c.log_of(&which.instance).await {
        Ok(found) => found,
        Err(e) => return error_status(e),
    };
    let instance = if own { String::new() } else { which.instance.clone() };
    let local = c.log.clone();
    let found = tokio::task::spawn_blocking(move || {
        let mut seqs = log.query(&query);
        // Approval steps carry the session in their context too; records of
        // approvals asked for in the session are in the same list.
        seqs.sort_unstable();
        rows_of(&*log, &seqs, own.then_some(&*local), &instance)
    })
    .await
    .unwrap_or_default();
    let target = if own { id.clone() } else { format!("{} on {}", id, which.instance) };
    c.record(&who(&s), "view_timeline", &target, &format!("{} records", found.len()), client).await;
    let name = who(&s);
    let nav = pages::Nav::of(&name, &s.csrf, &s.caller);
    Html(pages::timeline(&nav, &id, &found).into_string()).into_response()
}

/// What the page needs to check that record `seq` is in the log: its exact
/// bytes, its inclusion proof in the latest signed checkpoint, that
/// checkpoint, and the log's public key.
#[derive(Serialize)]
pub(super) struct ProofJson {
    pub(super) leaf_index: u64,
    pub(super) entry_b64: String,
    pub(super) tree_size: u64,
    pub(super) hashes: Vec<String>,
    pub(super) root: String,
    pub(super) note: String,
    pub(super) signature: String,
    pub(super) public_key: String,
}

pub(super) async fn proof(
    State(c): State<Shared>,
    headers: HeaderMap,
    Path(seq): Path<u64>,
    Query(which): Query<Instance>,
) -> Response {
    let s = match session(&c, &headers) {
        Ok(s) => s,
        Err(_) => return StatusCode::UNAUTHORIZED.into_response(),
    };
    if s.caller.require("proof", &[Role::Auditor]).is_err() {
        return StatusCode::FORBIDDEN.into_response();
    }
    let (log, own) = match c.log_of(&which.instance).await {
        Ok(found) => found,
        Err(e) => return error_status(e),
    };
    let tenant_ok = |v: &serde_json::Value| {
        s.caller.tenants.is_empty()
            || s.caller.may_act_for(v["attributes"]["warden.tenant"].as_str().unwrap_or_default())
    };
    let Some(cp) = log.latest_checkpoint() else { return StatusCode::SERVICE_UNAVAILABLE.into_response() };
    let cp = if cp.tree_size <= seq {
        // Newer than the latest checkpoint: ask this service's log for one
        // (another instance signs its own).
        if !own {
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        match c.log.checkpoint().await {
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
