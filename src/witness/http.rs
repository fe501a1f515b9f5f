//! The witness over HTTP, both sides.
//!
//! Server (`warden witness`): `POST /add-checkpoint` as C2SP `tlog-witness`
//! says (200 with the cosignature line; 400, 403, 404, 409 with
//! `text/x.tlog.size`, 422), and `GET /checkpoint?origin=<origin>` with the
//! newest checkpoint it cosigned for that log (404 if none).
//!
//! Client (the log side and `audit verify --witness`): plain HTTP/1.1 with
//! hyper. Nothing on the wire needs secrecy or trust: what a witness says is
//! trusted only through its cosignature.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use tokio::net::TcpListener;

use super::{Witness, WitnessError};

/// Largest request body the witness reads (63 proof lines and a note).
const MAX_BODY: usize = 64 * 1024;

pub async fn serve(
    witness: Arc<Witness>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/checkpoint", get(latest))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(witness);
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

async fn add_checkpoint(State(witness): State<Arc<Witness>>, body: String) -> Response {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    // Signing and the fsync of the new state are blocking work.
    let outcome = tokio::task::spawn_blocking(move || witness.add_checkpoint(&body, now)).await;
    match outcome {
        Ok(Ok(line)) => (StatusCode::OK, line).into_response(),
        Ok(Err(WitnessError::Conflict(size))) => {
            (StatusCode::CONFLICT, [(header::CONTENT_TYPE, "text/x.tlog.size")], format!("{size}\n")).into_response()
        }
        Ok(Err(e)) => {
            tracing::info!(error = %e, "refused a checkpoint");
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, format!("{e}\n")).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

#[derive(serde::Deserialize)]
struct Origin {
    origin: String,
}

async fn latest(State(witness): State<Arc<Witness>>, Query(q): Query<Origin>) -> Response {
    match witness.latest(&q.origin) {
        Some(note) => (StatusCode::OK, note).into_response(),
        None => (StatusCode::NOT_FOUND, "no checkpoint cosigned for this log\n").into_response(),
    }
}

/// What a witness answered.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("witness {url}: {reason}")]
pub struct ClientError {
    pub url: String,
    pub reason: String,
}

/// Sends `add-checkpoint` to the witness at `base` (`http://host:port[/prefix]`).
pub async fn submit(base: &str, body: String, timeout: Duration) -> Result<Answer, ClientError> {
    request(base, "POST", "/add-checkpoint", body, timeout).await
}

/// Asks the witness at `base` for the newest checkpoint it cosigned for
/// `origin`; `None` if it has none.
pub async fn fetch_latest(base: &str, origin: &str, timeout: Duration) -> Result<Option<String>, ClientError> {
    let query: String = url::form_urlencoded::Serializer::new(String::new()).append_pair("origin", origin).finish();
    let answer = request(base, "GET", &format!("/checkpoint?{query}"), String::new(), timeout).await?;
    match answer.status {
        200 => Ok(Some(answer.body)),
        404 => Ok(None),
        s => Err(ClientError { url: base.to_string(), reason: format!("HTTP {s}: {}", answer.body.trim()) }),
    }
}

async fn request(base: &str, method: &str, path: &str, body: String, timeout: Duration) -> Result<Answer, ClientError> {
    let fail = |reason: String| ClientError { url: base.to_string(), reason };
    let url = url::Url::parse(base).map_err(|e| fail(e.to_string()))?;
    if url.scheme() != "http" {
        return Err(fail("only http:// is supported (put a TLS-terminating proxy in front)".into()));
    }
    let host = url.host_str().ok_or_else(|| fail("no host".into()))?.to_string();
    let port = url.port_or_known_default().unwrap_or(80);
    let target = format!("{}{path}", url.path().trim_end_matches('/'));
    let exchange = async {
        let stream = tokio::net::TcpStream::connect((host.as_str(), port)).await.map_err(|e| fail(e.to_string()))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| fail(e.to_string()))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let request = hyper::Request::builder()
            .method(method)
            .uri(&target)
            .header(header::HOST, format!("{host}:{port}"))
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| fail(e.to_string()))?;
        let response = sender.send_request(request).await.map_err(|e| fail(e.to_string()))?;
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.map_err(|e| fail(e.to_string()))?.to_bytes();
        if bytes.len() > MAX_BODY {
            return Err(fail("the answer is too large".into()));
        }
        Ok(Answer { status, body: String::from_utf8_lossy(&bytes).into_owned() })
    };
    tokio::time::timeout(timeout, exchange).await.map_err(|_| fail(format!("no answer within {timeout:?}")))?
}
