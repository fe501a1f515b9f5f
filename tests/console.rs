//! The web console in a real browser: `tests/e2e/console.mjs` drives
//! Debian's Chromium with playwright-core (installed by
//! `scripts/install-test-deps.sh`) against the real server started here.
//! Screenshots of each screen land in `target/e2e-artifacts/`.
//! Also: the console's own refusals without a browser (CSRF, cookies).

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::TestServer;
use tonic::metadata::MetadataValue;
use warden::audit::journal::{AuditLog, Query};
use warden::auth::Role;
use warden::config::Config;
use warden::proto::v1 as pb;
use warden::proto::v1::risk_service_client::RiskServiceClient;

const AGENT: &str = "agent-token-000000000000000000";
const ALICE: &str = "alice-token-000000000000000000";
const BOB: &str = "bob-token-00000000000000000000";
const CAROL: &str = "carol-token-000000000000000000";

use common::token;

fn setup(c: &mut Config, ttl: u64) {
    c.admin_addr = Some("127.0.0.1:0".parse().unwrap());
    c.approvals.ttl_seconds = ttl;
    c.approvals.sweep_interval_ms = 200;
    c.auth.tokens = vec![
        token("support-agent", AGENT, &[Role::Agent]),
        token("alice", ALICE, &[Role::Reviewer]),
        // Bob runs an agent and reviews: he must not approve his own calls.
        token("bob", BOB, &[Role::Agent, Role::Reviewer]),
        token("carol", CAROL, &[Role::Auditor]),
    ];
}

use common::refund;

async fn score_as(server: &TestServer, token: &str, req: pb::ScoreActionRequest) -> pb::Assessment {
    let mut risk = RiskServiceClient::new(server.channel().await);
    let mut r = tonic::Request::new(req);
    r.metadata_mut().insert("authorization", MetadataValue::try_from(format!("Bearer {token}")).unwrap());
    risk.score_action(r).await.unwrap().into_inner()
}

async fn input_as(server: &TestServer, token: &str, session: &str, text: &str) {
    let mut risk = RiskServiceClient::new(server.channel().await);
    let mut req = common::input(text);
    if let Some(c) = req.context.as_mut() {
        c.session_id = session.into();
        c.tenant = "acme".into();
        c.user_id = "customer-7".into();
    }
    req.documents.push(pb::Document {
        id: "kb-refunds".into(),
        source: "confluence".into(),
        text: "Refunds are issued when the carrier confirms a lost parcel.".into(),
        trusted: false,
        content: Vec::new(),
    });
    let mut r = tonic::Request::new(req);
    r.metadata_mut().insert("authorization", MetadataValue::try_from(format!("Bearer {token}")).unwrap());
    risk.score_input(r).await.unwrap();
}

/// A model output with a planted canary: held for a human by the default
/// policy.
const LEAKY_OUTPUT: &str = "Your reference is XK-CANARY-93af10, keep it safe.";

async fn leaked_output_as(server: &TestServer, token: &str, session: &str) -> pb::Assessment {
    let mut risk = RiskServiceClient::new(server.channel().await);
    let mut r = tonic::Request::new(pb::ScoreOutputRequest {
        context: Some(pb::RequestContext {
            session_id: session.into(),
            tenant: "acme".into(),
            application: "support-bot".into(),
            ..Default::default()
        }),
        text: LEAKY_OUTPUT.into(),
        input: "What is my reference?".into(),
        canaries: vec!["XK-CANARY-93af10".into()],
        ..Default::default()
    });
    r.metadata_mut().insert("authorization", MetadataValue::try_from(format!("Bearer {token}")).unwrap());
    risk.score_output(r).await.unwrap().into_inner()
}

fn e2e_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/e2e")
}

