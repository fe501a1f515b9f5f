//! The log side of witnessing: one task per configured witness sends every
//! new checkpoint (and each heartbeat) with a consistency proof from the
//! size the witness last cosigned, checks the cosignature it gets back with
//! the configured verifier key, and keeps the newest cosigned checkpoint in
//! `audit/witness/<key id>.note`, so the log holds its own evidence too.
//!
//! A `409` names the size the witness has; the task proves from there. A
//! witness that has cosigned a larger tree than this log holds, or that
//! finds a checkpoint inconsistent (`422`), is evidence that the log's
//! history changed: it is logged as an error and counted
//! (`warden_witness_refusals_total{reason="rolled_back"|"inconsistent"}`),
//! and the task keeps trying with backoff.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::http;
use crate::audit::checkpoint::Checkpoint;
use crate::audit::cosign::{Note, Vkey};
use crate::audit::journal::AuditLog;
use crate::audit::WitnessTarget;
use crate::telemetry;

/// How long one exchange with a witness may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How often the task looks for a newer checkpoint.
const POLL: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Starts one task per witness; they stop when `stop` turns true (after a
/// last attempt for the final checkpoint).
pub fn start(
    log: Arc<AuditLog>,
    targets: &[WitnessTarget],
    data_dir: &Path,
    stop: watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>, String> {
    let dir = crate::audit::journal::audit_dir(data_dir).join("witness");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut tasks = Vec::new();
    for target in targets {
        let vkey = Vkey::parse(&target.vkey)?;
        telemetry::witness_started(&vkey.name);
        let state = dir.join(format!("{}.note", hex::encode(vkey.id)));
        let submitter = Submitter { log: log.clone(), url: target.url.clone(), vkey, state, old: 0, sent: None };
        tasks.push(tokio::spawn(submitter.run(stop.clone())));
    }
    Ok(tasks)
}

struct Submitter {
    log: Arc<AuditLog>,
    url: String,
    vkey: Vkey,
    /// The newest cosigned checkpoint, as a note.
    state: PathBuf,
    /// The size the witness last cosigned, as far as this task knows.
    old: u64,
    /// The note body last cosigned.
    sent: Option<String>,
}

impl Submitter {
    async fn run(mut self, mut stop: watch::Receiver<bool>) {
        if let Some((size, body)) = self.load() {
            self.old = size;
            self.sent = Some(body);
        }
        let mut backoff = Duration::from_millis(500);
        loop {
            let stopping = *stop.borrow();
            if let Some(cp) = self.log.latest_checkpoint().filter(|cp| self.sent.as_deref() != Some(cp.note.as_str())) {
                match self.submit(&cp).await {
                    Ok(()) => backoff = Duration::from_millis(500),
                    Err(Retry::Now) => continue,
                    Err(Retry::Later) => {
                        if stopping {
                            return;
                        }
                        tokio::select! {
                            _ = tokio::time::sleep(backoff) => {}
                            _ = stop.changed() => {}
                        }
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        continue;
                    }
                }
            }
            if stopping {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => {}
            }
        }
    }

    async fn submit(&mut self, cp: &Checkpoint) -> Result<(), Retry> {
        let name = self.vkey.name.clone();
        if self.old > cp.tree_size {
            return self.rolled_back(self.old, cp.tree_size);
        }
        let mut body = format!("old {}\n", self.old);
        if self.old > 0 && self.old < cp.tree_size {
            let proof = self.log.consistency_proof(self.old, cp.tree_size).map_err(|e| {
                tracing::error!(witness = %name, error = %e, "no consistency proof for the witness");
                Retry::Later
            })?;
            for h in proof {
                body.push_str(&B64.encode(h));
                body.push('\n');
            }
        }
        body.push('\n');
        body.push_str(&cp.signed_note());
        let answer = match http::submit(&self.url, body, TIMEOUT).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(witness = %name, error = %e, "witness unreachable");
                telemetry::witness_refused(&name, "unreachable");
                return Err(Retry::Later);
            }
        };
        match answer.status {
            200 => {
                let mut note = Note::parse(&cp.signed_note()).map_err(|_| Retry::Later)?;
                let before = note.signatures.len();
                for line in answer.body.lines() {
                    if let Some((n, blob)) = line.strip_prefix("\u{2014} ").and_then(|l| l.rsplit_once(' ')) {
                        note.signatures.push((n.to_string(), blob.to_string()));
                    }
                }
                if note.signatures.len() == before || note.cosigned_by(&self.vkey).is_none() {
                    tracing::error!(witness = %name, "the witness's answer holds no cosignature by its configured key");
                    telemetry::witness_refused(&name, "other");
                    return Err(Retry::Later);
                }
                if let Err(e) = super::write_atomic(&self.state, note.text().as_bytes()) {
                    tracing::error!(witness = %name, error = %e, "keeping the cosigned checkpoint failed");
                }
                self.old = cp.tree_size;
                self.sent = Some(cp.note.clone());
                telemetry::witness_cosigned(&name, cp.tree_size);
                tracing::debug!(witness = %name, size = cp.tree_size, "checkpoint cosigned");
                Ok(())
            }
            409 => match answer.body.trim().parse::<u64>() {
                Ok(theirs) if theirs > cp.tree_size => self.rolled_back(theirs, cp.tree_size),
                Ok(theirs) if theirs != self.old => {
                    self.old = theirs;
                    Err(Retry::Now)
                }
                _ => {
                    // Same size, other root: a fork.
                    tracing::error!(witness = %name, size = cp.tree_size, answer = %answer.body.trim(),
                        "the witness cosigned a different tree of this size: the log's history changed");
                    telemetry::witness_refused(&name, "inconsistent");
                    Err(Retry::Later)
                }
            },
            422 => {
                tracing::error!(witness = %name, from = self.old, to = cp.tree_size,
                    "the witness found this checkpoint inconsistent with the last it cosigned: the log's history changed");
                telemetry::witness_refused(&name, "inconsistent");
                Err(Retry::Later)
            }
            403 | 404 => {
                tracing::error!(witness = %name, status = answer.status, answer = %answer.body.trim(),
                    "the witness does not know this log's key (add `warden audit pubkey`'s vkey to its --log)");
                telemetry::witness_refused(&name, "forbidden");
                Err(Retry::Later)
            }
            status => {
                tracing::warn!(witness = %name, status, answer = %answer.body.trim(), "the witness refused");
                telemetry::witness_refused(&name, "other");
                Err(Retry::Later)
            }
        }
    }

    fn rolled_back(&self, theirs: u64, ours: u64) -> Result<(), Retry> {
        tracing::error!(witness = %self.vkey.name, witnessed = theirs, log = ours,
            "the witness cosigned a larger tree than this log holds: records were removed");
        telemetry::witness_refused(&self.vkey.name, "rolled_back");
        Err(Retry::Later)
    }

    /// The size and body of the kept cosigned note, if it is one.
    fn load(&self) -> Option<(u64, String)> {
        let text = std::fs::read_to_string(&self.state).ok()?;
        let note = Note::parse(&text).ok()?;
        note.cosigned_by(&self.vkey)?;
        let (_, size, _) = crate::audit::cosign::checkpoint_fields(&note.body)?;
        Some((size, note.body))
    }
}

enum Retry {
    Now,
    Later,
}
