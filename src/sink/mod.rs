//! Shipping the audit log to downstream stores (PostgreSQL, NATS JetStream).
//!
//! One shipper task per configured sink follows the local log: it reads
//! records from its persisted cursor on, ships them in batches, and moves
//! the cursor (fsynced) only after the store acknowledged the batch. So a
//! crash or restart resumes where the store left off, and a batch retried
//! after an unclear failure arrives again: the stores absorb those
//! duplicates (PostgreSQL by primary key, JetStream by message id). Records
//! leave in sequence order, one batch at a time, so they arrive in order.
//! Failures are told apart by what a retry can achieve:
//!
//! - a store that cannot be reached (connection refused, lost or timed out)
//!   is retried with exponential backoff and jitter, forever, and probed
//!   about once a second during the backoff so shipping resumes (and a
//!   `fail_closed` backlog bound lifts) as soon as it is back;
//! - a store that is reachable but failed is retried with backoff;
//! - a record the store refuses for its content (PostgreSQL data errors of
//!   class 22 and 23, a NATS message over `max_payload`) can never succeed,
//!   so the batch is split until the refused records are found; each is
//!   **quarantined** (listed in `<key>.quarantine.jsonl` beside the cursor,
//!   counted, logged and recorded in the log as a `sink_quarantined` record)
//!   and the cursor moves past it. The record stays in the local log; the
//!   other records of the batch still arrive exactly once.
//!
//! The local log is the buffer, and the backlog bound
//! (`sinks.max_backlog_records`) makes new appends wait or fail with
//! UNAVAILABLE when a store has been gone too long. Nothing is ever dropped.
//! The lag and backlog gauges follow the log's head on every append and
//! every second, so they keep moving while a store is down.
//!
//! Signed checkpoints follow the records they cover, so the central copy can
//! be verified without the sidecar (`warden audit verify --from postgres://`).

pub mod nats;
pub mod postgres;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::audit::checkpoint::Checkpoint;
use crate::audit::journal::{AuditLog, StoredRecord};
use crate::audit::Entry;
use crate::telemetry;

#[derive(Debug, Clone, thiserror::Error)]
pub enum SinkError {
    #[error("sink URL {0}: {1}")]
    Url(String, String),
    #[error("connecting to {0}")]
    Connect(String),
    #[error("{0}")]
    Store(String),
    #[error("reading the local log: {0}")]
    Local(String),
    /// The store refused a record for its content: sending the same record
    /// again can never succeed, so it is quarantined rather than retried.
    #[error("{0}")]
    Rejected(String),
}

/// Every `kind` label value, for the counters registered at 0.
pub const ERROR_KINDS: &[&str] = &["config", "connect", "store", "local", "rejected"];

impl SinkError {
    /// The `kind` label for metrics: a closed set ([`ERROR_KINDS`]).
    pub fn kind(&self) -> &'static str {
        match self {
            SinkError::Url(..) => "config",
            SinkError::Connect(_) => "connect",
            SinkError::Store(_) => "store",
            SinkError::Local(_) => "local",
            SinkError::Rejected(_) => "rejected",
        }
    }

    /// A refusal outside a batch of records (connecting, migrating,
    /// checkpoints) is not about a record: it is retried like any store
    /// failure.
    fn not_about_a_record(self) -> SinkError {
        match self {
            SinkError::Rejected(m) => SinkError::Store(m),
            e => e,
        }
    }
}

/// A record as a store receives it.
#[derive(Debug, Clone)]
pub struct ShipRecord {
    pub instance_id: String,
    pub record: StoredRecord,
}

/// Every sink label, for the series registered at 0.
pub const LABELS: &[&str] = &["postgres", "nats"];

/// A configured store.
pub enum Sink {
    Postgres(postgres::PostgresSink),
    Nats(nats::NatsSink),
}

