//! Transport security: TLS (rustls) for the gRPC listener, optional mutual
//! TLS with a client CA, certificate identities for the authenticator, and
//! certificates that reload without a restart.
//!
//! Connections are accepted here, handshaken with the current
//! `rustls::ServerConfig` (a slow or failed handshake never blocks other
//! connections), and handed to tonic as `TlsStream`s, whose peer certificates
//! tonic exposes to the auth interceptor. A watcher polls the certificate,
//! key and CA files; when they change and the new set loads, new connections
//! use it. A set that does not load is refused: the old one stays and the
//! log says why.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::ServerConfig;
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;

/// `[tls]` in the config. TLS is on when `cert_file` is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain (leaf first) and PKCS#8/PKCS#1/SEC1 key.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// PEM CA bundle for client certificates (mutual TLS). Without it,
    /// clients are not asked for a certificate.
    pub client_ca_file: Option<PathBuf>,
    /// With a client CA: accept clients without a certificate too (they
    /// then authenticate with a bearer token). Default: a certificate is
    /// required.
    pub client_cert_optional: bool,
    /// How often the files are checked for changes (default 10 s).
    pub reload_interval_ms: Option<u64>,
}

impl TlsConfig {
    pub fn enabled(&self) -> bool {
        self.cert_file.is_some()
    }

    pub fn validate(&self) -> Result<(), String> {
        match (&self.cert_file, &self.key_file) {
            (Some(_), Some(_)) | (None, None) => {}
            _ => return Err("tls.cert_file and tls.key_file go together".into()),
        }
        if !self.enabled() && (self.client_ca_file.is_some() || self.client_cert_optional) {
            return Err("tls.client_ca_file needs tls.cert_file and tls.key_file".into());
        }
        if self.reload_interval_ms == Some(0) {
            return Err("tls.reload_interval_ms must be at least 1".into());
        }
        Ok(())
    }

    fn files(&self) -> Vec<&Path> {
        [&self.cert_file, &self.key_file, &self.client_ca_file].into_iter().flatten().map(PathBuf::as_path).collect()
    }
}

/// Reads the files and builds a server config offering `alpn` (`h2` for
/// gRPC, `http/1.1` for metrics).
pub fn server_config(config: &TlsConfig, alpn: &[&[u8]]) -> Result<Arc<ServerConfig>, String> {
    let (Some(cert_file), Some(key_file)) = (&config.cert_file, &config.key_file) else {
        return Err("tls.cert_file and tls.key_file are required".into());
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| format!("tls.cert_file {}: {e}", cert_file.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("tls.cert_file {}: {e}", cert_file.display()))?;
    if certs.is_empty() {
        return Err(format!("tls.cert_file {}: no certificate in it", cert_file.display()));
    }
    let key =
        PrivateKeyDer::from_pem_file(key_file).map_err(|e| format!("tls.key_file {}: {e}", key_file.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?;
    let builder = match &config.client_ca_file {
        None => builder.with_no_client_auth(),
        Some(ca_file) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(ca_file)
                .map_err(|e| format!("tls.client_ca_file {}: {e}", ca_file.display()))?
            {
                let cert = cert.map_err(|e| format!("tls.client_ca_file {}: {e}", ca_file.display()))?;
                roots.add(cert).map_err(|e| format!("tls.client_ca_file {}: {e}", ca_file.display()))?;
            }
            if roots.is_empty() {
                return Err(format!("tls.client_ca_file {}: no CA certificate in it", ca_file.display()));
            }
            let mut verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            if config.client_cert_optional {
                verifier = verifier.allow_unauthenticated();
            }
            builder.with_client_cert_verifier(verifier.build().map_err(|e| format!("tls.client_ca_file: {e}"))?)
        }
    };
    let mut server = builder.with_single_cert(certs, key).map_err(|e| format!("tls: certificate and key: {e}"))?;
    server.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(server))
}

/// The server config in use, swapped whole on reload.
#[derive(Clone)]
pub struct Acceptor {
    current: Arc<RwLock<Arc<ServerConfig>>>,
    config: TlsConfig,
    alpn: &'static [&'static [u8]],
}

impl Acceptor {
    /// For gRPC: HTTP/2, client certificates as configured.
    pub fn grpc(config: &TlsConfig) -> Result<Self, String> {
        Self::new(config.clone(), &[b"h2"])
    }

    /// For `/metrics`: HTTP/1.1, the same server certificate, no client
    /// certificate asked (a Prometheus scraper authenticates the server).
    pub fn metrics(config: &TlsConfig) -> Result<Self, String> {
        let config = TlsConfig { client_ca_file: None, client_cert_optional: false, ..config.clone() };
        Self::new(config, &[b"http/1.1"])
    }

