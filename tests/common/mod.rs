//! Test fixtures: the real server, in-process, on ephemeral ports.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use warden::audit::Journal as _;
use warden::config::Config;
use warden::detect::{DetectError, Detector, RawFinding, ScanItem, Source, Surface};
use warden::proto::v1 as pb;
use warden::proto::v1::risk_service_client::RiskServiceClient;

pub struct TestServer {
    pub grpc_addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    /// The plaintext health-only port (what Kubernetes probes).
    pub health_addr: SocketAddr,
    /// The web console, when the config asked for one.
    pub admin_addr: Option<SocketAddr>,
    pub data_dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), warden::ServeError>>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}, Vec::new()).await
    }

    /// Starts the real server with a config tweak and extra detectors.
    pub async fn start_with(tweak: impl FnOnce(&mut Config), extra: Vec<Arc<dyn Detector>>) -> TestServer {
        Self::start_in(tempfile::tempdir().unwrap(), tweak, extra).await
    }

    /// Starts the real server on an existing data dir (a restart).
    pub async fn start_in(
        data_dir: tempfile::TempDir,
        tweak: impl FnOnce(&mut Config),
        extra: Vec<Arc<dyn Detector>>,
    ) -> TestServer {
        let mut config = Config { data_dir: data_dir.path().to_path_buf(), ..Config::default() };
        tweak(&mut config);
        let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let grpc_addr = grpc.local_addr().unwrap();
        let metrics_addr = metrics.local_addr().unwrap();
        let admin = match config.admin_addr {
            Some(addr) => Some(TcpListener::bind(addr).await.unwrap()),
            None => None,
        };
        let admin_addr = admin.as_ref().map(|l| l.local_addr().unwrap());
        let health = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let health_addr = health.local_addr().unwrap();
        let app = warden::build(&config, extra).unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            warden::server::serve(
                &config,
                app,
                warden::Listeners { grpc, metrics: Some(metrics), health: Some(health), admin },
                async {
                    let _ = rx.await;
                },
            )
            .await
        });
        TestServer { grpc_addr, metrics_addr, health_addr, admin_addr, data_dir, shutdown: Some(tx), task: Some(task) }
    }

    pub async fn channel(&self) -> Channel {
        // The listener is bound before the server task starts, so connecting
        // succeeds at once: the kernel queues the connection.
        Channel::from_shared(format!("http://{}", self.grpc_addr)).unwrap().connect().await.unwrap()
    }

    pub async fn risk(&self) -> RiskServiceClient<Channel> {
        RiskServiceClient::new(self.channel().await)
    }

    /// Asks the server to stop and waits for it (drain and journal flush).
    pub async fn stop(&mut self) -> Result<(), warden::ServeError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(t) => t.await.unwrap(),
            None => Ok(()),
        }
    }

    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Stops the server and hands back its data dir, for a restart.
    pub async fn stop_keep_dir(mut self) -> tempfile::TempDir {
        self.stop().await.unwrap();
        self.data_dir
    }

    pub async fn join(&mut self) -> Result<(), warden::ServeError> {
        self.task.take().expect("server running").await.unwrap()
    }

    pub async fn metrics(&self) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(self.metrics_addr).await.unwrap();
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n").await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }
}

pub fn context() -> Option<pb::RequestContext> {
    Some(pb::RequestContext {
        tenant: "acme".into(),
        application: "support-bot".into(),
        session_id: "s-1".into(),
        trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
        user_id: "u-42".into(),
        model: "gpt-4o-2024-08-06".into(),
        labels: Default::default(),
    })
}

pub fn input(text: &str) -> pb::ScoreInputRequest {
    pb::ScoreInputRequest { context: context(), text: text.into(), system_prompt: String::new(), documents: vec![] }
}

/// A detector that holds every request whose input contains "HOLD" until the
/// test releases it, so tests can keep a call in flight deterministically.
pub struct Gate {
    entered: Mutex<Option<std::sync::mpsc::Sender<()>>>,
    release: Mutex<std::sync::mpsc::Receiver<()>>,
}

pub struct GateHandle {
    pub entered: std::sync::mpsc::Receiver<()>,
    pub release: std::sync::mpsc::Sender<()>,
}

