//! Shipping throughput into the real PostgreSQL (127.0.0.1:5432, db `test`)
//! and NATS JetStream (127.0.0.1:4222) servers: a local log of
//! `WARDEN_BENCH_SHIP_RECORDS` records (default 50,000) is shipped from
//! scratch by Warden's shipper, against a baseline in the same run: one
//! record per round trip (an autocommitted INSERT, or a publish that waits
//! for its ack), as a shipper without batching would do.
//!
//!     cargo bench --bench sinks

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::value::RawValue;
use warden::audit::journal::AuditLog;
use warden::audit::{Entry, Journal};
use warden::config::{AuditConfig, SinkConfig};
use warden::scoring::Context;
use warden::sink::Instance;

fn event(i: u64) -> Entry {
    Entry::ClientEvent {
        event_kind: "tool_call".into(),
        client_event_id: format!("e-{i}"),
        context: Context {
            tenant: "acme".into(),
            application: "bench".into(),
            session_id: format!("session-{}", i % 1000),
            ..Context::default()
        },
        attributes: RawValue::from_string(format!(r#"{{"gen_ai.tool.name":"tool_{}","n":{i}}}"#, i % 50)).unwrap(),
        occurred_at: None,
    }
}

async fn ship(log: &Arc<AuditLog>, dir: &std::path::Path, url: &str, n: u64) -> f64 {
    let instance = Instance { id: log.origin(), origin: log.origin(), public_key_pem: log.public_key().pem };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let config = SinkConfig { urls: vec![url.to_string()], ..SinkConfig::default() };
    let started = Instant::now();
    let (progress, tasks) = warden::sink::start(log.clone(), &config, dir, instance, stop_rx).unwrap();
    let mut p = progress.subscribe();
    while *p.borrow() < n {
        p.changed().await.unwrap();
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    rate
}

async fn baseline_postgres(schema: &str, n: u64) -> f64 {
    let (client, conn) =
        tokio_postgres::connect("postgres://postgres@127.0.0.1:5432/test", tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(&format!(
            "SET search_path TO {schema}; CREATE TABLE baseline (instance_id text, seq bigint, entry bytea, PRIMARY KEY (instance_id, seq))"
        ))
        .await
        .unwrap();
    let stmt = client.prepare("INSERT INTO baseline VALUES ($1, $2, $3) ON CONFLICT DO NOTHING").await.unwrap();
    let entry = vec![b'x'; 600];
    let started = Instant::now();
    for i in 0..n as i64 {
        client.execute(&stmt, &[&"bench", &i, &entry]).await.unwrap();
    }
    n as f64 / started.elapsed().as_secs_f64()
}

async fn baseline_nats(stream: &str, n: u64) -> f64 {
    let js = async_nats::jetstream::new(async_nats::connect("127.0.0.1:4222").await.unwrap());
    let subject = format!("{}.baseline", stream.to_lowercase());
    js.get_or_create_stream(async_nats::jetstream::stream::Config {
        name: format!("{stream}_BASE"),
        subjects: vec![subject.clone()],
        ..Default::default()
    })
    .await
    .unwrap();
    let started = Instant::now();
    for i in 0..n {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", format!("b-{i}").as_str());
        js.publish_with_headers(subject.clone(), headers, vec![b'x'; 600].into()).await.unwrap().await.unwrap();
    }
    n as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: u64 = std::env::var("WARDEN_BENCH_SHIP_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(50_000);
    let root = tempfile::tempdir_in("target").unwrap();
    let log = Arc::new(AuditLog::open(root.path(), &AuditConfig::default()).unwrap());
    let mut tasks = Vec::new();
    for w in 0..64u64 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while i < n {
                log.append(event(i)).await.unwrap();
                i += 64;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    println!("local log: {n} records");
    let id = uuid::Uuid::now_v7().simple().to_string();

    let schema = format!("wbench_{id}");
    let url = format!("postgres://postgres@127.0.0.1:5432/test?schema={schema}");
    let rate = ship(&log, root.path(), &url, n).await;
    let base_n = (n / 10).max(1000);
    let base = baseline_postgres(&schema, base_n).await;
    println!(
        "postgres: {rate:.0} records/s shipped; baseline one INSERT per round trip {base:.0} records/s ({:.1}x)",
        rate / base
    );

    let stream = format!("WBENCH_{}", &id[..12]).to_uppercase();
    let url = format!("nats://127.0.0.1:4222?stream={stream}&subject_prefix=wbench.{}", &id[..12]);
    let rate = ship(&log, root.path(), &url, n).await;
    let base = baseline_nats(&stream, base_n).await;
    println!(
        "nats: {rate:.0} records/s shipped; baseline publish-and-wait per record {base:.0} records/s ({:.1}x)",
        rate / base
    );
    log.close().unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
}
