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

mod board;
pub use board::{Board, PendingPage, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

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

    pub(crate) fn parse(s: &str) -> Option<Self> {
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
    /// The Warden instance that opened it (its log's origin): this one on a
    /// sidecar, any of the fleet's in a fleet service.
    pub instance_id: String,
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

    /// The approval with one more vote, and the step it is: `denied` on a
    /// deny, `approved` once enough reviewers approved, else `vote`.
    pub(crate) fn with_vote(mut self, vote: Vote) -> (Approval, &'static str) {
        let at = OffsetDateTime::parse(&vote.at, &Rfc3339).unwrap_or_else(|_| OffsetDateTime::now_utc());
        let approve = vote.approve;
        self.votes.push(vote);
        let approvals = self.votes.iter().filter(|v| v.approve).count() as u32;
        let (state, event) = if !approve {
            (State::Denied, "denied")
        } else if approvals >= self.required_approvals {
            (State::Approved, "approved")
        } else {
            (State::Pending, "vote")
        };
        self.state = state;
        if state.is_terminal() {
            self.decided_at = Some(at);
        }
        (self, event)
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
    pub(crate) fn from_body(
        body: Body,
        record_id: &str,
        sequence: u64,
        recorded_at: OffsetDateTime,
    ) -> Result<Self, String> {
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
            instance_id: String::new(),
        })
    }
}

/// A call's future, boxed, so [`Reviews`] can be shared as a trait object.
pub type Pending<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, Error>> + Send + 'a>>;

/// What the ApprovalService and the console serve: a sidecar's own
/// approvals ([`ApprovalStore`]) or a fleet service's over every instance
/// ([`crate::fleet::oversight::Oversight`]). Same roles, same rules; each
/// decides in its own way.
pub trait Reviews: Send + Sync + 'static {
    /// The approvals as this server shows them.
    fn board(&self) -> &Board;
    /// Where this server records its steps (`shown`, decisions).
    fn log(&self) -> &AuditLog;

    /// See [`Board::list_pending`].
    fn list_pending(
        &self,
        caller: &Caller,
        tenant: &str,
        page_size: i64,
        page_token: &str,
    ) -> Result<PendingPage, Error> {
        self.board().list_pending(caller, tenant, page_size, page_token)
    }

    /// See [`Board::list_recent`].
    fn list_recent(&self, caller: &Caller, limit: usize) -> Result<Vec<Approval>, Error> {
        self.board().list_recent(caller, limit)
    }

    /// Changes whenever an approval is opened, voted on, decided or expires.
    fn changes(&self) -> watch::Receiver<u64> {
        self.board().changes()
    }

    /// See [`Board::show`].
    fn get<'a>(&'a self, caller: &'a Caller, id: &'a str) -> Pending<'a, Approval> {
        Box::pin(self.board().show(caller, id, self.log()))
    }

    /// See [`Board::watch`].
    fn watch(&self, caller: &Caller, id: &str) -> Result<watch::Receiver<Approval>, Error> {
        self.board().watch(caller, id)
    }

    /// A reviewer approves or denies. `declared_reviewer` is the request's
    /// `reviewer` field: with authentication off it names the reviewer;
    /// with it on it must match the authenticated identity (or be empty).
    fn decide<'a>(
        &'a self,
        caller: &'a Caller,
        id: &'a str,
        approve: bool,
        declared_reviewer: &'a str,
        reason: &'a str,
    ) -> Pending<'a, Approval>;
}

impl Reviews for ApprovalStore {
    fn board(&self) -> &Board {
        &self.board
    }

    fn log(&self) -> &AuditLog {
        &self.log
    }

    fn decide<'a>(
        &'a self,
        caller: &'a Caller,
        id: &'a str,
        approve: bool,
        declared_reviewer: &'a str,
        reason: &'a str,
    ) -> Pending<'a, Approval> {
        Box::pin(ApprovalStore::decide(self, caller, id, approve, declared_reviewer, reason))
    }
}