impl Gate {
    pub fn new() -> (Arc<Gate>, GateHandle) {
        let (entered_tx, entered_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel();
        (
            Arc::new(Gate { entered: Mutex::new(Some(entered_tx)), release: Mutex::new(release_rx) }),
            GateHandle { entered: entered_rx, release: release_tx },
        )
    }
}

impl GateHandle {
    /// Blocks (off the runtime) until a held call has reached the detector.
    pub async fn wait_entered(&self) {
        let rx = &self.entered;
        tokio::task::block_in_place(|| {
            rx.recv_timeout(std::time::Duration::from_secs(30)).expect("call reached the gate")
        });
    }
}

impl Detector for Gate {
    fn name(&self) -> &'static str {
        "test_gate"
    }
    fn version(&self) -> &str {
        "0"
    }
    fn applies(&self, _: Surface, source: &Source) -> bool {
        *source == Source::Input
    }
    fn detect(&self, item: &ScanItem, _: Option<&str>) -> Result<Vec<RawFinding>, DetectError> {
        if item.text.contains("HOLD") {
            if let Some(tx) = self.entered.lock().unwrap().as_ref() {
                let _ = tx.send(());
            }
            let _ = self.release.lock().unwrap().recv();
        }
        Ok(vec![])
    }
}

/// A detector that never answers in time or always fails.
pub struct Broken {
    pub name: &'static str,
    pub sleep: Option<std::time::Duration>,
}

impl Detector for Broken {
    fn name(&self) -> &'static str {
        self.name
    }
    fn version(&self) -> &str {
        "0"
    }
    fn applies(&self, _: Surface, _: &Source) -> bool {
        true
    }
    fn detect(&self, _: &ScanItem, _: Option<&str>) -> Result<Vec<RawFinding>, DetectError> {
        match self.sleep {
            Some(d) => {
                std::thread::sleep(d);
                Ok(vec![])
            }
            None => Err(DetectError::Failed("model file missing".into())),
        }
    }
}

/// Verifies the log under `dir` with its own public key, every record
/// signed in time; returns the record count.
pub fn verified_records(dir: &std::path::Path) -> u64 {
    verified_records_under(dir, &warden::config::AuditConfig::default())
}

/// [`verified_records`] for a log written with other checkpoint settings
/// (the simulated history signs once a simulated day).
pub fn verified_records_under(dir: &std::path::Path, config: &warden::config::AuditConfig) -> u64 {
    check_under(dir, config).unwrap().records
}

/// The local verifier on the log under `dir`, with its own public key and
/// the timeliness rule.
pub fn check(dir: &Path) -> Result<warden::audit::journal::VerifyReport, String> {
    check_under(dir, &warden::config::AuditConfig::default())
}

/// [`check`] with the timeliness windows of `config`.
pub fn check_under(
    dir: &Path,
    config: &warden::config::AuditConfig,
) -> Result<warden::audit::journal::VerifyReport, String> {
    use warden::audit::journal::{default_key_path, read_public_key, verify, Timeliness};
    let key = read_public_key(&default_key_path(dir)).unwrap();
    verify(dir, &key, Timeliness::Whole(Timeliness::window(config))).map_err(|e| e.to_string())
}

/// Runs `warden audit verify --data-dir <dir> <extra>`: exit code, stdout, stderr.
pub fn audit_verify(dir: &std::path::Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["audit", "verify", "--data-dir"])
        .arg(dir)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Cuts the log under `dir` (one segment) to its first `keep` records and
/// drops every checkpoint that covered more, as someone removing history
/// without the signing key would: what is left verifies on its own.
pub fn cut_log(dir: &std::path::Path, keep: usize) {
    let seg = std::fs::read_dir(dir.join("audit/segments")).unwrap().next().unwrap().unwrap().path();
    let kept: String = std::fs::read_to_string(&seg).unwrap().lines().take(keep).map(|l| format!("{l}\n")).collect();
    std::fs::write(&seg, kept).unwrap();
    let cps = dir.join("audit/checkpoints.jsonl");
    let kept: String = std::fs::read_to_string(&cps)
        .unwrap()
        .lines()
        .filter(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["tree_size"].as_u64().unwrap() <= keep as u64)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&cps, kept).unwrap();
}