fn artifacts() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("e2e-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The browser test needs Debian's Chromium and `npm ci` in tests/e2e; in
/// CI both are installed by the set-up script and a missing one fails.
fn browser_ready() -> bool {
    let ready = PathBuf::from("/usr/bin/chromium").exists() && e2e_dir().join("node_modules/playwright-core").exists();
    if !ready && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("Chromium or playwright-core is missing: run scripts/install-test-deps.sh (CI never skips this)");
    }
    ready
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewers_and_auditors_use_the_console_in_chromium() {
    if !browser_ready() {
        eprintln!("skipping: Chromium or tests/e2e/node_modules missing (scripts/install-test-deps.sh installs them)");
        return;
    }
    let server = TestServer::start_with(|c| setup(c, 45), vec![]).await;
    let session = "refund-7";
    input_as(&server, AGENT, session, "My parcel never arrived, please refund order A-1").await;
    let approve = score_as(&server, AGENT, refund(session, 9800)).await.approval_id;
    let deny = score_as(&server, AGENT, refund("refund-8", 9700)).await.approval_id;
    let expire = score_as(&server, AGENT, refund("refund-9", 9600)).await.approval_id;
    let own = score_as(&server, BOB, refund("refund-10", 9500)).await.approval_id;
    for id in [&approve, &deny, &expire, &own] {
        assert!(!id.is_empty(), "a refund needs approval");
    }
    let output = leaked_output_as(&server, AGENT, "leak-1").await.approval_id;
    assert!(!output.is_empty(), "a leaked canary needs approval");
    // The agent's own record of the call it made, with its attributes.
    let mut audit = pb::audit_service_client::AuditServiceClient::new(server.channel().await);
    let event = pb::AuditEvent {
        client_event_id: "tool-call-1".into(),
        context: Some(pb::RequestContext {
            session_id: session.into(),
            tenant: "acme".into(),
            application: "support-bot".into(),
            ..Default::default()
        }),
        kind: "tool_call".into(),
        attributes_json: r#"{"gen_ai.tool.name":"lookup_order","gen_ai.operation.name":"execute_tool","order":"A-1"}"#
            .into(),
        occurred_at: None,
    };
    let mut r = tonic::Request::new(tokio_stream::iter(vec![event]));
    r.metadata_mut().insert("authorization", MetadataValue::try_from(format!("Bearer {AGENT}")).unwrap());
    let mut acks = audit.append(r).await.unwrap().into_inner();
    assert!(acks.message().await.unwrap().is_some(), "the client event is acknowledged");
    let url = format!("http://{}", server.admin_addr.unwrap());
    let out = tokio::task::spawn_blocking({
        let (approve, deny, expire, own) = (approve.clone(), deny.clone(), expire.clone(), own.clone());
        move || {
            Command::new("node")
                .arg("console.mjs")
                .current_dir(e2e_dir())
                .env("CONSOLE_URL", &url)
                .env("ARTIFACTS", artifacts())
                .env("AGENT_TOKEN", AGENT)
                .env("REVIEWER_TOKEN", ALICE)
                .env("SELF_TOKEN", BOB)
                .env("AUDITOR_TOKEN", CAROL)
                .env("APPROVE_ID", approve)
                .env("DENY_ID", deny)
                .env("EXPIRE_ID", expire)
                .env("OWN_ID", own)
                .env("OUTPUT_ID", &output)
                .env("OUTPUT_TEXT", LEAKY_OUTPUT)
                .env("SESSION", "refund-7")
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "console e2e failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("console e2e: ok"), "{stdout}");
    for shot in [
        "login-refused",
        "approvals",
        "approval",
        "own-request-refused",
        "approvals-after-expiry",
        "investigate",
        "timeline",
        "reports",
        "report",
    ] {
        let p = artifacts().join(format!("{shot}.png"));
        assert!(std::fs::metadata(&p).map(|m| m.len() > 5_000).unwrap_or(false), "screenshot {}", p.display());
    }

    // Every console action is in the audit log.
    let log = AuditLog::open_read_only(server.data_dir.path(), &Default::default()).unwrap();
    let mut actions = std::collections::BTreeMap::<String, Vec<String>>::new();
    for seq in log.query(&Query { kind: "console_action".into(), ..Query::default() }) {
        let r = log.record(seq).unwrap().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&r.canonical).unwrap();
        let b = &v["body"];
        actions.entry(b["action"].as_str().unwrap().into()).or_default().push(format!(
            "{} {} {}",
            b["actor"].as_str().unwrap(),
            b["target"].as_str().unwrap(),
            b["outcome"].as_str().unwrap()
        ));
    }
    let has = |action: &str, needle: &str| {
        assert!(
            actions.get(action).is_some_and(|v| v.iter().any(|x| x.contains(needle))),
            "no {action} record with {needle:?}: {actions:#?}"
        )
    };
    has("sign_in_refused", "support-agent");
    has("sign_in", "alice");
    has("sign_in", "carol");
    has("decide", &format!("alice {approve} approved"));
    has("decide", &format!("alice {deny} denied"));
    has("decide", &format!("bob {own} refused"));
    has("view_approval", "alice");
    has("search", "carol");
    has("view_timeline", "carol refund-7");
    has("generate_report", "carol");
    has("open_report", "carol");
    has("sign_out", "carol");
    // The approvals themselves, as the gRPC API records them.
    let steps: Vec<String> = log
        .query(&Query { kind: "approval".into(), ..Query::default() })
        .into_iter()
        .map(|seq| {
            let r = log.record(seq).unwrap().unwrap();
            let v: serde_json::Value = serde_json::from_slice(&r.canonical).unwrap();
            format!("{} {}", v["body"]["approval_id"].as_str().unwrap(), v["body"]["event"].as_str().unwrap())
        })
        .collect();
    for want in [
        format!("{approve} shown"),
        format!("{approve} approved"),
        format!("{deny} denied"),
        format!("{expire} expired"),
    ] {
        assert!(steps.contains(&want), "{want} missing from {steps:?}");
    }
}

/// Requests a browser would never make: no cookie, a forged form, another
/// site's form post.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_cross_site_requests_are_refused() {
    let server = TestServer::start_with(|c| setup(c, 600), vec![]).await;
    let id = score_as(&server, AGENT, refund("s-1", 9800)).await.approval_id;
    let base = format!("http://{}", server.admin_addr.unwrap());
    let http = reqwest_like::Client::new(&base);

    // Not signed in: every page sends you to sign in.
    let r = http.get("/approvals", None).await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some("/login")));
    // An agent's token is refused, and says why.
    let r = http.sign_in(AGENT).await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("cannot use the console"), "{}", r.body);

    // Sign-in carries a CSRF token bound to a cookie, and must come from the
    // console's own origin: every other sign-in is refused before anything
    // is looked at, and leaves neither a session nor a record.
    let sign_ins = || {
        let log = AuditLog::open_read_only(server.data_dir.path(), &Default::default()).unwrap();
        log.query(&Query { kind: "console_action".into(), ..Query::default() }).len()
    };
    let recorded = sign_ins();
    let (login_cookie, login_csrf) = http.login_form().await;
    let good = format!("token={ALICE}&csrf={login_csrf}");
    let own = format!("http://{}", server.admin_addr.unwrap());
    let own_page = format!("{own}/login");
    for (what, cookie, form, headers) in [
        ("no token", Some(&login_cookie), format!("token={ALICE}"), vec![("Origin", own.as_str())]),
        ("no cookie", None, good.clone(), vec![("Origin", own.as_str())]),
        (
            "forged token",
            Some(&login_cookie),
            format!("token={ALICE}&csrf={}", "0".repeat(64)),
            vec![("Origin", own.as_str())],
        ),
        ("foreign origin", Some(&login_cookie), good.clone(), vec![("Origin", "https://evil.example")]),
        ("same host, other port", Some(&login_cookie), good.clone(), vec![("Origin", "http://127.0.0.1:1")]),
        ("null origin", Some(&login_cookie), good.clone(), vec![("Origin", "null")]),
        ("foreign referer", Some(&login_cookie), good.clone(), vec![("Referer", "https://evil.example/login")]),
        ("no origin at all", Some(&login_cookie), good.clone(), vec![]),
    ] {
        let r = http.post_with("/login", cookie.map(String::as_str), &form, &headers).await;
        assert_eq!(r.status, 403, "{what}: {}", r.body);
        assert!(r.set_cookie.is_none(), "{what}: a session cookie was set");
    }
    assert_eq!(sign_ins(), recorded, "a refused sign-in left a record");
    // The same form from the console's own page (Origin, or Referer alone) works.
    let r = http.post_with("/login", Some(&login_cookie), &good, &[("Referer", own_page.as_str())]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    // Alice signs in: a Secure, HttpOnly, SameSite=Strict cookie.
    let r = http.sign_in(ALICE).await;
    assert_eq!(r.status, 303);
    let cookie = r.set_cookie.expect("a session cookie");
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{attr} missing from {cookie}");
    }
    let session = cookie.split(';').next().unwrap().to_string();
    let page = http.get("/approvals", Some(&session)).await;
    assert_eq!(page.status, 200);
    assert!(page
        .csp
        .as_deref()
        .is_some_and(|c| c.contains("script-src 'self'") && c.contains("frame-ancestors 'none'")));
    // A decision without the page's CSRF token is refused and changes nothing.
    let r = http
        .post(&format!("/approvals/{id}/decide"), Some(&session), "verdict=approve&reason=x&csrf=forged", None)
        .await;
    assert_eq!(r.status, 403);
    // ...and so is one posted from another site, even with the token.
    let detail = http.get(&format!("/approvals/{id}"), Some(&session)).await;
    let csrf = detail.body.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let form = format!("verdict=approve&reason=x&csrf={csrf}");
    let r = http.post(&format!("/approvals/{id}/decide"), Some(&session), &form, Some("cross-site")).await;
    assert_eq!(r.status, 403);
    // ...or naming another origin, with or without the fetch metadata, and
    // so is signing out from one (the session stays).
    for headers in [
        vec![("Origin", "https://evil.example")],
        vec![("Origin", "https://evil.example"), ("Sec-Fetch-Site", "same-origin")],
        vec![("Referer", "https://evil.example/approvals")],
        vec![],
    ] {
        let r = http.post_with(&format!("/approvals/{id}/decide"), Some(&session), &form, &headers).await;
        assert_eq!(r.status, 403, "{headers:?}: {}", r.body);
    }
    let r =
        http.post_with("/logout", Some(&session), &format!("csrf={csrf}"), &[("Origin", "https://evil.example")]).await;
    assert_eq!(r.status, 403);
    assert_eq!(http.get("/approvals", Some(&session)).await.status, 200, "still signed in");
    assert!(http.get(&format!("/approvals/{id}"), Some(&session)).await.body.contains("data-testid=\"state\">pending"));
    // With the token, from the page itself, it goes through.
    let r = http.post(&format!("/approvals/{id}/decide"), Some(&session), &form, Some("same-origin")).await;
    assert_eq!(r.status, 303, "{}", r.body);
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(http
        .get(&format!("/approvals/{id}"), Some(&session))
        .await
        .body
        .contains("data-testid=\"state\">approved"));
    // A reviewer's session cannot read proofs (auditor only).
    assert_eq!(http.get("/records/0/proof", Some(&session)).await.status, 403);
    let metrics = server.metrics().await;
    for needle in [
        r#"warden_console_actions_total{action="sign_in_refused",outcome="refused"}"#,
        r#"warden_console_actions_total{action="decide",outcome="ok"}"#,
    ] {
        assert!(metrics.contains(needle), "{needle} missing from /metrics");
    }
}

