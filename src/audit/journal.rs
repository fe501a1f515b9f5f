//! The local journal: `<data_dir>/audit/journal.jsonl`, one JSON record per
//! line, hash-chained, written by one thread with group commit.
//!
//! Each line is `{"record":{...},"prev":"<hex>","hash":"<hex>"}` where
//! `hash = SHA-256("warden.journal.v1\0" || prev || record_bytes)` over the
//! exact bytes of `record` as written. Appends queue on a bounded channel
//! (backpressure instead of unbounded memory); the writer takes everything
//! queued (up to `max_batch`), writes it with one `write` and one
//! `fdatasync`, and only then acknowledges each record. So a crash loses only
//! records nobody was told about, and one fsync pays for many records.
//!
//! On open the file is replayed: the chain is checked, a torn last line (a
//! crash mid-write) is cut off, and a broken chain anywhere else refuses to
//! start, because appending to a tampered log would launder it.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

use super::{AppendFuture, Appended, AuditError, Entry, Journal, SCHEMA_VERSION};
use crate::config::AuditConfig;
use crate::telemetry;

const CHAIN_DOMAIN: &[u8] = b"warden.journal.v1\0";
const GENESIS: [u8; 32] = [0; 32];

struct Pending {
    entry: Entry,
    ack: oneshot::Sender<Result<Appended, AuditError>>,
}

pub struct FileJournal {
    /// `None` once closed; dropping the sender is what tells the writer to
    /// drain and stop.
    tx: Mutex<Option<mpsc::Sender<Pending>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    path: PathBuf,
}

/// The hashed part of a line.
#[derive(Serialize, Deserialize)]
struct Record<'a> {
    v: u32,
    seq: u64,
    id: String,
    recorded_at: String,
    #[serde(borrow)]
    entry: &'a RawValue,
}

#[derive(Serialize, Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    record: &'a RawValue,
    prev: String,
    hash: String,
}

/// Where the chain stands: the next sequence number and the last hash.
#[derive(Debug, Clone, Copy)]
struct Head {
    next_seq: u64,
    last_hash: [u8; 32],
}

/// What a verification pass found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub records: u64,
    pub last_hash: String,
    /// Bytes of a torn final line (crash mid-write), not part of the log.
    pub torn_tail_bytes: u64,
}

pub fn journal_path(data_dir: &Path) -> PathBuf {
    data_dir.join("audit").join("journal.jsonl")
}