pub struct ApprovalStore {
    log: Arc<AuditLog>,
    config: ApprovalConfig,
    board: Board,
    /// Decisions delivered by a fleet service that were already taken
    /// (applied or refused), by the fleet record's id: a delivery that
    /// comes again is acknowledged without a second record.
    delivered: Mutex<HashSet<String>>,
    /// Serialises decisions and expiries, so each approval changes state once.
    decide: tokio::sync::Mutex<()>,
}

/// Why a vote cannot be cast on an approval.
pub(crate) enum Refusal {
    Expired(OffsetDateTime),
    Decided(State, Option<String>),
    OwnRequest,
    AlreadyVoted,
}

impl Refusal {
    fn message(&self, id: &str, reviewer: &str) -> String {
        match self {
            Refusal::Expired(at) => format!("approval {id} expired at {}", crate::timestamp::format(*at)),
            Refusal::Decided(state, by) => {
                let by = by.as_ref().map(|r| format!(" by {r}")).unwrap_or_default();
                format!("approval {id} is already {}{by}; a decision cannot be changed", state.as_str())
            }
            Refusal::OwnRequest => {
                format!("{reviewer} made this request (or it was made for them) and may not decide it")
            }
            Refusal::AlreadyVoted => {
                format!("{reviewer} has already approved; a second, different reviewer must decide")
            }
        }
    }

    pub(crate) fn into_error(self, id: &str, reviewer: &str) -> Error {
        let message = self.message(id, reviewer);
        match self {
            Refusal::OwnRequest => {
                telemetry::auth_failure("permission_denied");
                Error::PermissionDenied(message)
            }
            _ => Error::FailedPrecondition(message),
        }
    }
}

/// A reviewer's decision made in a fleet service, delivered to the
/// instance that holds the approval (see [`crate::fleet`]); its signature
/// was checked before it got here.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered {
    pub approval_id: String,
    pub approve: bool,
    pub reviewer: String,
    pub reason: String,
    /// The fleet service's record of the decision, and its log's origin.
    pub fleet_record_id: String,
    pub fleet_origin: String,
}

/// What became of a delivered decision.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// Recorded as a vote (and the approval's new state).
    Applied(Approval),
    /// Recorded as refused, with why.
    Refused(String),
    /// Taken before: nothing new is recorded.
    Repeat,
}

impl ApprovalStore {
    pub fn new(log: Arc<AuditLog>, config: ApprovalConfig) -> Self {
        Self {
            log,
            config,
            board: Board::new(telemetry::approvals_pending),
            delivered: Mutex::new(HashSet::new()),
            decide: tokio::sync::Mutex::new(()),
        }
    }

    /// The terms of a new request for approval at `level`.
    pub fn terms(&self, level: Level, now: OffsetDateTime) -> ApprovalTerms {
        ApprovalTerms {
            expires_at: crate::timestamp::format(now + Duration::from_secs(self.config.ttl_seconds)),
            required_approvals: if level == Level::Critical { self.config.critical_reviewers } else { 1 },
        }
    }

    /// Whether one more approval may wait: fewer than
    /// `approvals.max_pending` are pending.
    pub fn has_room(&self) -> bool {
        self.board.pending() < self.config.max_pending
    }

    /// The reason a request that needs a reviewer is blocked instead when
    /// there is no room (see [`ApprovalStore::has_room`]).
    pub fn full_reason(&self) -> String {
        format!(
            "blocked instead of waiting for a reviewer: {} approvals are already pending (approvals.max_pending)",
            self.config.max_pending
        )
    }

