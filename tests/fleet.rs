//! One oversight for a fleet of sidecars, end to end on loopback with the
//! machine's PostgreSQL and NATS JetStream: three `warden serve` processes
//! and one `warden fleet` process, each with its own data dir, all shipping
//! to one PostgreSQL schema and one JetStream stream of this test's own.
//! A missing server fails the test; it never skips.

mod common;

use std::path::Path;
use std::process::Child;
use std::time::Duration;

use common::{eventually, refund, require_service, start_command};
use tokio_postgres::NoTls;
use warden::proto::v1 as pb;
use warden::proto::v1::approval_service_client::ApprovalServiceClient;
use warden::proto::v1::audit_service_client::AuditServiceClient;
use warden::proto::v1::compliance_service_client::ComplianceServiceClient;
use warden::proto::v1::risk_service_client::RiskServiceClient;

const PG: &str = "127.0.0.1:5432";
const NATS: &str = "127.0.0.1:4222";
const BIN: &str = env!("CARGO_BIN_EXE_warden");
const WAIT: Duration = Duration::from_secs(30);

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

struct Stores {
    pg_url: String,
    nats_url: String,
    schema: String,
    stream: String,
    prefix: String,
}

impl Stores {
    fn new() -> Self {
        let schema = unique("wf");
        let stream = unique("WF");
        let prefix = unique("wf");
        Self {
            pg_url: format!("postgres://postgres@{PG}/test?schema={schema}"),
            nats_url: format!("nats://{NATS}?stream={stream}&subject_prefix={prefix}"),
            schema,
            stream,
            prefix,
        }
    }

    async fn pg(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&format!("postgres://postgres@{PG}/test"), NoTls).await.unwrap();
        tokio::spawn(conn);
        client.batch_execute(&format!("SET search_path TO {}", self.schema)).await.unwrap();
        client
    }
}

/// A running process and what it was started with, so it can be restarted.
struct Proc {
    child: Child,
    addr: String,
    command: &'static str,
    dir: std::path::PathBuf,
    config: std::path::PathBuf,
}

