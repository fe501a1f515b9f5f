//! Measures the rule detectors on the held-out evaluation sets in
//! `../shared/data/` (never used to write or tune the rules):
//!
//! - personal data: span-level precision and recall per type on Presidio's
//!   synthetic evaluation set (`pii/synth_dataset_v2.json`);
//! - prompt injection heuristics: precision, recall, F1 and false-positive
//!   rate on `injection/eval.jsonl`, false positives per source, and the
//!   false-positive rate on XSTest's safe prompts.
//!
//!     cargo run --release --example eval_rules [-- DATA_DIR]
//!
//! With `BENIGN=rows.jsonl` (one `{"text", "source"}` per line: benign text
//! that holds no personal data, e.g. a sample of the test splits that
//! `models/train/benign.py` assigns), it also prints how often each
//! personal-data category fires on it. `ONLY=pii` skips the injection sets;
//! `SHOW=category` prints that category's false positives with their
//! surroundings.
//!
//! Prints Markdown; `models/cards/rule-detectors.md` records the result.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use warden::detect::injection::InjectionDetector;
use warden::detect::pii::PiiDetector;

#[derive(serde::Deserialize)]
struct PiiDoc {
    full_text: String,
    spans: Vec<PiiSpan>,
}

#[derive(serde::Deserialize)]
struct PiiSpan {
    entity_type: String,
    start_position: usize,
    end_position: usize,
}

#[derive(serde::Deserialize)]
struct Labelled {
    text: String,
    #[serde(default)]
    label: u8,
    #[serde(default)]
    source: String,
}

