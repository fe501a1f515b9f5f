//! Audit log benchmark (a bench binary that prints throughput and
//! percentiles; run with `cargo bench --bench audit`, release build):
//!
//! 1. Durable appends per second at 1, 8 and 64 concurrent writers, against a
//!    baseline measured in the same run: one `write` + `fdatasync` per record
//!    on the same disk (what durability costs without group commit).
//! 2. A log of `WARDEN_BENCH_RECORDS` records (default 1,000,000): time to
//!    build it, to reopen it (replay), to verify it, inclusion-proof latency,
//!    and query latency from the index against a full scan of the same log.
//!
//! Timings are wall-clock on whatever machine runs it; the README records
//! the numbers and the machine.

mod common;

use common::{fmt, percentile};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::value::RawValue;
use warden::audit::journal::{default_key_path, read_public_key, verify, AuditLog, Query};
use warden::audit::merkle::verify_inclusion;
use warden::audit::{Entry, Journal};
use warden::config::AuditConfig;
use warden::scoring::Context;

fn event(i: u64, sessions: u64) -> Entry {
    Entry::ClientEvent {
        event_kind: "tool_call".into(),
        client_event_id: format!("e-{i}"),
        context: Context {
            tenant: "acme".into(),
            application: "bench".into(),
            session_id: format!("session-{}", i % sessions),
            ..Context::default()
        },
        attributes: RawValue::from_string(format!(
            r#"{{"gen_ai.tool.name":"tool_{}","gen_ai.tool.call.arguments":"{{\"order\":{i},\"amount\":{}}}"}}"#,
            i % 50,
            i % 997
        ))
        .unwrap(),
        occurred_at: None,
    }
}

/// One record, one write, one fdatasync: durability without group commit.
fn baseline_fsync_per_record(dir: &Path, window: Duration) -> f64 {
    let path = dir.join("baseline.jsonl");
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&path).unwrap();
    let line = vec![b'x'; 400];
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < window {
        f.write_all(&line).unwrap();
        f.sync_data().unwrap();
        n += 1;
    }
    n as f64 / started.elapsed().as_secs_f64()
}

