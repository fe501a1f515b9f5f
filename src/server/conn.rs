//! Connection hygiene for the gRPC and health listeners: HTTP/2 and TCP
//! keepalive, and a bound on how long a connection may stay silent. A peer
//! that vanished without closing, or that connected and never spoke, would
//! otherwise hold a descriptor for ever and, during shutdown, hold up the
//! drain (a connection still waiting for its HTTP/2 preface cannot be told
//! to go away).

use crate::tls::ConnectionConfig;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use tokio_rustls::server::TlsStream;
use tokio_stream::{Stream, StreamExt};
use tonic::transport::server::Connected;

/// How long a new connection may stay silent before its first bytes (the
/// HTTP/2 preface): the same bound as a TLS handshake in `tls.rs`.
const FIRST_BYTES_TIMEOUT: Duration = Duration::from_secs(10);

/// Which listener a connection came in on; a closed set for the metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    Grpc,
    Health,
}

impl Listener {
    pub fn label(self) -> &'static str {
        match self {
            Listener::Grpc => "grpc",
            Listener::Health => "health",
        }
    }
}

/// The layers under every gRPC server (`server::observe`).
pub type Layers = tower_layer::Stack<super::observe::ObserveLayer, tower_layer::Identity>;

/// A router of a server [`server`] built.
pub type Router = tonic::transport::server::Router<Layers>;

/// A tonic server that pings its peers (a half-open connection, the peer
/// gone and the socket still open, fails its PING and is closed), and that
/// counts, times and traces every call.
pub fn server(config: &ConnectionConfig) -> tonic::transport::Server<Layers> {
    telemetry_started();
    tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(config.keepalive_interval()))
        .http2_keepalive_timeout(Some(config.keepalive_timeout()))
        .layer(super::observe::ObserveLayer)
}

/// Every method's series exist from the start.
fn telemetry_started() {
    crate::telemetry::install();
    crate::telemetry::grpc_methods_started(super::observe::methods().labels());
}

/// The TCP socket under an accepted connection, plain or TLS.
pub trait Socket {
    fn tcp(&self) -> &TcpStream;
}

impl Socket for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Socket for TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

/// Accepted connections with TCP_NODELAY and TCP keepalive set, each closed
/// once its peer has been silent for `idle_timeout_seconds`. Works on plain
/// sockets and on TLS streams alike, so TLS keeps its own acceptor.
pub fn guard<T, S>(
    incoming: S,
    config: &ConnectionConfig,
    listener: Listener,
) -> impl Stream<Item = io::Result<IdleTimeout<T>>>
where
    T: Socket,
    S: Stream<Item = io::Result<T>>,
{
    let config = config.clone();
    incoming.map(move |accepted| {
        accepted.map(|io| {
            tune(io.tcp(), &config);
            IdleTimeout::new(io, config.idle_timeout(), listener)
        })
    })
}

fn tune(tcp: &TcpStream, config: &ConnectionConfig) {
    // TCP_NODELAY: without it, Nagle's algorithm and delayed ACKs add
    // ~40 ms to every small unary answer.
    let _ = tcp.set_nodelay(true);
    let period = config.tcp_keepalive();
    let keepalive = socket2::TcpKeepalive::new().with_time(period).with_interval(period).with_retries(3);
    if let Err(e) = socket2::SockRef::from(tcp).set_tcp_keepalive(&keepalive) {
        tracing::debug!(error = %e, "could not set TCP keepalive on an accepted connection");
    }
}

/// A connection that fails its next read once nothing has arrived from the
/// peer for `idle` (or, before its first bytes, for at most
/// [`FIRST_BYTES_TIMEOUT`]); hyper then closes it. Only reads count: a peer
/// that is alive answers the server's keepalive PINGs, which arrive more
/// often than `idle`.
pub struct IdleTimeout<T> {
    inner: T,
    /// Armed for the current deadline; re-armed lazily when it fires, so a
    /// busy connection costs a clock read per read, not a timer reset.
    timer: Pin<Box<Sleep>>,
    accepted: Instant,
    /// When bytes last arrived; `None` until the first do.
    last_heard: Option<Instant>,
    idle: Duration,
    listener: Listener,
    /// Counted once, however often hyper polls after the failure.
    timed_out: bool,
}

impl<T> IdleTimeout<T> {
    fn new(inner: T, idle: Duration, listener: Listener) -> Self {
        let accepted = Instant::now();
        let first_bytes_by = accepted + idle.min(FIRST_BYTES_TIMEOUT);
        Self {
            inner,
            timer: Box::pin(tokio::time::sleep_until(first_bytes_by)),
            accepted,
            last_heard: None,
            idle,
            listener,
            timed_out: false,
        }
    }

    fn deadline(&self) -> Instant {
        match self.last_heard {
            Some(at) => at + self.idle,
            None => self.accepted + self.idle.min(FIRST_BYTES_TIMEOUT),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleTimeout<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        if let Poll::Ready(read) = Pin::new(&mut this.inner).poll_read(cx, buf) {
            if buf.filled().len() > before {
                this.last_heard = Some(Instant::now());
            }
            return Poll::Ready(read);
        }
        while this.timer.as_mut().poll(cx).is_ready() {
            let deadline = this.deadline();
            if deadline <= Instant::now() {
                if !this.timed_out {
                    this.timed_out = true;
                    crate::telemetry::idle_connection_closed(this.listener.label());
                    tracing::debug!(listener = this.listener.label(), "closing a connection whose peer went silent");
                }
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "nothing arrived from the peer within the idle timeout",
                )));
            }
            this.timer.as_mut().reset(deadline);
        }
        Poll::Pending
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Peer address and client certificates pass through unchanged, so the
/// auth interceptor sees what it saw without the wrapper.
impl<T: Connected> Connected for IdleTimeout<T> {
    type ConnectInfo = T::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}
