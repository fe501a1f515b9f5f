//! Every RPC of every service, counted, timed and traced in one tower layer
//! under the gRPC server, so that no service and no error path is missed:
//! Warden's own services, health and reflection, an unknown method, a call
//! the authentication interceptor refused.
//!
//! Counted as go-grpc-middleware counts (`grpc_server_started_total`,
//! `grpc_server_handled_total`, `grpc_server_handling_seconds`,
//! `grpc_server_msg_received_total`, `grpc_server_msg_sent_total`, labelled
//! by `grpc_type`, `grpc_service`, `grpc_method`, `grpc_code`), which is what
//! the stock gRPC dashboards read. Messages are counted from the gRPC framing
//! of the bodies as they pass, so a stream's count grows while it is open. Label values come only from the methods
//! Warden serves (its descriptor sets); any other path is `unknown`.
//!
//! Traced as the OpenTelemetry RPC conventions say: one server span named
//! `package.Service/Method`, parented on the caller's `traceparent`, open
//! until the call's status is sent (a stream's last message), so the spans
//! of the handler's stages are its children.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Instant;

use http_body::{Body, Frame, SizeHint};
use prost::Message as _;
use tracing::Instrument as _;

use crate::telemetry;

/// The layer `conn::server` puts under every gRPC server.
#[derive(Debug, Clone, Copy, Default)]
pub struct ObserveLayer;

impl<S> tower_layer::Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe { inner }
    }
}

#[derive(Debug, Clone)]
pub struct Observe<S> {
    inner: S,
}

impl<S, ResBody> tower_service::Service<http::Request<tonic::body::Body>> for Observe<S>
where
    S: tower_service::Service<http::Request<tonic::body::Body>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Tracked<ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let method = methods().get(request.uri().path());
        telemetry::grpc_started(method.kind, method.service, method.method);
        let (received, sent) = telemetry::grpc_messages(method.kind, method.service, method.method);
        let request = request
            .map(|inner| tonic::body::Body::new(Counted { inner, messages: Messages::default(), counter: received }));
        let span = tracing::debug_span!(
            target: "warden::rpc",
            "rpc",
            otel.name = method.name,
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            rpc.system = "grpc",
            rpc.service = method.service,
            rpc.method = method.method,
            rpc.grpc.status_code = tracing::field::Empty,
        );
        telemetry::otel::continue_trace(&span, request.headers());
        let started = Instant::now();
        let future = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        Box::pin(async move {
            match future.instrument(span.clone()).await {
                Ok(response) => {
                    // An error before any message is a trailers-only
                    // response: the status is in the headers.
                    let code = status_of(response.headers());
                    let call = Call { method, started, span, code };
                    let counted = Counted { inner: (), messages: Messages::default(), counter: sent };
                    Ok(response.map(|inner| Tracked { inner, call: Some(call), sent: counted }))
                }
                Err(e) => {
                    Call { method, started, span, code: Some(tonic::Code::Unknown) }.finish();
                    Err(e)
                }
            }
        })
    }
}

/// A response body that reports its call when the status goes out (the
/// trailers), when it ends, or when it is dropped unfinished (the client
/// went away: `Canceled`).
pub struct Tracked<B> {
    inner: B,
    call: Option<Call>,
    /// The messages sent (`inner` unused: the body is `Tracked`'s own).
    sent: Counted<()>,
}

struct Call {
    method: Method,
    started: Instant,
    span: tracing::Span,
    /// The status, once seen in the headers or the trailers.
    code: Option<tonic::Code>,
}

impl Call {
    fn finish(self) {
        let code = self.code.unwrap_or(tonic::Code::Cancelled);
        telemetry::grpc_handled(
            self.method.kind,
            self.method.service,
            self.method.method,
            code_label(code),
            self.started.elapsed(),
        );
        self.span.record("rpc.grpc.status_code", code as i32);
        // The RPC conventions' server-side errors; a client's mistake
        // (INVALID_ARGUMENT, PERMISSION_DENIED, ...) leaves the span unset.
        if matches!(
            code,
            tonic::Code::Unknown
                | tonic::Code::DeadlineExceeded
                | tonic::Code::Unimplemented
                | tonic::Code::Internal
                | tonic::Code::Unavailable
                | tonic::Code::DataLoss
        ) {
            self.span.record("otel.status_code", "ERROR");
        }
    }
}

