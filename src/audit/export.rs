//! Evidence bundles: the records an auditor asked for, with everything needed
//! to check them without trusting Warden (format `warden-evidence-bundle/1`):
//!
//! - `records.jsonl`: one line per record: `leaf_index`, `leaf_hash` (hex),
//!   `entry_b64` (the exact canonical bytes, base64: the leaf is
//!   `SHA-256(0x00 || bytes)`), and `record` (the same bytes as JSON, for
//!   reading).
//! - `checkpoints.jsonl`: every signed checkpoint of the log (C2SP note,
//!   signature, key id).
//! - `inclusion_proofs.jsonl`: for each record, its RFC 9162 inclusion proof
//!   in the tree of the latest checkpoint.
//! - `consistency_proofs.jsonl`: RFC 9162 consistency proofs between each
//!   pair of successive checkpoints.
//! - `public-key.pem` and `verifier-key.txt` (C2SP vkey).
//! - `MANIFEST.json`: what was asked, the tree head, and the SHA-256 of
//!   every other file.

use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::checkpoint::Checkpoint;
use super::journal::AuditLog;
use super::AuditError;

pub const FORMAT: &str = "warden-evidence-bundle/1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    pub records: usize,
    pub tree_size: u64,
    pub checkpoints: usize,
}

/// Writes the bundle for records `seqs` into `out` (created if missing).
/// `filters` is recorded in the manifest as asked.
pub fn export(
    log: &AuditLog,
    seqs: &[u64],
    filters: serde_json::Value,
    out: &Path,
) -> Result<ExportSummary, AuditError> {
    std::fs::create_dir_all(out).map_err(|e| io_err(out, e))?;
    let checkpoints = log.checkpoints();
    let latest = checkpoints.last().cloned().ok_or_else(|| AuditError::Io("the log has no checkpoint yet".into()))?;
    let size = latest.tree_size;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();

    let mut records = Vec::new();
    let mut proofs = Vec::new();
    let mut exported = 0;
    for &seq in seqs.iter().filter(|s| **s < size) {
        let Some(r) = log.record(seq)? else { continue }; // retired by retention
        let record = super::record::read_value(&r.canonical)?;
        writeln_json(
            &mut records,
            &json!({ "leaf_index": seq, "leaf_hash": hex::encode(r.leaf), "entry_b64": B64.encode(&r.canonical), "record": record }),
        );
        let proof = log.inclusion_proof(seq, size).map_err(|e| AuditError::Io(e.to_string()))?;
        writeln_json(
            &mut proofs,
            &json!({ "leaf_index": seq, "tree_size": size, "hashes": proof.iter().map(hex::encode).collect::<Vec<_>>() }),
        );
        exported += 1;
    }
    files.push(("records.jsonl".into(), records));
    files.push(("inclusion_proofs.jsonl".into(), proofs));

    files.extend(checkpoint_files(log, &checkpoints.iter().collect::<Vec<_>>())?);
    let pk = log.public_key();
    files.push(("public-key.pem".into(), pk.pem.into_bytes()));
    files.push(("verifier-key.txt".into(), format!("{}\n", pk.vkey).into_bytes()));

    let mut digests = serde_json::Map::new();
    for (name, bytes) in &files {
        let path = out.join(name);
        std::fs::write(&path, bytes).map_err(|e| io_err(&path, e))?;
        digests.insert(name.clone(), json!(format!("sha256:{}", hex::encode(Sha256::digest(bytes)))));
    }
    let manifest = json!({
        "format": FORMAT,
        "created_at": time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "origin": latest.origin,
        "tree_size": size,
        "root_hash": hex::encode(latest.root),
        "records": exported,
        "filters": filters,
        "files": digests,
    });
    let path = out.join("MANIFEST.json");
    let mut bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| AuditError::Io(e.to_string()))?;
    bytes.push(b'\n');
    std::fs::write(&path, bytes).map_err(|e| io_err(&path, e))?;
    Ok(ExportSummary { records: exported, tree_size: size, checkpoints: checkpoints.len() })
}

/// `checkpoints.jsonl` (each checkpoint with its C2SP signed note) and
/// `consistency_proofs.jsonl` (an RFC 9162 proof between each successive
/// pair) for `checkpoints`, oldest first.
pub fn checkpoint_files(log: &AuditLog, checkpoints: &[&Checkpoint]) -> Result<[(String, Vec<u8>); 2], AuditError> {
    let mut cps = Vec::new();
    for c in checkpoints {
        writeln_json(&mut cps, &json!({ "checkpoint": c, "signed_note": c.signed_note() }));
    }
    let mut cons = Vec::new();
    for pair in checkpoints.windows(2) {
        let (a, b) = (pair[0].tree_size, pair[1].tree_size);
        let proof = log.consistency_proof(a, b).map_err(|e| AuditError::Io(e.to_string()))?;
        writeln_json(
            &mut cons,
            &json!({ "first_size": a, "second_size": b, "hashes": proof.iter().map(hex::encode).collect::<Vec<_>>() }),
        );
    }
    Ok([("checkpoints.jsonl".into(), cps), ("consistency_proofs.jsonl".into(), cons)])
}

fn writeln_json(buf: &mut Vec<u8>, v: &serde_json::Value) {
    serde_json::to_writer(&mut *buf, v).expect("JSON values always serialise");
    let _ = buf.write_all(b"\n");
}

fn io_err(path: &Path, e: std::io::Error) -> AuditError {
    AuditError::Io(format!("{}: {e}", path.display()))
}
