//! Ordinary traffic and attacks through the whole `ScoreInput` pipeline, as
//! served: the built-in rule detectors, the classifier (user head for the
//! input, document head for `document:<id>` sources), the default policy and
//! its routing. Issue #19 states its targets in these terms: how much ordinary
//! traffic gets a `prompt_injection`/`jailbreak` finding, and how much is sent
//! to a human (`REQUIRE_APPROVAL` or `BLOCK`).
//!
//! ```text
//! python3 models/train/data.py --out /tmp/warden-data     # test splits, never fitted on
//! cargo run --release --example traffic_eval -- /tmp/warden-data
//! ```
//!
//! Reads `test_user.jsonl` and `test_document.jsonl` (benign, by source and
//! language) and `eval_injection_eval.jsonl` / `eval_bipia_indirect.jsonl`
//! (attacks and their benign rows). A user text is the request's `text`; a
//! document rides as `documents[0]` under the fixed request "Summarise the
//! attached document.", and only findings on `document:doc` count for it.
//! Prints a markdown table per set and a JSON summary line. `MODEL_DIR=DIR`
//! measures another model directory the same way; `LIMIT=N` reads the first
//! N rows of each set; `SETS=a,b` runs only those sets. `SETS=calib_user,calib_document`
//! runs the calibration splits instead (where a threshold or a policy change is
//! chosen; the test splits are for reporting), and `FINDINGS=path` writes every
//! benign row that got a finding, with its findings' scores and the decision,
//! as JSON lines.

use std::collections::BTreeMap;
use std::time::Instant;

use futures_util::stream::{self, StreamExt};
use warden::config::Config;
use warden::policy::Decision;
use warden::scoring::{Context, DocumentIn, ScoreRequest};
use warden::session::SessionView;

#[derive(serde::Deserialize)]
struct Row {
    text: String,
    label: u8,
    source: String,
    #[serde(default)]
    lang: Option<String>,
}

#[derive(Default, Clone, Copy)]
struct Count {
    n: usize,
    flagged: usize,
    human: usize,
}

impl Count {
    fn add(&mut self, flagged: bool, human: bool) {
        self.n += 1;
        self.flagged += usize::from(flagged);
        self.human += usize::from(human);
    }
}

fn pct(a: usize, n: usize) -> String {
    if n == 0 {
        "-".into()
    } else {
        format!("{:.2}%", 100.0 * a as f64 / n as f64)
    }
}

