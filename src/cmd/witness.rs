//! `warden witness`.

use super::*;

#[derive(Args)]
pub(crate) struct WitnessArgs {
    /// HTTP listen address.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7380")]
    pub(crate) addr: std::net::SocketAddr,
    /// The witness's name in its cosignatures (a schema-less URL).
    #[arg(long)]
    pub(crate) name: String,
    /// Its Ed25519 PKCS#8 PEM key; created (0600) if absent.
    #[arg(long, value_name = "FILE")]
    pub(crate) key: PathBuf,
    /// A log to witness, as its verifier key (the last line of `warden
    /// audit pubkey`); repeatable.
    #[arg(long = "log", value_name = "VKEY")]
    pub(crate) logs: Vec<String>,
    /// Where the newest cosigned checkpoint of each log is kept.
    #[arg(long, value_name = "DIR")]
    pub(crate) state_dir: PathBuf,
    /// Print the witness's verifier key (for `[[audit.witnesses]] vkey`) and exit.
    #[arg(long)]
    pub(crate) print_vkey: bool,
}

pub(crate) fn witness(args: WitnessArgs) -> anyhow::Result<ExitCode> {
    let config = warden::witness::WitnessConfig {
        name: args.name,
        key_file: args.key,
        logs: args.logs,
        state_dir: args.state_dir,
    };
    let witness = warden::witness::Witness::open(&config)?;
    if args.print_vkey {
        println!("{}", witness.vkey());
        return Ok(ExitCode::SUCCESS);
    }
    if config.logs.is_empty() {
        anyhow::bail!("name at least one log to witness with --log <vkey> (`warden audit pubkey` prints it)");
    }
    runtime()?.block_on(async move {
        let shutdown = shutdown_signal();
        let listener =
            TcpListener::bind(args.addr).await.with_context(|| format!("cannot listen for the witness on {}", args.addr))?;
        tracing::info!(addr = %listener.local_addr()?, vkey = %witness.vkey(), logs = config.logs.len(), "witness listening");
        warden::witness::http::serve(std::sync::Arc::new(witness), listener, shutdown).await?;
        Ok(ExitCode::SUCCESS)
    })
}
