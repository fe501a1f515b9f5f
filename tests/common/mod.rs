//! Test fixtures: the real server, in-process, on ephemeral ports.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
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
    use warden::audit::journal::{default_key_path, read_public_key, verify, Timeliness};
    let key = read_public_key(&default_key_path(dir)).unwrap();
    verify(dir, &key, Timeliness::Whole(Timeliness::window(config))).unwrap().records
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
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(bin)
        .args(["serve", "--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--data-dir"])
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
