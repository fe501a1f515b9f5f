//! Compliance evidence from the audit log: reports for the EU AI Act, the
//! NIST AI RMF and ISO/IEC 42001, and the incident register they draw on.
//!
//! - [`mapping`]: clause mappings (versioned data) from clauses to evidence
//!   indicators;
//! - `facts`: one pass over the log for the period and scope;
//! - `indicators`: the figures, their status and the query behind each;
//! - `html`: the self-contained HTML report with inline SVG charts;
//! - `bundle`: the evidence bundle (hashes, checkpoints, consistency proofs,
//!   public key, the report's own audit record with its inclusion proof);
//! - [`incident`]: incidents and their Art. 73 deadlines;
//! - [`fixture`]: a seeded, simulated six months of log for tests, benches
//!   and demos.
//!
//! Generating a report is itself an audit event (`report_generated`).

mod bundle;
mod facts;
pub mod fixture;
mod html;
pub mod incident;
pub mod indicators;
pub mod mapping;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::audit::journal::{AuditLog, LogRead};
use crate::audit::{Appended, AuditError, Entry, Journal};
use crate::request::Context;
use indicators::{Indicator, Status};
use mapping::Mapping;

pub const FORMAT: &str = "warden-compliance-report/1";

/// Compliance reports (`[compliance]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ComplianceConfig {
    /// A period longer than this with neither a record nor a checkpoint is
    /// reported as a gap in logging.
    pub max_gap_hours: u64,
    /// Retention the reports check for (EU AI Act Art. 19 / 26(6): at least
    /// six months).
    pub retention_days: u64,
    /// Reviewed clause mappings (`<framework>.toml`) replacing the embedded
    /// ones.
    pub mapping_dir: Option<PathBuf>,
}

