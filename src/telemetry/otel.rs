//! Logs and traces: where `tracing` events and spans go.
//!
//! Logs go to stderr, as text or (`WARDEN_LOG_FORMAT=json`) one JSON object
//! a line, which carries the OpenTelemetry `trace_id`, `span_id` and
//! `trace_flags` of the span it was logged in when spans are on (the names
//! OpenTelemetry gives them outside OTLP); `RUST_LOG` filters them (default: `info` for the long-running
//! commands, `warn` for one-shot ones). Spans go to an
//! OpenTelemetry collector over OTLP/gRPC only when the standard variables
//! ask for it (`OTEL_EXPORTER_OTLP_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, the exporter's other
//! `OTEL_EXPORTER_OTLP_*`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_TRACES_SAMPLER`, `OTEL_BSP_*`; `OTEL_SDK_DISABLED=true` or
//! `OTEL_TRACES_EXPORTER=none` turn it off again). Off, no exporter exists
//! and Warden's spans, which are all at DEBUG, are disabled at their call
//! sites by the log filter: a span costs one atomic load.
//!
//! The names below are the span vocabulary: the OpenTelemetry RPC and GenAI
//! semantic conventions where one exists, `warden.*` for the rest.

use std::fmt;
use std::time::Duration;

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

/// The environment variable that chooses the log format (`text`, `json`).
/// Read directly, like `RUST_LOG`, because logging starts before the
/// configuration is loaded.
pub const LOG_FORMAT_ENV: &str = "WARDEN_LOG_FORMAT";

/// The `gen_ai.operation.name` of a Score call: a guardrail applied to a
/// model's input, output or tool call.
pub const GEN_AI_OPERATION: &str = "apply_guardrail";

/// Where logs and spans go, held by `main` for the life of the process:
/// dropping it flushes the spans not yet exported.
#[must_use = "dropping it stops the span export"]
pub struct Tracing {
    provider: Option<SdkTracerProvider>,
    /// The exporter's own runtime (one thread): its gRPC channel lives
    /// there, apart from the request workers and from a command's runtime,
    /// so spans of a shutdown still go out after that runtime ended.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Tracing {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(e) = provider.shutdown_with_timeout(Duration::from_secs(5)) {
                eprintln!("warden: exporting the last spans: {e}");
            }
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LogFormat {
    Text,
    Json,
}

/// Installs the process's subscriber: the log layer, and the OpenTelemetry
/// layer when the environment configures an exporter. A second call (an
/// embedding application already installed one) changes nothing.
pub fn init(default_filter: &str) -> Tracing {
    let format = match std::env::var(LOG_FORMAT_ENV).as_deref().map(str::trim) {
        Ok("json") => LogFormat::Json,
        Ok("" | "text") | Err(_) => LogFormat::Text,
        Ok(other) => {
            eprintln!("warden: {LOG_FORMAT_ENV}={other:?} is neither text nor json; logging text");
            LogFormat::Text
        }
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into());
    let logs = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .map_event_format(WithTraceContext)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let (exporter, error) = match exporter() {
        Ok(exporter) => (exporter, None),
        Err(e) => (None, Some(e)),
    };
    let (provider, runtime) = exporter.map_or((None, None), |(provider, runtime)| (Some(provider), Some(runtime)));
    let spans = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("warden"))
            .with_location(false)
            .with_filter(filter_fn(exported))
    });
    let installed = Registry::default().with(logs.with_filter(filter)).with(spans).try_init().is_ok();
    if let Some(e) = error {
        tracing::error!(error = %e, "OpenTelemetry export is off: the OTLP exporter could not be configured");
    }
    if installed && provider.is_some() {
        tracing::info!("exporting spans over OTLP/gRPC");
    }
    Tracing { provider: provider.filter(|_| installed), runtime }
}

/// A JSON log line with the trace context of the OpenTelemetry span it was
/// logged in as top-level fields (`trace_id`, `span_id`, `trace_flags`, as
/// "Trace Context in non-OTLP Log Formats" names them), so a log search
/// finds a call's lines from its trace. The span entered last is the
/// current context (the OpenTelemetry layer activates it on entry); outside
/// any span, or with spans off, the line is as the inner format writes it.
struct WithTraceContext<F>(F);

impl<S, N, F> FormatEvent<S, N> for WithTraceContext<F>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        use opentelemetry::trace::TraceContextExt as _;
        let cx = opentelemetry::Context::current();
        let span = cx.span();
        let sc = span.span_context();
        if !sc.is_valid() {
            return self.0.format_event(ctx, writer, event);
        }
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        match line.strip_prefix('{') {
            Some(rest) => write!(
                writer,
                "{{\"trace_id\":\"{}\",\"span_id\":\"{}\",\"trace_flags\":\"{:02x}\",{rest}",
                sc.trace_id(),
                sc.span_id(),
                sc.trace_flags().to_u8()
            ),
            None => writer.write_str(&line),
        }
    }
}

