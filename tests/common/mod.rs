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
        let data_dir = tempfile::tempdir().unwrap();
        let mut config = Config { data_dir: data_dir.path().to_path_buf(), ..Config::default() };
        tweak(&mut config);
        let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let grpc_addr = grpc.local_addr().unwrap();
        let metrics_addr = metrics.local_addr().unwrap();
        let app = warden::build(&config, extra).unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            warden::server::serve(&config, app, warden::Listeners { grpc, metrics: Some(metrics) }, async {
                let _ = rx.await;
            })
            .await
        });
        TestServer { grpc_addr, metrics_addr, data_dir, shutdown: Some(tx), task: Some(task) }
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

/// Verifies the log under `dir` with its own public key; returns the record count.
pub fn verified_records(dir: &std::path::Path) -> u64 {
    use warden::audit::journal::{default_key_path, read_public_key, verify};
    let key = read_public_key(&default_key_path(dir)).unwrap();
    verify(dir, &key).unwrap().records
}