impl Default for ComplianceConfig {
    fn default() -> Self {
        Self { max_gap_hours: 24, retention_days: 183, mapping_dir: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framework {
    EuAiAct,
    NistAiRmf,
    Iso42001,
}

impl Framework {
    pub const ALL: [Framework; 3] = [Framework::EuAiAct, Framework::NistAiRmf, Framework::Iso42001];

    pub fn as_str(self) -> &'static str {
        match self {
            Framework::EuAiAct => "eu-ai-act",
            Framework::NistAiRmf => "nist-ai-rmf",
            Framework::Iso42001 => "iso-42001",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ReportError> {
        Self::ALL.into_iter().find(|f| f.as_str() == s).ok_or_else(|| ReportError::InvalidArgument {
            field: "framework".into(),
            message: format!("{s:?} is not one of eu-ai-act, nist-ai-rmf, iso-42001"),
        })
    }
}

/// The compliance boundary's errors.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("invalid {field}: {message}")]
    InvalidArgument { field: String, message: String },
    #[error("clause mapping: {0}")]
    Mapping(String),
    #[error("audit log: {0}")]
    Audit(String),
    #[error("{0}")]
    Io(String),
}

impl From<AuditError> for ReportError {
    fn from(e: AuditError) -> Self {
        ReportError::Audit(e.to_string())
    }
}

impl From<ReportError> for crate::error::Error {
    fn from(e: ReportError) -> Self {
        use crate::error::Error;
        match e {
            ReportError::InvalidArgument { field, message } => Error::InvalidArgument { field, reason: message },
            ReportError::Mapping(m) => Error::FailedPrecondition(format!("clause mapping: {m}")),
            ReportError::Audit(m) => Error::AuditUnavailable(m),
            ReportError::Io(m) => Error::FailedPrecondition(m),
        }
    }
}

/// What to report on.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    pub framework: Framework,
    pub from: OffsetDateTime,
    /// Exclusive.
    pub to: OffsetDateTime,
    pub tenant: String,
    pub application: String,
    /// Who asked (recorded in the report's audit event).
    pub actor: String,
}

impl ReportRequest {
    /// The request as `caller` may make it: the report's tenant scoped by
    /// the one tenant rule ([`crate::auth::Caller::scope_tenant`]: a caller
    /// bound to one tenant reports on it, one bound to several names one),
    /// and the caller as its actor unless one is already named.
    pub fn scoped(mut self, caller: &crate::auth::Caller) -> Result<Self, crate::error::Error> {
        self.tenant = caller.scope_tenant("tenant", &self.tenant)?;
        if self.actor.is_empty() {
            self.actor = caller.identity.clone();
        }
        Ok(self)
    }

    /// Parses the period: RFC 3339 times or dates; a date for `to` means
    /// the end of that day.
    pub fn period(from: &str, to: &str) -> Result<(OffsetDateTime, OffsetDateTime), ReportError> {
        let invalid = |field: &str, message: String| ReportError::InvalidArgument { field: field.into(), message };
        let f = crate::timestamp::parse(from).map_err(|m| invalid("from", m))?;
        let mut t = crate::timestamp::parse(to).map_err(|m| invalid("to", m))?;
        if !to.contains('T') {
            t += time::Duration::days(1);
        }
        if t <= f {
            return Err(invalid("to", "must be after from".into()));
        }
        Ok((f, t))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ClauseResult {
    pub id: String,
    pub reference: String,
    pub title: String,
    pub requirement: String,
    pub rationale: String,
    pub status: Status,
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub clauses: usize,
    pub met: usize,
    pub partly_met: usize,
    pub not_evidenced: usize,
    pub records_in_period: usize,
    pub decisions: usize,
    /// One line per exception worth a reader's attention.
    pub attention: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub format: &'static str,
    pub framework: FrameworkInfo,
    pub period: Period,
    pub scope: Scope,
    pub generated_at: String,
    pub generated_by: String,
    pub warden_version: &'static str,
    pub log: LogInfo,
    pub summary: Summary,
    pub clauses: Vec<ClauseResult>,
    pub indicators: BTreeMap<String, Indicator>,
    pub charts: Charts,
    /// A fleet-wide report: every instance whose records count, and every
    /// instance whose central copy does not verify (an exception).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet: Option<Vec<facts::InstanceEvidence>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FrameworkInfo {
    pub id: &'static str,
    pub title: String,
    pub mapping_version: String,
    pub reviewed_by: String,
    pub disclaimer: String,
    pub changes: Vec<mapping::Change>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Period {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Scope {
    pub tenant: String,
    pub application: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LogInfo {
    pub origin: String,
    pub tree_size: u64,
    pub public_key_vkey: String,
}

/// The data behind the charts.
#[derive(Debug, Clone, Serialize)]
pub struct Charts {
    /// Per week: decisions by level.
    pub decisions_by_week: Vec<(String, BTreeMap<String, u64>)>,
    pub findings_by_category: BTreeMap<String, u64>,
    /// Seconds from request to a reviewer's decision, bucketed.
    pub approval_seconds: Vec<(String, u64)>,
    pub skip_rate_percent: BTreeMap<String, f64>,
    /// Records each downstream store is behind the log, at generation.
    pub sink_lag_records: BTreeMap<String, u64>,
}

/// A generated report: its files and its audit record.
pub struct Generated {
    pub report: Report,
    pub json: Vec<u8>,
    pub html: Vec<u8>,
    /// Evidence bundle files, relative to `evidence/`.
    pub bundle: Vec<(String, Vec<u8>)>,
    pub record: Appended,
    pub report_sha256: String,
}

impl Generated {
    /// Writes `report.json`, `report.html` and `evidence/` under `out`.
    pub fn write(&self, out: &Path) -> Result<(), ReportError> {
        let io = |p: &Path, e: std::io::Error| ReportError::Io(format!("{}: {e}", p.display()));
        let evidence = out.join("evidence");
        std::fs::create_dir_all(&evidence).map_err(|e| io(&evidence, e))?;
        for (name, bytes) in [("report.json", &self.json), ("report.html", &self.html)] {
            let p = out.join(name);
            std::fs::write(&p, bytes).map_err(|e| io(&p, e))?;
        }
        for (name, bytes) in &self.bundle {
            let p = evidence.join(name);
            std::fs::write(&p, bytes).map_err(|e| io(&p, e))?;
        }
        Ok(())
    }
}

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Where a report's evidence comes from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// The local log (the one the report is recorded in).
    Journal,
    /// Every instance's log in the central PostgreSQL at this URL (what a
    /// fleet service reads): each instance's copy is verified (chain, tree,
    /// checkpoint signatures) before its records count; one that does not
    /// verify is an exception in the report, never a pass.
    Central(&'a str),
}

impl<'a> Source<'a> {
    /// The central store when one is named (a fleet service), else the
    /// local log.
    pub fn of(central: Option<&'a str>) -> Self {
        central.map_or(Source::Journal, Source::Central)
    }
}

/// Generates a report from `log` and records that it did. `sink_lag` is how
/// far each downstream store is behind (empty without stores).
pub async fn generate(
    log: Arc<AuditLog>,
    config: &ComplianceConfig,
    req: ReportRequest,
    stores: &crate::sink::Cursors,
) -> Result<Generated, ReportError> {
    generate_from(log, config, req, stores, Source::Journal).await
}

/// [`generate`] with its evidence read from `source`; the report is
/// recorded in `log` either way. The one report call every front-end makes
/// (`warden report`, `warden fleet report`, `GenerateReport`, the consoles).
pub async fn generate_from(
    log: Arc<AuditLog>,
    config: &ComplianceConfig,
    req: ReportRequest,
    stores: &crate::sink::Cursors,
    source: Source<'_>,
) -> Result<Generated, ReportError> {
    let started = std::time::Instant::now();
    let copies = match source {
        Source::Journal => None,
        Source::Central(url) => Some(
            crate::sink::postgres::central_copies(url)
                .await
                .map_err(|e| ReportError::Audit(format!("the central store: {e}")))?,
        ),
    };
    let sink_lag = stores.lag(log.size());
    let mapping = Mapping::load(req.framework, config.mapping_dir.as_deref())?;
    let now = log.now();
    // Reading the period, computing and rendering are blocking work: off
    // the async workers.
    let (report, json, html, report_sha256) = {
        let (log, config, req) = (log.clone(), config.clone(), req.clone());
        tokio::task::spawn_blocking(move || -> Result<_, ReportError> {
            let scope = facts::Scope {
                from: req.from.unix_timestamp_nanos(),
                to: req.to.unix_timestamp_nanos(),
                now: now.unix_timestamp_nanos(),
                tenant: &req.tenant,
                application: &req.application,
            };
            let facts = match copies {
                None => facts::scan(&*log, &scope)?,
                Some(copies) => fleet_facts(copies, &scope),
            };
            let report = assemble(&log, &mapping, &config, &req, &facts, now, sink_lag);
            let mut json = serde_json::to_vec_pretty(&report).map_err(|e| ReportError::Io(e.to_string()))?;
            json.push(b'\n');
            let report_sha256 = sha256(&json);
            let html = html::render(&report, &report_sha256).into_bytes();
            Ok((report, json, html, report_sha256))
        })
        .await
        .map_err(|e| ReportError::Io(e.to_string()))??
    };
    let entry = Entry::ReportGenerated {
        context: Context { tenant: req.tenant.clone(), application: req.application.clone(), ..Context::default() },
        actor: req.actor.clone(),
        framework: req.framework.as_str().into(),
        mapping_version: report.framework.mapping_version.clone(),
        from: report.period.from.clone(),
        to: report.period.to.clone(),
        report_sha256: report_sha256.clone(),
        html_sha256: sha256(&html),
        statuses: report.clauses.iter().map(|c| (c.id.clone(), c.status.as_str().to_string())).collect(),
    };
    let record = log.append(entry).await?;
    let checkpoint = log.checkpoint().await?;
    let bundle = bundle::build(&log, &report, &json, &html, &record, &checkpoint)?;
    crate::telemetry::report_generated(req.framework.as_str(), started.elapsed());
    Ok(Generated { report, json, html, bundle, record, report_sha256 })
}

/// Each instance's facts, from its verified copy, merged; an instance whose
/// copy does not verify (or whose records cannot be read) is listed with
/// why, and counts nothing. A verified instance with nothing in the scope
/// is left out: a tenant's report names only instances that served it.
fn fleet_facts(copies: Vec<crate::sink::postgres::CentralCopy>, scope: &facts::Scope<'_>) -> facts::Facts {
    let parts = copies
        .into_iter()
        .filter_map(|c| {
            let mut evidence = facts::InstanceEvidence {
                instance_id: c.instance_id,
                log_size: 0,
                records_in_period: 0,
                decisions: 0,
                approvals: 0,
                signed_size: 0,
                public_key_vkey: String::new(),
                exception: None,
            };
            let scanned = c.copy.and_then(|copy| {
                evidence.public_key_vkey = copy.public_key().vkey;
                evidence.signed_size = copy.signed_size();
                facts::scan(&copy, scope).map_err(|e| e.to_string())
            });
            match scanned {
                Ok(f) if f.record_times.is_empty() && f.approvals.is_empty() => None,
                Ok(f) => {
                    evidence.log_size = f.log_size;
                    evidence.records_in_period = f.record_times.len();
                    evidence.decisions = f.decisions.len();
                    evidence.approvals = f.approvals.len();
                    Some((evidence, Some(f)))
                }
                Err(e) => Some((facts::InstanceEvidence { exception: Some(e), ..evidence }, None)),
            }
        })
        .collect();
    facts::merge(scope, parts)
}

fn assemble(
    log: &AuditLog,
    mapping: &Mapping,
    config: &ComplianceConfig,
    req: &ReportRequest,
    facts: &facts::Facts,
    now: OffsetDateTime,
    sink_lag: BTreeMap<String, u64>,
) -> Report {
    let fmt = crate::timestamp::format;
    let mut scope_args = format!("--from {} --to {}", fmt(req.from), fmt(req.to));
    if !req.tenant.is_empty() {
        scope_args.push_str(&format!(" --tenant {}", req.tenant));
    }
    if !req.application.is_empty() {
        scope_args.push_str(&format!(" --application {}", req.application));
    }
    let settings = indicators::Settings { max_gap_hours: config.max_gap_hours, retention_days: config.retention_days };
    let all = indicators::compute(&indicators::Ctx { facts, settings: &settings, scope_args });
    let clauses: Vec<ClauseResult> = mapping
        .clauses
        .iter()
        .map(|c| ClauseResult {
            id: c.id.clone(),
            reference: c.reference.clone(),
            title: c.title.clone(),
            requirement: c.requirement.clone(),
            rationale: c.rationale.clone(),
            status: Status::combine(c.evidence.iter().map(|e| all[e].status)),
            evidence: c.evidence.clone(),
        })
        .collect();
    // Charts come from every indicator, mapped by this framework or not.
    let charts = charts(facts, &all, sink_lag);
    let used: std::collections::BTreeSet<&String> = mapping.clauses.iter().flat_map(|c| c.evidence.iter()).collect();
    let indicators: BTreeMap<String, Indicator> = all.into_iter().filter(|(k, _)| used.contains(k)).collect();
    let count = |s: Status| clauses.iter().filter(|c| c.status == s).count();
    let exceptions = facts.instances.iter().filter_map(|i| {
        i.exception.as_ref().map(|e| {
            format!(
                "Instance {}: its central copy does not verify ({e}); none of its records are counted.",
                i.instance_id
            )
        })
    });
    let attention = exceptions
        .chain(
            indicators
                .values()
                .filter(|i| i.status != Status::Met)
                .map(|i| format!("{} ({}): {}", i.title, i.status.label().to_lowercase(), i.summary)),
        )
        .collect();
    let summary = Summary {
        clauses: clauses.len(),
        met: count(Status::Met),
        partly_met: count(Status::PartlyMet),
        not_evidenced: count(Status::NotEvidenced),
        records_in_period: facts.record_times.len(),
        decisions: facts.decisions.len(),
        attention,
    };
    let pk = log.public_key();
    Report {
        format: FORMAT,
        framework: FrameworkInfo {
            id: req.framework.as_str(),
            title: mapping.title.clone(),
            mapping_version: mapping.version.clone(),
            reviewed_by: mapping.reviewed_by.clone(),
            disclaimer: mapping.disclaimer.clone(),
            changes: mapping.changes.clone(),
        },
        period: Period { from: fmt(req.from), to: fmt(req.to) },
        scope: Scope { tenant: req.tenant.clone(), application: req.application.clone() },
        generated_at: fmt(now),
        generated_by: req.actor.clone(),
        warden_version: env!("CARGO_PKG_VERSION"),
        log: LogInfo { origin: log.origin(), tree_size: facts.log_size, public_key_vkey: pk.vkey },
        summary,
        clauses,
        charts,
        indicators,
        fleet: facts.fleet.then(|| facts.instances.clone()),
    }
}

fn charts(f: &facts::Facts, all: &BTreeMap<String, Indicator>, sink_lag: BTreeMap<String, u64>) -> Charts {
    let mut findings: BTreeMap<String, u64> = BTreeMap::new();
    for d in &f.decisions {
        for c in &d.categories {
            *findings.entry(c.clone()).or_default() += 1;
        }
    }
    let secs = indicators::decision_seconds(f);
    let buckets: [(&str, i64); 6] = [
        ("< 1 min", 60),
        ("1-5 min", 300),
        ("5-15 min", 900),
        ("15-60 min", 3600),
        ("1-4 h", 14_400),
        ("> 4 h", i64::MAX),
    ];
    let mut lo = i64::MIN;
    let approval_seconds = buckets
        .iter()
        .map(|(label, hi)| {
            let n = secs.iter().filter(|s| **s >= lo && **s < *hi).count() as u64;
            lo = *hi;
            (label.to_string(), n)
        })
        .collect();
    let skip_rate_percent = all
        .get("risk.detector_coverage")
        .and_then(|i| serde_json::from_value(i.value["skip_rate_percent"].clone()).ok())
        .unwrap_or_default();
    Charts {
        decisions_by_week: indicators::weeks(f),
        findings_by_category: findings,
        approval_seconds,
        skip_rate_percent,
        sink_lag_records: sink_lag,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Caller;

    fn request(tenant: &str) -> ReportRequest {
        let (from, to) = ReportRequest::period("2026-06-01", "2026-06-30").unwrap();
        ReportRequest {
            framework: Framework::EuAiAct,
            from,
            to,
            tenant: tenant.into(),
            application: String::new(),
            actor: String::new(),
        }
    }

    /// Reports follow the one tenant rule of reads and writes.
    #[test]
    fn a_report_is_scoped_to_the_callers_tenant() {
        let acme = Caller { tenants: vec!["acme".into()], ..Caller::anonymous() };
        let r = request("").scoped(&acme).unwrap();
        assert_eq!((r.tenant.as_str(), r.actor.as_str()), ("acme", "anonymous"));
        assert!(request("globex").scoped(&acme).is_err(), "another tenant");
        let both = Caller { tenants: vec!["acme".into(), "globex".into()], ..Caller::anonymous() };
        assert!(request("").scoped(&both).is_err(), "several tenants: name one");
        assert_eq!(request("globex").scoped(&both).unwrap().tenant, "globex");
        assert_eq!(request("").scoped(&Caller::anonymous()).unwrap().tenant, "", "unscoped: every tenant");
    }
}
