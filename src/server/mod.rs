//! The transport: gRPC services (thin: validate, convert, call the engine,
//! convert back), health, reflection, and the Prometheus endpoint. The only
//! place that maps a domain [`Error`] to a gRPC status is [`status_from`].

pub mod approval;
pub mod audit;
mod beside;
pub mod compliance;
pub mod conn;
pub mod convert;
pub mod fleet;
pub mod health;
pub mod metrics;
pub mod observe;
pub mod risk;

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;
use tonic::{Code, Status};
use tonic_health::pb::health_server::HealthServer;
use tonic_types::{ErrorDetails, StatusExt};

use crate::config::Config;
use crate::error::Error;
use crate::proto::v1::approval_service_server::ApprovalServiceServer;
use crate::proto::v1::audit_service_server::AuditServiceServer;
use crate::proto::v1::compliance_service_server::ComplianceServiceServer;
use crate::proto::v1::risk_service_server::RiskServiceServer;
use crate::proto::FILE_DESCRIPTOR_SET;

/// Already-bound sockets, so `main` and the tests share one start-up path and
/// tests can bind port 0.
pub struct Listeners {
    pub grpc: TcpListener,
    /// `None` serves no metrics endpoint (the CLI's in-process scoring).
    pub metrics: Option<TcpListener>,
    /// A plaintext listener that serves only `grpc.health.v1` (for
    /// Kubernetes gRPC probes, which cannot speak TLS); `None`: no such port.
    pub health: Option<TcpListener>,
    /// The web console (`admin_addr`); `None`: no console.
    pub admin: Option<TcpListener>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("metrics endpoint: {0}")]
    Metrics(std::io::Error),
    #[error("server task: {0}")]
    Task(String),
    #[error("{0}")]
    Security(String),
    #[error("closing the audit journal: {0}")]
    Journal(#[from] crate::audit::AuditError),
}

/// Serves until `shutdown` resolves, then: reports NOT_SERVING (health
/// watchers see it), ends long-lived streams (`Watch`, following `Tail`,
/// health `Watch`) with UNAVAILABLE, stops accepting, lets in-flight calls
/// finish (up to `shutdown_grace_seconds`), and closes the journal so every
/// acknowledged record is on disk.
pub async fn serve(
    config: &Config,
    app: crate::App,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let crate::App { engine, audit: audit_log, approvals, auth } = app;
    let console_auth = auth.clone();
    let console_log = audit_log.clone();
    let (grpc_tls, metrics_tls) = transport_security(config, &listeners)?;
    if !auth.enabled() {
        tracing::warn!("authentication is off (no auth.tokens configured): every caller may score, read the log and decide approvals");
    }
    let metrics_handle = crate::telemetry::install();
    let (stopping_tx, stopping_rx) = tokio::sync::watch::channel(false);
    // Shippers and witnesses stop only after the log is closed, so the
    // final records and the final checkpoint reach the stores too.
    let outbound = beside::Outbound::start(config, &audit_log)?;
    let inbox = crate::fleet::inbox::Inbox::from_config(&config.fleet, audit_log.origin(), approvals.clone())
        .map_err(ServeError::Task)?;
    let health = tonic_health::server::HealthReporter::new();
    let health_service = HealthServer::new(health::HealthApi::new(health.clone(), stopping_rx.clone()));
    let health_only = health_service.clone();
    health.set_serving::<RiskServiceServer<risk::RiskApi>>().await;
    health.set_serving::<AuditServiceServer<audit::AuditApi>>().await;
    health.set_serving::<ApprovalServiceServer<approval::ApprovalApi>>().await;
    health.set_serving::<ComplianceServiceServer<compliance::ComplianceApi>>().await;

    let (reflection_v1, reflection_v1alpha) = reflection()?;

    let max_message = config.limits.max_message_bytes;
    let authenticate = authenticating(auth);
    let risk = InterceptedService::new(
        RiskServiceServer::new(risk::RiskApi::new(engine.clone()))
            .max_decoding_message_size(max_message)
            .max_encoding_message_size(max_message * 2),
        authenticate.clone(),
    );
    let compliance = InterceptedService::new(
        ComplianceServiceServer::new(compliance::ComplianceApi::new(audit_log.clone(), config))
            .max_decoding_message_size(max_message)
            .max_encoding_message_size(usize::MAX),
        authenticate.clone(),
    );
    let audit = InterceptedService::new(
        AuditServiceServer::new(audit::AuditApi::new(audit_log, config.limits.clone(), stopping_rx.clone()))
            .max_decoding_message_size(max_message),
        authenticate.clone(),
    );
    let approval = InterceptedService::new(
        ApprovalServiceServer::new(approval::ApprovalApi::new(approvals.clone(), stopping_rx.clone()))
            .max_decoding_message_size(max_message),
        authenticate,
    );
    let sweeper = approvals.spawn_sweeper(stopping_rx.clone());
    let inbox = inbox.map(|inbox| inbox.spawn(stopping_rx.clone()));
    let session_sweeper = engine.sessions().spawn_sweeper(stopping_rx.clone());
    let policy_watcher = engine
        .pipeline()
        .action_policy()
        .spawn_watcher(Duration::from_millis(config.policy_reload_interval_ms), stopping_rx.clone());

    let (grpc_listener, endpoint_listeners) = listeners.split();
    let grpc_addr = grpc_listener.local_addr().ok();
    let router = conn::server(&config.connections)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(risk)
        .add_service(audit)
        .add_service(approval)
        .add_service(compliance);
    let grpc = Grpc::start(router, grpc_listener, grpc_tls.as_ref(), config, &stopping_rx, health.clone());

    let endpoints = beside::Endpoints::start(
        config,
        endpoint_listeners,
        beside::EndpointParts {
            health_only,
            metrics_tls,
            metrics_handle,
            approvals: Some(approvals.clone() as std::sync::Arc<dyn crate::approval::Reviews>),
            log: console_log,
            auth: console_auth,
            central: None,
        },
        &stopping_rx,
    )?;
    match grpc_addr {
        Some(addr) => tracing::info!(grpc = %addr, policy = engine.policy().version(), "warden serving"),
        None => tracing::info!(policy = engine.policy().version(), "warden serving"),
    }

    let (result, deadline) = grpc
        .until_drained(shutdown, &stopping_tx, config.shutdown_grace_seconds, async {
            health.set_not_serving::<RiskServiceServer<risk::RiskApi>>().await;
            health.set_not_serving::<AuditServiceServer<audit::AuditApi>>().await;
            health.set_not_serving::<ApprovalServiceServer<approval::ApprovalApi>>().await;
            health.set_not_serving::<ComplianceServiceServer<compliance::ComplianceApi>>().await;
        })
        .await;
    endpoints.stop(deadline).await;
    sweeper.abort();
    if let Some(inbox) = inbox {
        inbox.abort();
    }
    session_sweeper.abort();
    if let Some(w) = policy_watcher {
        w.abort();
    }
    engine.journal().close()?;
    outbound.finish(deadline).await;
    tracing::info!("audit journal flushed and closed");
    result
}

