//! `grpc.health.v1.Health`: tonic-health's service, with `Watch` streams
//! that end when shutdown begins. tonic-health's own stream never ends, and
//! the server's graceful shutdown waits for open streams, so one watcher
//! (a load balancer, a probe) held the whole drain open. Here a watcher
//! sees NOT_SERVING, then UNAVAILABLE. A `Watch` of a service that is not
//! served gets SERVICE_UNKNOWN and stays open, as the health protocol says
//! (tonic-health answers NOT_FOUND, which clients take for a broken server).

use std::pin::Pin;

use futures_util::StreamExt;
use tokio::sync::watch;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_server::Health;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tonic_health::server::{HealthReporter, HealthService};

pub struct HealthApi {
    inner: HealthService,
    /// Turns true when the server shuts down; open `Watch` streams end.
    stopping: watch::Receiver<bool>,
}

impl HealthApi {
    /// Serves the statuses `reporter` sets.
    pub fn new(reporter: HealthReporter, stopping: watch::Receiver<bool>) -> Self {
        Self { inner: HealthService::from_health_reporter(reporter), stopping }
    }
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

fn response(status: ServingStatus) -> HealthCheckResponse {
    HealthCheckResponse { status: status as i32 }
}

/// What a `Watch` stream does next.
struct Watching {
    statuses: WatchStream,
    stopping: watch::Receiver<bool>,
    /// The last status sent, so the watcher is told NOT_SERVING before the
    /// end even if the stop outran the status change.
    last: Option<ServingStatus>,
    ended: bool,
}

#[tonic::async_trait]
impl Health for HealthApi {
    async fn check(&self, request: Request<HealthCheckRequest>) -> Result<Response<HealthCheckResponse>, Status> {
        self.inner.check(request).await
    }

    type WatchStream = WatchStream;

    async fn watch(&self, request: Request<HealthCheckRequest>) -> Result<Response<WatchStream>, Status> {
        let statuses: WatchStream = match self.inner.watch(request).await {
            Ok(statuses) => Box::pin(statuses.into_inner()),
            // The services are fixed at start-up: an unknown one stays
            // unknown until the end.
            Err(status) if status.code() == tonic::Code::NotFound => Box::pin(
                futures_util::stream::once(async { Ok::<_, Status>(response(ServingStatus::ServiceUnknown)) })
                    .chain(futures_util::stream::pending()),
            ),
            Err(status) => return Err(status),
        };
        let start = Watching { statuses, stopping: self.stopping.clone(), last: None, ended: false };
        let stream = futures_util::stream::unfold(start, |mut w| async move {
            if w.ended {
                return None;
            }
            tokio::select! {
                // A status change that is ready goes out before the end.
                biased;
                next = w.statuses.next() => {
                    let next = next?;
                    match &next {
                        Ok(r) => w.last = ServingStatus::try_from(r.status).ok(),
                        Err(_) => w.ended = true,
                    }
                    Some((next, w))
                }
                () = super::until_stopping(&mut w.stopping) => {
                    if !matches!(w.last, Some(ServingStatus::NotServing | ServingStatus::ServiceUnknown)) {
                        w.last = Some(ServingStatus::NotServing);
                        return Some((Ok(response(ServingStatus::NotServing)), w));
                    }
                    w.ended = true;
                    Some((Err(super::shutting_down()), w))
                }
            }
        });
        Ok(Response::new(Box::pin(stream)))
    }
}
