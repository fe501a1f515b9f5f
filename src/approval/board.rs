//! The approvals a server holds, as reviewers and agents see them: one
//! watch channel per approval (its current state), the listing in pages,
//! and the change counter the console follows. A sidecar's
//! [`super::ApprovalStore`] fills it from its own log; a fleet service's
//! oversight ([`crate::fleet`]) from the central store. Both list, show and
//! watch through here, so paging and visibility are one rule.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::{Approval, State};
use crate::audit::journal::AuditLog;
use crate::audit::Journal as _;
use crate::auth::{Caller, Role};
use crate::error::Error;
use crate::policy::Level;

/// Decided, expired and refused approvals the board keeps beyond the pending
/// ones, the most recently settled: enough for the console's recent list and
/// an agent's late `Watch`, while memory stays bounded however long the
/// server runs (the log keeps every one).
pub const KEEP_SETTLED: usize = 10_000;

pub struct Board {
    /// Every pending approval's current state and the last [`KEEP_SETTLED`]
    /// settled ones; watchers subscribe to its sender.
    slots: Mutex<Slots>,
    /// (approval, reviewer) pairs already recorded as shown.
    shown: Mutex<HashSet<(String, String)>>,
    /// Bumped on every change to any approval (the console's live queue).
    changes: watch::Sender<u64>,
    /// Told how many are pending after every change (a gauge).
    pending_gauge: fn(usize),
}

#[derive(Default)]
struct Slots {
    by_id: HashMap<String, watch::Sender<Approval>>,
    /// Settled approvals, oldest first: the first to be let go.
    settled: VecDeque<String>,
}

impl Slots {
    /// Notes that `approval` is now in the slot of its id: once settled, it
    /// queues to be let go, and the oldest settled beyond [`KEEP_SETTLED`]
    /// are. Returns the ids let go.
    fn settle(&mut self, approval: &Approval, was_terminal: bool) -> Vec<String> {
        if !approval.state.is_terminal() || was_terminal {
            return Vec::new();
        }
        self.settled.push_back(approval.id.clone());
        let mut gone = Vec::new();
        while self.settled.len() > KEEP_SETTLED {
            let Some(id) = self.settled.pop_front() else { break };
            self.by_id.remove(&id);
            gone.push(id);
        }
        gone
    }
}

impl Board {
    pub fn new(pending_gauge: fn(usize)) -> Self {
        Self {
            slots: Mutex::new(Slots::default()),
            shown: Mutex::new(HashSet::new()),
            changes: watch::Sender::new(0),
            pending_gauge,
        }
    }

    /// Adds an approval, or replaces its state (watchers see the change).
    pub fn put(&self, approval: Approval) {
        let gone = {
            let mut slots = self.slots.lock().expect("approval slots");
            let was_terminal = match slots.by_id.get(&approval.id) {
                Some(slot) => slot.send_replace(approval.clone()).state.is_terminal(),
                None => {
                    slots.by_id.insert(approval.id.clone(), watch::Sender::new(approval.clone()));
                    false
                }
            };
            slots.settle(&approval, was_terminal)
        };
        self.forget_shown(&approval, gone);
        self.changed();
    }

    /// Replaces an approval's state if it is held.
    pub fn set(&self, approval: Approval) {
        let gone = {
            let mut slots = self.slots.lock().expect("approval slots");
            let was_terminal = slots.by_id.get(&approval.id).map(|slot| slot.send_replace(approval.clone()).state);
            match was_terminal {
                Some(was) => slots.settle(&approval, was.is_terminal()),
                None => Vec::new(),
            }
        };
        self.forget_shown(&approval, gone);
        self.changed();
    }

    /// "Shown" matters only while an approval is pending.
    fn forget_shown(&self, approval: &Approval, mut gone: Vec<String>) {
        if approval.state.is_terminal() {
            gone.push(approval.id.clone());
        }
        if !gone.is_empty() {
            self.shown.lock().expect("shown set").retain(|(id, _)| !gone.contains(id));
        }
    }

    pub fn snapshot(&self, id: &str) -> Option<Approval> {
        self.slots.lock().expect("approval slots").by_id.get(id).map(|tx| tx.borrow().clone())
    }

    /// Every approval `keep` keeps, whoever may see it. Only those are
    /// cloned: the expiry sweep asks twice a second, and cloning the whole
    /// board each time (up to 20,000 approvals of about 6 KiB) cost the
    /// cores up to 120 MB allocated and freed per sweep.
    pub fn all(&self, keep: impl Fn(&Approval) -> bool) -> Vec<Approval> {
        self.slots
            .lock()
            .expect("approval slots")
            .by_id
            .values()
            .filter(|tx| keep(&tx.borrow()))
            .map(|tx| tx.borrow().clone())
            .collect()
    }