    /// Opens an approval for a just-recorded decision. `body` is the entry as
    /// serialised for the record.
    pub fn open(&self, entry: &Entry, record: &Appended, decision_path: Vec<Step>) -> Result<(), String> {
        let body = Body::from_value(serde_json::to_value(entry).map_err(|e| e.to_string())?);
        let created =
            OffsetDateTime::parse(&record.recorded_at, &Rfc3339).unwrap_or_else(|_| OffsetDateTime::now_utc());
        let mut approval = Approval::from_body(body, &record.record_id, record.sequence, created)?;
        approval.decision_path = decision_path;
        approval.instance_id = self.log.origin();
        self.board.put(approval);
        telemetry::approval_step("requested");
        Ok(())
    }

    /// A reviewer approves or denies (see [`Reviews::decide`]).
    pub async fn decide(
        &self,
        caller: &Caller,
        id: &str,
        approve: bool,
        declared_reviewer: &str,
        reason: &str,
    ) -> Result<Approval, Error> {
        caller.require("Decide", &[Role::Reviewer])?;
        let reviewer = reviewer_of(caller, declared_reviewer, reason)?;
        let _guard = self.decide.lock().await;
        let a = self.board.visible(caller, id)?;
        if let Some(refusal) = refusal(&a, &reviewer) {
            if let Refusal::Expired(_) = refusal {
                self.expire_locked(a.clone()).await?;
            }
            return Err(refusal.into_error(id, &reviewer));
        }
        self.cast(a, &reviewer, approve, reason, "").await
    }

    /// Takes a decision a fleet service delivered: applied as the
    /// reviewer's vote under the same rules as [`Self::decide`] (the
    /// fleet service checked the reviewer's identity and roles; this
    /// instance checks the approval's own state), or recorded as refused.
    /// Either way it is recorded once, so a delivery that comes again is a
    /// [`Delivery::Repeat`]. An error means nothing was recorded: the
    /// delivery must come again.
    pub async fn apply_delivered(&self, d: &Delivered) -> Result<Delivery, Error> {
        let _guard = self.decide.lock().await;
        if self.delivered.lock().expect("delivered set").contains(&d.fleet_record_id) {
            return Ok(Delivery::Repeat);
        }
        let checked = crate::validate::identifier("reviewer", &d.reviewer)
            .and_then(|_| crate::validate::text("reason", &d.reason))
            .map_err(|e| e.to_string());
        let outcome = match (self.board.snapshot(&d.approval_id), checked) {
            (None, _) => {
                let why = format!("approval {} is not held by this instance", d.approval_id);
                self.record_refusal(None, d, &why).await?;
                Delivery::Refused(why)
            }
            (Some(a), Err(why)) => {
                self.record_refusal(Some(&a), d, &why).await?;
                Delivery::Refused(why)
            }
            (Some(a), Ok(())) => match refusal(&a, &d.reviewer) {
                Some(refusal) => {
                    let expired = matches!(refusal, Refusal::Expired(_));
                    let why = refusal.message(&d.approval_id, &d.reviewer);
                    let a = if expired { self.expire_locked(a).await? } else { a };
                    let why =
                        if expired { format!("{why}; the decision arrived after it and is not applied") } else { why };
                    self.record_refusal(Some(&a), d, &why).await?;
                    Delivery::Refused(why)
                }
                None => Delivery::Applied(self.cast(a, &d.reviewer, d.approve, &d.reason, &d.fleet_record_id).await?),
            },
        };
        self.delivered.lock().expect("delivered set").insert(d.fleet_record_id.clone());
        telemetry::fleet_delivery(match &outcome {
            Delivery::Applied(_) => "applied",
            Delivery::Refused(_) => "refused",
            Delivery::Repeat => "repeat",
        });
        Ok(outcome)
    }

    /// Records a delivered decision whose signature did not verify: refused,
    /// whatever it claims. It is not remembered as taken, so a real decision
    /// that reuses its record id is still applied.
    pub async fn refuse_unverified(&self, d: &Delivered, why: &str) -> Result<(), Error> {
        let _guard = self.decide.lock().await;
        let held = self.board.snapshot(&d.approval_id);
        self.record_refusal(held.as_ref(), d, why).await?;
        telemetry::fleet_delivery("forged");
        Ok(())
    }

