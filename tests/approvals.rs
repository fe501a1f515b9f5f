//! Human approval end to end through gRPC: request, watch, decide, expire,
//! restart with a pending approval, separation of duties, authentication,
//! paging through ListPending.

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
    let pending = alice
        .list_pending(pb::ListPendingRequest { tenant: "acme".into(), limit: 10, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
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

/// The default policy, except that critical decisions go to humans
/// instead of being blocked.
fn critical_to_humans() -> tempfile::NamedTempFile {
    let policy = tempfile::NamedTempFile::new().unwrap();
    let text = warden::policy::DEFAULT_POLICY.replace("critical = \"block\"", "critical = \"require_approval\"");
    assert_ne!(text, warden::policy::DEFAULT_POLICY, "the default policy blocks critical decisions");
    std::fs::write(policy.path(), text).unwrap();
    policy
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn critical_requests_can_require_two_reviewers() {
    let policy = critical_to_humans();
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

/// `approvals.max_pending` bounds the queue: a request that would need one
/// more reviewer than the queue holds is blocked (fail closed), says why,
/// is recorded as blocked with no approval, and is counted; once a pending
/// one is decided there is room again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_review_queue_blocks_instead_of_growing() {
    let server = TestServer::start_with(|c| c.approvals.max_pending = 2, vec![]).await;
    let mut risk = server.risk().await;
    let mut opened = Vec::new();
    for i in 0..2 {
        let a = risk.score_action(refund(&format!("s-full-{i}"), 9800)).await.unwrap().into_inner();
        assert_eq!(a.decision, pb::Decision::RequireApproval as i32);
        opened.push(a.approval_id);
    }
    let refused = risk.score_action(refund("s-full-2", 9800)).await.unwrap().into_inner();
    assert_eq!(refused.decision, pb::Decision::Block as i32, "{refused:?}");
    assert!(refused.approval_id.is_empty(), "{refused:?}");
    assert!(
        refused.reasons.iter().any(|r| r.contains("approvals.max_pending") && r.contains("2 approvals")),
        "{:?}",
        refused.reasons
    );
    let mut approvals = ApprovalServiceClient::new(server.channel().await);
    let listed = approvals.list_pending(pb::ListPendingRequest::default()).await.unwrap().into_inner();
    assert_eq!(listed.total, 2);
    assert!(server.metrics().await.contains(r#"warden_approvals_total{outcome="refused_full"} 1"#));
    // Deciding one makes room for the next.
    let mut d = decide(&opened[0], true, "ok");
    d.reviewer = "alice".into();
    approvals.decide(d).await.unwrap();
    let next = risk.score_action(refund("s-full-3", 9800)).await.unwrap().into_inner();
    assert_eq!(next.decision, pb::Decision::RequireApproval as i32, "{next:?}");
    // The blocked request is on record as blocked, with no approval.
    let dir = server.stop_keep_dir().await;
    let log = AuditLog::open_read_only(dir.path(), &Config::default().audit).unwrap();
    let rec = log.record(refused.sequence).unwrap().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&rec.canonical).unwrap();
    let body = &v["body"];
    assert_eq!(body["evaluation"]["verdict"]["decision"].as_str(), Some("block"), "{body}");
    assert!(body["approval_id"].is_null(), "{body}");
}

/// Scores `n` refunds that need approval, `batch` at a time, each in its own
/// session; every fifth is critical. Returns the approval ids.
async fn open_approvals(server: &TestServer, first: usize, n: usize) -> Vec<String> {
    let channel = server.channel().await;
    let mut ids = Vec::new();
    let all: Vec<usize> = (first..first + n).collect();
    for chunk in all.chunks(16) {
        let calls = chunk.iter().map(|i| {
            let mut risk = RiskServiceClient::with_interceptor(channel.clone(), bearer(Some(AGENT)));
            let amount = if i % 5 == 0 { 90_000 } else { 9_800 };
            async move { risk.score_action(refund(&format!("s-page-{i}"), amount)).await.unwrap().into_inner() }
        });
        for a in futures_util::future::join_all(calls).await {
            assert_eq!(a.decision, pb::Decision::RequireApproval as i32);
            ids.push(a.approval_id);
        }
    }
    ids
}

fn page(size: i32, token: &str) -> pb::ListPendingRequest {
    pb::ListPendingRequest { page_size: size, page_token: token.into(), ..Default::default() }
}

/// ListPending pages by the sort key of the last approval returned: every
/// pending approval is seen exactly once, the total is true on every page,
/// the last page says so, and approvals opened or decided between pages
/// neither repeat nor hide the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pending_pages_through_every_approval_once() {
    let policy = critical_to_humans();
    let path = policy.path().to_path_buf();
    let mut server = TestServer::start_with(
        move |c| {
            with_auth(c);
            c.policy_file = Some(path);
        },
        vec![],
    )
    .await;
    let opened = open_approvals(&server, 0, 260).await;
    let mut alice = approvals_as(&server, Some(ALICE)).await;

    // Page by page, 100 at a time: 100, 100, 60.
    let (mut seen, mut token, mut sizes) = (Vec::new(), String::new(), Vec::new());
    loop {
        let r = alice.list_pending(page(100, &token)).await.unwrap().into_inner();
        assert_eq!(r.total, 260, "the total counts every page");
        sizes.push(r.approvals.len());
        seen.extend(r.approvals);
        if r.next_page_token.is_empty() {
            break;
        }
        assert!(sizes.len() < 10, "paging does not end");
        token = r.next_page_token;
    }
    assert_eq!(sizes, [100, 100, 60]);
    let ids: Vec<String> = seen.iter().map(|a| a.approval_id.clone()).collect();
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 260, "an approval was listed twice");
    assert_eq!(unique, opened.iter().collect(), "every approval is listed");
    // The order across pages: highest risk first, then newest.
    let key = |a: &pb::Approval| {
        let level = a.assessment.as_ref().unwrap().level;
        let t = a.created_at.as_ref().unwrap();
        (std::cmp::Reverse(level), std::cmp::Reverse((t.seconds, t.nanos)))
    };
    assert!(seen.windows(2).all(|w| key(&w[0]) <= key(&w[1])), "pages are in order across page boundaries");
    assert_eq!(
        seen.iter().filter(|a| a.assessment.as_ref().unwrap().level == pb::RiskLevel::Critical as i32).count(),
        52
    );

    // One page of everything: the same order, no next page.
    let full = alice.list_pending(page(1000, "")).await.unwrap().into_inner();
    assert_eq!(full.approvals.iter().map(|a| a.approval_id.clone()).collect::<Vec<_>>(), ids);
    assert!(full.next_page_token.is_empty());

    // Changes between pages: after the first page, one approval further on
    // is denied and five new ones arrive. The next pages hold every other
    // approval that was there, once each; the new ones sort before the
    // position reached (newest first), so a fresh listing shows them.
    let first = alice.list_pending(page(100, "")).await.unwrap().into_inner();
    assert_eq!(
        first.approvals.iter().map(|a| &a.approval_id).collect::<Vec<_>>(),
        ids[..100].iter().collect::<Vec<_>>()
    );
    approvals_as(&server, Some(BOB))
        .await
        .decide(decide(&ids[150], false, "duplicate of another refund"))
        .await
        .unwrap();
    let added = open_approvals(&server, 1000, 5).await;
    let second = alice.list_pending(page(100, &first.next_page_token)).await.unwrap().into_inner();
    assert_eq!(second.total, 264);
    let want: Vec<&String> = ids[100..201].iter().filter(|id| **id != ids[150]).collect();
    assert_eq!(second.approvals.iter().map(|a| &a.approval_id).collect::<Vec<_>>(), want);
    let third = alice.list_pending(page(100, &second.next_page_token)).await.unwrap().into_inner();
    assert_eq!(
        third.approvals.iter().map(|a| &a.approval_id).collect::<Vec<_>>(),
        ids[201..].iter().collect::<Vec<_>>()
    );
    assert!(third.next_page_token.is_empty(), "the last page has no next page");
    let fresh = alice.list_pending(page(0, "")).await.unwrap().into_inner();
    assert_eq!((fresh.approvals.len(), fresh.total), (100, 264), "page_size 0 is the default, 100");
    let everything = alice.list_pending(page(5000, "")).await.unwrap().into_inner();
    assert_eq!(everything.approvals.len(), 264, "an oversized page_size is clamped to 1000, not refused");
    assert!(added.iter().all(|id| everything.approvals.iter().any(|a| &a.approval_id == id)));

    // The older `limit` still sets the page size when `page_size` is 0.
    let limited =
        alice.list_pending(pb::ListPendingRequest { limit: 10, ..Default::default() }).await.unwrap().into_inner();
    assert_eq!((limited.approvals.len(), limited.total), (10, 264));
    assert!(!limited.next_page_token.is_empty());
    // A tenant filter is part of the listing: its token continues only it.
    let acme = alice
        .list_pending(pb::ListPendingRequest { tenant: "acme".into(), page_size: 10, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(acme.total, 264);
    let none = alice
        .list_pending(pb::ListPendingRequest { tenant: "globex".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((none.approvals.len(), none.total, none.next_page_token.as_str()), (0, 0, ""));

    // Refusals name the field.
    for (what, request, field) in [
        ("not base64", page(10, "not a token!"), "page_token"),
        ("base64 of something else", page(10, "aGVsbG8"), "page_token"),
        ("another listing's token", page(10, &acme.next_page_token), "page_token"),
        ("a negative page_size", page(-1, ""), "page_size"),
    ] {
        let status = alice.list_pending(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
        assert!(status.message().contains(field), "{what}: {}", status.message());
    }
    server.stop().await.unwrap();
}

/// An approval raised by ScoreOutput (or ScoreInput) says which surface it
/// is about and carries the text in its own field: `tool` and
/// `arguments_json` stay empty, so a client that parses the arguments as
/// JSON never meets a model output there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_approval_says_it_is_about_a_model_output() {
    let mut server = TestServer::start().await;
    let mut risk = server.risk().await;
    // A planted canary in the output: held for a human by the default policy.
    let output = "Your reference is XK-CANARY-93af10, keep it safe.".to_string();
    let a = risk
        .score_output(pb::ScoreOutputRequest {
            context: common::context(),
            text: output.clone(),
            input: "What is my reference?".into(),
            canaries: vec!["XK-CANARY-93af10".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.decision, pb::Decision::RequireApproval as i32, "{:?}", a.reasons);
    let mut approvals = pb::approval_service_client::ApprovalServiceClient::new(server.channel().await);
    let got = approvals.get(pb::GetApprovalRequest { approval_id: a.approval_id.clone() }).await.unwrap().into_inner();
    assert_eq!((got.surface.as_str(), got.text.as_str()), ("output", output.as_str()));
    assert_eq!((got.tool.as_str(), got.arguments_json.as_str()), ("", ""));
    assert_eq!(got.subject, "model output");
    let listed = approvals.list_pending(pb::ListPendingRequest::default()).await.unwrap().into_inner();
    let mine = listed.approvals.iter().find(|x| x.approval_id == a.approval_id).expect("listed");
    assert_eq!((mine.surface.as_str(), mine.tool.as_str()), ("output", ""));
    // Actions are unchanged.
    let action = risk.score_action(common::refund("s-a", 9800)).await.unwrap().into_inner();
    let got = approvals.get(pb::GetApprovalRequest { approval_id: action.approval_id }).await.unwrap().into_inner();
    assert_eq!((got.surface.as_str(), got.tool.as_str(), got.text.as_str()), ("action", "issue_refund", ""));
    assert!(got.subject.starts_with("issue_refund("), "{}", got.subject);
    server.stop().await.unwrap();
}
