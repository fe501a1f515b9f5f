//! Crash safety: clients stream appends, the server process is killed with
//! SIGKILL mid-stream, restarted on the same data dir, and every record that
//! was acknowledged before the kill must be there, unchanged, in a log that
//! verifies.

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};

use common::start_binary as start;

use warden::proto::v1 as pb;
use warden::proto::v1::audit_service_client::AuditServiceClient;

const BIN: &str = env!("CARGO_BIN_EXE_warden");

pub fn event(stream: usize, i: usize) -> pb::AuditEvent {
    pb::AuditEvent {
        client_event_id: format!("{stream}-{i}"),
        context: Some(pb::RequestContext {
            application: "crash-test".into(),
            session_id: format!("stream-{stream}"),
            ..Default::default()
        }),
        kind: "tool_result".into(),
        attributes_json: format!(r#"{{"gen_ai.tool.name":"lookup","n":{i},"payload":"{}"}}"#, "x".repeat(200)),
        occurred_at: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_loses_no_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, _log) = start(BIN, dir.path(), &[]);
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();

    let acked: Arc<Mutex<Vec<(String, String, u64)>>> = Arc::new(Mutex::new(Vec::new()));
    let mut writers = Vec::new();
    for stream in 0..4 {
        let mut client = AuditServiceClient::new(channel.clone());
        let acked = acked.clone();
        writers.push(tokio::spawn(async move {
            let events = tokio_stream::iter((0..5_000).map(move |i| event(stream, i)));
            let Ok(resp) = client.append(events).await else { return };
            let mut acks = resp.into_inner();
            while let Ok(Some(a)) = acks.message().await {
                acked.lock().unwrap().push((a.client_event_id, a.record_id, a.sequence));
            }
        }));
    }
    // Kill once a good number of records are acknowledged, while the
    // streams are still sending.
    loop {
        if acked.lock().unwrap().len() >= 1_000 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    child.kill().unwrap(); // SIGKILL: no flush, no final checkpoint
    child.wait().unwrap();
    for w in writers {
        let _ = w.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 1_000 && acked.len() < 20_000, "killed mid-stream after {} acks", acked.len());

    // Restart on the same data dir: it recovers and serves.
    let (mut child, addr, _log) = start(BIN, dir.path(), &[]);
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    let mut client = AuditServiceClient::new(channel);
    let mut stored = std::collections::HashMap::new();
    let mut tail = client.tail(pb::TailRequest { from_sequence: 0, follow: false }).await.unwrap().into_inner();
    while let Some(r) = tail.message().await.unwrap() {
        stored.insert(r.sequence, r);
    }
    for (client_event_id, record_id, seq) in &acked {
        let r = stored.get(seq).unwrap_or_else(|| panic!("acknowledged record {seq} ({client_event_id}) lost"));
        assert_eq!(&r.record_id, record_id);
        let body: serde_json::Value = serde_json::from_slice(&r.canonical_entry).unwrap();
        assert_eq!(body["body"]["client_event_id"], client_event_id.as_str());
    }
    println!("acknowledged before SIGKILL: {}, recovered after restart: {}", acked.len(), stored.len());
    // The restarted server signed a checkpoint over everything it recovered.
    let cp = client.get_checkpoint(pb::GetCheckpointRequest::default()).await.unwrap().into_inner();
    assert_eq!(cp.tree_size as usize, stored.len());

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
    let verify = Command::new(BIN).args(["audit", "verify", "--data-dir"]).arg(dir.path()).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
}
