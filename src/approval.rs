//! Human approval of high-risk actions: the evidence of human oversight
//! (EU AI Act Art. 14).
//!
//! A decision of `require_approval` opens an approval once its audit record
//! is durable; that record *is* the request (it names the approval id, the
//! caller and the terms). Every later step is an `approval` record: shown to
//! a reviewer, a vote, approved, denied, expired. The in-memory state is
//! rebuilt from those records at start-up, so approvals survive a restart.
//!
//! Rules: only reviewers decide; nobody decides a request they made (the
//! authenticated caller that scored it, or the end user it was made for);
//! a critical request can require two distinct reviewers; a decided or
//! expired approval cannot be decided again; an undecided one expires to a
//! deny after `approvals.ttl_seconds`.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::audit::journal::{AuditLog, Query};
use crate::audit::read::Body;
pub use crate::audit::read::FindingView;
use crate::audit::record::{ApprovalTerms, Vote};
use crate::audit::{Appended, AuditError, Entry, Journal};
use crate::auth::{Caller, Role};
use crate::error::Error;
use crate::policy::{Decision, Level};
use crate::request::Context;
use crate::session::Step;
use crate::telemetry;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Pending,
    Approved,
    Denied,
    Expired,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Approved => "approved",
            State::Denied => "denied",
            State::Expired => "expired",
        }
    }

    pub fn is_terminal(self) -> bool {
        self != State::Pending
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => State::Pending,
            "approved" => State::Approved,
            "denied" => State::Denied,
            "expired" => State::Expired,
            _ => return None,
        })
    }
}

/// Everything a reviewer needs to decide, and what was decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Approval {
    pub id: String,
    pub state: State,
    pub context: Context,
    /// Which Score call asked: an agent's action, a model output or a
    /// user input.
    pub surface: crate::detect::Surface,
    /// For an action: the tool and its arguments (JSON); empty otherwise.
    pub tool: String,
    pub arguments_json: String,
    pub rationale: String,
    /// For a model output or a user input: the text under review; empty for
    /// an action.
    pub text: String,
    /// The authenticated caller that made the request (`anonymous` with
    /// authentication off).
    pub requested_by: String,
    pub request_record_id: String,
    pub request_sequence: u64,
    pub level: Level,
    pub decision: Decision,
    pub score: f64,
    pub findings: Vec<FindingView>,
    pub reasons: Vec<String>,
    pub required_checks: Vec<String>,
    pub policy_version: String,
    pub detector_versions: BTreeMap<String, String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub required_approvals: u32,
    pub votes: Vec<Vote>,
    pub decided_at: Option<OffsetDateTime>,
    /// The session's decisions before this request, oldest first.
    pub decision_path: Vec<Step>,
}

impl Approval {
    /// What is to be approved, in a line: `tool(arguments)` for an action,
    /// "model output" or "user input" for a text.
    pub fn subject(&self) -> String {
        match self.surface {
            crate::detect::Surface::Action => format!("{}({})", self.tool, self.arguments_json),
            crate::detect::Surface::Output => "model output".to_string(),
            crate::detect::Surface::Input => "user input".to_string(),
        }
    }

    /// The final reviewer and reason (the deciding vote), if decided.
    pub fn verdict(&self) -> Option<&Vote> {
        match self.state {
            State::Approved => self.votes.iter().rev().find(|v| v.approve),
            State::Denied => self.votes.iter().rev().find(|v| !v.approve),
            _ => None,
        }
    }

