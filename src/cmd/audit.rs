//! `warden audit verify|pubkey|query|export|erase|quarantined`.

use super::*;

/// Runs one `warden audit` subcommand.
pub(crate) fn audit(command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify { common: _, public_key, from: Some(url), .. } => verify_central(&url, public_key),
        AuditCommand::Verify { common, public_key, from: None, against, witnesses, witness_vkeys } => {
            verify(common, public_key, Published { stores: against, witnesses, witness_vkeys })
        }
        AuditCommand::Pubkey { common, init } => pubkey(common, init),
        AuditCommand::Quarantined { common, audit_sinks } => quarantined(common, audit_sinks),
        AuditCommand::Query { common, filter, reveal } => query(common, filter, reveal),
        AuditCommand::Export { common, filter, out } => export(common, filter, out),
        AuditCommand::Erase { common, subject, reason } => erase(common, subject, reason),
    }
}

#[derive(Subcommand)]
pub(crate) enum AuditCommand {
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
pub(crate) struct FilterArgs {
    #[arg(long)]
    pub(crate) tenant: Option<String>,
    /// The calling application (context.application).
    #[arg(long)]
    pub(crate) application: Option<String>,
    /// The pseudonymous end user (context.user_id).
    #[arg(long)]
    pub(crate) user: Option<String>,
    #[arg(long)]
    pub(crate) session: Option<String>,
    #[arg(long)]
    pub(crate) trace: Option<String>,
    #[arg(long)]
    pub(crate) tool: Option<String>,
    /// allow, review, require_approval or block.
    #[arg(long)]
    pub(crate) decision: Option<String>,
    /// A finding category or a prefix (pii matches pii.email).
    #[arg(long)]
    pub(crate) category: Option<String>,
    /// Record kind: score_decision, approval, subject_erased, or a client
    /// event kind (tool_call, model_call, ...).
    #[arg(long)]
    pub(crate) kind: Option<String>,
    /// GenAI operation (gen_ai.operation.name: chat, execute_tool, ...).
    #[arg(long)]
    pub(crate) operation: Option<String>,
    /// GenAI provider (gen_ai.provider.name: openai, anthropic, ...).
    #[arg(long)]
    pub(crate) provider: Option<String>,
    /// Model (gen_ai.request.model, or the request context's model).
    #[arg(long)]
    pub(crate) model: Option<String>,
    /// From this time (RFC 3339, or a date: 2026-11-01).
    #[arg(long, value_name = "TIME")]
    pub(crate) from: Option<String>,
    /// Before this time (RFC 3339, or a date).
    #[arg(long, value_name = "TIME")]
    pub(crate) to: Option<String>,
    #[arg(long)]
    pub(crate) limit: Option<usize>,
}

/// Checkpoints of the log kept elsewhere, to check the local log against.
pub(crate) struct Published {
    pub(crate) stores: Vec<String>,
    pub(crate) witnesses: Vec<String>,
    pub(crate) witness_vkeys: Vec<String>,
}

pub(crate) fn verify(
    common: CommonArgs,
    public_key: Option<PathBuf>,
    published: Published,
) -> anyhow::Result<ExitCode> {
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
    // The checkpoints kept elsewhere first: a log cut short locally may
    // verify on its own.
    let mut sources = Vec::new();
    let mut published_cps = Vec::new();
    if !published.stores.is_empty() || !published.witnesses.is_empty() {
        let origin = warden::audit::journal::load_signer(&config.data_dir, &config.audit)?.origin().to_string();
        let rt = runtime()?;
        let mut fetched: Vec<(String, anyhow::Result<Option<warden::audit::checkpoint::Checkpoint>>)> = Vec::new();
        for url in &published.stores {
            let got = rt.block_on(async {
                let mut sink = warden::sink::Sink::from_url(url)?;
                sink.newest_checkpoint(&origin).await
            });
            fetched.push((warden::sink::redact_url(url), got.map_err(anyhow::Error::from)));
        }
        for (url, vkey) in published.witnesses.iter().zip(&vkeys) {
            let got = rt.block_on(warden::witness::http::fetch_latest(url, &origin, Duration::from_secs(10)));
            let checked = got.map_err(anyhow::Error::from).and_then(|note| {
                note.map(|text| warden::witness::cosigned_checkpoint(&text, vkey).map_err(|e| anyhow!(e))).transpose()
            });
            fetched.push((format!("witness {} at {url}", vkey.name), checked));
        }
        for (source, got) in fetched {
            match got {
                Ok(Some(cp)) => {
                    sources.push(source);
                    published_cps.push(cp);
                }
                Ok(None) => {
                    eprintln!(
                        "warden: audit log verification FAILED against {source}: it holds no checkpoint of this log \
                         ({origin})"
                    );
                    return Ok(ExitCode::from(1));
                }
                Err(e) => {
                    eprintln!("warden: audit log verification FAILED against {source}: {e}");
                    return Ok(ExitCode::from(1));
                }
            }
        }
    }
    let window = warden::audit::journal::Timeliness::window(&config.audit);
    let timeliness = warden::audit::journal::Timeliness::Whole(window);
    // One replay for the log and every checkpoint kept elsewhere.
    let (against, verified) =
        match warden::audit::journal::verify_against(&config.data_dir, &key, timeliness, &published_cps) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("warden: audit log verification FAILED: {e}");
                return Ok(ExitCode::from(1));
            }
        };
    for ((source, cp), outcome) in sources.iter().zip(&published_cps).zip(against) {
        match outcome {
            Ok(()) => println!(
                "ok: the log reproduces the newest checkpoint published to {source} (size {}, signed {})",
                cp.tree_size, cp.time
            ),
            Err(e) => {
                eprintln!("warden: audit log verification FAILED against {source}: {e}");
                return Ok(ExitCode::from(1));
            }
        }
    }
    match verified {
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

pub(crate) fn verify_central(url: &str, public_key: Option<PathBuf>) -> anyhow::Result<ExitCode> {
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

pub(crate) fn quarantined(common: CommonArgs, audit_sinks: Vec<String>) -> anyhow::Result<ExitCode> {
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

pub(crate) fn pubkey(common: CommonArgs, init: bool) -> anyhow::Result<ExitCode> {
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

/// The filter flags as the one search every front-end builds (the same
/// checks as gRPC's Query and the console; the CLI runs on the log's own
/// machine, as a caller of every tenant).
pub(crate) fn to_query(f: &FilterArgs) -> anyhow::Result<warden::audit::journal::Query> {
    let search = warden::audit::journal::Query {
        tenant: f.tenant.clone().unwrap_or_default(),
        application: f.application.clone().unwrap_or_default(),
        user_id: f.user.clone().unwrap_or_default(),
        session_id: f.session.clone().unwrap_or_default(),
        trace_id: f.trace.clone().unwrap_or_default(),
        tool: f.tool.clone().unwrap_or_default(),
        decision: f.decision.clone().unwrap_or_default(),
        category: f.category.clone().unwrap_or_default(),
        kind: f.kind.clone().unwrap_or_default(),
        operation: f.operation.clone().unwrap_or_default(),
        provider: f.provider.clone().unwrap_or_default(),
        model: f.model.clone().unwrap_or_default(),
        from_unix_nanos: f.from.as_deref().map(|v| parse_time("from", v)).transpose()?,
        to_unix_nanos: f.to.as_deref().map(|v| parse_time("to", v)).transpose()?,
        limit: f.limit.unwrap_or(0),
    };
    search.checked(&warden::auth::Caller::local(), usize::MAX).map_err(invalid_flag)
}

/// A domain error as the flag the user typed: `--subject must be ...`.
fn invalid_flag(e: warden::error::Error) -> anyhow::Error {
    match e {
        warden::error::Error::InvalidArgument { field, reason } => anyhow!("--{field} {reason}"),
        other => anyhow!(other),
    }
}

pub(crate) fn query(common: CommonArgs, filter: FilterArgs, reveal: bool) -> anyhow::Result<ExitCode> {
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

pub(crate) fn export(common: CommonArgs, filter: FilterArgs, out: PathBuf) -> anyhow::Result<ExitCode> {
    let config = load_config(&common, Overrides::default())?;
    require_log(&config, NoLog::Refuse)?;
    let q = to_query(&filter)?;
    let log = warden::audit::journal::AuditLog::open_read_only(&config.data_dir, &config.audit)?;
    let seqs = log.query(&q);
    let filters = serde_json::json!({
        "tenant": q.tenant, "session": q.session_id, "trace": q.trace_id, "tool": q.tool,
        "decision": q.decision, "category": q.category, "from": filter.from, "to": filter.to,
        "operation": q.operation, "provider": q.provider, "model": q.model,
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

pub(crate) fn erase(common: CommonArgs, subject: String, reason: String) -> anyhow::Result<ExitCode> {
    let config = load_config(&common, Overrides::default())?;
    require_log(&config, NoLog::Refuse)?;
    let context = warden::scoring::Context { application: "warden-cli".into(), ..Default::default() };
    let r = warden::audit::erasure::EraseRequest { subject, reason, context }
        .checked(&warden::auth::Caller::local(), &config.limits)
        .map_err(invalid_flag)?;
    runtime()?.block_on(async move {
        let log = warden::audit::journal::AuditLog::open(&config.data_dir, &config.audit)?;
        let erased = log.erase_subject(&r.subject, &r.reason, r.context).await?;
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
