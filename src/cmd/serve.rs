//! `warden serve`.

use super::*;

#[derive(Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) common: CommonArgs,
    /// gRPC listen address.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) grpc_addr: Option<std::net::SocketAddr>,
    /// Prometheus /metrics listen address.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) metrics_addr: Option<std::net::SocketAddr>,
    /// Ship the audit log to this store (postgres://... or nats://...);
    /// repeatable. Replaces `sinks.urls` from the config.
    #[arg(long = "audit-sink", value_name = "URL")]
    pub(crate) audit_sinks: Vec<String>,
    /// Serve grpc.health.v1 alone, in plaintext, on this address (for
    /// Kubernetes gRPC probes when gRPC itself uses TLS).
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) health_addr: Option<std::net::SocketAddr>,
    /// Serve the reviewer and investigator web console on this address.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) admin_addr: Option<std::net::SocketAddr>,
    /// Allow plaintext gRPC and metrics on a non-loopback address (without
    /// `[tls]`); logged as a warning. Never needed on 127.0.0.1.
    #[arg(long)]
    pub(crate) allow_plaintext: bool,
    /// Start even though records after the log's last checkpoint span more
    /// than the checkpoint interval plus its grace (checkpoints deleted, or
    /// a writer that could not sign): sign them, with an
    /// `unsigned_tail_accepted` record saying so. For this start only.
    #[arg(long)]
    pub(crate) accept_unsigned_tail: bool,
}

pub(crate) fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let overrides = Overrides {
        grpc_addr: args.grpc_addr,
        metrics_addr: args.metrics_addr,
        data_dir: None,
        audit_sinks: args.audit_sinks,
        allow_plaintext: args.allow_plaintext.then_some(true),
        health_addr: args.health_addr,
        admin_addr: args.admin_addr,
    };
    let mut config = load_config(&args.common, overrides)?;
    config.audit.accept_unsigned_tail = args.accept_unsigned_tail;
    runtime()?.block_on(async move {
        let shutdown = shutdown_signal();
        let grpc = TcpListener::bind(config.grpc_addr)
            .await
            .with_context(|| format!("cannot listen for gRPC on {}", config.grpc_addr))?;
        let metrics = TcpListener::bind(config.metrics_addr)
            .await
            .with_context(|| format!("cannot listen for metrics on {}", config.metrics_addr))?;
        let health = match config.health_addr {
            Some(addr) => Some(
                TcpListener::bind(addr).await.with_context(|| format!("cannot listen for health checks on {addr}"))?,
            ),
            None => None,
        };
        let admin = match config.admin_addr {
            Some(addr) => Some(
                TcpListener::bind(addr).await.with_context(|| format!("cannot listen for the console on {addr}"))?,
            ),
            None => None,
        };
        warden::run(config, warden::Listeners { grpc, metrics: Some(metrics), health, admin }, shutdown).await?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Resolves on SIGINT or SIGTERM (what Kubernetes sends before killing a
/// pod). The handlers are installed when this is called, not when the
/// future is first polled: a SIGTERM that arrives while the server is still
/// starting (after it logged its addresses, before it waits) is not lost to
/// the default action.
pub(crate) fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    #[cfg(unix)]
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    async move {
        #[cfg(unix)]
        {
            let term = async {
                match term.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let int = async {
                match int.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = term => {},
                () = int => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
