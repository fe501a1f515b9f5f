//! Resident memory of the rule detectors under a long stream of distinct
//! texts: their regexes build lazy DFAs as they search, one cache per thread
//! that runs a regex at the same time as another, so RSS grows until each
//! cache is as large as its inputs make it (or reaches its capacity). Does
//! it level off, and where?
//!
//! Each variant runs in its own child process, in the same run: the
//! baseline scans on one thread; the other on four (the detector slots of
//! a 2-core server, `CpuSlots`). Each child builds the three rule detectors
//! (personal data, secrets, injection heuristics), then runs `ROUNDS`
//! rounds, each scanning `TEXTS` texts per thread that no round has seen
//! (the traffic fixture's texts joined in pairs, with reference numbers,
//! addresses and amounts that change with the round), and prints RSS after
//! loading and after each round.
//!
//! `cargo bench --bench regex_memory` (`ROUNDS`, `TEXTS` override).

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use warden::detect::injection::InjectionDetector;
use warden::detect::pii::PiiDetector;
use warden::detect::secrets::SecretsDetector;

const VARIANT: &str = "WARDEN_REGEX_MEMORY_THREADS";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn mib() -> f64 {
    common::rss_bytes() / (1024.0 * 1024.0)
}

fn fixture_texts() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/traffic/traffic.jsonl");
    std::fs::read_to_string(path)
        .expect("the traffic fixture")
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_string))
        .collect()
}

/// Text `i` of round `round` on thread `thread`: two fixture texts and the
/// kind of details real messages carry, different every time.
fn text(base: &[String], round: usize, thread: usize, i: usize) -> String {
    let n = round * 1_000_003 + thread * 10_007 + i;
    let a = &base[n % base.len()];
    let b = &base[(n / 7 + 13) % base.len()];
    format!(
        "{a} Ref {n:08}-{}. Mail j.doe{n}@example{}.com or call +44 20 7946 {:04}. {b} Total EUR {}.{:02}, \
         order #{} on 2026-{:02}-{:02}.",
        n % 97,
        n % 13,
        n % 10_000,
        n % 5_000,
        n % 100,
        n * 31 % 1_000_000,
        n % 12 + 1,
        n % 28 + 1
    )
}

fn child(threads: usize) {
    let (rounds, texts) = (env("ROUNDS", 8), env("TEXTS", 3_000));
    let started = Instant::now();
    let pii = Arc::new(PiiDetector::new("US").expect("pii"));
    let secrets = Arc::new(SecretsDetector::new().expect("secrets"));
    let injection = Arc::new(InjectionDetector::new().expect("injection"));
    let base = Arc::new(fixture_texts());
    let mut line = vec![format!("{:.0}", mib())];
    for round in 0..rounds {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (pii, secrets, injection, base) = (pii.clone(), secrets.clone(), injection.clone(), base.clone());
                std::thread::spawn(move || {
                    let mut found = 0usize;
                    for i in 0..texts {
                        let s = text(&base, round, t, i);
                        found += pii.scan(&s).len() + secrets.scan(&s).len() + injection.scan(&s).len();
                    }
                    found
                })
            })
            .collect();
        let found: usize = workers.into_iter().map(|w| w.join().expect("worker")).sum();
        assert!(found > 0, "the texts carry personal data");
        line.push(format!("{:.0}", mib()));
    }
    println!("{threads} thread(s)\t{}\t{:.1}", line.join("\t"), started.elapsed().as_secs_f64());
}

fn main() {
    if let Ok(threads) = std::env::var(VARIANT) {
        child(threads.parse().expect("thread count"));
        return;
    }
    let me = std::env::current_exe().expect("own path");
    let rounds = env("ROUNDS", 8);
    println!(
        "RSS in MiB: after building the rule detectors, after each of {rounds} rounds of {} new texts per thread",
        env("TEXTS", 3_000)
    );
    let mut header = vec!["variant".to_string(), "loaded".to_string()];
    header.extend((1..=rounds).map(|r| format!("round {r}")));
    header.push("seconds".to_string());
    println!("{}", header.join("\t"));
    for threads in [1, 4] {
        let out = Command::new(&me).env(VARIANT, threads.to_string()).output().expect("child runs");
        assert!(out.status.success(), "{threads} threads: {}", String::from_utf8_lossy(&out.stderr));
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
    println!("baseline: 1 thread (one cache per regex); 4 threads: the detector slots of a 2-core server");
}
