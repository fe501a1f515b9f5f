//! A sidecar's side of the fleet: the decisions a fleet service made for
//! this instance's approvals, taken from JetStream with a durable consumer
//! of this instance's own, checked and applied (see [`crate::fleet`]).
//!
//! A message is acknowledged only once what it asked is recorded in this
//! instance's log (applied, refused, or found to be a repeat), so a crash
//! between the two delivers it again and [`ApprovalStore::apply_delivered`]
//! recognises it. A message that is not a fleet decision, or one for
//! another instance, is acknowledged and left alone. One whose signature
//! does not verify with the configured decision key is recorded as refused
//! and counted as `forged`.

use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::VerifyingKey;
use futures_util::StreamExt as _;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::decision::Decision;
use crate::approval::ApprovalStore;
use crate::audit::read::Body;
use crate::audit::record::Kind;
use crate::error::Error;
use crate::sink::nats::NatsSink;

pub struct Inbox {
    nats: NatsSink,
    key: VerifyingKey,
    /// This instance's id (its log's origin): decisions for others are skipped.
    instance: String,
    approvals: Arc<ApprovalStore>,
}

/// What one message came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Taken {
    /// Not a fleet decision, or one for another instance.
    Skipped,
    /// Applied, refused or a repeat; recorded as such.
    Recorded(crate::approval::Delivery),
    /// The signature did not verify: recorded as refused.
    Forged(String),
}

impl Inbox {
    /// From the `[fleet]` section; `None` when `decisions_from` is empty.
    pub fn from_config(
        config: &super::FleetConfig,
        instance: String,
        approvals: Arc<ApprovalStore>,
    ) -> Result<Option<Self>, String> {
        if config.decisions_from.is_empty() {
            return Ok(None);
        }
        let nats = NatsSink::new(&config.decisions_from).map_err(|e| format!("fleet.decisions_from: {e}"))?;
        let path = config.decision_key_file.as_ref().ok_or("fleet.decision_key_file is required")?;
        let key = super::decision::read_public_key(path).map_err(|e| format!("fleet.decision_key_file: {e}"))?;
        Ok(Some(Self { nats, key, instance, approvals }))
    }

    /// The durable consumer's name: this instance's id as safe characters,
    /// and a hash of it, so two ids that read alike never share one.
    pub fn consumer_name(instance: &str) -> String {
        let hash = hex::encode(&Sha256::digest(instance.as_bytes())[..6]);
        let mut name = crate::sink::nats::token(instance);
        name.truncate(64);
        format!("warden_decisions_{name}_{hash}")
    }

    /// Follows the decisions until `stop` turns true, reconnecting with
    /// backoff when JetStream is away.
    pub fn spawn(self, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(250);
            loop {
                match self.follow(&mut stop).await {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "fleet decisions: not following; will retry");
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        })
    }

    async fn follow(&self, stop: &mut watch::Receiver<bool>) -> Result<(), String> {
        let durable = Self::consumer_name(&self.instance);
        let mut messages = self.nats.follow(&durable, Kind::FleetDecision.as_str()).await.map_err(|e| e.to_string())?;
        tracing::info!(consumer = %durable, "following fleet decisions");
        loop {
            let next = tokio::select! {
                m = messages.next() => m,
                _ = stop.changed() => return Ok(()),
            };
            let message = next.ok_or("the consumer's stream ended")?.map_err(|e| e.to_string())?;
            match self.take(&message.payload).await {
                Ok(taken) => {
                    if let Taken::Forged(why) = &taken {
                        tracing::warn!(reason = %why, "a fleet decision did not verify; recorded as refused");
                    }
                    message.double_ack().await.map_err(|e| format!("acknowledging: {e}"))?;
                }
                Err(e) => {
                    // Nothing was recorded: let it come again.
                    tracing::warn!(error = %e, "a fleet decision could not be recorded; it will come again");
                    let _ = message.ack_with(async_nats::jetstream::AckKind::Nak(Some(Duration::from_secs(1)))).await;
                }
            }
        }
    }

    /// Takes one message: the canonical bytes of a fleet service's record.
    pub async fn take(&self, payload: &[u8]) -> Result<Taken, Error> {
        let Ok(value) = crate::audit::record::read_value(payload) else {
            return Ok(Taken::Skipped);
        };
        let Body::FleetDecision(body) = Body::of(&value) else {
            return Ok(Taken::Skipped);
        };
        if body.instance_id != self.instance {
            return Ok(Taken::Skipped);
        }
        let record_id = value.get("id").and_then(|v| v.as_str()).unwrap_or_default();
        let decision = Decision::from_body(&body);
        let delivered = decision.delivered(record_id);
        match decision.verify(&body.signature, &self.key) {
            Ok(()) => Ok(Taken::Recorded(self.approvals.apply_delivered(&delivered).await?)),
            Err(why) => {
                let why = format!("not from the fleet service: {why}");
                self.approvals.refuse_unverified(&delivered, &why).await?;
                Ok(Taken::Forged(why))
            }
        }
    }
}
