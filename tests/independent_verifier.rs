//! The independent verifier (`tests/verifier/verify_log.py`, written in
//! Python from RFC 9162 and the C2SP specs, not from this crate's code)
//! checks the live log from gRPC responses and the public key alone.

mod common;

use common::{input, TestServer};
use warden::proto::v1 as pb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_verifier_accepts_the_log_from_rpc_responses_alone() {
    let mut server = TestServer::start_with(|c| c.audit.checkpoint_interval_ms = 50, vec![]).await;
    let mut risk = server.risk().await;
    for i in 0..23 {
        risk.score_input(input(&format!("call {i}: mail me at user{i}@example.org"))).await.unwrap();
    }
    let mut audit = pb::audit_service_client::AuditServiceClient::new(server.channel().await);
    // Wait (bounded) for a checkpoint that covers every record.
    for _ in 0..200 {
        if audit.get_checkpoint(pb::GetCheckpointRequest {}).await.unwrap().into_inner().tree_size == 23 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    // What a third party gets: the public key only.
    let signer =
        warden::audit::journal::load_signer(server.data_dir.path(), &warden::config::AuditConfig::default()).unwrap();
    let key_file = server.data_dir.path().join("public-key.pem");
    std::fs::write(&key_file, warden::audit::checkpoint::public_key(&signer).pem).unwrap();

    let python = std::env::var("WARDEN_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/verifier/verify_log.py");
    let out = tokio::process::Command::new(&python)
        .args([script, "--target", &server.grpc_addr.to_string(), "--public-key"])
        .arg(&key_file)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "verifier failed (deps: pip install -r examples/python/requirements.txt)\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    server.stop().await.unwrap();
}
