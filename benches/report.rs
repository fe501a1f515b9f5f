//! Compliance report benchmark (a bench binary that prints percentiles; run
//! with `cargo bench --bench report`, release build).
//!
//! Seeds a simulated six months (`WARDEN_BENCH_PER_DAY` decisions a day,
//! default 200, plus their approvals, client events and daily checkpoints)
//! and measures, for each framework, the whole of `generate` (read the
//! period, compute every indicator, render HTML and charts, record the
//! report, sign a checkpoint, build the bundle) against a baseline in the
//! same run: reading and parsing every record of the period, which any
//! report over it has to do. Also prints the report sizes and the process's
//! peak resident memory, before and after the reports (the log's own index
//! is in memory too). `WARDEN_BENCH_RUNS` (default 7) sets runs per case.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{fmt, percentile};
use warden::audit::journal::{AuditLog, Query};
use warden::compliance::fixture::{seed, Options};
use warden::compliance::{ComplianceConfig, Framework, ReportRequest};
use warden::config::AuditConfig;

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let per_day: u32 = std::env::var("WARDEN_BENCH_PER_DAY").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let runs: usize = std::env::var("WARDEN_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(7);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = AuditConfig { origin: Some("warden/bench".into()), retention_seconds: 0, ..AuditConfig::default() };
    let opts = Options { per_day, ..Options::default() };
    let started = Instant::now();
    let seeded = rt.block_on(seed(dir.path(), &config, &opts)).unwrap();
    println!(
        "seeded {} records ({} decisions, {} approvals asked for, {} checkpoints) over {} days in {:.1} s",
        seeded.records,
        seeded.decisions,
        seeded.approvals_requested,
        seeded.checkpoints,
        opts.days,
        started.elapsed().as_secs_f64()
    );
    println!("peak resident memory after seeding: {:.0} MiB", peak_rss_mib());
    let log = Arc::new(AuditLog::open(dir.path(), &config).unwrap());
    let (from, to) = ReportRequest::period("2026-05-01", "2026-10-31").unwrap();
    let (f, t) = (from.unix_timestamp_nanos(), to.unix_timestamp_nanos());

    let mut baseline = Vec::new();
    let mut read = 0;
    for _ in 0..runs {
        let s = Instant::now();
        let seqs = log.query(&Query {
            tenant: "acme".into(),
            from_unix_nanos: Some(f),
            to_unix_nanos: Some(t),
            ..Query::default()
        });
        read = 0;
        for seq in seqs {
            let r = log.record(seq).unwrap().unwrap();
            let v: serde_json::Value = serde_json::from_slice(&r.canonical).unwrap();
            read += usize::from(v["body"].is_object());
        }
        baseline.push(s.elapsed());
    }
    baseline.sort();
    let base = percentile(&baseline, 0.5);
    println!(
        "\nbaseline: read and parse the period's {read} records: p50 {} max {}",
        fmt(base),
        fmt(*baseline.last().unwrap())
    );
    println!("\n| framework | p50 | max | p50 / baseline | report.html | report.json | evidence |");
    println!("|---|---|---|---|---|---|---|");
    for framework in Framework::ALL {
        let mut times: Vec<Duration> = Vec::new();
        let mut sizes = (0, 0, 0);
        for _ in 0..runs {
            let req = ReportRequest {
                framework,
                from,
                to,
                tenant: "acme".into(),
                application: String::new(),
                actor: "bench".into(),
            };
            let s = Instant::now();
            let g = rt
                .block_on(warden::compliance::generate(
                    log.clone(),
                    &ComplianceConfig::default(),
                    req,
                    &Default::default(),
                ))
                .unwrap();
            times.push(s.elapsed());
            sizes = (g.html.len(), g.json.len(), g.bundle.iter().map(|(_, b)| b.len()).sum::<usize>());
        }
        times.sort();
        let p50 = percentile(&times, 0.5);
        println!(
            "| {} | {} | {} | {:.2}x | {} KiB | {} KiB | {} KiB |",
            framework.as_str(),
            fmt(p50),
            fmt(*times.last().unwrap()),
            p50.as_secs_f64() / base.as_secs_f64(),
            sizes.0 / 1024,
            sizes.1 / 1024,
            sizes.2 / 1024
        );
    }
    println!("\npeak resident memory of the process: {:.0} MiB", peak_rss_mib());
    warden::audit::Journal::close(&*log).unwrap();
}
