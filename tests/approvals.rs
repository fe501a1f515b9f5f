//! Human approval end to end through gRPC: request, watch, decide, expire,
//! restart with a pending approval, separation of duties, authentication.

mod common;

use std::time::Duration;

use common::TestServer;
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::Code;
use warden::audit::journal::{AuditLog, Query};
use warden::auth::Role;
use warden::config::{Config, TokenConfig};
use warden::proto::v1 as pb;
use warden::proto::v1::approval_service_client::ApprovalServiceClient;
use warden::proto::v1::risk_service_client::RiskServiceClient;

const AGENT: &str = "agent-token-000000000000000000";
const ALICE: &str = "alice-token-000000000000000000";
const BOB: &str = "bob-token-00000000000000000000";
const CAROL: &str = "carol-token-000000000000000000";
const AUDITOR: &str = "auditor-token-0000000000000000";
/// A reviewer for tenant globex only.
const DAVE: &str = "dave-token-0000000000000000000";

use common::token;

fn with_auth(c: &mut Config) {
    c.auth.tokens = vec![
        token("support-agent", AGENT, &[Role::Agent]),
        token("alice", ALICE, &[Role::Reviewer]),
        token("bob", BOB, &[Role::Reviewer]),
        // Carol runs an agent and reviews: she must not approve her own calls.
        token("carol", CAROL, &[Role::Agent, Role::Reviewer]),
        token("audit-team", AUDITOR, &[Role::Auditor]),
        TokenConfig { tenants: vec!["globex".into()], ..token("dave", DAVE, &[Role::Agent, Role::Reviewer]) },
    ];
}

