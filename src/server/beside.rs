//! What `serve` runs beside the gRPC server: the endpoints that listen
//! (health-only port, metrics, console), stopped after the gRPC drain with
//! short bounds, and what sends the log elsewhere (shippers, witnesses),
//! stopped only after the journal closed so the final records and
//! checkpoint leave too.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tonic::transport::server::TcpIncoming;
use tonic_health::pb::health_server::HealthServer;

use super::{conn, metrics, Listeners, ServeError};
use crate::audit::journal::AuditLog;
use crate::auth::Authenticator;
use crate::config::Config;

/// A task that serves until told to stop.
struct Stoppable<T> {
    stop: oneshot::Sender<()>,
    task: JoinHandle<T>,
}

fn stoppable<T: Send + 'static, F: std::future::Future<Output = T> + Send + 'static>(
    serve: impl FnOnce(std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>) -> F,
) -> Stoppable<T> {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(Box::pin(async {
        let _ = stopped.await;
    })));
    Stoppable { stop, task }
}

/// The health-only port, the metrics endpoint and the console, as
/// configured.
pub(super) struct Endpoints {
    health: Option<Stoppable<Result<(), tonic::transport::Error>>>,
    metrics: Option<Stoppable<std::io::Result<()>>>,
    console: Option<Stoppable<std::io::Result<()>>>,
}

/// What the endpoints serve.
pub(super) struct EndpointParts {
    pub health_only: HealthServer<super::health::HealthApi>,
    pub metrics_tls: Option<crate::tls::Acceptor>,
    pub metrics_handle: metrics_exporter_prometheus::PrometheusHandle,
    /// The console's approvals (a sidecar's own, or a fleet service's);
    /// `None`: no console.
    pub approvals: Option<Arc<dyn crate::approval::Reviews>>,
    pub log: Arc<AuditLog>,
    pub auth: Arc<Authenticator>,
    /// On a fleet service: the central store its console's reports read.
    pub central: Option<String>,
}

impl Endpoints {
    pub(super) fn start(
        config: &Config,
        listeners: EndpointListeners,
        parts: EndpointParts,
        stopping: &watch::Receiver<bool>,
    ) -> Result<Self, ServeError> {
        let (health, metrics_listener, admin) = listeners;
        // Health alone, in plaintext: it says SERVING or NOT_SERVING and
        // nothing else, so it may listen where the kubelet can reach it.
        let health = health.map(|listener| {
            if let Ok(addr) = listener.local_addr() {
                tracing::info!(health = %addr, "health endpoint listening (grpc.health.v1 only)");
            }
            let incoming = conn::guard(TcpIncoming::from(listener), &config.connections, conn::Listener::Health);
            let server = conn::server(&config.connections).add_service(parts.health_only);
            stoppable(move |stopped| server.serve_with_incoming_shutdown(incoming, stopped))
        });
        let metrics = metrics_listener.map(|listener| {
            if let Ok(addr) = listener.local_addr() {
                tracing::info!(metrics = %addr, "metrics endpoint listening");
            }
            if let Some(acceptor) = &parts.metrics_tls {
                acceptor.spawn_reloader(stopping.clone());
            }
            let (tls, handle) = (parts.metrics_tls, parts.metrics_handle);
            stoppable(move |stopped| metrics::serve(listener, tls, handle, stopped))
        });
        let console = match (admin, parts.approvals) {
            (Some(listener), Some(approvals)) => {
                if let Ok(addr) = listener.local_addr() {
                    tracing::info!(console = %addr, "web console listening");
                }
                let tls = if config.tls.enabled() {
                    let acceptor = crate::tls::Acceptor::metrics(&config.tls).map_err(ServeError::Security)?;
                    acceptor.spawn_reloader(stopping.clone());
                    Some(acceptor)
                } else {
                    None
                };
                let settings = crate::console::Settings {
                    console: config.console.clone(),
                    compliance: config.compliance.clone(),
                    data_dir: config.data_dir.clone(),
                    stores: crate::sink::Cursors::new(&config.data_dir, &config.sinks),
                    central: parts.central,
                    admin_addr: config.admin_addr,
                };
                let console = Arc::new(crate::console::Console::new(
                    settings,
                    approvals,
                    parts.log,
                    parts.auth,
                    stopping.clone(),
                ));
                Some(stoppable(move |stopped| crate::console::serve(listener, tls, console, stopped)))
            }
            _ => None,
        };
        Ok(Self { health, metrics, console })
    }