    /// Changes whenever an approval is opened, voted on, decided or expires.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn changed(&self) {
        self.changes.send_modify(|n| *n += 1);
        (self.pending_gauge)(self.pending());
    }

    /// How many approvals are pending: every one held that has not settled
    /// (a settled one never becomes pending again).
    pub fn pending(&self) -> usize {
        let slots = self.slots.lock().expect("approval slots");
        slots.by_id.len() - slots.settled.len()
    }

    /// The approval, if it exists and belongs to a tenant the caller may act
    /// for; other tenants' approvals are NOT_FOUND, not revealed.
    pub fn visible(&self, caller: &Caller, id: &str) -> Result<Approval, Error> {
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
        // Sort keys first and clone only the page: a fleet's queue holds
        // thousands of approvals, each with its findings and path.
        let slots = self.slots.lock().expect("approval slots");
        let mut keys: Vec<PendingKey<'_>> = slots
            .by_id
            .iter()
            .filter(|(_, tx)| {
                let a = tx.borrow();
                a.state == State::Pending
                    && (tenant.is_empty() || a.context.tenant == tenant)
                    && caller.may_act_for(&a.context.tenant)
            })
            .map(|(id, tx)| {
                let a = tx.borrow();
                (Reverse(a.level), Reverse(a.created_at.unix_timestamp_nanos()), id.as_str())
            })
            .collect();
        keys.sort();
        let total = keys.len();
        let start = match &after {
            None => 0,
            Some(cursor) => keys.partition_point(|k| *k <= cursor.key()),
        };
        let page: Vec<Approval> =
            keys[start..].iter().take(size).map(|(_, _, id)| slots.by_id[*id].borrow().clone()).collect();
        drop(slots);
        let more = total - start > size;
        let next_page_token = if more {
            page.last().map(|a| PageCursor::of(a, tenant).encode()).unwrap_or_default()
        } else {
            String::new()
        };
        let rest = page;
        Ok(PendingPage { approvals: rest, next_page_token, total })
    }

    /// Approvals decided or expired, most recent first.
    pub fn list_recent(&self, caller: &Caller, limit: usize) -> Result<Vec<Approval>, Error> {
        caller.require("ListPending", &[Role::Reviewer, Role::Auditor])?;
        // Sort keys first and clone only the page, as `list_pending` does.
        let slots = self.slots.lock().expect("approval slots");
        let mut keys: Vec<_> = slots
            .by_id
            .iter()
            .filter(|(_, tx)| {
                let a = tx.borrow();
                a.state.is_terminal() && caller.may_act_for(&a.context.tenant)
            })
            .map(|(id, tx)| {
                let a = tx.borrow();
                (Reverse(a.decided_at), Reverse(a.created_at), id.as_str())
            })
            .collect();
        keys.sort();
        Ok(keys.into_iter().take(limit).map(|(_, _, id)| slots.by_id[id].borrow().clone()).collect())
    }

    /// One approval, for `Get`. A reviewer's first look at a pending one is
    /// recorded as `shown` in `log` (the evidence that a human saw it).
    pub async fn show(&self, caller: &Caller, id: &str, log: &AuditLog) -> Result<Approval, Error> {
        caller.require("Get", &[Role::Reviewer, Role::Auditor, Role::Agent])?;
        let a = self.visible(caller, id)?;
        if caller.has(Role::Reviewer) && a.state == State::Pending {
            let first = self.shown.lock().expect("shown set").insert((id.to_string(), caller.identity.clone()));
            if first {
                log.append(super::step_entry(&a, "shown", &caller.identity, "", "")).await?;
            }
        }
        Ok(a)
    }

    /// Follows one approval: the current state first, then every change.
    pub fn watch(&self, caller: &Caller, id: &str) -> Result<watch::Receiver<Approval>, Error> {
        caller.require("Watch", &[Role::Agent, Role::Reviewer, Role::Auditor])?;
        self.visible(caller, id)?;
        let slots = self.slots.lock().expect("approval slots");
        let slot = slots.by_id.get(id).ok_or_else(|| Error::NotFound(format!("approval {id:?}")))?;
        Ok(slot.subscribe())
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

pub(super) fn page_size_of(requested: i64) -> Result<usize, Error> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Level;

    fn approval(id: usize, state: State) -> Approval {
        let at = time::OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(id as i64);
        Approval {
            id: format!("a{id}"),
            state,
            context: crate::request::Context::default(),
            surface: crate::detect::Surface::Action,
            tool: "refund".into(),
            arguments_json: "{}".into(),
            rationale: String::new(),
            text: String::new(),
            requested_by: "agent".into(),
            request_record_id: String::new(),
            request_sequence: id as u64,
            level: Level::High,
            decision: crate::policy::Decision::RequireApproval,
            score: 0.9,
            findings: Vec::new(),
            reasons: Vec::new(),
            required_checks: Vec::new(),
            policy_version: String::new(),
            detector_versions: Default::default(),
            created_at: at,
            expires_at: at,
            required_approvals: 1,
            votes: Vec::new(),
            decided_at: state.is_terminal().then_some(at),
            decision_path: Vec::new(),
            instance_id: String::new(),
        }
    }

    #[test]
    fn the_board_keeps_every_pending_approval_and_only_the_latest_settled() {
        let board = Board::new(|_| {});
        board.put(approval(0, State::Pending));
        for id in 1..=KEEP_SETTLED + 5 {
            board.put(approval(id, State::Pending));
            board.set(approval(id, if id % 2 == 0 { State::Approved } else { State::Expired }));
        }
        // Settling again (a second record of the same outcome) queues nothing twice.
        board.put(approval(KEEP_SETTLED + 5, State::Expired));
        assert_eq!(board.all(|_| true).len(), KEEP_SETTLED + 1, "pending + the latest settled");
        assert_eq!(board.pending(), 1, "only a0 is pending");
        board.put(approval(KEEP_SETTLED + 6, State::Pending));
        assert_eq!(board.pending(), 2);
        assert_eq!(board.snapshot("a0").map(|a| a.state), Some(State::Pending), "pending is never let go");
        for gone in 1..=5 {
            assert!(board.snapshot(&format!("a{gone}")).is_none(), "a{gone}: the oldest settled go first");
        }
        assert_eq!(board.snapshot("a6").map(|a| a.state), Some(State::Approved));
        assert!(board.snapshot(&format!("a{}", KEEP_SETTLED + 5)).is_some());
    }

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