/// Reflection v1 and v1alpha over Warden's and health's descriptors.
#[allow(clippy::type_complexity)]
fn reflection() -> Result<
    (
        tonic_reflection::server::v1::ServerReflectionServer<impl tonic_reflection::server::v1::ServerReflection>,
        tonic_reflection::server::v1alpha::ServerReflectionServer<
            impl tonic_reflection::server::v1alpha::ServerReflection,
        >,
    ),
    ServeError,
> {
    let v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    Ok((v1, v1alpha))
}

/// The interceptor every call of Warden's own services passes: it
/// authenticates the caller (bearer token or client certificate) and
/// attaches the [`crate::auth::Caller`].
fn authenticating(
    auth: std::sync::Arc<crate::auth::Authenticator>,
) -> impl Fn(tonic::Request<()>) -> Result<tonic::Request<()>, Status> + Clone {
    move |mut req: tonic::Request<()>| -> Result<tonic::Request<()>, Status> {
        let header = req.metadata().get("authorization").and_then(|v| v.to_str().ok());
        let certificate = req
            .peer_certs()
            .and_then(|certs| certs.first().map(|c| crate::tls::certificate_identities(c)))
            .unwrap_or_default();
        let caller = auth.authenticate(header, &certificate).map_err(status_from)?;
        req.extensions_mut().insert(caller);
        Ok(req)
    }
}

/// The gRPC server task and what stops it accepting.
pub(crate) struct Grpc {
    task: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
    stop: tokio::sync::oneshot::Sender<()>,
    health: tonic_health::server::HealthReporter,
}

impl Grpc {
    /// Serves `router` on the gRPC listener, over TLS when `tls` is given;
    /// `health` is the reporter its health service serves.
    pub(crate) fn start(
        router: conn::Router,
        listener: TcpListener,
        tls: Option<&crate::tls::Acceptor>,
        config: &Config,
        stopping: &watch::Receiver<bool>,
        health: tonic_health::server::HealthReporter,
    ) -> Self {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let stopped = async {
            let _ = stopped.await;
        };
        let task = match tls {
            Some(acceptor) => {
                acceptor.spawn_reloader(stopping.clone());
                let incoming = conn::guard(acceptor.incoming(listener), &config.connections, conn::Listener::Grpc);
                tokio::spawn(router.serve_with_incoming_shutdown(incoming, stopped))
            }
            None => {
                let incoming = conn::guard(TcpIncoming::from(listener), &config.connections, conn::Listener::Grpc);
                tokio::spawn(router.serve_with_incoming_shutdown(incoming, stopped))
            }
        };
        Self { task, stop, health }
    }

