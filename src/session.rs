//! Session context: what one conversation or agent run has seen so far.
//!
//! An injected document, untrusted web content, a read of private data: each
//! is harmless alone and dangerous before an outbound action. The store keeps
//! a few facts per `(tenant, session_id)` in a `DashMap`, bounded in size and
//! evicted after `ttl_seconds` without activity, plus the session's recent
//! decision path for reviewers. It is in memory: a restart forgets it (the
//! audit log keeps the full history).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use serde::{Deserialize, Serialize};

use crate::audit::journal::StoredRecord;
use crate::audit::read::{Body, DecisionBody};
use crate::detect::pii::IDENTIFIES_NO_ONE;
use crate::detect::{Finding, Surface};
use crate::policy::{Decision, Level};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    /// Sessions tracked at once; the least recently active is dropped first.
    pub max_sessions: usize,
    /// A session idle this long is forgotten.
    pub ttl_seconds: u64,
    /// Steps of the decision path kept per session.
    pub path_len: usize,
    /// Findings at or above this score count as "seen" (injection, personal data).
    pub min_score: f64,
    /// Decisions read back from the audit log at start-up to rebuild the
    /// sessions of the last `ttl_seconds` (newest first).
    pub recover_max_records: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self { max_sessions: 100_000, ttl_seconds: 3600, path_len: 50, min_score: 0.5, recover_max_records: 200_000 }
    }
}

/// The facts the action policy reads as `input.session`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SessionView {
    pub injection_seen: bool,
    /// Where: `input`, `document:<id>`.
    pub injection_sources: Vec<String>,
    pub untrusted_content: bool,
    pub private_data_access: bool,
    pub pii_seen: bool,
    /// High or critical actions in the last 60 s, before this one.
    pub high_risk_actions_last_minute: u32,
    pub actions: u32,
}

/// One step of a session's decision path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub record_id: String,
    pub sequence: u64,
    pub recorded_at: String,
    pub surface: Surface,
    pub tool: String,
    pub decision: Decision,
    pub level: Level,
    /// The strongest reason, in words.
    pub summary: String,
}

impl Step {
    /// The step a stored decision is, when it names a surface, a decision
    /// and a level this version knows.
    pub fn recorded(rec: &StoredRecord, d: &DecisionBody) -> Option<Step> {
        let verdict = &d.evaluation.verdict;
        Some(Step {
            record_id: rec.record_id.clone(),
            sequence: rec.sequence,
            recorded_at: rec.recorded_at.clone(),
            surface: d.request.surface?,
            tool: d.request.tool.text().unwrap_or_default().to_string(),
            decision: verdict.decision?,
            level: verdict.level?,
            summary: verdict.reasons.first().cloned().unwrap_or_default(),
        })
    }
}

/// What one scored call tells the session.
pub struct Observation<'a> {
    /// When the call was scored (now, or earlier when recovering).
    pub at: Instant,
    pub surface: Surface,
    pub findings: &'a [Finding],
    /// Untrusted documents were part of the request.
    pub untrusted_documents: bool,
    /// Effects the action policy named (`private_data_access`, ...).
    pub effects: &'a [String],
    pub step: Step,
}

struct State {
    view: SessionView,
    high_risk: VecDeque<Instant>,
    path: VecDeque<Step>,
    last_seen: Instant,
}

pub struct SessionStore {
    map: DashMap<(String, String), State>,
    /// One turn at a time per session for actions, so that concurrent calls
    /// cannot all read the velocity count from before any of them.
    turns: DashMap<(String, String), Arc<tokio::sync::Mutex<()>>>,
    config: SessionConfig,
}

/// Held while one action of a session is scored and observed.
/// A call's visit to its session ([`SessionStore::visit`]): it holds the
/// session's turn (for an action) until dropped, reads what the call is
/// judged with, and records what the call showed.
pub struct Visit<'a> {
    store: &'a SessionStore,
    tenant: String,
    session_id: String,
    _turn: Option<Turn<'a>>,
}

impl Visit<'_> {
    /// The session's facts and its decision path before this call.
    pub fn read(&self) -> (SessionView, Vec<Step>) {
        self.store.read(&self.tenant, &self.session_id)
    }

    /// Records what the call showed.
    pub fn observe(&self, o: Observation<'_>) {
        self.store.observe(&self.tenant, &self.session_id, o);
    }
}