fn read(dir: &str, name: &str) -> Result<Vec<Row>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(format!("{dir}/{name}.jsonl"))?;
    Ok(text.lines().map(serde_json::from_str).collect::<Result<_, _>>()?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: traffic_eval DIR (from models/train/data.py)")?;
    let limit: usize = std::env::var("LIMIT").ok().and_then(|v| v.parse().ok()).unwrap_or(usize::MAX);
    let only = std::env::var("SETS").ok();
    // The run's audit log (`build` opens one; the pipeline itself writes nothing).
    let data = tempfile::tempdir()?;
    let mut config = Config { data_dir: data.path().to_path_buf(), ..Config::default() };
    // This measures detection, not latency: on a busy machine the served
    // deadline would turn slow model calls into "skipped" (counted below),
    // and a skipped model finds nothing.
    config.limits.detector_timeout_ms = 600_000;
    // `MODEL_DIR` measures another model directory (an earlier release) the same way.
    config.model.dir = std::env::var_os("MODEL_DIR").map(Into::into);
    let app = warden::build(&config, Vec::new())?;
    let pipeline = app.engine.pipeline();
    let context = Context { application: "traffic-eval".into(), ..Context::default() };
    let mut summary = BTreeMap::new();
    // Per-request findings of benign rows, for studying a policy change on
    // the calibration splits (`FINDINGS=path`, JSON lines).
    let mut dump = match std::env::var_os("FINDINGS") {
        Some(p) => Some(std::io::BufWriter::new(std::fs::File::create(p)?)),
        None => None,
    };
    for (set, document) in [
        ("test_user", false),
        ("test_document", true),
        ("eval_injection_eval", false),
        ("eval_bipia_indirect", true),
        ("calib_user", false),
        ("calib_document", true),
    ] {
        // The calibration splits run only when named: thresholds and policy
        // are chosen on them, the numbers reported come from the test splits.
        let named = only.as_deref().is_some_and(|o| o.split(',').any(|x| x == set));
        if (only.is_some() || set.starts_with("calib_")) && !named {
            continue;
        }
        let rows = read(&dir, set)?;
        let rows: Vec<Row> = rows.into_iter().take(limit).collect();
        let started = Instant::now();
        let requests: Vec<ScoreRequest> = rows
            .iter()
            .map(|r| {
                if document {
                    ScoreRequest::Input {
                        context: context.clone(),
                        text: "Summarise the attached document.".into(),
                        system_prompt: String::new(),
                        documents: vec![DocumentIn {
                            id: "doc".into(),
                            source: "eval".into(),
                            text: r.text.clone(),
                            trusted: false,
                        }],
                    }
                } else {
                    ScoreRequest::Input {
                        context: context.clone(),
                        text: r.text.clone(),
                        system_prompt: String::new(),
                        documents: Vec::new(),
                    }
                }
            })
            .collect();
        let want = if document { "document:doc" } else { "input" };
        // Concurrent requests, as a busy sidecar sees them (the classifier
        // batches across requests).
        type Outcome = (bool, bool, Vec<String>, Vec<serde_json::Value>, &'static str, bool);
        let outcomes: Vec<Outcome> = stream::iter(requests.iter())
            .map(|req| async move {
                let ev = pipeline.evaluate(req, &SessionView::default()).await;
                let flagged = ev
                    .findings
                    .iter()
                    .any(|f| f.source == want && (f.category == "prompt_injection" || f.category == "jailbreak"));
                let human = matches!(ev.verdict.decision, Decision::RequireApproval | Decision::Block);
                // What the findings of a request sent to a human were (category families).
                let mut causes: Vec<String> = if human {
                    ev.findings.iter().map(|f| f.category.split('.').next().unwrap_or("").to_string()).collect()
                } else {
                    Vec::new()
                };
                causes.sort();
                causes.dedup();
                let findings = ev
                    .findings
                    .iter()
                    .map(|f| serde_json::json!({"category": f.category, "source": f.source, "score": f.score}))
                    .collect();
                let skipped = !ev.skipped.is_empty();
                (flagged, human, causes, findings, ev.verdict.decision.as_str(), skipped)
            })
            .buffered(32)
            .collect()
            .await;
        let mut by_source: BTreeMap<String, Count> = BTreeMap::new();
        let mut by_lang: BTreeMap<String, Count> = BTreeMap::new();
        let (mut benign, mut attacks) = (Count::default(), Count::default());
        let mut human_causes: BTreeMap<String, usize> = BTreeMap::new();
        let skipped = outcomes.iter().filter(|o| o.5).count();
        for (r, (flagged, human, causes, findings, decision, _)) in rows.iter().zip(&outcomes) {
            let (flagged, human) = (*flagged, *human);
            if r.label == 0 && human {
                // The combination of finding families that sent it.
                *human_causes.entry(causes.join("+")).or_default() += 1;
            }
            if let (Some(out), false) = (dump.as_mut(), findings.is_empty()) {
                use std::io::Write;
                let line = serde_json::json!({
                    "set": set, "label": r.label, "source": r.source, "lang": r.lang,
                    "decision": decision, "findings": findings,
                });
                writeln!(out, "{line}")?;
            }
            let source = if set.ends_with("_document") {
                r.source.split(':').next().unwrap_or("").to_string()
            } else {
                r.source.clone()
            };
            if r.label == 0 {
                benign.add(flagged, human);
                by_source.entry(source).or_default().add(flagged, human);
                if let Some(lang) = &r.lang {
                    by_lang.entry(lang.clone()).or_default().add(flagged, human);
                }
            } else {
                attacks.add(flagged, human);
            }
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "\n### {set} ({} rows, {:.1} s, {:.2} ms per request)\n",
            rows.len(),
            secs,
            secs * 1e3 / rows.len() as f64
        );
        if skipped > 0 {
            println!("A detector was skipped (timeout, failure or window budget) on {skipped} requests.\n");
        }
        println!("| source | benign rows | injection finding | to a human |\n|---|---|---|---|");
        for (s, c) in &by_source {
            println!("| {s} | {} | {} | {} |", c.n, pct(c.flagged, c.n), pct(c.human, c.n));
        }
        let macro_flag =
            by_source.values().map(|c| c.flagged as f64 / c.n as f64).sum::<f64>() / by_source.len().max(1) as f64;
        println!(
            "| **all benign** | {} | {} (macro over sources {:.2}%) | {} |",
            benign.n,
            pct(benign.flagged, benign.n),
            100.0 * macro_flag,
            pct(benign.human, benign.n)
        );
        if attacks.n > 0 {
            println!(
                "| **attacks (recall)** | {} | {} | {} |",
                attacks.n,
                pct(attacks.flagged, attacks.n),
                pct(attacks.human, attacks.n)
            );
        }
        if !human_causes.is_empty() {
            let list: Vec<String> = human_causes.iter().map(|(c, n)| format!("{c} {n}")).collect();
            println!("\nBenign requests sent to a human, by the findings they carried: {}", list.join(", "));
        }
        let mut worst: Vec<(&String, &Count)> = by_lang.iter().filter(|(_, c)| c.n >= 50).collect();
        worst.sort_by(|a, b| (b.1.flagged * a.1.n).cmp(&(a.1.flagged * b.1.n)));
        if !worst.is_empty() {
            let list: Vec<String> =
                worst.iter().take(8).map(|(l, c)| format!("{l} {} of {}", pct(c.flagged, c.n), c.n)).collect();
            println!("\nLanguages with the most findings (>= 50 rows): {}", list.join(", "));
        }
        summary.insert(
            set,
            serde_json::json!({
                "benign": benign.n, "benign_flagged": benign.flagged, "benign_to_human": benign.human,
                "macro_flagged": macro_flag,
                "attacks": attacks.n, "attacks_flagged": attacks.flagged, "attacks_to_human": attacks.human,
                "human_causes": human_causes, "skipped": skipped,
                "by_source": by_source.iter().map(|(k, c)| (k.clone(), serde_json::json!([c.n, c.flagged, c.human]))).collect::<BTreeMap<_, _>>(),
                "by_language": by_lang.iter().map(|(k, c)| (k.clone(), serde_json::json!([c.n, c.flagged, c.human]))).collect::<BTreeMap<_, _>>(),
            }),
        );
    }
    if let Some(mut out) = dump {
        use std::io::Write;
        out.flush()?;
    }
    println!("\nJSON {}", serde_json::to_string(&summary)?);
    Ok(())
}
