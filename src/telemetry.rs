//! Every metric Warden exports, declared in one place with its unit and
//! description, and the tracing set-up.
//!
//! Names follow `warden_<what>_<unit>`. Label values come only from closed
//! sets (RPC names, decisions, detector names, category families, gRPC
//! codes); user text, tenant ids and other unbounded values never become
//! labels.
//!
//! The `metrics` facade routes to one process-wide recorder; [`install`]
//! installs the Prometheus recorder once and hands out its handle, so several
//! in-process servers (as in the tests) share it.
//!
//! Beside Warden's own, two families follow the names the stock dashboards
//! read: `grpc_server_*` for every RPC of every service (counted by
//! `server::observe`, labelled as go-grpc-middleware labels them) and
//! `process_*` (memory, CPU, descriptors, threads; read from `/proc` at
//! every scrape). [`otel`] sets up logs and spans.

pub mod otel;

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const REQUESTS_TOTAL: &str = "warden_requests_total";
pub const REQUEST_DURATION_SECONDS: &str = "warden_request_duration_seconds";
pub const DECISIONS_TOTAL: &str = "warden_decisions_total";
pub const REJECTED_REQUESTS_TOTAL: &str = "warden_rejected_requests_total";
pub const IN_FLIGHT_REQUESTS: &str = "warden_in_flight_requests";
pub const DETECTOR_DURATION_SECONDS: &str = "warden_detector_duration_seconds";
pub const DETECTOR_SKIPPED_TOTAL: &str = "warden_detector_skipped_total";
pub const FINDINGS_TOTAL: &str = "warden_findings_total";
pub const AUDIT_APPENDS_TOTAL: &str = "warden_audit_appends_total";
pub const AUDIT_APPEND_FAILURES_TOTAL: &str = "warden_audit_append_failures_total";
pub const AUDIT_APPEND_DURATION_SECONDS: &str = "warden_audit_append_duration_seconds";
pub const AUDIT_FSYNC_BATCH_RECORDS: &str = "warden_audit_fsync_batch_records";
pub const AUDIT_CHECKPOINTS_TOTAL: &str = "warden_audit_checkpoints_total";
pub const BUILD_INFO: &str = "warden_build_info";
pub const SINK_SHIPPED_RECORDS_TOTAL: &str = "warden_sink_shipped_records_total";
pub const SINK_SHIP_DURATION_SECONDS: &str = "warden_sink_ship_duration_seconds";
pub const SINK_LAG_RECORDS: &str = "warden_sink_lag_records";
pub const SINK_LAG_SECONDS: &str = "warden_sink_lag_seconds";
pub const SINK_RETRIES_TOTAL: &str = "warden_sink_retries_total";
pub const SINK_ERRORS_TOTAL: &str = "warden_sink_errors_total";
pub const SINK_BACKLOG_RECORDS: &str = "warden_sink_backlog_records";
pub const SINK_QUARANTINED_RECORDS_TOTAL: &str = "warden_sink_quarantined_records_total";
pub const WITNESS_COSIGNATURES_TOTAL: &str = "warden_witness_cosignatures_total";
pub const WITNESS_REFUSALS_TOTAL: &str = "warden_witness_refusals_total";
pub const WITNESS_COSIGNED_RECORDS: &str = "warden_witness_cosigned_records";
pub const POLICY_RELOADS_TOTAL: &str = "warden_policy_reloads_total";
pub const SESSIONS_TRACKED: &str = "warden_sessions_tracked";
pub const APPROVALS_PENDING: &str = "warden_approvals_pending";
pub const FLEET_DELIVERIES_TOTAL: &str = "warden_fleet_deliveries_total";
pub const FLEET_APPROVALS_PENDING: &str = "warden_fleet_approvals_pending";
pub const FLEET_DECISIONS_TOTAL: &str = "warden_fleet_decisions_total";
pub const FLEET_CENTRAL_READ_SECONDS: &str = "warden_fleet_central_read_seconds";
pub const APPROVALS_TOTAL: &str = "warden_approvals_total";
pub const APPROVAL_DECISION_SECONDS: &str = "warden_approval_decision_seconds";
pub const AUTH_FAILURES_TOTAL: &str = "warden_auth_failures_total";
pub const MODEL_BATCH_WINDOWS: &str = "warden_model_batch_windows";
pub const TLS_RELOADS_TOTAL: &str = "warden_tls_reloads_total";
pub const TLS_HANDSHAKE_FAILURES_TOTAL: &str = "warden_tls_handshake_failures_total";
pub const IDLE_CONNECTIONS_CLOSED_TOTAL: &str = "warden_idle_connections_closed_total";
pub const MODEL_INFERENCE_SECONDS: &str = "warden_model_inference_seconds";
pub const MODEL_QUEUE_WAIT_SECONDS: &str = "warden_model_queue_wait_seconds";
pub const MODEL_ABANDONED_WINDOWS_TOTAL: &str = "warden_model_abandoned_windows_total";
pub const MODEL_CACHE_LOOKUPS_TOTAL: &str = "warden_model_cache_lookups_total";
pub const MODEL_CASCADE_TOTAL: &str = "warden_model_cascade_total";
pub const REPORTS_TOTAL: &str = "warden_reports_total";
pub const REPORT_DURATION_SECONDS: &str = "warden_report_duration_seconds";
pub const INCIDENT_STEPS_TOTAL: &str = "warden_incident_steps_total";
pub const CONSOLE_ACTIONS_TOTAL: &str = "warden_console_actions_total";
pub const GRPC_SERVER_STARTED_TOTAL: &str = "grpc_server_started_total";
pub const GRPC_SERVER_HANDLED_TOTAL: &str = "grpc_server_handled_total";
pub const GRPC_SERVER_HANDLING_SECONDS: &str = "grpc_server_handling_seconds";
pub const GRPC_SERVER_MSG_RECEIVED_TOTAL: &str = "grpc_server_msg_received_total";
pub const GRPC_SERVER_MSG_SENT_TOTAL: &str = "grpc_server_msg_sent_total";

