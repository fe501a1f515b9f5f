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
    /// Compliance reports.
    pub compliance: crate::compliance::ComplianceConfig,
    /// How long shutdown waits for in-flight calls before giving up on them.
    pub shutdown_grace_seconds: u64,
}

/// Connection hygiene on the gRPC and health listeners (`[connections]`): a
/// peer that went away without closing (a crashed pod, a dropped NAT entry)
/// or that never says anything is noticed, and its descriptor freed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionConfig {
    /// An HTTP/2 PING goes out after this long without a frame from the
    /// peer, so a live client always has something to answer.
    pub keepalive_interval_seconds: u64,
    /// A PING not answered within this closes the connection (a half-open
    /// peer).
    pub keepalive_timeout_seconds: u64,
    /// TCP keepalive: idle time before the kernel's first probe and between
    /// probes; three unanswered probes close the socket, even when HTTP/2
    /// never got going.
    pub tcp_keepalive_seconds: u64,
    /// A connection from which nothing arrives for this long (no request, no
    /// answer to a PING) is closed; one that has sent nothing at all since
    /// it was accepted, after at most 10 s. Longer than the keepalive
    /// interval and timeout together, so a live but idle client is never cut.
    pub idle_timeout_seconds: u64,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        Self {
            keepalive_interval_seconds: 20,
            keepalive_timeout_seconds: 10,
            tcp_keepalive_seconds: 60,
            idle_timeout_seconds: 60,
        }
    }
}

impl ConnectionConfig {
    pub fn keepalive_interval(&self) -> Duration {
        Duration::from_secs(self.keepalive_interval_seconds)
    }

    pub fn keepalive_timeout(&self) -> Duration {
        Duration::from_secs(self.keepalive_timeout_seconds)
    }

    pub fn tcp_keepalive(&self) -> Duration {
        Duration::from_secs(self.tcp_keepalive_seconds)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_seconds)
    }

    fn validate(&self) -> Result<(), String> {
        if self.keepalive_interval_seconds == 0
            || self.keepalive_timeout_seconds == 0
            || self.tcp_keepalive_seconds == 0
        {
            return Err("connections.keepalive_interval_seconds, keepalive_timeout_seconds and \
                        tcp_keepalive_seconds must be at least 1"
                .into());
        }
        if self.idle_timeout_seconds <= self.keepalive_interval_seconds + self.keepalive_timeout_seconds {
            return Err("connections.idle_timeout_seconds must be longer than keepalive_interval_seconds and \
                        keepalive_timeout_seconds together (a live, idle client would be cut)"
                .into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest `text`, `input`, `system_prompt`, `arguments_json` accepted.
    pub max_text_bytes: usize,
    pub max_documents: usize,
    pub max_document_bytes: usize,
    pub max_total_document_bytes: usize,
    /// Largest encoded gRPC message; above the sum of the field limits so
    /// that oversized fields get a precise INVALID_ARGUMENT first.
    pub max_message_bytes: usize,
    /// Score calls running at once; more wait up to `queue_timeout_ms`, then
    /// get RESOURCE_EXHAUSTED.
    pub max_concurrent_requests: usize,
    pub queue_timeout_ms: u64,
    /// Deadline for one detector on one request; a late detector is skipped.
    pub detector_timeout_ms: u64,
    /// Deepest nesting of arrays and objects in `arguments_json` and an
    /// appended event's `attributes_json` (every reader of the log must be
    /// able to parse what was accepted).
    pub max_json_depth: usize,
    /// Largest `attributes_json` of an appended event.
    pub max_attributes_bytes: usize,
    /// Labels per request context, and the largest key and value.
    pub max_labels: usize,
    pub max_label_key_bytes: usize,
    pub max_label_value_bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorConfig {
    pub pii: bool,
    pub secrets: bool,
    pub injection: bool,
    /// ISO 3166 country assumed for phone numbers written without `+`.
    pub phone_region: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Most records made durable by one fsync (group commit).
    pub max_batch: usize,
    /// Records waiting for the writer before appends wait (backpressure).
    pub queue_capacity: usize,
    /// A signed checkpoint is issued at least this often while records arrive.
    pub checkpoint_interval_ms: u64,
    /// How much later than `checkpoint_interval_ms` a checkpoint may be
    /// signed before `audit verify` (and opening the log for writing) calls
    /// the records it covers unsigned: a slow disk, a long batch.
    pub checkpoint_grace_ms: u64,
    /// While no records arrive, a checkpoint (of the same size, with a new
    /// time) is still signed this often, so that a record stamped long after
    /// the last signature with none in between is known not to come from a
    /// live writer. 0 turns heartbeats off.
    pub checkpoint_heartbeat_ms: u64,
    /// Open the log for writing even when records after the last
    /// checkpoint span more than the interval plus its grace (checkpoints
    /// deleted, or a writer that could not sign): they are signed, and an
    /// `unsigned_tail_accepted` record says so. Set by `serve
    /// --accept-unsigned-tail` for one start; never from a config file.
    #[serde(skip)]
    pub accept_unsigned_tail: bool,
    /// Witnesses every checkpoint is sent to for a cosignature (C2SP
    /// `tlog-witness`; `warden witness` is one). Each needs this log's
    /// verifier key (`warden audit pubkey`) in its own configuration.
    pub witnesses: Vec<WitnessTarget>,
    /// A segment file is closed and a new one started past this size.
    pub segment_max_bytes: u64,
    /// The log's name in its checkpoints; `warden/<instance id>` by default.
    pub origin: Option<String>,
    /// Ed25519 PKCS#8 PEM signing key; created under the data dir if absent.
    pub signing_key_file: Option<PathBuf>,
    /// Seconds record content is kept, retired in whole segments (the Merkle
    /// tree and checkpoints are kept for ever). Default 183 days (six months,
    /// EU AI Act Art. 19 / 26(6)); 0 keeps everything.
    pub retention_seconds: u64,
    /// What content fields store: raw, redacted, hash or encrypt.
    pub privacy: crate::audit::privacy::PrivacyConfig,
    /// Seconds within which an appended event that repeats a
    /// `(tenant, client_event_id)` is answered with the original record
    /// instead of being written again (a client retrying after a lost ack).
    /// Default one day; 0 turns de-duplication off.
    pub dedup_window_secs: u64,
}

/// A witness the log sends its checkpoints to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessTarget {
    /// Its HTTP submission prefix (`http://host:port`).
    pub url: String,
    /// Its C2SP verifier key (`<name>+<key id>+<key>`, type 0x04): only
    /// cosignatures by this key are kept.
    pub vkey: String,
}

/// Human approval of high-risk actions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApprovalConfig {
    /// An approval nobody decides within this time expires, which is a deny.
    pub ttl_seconds: u64,
    /// Distinct reviewers who must approve a critical-level request (1 or 2).
    pub critical_reviewers: u32,
    /// How often expiries are checked.
    pub sweep_interval_ms: u64,
}

impl Default for ApprovalConfig {
    fn default() -> Self {
        Self { ttl_seconds: 900, critical_reviewers: 2, sweep_interval_ms: 500 }
    }
}

/// Who may call what. With no tokens configured, authentication is off and
/// every caller may do everything (a local development set-up; logged as a
/// warning at start).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub tokens: Vec<TokenConfig>,
    /// Client certificates (mutual TLS, `[tls] client_ca_file`) mapped to
    /// the same roles as tokens.
    pub certificates: Vec<CertificateConfig>,
}