    /// Builds an approval from a `score_decision` record body (as stored, or
    /// as about to be stored: the same JSON).
    fn from_body(body: Body, record_id: &str, sequence: u64, recorded_at: OffsetDateTime) -> Result<Self, String> {
        let s = match body {
            Body::ScoreDecision(d) => d,
            Body::Unreadable(e) => return Err(e),
            _ => return Err("the record is not a decision".into()),
        };
        let id = s.approval_id.ok_or("the record has no approval id")?;
        let surface = s.request.surface.ok_or("the record names no surface")?;
        let verdict = s.evaluation.verdict;
        let level = verdict.level.ok_or("the record names no level")?;
        let decision = verdict.decision.ok_or("the record names no decision")?;
        let terms = s.approval.unwrap_or(ApprovalTerms { expires_at: String::new(), required_approvals: 1 });
        let expires_at = OffsetDateTime::parse(&terms.expires_at, &Rfc3339).unwrap_or(recorded_at);
        // An action names a tool and its arguments; an output or an input
        // is a text, kept in its own field (never in `arguments_json`,
        // which clients parse as JSON). Protected fields (hashed, encrypted,
        // erased) show as a marker.
        let (tool, arguments_json, under_review) = match surface {
            crate::detect::Surface::Action => (s.request.tool.shown(), s.request.arguments_json.shown(), String::new()),
            _ => (String::new(), String::new(), s.request.text.shown()),
        };
        Ok(Approval {
            id,
            state: State::Pending,
            context: s.request.context,
            surface,
            tool,
            arguments_json,
            rationale: s.request.rationale.shown(),
            text: under_review,
            requested_by: s.caller.unwrap_or_else(|| "anonymous".into()),
            request_record_id: record_id.to_string(),
            request_sequence: sequence,
            level,
            decision,
            score: verdict.score,
            findings: s.evaluation.findings,
            reasons: verdict.reasons,
            required_checks: verdict.required_checks,
            policy_version: s.evaluation.policy_version,
            detector_versions: s.evaluation.detector_versions,
            created_at: recorded_at,
            expires_at,
            required_approvals: terms.required_approvals.max(1),
            votes: Vec::new(),
            decided_at: None,
            decision_path: Vec::new(),
        })
    }
}

/// The page size `ListPending` uses when the request asks for none.
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// The largest page `ListPending` returns; larger requests are clamped.
pub const MAX_PAGE_SIZE: usize = 1000;

/// One page of pending approvals.
#[derive(Debug, Clone)]
pub struct PendingPage {
    pub approvals: Vec<Approval>,
    /// Where the next page starts; empty on the last page.
    pub next_page_token: String,
    /// How many pending approvals match (on every page, not just this one).
    pub total: usize,
}

fn page_size_of(requested: i64) -> Result<usize, Error> {
    match requested {
        0 => Ok(DEFAULT_PAGE_SIZE),
        n if n < 0 => Err(Error::invalid("page_size", &format!("is {n}; it must be 0 (the default) or positive"))),
        n => Ok(usize::try_from(n).unwrap_or(MAX_PAGE_SIZE).min(MAX_PAGE_SIZE)),
    }
}

/// The sort key of the last approval a page returned, which is where the
/// next page starts. A key rather than an offset, so an approval opened,
/// decided or expired between two pages neither repeats nor hides one of
/// the others: a page holds exactly the approvals sorting after the key
/// that are still pending. Only the level and creation time of an approval
/// decide its place, and neither ever changes. The tenant filter travels
/// with it, so a token cannot silently continue a different listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PageCursor {
    /// The `tenant` filter of the listing (empty: every visible tenant).
    #[serde(rename = "t")]
    tenant: String,
    #[serde(rename = "l")]
    level: Level,
    /// `created_at` in Unix nanoseconds.
    #[serde(rename = "c")]
    created_ns: i128,
    #[serde(rename = "i")]
    id: String,
}

impl PageCursor {
    fn of(a: &Approval, tenant: &str) -> Self {
        Self {
            tenant: tenant.to_string(),
            level: a.level,
            created_ns: a.created_at.unix_timestamp_nanos(),
            id: a.id.clone(),
        }
    }

    fn key(&self) -> PendingKey<'_> {
        (Reverse(self.level), Reverse(self.created_ns), &self.id)
    }

    /// URL-safe base64 of a small versioned JSON value: opaque to clients,
    /// safe in a query string, and never trusted beyond a position (the
    /// caller's scope and the filters are applied again on every page).
    fn encode(&self) -> String {
        use base64::Engine as _;
        let json = serde_json::to_vec(&(1u8, self)).expect("a cursor serialises");
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    fn decode(token: &str, tenant: &str) -> Result<Self, Error> {
        use base64::Engine as _;
        let bad = || Error::invalid("page_token", "is not a next_page_token this server returned");
        if token.len() > 4096 {
            return Err(bad());
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
        let (version, cursor): (u8, PageCursor) = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if version != 1 {
            return Err(bad());
        }
        if cursor.tenant != tenant {
            return Err(Error::invalid(
                "page_token",
                &format!("continues a listing of tenant {:?}, not {tenant:?}", cursor.tenant),
            ));
        }
        Ok(cursor)
    }
}

/// Where a pending approval sorts: highest risk first, then newest first,
/// then by id (so no two approvals tie).
type PendingKey<'a> = (Reverse<Level>, Reverse<i128>, &'a str);

