//! NATS JetStream store: a stream (created if missing) with subjects
//! `<prefix>.<tenant>.<record kind>` (default prefix `warden.audit`). Every
//! record is published with its record id as `Nats-Msg-Id`, so JetStream's
//! de-duplication absorbs the re-sends of a retried batch (within the
//! stream's duplicate window), and with the instance, sequence and hashes in
//! headers so a consumer can check the chain. Checkpoints go to
//! `<prefix>._warden.checkpoints.<instance id>` (three tokens, so they never
//! collide with a tenant and kind).
//!
//! A message the server refuses for its size (over the connection's
//! `max_payload`, or the stream's `max_msg_size`) can never be published:
//! it is reported as [`SinkError::Rejected`] and quarantined by the shipper.
//! Subjects and headers are built from safe tokens, hex and ids, so nothing
//! else in a record can make NATS refuse it.
//!
//! URL: `nats://host:port[?stream=NAME&subject_prefix=P&replicas=N&max_age_seconds=S&duplicate_window_seconds=S]`.

use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::consumer::pull;

use super::{redact_url, take_params, Instance, ShipRecord, SinkError};
use crate::audit::checkpoint::Checkpoint;

const PARAMS: &[&str] = &["stream", "subject_prefix", "replicas", "max_age_seconds", "duplicate_window_seconds"];

pub struct NatsSink {
    url: String,
    stream: String,
    prefix: String,
    replicas: usize,
    max_age: Duration,
    duplicate_window: Duration,
    js: Option<jetstream::Context>,
}

impl NatsSink {
    pub fn new(url: &str) -> Result<Self, SinkError> {
        let (url, params) = take_params(url, PARAMS);
        let get = |k: &str| params.iter().find(|(p, _)| p == k).map(|(_, v)| v.clone());
        let num = |k: &str, default: u64| -> Result<u64, SinkError> {
            match get(k) {
                None => Ok(default),
                Some(v) => v.parse().map_err(|_| SinkError::Url(redact_url(&url), format!("{k} must be a number"))),
            }
        };
        let stream = get("stream").unwrap_or_else(|| "WARDEN_AUDIT".into());
        let prefix = get("subject_prefix").unwrap_or_else(|| "warden.audit".into());
        if stream.is_empty() || !stream.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err(SinkError::Url(redact_url(&url), "stream must be letters, digits, _ and -".into()));
        }
        if prefix.is_empty() || prefix.contains(['*', '>', ' ']) {
            return Err(SinkError::Url(redact_url(&url), "subject_prefix must be a plain subject".into()));
        }
        Ok(Self {
            stream,
            prefix,
            replicas: num("replicas", 1)? as usize,
            max_age: Duration::from_secs(num("max_age_seconds", 0)?),
            duplicate_window: Duration::from_secs(num("duplicate_window_seconds", 120)?),
            url,
            js: None,
        })
    }

    /// A JetStream context on a new connection to the server.
    async fn jetstream(&self) -> Result<jetstream::Context, SinkError> {
        let address = self.url.trim_start_matches("nats://").to_string();
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .connect(address)
            .await
            .map_err(|e| SinkError::Connect(format!("{}: {e}", redact_url(&self.url))))?;
        Ok(jetstream::new(client))
    }

    pub async fn connect(&mut self) -> Result<(), SinkError> {
        let js = self.jetstream().await?;
        self.stream(&js).await?;
        self.js = Some(js);
        Ok(())
    }

    /// The stream, created as configured if it does not exist yet.
    async fn stream(&self, js: &jetstream::Context) -> Result<jetstream::stream::Stream, SinkError> {
        js.get_or_create_stream(jetstream::stream::Config {
            name: self.stream.clone(),
            subjects: vec![format!("{}.>", self.prefix)],
            num_replicas: self.replicas,
            max_age: self.max_age,
            duplicate_window: self.duplicate_window,
            ..Default::default()
        })
        .await
        .map_err(|e| SinkError::Store(format!("nats stream {}: {e}", self.stream)))
    }

    /// Follows the records of one `kind` (every tenant's) with the durable
    /// pull consumer `durable`: it remembers what was acknowledged, so a
    /// follower that was away gets what it missed, from the first record
    /// on. Each message must be acknowledged, or it comes again.
    pub async fn follow(&self, durable: &str, kind: &str) -> Result<pull::Stream, SinkError> {
        let js = self.jetstream().await?;
        let stream = self.stream(&js).await?;
        let store = |e: &dyn std::fmt::Display| SinkError::Store(format!("nats consumer {durable}: {e}"));
        let consumer = stream
            .get_or_create_consumer(
                durable,
                pull::Config {
                    durable_name: Some(durable.to_string()),
                    filter_subject: format!("{}.*.{}", self.prefix, token(kind)),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    deliver_policy: jetstream::consumer::DeliverPolicy::All,
                    ack_wait: Duration::from_secs(30),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| store(&e))?;
        consumer.messages().await.map_err(|e| store(&e))
    }

    pub fn disconnect(&mut self) {
        self.js = None;
    }

    pub async fn newest_checkpoint(&mut self, origin: &str) -> Result<Option<Checkpoint>, SinkError> {
        use async_nats::jetstream::stream::LastRawMessageErrorKind;
        let js = self.jetstream().await?;
        let stream = match js.get_stream(&self.stream).await {
            Ok(s) => s,
            Err(e)
                if matches!(e.kind(), async_nats::jetstream::context::GetStreamErrorKind::JetStream(ref j)
                    if j.error_code() == async_nats::jetstream::ErrorCode::STREAM_NOT_FOUND) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(SinkError::Store(format!("nats stream {}: {e}", self.stream))),
        };
        // Checkpoints are published in order, so the last is the newest.
        let subject = format!("{}._warden.checkpoints.{}", self.prefix, token(origin));
        match stream.get_last_raw_message_by_subject(&subject).await {
            Ok(m) => serde_json::from_slice(&m.payload)
                .map(Some)
                .map_err(|e| SinkError::Store(format!("nats {subject}: not a checkpoint: {e}"))),
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(SinkError::Store(format!("nats {subject}: {e}"))),
        }
    }

    pub async fn ship(&mut self, records: &[ShipRecord]) -> Result<(), SinkError> {
        let js = self.js.as_ref().ok_or_else(|| SinkError::Connect("nats".into()))?;
        // Publish the whole batch, then wait for every acknowledgement in
        // order: one round trip per batch, order kept by the connection.
        let mut acks = Vec::with_capacity(records.len());
        for r in records {
            let rec = &r.record;
            let tenant = tenant_of(&rec.canonical);
            let subject = format!("{}.{}.{}", self.prefix, token(&tenant), token(&rec.kind));
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", rec.record_id.as_str());
            headers.insert("Warden-Instance", r.instance_id.as_str());
            headers.insert("Warden-Seq", rec.sequence.to_string().as_str());
            headers.insert("Warden-Leaf-Hash", hex::encode(rec.leaf).as_str());
            headers.insert("Warden-Prev-Hash", hex::encode(rec.prev).as_str());
            headers.insert("Warden-Chain-Hash", hex::encode(rec.chain).as_str());
            let ack = js
                .publish_with_headers(subject, headers, rec.canonical.clone().into())
                .await
                .map_err(|e| publish_error("nats publish", rec.sequence, e))?;
            acks.push((rec.sequence, ack));
        }
        for (seq, ack) in acks {
            ack.await.map_err(|e| publish_error("nats ack", seq, e))?;
        }
        Ok(())
    }

    pub async fn ship_checkpoints(&mut self, instance: &Instance, cps: &[Checkpoint]) -> Result<(), SinkError> {
        let js = self.js.as_ref().ok_or_else(|| SinkError::Connect("nats".into()))?;
        for c in cps {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", format!("checkpoint-{}-{}", instance.id, c.tree_size).as_str());
            let body = serde_json::to_vec(c).map_err(|e| SinkError::Local(e.to_string()))?;
            // Three tokens after the prefix, so no tenant/kind pair can collide.
            let subject = format!("{}._warden.checkpoints.{}", self.prefix, token(&instance.id));
            js.publish_with_headers(subject, headers, body.into())
                .await
                .map_err(|e| SinkError::Store(format!("nats publish: {e}")))?
                .await
                .map_err(|e| SinkError::Store(format!("nats ack: {e}")))?;
        }
        Ok(())
    }
}

