//! The on-disk audit log under `<data_dir>/audit/`:
//!
//! - `segments/<first seq>.jsonl`: the records, one JSON line each:
//!   `{"record":{…},"leaf":"<hex>","prev":"<hex>","hash":"<hex>"}`. `record`
//!   holds the canonical entry bytes; `leaf = SHA-256(0x00 || record)` is its
//!   RFC 9162 leaf hash; `hash = SHA-256("warden.chain.v2\0" || prev || leaf)`
//!   chains every record to the one before. A segment is closed and a new one
//!   begun once it passes `audit.segment_max_bytes`.
//! - `checkpoints.jsonl`: signed tree heads, one per line.
//! - `signing-key.pem` (unless configured elsewhere) and `instance-id`.
//!
//! One writer thread owns the files. Appends queue on a bounded channel
//! (backpressure rather than unbounded memory); the writer takes everything
//! queued (up to `max_batch`), writes it with one `write` and one
//! `fdatasync`, publishes it to readers, and only then acknowledges each
//! record: a crash loses only records nobody was told about, and one fsync
//! pays for many records. The writer signs a checkpoint whenever
//! `checkpoint_interval_ms` has passed with new records, on close, and
//! while idle every `checkpoint_heartbeat_ms` (see [`super::coverage`] for
//! what those times let a verifier conclude).
//!
//! A client event with a `client_event_id` that repeats one recorded within
//! `audit.dedup_window_secs` (same tenant) is not written again: the writer
//! answers it with the original record (see [`super::dedup`]).
//!
//! The parts: [`format`] (a line, its hashes, encoding and checking),
//! [`index`] (the state readers share and the query index), [`writer`] (the
//! writer thread), [`replay`] (reading the log back), [`clock`] and
//! [`files`]; this file is the facade the rest of Warden uses.
//!
//! On open the log is replayed and checked: a torn last line (a crash mid
//! write) is cut off and reported; a broken chain, a leaf that does not match
//! its record, a checkpoint that the records do not reproduce, or records
//! after the last checkpoint that no live writer left unsigned (more than a
//! window of them, or stamped long after the last signature) refuses to
//! start, because appending to and signing a tampered log would launder it.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot, watch};

use super::checkpoint::{verify_checkpoint, Checkpoint, LogSigner};
use super::coverage;
use super::dedup::{self, Dedup};
use super::merkle::{leaf_hash, Hash, ProofError, Tree};
use super::privacy::{subject_of, Privacy};
use super::record::{RecordIn, RecordOut, CLIENT_EVENT_ID, SCHEMA_VERSION};
use super::{AppendFuture, Appended, AuditError, Entry, Journal};
use crate::audit::AuditConfig;
use crate::telemetry;

mod clock;
mod copy;
mod files;
mod format;
mod index;
mod replay;
mod verify;
mod writer;

pub use clock::{Clock, ManualClock};
pub use copy::{LogCopy, LogRead};
use files::*;
pub use format::chain_hash;
use format::*;
pub use index::Query;
use index::*;
use replay::*;
pub use verify::{check_published, verify, verify_against, Timeliness, VerifyReport};
use writer::*;

pub fn audit_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("audit")
}

fn segments_dir(data_dir: &Path) -> PathBuf {
    audit_dir(data_dir).join("segments")
}

fn checkpoints_path(data_dir: &Path) -> PathBuf {
    audit_dir(data_dir).join("checkpoints.jsonl")
}

/// Whether `data_dir` holds an audit log: every writer (and the signing
/// identity) creates `audit/segments/` first, so its absence means nothing
/// was ever logged there. Tools that must not start a log by accident (a
/// mistyped `--data-dir`) check this before opening anything.
pub fn holds_log(data_dir: &Path) -> bool {
    segments_dir(data_dir).is_dir()
}

/// Where the signing key lives unless `audit.signing_key_file` says otherwise.
pub fn default_key_path(data_dir: &Path) -> PathBuf {
    audit_dir(data_dir).join("signing-key.pem")
}

/// A record as read back: its canonical bytes and where it sits in the tree.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub sequence: u64,
    pub record_id: String,
    pub kind: String,
    pub recorded_at: String,
    pub unix_nanos: i128,
    pub canonical: Vec<u8>,
    pub leaf: Hash,
    /// The chain hash of the previous record and of this one.
    pub prev: Hash,
    pub chain: Hash,
}