/// Latency buckets from 50 µs (a short rule-only call) to 10 s.
const LATENCY_BUCKETS: &[f64] =
    &[0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// Installs the Prometheus recorder (once per process) and returns its handle.
pub fn install() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full(AUDIT_FSYNC_BATCH_RECORDS.into()), BATCH_BUCKETS))
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full(MODEL_BATCH_WINDOWS.into()), BATCH_BUCKETS))
                .expect("static bucket lists are non-empty")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed by an embedding
            // application; then ours still renders what it was given.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            process_collector().describe();
            register_at_zero();
            gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            handle
        })
        .clone()
}

/// Counters that count rare events exist at 0 from start, so that
/// `increase(...) > 0` alerts see their first event. Those whose label sets
/// depend on the configuration are registered where it is known
/// ([`detectors_started`], [`sink_started`]). `increment(0)` adds nothing to
/// a series another in-process server already counted.
fn register_at_zero() {
    counter!(AUDIT_APPENDS_TOTAL).increment(0);
    counter!(AUDIT_APPEND_FAILURES_TOTAL).increment(0);
    counter!(AUDIT_CHECKPOINTS_TOTAL).increment(0);
    counter!(MODEL_ABANDONED_WINDOWS_TOTAL).increment(0);
    counter!(TLS_HANDSHAKE_FAILURES_TOTAL).increment(0);
    for listener in ["grpc", "health"] {
        counter!(IDLE_CONNECTIONS_CLOSED_TOTAL, "listener" => listener).increment(0);
    }
    for outcome in ["requested", "approved", "denied", "expired", "vote"] {
        counter!(APPROVALS_TOTAL, "outcome" => outcome).increment(0);
    }
    for reason in ["unauthenticated", "permission_denied"] {
        counter!(AUTH_FAILURES_TOTAL, "reason" => reason).increment(0);
    }
    // WardenOverloaded rates these: a first burst of refusals must show.
    for rpc in ["ScoreInput", "ScoreOutput", "ScoreAction"] {
        for reason in REJECTION_REASONS {
            counter!(REJECTED_REQUESTS_TOTAL, "rpc" => rpc, "reason" => *reason).increment(0);
        }
    }
    for result in ["ok", "rejected"] {
        counter!(POLICY_RELOADS_TOTAL, "result" => result).increment(0);
        counter!(TLS_RELOADS_TOTAL, "result" => result).increment(0);
    }
}

/// Registers `warden_detector_skipped_total` at 0 for every detector and
/// reason.
pub fn detectors_started(detectors: &[&'static str], reasons: &[&'static str]) {
    for &detector in detectors {
        for &reason in reasons {
            counter!(DETECTOR_SKIPPED_TOTAL, "detector" => detector, "reason" => reason).increment(0);
        }
    }
}

