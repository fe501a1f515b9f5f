//! `warden.v1.ComplianceService`: reports and the incident register over
//! gRPC. The work is in [`crate::compliance`]; this maps messages and
//! errors.

use std::sync::Arc;

use time::OffsetDateTime;
use tonic::{Request, Response, Status};

use super::{caller_of, status_from};
use crate::audit::journal::AuditLog;
use crate::auth::Role;
use crate::compliance::incident::{self, IncidentStep, Severity};
use crate::compliance::{ComplianceConfig, Framework, ReportError, ReportRequest};
use crate::error::Error;
use crate::proto::v1 as pb;

pub struct ComplianceApi {
    log: Arc<AuditLog>,
    config: ComplianceConfig,
    stores: crate::sink::Cursors,
    /// On a fleet service: the central store reports read every
    /// instance's log from.
    central: Option<String>,
}

impl ComplianceApi {
    pub fn new(log: Arc<AuditLog>, config: &crate::config::Config) -> Self {
        Self {
            log,
            config: config.compliance.clone(),
            stores: crate::sink::Cursors::new(&config.data_dir, &config.sinks),
            central: None,
        }
    }

    /// A fleet service's: reports cover every instance's verified log in
    /// the central store.
    pub fn fleet(log: Arc<AuditLog>, config: &crate::config::Config) -> Self {
        Self { central: Some(config.fleet.central.clone()), ..Self::new(log, config) }
    }
}

fn report_status(e: ReportError) -> Status {
    status_from(e.into())
}

fn to_time(t: Option<pbjson_types::Timestamp>, field: &str) -> Result<Option<OffsetDateTime>, Status> {
    t.map(|t| crate::validate::timestamp(field, t.seconds, t.nanos).map_err(status_from)).transpose()
}

fn timestamp(s: &str) -> Option<pbjson_types::Timestamp> {
    crate::timestamp::parse(s)
        .ok()
        .map(|t| pbjson_types::Timestamp { seconds: t.unix_timestamp(), nanos: t.nanosecond() as i32 })
}

const SEVERITIES: [(pb::IncidentSeverity, Severity); 5] = [
    (pb::IncidentSeverity::Death, Severity::Death),
    (pb::IncidentSeverity::CriticalInfrastructure, Severity::CriticalInfrastructure),
    (pb::IncidentSeverity::WidespreadInfringement, Severity::WidespreadInfringement),
    (pb::IncidentSeverity::Serious, Severity::Serious),
    (pb::IncidentSeverity::Minor, Severity::Minor),
];

const EVENTS: [(pb::IncidentEvent, &str); 4] = [
    (pb::IncidentEvent::Reported, "reported"),
    (pb::IncidentEvent::Notified, "notified"),
    (pb::IncidentEvent::Updated, "updated"),
    (pb::IncidentEvent::Closed, "closed"),
];

#[tonic::async_trait]
impl pb::compliance_service_server::ComplianceService for ComplianceApi {
    async fn generate_report(
        &self,
        request: Request<pb::GenerateReportRequest>,
    ) -> Result<Response<pb::GenerateReportResponse>, Status> {
        let caller = caller_of(&request)?;
        caller.require("GenerateReport", &[Role::Auditor]).map_err(status_from)?;
        let r = request.into_inner();
        let framework = match pb::Framework::try_from(r.framework) {
            Ok(pb::Framework::EuAiAct) => Framework::EuAiAct,
            Ok(pb::Framework::NistAiRmf) => Framework::NistAiRmf,
            Ok(pb::Framework::Iso42001) => Framework::Iso42001,
            _ => return Err(status_from(Error::invalid("framework", "required: EU_AI_ACT, NIST_AI_RMF or ISO_42001"))),
        };
        let (from_field, from) = super::convert::period_start(r.from, r.from_time).map_err(status_from)?;
        let from = to_time(from, from_field)?
            .ok_or_else(|| status_from(Error::invalid("from", "required (or its alias from_time)")))?;
        let to = to_time(r.to, "to")?.ok_or_else(|| status_from(Error::invalid("to", "required")))?;
        if to <= from {
            return Err(status_from(Error::invalid("to", "must be after from")));
        }
        let req =
            ReportRequest { framework, from, to, tenant: r.tenant, application: r.application, actor: String::new() }
                .scoped(&caller)
                .map_err(status_from)?;
        let source = crate::compliance::Source::of(self.central.as_deref());
        let g = crate::compliance::generate_from(self.log.clone(), &self.config, req, &self.stores, source)
            .await
            .map_err(report_status)?;
        let s = &g.report.summary;
        Ok(Response::new(pb::GenerateReportResponse {
            report_json: g.json.clone(),
            report_html: g.html.clone(),
            evidence: g
                .bundle
                .iter()
                .map(|(name, content)| pb::ReportFile { name: name.clone(), content: content.clone() })
                .collect(),
            report_sha256: g.report_sha256.clone(),
            record_id: g.record.record_id.clone(),
            sequence: g.record.sequence,
            clauses: s.clauses as u32,
            met: s.met as u32,
            partly_met: s.partly_met as u32,
            not_evidenced: s.not_evidenced as u32,
        }))
    }