impl StoredRecord {
    /// Its body, typed (see [`crate::audit::read`]).
    pub fn body(&self) -> Result<crate::audit::read::Body, AuditError> {
        crate::audit::read::Body::read(&self.canonical)
    }
}

struct Shared {
    state: RwLock<State>,
    /// The durable tree size, for `Tail` followers.
    size: watch::Sender<u64>,
    signer: LogSigner,
    privacy: Arc<Privacy>,
    clock: Clock,
    /// How far every downstream store has caught up, when there are any:
    /// retention never retires records a store has not received.
    shipped: Mutex<Option<watch::Receiver<u64>>>,
}

impl Shared {
    fn new(state: State, signer: LogSigner, privacy: Arc<Privacy>, clock: Clock) -> Arc<Self> {
        let size = state.tree.size();
        Arc::new(Shared {
            state: RwLock::new(state),
            size: watch::Sender::new(size),
            signer,
            privacy,
            clock,
            shipped: Mutex::new(None),
        })
    }
}

pub struct AuditLog {
    /// `None` once closed; dropping the sender tells the writer to drain,
    /// sign a last checkpoint and stop.
    tx: Mutex<Option<mpsc::Sender<Command>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    shared: Arc<Shared>,
    /// Held (with an exclusive lock) while this process may write, so two
    /// processes never append to one log; released by `close`.
    lock: Mutex<Option<File>>,
    /// When stores lag: how far they have caught up, and what to do past
    /// the bound. `None` without sinks.
    backlog: Mutex<Option<Backlog>>,
}

#[derive(Clone)]
struct Backlog {
    shipped: watch::Receiver<u64>,
    limit: u64,
    mode: crate::audit::BacklogMode,
}

/// The outcome of an erasure.
#[derive(Debug, Clone)]
pub struct Erased {
    pub record: Appended,
    pub subject_id: String,
    pub key_existed: bool,
}

impl AuditLog {
    pub fn open(data_dir: &Path, config: &AuditConfig) -> Result<Self, AuditError> {
        Self::open_with_clock(data_dir, config, Clock::System)
    }

    /// [`AuditLog::open`] with record and checkpoint times from `clock`.
    pub fn open_with_clock(data_dir: &Path, config: &AuditConfig, clock: Clock) -> Result<Self, AuditError> {
        let signer = load_signer(data_dir, config)?;
        let lock = lock(data_dir)?;
        let privacy = Arc::new(Privacy::open(&audit_dir(data_dir), &config.privacy)?);

        // The replay reads every record anyway; it also refills the map of
        // event ids recorded within the window, so retries de-duplicate
        // across restarts.
        // Opening for writing signs whatever follows the last checkpoint,
        // so a tail longer than one window (checkpoints deleted, records
        // added) is refused unless an operator accepts it, on the record.
        let window = Timeliness::window(config);
        let now = clock.now().unix_timestamp_nanos();
        let mut dedup = Dedup::new(config.dedup_window_secs);
        let mut accepted = None;
        let replayed =
            match replay(data_dir, true, &signer.verifying_key(), Some((&mut dedup, now)), Timeliness::Tail(window)) {
                Err(AuditError::Unsigned(reason)) if config.accept_unsigned_tail => {
                    accepted = Some(reason);
                    dedup = Dedup::new(config.dedup_window_secs);
                    replay(data_dir, true, &signer.verifying_key(), Some((&mut dedup, now)), Timeliness::Unchecked)?
                }
                Err(AuditError::Unsigned(reason)) => {
                    return Err(AuditError::Unsigned(format!(
                        "{reason}. Warden will not sign over them; `warden audit verify` shows the whole log, and \
                     `warden serve --accept-unsigned-tail` signs them with a record saying so"
                    )))
                }
                other => other?,
            };
        if replayed.report.torn_tail_bytes > 0 {
            tracing::warn!(
                bytes = replayed.report.torn_tail_bytes,
                "recovered the audit log: cut a torn last line left by a crash (never acknowledged)"
            );
        }
        tracing::info!(
            records = replayed.report.records,
            segments = replayed.report.segments,
            checkpoints = replayed.report.checkpoints,
            event_ids = dedup.len(),
            "audit log open"
        );
        let head = replayed.head;
        let (segment_path, segment_id, segment_len) = replayed.open_segment;
        let shared = Shared::new(replayed.state, signer, privacy, clock);
        let mut writer =
            Writer::new(data_dir, shared.clone(), head, segment_path, segment_id, segment_len, config, dedup)?;
        if let Some(reason) = accepted {
            let first_sequence =
                writer.shared.state.read().expect("audit state lock").checkpoints.last().map_or(0, |c| c.tree_size);
            let last_sequence = writer.head.next_seq.saturating_sub(1);
            let entry = Entry::UnsignedTailAccepted {
                context: crate::request::Context::default(),
                actor: format!("operator: serve --accept-unsigned-tail ({})", whoami()),
                first_sequence,
                last_sequence,
                reason,
            };
            let appended = writer.append_now(&entry)?;
            tracing::warn!(
                first_sequence,
                last_sequence,
                record = appended.sequence,
                "signing records no checkpoint covered, as told (--accept-unsigned-tail); recorded"
            );
        }
        // A log that has records beyond its last checkpoint (a crash before
        // the next one) gets one now, so every record is covered at once.
        writer.checkpoint_if_behind()?;

        let (tx, rx) = mpsc::channel(config.queue_capacity);
        let handle = std::thread::Builder::new()
            .name("warden-journal".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| AuditError::Io(format!("starting the journal writer: {e}")))?;
        Ok(Self {
            tx: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
            shared,
            lock: Mutex::new(Some(lock)),
            backlog: Mutex::new(None),
        })
    }

