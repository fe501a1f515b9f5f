//! The incident register: incidents recorded against the audit log, and the
//! EU AI Act Art. 73 reporting deadlines they start.
//!
//! An incident is a series of `incident` records sharing an id: `reported`
//! (what happened, how serious, when the organisation first became aware,
//! which audit records it concerns), then `notified` when the market
//! surveillance authority was told, `updated`, `closed`. A later step is
//! recorded only against an incident that was reported, in the same tenant:
//! the register is append-only, so a step for a mistyped id would stay in
//! it for good.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::ReportError;
use crate::audit::journal::{AuditLog, Query};
use crate::audit::read::{Body, IncidentBody};
use crate::audit::{Appended, Entry, Journal};
use crate::auth::Caller;
use crate::request::Context;

/// How serious an incident is, which fixes its Art. 73 deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Death of a person (Art. 73(4)): 10 days.
    Death,
    /// Serious and irreversible disruption of critical infrastructure
    /// (Art. 3(49)(b), Art. 73(3)): 2 days.
    CriticalInfrastructure,
    /// A widespread infringement (Art. 73(3)): 2 days.
    WidespreadInfringement,
    /// Any other serious incident (Art. 73(2)): 15 days.
    Serious,
    /// Tracked, but not a serious incident: no reporting deadline.
    Minor,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Death,
        Severity::CriticalInfrastructure,
        Severity::WidespreadInfringement,
        Severity::Serious,
        Severity::Minor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Death => "death",
            Severity::CriticalInfrastructure => "critical_infrastructure",
            Severity::WidespreadInfringement => "widespread_infringement",
            Severity::Serious => "serious",
            Severity::Minor => "minor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Days from first awareness to the report to the authority, and the
    /// provision that sets them; `None` for incidents with no duty to report.
    pub fn deadline(self) -> Option<(i64, &'static str)> {
        match self {
            Severity::Death => Some((10, "EU AI Act Art. 73(4)")),
            Severity::CriticalInfrastructure | Severity::WidespreadInfringement => Some((2, "EU AI Act Art. 73(3)")),
            Severity::Serious => Some((15, "EU AI Act Art. 73(2)")),
            Severity::Minor => None,
        }
    }
}

/// A step of an incident, as asked for by the CLI or the RPC.
#[derive(Debug, Clone, Default)]
pub struct IncidentStep {
    /// Empty for a new incident (an id is made); set for a later step.
    pub incident_id: String,
    /// `reported`, `notified`, `updated`, `closed`.
    pub event: String,
    pub severity: String,
    pub title: String,
    pub description: String,
    /// RFC 3339 or a date.
    pub aware_at: String,
    pub related_records: Vec<String>,
    pub authority: String,
    /// RFC 3339 or a date; for `notified`, now when empty.
    pub notified_at: String,
    pub actor: String,
    pub context: Context,
}

pub const EVENTS: [&str; 4] = ["reported", "notified", "updated", "closed"];

/// What was recorded.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub incident_id: String,
    pub record: Appended,
}

/// Validates a step, checks a later step against the incident it
/// continues, and appends it to the log.
pub async fn record(log: &Arc<AuditLog>, step: IncidentStep, now: OffsetDateTime) -> Result<Recorded, ReportError> {
    let entry = validate(step, now)?;
    let Entry::Incident { incident_id, severity, event, context, .. } = &entry else {
        unreachable!("validate builds an incident")
    };
    let incident_id = incident_id.clone();
    if event != "reported" {
        let (reader, id, tenant) = (log.clone(), incident_id.clone(), context.tenant.clone());
        let known = tokio::task::spawn_blocking(move || was_reported(&reader, &id, &tenant))
            .await
            .map_err(|e| ReportError::Audit(format!("looking up the incident: {e}")))??;
        if !known {
            let scope =
                if context.tenant.is_empty() { String::new() } else { format!(" in tenant {:?}", context.tenant) };
            return Err(ReportError::InvalidArgument {
                field: "incident_id".into(),
                message: format!("no incident {incident_id:?} was reported{scope}; nothing recorded"),
            });
        }
    }
    // Both come from closed sets (validated above).
    let severity = Severity::parse(severity).map_or("unknown", Severity::as_str);
    let event = EVENTS.iter().copied().find(|e| e == event).unwrap_or("unknown");
    let record = log.append(entry).await?;
    crate::telemetry::incident_step(severity, event);
    Ok(Recorded { incident_id, record })
}