/// Registers a configured sink's series at 0: shipped, retries, errors by
/// kind, quarantined, and its lag gauges.
/// A witness's series, at 0 before its first answer. `witness` is its
/// configured name (from its verifier key).
pub fn witness_started(witness: &str) {
    counter!(WITNESS_COSIGNATURES_TOTAL, "witness" => witness.to_string()).increment(0);
    for reason in WITNESS_REFUSAL_REASONS {
        counter!(WITNESS_REFUSALS_TOTAL, "witness" => witness.to_string(), "reason" => *reason).increment(0);
    }
}

/// Why a witness did not cosign: `inconsistent` (422) and `rolled_back` (it
/// cosigned a larger tree than the log holds) mean the log's history
/// changed; the others are transport or configuration.
pub const WITNESS_REFUSAL_REASONS: &[&str] = &["inconsistent", "rolled_back", "forbidden", "unreachable", "other"];

pub fn witness_cosigned(witness: &str, size: u64) {
    counter!(WITNESS_COSIGNATURES_TOTAL, "witness" => witness.to_string()).increment(1);
    gauge!(WITNESS_COSIGNED_RECORDS, "witness" => witness.to_string()).set(size as f64);
}

pub fn witness_refused(witness: &str, reason: &'static str) {
    counter!(WITNESS_REFUSALS_TOTAL, "witness" => witness.to_string(), "reason" => reason).increment(1);
}

pub fn sink_started(sink: &'static str, error_kinds: &[&'static str]) {
    counter!(SINK_SHIPPED_RECORDS_TOTAL, "sink" => sink).increment(0);
    counter!(SINK_RETRIES_TOTAL, "sink" => sink).increment(0);
    counter!(SINK_QUARANTINED_RECORDS_TOTAL, "sink" => sink).increment(0);
    for &kind in error_kinds {
        counter!(SINK_ERRORS_TOTAL, "sink" => sink, "kind" => kind).increment(0);
    }
}