    /// Opens the log for reading only (queries, exports, verification next
    /// to a running server): no lock, no repair, no writer, no new key.
    pub fn open_read_only(data_dir: &Path, config: &AuditConfig) -> Result<Self, AuditError> {
        let key_path = config.signing_key_file.clone().unwrap_or_else(|| default_key_path(data_dir));
        if !key_path.exists() {
            return Err(AuditError::Io(format!("no audit log under {}", data_dir.display())));
        }
        let signer = load_signer(data_dir, config)?;
        let privacy = Arc::new(Privacy::open(&audit_dir(data_dir), &config.privacy)?);
        let replayed = replay(data_dir, false, &signer.verifying_key(), None, Timeliness::Unchecked)?;
        let shared = Shared::new(replayed.state, signer, privacy, Clock::System);
        Ok(Self {
            tx: Mutex::new(None),
            writer: Mutex::new(None),
            shared,
            lock: Mutex::new(None),
            backlog: Mutex::new(None),
        })
    }

    /// Signs a checkpoint over every durable record now, unless the latest
    /// one already covers them all, and returns the latest checkpoint. A
    /// compliance report calls this so its evidence covers its own record.
    pub async fn checkpoint(&self) -> Result<Checkpoint, AuditError> {
        let tx = self.tx.lock().expect("journal lock").clone().ok_or(AuditError::Closed)?;
        let (ack, done) = oneshot::channel();
        tx.send(Command::Checkpoint(ack)).await.map_err(|_| AuditError::Closed)?;
        done.await.map_err(|_| AuditError::Closed)?
    }

    /// The clock records are stamped with.
    pub fn now(&self) -> time::OffsetDateTime {
        self.shared.clock.now()
    }

    /// A record as stored, with encrypted fields of erased subjects marked
    /// `{"$erased": ...}` and nothing decrypted (what the console shows).
    pub fn mark_erased(&self, canonical: &[u8]) -> Result<serde_json::Value, AuditError> {
        self.shared.privacy.mark_erased(canonical)
    }

    /// A record with its encrypted fields decrypted where the data
    /// subject's key still exists (`{"$erased": ...}` where it does not).
    pub fn reveal(&self, canonical: &[u8]) -> Result<serde_json::Value, AuditError> {
        self.shared.privacy.reveal(canonical)
    }

    /// Crypto-shreds a data subject (`user:<id>`, `session:<id>` or
    /// `tenant:<id>`) and records that it happened.
    pub async fn erase_subject(
        &self,
        subject: &str,
        reason: &str,
        context: crate::request::Context,
    ) -> Result<Erased, AuditError> {
        let (subject_id, key_existed) = self.shared.privacy.erase(subject)?;
        let entry =
            Entry::SubjectErased { context, subject_id: subject_id.clone(), reason: reason.to_string(), key_existed };
        Ok(Erased { record: self.append(entry).await?, subject_id, key_existed })
    }

    /// When record `seq` was recorded (from memory; no disk read).
    pub fn recorded_unix_nanos(&self, seq: u64) -> Option<i128> {
        self.shared.state.read().expect("audit state lock").catalog.unix_nanos(seq)
    }

