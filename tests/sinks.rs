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
        String::from_utf8_lossy(&bad.stderr).contains("record 7 was modified"),
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
    let size = client.get_checkpoint(pb::GetCheckpointRequest {}).await.unwrap().into_inner().tree_size as i64;
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
