//! Hostile input through the real server: every string that could reach the
//! journal with a NUL or a control character, JSON too deep or too large,
//! oversized labels, invalid Timestamps and writes into another tenant are
//! refused with the right status naming the field, and nothing is written
//! for them. Records an older writer accepted (deeply nested attributes)
//! still read everywhere: queries, reveal, export and reports.

mod common;

use std::sync::Arc;

use common::{context, input, token, TestServer};
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;
use warden::audit::journal::{AuditLog, Query};
use warden::audit::{Entry, Journal};
use warden::auth::Role;
use warden::config::{Config, TokenConfig};
use warden::proto::v1 as pb;
use warden::proto::v1::audit_service_client::AuditServiceClient;
use warden::proto::v1::risk_service_client::RiskServiceClient;

fn no_model(c: &mut Config) {
    c.model.enabled = false;
}

fn nested(levels: usize) -> String {
    format!("{}1{}", r#"{"a":"#.repeat(levels), "}".repeat(levels))
}

fn event(id: &str) -> pb::AuditEvent {
    pb::AuditEvent {
        client_event_id: id.into(),
        context: context(),
        kind: "tool_call".into(),
        attributes_json: r#"{"gen_ai.tool.name":"lookup"}"#.into(),
        occurred_at: None,
    }
}

fn output(text: &str) -> pb::ScoreOutputRequest {
    pb::ScoreOutputRequest {
        context: context(),
        text: text.into(),
        input: String::new(),
        system_prompt: String::new(),
        documents: vec![],
        canaries: vec![],
    }
}

fn action(tool: &str, arguments_json: &str) -> pb::ScoreActionRequest {
    pb::ScoreActionRequest {
        context: context(),
        tool: tool.into(),
        arguments_json: arguments_json.into(),
        rationale: String::new(),
    }
}

fn document(id: &str, source: &str, text: &str) -> pb::Document {
    pb::Document { id: id.into(), source: source.into(), text: text.into(), trusted: false, content: vec![] }
}

/// One hostile call.
enum Call {
    Input(pb::ScoreInputRequest),
    Output(pb::ScoreOutputRequest),
    Action(pb::ScoreActionRequest),
    Append(Vec<pb::AuditEvent>),
}

fn ctx_input(f: impl FnOnce(&mut pb::RequestContext)) -> Call {
    let mut r = input("hello");
    f(r.context.as_mut().unwrap());
    Call::Input(r)
}

fn ctx_event(f: impl FnOnce(&mut pb::RequestContext)) -> Call {
    let mut e = event("e-1");
    f(e.context.as_mut().unwrap());
    Call::Append(vec![e])
}

fn with_event(f: impl FnOnce(&mut pb::AuditEvent)) -> Call {
    let mut e = event("e-1");
    f(&mut e);
    Call::Append(vec![e])
}

fn labels(pairs: &[(&str, &str)]) -> std::collections::HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn ts(seconds: i64, nanos: i32) -> Option<pbjson_types::Timestamp> {
    Some(pbjson_types::Timestamp { seconds, nanos })
}

/// Runs a call; the status it failed with, or `None` if it succeeded.
async fn run(server: &TestServer, call: Call) -> Option<Status> {
    let channel = server.channel().await;
    match call {
        Call::Input(r) => RiskServiceClient::new(channel).score_input(r).await.err(),
        Call::Output(r) => RiskServiceClient::new(channel).score_output(r).await.err(),
        Call::Action(r) => RiskServiceClient::new(channel).score_action(r).await.err(),
        Call::Append(events) => {
            let mut acks = match AuditServiceClient::new(channel).append(tokio_stream::iter(events)).await {
                Ok(s) => s.into_inner(),
                Err(e) => return Some(e),
            };
            loop {
                match acks.message().await {
                    Ok(Some(_)) => continue,
                    Ok(None) => return None,
                    Err(e) => return Some(e),
                }
            }
        }
    }
}

type Audit = AuditServiceClient<InterceptedService<Channel, Auth>>;

async fn query(audit: &mut Audit, q: pb::AuditQuery) -> Vec<pb::AuditRecord> {
    let mut s = audit.query(q).await.unwrap().into_inner();
    let mut out = Vec::new();
    while let Some(r) = s.message().await.unwrap() {
        out.push(r);
    }
    out
}

fn body(r: &pb::AuditRecord) -> serde_json::Value {
    serde_json::from_slice::<serde_json::Value>(&r.canonical_entry).unwrap()["body"].take()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_strings_json_labels_and_timestamps_are_refused_naming_the_field() {
    let mut server = TestServer::start_with(no_model, vec![]).await;
    let deep_args = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let many_labels: Vec<(String, String)> = (0..65).map(|i| (format!("k{i}"), "v".to_string())).collect();
    let long_key = "k".repeat(129);
    let long_value = "v".repeat(1025);
    let cases: Vec<(&str, Call, &str)> = vec![
        // Every context field, on every surface and on Append.
        ("nul tenant", ctx_input(|c| c.tenant = "ac\0me".into()), "context.tenant"),
        ("nul application", ctx_input(|c| c.application = "bot\0".into()), "context.application"),
        ("nul session", ctx_input(|c| c.session_id = "s\0".into()), "context.session_id"),
        ("nul trace", ctx_input(|c| c.trace_id = format!("{}\0", "a".repeat(31))), "context.trace_id"),
        ("nul user", ctx_input(|c| c.user_id = "\0".into()), "context.user_id"),
        ("nul model", ctx_input(|c| c.model = "gpt\0".into()), "context.model"),
        ("control tenant", ctx_input(|c| c.tenant = "acme\u{1}".into()), "context.tenant"),
        ("escape in session", ctx_input(|c| c.session_id = "s\u{1b}[2J".into()), "context.session_id"),
        ("control user", ctx_input(|c| c.user_id = "u\u{7}".into()), "context.user_id"),
        ("control model", ctx_input(|c| c.model = "m\u{8}".into()), "context.model"),
        ("nul label key", ctx_input(|c| c.labels = labels(&[("k\0", "v")])), "context.labels"),
        ("control label key", ctx_input(|c| c.labels = labels(&[("k\u{2}", "v")])), "context.labels"),
        ("nul label value", ctx_input(|c| c.labels = labels(&[("k", "v\0")])), "context.labels"),
        ("65 labels", ctx_input(|c| c.labels = many_labels.iter().cloned().collect()), "context.labels"),
        ("long label key", ctx_input(|c| c.labels = labels(&[(&long_key, "v")])), "context.labels"),
        ("long label value", ctx_input(|c| c.labels = labels(&[("k", &long_value)])), "context.labels"),
        // ScoreInput's own fields.
        ("nul input text", Call::Input(input("hi\0there")), "text"),
        (
            "nul system prompt",
            Call::Input(pb::ScoreInputRequest { system_prompt: "\0".into(), ..input("hi") }),
            "system_prompt",
        ),
        (
            "nul document id",
            Call::Input(pb::ScoreInputRequest { documents: vec![document("d\0", "kb", "t")], ..input("hi") }),
            "documents[0].id",
        ),
        (
            "control document id",
            Call::Input(pb::ScoreInputRequest { documents: vec![document("d\u{1}", "kb", "t")], ..input("hi") }),
            "documents[0].id",
        ),
        (
            "nul document source",
            Call::Input(pb::ScoreInputRequest { documents: vec![document("d", "kb\0", "t")], ..input("hi") }),
            "documents[0].source",
        ),
        (
            "nul document text",
            Call::Input(pb::ScoreInputRequest {
                documents: vec![document("d", "kb", "ok"), document("e", "kb", "t\0")],
                ..input("hi")
            }),
            "documents[1].text",
        ),
        // ScoreOutput.
        ("nul output text", Call::Output(output("a\0")), "text"),
        ("nul output input", Call::Output(pb::ScoreOutputRequest { input: "\0".into(), ..output("a") }), "input"),
        (
            "nul output system prompt",
            Call::Output(pb::ScoreOutputRequest { system_prompt: "x\0".into(), ..output("a") }),
            "system_prompt",
        ),
        (
            "nul canary",
            Call::Output(pb::ScoreOutputRequest { canaries: vec!["CANARY\0-123".into()], ..output("a") }),
            "canaries[0]",
        ),
        (
            "nul output session",
            Call::Output(pb::ScoreOutputRequest {
                context: Some(pb::RequestContext { session_id: "\0".into(), ..context().unwrap() }),
                ..output("a")
            }),
            "context.session_id",
        ),
        // ScoreAction.
        ("nul tool", Call::Action(action("issue\0Refund", "{}")), "tool"),
        ("control tool", Call::Action(action("issueRefund\u{1f}", "{}")), "tool"),
        ("nul in arguments", Call::Action(action("t", r#"{"to":"a\u0000b"}"#)), "arguments_json"),
        ("nul in an arguments key", Call::Action(action("t", r#"{"a\u0000":1}"#)), "arguments_json"),
        ("65-deep arguments", Call::Action(action("t", &nested(65))), "arguments_json"),
        ("100000-deep arguments", Call::Action(action("t", &deep_args)), "arguments_json"),
        (
            "nul rationale",
            Call::Action(pb::ScoreActionRequest { rationale: "because\0".into(), ..action("t", "{}") }),
            "rationale",
        ),
        (
            "nul action tenant",
            Call::Action(pb::ScoreActionRequest {
                context: Some(pb::RequestContext { tenant: "\0".into(), ..context().unwrap() }),
                ..action("t", "{}")
            }),
            "context.tenant",
        ),
        // Append: the context, the event's own fields, its JSON and time.
        ("append nul tenant", ctx_event(|c| c.tenant = "acme\0".into()), "events[0].context.tenant"),
        ("append nul application", ctx_event(|c| c.application = "\0x".into()), "events[0].context.application"),
        ("append control session", ctx_event(|c| c.session_id = "s\u{1}".into()), "events[0].context.session_id"),
        ("append nul user", ctx_event(|c| c.user_id = "u\0".into()), "events[0].context.user_id"),
        ("append nul model", ctx_event(|c| c.model = "m\0".into()), "events[0].context.model"),
        ("append bad trace", ctx_event(|c| c.trace_id = "not-hex".into()), "events[0].context.trace_id"),
        ("append nul label", ctx_event(|c| c.labels = labels(&[("k", "\0")])), "events[0].context.labels"),
        (
            "append 65 labels",
            ctx_event(|c| c.labels = many_labels.iter().cloned().collect()),
            "events[0].context.labels",
        ),
        ("append nul event id", with_event(|e| e.client_event_id = "id\0".into()), "events[0].client_event_id"),
        ("append control event id", with_event(|e| e.client_event_id = "id\u{5}".into()), "events[0].client_event_id"),
        ("append nul kind", with_event(|e| e.kind = "tool_call\0".into()), "events[0].kind"),
        // Kinds Warden writes itself cannot be forged by a client.
        ("append sink_quarantined kind", with_event(|e| e.kind = "sink_quarantined".into()), "events[0].kind"),
        ("append incident kind", with_event(|e| e.kind = "incident".into()), "events[0].kind"),
        ("append console_action kind", with_event(|e| e.kind = "console_action".into()), "events[0].kind"),
        (
            "append nul tool name",
            with_event(|e| e.attributes_json = r#"{"gen_ai.tool.name":"lookup\u0000"}"#.into()),
            "events[0].attributes_json",
        ),
        (
            "append nul deep in attributes",
            with_event(|e| e.attributes_json = r#"{"a":[{"b":["\u0000"]}]}"#.into()),
            "events[0].attributes_json",
        ),
        ("append 65-deep attributes", with_event(|e| e.attributes_json = nested(65)), "events[0].attributes_json"),
        (
            "append 100000-deep attributes",
            with_event(|e| e.attributes_json = nested(100_000)),
            "events[0].attributes_json",
        ),
        (
            "append 500000-deep attributes (3 MB)",
            with_event(|e| e.attributes_json = nested(500_000)),
            "events[0].attributes_json",
        ),
        (
            "append 300 KB of attributes",
            with_event(|e| e.attributes_json = format!(r#"{{"x":"{}"}}"#, "y".repeat(300 * 1024))),
            "events[0].attributes_json",
        ),
        (
            "append nanos too large",
            with_event(|e| e.occurred_at = ts(1_700_000_000, 1_000_000_000)),
            "events[0].occurred_at",
        ),
        ("append negative nanos", with_event(|e| e.occurred_at = ts(1_700_000_000, -1)), "events[0].occurred_at"),
        ("append year 10000", with_event(|e| e.occurred_at = ts(253_402_300_800, 0)), "events[0].occurred_at"),
        ("append year 0", with_event(|e| e.occurred_at = ts(i64::MIN, 0)), "events[0].occurred_at"),
        (
            "fourth event of a stream",
            Call::Append(vec![
                event("ok-1"),
                event("ok-2"),
                event("ok-3"),
                pb::AuditEvent {
                    context: Some(pb::RequestContext { session_id: "s\0".into(), ..context().unwrap() }),
                    ..event("bad-4")
                },
                // Nothing after a refused event is written either.
                event("after-5"),
            ]),
            "events[3].context.session_id",
        ),
    ];
    for (name, call, field) in cases {
        let status = run(&server, call).await.unwrap_or_else(|| panic!("{name}: accepted"));
        assert_eq!(status.code(), Code::InvalidArgument, "{name}: {status:?}");
        assert!(status.message().contains(field), "{name}: {:?} does not name {field}", status.message());
        let violations =
            status.get_error_details().bad_request().map(|b| b.field_violations.clone()).unwrap_or_default();
        assert_eq!(violations.first().map(|v| v.field.as_str()), Some(field), "{name}");
    }

    // Query Timestamps are checked the same way.
    let mut audit = audit_as(&server, "").await;
    for (q, field) in [
        (pb::AuditQuery { from: ts(0, 1_000_000_000), ..Default::default() }, "from"),
        (pb::AuditQuery { to: ts(i64::MAX, 0), ..Default::default() }, "to"),
    ] {
        let Err(status) = audit.query(q).await else { panic!("{field}: accepted") };
        assert_eq!(status.code(), Code::InvalidArgument, "{field}");
        assert_eq!(status.get_error_details().bad_request().unwrap().field_violations[0].field, field);
    }

    // Only the three good events before the refused one were written.
    let records = query(&mut audit, pb::AuditQuery::default()).await;
    let ids: Vec<String> = records.iter().map(|r| body(r)["client_event_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids, ["ok-1", "ok-2", "ok-3"]);
    // Within the limits, the same shapes are accepted.
    let fine = vec![pb::AuditEvent {
        attributes_json: format!(r#"{{"gen_ai.tool.name":"lookup","deep":{},"esc":"\\u0000"}}"#, nested(60)),
        occurred_at: ts(1_700_000_000, 999_999_999),
        context: Some(pb::RequestContext { labels: labels(&[("team", "tab\there")]), ..context().unwrap() }),
        ..event("fine")
    }];
    assert!(run(&server, Call::Append(fine)).await.is_none());
    assert!(run(&server, Call::Action(action("lookup", &format!(r#"{{"q":{}}}"#, nested(60))))).await.is_none());
    assert_eq!(query(&mut audit, pb::AuditQuery::default()).await.len(), 5);
    server.stop().await.unwrap();
    assert_eq!(common::verified_records(server.data_dir.path()), 5);
}

/// A message larger than `limits.max_message_bytes` (4 MiB by default) is
/// refused by tonic before it is decoded, with OUT_OF_RANGE naming its size
/// and the limit, on a unary call and inside a stream; nothing is written
/// and the connection stays usable. Under the limit, the per-field limits
/// answer first, naming the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_the_size_limit_is_out_of_range() {
    let mut server = TestServer::start_with(no_model, vec![]).await;
    let limit = Config::default().limits.max_message_bytes;
    assert_eq!(limit, 4 * 1024 * 1024, "the README's error table names 4 MiB");
    let channel = server.channel().await;
    let mut risk = RiskServiceClient::new(channel.clone());

    let status = risk.score_input(input(&"a".repeat(limit + 1))).await.unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    let message = status.message().to_string();
    assert!(
        message.contains("decoded message length too large")
            && message.contains(&format!("the limit is: {limit} bytes")),
        "{message}"
    );

    let huge = pb::AuditEvent { attributes_json: format!(r#"{{"pad":"{}"}}"#, "a".repeat(limit)), ..event("huge") };
    let status = run(&server, Call::Append(vec![huge])).await.expect("refused");
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");

    // Just under the message limit, the text's own limit answers.
    let status = risk.score_input(input(&"a".repeat(limit - 1024))).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("text"), "{}", status.message());

    // The same channel still serves, and only that call was recorded.
    risk.score_input(input("hello")).await.unwrap();
    server.stop().await.unwrap();
    assert_eq!(common::verified_records(server.data_dir.path()), 1);
}

const ACME_AGENT: &str = "acme-agent-token-0000000000000";
const TWO_TENANTS: &str = "two-tenant-token-0000000000000";
const AUDITOR: &str = "auditor-token-0000000000000000";
const ACME_ADMIN: &str = "acme-admin-token-0000000000000";

type Auth = Box<dyn FnMut(tonic::Request<()>) -> Result<tonic::Request<()>, Status> + Send>;

/// Sends `Authorization: Bearer <token>`; nothing for an empty token.
fn bearer(token: &'static str) -> Auth {
    Box::new(move |mut req: tonic::Request<()>| {
        if !token.is_empty() {
            req.metadata_mut().insert("authorization", MetadataValue::try_from(format!("Bearer {token}")).unwrap());
        }
        Ok(req)
    })
}

async fn audit_as(server: &TestServer, token: &'static str) -> Audit {
    AuditServiceClient::with_interceptor(server.channel().await, bearer(token))
}

async fn append_as(server: &TestServer, token: &'static str, tenant: &str) -> Result<Vec<pb::AppendAck>, Status> {
    let mut e = event(&format!("{token}-{tenant}"));
    e.context.as_mut().unwrap().tenant = tenant.into();
    let mut acks = audit_as(server, token).await.append(tokio_stream::iter(vec![e])).await?.into_inner();
    let mut out = Vec::new();
    while let Some(a) = acks.message().await? {
        out.push(a);
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_follow_the_tenant_scope_of_reads() {
    let mut server = TestServer::start_with(
        |c| {
            no_model(c);
            c.auth.tokens = vec![
                TokenConfig { tenants: vec!["acme".into()], ..token("acme-agent", ACME_AGENT, &[Role::Agent]) },
                TokenConfig {
                    tenants: vec!["acme".into(), "initech".into()],
                    ..token("two-tenants", TWO_TENANTS, &[Role::Agent])
                },
                token("audit-team", AUDITOR, &[Role::Auditor]),
                TokenConfig { tenants: vec!["acme".into()], ..token("acme-admin", ACME_ADMIN, &[Role::Admin]) },
            ];
        },
        vec![],
    )
    .await;

    // Into another tenant: refused, naming it.
    let denied = append_as(&server, ACME_AGENT, "globex").await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert!(denied.message().contains("\"globex\""), "{}", denied.message());
    // Into none, from a caller of several tenants: it must say which.
    let unnamed = append_as(&server, TWO_TENANTS, "").await.unwrap_err();
    assert_eq!(unnamed.code(), Code::InvalidArgument);
    assert_eq!(
        unnamed.get_error_details().bad_request().unwrap().field_violations[0].field,
        "events[0].context.tenant"
    );
    // Into none, from a caller of one tenant: its tenant, as for queries.
    assert_eq!(append_as(&server, ACME_AGENT, "").await.unwrap().len(), 1);
    assert_eq!(append_as(&server, TWO_TENANTS, "initech").await.unwrap().len(), 1);

    // Score calls follow the same rule.
    let mut risk = RiskServiceClient::with_interceptor(server.channel().await, bearer(ACME_AGENT));
    let mut foreign = input("hello");
    foreign.context.as_mut().unwrap().tenant = "globex".into();
    assert_eq!(risk.score_input(foreign).await.unwrap_err().code(), Code::PermissionDenied);
    let mut unnamed = input("hello");
    unnamed.context.as_mut().unwrap().tenant = String::new();
    risk.score_input(unnamed).await.unwrap();

    // What was written is where the rule put it, and nothing is in globex.
    let mut auditor = audit_as(&server, AUDITOR).await;
    let all = query(&mut auditor, pb::AuditQuery::default()).await;
    let tenants: Vec<(String, String)> = all
        .iter()
        .map(|r| {
            let b = body(r);
            let ctx = if r.kind == "score_decision" { &b["request"]["context"] } else { &b["context"] };
            (r.kind.clone(), ctx["tenant"].as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(
        tenants,
        [
            ("tool_call".to_string(), "acme".to_string()),
            ("tool_call".to_string(), "initech".to_string()),
            ("score_decision".to_string(), "acme".to_string()),
        ]
    );
    assert!(query(&mut auditor, pb::AuditQuery { tenant: "globex".into(), ..Default::default() }).await.is_empty());
    assert_eq!(query(&mut auditor, pb::AuditQuery { tenant: "acme".into(), ..Default::default() }).await.len(), 2);

    // Erasure too: a tenant-bound admin erases neither into nor from
    // another tenant, and an erasure naming no tenant lands in its own.
    let mut admin = audit_as(&server, ACME_ADMIN).await;
    let erase = |tenant: &str, subject: &str| pb::EraseSubjectRequest {
        context: Some(pb::RequestContext {
            tenant: tenant.into(),
            application: "privacy-desk".into(),
            ..Default::default()
        }),
        subject: subject.into(),
        reason: "GDPR request 7".into(),
    };
    let e = admin.erase_subject(erase("globex", "user:u-1")).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    let e = admin.erase_subject(erase("acme", "tenant:globex")).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    admin.erase_subject(erase("", "user:u-1")).await.unwrap();
    let erased = query(&mut auditor, pb::AuditQuery { kind: "subject_erased".into(), ..Default::default() }).await;
    assert_eq!(erased.len(), 1);
    assert_eq!(body(&erased[0])["context"]["tenant"], "acme");
    server.stop().await.unwrap();
}

const BIN: &str = env!("CARGO_BIN_EXE_warden");

fn cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(BIN).args(args).env("RUST_LOG", "error").env_remove("RUST_BACKTRACE").output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_an_older_writer_accepted_still_read_everywhere() {
    // Written straight into the journal, past today's boundary, as a writer
    // without the depth bound did: 200 levels (what broke reports) and a
    // million.
    let dir = tempfile::tempdir().unwrap();
    let config = Config { data_dir: dir.path().to_path_buf(), ..Config::default() };
    {
        let log = Arc::new(AuditLog::open(dir.path(), &config.audit).unwrap());
        for (id, levels) in [("deep-200", 200), ("deep-1000000", 1_000_000)] {
            let attributes = format!(r#"{{"gen_ai.tool.name":"lookup","deep":{}}}"#, nested(levels));
            log.append(Entry::ClientEvent {
                event_kind: "tool_call".into(),
                client_event_id: id.into(),
                context: warden::scoring::Context {
                    tenant: "acme".into(),
                    application: "bot".into(),
                    session_id: "deep".into(),
                    ..Default::default()
                },
                attributes: serde_json::value::RawValue::from_string(attributes).unwrap(),
                occurred_at: None,
            })
            .await
            .unwrap();
        }
        Journal::close(&*log).unwrap();
    }

    // The library's readers.
    {
        let log = AuditLog::open_read_only(dir.path(), &config.audit).unwrap();
        let seqs = log.query(&Query { session_id: "deep".into(), ..Query::default() });
        assert_eq!(seqs.len(), 2);
        for &seq in &seqs {
            let r = log.record(seq).unwrap().unwrap();
            let revealed = log.reveal(&r.canonical).unwrap();
            assert_eq!(revealed["body"]["attributes"]["gen_ai.tool.name"], "lookup");
            assert!(log.mark_erased(&r.canonical).is_ok());
        }
        let out = tempfile::tempdir().unwrap();
        let summary =
            warden::audit::export::export(&log, &seqs, serde_json::json!({}), &out.path().join("bundle")).unwrap();
        assert_eq!(summary.records, 2);
    }

    // Query and Query{reveal} over gRPC.
    let server = TestServer::start_in(dir, no_model, vec![]).await;
    // The million-level record is 6 MB, more than a client takes by default.
    let mut audit = audit_as(&server, "").await.max_decoding_message_size(64 << 20);
    for reveal in [false, true] {
        let records =
            query(&mut audit, pb::AuditQuery { session_id: "deep".into(), reveal, ..Default::default() }).await;
        assert_eq!(records.len(), 2, "reveal {reveal}");
        if reveal {
            for r in &records {
                let v: serde_json::Value = serde_json::from_str(&r.revealed_json).unwrap();
                assert_eq!(v["body"]["attributes"]["gen_ai.tool.name"], "lookup");
                // Parts past the readers' depth are kept, as their text.
                let mut deep = &v["body"]["attributes"]["deep"];
                while deep.is_object() {
                    deep = &deep["a"];
                }
                assert!(deep.as_str().is_some_and(|s| s.starts_with(r#"{"a":{"a":"#)), "{}", r.record_id);
            }
        }
    }
    let dir = server.stop_keep_dir().await;

    // The command line: query, query --reveal, export, report.
    let d = dir.path().to_str().unwrap();
    for args in [
        vec!["audit", "query", "--data-dir", d, "--session", "deep"],
        vec!["audit", "query", "--data-dir", d, "--session", "deep", "--reveal"],
    ] {
        let o = cli(&args);
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 2, "{args:?}");
    }
    let out = tempfile::tempdir().unwrap();
    let bundle = out.path().join("bundle");
    let o = cli(&["audit", "export", "--data-dir", d, "--session", "deep", "--out", bundle.to_str().unwrap()]);
    assert!(o.status.success(), "export: {}", String::from_utf8_lossy(&o.stderr));
    let exported = std::fs::read_to_string(bundle.join("records.jsonl")).unwrap();
    assert_eq!(exported.lines().count(), 2);
    let today = time::OffsetDateTime::now_utc().date();
    let (from, to) = (today.previous_day().unwrap().to_string(), today.next_day().unwrap().to_string());
    let report = out.path().join("report");
    let o = cli(&[
        "report",
        "--data-dir",
        d,
        "--framework",
        "eu-ai-act",
        "--from",
        &from,
        "--to",
        &to,
        "--out",
        report.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "report: {}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(report.join("report.json")).unwrap()).unwrap();
    assert!(json["summary"]["records_in_period"].as_u64().unwrap() >= 2, "{}", json["summary"]);
}
