//! Dynamic micro-batching: windows from concurrent requests share one
//! encoder run.
//!
//! A fixed set of worker threads (the bounded pool; never tokio's async
//! workers) each own an ONNX Runtime session and take windows from one
//! bounded queue. A worker takes what is queued, and while other requests are
//! still tokenising and about to enqueue it waits up to `max_wait` for them;
//! with nobody else arriving it runs at once, so a lone request pays no wait.
//! Inside a batch, windows are sorted by length and grouped so that padding
//! stays small: a 30-token prompt is not padded to a 256-token document.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use ort::session::Session;
use ort::value::Tensor;

use crate::telemetry;

/// What the heads say about one window.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadOutput {
    /// The user-input head: the text tries to override the system's
    /// instructions or jailbreak the assistant.
    pub injection: f32,
    /// The document head: retrieved data holds instructions addressed to the
    /// assistant. A model without a `document` output (older models)
    /// reports its injection probability here, so documents are read as
    /// they were.
    pub document: f32,
    pub toxicity: f32,
    /// finance, health, legal.
    pub topic: [f32; 3],
    /// L2-normalised mean-pooled encoder output.
    pub embedding: Vec<f32>,
    /// The entity head's probabilities: one row of the manifest's
    /// `entity_labels` per content token (`[CLS]`, `[SEP]` and padding left
    /// out), row after row. Empty for a model without an `entities` output.
    /// Decoded per text (`entities::decode`) and not kept beyond that.
    pub entities: Vec<f32>,
}

pub type Reply = tokio::sync::oneshot::Sender<Result<HeadOutput, String>>;

struct Job {
    ids: Vec<i64>,
    /// `token_case` per id, for a model that reads it; empty otherwise.
    case: Vec<i64>,
    enqueued: Instant,
    reply: Reply,
}

#[derive(Debug, Clone, Copy)]
pub struct BatchConfig {
    pub max_batch: usize,
    pub max_wait: Duration,
    pub queue_capacity: usize,
}

/// Counters since start: what the workers did.
#[derive(Debug, Default)]
pub struct BatchStats {
    /// Times a worker took work from the queue.
    pub batches: AtomicU64,
    /// Encoder runs (a batch is split into groups of similar length).
    pub runs: AtomicU64,
    /// Windows encoded.
    pub windows: AtomicU64,
    /// Windows dropped before the encoder because nobody waits for them any
    /// more (the request was answered without the model, or cancelled).
    pub abandoned: AtomicU64,
}

pub struct Batcher {
    tx: Sender<Job>,
    stats: Arc<BatchStats>,
    /// Requests between "about to enqueue" and "enqueued".
    arriving: Arc<AtomicUsize>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

/// Held while a request tokenises and enqueues its windows, so that workers
/// know more work is on its way.
pub struct Arriving<'a>(&'a AtomicUsize);

impl Drop for Arriving<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Batcher {
    /// Starts one worker per session.
    pub fn start(sessions: Vec<Session>, config: BatchConfig) -> Self {
        let (tx, rx) = crossbeam_channel::bounded::<Job>(config.queue_capacity.max(1));
        let arriving = Arc::new(AtomicUsize::new(0));
        let stats = Arc::new(BatchStats::default());
        let workers = sessions
            .into_iter()
            .enumerate()
            .map(|(i, session)| {
                let (rx, arriving, stats) = (rx.clone(), arriving.clone(), stats.clone());
                std::thread::Builder::new()
                    .name(format!("warden-model-{i}"))
                    .spawn(move || worker(session, rx, arriving, stats, config))
                    .expect("spawning a model worker thread")
            })
            .collect();
        Self { tx, stats, arriving, workers }
    }

    pub fn arriving(&self) -> Arriving<'_> {
        self.arriving.fetch_add(1, Ordering::AcqRel);
        Arriving(&self.arriving)
    }

    /// Queues one window. A full queue is an error (the caller reports the
    /// model as skipped), never an unbounded wait.
    pub fn submit(&self, ids: Vec<i64>, case: Vec<i64>, reply: Reply) -> Result<(), String> {
        match self.tx.try_send(Job { ids, case, enqueued: Instant::now(), reply }) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err("model queue is full (overloaded)".into()),
            Err(TrySendError::Disconnected(_)) => Err("model workers have stopped".into()),
        }
    }

    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    pub fn stats(&self) -> &BatchStats {
        &self.stats
    }
}