    /// Bounds how far downstream stores may lag behind new appends.
    pub fn set_backlog(&self, shipped: watch::Receiver<u64>, limit: u64, mode: crate::audit::BacklogMode) {
        *self.shared.shipped.lock().expect("shipped lock") = Some(shipped.clone());
        *self.backlog.lock().expect("backlog lock") = Some(Backlog { shipped, limit, mode });
    }

    /// The log's identity for downstream stores.
    pub fn origin(&self) -> String {
        self.shared.signer.origin().to_string()
    }

    /// Number of durable records (the tree size).
    pub fn size(&self) -> u64 {
        *self.shared.size.borrow()
    }

    /// Resolves whenever the durable size changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.size.subscribe()
    }

    pub fn public_key(&self) -> super::checkpoint::PublicKey {
        super::checkpoint::public_key(&self.shared.signer)
    }

    pub fn latest_checkpoint(&self) -> Option<Checkpoint> {
        self.shared.state.read().expect("audit state lock").checkpoints.last().cloned()
    }

    pub fn checkpoints(&self) -> Vec<Checkpoint> {
        self.shared.state.read().expect("audit state lock").checkpoints.clone()
    }

    /// The checkpoints that bear on the period `[from, to)` (Unix nanos),
    /// oldest first (see [`index::checkpoints_for_period`]).
    pub fn checkpoints_for_period(&self, from: i128, to: i128) -> Vec<Checkpoint> {
        checkpoints_for_period(&self.shared.state.read().expect("audit state lock").checkpoints, from, to)
    }

    pub fn root(&self, size: u64) -> Result<Hash, ProofError> {
        self.shared.state.read().expect("audit state lock").tree.root(size)
    }

    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        self.shared.state.read().expect("audit state lock").tree.inclusion_proof(index, size)
    }

    pub fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, ProofError> {
        self.shared.state.read().expect("audit state lock").tree.consistency_proof(first, second)
    }

    /// Reads one durable record.
    pub fn record(&self, seq: u64) -> Result<Option<StoredRecord>, AuditError> {
        let (file, loc, leaf, unix_nanos) = {
            let state = self.shared.state.read().expect("audit state lock");
            let Some(loc) = state.locations.get(seq as usize).cloned() else { return Ok(None) };
            // Content removed by retention: the leaf stays in the tree, the
            // record is gone.
            let Some(path) = state.segments[loc.segment as usize].path.as_deref() else { return Ok(None) };
            // Opened under the state lock: retention, which closes and
            // deletes a segment's file, waits for it.
            let file =
                state.open.lock().expect("open segments lock").get(loc.segment, path).map_err(|e| io_err(path, e))?;
            let leaf = state.tree.leaf(seq).expect("every located record has a leaf");
            (file, loc, leaf, state.catalog.unix_nanos(seq).expect("every located record has a time"))
        };
        let mut buf = vec![0u8; loc.len as usize];
        read_exact_at(&file, &mut buf, loc.offset).map_err(|e| AuditError::Io(e.to_string()))?;
        let line: Line<'_> =
            serde_json::from_slice(&buf).map_err(|e| AuditError::Corrupt(format!("record {seq}: {e}")))?;
        let rec: RecordIn =
            serde_json::from_str(line.record.get()).map_err(|e| AuditError::Corrupt(format!("record {seq}: {e}")))?;
        let hash32 = |h: &str| -> Result<Hash, AuditError> {
            hex::decode(h)
                .ok()
                .and_then(|v| <[u8; 32]>::try_from(v).ok())
                .ok_or_else(|| AuditError::Corrupt(format!("record {seq}: bad hash")))
        };
        Ok(Some(StoredRecord {
            prev: hash32(&line.prev)?,
            chain: hash32(&line.hash)?,
            sequence: rec.seq,
            record_id: rec.id,
            kind: rec.kind,
            recorded_at: rec.recorded_at,
            unix_nanos,
            canonical: line.record.get().as_bytes().to_vec(),
            leaf,
        }))
    }

    /// Sequence numbers of the records matching `q`, oldest first, answered
    /// from the index: the most selective filter's posting list is walked and
    /// the other filters are checked per record.
    pub fn query(&self, q: &Query) -> Vec<u64> {
        self.shared.state.read().expect("audit state lock").query(q)
    }
}