/// Whether `incident_id` was reported in `tenant`. Another tenant's incident
/// counts as absent, so the answer tells a tenant nothing about others.
pub fn was_reported(log: &AuditLog, incident_id: &str, tenant: &str) -> Result<bool, ReportError> {
    for s in steps(log) {
        let s = s?.step;
        if s.incident_id == incident_id && s.event == "reported" && s.context.tenant == tenant {
            return Ok(true);
        }
    }
    Ok(false)
}

/// One recorded incident step, where it sits in the log.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub record_id: String,
    pub recorded_at: String,
    pub sequence: u64,
    #[serde(flatten)]
    pub step: IncidentBody,
}

/// Every incident step `caller` may see (its tenants', and those recorded
/// for no tenant), oldest first: what `ListIncidents` and `warden
/// incidents` list.
pub fn list(log: &AuditLog, caller: &Caller) -> Result<Vec<Listed>, ReportError> {
    let mut out = Vec::new();
    for s in steps(log) {
        let s = s?;
        if caller.may_act_for(&s.step.context.tenant) {
            out.push(s);
        }
    }
    Ok(out)
}

/// The incident steps the log still holds (a step retired by retention can
/// no longer be read).
fn steps(log: &AuditLog) -> impl Iterator<Item = Result<Listed, ReportError>> + '_ {
    let seqs = log.query(&Query { kind: crate::audit::record::Kind::Incident.as_str().into(), ..Query::default() });
    seqs.into_iter().filter_map(move |seq| {
        let r = match log.record(seq) {
            Ok(Some(r)) => r,
            Ok(None) => return None,
            Err(e) => return Some(Err(e.into())),
        };
        match r.body() {
            Ok(Body::Incident(step)) => {
                Some(Ok(Listed { record_id: r.record_id, recorded_at: r.recorded_at, sequence: seq, step }))
            }
            Ok(_) => None,
            Err(e) => Some(Err(e.into())),
        }
    })
}

