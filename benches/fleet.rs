//! The fleet service on the machine's PostgreSQL (127.0.0.1:5432, db `test`)
//! and NATS JetStream (127.0.0.1:4222), in-process, a schema and stream of
//! its own:
//!
//! 1. Decide → Watch: a reviewer decides on the fleet service, and the
//!    agent's `Watch` on the sidecar that holds the approval sees the
//!    verdict (the fleet's record, its shipping to JetStream, the sidecar's
//!    consumer, its record). Baseline in the same run: the same Decide made
//!    on the sidecar itself, as a single-sidecar deployment does.
//!    `WARDEN_BENCH_FLEET_DECISIONS` decisions each (default 100).
//! 2. The fleet queue with `WARDEN_BENCH_FLEET_PENDING` pending approvals
//!    (default 10,000) across `WARDEN_BENCH_FLEET_INSTANCES` instances
//!    (default 32), written straight into the central store: the fleet
//!    service's first read of them, and `ListPending` (first page of 100,
//!    a page deep in the listing, and one tenant's), against a baseline of
//!    one instance's share listed the same way.
//!
//!     cargo bench --bench fleet

mod common;

use std::time::{Duration, Instant};

use common::{fmt, percentile, Server};
use warden::proto::v1 as pb;
use warden::proto::v1::approval_service_client::ApprovalServiceClient;
use warden::proto::v1::ScoreActionRequest;

type Approvals = ApprovalServiceClient<tonic::transport::Channel>;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

fn refund(session: &str) -> ScoreActionRequest {
    ScoreActionRequest {
        context: Some(pb::RequestContext {
            tenant: "acme".into(),
            application: "bench".into(),
            session_id: session.into(),
            user_id: "customer-7".into(),
            ..Default::default()
        }),
        tool: "issue_refund".into(),
        arguments_json: r#"{"order_id": "A-1", "amount": 9800, "currency": "EUR"}"#.into(),
        rationale: "the parcel never arrived".into(),
    }
}

fn report(label: &str, mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    let p50 = percentile(&samples, 0.5);
    println!(
        "{label:<52} n={:<6} p50 {:>10}  p95 {:>10}  p99 {:>10}  max {:>10}",
        samples.len(),
        fmt(p50),
        fmt(percentile(&samples, 0.95)),
        fmt(percentile(&samples, 0.99)),
        fmt(*samples.last().unwrap_or(&Duration::ZERO))
    );
    p50
}

