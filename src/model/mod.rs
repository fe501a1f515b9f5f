//! The ONNX classifiers: one shared MiniLM encoder pass per text window feeds
//! the prompt-injection (user input), document, toxicity and topic heads and
//! yields the embedding; a token-level entity head on the same pass finds
//! names, places, addresses and organisations. The document and entity heads
//! are optional: a model without a document head reads documents with its
//! injection head, and a model without an entity head finds no entities.
//!
//! - [`window`]: tokenisation and overlapping windows with byte spans;
//! - [`entities`]: the entity head's BIO decoding, across windows, into
//!   byte spans;
//! - [`batch`]: micro-batching on a bounded pool of worker threads that own
//!   the ONNX Runtime sessions;
//! - [`cache`]: a bounded content-hash cache of per-text results;
//! - [`runtime`]: finding and loading the ONNX Runtime library.
//!
//! The model files are embedded in the binary (`models/warden-minilm`), so
//! `warden serve` needs nothing beside it but the runtime library; `model.dir`
//! loads another build of them instead. Either way every file is checked
//! against the sha256 in `manifest.json` before it is used.

pub mod batch;
pub mod cache;
pub mod entities;
pub mod runtime;
pub mod window;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use batch::HeadOutput;
pub use entities::Entity;

/// Width of the `embedding` output.
pub const EMBEDDING_DIM: usize = 384;

/// Detector name of the model stage (findings, skips, metrics).
pub const DETECTOR: &str = "warden-minilm";

const EMBEDDED_MANIFEST: &[u8] = include_bytes!("../../models/warden-minilm/manifest.json");
const EMBEDDED_TOKENIZER: &[u8] = include_bytes!("../../models/warden-minilm/tokenizer.json");
const EMBEDDED_MODEL: &[u8] = include_bytes!("../../models/warden-minilm/model.int8.onnx");

/// `[model]` in the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Run the classifiers. `false` runs the rule detectors only, and every
    /// assessment lists the model as skipped (`disabled`).
    pub enabled: bool,
    /// Load `manifest.json`, `tokenizer.json` and the ONNX file from this
    /// directory instead of the copies embedded in the binary.
    pub dir: Option<PathBuf>,
    /// If the model cannot be loaded, start anyway with the rule detectors
    /// only (assessments list the model as skipped) instead of refusing to
    /// start.
    pub allow_rules_only: bool,
    /// Worker threads, each with its own ONNX Runtime session.
    pub workers: usize,
    /// ONNX Runtime intra-op threads per session.
    pub intra_threads: usize,
    /// Windows per encoder batch, at most. 1 (the default) runs every window
    /// alone: measured on 2 cores, cross-request batches gave 0.72-0.88x the
    /// throughput, and with int8 dynamic quantisation a score depends on its
    /// batch neighbours (docs/detection.md, "The classifiers").
    pub max_batch: usize,
    /// How long a worker waits for more windows while other requests are
    /// still enqueueing theirs.
    pub max_wait_us: u64,
    /// Windows waiting for a worker, at most; beyond it the model is skipped
    /// for that request (overload), never queued without bound.
    pub queue_capacity: usize,
    /// Texts whose results are cached by content hash (0 turns it off).
    pub cache_entries: usize,
    /// Windows one request may send to the model; text beyond them is not
    /// read by the model and the assessment says so (`partial`).
    pub max_windows: usize,
    /// Skip the encoder for a text the rule stage already marks as prompt
    /// injection with at least `cascade_rule_score`.
    pub cascade: bool,
    pub cascade_rule_score: f64,
    /// ONNX Runtime's CPU memory arena (and its memory patterns). On (the
    /// default), each session reuses the blocks of the largest window batch
    /// it has run; off, every run allocates and frees. Measured with
    /// `benches/memory.rs` on bursts of 60 kB and 1 MB texts, the arena gave
    /// the lower and flatter RSS (dev build: 177 and 252 MiB after four bursts,
    /// against 228 and 287 MiB without it, which kept creeping up; release, 1 MB:
    /// 245 against 290 MiB).
    pub memory_arena: bool,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            dir: None,
            allow_rules_only: false,
            workers: 2,
            intra_threads: 1,
            max_batch: 1,
            max_wait_us: 1_000,
            queue_capacity: 1_024,
            cache_entries: 4_096,
            max_windows: 48,
            cascade: true,
            cascade_rule_score: 0.85,
            memory_arena: true,
        }
    }
}