impl Sink {
    pub fn from_url(url: &str) -> Result<Sink, SinkError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Sink::Postgres(postgres::PostgresSink::new(url)?))
        } else if url.starts_with("nats://") {
            Ok(Sink::Nats(nats::NatsSink::new(url)?))
        } else {
            Err(SinkError::Url(redact_url(url), "unsupported scheme (use postgres:// or nats://)".into()))
        }
    }

    /// A short, stable, credential-free name for logs, metrics and the
    /// cursor file.
    pub fn label(&self) -> &'static str {
        match self {
            Sink::Postgres(_) => "postgres",
            Sink::Nats(_) => "nats",
        }
    }

    async fn connect(&mut self, instance: &Instance) -> Result<(), SinkError> {
        match self {
            Sink::Postgres(s) => s.connect(instance).await,
            Sink::Nats(s) => s.connect().await,
        }
    }

    async fn ship(&mut self, records: &[ShipRecord]) -> Result<(), SinkError> {
        match self {
            Sink::Postgres(s) => s.ship(records).await,
            Sink::Nats(s) => s.ship(records).await,
        }
    }

    async fn ship_checkpoints(&mut self, instance: &Instance, cps: &[Checkpoint]) -> Result<(), SinkError> {
        match self {
            Sink::Postgres(s) => s.ship_checkpoints(instance, cps).await,
            Sink::Nats(s) => s.ship_checkpoints(instance, cps).await,
        }
    }

    fn disconnect(&mut self) {
        match self {
            Sink::Postgres(s) => s.disconnect(),
            Sink::Nats(s) => s.disconnect(),
        }
    }

    /// The newest checkpoint of the log `origin` this store holds, as
    /// published (`None` if it holds none): what `warden audit verify
    /// --against` checks the local log with, so that a log cut short or
    /// rewritten along with its local checkpoints is still found. Reads
    /// only; creates nothing in the store.
    pub async fn newest_checkpoint(&mut self, origin: &str) -> Result<Option<Checkpoint>, SinkError> {
        match self {
            Sink::Postgres(s) => s.newest_checkpoint(origin).await,
            Sink::Nats(s) => s.newest_checkpoint(origin).await,
        }
    }
}

/// Who is shipping: the instance's id and its log's public identity.
#[derive(Debug, Clone)]
pub struct Instance {
    pub id: String,
    pub origin: String,
    pub public_key_pem: String,
}

/// The lowest cursor over all sinks: how far every store has caught up.
/// The log's backlog bound reads it.
pub struct Progress {
    /// Each sink's label, for its lag gauges.
    labels: Vec<&'static str>,
    cursors: Mutex<Vec<u64>>,
    min: watch::Sender<u64>,
}

impl Progress {
    pub fn new(labels: Vec<&'static str>, start: u64) -> Arc<Self> {
        let cursors = Mutex::new(vec![start; labels.len()]);
        Arc::new(Self { labels, cursors, min: watch::Sender::new(start) })
    }

    fn set(&self, sink: usize, cursor: u64) {
        let mut c = self.cursors.lock().expect("progress lock");
        c[sink] = cursor;
        let min = c.iter().copied().min().unwrap_or(cursor);
        self.min.send_replace(min);
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.min.subscribe()
    }

    /// Sets the lag gauges (per sink label: the worst of its stores) and the
    /// backlog gauge from the log's head and the cursors as they are now.
    fn publish(&self, log: &AuditLog) {
        let cursors = self.cursors.lock().expect("progress lock").clone();
        let size = log.size();
        let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        let mut worst: std::collections::BTreeMap<&'static str, (u64, f64)> = std::collections::BTreeMap::new();
        for (label, cursor) in self.labels.iter().zip(&cursors) {
            let records = size.saturating_sub(*cursor);
            // The age of the oldest record not yet in the store.
            let seconds = match log.recorded_unix_nanos(*cursor) {
                Some(t) if records > 0 => ((now - t).max(0) as f64) / 1e9,
                _ => 0.0,
            };
            let w = worst.entry(label).or_insert((0, 0.0));
            *w = (w.0.max(records), w.1.max(seconds));
        }
        for (label, (records, seconds)) in worst {
            telemetry::sink_lag(label, records, seconds);
        }
        let min = cursors.iter().copied().min().unwrap_or(size);
        telemetry::sink_backlog(size.saturating_sub(min));
    }
}