/// The queue says how many approvals wait in all, not how many one page
/// holds, and pages through them with the same tokens as `ListPending`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_shows_the_true_total_and_pages() {
    let server = TestServer::start_with(|c| setup(c, 600), vec![]).await;
    let mut risk = RiskServiceClient::new(server.channel().await);
    for i in 0..130 {
        let mut r = tonic::Request::new(refund(&format!("s-{i}"), 9800));
        r.metadata_mut().insert("authorization", MetadataValue::try_from(format!("Bearer {AGENT}")).unwrap());
        let a = risk.score_action(r).await.unwrap().into_inner();
        assert_eq!(a.decision, pb::Decision::RequireApproval as i32);
    }
    let http = reqwest_like::Client::new(&format!("http://{}", server.admin_addr.unwrap()));
    let cookie = http.sign_in(ALICE).await.set_cookie.expect("signed in");
    let session = cookie.split(';').next().unwrap().to_string();
    let count = |body: &str| {
        body.split("data-testid=\"pending-count\">").nth(1).unwrap().split('<').next().unwrap().to_string()
    };
    let rows = |body: &str| body.matches("<tr data-approval=").count();
    let next = |body: &str| {
        body.split("data-testid=\"next-page\"")
            .next()
            .and_then(|before| before.rsplit("href=\"").next())
            .map(str::to_string)
    };

    let first = http.get("/approvals", Some(&session)).await;
    assert_eq!(first.status, 200);
    assert_eq!((count(&first.body), rows(&first.body)), ("130".to_string(), 100), "the total, and one page of rows");
    assert!(first.body.contains("data-testid=\"next-page\""));
    assert!(!first.body.contains("data-testid=\"first-page\""));
    let link = next(&first.body).unwrap();
    let link = link.split('"').next().unwrap();
    assert!(link.starts_with("/approvals?page_token="), "{link}");

    let second = http.get(link, Some(&session)).await;
    assert_eq!(second.status, 200);
    assert_eq!((count(&second.body), rows(&second.body)), ("130".to_string(), 30));
    assert!(!second.body.contains("data-testid=\"next-page\""), "the last page has no next page");
    assert!(second.body.contains("data-testid=\"first-page\""));
    // The live refresh keeps to the page being read.
    let token = link.trim_start_matches("/approvals?page_token=");
    assert!(second.body.contains(&format!("data-live=\"/approvals/list?page_token={token}\"")));
    let live = http.get(&format!("/approvals/list?page_token={token}"), Some(&session)).await;
    assert_eq!((live.status, rows(&live.body)), (200, 30));
    let ids = |body: &str| {
        body.split("<tr data-approval=\"").skip(1).map(|s| s.split('"').next().unwrap().to_string()).collect::<Vec<_>>()
    };
    let mut all = ids(&first.body);
    all.extend(ids(&second.body));
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 130, "every approval on exactly one page");

    let bad = http.get("/approvals?page_token=nonsense", Some(&session)).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("page_token"), "{}", bad.body);
}