fn worker(
    mut session: Session,
    rx: Receiver<Job>,
    arriving: Arc<AtomicUsize>,
    stats: Arc<BatchStats>,
    config: BatchConfig,
) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        let deadline = Instant::now() + config.max_wait;
        while batch.len() < config.max_batch {
            match rx.try_recv() {
                Ok(job) => {
                    batch.push(job);
                    continue;
                }
                Err(_) if arriving.load(Ordering::Acquire) == 0 => break,
                Err(_) => {}
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            match rx.recv_timeout((deadline - now).min(Duration::from_micros(200))) {
                Ok(job) => batch.push(job),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        let started = Instant::now();
        for job in &batch {
            telemetry::model_queue_wait(started - job.enqueued);
        }
        let batch = drop_abandoned(batch, &stats);
        if batch.is_empty() {
            continue;
        }
        telemetry::model_batch(batch.len());
        stats.batches.fetch_add(1, Ordering::Relaxed);
        run_batch(&mut session, batch, &stats);
    }
}

/// The jobs someone still waits for. A request answered without the model
/// (its deadline passed) or cancelled by its client drops its receivers;
/// encoding its windows would only delay everyone else's.
fn drop_abandoned(mut jobs: Vec<Job>, stats: &BatchStats) -> Vec<Job> {
    let before = jobs.len();
    jobs.retain(|j| !j.reply.is_closed());
    let dropped = before - jobs.len();
    if dropped > 0 {
        stats.abandoned.fetch_add(dropped as u64, Ordering::Relaxed);
        telemetry::model_abandoned(dropped);
    }
    jobs
}

/// Runs a batch as groups of similar length; each group is one encoder call.
fn run_batch(session: &mut Session, mut batch: Vec<Job>, stats: &BatchStats) {
    batch.sort_by_key(|j| j.ids.len());
    let mut groups: Vec<Vec<Job>> = Vec::new();
    for job in batch {
        let fits = groups.last().is_some_and(|g| {
            // Padded cost of adding `job` (the longest so far) against the
            // real tokens: keep padding under a third.
            let real: usize = g.iter().map(|j| j.ids.len()).sum::<usize>() + job.ids.len();
            (g.len() + 1) * job.ids.len() * 3 <= real * 4
        });
        if fits {
            groups.last_mut().expect("checked").push(job);
        } else {
            groups.push(vec![job]);
        }
    }
    for group in groups {
        // Earlier groups took time: their requests may have given up since.
        let group = drop_abandoned(group, stats);
        if group.is_empty() {
            continue;
        }
        stats.windows.fetch_add(group.len() as u64, Ordering::Relaxed);
        let started = Instant::now();
        let ids: Vec<&[i64]> = group.iter().map(|j| j.ids.as_slice()).collect();
        let case: Vec<&[i64]> = group.iter().map(|j| j.case.as_slice()).collect();
        let result = infer(session, &ids, &case);
        stats.runs.fetch_add(1, Ordering::Relaxed);
        telemetry::model_inference(started.elapsed());
        match result {
            Ok(outputs) => {
                for (job, out) in group.into_iter().zip(outputs) {
                    let _ = job.reply.send(Ok(out));
                }
            }
            Err(e) => {
                for job in group {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Name of the optional document head's output.
pub const DOCUMENT_OUTPUT: &str = "document";

/// Name of the optional entity head's output: float32 [batch, seq, labels].
pub const ENTITIES_OUTPUT: &str = "entities";

/// Name of the optional input that tells the encoder each token's casing
/// (int64 [batch, seq], `entities::token_case`).
pub const TOKEN_CASE_INPUT: &str = "token_case";

/// Whether the loaded graph has an output of this name (the optional heads).
pub fn has_output(session: &Session, name: &str) -> bool {
    session.outputs().iter().any(|o| o.name() == name)
}

/// Whether the loaded graph reads an input of this name: a required input,
/// or an initializer a caller may override (how the entity head's graph
/// declares `token_case`, so that a caller that does not feed it still runs).
pub fn reads_input(session: &Session, name: &str) -> bool {
    session.inputs().iter().any(|i| i.name() == name)
        || session.overridable_initializers().iter().any(|i| i.name() == name)
}

/// One encoder call over windows padded to the longest (pad id 0, mask 0).
/// `case`, when not empty, holds each window's `token_case`, one per id, fed
/// as that input (the caller knows whether the graph reads it:
/// [`reads_input`]).
pub fn infer(session: &mut Session, windows: &[&[i64]], case: &[&[i64]]) -> Result<Vec<HeadOutput>, String> {
    let n = windows.len();
    let seq = windows.iter().map(|w| w.len()).max().unwrap_or(0);
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut ids = vec![0i64; n * seq];
    let mut mask = vec![0i64; n * seq];
    for (row, w) in windows.iter().enumerate() {
        ids[row * seq..row * seq + w.len()].copy_from_slice(w);
        mask[row * seq..row * seq + w.len()].fill(1);
    }
    let err = |e: ort::Error| format!("onnxruntime: {e}");
    let mut inputs = ort::inputs![
        "input_ids" => Tensor::from_array(([n, seq], ids)).map_err(err)?,
        "attention_mask" => Tensor::from_array(([n, seq], mask)).map_err(err)?,
    ];
    if case.iter().any(|c| !c.is_empty()) {
        if case.len() != n || case.iter().zip(windows).any(|(c, w)| c.len() != w.len()) {
            return Err(format!("`{TOKEN_CASE_INPUT}`: each window needs one per token id"));
        }
        let mut cases = vec![0i64; n * seq];
        for (row, c) in case.iter().enumerate() {
            cases[row * seq..row * seq + c.len()].copy_from_slice(c);
        }
        inputs.push((TOKEN_CASE_INPUT.into(), Tensor::from_array(([n, seq], cases)).map_err(err)?.into()));
    }
    let outputs = session.run(inputs).map_err(err)?;
    let head = |name: &str, width: usize| -> Result<Vec<f32>, String> {
        let value = outputs.get(name).ok_or_else(|| format!("model has no output `{name}`"))?;
        let (_, data) = value.try_extract_tensor::<f32>().map_err(|e| format!("output `{name}`: {e}"))?;
        if data.len() != n * width {
            return Err(format!("output `{name}` has {} values, expected {}", data.len(), n * width));
        }
        Ok(data.to_vec())
    };
    let injection = head("injection", 1)?;
    let document = match outputs.get(DOCUMENT_OUTPUT) {
        Some(_) => head(DOCUMENT_OUTPUT, 1)?,
        None => injection.clone(),
    };
    let toxicity = head("toxicity", 1)?;
    let topic = head("topic", 3)?;
    let embedding = head("embedding", super::EMBEDDING_DIM)?;
    let mut entities = match outputs.get(ENTITIES_OUTPUT) {
        None => vec![Vec::new(); n],
        Some(value) => {
            let (shape, data) =
                value.try_extract_tensor::<f32>().map_err(|e| format!("output `{ENTITIES_OUTPUT}`: {e}"))?;
            let &[rows, len, width] = &shape[..] else {
                return Err(format!("output `{ENTITIES_OUTPUT}` has shape {shape:?}, expected [batch, seq, labels]"));
            };
            let width = usize::try_from(width).unwrap_or(0);
            if (rows, len) != (n as i64, seq as i64) || data.len() != n * seq * width {
                return Err(format!("output `{ENTITIES_OUTPUT}` has shape {shape:?}, expected [{n}, {seq}, labels]"));
            }
            // The rows of the content tokens: after [CLS], before [SEP].
            windows
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    let content = w.len().saturating_sub(2);
                    let from = (i * seq + 1) * width;
                    data[from..from + content * width].to_vec()
                })
                .collect()
        }
    };
    Ok((0..n)
        .map(|i| HeadOutput {
            injection: injection[i],
            document: document[i],
            toxicity: toxicity[i],
            topic: [topic[3 * i], topic[3 * i + 1], topic[3 * i + 2]],
            embedding: embedding[i * super::EMBEDDING_DIM..(i + 1) * super::EMBEDDING_DIM].to_vec(),
            entities: std::mem::take(&mut entities[i]),
        })
        .collect())
}
