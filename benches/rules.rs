//! The rule stage (personal data, secrets, injection heuristics) on 200 B,
//! 2 KB and 20 KB texts (and the personal-data detector alone on a text
//! dense with contact details, `pii_contacts`), against a baseline measured
//! in the same run: one precompiled e-mail regex over the same text (the
//! cheapest useful filter).
//! Criterion reports time and throughput; the README records µs per KB and
//! the ratio to the baseline.
//!
//!     cargo bench --bench rules

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use warden::detect::injection::InjectionDetector;
use warden::detect::pii::PiiDetector;
use warden::detect::secrets::SecretsDetector;

/// A support-chat style paragraph: mostly benign prose with the odd number,
/// an e-mail address, a code fragment and a key-like assignment, so every
/// detector's prefilter fires now and then as in real traffic.
const PARAGRAPH: &str = "Hi team, the customer on order 88231 wrote to support@example.com about a refund of 120 EUR. \
They pasted a config line api_version = \"2024-05-01\" and said the token limit was hit at 4096. \
Can you check the deployment notes (see docs/runbook.md, step 3) and reply before 5pm? \
Also ignore whitespace changes in the diff. Thanks! ";

/// A signature block and a form as people paste them: phone numbers in
/// several national forms, identifiers with and without their names, dates
/// and amounts that must stay quiet. The personal-data detector's worst
/// ordinary case: most candidates need a closer look.
const CONTACTS: &str = "Kind regards, Dr. Anna Berg, Tel: +46 (0)8 928 571 38, Mobile: 0701 234 567, \
Fax 08-928 571 39. Office: 03.93.92.16.85 or (650) 253-0000 ext. 12. Order 2024-05-01/88231 of 1 234,50 EUR. \
BSN 111222333, NHS number 943 476 5919, PESEL 44051401359, SIN 046 454 286; invoice 0490 75 40 81. \
Wallet 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa, device 00:1A:2B:3C:4D:5E, version 10.15.7 build 20240501. ";

fn text_of(len: usize) -> String {
    repeat_to(PARAGRAPH, len)
}

fn repeat_to(paragraph: &str, len: usize) -> String {
    let mut s = String::with_capacity(len + paragraph.len());
    while s.len() < len {
        s.push_str(paragraph);
    }
    let mut end = len;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s
}

fn rules(c: &mut Criterion) {
    let pii = PiiDetector::new("US").unwrap();
    let secrets = SecretsDetector::new().unwrap();
    let injection = InjectionDetector::new().unwrap();
    let baseline = regex::Regex::new(r"(?i)\b[a-z0-9._%+\-]{1,64}@(?:[a-z0-9\-]{1,63}\.)+[a-z]{2,24}\b").unwrap();

    let mut group = c.benchmark_group("rule_stage");
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3)).sample_size(30);
    for size in [200usize, 2_000, 20_000] {
        let text = text_of(size);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("baseline_email_regex", size), &text, |b, t| {
            b.iter(|| baseline.find_iter(black_box(t)).count())
        });
        group.bench_with_input(BenchmarkId::new("pii", size), &text, |b, t| b.iter(|| pii.scan(black_box(t))));
        let contacts = repeat_to(CONTACTS, size);
        group.bench_with_input(BenchmarkId::new("pii_contacts", size), &contacts, |b, t| {
            b.iter(|| pii.scan(black_box(t)))
        });
        group.bench_with_input(BenchmarkId::new("secrets", size), &text, |b, t| b.iter(|| secrets.scan(black_box(t))));
        group.bench_with_input(BenchmarkId::new("injection", size), &text, |b, t| {
            b.iter(|| injection.scan(black_box(t)))
        });
        group.bench_with_input(BenchmarkId::new("all_rules", size), &text, |b, t| {
            b.iter(|| {
                let t = black_box(t);
                (pii.scan(t).len(), secrets.scan(t).len(), injection.scan(t).len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, rules);
criterion_main!(benches);