fn pending_key(a: &Approval) -> PendingKey<'_> {
    (Reverse(a.level), Reverse(a.created_at.unix_timestamp_nanos()), &a.id)
}

pub struct ApprovalStore {
    log: Arc<AuditLog>,
    config: ApprovalConfig,
    /// Every approval's current state; watchers subscribe to its sender.
    slots: Mutex<HashMap<String, watch::Sender<Approval>>>,
    /// (approval, reviewer) pairs already recorded as shown.
    shown: Mutex<HashSet<(String, String)>>,
    /// Serialises decisions and expiries, so each approval changes state once.
    decide: tokio::sync::Mutex<()>,
    /// Bumped on every change to any approval (the console's live queue).
    changes: watch::Sender<u64>,
}

impl ApprovalStore {
    pub fn new(log: Arc<AuditLog>, config: ApprovalConfig) -> Self {
        Self {
            log,
            config,
            slots: Mutex::new(HashMap::new()),
            shown: Mutex::new(HashSet::new()),
            decide: tokio::sync::Mutex::new(()),
            changes: watch::Sender::new(0),
        }
    }

    /// The terms of a new request for approval at `level`.
    pub fn terms(&self, level: Level, now: OffsetDateTime) -> ApprovalTerms {
        ApprovalTerms {
            expires_at: crate::timestamp::format(now + Duration::from_secs(self.config.ttl_seconds)),
            required_approvals: if level == Level::Critical { self.config.critical_reviewers } else { 1 },
        }
    }

    /// Opens an approval for a just-recorded decision. `body` is the entry as
    /// serialised for the record.
    pub fn open(&self, entry: &Entry, record: &Appended, decision_path: Vec<Step>) -> Result<(), String> {
        let body = Body::from_value(serde_json::to_value(entry).map_err(|e| e.to_string())?);
        let created =
            OffsetDateTime::parse(&record.recorded_at, &Rfc3339).unwrap_or_else(|_| OffsetDateTime::now_utc());
        let mut approval = Approval::from_body(body, &record.record_id, record.sequence, created)?;
        approval.decision_path = decision_path;
        self.insert(approval);
        telemetry::approval_step("requested");
        self.update_gauge();
        Ok(())
    }

    fn insert(&self, approval: Approval) {
        let id = approval.id.clone();
        let (tx, _) = watch::channel(approval);
        self.slots.lock().expect("approval slots").insert(id, tx);
    }

    fn snapshot(&self, id: &str) -> Option<Approval> {
        self.slots.lock().expect("approval slots").get(id).map(|tx| tx.borrow().clone())
    }

    fn set(&self, approval: Approval) {
        if let Some(slot) = self.slots.lock().expect("approval slots").get(&approval.id) {
            slot.send_replace(approval);
        }
        self.update_gauge();
    }

