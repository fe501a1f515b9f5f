//! What clients in other languages rely on: the language options of every
//! `.proto`, `buf lint` (STANDARD, with the v1 exceptions of `buf.yaml`), the
//! `from_time` alias of the keyword field `from`, and the Go, TypeScript and
//! Python example clients run against the real server (each scores, waits on
//! an approval with Watch, appends, queries, verifies an inclusion proof and
//! reads a BadRequest detail). Needs what `scripts/install-test-deps.sh`
//! installs: Debian's Go, protoc and gRPC packages, the npm packages of
//! `examples/typescript` and `tests/e2e` (buf), and the pip packages of
//! `examples/python` (`WARDEN_PYTHON` names another interpreter than
//! `python3`); without them these tests fail rather than skip.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::TestServer;
use tonic::Code;
use tonic_types::StatusExt;
use warden::proto::v1 as pb;
use warden::proto::v1::audit_service_client::AuditServiceClient;
use warden::proto::v1::compliance_service_client::ComplianceServiceClient;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn show(output: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn run(program: impl AsRef<std::ffi::OsStr>, args: &[&str], dir: &Path, hint: &str) -> Output {
    let program = program.as_ref().to_owned();
    let output = tokio::process::Command::new(&program)
        .args(args)
        .current_dir(dir)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {program:?} ({hint}): {e}"));
    assert!(output.status.success(), "{program:?} {args:?} failed ({hint})\n{}", show(&output));
    output
}

#[test]
fn every_proto_names_its_package_in_every_language() {
    let options = [
        r#"option csharp_namespace = "Warden.V1";"#,
        r#"option go_package = "warden/gen/go/warden/v1;wardenv1";"#,
        r#"option java_multiple_files = true;"#,
        r#"option java_package = "com.warden.v1";"#,
        r#"option objc_class_prefix = "WXX";"#,
        r#"option php_namespace = "Warden\\V1";"#,
        r#"option ruby_package = "Warden::V1";"#,
    ];
    let dir = repo().join("proto/warden/v1");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for option in options {
            assert!(text.contains(option), "{} lacks {option}", path.display());
        }
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let outer = format!("{}{}Proto", stem[..1].to_uppercase(), &stem[1..]);
        assert!(text.contains(&format!(r#"option java_outer_classname = "{outer}";"#)), "{}", path.display());
        files += 1;
    }
    assert_eq!(files, 5);
}

#[tokio::test]
async fn buf_lint_finds_nothing_beyond_the_written_exceptions() {
    let buf = repo().join("tests/e2e/node_modules/.bin/buf");
    let hint = "install it with: npm ci --prefix tests/e2e";
    run(&buf, &["lint"], repo(), hint).await;
    // The exceptions are the 23 findings of the v1 names and nothing else:
    // without them, lint reports exactly those.
    let config = std::fs::read_to_string(repo().join("buf.yaml")).unwrap();
    let strict = config.split("\n  ignore_only:").next().unwrap();
    let output = tokio::process::Command::new(&buf)
        .args(["lint", "--error-format=json", "--config", strict])
        .current_dir(repo())
        .output()
        .await
        .unwrap();
    let findings: Vec<serde_json::Value> =
        String::from_utf8_lossy(&output.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(findings.len(), 23, "{}", show(&output));
    for f in &findings {
        let rule = f["type"].as_str().unwrap();
        assert!(
            ["RPC_REQUEST_RESPONSE_UNIQUE", "RPC_REQUEST_STANDARD_NAME", "RPC_RESPONSE_STANDARD_NAME"].contains(&rule),
            "{f}"
        );
    }
}

fn ts(seconds: i64) -> Option<pbjson_types::Timestamp> {
    Some(pbjson_types::Timestamp { seconds, nanos: 0 })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_time_is_from_under_another_name() {
    let mut server = TestServer::start().await;
    let mut risk = server.risk().await;
    risk.score_input(common::input("hello")).await.unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let audit = AuditServiceClient::new(server.channel().await);
    let count = |q: pb::AuditQuery| {
        let mut audit = audit.clone();
        async move {
            let mut s = audit.query(q).await?.into_inner();
            let mut n = 0;
            while s.message().await?.is_some() {
                n += 1;
            }
            Ok::<_, tonic::Status>(n)
        }
    };
    // Either name, or both agreeing, selects the same records.
    for (from, from_time, expected) in
        [(ts(now - 60), None, 1), (None, ts(now - 60), 1), (ts(now - 60), ts(now - 60), 1), (None, ts(now + 60), 0)]
    {
        let q = pb::AuditQuery { from, from_time, ..Default::default() };
        assert_eq!(count(q.clone()).await.unwrap(), expected, "{q:?}");
    }
    // Both, disagreeing: refused, naming the alias.
    let status =
        count(pb::AuditQuery { from: ts(now - 60), from_time: ts(now), ..Default::default() }).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.get_error_details().bad_request().unwrap().field_violations[0].field, "from_time");
    // A bad Timestamp is named by the field that carried it.
    let bad = Some(pbjson_types::Timestamp { seconds: 0, nanos: -1 });
    let status = count(pb::AuditQuery { from_time: bad, ..Default::default() }).await.unwrap_err();
    assert_eq!(status.get_error_details().bad_request().unwrap().field_violations[0].field, "from_time");

    let mut compliance = ComplianceServiceClient::new(server.channel().await).max_decoding_message_size(64 << 20);
    let report = |from, from_time| pb::GenerateReportRequest {
        framework: pb::Framework::EuAiAct as i32,
        from,
        from_time,
        to: ts(now + 60),
        ..Default::default()
    };
    let r = compliance.generate_report(report(None, ts(now - 3600))).await.unwrap().into_inner();
    assert!(r.clauses > 0);
    let status = compliance.generate_report(report(ts(now - 3600), ts(now - 60))).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("from_time"), "{}", status.message());
    let status = compliance.generate_report(report(None, None)).await.unwrap_err();
    assert!(status.message().contains("from"), "{}", status.message());
    server.stop().await.unwrap();
}

/// Runs a built client against a fresh server and checks its summary line
/// and the log it left behind.
async fn run_client(name: &str, program: &Path, args: &[&str]) {
    // Checkpoints every 100 ms, so the inclusion proof does not wait 2 s.
    let mut server = TestServer::start_with(|c| c.audit.checkpoint_interval_ms = 100, Vec::new()).await;
    let target = server.grpc_addr.to_string();
    let mut all_args = args.to_vec();
    all_args.extend(["--target", target.as_str()]);
    let output = run(program, &all_args, repo(), "see examples/README").await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    for step in [
        "\"ScoreInput\"",
        "\"APPROVAL_STATE_APPROVED\"",
        "\"AuditService/Append\"",
        "\"verified\":true",
        "\"INVALID_ARGUMENT\"",
    ] {
        assert!(stdout.contains(step), "{step} missing from\n{stdout}");
    }
    assert!(stdout.contains(&format!("{name} client: 7 passed, 0 failed")), "{stdout}");
    server.stop().await.unwrap();
    // Two Score calls, the approval's steps and the event; the refused call
    // wrote nothing. All of it verifies.
    assert!(common::verified_records(server.data_dir.path()) >= 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_client_scores_waits_appends_and_proves() {
    let out = tempfile::tempdir().unwrap();
    let binary = out.path().join("warden-go-client");
    let build = repo().join("examples/go/build.sh");
    let hint = "needs Debian's Go, protoc and gRPC-Go packages: scripts/install-test-deps.sh";
    run(&build, &[binary.to_str().unwrap()], repo(), hint).await;
    run_client("go", &binary, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_client_scores_waits_appends_and_proves() {
    let dir: PathBuf = repo().join("examples/typescript");
    let hint = "install its packages with: npm ci --prefix examples/typescript";
    run("npm", &["run", "--silent", "build"], &dir, hint).await;
    run_client("typescript", Path::new("node"), &["examples/typescript/dist/client.js"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_scores_waits_appends_and_proves() {
    let python = std::env::var("WARDEN_PYTHON").unwrap_or_else(|_| "python3".into());
    run_client("python", Path::new(&python), &["examples/python/client.py"]).await;
}