impl AuditLog {
    /// Appends a record Warden writes about its own operation from where
    /// the backlog bound must not apply: the shippers, which are what lowers
    /// the backlog (waiting on it there would deadlock; refusing would lose
    /// the record). Otherwise the same as [`Journal::append`].
    pub fn append_system(&self, entry: Entry) -> AppendFuture<'_> {
        self.append_with(entry, false)
    }

    fn append_with(&self, entry: Entry, bounded: bool) -> AppendFuture<'_> {
        let tx = self.tx.lock().expect("journal lock").clone();
        let privacy = self.shared.privacy.clone();
        let backlog = if bounded { self.backlog.lock().expect("backlog lock").clone() } else { None };
        let size = self.shared.size.subscribe();
        Box::pin(async move {
            let started = Instant::now();
            let result = async {
                let tx = tx.ok_or(AuditError::Closed)?;
                if let Some(b) = backlog {
                    wait_for_backlog(b, size).await?;
                }
                // Raw records are serialised right here; protected ones may
                // read or create key files, which is blocking work.
                let prepared = if privacy.is_raw() {
                    prepare(&entry, &privacy)?
                } else {
                    tokio::task::spawn_blocking(move || prepare(&entry, &privacy))
                        .await
                        .map_err(|e| AuditError::Io(e.to_string()))??
                };
                let (ack, done) = oneshot::channel();
                tx.send(Command::Append(Pending { prepared, ack })).await.map_err(|_| AuditError::Closed)?;
                done.await.map_err(|_| AuditError::Closed)?
            }
            .await;
            match &result {
                Ok(_) => telemetry::audit_appended(started.elapsed()),
                Err(e) => {
                    tracing::error!(error = %e, "audit append failed");
                    telemetry::audit_failed();
                }
            }
            result
        })
    }
}

impl Journal for AuditLog {
    fn append(&self, entry: Entry) -> AppendFuture<'_> {
        self.append_with(entry, true)
    }

    fn close(&self) -> Result<(), AuditError> {
        drop(self.tx.lock().expect("journal lock").take());
        if let Some(writer) = self.writer.lock().expect("journal lock").take() {
            writer.join().map_err(|_| AuditError::Io("journal writer panicked".into()))?;
        }
        drop(self.lock.lock().expect("journal lock").take());
        Ok(())
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// Holds (or refuses) an append while the slowest store is `limit` records
/// or more behind.
async fn wait_for_backlog(mut b: Backlog, size: watch::Receiver<u64>) -> Result<(), AuditError> {
    loop {
        // The backlog gauge is the shippers' (`sink::Progress`), set from
        // the log's head and their cursors, so it moves during outages too.
        let pending = size.borrow().saturating_sub(*b.shipped.borrow());
        if pending < b.limit {
            return Ok(());
        }
        match b.mode {
            crate::audit::BacklogMode::FailClosed => {
                return Err(AuditError::Backlog(format!(
                    "{pending} records are waiting to be shipped (limit {}); refusing new records",
                    b.limit
                )))
            }
            crate::audit::BacklogMode::Block => {
                if b.shipped.changed().await.is_err() {
                    return Err(AuditError::Closed);
                }
            }
        }
    }
}

/// The log's signing identity: the configured or default key (created on
/// first use) under the configured or default origin. Touches no records.
pub fn load_signer(data_dir: &Path, config: &AuditConfig) -> Result<LogSigner, AuditError> {
    let dir = audit_dir(data_dir);
    std::fs::create_dir_all(segments_dir(data_dir)).map_err(|e| io_err(&dir, e))?;
    let origin = match &config.origin {
        Some(o) => o.clone(),
        None => format!("warden/{}", instance_id(&dir)?),
    };
    let key_path = config.signing_key_file.clone().unwrap_or_else(|| default_key_path(data_dir));
    LogSigner::load_or_create(&key_path, origin)
}

/// Reads a public key from a PEM file (a public key, or the private key
/// itself when run next to the log).
pub fn read_public_key(path: &Path) -> Result<ed25519_dalek::VerifyingKey, AuditError> {
    use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey};
    let pem = std::fs::read_to_string(path).map_err(|e| io_err(path, e))?;
    if pem.contains("PRIVATE KEY") {
        let sk = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem)
            .map_err(|e| AuditError::Io(format!("{}: {e}", path.display())))?;
        return Ok(sk.verifying_key());
    }
    ed25519_dalek::VerifyingKey::from_public_key_pem(&pem)
        .map_err(|e| AuditError::Io(format!("{}: {e}", path.display())))
}
