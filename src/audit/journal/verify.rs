//! Checking a log without changing it: the whole of it (`verify`), against
//! checkpoints kept elsewhere (`check_published`), or both in one replay
//! (`verify_against`), and how strictly the signing times are judged
//! (`Timeliness`).

use std::path::Path;

use super::replay::{judge, replay};
use super::{audit_dir, coverage, AuditError, Checkpoint, Tree};
use crate::audit::checkpoint::verify_checkpoint;
use crate::audit::AuditConfig;

/// What a verification pass found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub records: u64,
    pub segments: usize,
    pub checkpoints: usize,
    pub root: String,
    pub chain_head: String,
    /// Bytes of a torn final line (crash mid-write), not part of the log.
    pub torn_tail_bytes: u64,
    /// Records no checkpoint covers yet (at most one window of them).
    pub unsigned_records: u64,
    /// Records signed late that an operator accepted at start-up
    /// (`serve --accept-unsigned-tail`, recorded in the log).
    pub accepted_unsigned_records: u64,
}

/// How strictly a replay judges the times checkpoints were signed at
/// (see [`super::coverage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeliness {
    /// Every record: late checkpoints anywhere and an unsigned tail.
    Whole(coverage::Window),
    /// Only the records after the last checkpoint (what opening the log
    /// for writing must not sign over).
    Tail(coverage::Window),
    /// Not judged (a log laid down by a simulated clock, read as is).
    Unchecked,
}

impl Timeliness {
    /// The bounds a log written under `config` is held to: the checkpoint
    /// interval plus its grace, and with heartbeats, the heartbeat on top.
    pub fn window(config: &AuditConfig) -> coverage::Window {
        let ms = |v: u64| v as i128 * 1_000_000;
        let sign = ms(config.checkpoint_interval_ms) + ms(config.checkpoint_grace_ms);
        coverage::Window {
            sign,
            idle: (config.checkpoint_heartbeat_ms > 0).then(|| ms(config.checkpoint_heartbeat_ms) + sign),
        }
    }
}

/// Checks the whole log at `data_dir` without changing it: every record's
/// leaf hash and chain link, sequence numbers without gaps, and every
/// checkpoint's signature (with `key`) and root against the records.
///
/// With [`Timeliness::Whole`], it also fails when checkpoints are missing:
/// records signed only long after they were written (other than a crash
/// tail or a tail an operator accepted), or more than one window of records
/// after the last checkpoint.
pub fn verify(
    data_dir: &Path,
    key: &ed25519_dalek::VerifyingKey,
    timeliness: Timeliness,
) -> Result<VerifyReport, AuditError> {
    if !audit_dir(data_dir).exists() {
        return Err(AuditError::Io(format!("no audit log under {}", data_dir.display())));
    }
    replay(data_dir, false, key, None, timeliness).map(|r| r.report)
}

/// Checks the local log at `data_dir` against a checkpoint of it kept
/// elsewhere (published to a store, or held by a witness): signed by `key`,
/// and reproduced by the local records. A log cut short, or rewritten
/// together with its local checkpoints, fails here even when it verifies on
/// its own.
pub fn check_published(
    data_dir: &Path,
    key: &ed25519_dalek::VerifyingKey,
    published: &Checkpoint,
) -> Result<(), AuditError> {
    let replayed = replay(data_dir, false, key, None, Timeliness::Unchecked)?;
    reproduces(&replayed.state.tree, key, published)
}

/// [`verify`] and [`check_published`] for each of `published`, in one
/// replay: whether the log reproduces each published checkpoint (in order),
/// and the verification of the log itself.
pub fn verify_against(
    data_dir: &Path,
    key: &ed25519_dalek::VerifyingKey,
    timeliness: Timeliness,
    published: &[Checkpoint],
) -> Result<(Vec<Result<(), AuditError>>, Result<VerifyReport, AuditError>), AuditError> {
    if !audit_dir(data_dir).exists() {
        return Err(AuditError::Io(format!("no audit log under {}", data_dir.display())));
    }
    let replayed = replay(data_dir, false, key, None, Timeliness::Unchecked)?;
    let against = published.iter().map(|cp| reproduces(&replayed.state.tree, key, cp)).collect();
    let verified = judge(&replayed.state, timeliness).map(|covered| VerifyReport {
        unsigned_records: covered.unsigned,
        accepted_unsigned_records: covered.accepted,
        ..replayed.report
    });
    Ok((against, verified))
}

/// A checkpoint kept elsewhere, signed by `key`, reproduced by `tree`.
fn reproduces(tree: &Tree, key: &ed25519_dalek::VerifyingKey, published: &Checkpoint) -> Result<(), AuditError> {
    verify_checkpoint(published, key).map_err(|e| AuditError::Corrupt(format!("the published checkpoint: {e}")))?;
    let size = tree.size();
    let root = tree.root(published.tree_size).map_err(|_| {
        AuditError::Corrupt(format!(
            "the log holds {size} records but a checkpoint published at {} covers {} (records were removed)",
            published.time, published.tree_size
        ))
    })?;
    if root != published.root {
        return Err(AuditError::Corrupt(format!(
            "the records do not reproduce the root of the checkpoint published at {} for size {} (records were \
             changed)",
            published.time, published.tree_size
        )));
    }
    Ok(())
}