/// A record a store refused for its content, as listed in the sink's
/// quarantine file (one JSON object per line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantined {
    pub sequence: u64,
    pub record_id: String,
    pub kind: String,
    /// When the record was made durable locally (RFC 3339).
    pub recorded_at: String,
    /// What the store said (control characters removed).
    pub reason: String,
    /// When it was quarantined (RFC 3339).
    pub quarantined_at: String,
}

/// Hides passwords in URLs for logs and errors.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Splits `scheme://rest?a=1&b=2` into the URL without the parameters that
/// `ours` names, and those parameters.
pub(crate) fn take_params(url: &str, ours: &[&str]) -> (String, Vec<(String, String)>) {
    let Some((base, query)) = url.split_once('?') else { return (url.to_string(), Vec::new()) };
    let mut keep = Vec::new();
    let mut taken = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if ours.contains(&k) {
            taken.push((k.to_string(), v.to_string()));
        } else {
            keep.push(pair.to_string());
        }
    }
    let url = if keep.is_empty() { base.to_string() } else { format!("{base}?{}", keep.join("&")) };
    (url, taken)
}

pub fn cursor_path(data_dir: &Path, url: &str) -> PathBuf {
    // Keyed by the URL without credentials, so changing a password keeps
    // the cursor while pointing at another store starts a new one.
    let key = hex::encode(&Sha256::digest(redact_url(url).as_bytes())[..8]);
    data_dir.join("audit").join("sinks").join(format!("{key}.cursor"))
}

/// The list of records the store at `url` refused, beside its cursor.
pub fn quarantine_path(data_dir: &Path, url: &str) -> PathBuf {
    cursor_path(data_dir, url).with_extension("quarantine.jsonl")
}

/// The records each configured store refused (credentials redacted from
/// the URLs), oldest first. Stores that refused nothing are left out.
pub fn quarantined(data_dir: &Path, urls: &[String]) -> std::collections::BTreeMap<String, Vec<Quarantined>> {
    urls.iter()
        .map(|u| (redact_url(u), read_quarantine(&quarantine_path(data_dir, u))))
        .filter(|(_, q)| !q.is_empty())
        .collect()
}

fn read_quarantine(path: &Path) -> Vec<Quarantined> {
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    // A line torn by a crash is skipped: the record is refused again on
    // restart (the cursor had not moved past it) and listed anew.
    text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

fn append_quarantine(path: &Path, entry: &Quarantined) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    f.write_all(&line)?;
    f.sync_all()?;
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Store messages go into logs, the quarantine list and an audit record
/// that must itself be storable: no control characters, bounded length.
fn printable(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).take(500).collect()
}

/// The configured stores as a reader of the log sees them: where their
/// cursors are persisted. Built once from the configuration by whoever
/// reports on shipping (reports, whatever their front-end).
#[derive(Clone, Debug, Default)]
pub struct Cursors {
    data_dir: PathBuf,
    urls: Vec<String>,
}

impl Cursors {
    pub fn new(data_dir: &Path, config: &SinkConfig) -> Self {
        Self { data_dir: data_dir.to_path_buf(), urls: config.urls.clone() }
    }

    /// How many records each configured store is behind a log of `size`
    /// records, from the persisted cursors (credentials redacted from the
    /// URLs).
    pub fn lag(&self, size: u64) -> std::collections::BTreeMap<String, u64> {
        self.urls
            .iter()
            .map(|u| (redact_url(u), size.saturating_sub(read_cursor(&cursor_path(&self.data_dir, u)))))
            .collect()
    }
}

