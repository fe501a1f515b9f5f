//! OpenTelemetry end to end: `warden serve` as an operator runs it, with
//! the standard `OTEL_*` variables pointing at a real OTLP/gRPC receiver
//! (the collector's own service definition, served here by tonic) and JSON
//! logs. A ScoreInput call carrying a W3C `traceparent` must arrive there
//! as a server span of the caller's trace, parented on the caller's span,
//! with the call's stages under it and their attributes.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::Span;
use warden::proto::v1 as pb;

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_warden");
/// The caller's trace and span, as its own instrumentation would send them.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN_ID: &str = "00f067aa0ba902b7";

/// What the receiver got: every span with its resource's attributes.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(Vec<KeyValue>, Span)>>>);

#[tonic::async_trait]
impl TraceService for Received {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.0.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let resource = resource_spans.resource.map(|r| r.attributes).unwrap_or_default();
            for scope in resource_spans.scope_spans {
                spans.extend(scope.spans.into_iter().map(|s| (resource.clone(), s)));
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes.iter().find(|kv| kv.key == key)?.value.as_ref()?.value.as_ref()
}

fn text(attributes: &[KeyValue], key: &str) -> Option<String> {
    match attribute(attributes, key)? {
        Value::StringValue(s) => Some(s.clone()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_of_a_score_call_reach_the_collector_in_the_callers_trace() {
    let received = Received::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector = listener.local_addr().unwrap();
    let receiver = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(received.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("RUST_LOG", "info")
        .env("WARDEN_LOG_FORMAT", "json")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{collector}"))
        .env("OTEL_SERVICE_NAME", "warden-under-test")
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env_remove("OTEL_SDK_DISABLED")
        .env_remove("OTEL_TRACES_EXPORTER")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Every log line is one JSON object; the start-up line names the port.
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let grpc = loop {
        let line = lines.recv_timeout(Duration::from_secs(120)).expect("serve logs its gRPC address");
        let entry: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
        assert!(entry["level"].is_string() && entry["timestamp"].is_string(), "{line}");
        if let Some(addr) = entry["fields"]["grpc"].as_str() {
            break addr.to_string();
        }
    };

    let channel = tonic::transport::Channel::from_shared(format!("http://{grpc}")).unwrap().connect().await.unwrap();
    let mut risk = pb::risk_service_client::RiskServiceClient::new(channel);
    let mut request = tonic::Request::new(common::input("Mail me at jane.doe@example.com about my order"));
    request.metadata_mut().insert("traceparent", format!("00-{TRACE_ID}-{PARENT_SPAN_ID}-01").parse().unwrap());
    let assessment = risk.score_input(request).await.unwrap().into_inner();

    let spans_of_trace = || -> Vec<(Vec<KeyValue>, Span)> {
        let trace = hex::decode(TRACE_ID).unwrap();
        received.0.lock().unwrap().iter().filter(|(_, s)| s.trace_id == trace).cloned().collect()
    };
    // The call's span ends last, once its answer went out.
    common::eventually("the ScoreInput server span at the collector", Duration::from_secs(30), || {
        let found = spans_of_trace().iter().any(|(_, s)| s.name == "warden.v1.RiskService/ScoreInput");
        async move { found }
    })
    .await;
    let spans = spans_of_trace();
    let names: Vec<&str> = spans.iter().map(|(_, s)| s.name.as_str()).collect();
    let by_name: HashMap<&str, &Span> = spans.iter().map(|(_, s)| (s.name.as_str(), s)).collect();

    let (resource, rpc) = spans.iter().find(|(_, s)| s.name == "warden.v1.RiskService/ScoreInput").unwrap();
    assert_eq!(text(resource, "service.name").as_deref(), Some("warden-under-test"));
    assert_eq!(hex::encode(&rpc.parent_span_id), PARENT_SPAN_ID, "parented on the caller's span");
    assert_eq!(rpc.kind, SpanKind::Server as i32);
    assert_eq!(text(&rpc.attributes, "rpc.system").as_deref(), Some("grpc"));
    assert_eq!(text(&rpc.attributes, "rpc.service").as_deref(), Some("warden.v1.RiskService"));
    assert_eq!(text(&rpc.attributes, "rpc.method").as_deref(), Some("ScoreInput"));
    assert_eq!(attribute(&rpc.attributes, "rpc.grpc.status_code"), Some(&Value::IntValue(0)));

    let score = by_name.get("apply_guardrail input").unwrap_or_else(|| panic!("no score span in {names:?}"));
    assert_eq!(score.parent_span_id, rpc.span_id, "the score span is the call's child");
    for (key, value) in [
        ("gen_ai.operation.name", "apply_guardrail"),
        ("gen_ai.conversation.id", "s-1"),
        ("gen_ai.request.model", "gpt-4o-2024-08-06"),
        ("warden.surface", "input"),
        ("warden.tenant", "acme"),
        ("warden.application", "support-bot"),
        ("warden.record_id", assessment.record_id.as_str()),
    ] {
        assert_eq!(text(&score.attributes, key).as_deref(), Some(value), "{key} on {score:?}");
    }
    assert!(text(&score.attributes, "warden.decision").is_some(), "{score:?}");
    assert!(matches!(attribute(&score.attributes, "warden.risk.score"), Some(Value::DoubleValue(_))), "{score:?}");

    // The stages, each the score span's child, named after what ran.
    for stage in
        ["queue", "detector pii", "detector secrets", "detector injection_heuristics", "model warden-minilm", "policy"]
    {
        let span = by_name.get(stage).unwrap_or_else(|| panic!("no {stage:?} span in {names:?}"));
        assert_eq!(span.parent_span_id, score.span_id, "{stage} under the score span");
    }
    let pii = by_name["detector pii"];
    assert_eq!(text(&pii.attributes, "warden.stage").as_deref(), Some("detector"));
    assert_eq!(text(&pii.attributes, "warden.detector").as_deref(), Some("pii"));
    let append = by_name.get("audit.append").unwrap_or_else(|| panic!("no audit.append span in {names:?}"));
    assert_eq!(append.parent_span_id, score.span_id);
    assert_eq!(text(&append.attributes, "warden.record_id").as_deref(), Some(assessment.record_id.as_str()));
    let policy = by_name["policy"];
    assert_eq!(text(&policy.attributes, "warden.decision"), text(&score.attributes, "warden.decision"));

    // An agent's action that needs a human, and its wait for the verdict,
    // in one trace of the agent's.
    let agent_trace = "0af7651916cd43dd8448eb211c80319c";
    fn traced<T>(message: T, span: &str) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        let parent = format!("00-0af7651916cd43dd8448eb211c80319c-{span}-01");
        request.metadata_mut().insert("traceparent", parent.parse().unwrap());
        request
    }
    let action =
        risk.score_action(traced(common::refund("s-agent", 9800), "b7ad6b7169203331")).await.unwrap().into_inner();
    assert_eq!(action.decision, pb::Decision::RequireApproval as i32);
    let mut approvals = pb::approval_service_client::ApprovalServiceClient::new(
        tonic::transport::Channel::from_shared(format!("http://{grpc}")).unwrap().connect().await.unwrap(),
    );
    let watch_request = pb::WatchRequest { approval_id: action.approval_id.clone() };
    let mut watch = approvals.watch(traced(watch_request, "c7ad6b7169203332")).await.unwrap().into_inner();
    assert_eq!(watch.message().await.unwrap().unwrap().state, pb::ApprovalState::Pending as i32);
    approvals
        .decide(traced(
            pb::DecideRequest {
                approval_id: action.approval_id.clone(),
                approve: true,
                reviewer: "alice".into(),
                reason: "the carrier confirmed the loss".into(),
            },
            "d7ad6b7169203333",
        ))
        .await
        .unwrap();
    assert_eq!(watch.message().await.unwrap().unwrap().state, pb::ApprovalState::Approved as i32);
    assert!(watch.message().await.unwrap().is_none(), "the stream ends with the verdict");
    let of_agent = || -> Vec<Span> {
        let trace = hex::decode(agent_trace).unwrap();
        received.0.lock().unwrap().iter().filter(|(_, s)| s.trace_id == trace).map(|(_, s)| s.clone()).collect()
    };
    common::eventually("the Watch server span at the collector", Duration::from_secs(30), || {
        let found = of_agent().iter().any(|s| s.name == "warden.v1.ApprovalService/Watch");
        async move { found }
    })
    .await;
    let spans = of_agent();
    let named = |name: &str| {
        spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no {name:?} span in {spans:?}")).clone()
    };
    let action_call = named("warden.v1.RiskService/ScoreAction");
    assert_eq!(hex::encode(&action_call.parent_span_id), "b7ad6b7169203331");
    let guardrail = named("apply_guardrail action");
    assert_eq!(guardrail.parent_span_id, action_call.span_id);
    assert_eq!(text(&guardrail.attributes, "gen_ai.tool.name").as_deref(), Some("issue_refund"));
    assert_eq!(text(&guardrail.attributes, "warden.decision").as_deref(), Some("require_approval"));
    for stage in ["session.turn", "action_policy action_policy"] {
        assert_eq!(named(stage).parent_span_id, guardrail.span_id, "{stage} under the score span");
    }
    let watch_call = named("warden.v1.ApprovalService/Watch");
    assert_eq!(hex::encode(&watch_call.parent_span_id), "c7ad6b7169203332");
    let wait = named("approval.wait");
    assert_eq!(wait.parent_span_id, watch_call.span_id, "the wait is the Watch call's child");
    assert_eq!(text(&wait.attributes, "warden.approval.id"), Some(action.approval_id.clone()));
    assert_eq!(text(&wait.attributes, "warden.approval.state").as_deref(), Some("approved"));
    // The wait lasted until the verdict: it began before the decision's
    // call and ended after it began.
    let decide = named("warden.v1.ApprovalService/Decide");
    assert!(
        wait.start_time_unix_nano < decide.start_time_unix_nano
            && wait.end_time_unix_nano > decide.start_time_unix_nano
    );

    // A call without a traceparent starts a trace of its own.
    let before = received.0.lock().unwrap().len();
    risk.score_input(common::input("hello")).await.unwrap();
    common::eventually("a second ScoreInput span", Duration::from_secs(30), || {
        let found =
            received.0.lock().unwrap()[before..].iter().any(|(_, s)| s.name == "warden.v1.RiskService/ScoreInput");
        async move { found }
    })
    .await;
    let spans = received.0.lock().unwrap();
    let second = spans[before..].iter().find(|(_, s)| s.name == "warden.v1.RiskService/ScoreInput").unwrap();
    assert!(second.1.parent_span_id.is_empty(), "a root span");
    assert_ne!(hex::encode(&second.1.trace_id), TRACE_ID);
    drop(spans);

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
    receiver.abort();
}
