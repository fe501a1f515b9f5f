//! Rules alone, the model alone, both, and the cascade, side by side on the
//! held-out evaluation sets, through the code paths Warden serves with.
//!
//! ```text
//! python3 models/train/eval_sets.py --out /tmp/warden-eval
//! cargo run --release --example classifier_eval -- /tmp/warden-eval
//! ```
//!
//! Prints a markdown table (precision, recall, F1, false-positive rate, the
//! NotInject, BIPIA-clean and XSTest-safe pass rates) and what the cascade
//! saves. "Flagged" means what moves a decision: a rule finding scoring at
//! least 0.40 (the default policy's medium level at severity 1.0), a model
//! score at or above the manifest's flag threshold. Documents (BIPIA) are
//! read by the document head at its thresholds, as served; a model without
//! one reads them with its injection head.

use std::sync::Arc;
use std::time::Instant;

use warden::detect::injection::InjectionDetector;
use warden::detect::{Detector, ScanItem, Source};
use warden::model::{Model, ModelConfig};

#[derive(serde::Deserialize)]
struct Row {
    text: String,
    label: u8,
    source: String,
}

const RULE_FLAG: f64 = 0.40;
const CASCADE: f64 = 0.85;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: classifier_eval DIR (from models/train/eval_sets.py)")?;
    let rules = InjectionDetector::new()?;
    // `MAX_BATCH=1` scores every window alone (bit-reproducible scores); the
    // default is the served configuration.
    let max_batch =
        std::env::var("MAX_BATCH").ok().and_then(|v| v.parse().ok()).unwrap_or(ModelConfig::default().max_batch);
    // Texts are scored 32 per call; every window of every text is read (the
    // served default caps one request at `model.max_windows`).
    let config = ModelConfig { cache_entries: 0, max_batch, max_windows: usize::MAX, ..Default::default() };
    let model = Arc::new(Model::load(&config)?);
    let (input_flag, document_flag) = (model.thresholds().injection.flag, model.thresholds().document().flag);
    println!(
        "model {} (injection flag {input_flag}, document flag {document_flag}, document head: {}); \
         rules flag >= {RULE_FLAG}; cascade: rules >= {CASCADE} skip the model\n",
        model.version(),
        model.has_document_head()
    );
    println!("| set | rows | method | precision | recall | F1 | FPR | benign pass |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut cascade_lines = Vec::new();
    for set in ["injection_eval", "bipia_indirect", "xstest"] {
        let rows: Vec<Row> = std::fs::read_to_string(format!("{dir}/{set}.jsonl"))?
            .lines()
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()?;
        let document = set == "bipia_indirect";
        let source = if document { Source::Document { id: "eval".into(), trusted: false } } else { Source::Input };
        let flag = if document { document_flag } else { input_flag };
        let mut rule_scores = Vec::with_capacity(rows.len());
        let t = Instant::now();
        for r in &rows {
            let item = ScanItem { source: source.clone(), text: r.text.clone() };
            let best = rules
                .detect(&item, None)?
                .iter()
                .filter(|f| f.category == "prompt_injection" || f.category == "jailbreak")
                .map(|f| f.score)
                .fold(0.0, f64::max);
            rule_scores.push(best);
        }
        let rules_time = t.elapsed();
        let t = Instant::now();
        let mut model_scores = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(32) {
            for s in model.score_blocking(chunk.iter().map(|r| r.text.clone()).collect())? {
                let head = |h: &warden::model::HeadOutput| if document { h.document } else { h.injection };
                model_scores.push(s.max_by(head).map_or(0.0, |b| b.0));
            }
        }
        let model_time = t.elapsed();
        let labels: Vec<bool> = rows.iter().map(|r| r.label == 1).collect();
        let by_rules: Vec<bool> = rule_scores.iter().map(|&s| s >= RULE_FLAG).collect();
        let by_model: Vec<bool> = model_scores.iter().map(|&s| s >= flag).collect();
        let both: Vec<bool> = by_rules.iter().zip(&by_model).map(|(a, b)| *a || *b).collect();
        let decided: Vec<bool> = rule_scores.iter().map(|&s| s >= CASCADE).collect();
        let cascade: Vec<bool> = decided.iter().zip(&both).map(|(d, b)| *d || *b).collect();
        for (name, pred) in [("rules", &by_rules), ("model", &by_model), ("both", &both), ("cascade", &cascade)] {
            let m = metrics(&labels, pred);
            let pass = benign_pass(&rows, pred, set);
            println!(
                "| {set} | {} | {name} | {} | {} | {} | {} | {pass} |",
                rows.len(),
                pct(m.0),
                pct(m.1),
                fmt3(m.2),
                pct(m.3)
            );
        }
        let skipped = decided.iter().filter(|d| **d).count();
        let attacks_skipped = decided.iter().zip(&labels).filter(|(d, l)| **d && **l).count();
        let model_alone_missed_on_skipped =
            decided.iter().zip(&labels).zip(&by_model).filter(|((d, l), m)| **d && **l && !**m).count();
        cascade_lines.push(format!(
            "- {set}: {skipped} of {} texts ({}) skip the encoder ({attacks_skipped} of them attacks, \
             {model_alone_missed_on_skipped} of which the model alone would have missed); recall cost against \
             rules+model: 0 by construction (a skipped text is flagged by the rules). Rules {:.1} ms for the set, \
             model {:.1} s ({:.1} ms per text, 2 workers).",
            rows.len(),
            pct(skipped as f64 / rows.len() as f64),
            rules_time.as_secs_f64() * 1e3,
            model_time.as_secs_f64(),
            model_time.as_secs_f64() * 1e3 / rows.len() as f64
        ));
    }
    println!("\nCascade:\n{}", cascade_lines.join("\n"));
    Ok(())
}

/// (precision, recall, F1, false-positive rate).
fn metrics(labels: &[bool], pred: &[bool]) -> (f64, f64, f64, f64) {
    let count = |l: bool, p: bool| labels.iter().zip(pred).filter(|(a, b)| **a == l && **b == p).count() as f64;
    let (tp, fp, fne, tn) = (count(true, true), count(false, true), count(true, false), count(false, false));
    let div = |a: f64, b: f64| if b == 0.0 { f64::NAN } else { a / b };
    let (p, r) = (div(tp, tp + fp), div(tp, tp + fne));
    (p, r, div(2.0 * p * r, p + r), div(fp, fp + tn))
}

/// The benign subset a set is known for: NotInject in the injection eval,
/// clean documents in BIPIA, safe prompts in XSTest.
fn benign_pass(rows: &[Row], pred: &[bool], set: &str) -> String {
    let subset: Vec<bool> = rows
        .iter()
        .zip(pred)
        .filter(|(r, _)| match set {
            "injection_eval" => r.source.ends_with("not_inject"),
            _ => r.label == 0,
        })
        .map(|(_, p)| !*p)
        .collect();
    let name = match set {
        "injection_eval" => "NotInject",
        "bipia_indirect" => "clean docs",
        _ => "safe",
    };
    format!("{} {name}", pct(subset.iter().filter(|p| **p).count() as f64 / subset.len().max(1) as f64))
}

fn pct(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else {
        format!("{:.1}%", 100.0 * x)
    }
}

fn fmt3(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else {
        format!("{x:.3}")
    }
}
