//! The fleet service's approvals: one queue over every instance (filled
//! from the central store by [`super::central`]), shown and decided here,
//! with every step recorded in this service's own log. A decision is a
//! signed `fleet_decision` record ([`super::decision`]); the instance that
//! holds the approval applies it when it arrives. Until the central store
//! shows that instance's own record of it, this service shows the
//! approval with the votes it recorded on top, so it is decided once,
//! fleet-wide: a second reviewer here sees it decided, and the instance
//! refuses anything that reaches it after its first decision.
//!
//! Expiry stays the instance's: this service refuses a decision on an
//! approval past its time but never records an expiry itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::central::Central;
use super::decision::Decision;
use crate::approval::{refusal, reviewer_of, Approval, Board, State};
use crate::audit::journal::{AuditLog, Query};
use crate::audit::read::Body;
use crate::audit::record::{Kind, Vote};
use crate::audit::{AuditError, Entry, Journal};
use crate::auth::{Caller, Role};
use crate::error::Error;
use crate::telemetry;

pub struct Oversight {
    log: Arc<AuditLog>,
    board: Board,
    key: SigningKey,
    /// Votes this service recorded, by approval id, for as long as the
    /// central store does not show them.
    issued: Mutex<HashMap<String, Vec<Vote>>>,
    /// Serialises decisions, so each approval is decided once.
    decide: tokio::sync::Mutex<()>,
}

impl Oversight {
    /// Over this service's own log, with its decision key; the votes it
    /// recorded before a restart are read back from the log.
    pub fn new(log: Arc<AuditLog>, key: SigningKey) -> Result<Self, AuditError> {
        let mut issued: HashMap<String, Vec<Vote>> = HashMap::new();
        for seq in log.query(&Query { kind: Kind::FleetDecision.as_str().into(), ..Query::default() }) {
            let Some(rec) = log.record(seq)? else { continue };
            let Body::FleetDecision(d) = rec.body()? else { continue };
            issued.entry(d.approval_id).or_default().push(Vote {
                reviewer: d.reviewer,
                approve: d.approve,
                reason: d.reason,
                at: d.decided_at,
            });
        }
        Ok(Self {
            log,
            board: Board::new(telemetry::fleet_approvals_pending),
            key,
            issued: Mutex::new(issued),
            decide: tokio::sync::Mutex::new(()),
        })
    }

    /// Takes approvals as the central store shows them, with this
    /// service's votes the store does not show yet on top.
    pub fn absorb(&self, approvals: Vec<Approval>) {
        let mut issued = self.issued.lock().expect("issued votes");
        for mut a in approvals {
            if let Some(votes) = issued.get(&a.id) {
                let missing: Vec<Vote> =
                    votes.iter().filter(|v| !a.votes.iter().any(|w| w.reviewer == v.reviewer)).cloned().collect();
                if missing.is_empty() || a.state.is_terminal() {
                    // The instance recorded them (or decided otherwise).
                    issued.remove(&a.id);
                } else if a.state == State::Pending {
                    for v in missing {
                        a = a.with_vote(v).0;
                    }
                }
            }
            self.board.put(a);
        }
    }

    /// Reads the central store every `interval` until `stop` turns true.
    pub fn spawn_reader(
        self: &Arc<Self>,
        mut central: Central,
        interval: Duration,
        mut stop: watch::Receiver<bool>,
    ) -> JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                match central.read_new().await {
                    Ok(changed) => this.absorb(changed),
                    Err(e) => tracing::warn!(error = %e, "fleet: reading the central store failed; will retry"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = stop.changed() => return,
                }
            }
        })
    }

    /// A reviewer decides an approval of any instance: checked as the
    /// instance would check it, recorded here (signed) and delivered to
    /// the instance by the log's shipping. The returned approval is what
    /// the instance will apply.
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
        if let Some(refused) = refusal(&a, &reviewer) {
            telemetry::fleet_decision("refused");
            return Err(refused.into_error(id, &reviewer));
        }
        let decided_at = crate::timestamp::format(OffsetDateTime::now_utc());
        let decision = Decision {
            fleet_origin: self.log.origin(),
            instance_id: a.instance_id.clone(),
            approval_id: a.id.clone(),
            request_record_id: a.request_record_id.clone(),
            approve,
            reviewer: reviewer.clone(),
            roles: caller.roles.iter().map(|r| r.as_str().to_string()).collect(),
            reason: reason.to_string(),
            decided_at: decided_at.clone(),
        };
        let signature = decision.sign(&self.key);
        let entry = Entry::FleetDecision {
            context: a.context.clone(),
            approval_id: decision.approval_id,
            instance_id: decision.instance_id,
            request_record_id: decision.request_record_id,
            approve,
            reviewer: decision.reviewer,
            roles: decision.roles,
            reason: decision.reason,
            decided_at: decision.decided_at,
            fleet_origin: decision.fleet_origin,
            signature,
        };
        self.log.append(entry).await?;
        let vote = Vote { reviewer, approve, reason: reason.to_string(), at: decided_at };
        self.issued.lock().expect("issued votes").entry(a.id.clone()).or_default().push(vote.clone());
        let (next, event) = a.with_vote(vote);
        telemetry::fleet_decision(event);
        self.board.set(next.clone());
        Ok(next)
    }
}

impl crate::approval::Reviews for Oversight {
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
    ) -> crate::approval::Pending<'a, Approval> {
        Box::pin(Oversight::decide(self, caller, id, approve, declared_reviewer, reason))
    }
}