impl FileJournal {
    pub fn open(data_dir: &Path, config: &AuditConfig) -> Result<Self, AuditError> {
        let path = journal_path(data_dir);
        let dir = path.parent().expect("journal path has a parent");
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let (head, valid_len, report) = replay(&path)?;
        let file = OpenOptions::new().create(true).append(true).open(&path).map_err(|e| io_err(&path, e))?;
        if report.torn_tail_bytes > 0 {
            tracing::warn!(bytes = report.torn_tail_bytes, "cutting a torn last line from the audit journal");
            file.set_len(valid_len).map_err(|e| io_err(&path, e))?;
            file.sync_all().map_err(|e| io_err(&path, e))?;
        }
        tracing::info!(path = %path.display(), records = report.records, "audit journal open");
        let (tx, rx) = mpsc::channel(config.queue_capacity);
        let max_batch = config.max_batch;
        let writer_path = path.clone();
        let writer = std::thread::Builder::new()
            .name("warden-journal".into())
            .spawn(move || write_loop(file, writer_path, rx, head, valid_len, max_batch))
            .map_err(|e| AuditError::Io(format!("starting the journal writer: {e}")))?;
        Ok(Self { tx: Mutex::new(Some(tx)), writer: Mutex::new(Some(writer)), path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Journal for FileJournal {
    fn append(&self, entry: Entry) -> AppendFuture<'_> {
        let tx = self.tx.lock().expect("journal lock").clone();
        Box::pin(async move {
            let started = Instant::now();
            let result = async {
                let tx = tx.ok_or(AuditError::Closed)?;
                let (ack, done) = oneshot::channel();
                tx.send(Pending { entry, ack }).await.map_err(|_| AuditError::Closed)?;
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

    fn close(&self) -> Result<(), AuditError> {
        drop(self.tx.lock().expect("journal lock").take());
        if let Some(writer) = self.writer.lock().expect("journal lock").take() {
            writer.join().map_err(|_| AuditError::Io("journal writer panicked".into()))?;
        }
        Ok(())
    }
}

impl Drop for FileJournal {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

fn write_loop(
    mut file: File,
    path: PathBuf,
    mut rx: mpsc::Receiver<Pending>,
    mut head: Head,
    mut len: u64,
    max_batch: usize,
) {
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let start_head = head;
        let mut buf = Vec::with_capacity(batch.len() * 1024);
        let mut results = Vec::with_capacity(batch.len());
        for p in &batch {
            match encode(&p.entry, &mut head) {
                Ok((line, appended)) => {
                    buf.extend_from_slice(&line);
                    buf.push(b'\n');
                    results.push(Ok(appended));
                }
                Err(e) => results.push(Err(e)),
            }
        }
        let written = file.write_all(&buf).and_then(|()| file.sync_data());
        match written {
            Ok(()) => {
                len += buf.len() as u64;
                telemetry::audit_batch(batch.len());
                for (p, r) in batch.into_iter().zip(results) {
                    let _ = p.ack.send(r);
                }
            }
            Err(e) => {
                // Nothing in this batch is acknowledged; undo whatever part of
                // it reached the file so the chain stays whole.
                let _ = file.set_len(len);
                head = start_head;
                let err = io_err(&path, e);
                for p in batch {
                    let _ = p.ack.send(Err(err.clone()));
                }
            }
        }
    }
    let _ = file.sync_all();
}

fn encode(entry: &Entry, head: &mut Head) -> Result<(Vec<u8>, Appended), AuditError> {
    let entry_json = serde_json::to_string(entry).map_err(|e| AuditError::Io(format!("encoding record: {e}")))?;
    let entry_raw = RawValue::from_string(entry_json).map_err(|e| AuditError::Io(e.to_string()))?;
    let now = time::OffsetDateTime::now_utc();
    let recorded_at =
        now.format(&time::format_description::well_known::Rfc3339).map_err(|e| AuditError::Io(e.to_string()))?;
    let record = Record {
        v: SCHEMA_VERSION,
        seq: head.next_seq,
        id: uuid::Uuid::now_v7().to_string(),
        recorded_at: recorded_at.clone(),
        entry: &entry_raw,
    };
    let record_json = serde_json::to_string(&record).map_err(|e| AuditError::Io(e.to_string()))?;
    let hash = chain_hash(&head.last_hash, record_json.as_bytes());
    let record_raw = RawValue::from_string(record_json).map_err(|e| AuditError::Io(e.to_string()))?;
    let line = Line { record: &record_raw, prev: hex::encode(head.last_hash), hash: hex::encode(hash) };
    let bytes = serde_json::to_vec(&line).map_err(|e| AuditError::Io(e.to_string()))?;
    let appended = Appended {
        record_id: record.id,
        sequence: record.seq,
        recorded_at,
        recorded_at_unix: (now.unix_timestamp(), now.nanosecond()),
    };
    head.next_seq += 1;
    head.last_hash = hash;
    Ok((bytes, appended))
}

fn chain_hash(prev: &[u8; 32], record: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(CHAIN_DOMAIN);
    h.update(prev);
    h.update(record);
    h.finalize().into()
}

/// Checks the whole journal at `data_dir`: every line parses, sequence
/// numbers run 0, 1, 2, ... and every hash links to the one before.
pub fn verify(data_dir: &Path) -> Result<VerifyReport, AuditError> {
    let path = journal_path(data_dir);
    if !path.exists() {
        return Err(AuditError::Io(format!("no journal at {}", path.display())));
    }
    replay(&path).map(|(_, _, report)| report)
}

/// Reads the journal from the start. Returns the head, the length of the
/// valid prefix, and a report; a torn final line is reported, anything else
/// broken is an error.
fn replay(path: &Path) -> Result<(Head, u64, VerifyReport), AuditError> {
    let mut head = Head { next_seq: 0, last_hash: GENESIS };
    let mut valid_len = 0u64;
    let mut torn = 0u64;
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((head, 0, VerifyReport { records: 0, last_hash: hex::encode(GENESIS), torn_tail_bytes: 0 }))
        }
        Err(e) => return Err(io_err(path, e)),
    };
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(|e| io_err(path, e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let complete = buf.last() == Some(&b'\n');
        let body = if complete { &buf[..buf.len() - 1] } else { &buf[..] };
        match check_line(body, &head) {
            Ok(next) if complete => {
                head = next;
                valid_len += n as u64;
            }
            // A last line without its newline was cut short by a crash
            // before its fsync: it was never acknowledged.
            _ if !complete => {
                torn = n as u64;
                break;
            }
            Err(reason) => return Err(AuditError::Corrupt { line: line_no, reason }),
            Ok(_) => unreachable!("complete lines are handled above"),
        }
    }
    let report = VerifyReport { records: head.next_seq, last_hash: hex::encode(head.last_hash), torn_tail_bytes: torn };
    Ok((head, valid_len, report))
}

fn check_line(body: &[u8], head: &Head) -> Result<Head, String> {
    let line: Line<'_> = serde_json::from_slice(body).map_err(|e| format!("not a journal line: {e}"))?;
    let record: Record<'_> = serde_json::from_str(line.record.get()).map_err(|e| format!("not a record: {e}"))?;
    if record.seq != head.next_seq {
        return Err(format!(
            "sequence {} where {} was expected (a record was removed or reordered)",
            record.seq, head.next_seq
        ));
    }
    if line.prev != hex::encode(head.last_hash) {
        return Err("prev does not match the previous record's hash".into());
    }
    let hash = chain_hash(&head.last_hash, line.record.get().as_bytes());
    if line.hash != hex::encode(hash) {
        return Err(format!("record {} was modified: its hash does not match its content", record.seq));
    }
    Ok(Head { next_seq: head.next_seq + 1, last_hash: hash })
}

fn io_err(path: &Path, e: std::io::Error) -> AuditError {
    AuditError::Io(format!("{}: {e}", path.display()))
}
