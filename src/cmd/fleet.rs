//! `warden fleet`: one oversight service for many sidecars.

use super::*;

#[derive(Args)]
pub(crate) struct FleetArgs {
    #[command(flatten)]
    pub(crate) common: CommonArgs,
    /// gRPC listen address.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) grpc_addr: Option<std::net::SocketAddr>,
    /// Prometheus /metrics listen address.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) metrics_addr: Option<std::net::SocketAddr>,
    /// The central PostgreSQL every instance ships to (replaces
    /// `fleet.central`).
    #[arg(long, value_name = "URL")]
    pub(crate) central: Option<String>,
    /// Ship this service's own log (its decisions) to this store;
    /// repeatable, one must be nats://. Replaces `sinks.urls`.
    #[arg(long = "audit-sink", value_name = "URL")]
    pub(crate) audit_sinks: Vec<String>,
    /// Serve the reviewers' web console (every instance's approvals) on
    /// this address.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) admin_addr: Option<std::net::SocketAddr>,
    /// Allow plaintext gRPC and metrics on a non-loopback address.
    #[arg(long)]
    pub(crate) allow_plaintext: bool,
    /// Print the public half of this service's decision key (PEM), which
    /// every sidecar needs as `fleet.decision_key_file`, and exit. Creates
    /// the key on first use.
    #[arg(long)]
    pub(crate) print_decision_key: bool,
}

pub(crate) fn fleet(args: FleetArgs) -> anyhow::Result<ExitCode> {
    let overrides = Overrides {
        grpc_addr: args.grpc_addr,
        metrics_addr: args.metrics_addr,
        data_dir: None,
        audit_sinks: args.audit_sinks,
        allow_plaintext: args.allow_plaintext.then_some(true),
        health_addr: None,
        admin_addr: args.admin_addr,
    };
    let mut config = load_config(&args.common, overrides)?;
    if let Some(central) = args.central {
        config.fleet.central = central;
    }
    if args.print_decision_key {
        let path =
            warden::fleet::decision::key_path(&config.data_dir, config.fleet.decision_signing_key_file.as_deref());
        let key = warden::fleet::decision::load_or_create_key(&path)?;
        print!("{}", warden::fleet::decision::public_pem(&key));
        return Ok(ExitCode::SUCCESS);
    }
    if config.fleet.central.is_empty() {
        return Err(anyhow!("a fleet service reads the central store: set fleet.central or --central"));
    }
    config.fleet.validate().map_err(|e| anyhow!(e))?;
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
        let listeners = warden::Listeners { grpc, metrics: Some(metrics), health, admin };
        warden::server::fleet::serve_fleet(&config, listeners, shutdown).await?;
        Ok(ExitCode::SUCCESS)
    })
}