    async fn record_incident(
        &self,
        request: Request<pb::RecordIncidentRequest>,
    ) -> Result<Response<pb::RecordIncidentResponse>, Status> {
        let caller = caller_of(&request)?;
        caller.require("RecordIncident", &[Role::Auditor]).map_err(status_from)?;
        let r = request.into_inner();
        // The one tenant rule, as for reports, reads and writes.
        let tenant = caller.scope_tenant("tenant", &r.tenant).map_err(status_from)?;
        let event =
            EVENTS.iter().find(|(p, _)| *p as i32 == r.event).map(|(_, e)| e.to_string()).ok_or_else(|| {
                status_from(Error::invalid("event", "required: REPORTED, NOTIFIED, UPDATED or CLOSED"))
            })?;
        let severity = SEVERITIES
            .iter()
            .find(|(p, _)| *p as i32 == r.severity)
            .map(|(_, s)| s.as_str().to_string())
            .ok_or_else(|| status_from(Error::invalid("severity", "required")))?;
        let aware_at =
            to_time(r.aware_at, "aware_at")?.ok_or_else(|| status_from(Error::invalid("aware_at", "required")))?;
        let notified_at = to_time(r.notified_at, "notified_at")?.map(crate::timestamp::format).unwrap_or_default();
        let step = IncidentStep {
            incident_id: r.incident_id,
            event,
            severity,
            title: r.title,
            description: r.description,
            aware_at: crate::timestamp::format(aware_at),
            related_records: r.related_record_ids,
            authority: r.authority,
            notified_at,
            actor: caller.identity.clone(),
            context: crate::request::Context { tenant, application: r.application, ..Default::default() },
        };
        let recorded = incident::record(&self.log, step, self.log.now()).await.map_err(|e| match e {
            ReportError::InvalidArgument { field, message } => {
                let field = field.replace("related_records", "related_record_ids");
                status_from(Error::InvalidArgument { field, reason: message })
            }
            other => report_status(other),
        })?;
        Ok(Response::new(pb::RecordIncidentResponse {
            incident_id: recorded.incident_id,
            record_id: recorded.record.record_id,
            sequence: recorded.record.sequence,
        }))
    }

    async fn list_incidents(
        &self,
        request: Request<pb::ListIncidentsRequest>,
    ) -> Result<Response<pb::ListIncidentsResponse>, Status> {
        let caller = caller_of(&request)?;
        caller.require("ListIncidents", &[Role::Auditor]).map_err(status_from)?;
        let log = self.log.clone();
        let listed = tokio::task::spawn_blocking(move || incident::list(&log, &caller))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(report_status)?;
        let incidents = listed
            .into_iter()
            .map(|l| {
                let s = l.step;
                pb::IncidentRecord {
                    event: EVENTS.iter().find(|(_, e)| *e == s.event).map_or(0, |(p, _)| *p as i32),
                    severity: SEVERITIES.iter().find(|(_, v)| v.as_str() == s.severity).map_or(0, |(p, _)| *p as i32),
                    incident_id: s.incident_id,
                    title: s.title,
                    description: s.description,
                    aware_at: timestamp(&s.aware_at),
                    related_record_ids: s.related_records,
                    authority: s.authority,
                    notified_at: timestamp(&s.notified_at),
                    actor: s.actor,
                    recorded_at: timestamp(&l.recorded_at),
                    record_id: l.record_id,
                    sequence: l.sequence,
                }
            })
            .collect();
        Ok(Response::new(pb::ListIncidentsResponse { incidents }))
    }
}