    fn new(config: TlsConfig, alpn: &'static [&'static [u8]]) -> Result<Self, String> {
        Ok(Self { current: Arc::new(RwLock::new(server_config(&config, alpn)?)), config, alpn })
    }

    fn current(&self) -> Arc<ServerConfig> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Polls the files; a changed set that loads replaces the current one.
    pub fn spawn_reloader(&self, mut stopping: tokio::sync::watch::Receiver<bool>) {
        let current = self.current.clone();
        let (config, alpn) = (self.config.clone(), self.alpn);
        let interval = Duration::from_millis(config.reload_interval_ms.unwrap_or(10_000));
        tokio::spawn(async move {
            let mut seen = fingerprint(&config).await;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = stopping.changed() => return,
                }
                let now = fingerprint(&config).await;
                if now == seen {
                    continue;
                }
                seen = now;
                let c = config.clone();
                match tokio::task::spawn_blocking(move || server_config(&c, alpn)).await {
                    Ok(Ok(new)) => {
                        *current.write().unwrap_or_else(|p| p.into_inner()) = new;
                        crate::telemetry::tls_reload("ok");
                        tracing::info!("TLS certificates reloaded");
                    }
                    Ok(Err(e)) => {
                        crate::telemetry::tls_reload("rejected");
                        tracing::error!(error = %e, "TLS certificates not reloaded; the previous ones stay in use");
                    }
                    Err(e) => tracing::error!(error = %e, "TLS reload panicked"),
                }
            }
        });
    }

    /// Accepts connections on `listener` and yields them once their
    /// handshake completed (within 10 s). Failed handshakes are logged and
    /// counted, never passed on.
    pub fn incoming(
        &self,
        listener: TcpListener,
    ) -> tokio_stream::wrappers::ReceiverStream<Result<TlsStream<TcpStream>, std::io::Error>> {
        tokio_stream::wrappers::ReceiverStream::new(self.accept_loop(listener, |stream, _| Ok(stream)))
    }

    /// The accept loop: every handshake runs in its own task, so a slow or
    /// silent client never holds up the next connection. Ends when the
    /// receiver is dropped.
    fn accept_loop<T: Send + 'static>(
        &self,
        listener: TcpListener,
        wrap: fn(TlsStream<TcpStream>, SocketAddr) -> T,
    ) -> tokio::sync::mpsc::Receiver<T> {
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let acceptor = self.clone();
        tokio::spawn(async move {
            loop {
                let (tcp, peer) = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    },
                    _ = tx.closed() => return,
                };
                let _ = tcp.set_nodelay(true);
                let tls = tokio_rustls::TlsAcceptor::from(acceptor.current());
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(Duration::from_secs(10), tls.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let _ = tx.send(wrap(stream, peer)).await;
                        }
                        Ok(Err(e)) => handshake_failed(peer, &e.to_string()),
                        Err(_) => handshake_failed(peer, "timed out"),
                    }
                });
            }
        });
        rx
    }
}

/// A listener for axum (`/metrics`, the console) that yields TLS streams,
/// handshaken concurrently by [`Acceptor`]'s accept loop.
pub struct MetricsListener {
    local_addr: SocketAddr,
    streams: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl MetricsListener {
    pub fn new(listener: TcpListener, acceptor: &Acceptor) -> std::io::Result<Self> {
        let local_addr = listener.local_addr()?;
        Ok(Self { local_addr, streams: acceptor.accept_loop(listener, |stream, peer| (stream, peer)) })
    }
}

impl axum::serve::Listener for MetricsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.streams.recv().await {
            Some(accepted) => accepted,
            // The accept loop only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

fn handshake_failed(peer: SocketAddr, why: &str) {
    crate::telemetry::tls_handshake_failure();
    tracing::warn!(%peer, reason = why, "TLS handshake failed");
}

/// Sizes, modification times and contents' hash of the files.
async fn fingerprint(config: &TlsConfig) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for f in config.files() {
        match tokio::fs::read(f).await {
            Ok(bytes) => h.update(Sha256::digest(&bytes)),
            Err(e) => h.update(e.to_string().as_bytes()),
        }
    }
    h.finalize().to_vec()
}

/// The identities a client certificate carries, most specific first: SAN
/// URIs (SPIFFE IDs), SAN DNS names, then the subject's common names.
pub fn certificate_identities(der: &[u8]) -> Vec<String> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else { return Vec::new() };
    let mut out = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::URI(uri) = name {
                out.push(uri.to_string());
            }
        }
        for name in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(dns) = name {
                out.push(dns.to_string());
            }
        }
    }
    out.extend(cert.subject().iter_common_name().filter_map(|cn| cn.as_str().ok()).map(str::to_string));
    out
}

/// Whether serving plaintext on `addr` is allowed: loopback always; any
/// other address only with `allow_plaintext` (and then with a warning).
pub fn check_plaintext(what: &str, addr: SocketAddr, allow_plaintext: bool) -> Result<(), String> {
    if addr.ip().is_loopback() {
        return Ok(());
    }
    if allow_plaintext {
        tracing::warn!(%addr, "{what} serves plaintext on a non-loopback address (allow_plaintext): anyone on the network can read and send it");
        return Ok(());
    }
    Err(format!(
        "refusing to serve {what} in plaintext on {addr}: configure [tls] (cert_file, key_file) or pass --allow-plaintext"
    ))
}

/// Connection hygiene on the gRPC and health listeners (`[connections]`): a
/// peer that went away without closing (a crashed pod, a dropped NAT entry)
/// or that never says anything is noticed, and its descriptor freed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
    pub fn keepalive_interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.keepalive_interval_seconds)
    }

    pub fn keepalive_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.keepalive_timeout_seconds)
    }

    pub fn tcp_keepalive(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.tcp_keepalive_seconds)
    }

    pub fn idle_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.idle_timeout_seconds)
    }

    pub fn validate(&self) -> Result<(), String> {
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
