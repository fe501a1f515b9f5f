//! The `warden` command line: `serve`, `score`, `audit ...`, `report`,
//! `incident`, `completions`. Errors are one line on stderr and a non-zero
//! exit, never a backtrace. The services (`serve`, `fleet`, `witness`) log
//! at INFO; the one-shot commands only warnings and errors, so their
//! output is what they print (`RUST_LOG` overrides both). Only `serve` and
//! `score` start a log in an empty data dir; the tools that work on an
//! existing log refuse one without (a mistyped `--data-dir`), unless
//! `--init` says a new log is meant.

mod cmd;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use cmd::*;

/// `warden --version`: the release and the commit it was built from
/// (build.rs).
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("BUILD_GIT_COMMIT"), ")");

#[derive(Parser)]
#[command(name = "warden", version = VERSION, about = "Risk scoring, audit logs and compliance evidence for AI systems")]
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
    /// Run a fleet service: one approval queue over every sidecar that
    /// ships to the same PostgreSQL and JetStream; decisions made here are
    /// delivered to the sidecar that holds the approval.
    Fleet(FleetArgs),
    /// Run a witness (C2SP tlog-witness) for Warden logs: it cosigns a
    /// log's checkpoints only while each extends the last it cosigned.
    Witness(WitnessArgs),
    /// Print a shell completion script, e.g.
    /// `warden completions bash > /etc/bash_completion.d/warden`.
    Completions { shell: clap_complete::Shell },
}

impl Command {
    /// The default log filter: INFO for the services, which run for long
    /// and whose logs are their record; warnings only for one-shot commands.
    fn default_log_level(&self) -> &'static str {
        match self {
            Command::Serve(_) | Command::Fleet(_) | Command::Witness(_) => "info",
            _ => "warn",
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _tracing = warden::telemetry::init_tracing(cli.command.default_log_level());
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Score(args) => score(args),
        Command::Audit { command } => audit(command),
        Command::Report(args) => report(args),
        Command::Incident { command } => incident_command(command),
        Command::Fleet(args) => fleet(args),
        Command::Witness(args) => witness(args),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "warden", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
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