fn overlaps(a: &std::ops::Range<usize>, b: &std::ops::Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

/// A span with up to 40 bytes either side, the span in brackets.
fn around(text: &str, span: &std::ops::Range<usize>) -> String {
    let (mut a, mut b) = (span.start.saturating_sub(40), (span.end + 40).min(text.len()));
    while !text.is_char_boundary(a) {
        a -= 1;
    }
    while !text.is_char_boundary(b) {
        b += 1;
    }
    format!("{:?}", format!("{}[[{}]]{}", &text[a..span.start], &text[span.clone()], &text[span.end..b]))
}

/// The byte offset of the `chars`-th character of `text`.
fn byte_offset(text: &str, chars: usize) -> usize {
    text.char_indices().nth(chars).map_or(text.len(), |(i, _)| i)
}

fn ratio(n: usize, d: usize) -> String {
    if d == 0 {
        "n/a".into()
    } else {
        format!("{:.3}", n as f64 / d as f64)
    }
}

fn main() {
    let data: PathBuf = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("../shared/data"));

    // --- personal data
    let map: BTreeMap<&str, &str> = [
        ("CREDIT_CARD", "pii.credit_card"),
        ("PHONE_NUMBER", "pii.phone"),
        ("EMAIL_ADDRESS", "pii.email"),
        ("IBAN_CODE", "pii.iban"),
        ("US_SSN", "pii.us_ssn"),
        ("IP_ADDRESS", "pii.ip_address"),
        ("US_DRIVER_LICENSE", "pii.us_driver_license"),
    ]
    .into_iter()
    .collect();
    let docs: Vec<PiiDoc> =
        serde_json::from_slice(&std::fs::read(data.join("pii/synth_dataset_v2.json")).expect("pii eval set")).unwrap();
    let pii = PiiDetector::new("US").unwrap();
    // category -> (true positives among findings, findings, gold found, gold)
    let mut stats: BTreeMap<&str, (usize, usize, usize, usize)> = BTreeMap::new();
    // Findings of categories the corpus does not label, by category.
    let mut unlabelled: BTreeMap<String, usize> = BTreeMap::new();
    let show = std::env::var("SHOW").ok();
    let started = Instant::now();
    let mut bytes = 0;
    for doc in &docs {
        bytes += doc.full_text.len();
        let found = pii.scan(&doc.full_text);
        for f in &found {
            if !map.values().any(|c| *c == f.category) {
                *unlabelled.entry(f.category.clone()).or_default() += 1;
            }
        }
        for (gold_type, cat) in &map {
            // Presidio's offsets count characters; findings count bytes.
            let gold: Vec<std::ops::Range<usize>> = doc
                .spans
                .iter()
                .filter(|s| s.entity_type == *gold_type)
                .map(|s| byte_offset(&doc.full_text, s.start_position)..byte_offset(&doc.full_text, s.end_position))
                .collect();
            let mine: Vec<&std::ops::Range<usize>> =
                found.iter().filter(|f| f.category == *cat).map(|f| &f.span).collect();
            let e = stats.entry(cat).or_default();
            if show.as_deref() == Some(*cat) {
                for m in mine.iter().filter(|m| !gold.iter().any(|g| overlaps(g, m))) {
                    println!("false positive: {}", around(&doc.full_text, m));
                }
            }
            e.0 += mine.iter().filter(|m| gold.iter().any(|g| overlaps(g, m))).count();
            e.1 += mine.len();
            e.2 += gold.iter().filter(|g| mine.iter().any(|m| overlaps(g, m))).count();
            e.3 += gold.len();
        }
    }
    let elapsed = started.elapsed();
    println!("## Personal data (Presidio synth_dataset_v2, {} documents)\n", docs.len());
    println!("| category | gold spans | findings | precision | recall |");
    println!("|---|---|---|---|---|");
    for (cat, (tp, n, found, gold)) in &stats {
        println!("| `{cat}` | {gold} | {n} | {} | {} |", ratio(*tp, *n), ratio(*found, *gold));
    }
    println!("\nFindings of categories the set does not label: {unlabelled:?}");
    println!(
        "Scan time: {:.1} µs per document, {:.1} µs per KB.",
        elapsed.as_secs_f64() * 1e6 / docs.len() as f64,
        elapsed.as_secs_f64() * 1e6 / (bytes as f64 / 1024.0)
    );

    if let Ok(path) = std::env::var("BENIGN") {
        let rows: Vec<Labelled> = std::fs::read_to_string(&path)
            .expect("BENIGN rows")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        // category -> texts it fired on, by surface (user, document)
        let mut fired: BTreeMap<String, [usize; 2]> = BTreeMap::new();
        let mut totals = [0usize; 2];
        for r in &rows {
            let surface = usize::from(r.source.starts_with("document"));
            totals[surface] += 1;
            let found = pii.scan(&r.text);
            for f in found.iter().filter(|f| show.as_deref() == Some(f.category.as_str())) {
                println!("on benign {}: {}", r.source, around(&r.text, &f.span));
            }
            let mut cats: Vec<String> = found.into_iter().map(|f| f.category).collect();
            cats.sort();
            cats.dedup();
            for c in cats {
                fired.entry(c).or_default()[surface] += 1;
            }
        }
        println!("\n## Personal data on benign text ({path}: {} user texts, {} documents)\n", totals[0], totals[1]);
        println!("| category | user texts with a finding | documents with a finding |");
        println!("|---|---|---|");
        for (c, [u, d]) in &fired {
            println!("| `{c}` | {u} ({}) | {d} ({}) |", ratio(*u, totals[0]), ratio(*d, totals[1]));
        }
    }
    if std::env::var("ONLY").is_ok_and(|o| o == "pii") {
        return;
    }

    // --- injection heuristics
    let injection = InjectionDetector::new().unwrap();
    let flagged =
        |t: &str| injection.scan(t).iter().any(|f| f.category == "prompt_injection" || f.category == "jailbreak");
    let rows: Vec<Labelled> = std::fs::read_to_string(data.join("injection/eval.jsonl"))
        .expect("injection eval set")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (mut tp, mut fp, mut tn, mut fn_) = (0usize, 0usize, 0usize, 0usize);
    let mut by_source: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new(); // (rows, flagged, positives)
    for r in &rows {
        let p = flagged(&r.text);
        let source = r.source.split(':').next_back().unwrap_or_default().to_string();
        let e = by_source.entry(source).or_default();
        e.0 += 1;
        e.1 += p as usize;
        e.2 += r.label as usize;
        match (p, r.label == 1) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, false) => tn += 1,
            (false, true) => fn_ += 1,
        }
    }
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fn_).max(1) as f64;
    let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
    println!("\n## Prompt-injection heuristics (injection/eval.jsonl, {} rows)\n", rows.len());
    println!("| precision | recall | F1 | false-positive rate | TP | FP | TN | FN |");
    println!("|---|---|---|---|---|---|---|---|");
    println!("| {precision:.3} | {recall:.3} | {f1:.3} | {} | {tp} | {fp} | {tn} | {fn_} |", ratio(fp, fp + tn));
    println!("\n| source | rows | attacks | flagged |");
    println!("|---|---|---|---|");
    for (source, (n, flagged, positives)) in &by_source {
        println!("| {source} | {n} | {positives} | {flagged} |");
    }

    let mut xstest = csv::Reader::from_path(data.join("overdefence/xstest/xstest_prompts.csv")).expect("xstest");
    let (mut prompts, mut safe, mut safe_flagged) = (0, 0, 0);
    for row in xstest.records() {
        let row = row.expect("xstest row");
        prompts += 1;
        if row.get(3) == Some("safe") {
            safe += 1;
            safe_flagged += flagged(row.get(1).unwrap_or_default()) as usize;
        }
    }
    println!(
        "\nXSTest ({prompts} prompts): {safe_flagged} of {safe} safe prompts flagged (false-positive rate {}).",
        ratio(safe_flagged, safe)
    );
}