pub struct Turn<'a> {
    store: &'a SessionStore,
    key: (String, String),
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        // Forget the lock once nobody holds or waits for it (clones are
        // taken under the same shard lock, so this cannot race with one).
        self.store.turns.remove_if(&self.key, |_, m| Arc::strong_count(m) == 1);
    }
}

const VELOCITY_WINDOW: Duration = Duration::from_secs(60);

impl SessionStore {
    pub fn new(config: SessionConfig) -> Self {
        Self { map: DashMap::new(), turns: DashMap::new(), config }
    }

    /// Waits for the session's turn: actions of one session are scored one
    /// after another (the velocity limit counts the ones before). `None` for
    /// calls without a session id.
    async fn turn(&self, tenant: &str, session_id: &str) -> Option<Turn<'_>> {
        let key = Self::key(tenant, session_id)?;
        let lock = self.turns.entry(key.clone()).or_default().clone();
        let guard = lock.lock_owned().await;
        Some(Turn { store: self, key, guard: Some(guard) })
    }

    fn key(tenant: &str, session_id: &str) -> Option<(String, String)> {
        (!session_id.is_empty()).then(|| (tenant.to_string(), session_id.to_string()))
    }

    /// One scored call's dealings with its session, taken once per call:
    /// with `exclusive` (an action) it first waits for the session's turn,
    /// so concurrent actions of one session are judged one after another.
    pub async fn visit(&self, tenant: &str, session_id: &str, exclusive: bool) -> Visit<'_> {
        let turn = match exclusive {
            true => self.turn(tenant, session_id).await,
            false => None,
        };
        Visit { store: self, tenant: tenant.to_string(), session_id: session_id.to_string(), _turn: turn }
    }

    /// The session's facts now and its decision path so far, in one look;
    /// empty for calls without a session id.
    fn read(&self, tenant: &str, session_id: &str) -> (SessionView, Vec<Step>) {
        let Some(key) = Self::key(tenant, session_id) else { return Default::default() };
        let now = Instant::now();
        match self.map.get(&key) {
            Some(s) if now.duration_since(s.last_seen) < self.ttl() => {
                let mut v = s.view.clone();
                v.high_risk_actions_last_minute =
                    s.high_risk.iter().filter(|t| now.duration_since(**t) < VELOCITY_WINDOW).count() as u32;
                (v, s.path.iter().cloned().collect())
            }
            _ => Default::default(),
        }
    }

    /// The session's facts now; empty for calls without a session id.
    pub fn view(&self, tenant: &str, session_id: &str) -> SessionView {
        self.read(tenant, session_id).0
    }

    /// The session's recent decision path, oldest first.
    pub fn path(&self, tenant: &str, session_id: &str) -> Vec<Step> {
        let Some(key) = Self::key(tenant, session_id) else { return Vec::new() };
        self.map.get(&key).map(|s| s.path.iter().cloned().collect()).unwrap_or_default()
    }

    pub fn observe(&self, tenant: &str, session_id: &str, o: Observation<'_>) {
        let Some(key) = Self::key(tenant, session_id) else { return };
        let now = o.at;
        if !self.map.contains_key(&key) && self.map.len() >= self.config.max_sessions {
            self.evict(now);
        }
        let ttl = self.ttl();
        let mut entry = self.map.entry(key).or_insert_with(|| State {
            view: SessionView::default(),
            high_risk: VecDeque::new(),
            path: VecDeque::new(),
            last_seen: now,
        });
        let s = entry.value_mut();
        if now.saturating_duration_since(s.last_seen) >= ttl {
            *s = State {
                view: SessionView::default(),
                high_risk: VecDeque::new(),
                path: VecDeque::new(),
                last_seen: now,
            };
        }
        s.last_seen = s.last_seen.max(now);
        let min = self.config.min_score;
        for f in o.findings.iter().filter(|f| f.score >= min) {
            let family = f.category.split('.').next().unwrap_or_default();
            // Injection anywhere the agent reads (input, documents, tool
            // arguments and results); not the model's own answer, which may
            // explain what an injection is.
            if matches!(family, "prompt_injection" | "jailbreak") && f.source != "output" {
                s.view.injection_seen = true;
                if !s.view.injection_sources.contains(&f.source) && s.view.injection_sources.len() < 16 {
                    s.view.injection_sources.push(f.source.clone());
                }
            }
            // A place, an organisation, a date, a web site or a group word
            // alone identifies nobody, and ordinary conversation is full of
            // them.
            if family == "pii" && !IDENTIFIES_NO_ONE.contains(&f.category.as_str()) {
                s.view.pii_seen = true;
            }
        }
        if o.untrusted_documents {
            s.view.untrusted_content = true;
        }
        for e in o.effects {
            match e.as_str() {
                "private_data_access" => s.view.private_data_access = true,
                "untrusted_content" => s.view.untrusted_content = true,
                _ => {}
            }
        }
        if o.surface == Surface::Action {
            s.view.actions = s.view.actions.saturating_add(1);
            if o.step.level >= Level::High {
                s.high_risk.push_back(now);
            }
            while s.high_risk.front().is_some_and(|t| now.saturating_duration_since(*t) >= VELOCITY_WINDOW) {
                s.high_risk.pop_front();
            }
        }
        s.path.push_back(o.step);
        while s.path.len() > self.config.path_len {
            s.path.pop_front();
        }
    }

    fn ttl(&self) -> Duration {
        Duration::from_secs(self.config.ttl_seconds)
    }

    /// Drops idle sessions; if the store is still full, the least recently
    /// active ones too.
    pub fn evict(&self, now: Instant) {
        let ttl = self.ttl();
        self.map.retain(|_, s| now.saturating_duration_since(s.last_seen) < ttl);
        let over = (self.map.len() + 1).saturating_sub(self.config.max_sessions);
        if over > 0 {
            let mut ages: Vec<(Instant, (String, String))> =
                self.map.iter().map(|e| (e.value().last_seen, e.key().clone())).collect();
            ages.sort();
            for (_, k) in ages.into_iter().take(over.max(self.config.max_sessions / 100)) {
                self.map.remove(&k);
            }
        }
        crate::telemetry::sessions_tracked(self.map.len());
    }

    /// Forgets idle sessions every minute (and keeps the
    /// `warden_sessions_tracked` gauge current) until `stopping`.
    pub fn spawn_sweeper(
        self: &std::sync::Arc<Self>,
        mut stopping: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        let every = Duration::from_secs(60).min(self.ttl().max(Duration::from_secs(1)));
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => store.sweep(Instant::now()),
                    _ = stopping.changed() => return,
                }
            }
        })
    }

    /// Drops sessions idle for `ttl_seconds`.
    pub fn sweep(&self, now: Instant) {
        let ttl = self.ttl();
        self.map.retain(|_, s| now.saturating_duration_since(s.last_seen) < ttl);
        crate::telemetry::sessions_tracked(self.map.len());
    }

    /// Rebuilds the sessions active in the last `ttl_seconds` from the audit
    /// log after a restart (at most the newest `max_records` decisions), so a
    /// restart does not forget an injection a session has already seen.
    pub fn recover(
        &self,
        log: &crate::audit::journal::AuditLog,
        max_records: usize,
    ) -> Result<usize, crate::audit::AuditError> {
        use crate::audit::journal::Query;

        let now_nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        let from = now_nanos - self.config.ttl_seconds as i128 * 1_000_000_000;
        let seqs = log.query(&Query {
            kind: crate::audit::record::Kind::ScoreDecision.as_str().into(),
            from_unix_nanos: Some(from),
            ..Query::default()
        });
        let start = seqs.len().saturating_sub(max_records);
        let now = Instant::now();
        let mut n = 0;
        for seq in &seqs[start..] {
            let Some(rec) = log.record(*seq)? else { continue };
            let Body::ScoreDecision(d) = rec.body()? else { continue };
            let Some(step) = Step::recorded(&rec, &d) else { continue };
            let findings: Vec<Finding> = d
                .evaluation
                .findings
                .iter()
                .map(|f| Finding {
                    category: f.category.clone(),
                    score: f.score,
                    detector: "recovered",
                    source: f.source.clone(),
                    span: 0..0,
                    message: String::new(),
                    evidence: None,
                })
                .collect();
            let untrusted_documents = d.request.documents.iter().any(|doc| doc.trusted == Some(false));
            let age_nanos = (now_nanos - log.recorded_unix_nanos(*seq).unwrap_or(now_nanos)).max(0);
            let at = now.checked_sub(Duration::from_nanos(age_nanos as u64)).unwrap_or(now);
            let context = &d.request.context;
            self.observe(
                &context.tenant,
                &context.session_id,
                Observation {
                    at,
                    surface: step.surface,
                    findings: &findings,
                    untrusted_documents,
                    effects: &d.evaluation.effects,
                    step,
                },
            );
            n += 1;
        }
        Ok(n)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(level: Level) -> Step {
        Step {
            record_id: "r".into(),
            sequence: 0,
            recorded_at: String::new(),
            surface: Surface::Action,
            tool: "t".into(),
            decision: Decision::Allow,
            level,
            summary: String::new(),
        }
    }

    fn action(level: Level, untrusted_documents: bool) -> Observation<'static> {
        Observation {
            at: Instant::now(),
            surface: Surface::Action,
            findings: &[],
            untrusted_documents,
            effects: &[],
            step: step(level),
        }
    }

    fn finding(category: &str, source: &str) -> Finding {
        Finding {
            category: category.into(),
            score: 0.9,
            detector: "test",
            source: source.into(),
            span: 0..1,
            message: String::new(),
            evidence: None,
        }
    }

    #[test]
    fn remembers_what_a_session_saw() {
        let store = SessionStore::new(SessionConfig::default());
        assert_eq!(store.view("t", "s"), SessionView::default());
        let f = [finding("prompt_injection", "document:kb-7")];
        store.observe(
            "t",
            "s",
            Observation {
                at: Instant::now(),
                surface: Surface::Input,
                findings: &f,
                untrusted_documents: true,
                effects: &[],
                step: step(Level::High),
            },
        );
        let v = store.view("t", "s");
        assert!(v.injection_seen && v.untrusted_content);
        assert_eq!(v.injection_sources, ["document:kb-7"]);
        // Other tenants and sessions are unaffected; no session id, no state.
        assert_eq!(store.view("other", "s"), SessionView::default());
        assert_eq!(store.view("t", ""), SessionView::default());
        assert_eq!(store.path("t", "s").len(), 1);
    }

    #[test]
    fn what_identifies_no_one_is_not_personal_data_seen() {
        let store = SessionStore::new(SessionConfig::default());
        let observe = |session: &str, categories: &[&str]| {
            let f: Vec<Finding> = categories.iter().map(|c| finding(c, "input")).collect();
            store.observe(
                "t",
                session,
                Observation {
                    at: Instant::now(),
                    surface: Surface::Input,
                    findings: &f,
                    untrusted_documents: false,
                    effects: &[],
                    step: step(Level::Low),
                },
            );
            store.view("t", session).pii_seen
        };
        assert!(!observe("a", &IDENTIFIES_NO_ONE));
        assert!(observe("b", &["pii.person"]));
        assert!(observe("c", &["pii.email"]));
        assert!(observe("d", &["pii.date_of_birth"]));
    }

    #[test]
    fn counts_high_risk_actions_and_stays_bounded() {
        let store = SessionStore::new(SessionConfig { max_sessions: 10, ..SessionConfig::default() });
        for _ in 0..3 {
            store.observe("t", "s", action(Level::High, false));
        }
        assert_eq!(store.view("t", "s").high_risk_actions_last_minute, 3);
        for i in 0..50 {
            store.observe("t", &format!("s{i}"), action(Level::Low, false));
        }
        assert!(store.len() <= 10, "{}", store.len());
    }

    #[test]
    fn idle_sessions_expire() {
        let store = SessionStore::new(SessionConfig { ttl_seconds: 0, ..SessionConfig::default() });
        store.observe("t", "s", action(Level::Low, true));
        assert_eq!(store.view("t", "s"), SessionView::default());
        store.evict(Instant::now());
        assert!(store.is_empty());
    }

    #[test]
    fn the_sweeper_forgets_idle_sessions_without_waiting_for_a_full_store() {
        let store = SessionStore::new(SessionConfig { ttl_seconds: 60, ..SessionConfig::default() });
        store.observe("t", "old", action(Level::Low, false));
        store.observe("t", "new", action(Level::Low, false));
        store.sweep(Instant::now() + Duration::from_secs(30));
        assert_eq!(store.len(), 2, "not idle long enough");
        store.sweep(Instant::now() + Duration::from_secs(61));
        assert!(store.is_empty());
    }
}
