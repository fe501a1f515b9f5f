//! The command line, one module per command group; this file holds what
//! they share (common flags, loading the config, the data-dir rule).

use anyhow::{anyhow, Context as _};
use clap::{Args, Subcommand, ValueEnum};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tokio::net::TcpListener;
use warden::config::{Config, Overrides};
use warden::proto::v1 as pb;
use warden::scoring::ScoreRequest;

mod audit;
mod fleet;
mod incident;
mod report;
mod score;
mod serve;
mod witness;

pub(crate) use audit::*;
pub(crate) use fleet::*;
pub(crate) use incident::*;
pub(crate) use report::*;
pub(crate) use score::*;
pub(crate) use serve::*;
pub(crate) use witness::*;

#[derive(Args)]
pub(crate) struct CommonArgs {
    /// TOML config file (overrides WARDEN_* environment variables).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Directory for the audit journal and other state.
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
}

pub(crate) fn load_config(common: &CommonArgs, mut overrides: Overrides) -> anyhow::Result<Config> {
    overrides.data_dir = common.data_dir.clone();
    Ok(Config::load(common.config.as_deref(), &overrides)?)
}

/// How a tool that reads or extends an existing log may treat a data dir
/// without one.
#[derive(Clone, Copy)]
pub(crate) enum NoLog {
    /// Refuse: the tool has nothing to work on (and a mistyped `--data-dir`
    /// would otherwise leave a fresh, empty log and key behind).
    Refuse,
    /// Refuse unless `--init` was given, which starts a log there.
    RefuseUnless { init: bool },
}

/// Refuses a data dir that holds no audit log, before anything is created.
pub(crate) fn require_log(config: &Config, rule: NoLog) -> anyhow::Result<()> {
    if warden::audit::journal::holds_log(&config.data_dir) || matches!(rule, NoLog::RefuseUnless { init: true }) {
        return Ok(());
    }
    let hint = match rule {
        NoLog::Refuse => "check --data-dir",
        NoLog::RefuseUnless { .. } => "check --data-dir, or pass --init to start a new log there",
    };
    anyhow::bail!("{} holds no audit log ({hint})", config.data_dir.display())
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")
}

pub(crate) fn key_path(config: &Config) -> PathBuf {
    config.audit.signing_key_file.clone().unwrap_or_else(|| warden::audit::journal::default_key_path(&config.data_dir))
}

pub(crate) fn parse_time(flag: &str, value: &str) -> anyhow::Result<i128> {
    warden::timestamp::parse(value).map(|t| t.unix_timestamp_nanos()).map_err(|m| anyhow!("--{flag}: {m}"))
}

pub(crate) fn actor(flag: Option<String>) -> String {
    flag.or_else(|| std::env::var("USER").ok()).filter(|a| !a.is_empty()).unwrap_or_else(|| "cli".into())
}
