//! `warden incident record|list`.

use super::*;

/// Runs one `warden incident` subcommand.
pub(crate) fn incident_command(command: IncidentCommand) -> anyhow::Result<ExitCode> {
    match command {
        IncidentCommand::Record(args) => incident(args),
        IncidentCommand::List { common } => incidents(common),
    }
}

#[derive(Subcommand)]
pub(crate) enum IncidentCommand {
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
pub(crate) struct IncidentArgs {
    #[command(flatten)]
    pub(crate) common: CommonArgs,
    /// reported, notified, updated or closed.
    #[arg(long, default_value = "reported")]
    pub(crate) event: String,
    /// The incident (for every event but reported).
    #[arg(long)]
    pub(crate) id: Option<String>,
    /// death, critical_infrastructure, widespread_infringement, serious or minor.
    #[arg(long)]
    pub(crate) severity: String,
    #[arg(long, default_value = "")]
    pub(crate) title: String,
    #[arg(long, default_value = "")]
    pub(crate) description: String,
    /// When the organisation first became aware (RFC 3339 or a date).
    #[arg(long, value_name = "TIME")]
    pub(crate) aware_at: String,
    /// An audit record id the incident concerns; repeatable.
    #[arg(long = "record", value_name = "RECORD_ID")]
    pub(crate) records: Vec<String>,
    /// The authority notified (for --event notified).
    #[arg(long, default_value = "")]
    pub(crate) authority: String,
    /// When the authority was notified (default: now).
    #[arg(long, value_name = "TIME", default_value = "")]
    pub(crate) notified_at: String,
    #[arg(long)]
    pub(crate) actor: Option<String>,
    #[arg(long, default_value = "")]
    pub(crate) tenant: String,
    #[arg(long, default_value = "")]
    pub(crate) application: String,
    /// Start a new audit log under --data-dir if it holds none (a first
    /// incident recorded before the server ever ran).
    #[arg(long)]
    pub(crate) init: bool,
}

pub(crate) fn incident(args: IncidentArgs) -> anyhow::Result<ExitCode> {
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

pub(crate) fn incidents(common: CommonArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(&common, Overrides::default())?;
    require_log(&config, NoLog::Refuse)?;
    let log = warden::audit::journal::AuditLog::open_read_only(&config.data_dir, &config.audit)?;
    let mut out = std::io::stdout().lock();
    for listed in warden::compliance::incident::list(&log, &warden::auth::Caller::local()).map_err(flag_error)? {
        use std::io::Write;
        writeln!(out, "{}", serde_json::to_string(&listed)?)?;
    }
    Ok(ExitCode::SUCCESS)
}
