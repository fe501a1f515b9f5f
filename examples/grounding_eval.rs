//! Measures the `ungrounded` check on TruthfulQA (evaluation only; nothing
//! was tuned on it): for each question the "document" is the question and its
//! best answer; every other correct answer is a claim that should pass, every
//! incorrect answer one that should be flagged. Precision, recall and the
//! false-positive rate are for "flagged as ungrounded", overall and per kind
//! of evidence (quantities, names, semantic support), and how many claims
//! below the similarity threshold passed because their values ground them.
//!
//! ```text
//! cargo run --release --example grounding_eval -- ../shared/data/grounding/truthfulqa/TruthfulQA.csv
//! ```
//!
//! HaluEval's general set (`grounding/halueval/general_data.json`) has no
//! documents behind its responses, so there is nothing to ground against: a
//! document-grounding check answers "not applicable" for all of it.

use std::sync::Arc;

use warden::model::{Model, ModelConfig};
use warden::output::grounding::{check, claims, passages, Check, Context};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: grounding_eval TruthfulQA.csv")?;
    let threshold: f32 = std::env::var("SUPPORT_SIMILARITY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(warden::output::OutputConfig::default().support_similarity);
    let model = Arc::new(Model::load(&ModelConfig::default())?);
    let mut reader = csv::Reader::from_path(&path)?;
    let (mut tp, mut fp, mut fn_, mut tn) = (0usize, 0usize, 0usize, 0usize);
    let mut by_reason = std::collections::BTreeMap::<&str, (usize, usize)>::new();
    // (incorrect, correct) claims that passed below the threshold.
    let mut grounded_by_value = (0usize, 0usize);
    let mut questions = 0;
    for row in reader.records() {
        let row = row?;
        let (question, best, correct, incorrect) = (&row[2], &row[3], &row[4], &row[5]);
        let document = format!("{question} {}.", best.trim_end_matches('.'));
        let docs = vec![("document:best".to_string(), document.as_str())];
        let ps = passages(&docs);
        let split = |s: &str| -> Vec<String> {
            s.split(';').map(|x| x.trim().trim_end_matches('.').to_string() + ".").filter(|x| x.len() > 2).collect()
        };
        let mut cases: Vec<(String, bool)> = Vec::new();
        for c in split(correct) {
            if c.trim_end_matches('.') != best.trim_end_matches('.') {
                cases.push((c, false));
            }
        }
        for c in split(incorrect) {
            cases.push((c, true));
        }
        questions += 1;
        let passage_texts: Vec<String> = ps.iter().map(|p| p.text.to_string()).collect();
        let pe = model.embed_blocking(passage_texts)?;
        for (answer, ungrounded) in cases {
            let cl = claims(&answer);
            if cl.claims.is_empty() {
                continue; // fewer than four words: not a claim
            }
            let ce = model.embed_blocking(cl.claims.iter().map(|c| c.text.to_string()).collect())?;
            let f = check(&Check {
                claims: &cl,
                claim_embeddings: Some(&ce),
                passages: &ps,
                passage_embeddings: Some(&pe),
                documents: &docs,
                context: Context { input: question, system_prompt: "" },
                min_similarity: threshold,
            });
            let flagged = !f.is_empty();
            let closest = pe.iter().map(|p| warden::output::text::cosine(&ce[0], p)).fold(f32::MIN, f32::max);
            if !flagged && cl.claims.len() == 1 && closest < threshold {
                if ungrounded {
                    grounded_by_value.0 += 1;
                } else {
                    grounded_by_value.1 += 1;
                }
            }
            match (ungrounded, flagged) {
                (true, true) => tp += 1,
                (false, true) => fp += 1,
                (true, false) => fn_ += 1,
                (false, false) => tn += 1,
            }
            if let Some(first) = f.first() {
                let moved = first.message.contains("not in the passage this claim matches");
                let reason = if first.message.contains("no document passage") {
                    "semantic"
                } else if first.message.starts_with("names") && moved {
                    "names from another passage"
                } else if first.message.starts_with("names") {
                    "names"
                } else if moved {
                    "quantities from another passage"
                } else {
                    "quantities"
                };
                let e = by_reason.entry(reason).or_default();
                if ungrounded {
                    e.0 += 1;
                } else {
                    e.1 += 1;
                }
            }
        }
    }
    let p = tp as f64 / (tp + fp).max(1) as f64;
    let r = tp as f64 / (tp + fn_).max(1) as f64;
    println!(
        "TruthfulQA: {questions} questions, {} claims ({} incorrect, {} correct)",
        tp + fp + fn_ + tn,
        tp + fn_,
        fp + tn
    );
    println!("support_similarity {threshold}, model {}", model.version());
    println!(
        "precision {:.3}  recall {:.3}  F1 {:.3}  false-positive rate {:.3}",
        p,
        r,
        2.0 * p * r / (p + r).max(f64::EPSILON),
        fp as f64 / (fp + tn).max(1) as f64
    );
    for (reason, (hit, false_alarm)) in by_reason {
        println!("  flagged by {reason}: {hit} incorrect answers, {false_alarm} correct ones");
    }
    println!(
        "  passed below the threshold, grounded by their values: {} incorrect answers, {} correct ones",
        grounded_by_value.0, grounded_by_value.1
    );
    Ok(())
}