impl Proc {
    fn start(command: &'static str, dir: &Path, config: &Path) -> Self {
        let (child, addr, _log) = start_command(BIN, command, dir, &["--config", config.to_str().unwrap()]);
        Self { child, addr, command, dir: dir.to_path_buf(), config: config.to_path_buf() }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGTERM, and wait for the orderly stop (journal closed, shipped).
    fn stop(&mut self) {
        let pid = self.child.id().to_string();
        std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{} exited with {status}", self.command);
    }

    fn restart(&mut self) {
        *self = Self::start(self.command, &self.dir, &self.config);
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn risk(p: &Proc) -> RiskServiceClient<tonic::transport::Channel> {
    RiskServiceClient::connect(p.url()).await.unwrap()
}

async fn approvals(p: &Proc) -> ApprovalServiceClient<tonic::transport::Channel> {
    ApprovalServiceClient::connect(p.url()).await.unwrap()
}

async fn audit(p: &Proc) -> AuditServiceClient<tonic::transport::Channel> {
    AuditServiceClient::connect(p.url()).await.unwrap()
}

/// Scores a refund that needs approval on `p`; returns the approval id.
async fn open_approval(p: &Proc, session: &str) -> String {
    let a = risk(p).await.score_action(refund(session, 9800)).await.unwrap().into_inner();
    assert_eq!(a.decision, pb::Decision::RequireApproval as i32, "{:?}", a.reasons);
    assert!(!a.approval_id.is_empty());
    a.approval_id
}

async fn get(p: &Proc, id: &str) -> pb::Approval {
    approvals(p).await.get(pb::GetApprovalRequest { approval_id: id.into() }).await.unwrap().into_inner()
}

/// Waits until the fleet service lists `id` as pending; returns it.
async fn listed(fleet: &Proc, id: &str) -> pb::Approval {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let page = approvals(fleet)
            .await
            .list_pending(pb::ListPendingRequest { page_size: 1000, ..Default::default() })
            .await
            .unwrap()
            .into_inner();
        if let Some(a) = page.approvals.into_iter().find(|a| a.approval_id == id) {
            return a;
        }
        assert!(std::time::Instant::now() < deadline, "the fleet service never listed approval {id}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn decide(fleet: &Proc, id: &str, approve: bool, reviewer: &str) -> Result<pb::Approval, tonic::Status> {
    approvals(fleet)
        .await
        .decide(pb::DecideRequest {
            approval_id: id.into(),
            approve,
            reviewer: reviewer.into(),
            reason: format!("{reviewer} checked the order"),
        })
        .await
        .map(|r| r.into_inner())
}

/// The agent's Watch on the sidecar until the approval leaves pending.
async fn verdict(p: &Proc, id: &str) -> pb::Approval {
    let mut stream = approvals(p).await.watch(pb::WatchRequest { approval_id: id.into() }).await.unwrap().into_inner();
    tokio::time::timeout(WAIT, async {
        loop {
            let a = stream.message().await.unwrap().expect("the watch ended without a verdict");
            if a.state != pb::ApprovalState::Pending as i32 {
                return a;
            }
        }
    })
    .await
    .expect("no verdict reached the agent's watch")
}

/// An instance's `approval` records about `id`, from its own AuditService.
async fn steps(p: &Proc, id: &str) -> Vec<serde_json::Value> {
    let mut stream = audit(p)
        .await
        .query(pb::AuditQuery { kind: "approval".into(), limit: 1000, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while let Some(r) = stream.message().await.unwrap() {
        let v: serde_json::Value = serde_json::from_slice(&r.canonical_entry).unwrap();
        if v["body"]["approval_id"] == id {
            out.push(v["body"].clone());
        }
    }
    out
}

fn write_config(dir: &Path, body: &str) -> std::path::PathBuf {
    let path = dir.join("warden.toml");
    std::fs::write(&path, body).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_service_decides_for_every_sidecar() {
    require_service("PostgreSQL", PG).await;
    require_service("NATS", NATS).await;
    let stores = Stores::new();
    let root = tempfile::tempdir().unwrap();

    // The fleet service: its own log ships to both stores; its decision key
    // is what every sidecar trusts.
    let fleet_dir = root.path().join("fleet");
    std::fs::create_dir_all(&fleet_dir).unwrap();
    let key = std::process::Command::new(BIN)
        .args(["fleet", "--print-decision-key", "--data-dir"])
        .arg(&fleet_dir)
        .output()
        .unwrap();
    assert!(key.status.success(), "{}", String::from_utf8_lossy(&key.stderr));
    let key_file = root.path().join("fleet-decisions.pub.pem");
    std::fs::write(&key_file, &key.stdout).unwrap();
    let fleet_config = write_config(
        &fleet_dir,
        &format!(
            "[sinks]\nurls = [{:?}, {:?}]\n[fleet]\ncentral = {:?}\npoll_interval_ms = 200\n",
            stores.pg_url, stores.nats_url, stores.pg_url
        ),
    );

    let mut sidecars = Vec::new();
    for i in 1..=3 {
        let dir = root.path().join(format!("sidecar-{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        // The first sidecar's approvals expire soon: the late decision below.
        let ttl = if i == 1 { 12 } else { 600 };
        let config = write_config(
            &dir,
            &format!(
                "[sinks]\nurls = [{:?}, {:?}]\n[approvals]\nttl_seconds = {ttl}\n[fleet]\ndecisions_from = {:?}\ndecision_key_file = {:?}\n",
                stores.pg_url,
                stores.nats_url,
                stores.nats_url,
                key_file.to_str().unwrap()
            ),
        );
        sidecars.push(Proc::start("serve", &dir, &config));
    }
    let mut fleet = Proc::start("fleet", &fleet_dir, &fleet_config);

    // 1. An approval opened on the second sidecar is listed by the fleet
    //    service with its instance, decided there, and the agent's Watch on
    //    that sidecar sees the verdict.
    let id = open_approval(&sidecars[1], "fleet-s2").await;
    let instance_2 = get(&sidecars[1], &id).await.instance_id;
    assert!(instance_2.starts_with("warden/"), "{instance_2}");
    let shown = listed(&fleet, &id).await;
    assert_eq!(shown.instance_id, instance_2);
    assert_eq!(shown.subject.split('(').next(), Some("issue_refund"));
    let decided = decide(&fleet, &id, true, "alice").await.unwrap();
    assert_eq!(decided.state, pb::ApprovalState::Approved as i32);
    let seen = verdict(&sidecars[1], &id).await;
    assert_eq!(seen.state, pb::ApprovalState::Approved as i32);
    assert_eq!(seen.reviewer, "alice");
    // Decided once, fleet-wide: a second reviewer is refused by the fleet.
    let again = decide(&fleet, &id, false, "bob").await.unwrap_err();
    assert_eq!(again.code(), tonic::Code::FailedPrecondition, "{again:?}");

    // The decision is in both journals and in PostgreSQL.
    let sidecar_steps = steps(&sidecars[1], &id).await;
    let applied = sidecar_steps.iter().find(|s| s["event"] == "approved").expect("the sidecar recorded the decision");
    assert_eq!(applied["actor"], "alice");
    let fleet_record_id = applied["delivered_from"].as_str().unwrap().to_string();
    let mut fleet_records = audit(&fleet)
        .await
        .query(pb::AuditQuery { kind: "fleet_decision".into(), limit: 10, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let first = fleet_records.message().await.unwrap().expect("the fleet recorded its decision");
    assert_eq!(first.record_id, fleet_record_id);
    let db = stores.pg().await;
    eventually("PostgreSQL holds both records of the decision", WAIT, || {
        let db = &db;
        let fleet_record_id = fleet_record_id.clone();
        async move {
            let n: i64 = db
                .query_one(
                    "SELECT count(*) FROM warden_records WHERE (kind = 'fleet_decision' AND record_id = $1::text::uuid) \
                     OR (kind = 'approval' AND convert_from(entry, 'UTF8')::jsonb -> 'body' ->> 'delivered_from' = $1)",
                    &[&fleet_record_id],
                )
                .await
                .map(|r| r.get(0))
                .unwrap_or(0);
            n == 2
        }
    })
    .await;

    // 2. A sidecar stopped while a decision is made receives it when it
    //    starts again.
    let id3 = open_approval(&sidecars[2], "fleet-s3").await;
    listed(&fleet, &id3).await;
    sidecars[2].stop();
    let decided = decide(&fleet, &id3, false, "carol").await.unwrap();
    assert_eq!(decided.state, pb::ApprovalState::Denied as i32);
    sidecars[2].restart();
    let seen = verdict(&sidecars[2], &id3).await;
    assert_eq!(seen.state, pb::ApprovalState::Denied as i32);
    assert_eq!(seen.reviewer, "carol");

    // 3. The same decision delivered twice is applied once.
    let nats = async_nats::connect(NATS).await.unwrap();
    let js = async_nats::jetstream::new(nats);
    let stream = js.get_stream(&stores.stream).await.unwrap();
    let subject = format!("{}.acme.fleet_decision", stores.prefix);
    let mut fleet_messages = Vec::new();
    let info = stream.get_info().await.unwrap();
    for seq in 1..=info.state.last_sequence {
        if let Ok(m) = stream.get_raw_message(seq).await {
            if m.subject.as_str() == subject {
                fleet_messages.push(m.payload.to_vec());
            }
        }
    }
    assert_eq!(fleet_messages.len(), 2, "two fleet decisions on the stream");
    let before = steps(&sidecars[1], &id).await.len();
    js.publish(subject.clone(), fleet_messages[0].clone().into()).await.unwrap().await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(steps(&sidecars[1], &id).await.len(), before, "a repeat is not recorded again");
    assert_eq!(get(&sidecars[1], &id).await.votes.len(), 1);

    // 4. A forged decision (not signed by the fleet service) is refused and
    //    recorded; the approval stays pending.
    let id1 = open_approval(&sidecars[0], "fleet-s1").await;
    let instance_1 = get(&sidecars[0], &id1).await.instance_id;
    let mut forged: serde_json::Value = serde_json::from_slice(&fleet_messages[0]).unwrap();
    forged["id"] = serde_json::json!(uuid::Uuid::now_v7().to_string());
    forged["body"]["approval_id"] = serde_json::json!(id1);
    forged["body"]["instance_id"] = serde_json::json!(instance_1);
    forged["body"]["reviewer"] = serde_json::json!("mallory");
    js.publish(subject.clone(), serde_json::to_vec(&forged).unwrap().into()).await.unwrap().await.unwrap();
    eventually("the forged decision is recorded as refused", WAIT, || {
        let sidecar = &sidecars[0];
        let id1 = id1.clone();
        async move {
            steps(sidecar, &id1).await.iter().any(|s| {
                s["event"] == "refused"
                    && s["actor"] == "mallory"
                    && s["reason"].as_str().unwrap_or_default().contains("not from the fleet service")
            })
        }
    })
    .await;
    assert_eq!(get(&sidecars[0], &id1).await.state, pb::ApprovalState::Pending as i32);

    // 5. Expiry stays the sidecar's: a decision that reaches it after the
    //    approval's time is recorded and refused, never applied.
    listed(&fleet, &id1).await;
    let expires = get(&sidecars[0], &id1).await.expires_at.unwrap();
    sidecars[0].stop();
    decide(&fleet, &id1, true, "dave").await.unwrap();
    while time::OffsetDateTime::now_utc().unix_timestamp() <= expires.seconds + 1 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    sidecars[0].restart();
    let seen = verdict(&sidecars[0], &id1).await;
    assert_eq!(seen.state, pb::ApprovalState::Expired as i32, "{seen:?}");
    eventually("the late decision is recorded as refused", WAIT, || {
        let sidecar = &sidecars[0];
        let id1 = id1.clone();
        async move { steps(sidecar, &id1).await.iter().any(|s| s["event"] == "refused" && s["actor"] == "dave") }
    })
    .await;

    // 6. A report over the fleet, from the fleet service's ComplianceService:
    //    every instance's central copy verified, all three sidecars'
    //    decisions and approvals counted (and the fleet service's own log,
    //    which holds what reviewers were shown).
    let today = time::OffsetDateTime::now_utc();
    let day = |t: time::OffsetDateTime| pbjson_types::Timestamp { seconds: t.unix_timestamp(), nanos: 0 };
    let instances = [&instance_1, &instance_2, &get(&sidecars[2], &id3).await.instance_id];
    let deadline = std::time::Instant::now() + WAIT;
    let report = loop {
        let channel = tonic::transport::Channel::from_shared(fleet.url()).unwrap().connect().await.unwrap();
        let r = ComplianceServiceClient::new(channel)
            .generate_report(pb::GenerateReportRequest {
                framework: pb::Framework::EuAiAct as i32,
                from: Some(day(today - time::Duration::days(1))),
                to: Some(day(today + time::Duration::days(1))),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let report: serde_json::Value = serde_json::from_slice(&r.report_json).unwrap();
        let outcomes = &report["indicators"]["oversight.approvals"]["value"]["outcomes"];
        if outcomes["approved"] == 1 && outcomes["denied"] == 1 && outcomes["expired"] == 1 {
            break report;
        }
        assert!(std::time::Instant::now() < deadline, "the fleet report never counted every approval: {outcomes}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let fleet_instances = report["fleet"].as_array().expect("a fleet report lists its instances");
    assert_eq!(fleet_instances.len(), 4, "three sidecars and the fleet service: {fleet_instances:?}");
    assert!(fleet_instances.iter().all(|i| i["exception"].is_null()), "every copy verifies: {fleet_instances:?}");
    for instance in instances {
        let i = fleet_instances.iter().find(|i| i["instance_id"] == instance.as_str()).expect("listed");
        assert_eq!((i["decisions"].as_u64(), i["approvals"].as_u64()), (Some(1), Some(1)), "{i}");
    }
    assert_eq!(report["summary"]["decisions"], 3);
    assert_eq!(report["indicators"]["oversight.approvals"]["value"]["requested"], 3);

    // 7. Fleet-wide investigation: the fleet service's Query and proofs over
    //    the second sidecar's verified central copy, by its instance id.
    let mut on_fleet = audit(&fleet).await;
    let mut found = on_fleet
        .query(pb::AuditQuery {
            instance_id: instance_2.clone(),
            kind: "approval".into(),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut approved = None;
    while let Some(r) = found.message().await.unwrap() {
        let v: serde_json::Value = serde_json::from_slice(&r.canonical_entry).unwrap();
        if v["body"]["approval_id"] == id.as_str() && v["body"]["event"] == "approved" {
            approved = Some(r);
        }
    }
    let approved = approved.expect("the sidecar's record of the decision, read on the fleet service");
    let cp = on_fleet
        .get_checkpoint(pb::GetCheckpointRequest { instance_id: instance_2.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cp.origin, instance_2);
    let proof = on_fleet
        .get_inclusion_proof(pb::GetInclusionProofRequest {
            leaf_index: approved.leaf_index,
            tree_size: cp.tree_size,
            instance_id: instance_2.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let hashes: Vec<[u8; 32]> = proof.hashes.iter().map(|h| h.as_slice().try_into().unwrap()).collect();
    let root: [u8; 32] = cp.root_hash.as_slice().try_into().unwrap();
    warden::audit::merkle::verify_inclusion(
        &warden::audit::merkle::leaf_hash(&approved.canonical_entry),
        approved.leaf_index,
        cp.tree_size,
        &hashes,
        &root,
    )
    .expect("the inclusion proof from the central copy verifies against the instance's checkpoint");
    let reveal = on_fleet
        .query(pb::AuditQuery { instance_id: instance_2.clone(), reveal: true, ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(reveal.code(), tonic::Code::InvalidArgument, "{reveal:?}");
    let unknown =
        on_fleet.query(pb::AuditQuery { instance_id: "warden/nobody".into(), ..Default::default() }).await.unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound, "{unknown:?}");
    // A sidecar holds only its own log.
    let elsewhere = audit(&sidecars[0])
        .await
        .query(pb::AuditQuery { instance_id: instance_2.clone(), ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(elsewhere.code(), tonic::Code::InvalidArgument, "{elsewhere:?}");

    fleet.stop();
    for s in &mut sidecars {
        s.stop();
    }
}

/// A fleet-wide report counts only what verifies. Two sidecars ship to one
/// schema; the report (in-process, the domain call) counts both. Then one
/// instance's central copy is changed behind the append-only trigger, as
/// a database superuser could: the report (`warden report --central`)
/// shows that instance as an exception, counts none of its records, and
/// the integrity indicator is not met.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_report_shows_a_tampered_instance_as_an_exception() {
    use warden::compliance::{Framework, ReportRequest, Source};
    require_service("PostgreSQL", PG).await;
    let stores = Stores::new();
    for calls in [2, 3] {
        let mut server =
            common::TestServer::start_with(|c| c.sinks.urls = vec![stores.pg_url.clone()], Vec::new()).await;
        for n in 0..calls {
            let text = format!("instance with {calls} calls, call {n}");
            server.risk().await.score_input(common::input(&text)).await.unwrap();
        }
        server.stop().await.unwrap();
    }
    let db = stores.pg().await;
    let decisions_by_instance = || async {
        db.query(
            "SELECT instance_id, count(*) FROM warden_records WHERE kind = 'score_decision' \
             GROUP BY instance_id ORDER BY count(*)",
            &[],
        )
        .await
        .map(|rows| rows.iter().map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1))).collect::<Vec<_>>())
        .unwrap_or_default()
    };
    eventually("both instances shipped", WAIT, || async {
        decisions_by_instance().await.iter().map(|(_, n)| *n).collect::<Vec<_>>() == [2, 3]
    })
    .await;
    let tampered = decisions_by_instance().await[0].0.clone();

    let today = time::OffsetDateTime::now_utc();
    let (from, to) = (today - time::Duration::days(1), today + time::Duration::days(1));
    let dir = tempfile::tempdir().unwrap();
    let fleet_report = |dir: std::path::PathBuf| {
        let url = stores.pg_url.clone();
        async move {
            let audit = warden::audit::AuditConfig::default();
            let log = std::sync::Arc::new(warden::audit::journal::AuditLog::open(&dir, &audit).unwrap());
            let req = ReportRequest {
                framework: Framework::EuAiAct,
                from,
                to,
                tenant: String::new(),
                application: String::new(),
                actor: "auditor".into(),
            };
            let stores = warden::sink::Cursors::new(&dir, &Default::default());
            let generated = warden::compliance::generate_from(
                log.clone(),
                &Default::default(),
                req,
                &stores,
                Source::Central(&url),
            )
            .await
            .unwrap();
            warden::audit::Journal::close(&*log).unwrap();
            generated.report
        }
    };
    let clean = fleet_report(dir.path().to_path_buf()).await;
    let instances = clean.fleet.as_ref().unwrap();
    assert_eq!(instances.len(), 2);
    assert!(instances.iter().all(|i| i.exception.is_none()), "{instances:?}");
    assert_eq!(clean.summary.decisions, 5);
    assert_eq!(clean.indicators["integrity.checkpoints"].status, warden::compliance::indicators::Status::Met);

    db.batch_execute(&format!(
        "SET session_replication_role = replica; \
         UPDATE warden_records SET entry = convert_to(replace(convert_from(entry, 'UTF8'), 'call 1', 'call X'), 'UTF8') \
         WHERE instance_id = '{tampered}' AND kind = 'score_decision'; \
         SET session_replication_role = origin;"
    ))
    .await
    .unwrap();

    let out = dir.path().join("out");
    let cli = std::process::Command::new(BIN)
        .args(["report", "--framework", "eu-ai-act", "--central", &stores.pg_url, "--data-dir"])
        .arg(dir.path())
        .args(["--from", &warden::timestamp::format(from), "--to", &warden::timestamp::format(to), "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&cli.stdout);
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));
    assert!(
        stdout.contains(&format!(
            "2 instances, 1 verified; exceptions (central copy does not verify, not counted): {tampered}"
        )),
        "{stdout}"
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let listed = report["fleet"].as_array().unwrap();
    let bad = listed.iter().find(|i| i["instance_id"] == tampered.as_str()).unwrap();
    assert!(bad["exception"].as_str().unwrap().contains("was modified"), "{bad}");
    assert_eq!(bad["decisions"], 0, "none of its records count");
    assert_eq!(report["summary"]["decisions"], 3, "only the verified instance's decisions");
    let integrity = &report["indicators"]["integrity.checkpoints"];
    assert_eq!(integrity["status"], "partly_met", "{integrity}");
    assert_eq!(integrity["value"]["unverified_instances"], serde_json::json!([tampered]));
    let attention = report["summary"]["attention"].as_array().unwrap();
    assert!(attention[0].as_str().unwrap().contains(&format!("Instance {tampered}: its central copy does not verify")));
    let html = String::from_utf8(std::fs::read(out.join("report.html")).unwrap()).unwrap();
    assert!(html.contains("Exception: "), "the HTML shows the exception");
}

/// The rules a sidecar applies to a delivered decision, in-process: applied
/// once (a repeat records nothing), refused and recorded when the approval
/// is the reviewer's own request, already decided, past its time, or not
/// held here; a forged one is refused without being remembered, so the real
/// decision with its record id still applies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_decisions_follow_the_sidecars_rules() {
    use warden::approval::{Delivered, Delivery, State};
    use warden::auth::Caller;
    let dir = tempfile::tempdir().unwrap();
    let config = warden::config::Config { data_dir: dir.path().to_path_buf(), ..Default::default() };
    let app = warden::build(&config, Vec::new()).unwrap();
    let caller = Caller::anonymous();
    let open = |session: &'static str| {
        let engine = app.engine.clone();
        let caller = caller.clone();
        async move {
            let pb::ScoreActionRequest { context, tool, arguments_json, rationale } = refund(session, 9800);
            let c = context.unwrap();
            let request = warden::scoring::ScoreRequest::Action {
                context: warden::scoring::Context {
                    tenant: c.tenant,
                    application: c.application,
                    session_id: c.session_id,
                    user_id: c.user_id,
                    ..Default::default()
                },
                tool,
                arguments_json,
                rationale,
            };
            engine.score(request, &caller).await.unwrap().approval_id.expect("needs approval")
        }
    };
    let delivered = |id: &str, reviewer: &str, record: &str| Delivered {
        approval_id: id.into(),
        approve: true,
        reviewer: reviewer.into(),
        reason: "checked".into(),
        fleet_record_id: record.into(),
        fleet_origin: "warden/fleet".into(),
    };
    let store = app.approvals.clone();
    let steps = |id: String| {
        let log = app.audit.clone();
        async move {
            let q = warden::audit::journal::Query { kind: "approval".into(), ..Default::default() };
            log.query(&q)
                .into_iter()
                .filter_map(|seq| log.record(seq).unwrap())
                .filter(|r| String::from_utf8_lossy(&r.canonical).contains(&id))
                .count()
        }
    };

    let a = open("d-1").await;
    // A forged decision first, reusing the record id the real one will have.
    store.refuse_unverified(&delivered(&a, "mallory", "rec-1"), "not from the fleet service").await.unwrap();
    assert_eq!(steps(a.clone()).await, 1);
    let Delivery::Applied(applied) = store.apply_delivered(&delivered(&a, "alice", "rec-1")).await.unwrap() else {
        panic!("not applied")
    };
    assert_eq!(applied.state, State::Approved);
    assert_eq!(steps(a.clone()).await, 2);
    assert_eq!(store.apply_delivered(&delivered(&a, "alice", "rec-1")).await.unwrap(), Delivery::Repeat);
    assert_eq!(steps(a.clone()).await, 2, "a repeat records nothing");
    // Another decision on a decided approval: refused, recorded.
    let Delivery::Refused(why) = store.apply_delivered(&delivered(&a, "bob", "rec-2")).await.unwrap() else {
        panic!("applied twice")
    };
    assert!(why.contains("already approved by alice"), "{why}");
    assert_eq!(steps(a.clone()).await, 3);

    // The end user the request was made for may not decide it.
    let b = open("d-2").await;
    let Delivery::Refused(why) = store.apply_delivered(&delivered(&b, "customer-7", "rec-3")).await.unwrap() else {
        panic!("self-approval applied")
    };
    assert!(why.contains("made this request"), "{why}");
    // An approval this instance does not hold.
    let Delivery::Refused(why) =
        store.apply_delivered(&delivered("0193a0b2-0000-7000-8000-00000000dead", "alice", "rec-4")).await.unwrap()
    else {
        panic!("applied to nothing")
    };
    assert!(why.contains("not held by this instance"), "{why}");

    // After restart, taken decisions are remembered (a repeat stays a repeat).
    drop(store);
    warden::audit::Journal::close(&*app.audit).unwrap();
    drop(app);
    let app = warden::build(&config, Vec::new()).unwrap();
    assert_eq!(app.approvals.apply_delivered(&delivered(&a, "alice", "rec-1")).await.unwrap(), Delivery::Repeat);
    assert_eq!(app.approvals.apply_delivered(&delivered(&b, "customer-7", "rec-3")).await.unwrap(), Delivery::Repeat);
}

/// The fleet service's web console: a reviewer signs in with their own
/// token, sees another instance's approval in the queue with its
/// instance, decides it there, and the agent's Watch on the sidecar sees
/// the verdict by that reviewer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_decides_in_the_fleet_console() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    require_service("PostgreSQL", PG).await;
    require_service("NATS", NATS).await;
    const ALICE: &str = "alice-token-00000000000000000000";
    const AUDREY: &str = "audrey-token-0000000000000000000";
    let stores = Stores::new();
    let fleet_dir = tempfile::tempdir().unwrap();
    let key_path = warden::fleet::decision::key_path(fleet_dir.path(), None);
    let key = warden::fleet::decision::load_or_create_key(&key_path).unwrap();
    let pub_key = fleet_dir.path().join("decisions.pub.pem");
    std::fs::write(&pub_key, warden::fleet::decision::public_pem(&key)).unwrap();

    // The fleet service in-process, its console on an ephemeral port.
    let fleet = InProcessFleet::start(fleet_dir.path(), &stores.pg_url, &stores.nats_url, |config| {
        config.auth.tokens = vec![
            common::token("alice", ALICE, &[warden::auth::Role::Reviewer]),
            common::token("audrey", AUDREY, &[warden::auth::Role::Auditor]),
        ];
    })
    .await;
    let console = fleet.console.clone();

    // A sidecar, in-process, taking decisions from it.
    let sidecar = in_process_sidecar(&stores, &pub_key).await;
    let a = sidecar.risk().await.score_action(refund("console-1", 9800)).await.unwrap().into_inner();
    let id = a.approval_id;

    // A few lines of HTTP/1.1, as the console's own tests send them.
    let http = |request: String| {
        let console = console.clone();
        async move {
            let mut s = tokio::net::TcpStream::connect(&console).await.unwrap();
            s.write_all(request.as_bytes()).await.unwrap();
            let mut raw = Vec::new();
            s.read_to_end(&mut raw).await.unwrap();
            String::from_utf8_lossy(&raw).to_string()
        }
    };
    let get = |path: String, cookie: String| {
        http(format!("GET {path} HTTP/1.1\r\nHost: {console}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"))
    };
    let post = |path: String, cookie: String, form: String| {
        http(format!(
            "POST {path} HTTP/1.1\r\nHost: {console}\r\nOrigin: http://{console}\r\nCookie: {cookie}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
            form.len()
        ))
    };
    let cookie_of = |reply: &str| {
        reply.lines().find(|l| l.to_ascii_lowercase().starts_with("set-cookie:")).unwrap()[11..]
            .trim()
            .split(';')
            .next()
            .unwrap()
            .to_string()
    };
    let csrf_of =
        |page: &str| page.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let login = get("/login".into(), String::new()).await;
    let (login_cookie, login_csrf) = (cookie_of(&login), csrf_of(&login));
    let signed_in = post("/login".into(), login_cookie, format!("token={ALICE}&csrf={login_csrf}")).await;
    let session = cookie_of(&signed_in);

    let deadline = std::time::Instant::now() + WAIT;
    while !get("/approvals".into(), session.clone()).await.contains(&format!("data-approval=\"{id}\"")) {
        assert!(std::time::Instant::now() < deadline, "the fleet console never listed the approval");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let detail = get(format!("/approvals/{id}"), session.clone()).await;
    let instance = approvals_client(&sidecar).await.get(pb::GetApprovalRequest { approval_id: id.clone() }).await;
    let instance = instance.unwrap().into_inner().instance_id;
    assert!(detail.contains(&instance), "the detail names the instance {instance}");
    let decided = post(
        format!("/approvals/{id}/decide"),
        session.clone(),
        format!("verdict=approve&reason=order+checked&csrf={}", csrf_of(&detail)),
    )
    .await;
    assert!(decided.starts_with("HTTP/1.1 303") || decided.starts_with("HTTP/1.1 200"), "{decided}");

    let mut watch = approvals_client(&sidecar)
        .await
        .watch(pb::WatchRequest { approval_id: id.clone() })
        .await
        .unwrap()
        .into_inner();
    let verdict = tokio::time::timeout(WAIT, async {
        loop {
            let a = watch.message().await.unwrap().unwrap();
            if a.state != pb::ApprovalState::Pending as i32 {
                return a;
            }
        }
    })
    .await
    .expect("the sidecar never saw the console's decision");
    assert_eq!(verdict.state, pb::ApprovalState::Approved as i32);
    assert_eq!(verdict.reviewer, "alice", "the reviewer the fleet authenticated");

    // An auditor on the fleet console reads the sidecar's timeline from its
    // verified central copy, and the page's proofs come from that copy.
    let login = get("/login".into(), String::new()).await;
    let (login_cookie, login_csrf) = (cookie_of(&login), csrf_of(&login));
    let signed_in = post("/login".into(), login_cookie, format!("token={AUDREY}&csrf={login_csrf}")).await;
    let auditor = cookie_of(&signed_in);
    let encoded = instance.replace('/', "%2F");
    let deadline = std::time::Instant::now() + WAIT;
    let timeline = loop {
        let page = get(format!("/sessions/console-1?instance={encoded}"), auditor.clone()).await;
        if page.contains("approved") {
            break page;
        }
        assert!(std::time::Instant::now() < deadline, "the sidecar's timeline never showed its decision: {page}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(timeline.contains(&format!("data-instance=\"{instance}\"")), "{timeline}");
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let proof = get(format!("/records/0/proof?instance={encoded}"), auditor.clone()).await;
        if proof.starts_with("HTTP/1.1 200") {
            assert!(proof.contains("\"tree_size\""), "{proof}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no proof from the sidecar's copy: {proof}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let unknown = get("/sessions/console-1?instance=warden%2Fnobody".into(), auditor.clone()).await;
    assert!(unknown.starts_with("HTTP/1.1 404"), "{unknown}");
    fleet.stop().await;
}

async fn approvals_client(server: &common::TestServer) -> ApprovalServiceClient<tonic::transport::Channel> {
    ApprovalServiceClient::new(server.channel().await)
}

/// A sidecar in-process, shipping to `stores` and taking decisions signed
/// with the key whose public half is at `pub_key`.
async fn in_process_sidecar(stores: &Stores, pub_key: &Path) -> common::TestServer {
    common::TestServer::start_with(
        |c| {
            c.sinks.urls = vec![stores.pg_url.clone(), stores.nats_url.clone()];
            c.fleet.decisions_from = stores.nats_url.clone();
            c.fleet.decision_key_file = Some(pub_key.to_path_buf());
        },
        Vec::new(),
    )
    .await
}

/// A fleet service in-process on ephemeral ports (gRPC and console).
struct InProcessFleet {
    grpc: String,
    console: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), warden::ServeError>>,
}

impl InProcessFleet {
    async fn start(dir: &Path, central: &str, nats: &str, tweak: impl FnOnce(&mut warden::Config)) -> Self {
        let mut config = warden::Config { data_dir: dir.to_path_buf(), ..Default::default() };
        config.sinks.urls = vec![central.to_string(), nats.to_string()];
        config.fleet.central = central.to_string();
        config.fleet.poll_interval_ms = 100;
        tweak(&mut config);
        let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (grpc_addr, console) = (grpc.local_addr().unwrap().to_string(), admin.local_addr().unwrap().to_string());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            warden::server::fleet::serve_fleet(
                &config,
                warden::Listeners { grpc, metrics: None, health: None, admin: Some(admin) },
                async {
                    let _ = stopped.await;
                },
            )
            .await
        });
        Self { grpc: grpc_addr, console, stop, task }
    }

    async fn approvals(&self) -> ApprovalServiceClient<tonic::transport::Channel> {
        let channel = tonic::transport::Channel::from_shared(format!("http://{}", self.grpc)).unwrap();
        loop {
            match channel.clone().connect().await {
                Ok(c) => return ApprovalServiceClient::new(c),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }
}

/// JetStream is down (for the fleet service) while a reviewer decides: the
/// decision is durable in the fleet service's log, the agent's Watch keeps
/// waiting, and the decision reaches the sidecar once JetStream is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_made_while_jetstream_is_down_arrives_when_it_returns() {
    require_service("PostgreSQL", PG).await;
    require_service("NATS", NATS).await;
    let stores = Stores::new();
    let proxy = common::Proxy::start(NATS).await;
    let fleet_nats = format!("nats://{}?stream={}&subject_prefix={}", proxy.addr, stores.stream, stores.prefix);
    let fleet_dir = tempfile::tempdir().unwrap();
    let key = warden::fleet::decision::load_or_create_key(&warden::fleet::decision::key_path(fleet_dir.path(), None))
        .unwrap();
    let pub_key = fleet_dir.path().join("decisions.pub.pem");
    std::fs::write(&pub_key, warden::fleet::decision::public_pem(&key)).unwrap();
    let fleet = InProcessFleet::start(fleet_dir.path(), &stores.pg_url, &fleet_nats, |_| {}).await;
    let sidecar = in_process_sidecar(&stores, &pub_key).await;
    let id = sidecar.risk().await.score_action(refund("nats-down", 9800)).await.unwrap().into_inner().approval_id;
    let mut reviewers = fleet.approvals().await;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let page = reviewers
            .list_pending(pb::ListPendingRequest { page_size: 1000, ..Default::default() })
            .await
            .unwrap()
            .into_inner();
        if page.approvals.iter().any(|a| a.approval_id == id) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the fleet service never listed the approval");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    proxy.cut();
    let decided = reviewers
        .decide(pb::DecideRequest {
            approval_id: id.clone(),
            approve: true,
            reviewer: "alice".into(),
            reason: "decided while JetStream was away".into(),
        })
        .await
        .expect("a decision is durable in the fleet service's log, whatever JetStream does")
        .into_inner();
    assert_eq!(decided.state, pb::ApprovalState::Approved as i32);
    let mut watch = approvals_client(&sidecar)
        .await
        .watch(pb::WatchRequest { approval_id: id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(watch.message().await.unwrap().unwrap().state, pb::ApprovalState::Pending as i32);
    // Nothing reaches the sidecar while the fleet service cannot publish.
    let early = tokio::time::timeout(Duration::from_secs(3), watch.message()).await;
    assert!(early.is_err(), "the agent's Watch waits: {early:?}");

    proxy.restore();
    let verdict = tokio::time::timeout(WAIT, watch.message())
        .await
        .expect("the decision arrived once JetStream was back")
        .unwrap()
        .unwrap();
    assert_eq!(verdict.state, pb::ApprovalState::Approved as i32);
    assert_eq!(verdict.reviewer, "alice");
    fleet.stop().await;
}
