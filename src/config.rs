//! Configuration, loaded once at start-up and passed explicitly.
//!
//! Layers, lowest first (the contract's order): built-in defaults, `WARDEN_*`
//! environment variables (nested keys joined with `__`, e.g.
//! `WARDEN_LIMITS__MAX_TEXT_BYTES=65536`), the TOML config file, command-line
//! flags. The result is validated before anything starts.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

// Each module owns its configuration; `Config` gathers them (and they stay
// reachable here under their old paths).
pub use crate::approval::ApprovalConfig;
pub use crate::audit::BacklogMode;
pub use crate::audit::{AuditConfig, WitnessTarget};
pub use crate::auth::{AuthConfig, CertificateConfig, TokenConfig};
pub use crate::detect::DetectorConfig;
pub use crate::limits::Limits;
pub use crate::sink::SinkConfig;
pub use crate::tls::ConnectionConfig;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address of the gRPC server (RiskService, AuditService, ApprovalService,
    /// health, reflection). A sidecar's app reaches it on localhost.
    pub grpc_addr: SocketAddr,
    /// Address of the Prometheus `/metrics` endpoint.
    pub metrics_addr: SocketAddr,
    /// TLS for gRPC and metrics (`[tls]`); off unless `tls.cert_file` is set.
    pub tls: crate::tls::TlsConfig,
    /// A plaintext port serving only `grpc.health.v1` (Kubernetes gRPC
    /// probes cannot use TLS); none by default.
    pub health_addr: Option<SocketAddr>,
    /// The reviewer and investigator web console; off when absent. Uses
    /// `[tls]` when configured; plaintext only on loopback unless
    /// `allow_plaintext`.
    pub admin_addr: Option<SocketAddr>,
    pub console: crate::console::ConsoleConfig,
    /// Serve plaintext on a non-loopback address (`--allow-plaintext`).
    /// Without TLS, Warden otherwise refuses to listen beyond loopback.
    pub allow_plaintext: bool,
    /// Where the audit journal lives. Mount a volume here in Kubernetes.
    pub data_dir: PathBuf,
    /// Risk policy file; the embedded default policy when absent.
    pub policy_file: Option<PathBuf>,
    /// Directory of action policy files (`*.rego`, `*.json`) added to the
    /// embedded `policy/action.rego`; watched and hot-reloaded.
    pub action_policy_dir: Option<PathBuf>,
    /// How often the action policy directory is checked for changes.
    pub policy_reload_interval_ms: u64,
    /// Custom content policies (`policy.<name>` findings), TOML; none when
    /// absent.
    pub content_policy_file: Option<PathBuf>,
    pub sessions: crate::session::SessionConfig,
    pub approvals: ApprovalConfig,
    pub auth: AuthConfig,
    pub limits: Limits,
    /// Keepalive and idle bounds on gRPC and health connections.
    pub connections: ConnectionConfig,
    pub detectors: DetectorConfig,
    /// The ONNX classifiers (`[model]`).
    pub model: crate::model::ModelConfig,
    /// ScoreOutput's checks (`[output]`): grounding, leaks, canaries.
    pub output: crate::output::OutputConfig,
    pub audit: AuditConfig,
    pub sinks: SinkConfig,
    /// One oversight for many sidecars (see [`crate::fleet`]).
    pub fleet: crate::fleet::FleetConfig,
    /// Compliance reports.
    pub compliance: crate::compliance::ComplianceConfig,
    /// How long shutdown waits for in-flight calls before giving up on them.
    pub shutdown_grace_seconds: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            grpc_addr: "127.0.0.1:50051".parse().expect("static address"),
            metrics_addr: "127.0.0.1:9464".parse().expect("static address"),
            tls: crate::tls::TlsConfig::default(),
            health_addr: None,
            admin_addr: None,
            console: crate::console::ConsoleConfig::default(),
            allow_plaintext: false,
            data_dir: PathBuf::from("warden-data"),
            policy_file: None,
            action_policy_dir: None,
            policy_reload_interval_ms: 2_000,
            content_policy_file: None,
            sessions: crate::session::SessionConfig::default(),
            approvals: ApprovalConfig::default(),
            auth: AuthConfig::default(),
            limits: Limits::default(),
            connections: ConnectionConfig::default(),
            detectors: DetectorConfig::default(),
            model: crate::model::ModelConfig::default(),
            output: crate::output::OutputConfig::default(),
            compliance: crate::compliance::ComplianceConfig::default(),
            audit: AuditConfig::default(),
            sinks: SinkConfig::default(),
            fleet: crate::fleet::FleetConfig::default(),
            shutdown_grace_seconds: 25,
        }
    }
}

