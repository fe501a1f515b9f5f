//! The `warden` command line: `serve`, `score`, `audit ...`, `report`,
//! `incident`. Errors are one line on stderr and a non-zero exit, never a
//! backtrace. Only `serve` and `score` start a log in an empty data dir;
//! the tools that work on an existing log refuse one without (a mistyped
//! `--data-dir`), unless `--init` says a new log is meant.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use clap::{Args, Parser, Subcommand, ValueEnum};
use tokio::net::TcpListener;
use warden::config::{Config, Overrides};
use warden::proto::v1 as pb;
use warden::scoring::ScoreRequest;

#[derive(Parser)]
#[command(name = "warden", version, about = "Risk scoring, audit logs and compliance evidence for AI systems")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gRPC service (and the /metrics endpoint).
    Serve(ServeArgs),
    /// Score one request (proto3 JSON) in-process and print the assessment.
    Score(ScoreArgs),
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Write a compliance report (report.html, report.json) and its evidence
    /// bundle (evidence/) from the local audit log. The server must be
    /// stopped; a running one offers ComplianceService.GenerateReport.
    Report(ReportArgs),
    /// The incident register (EU AI Act Art. 73): record an incident or a
    /// later step of one, or list them.
    Incident {
        #[command(subcommand)]
        command: IncidentCommand,
    },
    /// Run a witness (C2SP tlog-witness) for Warden logs: it cosigns a
    /// log's checkpoints only while each extends the last it cosigned.
    Witness(WitnessArgs),
}

#[derive(Args)]
struct WitnessArgs {
    /// HTTP listen address.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7380")]
    addr: std::net::SocketAddr,
    /// The witness's name in its cosignatures (a schema-less URL).
    #[arg(long)]
    name: String,
    /// Its Ed25519 PKCS#8 PEM key; created (0600) if absent.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// A log to witness, as its verifier key (the last line of `warden
    /// audit pubkey`); repeatable.
    #[arg(long = "log", value_name = "VKEY")]
    logs: Vec<String>,
    /// Where the newest cosigned checkpoint of each log is kept.
    #[arg(long, value_name = "DIR")]
    state_dir: PathBuf,
    /// Print the witness's verifier key (for `[[audit.witnesses]] vkey`) and exit.
    #[arg(long)]
    print_vkey: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum FrameworkArg {
    #[value(name = "eu-ai-act")]
    EuAiAct,
    #[value(name = "nist-ai-rmf")]
    NistAiRmf,
    #[value(name = "iso-42001")]
    Iso42001,
}

#[derive(Args)]
struct ReportArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[arg(long, value_enum)]
    framework: FrameworkArg,
    /// Period start (RFC 3339, or a date: 2026-05-01).
    #[arg(long, value_name = "DATE")]
    from: String,
    /// Period end (RFC 3339, exclusive; or a date, inclusive).
    #[arg(long, value_name = "DATE")]
    to: String,
    #[arg(long)]
    tenant: Option<String>,
    #[arg(long)]
    application: Option<String>,
    /// Directory to write the report and evidence bundle into.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Who generates the report (recorded); $USER by default.
    #[arg(long)]
    actor: Option<String>,
    /// Start a new audit log under --data-dir if it holds none.
    #[arg(long)]
    init: bool,
}

#[derive(Subcommand)]
enum IncidentCommand {
    /// Record an incident (--event reported, the default) or a later step of
    /// one (--id with --event notified|updated|closed). Prints the incident
    /// id and its audit record. The server must be stopped; a running one
    /// offers ComplianceService.RecordIncident.
    Record(IncidentArgs),
    /// Print every incident step, oldest first, one JSON object per line.
    List {
        #[command(flatten)]
        common: CommonArgs,
    },
}