    /// Records a delivered decision this instance did not apply: a `refused`
    /// step that leaves the approval as it is (or names an approval this
    /// instance does not hold, with no state).
    async fn record_refusal(&self, a: Option<&Approval>, d: &Delivered, why: &str) -> Result<Appended, Error> {
        let entry = Entry::Approval {
            approval_id: d.approval_id.clone(),
            event: "refused".to_string(),
            context: a.map(|a| a.context.clone()).unwrap_or_default(),
            actor: d.reviewer.clone(),
            reason: why.to_string(),
            request_record_id: a.map(|a| a.request_record_id.clone()).unwrap_or_default(),
            request_sequence: a.map(|a| a.request_sequence).unwrap_or_default(),
            state: a.map(|a| a.state.as_str().to_string()).unwrap_or_default(),
            votes: a.map(|a| a.votes.clone()).unwrap_or_default(),
            delivered_from: d.fleet_record_id.clone(),
            fleet_origin: d.fleet_origin.clone(),
        };
        self.log.append(entry).await.map_err(Error::from)
    }

    /// Casts a checked vote: the approval's next state is recorded, then set.
    async fn cast(
        &self,
        a: Approval,
        reviewer: &str,
        approve: bool,
        reason: &str,
        delivered_from: &str,
    ) -> Result<Approval, Error> {
        let vote = Vote {
            reviewer: reviewer.to_string(),
            approve,
            reason: reason.to_string(),
            at: crate::timestamp::format(OffsetDateTime::now_utc()),
        };
        let (a, event) = a.with_vote(vote);
        let state = a.state;
        self.record(&a, event, reviewer, reason, delivered_from).await?;
        telemetry::approval_step(event);
        if let Some(decided) = a.decided_at.filter(|_| state.is_terminal()) {
            telemetry::approval_decided(event, (decided - a.created_at).try_into().unwrap_or_default());
        }
        self.board.set(a.clone());
        Ok(a)
    }

    /// Expires every pending approval past its time; returns how many.
    pub async fn expire_due(&self) -> Result<usize, AuditError> {
        let now = OffsetDateTime::now_utc();
        let due = self.board.all(|a| a.state == State::Pending && a.expires_at <= now);
        if due.is_empty() {
            return Ok(0);
        }
        let _guard = self.decide.lock().await;
        let mut n = 0;
        for a in due {
            // Re-read under the lock: a reviewer may have just decided.
            if self.board.snapshot(&a.id).is_some_and(|cur| cur.state == State::Pending) {
                self.expire_locked(a).await.map_err(|e| AuditError::Io(e.to_string()))?;
                n += 1;
            }
        }
        Ok(n)
    }

    async fn expire_locked(&self, mut a: Approval) -> Result<Approval, Error> {
        let now = OffsetDateTime::now_utc();
        a.state = State::Expired;
        a.decided_at = Some(now);
        let reason = format!("no decision within {} s; expired to a deny", self.config.ttl_seconds);
        self.record(&a, "expired", "warden", &reason, "").await?;
        telemetry::approval_step("expired");
        telemetry::approval_decided("expired", (now - a.created_at).try_into().unwrap_or_default());
        self.board.set(a.clone());
        Ok(a)
    }