fn describe() {
    describe_counter!(REPORTS_TOTAL, Unit::Count, "Compliance reports generated, by framework.");
    describe_histogram!(
        REPORT_DURATION_SECONDS,
        Unit::Seconds,
        "Time to generate a compliance report (read the period, compute, render, record), by framework."
    );
    describe_counter!(INCIDENT_STEPS_TOTAL, Unit::Count, "Incident steps recorded, by severity and event.");
    describe_counter!(
        CONSOLE_ACTIONS_TOTAL,
        Unit::Count,
        "Web console actions recorded, by action and outcome (ok or refused)."
    );
    describe_counter!(
        TLS_RELOADS_TOTAL,
        Unit::Count,
        "Certificate reloads after the files changed, by result (ok, rejected: the previous ones stayed)."
    );
    describe_counter!(TLS_HANDSHAKE_FAILURES_TOTAL, Unit::Count, "TLS handshakes that failed or timed out.");
    describe_histogram!(
        MODEL_BATCH_WINDOWS,
        Unit::Count,
        "Windows a model worker took from the queue for one batch (micro-batching across requests)."
    );
    describe_histogram!(
        MODEL_INFERENCE_SECONDS,
        Unit::Seconds,
        "Time of one encoder run over a group of windows of similar length."
    );
    describe_histogram!(MODEL_QUEUE_WAIT_SECONDS, Unit::Seconds, "Time a window waited for a model worker.");
    describe_counter!(
        MODEL_ABANDONED_WINDOWS_TOTAL,
        Unit::Count,
        "Windows dropped before the encoder because their request was already answered without the model or cancelled."
    );
    describe_counter!(
        MODEL_CACHE_LOOKUPS_TOTAL,
        Unit::Count,
        "Texts looked up in the model's content-hash cache, by result (hit, miss)."
    );
    describe_counter!(
        MODEL_CASCADE_TOTAL,
        Unit::Count,
        "Texts by cascade outcome: model (the encoder ran) or rules_decided (rules were confident; encoder skipped)."
    );
    describe_counter!(
        POLICY_RELOADS_TOTAL,
        Unit::Count,
        "Action policy reloads, by result (ok, rejected: the old policy stayed)."
    );
    describe_gauge!(SESSIONS_TRACKED, Unit::Count, "Sessions whose context is held in memory.");
    describe_gauge!(APPROVALS_PENDING, Unit::Count, "Approvals waiting for a reviewer.");
    describe_counter!(
        FLEET_DELIVERIES_TOTAL,
        Unit::Count,
        "Decisions a fleet service delivered to this instance, by outcome (applied, refused, repeat, forged)."
    );
    describe_gauge!(
        FLEET_APPROVALS_PENDING,
        Unit::Count,
        "Approvals of every instance waiting for a reviewer (fleet service)."
    );
    describe_counter!(FLEET_DECISIONS_TOTAL, Unit::Count, "Decisions recorded by a fleet service, by outcome.");
    describe_histogram!(
        FLEET_CENTRAL_READ_SECONDS,
        Unit::Seconds,
        "Time to read new approval records of every instance from the central store (fleet service)."
    );
    describe_counter!(
        APPROVALS_TOTAL,
        Unit::Count,
        "Approval steps, by outcome (requested, approved, denied, expired, vote)."
    );
    describe_histogram!(
        APPROVAL_DECISION_SECONDS,
        Unit::Seconds,
        "Time from an approval request to its decision or expiry, by outcome."
    );
    describe_counter!(
        AUTH_FAILURES_TOTAL,
        Unit::Count,
        "Calls refused by authentication or authorisation, by reason (unauthenticated, permission_denied)."
    );
    describe_counter!(REQUESTS_TOTAL, Unit::Count, "Score calls answered, by rpc and gRPC status code.");
    describe_histogram!(REQUEST_DURATION_SECONDS, Unit::Seconds, "Time to answer a Score call, by rpc.");
    describe_counter!(DECISIONS_TOTAL, Unit::Count, "Decisions returned, by rpc and decision.");
    describe_counter!(
        REJECTED_REQUESTS_TOTAL,
        Unit::Count,
        "Calls refused before scoring, by rpc and reason (invalid_argument, overloaded, shutting_down)."
    );
    describe_gauge!(IN_FLIGHT_REQUESTS, Unit::Count, "Score calls being processed now.");
    describe_histogram!(
        DETECTOR_DURATION_SECONDS,
        Unit::Seconds,
        "Time one detector took over all sources of one request, by detector."
    );
    describe_counter!(
        DETECTOR_SKIPPED_TOTAL,
        Unit::Count,
        "Detectors that could not run on a request, by detector and reason."
    );
    describe_counter!(
        FINDINGS_TOTAL,
        Unit::Count,
        "Findings reported, by category family (pii, secret, prompt_injection, ...)."
    );
    describe_counter!(AUDIT_APPENDS_TOTAL, Unit::Count, "Audit records made durable.");
    describe_counter!(
        AUDIT_APPEND_FAILURES_TOTAL,
        Unit::Count,
        "Audit appends that failed (the call was answered with an error)."
    );
    describe_histogram!(AUDIT_APPEND_DURATION_SECONDS, Unit::Seconds, "Time from append to durable acknowledgement.");
    describe_histogram!(AUDIT_FSYNC_BATCH_RECORDS, Unit::Count, "Records made durable by one fsync (group commit).");
    describe_counter!(AUDIT_CHECKPOINTS_TOTAL, Unit::Count, "Signed checkpoints issued.");
    describe_counter!(
        SINK_SHIPPED_RECORDS_TOTAL,
        Unit::Count,
        "Audit records a downstream store acknowledged, by sink."
    );
    describe_histogram!(SINK_SHIP_DURATION_SECONDS, Unit::Seconds, "Time to ship one batch, by sink.");
    describe_counter!(
        WITNESS_COSIGNATURES_TOTAL,
        Unit::Count,
        "Checkpoints a witness cosigned after checking them consistent with the last it saw, by witness."
    );
    describe_counter!(
        WITNESS_REFUSALS_TOTAL,
        Unit::Count,
        "Checkpoints a witness did not cosign, by witness and reason (inconsistent, rolled_back, forbidden, unreachable, other)."
    );
    describe_gauge!(
        WITNESS_COSIGNED_RECORDS,
        Unit::Count,
        "Tree size of the newest checkpoint a witness cosigned, by witness."
    );
    describe_gauge!(SINK_LAG_RECORDS, Unit::Count, "Records in the local log not yet in the store, by sink.");
    describe_gauge!(SINK_LAG_SECONDS, Unit::Seconds, "Age of the oldest record not yet in the store, by sink.");
    describe_counter!(SINK_RETRIES_TOTAL, Unit::Count, "Shipping retries after a failure, by sink.");
    describe_counter!(
        SINK_ERRORS_TOTAL,
        Unit::Count,
        "Shipping failures, by sink and kind (connect, store, local, config, rejected)."
    );
    describe_gauge!(
        SINK_BACKLOG_RECORDS,
        Unit::Count,
        "Records the slowest store is behind (the log's head less the lowest cursor), updated on every append."
    );
    describe_counter!(
        SINK_QUARANTINED_RECORDS_TOTAL,
        Unit::Count,
        "Records a store refused for their content, quarantined (kept in the local log, listed) so shipping goes on, by sink."
    );
    describe_counter!(
        IDLE_CONNECTIONS_CLOSED_TOTAL,
        Unit::Count,
        "Connections closed because nothing arrived from the peer within connections.idle_timeout_seconds, by listener (grpc, health)."
    );
    describe_gauge!(BUILD_INFO, Unit::Count, "Always 1; the version label names the running build.");
    describe_counter!(
        GRPC_SERVER_STARTED_TOTAL,
        Unit::Count,
        "gRPC calls started, by grpc_type, grpc_service and grpc_method (every service, health and reflection included)."
    );
    describe_counter!(
        GRPC_SERVER_HANDLED_TOTAL,
        Unit::Count,
        "gRPC calls ended, by grpc_type, grpc_service, grpc_method and grpc_code (OK, InvalidArgument, ...; Canceled when the client went away)."
    );
    describe_histogram!(
        GRPC_SERVER_HANDLING_SECONDS,
        Unit::Seconds,
        "Time from a gRPC call's arrival to its status (a stream's last message), by grpc_type, grpc_service and grpc_method."
    );
    describe_counter!(
        GRPC_SERVER_MSG_RECEIVED_TOTAL,
        Unit::Count,
        "gRPC messages received from clients (a unary call's request is one; each message of a client stream counts), by grpc_type, grpc_service and grpc_method."
    );
    describe_counter!(
        GRPC_SERVER_MSG_SENT_TOTAL,
        Unit::Count,
        "gRPC messages sent to clients (a unary call's answer is one; each message of a server stream counts), by grpc_type, grpc_service and grpc_method."
    );
}