    /// Runs until `shutdown` resolves (or the server ends by itself), then
    /// drains: readiness first (the server's NOT_SERVING, then
    /// `not_serving` for each service), so probes and Watch subscribers see
    /// it before anything ends; then the streams that would never end by
    /// themselves (approval and health Watch, following Tail) end with
    /// UNAVAILABLE (`stopping` turns true), so the drain waits only for
    /// calls that finish; then no new calls, and in-flight ones get up to
    /// `grace_seconds`. Returns the server's result and the deadline every
    /// later phase of shutdown shares, so the whole stop fits in the grace
    /// (Kubernetes' terminationGracePeriodSeconds can be set from it).
    pub(crate) async fn until_drained(
        mut self,
        shutdown: impl Future<Output = ()> + Send,
        stopping: &watch::Sender<bool>,
        grace_seconds: u64,
        not_serving: impl Future<Output = ()>,
    ) -> (Result<(), ServeError>, tokio::time::Instant) {
        tokio::pin!(shutdown);
        let early = tokio::select! {
            () = &mut shutdown => None,
            r = &mut self.task => Some(r),
        };
        let until = tokio::time::Instant::now() + Duration::from_secs(grace_seconds);
        let result = match early {
            Some(r) => r.map_err(|e| ServeError::Task(e.to_string())).and_then(|r| r.map_err(ServeError::from)),
            None => {
                tracing::info!("shutting down: finishing in-flight calls");
                self.health.set_service_status("", tonic_health::ServingStatus::NotServing).await;
                not_serving.await;
                let _ = stopping.send(true);
                let _ = self.stop.send(());
                match tokio::time::timeout_at(until, &mut self.task).await {
                    Ok(Ok(r)) => r.map_err(ServeError::from),
                    Ok(Err(join)) => Err(ServeError::Task(join.to_string())),
                    Err(_) => {
                        tracing::warn!(grace_seconds, "in-flight calls did not finish in time");
                        self.task.abort();
                        Ok(())
                    }
                }
            }
        };
        // When the gRPC server failed on its own, nothing has said stop yet.
        let _ = stopping.send(true);
        (result, until)
    }
}

/// Transport security first: the TLS acceptors for gRPC and the endpoints,
/// or, without `[tls]`, a check that nothing listens in plaintext beyond
/// loopback unless the operator said so.
fn transport_security(
    config: &Config,
    listeners: &Listeners,
) -> Result<(Option<crate::tls::Acceptor>, Option<crate::tls::Acceptor>), ServeError> {
    if config.tls.enabled() {
        return Ok((
            Some(crate::tls::Acceptor::grpc(&config.tls).map_err(ServeError::Security)?),
            Some(crate::tls::Acceptor::metrics(&config.tls).map_err(ServeError::Security)?),
        ));
    }
    let metrics_addr = listeners.metrics.as_ref().and_then(|l| l.local_addr().ok());
    let admin_addr = listeners.admin.as_ref().and_then(|l| l.local_addr().ok());
    for (what, addr) in [("gRPC", listeners.grpc.local_addr().ok()), ("metrics", metrics_addr), ("console", admin_addr)]
    {
        if let Some(addr) = addr {
            crate::tls::check_plaintext(what, addr, config.allow_plaintext).map_err(ServeError::Security)?;
        }
    }
    Ok((None, None))
}

/// Returns once shutdown has begun (`stopping` turned true, or the server
/// is gone). Streams that would never end by themselves select on it.
pub(crate) async fn until_stopping(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stopping| *stopping).await;
}

/// How a long-lived stream ends when shutdown begins: UNAVAILABLE, which
/// clients retry (against another instance, or this one after a restart).
pub(crate) fn shutting_down() -> Status {
    status_from(Error::ShuttingDown)
}

/// The caller the authentication interceptor attached to a request.
pub fn caller_of<T>(request: &tonic::Request<T>) -> Result<crate::auth::Caller, Status> {
    request
        .extensions()
        .get::<crate::auth::Caller>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("no caller identity on the request"))
}

/// The one mapping from domain errors to gRPC statuses.
pub fn status_from(e: Error) -> Status {
    let message = e.to_string();
    let code = Code::from_i32(e.statuses().grpc);
    // The details a client acts on: which field, and when to retry.
    match e {
        Error::InvalidArgument { field, reason } => {
            Status::with_error_details(code, message, ErrorDetails::with_bad_request_violation(field, reason))
        }
        Error::Overloaded { .. } => {
            Status::with_error_details(code, message, ErrorDetails::with_retry_info(Some(Duration::from_millis(100))))
        }
        _ => Status::new(code, message),
    }
}

/// The `code` label value for a status: a closed set.
pub fn code_label(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::InvalidArgument => "invalid_argument",
        Code::ResourceExhausted => "resource_exhausted",
        Code::Unavailable => "unavailable",
        Code::Unimplemented => "unimplemented",
        Code::DeadlineExceeded => "deadline_exceeded",
        Code::Cancelled => "cancelled",
        Code::Unauthenticated => "unauthenticated",
        Code::PermissionDenied => "permission_denied",
        Code::NotFound => "not_found",
        Code::FailedPrecondition => "failed_precondition",
        _ => "other",
    }
}