    async fn record(
        &self,
        a: &Approval,
        event: &str,
        actor: &str,
        reason: &str,
        delivered_from: &str,
    ) -> Result<Appended, Error> {
        self.log.append(step_entry(a, event, actor, reason, delivered_from)).await.map_err(Error::from)
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
        let mut steps = Steps::default();
        for seq in
            self.log.query(&Query { kind: crate::audit::record::Kind::Approval.as_str().into(), ..Query::default() })
        {
            let Some(rec) = self.log.record(seq)? else { continue };
            let Body::Approval(step) = rec.body()? else { continue };
            if !step.delivered_from.is_empty() {
                self.delivered.lock().expect("delivered set").insert(step.delivered_from.clone());
            }
            steps.take(step, &rec.recorded_at);
        }
        let mut n = 0;
        let origin = self.log.origin();
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
            a.instance_id = origin.clone();
            steps.apply(&mut a);
            self.board.put(a);
            n += 1;
        }
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

/// Why `reviewer` may not vote on `a` now, if they may not: the rules of
/// [`ApprovalStore::decide`], shared with a fleet service's.
pub(crate) fn refusal(a: &Approval, reviewer: &str) -> Option<Refusal> {
    if a.state == State::Pending && OffsetDateTime::now_utc() >= a.expires_at {
        return Some(Refusal::Expired(a.expires_at));
    }
    if a.state.is_terminal() {
        return Some(Refusal::Decided(a.state, a.verdict().map(|v| v.reviewer.clone())));
    }
    if reviewer == a.requested_by || (!a.context.user_id.is_empty() && reviewer == a.context.user_id) {
        return Some(Refusal::OwnRequest);
    }
    if a.votes.iter().any(|v| v.reviewer == reviewer) {
        return Some(Refusal::AlreadyVoted);
    }
    None
}

/// An approval step's record: `event` by `actor`, leaving `a` as it is.
pub(crate) fn step_entry(a: &Approval, event: &str, actor: &str, reason: &str, delivered_from: &str) -> Entry {
    Entry::Approval {
        approval_id: a.id.clone(),
        event: event.to_string(),
        context: a.context.clone(),
        actor: actor.to_string(),
        reason: reason.to_string(),
        request_record_id: a.request_record_id.clone(),
        request_sequence: a.request_sequence,
        state: a.state.as_str().to_string(),
        votes: a.votes.clone(),
        delivered_from: delivered_from.to_string(),
        fleet_origin: String::new(),
    }
}

/// The reviewer a decision is made by: the authenticated identity, or with
/// authentication off the declared one; and the reason, checked.
pub(crate) fn reviewer_of(caller: &Caller, declared_reviewer: &str, reason: &str) -> Result<String, Error> {
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
    Ok(reviewer)
}

/// The latest recorded step of each approval, as the log or a central
/// store holds them: its state, votes and when it was decided.
#[derive(Default)]
pub(crate) struct Steps(HashMap<String, (State, Vec<Vote>, Option<OffsetDateTime>)>);

impl Steps {
    /// Takes one `approval` record (later ones replace earlier ones). A
    /// step without a known state (a refusal naming an approval its
    /// instance does not hold) changes nothing.
    pub(crate) fn take(&mut self, step: crate::audit::read::ApprovalBody, recorded_at: &str) {
        let Some(state) = State::parse(&step.state) else { return };
        if step.approval_id.is_empty() {
            return;
        }
        let at = OffsetDateTime::parse(recorded_at, &Rfc3339).ok();
        self.0.insert(step.approval_id, (state, step.votes, state.is_terminal().then_some(at).flatten()));
    }

    /// Puts an approval in its latest recorded state.
    pub(crate) fn apply(&mut self, a: &mut Approval) {
        if let Some((state, votes, decided_at)) = self.0.remove(&a.id) {
            a.state = state;
            a.votes = votes;
            a.decided_at = decided_at;
        }
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
    /// The most approvals that may wait for a reviewer at once (requests
    /// scored at the same moment can pass it by those in flight). A request
    /// that would need one more is blocked instead (fail closed), so a
    /// flood of high-risk requests cannot grow memory without a bound:
    /// each pending approval holds its request, findings and session path
    /// (about 6 KiB).
    pub max_pending: usize,
}

impl Default for ApprovalConfig {
    fn default() -> Self {
        Self { ttl_seconds: 900, critical_reviewers: 2, sweep_interval_ms: 500, max_pending: 10_000 }
    }
}