type Auth = Box<dyn FnMut(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Send>;

fn bearer(token: Option<&'static str>) -> Auth {
    Box::new(move |mut req: tonic::Request<()>| {
        if let Some(t) = token {
            req.metadata_mut().insert("authorization", MetadataValue::try_from(format!("Bearer {t}")).unwrap());
        }
        Ok(req)
    })
}

async fn approvals_as(
    server: &TestServer,
    token: Option<&'static str>,
) -> ApprovalServiceClient<InterceptedService<Channel, Auth>> {
    ApprovalServiceClient::with_interceptor(server.channel().await, bearer(token))
}

async fn risk_as(
    server: &TestServer,
    token: Option<&'static str>,
) -> RiskServiceClient<InterceptedService<Channel, Auth>> {
    RiskServiceClient::with_interceptor(server.channel().await, bearer(token))
}

use common::refund;

fn decide(id: &str, approve: bool, reason: &str) -> pb::DecideRequest {
    pb::DecideRequest { approval_id: id.into(), approve, reviewer: String::new(), reason: reason.into() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_watch_show_and_approve_with_separation_of_duties() {
    let server = TestServer::start_with(with_auth, vec![]).await;

    // Unauthenticated and unauthorised calls are refused.
    let status = risk_as(&server, None).await.score_action(refund("s", 9800)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = risk_as(&server, Some("not-a-token")).await.score_action(refund("s", 9800)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = risk_as(&server, Some(ALICE)).await.score_action(refund("s", 9800)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "reviewers do not score");

    // The agent's session: a question, then the refund that needs a human.
    let mut risk = risk_as(&server, Some(AGENT)).await;
    let mut input = common::input("My parcel never arrived, please refund order A-1");
    input.context = refund("s-refund", 0).context;
    risk.score_input(input).await.unwrap();
    let a = risk.score_action(refund("s-refund", 9800)).await.unwrap().into_inner();
    assert_eq!(a.decision, pb::Decision::RequireApproval as i32);
    let id = a.approval_id.clone();

    // The agent waits for the verdict.
    let mut watch = approvals_as(&server, Some(AGENT))
        .await
        .watch(pb::WatchRequest { approval_id: id.clone() })
        .await
        .unwrap()
        .into_inner();
    let first = watch.message().await.unwrap().unwrap();
    assert_eq!(first.state, pb::ApprovalState::Pending as i32);

    // Agents may not list or decide; auditors may list but not decide.
    let status = approvals_as(&server, Some(AGENT)).await.decide(decide(&id, true, "ok")).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let mut auditor = approvals_as(&server, Some(AUDITOR)).await;
    assert_eq!(auditor.list_pending(pb::ListPendingRequest::default()).await.unwrap().into_inner().approvals.len(), 1);
    assert_eq!(auditor.decide(decide(&id, true, "ok")).await.unwrap_err().code(), Code::PermissionDenied);

    // The reviewer sees what is needed to decide.
    let mut alice = approvals_as(&server, Some(ALICE)).await;
    let pending =
        alice.list_pending(pb::ListPendingRequest { tenant: "acme".into(), limit: 10 }).await.unwrap().into_inner();
    let p = pending.approvals.iter().find(|p| p.approval_id == id).expect("listed");
    assert_eq!(p.tool, "issue_refund");
    assert!(p.arguments_json.contains("9800"));
    assert_eq!(p.requested_by, "support-agent");
    let assessment = p.assessment.as_ref().unwrap();
    assert!(
        assessment.findings.iter().any(|f| f.message == "refund of 9,800 EUR is above the 500 EUR auto-approve limit"),
        "{assessment:?}"
    );
    assert_eq!(p.decision_path.len(), 1, "the session's earlier input is on the path: {:?}", p.decision_path);
    assert_eq!(p.decision_path[0].surface, "input");
    let got = alice.get(pb::GetApprovalRequest { approval_id: id.clone() }).await.unwrap().into_inner();
    assert!(got.expires_at.is_some());

    // A reason is required; then alice approves and the agent hears it.
    let status = alice.decide(decide(&id, true, " ")).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("reason"));
    let decided = alice.decide(decide(&id, true, "order confirmed lost by the carrier")).await.unwrap().into_inner();
    assert_eq!(decided.state, pb::ApprovalState::Approved as i32);
    assert_eq!(decided.reviewer, "alice");
    let verdict = tokio::time::timeout(Duration::from_secs(5), watch.message()).await.unwrap().unwrap().unwrap();
    assert_eq!(verdict.state, pb::ApprovalState::Approved as i32);
    assert!(watch.message().await.unwrap().is_none(), "the stream ends with the verdict");

    // A reviewer scoped to another tenant sees nothing of acme's.
    let mut dave = approvals_as(&server, Some(DAVE)).await;
    assert!(dave.list_pending(pb::ListPendingRequest::default()).await.unwrap().into_inner().approvals.is_empty());
    let status = dave.get(pb::GetApprovalRequest { approval_id: id.clone() }).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = risk_as(&server, Some(DAVE)).await.score_action(refund("s-dave", 10)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "dave may not score for acme");

    // Decided is final.
    let status =
        approvals_as(&server, Some(BOB)).await.decide(decide(&id, false, "changed my mind")).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);

    // Carol may review, but not her own request.
    let own = risk_as(&server, Some(CAROL)).await.score_action(refund("s-carol", 9800)).await.unwrap().into_inner();
    let mut carol = approvals_as(&server, Some(CAROL)).await;
    let status = carol.decide(decide(&own.approval_id, true, "looks fine to me")).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let denied = approvals_as(&server, Some(BOB))
        .await
        .decide(decide(&own.approval_id, false, "no evidence of loss"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(denied.state, pb::ApprovalState::Denied as i32);

    let metrics = server.metrics().await;
    for needle in [
        "warden_approvals_pending ",
        r#"warden_approvals_total{outcome="approved"}"#,
        "warden_approval_decision_seconds_bucket",
        r#"warden_auth_failures_total{reason="permission_denied"}"#,
    ] {
        assert!(metrics.contains(needle), "missing {needle}");
    }

    // Auditors find the approval steps by kind; agents may not query the log.
    let mut audit = warden::proto::v1::audit_service_client::AuditServiceClient::with_interceptor(
        server.channel().await,
        bearer(Some(AUDITOR)),
    );
    let mut steps =
        audit.query(pb::AuditQuery { kind: "approval".into(), ..Default::default() }).await.unwrap().into_inner();
    let mut n = 0;
    while let Some(r) = steps.message().await.unwrap() {
        assert_eq!(r.kind, "approval");
        n += 1;
    }
    assert_eq!(n, 3);
    let mut as_agent = warden::proto::v1::audit_service_client::AuditServiceClient::with_interceptor(
        server.channel().await,
        bearer(Some(AGENT)),
    );
    let status = as_agent.query(pb::AuditQuery::default()).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    // Every step is in the audit log: shown, approved, denied.
    let dir = server.stop_keep_dir().await;
    let log = AuditLog::open_read_only(dir.path(), &Config::default().audit).unwrap();
    let events: Vec<String> = log
        .query(&Query { kind: "approval".into(), ..Query::default() })
        .into_iter()
        .map(|seq| {
            let rec = log.record(seq).unwrap().unwrap();
            let v: serde_json::Value = serde_json::from_slice(&rec.canonical).unwrap();
            format!("{}:{}", v["body"]["event"].as_str().unwrap(), v["body"]["actor"].as_str().unwrap())
        })
        .collect();
    assert_eq!(events, ["shown:alice", "approved:alice", "denied:bob"]);
    assert!(common::verified_records(dir.path()) > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecided_approval_expires_to_a_deny() {
    let server = TestServer::start_with(
        |c| {
            c.approvals.ttl_seconds = 1;
            c.approvals.sweep_interval_ms = 50;
        },
        vec![],
    )
    .await;
    let a = server.risk().await.score_action(refund("s-exp", 9800)).await.unwrap().into_inner();
    let mut approvals = ApprovalServiceClient::new(server.channel().await);
    let mut watch =
        approvals.watch(pb::WatchRequest { approval_id: a.approval_id.clone() }).await.unwrap().into_inner();
    assert_eq!(watch.message().await.unwrap().unwrap().state, pb::ApprovalState::Pending as i32);
    let expired = tokio::time::timeout(Duration::from_secs(10), watch.message()).await.unwrap().unwrap().unwrap();
    assert_eq!(expired.state, pb::ApprovalState::Expired as i32);
    // With authentication off, the reviewer is named in the request.
    let status = approvals
        .decide(pb::DecideRequest {
            approval_id: a.approval_id.clone(),
            approve: true,
            reviewer: "alice".into(),
            reason: "late".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(approvals.list_pending(pb::ListPendingRequest::default()).await.unwrap().into_inner().approvals.is_empty());
    let metrics = server.metrics().await;
    assert!(metrics.contains(r#"warden_approvals_total{outcome="expired"}"#), "{metrics}");
    // The assessment names the action policy's version, and so does the
    // stored decision; the expiry is a step of its own, by Warden.
    assert!(a.policy_version.contains("warden-action+sha256:"), "{}", a.policy_version);
    let dir = server.stop_keep_dir().await;
    let log = AuditLog::open_read_only(dir.path(), &Config::default().audit).unwrap();
    let body = |seq| {
        let rec = log.record(seq).unwrap().unwrap();
        serde_json::from_slice::<serde_json::Value>(&rec.canonical).unwrap()["body"].clone()
    };
    let decisions = log.query(&Query { kind: "score_decision".into(), ..Query::default() });
    let decision = body(decisions[0]);
    assert_eq!(decision["evaluation"]["policy_version"].as_str(), Some(a.policy_version.as_str()));
    assert_eq!(decision["approval_id"].as_str(), Some(a.approval_id.as_str()));
    let steps: Vec<String> = log
        .query(&Query { kind: "approval".into(), ..Query::default() })
        .into_iter()
        .map(|seq| {
            let b = body(seq);
            format!("{}:{}", b["event"].as_str().unwrap(), b["actor"].as_str().unwrap())
        })
        .collect();
    assert_eq!(steps.last().map(String::as_str), Some("expired:warden"), "{steps:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_approval_survives_a_restart() {
    let server = TestServer::start_with(with_auth, vec![]).await;
    let a = risk_as(&server, Some(AGENT)).await.score_action(refund("s-restart", 9800)).await.unwrap().into_inner();
    let decided =
        risk_as(&server, Some(AGENT)).await.score_action(refund("s-restart-2", 7000)).await.unwrap().into_inner();
    approvals_as(&server, Some(BOB)).await.decide(decide(&decided.approval_id, false, "duplicate")).await.unwrap();
    let dir = server.stop_keep_dir().await;

    let mut server = TestServer::start_in(dir, with_auth, vec![]).await;
    let mut alice = approvals_as(&server, Some(ALICE)).await;
    let pending = alice.list_pending(pb::ListPendingRequest::default()).await.unwrap().into_inner().approvals;
    assert_eq!(pending.len(), 1, "only the undecided one is pending: {pending:?}");
    let p = &pending[0];
    assert_eq!(p.approval_id, a.approval_id);
    assert_eq!(p.requested_by, "support-agent", "the requester is known after a restart");
    assert!(p.arguments_json.contains("9800"));
    let old =
        alice.get(pb::GetApprovalRequest { approval_id: decided.approval_id.clone() }).await.unwrap().into_inner();
    assert_eq!(old.state, pb::ApprovalState::Denied as i32);
    assert_eq!(old.reviewer, "bob");
    let ok = alice.decide(decide(&a.approval_id, true, "verified after restart")).await.unwrap().into_inner();
    assert_eq!(ok.state, pb::ApprovalState::Approved as i32);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn critical_requests_can_require_two_reviewers() {
    // A policy that sends critical decisions to humans instead of blocking.
    let policy = tempfile::NamedTempFile::new().unwrap();
    let text = warden::policy::DEFAULT_POLICY.replace("critical = \"block\"", "critical = \"require_approval\"");
    std::fs::write(policy.path(), text).unwrap();
    let path = policy.path().to_path_buf();
    let mut server = TestServer::start_with(
        move |c| {
            with_auth(c);
            c.policy_file = Some(path);
            c.approvals.critical_reviewers = 2;
        },
        vec![],
    )
    .await;
    let a = risk_as(&server, Some(AGENT)).await.score_action(refund("s-crit", 90_000)).await.unwrap().into_inner();
    assert_eq!(a.level, pb::RiskLevel::Critical as i32);
    assert_eq!(a.decision, pb::Decision::RequireApproval as i32);
    let mut alice = approvals_as(&server, Some(ALICE)).await;
    let first = alice
        .decide(decide(&a.approval_id, true, "customer is a known enterprise account"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.state, pb::ApprovalState::Pending as i32, "one of two approvals");
    assert_eq!(first.required_approvals, 2);
    let again = alice.decide(decide(&a.approval_id, true, "really")).await.unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition, "the same reviewer cannot count twice");
    let second = approvals_as(&server, Some(BOB))
        .await
        .decide(decide(&a.approval_id, true, "confirmed with finance"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.state, pb::ApprovalState::Approved as i32);
    assert_eq!(second.votes.len(), 2);
    server.stop().await.unwrap();
}