#[derive(Args)]
struct IncidentArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// reported, notified, updated or closed.
    #[arg(long, default_value = "reported")]
    event: String,
    /// The incident (for every event but reported).
    #[arg(long)]
    id: Option<String>,
    /// death, critical_infrastructure, widespread_infringement, serious or minor.
    #[arg(long)]
    severity: String,
    #[arg(long, default_value = "")]
    title: String,
    #[arg(long, default_value = "")]
    description: String,
    /// When the organisation first became aware (RFC 3339 or a date).
    #[arg(long, value_name = "TIME")]
    aware_at: String,
    /// An audit record id the incident concerns; repeatable.
    #[arg(long = "record", value_name = "RECORD_ID")]
    records: Vec<String>,
    /// The authority notified (for --event notified).
    #[arg(long, default_value = "")]
    authority: String,
    /// When the authority was notified (default: now).
    #[arg(long, value_name = "TIME", default_value = "")]
    notified_at: String,
    #[arg(long)]
    actor: Option<String>,
    #[arg(long, default_value = "")]
    tenant: String,
    #[arg(long, default_value = "")]
    application: String,
    /// Start a new audit log under --data-dir if it holds none (a first
    /// incident recorded before the server ever ran).
    #[arg(long)]
    init: bool,
}

#[derive(Args)]
struct CommonArgs {
    /// TOML config file (overrides WARDEN_* environment variables).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory for the audit journal and other state.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// gRPC listen address.
    #[arg(long, value_name = "HOST:PORT")]
    grpc_addr: Option<std::net::SocketAddr>,
    /// Prometheus /metrics listen address.
    #[arg(long, value_name = "HOST:PORT")]
    metrics_addr: Option<std::net::SocketAddr>,
    /// Ship the audit log to this store (postgres://... or nats://...);
    /// repeatable. Replaces `sinks.urls` from the config.
    #[arg(long = "audit-sink", value_name = "URL")]
    audit_sinks: Vec<String>,
    /// Serve grpc.health.v1 alone, in plaintext, on this address (for
    /// Kubernetes gRPC probes when gRPC itself uses TLS).
    #[arg(long, value_name = "HOST:PORT")]
    health_addr: Option<std::net::SocketAddr>,
    /// Serve the reviewer and investigator web console on this address.
    #[arg(long, value_name = "HOST:PORT")]
    admin_addr: Option<std::net::SocketAddr>,
    /// Allow plaintext gRPC and metrics on a non-loopback address (without
    /// `[tls]`); logged as a warning. Never needed on 127.0.0.1.
    #[arg(long)]
    allow_plaintext: bool,
    /// Start even though records after the log's last checkpoint span more
    /// than the checkpoint interval plus its grace (checkpoints deleted, or
    /// a writer that could not sign): sign them, with an
    /// `unsigned_tail_accepted` record saying so. For this start only.
    #[arg(long)]
    accept_unsigned_tail: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Surface {
    Input,
    Output,
    Action,
}

#[derive(Args)]
struct ScoreArgs {
    /// Which RPC's request the JSON is.
    surface: Surface,
    /// Request file (proto3 JSON); standard input when absent.
    #[arg(long, value_name = "FILE")]
    request: Option<PathBuf>,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verify the whole local audit log (records, hash chain, Merkle tree,
    /// signed checkpoints); non-zero exit on the first inconsistency.
    Verify {
        #[command(flatten)]
        common: CommonArgs,
        /// The log's public key (PEM); by default the key under the data dir
        /// (with --from: each instance's key registered in the store).
        #[arg(long, value_name = "FILE")]
        public_key: Option<PathBuf>,
        /// Verify the central copy in a store instead (postgres://...).
        #[arg(long, value_name = "URL")]
        from: Option<String>,
        /// Also check the local log against the newest checkpoint of it
        /// published to this store (postgres://... or nats://...): it must
        /// hold at least as many records and reproduce that root, so a log
        /// cut short or rewritten together with its local checkpoints is
        /// found. Repeatable.
        #[arg(long = "against", value_name = "URL", conflicts_with = "from")]
        against: Vec<String>,
        /// Also check the local log against the newest checkpoint this
        /// witness cosigned for it (http://host:port); repeatable, each with
        /// its --witness-vkey in the same order.
        #[arg(long = "witness", value_name = "URL", conflicts_with = "from")]
        witnesses: Vec<String>,
        /// A witness's verifier key (type 0x04), one per --witness.
        #[arg(long = "witness-vkey", value_name = "VKEY")]
        witness_vkeys: Vec<String>,
    },
    /// Print the public key that checkpoints are signed with (PEM and the
    /// C2SP verifier key line).
    Pubkey {
        #[command(flatten)]
        common: CommonArgs,
        /// Create the signing key under --data-dir if it holds no audit log
        /// yet (to publish the key before the first `serve`).
        #[arg(long)]
        init: bool,
    },
    /// List the records a downstream store refused for their content and
    /// the shipper quarantined (they stay in the local log), one JSON
    /// object per line with the store's URL; exit 1 when there are any.
    Quarantined {
        #[command(flatten)]
        common: CommonArgs,
        /// The store to list for (as given to `serve --audit-sink`);
        /// repeatable. By default the configured `sinks.urls`.
        #[arg(long = "audit-sink", value_name = "URL")]
        audit_sinks: Vec<String>,
    },
    /// Print matching records, oldest first, one JSON object per line.
    Query {
        #[command(flatten)]
        common: CommonArgs,
        #[command(flatten)]
        filter: FilterArgs,
        /// Decrypt encrypted fields where the data subject's key still exists.
        #[arg(long)]
        reveal: bool,
    },
    /// Write an evidence bundle (records, checkpoints, proofs, public key).
    Export {
        #[command(flatten)]
        common: CommonArgs,
        #[command(flatten)]
        filter: FilterArgs,
        /// Directory to write the bundle into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Crypto-shred one data subject's content (the server must be stopped;
    /// a running server offers AuditService.EraseSubject).
    Erase {
        #[command(flatten)]
        common: CommonArgs,
        /// user:<id>, session:<id> or tenant:<id>.
        #[arg(long)]
        subject: String,
        /// Why (e.g. the erasure request's reference); recorded.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Args)]
struct FilterArgs {
    #[arg(long)]
    tenant: Option<String>,
    /// The calling application (context.application).
    #[arg(long)]
    application: Option<String>,
    /// The pseudonymous end user (context.user_id).
    #[arg(long)]
    user: Option<String>,
    #[arg(long)]
    session: Option<String>,
    #[arg(long)]
    trace: Option<String>,
    #[arg(long)]
    tool: Option<String>,
    /// allow, review, require_approval or block.
    #[arg(long)]
    decision: Option<String>,
    /// A finding category or a prefix (pii matches pii.email).
    #[arg(long)]
    category: Option<String>,
    /// Record kind: score_decision, approval, subject_erased, or a client
    /// event kind (tool_call, model_call, ...).
    #[arg(long)]
    kind: Option<String>,
    /// From this time (RFC 3339, or a date: 2026-11-01).
    #[arg(long, value_name = "TIME")]
    from: Option<String>,
    /// Before this time (RFC 3339, or a date).
    #[arg(long, value_name = "TIME")]
    to: Option<String>,
    #[arg(long)]
    limit: Option<usize>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    warden::telemetry::init_tracing();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Score(args) => score(args),
        Command::Audit { command: AuditCommand::Verify { common: _, public_key, from: Some(url), .. } } => {
            verify_central(&url, public_key)
        }
        Command::Audit {
            command: AuditCommand::Verify { common, public_key, from: None, against, witnesses, witness_vkeys },
        } => verify(common, public_key, Published { stores: against, witnesses, witness_vkeys }),
        Command::Audit { command: AuditCommand::Pubkey { common, init } } => pubkey(common, init),
        Command::Audit { command: AuditCommand::Quarantined { common, audit_sinks } } => {
            quarantined(common, audit_sinks)
        }
        Command::Audit { command: AuditCommand::Query { common, filter, reveal } } => query(common, filter, reveal),
        Command::Audit { command: AuditCommand::Export { common, filter, out } } => export(common, filter, out),
        Command::Audit { command: AuditCommand::Erase { common, subject, reason } } => erase(common, subject, reason),
        Command::Report(args) => report(args),
        Command::Incident { command: IncidentCommand::Record(args) } => incident(args),
        Command::Incident { command: IncidentCommand::List { common } } => incidents(common),
        Command::Witness(args) => witness(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            eprintln!("warden: {}", chain.join(": ").replace('\n', " "));
            ExitCode::from(2)
        }
    }
}

fn load_config(common: &CommonArgs, mut overrides: Overrides) -> anyhow::Result<Config> {
    overrides.data_dir = common.data_dir.clone();
    Ok(Config::load(common.config.as_deref(), &overrides)?)
}

/// How a tool that reads or extends an existing log may treat a data dir
/// without one.
#[derive(Clone, Copy)]
enum NoLog {
    /// Refuse: the tool has nothing to work on (and a mistyped `--data-dir`
    /// would otherwise leave a fresh, empty log and key behind).
    Refuse,
    /// Refuse unless `--init` was given, which starts a log there.
    RefuseUnless { init: bool },
}

/// Refuses a data dir that holds no audit log, before anything is created.
fn require_log(config: &Config, rule: NoLog) -> anyhow::Result<()> {
    if warden::audit::journal::holds_log(&config.data_dir) || matches!(rule, NoLog::RefuseUnless { init: true }) {
        return Ok(());
    }
    let hint = match rule {
        NoLog::Refuse => "check --data-dir",
        NoLog::RefuseUnless { .. } => "check --data-dir, or pass --init to start a new log there",
    };
    anyhow::bail!("{} holds no audit log ({hint})", config.data_dir.display())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
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
        warden::run(config, warden::Listeners { grpc, metrics: Some(metrics), health, admin }, shutdown_signal())
            .await?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Resolves on SIGINT or SIGTERM (what Kubernetes sends before killing a pod).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

fn score(args: ScoreArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(&args.common, Overrides::default())?;
    let json = match &args.request {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        None => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).context("reading the request from standard input")?;
            s
        }
    };
    let request = parse_request(args.surface, &json)?;
    runtime()?.block_on(async move {
        let app = warden::build(&config, Vec::new())?;
        let result = app.engine.score(request, &warden::auth::Caller::local()).await;
        app.engine.journal().close()?;
        let assessment = pb::Assessment::from(result.map_err(|e| anyhow!(e))?);
        println!("{}", serde_json::to_string_pretty(&assessment)?);
        Ok(ExitCode::SUCCESS)
    })
}

fn parse_request(surface: Surface, json: &str) -> anyhow::Result<ScoreRequest> {
    let bad = |e: serde_json::Error| anyhow!("request is not a valid {} request: {e}", surface_name(surface));
    let request = match surface {
        Surface::Input => ScoreRequest::try_from(serde_json::from_str::<pb::ScoreInputRequest>(json).map_err(bad)?),
        Surface::Output => ScoreRequest::try_from(serde_json::from_str::<pb::ScoreOutputRequest>(json).map_err(bad)?),
        Surface::Action => ScoreRequest::try_from(serde_json::from_str::<pb::ScoreActionRequest>(json).map_err(bad)?),
    };
    request.map_err(|e| anyhow!(e))
}

fn surface_name(s: Surface) -> &'static str {
    match s {
        Surface::Input => "ScoreInputRequest",
        Surface::Output => "ScoreOutputRequest",
        Surface::Action => "ScoreActionRequest",
    }
}

fn key_path(config: &Config) -> PathBuf {
    config.audit.signing_key_file.clone().unwrap_or_else(|| warden::audit::journal::default_key_path(&config.data_dir))
}

/// Checkpoints of the log kept elsewhere, to check the local log against.
struct Published {
    stores: Vec<String>,
    witnesses: Vec<String>,
    witness_vkeys: Vec<String>,
}

fn verify(common: CommonArgs, public_key: Option<PathBuf>, published: Published) -> anyhow::Result<ExitCode> {
    let config = load_config(&common, Overrides::default())?;
    require_log(&config, NoLog::Refuse)?;
    let key_file = public_key.unwrap_or_else(|| key_path(&config));
    let key = warden::audit::journal::read_public_key(&key_file)?;
    if published.witnesses.len() != published.witness_vkeys.len() {
        anyhow::bail!("each --witness needs its --witness-vkey (in the same order)");
    }
    let vkeys = published
        .witness_vkeys
        .iter()
        .map(|v| warden::audit::cosign::Vkey::parse(v).map_err(|e| anyhow!("--witness-vkey: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if !published.stores.is_empty() || !published.witnesses.is_empty() {
        // The published checkpoints first: a log cut short locally may
        // verify on its own.
        let origin = warden::audit::journal::load_signer(&config.data_dir, &config.audit)?.origin().to_string();
        let rt = runtime()?;
        let mut sources: Vec<(String, anyhow::Result<Option<warden::audit::checkpoint::Checkpoint>>)> = Vec::new();
        for url in &published.stores {
            let got = rt.block_on(async {
                let mut sink = warden::sink::Sink::from_url(url)?;
                sink.newest_checkpoint(&origin).await
            });
            sources.push((warden::sink::redact_url(url), got.map_err(anyhow::Error::from)));
        }
        for (url, vkey) in published.witnesses.iter().zip(&vkeys) {
            let got = rt.block_on(warden::witness::http::fetch_latest(url, &origin, Duration::from_secs(10)));
            let checked = got.map_err(anyhow::Error::from).and_then(|note| {
                note.map(|text| warden::witness::cosigned_checkpoint(&text, vkey).map_err(|e| anyhow!(e))).transpose()
            });
            sources.push((format!("witness {} at {url}", vkey.name), checked));
        }
        for (source, got) in sources {
            let outcome = match got {
                Ok(Some(cp)) => warden::audit::journal::check_published(&config.data_dir, &key, &cp)
                    .map(|()| cp)
                    .map_err(|e| e.to_string()),
                Ok(None) => Err(format!("it holds no checkpoint of this log ({origin})")),
                Err(e) => Err(e.to_string()),
            };
            match outcome {
                Ok(cp) => println!(
                    "ok: the log reproduces the newest checkpoint published to {source} (size {}, signed {})",
                    cp.tree_size, cp.time
                ),
                Err(e) => {
                    eprintln!("warden: audit log verification FAILED against {source}: {e}");
                    return Ok(ExitCode::from(1));
                }
            }
        }
    }
    let window = warden::audit::journal::Timeliness::window(&config.audit);
    match warden::audit::journal::verify(&config.data_dir, &key, warden::audit::journal::Timeliness::Whole(window)) {
        Ok(r) => {
            let mut notes = Vec::new();
            if r.unsigned_records > 0 {
                notes.push(format!(
                    "{} records after the last checkpoint, within one checkpoint interval",
                    r.unsigned_records
                ));
            }
            if r.accepted_unsigned_records > 0 {
                notes.push(format!(
                    "{} records signed late, accepted by an operator (unsigned_tail_accepted records)",
                    r.accepted_unsigned_records
                ));
            }
            if r.torn_tail_bytes > 0 {
                notes.push(format!("{} bytes of an unacknowledged torn last line ignored", r.torn_tail_bytes));
            }
            println!(
                "ok: {} records in {} segments, hash chain intact, {} signed checkpoints verified, every record \
                 signed within {} s, root {}{}",
                r.records,
                r.segments,
                r.checkpoints,
                window.sign / 1_000_000_000,
                r.root,
                if notes.is_empty() { String::new() } else { format!(" ({})", notes.join("; ")) }
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("warden: audit log verification FAILED: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

fn verify_central(url: &str, public_key: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let key = public_key.map(|p| warden::audit::journal::read_public_key(&p)).transpose()?;
    let result = runtime()?.block_on(warden::sink::postgres::verify_central(url, key));
    match result {
        Ok(reports) if reports.is_empty() => {
            eprintln!("warden: the store at {} holds no Warden instance", warden::sink::redact_url(url));
            Ok(ExitCode::from(1))
        }
        Ok(reports) => {
            for r in reports {
                println!(
                    "ok: instance {}: {} records, hash chain intact, {} signed checkpoints verified (latest at {})",
                    r.instance_id, r.records, r.checkpoints, r.latest_verified_size
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("warden: central audit copy verification FAILED: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

fn quarantined(common: CommonArgs, audit_sinks: Vec<String>) -> anyhow::Result<ExitCode> {
    let config = load_config(&common, Overrides { audit_sinks, ..Overrides::default() })?;
    require_log(&config, NoLog::Refuse)?;
    let listed = warden::sink::quarantined(&config.data_dir, &config.sinks.urls);
    for (store, records) in &listed {
        for r in records {
            let mut line = serde_json::to_value(r)?;
            line["store"] = serde_json::Value::String(store.clone());
            println!("{line}");
        }
    }
    Ok(if listed.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn witness(args: WitnessArgs) -> anyhow::Result<ExitCode> {
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
        let listener =
            TcpListener::bind(args.addr).await.with_context(|| format!("cannot listen for the witness on {}", args.addr))?;
        tracing::info!(addr = %listener.local_addr()?, vkey = %witness.vkey(), logs = config.logs.len(), "witness listening");
        warden::witness::http::serve(std::sync::Arc::new(witness), listener, shutdown_signal()).await?;
        Ok(ExitCode::SUCCESS)
    })
}

fn pubkey(common: CommonArgs, init: bool) -> anyhow::Result<ExitCode> {
    let config = load_config(&common, Overrides::default())?;
    require_log(&config, NoLog::RefuseUnless { init })?;
    // With --init, creates the key exactly as `serve` would, without
    // touching the records (a running server may own them).
    let signer = warden::audit::journal::load_signer(&config.data_dir, &config.audit)?;
    let pk = warden::audit::checkpoint::public_key(&signer);
    print!("{}", pk.pem);
    println!("{}", pk.vkey);
    Ok(ExitCode::SUCCESS)
}

fn parse_time(flag: &str, value: &str) -> anyhow::Result<i128> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(value, &Rfc3339) {
        return Ok(t.unix_timestamp_nanos());
    }
    let date = time::Date::parse(value, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| anyhow!("--{flag} {value:?} is neither an RFC 3339 time nor a date like 2026-11-01"))?;
    Ok(date.midnight().assume_utc().unix_timestamp_nanos())
}

fn to_query(f: &FilterArgs) -> anyhow::Result<warden::audit::journal::Query> {
    if let Some(d) = &f.decision {
        if !["allow", "review", "require_approval", "block"].contains(&d.as_str()) {
            anyhow::bail!("--decision {d:?} is not one of allow, review, require_approval, block");
        }
    }
    Ok(warden::audit::journal::Query {
        tenant: f.tenant.clone().unwrap_or_default(),
        application: f.application.clone().unwrap_or_default(),
        user_id: f.user.clone().unwrap_or_default(),
        session_id: f.session.clone().unwrap_or_default(),
        trace_id: f.trace.clone().unwrap_or_default(),
        tool: f.tool.clone().unwrap_or_default(),
        decision: f.decision.clone().unwrap_or_default(),
        category: f.category.clone().unwrap_or_default(),
        from_unix_nanos: f.from.as_deref().map(|v| parse_time("from", v)).transpose()?,
        to_unix_nanos: f.to.as_deref().map(|v| parse_time("to", v)).transpose()?,
        limit: f.limit.unwrap_or(0),
        kind: f.kind.clone().unwrap_or_default(),
    })
}

fn query(common: CommonArgs, filter: FilterArgs, reveal: bool) -> anyhow::Result<ExitCode> {
    let config = load_config(&common, Overrides::default())?;
    require_log(&config, NoLog::Refuse)?;
    let q = to_query(&filter)?;
    let log = warden::audit::journal::AuditLog::open_read_only(&config.data_dir, &config.audit)?;
    let mut out = std::io::stdout().lock();
    for seq in log.query(&q) {
        let Some(r) = log.record(seq)? else { continue };
        let record = if reveal { log.reveal(&r.canonical)? } else { warden::audit::record::read_value(&r.canonical)? };
        let line = serde_json::json!({
            "sequence": r.sequence,
            "record_id": r.record_id,
            "leaf_hash": hex::encode(r.leaf),
            "record": record,
        });
        use std::io::Write;
        writeln!(out, "{line}")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn export(common: CommonArgs, filter: FilterArgs, out: PathBuf) -> anyhow::Result<ExitCode> {
    let config = load_config(&common, Overrides::default())?;
    require_log(&config, NoLog::Refuse)?;
    let q = to_query(&filter)?;
    let log = warden::audit::journal::AuditLog::open_read_only(&config.data_dir, &config.audit)?;
    let seqs = log.query(&q);
    let filters = serde_json::json!({
        "tenant": q.tenant, "session": q.session_id, "trace": q.trace_id, "tool": q.tool,
        "decision": q.decision, "category": q.category, "from": filter.from, "to": filter.to,
    });
    let summary = warden::audit::export::export(&log, &seqs, filters, &out)?;
    println!(
        "wrote {} records with inclusion proofs at tree size {}, {} checkpoints and their consistency proofs to {}",
        summary.records,
        summary.tree_size,
        summary.checkpoints,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn erase(common: CommonArgs, subject: String, reason: String) -> anyhow::Result<ExitCode> {
    let config = load_config(&common, Overrides::default())?;
    require_log(&config, NoLog::Refuse)?;
    if !["user:", "session:", "tenant:"].iter().any(|p| subject.strip_prefix(p).is_some_and(|id| !id.is_empty())) {
        anyhow::bail!("--subject must be user:<id>, session:<id> or tenant:<id>");
    }
    runtime()?.block_on(async move {
        let log = warden::audit::journal::AuditLog::open(&config.data_dir, &config.audit)?;
        let context = warden::scoring::Context { application: "warden-cli".into(), ..Default::default() };
        let erased = log.erase_subject(&subject, &reason, context).await?;
        warden::audit::Journal::close(&log)?;
        println!(
            "erased subject {} ({}); recorded as {} (sequence {})",
            erased.subject_id,
            if erased.key_existed { "its key was destroyed" } else { "it had no encrypted content" },
            erased.record.record_id,
            erased.record.sequence
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// A field error as the flag a user typed: `--aware-at ...`.
fn flag_error(e: warden::compliance::ReportError) -> anyhow::Error {
    match e {
        warden::compliance::ReportError::InvalidArgument { field, message } => {
            let flag = match field.as_str() {
                "incident_id" => "id".to_string(),
                f if f.starts_with("related_records") => "record".to_string(),
                f => f.replace('_', "-"),
            };
            anyhow!("--{flag}: {message}")
        }
        other => other.into(),
    }
}

fn actor(flag: Option<String>) -> String {
    flag.or_else(|| std::env::var("USER").ok()).filter(|a| !a.is_empty()).unwrap_or_else(|| "cli".into())
}

fn report(args: ReportArgs) -> anyhow::Result<ExitCode> {
    use warden::compliance::{Framework, ReportRequest};
    let config = load_config(&args.common, Overrides::default())?;
    require_log(&config, NoLog::RefuseUnless { init: args.init })?;
    let framework = match args.framework {
        FrameworkArg::EuAiAct => Framework::EuAiAct,
        FrameworkArg::NistAiRmf => Framework::NistAiRmf,
        FrameworkArg::Iso42001 => Framework::Iso42001,
    };
    let (from, to) = ReportRequest::period(&args.from, &args.to).map_err(flag_error)?;
    let req = ReportRequest {
        framework,
        from,
        to,
        tenant: args.tenant.unwrap_or_default(),
        application: args.application.unwrap_or_default(),
        actor: actor(args.actor),
    };
    runtime()?.block_on(async move {
        let log = std::sync::Arc::new(warden::audit::journal::AuditLog::open(&config.data_dir, &config.audit)?);
        let lag = warden::sink::lag(&config.data_dir, &config.sinks.urls, log.size());
        let generated = warden::compliance::generate(log.clone(), &config.compliance, req, lag).await;
        warden::audit::Journal::close(&*log)?;
        let generated = generated?;
        generated.write(&args.out)?;
        let s = &generated.report.summary;
        println!(
            "wrote {} report to {}: {} clauses, {} met, {} partly met, {} not evidenced; recorded as {} (sequence {})",
            framework.as_str(),
            args.out.display(),
            s.clauses,
            s.met,
            s.partly_met,
            s.not_evidenced,
            generated.record.record_id,
            generated.record.sequence
        );
        Ok(ExitCode::SUCCESS)
    })
}

fn incident(args: IncidentArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(&args.common, Overrides::default())?;
    require_log(&config, NoLog::RefuseUnless { init: args.init })?;
    let step = warden::compliance::incident::IncidentStep {
        incident_id: args.id.unwrap_or_default(),
        event: args.event,
        severity: args.severity,
        title: args.title,
        description: args.description,
        aware_at: args.aware_at,
        related_records: args.records,
        authority: args.authority,
        notified_at: args.notified_at,
        actor: actor(args.actor),
        context: warden::scoring::Context { tenant: args.tenant, application: args.application, ..Default::default() },
    };
    // Bad input is refused before the log is opened.
    warden::compliance::incident::validate(step.clone(), time::OffsetDateTime::now_utc()).map_err(flag_error)?;
    runtime()?.block_on(async move {
        let log = std::sync::Arc::new(warden::audit::journal::AuditLog::open(&config.data_dir, &config.audit)?);
        let recorded = warden::compliance::incident::record(&log, step, time::OffsetDateTime::now_utc()).await;
        warden::audit::Journal::close(&*log)?;
        let recorded = recorded.map_err(flag_error)?;
        println!(
            "incident {} recorded as {} (sequence {})",
            recorded.incident_id, recorded.record.record_id, recorded.record.sequence
        );
        Ok(ExitCode::SUCCESS)
    })
}

fn incidents(common: CommonArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(&common, Overrides::default())?;
    require_log(&config, NoLog::Refuse)?;
    let log = warden::audit::journal::AuditLog::open_read_only(&config.data_dir, &config.audit)?;
    let q = warden::audit::journal::Query { kind: "incident".into(), ..Default::default() };
    let mut out = std::io::stdout().lock();
    for seq in log.query(&q) {
        let Some(r) = log.record(seq)? else { continue };
        let mut record = warden::audit::record::read_value(&r.canonical)?;
        let mut body = record["body"].take();
        body["record_id"] = r.record_id.into();
        body["recorded_at"] = r.recorded_at.into();
        use std::io::Write;
        writeln!(out, "{body}")?;
    }
    Ok(ExitCode::SUCCESS)
}