/// Sorts a publish failure by what a retry can achieve: a message too large
/// for the server or the stream never fits; a lost connection or a missing
/// ack means the server is unreachable; the rest is retried as a store
/// failure.
fn publish_error(what: &str, seq: u64, e: jetstream::context::PublishError) -> SinkError {
    use jetstream::context::PublishErrorKind as K;
    let too_large = matches!(e.kind(), K::MaxPayloadExceeded)
        || std::error::Error::source(&e)
            .and_then(|s| s.downcast_ref::<jetstream::Error>())
            .is_some_and(|j| j.error_code() == jetstream::ErrorCode::STREAM_MESSAGE_EXCEEDS_MAXIMUM);
    let message = format!("{what}: {e}");
    if too_large {
        SinkError::Rejected(format!("{message} (record {seq})"))
    } else if matches!(e.kind(), K::TimedOut | K::BrokenPipe) {
        SinkError::Connect(message)
    } else {
        SinkError::Store(message)
    }
}

fn tenant_of(canonical: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Facts {
        #[serde(default)]
        attributes: std::collections::BTreeMap<String, String>,
    }
    serde_json::from_slice::<Facts>(canonical)
        .ok()
        .and_then(|f| f.attributes.get("warden.tenant").cloned())
        .unwrap_or_default()
}

/// One subject token: letters, digits, `_` and `-`; anything else becomes
/// `_`, and an empty value is `_`.
pub(crate) fn token(s: &str) -> String {
    let t: String =
        s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    if t.is_empty() {
        "_".into()
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_safe_tokens() {
        assert_eq!(token("acme.corp west"), "acme_corp_west");
        assert_eq!(token(""), "_");
        let s = NatsSink::new("nats://127.0.0.1:4222?stream=S1&subject_prefix=t.x&replicas=1").unwrap();
        assert_eq!((s.stream.as_str(), s.prefix.as_str(), s.url.as_str()), ("S1", "t.x", "nats://127.0.0.1:4222"));
        assert!(NatsSink::new("nats://h?stream=bad name").is_err());
    }
}