impl ModelConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.workers == 0 || self.intra_threads == 0 || self.max_batch == 0 {
            return Err("model.workers, model.intra_threads and model.max_batch must be at least 1".into());
        }
        if self.queue_capacity == 0 || self.max_windows == 0 {
            return Err("model.queue_capacity and model.max_windows must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.cascade_rule_score) {
            return Err("model.cascade_rule_score must be within [0, 1]".into());
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model {DETECTOR}: {0}")]
    Load(String),
}

/// `manifest.json`, as far as serving needs it.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub window: WindowSpec,
    pub thresholds: Thresholds,
    pub topic_labels: Vec<String>,
    /// The entity head's labels, in the order of its output (`O`, `B-PER`,
    /// `I-PER`, ...); absent in manifests before the head existed.
    #[serde(default)]
    pub entity_labels: Vec<String>,
    pub files: BTreeMap<String, FileSpec>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WindowSpec {
    pub content_tokens: usize,
    pub stride_tokens: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Thresholds {
    pub injection: InjectionThresholds,
    /// The document head's; absent in manifests before the head existed.
    /// Use [`Thresholds::document`], which falls back to `injection`.
    #[serde(default)]
    pub document: Option<InjectionThresholds>,
    pub toxicity: Flag,
    pub topic: BTreeMap<String, f32>,
    /// The entity head's: a span is kept when its score (the mean over its
    /// tokens of P(B-X) + P(I-X)) reaches its category's threshold; keyed by
    /// code (`PER`) or category (`pii.person`). Absent: 0.5 each. Entries
    /// that are not numbers (notes) are not thresholds.
    #[serde(default)]
    pub entities: BTreeMap<String, serde_json::Value>,
}

impl Thresholds {
    /// The thresholds that apply to the document head's probabilities.
    pub fn document(&self) -> &InjectionThresholds {
        self.document.as_ref().unwrap_or(&self.injection)
    }
}

/// Operating points of an injection-like head (user input or document).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InjectionThresholds {
    /// At or above this probability the head makes a finding.
    pub flag: f32,
    /// The stricter operating point (a lower false-positive rate on the
    /// calibration split): at or above it a finding should go to a human.
    /// When present, findings carry a calibrated score instead of the
    /// probability (`scoring::model::calibrated_score`).
    #[serde(default)]
    pub high: Option<f32>,
    /// Below this probability a text is confidently benign (informational).
    #[serde(default)]
    pub confident_benign: Option<f32>,
    /// The false-positive rate `flag` was chosen for, on calibration data.
    #[serde(default)]
    pub flag_fpr: Option<f64>,
    /// The false-positive rate `high` was chosen for.
    #[serde(default)]
    pub high_fpr: Option<f64>,
}

impl InjectionThresholds {
    /// `flag` and `high` are probabilities and `high` is the stricter one;
    /// otherwise the calibration would not be monotone.
    fn validate(&self, field: &str) -> Result<(), String> {
        let in_unit = |v: f32| (0.0..=1.0).contains(&v);
        if !in_unit(self.flag) {
            return Err(format!("manifest.json: thresholds.{field}.flag must be within [0, 1], is {}", self.flag));
        }
        if let Some(high) = self.high {
            if !in_unit(high) || high < self.flag {
                return Err(format!(
                    "manifest.json: thresholds.{field}.high must be within [flag, 1] (flag {}), is {high}",
                    self.flag
                ));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Flag {
    pub flag: f32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FileSpec {
    pub sha256: String,
}

/// The model's scores for one window of a text.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowScores {
    pub span: Range<usize>,
    pub heads: HeadOutput,
}

/// The model's scores for one text: one entry per window.
#[derive(Debug, Clone, PartialEq)]
pub struct TextScores {
    pub windows: Vec<WindowScores>,
    /// Windows of the text that were not scored (over `max_windows`).
    pub unscored_windows: usize,
    /// What the entity head found in the scored windows (none without one).
    pub entities: Vec<Entity>,
}

impl TextScores {
    /// The highest value of `head` over the windows, with that window's span.
    pub fn max_by(&self, head: impl Fn(&HeadOutput) -> f32) -> Option<(f32, Range<usize>)> {
        self.windows.iter().map(|w| (head(&w.heads), w.span.clone())).max_by(|a, b| a.0.total_cmp(&b.0))
    }
}

/// The loaded model: tokenizer, thresholds, workers, cache.
pub struct Model {
    manifest: Manifest,
    version: String,
    topic_index: BTreeMap<String, usize>,
    /// The graph has a `document` output; without one, documents are read
    /// by the injection head.
    document_head: bool,
    /// The graph has an `entities` output: its labels and thresholds.
    entities: Option<entities::Decoder>,
    /// The graph reads `token_case`: windows are sent with it.
    token_case: bool,
    windower: window::Windower,
    batcher: batch::Batcher,
    cache: cache::ContentCache<TextScores>,
    max_windows: usize,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model").field("version", &self.version).finish_non_exhaustive()
    }
}

/// The files a model is made of.
struct Files {
    origin: String,
    manifest: Vec<u8>,
    tokenizer: Vec<u8>,
    onnx_name: String,
    onnx: Arc<[u8]>,
}

fn read_files(dir: Option<&Path>) -> Result<Files, String> {
    let Some(dir) = dir else {
        return Ok(Files {
            origin: "embedded".into(),
            manifest: EMBEDDED_MANIFEST.to_vec(),
            tokenizer: EMBEDDED_TOKENIZER.to_vec(),
            onnx_name: "model.int8.onnx".into(),
            onnx: Arc::from(EMBEDDED_MODEL),
        });
    };
    let read = |name: &str| std::fs::read(dir.join(name)).map_err(|e| format!("{}: {e}", dir.join(name).display()));
    let manifest = read("manifest.json")?;
    let parsed: Manifest =
        serde_json::from_slice(&manifest).map_err(|e| format!("{}: {e}", dir.join("manifest.json").display()))?;
    let onnx_name = parsed
        .files
        .keys()
        .find(|k| k.ends_with(".onnx"))
        .cloned()
        .ok_or_else(|| format!("{}: lists no .onnx file", dir.join("manifest.json").display()))?;
    Ok(Files {
        origin: dir.display().to_string(),
        tokenizer: read("tokenizer.json")?,
        onnx: Arc::from(read(&onnx_name)?),
        onnx_name,
        manifest,
    })
}

impl Model {
    /// Loads and checks the model, starts its workers and runs one window
    /// through it, so that a model that loads but cannot run fails here.
    pub fn load(config: &ModelConfig) -> Result<Model, ModelError> {
        Self::load_inner(config).map_err(ModelError::Load)
    }

    /// One loaded model per configuration per process: servers started side
    /// by side (the tests, an embedding application) share it while any of
    /// them holds it.
    pub fn shared(config: &ModelConfig) -> Result<Arc<Model>, ModelError> {
        static LOADED: std::sync::Mutex<BTreeMap<String, std::sync::Weak<Model>>> =
            std::sync::Mutex::new(BTreeMap::new());
        let key = serde_json::to_string(config).unwrap_or_default();
        let mut loaded = LOADED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(model) = loaded.get(&key).and_then(std::sync::Weak::upgrade) {
            return Ok(model);
        }
        let model = Arc::new(Self::load(config)?);
        loaded.retain(|_, w| w.strong_count() > 0);
        loaded.insert(key, Arc::downgrade(&model));
        Ok(model)
    }

    fn load_inner(config: &ModelConfig) -> Result<Model, String> {
        let files = read_files(config.dir.as_deref())?;
        let manifest: Manifest =
            serde_json::from_slice(&files.manifest).map_err(|e| format!("manifest.json ({}): {e}", files.origin))?;
        for (name, bytes) in [("tokenizer.json", &files.tokenizer[..]), (files.onnx_name.as_str(), &files.onnx[..])] {
            let want = manifest.files.get(name).ok_or_else(|| format!("manifest.json does not list {name}"))?;
            let got = hex::encode(Sha256::digest(bytes));
            if !got.eq_ignore_ascii_case(&want.sha256) {
                return Err(format!(
                    "{name} ({}) is corrupt or not the file the manifest describes: sha256 {got}, manifest says {}",
                    files.origin, want.sha256
                ));
            }
        }
        let topic_index: BTreeMap<String, usize> =
            manifest.topic_labels.iter().enumerate().map(|(i, l)| (l.clone(), i)).collect();
        // Policies name topics (`topic_domains`) and `HeadOutput::topic` has
        // three slots: the labels are a fixed vocabulary, in any order.
        let mut labels: Vec<&str> = manifest.topic_labels.iter().map(String::as_str).collect();
        labels.sort_unstable();
        if labels != crate::detect::TOPIC_LABELS {
            return Err(format!(
                "manifest.json: topic_labels must be {:?} (in any order), found {:?}",
                crate::detect::TOPIC_LABELS,
                manifest.topic_labels
            ));
        }
        manifest.thresholds.injection.validate("injection")?;
        if let Some(document) = &manifest.thresholds.document {
            document.validate("document")?;
        }
        let geometry = window::Geometry {
            content_tokens: manifest.window.content_tokens,
            stride_tokens: manifest.window.stride_tokens,
        };
        // Checks the tokenizer and the geometry before sessions are built.
        window::Windower::new(&files.tokenizer, geometry)?;
        let entity_decoder = if manifest.entity_labels.is_empty() {
            None
        } else {
            let thresholds = manifest
                .thresholds
                .entities
                .iter()
                .filter_map(|(k, v)| v.as_f64().map(|t| (k.clone(), t as f32)))
                .collect();
            Some(entities::Decoder::new(&manifest.entity_labels, &thresholds)?)
        };
        let runtime = runtime::init()?;
        let mut sessions = Vec::with_capacity(config.workers);
        for _ in 0..config.workers {
            let mut session = new_session(&runtime.env, &files.onnx, config.intra_threads, config.memory_arena)?;
            // A model that loads but cannot run (wrong outputs, bad graph)
            // fails start-up, not the first request. One content token, so
            // that an entity head shows its width.
            let case: &[i64] = if batch::reads_input(&session, batch::TOKEN_CASE_INPUT) { &[0, 1, 0] } else { &[] };
            let out = batch::infer(&mut session, &[&[101, 1996, 102]], &[case])
                .map_err(|e| format!("{}: {e}", files.onnx_name))?;
            if let Some(decoder) = &entity_decoder {
                let width = out.first().map_or(0, |o| o.entities.len());
                if width != decoder.width() {
                    return Err(format!(
                        "{}: the `{}` output has {width} labels per token, manifest.json's entity_labels {}",
                        files.onnx_name,
                        batch::ENTITIES_OUTPUT,
                        decoder.width()
                    ));
                }
            }
            sessions.push(session);
        }
        let document_head = sessions.first().is_some_and(|s| batch::has_output(s, batch::DOCUMENT_OUTPUT));
        let entity_head = sessions.first().is_some_and(|s| batch::has_output(s, batch::ENTITIES_OUTPUT));
        let token_case = sessions.first().is_some_and(|s| batch::reads_input(s, batch::TOKEN_CASE_INPUT));
        if entity_head != entity_decoder.is_some() {
            // Without labels the head's numbers cannot be read; labels
            // without the head would find nothing and look like a pass.
            return Err(format!(
                "{} {} an `{}` output but manifest.json {} entity_labels: the files do not match",
                files.onnx_name,
                if entity_head { "has" } else { "has no" },
                batch::ENTITIES_OUTPUT,
                if entity_head { "lists no" } else { "lists" },
            ));
        }
        let windower = window::Windower::new(&files.tokenizer, geometry)?.with_token_info(entity_head || token_case);
        if manifest.thresholds.document.is_some() && !document_head {
            // Thresholds for a head the graph does not have would be applied
            // to the injection head's probabilities: the files do not match.
            return Err(format!(
                "manifest.json has thresholds.document but {} has no `{}` output",
                files.onnx_name,
                batch::DOCUMENT_OUTPUT
            ));
        }
        let model_sha = &manifest.files[&files.onnx_name].sha256;
        let version = format!("{}+sha256:{}", manifest.version, &model_sha[..12.min(model_sha.len())]);
        let batcher = batch::Batcher::start(
            sessions,
            batch::BatchConfig {
                max_batch: config.max_batch,
                max_wait: Duration::from_micros(config.max_wait_us),
                queue_capacity: config.queue_capacity,
            },
        );
        tracing::info!(
            model = %version,
            from = %files.origin,
            runtime = %runtime.path.display(),
            workers = config.workers,
            document_head,
            entity_head,
            token_case,
            intra_threads = config.intra_threads,
            "classifier model loaded"
        );
        Ok(Model {
            manifest,
            version,
            topic_index,
            document_head,
            entities: entity_decoder,
            token_case,
            windower,
            batcher,
            cache: cache::ContentCache::new(config.cache_entries),
            max_windows: config.max_windows,
        })
    }

    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    /// Manifest version plus the ONNX file's hash, as assessments report it.
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn thresholds(&self) -> &Thresholds {
        &self.manifest.thresholds
    }

    /// Whether the model has a document head; without one,
    /// `HeadOutput::document` is the injection head's probability.
    pub fn has_document_head(&self) -> bool {
        self.document_head
    }

    /// Whether the model has an entity head (`TextScores::entities`).
    pub fn has_entity_head(&self) -> bool {
        self.entities.is_some()
    }

    /// Index of a topic label in `HeadOutput::topic`.
    pub fn topic_index(&self, label: &str) -> Option<usize> {
        self.topic_index.get(label).copied()
    }

    pub fn topic_labels(&self) -> &[String] {
        &self.manifest.topic_labels
    }

    pub fn cached_texts(&self) -> usize {
        self.cache.len()
    }

    /// Scores texts: cached ones from the cache, the rest windowed and
    /// batched with other requests' windows. The windows of all texts
    /// together are capped at `max_windows`, in order; a text cut short says
    /// how many windows were not scored.
    pub async fn score(self: &Arc<Self>, texts: Vec<String>) -> Result<Vec<Arc<TextScores>>, String> {
        let model = self.clone();
        let pending = tokio::task::spawn_blocking(move || model.submit(&texts, model.max_windows, false))
            .await
            .map_err(|e| format!("tokeniser panicked: {e}"))??;
        let mut out = Vec::with_capacity(pending.len());
        for p in pending {
            out.push(self.finish(p).await?);
        }
        Ok(out)
    }

    /// The same as [`Model::score`] for callers without a runtime (the
    /// evaluation tools).
    pub fn score_blocking(self: &Arc<Self>, texts: Vec<String>) -> Result<Vec<Arc<TextScores>>, String> {
        let pending = self.submit(&texts, self.max_windows, false)?;
        pending.into_iter().map(|p| self.finish_blocking(p)).collect()
    }

    /// Sentence embeddings: the first window's embedding of each text (a
    /// sentence fits in one), through the same cache and workers. Not bound
    /// by `max_windows`: the caller bounds the number of texts.
    pub async fn embed(self: &Arc<Self>, texts: Vec<String>) -> Result<Vec<Vec<f32>>, String> {
        let model = self.clone();
        let pending = tokio::task::spawn_blocking(move || model.submit(&texts, usize::MAX, true))
            .await
            .map_err(|e| format!("tokeniser panicked: {e}"))??;
        let mut out = Vec::with_capacity(pending.len());
        for p in pending {
            let scores = self.finish(p).await?;
            out.push(scores.windows.first().map(|w| w.heads.embedding.clone()).unwrap_or_default());
        }
        Ok(out)
    }

    /// [`Model::embed`] for callers without a runtime (loading content
    /// policies).
    pub fn embed_blocking(self: &Arc<Self>, texts: Vec<String>) -> Result<Vec<Vec<f32>>, String> {
        let pending = self.submit(&texts, usize::MAX, true)?;
        let mut out = Vec::with_capacity(pending.len());
        for p in pending {
            let scores = self.finish_blocking(p)?;
            out.push(scores.windows.first().map(|w| w.heads.embedding.clone()).unwrap_or_default());
        }
        Ok(out)
    }

    fn finish_blocking(&self, pending: Pending) -> Result<Arc<TextScores>, String> {
        // Inside a runtime (start-up from async code) a blocking wait must
        // not happen on the runtime's thread.
        if tokio::runtime::Handle::try_current().is_ok() {
            return std::thread::scope(|s| {
                s.spawn(|| self.wait(pending)).join().unwrap_or_else(|_| Err("model wait panicked".into()))
            });
        }
        self.wait(pending)
    }

    fn wait(&self, pending: Pending) -> Result<Arc<TextScores>, String> {
        match pending {
            Pending::Ready(s) => Ok(s),
            Pending::Queued(mut q) => {
                let mut heads = Vec::with_capacity(q.replies.len());
                for rx in std::mem::take(&mut q.replies) {
                    heads.push(rx.blocking_recv().map_err(|_| "model worker dropped a window".to_string())??);
                }
                self.complete(q, heads)
            }
        }
    }

    /// Blocking: tokenises, windows, checks the cache and queues the windows.
    /// `budget` caps the windows of all texts together; `first_only` scores
    /// only each text's first window.
    fn submit(&self, texts: &[String], mut budget: usize, first_only: bool) -> Result<Vec<Pending>, String> {
        let _arriving = self.batcher.arriving();
        let mut out = Vec::with_capacity(texts.len());
        for text in texts {
            let key = cache::key(text);
            if let Some(hit) = self.cache.get(&key) {
                crate::telemetry::model_cache(true);
                out.push(Pending::Ready(hit));
                continue;
            }
            crate::telemetry::model_cache(false);
            let keep = if first_only { budget.min(1) } else { budget };
            let split = self.windower.windows_within(text, keep)?;
            budget -= split.windows.len();
            let mut q = Queued {
                key,
                spans: Vec::with_capacity(split.windows.len()),
                first_tokens: Vec::with_capacity(split.windows.len()),
                replies: Vec::with_capacity(split.windows.len()),
                unscored_windows: split.unscored,
                text: if split.tokens.is_some() { text.clone() } else { String::new() },
                tokens: split.tokens,
            };
            for w in split.windows {
                let (tx, rx) = tokio::sync::oneshot::channel();
                self.batcher.submit(w.ids, if self.token_case { w.case } else { Vec::new() }, tx)?;
                q.spans.push(w.span);
                q.first_tokens.push(w.first_token);
                q.replies.push(rx);
            }
            out.push(Pending::Queued(q));
        }
        Ok(out)
    }

    async fn finish(&self, pending: Pending) -> Result<Arc<TextScores>, String> {
        match pending {
            Pending::Ready(s) => Ok(s),
            Pending::Queued(mut q) => {
                let mut heads = Vec::with_capacity(q.replies.len());
                for rx in std::mem::take(&mut q.replies) {
                    heads.push(rx.await.map_err(|_| "model worker dropped a window".to_string())??);
                }
                self.complete(q, heads)
            }
        }
    }

    /// A text's windows are back: decodes its entities across the windows
    /// (the per-token probabilities are dropped then, not cached) and stores
    /// the result.
    fn complete(&self, q: Queued, mut heads: Vec<HeadOutput>) -> Result<Arc<TextScores>, String> {
        let entities = match (&self.entities, &q.tokens) {
            (Some(decoder), Some(tokens)) => {
                let width = decoder.width();
                let mut windows = Vec::with_capacity(heads.len());
                for (h, &first_token) in heads.iter().zip(&q.first_tokens) {
                    if h.entities.len() % width != 0 {
                        return Err(format!(
                            "entity head: {} values is not a whole number of tokens",
                            h.entities.len()
                        ));
                    }
                    windows.push(entities::WindowProbs { first_token, probs: &h.entities });
                }
                let g = self.windower.geometry();
                let half_overlap = (g.content_tokens - g.stride_tokens) / 2;
                let probs = entities::stitch(&windows, width, half_overlap);
                decoder.decode(&probs, tokens, &q.text)
            }
            _ => Vec::new(),
        };
        for h in &mut heads {
            h.entities = Vec::new();
        }
        let windows = q.spans.into_iter().zip(heads).map(|(span, heads)| WindowScores { span, heads }).collect();
        Ok(self.store(q.key, windows, q.unscored_windows, entities))
    }

    /// Only complete results are cached: a text cut short by the window
    /// budget may be scored whole by the next request.
    fn store(
        &self,
        key: cache::Key,
        windows: Vec<WindowScores>,
        unscored_windows: usize,
        entities: Vec<Entity>,
    ) -> Arc<TextScores> {
        let scores = Arc::new(TextScores { windows, unscored_windows, entities });
        if unscored_windows == 0 {
            self.cache.insert(key, scores.clone());
        }
        scores
    }

    /// Windows one request may send (`model.max_windows`).
    pub fn max_windows(&self) -> usize {
        self.max_windows
    }

    /// Worker threads scoring windows.
    pub fn workers(&self) -> usize {
        self.batcher.workers()
    }

    /// What the workers did since start (batches, encoder runs, windows).
    pub fn batch_stats(&self) -> &batch::BatchStats {
        self.batcher.stats()
    }
}

enum Pending {
    Ready(Arc<TextScores>),
    Queued(Queued),
}

/// A text whose windows are with the workers.
struct Queued {
    key: cache::Key,
    /// Per window: its bytes and its first token among the text's.
    spans: Vec<Range<usize>>,
    first_tokens: Vec<usize>,
    replies: Vec<tokio::sync::oneshot::Receiver<Result<HeadOutput, String>>>,
    unscored_windows: usize,
    /// The text's tokens, for the entity head.
    tokens: Option<window::TextTokens>,
    /// The text, for the entity head's company-name grammar (empty without
    /// tokens).
    text: String,
}

fn new_session(
    env: &ort::environment::Environment,
    onnx: &[u8],
    intra_threads: usize,
    memory_arena: bool,
) -> Result<ort::session::Session, String> {
    let err = |e: ort::Error| format!("onnxruntime session: {e}");
    let builder_err = |e: ort::Error<ort::session::builder::SessionBuilder>| format!("onnxruntime session: {e}");
    let mut builder = ort::session::Session::builder(env)
        .map_err(err)?
        .with_intra_threads(intra_threads)
        .map_err(builder_err)?
        .with_inter_threads(1)
        .map_err(builder_err)?
        .with_execution_providers([ort::ep::CPU::default().with_arena_allocator(memory_arena).build()])
        .map_err(builder_err)?
        // Memory patterns pre-plan one arena block per input shape; without
        // the arena they only cost memory.
        .with_memory_pattern(memory_arena)
        .map_err(builder_err)?;
    builder.commit_from_memory(onnx).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_parse_with_and_without_operating_points() {
        let new: Thresholds = serde_json::from_str(
            r#"{
              "injection": {"flag": 0.91, "high": 0.985, "confident_benign": 0.03, "flag_fpr": 0.003, "high_fpr": 0.0005},
              "document":  {"flag": 0.80, "high": 0.97, "flag_fpr": 0.01, "high_fpr": 0.002},
              "toxicity": {"flag": 0.4064},
              "topic": {"finance": 0.41, "health": 0.43, "legal": 0.56}
            }"#,
        )
        .unwrap();
        assert_eq!((new.injection.high, new.injection.high_fpr), (Some(0.985), Some(0.0005)));
        assert_eq!((new.document().flag, new.document().high, new.document().flag_fpr), (0.80, Some(0.97), Some(0.01)));
        assert_eq!(new.document().confident_benign, None);
        new.injection.validate("injection").unwrap();
        new.document().validate("document").unwrap();

        let old: Thresholds = serde_json::from_str(
            r#"{"injection": {"flag": 0.3461, "confident_benign": 0.0315}, "toxicity": {"flag": 0.4064},
                "topic": {"finance": 0.4107, "health": 0.4367, "legal": 0.5603}}"#,
        )
        .unwrap();
        assert_eq!(old.injection.high, None);
        assert_eq!(old.document(), &old.injection, "no document thresholds: the injection ones");

        let embedded: Manifest = serde_json::from_slice(EMBEDDED_MANIFEST).unwrap();
        embedded.thresholds.injection.validate("injection").unwrap();

        let bad = InjectionThresholds { high: Some(0.5), ..new.injection.clone() };
        assert!(bad.validate("injection").unwrap_err().contains("thresholds.injection.high"));
        let bad = InjectionThresholds { flag: 1.5, high: None, ..new.injection };
        assert!(bad.validate("injection").unwrap_err().contains("thresholds.injection.flag"));
    }
}