/// A few lines of HTTP/1.1 over a TCP stream: enough to send exactly the
/// requests a browser would not.
mod reqwest_like {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    pub struct Client {
        addr: String,
    }

    pub struct Reply {
        pub status: u16,
        pub location: Option<String>,
        pub set_cookie: Option<String>,
        pub csp: Option<String>,
        pub body: String,
    }

    impl Client {
        pub fn new(base: &str) -> Self {
            Self { addr: base.trim_start_matches("http://").to_string() }
        }

        async fn send(&self, request: String) -> Reply {
            let mut s = tokio::net::TcpStream::connect(&self.addr).await.unwrap();
            s.write_all(request.as_bytes()).await.unwrap();
            let mut raw = Vec::new();
            s.read_to_end(&mut raw).await.unwrap();
            let text = String::from_utf8_lossy(&raw).to_string();
            let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
            let header = |name: &str| {
                head.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                })
            };
            Reply {
                status: head.split_whitespace().nth(1).unwrap().parse().unwrap(),
                location: header("location"),
                set_cookie: header("set-cookie"),
                csp: header("content-security-policy"),
                body: body.to_string(),
            }
        }

        pub async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
            let cookie = cookie.map(|c| format!("Cookie: {c}\r\n")).unwrap_or_default();
            self.send(format!("GET {path} HTTP/1.1\r\nHost: {}\r\n{cookie}Connection: close\r\n\r\n", self.addr)).await
        }

        /// A form post as the console's own page sends it: with its `Origin`.
        pub async fn post(&self, path: &str, cookie: Option<&str>, form: &str, fetch_site: Option<&str>) -> Reply {
            let origin = format!("http://{}", self.addr);
            let mut headers = vec![("Origin", origin.as_str())];
            headers.extend(fetch_site.map(|s| ("Sec-Fetch-Site", s)));
            self.post_with(path, cookie, form, &headers).await
        }

        /// A form post with exactly these extra headers.
        pub async fn post_with(&self, path: &str, cookie: Option<&str>, form: &str, headers: &[(&str, &str)]) -> Reply {
            let cookie = cookie.map(|c| format!("Cookie: {c}\r\n")).unwrap_or_default();
            let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
            self.send(format!(
                "POST {path} HTTP/1.1\r\nHost: {}\r\n{cookie}{extra}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
                self.addr,
                form.len()
            ))
            .await
        }

        /// The sign-in page's cookie (`name=value`) and the CSRF token its form carries.
        pub async fn login_form(&self) -> (String, String) {
            let page = self.get("/login", None).await;
            let cookie = page.set_cookie.expect("a sign-in cookie").split(';').next().unwrap().to_string();
            let csrf = page.body.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
            (cookie, csrf)
        }

        /// Signs in as a browser would: fetch the form, post it back.
        pub async fn sign_in(&self, token: &str) -> Reply {
            let (cookie, csrf) = self.login_form().await;
            self.post("/login", Some(&cookie), &format!("token={token}&csrf={csrf}"), None).await
        }
    }
}

