//! The independent verifier (`tests/verifier/verify_log.py`, written in
//! Python from RFC 9162 and the C2SP specs, not from this crate's code)
//! checks the live log from gRPC responses and the public key alone, and
//! (offline, `--data-dir`) the log on disk: every tampering case the local
//! verifier finds, it finds too.

mod common;

use std::path::Path;

use common::{
    check, crash_tail_log, cut_log, drop_checkpoints, forge, history_forgeries, input, minute_log, newest_checkpoint,
    rewrite_call, TestServer,
};
use warden::audit::journal::{default_key_path, read_public_key, verify, AuditLog, Timeliness};
use warden::audit::Journal as _;
use warden::config::AuditConfig;
use warden::proto::v1 as pb;

fn python() -> String {
    std::env::var("WARDEN_PYTHON").unwrap_or_else(|_| "python3".into())
}

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/verifier/verify_log.py");

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
        if audit.get_checkpoint(pb::GetCheckpointRequest::default()).await.unwrap().into_inner().tree_size == 23 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    // What a third party gets: the public key only.
    let signer =
        warden::audit::journal::load_signer(server.data_dir.path(), &warden::config::AuditConfig::default()).unwrap();
    let key_file = server.data_dir.path().join("public-key.pem");
    std::fs::write(&key_file, warden::audit::checkpoint::public_key(&signer).pem).unwrap();

    let out = tokio::process::Command::new(python())
        .args([SCRIPT, "--target", &server.grpc_addr.to_string(), "--public-key"])
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

/// The Python verifier, offline on `dir` with the log's public key (what a
/// third party holds) and `extra` flags: whether it passed, and its output.
fn python_offline(dir: &Path, extra: &[&str]) -> (bool, String) {
    let signer = warden::audit::journal::load_signer(dir, &AuditConfig::default()).unwrap();
    let key_dir = tempfile::tempdir().unwrap();
    let key_file = key_dir.path().join("public-key.pem");
    std::fs::write(&key_file, warden::audit::checkpoint::public_key(&signer).pem).unwrap();
    let out = std::process::Command::new(python())
        .arg(SCRIPT)
        .arg("--data-dir")
        .arg(dir)
        .arg("--public-key")
        .arg(&key_file)
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary = stdout.lines().last().unwrap_or_default().to_string();
    assert!(
        summary.starts_with("verifier: "),
        "no summary line (deps: pip install -r examples/python/requirements.txt)\n{stdout}\n{stderr}"
    );
    assert_eq!(out.status.success(), summary.ends_with(" 0 failed"), "exit status vs summary\n{stdout}");
    (out.status.success(), format!("{stdout}{stderr}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_verifier_accepts_a_genuine_log_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    minute_log(dir.path(), 12).await;
    check(dir.path()).unwrap();
    let (ok, out) = python_offline(dir.path(), &[]);
    assert!(ok, "{out}");
    assert!(!out.contains("unsigned") && out.contains("info: 12 records"), "{out}");

    // A torn last line (a write never acknowledged) is reported, not a failure.
    let seg = common::segments(dir.path()).pop().unwrap();
    let torn = br#"{"record":{"v":2,"seq":12,"id":"01"#;
    let mut text = std::fs::read(&seg).unwrap();
    text.extend_from_slice(torn);
    std::fs::write(&seg, &text).unwrap();
    assert_eq!(check(dir.path()).unwrap().torn_tail_bytes, torn.len() as u64);
    let (ok, out) = python_offline(dir.path(), &[]);
    assert!(ok && out.contains(&format!("torn write: the last {} bytes", torn.len())), "{out}");
}

/// Issue #25: each tampering case, with the local verifier and the
/// independent one. Chain-correct forgeries pass both without the
/// timeliness rule and fail both with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_verifier_finds_forged_history_as_the_local_verifier_does() {
    // In the order of history_forgeries: (a) a rewrite, (c) middle
    // checkpoints deleted, (b) checkpoints.jsonl deleted, (d) records appended.
    let needles = [
        "covered by no checkpoint",
        "signed late: checkpoints missing",
        "covered by no checkpoint",
        "added after the fact",
    ];
    for ((what, tamper), needle) in history_forgeries().into_iter().zip(needles) {
        let dir = tempfile::tempdir().unwrap();
        minute_log(dir.path(), 12).await;
        tamper(dir.path());
        let local = check(dir.path()).expect_err(what);
        let (ok, out) = python_offline(dir.path(), &[]);
        assert!(!ok, "{what}: the Python verifier passed it (Rust: {local})\n{out}");
        assert!(out.contains(needle), "{what}: {out}");
        // Both see a chain-correct log without the rule.
        let key = read_public_key(&default_key_path(dir.path())).unwrap();
        verify(dir.path(), &key, Timeliness::Unchecked).unwrap();
        let (ok, out) = python_offline(dir.path(), &["--no-timeliness"]);
        assert!(ok, "{what}: without the timeliness rule: {out}");
    }
}

/// A crash leaves up to a window of records unsigned: both verifiers pass
/// it and count it, and pass it again once the next start signed it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_verifier_passes_a_crash_tail() {
    let dir = tempfile::tempdir().unwrap();
    crash_tail_log(dir.path()).await;
    assert_eq!(check(dir.path()).unwrap().unsigned_records, 3);
    let (ok, out) = python_offline(dir.path(), &[]);
    assert!(ok && out.contains("info: 3 records unsigned (after checkpoint 3)"), "{out}");

    AuditLog::open(dir.path(), &AuditConfig::default()).unwrap().close().unwrap();
    assert_eq!(check(dir.path()).unwrap().unsigned_records, 0);
    let (ok, out) = python_offline(dir.path(), &[]);
    assert!(ok && !out.contains("unsigned"), "{out}");
}

