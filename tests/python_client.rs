//! The Python example client (stubs generated from the proto with
//! grpcio-tools) against the real server: proves the contract works from
//! another language. Needs `pip install -r examples/python/requirements.txt`
//! (the README's test command does it); without it this test fails rather
//! than skipping.

mod common;

use common::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_calls_every_score_rpc() {
    let mut server = TestServer::start().await;
    let python = std::env::var("WARDEN_PYTHON").unwrap_or_else(|_| "python3".into());
    let client = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/python/client.py");
    let target = server.grpc_addr.to_string();
    let output = tokio::process::Command::new(&python)
        .args([client, "--target", &target])
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "python client failed (install its deps: pip install -r examples/python/requirements.txt)\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for rpc in ["\"ScoreInput\"", "\"ScoreOutput\"", "\"ScoreAction\""] {
        assert!(stdout.contains(rpc), "{rpc} missing from\n{stdout}");
    }
    assert!(stdout.contains("4 passed, 0 failed"), "{stdout}");
    server.stop().await.unwrap();
    // Three successful Score calls were recorded; the invalid one was not.
    assert_eq!(common::verified_records(server.data_dir.path()), 3);
}