/// The timeline shows records as stored: encrypted content stays encrypted
/// for the investigator, and an erased subject's content shows as erased.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timelines_keep_protected_fields_protected_and_show_erasure() {
    use warden::audit::privacy::FieldMode;
    use warden::proto::v1::audit_service_client::AuditServiceClient;
    const ERIN: &str = "erin-token-0000000000000000000";
    let server = TestServer::start_with(
        |c| {
            setup(c, 600);
            c.audit.privacy.default = FieldMode::Encrypt;
            c.auth.tokens.push(token("erin", ERIN, &[Role::Admin]));
        },
        vec![],
    )
    .await;
    input_as(&server, AGENT, "erase-me", "my phone is +1 650-253-0000, call me about order A-1").await;
    let http = reqwest_like::Client::new(&format!("http://{}", server.admin_addr.unwrap()));
    let r = http.sign_in(CAROL).await;
    let session = r.set_cookie.unwrap().split(';').next().unwrap().to_string();
    let before = http.get("/sessions/erase-me", Some(&session)).await;
    assert_eq!(before.status, 200);
    assert!(before.body.contains("[encrypted]"), "{}", before.body);
    assert!(!before.body.contains("650-253-0000"), "the console must not decrypt");

    let mut audit = AuditServiceClient::new(server.channel().await);
    let mut req = tonic::Request::new(pb::EraseSubjectRequest {
        context: Some(pb::RequestContext { application: "dpo-tool".into(), ..Default::default() }),
        subject: "user:customer-7".into(),
        reason: "erasure request 42".into(),
    });
    req.metadata_mut().insert("authorization", MetadataValue::try_from(format!("Bearer {ERIN}")).unwrap());
    assert!(audit.erase_subject(req).await.unwrap().into_inner().key_existed);
    let after = http.get("/sessions/erase-me", Some(&session)).await;
    assert!(after.body.contains("[erased]"), "{}", after.body);
    assert!(after.body.contains("$erased"));
    assert!(!after.body.contains("650-253-0000"));
}

