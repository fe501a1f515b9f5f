//! The rule stage (personal data, secrets, injection heuristics) on 200 B,
//! 2 KB and 20 KB texts, against a baseline measured in the same run: one
//! precompiled e-mail regex over the same text (the cheapest useful filter).
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

fn text_of(len: usize) -> String {
    let mut s = String::with_capacity(len + PARAGRAPH.len());
    while s.len() < len {
        s.push_str(PARAGRAPH);
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