/// A client certificate identity: a SAN URI (a SPIFFE ID such as
/// `spiffe://cluster.local/ns/shop/sa/agent`), a SAN DNS name, or the
/// subject's common name, as the certificate carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateConfig {
    /// The identity in the certificate.
    pub subject: String,
    /// The caller's identity in Warden (audit records, approvals); the
    /// certificate's subject when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    pub roles: Vec<crate::auth::Role>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
}

/// A bearer token: `Authorization: Bearer <token>` maps to `identity` with
/// `roles`. Give the token's SHA-256 (hex) rather than the token itself, or
/// the name of an environment variable that holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    pub identity: String,
    /// `agent`, `reviewer`, `auditor`, `admin`.
    pub roles: Vec<crate::auth::Role>,
    /// Tenants this caller may act for (score, see and decide approvals);
    /// empty means every tenant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
}

/// Downstream stores the audit log is shipped to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SinkConfig {
    /// `postgres://...` and `nats://...` URLs (`--audit-sink`, repeatable).
    pub urls: Vec<String>,
    /// Records per shipped batch.
    pub batch_records: usize,
    /// Records the slowest store may fall behind before new appends are
    /// held (`block`) or refused with UNAVAILABLE (`fail_closed`).
    pub max_backlog_records: u64,
    pub on_backlog: BacklogMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BacklogMode {
    Block,
    FailClosed,
}

impl Default for SinkConfig {
    fn default() -> Self {
        Self { urls: Vec::new(), batch_records: 500, max_backlog_records: 1_000_000, on_backlog: BacklogMode::Block }
    }
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
            shutdown_grace_seconds: 25,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_text_bytes: 256 * 1024,
            max_documents: 64,
            max_document_bytes: 256 * 1024,
            max_total_document_bytes: 2 * 1024 * 1024,
            max_message_bytes: 4 * 1024 * 1024,
            max_concurrent_requests: 64,
            queue_timeout_ms: 100,
            detector_timeout_ms: 2_000,
            max_json_depth: 64,
            max_attributes_bytes: 256 * 1024,
            max_labels: 64,
            max_label_key_bytes: 128,
            max_label_value_bytes: 1024,
        }
    }
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self { pii: true, secrets: true, injection: true, phone_region: "US".into() }
    }
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            max_batch: 512,
            queue_capacity: 4096,
            checkpoint_interval_ms: 2_000,
            checkpoint_grace_ms: 30_000,
            checkpoint_heartbeat_ms: 300_000,
            accept_unsigned_tail: false,
            witnesses: Vec::new(),
            segment_max_bytes: 64 * 1024 * 1024,
            origin: None,
            signing_key_file: None,
            retention_seconds: 183 * 86_400,
            privacy: crate::audit::privacy::PrivacyConfig::default(),
            dedup_window_secs: 86_400,
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
    /// Loads the layers from the real environment.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        Self::load_with_env(file, overrides, Env::prefixed("WARDEN_").split("__"))
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
            tracing::warn!(
                retention_seconds = self.audit.retention_seconds,
                "audit retention is shorter than six months (EU AI Act Art. 19 / 26(6) asks for at least six)"
            );
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
        if !(1..=2).contains(&self.approvals.critical_reviewers) {
            return bad("approvals.critical_reviewers must be 1 or 2");
        }
        self.connections.validate().map_err(ConfigError::Invalid)?;
        self.tls.validate().map_err(ConfigError::Invalid)?;
        self.model.validate().map_err(ConfigError::Invalid)?;
        self.output.validate().map_err(ConfigError::Invalid)?;
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
