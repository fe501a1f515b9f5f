//! The report's evidence bundle (format `warden-report-evidence/1`), so a
//! reader can check, without trusting Warden, that the records behind the
//! report were not altered and that the report is the one the log recorded:
//!
//! - `MANIFEST.json`: the report's period and framework, the SHA-256 of
//!   `report.json` and `report.html`, the report's own audit record
//!   (sequence, id), the tree head, and the SHA-256 of every other file;
//! - `checkpoints.jsonl`: the signed checkpoints that bear on the period
//!   (the last before it, the last of each day in it, the first after it)
//!   and the latest,
//!   each with its C2SP signed note;
//! - `consistency_proofs.jsonl`: RFC 9162 proofs between successive ones;
//! - `report_record.json`: the `report_generated` record's exact bytes
//!   (base64), leaf hash and inclusion proof in the latest checkpoint; it
//!   holds the two report hashes;
//! - `public-key.pem`, `verifier-key.txt`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::json;

use super::{sha256, Report, ReportError};
use crate::audit::checkpoint::Checkpoint;
use crate::audit::journal::AuditLog;
use crate::audit::Appended;

pub const FORMAT: &str = "warden-report-evidence/1";

pub fn build(
    log: &AuditLog,
    report: &Report,
    json: &[u8],
    html: &[u8],
    record: &Appended,
    latest: &Checkpoint,
) -> Result<Vec<(String, Vec<u8>)>, ReportError> {
    let parse = |s: &str| crate::timestamp::parse(s).map(|t| t.unix_timestamp_nanos()).unwrap_or_default();
    let (from, to) = (parse(&report.period.from), parse(&report.period.to));
    let period = log.checkpoints_for_period(from, to);
    let mut chosen: Vec<&Checkpoint> = period.iter().collect();
    if chosen.last().is_none_or(|c| c.tree_size < latest.tree_size) {
        chosen.push(latest);
    }
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    files.extend(crate::audit::export::checkpoint_files(log, &chosen)?);
    let r = log
        .record(record.sequence)?
        .ok_or_else(|| ReportError::Audit("the report's own record cannot be read back".into()))?;
    let proof =
        log.inclusion_proof(record.sequence, latest.tree_size).map_err(|e| ReportError::Audit(e.to_string()))?;
    let mut rr = serde_json::to_vec_pretty(&json!({
        "leaf_index": record.sequence,
        "record_id": record.record_id,
        "leaf_hash": hex::encode(r.leaf),
        "entry_b64": B64.encode(&r.canonical),
        "inclusion_proof": { "tree_size": latest.tree_size, "hashes": proof.iter().map(hex::encode).collect::<Vec<_>>() },
    }))
    .map_err(|e| ReportError::Io(e.to_string()))?;
    rr.push(b'\n');
    files.push(("report_record.json".into(), rr));
    let pk = log.public_key();
    files.push(("public-key.pem".into(), pk.pem.into_bytes()));
    files.push(("verifier-key.txt".into(), format!("{}\n", pk.vkey).into_bytes()));

    let digests: serde_json::Map<String, serde_json::Value> =
        files.iter().map(|(name, bytes)| (name.clone(), json!(sha256(bytes)))).collect();
    let manifest = json!({
        "format": FORMAT,
        "framework": report.framework.id,
        "mapping_version": report.framework.mapping_version,
        "period": { "from": report.period.from, "to": report.period.to },
        "scope": { "tenant": report.scope.tenant, "application": report.scope.application },
        "report": { "report.json": sha256(json), "report.html": sha256(html) },
        "report_record": { "sequence": record.sequence, "record_id": record.record_id, "recorded_at": record.recorded_at },
        "origin": latest.origin,
        "tree_size": latest.tree_size,
        "root_hash": hex::encode(latest.root),
        "files": digests,
    });
    let mut bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| ReportError::Io(e.to_string()))?;
    bytes.push(b'\n');
    files.push(("MANIFEST.json".into(), bytes));
    Ok(files)
}