    /// Changes whenever an approval is opened, voted on, decided or expires.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn update_gauge(&self) {
        self.changes.send_modify(|n| *n += 1);
        let pending = self
            .slots
            .lock()
            .expect("approval slots")
            .values()
            .filter(|tx| tx.borrow().state == State::Pending)
            .count();
        telemetry::approvals_pending(pending);
    }

    /// The approval, if it exists and belongs to a tenant the caller may act
    /// for; other tenants' approvals are NOT_FOUND, not revealed.
    fn visible(&self, caller: &Caller, id: &str) -> Result<Approval, Error> {
        self.snapshot(id)
            .filter(|a| caller.may_act_for(&a.context.tenant))
            .ok_or_else(|| Error::NotFound(format!("approval {id:?}")))
    }

    /// One page of the pending approvals the caller may see (all tenants,
    /// or `tenant`), highest risk first, then newest first, then by id.
    /// `page_size` 0 means [`DEFAULT_PAGE_SIZE`], a larger one than
    /// [`MAX_PAGE_SIZE`] is clamped to it, a negative one is refused;
    /// `page_token` is empty for the first page, else a previous page's
    /// `next_page_token` for the same `tenant`. The gRPC service and the
    /// console both list through here.
    pub fn list_pending(
        &self,
        caller: &Caller,
        tenant: &str,
        page_size: i64,
        page_token: &str,
    ) -> Result<PendingPage, Error> {
        caller.require("ListPending", &[Role::Reviewer, Role::Auditor])?;
        let size = page_size_of(page_size)?;
        let after = match page_token {
            "" => None,
            token => Some(PageCursor::decode(token, tenant)?),
        };
        let mut all = self
            .all_visible(caller, |a| a.state == State::Pending && (tenant.is_empty() || a.context.tenant == tenant));
        all.sort_by(|a, b| pending_key(a).cmp(&pending_key(b)));
        let total = all.len();
        let mut rest: Vec<Approval> = match &after {
            None => all,
            Some(cursor) => all.into_iter().filter(|a| pending_key(a) > cursor.key()).collect(),
        };
        let next_page_token =
            if rest.len() > size { PageCursor::of(&rest[size - 1], tenant).encode() } else { String::new() };
        rest.truncate(size);
        Ok(PendingPage { approvals: rest, next_page_token, total })
    }

    /// Every approval the caller may see that `keep` keeps.
    fn all_visible(&self, caller: &Caller, keep: impl Fn(&Approval) -> bool) -> Vec<Approval> {
        self.slots
            .lock()
            .expect("approval slots")
            .values()
            .map(|tx| tx.borrow().clone())
            .filter(|a| keep(a) && caller.may_act_for(&a.context.tenant))
            .collect()
    }

    /// Approvals decided or expired, most recent first.
    pub fn list_recent(&self, caller: &Caller, limit: usize) -> Result<Vec<Approval>, Error> {
        caller.require("ListPending", &[Role::Reviewer, Role::Auditor])?;
        let mut out = self.all_visible(caller, |a| a.state.is_terminal());
        out.sort_by(|a, b| b.decided_at.cmp(&a.decided_at).then(b.created_at.cmp(&a.created_at)));
        out.truncate(limit);
        Ok(out)
    }

    /// One approval. A reviewer's first look is recorded as `shown`.
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<Approval, Error> {
        caller.require("Get", &[Role::Reviewer, Role::Auditor, Role::Agent])?;
        let approval = self.visible(caller, id)?;
        if caller.has(Role::Reviewer) && approval.state == State::Pending {
            let first = self.shown.lock().expect("shown set").insert((id.to_string(), caller.identity.clone()));
            if first {
                self.record(&approval, "shown", &caller.identity, "").await?;
            }
        }
        Ok(approval)
    }

    /// Follows one approval: the current state first, then every change.
    pub fn watch(&self, caller: &Caller, id: &str) -> Result<watch::Receiver<Approval>, Error> {
        caller.require("Watch", &[Role::Agent, Role::Reviewer, Role::Auditor])?;
        self.visible(caller, id)?;
        let slots = self.slots.lock().expect("approval slots");
        let slot = slots.get(id).ok_or_else(|| Error::NotFound(format!("approval {id:?}")))?;
        Ok(slot.subscribe())
    }

    /// A reviewer approves or denies. `declared_reviewer` is the request's
    /// `reviewer` field: with authentication off it names the reviewer; with
    /// it on it must match the authenticated identity (or be empty).
    pub async fn decide(
        &self,
        caller: &Caller,
        id: &str,
        approve: bool,
        declared_reviewer: &str,
        reason: &str,
    ) -> Result<Approval, Error> {
        caller.require("Decide", &[Role::Reviewer])?;
        let reviewer = if caller.authenticated {
            if !declared_reviewer.is_empty() && declared_reviewer != caller.identity {
                return Err(Error::invalid(
                    "reviewer",
                    &format!("is {declared_reviewer:?} but the caller is authenticated as {:?}", caller.identity),
                ));
            }
            caller.identity.clone()
        } else {
            if declared_reviewer.trim().is_empty() {
                return Err(Error::invalid("reviewer", "must name the reviewer when authentication is off"));
            }
            declared_reviewer.trim().to_string()
        };
        if reason.trim().is_empty() {
            return Err(Error::invalid("reason", "must say why (it is the evidence of the decision)"));
        }
        if reason.len() > 4096 {
            return Err(Error::invalid("reason", "must be at most 4096 bytes"));
        }
        crate::validate::identifier("reviewer", &reviewer)?;
        crate::validate::text("reason", reason)?;
        let _guard = self.decide.lock().await;
        let mut a = self.visible(caller, id)?;
        if a.state == State::Pending && OffsetDateTime::now_utc() >= a.expires_at {
            self.expire_locked(a.clone()).await?;
            return Err(Error::FailedPrecondition(format!(
                "approval {id} expired at {}",
                crate::timestamp::format(a.expires_at)
            )));
        }
        if a.state.is_terminal() {
            let by = a.verdict().map(|v| format!(" by {}", v.reviewer)).unwrap_or_default();
            return Err(Error::FailedPrecondition(format!(
                "approval {id} is already {}{by}; a decision cannot be changed",
                a.state.as_str()
            )));
        }
        if reviewer == a.requested_by || (!a.context.user_id.is_empty() && reviewer == a.context.user_id) {
            telemetry::auth_failure("permission_denied");
            return Err(Error::PermissionDenied(format!(
                "{reviewer} made this request (or it was made for them) and may not decide it"
            )));
        }
        if a.votes.iter().any(|v| v.reviewer == reviewer) {
            return Err(Error::FailedPrecondition(format!(
                "{reviewer} has already approved; a second, different reviewer must decide"
            )));
        }
        let now = OffsetDateTime::now_utc();
        a.votes.push(Vote {
            reviewer: reviewer.clone(),
            approve,
            reason: reason.to_string(),
            at: crate::timestamp::format(now),
        });
        let approvals = a.votes.iter().filter(|v| v.approve).count() as u32;
        let (state, event) = if !approve {
            (State::Denied, "denied")
        } else if approvals >= a.required_approvals {
            (State::Approved, "approved")
        } else {
            (State::Pending, "vote")
        };
        a.state = state;
        if state.is_terminal() {
            a.decided_at = Some(now);
        }
        self.record(&a, event, &reviewer, reason).await?;
        telemetry::approval_step(event);
        if state.is_terminal() {
            telemetry::approval_decided(event, (now - a.created_at).try_into().unwrap_or_default());
        }
        self.set(a.clone());
        Ok(a)
    }

    /// Expires every pending approval past its time; returns how many.
    pub async fn expire_due(&self) -> Result<usize, AuditError> {
        let now = OffsetDateTime::now_utc();
        let due: Vec<Approval> = self
            .slots
            .lock()
            .expect("approval slots")
            .values()
            .map(|tx| tx.borrow().clone())
            .filter(|a| a.state == State::Pending && a.expires_at <= now)
            .collect();
        if due.is_empty() {
            return Ok(0);
        }
        let _guard = self.decide.lock().await;
        let mut n = 0;
        for a in due {
            // Re-read under the lock: a reviewer may have just decided.
            if self.snapshot(&a.id).is_some_and(|cur| cur.state == State::Pending) {
                self.expire_locked(a).await.map_err(|e| AuditError::Io(e.to_string()))?;
                n += 1;
            }
        }
        Ok(n)
    }

    async fn expire_locked(&self, mut a: Approval) -> Result<(), Error> {
        let now = OffsetDateTime::now_utc();
        a.state = State::Expired;
        a.decided_at = Some(now);
        let reason = format!("no decision within {} s; expired to a deny", self.config.ttl_seconds);
        self.record(&a, "expired", "warden", &reason).await?;
        telemetry::approval_step("expired");
        telemetry::approval_decided("expired", (now - a.created_at).try_into().unwrap_or_default());
        self.set(a);
        Ok(())
    }

    async fn record(&self, a: &Approval, event: &str, actor: &str, reason: &str) -> Result<Appended, Error> {
        let entry = Entry::Approval {
            approval_id: a.id.clone(),
            event: event.to_string(),
            context: a.context.clone(),
            actor: actor.to_string(),
            reason: reason.to_string(),
            request_record_id: a.request_record_id.clone(),
            request_sequence: a.request_sequence,
            state: a.state.as_str().to_string(),
            votes: a.votes.clone(),
        };
        self.log.append(entry).await.map_err(Error::from)
    }

    /// Runs expiries every `sweep_interval_ms` until `stop` turns true.
    pub fn spawn_sweeper(self: &Arc<Self>, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        let interval = Duration::from_millis(self.config.sweep_interval_ms);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = stop.changed() => return,
                }
                if let Err(e) = store.expire_due().await {
                    tracing::warn!(error = %e, "could not record approval expiries; will retry");
                }
            }
        })
    }

    /// Rebuilds the approvals from the audit log: every `require_approval`
    /// decision, then every approval step on top. Pending approvals past
    /// their time expire at the next sweep.
    pub fn recover(&self) -> Result<usize, AuditError> {
        let mut steps: HashMap<String, (State, Vec<Vote>, Option<OffsetDateTime>)> = HashMap::new();
        for seq in
            self.log.query(&Query { kind: crate::audit::record::Kind::Approval.as_str().into(), ..Query::default() })
        {
            let Some(rec) = self.log.record(seq)? else { continue };
            let Body::Approval(step) = rec.body()? else { continue };
            let Some(state) = State::parse(&step.state) else { continue };
            if step.approval_id.is_empty() {
                continue;
            }
            let at = OffsetDateTime::parse(&rec.recorded_at, &Rfc3339).ok();
            steps.insert(step.approval_id, (state, step.votes, state.is_terminal().then_some(at).flatten()));
        }
        let mut n = 0;
        for seq in self.log.query(&Query { decision: "require_approval".into(), ..Query::default() }) {
            let Some(rec) = self.log.record(seq)? else { continue };
            // Encrypted arguments are shown decrypted to reviewers while
            // the subject's key exists.
            let v = self.log.reveal(&rec.canonical)?;
            let recorded_at =
                OffsetDateTime::parse(&rec.recorded_at, &Rfc3339).unwrap_or_else(|_| OffsetDateTime::now_utc());
            let mut a = match Approval::from_body(Body::of(&v), &rec.record_id, rec.sequence, recorded_at) {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(sequence = seq, error = %e, "an approval request record could not be read back");
                    continue;
                }
            };
            a.decision_path = self.path_from_log(&a.context, a.request_sequence)?;
            if let Some((state, votes, decided_at)) = steps.remove(&a.id) {
                a.state = state;
                a.votes = votes;
                a.decided_at = decided_at;
            }
            self.insert(a);
            n += 1;
        }
        self.update_gauge();
        Ok(n)
    }

    /// A session's decisions before `before`, from the log (the last 50).
    fn path_from_log(&self, context: &Context, before: u64) -> Result<Vec<Step>, AuditError> {
        if context.session_id.is_empty() {
            return Ok(Vec::new());
        }
        let q = Query {
            session_id: context.session_id.clone(),
            tenant: context.tenant.clone(),
            kind: crate::audit::record::Kind::ScoreDecision.as_str().into(),
            ..Query::default()
        };
        let seqs: Vec<u64> = self.log.query(&q).into_iter().filter(|s| *s < before).collect();
        let mut out = Vec::new();
        for seq in seqs.iter().rev().take(50).rev() {
            let Some(rec) = self.log.record(*seq)? else { continue };
            let Body::ScoreDecision(d) = rec.body()? else { continue };
            out.extend(Step::recorded(&rec, &d));
        }
        Ok(out)
    }
}

