//! Transport security: TLS and mutual TLS handshakes with certificates made
//! at test time (rcgen), roles from client certificates, certificate reload,
//! metrics over TLS, and the plaintext rule for non-loopback addresses.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::{input, TestServer};
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, SanType};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use warden::auth::Role;
use warden::config::CertificateConfig;
use warden::proto::v1 as pb;

struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(name: &str) -> Ca {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    let cert = p.self_signed(&key).unwrap();
    Ca { pem: cert.pem(), issuer: Issuer::new(p, key) }
}

/// (certificate PEM, key PEM).
fn leaf(ca: &Ca, cn: &str, sans: Vec<SanType>, client: bool, expired: bool) -> (String, String) {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.subject_alt_names = sans;
    p.extended_key_usages =
        vec![if client { ExtendedKeyUsagePurpose::ClientAuth } else { ExtendedKeyUsagePurpose::ServerAuth }];
    if expired {
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &ca.issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn server_cert(ca: &Ca) -> (String, String) {
    leaf(ca, "warden", vec![SanType::DnsName("localhost".try_into().unwrap())], false, false)
}

fn client_cert(ca: &Ca, spiffe: &str) -> (String, String) {
    leaf(ca, "client", vec![SanType::URI(spiffe.try_into().unwrap())], true, false)
}

const AGENT: &str = "spiffe://cluster.local/ns/shop/sa/agent";
const REVIEWER: &str = "spiffe://cluster.local/ns/ops/sa/reviewer";
const AUDITOR: &str = "spiffe://cluster.local/ns/audit/sa/auditor";

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn write(&self, name: &str, pem: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        // Write-then-rename, as a Secret volume update does.
        let tmp = self.dir.path().join(format!(".{name}.tmp"));
        std::fs::write(&tmp, pem).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        path
    }
}

async fn mtls_server(ca: &Ca, files: &Files, optional: bool) -> TestServer {
    let (cert, key) = server_cert(ca);
    let cert_file = files.write("server.pem", &cert);
    let key_file = files.write("server.key", &key);
    let client_ca_file = files.write("clients-ca.pem", &ca.pem);
    TestServer::start_with(
        move |c| {
            c.tls.cert_file = Some(cert_file);
            c.tls.key_file = Some(key_file);
            c.tls.client_ca_file = Some(client_ca_file);
            c.tls.client_cert_optional = optional;
            c.tls.reload_interval_ms = Some(100);
            c.auth.certificates = vec![
                CertificateConfig { subject: AGENT.into(), identity: None, roles: vec![Role::Agent], tenants: vec![] },
                CertificateConfig {
                    subject: REVIEWER.into(),
                    identity: Some("ops-reviewer".into()),
                    roles: vec![Role::Reviewer],
                    tenants: vec![],
                },
                CertificateConfig {
                    subject: AUDITOR.into(),
                    identity: Some("compliance".into()),
                    roles: vec![Role::Auditor],
                    tenants: vec![],
                },
            ];
        },
        vec![],
    )
    .await
}

async fn channel(server: &TestServer, trust: &str, identity: Option<&(String, String)>) -> Result<Channel, String> {
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(trust)).domain_name("localhost");
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    Channel::from_shared(format!("https://{}", server.grpc_addr))
        .unwrap()
        .tls_config(tls)
        .map_err(|e| e.to_string())?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| format!("{e:?}"))
}

