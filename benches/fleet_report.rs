//! A fleet-wide compliance report (a bench binary that prints percentiles;
//! `cargo bench --bench fleet_report`, release build) on the machine's
//! PostgreSQL (127.0.0.1:5432, db `test`), in a schema of its own.
//!
//! Seeds `WARDEN_BENCH_FLEET_REPORT_INSTANCES` instances (default 8), each a
//! simulated six months of `WARDEN_BENCH_PER_DAY` decisions a day (default
//! 25) with their approvals, client events and daily checkpoints, ships
//! every record and checkpoint to the central store as a shipper does, and
//! measures:
//!
//! - the fleet report: `generate_from` with `Source::Central` (read every
//!   instance's whole log from PostgreSQL, verify it, scan, merge, compute,
//!   render, record, bundle);
//! - its first part alone: reading and verifying every instance's copy;
//! - the baseline, in the same run: one local report per instance over its
//!   own log (`generate`), summed: the same reports without the central
//!   store.
//!
//! `WARDEN_BENCH_RUNS` (default 5) sets runs per case.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{fmt, percentile};
use warden::audit::journal::AuditLog;
use warden::compliance::fixture::{seed, Options};
use warden::compliance::{ComplianceConfig, Framework, ReportRequest, Source};
use warden::config::AuditConfig;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn line(label: &str, mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    let p50 = percentile(&samples, 0.5);
    println!("{label:<58} n={:<3} p50 {:>10}  max {:>10}", samples.len(), fmt(p50), fmt(*samples.last().unwrap()));
    p50
}

fn main() {
    let instances = env("WARDEN_BENCH_FLEET_REPORT_INSTANCES", 8);
    let per_day = env("WARDEN_BENCH_PER_DAY", 25) as u32;
    let runs = env("WARDEN_BENCH_RUNS", 5);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let schema = format!("wb_{}", uuid::Uuid::now_v7().simple());
    let url = format!("postgres://postgres@127.0.0.1:5432/test?schema={schema}");
    let root = tempfile::tempdir().unwrap();
    let (from, to) = ReportRequest::period("2026-05-01", "2026-10-31").unwrap();
    let request = |actor: &str| ReportRequest {
        framework: Framework::EuAiAct,
        from,
        to,
        tenant: String::new(),
        application: String::new(),
        actor: actor.into(),
    };

    // Seed each instance and ship it whole, records then checkpoints.
    let started = Instant::now();
    let mut logs = Vec::new();
    let mut records = 0;
    for i in 0..instances {
        let dir = root.path().join(format!("instance-{i}"));
        let origin = format!("warden/bench-{i}");
        let config = AuditConfig { origin: Some(origin.clone()), retention_seconds: 0, ..AuditConfig::default() };
        let opts = Options { seed: 42 + i as u64, per_day, ..Options::default() };
        records += rt.block_on(seed(&dir, &config, &opts)).unwrap().records;
        let log = Arc::new(AuditLog::open(&dir, &config).unwrap());
        rt.block_on(async {
            let instance = warden::sink::Instance {
                id: origin.clone(),
                origin: origin.clone(),
                public_key_pem: log.public_key().pem,
            };
            let mut sink = warden::sink::postgres::PostgresSink::new(&url).unwrap();
            sink.connect(&instance).await.expect("PostgreSQL on 127.0.0.1:5432 (db test)");
            let size = log.size();
            let mut seq = 0;
            while seq < size {
                let batch: Vec<warden::sink::ShipRecord> = (seq..size.min(seq + 2000))
                    .map(|s| warden::sink::ShipRecord {
                        instance_id: origin.clone(),
                        record: log.record(s).unwrap().unwrap(),
                    })
                    .collect();
                seq += batch.len() as u64;
                sink.ship(&batch).await.unwrap();
            }
            sink.ship_checkpoints(&instance, &log.checkpoints()).await.unwrap();
        });
        logs.push((dir, config, log));
    }
    println!(
        "seeded and shipped {instances} instances, {records} records in all ({per_day} decisions a day for 184 days each) in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let fleet_dir = root.path().join("fleet");
    let fleet_config = AuditConfig { origin: Some("warden/bench-fleet".into()), ..AuditConfig::default() };
    let fleet_log = Arc::new(AuditLog::open(&fleet_dir, &fleet_config).unwrap());
    let compliance = ComplianceConfig::default();
    let stores = warden::sink::Cursors::new(&fleet_dir, &Default::default());

    let mut baseline = Vec::new();
    let mut verify = Vec::new();
    let mut fleet = Vec::new();
    for _ in 0..runs {
        let s = Instant::now();
        for (dir, _, log) in &logs {
            let stores = warden::sink::Cursors::new(dir, &Default::default());
            rt.block_on(warden::compliance::generate(log.clone(), &compliance, request("bench"), &stores)).unwrap();
        }
        baseline.push(s.elapsed());

        let s = Instant::now();
        let copies = rt.block_on(warden::sink::postgres::central_copies(&url)).unwrap();
        assert!(copies.iter().all(|c| c.copy.is_ok()), "every copy verifies");
        verify.push(s.elapsed());

        let s = Instant::now();
        let g = rt
            .block_on(warden::compliance::generate_from(
                fleet_log.clone(),
                &compliance,
                request("bench"),
                &stores,
                Source::Central(&url),
            ))
            .unwrap();
        fleet.push(s.elapsed());
        let listed = g.report.fleet.as_ref().unwrap();
        assert_eq!(listed.len(), instances);
        assert!(listed.iter().all(|i| i.exception.is_none()));
    }
    println!();
    let base = line(&format!("baseline: {instances} local reports, one per instance"), baseline);
    let read = line(&format!("read and verify {instances} central copies"), verify);
    let whole = line(&format!("fleet report over {instances} instances (central store)"), fleet);
    println!(
        "\nfleet report / baseline: {:.2}; reading and verifying is {:.0}% of the fleet report",
        whole.as_secs_f64() / base.as_secs_f64(),
        100.0 * read.as_secs_f64() / whole.as_secs_f64()
    );
    for (_, _, log) in &logs {
        warden::audit::Journal::close(&**log).unwrap();
    }
    warden::audit::Journal::close(&*fleet_log).unwrap();
}
