//! Helpers shared by the bench binaries.

#![allow(dead_code)]

use std::time::Duration;

/// The `p` quantile (0..=1) of sorted samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// `12.3 µs` below a millisecond, `4.56 ms` above.
pub fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.1} µs")
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}

/// Warden in-process on a loopback port (a temporary data dir; `tweak`
/// adjusts the default config).
pub struct Server {
    pub client: warden::proto::v1::risk_service_client::RiskServiceClient<tonic::transport::Channel>,
    /// The connection, for the other services' clients.
    pub channel: tonic::transport::Channel,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), warden::ServeError>>,
    _dir: tempfile::TempDir,
}

impl Server {
    pub async fn start(tweak: impl FnOnce(&mut warden::Config)) -> Server {
        Self::start_in(tempfile::tempdir().unwrap(), tweak).await
    }

    /// As [`Server::start`], on a data dir of the caller's.
    pub async fn start_in(dir: tempfile::TempDir, tweak: impl FnOnce(&mut warden::Config)) -> Server {
        let mut config = warden::Config { data_dir: dir.path().to_path_buf(), ..Default::default() };
        config.limits.max_concurrent_requests = 64;
        config.limits.queue_timeout_ms = 10_000;
        tweak(&mut config);
        let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = grpc.local_addr().unwrap();
        let app = warden::build(&config, vec![]).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            warden::server::serve(
                &config,
                app,
                warden::Listeners { grpc, metrics: None, health: None, admin: None },
                async {
                    let _ = stopped.await;
                },
            )
            .await
        });
        let channel =
            tonic::transport::Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
        Server {
            client: warden::proto::v1::risk_service_client::RiskServiceClient::new(channel.clone()),
            channel,
            stop,
            task,
            _dir: dir,
        }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }
}

/// Resident set size of this process, in bytes (Linux; NaN elsewhere).
pub fn rss_bytes() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb * 1024.0)
}