/// Human approval of high-risk actions.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApprovalConfig {
    /// An approval nobody decides within this time expires, which is a deny.
    pub ttl_seconds: u64,
    /// Distinct reviewers who must approve a critical-level request (1 or 2).
    pub critical_reviewers: u32,
    /// How often expiries are checked.
    pub sweep_interval_ms: u64,
}

impl Default for ApprovalConfig {
    fn default() -> Self {
        Self { ttl_seconds: 900, critical_reviewers: 2, sweep_interval_ms: 500 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(e: Error) -> String {
        match e {
            Error::InvalidArgument { field, .. } => field,
            other => panic!("not INVALID_ARGUMENT: {other:?}"),
        }
    }

    #[test]
    fn page_sizes_default_clamp_or_refuse() {
        for (asked, got) in [(0, DEFAULT_PAGE_SIZE), (1, 1), (250, 250), (1000, 1000), (1001, 1000), (i64::MAX, 1000)] {
            assert_eq!(page_size_of(asked).unwrap(), got, "{asked}");
        }
        assert_eq!(field(page_size_of(-1).unwrap_err()), "page_size");
    }

    #[test]
    fn page_tokens_round_trip_and_refuse_anything_else() {
        let cursor = PageCursor {
            tenant: "acme".into(),
            level: Level::High,
            created_ns: 1_764_900_000_123_456_789,
            id: "0193a0b2-0000-7000-8000-000000000001".into(),
        };
        let token = cursor.encode();
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{token}");
        assert_eq!(PageCursor::decode(&token, "acme").unwrap(), cursor);
        for bad in ["x", "not a token!", "aGVsbG8", "W10", &"A".repeat(5000)] {
            assert_eq!(field(PageCursor::decode(bad, "acme").unwrap_err()), "page_token", "{bad}");
        }
        assert_eq!(field(PageCursor::decode(&token, "").unwrap_err()), "page_token", "another listing's token");
        use base64::Engine as _;
        let v2 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&(2u8, &cursor)).unwrap());
        assert_eq!(field(PageCursor::decode(&v2, "acme").unwrap_err()), "page_token", "an unknown version");
    }
}