/// A call over a fresh TLS connection; any failure (handshake, alert, status) as text.
async fn score(
    server: &TestServer,
    trust: &str,
    identity: Option<&(String, String)>,
) -> Result<pb::Assessment, String> {
    let ch = channel(server, trust, identity).await?;
    let mut risk = pb::risk_service_client::RiskServiceClient::new(ch);
    risk.score_input(input("hello over TLS")).await.map(|r| r.into_inner()).map_err(|s| format!("{s:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_handshakes_succeed_and_fail_as_they_should() {
    let ca1 = ca("warden test CA");
    let other = ca("someone else's CA");
    let files = Files { dir: tempfile::tempdir().unwrap() };
    let mut server = mtls_server(&ca1, &files, false).await;

    let agent = client_cert(&ca1, AGENT);
    score(&server, &ca1.pem, Some(&agent)).await.expect("good client certificate");
    // No client certificate, an expired one, one from an untrusted CA.
    assert!(score(&server, &ca1.pem, None).await.is_err(), "a certificate is required");
    let expired = leaf(&ca1, "old", vec![SanType::URI(AGENT.try_into().unwrap())], true, true);
    assert!(score(&server, &ca1.pem, Some(&expired)).await.is_err(), "expired client certificate");
    let stranger = client_cert(&other, AGENT);
    assert!(score(&server, &ca1.pem, Some(&stranger)).await.is_err(), "client certificate from an untrusted CA");
    // The client does not trust the server's CA.
    assert!(score(&server, &other.pem, Some(&agent)).await.is_err(), "server certificate from an untrusted CA");
    // A server certificate (serverAuth only) offered as a client certificate.
    let server_as_client = server_cert(&ca1);
    assert!(score(&server, &ca1.pem, Some(&server_as_client)).await.is_err(), "server-only certificate as a client");
    // A valid certificate nobody mapped to roles: unauthenticated, named.
    let unmapped = client_cert(&ca1, "spiffe://cluster.local/ns/x/sa/unknown");
    let e = score(&server, &ca1.pem, Some(&unmapped)).await.unwrap_err();
    assert!(e.contains("Unauthenticated") && e.contains("not mapped"), "{e}");
    server.stop().await.unwrap();
}

#[test]
fn a_key_that_does_not_match_the_certificate_stops_start_up() {
    let ca1 = ca("warden test CA");
    let files = Files { dir: tempfile::tempdir().unwrap() };
    let (cert, _) = server_cert(&ca1);
    let (_, other_key) = server_cert(&ca1);
    let data = tempfile::tempdir().unwrap();
    let mut config = warden::Config { data_dir: data.path().into(), ..Default::default() };
    config.tls.cert_file = Some(files.write("s.pem", &cert));
    config.tls.key_file = Some(files.write("s.key", &other_key));
    let e = warden::tls::server_config(&config.tls, &[b"h2"]).unwrap_err();
    assert!(e.starts_with("tls: certificate and key:"), "{e}");
    assert!(!e.contains('\n'), "one line: {e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_from_certificates_are_enforced_like_tokens() {
    let ca1 = ca("warden test CA");
    let files = Files { dir: tempfile::tempdir().unwrap() };
    let mut server = mtls_server(&ca1, &files, false).await;
    let agent = client_cert(&ca1, AGENT);
    let reviewer = client_cert(&ca1, REVIEWER);

    let agent_ch = channel(&server, &ca1.pem, Some(&agent)).await.unwrap();
    let mut approvals = pb::approval_service_client::ApprovalServiceClient::new(agent_ch.clone());
    let e = approvals.list_pending(pb::ListPendingRequest::default()).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::PermissionDenied, "{e:?}");
    assert!(e.message().contains(AGENT), "the certificate identity is the caller: {}", e.message());

    let reviewer_ch = channel(&server, &ca1.pem, Some(&reviewer)).await.unwrap();
    let mut approvals = pb::approval_service_client::ApprovalServiceClient::new(reviewer_ch.clone());
    approvals.list_pending(pb::ListPendingRequest::default()).await.expect("a reviewer may list");
    let mut risk = pb::risk_service_client::RiskServiceClient::new(reviewer_ch);
    let e = risk.score_input(input("hello")).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::PermissionDenied, "a reviewer certificate cannot score: {e:?}");

    // An auditor reads the log but neither scores nor decides.
    let auditor = client_cert(&ca1, AUDITOR);
    let auditor_ch = channel(&server, &ca1.pem, Some(&auditor)).await.unwrap();
    let mut audit = pb::audit_service_client::AuditServiceClient::new(auditor_ch.clone());
    let mut records = audit.query(pb::AuditQuery::default()).await.expect("an auditor may query").into_inner();
    while records.message().await.unwrap().is_some() {}
    let mut risk = pb::risk_service_client::RiskServiceClient::new(auditor_ch.clone());
    assert_eq!(risk.score_input(input("hello")).await.unwrap_err().code(), tonic::Code::PermissionDenied);
    let mut approvals = pb::approval_service_client::ApprovalServiceClient::new(auditor_ch);
    let e = approvals
        .decide(pb::DecideRequest {
            approval_id: "x".into(),
            approve: true,
            reviewer: String::new(),
            reason: "r".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::PermissionDenied, "an auditor certificate cannot decide: {e:?}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_reload_without_a_restart() {
    let ca1 = ca("first CA");
    let ca2 = ca("second CA");
    let files = Files { dir: tempfile::tempdir().unwrap() };
    // Client certificates optional here: this test is about the server's.
    let mut server = mtls_server(&ca1, &files, true).await;
    let agent1 = client_cert(&ca1, AGENT);
    score(&server, &ca1.pem, Some(&agent1)).await.expect("first certificate");

    // Rotate to a server certificate and client CA from the second CA.
    let (cert, key) = server_cert(&ca2);
    files.write("server.key", &key);
    files.write("server.pem", &cert);
    files.write("clients-ca.pem", &ca2.pem);
    let agent2 = client_cert(&ca2, AGENT);
    common::eventually("new certificate served", Duration::from_secs(10), || async {
        score(&server, &ca2.pem, Some(&agent2)).await.is_ok()
    })
    .await;
    assert!(score(&server, &ca1.pem, Some(&agent1)).await.is_err(), "the old chain is no longer served");

    // A broken file is refused; the current certificates stay.
    files.write("server.pem", "not a certificate");
    tokio::time::sleep(Duration::from_millis(400)).await;
    score(&server, &ca2.pem, Some(&agent2)).await.expect("still serving the last good certificates");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_over_tls_too() {
    let ca1 = ca("warden test CA");
    let files = Files { dir: tempfile::tempdir().unwrap() };
    let mut server = mtls_server(&ca1, &files, false).await;
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    roots.add(rustls::pki_types::CertificateDer::from_pem_slice(ca1.pem.as_bytes()).unwrap()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    // A client that connects and never says a word must not hold up the
    // scrape behind it (handshakes run concurrently; each may take 10 s).
    let _silent = tokio::net::TcpStream::connect(server.metrics_addr).await.unwrap();
    let tcp = tokio::net::TcpStream::connect(server.metrics_addr).await.unwrap();
    let mut tls = tokio::time::timeout(Duration::from_secs(5), connector.connect("localhost".try_into().unwrap(), tcp))
        .await
        .expect("the scrape is not queued behind a silent connection's handshake")
        .expect("TLS to /metrics");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tls.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut body = String::new();
    tls.read_to_string(&mut body).await.ok();
    assert!(body.starts_with("HTTP/1.1 200") && body.contains("warden_build_info"), "{}", &body[..body.len().min(200)]);
    // Plain HTTP to the TLS port gets nothing useful.
    let mut plain = tokio::net::TcpStream::connect(server.metrics_addr).await.unwrap();
    plain.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), plain.read_to_end(&mut buf)).await;
    assert!(!String::from_utf8_lossy(&buf).contains("warden_build_info"));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_beyond_loopback_needs_the_flag() {
    // Each listener alone on a non-loopback address: gRPC, metrics, console.
    let serve = |allow_plaintext: bool, wide: usize| async move {
        let data = tempfile::tempdir().unwrap();
        let config = warden::Config { data_dir: data.path().into(), allow_plaintext, ..Default::default() };
        let bind = |i: usize| async move {
            tokio::net::TcpListener::bind(if i == wide { "0.0.0.0:0" } else { "127.0.0.1:0" }).await.unwrap()
        };
        let (grpc, metrics, admin) = (bind(0).await, bind(1).await, bind(2).await);
        let app = warden::build(&config, vec![]).unwrap();
        warden::server::serve(
            &config,
            app,
            warden::Listeners { grpc, metrics: Some(metrics), health: None, admin: Some(admin) },
            async {
                tokio::time::sleep(Duration::from_millis(200)).await;
            },
        )
        .await
    };
    for (wide, what) in [(0, "gRPC"), (1, "metrics"), (2, "console")] {
        let e = serve(false, wide).await.unwrap_err().to_string();
        assert!(
            e.contains(&format!("refusing to serve {what} in plaintext")) && e.contains("--allow-plaintext"),
            "{what}: {e}"
        );
        serve(true, wide).await.unwrap_or_else(|e| panic!("{what}: allowed with the flag: {e}"));
    }
}

/// With TLS on gRPC, a plaintext port answers grpc.health.v1 only (what a
/// Kubernetes gRPC probe can reach), and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plaintext_health_port_serves_health_only() {
    let ca1 = ca("warden test CA");
    let files = Files { dir: tempfile::tempdir().unwrap() };
    let (cert, key) = server_cert(&ca1);
    let data = tempfile::tempdir().unwrap();
    let mut config = warden::Config { data_dir: data.path().into(), ..Default::default() };
    config.tls.cert_file = Some(files.write("s.pem", &cert));
    config.tls.key_file = Some(files.write("s.key", &key));
    let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let health = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let health_addr = health.local_addr().unwrap();
    let app = warden::build(&config, vec![]).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let listeners = warden::Listeners { grpc, metrics: None, health: Some(health), admin: None };
        warden::server::serve(&config, app, listeners, async {
            let _ = stopped.await;
        })
        .await
    });
    let channel = Channel::from_shared(format!("http://{health_addr}")).unwrap().connect().await.unwrap();
    let mut client = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let status = client
        .check(tonic_health::pb::HealthCheckRequest { service: "warden.v1.RiskService".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);
    let e = pb::risk_service_client::RiskServiceClient::new(channel).score_input(input("hi")).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unimplemented, "only health on this port: {e:?}");
    let _ = stop.send(());
    task.await.unwrap().unwrap();
}
