//! A witness (`warden witness`, C2SP tlog-witness) cosigns the log's
//! checkpoints while each extends the last; a log rewritten or cut short
//! cannot get its cosignature, and `audit verify --witness` compares the
//! local log with what the witness holds. Rewriting history then needs the
//! witness's key as well as the log's.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{eventually, input, TestServer};
use warden::audit::checkpoint::{public_key, LogSigner};
use warden::audit::cosign::Note;
use warden::witness::{http, Witness, WitnessConfig};

const ORIGIN: &str = "warden/witness-test";

struct RunningWitness {
    url: String,
    vkey: String,
    witness: Arc<Witness>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

async fn start_witness(log_vkey: &str) -> RunningWitness {
    let dir = tempfile::tempdir().unwrap();
    let witness = Arc::new(
        Witness::open(&WitnessConfig {
            name: "witness.test/w1".into(),
            key_file: dir.path().join("witness.pem"),
            logs: vec![log_vkey.to_string()],
            state_dir: dir.path().join("state"),
        })
        .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(http::serve(witness.clone(), listener, async {
        let _ = rx.await;
    }));
    RunningWitness { url, vkey: witness.vkey().to_string(), witness, stop: Some(tx), _dir: dir }
}

/// `audit verify` with the test's config (origin and key).
fn cli(dir: &std::path::Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let config = dir.join("warden.toml");
    let args: Vec<&str> = [&["--config", config.to_str().unwrap()][..], extra].concat();
    common::audit_verify(dir, &args)
}

fn witnessed_size(w: &RunningWitness) -> u64 {
    w.witness.latest(ORIGIN).map_or(0, |n| Note::parse(&n).unwrap().body.lines().nth(1).unwrap().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_witness_cosigns_a_growing_log_and_refuses_one_cut_short() {
    let data = tempfile::tempdir().unwrap();
    let key_file = data.path().join("log-key.pem");
    let log_vkey = public_key(&LogSigner::load_or_create(&key_file, ORIGIN.into()).unwrap()).vkey;
    // The CLI reads the same origin and key as the server.
    std::fs::write(
        data.path().join("warden.toml"),
        format!("[audit]\norigin = \"{ORIGIN}\"\nsigning_key_file = \"{}\"\n", key_file.display()),
    )
    .unwrap();
    let mut witness = start_witness(&log_vkey).await;
    let target = warden::config::WitnessTarget { url: witness.url.clone(), vkey: witness.vkey.clone() };
    let tweak = |c: &mut warden::config::Config| {
        c.audit.origin = Some(ORIGIN.into());
        c.audit.signing_key_file = Some(key_file.clone());
        c.audit.checkpoint_interval_ms = 50;
        c.audit.witnesses = vec![target.clone()];
    };
    let server = TestServer::start_in(data, tweak, vec![]).await;
    let mut risk = server.risk().await;
    for i in 0..10 {
        risk.score_input(input(&format!("call {i}"))).await.unwrap();
    }
    eventually("the witness cosigned size 10", Duration::from_secs(20), || async { witnessed_size(&witness) == 10 })
        .await;
    let metrics = server.metrics().await;
    assert!(metrics.contains("warden_witness_cosignatures_total{witness=\"witness.test/w1\"}"), "{metrics}");
    let data = server.stop_keep_dir().await;
    // The log keeps the cosigned checkpoint as its own evidence too.
    let kept = std::fs::read_dir(data.path().join("audit/witness")).unwrap().count();
    assert_eq!(kept, 1);

    let against = ["--witness", witness.url.as_str(), "--witness-vkey", witness.vkey.as_str()];
    let (code, stdout, stderr) = cli(data.path(), &against);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("witness witness.test/w1") && stdout.contains("size 10"), "{stdout}");
    // A key that is not the witness's is not trusted, whatever the witness says.
    let other = start_witness(&log_vkey).await;
    let (code, _, stderr) = cli(data.path(), &["--witness", &witness.url, "--witness-vkey", &other.vkey]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no valid cosignature"), "{stderr}");

    // Cut the log to 6 records with every checkpoint that covered more.
    common::cut_log(data.path(), 6);
    // Also forget what the log kept of the witness, as a forger would.
    std::fs::remove_dir_all(data.path().join("audit/witness")).unwrap();
    let (code, stdout, stderr) = cli(data.path(), &[]);
    assert_eq!(code, Some(0), "on its own the cut log verifies: {stdout}{stderr}");
    let (code, _, stderr) = cli(data.path(), &against);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("records were removed"), "{stderr}");

    // The server starts on the cut log and grows it again, but the witness
    // will not cosign a tree that does not extend size 10.
    let mut server = TestServer::start_in(data, tweak, vec![]).await;
    let mut risk = server.risk().await;
    for i in 0..2 {
        risk.score_input(input(&format!("after the cut {i}"))).await.unwrap();
    }
    eventually("the witness refused the cut log", Duration::from_secs(20), || async {
        server
            .metrics()
            .await
            .lines()
            .any(|l| l.starts_with("warden_witness_refusals_total{") && l.contains("rolled_back") && !l.ends_with(" 0"))
    })
    .await;
    assert_eq!(witnessed_size(&witness), 10, "the witness still holds the tree it cosigned");
    server.stop().await.unwrap();
    let _ = witness.stop.take().map(|tx| tx.send(()));
}
