//! What the load generator starts around the server it measures: `warden
//! serve` as a child process on loopback ports of its own, and a TCP proxy
//! it can cut to simulate a downstream store's outage.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A `warden serve` child process with its own data dir.
pub struct Warden {
    child: std::process::Child,
    pub grpc: SocketAddr,
    pub metrics: SocketAddr,
    pub pid: u32,
    _dir: tempfile::TempDir,
}

impl Warden {
    /// Starts `binary serve` on port 0 (gRPC and metrics), shipping to
    /// `sinks`, with `env` (`WARDEN_*` settings), and waits for its start-up
    /// log line naming the ports.
    pub fn start(binary: &Path, sinks: &[String], env: &[(String, String)]) -> Result<Warden, String> {
        let dir = tempfile::Builder::new().prefix("warden-load-").tempdir().map_err(|e| e.to_string())?;
        let mut command = std::process::Command::new(binary);
        command.args(["serve", "--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--data-dir"]);
        command.arg(dir.path());
        for sink in sinks {
            command.args(["--audit-sink", sink]);
        }
        let mut child = command
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("RUST_LOG", "info")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("{}: {e}", binary.display()))?;
        let mut lines = BufReader::new(child.stderr.take().expect("piped")).lines();
        let after =
            |line: &str, key: &str| line.split(key).nth(1)?.split_whitespace().next()?.parse::<SocketAddr>().ok();
        let (mut grpc, mut metrics) = (None, None);
        while grpc.is_none() || metrics.is_none() {
            match lines.next() {
                Some(Ok(line)) => {
                    metrics = metrics.or_else(|| after(&line, "metrics="));
                    grpc = grpc.or_else(|| after(&line, "grpc="));
                }
                _ => return Err(format!("{} exited before listening", binary.display())),
            }
        }
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        let pid = child.id();
        Ok(Warden { child, grpc: grpc.expect("seen"), metrics: metrics.expect("seen"), pid, _dir: dir })
    }
}

impl Drop for Warden {
    fn drop(&mut self) {
        // SIGTERM first, for an orderly shutdown; kill if it lingers.
        let _ = std::process::Command::new("kill").arg(self.pid.to_string()).status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The release `warden` next to this example (`target/release/examples/..`
/// -> `target/release/warden`).
pub fn default_binary() -> PathBuf {
    let me = std::env::current_exe().unwrap_or_default();
    me.parent().and_then(Path::parent).map(|d| d.join("warden")).unwrap_or_else(|| PathBuf::from("warden"))
}

/// A TCP proxy in front of a store: `cut()` drops every connection and
/// refuses new ones until `restore()`, as a network partition would,
/// without touching the shared server.
pub struct Proxy {
    pub addr: SocketAddr,
    open: Arc<AtomicBool>,
    generation: tokio::sync::watch::Sender<u64>,
}

impl Proxy {
    pub async fn start(upstream: &str) -> std::io::Result<Proxy> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let open = Arc::new(AtomicBool::new(true));
        let (generation, _) = tokio::sync::watch::channel(0u64);
        let (flag, gen, upstream) = (open.clone(), generation.clone(), upstream.to_string());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    continue;
                }
                let (upstream, mut cut) = (upstream.clone(), gen.subscribe());
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {},
                        _ = cut.changed() => {},
                    }
                });
            }
        });
        Ok(Proxy { addr, open, generation })
    }

    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

/// CPU time of every process whose command name is `comm`, in seconds.
pub fn cpu_seconds(comm: &str) -> f64 {
    let ticks = 100.0; // USER_HZ on Linux
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0.0 };
    dir.filter_map(Result::ok)
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())))
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| stat.split_once(" (").and_then(|(_, r)| r.split_once(") ")).is_some_and(|(c, _)| c == comm))
        .filter_map(|stat| {
            let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split_whitespace().collect();
            // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
            Some((fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?) / ticks)
        })
        .sum()
}

/// Seconds the machine's CPUs spent in I/O wait and in total (from
/// `/proc/stat`).
pub fn iowait_and_total() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(cpu) = stat.lines().find(|l| l.starts_with("cpu ")) else { return (0.0, 0.0) };
    let v: Vec<f64> = cpu.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    (v.get(4).copied().unwrap_or(0.0) / 100.0, v.iter().take(8).sum::<f64>() / 100.0)
}

/// The 1, 5 and 15 minute load averages.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}
