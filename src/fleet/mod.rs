//! One oversight for a fleet of sidecars.
//!
//! Every sidecar keeps its own log and its own approvals, and ships its
//! records to the same PostgreSQL and JetStream. A **fleet service**
//! (`warden fleet`) reads every instance's approval records from the central
//! PostgreSQL ([`central`]) into one queue, lets reviewers decide there
//! ([`oversight`]), and records each decision in its own log as a signed
//! `fleet_decision` ([`decision`]). That log ships like any other, so the
//! decision reaches JetStream, durably, even if JetStream was down when the
//! reviewer decided. Each sidecar follows the fleet decisions on JetStream
//! with a durable consumer of its own ([`inbox`]): one that was down
//! receives what it missed when it returns. It checks the signature,
//! applies the decision to the approval it holds under its own rules
//! (pending, not expired, not the requester), records it, and only then
//! does the agent's `Watch` see it. Expiry stays the sidecar's: a decision
//! that arrives late is recorded and refused, never applied.
//!
//! The fleet service also reads every instance's whole log from there,
//! verified before use: fleet-wide reports (`compliance::Source::Central`)
//! and investigation by instance ([`logs`]).
//!
//! Configuration (`[fleet]`): a sidecar sets `decisions_from` and
//! `decision_key_file`; a fleet service sets `central`.

pub mod central;
pub mod decision;
pub mod inbox;
pub mod logs;
pub mod oversight;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The `[fleet]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FleetConfig {
    /// On a sidecar: the JetStream a fleet service's log ships to, as a
    /// `sinks.urls` NATS URL (`nats://host:port[?stream=S&subject_prefix=P]`).
    /// Decisions for this instance's approvals are taken from there. Empty:
    /// this instance takes no decisions from a fleet service.
    pub decisions_from: String,
    /// On a sidecar: the fleet service's decision key (public, PEM; `warden
    /// fleet --print-decision-key` prints it). Required with `decisions_from`.
    pub decision_key_file: Option<PathBuf>,
    /// On a fleet service: its private decision key (Ed25519 PKCS#8 PEM,
    /// made on first use); default `<data_dir>/fleet/decision-key.pem`.
    pub decision_signing_key_file: Option<PathBuf>,
    /// On a fleet service: the central PostgreSQL every instance ships to
    /// (a `sinks.urls` PostgreSQL URL, `?schema=` included).
    pub central: String,
    /// On a fleet service: how often new approval records are read.
    pub poll_interval_ms: u64,
    /// On a fleet service: how far back its first read goes. An approval
    /// older than this has expired on its sidecar (`approvals.ttl_seconds`
    /// is 900 by default).
    pub lookback_hours: u64,
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            decisions_from: String::new(),
            decision_key_file: None,
            decision_signing_key_file: None,
            central: String::new(),
            poll_interval_ms: 500,
            lookback_hours: 24,
        }
    }
}

impl FleetConfig {
    /// Checks what can be checked without connecting.
    pub fn validate(&self) -> Result<(), String> {
        if !self.decisions_from.is_empty() {
            crate::sink::nats::NatsSink::new(&self.decisions_from).map_err(|e| format!("fleet.decisions_from: {e}"))?;
            if self.decision_key_file.is_none() {
                return Err("fleet.decision_key_file is required with fleet.decisions_from: without the fleet \
                            service's key no decision could be told from a forged one"
                    .into());
            }
        }
        if !self.central.is_empty()
            && !self.central.starts_with("postgres://")
            && !self.central.starts_with("postgresql://")
        {
            return Err("fleet.central must be a postgres:// URL".into());
        }
        if self.poll_interval_ms == 0 || self.lookback_hours == 0 {
            return Err("fleet.poll_interval_ms and fleet.lookback_hours must be at least 1".into());
        }
        Ok(())
    }
}