pub fn request_finished(rpc: &'static str, code: &'static str, elapsed: Duration) {
    counter!(REQUESTS_TOTAL, "rpc" => rpc, "code" => code).increment(1);
    histogram!(REQUEST_DURATION_SECONDS, "rpc" => rpc).record(elapsed.as_secs_f64());
}

pub fn decision(rpc: &'static str, decision: &'static str) {
    counter!(DECISIONS_TOTAL, "rpc" => rpc, "decision" => decision).increment(1);
}

/// Why a Score call was refused before it was scored.
pub const REJECTION_REASONS: &[&str] =
    &["invalid_argument", "overloaded", "shutting_down", "unauthenticated", "permission_denied"];

pub fn rejected(rpc: &'static str, reason: &'static str) {
    counter!(REJECTED_REQUESTS_TOTAL, "rpc" => rpc, "reason" => reason).increment(1);
}

pub fn in_flight(delta: f64) {
    gauge!(IN_FLIGHT_REQUESTS).increment(delta);
}

pub fn detector_duration(detector: &'static str, elapsed: Duration) {
    histogram!(DETECTOR_DURATION_SECONDS, "detector" => detector).record(elapsed.as_secs_f64());
}

pub fn detector_skipped(detector: &'static str, reason: &'static str) {
    tracing::warn!(detector, reason, "detector skipped");
    counter!(DETECTOR_SKIPPED_TOTAL, "detector" => detector, "reason" => reason).increment(1);
}

/// Counts a finding under its family, a closed set: the part of the
/// category before the first dot, mapped onto the contract's families.
pub fn finding(category: &str) {
    let family = match category.split('.').next().unwrap_or("") {
        "prompt_injection" => "prompt_injection",
        "jailbreak" => "jailbreak",
        "pii" => "pii",
        "secret" => "secret",
        "topic" => "topic",
        "toxicity" => "toxicity",
        "system_prompt_leak" => "system_prompt_leak",
        "ungrounded" => "ungrounded",
        "policy" => "policy",
        "action" => "action",
        _ => "other",
    };
    counter!(FINDINGS_TOTAL, "family" => family).increment(1);
}