async fn appends(dir: &Path, writers: usize, window: Duration) -> (f64, Vec<Duration>) {
    let log = Arc::new(AuditLog::open(dir, &AuditConfig::default()).unwrap());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = w as u64;
            while started.elapsed() < window {
                let t = Instant::now();
                log.append(event(i, 1000)).await.unwrap();
                lat.push(t.elapsed());
                i += writers as u64;
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let rate = lat.len() as f64 / started.elapsed().as_secs_f64();
    log.close().unwrap();
    lat.sort();
    (rate, lat)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    let records: u64 = std::env::var("WARDEN_BENCH_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let root = tempfile::tempdir_in(std::env::var("WARDEN_BENCH_DIR").unwrap_or_else(|_| "target".into())).unwrap();
    let window = Duration::from_secs(3);

    println!("== durable appends ({}s per row)", window.as_secs());
    let base = baseline_fsync_per_record(root.path(), window);
    println!("baseline write+fdatasync per record: {base:.0} records/s");
    println!("{:>8} {:>14} {:>10} {:>10} {:>10} {:>12}", "writers", "records/s", "p50", "p99", "max", "vs baseline");
    for writers in [1usize, 8, 64] {
        let dir = root.path().join(format!("w{writers}"));
        let (rate, lat) = appends(&dir, writers, window).await;
        println!(
            "{writers:>8} {rate:>14.0} {:>10} {:>10} {:>10} {:>11.1}x",
            fmt(percentile(&lat, 0.5)),
            fmt(percentile(&lat, 0.99)),
            fmt(*lat.last().unwrap()),
            rate / base
        );
    }

    println!("\n== a log of {records} records");
    let dir = root.path().join("big");
    let sessions = records / 10;
    let log = Arc::new(AuditLog::open(&dir, &AuditConfig::default()).unwrap());
    let started = Instant::now();
    let mut tasks = Vec::new();
    let writers = 256u64;
    for w in 0..writers {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while i < records {
                log.append(event(i, sessions)).await.unwrap();
                i += writers;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let build = started.elapsed();
    log.close().unwrap();
    drop(log);
    let bytes: u64 =
        std::fs::read_dir(dir.join("audit/segments")).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
    println!(
        "built with {writers} writers in {:.1} s ({:.0} durable records/s), {:.0} MB on disk",
        build.as_secs_f64(),
        records as f64 / build.as_secs_f64(),
        bytes as f64 / 1e6
    );

    let t = Instant::now();
    let log = AuditLog::open(&dir, &AuditConfig::default()).unwrap();
    let open = t.elapsed();
    println!("reopen (replay, check chain, rebuild tree and index): {:.2} s", open.as_secs_f64());

    let key = read_public_key(&default_key_path(&dir)).unwrap();
    let t = Instant::now();
    let window = warden::audit::journal::Timeliness::window(&AuditConfig::default());
    let report = verify(&dir, &key, warden::audit::journal::Timeliness::Whole(window)).unwrap();
    let v = t.elapsed();
    println!(
        "verify: {} records in {:.2} s = {:.0} records/s, {:.0} MB/s",
        report.records,
        v.as_secs_f64(),
        report.records as f64 / v.as_secs_f64(),
        bytes as f64 / 1e6 / v.as_secs_f64()
    );

    let size = log.size();
    let root_hash = log.root(size).unwrap();
    let mut gen = Vec::new();
    let mut check = Vec::new();
    for k in 0..2000u64 {
        let idx = (k * 7919 * 104729) % size;
        let t = Instant::now();
        let proof = log.inclusion_proof(idx, size).unwrap();
        gen.push(t.elapsed());
        let leaf = log.record(idx).unwrap().unwrap().leaf;
        let t = Instant::now();
        verify_inclusion(&leaf, idx, size, &proof, &root_hash).unwrap();
        check.push(t.elapsed());
    }
    gen.sort();
    check.sort();
    println!(
        "inclusion proof at size {size}: generate p50 {} p99 {}, verify p50 {} p99 {}",
        fmt(percentile(&gen, 0.5)),
        fmt(percentile(&gen, 0.99)),
        fmt(percentile(&check, 0.5)),
        fmt(percentile(&check, 0.99))
    );
    let mut cons = Vec::new();
    for k in 1..500u64 {
        let first = (k * 104729) % size + 1;
        let t = Instant::now();
        log.consistency_proof(first, size).unwrap();
        cons.push(t.elapsed());
    }
    cons.sort();
    println!("consistency proof: generate p50 {} p99 {}", fmt(percentile(&cons, 0.5)), fmt(percentile(&cons, 0.99)));

    // Query: one session's records from the index, against a full scan of
    // the same log for the same answer (the baseline without an index).
    let mut indexed = Vec::new();
    for k in 0..1000u64 {
        let q = Query { session_id: format!("session-{}", (k * 7919) % sessions), ..Query::default() };
        let t = Instant::now();
        let hits = log.query(&q);
        let seqs: Vec<_> = hits.iter().map(|s| log.record(*s).unwrap().unwrap()).collect();
        indexed.push(t.elapsed());
        assert_eq!(seqs.len() as u64, records / sessions);
    }
    indexed.sort();
    let mut scans = Vec::new();
    for k in 0..3u64 {
        let wanted = format!("\"gen_ai.conversation.id\":\"session-{}\"", (k * 7919) % sessions);
        let t = Instant::now();
        let mut found = 0;
        for seq in 0..size {
            let r = log.record(seq).unwrap().unwrap();
            if std::str::from_utf8(&r.canonical).unwrap().contains(&wanted) {
                found += 1;
            }
        }
        scans.push(t.elapsed());
        assert_eq!(found, records / sessions);
    }
    scans.sort();
    println!(
        "query one session (10 records, read back): index p50 {} p99 {}; full scan p50 {} ({:.0}x slower)",
        fmt(percentile(&indexed, 0.5)),
        fmt(percentile(&indexed, 0.99)),
        fmt(percentile(&scans, 0.5)),
        percentile(&scans, 0.5).as_secs_f64() / percentile(&indexed, 0.5).as_secs_f64()
    );
    log.close().unwrap();
}