/// Command-line values that override every other layer; `None` leaves the
/// lower layers' value.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_addr: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_addr: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// `--audit-sink` URLs; when given they replace the configured list.
    #[serde(skip)]
    pub audit_sinks: Vec<String>,
    /// `--allow-plaintext`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_plaintext: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_addr: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_addr: Option<SocketAddr>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Loads the layers from the real environment. `WARDEN_LOG_FORMAT` is
    /// not a setting: logging reads it before any configuration exists.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        Self::load_with_env(file, overrides, Env::prefixed("WARDEN_").ignore(&["log_format"]).split("__"))
    }

    /// Loads the layers with an explicit environment provider (tests pass
    /// their own instead of mutating the process environment).
    pub fn load_with_env(file: Option<&Path>, overrides: &Overrides, env: Env) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default())).merge(env);
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::MissingFile(path.to_path_buf()));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let mut config: Config =
            figment.merge(Serialized::defaults(overrides)).extract().map_err(|e| ConfigError::Invalid(one_line(&e)))?;
        if !overrides.audit_sinks.is_empty() {
            config.sinks.urls = overrides.audit_sinks.clone();
        }
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        if l.max_concurrent_requests == 0 {
            return bad("limits.max_concurrent_requests must be at least 1");
        }
        if l.max_text_bytes == 0 || l.max_document_bytes == 0 {
            return bad("limits.max_text_bytes and limits.max_document_bytes must be at least 1");
        }
        if l.max_message_bytes < l.max_text_bytes {
            return bad("limits.max_message_bytes must be at least limits.max_text_bytes");
        }
        if l.detector_timeout_ms == 0 {
            return bad("limits.detector_timeout_ms must be at least 1");
        }
        if !(1..=crate::validate::MAX_JSON_DEPTH).contains(&l.max_json_depth) {
            return Err(ConfigError::Invalid(format!(
                "limits.max_json_depth must be 1 to {} (deeper JSON could not be read back)",
                crate::validate::MAX_JSON_DEPTH
            )));
        }
        if l.max_attributes_bytes == 0 || l.max_label_key_bytes == 0 || l.max_label_value_bytes == 0 {
            return bad(
                "limits.max_attributes_bytes, max_label_key_bytes and max_label_value_bytes must be at least 1",
            );
        }
        if l.max_message_bytes < l.max_attributes_bytes {
            return bad("limits.max_message_bytes must be at least limits.max_attributes_bytes");
        }
        if self.audit.max_batch == 0 || self.audit.queue_capacity == 0 {
            return bad("audit.max_batch and audit.queue_capacity must be at least 1");
        }
        if self.audit.checkpoint_interval_ms == 0 || self.audit.segment_max_bytes < 4096 {
            return bad("audit.checkpoint_interval_ms must be at least 1 and audit.segment_max_bytes at least 4096");
        }
        if self.sinks.batch_records == 0 || self.sinks.max_backlog_records == 0 {
            return bad("sinks.batch_records and sinks.max_backlog_records must be at least 1");
        }
        for url in &self.sinks.urls {
            crate::sink::Sink::from_url(url).map_err(|e| ConfigError::Invalid(format!("sinks.urls: {e}")))?;
        }
        if self.audit.retention_seconds != 0 && self.audit.retention_seconds < 183 * 86_400 {
            if self.sinks.urls.is_empty() {
                tracing::warn!(
                    retention_seconds = self.audit.retention_seconds,
                    "audit retention is shorter than six months (EU AI Act Art. 19 / 26(6) asks for at least six)"
                );
            } else {
                // The short local window that bounds a sidecar's memory:
                // records retire only once every store has them.
                tracing::info!(
                    retention_seconds = self.audit.retention_seconds,
                    "local audit retention is shorter than six months: the stores in sinks.urls must keep the \
                     records at least six months (EU AI Act Art. 19 / 26(6))"
                );
            }
        }
        for (i, w) in self.audit.witnesses.iter().enumerate() {
            let vkey = crate::audit::cosign::Vkey::parse(&w.vkey)
                .map_err(|e| ConfigError::Invalid(format!("audit.witnesses[{i}].vkey: {e}")))?;
            if vkey.alg != crate::audit::cosign::ALG_COSIGNATURE_V1 {
                return Err(ConfigError::Invalid(format!(
                    "audit.witnesses[{i}].vkey: not a witness's cosignature key (type 0x04)"
                )));
            }
            if !w.url.starts_with("http://") {
                return Err(ConfigError::Invalid(format!("audit.witnesses[{i}].url: must be http://host:port")));
            }
        }
        if self.audit.origin.as_deref().is_some_and(|o| o.trim().is_empty() || o.contains('\n')) {
            return bad("audit.origin must be one non-empty line");
        }
        if self.policy_reload_interval_ms == 0 {
            return bad("policy_reload_interval_ms must be at least 1");
        }
        if self.sessions.max_sessions == 0 || self.sessions.path_len == 0 {
            return bad("sessions.max_sessions and sessions.path_len must be at least 1");
        }
        if self.approvals.ttl_seconds == 0 || self.approvals.sweep_interval_ms == 0 {
            return bad("approvals.ttl_seconds and approvals.sweep_interval_ms must be at least 1");
        }
        if self.approvals.max_pending == 0 {
            return bad("approvals.max_pending must be at least 1");
        }
        if !(1..=2).contains(&self.approvals.critical_reviewers) {
            return bad("approvals.critical_reviewers must be 1 or 2");
        }
        self.connections.validate().map_err(ConfigError::Invalid)?;
        self.tls.validate().map_err(ConfigError::Invalid)?;
        self.model.validate().map_err(ConfigError::Invalid)?;
        self.output.validate().map_err(ConfigError::Invalid)?;
        self.fleet.validate().map_err(ConfigError::Invalid)?;
        crate::auth::Authenticator::from_config(&self.auth).map_err(ConfigError::Invalid)?;
        crate::detect::pii::PiiDetector::new(&self.detectors.phone_region).map(|_| ()).map_err(ConfigError::Invalid)
    }

    pub fn detector_timeout(&self) -> Duration {
        Duration::from_millis(self.limits.detector_timeout_ms)
    }

    pub fn queue_timeout(&self) -> Duration {
        Duration::from_millis(self.limits.queue_timeout_ms)
    }
}