pub fn audit_appended(elapsed: Duration) {
    counter!(AUDIT_APPENDS_TOTAL).increment(1);
    histogram!(AUDIT_APPEND_DURATION_SECONDS).record(elapsed.as_secs_f64());
}

pub fn audit_failed() {
    counter!(AUDIT_APPEND_FAILURES_TOTAL).increment(1);
}

pub fn audit_checkpoint() {
    counter!(AUDIT_CHECKPOINTS_TOTAL).increment(1);
}

pub fn audit_batch(records: usize) {
    histogram!(AUDIT_FSYNC_BATCH_RECORDS).record(records as f64);
}

pub fn sink_shipped(sink: &'static str, records: usize, elapsed: Duration) {
    counter!(SINK_SHIPPED_RECORDS_TOTAL, "sink" => sink).increment(records as u64);
    histogram!(SINK_SHIP_DURATION_SECONDS, "sink" => sink).record(elapsed.as_secs_f64());
}

pub fn sink_lag(sink: &'static str, records: u64, seconds: f64) {
    gauge!(SINK_LAG_RECORDS, "sink" => sink).set(records as f64);
    gauge!(SINK_LAG_SECONDS, "sink" => sink).set(seconds);
}

pub fn sink_retry(sink: &'static str) {
    counter!(SINK_RETRIES_TOTAL, "sink" => sink).increment(1);
}

pub fn sink_error(sink: &'static str, kind: &'static str) {
    counter!(SINK_ERRORS_TOTAL, "sink" => sink, "kind" => kind).increment(1);
}

pub fn sink_quarantined(sink: &'static str) {
    counter!(SINK_QUARANTINED_RECORDS_TOTAL, "sink" => sink).increment(1);
}

pub fn sink_backlog(records: u64) {
    gauge!(SINK_BACKLOG_RECORDS).set(records as f64);
}

/// Logs to stderr (`RUST_LOG` filters, default `default_filter`;
/// `WARDEN_LOG_FORMAT` text or json) and spans to an OTLP collector when
/// `OTEL_*` says so; see [`otel`]. Keep the result until the process ends.
pub fn init_tracing(default_filter: &str) -> otel::Tracing {
    otel::init(default_filter)
}

/// The process metrics (`process_resident_memory_bytes`,
/// `process_cpu_seconds_total`, `process_open_fds`, ...), read now.
pub fn collect_process() {
    process_collector().collect();
}

fn process_collector() -> &'static metrics_process::Collector {
    static COLLECTOR: OnceLock<metrics_process::Collector> = OnceLock::new();
    COLLECTOR.get_or_init(metrics_process::Collector::default)
}

/// A gRPC call began; labels as go-grpc-middleware's: `grpc_type` (unary,
/// client_stream, server_stream, bidi_stream), `grpc_service` (full name),
/// `grpc_method`. Only methods Warden serves become label values.
pub fn grpc_started(kind: &'static str, service: &'static str, method: &'static str) {
    counter!(GRPC_SERVER_STARTED_TOTAL, "grpc_type" => kind, "grpc_service" => service, "grpc_method" => method)
        .increment(1);
}

/// A gRPC call ended (its status sent, or the client gone: `Canceled`) after
/// `elapsed`; for a stream, the time until its last message.
pub fn grpc_handled(
    kind: &'static str,
    service: &'static str,
    method: &'static str,
    code: &'static str,
    elapsed: Duration,
) {
    counter!(
        GRPC_SERVER_HANDLED_TOTAL,
        "grpc_type" => kind, "grpc_service" => service, "grpc_method" => method, "grpc_code" => code
    )
    .increment(1);
    histogram!(GRPC_SERVER_HANDLING_SECONDS, "grpc_type" => kind, "grpc_service" => service, "grpc_method" => method)
        .record(elapsed.as_secs_f64());
}

/// The message counters of one call (received, sent), looked up once for
/// the call and incremented as its messages pass.
pub fn grpc_messages(
    kind: &'static str,
    service: &'static str,
    method: &'static str,
) -> (metrics::Counter, metrics::Counter) {
    (
        counter!(GRPC_SERVER_MSG_RECEIVED_TOTAL, "grpc_type" => kind, "grpc_service" => service, "grpc_method" => method),
        counter!(GRPC_SERVER_MSG_SENT_TOTAL, "grpc_type" => kind, "grpc_service" => service, "grpc_method" => method),
    )
}

