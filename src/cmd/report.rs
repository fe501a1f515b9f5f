//! `warden report`.

use super::*;

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum FrameworkArg {
    #[value(name = "eu-ai-act")]
    EuAiAct,
    #[value(name = "nist-ai-rmf")]
    NistAiRmf,
    #[value(name = "iso-42001")]
    Iso42001,
}

#[derive(Args)]
pub(crate) struct ReportArgs {
    #[command(flatten)]
    pub(crate) common: CommonArgs,
    #[arg(long, value_enum)]
    pub(crate) framework: FrameworkArg,
    /// Period start (RFC 3339, or a date: 2026-05-01).
    #[arg(long, value_name = "DATE")]
    pub(crate) from: String,
    /// Period end (RFC 3339, exclusive; or a date, inclusive).
    #[arg(long, value_name = "DATE")]
    pub(crate) to: String,
    #[arg(long)]
    pub(crate) tenant: Option<String>,
    #[arg(long)]
    pub(crate) application: Option<String>,
    /// Directory to write the report and evidence bundle into.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Who generates the report (recorded); $USER by default.
    #[arg(long)]
    pub(crate) actor: Option<String>,
    /// Start a new audit log under --data-dir if it holds none.
    #[arg(long)]
    pub(crate) init: bool,
    /// A fleet-wide report: read every instance's log from this central
    /// PostgreSQL (`postgres://...?schema=...`), each verified before its
    /// records count. The report is still recorded in --data-dir's log.
    #[arg(long, value_name = "URL")]
    pub(crate) central: Option<String>,
}

/// A field error as the flag a user typed: `--aware-at ...`.
pub(crate) fn flag_error(e: warden::compliance::ReportError) -> anyhow::Error {
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

pub(crate) fn report(args: ReportArgs) -> anyhow::Result<ExitCode> {
    use warden::compliance::{Framework, ReportRequest};
    let config = load_config(&args.common, Overrides::default())?;
    require_log(&config, NoLog::RefuseUnless { init: args.init })?;
    let framework = match args.framework {
        FrameworkArg::EuAiAct => Framework::EuAiAct,
        FrameworkArg::NistAiRmf => Framework::NistAiRmf,
        FrameworkArg::Iso42001 => Framework::Iso42001,
    };
    let (from, to) = ReportRequest::period(&args.from, &args.to).map_err(flag_error)?;
    if let Some(url) = &args.central {
        if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
            return Err(anyhow!("--central: must be a postgres:// URL"));
        }
    }
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
        let stores = warden::sink::Cursors::new(&config.data_dir, &config.sinks);
        let source = warden::compliance::Source::of(args.central.as_deref());
        let generated = warden::compliance::generate_from(log.clone(), &config.compliance, req, &stores, source).await;
        warden::audit::Journal::close(&*log)?;
        let generated = generated?;
        generated.write(&args.out)?;
        let s = &generated.report.summary;
        if let Some(instances) = &generated.report.fleet {
            let exceptions: Vec<&str> =
                instances.iter().filter(|i| i.exception.is_some()).map(|i| i.instance_id.as_str()).collect();
            println!(
                "{} instances, {} verified{}",
                instances.len(),
                instances.len() - exceptions.len(),
                if exceptions.is_empty() {
                    String::new()
                } else {
                    format!("; exceptions (central copy does not verify, not counted): {}", exceptions.join(", "))
                }
            );
        }
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