/// figment's errors can span lines; the CLI promises one.
fn one_line(e: &figment::Error) -> String {
    e.to_string().replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_contract_order() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("WARDEN_METRICS_ADDR", "127.0.0.1:1111");
            jail.set_env("WARDEN_GRPC_ADDR", "127.0.0.1:2222");
            jail.set_env("WARDEN_LIMITS__MAX_TEXT_BYTES", "1000");
            // Read by logging, not a setting: no unknown-key error.
            jail.set_env("WARDEN_LOG_FORMAT", "json");
            jail.create_file("w.toml", "grpc_addr = \"127.0.0.1:3333\"\ndata_dir = \"from-file\"\n")?;
            let overrides = Overrides { data_dir: Some("from-flag".into()), ..Default::default() };
            let c = Config::load(Some(Path::new("w.toml")), &overrides).map_err(|e| e.to_string())?;
            assert_eq!(c.metrics_addr.port(), 1111, "env over default");
            assert_eq!(c.grpc_addr.port(), 3333, "file over env");
            assert_eq!(c.data_dir, PathBuf::from("from-flag"), "flag over file");
            assert_eq!(c.limits.max_text_bytes, 1000);
            Ok(())
        });
    }

    #[test]
    fn bad_config_is_one_clear_line() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "limits = { max_concurrent_requests = 0 }\n")?;
            let err = Config::load(Some(Path::new("bad.toml")), &Overrides::default()).unwrap_err().to_string();
            assert!(err.contains("max_concurrent_requests"), "{err}");
            jail.create_file("typo.toml", "grpc_adr = \"x\"\n")?;
            let err = Config::load(Some(Path::new("typo.toml")), &Overrides::default()).unwrap_err().to_string();
            assert!(err.contains("grpc_adr") && !err.contains('\n'), "{err}");
            let err = Config::load(Some(Path::new("nope.toml")), &Overrides::default()).unwrap_err().to_string();
            assert!(err.contains("nope.toml"), "{err}");
            // An idle bound the keepalive cannot keep a live client inside.
            jail.create_file(
                "idle.toml",
                "[connections]\nkeepalive_interval_seconds = 30\nidle_timeout_seconds = 35\n",
            )?;
            let err = Config::load(Some(Path::new("idle.toml")), &Overrides::default()).unwrap_err().to_string();
            assert!(err.contains("connections.idle_timeout_seconds"), "{err}");
            Ok(())
        });
    }
}