/// Checks a step and builds its record; every error names the field.
pub fn validate(step: IncidentStep, now: OffsetDateTime) -> Result<Entry, ReportError> {
    let invalid = |field: &str, message: String| ReportError::InvalidArgument { field: field.into(), message };
    // What the audit stores cannot hold is refused before anything else.
    let c = &step.context;
    for (field, value, identifier) in [
        ("incident_id", &step.incident_id, true),
        ("tenant", &c.tenant, true),
        ("application", &c.application, true),
        ("actor", &step.actor, true),
        ("title", &step.title, false),
        ("description", &step.description, false),
        ("authority", &step.authority, false),
    ] {
        let checked =
            if identifier { crate::validate::identifier(field, value) } else { crate::validate::text(field, value) };
        if let Err(crate::error::Error::InvalidArgument { field, reason }) = checked {
            return Err(ReportError::InvalidArgument { field, message: reason });
        }
    }
    if !EVENTS.contains(&step.event.as_str()) {
        return Err(invalid("event", format!("{:?} is not one of {}", step.event, EVENTS.join(", "))));
    }
    let new = step.event == "reported";
    if new && !step.incident_id.is_empty() {
        return Err(invalid("incident_id", "a new incident gets its id from Warden; leave it empty".into()));
    }
    if !new && step.incident_id.trim().is_empty() {
        return Err(invalid("incident_id", format!("required for event {:?}", step.event)));
    }
    let severity = Severity::parse(&step.severity).ok_or_else(|| {
        invalid(
            "severity",
            format!(
                "{:?} is not one of {}",
                step.severity,
                Severity::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ),
        )
    })?;
    if new && step.title.trim().is_empty() {
        return Err(invalid("title", "required for a new incident".into()));
    }
    if step.title.len() > 500 {
        return Err(invalid("title", "longer than 500 bytes".into()));
    }
    if step.description.len() > 64 * 1024 {
        return Err(invalid("description", "longer than 64 KiB".into()));
    }
    let aware_at = crate::timestamp::parse(&step.aware_at).map_err(|m| invalid("aware_at", m))?;
    if aware_at > now {
        return Err(invalid("aware_at", "lies in the future".into()));
    }
    for (i, id) in step.related_records.iter().enumerate() {
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(invalid(&format!("related_records[{i}]"), format!("{id:?} is not an audit record id")));
        }
    }
    let notified_at = if step.event == "notified" {
        if step.authority.trim().is_empty() {
            return Err(invalid("authority", "required for event \"notified\"".into()));
        }
        let t = if step.notified_at.is_empty() {
            now
        } else {
            crate::timestamp::parse(&step.notified_at).map_err(|m| invalid("notified_at", m))?
        };
        if t < aware_at {
            return Err(invalid("notified_at", "is before aware_at".into()));
        }
        crate::timestamp::format(t)
    } else {
        String::new()
    };
    let actor = if step.actor.is_empty() { "unknown".to_string() } else { step.actor };
    Ok(Entry::Incident {
        incident_id: if new { uuid::Uuid::now_v7().to_string() } else { step.incident_id },
        event: step.event,
        context: step.context,
        actor,
        severity: severity.as_str().to_string(),
        title: step.title,
        description: step.description,
        aware_at: crate::timestamp::format(aware_at),
        related_records: step.related_records,
        authority: step.authority,
        notified_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step() -> IncidentStep {
        IncidentStep {
            event: "reported".into(),
            severity: "serious".into(),
            title: "Refund agent paid a fraudulent claim".into(),
            aware_at: "2026-10-02T09:00:00Z".into(),
            ..IncidentStep::default()
        }
    }

    #[test]
    fn deadlines_follow_article_73() {
        assert_eq!(Severity::Death.deadline().unwrap().0, 10);
        assert_eq!(Severity::CriticalInfrastructure.deadline().unwrap().0, 2);
        assert_eq!(Severity::WidespreadInfringement.deadline().unwrap().0, 2);
        assert_eq!(Severity::Serious.deadline().unwrap().0, 15);
        assert_eq!(Severity::Minor.deadline(), None);
    }

    #[test]
    fn bad_steps_name_their_field() {
        let now = OffsetDateTime::now_utc();
        let field = |s: IncidentStep| match validate(s, now) {
            Err(ReportError::InvalidArgument { field, .. }) => field,
            other => panic!("expected an invalid argument, got {other:?}"),
        };
        assert_eq!(field(IncidentStep { severity: "bad".into(), ..step() }), "severity");
        assert_eq!(field(IncidentStep { title: " ".into(), ..step() }), "title");
        assert_eq!(field(IncidentStep { aware_at: "yesterday".into(), ..step() }), "aware_at");
        assert_eq!(field(IncidentStep { aware_at: "2999-01-01".into(), ..step() }), "aware_at");
        assert_eq!(field(IncidentStep { event: "notified".into(), ..step() }), "incident_id");
        assert_eq!(field(IncidentStep { event: "notified".into(), incident_id: "x".into(), ..step() }), "authority");
        assert_eq!(field(IncidentStep { related_records: vec!["nope".into()], ..step() }), "related_records[0]");
        assert!(matches!(validate(step(), now), Ok(Entry::Incident { .. })));
    }
}