fn read_cursor(path: &Path) -> u64 {
    std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

fn write_cursor(path: &Path, cursor: u64) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    writeln!(f, "{cursor}")?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// How long one attempt to reach a store may take before it counts as
/// unreachable (a black-holed address would otherwise hold the shipper for
/// the kernel's whole SYN retry time).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How often an unreachable store is probed during a backoff, so shipping
/// resumes within about this long of the store coming back.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// How often the lag gauges are refreshed when nothing else happens, so the
/// lag in seconds keeps growing during an outage.
const GAUGE_EVERY: Duration = Duration::from_secs(1);

/// Starts one shipper per configured sink. Returns the shared progress (for
/// the backlog bound) and the tasks, which end after `stopping` turns true
/// and they have shipped what they could within the grace period.
pub fn start(
    log: Arc<AuditLog>,
    config: &SinkConfig,
    data_dir: &Path,
    instance: Instance,
    stopping: watch::Receiver<bool>,
) -> Result<(Arc<Progress>, Vec<tokio::task::JoinHandle<()>>), SinkError> {
    let mut sinks = Vec::new();
    for url in &config.urls {
        sinks.push((url.clone(), Sink::from_url(url)?));
    }
    let cursors: Vec<u64> = sinks.iter().map(|(url, _)| read_cursor(&cursor_path(data_dir, url))).collect();
    let labels = sinks.iter().map(|(_, s)| s.label()).collect();
    let progress = Progress::new(labels, cursors.iter().copied().min().unwrap_or(0));
    let mut tasks = Vec::new();
    for (i, ((url, sink), cursor)) in sinks.into_iter().zip(cursors).enumerate() {
        progress.set(i, cursor);
        telemetry::sink_started(sink.label(), ERROR_KINDS);
        let quarantine_file = quarantine_path(data_dir, &url);
        let shipper = Shipper {
            index: i,
            log: log.clone(),
            sink,
            url: redact_url(&url),
            cursor_file: cursor_path(data_dir, &url),
            quarantined: read_quarantine(&quarantine_file).into_iter().map(|q| q.sequence).collect(),
            quarantine_file,
            cursor,
            batch: config.batch_records,
            checkpoints_shipped: 0,
            instance: instance.clone(),
            progress: progress.clone(),
        };
        tasks.push(tokio::spawn(shipper.run(stopping.clone())));
    }
    tasks.push(tokio::spawn(follow_head(log, progress.clone(), stopping)));
    Ok((progress, tasks))
}

/// Keeps the lag and backlog gauges true while no shipper moves: on every
/// append and every second, until shutdown (the shippers set them after).
async fn follow_head(log: Arc<AuditLog>, progress: Arc<Progress>, mut stopping: watch::Receiver<bool>) {
    let mut sizes = log.subscribe();
    loop {
        progress.publish(&log);
        if *stopping.borrow() {
            break;
        }
        tokio::select! {
            r = sizes.changed() => if r.is_err() { break },
            r = stopping.changed() => if r.is_err() { break },
            () = tokio::time::sleep(GAUGE_EVERY) => {},
        }
    }
}

struct Shipper {
    index: usize,
    log: Arc<AuditLog>,
    sink: Sink,
    url: String,
    cursor_file: PathBuf,
    /// The records this store refused, listed for operators and `warden`.
    quarantine_file: PathBuf,
    /// Sequences already in the quarantine file: a batch refused again
    /// after a restart is not listed, counted or recorded twice.
    quarantined: std::collections::BTreeSet<u64>,
    /// The next sequence number to ship.
    cursor: u64,
    batch: usize,
    /// Checkpoints with tree size up to this have been shipped.
    checkpoints_shipped: u64,
    instance: Instance,
    progress: Arc<Progress>,
}

impl Shipper {
    async fn run(mut self, mut stopping: watch::Receiver<bool>) {
        let label = self.sink.label();
        let mut sizes = self.log.subscribe();
        let mut connected = false;
        let mut failures: u32 = 0;
        tracing::info!(sink = %self.url, cursor = self.cursor, "audit shipping started");
        loop {
            let stop = *stopping.borrow();
            let size = self.log.size();
            if self.cursor >= size && self.checkpoints_shipped >= self.cursor.min(self.latest_checkpoint_size()) {
                if stop {
                    break;
                }
                tokio::select! {
                    r = sizes.changed() => if r.is_err() { break },
                    _ = stopping.changed() => {},
                    () = tokio::time::sleep(Duration::from_secs(1)) => {},
                }
                continue;
            }
            let step = async {
                if !connected {
                    self.connect().await?;
                    connected = true;
                }
                self.ship_once(size).await
            };
            match step.await {
                Ok(()) => {
                    if failures > 0 {
                        tracing::info!(sink = %self.url, cursor = self.cursor, "audit shipping resumed");
                    }
                    failures = 0;
                }
                Err(e) => {
                    connected = false;
                    self.sink.disconnect();
                    failures += 1;
                    telemetry::sink_error(label, e.kind());
                    tracing::warn!(sink = %self.url, error = %e, attempt = failures, "audit shipping failed; retrying");
                    if stop {
                        tracing::warn!(sink = %self.url, cursor = self.cursor, "stopping with records not yet shipped; they ship after restart");
                        break;
                    }
                    telemetry::sink_retry(label);
                    let wait = backoff(failures);
                    if matches!(e, SinkError::Connect(_)) {
                        connected = self.probe(wait, &mut stopping).await;
                    } else {
                        tokio::select! {
                            () = tokio::time::sleep(wait) => {},
                            _ = stopping.changed() => {},
                        }
                    }
                }
            }
        }
        self.progress.publish(&self.log);
        tracing::info!(sink = %self.url, cursor = self.cursor, "audit shipping stopped");
    }

    async fn connect(&mut self) -> Result<(), SinkError> {
        match tokio::time::timeout(CONNECT_TIMEOUT, self.sink.connect(&self.instance)).await {
            Ok(r) => r.map_err(SinkError::not_about_a_record),
            Err(_) => Err(SinkError::Connect(format!("{}: no answer within {CONNECT_TIMEOUT:?}", self.url))),
        }
    }

    /// Waits out a backoff after the store could not be reached, trying to
    /// connect about once a second meanwhile: true as soon as one attempt
    /// connects (the store is back; ship now), false when the backoff ran
    /// out or shutdown began. A failed probe is not a failed attempt: it
    /// neither grows the backoff nor counts as an error.
    async fn probe(&mut self, wait: Duration, stopping: &mut watch::Receiver<bool>) -> bool {
        let until = tokio::time::Instant::now() + wait;
        loop {
            let next = (tokio::time::Instant::now() + jittered(PROBE_EVERY)).min(until);
            tokio::select! {
                () = tokio::time::sleep_until(next) => {},
                _ = stopping.changed() => return false,
            }
            if tokio::time::Instant::now() >= until {
                return false;
            }
            match self.connect().await {
                Ok(()) => {
                    tracing::info!(sink = %self.url, "store reachable again");
                    return true;
                }
                Err(e) => {
                    self.sink.disconnect();
                    tracing::debug!(sink = %self.url, error = %e, "store still unreachable");
                }
            }
        }
    }

    fn latest_checkpoint_size(&self) -> u64 {
        self.log.latest_checkpoint().map_or(0, |c| c.tree_size)
    }

    /// Moves the cursor (fsynced first) and tells the backlog bound.
    async fn advance(&mut self, to: u64) -> Result<(), SinkError> {
        if to <= self.cursor {
            return Ok(());
        }
        let path = self.cursor_file.clone();
        tokio::task::spawn_blocking(move || write_cursor(&path, to))
            .await
            .map_err(|e| SinkError::Local(e.to_string()))?
            .map_err(|e| SinkError::Local(format!("saving the cursor: {e}")))?;
        self.cursor = to;
        self.progress.set(self.index, to);
        self.progress.publish(&self.log);
        Ok(())
    }

    async fn ship_once(&mut self, size: u64) -> Result<(), SinkError> {
        let label = self.sink.label();
        if self.cursor < size {
            let from = self.cursor;
            let to = size.min(from + self.batch as u64);
            let log = self.log.clone();
            let instance_id = self.instance.id.clone();
            let batch = tokio::task::spawn_blocking(move || {
                let mut out = Vec::with_capacity((to - from) as usize);
                for seq in from..to {
                    // Retired by retention before it could ship: nothing to send.
                    if let Some(record) = log.record(seq).map_err(|e| SinkError::Local(e.to_string()))? {
                        out.push(ShipRecord { instance_id: instance_id.clone(), record });
                    }
                }
                Ok::<_, SinkError>(out)
            })
            .await
            .map_err(|e| SinkError::Local(e.to_string()))??;
            let started = Instant::now();
            match self.sink.ship(&batch).await {
                Ok(()) => telemetry::sink_shipped(label, batch.len(), started.elapsed()),
                Err(SinkError::Rejected(reason)) => {
                    tracing::warn!(sink = %self.url, from, to, error = %printable(&reason), "the store refused a record of this batch; finding it");
                    self.isolate(&batch).await?;
                }
                Err(e) => return Err(e),
            }
            self.advance(to).await?;
        }
        // Checkpoints travel after the records they cover.
        let cps: Vec<Checkpoint> = self
            .log
            .checkpoints()
            .into_iter()
            .filter(|c| c.tree_size > self.checkpoints_shipped && c.tree_size <= self.cursor)
            .collect();
        if let Some(last) = cps.last().map(|c| c.tree_size) {
            self.sink.ship_checkpoints(&self.instance, &cps).await.map_err(SinkError::not_about_a_record)?;
            self.checkpoints_shipped = last;
        } else {
            self.checkpoints_shipped = self.checkpoints_shipped.max(self.cursor.min(self.latest_checkpoint_size()));
        }
        Ok(())
    }

    /// Ships a batch the store refused in halves, in order, down to the
    /// single records it refuses, and quarantines those. The stores absorb
    /// the re-sent records (primary key, message id), so the others still
    /// arrive exactly once. A failure of another kind stops here with the
    /// cursor before the part not yet shipped.
    async fn isolate(&mut self, batch: &[ShipRecord]) -> Result<(), SinkError> {
        let label = self.sink.label();
        let mut parts = vec![(batch.len() / 2, batch.len()), (0, batch.len() / 2)];
        while let Some((lo, hi)) = parts.pop() {
            if lo >= hi {
                continue;
            }
            let started = Instant::now();
            match self.sink.ship(&batch[lo..hi]).await {
                Ok(()) => telemetry::sink_shipped(label, hi - lo, started.elapsed()),
                Err(SinkError::Rejected(reason)) if hi - lo == 1 => self.quarantine(&batch[lo], &reason).await?,
                Err(SinkError::Rejected(_)) => {
                    let mid = lo + (hi - lo) / 2;
                    parts.push((mid, hi));
                    parts.push((lo, mid));
                }
                Err(e) => {
                    self.advance(batch[lo].record.sequence).await?;
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Lists a refused record (durably, before the cursor moves past it),
    /// counts and logs it, and records the quarantine in the log.
    async fn quarantine(&mut self, r: &ShipRecord, reason: &str) -> Result<(), SinkError> {
        let rec = &r.record;
        if self.quarantined.contains(&rec.sequence) {
            return Ok(());
        }
        let label = self.sink.label();
        let entry = Quarantined {
            sequence: rec.sequence,
            record_id: rec.record_id.clone(),
            kind: printable(&rec.kind),
            recorded_at: rec.recorded_at.clone(),
            reason: printable(reason),
            quarantined_at: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        };
        let path = self.quarantine_file.clone();
        let listed = entry.clone();
        tokio::task::spawn_blocking(move || append_quarantine(&path, &listed))
            .await
            .map_err(|e| SinkError::Local(e.to_string()))?
            .map_err(|e| SinkError::Local(format!("listing a quarantined record: {e}")))?;
        self.quarantined.insert(rec.sequence);
        telemetry::sink_quarantined(label);
        tracing::error!(
            sink = %self.url,
            sequence = entry.sequence,
            record_id = %entry.record_id,
            kind = %entry.kind,
            reason = %entry.reason,
            file = %self.quarantine_file.display(),
            "the store refused an audit record for its content; quarantined it (it stays in the local log) and shipping goes on"
        );
        // Recorded in the log too, unless the refused record is itself a
        // quarantine record: a store that refused every record would
        // otherwise be fed an endless chain of them. The append bypasses
        // the backlog bound (this task is what lowers the backlog) and
        // fails harmlessly once the log is closed at shutdown: the list
        // above is what counts.
        if rec.kind != SINK_QUARANTINED_KIND {
            let record = Entry::SinkQuarantined {
                context: Default::default(),
                sink: label.to_string(),
                store: self.url.clone(),
                sequence: entry.sequence,
                record_id: entry.record_id.clone(),
                record_kind: entry.kind.clone(),
                reason: entry.reason.clone(),
            };
            if let Err(e) = self.log.append_system(record).await {
                tracing::warn!(sink = %self.url, sequence = entry.sequence, error = %e, "could not record the quarantine in the audit log");
            }
        }
        Ok(())
    }
}

/// The record kind of [`Entry::SinkQuarantined`].
const SINK_QUARANTINED_KIND: &str = crate::audit::record::Kind::SinkQuarantined.as_str();

/// `d` less up to half of it, so many sidecars do not probe in lock step.
fn jittered(d: Duration) -> Duration {
    let ms = d.as_millis() as u64;
    let jitter = (time::OffsetDateTime::now_utc().nanosecond() as u64) % (ms / 2 + 1);
    Duration::from_millis(ms - jitter)
}

/// 100 ms doubling to 30 s, with up to 50% jitter so many sidecars do not
/// reconnect in lock step.
fn backoff(failures: u32) -> Duration {
    let base = 100u64.saturating_mul(1 << failures.min(9)).min(30_000);
    let jitter = (time::OffsetDateTime::now_utc().nanosecond() as u64) % (base / 2 + 1);
    Duration::from_millis(base / 2 + jitter)
}

/// Downstream stores the audit log is shipped to.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SinkConfig {
    /// `postgres://...` and `nats://...` URLs (`--audit-sink`, repeatable).
    pub urls: Vec<String>,
    /// Records per shipped batch.
    pub batch_records: usize,
    /// Records the slowest store may fall behind before new appends are
    /// held (`block`) or refused with UNAVAILABLE (`fail_closed`).
    pub max_backlog_records: u64,
    pub on_backlog: crate::audit::BacklogMode,
}

impl Default for SinkConfig {
    fn default() -> Self {
        Self {
            urls: Vec::new(),
            batch_records: 500,
            max_backlog_records: 1_000_000,
            on_backlog: crate::audit::BacklogMode::Block,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_hide_passwords_and_split_params() {
        assert_eq!(redact_url("postgres://app:s3cret@db:5432/x"), "postgres://app:***@db:5432/x");
        assert_eq!(redact_url("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
        let (url, ours) = take_params("postgres://u@h/db?schema=s1&sslmode=disable", &["schema"]);
        assert_eq!(url, "postgres://u@h/db?sslmode=disable");
        assert_eq!(ours, vec![("schema".to_string(), "s1".to_string())]);
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        assert!(backoff(1) <= Duration::from_millis(200));
        assert!(backoff(20) <= Duration::from_secs(30));
        assert!(backoff(20) >= Duration::from_secs(15));
    }
}
