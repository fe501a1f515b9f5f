//! Shipping the audit log to downstream stores (PostgreSQL, NATS JetStream).
//!
//! One shipper task per configured sink follows the local log: it reads
//! records from its persisted cursor on, ships them in batches, and moves
//! the cursor (fsynced) only after the store acknowledged the batch. So a
//! crash or restart resumes where the store left off, and a batch retried
//! after an unclear failure arrives again: the stores absorb those
//! duplicates (PostgreSQL by primary key, JetStream by message id). Records
//! leave in sequence order, one batch at a time, so they arrive in order.
//! Failures are retried with exponential backoff and jitter, forever: the
//! local log is the buffer, and the backlog bound (`sinks.max_backlog_records`)
//! makes new appends wait or fail with UNAVAILABLE when a store has been
//! gone too long. Nothing is ever dropped.
//!
//! Signed checkpoints follow the records they cover, so the central copy can
//! be verified without the sidecar (`warden audit verify --from postgres://`).

pub mod nats;
pub mod postgres;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::audit::checkpoint::Checkpoint;
use crate::audit::journal::{AuditLog, StoredRecord};
use crate::config::SinkConfig;
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
}

impl SinkError {
    /// The `kind` label for metrics: a closed set.
    pub fn kind(&self) -> &'static str {
        match self {
            SinkError::Url(..) => "config",
            SinkError::Connect(_) => "connect",
            SinkError::Store(_) => "store",
            SinkError::Local(_) => "local",
        }
    }
}

/// A record as a store receives it.
#[derive(Debug, Clone)]
pub struct ShipRecord {
    pub instance_id: String,
    pub record: StoredRecord,
}

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
    cursors: Mutex<Vec<u64>>,
    min: watch::Sender<u64>,
}

impl Progress {
    pub fn new(sinks: usize, start: u64) -> Arc<Self> {
        Arc::new(Self { cursors: Mutex::new(vec![start; sinks]), min: watch::Sender::new(start) })
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

/// How many records each configured store is behind a log of `size`
/// records, from the persisted cursors (credentials redacted from the URLs).
pub fn lag(data_dir: &Path, urls: &[String], size: u64) -> std::collections::BTreeMap<String, u64> {
    urls.iter().map(|u| (redact_url(u), size.saturating_sub(read_cursor(&cursor_path(data_dir, u))))).collect()
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
    let progress = Progress::new(sinks.len(), cursors.iter().copied().min().unwrap_or(0));
    let mut tasks = Vec::new();
    for (i, ((url, sink), cursor)) in sinks.into_iter().zip(cursors).enumerate() {
        progress.set(i, cursor);
        let shipper = Shipper {
            index: i,
            log: log.clone(),
            sink,
            url: redact_url(&url),
            cursor_file: cursor_path(data_dir, &url),
            cursor,
            batch: config.batch_records,
            checkpoints_shipped: 0,
            instance: instance.clone(),
            progress: progress.clone(),
        };
        tasks.push(tokio::spawn(shipper.run(stopping.clone())));
    }
    Ok((progress, tasks))
}

struct Shipper {
    index: usize,
    log: Arc<AuditLog>,
    sink: Sink,
    url: String,
    cursor_file: PathBuf,
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
            telemetry::sink_lag(label, size.saturating_sub(self.cursor), self.lag_seconds(size));
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
                    self.sink.connect(&self.instance).await?;
                    connected = true;
                }
                self.ship_once(size).await
            };
            match step.await {
                Ok(()) => failures = 0,
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
                    tokio::select! {
                        () = tokio::time::sleep(backoff(failures)) => {},
                        _ = stopping.changed() => {},
                    }
                }
            }
        }
        tracing::info!(sink = %self.url, cursor = self.cursor, "audit shipping stopped");
    }

    fn latest_checkpoint_size(&self) -> u64 {
        self.log.latest_checkpoint().map_or(0, |c| c.tree_size)
    }

    fn lag_seconds(&self, size: u64) -> f64 {
        if self.cursor >= size {
            return 0.0;
        }
        match self.log.recorded_unix_nanos(self.cursor) {
            Some(t) => {
                let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
                ((now - t).max(0) as f64) / 1e9
            }
            None => 0.0,
        }
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
            self.sink.ship(&batch).await?;
            telemetry::sink_shipped(label, batch.len(), started.elapsed());
            let path = self.cursor_file.clone();
            tokio::task::spawn_blocking(move || write_cursor(&path, to))
                .await
                .map_err(|e| SinkError::Local(e.to_string()))?
                .map_err(|e| SinkError::Local(format!("saving the cursor: {e}")))?;
            self.cursor = to;
            self.progress.set(self.index, to);
        }
        // Checkpoints travel after the records they cover.
        let cps: Vec<Checkpoint> = self
            .log
            .checkpoints()
            .into_iter()
            .filter(|c| c.tree_size > self.checkpoints_shipped && c.tree_size <= self.cursor)
            .collect();
        if let Some(last) = cps.last().map(|c| c.tree_size) {
            self.sink.ship_checkpoints(&self.instance, &cps).await?;
            self.checkpoints_shipped = last;
        } else {
            self.checkpoints_shipped = self.checkpoints_shipped.max(self.cursor.min(self.latest_checkpoint_size()));
        }
        Ok(())
    }
}

/// 100 ms doubling to 30 s, with up to 50% jitter so many sidecars do not
/// reconnect in lock step.
fn backoff(failures: u32) -> Duration {
    let base = 100u64.saturating_mul(1 << failures.min(9)).min(30_000);
    let jitter = (time::OffsetDateTime::now_utc().nanosecond() as u64) % (base / 2 + 1);
    Duration::from_millis(base / 2 + jitter)
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
