//! AuditService through the real server: client appends with acks, queries
//! that reconstruct a session's decision path, tailing live records, and
//! checkpoints with proofs that verify from the RPC responses alone.

mod common;

use common::{context, input, TestServer};
use tonic::Code;
use tonic_types::StatusExt;
use warden::audit::merkle::{leaf_hash, verify_consistency, verify_inclusion, Hash};
use warden::proto::v1 as pb;
use warden::proto::v1::audit_service_client::AuditServiceClient;

fn event(kind: &str, session: &str, attributes: &str) -> pb::AuditEvent {
    let mut ctx = context();
    ctx.as_mut().unwrap().session_id = session.into();
    pb::AuditEvent {
        client_event_id: format!("{kind}-{session}"),
        context: ctx,
        kind: kind.into(),
        attributes_json: attributes.into(),
        occurred_at: None,
    }
}

fn hash(v: &[u8]) -> Hash {
    v.try_into().expect("32-byte hash")
}

async fn collect(mut s: tonic::Streaming<pb::AuditRecord>) -> Vec<pb::AuditRecord> {
    let mut out = Vec::new();
    while let Some(r) = s.message().await.unwrap() {
        out.push(r);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn why_did_the_agent_issue_this_refund() {
    let mut server = TestServer::start_with(|c| c.audit.checkpoint_interval_ms = 50, vec![]).await;
    let mut risk = server.risk().await;
    let mut audit = AuditServiceClient::new(server.channel().await);

    // The agent's run in session "refund-7": a user input with a retrieved
    // document, a model call, the refund tool call and its result.
    let mut req = input("Please refund order o-1, it arrived broken");
    req.context.as_mut().unwrap().session_id = "refund-7".into();
    risk.score_input(req).await.unwrap();
    let events = vec![
        event("model_call", "refund-7", r#"{"gen_ai.request.model":"gpt-4o","gen_ai.output.text":"I will refund it"}"#),
        event(
            "tool_call",
            "refund-7",
            r#"{"gen_ai.tool.name":"issueRefund","gen_ai.tool.call.arguments":"{\"amount\":950}"}"#,
        ),
    ];
    let acks: Vec<pb::AppendAck> = {
        let mut s = audit.append(tokio_stream::iter(events)).await.unwrap().into_inner();
        let mut v = Vec::new();
        while let Some(a) = s.message().await.unwrap() {
            v.push(a);
        }
        v
    };
    assert_eq!(acks.len(), 2);
    assert_eq!(acks[0].client_event_id, "model_call-refund-7");
    assert_eq!(acks[1].sequence, acks[0].sequence + 1);
    let mut action = pb::ScoreActionRequest {
        context: context(),
        tool: "issueRefund".into(),
        arguments_json: r#"{"order_id":"o-1","amount":950,"currency":"EUR"}"#.into(),
        rationale: "customer says it arrived broken".into(),
    };
    action.context.as_mut().unwrap().session_id = "refund-7".into();
    let decision = risk.score_action(action).await.unwrap().into_inner();
    // Unrelated traffic in another session.
    risk.score_input(input("what time is it?")).await.unwrap();

    // One query returns the decision path of the session, in order.
    let q = pb::AuditQuery { session_id: "refund-7".into(), ..Default::default() };
    let path = collect(audit.query(q).await.unwrap().into_inner()).await;
    let kinds: Vec<&str> = path.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["score_decision", "model_call", "tool_call", "score_decision"]);
    assert_eq!(path.last().unwrap().record_id, decision.record_id);
    let last: serde_json::Value = serde_json::from_slice(&path.last().unwrap().canonical_entry).unwrap();
    assert_eq!(last["attributes"]["gen_ai.tool.name"], "issueRefund");
    assert_eq!(last["body"]["request"]["rationale"], "customer says it arrived broken");
    assert_eq!(last["body"]["approval_id"], decision.approval_id.as_str());

    // Other filters: decision, category prefix, tool.
    let q = pb::AuditQuery { decision: pb::Decision::RequireApproval as i32, ..Default::default() };
    assert_eq!(collect(audit.query(q).await.unwrap().into_inner()).await.len(), 1);
    let q = pb::AuditQuery { category: "action".into(), ..Default::default() };
    assert_eq!(collect(audit.query(q).await.unwrap().into_inner()).await.len(), 1);
    let q = pb::AuditQuery { tool: "issueRefund".into(), ..Default::default() };
    assert_eq!(collect(audit.query(q).await.unwrap().into_inner()).await.len(), 2);
    let status = audit.query(pb::AuditQuery { decision: 42, ..Default::default() }).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.get_error_details().bad_request().unwrap().field_violations[0].field, "decision");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_and_proofs_verify_from_rpc_responses_alone() {
    let mut server = TestServer::start_with(|c| c.audit.checkpoint_interval_ms = 20, vec![]).await;
    let mut risk = server.risk().await;
    let mut audit = AuditServiceClient::new(server.channel().await);
    for i in 0..5 {
        risk.score_input(input(&format!("first batch {i}"))).await.unwrap();
    }
    // Wait (bounded) for a checkpoint that covers the first batch.
    let first = loop {
        let cp = audit.get_checkpoint(pb::GetCheckpointRequest::default()).await.unwrap().into_inner();
        if cp.tree_size >= 5 {
            break cp;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    for i in 0..9 {
        risk.score_input(input(&format!("second batch {i}"))).await.unwrap();
    }
    let second = loop {
        let cp = audit.get_checkpoint(pb::GetCheckpointRequest::default()).await.unwrap().into_inner();
        if cp.tree_size >= 14 {
            break cp;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };

    // The signature checks with the public key only.
    let key =
        warden::audit::journal::read_public_key(&warden::audit::journal::default_key_path(server.data_dir.path()))
            .unwrap();
    use ed25519_dalek::Verifier;
    let sig = ed25519_dalek::Signature::from_slice(&second.signature).unwrap();
    key.verify(&second.note, &sig).expect("checkpoint signature");
    let note = String::from_utf8(second.note.clone()).unwrap();
    assert!(note.starts_with(&format!("{}\n{}\n", second.origin, second.tree_size)));
    assert!(second.signed_note.contains("\n\u{2014} "));

    // Every record: its leaf hash is SHA-256(0x00 || canonical bytes), and
    // its inclusion proof leads to the signed root.
    let tail = pb::TailRequest { from_sequence: 0, follow: false };
    let records = collect(audit.tail(tail).await.unwrap().into_inner()).await;
    assert_eq!(records.len() as u64, second.tree_size);
    let root = hash(&second.root_hash);
    for r in &records {
        assert_eq!(leaf_hash(&r.canonical_entry).to_vec(), r.leaf_hash);
        let req = pb::GetInclusionProofRequest {
            leaf_index: r.leaf_index,
            tree_size: second.tree_size,
            ..Default::default()
        };
        let proof = audit.get_inclusion_proof(req).await.unwrap().into_inner();
        let hashes: Vec<Hash> = proof.hashes.iter().map(|h| hash(h)).collect();
        verify_inclusion(&hash(&r.leaf_hash), r.leaf_index, second.tree_size, &hashes, &root).unwrap();
    }
    // The first checkpoint's tree is a prefix of the second's.
    let req = pb::GetConsistencyProofRequest {
        first_size: first.tree_size,
        second_size: second.tree_size,
        ..Default::default()
    };
    let proof = audit.get_consistency_proof(req).await.unwrap().into_inner();
    let hashes: Vec<Hash> = proof.hashes.iter().map(|h| hash(h)).collect();
    verify_consistency(first.tree_size, second.tree_size, &hash(&first.root_hash), &root, &hashes).unwrap();

    // Out-of-range requests name the field.
    let bad = audit
        .get_inclusion_proof(pb::GetInclusionProofRequest {
            leaf_index: 99,
            tree_size: second.tree_size,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.get_error_details().bad_request().unwrap().field_violations[0].field, "leaf_index");
    let bad = audit
        .get_consistency_proof(pb::GetConsistencyProofRequest {
            first_size: 3,
            second_size: 1_000_000,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.get_error_details().bad_request().unwrap().field_violations[0].field, "second_size");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_follows_live_records_and_ends_on_shutdown() {
    let mut server = TestServer::start().await;
    let mut risk = server.risk().await;
    let mut audit = AuditServiceClient::new(server.channel().await);
    risk.score_input(input("before the tail")).await.unwrap();
    risk.score_input(input("also before")).await.unwrap();
    let mut stream = audit.tail(pb::TailRequest { from_sequence: 1, follow: true }).await.unwrap().into_inner();
    assert_eq!(stream.message().await.unwrap().unwrap().sequence, 1, "resumes from the requested sequence");
    risk.score_input(input("after the tail started")).await.unwrap();
    assert_eq!(stream.message().await.unwrap().unwrap().sequence, 2, "follows new records");
    server.stop().await.unwrap();
    // The follower's stream ends cleanly when the server stops.
    assert!(matches!(stream.message().await, Ok(None) | Err(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_events_are_refused_naming_the_field() {
    let mut server = TestServer::start().await;
    let mut audit = AuditServiceClient::new(server.channel().await);
    let cases: Vec<(pb::AuditEvent, &str)> = vec![
        (pb::AuditEvent { context: None, ..event("tool_call", "s", "{}") }, "events[0].context"),
        (event("Tool Call!", "s", "{}"), "events[0].kind"),
        (event("score_decision", "s", "{}"), "events[0].kind"),
        // Clients cannot forge a human approval.
        (event("approval", "s", "{}"), "events[0].kind"),
        (event("tool_call", "s", "{not json"), "events[0].attributes_json"),
        (event("tool_call", "s", "[1,2]"), "events[0].attributes_json"),
    ];
    for (ev, field) in cases {
        let mut s = audit.append(tokio_stream::iter(vec![ev])).await.unwrap().into_inner();
        let status = s.message().await.expect_err(field);
        assert_eq!(status.code(), Code::InvalidArgument, "{field}");
        assert_eq!(status.get_error_details().bad_request().unwrap().field_violations[0].field, field);
    }
    server.stop().await.unwrap();
    assert_eq!(common::verified_records(server.data_dir.path()), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erase_subject_over_grpc_and_reveal_in_queries() {
    use warden::audit::privacy::FieldMode;
    let mut server = TestServer::start_with(|c| c.audit.privacy.default = FieldMode::Encrypt, vec![]).await;
    let mut risk = server.risk().await;
    let mut audit = AuditServiceClient::new(server.channel().await);
    let mut req = input("my phone is +1 650-253-0000");
    req.context.as_mut().unwrap().user_id = "u-9".into();
    req.context.as_mut().unwrap().session_id = "erase-me".into();
    risk.score_input(req).await.unwrap();

    let q = pb::AuditQuery { session_id: "erase-me".into(), reveal: true, ..Default::default() };
    let before = collect(audit.query(q.clone()).await.unwrap().into_inner()).await;
    assert!(!String::from_utf8_lossy(&before[0].canonical_entry).contains("650-253-0000"));
    assert!(before[0].revealed_json.contains("650-253-0000"));

    let erase = pb::EraseSubjectRequest { context: context(), subject: "user:u-9".into(), reason: "ticket 12".into() };
    let resp = audit.erase_subject(erase).await.unwrap().into_inner();
    assert!(resp.key_existed);
    let after = collect(audit.query(q).await.unwrap().into_inner()).await;
    assert!(after[0].revealed_json.contains("$erased"), "{}", after[0].revealed_json);
    assert_eq!(after[0].leaf_hash, before[0].leaf_hash, "the record itself is unchanged");

    let bad = pb::EraseSubjectRequest { context: context(), subject: "u-9".into(), reason: "x".into() };
    let status = audit.erase_subject(bad).await.unwrap_err();
    assert_eq!(status.get_error_details().bad_request().unwrap().field_violations[0].field, "subject");
    server.stop().await.unwrap();
    assert_eq!(common::verified_records(server.data_dir.path()), 2);
}

async fn append_all(
    audit: &mut AuditServiceClient<tonic::transport::Channel>,
    events: Vec<pb::AuditEvent>,
) -> Vec<pb::AppendAck> {
    let mut s = audit.append(tokio_stream::iter(events)).await.unwrap().into_inner();
    let mut acks = Vec::new();
    while let Some(a) = s.message().await.unwrap() {
        acks.push(a);
    }
    acks
}

fn in_tenant(tenant: &str, mut e: pb::AuditEvent) -> pb::AuditEvent {
    e.context.as_mut().unwrap().tenant = tenant.into();
    e
}

async fn records_in(audit: &mut AuditServiceClient<tonic::transport::Channel>, session: &str) -> Vec<pb::AuditRecord> {
    let q = pb::AuditQuery { session_id: session.into(), ..Default::default() };
    collect(audit.query(q).await.unwrap().into_inner()).await
}

/// Idempotent `Append`: a resent `client_event_id` gets the original record
/// back (in the same tenant, also after a restart and when sent twice at
/// once) and nothing new is written; another tenant's event of the same id
/// is its own record; an event without an id is never de-duplicated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resent_event_ids_are_written_once() {
    let server = TestServer::start().await;
    let mut audit = AuditServiceClient::new(server.channel().await);
    let first = append_all(&mut audit, vec![event("tool_call", "dedup", r#"{"n":1}"#)]).await;
    // A retry, in a new stream and within one stream, with other content.
    let again = append_all(&mut audit, vec![event("tool_call", "dedup", r#"{"n":2}"#)]).await;
    let twice = append_all(
        &mut audit,
        vec![event("tool_call", "dedup", r#"{"n":3}"#), event("tool_call", "dedup", r#"{"n":4}"#)],
    )
    .await;
    for ack in again.iter().chain(&twice) {
        assert_eq!((&ack.record_id, ack.sequence), (&first[0].record_id, first[0].sequence));
        assert_eq!(ack.client_event_id, "tool_call-dedup");
    }
    assert_eq!(records_in(&mut audit, "dedup").await.len(), 1);

    // The same id in another tenant is another event.
    let other = append_all(&mut audit, vec![in_tenant("globex", event("tool_call", "dedup", "{}"))]).await;
    assert_ne!(other[0].sequence, first[0].sequence);
    let records = records_in(&mut audit, "dedup").await;
    assert_eq!(records.len(), 2);
    assert_eq!(records[1].record_id, other[0].record_id);

    // No id, no de-duplication.
    let anonymous = || pb::AuditEvent { client_event_id: String::new(), ..event("tool_call", "anon", "{}") };
    let acks = append_all(&mut audit, vec![anonymous(), anonymous()]).await;
    assert_ne!(acks[0].sequence, acks[1].sequence);
    assert_eq!(records_in(&mut audit, "anon").await.len(), 2);

    // After a restart on the same data dir the map is rebuilt from the log.
    let dir = server.stop_keep_dir().await;
    let server = TestServer::start_in(dir, |_| {}, vec![]).await;
    let mut audit = AuditServiceClient::new(server.channel().await);
    for tenant in ["acme", "globex"] {
        let ack = append_all(&mut audit, vec![in_tenant(tenant, event("tool_call", "dedup", "{}"))]).await;
        let original = if tenant == "acme" { &first[0] } else { &other[0] };
        assert_eq!((&ack[0].record_id, ack[0].sequence), (&original.record_id, original.sequence), "{tenant}");
    }
    assert_eq!(records_in(&mut audit, "dedup").await.len(), 2);

    // Concurrent duplicates, on separate connections: one record.
    let mut calls = Vec::new();
    for _ in 0..8 {
        let channel = server.channel().await;
        calls.push(tokio::spawn(async move {
            let mut audit = AuditServiceClient::new(channel);
            append_all(&mut audit, vec![event("tool_call", "race", "{}")]).await.remove(0)
        }));
    }
    let mut acks = Vec::new();
    for c in calls {
        acks.push(c.await.unwrap());
    }
    assert!(acks.iter().all(|a| (&a.record_id, a.sequence) == (&acks[0].record_id, acks[0].sequence)));
    assert_eq!(records_in(&mut audit, "race").await.len(), 1);
    let mut server = server;
    server.stop().await.unwrap();
    // dedup: 1 + globex 1 + anon 2 + race 1.
    assert_eq!(common::verified_records(server.data_dir.path()), 5);
}

/// With the window at 0 every event is written, as before idempotency.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_window_turns_de_duplication_off() {
    let mut server = TestServer::start_with(|c| c.audit.dedup_window_secs = 0, vec![]).await;
    let mut audit = AuditServiceClient::new(server.channel().await);
    let acks = append_all(&mut audit, vec![event("tool_call", "off", "{}"), event("tool_call", "off", "{}")]).await;
    assert_ne!(acks[0].sequence, acks[1].sequence);
    assert_eq!(records_in(&mut audit, "off").await.len(), 2);
    server.stop().await.unwrap();
}

/// The OpenTelemetry GenAI attributes of appended events are indexed:
/// `Query` finds events by operation, provider (`gen_ai.system`, the older
/// name, counts) and model, alone or with other filters, and `warden audit
/// query` takes the same filters. A client event as the previous version
/// recorded it (its GenAI attributes only in its body) still verifies and
/// is still found by trace and session, only not by the new filters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gen_ai_attributes_of_appended_events_are_queryable() {
    const CHAT: &str = r#"{"gen_ai.operation.name":"chat","gen_ai.provider.name":"openai","gen_ai.request.model":"gpt-4o","gen_ai.usage.input_tokens":120,"gen_ai.usage.output_tokens":35}"#;
    let mut server = TestServer::start().await;
    let mut audit = AuditServiceClient::new(server.channel().await);
    let old = append_all(&mut audit, vec![event("model_call", "genai-old", CHAT)]).await[0].clone();
    server.stop().await.unwrap();
    let dir = server.data_dir;
    // Written before the GenAI facts were kept: only the context's model.
    common::forge(
        dir.path(),
        |seq, r| {
            (seq == old.sequence).then(|| {
                let mut r = r.clone();
                let facts = r["attributes"].as_object_mut().unwrap();
                facts.retain(|k, _| !k.starts_with("gen_ai.") || k == "gen_ai.conversation.id");
                facts.insert("gen_ai.request.model".into(), "gpt-4o-2024-08-06".into());
                r
            })
        },
        0,
    );
    common::drop_checkpoints(dir.path(), |_| false);

    let mut server = TestServer::start_in(dir, |_| {}, vec![]).await;
    let mut audit = AuditServiceClient::new(server.channel().await);
    let acks = append_all(
        &mut audit,
        vec![
            event("model_call", "genai-new", CHAT),
            event(
                "model_call",
                "genai-claude",
                r#"{"gen_ai.operation.name":"chat","gen_ai.system":"anthropic","gen_ai.request.model":"claude-sonnet-4"}"#,
            ),
            event("tool_call", "genai-new", r#"{"gen_ai.operation.name":"execute_tool","gen_ai.tool.name":"search"}"#),
        ],
    )
    .await;
    let (chat, claude, tool) = (&acks[0], &acks[1], &acks[2]);
    let ids = |records: Vec<pb::AuditRecord>| records.into_iter().map(|r| r.record_id).collect::<Vec<_>>();
    for (q, expected) in [
        (pb::AuditQuery { gen_ai_operation_name: "chat".into(), ..Default::default() }, vec![chat, claude]),
        (pb::AuditQuery { gen_ai_operation_name: "execute_tool".into(), ..Default::default() }, vec![tool]),
        (pb::AuditQuery { gen_ai_provider_name: "openai".into(), ..Default::default() }, vec![chat]),
        (pb::AuditQuery { gen_ai_provider_name: " anthropic ".into(), ..Default::default() }, vec![claude]),
        (pb::AuditQuery { gen_ai_request_model: "gpt-4o".into(), ..Default::default() }, vec![chat]),
        // The context's model, for an event that names none, old or new.
        (pb::AuditQuery { gen_ai_request_model: "gpt-4o-2024-08-06".into(), ..Default::default() }, vec![&old, tool]),
        (
            pb::AuditQuery {
                gen_ai_operation_name: "chat".into(),
                session_id: "genai-new".into(),
                kind: "model_call".into(),
                ..Default::default()
            },
            vec![chat],
        ),
        (pb::AuditQuery { gen_ai_operation_name: "embeddings".into(), ..Default::default() }, vec![]),
        // By trace, in either case, old and new records alike.
        (
            pb::AuditQuery { trace_id: "4BF92F3577B34DA6A3CE929D0E0E4736".into(), ..Default::default() },
            vec![&old, chat, claude, tool],
        ),
        (pb::AuditQuery { session_id: "genai-old".into(), ..Default::default() }, vec![&old]),
    ] {
        let what = format!("{q:?}");
        let expected: Vec<String> = expected.iter().map(|a| a.record_id.clone()).collect();
        assert_eq!(ids(collect(audit.query(q).await.unwrap().into_inner()).await), expected, "{what}");
    }
    // The facts are in the record, tokens as the client counted them.
    let q = pb::AuditQuery { gen_ai_provider_name: "openai".into(), ..Default::default() };
    let record = &collect(audit.query(q).await.unwrap().into_inner()).await[0];
    let entry: serde_json::Value = serde_json::from_slice(&record.canonical_entry).unwrap();
    for (k, v) in [
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.provider.name", "openai"),
        ("gen_ai.request.model", "gpt-4o"),
        ("gen_ai.usage.input_tokens", "120"),
        ("gen_ai.usage.output_tokens", "35"),
        ("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"),
    ] {
        assert_eq!(entry["attributes"][k], v, "{k} in {entry}");
    }
    // Every message of the streams is counted (other tests of this process
    // add to the same counters, never take away).
    let metrics = server.metrics().await;
    let count = |name: &str, method: &str| -> f64 {
        metrics
            .lines()
            .filter(|l| {
                l.starts_with(&format!("{name}{{"))
                    && l.contains("grpc_service=\"warden.v1.AuditService\"")
                    && l.contains(&format!("grpc_method=\"{method}\""))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    for (name, method, at_least) in [
        ("grpc_server_msg_received_total", "Append", 4.0),
        ("grpc_server_msg_sent_total", "Append", 4.0),
        ("grpc_server_msg_received_total", "Query", 11.0),
        ("grpc_server_msg_sent_total", "Query", 15.0),
    ] {
        assert!(count(name, method) >= at_least, "{name} {method}: {}", count(name, method));
    }
    server.stop().await.unwrap();

    // The old record and the new ones verify together.
    assert_eq!(common::check(server.data_dir.path()).unwrap().records, 4);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["audit", "query", "--operation", "chat", "--provider", "openai", "--data-dir"])
        .arg(server.data_dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["record_id"], chat.record_id.as_str());
}

/// A Score call whose context names no trace joins the trace of its W3C
/// `traceparent` (what an OpenTelemetry-instrumented caller sends), so its
/// record is found by that trace; a trace the context names wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn score_records_join_the_callers_traceparent() {
    let mut server = TestServer::start().await;
    let mut risk = server.risk().await;
    let mut audit = AuditServiceClient::new(server.channel().await);
    let traced = |trace_in_context: &str| {
        let mut req = input("hello there");
        req.context.as_mut().unwrap().trace_id = trace_in_context.into();
        let mut req = tonic::Request::new(req);
        req.metadata_mut()
            .insert("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse().unwrap());
        req
    };
    let joined = risk.score_input(traced("")).await.unwrap().into_inner();
    let own = risk.score_input(traced("4bf92f3577b34da6a3ce929d0e0e4736")).await.unwrap().into_inner();
    let by_trace = |trace: &str| pb::AuditQuery { trace_id: trace.into(), ..Default::default() };
    let found = collect(audit.query(by_trace("0af7651916cd43dd8448eb211c80319c")).await.unwrap().into_inner()).await;
    assert_eq!(found.iter().map(|r| r.record_id.as_str()).collect::<Vec<_>>(), [joined.record_id.as_str()]);
    let entry: serde_json::Value = serde_json::from_slice(&found[0].canonical_entry).unwrap();
    assert_eq!(entry["attributes"]["trace_id"], "0af7651916cd43dd8448eb211c80319c");
    let found = collect(audit.query(by_trace("4bf92f3577b34da6a3ce929d0e0e4736")).await.unwrap().into_inner()).await;
    assert_eq!(found.iter().map(|r| r.record_id.as_str()).collect::<Vec<_>>(), [own.record_id.as_str()]);
    server.stop().await.unwrap();
}
