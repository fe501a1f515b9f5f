//! `warden fleet`: the fleet service's server. It serves the
//! ApprovalService and the web console's approval queue over every
//! instance's approvals ([`Oversight`]), the AuditService over its own log
//! (the evidence of oversight: shown, decided) and, by instance, over every
//! instance's verified central copy, the ComplianceService with fleet-wide
//! reports (every instance's verified copy), with health, reflection and
//! metrics, and ships its log like any instance, which is how its decisions
//! reach the sidecars. No RiskService: it scores nothing.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tonic::service::interceptor::InterceptedService;
use tonic_health::pb::health_server::HealthServer;

use super::{approval, audit, authenticating, beside, compliance, conn, health, reflection, transport_security};
use super::{Grpc, Listeners, ServeError};
use crate::audit::journal::AuditLog;
use crate::audit::Journal as _;
use crate::config::Config;
use crate::fleet::central::Central;
use crate::fleet::oversight::Oversight;
use crate::proto::v1::approval_service_server::ApprovalServiceServer;
use crate::proto::v1::audit_service_server::AuditServiceServer;
use crate::proto::v1::compliance_service_server::ComplianceServiceServer;

/// Serves the fleet service until `shutdown` resolves, then drains as
/// [`super::serve`] does and closes its log.
pub async fn serve_fleet(
    config: &Config,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (grpc_tls, metrics_tls) = transport_security(config, &listeners)?;
    let auth = Arc::new(crate::auth::Authenticator::from_config(&config.auth).map_err(ServeError::Security)?);
    if !auth.enabled() {
        tracing::warn!(
            "authentication is off (no auth.tokens configured): every caller may decide every instance's approvals"
        );
    }
    let central = Central::new(&config.fleet).map_err(ServeError::Task)?;
    if !config.sinks.urls.iter().any(|u| u.starts_with("nats://")) {
        return Err(ServeError::Task(
            "a fleet service needs a nats:// store in sinks.urls: its decisions reach the instances through it".into(),
        ));
    }
    let log = Arc::new(AuditLog::open(&config.data_dir, &config.audit)?);
    let key = crate::fleet::decision::load_or_create_key(&crate::fleet::decision::key_path(
        &config.data_dir,
        config.fleet.decision_signing_key_file.as_deref(),
    ))?;
    let oversight = Arc::new(Oversight::new(log.clone(), key)?);
    let metrics_handle = crate::telemetry::install();
    let (stopping_tx, stopping_rx) = tokio::sync::watch::channel(false);
    let outbound = beside::Outbound::start(config, &log)?;
    let reader =
        oversight.spawn_reader(central, Duration::from_millis(config.fleet.poll_interval_ms), stopping_rx.clone());

    let health = tonic_health::server::HealthReporter::new();
    let health_service = HealthServer::new(health::HealthApi::new(health.clone(), stopping_rx.clone()));
    let health_only = health_service.clone();
    health.set_serving::<ApprovalServiceServer<approval::ApprovalApi>>().await;
    health.set_serving::<AuditServiceServer<audit::AuditApi>>().await;
    health.set_serving::<ComplianceServiceServer<compliance::ComplianceApi>>().await;
    let (reflection_v1, reflection_v1alpha) = reflection()?;
    let max_message = config.limits.max_message_bytes;
    let authenticate = authenticating(auth.clone());
    let approvals = InterceptedService::new(
        ApprovalServiceServer::new(approval::ApprovalApi::new(oversight.clone(), stopping_rx.clone()))
            .max_decoding_message_size(max_message),
        authenticate.clone(),
    );
    let audit_service = InterceptedService::new(
        AuditServiceServer::new(
            audit::AuditApi::new(log.clone(), config.limits.clone(), stopping_rx.clone())
                .fleet(crate::fleet::logs::FleetLogs::new(&config.fleet.central)),
        )
        .max_decoding_message_size(max_message),
        authenticate.clone(),
    );
    let compliance_service = InterceptedService::new(
        ComplianceServiceServer::new(compliance::ComplianceApi::fleet(log.clone(), config))
            .max_decoding_message_size(max_message)
            .max_encoding_message_size(usize::MAX),
        authenticate,
    );
    let (grpc_listener, endpoint_listeners) = listeners.split();
    let grpc_addr = grpc_listener.local_addr().ok();
    let router = conn::server(&config.connections)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(approvals)
        .add_service(audit_service)
        .add_service(compliance_service);
    let grpc = Grpc::start(router, grpc_listener, grpc_tls.as_ref(), config, &stopping_rx, health.clone());
    let endpoints = beside::Endpoints::start(
        config,
        endpoint_listeners,
        beside::EndpointParts {
            health_only,
            metrics_tls,
            metrics_handle,
            approvals: Some(oversight.clone() as Arc<dyn crate::approval::Reviews>),
            log: log.clone(),
            auth,
            central: Some(config.fleet.central.clone()),
        },
        &stopping_rx,
    )?;
    match grpc_addr {
        Some(addr) => tracing::info!(grpc = %addr, origin = %log.origin(), "warden fleet service serving"),
        None => tracing::info!(origin = %log.origin(), "warden fleet service serving"),
    }

    let (result, deadline) = grpc
        .until_drained(shutdown, &stopping_tx, config.shutdown_grace_seconds, async {
            health.set_not_serving::<ApprovalServiceServer<approval::ApprovalApi>>().await;
            health.set_not_serving::<AuditServiceServer<audit::AuditApi>>().await;
            health.set_not_serving::<ComplianceServiceServer<compliance::ComplianceApi>>().await;
        })
        .await;
    endpoints.stop(deadline).await;
    reader.abort();
    log.close()?;
    outbound.finish(deadline).await;
    tracing::info!("fleet log flushed and closed");
    result
}
