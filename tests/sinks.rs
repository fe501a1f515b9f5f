//! Shipping to the real PostgreSQL and NATS JetStream servers on this
//! machine (127.0.0.1:5432, db `test`, trust auth; 127.0.0.1:4222). Each test
//! uses its own PostgreSQL schema or JetStream stream, so tests run side by
//! side. A missing server fails the test; it never skips.

mod common;

use common::{eventually, input, require_service, Proxy, TestServer};
use std::time::Duration;
use tokio_postgres::NoTls;
use warden::config::BacklogMode;

const PG: &str = "127.0.0.1:5432";
const NATS: &str = "127.0.0.1:4222";

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

async fn pg(schema: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&format!("postgres://postgres@{PG}/test"), NoTls).await.unwrap();
    tokio::spawn(conn);
    // Warden creates the schema; the test only looks into it.
    client.batch_execute(&format!("SET search_path TO {schema}")).await.unwrap();
    client
}

async fn count(client: &tokio_postgres::Client) -> i64 {
    match client.query_one("SELECT count(*) FROM warden_records", &[]).await {
        Ok(row) => row.get(0),
        Err(_) => 0, // not created yet
    }
}

/// Sequences per instance, in store order: must be 0, 1, 2, ... exactly once.
async fn seqs(client: &tokio_postgres::Client) -> Vec<i64> {
    client
        .query("SELECT seq FROM warden_records ORDER BY instance_id, seq", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_receives_every_record_and_verifies_centrally() {
    require_service("PostgreSQL", PG).await;
    let schema = unique("wt");
    let url = format!("postgres://postgres@{PG}/test?schema={schema}");
    let mut server = TestServer::start_with(
        |c| {
            c.sinks.urls = vec![url.clone()];
            c.audit.checkpoint_interval_ms = 50;
        },
        vec![],
    )
    .await;
    let mut risk = server.risk().await;
    for i in 0..40 {
        let mut req = input(&format!("call {i}: mail me at u{i}@example.org"));
        req.context.as_mut().unwrap().session_id = format!("s-{}", i % 4);
        risk.score_input(req).await.unwrap();
    }
    let db = pg(&schema).await;
    eventually("40 records in postgres", Duration::from_secs(30), || async { count(&db).await == 40 }).await;
    assert_eq!(seqs(&db).await, (0..40).collect::<Vec<i64>>());
    // Investigations run on indexed columns.
    let row = db.query_one("SELECT count(*) FROM warden_records WHERE session_id = 's-1'", &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 10);
    let row =
        db.query_one("SELECT count(*) FROM warden_records WHERE categories @> ARRAY['pii.email']", &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 40, "categories are queryable");
    // Append-only, enforced by the database.
    let err = db.execute("UPDATE warden_records SET kind = 'x' WHERE seq = 0", &[]).await.unwrap_err();
    assert!(err.as_db_error().unwrap().message().contains("append-only"), "{err}");
    let err = db.execute("DELETE FROM warden_records WHERE seq = 0", &[]).await.unwrap_err();
    assert!(err.as_db_error().unwrap().message().contains("append-only"), "{err}");
    server.stop().await.unwrap();

    // The central copy verifies on its own, checkpoints included.
    eventually("checkpoints shipped", Duration::from_secs(10), || async {
        db.query_one("SELECT count(*) FROM warden_checkpoints", &[])
            .await
            .map(|r| r.get::<_, i64>(0) > 0)
            .unwrap_or(false)
    })
    .await;
    let reports = warden::sink::postgres::verify_central(&url, None).await.unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].records, 40);
    assert_eq!(reports[0].latest_verified_size, 40, "the shutdown checkpoint covers everything");

    // The same from the command line, and tampering in the central copy is caught.
    let cli = |url: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(["audit", "verify", "--from", url])
            .output()
            .unwrap()
    };
    let ok = cli(&url);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("40 records"));
    // A superuser can still bypass the trigger; verification catches that.
    db.batch_execute(
        "SET session_replication_role = replica; \
         UPDATE warden_records SET entry = convert_to(replace(convert_from(entry, 'UTF8'), 'call 7', 'call X'), 'UTF8') WHERE seq = 7; \
         SET session_replication_role = origin;",
    )
    .await
    .unwrap();
    let bad = cli(&url);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("record 7: the record was modified"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_keeps_scoring_and_delivers_exactly_once_in_order() {
    require_service("PostgreSQL", PG).await;
    let schema = unique("wt");
    let proxy = Proxy::start(PG).await;
    let url = format!("postgres://postgres@{}/test?schema={schema}", proxy.addr);
    let mut server = TestServer::start_with(|c| c.sinks.urls = vec![url.clone()], vec![]).await;
    let mut risk = server.risk().await;
    for i in 0..10 {
        risk.score_input(input(&format!("before the outage {i}"))).await.unwrap();
    }
    let db = pg(&schema).await;
    eventually("first 10 shipped", Duration::from_secs(30), || async { count(&db).await == 10 }).await;

    proxy.cut();
    // Scoring goes on while the store is unreachable: records wait in the log.
    for i in 0..25 {
        risk.score_input(input(&format!("during the outage {i}"))).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(count(&db).await, 10, "nothing reaches the store while cut off");
    let metrics = server.metrics().await;
    assert!(metrics.contains("warden_sink_errors_total{sink=\"postgres\""), "{metrics}");

    proxy.restore();
    eventually("backlog delivered", Duration::from_secs(60), || async { count(&db).await == 35 }).await;
    assert_eq!(seqs(&db).await, (0..35).collect::<Vec<i64>>(), "every record exactly once, in order");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backlog_bound_fails_closed_with_unavailable() {
    require_service("PostgreSQL", PG).await;
    let schema = unique("wt");
    let proxy = Proxy::start(PG).await;
    proxy.cut();
    let url = format!("postgres://postgres@{}/test?schema={schema}", proxy.addr);
    let mut server = TestServer::start_with(
        |c| {
            c.sinks.urls = vec![url.clone()];
            c.sinks.max_backlog_records = 5;
            c.sinks.on_backlog = BacklogMode::FailClosed;
        },
        vec![],
    )
    .await;
    let mut risk = server.risk().await;
    for i in 0..5 {
        risk.score_input(input(&format!("within the bound {i}"))).await.unwrap();
    }
    let status = risk.score_input(input("past the bound")).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(status.message().contains("waiting to be shipped"), "{status:?}");

    proxy.restore();
    let db = pg(&schema).await;
    eventually("backlog drained", Duration::from_secs(60), || async { count(&db).await == 5 }).await;
    // With the backlog drained, records are accepted again.
    eventually("accepting again", Duration::from_secs(10), || {
        let mut risk = risk.clone();
        async move { risk.score_input(input("after the drain")).await.is_ok() }
    })
    .await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_database_and_both_verify() {
    require_service("PostgreSQL", PG).await;
    let schema = unique("wt");
    let url = format!("postgres://postgres@{PG}/test?schema={schema}");
    let mut a = TestServer::start_with(|c| c.sinks.urls = vec![url.clone()], vec![]).await;
    let mut b = TestServer::start_with(|c| c.sinks.urls = vec![url.clone()], vec![]).await;
    let (mut ra, mut rb) = (a.risk().await, b.risk().await);
    for i in 0..15 {
        ra.score_input(input(&format!("a {i}"))).await.unwrap();
        rb.score_input(input(&format!("b {i}"))).await.unwrap();
    }
    a.stop().await.unwrap();
    b.stop().await.unwrap();
    let db = pg(&schema).await;
    eventually("30 records", Duration::from_secs(30), || async { count(&db).await == 30 }).await;
    let reports = warden::sink::postgres::verify_central(&url, None).await.unwrap();
    assert_eq!(reports.len(), 2);
    assert!(reports.iter().all(|r| r.records == 15 && r.latest_verified_size == 15), "{reports:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_jetstream_gets_every_record_once_even_when_resent() {
    require_service("NATS", NATS).await;
    let stream = unique("WT").to_uppercase();
    let prefix = format!("wt.{}", uuid::Uuid::now_v7().simple());
    let url = format!("nats://{NATS}?stream={stream}&subject_prefix={prefix}");
    let mut server = TestServer::start_with(|c| c.sinks.urls = vec![url.clone()], vec![]).await;
    let mut risk = server.risk().await;
    for i in 0..20 {
        let mut req = input(&format!("call {i}"));
        req.context.as_mut().unwrap().tenant = "acme corp".into();
        risk.score_input(req).await.unwrap();
    }
    let client = async_nats::connect(NATS).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let records = format!("{prefix}.*.*");
    eventually("20 records", Duration::from_secs(30), || {
        stream_messages(js.clone(), stream.clone(), records.clone(), 20)
    })
    .await;
    server.stop().await.unwrap();

    // Forget the cursor and ship everything again: JetStream's de-duplication
    // on the record id absorbs every re-sent record.
    let sinks_dir = server.data_dir.path().join("audit/sinks");
    for e in std::fs::read_dir(&sinks_dir).unwrap() {
        std::fs::remove_file(e.unwrap().path()).unwrap();
    }
    let data_dir = server.data_dir.path().to_path_buf();
    let mut again = TestServer::start_with(
        |c| {
            c.data_dir = data_dir.clone();
            c.sinks.urls = vec![url.clone()];
        },
        vec![],
    )
    .await;
    let mut risk = again.risk().await;
    risk.score_input(input("one more")).await.unwrap();
    eventually("21 records", Duration::from_secs(30), || {
        stream_messages(js.clone(), stream.clone(), records.clone(), 21)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        stream_messages(js.clone(), stream.clone(), records.clone(), 21).await,
        "re-sent records were de-duplicated"
    );
    let checkpoints = format!("{prefix}._warden.checkpoints.*");
    assert!(!stream_messages(js.clone(), stream.clone(), checkpoints, 0).await, "checkpoints are shipped too");

    // Subjects carry the tenant (made a safe token) and the record kind.
    let s = js.get_stream(&stream).await.unwrap();
    let first = s.get_raw_message(1).await.unwrap();
    assert_eq!(first.subject.as_str(), format!("{prefix}.acme_corp.score_decision"));
    again.stop().await.unwrap();
}

/// Whether the stream holds exactly `n` messages on subjects matching `filter`
/// (counted by a fresh consumer's pending count). A stream the shipper has
/// not created yet holds nothing.
async fn stream_messages(js: async_nats::jetstream::Context, stream: String, filter: String, n: u64) -> bool {
    let s = match js.get_stream(&stream).await {
        Ok(s) => s,
        Err(e)
            if matches!(e.kind(), async_nats::jetstream::context::GetStreamErrorKind::JetStream(ref j)
                if j.error_code() == async_nats::jetstream::ErrorCode::STREAM_NOT_FOUND) =>
        {
            return n == 0
        }
        Err(e) => panic!("stream {stream}: {e}"),
    };
    let mut consumer = s
        .create_consumer(async_nats::jetstream::consumer::pull::Config { filter_subject: filter, ..Default::default() })
        .await
        .unwrap();
    consumer.info().await.unwrap().num_pending == n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_shipping_loses_and_duplicates_nothing() {
    use warden::proto::v1 as pb;
    require_service("PostgreSQL", PG).await;
    let bin = env!("CARGO_BIN_EXE_warden");
    let schema = unique("wt");
    let url = format!("postgres://postgres@{PG}/test?schema={schema}");
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, _log) = common::start_binary(bin, dir.path(), &["--audit-sink", &url]);
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    let mut client = pb::audit_service_client::AuditServiceClient::new(channel);
    let events = tokio_stream::iter((0..3_000).map(|i| pb::AuditEvent {
        client_event_id: format!("e-{i}"),
        context: Some(pb::RequestContext { application: "ship-crash".into(), ..Default::default() }),
        kind: "tool_result".into(),
        attributes_json: format!(r#"{{"n":{i}}}"#),
        occurred_at: None,
    }));
    let mut acks = client.append(events).await.unwrap().into_inner();
    let db = pg(&schema).await;
    let mut acked = 0;
    // Kill once shipping is under way and appends are still streaming.
    while let Ok(Some(_)) = acks.message().await {
        acked += 1;
        if acked >= 800 && count(&db).await > 0 {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let (mut child, addr, _log) = common::start_binary(bin, dir.path(), &["--audit-sink", &url]);
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    let mut client = pb::audit_service_client::AuditServiceClient::new(channel);
    let size = client.get_checkpoint(pb::GetCheckpointRequest::default()).await.unwrap().into_inner().tree_size as i64;
    assert!(size >= acked, "every acknowledged record is in the local log ({size} >= {acked})");
    eventually("everything shipped after restart", Duration::from_secs(60), || async { count(&db).await == size })
        .await;
    assert_eq!(seqs(&db).await, (0..size).collect::<Vec<i64>>(), "nothing lost, nothing duplicated");
    let status = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
    let reports = warden::sink::postgres::verify_central(&url, None).await.unwrap();
    assert_eq!(reports[0].records as i64, size);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_outage_keeps_scoring_and_delivers_every_record_once() {
    require_service("NATS", NATS).await;
    let stream = unique("WT").to_uppercase();
    let prefix = format!("wt.{}", uuid::Uuid::now_v7().simple());
    let proxy = Proxy::start(NATS).await;
    let url = format!("nats://{}?stream={stream}&subject_prefix={prefix}", proxy.addr);
    let mut server = TestServer::start_with(|c| c.sinks.urls = vec![url.clone()], vec![]).await;
    let mut risk = server.risk().await;
    let js = async_nats::jetstream::new(async_nats::connect(NATS).await.unwrap());
    let records = format!("{prefix}.*.*");
    for i in 0..5 {
        risk.score_input(input(&format!("before {i}"))).await.unwrap();
    }
    eventually("5 records", Duration::from_secs(30), || {
        stream_messages(js.clone(), stream.clone(), records.clone(), 5)
    })
    .await;
    proxy.cut();
    for i in 0..15 {
        risk.score_input(input(&format!("during {i}"))).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.restore();
    eventually("20 records", Duration::from_secs(60), || {
        stream_messages(js.clone(), stream.clone(), records.clone(), 20)
    })
    .await;
    server.stop().await.unwrap();
    // Exactly once: still 20 after the shipper caught up and stopped.
    assert!(stream_messages(js.clone(), stream.clone(), records.clone(), 20).await);
}

/// A client event written straight into the log, as a server would have
/// journaled it before boundary validation refused NUL characters.
fn client_event(tenant: &str, i: usize) -> warden::audit::Entry {
    warden::audit::Entry::ClientEvent {
        event_kind: "tool_call".into(),
        client_event_id: format!("e-{i}"),
        context: warden::scoring::Context { tenant: tenant.into(), ..Default::default() },
        attributes: serde_json::value::RawValue::from_string(format!(r#"{{"n":{i}}}"#)).unwrap(),
        occurred_at: None,
    }
}

/// The value of the series `name{labels}` in a Prometheus text exposition.
fn series(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let (key, value) = line.rsplit_once(' ')?;
        let (n, rest) = key.split_once('{').unwrap_or((key, ""));
        let matches = n == name && labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
        matches.then(|| value.parse().ok()).flatten()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refused_record_is_quarantined_and_the_rest_arrive_once() {
    use warden::audit::Journal;
    require_service("PostgreSQL", PG).await;
    let schema = unique("wt");
    let url = format!("postgres://postgres@{PG}/test?schema={schema}");
    // Records 0-2 and 4-6 are fine; PostgreSQL refuses record 3 (a NUL in
    // the tenant, which lands in a text column), in the middle of a batch.
    let dir = tempfile::tempdir().unwrap();
    let config = warden::Config { data_dir: dir.path().to_path_buf(), ..warden::Config::default() };
    let log = warden::audit::journal::AuditLog::open(&config.data_dir, &config.audit).unwrap();
    for i in 0..7 {
        let tenant = if i == 3 { "acme\0evil" } else { "acme" };
        assert_eq!(log.append(client_event(tenant, i)).await.unwrap().sequence, i as u64);
    }
    log.close().unwrap();
    drop(log);

    let sink = url.clone();
    let mut server = TestServer::start_in(dir, |c| c.sinks.urls = vec![sink], vec![]).await;
    let mut risk = server.risk().await;
    for i in 0..3 {
        risk.score_input(input(&format!("after the refused record {i}"))).await.unwrap();
    }
    // 7 journaled, 3 scored, 1 quarantine record: 11 in the log, 10 in the store.
    let db = pg(&schema).await;
    eventually("everything but the refused record shipped", Duration::from_secs(60), || async {
        count(&db).await == 10
    })
    .await;
    let expected: Vec<i64> = (0..11).filter(|&s| s != 3).collect();
    assert_eq!(seqs(&db).await, expected, "every other record exactly once, in order");
    let row = db.query_one("SELECT seq FROM warden_records WHERE kind = 'sink_quarantined'", &[]).await.unwrap();
    assert!(row.get::<_, i64>(0) >= 7, "the quarantine is recorded in the log and shipped too");

    // Listed persistently, counted, and kept in the local log.
    let listed = warden::sink::quarantined(server.data_dir.path(), std::slice::from_ref(&url));
    let q = listed.values().next().expect("a quarantine list");
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!(q[0].sequence, 3);
    assert!(q[0].reason.contains("22021") && !q[0].reason.contains('\0'), "{:?}", q[0].reason);
    let metrics = server.metrics().await;
    assert_eq!(
        series(&metrics, "warden_sink_quarantined_records_total", &[("sink", "postgres")]),
        Some(1.0),
        "{metrics}"
    );
    server.stop().await.unwrap();
    let dir = server.data_dir.path().to_path_buf();
    let log = warden::audit::journal::AuditLog::open_read_only(&dir, &config.audit).unwrap();
    let kept = log.record(3).unwrap().expect("the refused record stays in the local log");
    assert!(String::from_utf8_lossy(&kept.canonical).contains("acme\\u0000evil"));
    let quarantine_records = log.query(&warden::audit::journal::Query {
        kind: "sink_quarantined".into(),
        ..warden::audit::journal::Query::default()
    });
    assert_eq!(quarantine_records.len(), 1);
    drop(log);

    // `warden audit quarantined` lists it (exit 1: there is something to see).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["audit", "quarantined", "--audit-sink", &url, "--data-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["sequence"], 3);

    // A restart neither re-ships nor re-quarantines.
    let sink = url.clone();
    let mut again = TestServer::start_in(server.stop_keep_dir().await, |c| c.sinks.urls = vec![sink], vec![]).await;
    again.risk().await.score_input(input("after the restart")).await.unwrap();
    eventually("the new record shipped", Duration::from_secs(30), || async { count(&db).await == 11 }).await;
    again.stop().await.unwrap();
    assert_eq!(
        warden::sink::quarantined(again.data_dir.path(), std::slice::from_ref(&url)).values().next().unwrap().len(),
        1
    );
}

/// The `warden serve` binary, for tests that read its metrics: a process
/// of its own, so no other test's series mix in.
struct Binary {
    child: std::process::Child,
    grpc: String,
    metrics: String,
}

impl Binary {
    fn start(data_dir: &std::path::Path, sink: &str, env: &[(&str, &str)]) -> Binary {
        use std::io::{BufRead, BufReader};
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(["serve", "--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--audit-sink", sink])
            .arg("--data-dir")
            .arg(data_dir)
            .envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let after =
            |line: &str, key: &str| line.split(key).nth(1).map(|r| r.split_whitespace().next().unwrap().to_string());
        let (mut grpc, mut metrics) = (None, None);
        while grpc.is_none() || metrics.is_none() {
            let line = lines.next().expect("server start-up log").unwrap();
            metrics = metrics.or_else(|| after(&line, "metrics="));
            grpc = grpc.or_else(|| after(&line, "grpc="));
        }
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        Binary { child, grpc: grpc.unwrap(), metrics: metrics.unwrap() }
    }

    async fn risk(&self) -> warden::proto::v1::risk_service_client::RiskServiceClient<tonic::transport::Channel> {
        let channel =
            tonic::transport::Channel::from_shared(format!("http://{}", self.grpc)).unwrap().connect().await.unwrap();
        warden::proto::v1::risk_service_client::RiskServiceClient::new(channel)
    }

    async fn metrics(&self) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(&self.metrics).await.unwrap();
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n").await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    async fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        series(&self.metrics().await, name, labels)
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An address nothing listens on.
async fn closed_port() -> std::net::SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_exist_at_zero_and_lag_gauges_move_while_the_store_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("postgres://postgres@{}/test", closed_port().await);
    let server = Binary::start(dir.path(), &url, &[]);
    // Fresh and idle (nothing to ship, so no attempt yet): every counter of
    // a rare event is there, at 0, for `increase(...) > 0` alerts.
    let metrics = server.metrics().await;
    for (name, labels) in [
        ("warden_audit_append_failures_total", &[][..]),
        ("warden_detector_skipped_total", &[("detector", "warden-minilm"), ("reason", "failed")][..]),
        ("warden_detector_skipped_total", &[("detector", "pii"), ("reason", "timeout")][..]),
        ("warden_approvals_total", &[("outcome", "expired")][..]),
        ("warden_sink_quarantined_records_total", &[("sink", "postgres")][..]),
        ("warden_sink_errors_total", &[("sink", "postgres"), ("kind", "connect")][..]),
        ("warden_sink_errors_total", &[("sink", "postgres"), ("kind", "rejected")][..]),
        ("warden_sink_retries_total", &[("sink", "postgres")][..]),
        ("warden_sink_shipped_records_total", &[("sink", "postgres")][..]),
        ("warden_sink_lag_records", &[("sink", "postgres")][..]),
        ("warden_sink_backlog_records", &[][..]),
    ] {
        assert_eq!(series(&metrics, name, labels), Some(0.0), "{name}{labels:?} at 0 from start:\n{metrics}");
    }

    // The store is unreachable: the backlog and lag follow every append.
    let mut risk = server.risk().await;
    for i in 0..12 {
        risk.score_input(input(&format!("while the store is down {i}"))).await.unwrap();
    }
    eventually("backlog and lag at 12", Duration::from_secs(10), || async {
        let m = server.metrics().await;
        series(&m, "warden_sink_backlog_records", &[]) == Some(12.0)
            && series(&m, "warden_sink_lag_records", &[("sink", "postgres")]) == Some(12.0)
    })
    .await;
    let age = server.value("warden_sink_lag_seconds", &[("sink", "postgres")]).await.unwrap();
    eventually("the lag in seconds keeps growing", Duration::from_secs(10), || async {
        server.value("warden_sink_lag_seconds", &[("sink", "postgres")]).await.unwrap() > age
    })
    .await;
    risk.score_input(input("one more")).await.unwrap();
    eventually("backlog at 13", Duration::from_secs(10), || async {
        server.value("warden_sink_backlog_records", &[]).await == Some(13.0)
    })
    .await;
    assert!(
        server.value("warden_sink_errors_total", &[("sink", "postgres"), ("kind", "connect")]).await.unwrap() > 0.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_closed_lifts_as_soon_as_the_store_is_back() {
    require_service("PostgreSQL", PG).await;
    let schema = unique("wt");
    let proxy = Proxy::start(PG).await;
    proxy.cut();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("postgres://postgres@{}/test?schema={schema}", proxy.addr);
    let server = Binary::start(
        dir.path(),
        &url,
        &[("WARDEN_SINKS__MAX_BACKLOG_RECORDS", "3"), ("WARDEN_SINKS__ON_BACKLOG", "fail_closed")],
    );
    let mut risk = server.risk().await;
    for i in 0..3 {
        risk.score_input(input(&format!("within the bound {i}"))).await.unwrap();
    }
    let status = risk.score_input(input("past the bound")).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");

    // Seven failed attempts: the next one is 6.4 to 12.8 s away.
    eventually("seven failed attempts", Duration::from_secs(60), || async {
        server.value("warden_sink_retries_total", &[("sink", "postgres")]).await.unwrap_or(0.0) >= 7.0
    })
    .await;
    proxy.restore();
    // A probe finds the store within about a second, long before that
    // attempt was due; 5 s leaves room for a loaded machine.
    let db = pg(&schema).await;
    eventually("shipped without waiting out the backoff", Duration::from_secs(5), || async { count(&db).await == 3 })
        .await;
    eventually("accepting again", Duration::from_secs(5), || {
        let mut risk = risk.clone();
        async move { risk.score_input(input("after the store came back")).await.is_ok() }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_refused_oversized_record_is_quarantined_and_the_rest_arrive_once() {
    use warden::audit::Journal;
    require_service("NATS", NATS).await;
    let stream = unique("WT").to_uppercase();
    let prefix = format!("wt.{}", uuid::Uuid::now_v7().simple());
    let url = format!("nats://{NATS}?stream={stream}&subject_prefix={prefix}");
    // Record 2 is larger than the server's max_payload (1 MiB by default).
    let dir = tempfile::tempdir().unwrap();
    let config = warden::Config { data_dir: dir.path().to_path_buf(), ..warden::Config::default() };
    let log = warden::audit::journal::AuditLog::open(&config.data_dir, &config.audit).unwrap();
    for i in 0..5 {
        let mut entry = client_event("acme", i);
        if i == 2 {
            if let warden::audit::Entry::ClientEvent { attributes, .. } = &mut entry {
                let big = format!(r#"{{"blob":"{}"}}"#, "x".repeat(2 << 20));
                *attributes = serde_json::value::RawValue::from_string(big).unwrap();
            }
        }
        log.append(entry).await.unwrap();
    }
    log.close().unwrap();
    drop(log);
    let sink = url.clone();
    let mut server = TestServer::start_in(dir, |c| c.sinks.urls = vec![sink], vec![]).await;
    let js = async_nats::jetstream::new(async_nats::connect(NATS).await.unwrap());
    // 4 client events and the quarantine record.
    eventually("everything but the refused record", Duration::from_secs(60), || {
        stream_messages(js.clone(), stream.clone(), format!("{prefix}.*.*"), 5)
    })
    .await;
    assert!(stream_messages(js.clone(), stream.clone(), format!("{prefix}._.sink_quarantined"), 1).await);
    let listed = warden::sink::quarantined(server.data_dir.path(), std::slice::from_ref(&url));
    let q = listed.values().next().expect("a quarantine list");
    assert_eq!(q.iter().map(|q| q.sequence).collect::<Vec<_>>(), vec![2], "{q:?}");
    server.stop().await.unwrap();
}

/// Every checkpoint is published to the stores; `audit verify --against`
/// checks the local log with the newest published one, which finds what the
/// local log alone cannot: records cut off together with their checkpoints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_against_the_published_checkpoints_finds_a_log_cut_short() {
    require_service("PostgreSQL", PG).await;
    require_service("NATS", NATS).await;
    let schema = unique("wt");
    let pg_url = format!("postgres://postgres@{PG}/test?schema={schema}");
    let stream = unique("WT").to_uppercase();
    let prefix = format!("wt.{}", uuid::Uuid::now_v7().simple());
    let nats_url = format!("nats://{NATS}?stream={stream}&subject_prefix={prefix}");
    let server = TestServer::start_with(
        |c| {
            c.sinks.urls = vec![pg_url.clone(), nats_url.clone()];
            c.audit.checkpoint_interval_ms = 50;
        },
        vec![],
    )
    .await;
    let mut risk = server.risk().await;
    for i in 0..10 {
        risk.score_input(input(&format!("call {i}"))).await.unwrap();
    }
    let dir = server.stop_keep_dir().await;
    let cli = |extra: &[&str]| common::audit_verify(dir.path(), extra);
    let (code, stdout, stderr) = cli(&["--against", &pg_url, "--against", &nats_url]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert_eq!(stdout.matches("reproduces the newest checkpoint published").count(), 2, "{stdout}");
    assert!(stdout.contains("size 10"), "{stdout}");

    // Cut the last four records and every checkpoint that covered them.
    common::cut_log(dir.path(), 6);
    let (code, stdout, stderr) = cli(&[]);
    assert_eq!(code, Some(0), "locally, a log that stopped at 6: {stdout}{stderr}");
    for url in [&pg_url, &nats_url] {
        let (code, stdout, stderr) = cli(&["--against", url]);
        assert_eq!(code, Some(1), "{stdout}{stderr}");
        assert!(stderr.contains("records were removed"), "{stderr}");
    }
    // A store that holds nothing of this log is a failure, not a pass.
    let empty = format!("postgres://postgres@{PG}/test?schema={}", unique("wt"));
    let (code, _, stderr) = cli(&["--against", &empty]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("holds no checkpoint of this log"), "{stderr}");
}