/// The fleet service in-process; returns its ApprovalService client and
/// what stops it.
async fn fleet(pg: &str, nats: &str, poll_ms: u64) -> (Approvals, tokio::sync::oneshot::Sender<()>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = warden::Config { data_dir: dir.path().to_path_buf(), ..Default::default() };
    config.sinks.urls = vec![pg.to_string(), nats.to_string()];
    config.fleet.central = pg.to_string();
    config.fleet.poll_interval_ms = poll_ms;
    let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = grpc.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        warden::server::fleet::serve_fleet(
            &config,
            warden::Listeners { grpc, metrics: None, health: None, admin: None },
            async {
                let _ = stopped.await;
            },
        )
        .await
        .unwrap()
    });
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}")).unwrap();
    let channel = loop {
        match channel.clone().connect().await {
            Ok(c) => break c,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    (ApprovalServiceClient::new(channel), stop, dir)
}

async fn until_listed(fleet: &mut Approvals, id: &str) {
    loop {
        let page = fleet
            .list_pending(pb::ListPendingRequest { page_size: 1000, ..Default::default() })
            .await
            .unwrap()
            .into_inner();
        if page.approvals.iter().any(|a| a.approval_id == id) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// From the Decide call to the agent's Watch seeing the verdict.
async fn decide_to_watch(decider: &mut Approvals, sidecar: &mut Approvals, id: &str, reviewer: &str) -> Duration {
    let mut watch = sidecar.watch(pb::WatchRequest { approval_id: id.into() }).await.unwrap().into_inner();
    let first = watch.message().await.unwrap().unwrap();
    assert_eq!(first.state, pb::ApprovalState::Pending as i32);
    let started = Instant::now();
    decider
        .decide(pb::DecideRequest {
            approval_id: id.into(),
            approve: true,
            reviewer: reviewer.into(),
            reason: "bench".into(),
        })
        .await
        .unwrap();
    loop {
        let a = watch.message().await.unwrap().expect("watch ended");
        if a.state != pb::ApprovalState::Pending as i32 {
            assert_eq!(a.state, pb::ApprovalState::Approved as i32);
            return started.elapsed();
        }
    }
}

/// Writes `n` pending approvals across `instances` fake instances straight
/// into the central store: copies of a real request record with new ids.
async fn seed(pg_schema: &str, template: &serde_json::Value, n: usize, instances: usize) {
    let (mut client, conn) =
        tokio_postgres::connect("postgres://postgres@127.0.0.1:5432/test", tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client.batch_execute(&format!("SET search_path TO {pg_schema}")).await.unwrap();
    for i in 0..instances {
        client
            .execute(
                "INSERT INTO warden_instances (instance_id, origin, public_key_pem) VALUES ($1, $1, '')",
                &[&format!("warden/bench-{i:02}")],
            )
            .await
            .unwrap();
    }
    let now = time::OffsetDateTime::now_utc();
    // This month's partition, as a shipper makes it before its first insert.
    let (y, m) = (now.year(), u8::from(now.month()));
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    client
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS warden_records_y{y:04}m{m:02} PARTITION OF warden_records \
             FOR VALUES FROM ('{y:04}-{m:02}-01') TO ('{ny:04}-{nm:02}-01')"
        ))
        .await
        .unwrap();
    let expires = warden::timestamp::format(now + Duration::from_secs(3600));
    let mut rows = Vec::new();
    for k in 0..n {
        let instance = format!("warden/bench-{:02}", k % instances);
        let seq = (k / instances) as i64;
        let mut record = template.clone();
        let record_id = uuid::Uuid::now_v7().to_string();
        record["id"] = serde_json::json!(record_id);
        record["seq"] = serde_json::json!(seq);
        record["body"]["approval_id"] = serde_json::json!(uuid::Uuid::now_v7().to_string());
        record["body"]["approval"]["expires_at"] = serde_json::json!(expires);
        // Two tenants, so a tenant's listing is half the queue.
        let tenant = if k % 2 == 0 { "acme" } else { "globex" };
        record["body"]["request"]["context"]["tenant"] = serde_json::json!(tenant);
        rows.push((instance, seq, record_id, serde_json::to_vec(&record).unwrap()));
    }
    for chunk in rows.chunks(1000) {
        let tx = client.transaction().await.unwrap();
        for (instance, seq, record_id, entry) in chunk {
            tx.execute(
                "INSERT INTO warden_records (instance_id, seq, record_id, recorded_at, kind, decision, leaf_hash, \
                 prev_hash, chain_hash, entry) VALUES ($1, $2, $3::text::uuid, now(), 'score_decision', \
                 'require_approval', '\\x00', '\\x00', '\\x00', $4)",
                &[instance, seq, record_id, entry],
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
}

async fn page(fleet: &mut Approvals, tenant: &str, token: &str) -> pb::ListPendingResponse {
    fleet
        .list_pending(pb::ListPendingRequest {
            tenant: tenant.into(),
            page_size: 100,
            page_token: token.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

async fn listing(label: &str, fleet: &mut Approvals, tenant: &str, deep: bool, runs: usize) -> (Duration, u32) {
    let mut token = String::new();
    if deep {
        // The token of the 11th page, or of the last one when there are fewer.
        for _ in 0..10 {
            let next = page(fleet, tenant, &token).await.next_page_token;
            if next.is_empty() {
                break;
            }
            token = next;
        }
    }
    let mut samples = Vec::with_capacity(runs);
    let mut total = 0;
    for _ in 0..runs {
        let started = Instant::now();
        total = page(fleet, tenant, &token).await.total;
        samples.push(started.elapsed());
    }
    (report(label, samples), total)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let decisions = env("WARDEN_BENCH_FLEET_DECISIONS", 100);
    let pending = env("WARDEN_BENCH_FLEET_PENDING", 10_000);
    let instances = env("WARDEN_BENCH_FLEET_INSTANCES", 32);
    let schema = unique("bf");
    let pg = format!("postgres://postgres@127.0.0.1:5432/test?schema={schema}");
    let nats = format!("nats://127.0.0.1:4222?stream={}&subject_prefix={}", unique("BF"), unique("bf"));

    // The fleet service first, so its decision key exists for the sidecar.
    let (mut fleet_client, stop_fleet, fleet_dir) = fleet(&pg, &nats, 100).await;
    let key = warden::fleet::decision::load_or_create_key(&warden::fleet::decision::key_path(fleet_dir.path(), None))
        .unwrap();
    let key_file = fleet_dir.path().join("decision.pub.pem");
    std::fs::write(&key_file, warden::fleet::decision::public_pem(&key)).unwrap();
    let sidecar = Server::start(|c| {
        c.sinks.urls = vec![pg.clone(), nats.clone()];
        c.fleet.decisions_from = nats.clone();
        c.fleet.decision_key_file = Some(key_file.clone());
        c.approvals.ttl_seconds = 3600;
    })
    .await;
    let mut risk = sidecar.client.clone();
    let mut local = Approvals::new(sidecar.channel.clone());

    println!("-- 1. Decide -> the agent's Watch sees the verdict ({decisions} decisions each, interleaved)");
    let (mut via_fleet, mut via_sidecar) = (Vec::new(), Vec::new());
    for i in 0..decisions {
        let a = risk.score_action(refund(&format!("f-{i}"))).await.unwrap().into_inner();
        until_listed(&mut fleet_client, &a.approval_id).await;
        via_fleet.push(decide_to_watch(&mut fleet_client, &mut local, &a.approval_id, "alice").await);
        let b = risk.score_action(refund(&format!("s-{i}"))).await.unwrap().into_inner();
        let mut agent = local.clone();
        via_sidecar.push(decide_to_watch(&mut local, &mut agent, &b.approval_id, "alice").await);
    }
    let base = report("baseline: Decide on the sidecar itself", via_sidecar);
    let p50 = report("Decide on the fleet service, Watch on the sidecar", via_fleet);
    println!("{:<52} p50 fleet / baseline: {:.1}x", "", p50.as_secs_f64() / base.as_secs_f64());

    // A record the sidecar wrote, as the template of the seeded ones.
    let (client, conn) =
        tokio_postgres::connect("postgres://postgres@127.0.0.1:5432/test", tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client.batch_execute(&format!("SET search_path TO {schema}")).await.unwrap();
    let row = client
        .query_one(
            "SELECT entry FROM warden_records WHERE kind = 'score_decision' AND decision = 'require_approval' LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let template: serde_json::Value = serde_json::from_slice(&row.get::<_, Vec<u8>>(0)).unwrap();
    stop_fleet.send(()).unwrap();
    sidecar.stop().await;

    println!(
        "\n-- 2. The fleet queue: {pending} pending approvals across {instances} instances, written into the central store"
    );
    let share = pending / instances;
    for (label, n, k) in [("baseline: one instance's share", share, 1), ("the whole fleet", pending, instances)] {
        let schema = unique("bq");
        let pg = format!("postgres://postgres@127.0.0.1:5432/test?schema={schema}");
        // The schema and tables, as an instance's shipper creates them.
        let mut sink = warden::sink::postgres::PostgresSink::new(&pg).unwrap();
        let instance = warden::sink::Instance {
            id: "warden/bench-schema".into(),
            origin: "x".into(),
            public_key_pem: String::new(),
        };
        sink.connect(&instance).await.unwrap();
        seed(&schema, &template, n, k).await;
        let started = Instant::now();
        let (mut f, stop, _dir) = fleet(&pg, &nats, 50).await;
        loop {
            let page = f.list_pending(pb::ListPendingRequest { page_size: 1, ..Default::default() }).await.unwrap();
            if page.into_inner().total as usize >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        println!("{label} ({n} across {k}): start to all {n} listed: {}", fmt(started.elapsed()));
        let (_, total) = listing(&format!("{label}: first page of 100"), &mut f, "", false, 200).await;
        assert_eq!(total as usize, n);
        listing(&format!("{label}: page 11 of 100 (or the last)"), &mut f, "", true, 200).await;
        let (_, half) = listing(&format!("{label}: one tenant's first page"), &mut f, "acme", false, 200).await;
        assert_eq!(half as usize, n.div_ceil(2));
        stop.send(()).unwrap();
    }
}
