//! ScoreOutput with the output checks (a bench binary that prints
//! percentiles; `cargo bench --bench output`, release build).
//!
//! The case: an output of about 1,000 characters with five documents
//! of about 1,000 characters each, over gRPC to Warden in-process (rules,
//! toxicity, grounding, leak checks, audit append). Every request's output is
//! different (new claims to encode); the documents repeat, as a RAG
//! application's do. Measured in one run:
//!
//! 1. documents cached (the default content cache);
//! 2. the baseline: the cache off, so every request re-encodes the documents;
//! 3. the same output without documents (grounding not applicable).

mod common;

use std::time::{Duration, Instant};

use common::{fmt, percentile, Server};
use warden::proto::v1 as pb;

const FACTS: &[&str] = &[
    "Personal loans at Acme Bank run for 24 months and can be repaid early without a fee.",
    "The annual interest rate is 6.5% for customers with a salary account.",
    "An arrangement fee of 150 euros is charged once, when the loan is paid out.",
    "Applications are decided within two working days after all documents arrived.",
    "Customers need a proof of income from the last three months.",
    "The smallest loan is 1,000 euros and the largest is 50,000 euros.",
    "Payments are taken on the first working day of each month.",
    "A missed payment costs a reminder fee of 10 euros.",
    "Loans can be paused for up to three months once during the term.",
    "Insurance against unemployment is optional and costs 1.2% of the loan per year.",
    "Joint loans need both applicants to sign in a branch or by video call.",
    "The bank reports loans to the national credit bureau.",
];

fn document(i: usize) -> String {
    let mut d = String::new();
    let mut k = i;
    while d.len() < 1_000 {
        d.push_str(FACTS[k % FACTS.len()]);
        d.push(' ');
        k += 5;
    }
    d
}

fn output(n: usize) -> String {
    // Sentences drawn from the facts, reworded, with a request number so no
    // two outputs share a sentence (every claim is encoded afresh).
    let mut o = String::new();
    let mut k = n;
    while o.len() < 1_000 {
        let fact = FACTS[k % FACTS.len()].trim_end_matches('.');
        o.push_str(&format!("As noted in reply r{n}x, {}{}. ", fact[..1].to_lowercase(), &fact[1..]));
        k += 7;
    }
    o
}

fn report(name: &str, mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    println!(
        "{name:<52} n={:<5} p50 {:>9}  p95 {:>9}  p99 {:>9}",
        samples.len(),
        fmt(percentile(&samples, 0.5)),
        fmt(percentile(&samples, 0.95)),
        fmt(percentile(&samples, 0.99))
    );
    percentile(&samples, 0.95)
}

fn main() {
    let rounds: usize = std::env::var("WARDEN_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let docs: Vec<pb::Document> = (0..5)
        .map(|i| pb::Document {
            id: format!("kb-{i}"),
            source: "kb".into(),
            text: document(i),
            trusted: true,
            content: vec![],
        })
        .collect();
    println!(
        "output ~{} chars, {} documents of ~{} chars, {rounds} requests per case",
        output(0).len(),
        docs.len(),
        docs[0].text.len()
    );
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let mut p95 = Vec::new();
        for (name, cache, with_docs) in [
            ("documents cached (default)", 4_096usize, true),
            ("baseline: cache off, documents re-encoded", 0, true),
            ("no documents (grounding not applicable)", 4_096, false),
        ] {
            let server = Server::start(|c| c.model.cache_entries = cache).await;
            let mut client = server.client.clone();
            let request = |n: usize| pb::ScoreOutputRequest {
                context: Some(pb::RequestContext { application: "bench".into(), ..Default::default() }),
                text: output(n),
                input: "What are the conditions of a personal loan?".into(),
                system_prompt: String::new(),
                documents: if with_docs { docs.clone() } else { vec![] },
                canaries: vec![],
            };
            let t = Instant::now();
            let first = client.score_output(request(1_000_000)).await.unwrap().into_inner();
            println!("{name}: first request {} ({} findings)", fmt(t.elapsed()), first.findings.len());
            let mut samples = Vec::with_capacity(rounds);
            for n in 0..rounds {
                let t = Instant::now();
                client.score_output(request(n)).await.unwrap();
                samples.push(t.elapsed());
            }
            p95.push(report(name, samples));
            server.stop().await;
        }
        println!("p95 with the document cache / without: {:.2}x", p95[0].as_secs_f64() / p95[1].as_secs_f64());
    });
}