/// An unsigned tail the operator accepted is signed with a record saying
/// so: both verifiers pass it and report how many records it covered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_verifier_reports_an_accepted_tail() {
    let dir = tempfile::tempdir().unwrap();
    minute_log(dir.path(), 12).await;
    drop_checkpoints(dir.path(), |size| size <= 4);
    let (ok, out) = python_offline(dir.path(), &[]);
    assert!(!ok && out.contains("covered by no checkpoint"), "before the acceptance: {out}");
    let accept = AuditConfig { accept_unsigned_tail: true, ..AuditConfig::default() };
    AuditLog::open(dir.path(), &accept).unwrap().close().unwrap();
    assert_eq!(check(dir.path()).unwrap().accepted_unsigned_records, 8);
    let (ok, out) = python_offline(dir.path(), &[]);
    assert!(ok && out.contains("info: 8 records accepted unsigned"), "{out}");
}

/// Writes what `witness` cosigned of the log under `dir` (its newest
/// checkpoint) where the log keeps it: `audit/witness/<key id>.note`.
fn witness_the_log(dir: &Path, state: &Path) -> String {
    use warden::witness::{Witness, WitnessConfig};
    let signer = warden::audit::journal::load_signer(dir, &AuditConfig::default()).unwrap();
    let witness = Witness::open(&WitnessConfig {
        name: "witness.test/w1".into(),
        key_file: state.join("witness.pem"),
        logs: vec![warden::audit::checkpoint::public_key(&signer).vkey.to_string()],
        state_dir: state.join("state"),
    })
    .unwrap();
    let cp = newest_checkpoint(dir);
    witness.add_checkpoint(&format!("old 0\n\n{}", cp.signed_note()), 1_780_000_000).unwrap();
    let vkey = witness.vkey();
    std::fs::create_dir_all(dir.join("audit/witness")).unwrap();
    let note = witness.latest(&cp.origin).unwrap();
    std::fs::write(dir.join(format!("audit/witness/{}.note", hex::encode(vkey.id))), note).unwrap();
    vkey.to_string()
}

/// A log cut short with its checkpoints verifies on its own, in both
/// verifiers; the witness's cosigned checkpoint (size 12) that the log
/// kept finds it, and a rewrite it covered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_verifier_finds_truncation_by_the_witness_note() {
    let state = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    minute_log(dir.path(), 12).await;
    let vkey = witness_the_log(dir.path(), state.path());
    let (ok, out) = python_offline(dir.path(), &["--witness-vkey", &vkey]);
    assert!(ok && out.contains("info: witness witness.test/w1 cosigned size 12"), "{out}");

    cut_log(dir.path(), 8);
    assert_eq!(check(dir.path()).unwrap().records, 8, "locally, a log that stopped at 8");
    let (ok, out) = python_offline(dir.path(), &[]);
    assert!(ok, "without the witness the cut log passes: {out}");
    let (ok, out) = python_offline(dir.path(), &["--witness-vkey", &vkey]);
    assert!(!ok && out.contains("records were removed"), "{out}");

    // Rewritten instead of cut: the cosigned root is not reproduced.
    let dir = tempfile::tempdir().unwrap();
    minute_log(dir.path(), 12).await;
    let state = tempfile::tempdir().unwrap();
    let vkey = witness_the_log(dir.path(), state.path());
    forge(dir.path(), rewrite_call(11), 0);
    drop_checkpoints(dir.path(), |size| size <= 11);
    let (ok, out) = python_offline(dir.path(), &["--witness-vkey", &vkey]);
    assert!(!ok && out.contains("records were changed"), "{out}");
}

/// Segments that rolled, and segments retired to a seal and their leaf
/// hashes: the tree and the chain go on across them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_verifier_reads_rolled_and_retired_segments() {
    let dir = tempfile::tempdir().unwrap();
    let config = AuditConfig {
        segment_max_bytes: 4096,
        retention_seconds: 1,
        checkpoint_interval_ms: 50,
        ..AuditConfig::default()
    };
    let log = AuditLog::open(dir.path(), &config).unwrap();
    for i in 0..30 {
        log.append(common::entry(&format!("old call {i}"), "old").await).await.unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    for i in 0..3 {
        log.append(common::entry(&format!("new call {i}"), "new").await).await.unwrap();
    }
    common::eventually("old segments retired", std::time::Duration::from_secs(10), || async {
        log.record(0).unwrap().is_none()
    })
    .await;
    log.close().unwrap();
    drop(log);
    let seals = common::segments(dir.path()).iter().filter(|p| p.extension().is_some_and(|x| x == "seal")).count();
    assert!(seals >= 1);
    assert_eq!(check(dir.path()).unwrap().records, 33);
    let (ok, out) = python_offline(dir.path(), &[]);
    assert!(ok && out.contains("info: 33 records"), "{out}");

    // A retired segment's leaves changed: the signed roots are not reproduced.
    let leaves =
        common::segments(dir.path()).into_iter().find(|p| p.extension().is_some_and(|x| x == "leaves")).unwrap();
    let mut bytes = std::fs::read(&leaves).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&leaves, bytes).unwrap();
    let (ok, out) = python_offline(dir.path(), &[]);
    assert!(!ok && out.contains("records were changed"), "{out}");
}