/// A TCP proxy the test controls, between Warden and a store: `cut()` drops
/// every connection and refuses new ones until `restore()`, as a network
/// partition would, without touching the shared server.
pub struct Proxy {
    pub addr: SocketAddr,
    open: Arc<std::sync::atomic::AtomicBool>,
    generation: tokio::sync::watch::Sender<u64>,
    task: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let open = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (generation, _) = tokio::sync::watch::channel(0u64);
        let upstream = upstream.to_string();
        let task = tokio::spawn({
            let open = open.clone();
            let generation = generation.clone();
            async move {
                loop {
                    let Ok((mut inbound, _)) = listener.accept().await else { return };
                    if !open.load(std::sync::atomic::Ordering::SeqCst) {
                        drop(inbound);
                        continue;
                    }
                    let upstream = upstream.clone();
                    let mut cut = generation.subscribe();
                    tokio::spawn(async move {
                        let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await else { return };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {},
                            _ = cut.changed() => {},
                        }
                    });
                }
            }
        });
        Proxy { addr, open, generation, task }
    }

    pub fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    pub fn restore(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Waits (bounded) until `check` holds, polling.
pub async fn eventually<F, Fut>(what: &str, timeout: std::time::Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Fails in CI when a service the tests need is missing; elsewhere too,
/// with the reason, because a skipped sink test would pass silently.
pub async fn require_service(name: &str, addr: &str) {
    if tokio::net::TcpStream::connect(addr).await.is_err() {
        panic!("{name} is not reachable at {addr}: start it (see README) — sink tests never skip");
    }
}

/// Starts the `warden serve` binary on ephemeral ports with `extra` flags;
/// returns it, its gRPC address (read from its start-up log) and the rest
/// of its log lines.
pub fn start_binary(
    bin: &str,
    data_dir: &std::path::Path,
    extra: &[&str],
) -> (std::process::Child, String, std::sync::mpsc::Receiver<String>) {
    start_command(bin, "serve", data_dir, extra)
}

/// As [`start_binary`], for another serving command (`fleet`).
pub fn start_command(
    bin: &str,
    command: &str,
    data_dir: &std::path::Path,
    extra: &[&str],
) -> (std::process::Child, String, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(bin)
        .args([command, "--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let addr = loop {
        let line = rx.recv_timeout(std::time::Duration::from_secs(60)).expect("server start-up log");
        if let Some(rest) = line.split("grpc=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    (child, addr, rx)
}

/// A bearer token entry for `auth.tokens` (the token stored as its SHA-256).
#[allow(dead_code)]
pub fn token(identity: &str, token: &str, roles: &[warden::auth::Role]) -> warden::config::TokenConfig {
    use sha2::Digest as _;
    warden::config::TokenConfig {
        identity: identity.into(),
        roles: roles.to_vec(),
        sha256: Some(hex::encode(sha2::Sha256::digest(token.as_bytes()))),
        token_env: None,
        token_file: None,
        tenants: Vec::new(),
    }
}

/// An `issue_refund` call in tenant acme (large amounts need approval).
#[allow(dead_code)]
pub fn refund(session: &str, amount: u32) -> warden::proto::v1::ScoreActionRequest {
    warden::proto::v1::ScoreActionRequest {
        context: Some(warden::proto::v1::RequestContext {
            tenant: "acme".into(),
            application: "support-bot".into(),
            session_id: session.into(),
            user_id: "customer-7".into(),
            ..Default::default()
        }),
        tool: "issue_refund".into(),
        arguments_json: format!(r#"{{"order_id": "A-1", "amount": {amount}, "currency": "EUR"}}"#),
        rationale: "the customer says the parcel never arrived".into(),
    }
}

/// An audit entry: an input scored by the builtin policy, no detectors.
pub async fn entry(text: &str, session: &str) -> warden::audit::Entry {
    use warden::scoring::{Context, Pipeline, ScoreRequest};
    let request = ScoreRequest::Input {
        context: Context { application: "t".into(), session_id: session.into(), ..Context::default() },
        text: text.into(),
        system_prompt: String::new(),
        documents: vec![],
    };
    let pipeline = Pipeline::new(
        vec![],
        Arc::new(warden::policy::Policy::builtin()),
        warden::action::PolicyHandle::new(warden::action::ActionPolicy::builtin(), None),
        std::time::Duration::from_secs(1),
    );
    let evaluation = pipeline.evaluate(&request, &Default::default()).await;
    warden::audit::Entry::ScoreDecision {
        request,
        evaluation,
        approval_id: None,
        warden_version: "test",
        caller: None,
        approval: None,
    }
}

/// The segment files of the log under `dir`, in order.
pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(dir.join("audit/segments")).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    v
}

/// A log as a live writer leaves it: one record a minute, each signed
/// before the next (the writer signs within `checkpoint_interval_ms`).
pub async fn minute_log(dir: &Path, n: usize) -> time::OffsetDateTime {
    use time::macros::datetime;
    let start = datetime!(2026-06-01 10:00 UTC);
    let (clock, hand) = warden::audit::journal::Clock::manual(start);
    let log =
        warden::audit::journal::AuditLog::open_with_clock(dir, &warden::config::AuditConfig::default(), clock).unwrap();
    for i in 0..n {
        hand.set(start + time::Duration::minutes(i as i64));
        log.append(entry(&format!("call {i}"), "s").await).await.unwrap();
        log.checkpoint().await.unwrap();
    }
    log.close().unwrap();
    start + time::Duration::minutes(n as i64 - 1)
}

/// What a forger without the signing key can do to the one segment: edit
/// record texts (`edit` gets each record's sequence and JSON and returns a
/// changed record, or `None` to keep its bytes), append records a minute
/// apart, and recompute every leaf, `prev` and chain hash so the chain
/// verifies from the start.
pub fn forge(dir: &Path, edit: impl Fn(u64, &serde_json::Value) -> Option<serde_json::Value>, append: usize) {
    let seg = &segments(dir)[0];
    let mut records: Vec<String> = std::fs::read_to_string(seg)
        .unwrap()
        .lines()
        .map(|l| l["{\"record\":".len()..l.rfind(",\"leaf\":\"").unwrap()].to_string())
        .collect();
    for _ in 0..append {
        let mut next: serde_json::Value = serde_json::from_str(records.last().unwrap()).unwrap();
        let seq = next["seq"].as_u64().unwrap() + 1;
        let at = time::OffsetDateTime::parse(
            next["recorded_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        next["seq"] = seq.into();
        next["id"] = uuid::Uuid::now_v7().to_string().into();
        next["recorded_at"] =
            (at + time::Duration::minutes(1)).format(&time::format_description::well_known::Rfc3339).unwrap().into();
        records.push(next.to_string());
    }
    let mut prev = [0u8; 32];
    let mut out = String::new();
    for (seq, raw) in records.into_iter().enumerate() {
        let value: serde_json::Value = serde_json::from_str(&raw).unwrap();
        let record = edit(seq as u64, &value).map_or(raw, |v| v.to_string());
        let leaf = warden::audit::merkle::leaf_hash(record.as_bytes());
        let hash = warden::audit::journal::chain_hash(&prev, &leaf);
        out.push_str(&format!(
            r#"{{"record":{record},"leaf":"{}","prev":"{}","hash":"{}"}}"#,
            hex::encode(leaf),
            hex::encode(prev),
            hex::encode(hash)
        ));
        out.push('\n');
        prev = hash;
    }
    std::fs::write(seg, out).unwrap();
}

/// Keeps the checkpoints `keep` says yes to.
pub fn drop_checkpoints(dir: &Path, keep: impl Fn(u64) -> bool) {
    let path = dir.join("audit/checkpoints.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let kept: String = text
        .lines()
        .filter(|l| keep(serde_json::from_str::<serde_json::Value>(l).unwrap()["tree_size"].as_u64().unwrap()))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, kept).unwrap();
}

pub fn rewrite_call(target: u64) -> impl Fn(u64, &serde_json::Value) -> Option<serde_json::Value> {
    move |s, r| {
        (s == target)
            .then(|| serde_json::from_str(&r.to_string().replace(&format!("call {target}"), "call FORGED")).unwrap())
    }
}

pub fn newest_checkpoint(dir: &Path) -> warden::audit::checkpoint::Checkpoint {
    let text = std::fs::read_to_string(dir.join("audit/checkpoints.jsonl")).unwrap();
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}

/// Issue #25's point 3 on a `minute_log` of 12: signed history rewritten or
/// added to without the key, with the checkpoints that would show it
/// deleted. Each is chain-correct; only the timeliness rule (or a
/// checkpoint published elsewhere) finds it.
pub fn history_forgeries() -> Vec<(&'static str, fn(&Path))> {
    vec![
        ("record 3 rewritten, the hashes after it recomputed, the checkpoints from it on dropped", |d| {
            forge(d, rewrite_call(3), 0);
            drop_checkpoints(d, |size| size <= 3);
        }),
        ("checkpoints 4 to 11 deleted, the newest kept (records intact)", |d| {
            drop_checkpoints(d, |size| size <= 3 || size == 12)
        }),
        ("checkpoints.jsonl deleted", |d| std::fs::remove_file(d.join("audit/checkpoints.jsonl")).unwrap()),
        ("two chain-correct records appended after the last checkpoint, an hour on", |d| {
            forge(
                d,
                |s, r| {
                    (s >= 12).then(|| {
                        let mut r = r.clone();
                        let at = time::OffsetDateTime::parse(
                            r["recorded_at"].as_str().unwrap(),
                            &time::format_description::well_known::Rfc3339,
                        )
                        .unwrap();
                        r["recorded_at"] = (at + time::Duration::hours(1))
                            .format(&time::format_description::well_known::Rfc3339)
                            .unwrap()
                            .into();
                        r
                    })
                },
                2,
            )
        }),
    ]
}

/// A crash tail: six records 300 ms apart, the first three signed, the
/// checkpoints after them dropped as if the process had died before the
/// last records were signed.
pub async fn crash_tail_log(dir: &Path) {
    let start = time::macros::datetime!(2026-06-01 10:00 UTC);
    let (clock, hand) = warden::audit::journal::Clock::manual(start);
    let log =
        warden::audit::journal::AuditLog::open_with_clock(dir, &warden::config::AuditConfig::default(), clock).unwrap();
    for i in 0..6 {
        hand.set(start + time::Duration::milliseconds(300 * i));
        log.append(entry(&format!("call {i}"), "s").await).await.unwrap();
        if i == 2 {
            log.checkpoint().await.unwrap();
        }
    }
    log.close().unwrap();
    drop(log);
    drop_checkpoints(dir, |size| size <= 3);
}