/// A reviewer's open tab (a live event stream) must not hold up shutdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_live_stream_does_not_hold_up_shutdown() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut server = TestServer::start_with(|c| setup(c, 600), vec![]).await;
    let addr = server.admin_addr.unwrap();
    let http = reqwest_like::Client::new(&format!("http://{addr}"));
    let r = http.sign_in(ALICE).await;
    let session = r.set_cookie.unwrap().split(';').next().unwrap().to_string();
    let mut events = tokio::net::TcpStream::connect(addr).await.unwrap();
    events
        .write_all(format!("GET /events HTTP/1.1\r\nHost: {addr}\r\nCookie: {session}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    // A change arrives on the stream...
    score_as(&server, AGENT, refund("s-live", 9800)).await;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("event: approvals") {
        let n = tokio::time::timeout(Duration::from_secs(30), events.read(&mut buf)).await.unwrap().unwrap();
        assert!(n > 0, "stream closed early: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    // ...and with the stream still open, the server stops.
    tokio::time::timeout(Duration::from_secs(60), server.stop())
        .await
        .expect("shutdown hung on the open stream")
        .unwrap();
}

/// A client event's GenAI facts (operation, provider, model, token counts)
/// show on its timeline, in clear even where the event's attributes are
/// stored encrypted, and the search finds events by them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timelines_show_the_gen_ai_facts_of_client_events() {
    use warden::audit::privacy::FieldMode;
    use warden::proto::v1::audit_service_client::AuditServiceClient;
    let server = TestServer::start_with(
        |c| {
            setup(c, 600);
            c.audit.privacy.default = FieldMode::Encrypt;
        },
        vec![],
    )
    .await;
    let mut context = common::context().unwrap();
    context.session_id = "genai-1".into();
    let event = pb::AuditEvent {
        client_event_id: "call-1".into(),
        context: Some(context),
        kind: "model_call".into(),
        attributes_json: r#"{"gen_ai.operation.name":"chat","gen_ai.provider.name":"openai","gen_ai.request.model":"gpt-4o","gen_ai.usage.input_tokens":120,"gen_ai.usage.output_tokens":35,"gen_ai.input.messages":"card 4111 1111 1111 1111"}"#.into(),
        occurred_at: None,
    };
    let mut req = tonic::Request::new(tokio_stream::iter(vec![event]));
    req.metadata_mut().insert("authorization", MetadataValue::try_from(format!("Bearer {AGENT}")).unwrap());
    let mut audit = AuditServiceClient::new(server.channel().await);
    assert!(audit.append(req).await.unwrap().into_inner().message().await.unwrap().is_some());

    let http = reqwest_like::Client::new(&format!("http://{}", server.admin_addr.unwrap()));
    let session = http.sign_in(CAROL).await.set_cookie.unwrap().split(';').next().unwrap().to_string();
    let page = http.get("/sessions/genai-1", Some(&session)).await;
    assert_eq!(page.status, 200);
    let facts =
        page.body.split("data-testid=\"gen-ai\"").nth(1).expect("the event's GenAI facts").split("</dl>").next();
    for (label, value) in [
        ("operation", "chat"),
        ("provider", "openai"),
        ("model", "gpt-4o"),
        ("input tokens", "120"),
        ("output tokens", "35"),
    ] {
        assert!(facts.unwrap().contains(&format!(">{label}</dt><dd>{value}</dd>")), "{label} in {facts:?}");
    }
    assert!(page.body.contains("[encrypted]") || page.body.contains("$enc"), "the attributes stay encrypted");
    assert!(!page.body.contains("4111 1111"));

    let rows = |body: &str| body.matches("<tr data-seq=").count();
    let found = http.get("/investigate?operation=chat&provider=openai&model=gpt-4o", Some(&session)).await;
    assert_eq!((found.status, rows(&found.body)), (200, 1), "{}", found.body);
    assert!(found.body.contains("/sessions/genai-1"));
    let none = http.get("/investigate?operation=embeddings", Some(&session)).await;
    assert_eq!((none.status, rows(&none.body)), (200, 0));
}
