//! `GET /metrics` in the Prometheus text format, with the process metrics
//! read at each scrape.

use std::future::Future;

use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;

pub async fn serve(
    listener: TcpListener,
    tls: Option<crate::tls::Acceptor>,
    handle: PrometheusHandle,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                // Histograms are only accurate if their buckets drain now and then.
                handle.run_upkeep();
                crate::telemetry::collect_process();
                ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render())
            }
        }),
    );
    match tls {
        Some(acceptor) => {
            axum::serve(crate::tls::MetricsListener::new(listener, &acceptor)?, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
        None => axum::serve(listener, app).with_graceful_shutdown(shutdown).await,
    }
}
