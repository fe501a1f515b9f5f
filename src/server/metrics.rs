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
    // Histogram samples wait in buckets until upkeep folds them in; unscraped,
    // they would pile up for as long as the process runs.
    let upkeep = tokio::spawn({
        let handle = handle.clone();
        async move {
            let mut every = tokio::time::interval(UPKEEP_EVERY);
            loop {
                every.tick().await;
                handle.run_upkeep();
            }
        }
    });
    let served = serve_until(listener, tls, handle, shutdown).await;
    upkeep.abort();
    served
}

/// How often histogram samples are folded in without a scrape.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

async fn serve_until(
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