/// What the OpenTelemetry layer sees: Warden's spans (at DEBUG and above),
/// and warnings and errors, which become events on the span they happen in.
fn exported(meta: &tracing::Metadata<'_>) -> bool {
    if meta.is_span() {
        meta.target().starts_with("warden") && *meta.level() <= tracing::Level::DEBUG
    } else {
        *meta.level() <= tracing::Level::WARN
    }
}

/// The exporter and its runtime when the standard variables configure one.
fn exporter() -> Result<Option<(SdkTracerProvider, tokio::runtime::Runtime)>, String> {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    let is = |name: &str, value: &str| std::env::var(name).is_ok_and(|v| v.trim().eq_ignore_ascii_case(value));
    if !(set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
        || is("OTEL_SDK_DISABLED", "true")
        || is("OTEL_TRACES_EXPORTER", "none")
    {
        return Ok(None);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("warden-otlp")
        .enable_all()
        .build()
        .map_err(|e| format!("starting the exporter's runtime: {e}"))?;
    // The channel's tasks are spawned on the runtime entered here.
    let exporter = {
        let _entered = runtime.enter();
        opentelemetry_otlp::SpanExporter::builder().with_tonic().build().map_err(|e| e.to_string())?
    };
    let mut resource = opentelemetry_sdk::Resource::builder();
    let named = set("OTEL_SERVICE_NAME")
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES")
            .is_ok_and(|a| a.split(',').any(|kv| kv.trim().starts_with("service.name=")));
    if !named {
        resource = resource.with_service_name("warden");
    }
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            resource.with_attribute(opentelemetry::KeyValue::new("service.version", env!("CARGO_PKG_VERSION"))).build(),
        )
        .build();
    Ok(Some((provider, runtime)))
}

/// The W3C trace context (`traceparent`, `tracestate`) of an incoming
/// call's metadata, made the parent of `span`. Without a valid
/// `traceparent` the span starts a trace of its own.
pub fn continue_trace(span: &tracing::Span, headers: &http::HeaderMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    if span.is_disabled() || !headers.contains_key("traceparent") {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&Headers(headers));
    // Fails only when no OpenTelemetry layer is installed: nothing to parent.
    let _ = span.set_parent(parent);
}

/// The trace id (32 lower-case hex digits) of a valid W3C `traceparent`
/// in a call's metadata, read by the same propagator that parents the
/// call's span, whether or not export is on.
pub fn incoming_trace_id(headers: &http::HeaderMap) -> Option<String> {
    use opentelemetry::trace::TraceContextExt as _;
    headers.get("traceparent")?;
    let parent = TraceContextPropagator::new().extract(&Headers(headers));
    let context = parent.span().span_context().clone();
    context.is_valid().then(|| context.trace_id().to_string())
}

struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn a_traceparent_names_its_trace_only_when_valid() {
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
        for (header, expected) in [
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", Some(trace)),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", Some(trace)),
            // A later version may add parts; version 00 may not.
            ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more", Some(trace)),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more", None),
            ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", None),
            // W3C: upper-case hex is invalid.
            ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", None),
            ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", None),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736", None),
            ("nonsense", None),
        ] {
            let mut headers = http::HeaderMap::new();
            headers.insert("traceparent", header.parse().unwrap());
            assert_eq!(incoming_trace_id(&headers).as_deref(), expected, "{header}");
        }
        assert_eq!(incoming_trace_id(&http::HeaderMap::new()), None);
    }

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn json_lines_in_a_span_carry_its_trace_context() {
        let lines = Lines::default();
        let writer = lines.clone();
        let provider = SdkTracerProvider::builder().build();
        let subscriber = Registry::default()
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .map_event_format(WithTraceContext)
                    .with_writer(move || writer.clone())
                    .with_filter(EnvFilter::new("info")),
            )
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")).with_filter(filter_fn(exported)));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("outside any span");
            let mut headers = http::HeaderMap::new();
            headers.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
            let span = tracing::debug_span!(target: "warden::rpc", "rpc");
            continue_trace(&span, &headers);
            span.in_scope(|| tracing::info!(answer = 42, "inside the call"));
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let parsed: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(parsed.len(), 2, "{text}");
        assert!(parsed[0].get("trace_id").is_none(), "{text}");
        let inside = &parsed[1];
        assert_eq!(inside["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736", "{text}");
        let span_id = inside["span_id"].as_str().unwrap();
        assert!(span_id.len() == 16 && span_id != "00f067aa0ba902b7", "the call's own span: {text}");
        assert_eq!(inside["trace_flags"], "01");
        assert_eq!(inside["fields"]["answer"], 42, "the line is otherwise as before: {text}");
    }
}