/// Every method's started and OK-handled series at 0, so that the first
/// call shows in `rate()` and `increase()`.
pub fn grpc_methods_started(methods: impl Iterator<Item = (&'static str, &'static str, &'static str)>) {
    for (kind, service, method) in methods {
        counter!(GRPC_SERVER_STARTED_TOTAL, "grpc_type" => kind, "grpc_service" => service, "grpc_method" => method)
            .increment(0);
        counter!(
            GRPC_SERVER_HANDLED_TOTAL,
            "grpc_type" => kind, "grpc_service" => service, "grpc_method" => method, "grpc_code" => "OK"
        )
        .increment(0);
        let (received, sent) = grpc_messages(kind, service, method);
        received.increment(0);
        sent.increment(0);
    }
}

pub fn policy_reload(result: &'static str) {
    counter!(POLICY_RELOADS_TOTAL, "result" => result).increment(1);
}

pub fn sessions_tracked(n: usize) {
    gauge!(SESSIONS_TRACKED).set(n as f64);
}

pub fn approvals_pending(n: usize) {
    gauge!(APPROVALS_PENDING).set(n as f64);
}

pub fn fleet_delivery(outcome: &'static str) {
    counter!(FLEET_DELIVERIES_TOTAL, "outcome" => outcome).increment(1);
}

pub fn fleet_approvals_pending(n: usize) {
    gauge!(FLEET_APPROVALS_PENDING).set(n as f64);
}

pub fn fleet_decision(outcome: &'static str) {
    counter!(FLEET_DECISIONS_TOTAL, "outcome" => outcome).increment(1);
}

pub fn fleet_central_read(elapsed: Duration) {
    histogram!(FLEET_CENTRAL_READ_SECONDS).record(elapsed.as_secs_f64());
}

pub fn report_generated(framework: &'static str, elapsed: Duration) {
    counter!(REPORTS_TOTAL, "framework" => framework).increment(1);
    histogram!(REPORT_DURATION_SECONDS, "framework" => framework).record(elapsed.as_secs_f64());
}

pub fn incident_step(severity: &'static str, event: &'static str) {
    counter!(INCIDENT_STEPS_TOTAL, "severity" => severity, "event" => event).increment(1);
}

pub fn console_action(action: &'static str, refused: bool) {
    counter!(CONSOLE_ACTIONS_TOTAL, "action" => action, "outcome" => if refused { "refused" } else { "ok" })
        .increment(1);
}

pub fn approval_step(outcome: &'static str) {
    counter!(APPROVALS_TOTAL, "outcome" => outcome).increment(1);
}

pub fn approval_decided(outcome: &'static str, elapsed: Duration) {
    histogram!(APPROVAL_DECISION_SECONDS, "outcome" => outcome).record(elapsed.as_secs_f64());
}

pub fn auth_failure(reason: &'static str) {
    counter!(AUTH_FAILURES_TOTAL, "reason" => reason).increment(1);
}

pub fn model_batch(windows: usize) {
    histogram!(MODEL_BATCH_WINDOWS).record(windows as f64);
}

pub fn model_inference(elapsed: Duration) {
    histogram!(MODEL_INFERENCE_SECONDS).record(elapsed.as_secs_f64());
}

pub fn model_abandoned(windows: usize) {
    counter!(MODEL_ABANDONED_WINDOWS_TOTAL).increment(windows as u64);
}

pub fn model_queue_wait(waited: Duration) {
    histogram!(MODEL_QUEUE_WAIT_SECONDS).record(waited.as_secs_f64());
}

pub fn model_cache(hit: bool) {
    counter!(MODEL_CACHE_LOOKUPS_TOTAL, "result" => if hit { "hit" } else { "miss" }).increment(1);
}

pub fn model_cascade(outcome: &'static str) {
    counter!(MODEL_CASCADE_TOTAL, "outcome" => outcome).increment(1);
}

pub fn tls_reload(result: &'static str) {
    counter!(TLS_RELOADS_TOTAL, "result" => result).increment(1);
}

pub fn tls_handshake_failure() {
    counter!(TLS_HANDSHAKE_FAILURES_TOTAL).increment(1);
}

pub fn idle_connection_closed(listener: &'static str) {
    counter!(IDLE_CONNECTIONS_CLOSED_TOTAL, "listener" => listener).increment(1);
}
