//! Every instance's approvals as the central PostgreSQL holds them, read
//! incrementally: per instance, the records after the last sequence read
//! (the first read reaches back `fleet.lookback_hours`). A request for
//! approval becomes an [`Approval`] of its instance; each later
//! `approval` step of that instance puts it in the step's state. Records
//! arrive there as each sidecar ships them, so the fleet's view trails a
//! sidecar by its shipping lag (`warden_sink_lag_seconds`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::approval::{Approval, State};
use crate::audit::read::Body;
use crate::audit::record::Kind;
use crate::sink::postgres::{CentralReader, CentralRecord};
use crate::sink::SinkError;

/// Records read per instance per statement.
const BATCH: i64 = 5_000;

pub struct Central {
    reader: CentralReader,
    lookback: Duration,
    /// The last sequence read, per instance.
    cursors: HashMap<String, u64>,
    /// Approvals seen, by id.
    approvals: HashMap<String, Approval>,
}

impl Central {
    pub fn new(config: &super::FleetConfig) -> Result<Self, String> {
        let reader = CentralReader::new(&config.central).map_err(|e| format!("fleet.central: {e}"))?;
        Ok(Self {
            reader,
            lookback: Duration::from_secs(config.lookback_hours * 3600),
            cursors: HashMap::new(),
            approvals: HashMap::new(),
        })
    }

    /// Reads what every instance shipped since the last read; returns the
    /// approvals that are new or changed, in their latest state.
    pub async fn read_new(&mut self) -> Result<Vec<Approval>, SinkError> {
        let started = Instant::now();
        let since = OffsetDateTime::now_utc() - self.lookback;
        let mut changed: HashMap<String, ()> = HashMap::new();
        for instance in self.reader.instances().await? {
            loop {
                let after = self.cursors.get(&instance).copied();
                let records = self.reader.approval_records(&instance, after, since, BATCH).await?;
                let full = records.len() as i64 == BATCH;
                for r in records {
                    self.cursors.insert(instance.clone(), r.seq);
                    if let Some(id) = self.take(&instance, r) {
                        changed.insert(id, ());
                    }
                }
                if !full {
                    break;
                }
            }
        }
        crate::telemetry::fleet_central_read(started.elapsed());
        Ok(changed.into_keys().filter_map(|id| self.approvals.get(&id).cloned()).collect())
    }

    /// One record; the id of the approval it changed, if any.
    fn take(&mut self, instance: &str, r: CentralRecord) -> Option<String> {
        let body = match Body::read(&r.entry) {
            Ok(body) => body,
            Err(e) => {
                tracing::warn!(instance, sequence = r.seq, error = %e, "a central record could not be read");
                return None;
            }
        };
        match body {
            Body::ScoreDecision(_) if r.kind == Kind::ScoreDecision.as_str() => {
                match Approval::from_body(body, &r.record_id, r.seq, r.recorded_at) {
                    Ok(mut a) => {
                        a.instance_id = instance.to_string();
                        let id = a.id.clone();
                        // A request seen again (a re-read) keeps the state its steps gave it.
                        self.approvals.entry(id.clone()).or_insert(a);
                        Some(id)
                    }
                    Err(e) => {
                        tracing::warn!(instance, sequence = r.seq, error = %e, "a central approval request could not be read");
                        None
                    }
                }
            }
            Body::Approval(step) => {
                let state = State::parse(&step.state)?;
                let a = self.approvals.get_mut(&step.approval_id).filter(|a| a.instance_id == instance)?;
                a.state = state;
                a.votes = step.votes;
                if state.is_terminal() && a.decided_at.is_none() {
                    a.decided_at = Some(r.recorded_at);
                }
                Some(step.approval_id)
            }
            _ => None,
        }
    }
}