    /// Stops them after the gRPC drain. The health port answered
    /// NOT_SERVING through the drain and its Watch streams have ended; the
    /// console's live streams end on `stopping`: neither may hold shutdown
    /// past a few seconds, nor past `deadline`.
    pub(super) async fn stop(self, deadline: Instant) {
        let short = || deadline.min(Instant::now() + Duration::from_secs(5));
        if let Some(Stoppable { stop, mut task }) = self.health {
            let _ = stop.send(());
            if tokio::time::timeout_at(short(), &mut task).await.is_err() {
                tracing::warn!("the health endpoint did not stop in time");
                task.abort();
            }
        }
        let metrics = self.metrics.map(|Stoppable { stop, task }| {
            let _ = stop.send(());
            task
        });
        if let Some(Stoppable { stop, mut task }) = self.console {
            let _ = stop.send(());
            match tokio::time::timeout_at(short(), &mut task).await {
                Ok(Ok(Err(e))) => tracing::warn!(error = %e, "web console stopped with an error"),
                Ok(_) => {}
                Err(_) => task.abort(),
            }
        }
        if let Some(task) = metrics {
            if let Ok(Err(e)) = task.await {
                tracing::warn!(error = %e, "metrics endpoint stopped with an error");
            }
        }
    }
}

/// The shippers and witnesses: they stop only after the journal closed.
pub(super) struct Outbound {
    stop: watch::Sender<bool>,
    shippers: Vec<JoinHandle<()>>,
    witnesses: Vec<JoinHandle<()>>,
}

impl Outbound {
    pub(super) fn start(config: &Config, log: &Arc<AuditLog>) -> Result<Self, ServeError> {
        let (stop, stopped) = watch::channel(false);
        let shippers = if config.sinks.urls.is_empty() {
            Vec::new()
        } else {
            let instance =
                crate::sink::Instance { id: log.origin(), origin: log.origin(), public_key_pem: log.public_key().pem };
            let (progress, tasks) =
                crate::sink::start(log.clone(), &config.sinks, &config.data_dir, instance, stopped.clone())
                    .map_err(|e| ServeError::Task(e.to_string()))?;
            log.set_backlog(progress.subscribe(), config.sinks.max_backlog_records, config.sinks.on_backlog);
            tasks
        };
        let witnesses = crate::witness::submit::start(log.clone(), &config.audit.witnesses, &config.data_dir, stopped)
            .map_err(ServeError::Task)?;
        Ok(Self { stop, shippers, witnesses })
    }

    /// After the journal closed: shippers and witnesses get what is left of
    /// the grace period (at least a second) to catch up; whatever they could
    /// not send stays in the log and leaves after a restart.
    pub(super) async fn finish(self, deadline: Instant) {
        let _ = self.stop.send(true);
        let until = deadline.max(Instant::now() + Duration::from_secs(1));
        for task in self.shippers {
            if tokio::time::timeout_at(until, task).await.is_err() {
                tracing::warn!("a shipper did not finish within the grace period");
            }
        }
        for task in self.witnesses {
            if tokio::time::timeout_at(until, task).await.is_err() {
                tracing::warn!("a witness did not cosign the final checkpoint within the grace period");
            }
        }
    }
}

/// The health-only, metrics and console listeners, as configured.
pub(super) type EndpointListeners = (Option<TcpListener>, Option<TcpListener>, Option<TcpListener>);

impl Listeners {
    /// gRPC's listener, and the endpoints'.
    pub(super) fn split(self) -> (TcpListener, EndpointListeners) {
        (self.grpc, (self.health, self.metrics, self.admin))
    }
}