impl<B> Drop for Tracked<B> {
    fn drop(&mut self) {
        if let Some(call) = self.call.take() {
            call.finish();
        }
    }
}

impl<B> Body for Tracked<B>
where
    B: Body + Unpin,
    B::Data: AsRef<[u8]>,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = &mut *self;
        let polled = {
            // A streaming handler's work happens as its body is polled.
            let _entered = this.call.as_ref().map(|c| c.span.enter());
            Pin::new(&mut this.inner).poll_frame(cx)
        };
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.sent.count(data.as_ref());
                }
                if let Some(code) = frame.trailers_ref().and_then(status_of) {
                    if let Some(mut call) = this.call.take() {
                        call.code = Some(code);
                        call.finish();
                    }
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(mut call) = this.call.take() {
                    call.code = Some(tonic::Code::Internal);
                    call.finish();
                }
            }
            Poll::Ready(None) => {
                if let Some(mut call) = this.call.take() {
                    call.code = call.code.or(Some(tonic::Code::Unknown));
                    call.finish();
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A request body that counts its gRPC messages as they arrive (and, with
/// `inner: ()`, the counting half of [`Tracked`]).
struct Counted<B> {
    inner: B,
    messages: Messages,
    counter: metrics::Counter,
}

impl<B> Counted<B> {
    fn count(&mut self, bytes: &[u8]) {
        let n = self.messages.feed(bytes);
        if n > 0 {
            self.counter.increment(n);
        }
    }
}

impl<B> Body for Counted<B>
where
    B: Body<Data = tonic::codegen::Bytes> + Unpin,
{
    type Data = tonic::codegen::Bytes;
    type Error = B::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, B::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                this.count(data);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Where a byte stream stands in gRPC's framing: each message is a 5-byte
/// prefix (a compression flag, a big-endian length) and that many bytes,
/// and a frame of the body may hold part of one or several.
#[derive(Debug, Default)]
struct Messages {
    prefix: [u8; 5],
    /// Bytes of the prefix read so far.
    have: usize,
    /// Bytes of the current message still to come.
    rest: u64,
}

impl Messages {
    /// The messages that `bytes`, the next of the stream, complete.
    fn feed(&mut self, mut bytes: &[u8]) -> u64 {
        let mut complete = 0;
        while !bytes.is_empty() {
            if self.rest > 0 {
                let take = self.rest.min(bytes.len() as u64);
                self.rest -= take;
                bytes = &bytes[take as usize..];
                if self.rest == 0 {
                    complete += 1;
                }
                continue;
            }
            let take = (5 - self.have).min(bytes.len());
            self.prefix[self.have..self.have + take].copy_from_slice(&bytes[..take]);
            self.have += take;
            bytes = &bytes[take..];
            if self.have == 5 {
                self.have = 0;
                let len = u32::from_be_bytes([self.prefix[1], self.prefix[2], self.prefix[3], self.prefix[4]]);
                self.rest = u64::from(len);
                if len == 0 {
                    complete += 1;
                }
            }
        }
        complete
    }
}

fn status_of(headers: &http::HeaderMap) -> Option<tonic::Code> {
    let value = headers.get("grpc-status")?.to_str().ok()?.parse::<i32>().ok()?;
    Some(tonic::Code::from_i32(value))
}

/// `grpc_code` as gRPC's own implementations spell it (Go's `codes.Code`).
pub fn code_label(code: tonic::Code) -> &'static str {
    use tonic::Code as C;
    match code {
        C::Ok => "OK",
        C::Cancelled => "Canceled",
        C::Unknown => "Unknown",
        C::InvalidArgument => "InvalidArgument",
        C::DeadlineExceeded => "DeadlineExceeded",
        C::NotFound => "NotFound",
        C::AlreadyExists => "AlreadyExists",
        C::PermissionDenied => "PermissionDenied",
        C::ResourceExhausted => "ResourceExhausted",
        C::FailedPrecondition => "FailedPrecondition",
        C::Aborted => "Aborted",
        C::OutOfRange => "OutOfRange",
        C::Unimplemented => "Unimplemented",
        C::Internal => "Internal",
        C::Unavailable => "Unavailable",
        C::DataLoss => "DataLoss",
        C::Unauthenticated => "Unauthenticated",
    }
}

/// One method's labels; all of them borrow the process-wide table.
#[derive(Debug, Clone, Copy)]
struct Method {
    /// `package.Service/Method`: the span's name.
    name: &'static str,
    service: &'static str,
    method: &'static str,
    kind: &'static str,
}

const UNKNOWN: Method = Method { name: "unknown", service: "unknown", method: "unknown", kind: "unary" };

/// Every method the server can route to, by path (`/package.Service/Method`),
/// read from the descriptor sets compiled into the binary.
pub struct Methods {
    by_path: HashMap<String, Entry>,
}

struct Entry {
    name: String,
    service: String,
    method: String,
    kind: &'static str,
}

impl Methods {
    fn get(&'static self, path: &str) -> Method {
        self.by_path.get(path).map_or(UNKNOWN, |e| Method {
            name: &e.name,
            service: &e.service,
            method: &e.method,
            kind: e.kind,
        })
    }

    /// (grpc_type, grpc_service, grpc_method) of every method.
    pub fn labels(&'static self) -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
        self.by_path.values().map(|e| (e.kind, e.service.as_str(), e.method.as_str()))
    }
}

/// The table of methods, built once from immutable compiled-in descriptors.
pub fn methods() -> &'static Methods {
    static METHODS: OnceLock<Methods> = OnceLock::new();
    METHODS.get_or_init(|| {
        let mut by_path = HashMap::new();
        for set in [
            crate::proto::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
        ] {
            let set = prost_types::FileDescriptorSet::decode(set).expect("compiled-in descriptor sets decode");
            for file in set.file {
                let package = file.package();
                for service in &file.service {
                    let service_name = if package.is_empty() {
                        service.name().to_string()
                    } else {
                        format!("{package}.{}", service.name())
                    };
                    for method in &service.method {
                        let kind = match (method.client_streaming(), method.server_streaming()) {
                            (false, false) => "unary",
                            (true, false) => "client_stream",
                            (false, true) => "server_stream",
                            (true, true) => "bidi_stream",
                        };
                        let name = format!("{service_name}/{}", method.name());
                        by_path.insert(
                            format!("/{name}"),
                            Entry { name, service: service_name.clone(), method: method.name().to_string(), kind },
                        );
                    }
                }
            }
        }
        Methods { by_path }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_come_from_the_descriptors_with_their_streaming_kind() {
        let table = methods();
        for (path, service, method, kind) in [
            ("/warden.v1.RiskService/ScoreInput", "warden.v1.RiskService", "ScoreInput", "unary"),
            ("/warden.v1.AuditService/Append", "warden.v1.AuditService", "Append", "bidi_stream"),
            ("/warden.v1.AuditService/Tail", "warden.v1.AuditService", "Tail", "server_stream"),
            ("/grpc.health.v1.Health/Check", "grpc.health.v1.Health", "Check", "unary"),
            (
                "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                "grpc.reflection.v1.ServerReflection",
                "ServerReflectionInfo",
                "bidi_stream",
            ),
            ("/no.such.Service/Method", "unknown", "unknown", "unary"),
        ] {
            let m = table.get(path);
            assert_eq!((m.service, m.method, m.kind), (service, method, kind), "{path}");
        }
    }

    #[test]
    fn messages_are_counted_across_and_within_frames() {
        let message = |len: u8| {
            let mut m = vec![0, 0, 0, 0, len];
            m.extend(std::iter::repeat_n(7u8, len as usize));
            m
        };
        let mut stream = Vec::new();
        for len in [3, 0, 200, 1] {
            stream.extend(message(len));
        }
        // Every way of cutting the stream in two counts the same four.
        for cut in 0..=stream.len() {
            let mut m = Messages::default();
            let (a, b) = stream.split_at(cut);
            assert_eq!(m.feed(a) + m.feed(b), 4, "cut at {cut}");
        }
        // Byte by byte, each message counts when its last byte arrives.
        let mut m = Messages::default();
        let counts: Vec<u64> = stream.iter().map(|b| m.feed(std::slice::from_ref(b))).collect();
        assert_eq!(counts.iter().sum::<u64>(), 4);
        assert_eq!(counts[7], 1, "the first message ends at its 8th byte");
    }

    #[test]
    fn grpc_codes_are_spelled_as_go_spells_them() {
        assert_eq!(code_label(tonic::Code::Ok), "OK");
        assert_eq!(code_label(tonic::Code::Cancelled), "Canceled");
        assert_eq!(code_label(tonic::Code::InvalidArgument), "InvalidArgument");
    }
}
