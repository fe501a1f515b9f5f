//! A reviewer's decision made in a fleet service for an approval another
//! instance holds: recorded in the fleet service's own log (record kind
//! `fleet_decision`), shipped with the rest of that log to JetStream, and
//! taken from there by the instance it names. It is signed with the fleet
//! service's decision key, so an instance applies only what that service
//! decided: a message anyone else published (with access to the stream)
//! does not verify and is refused.
//!
//! The key is its own Ed25519 key (`fleet/decision-key.pem` in the fleet
//! service's data dir), not the log's checkpoint key, so a decision
//! signature can never be read as a checkpoint signature or the reverse.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePublicKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::Serialize;

use crate::approval::Delivered;
use crate::audit::read::FleetDecisionBody;
use crate::audit::AuditError;

/// What the signature covers, in this order, after [`DOMAIN`].
#[derive(Serialize)]
struct Signed<'a> {
    fleet_origin: &'a str,
    instance_id: &'a str,
    approval_id: &'a str,
    request_record_id: &'a str,
    approve: bool,
    reviewer: &'a str,
    roles: &'a [String],
    reason: &'a str,
    decided_at: &'a str,
}

/// Prefixed to every signed decision: a signature over anything else is
/// never one over a decision.
const DOMAIN: &[u8] = b"warden fleet decision v1\n";

/// The decision's facts, as the fleet record holds them.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub fleet_origin: String,
    pub instance_id: String,
    pub approval_id: String,
    pub request_record_id: String,
    pub approve: bool,
    pub reviewer: String,
    pub roles: Vec<String>,
    pub reason: String,
    /// RFC 3339 UTC.
    pub decided_at: String,
}

impl Decision {
    fn signed_bytes(&self) -> Vec<u8> {
        let signed = Signed {
            fleet_origin: &self.fleet_origin,
            instance_id: &self.instance_id,
            approval_id: &self.approval_id,
            request_record_id: &self.request_record_id,
            approve: self.approve,
            reviewer: &self.reviewer,
            roles: &self.roles,
            reason: &self.reason,
            decided_at: &self.decided_at,
        };
        let mut out = DOMAIN.to_vec();
        out.extend(serde_json::to_vec(&signed).expect("strings and a bool serialise"));
        out
    }

    /// The signature (base64) of this decision with `key`.
    pub fn sign(&self, key: &SigningKey) -> String {
        base64::engine::general_purpose::STANDARD.encode(key.sign(&self.signed_bytes()).to_bytes())
    }

    /// Whether `signature` (base64) is `key`'s signature of this decision.
    pub fn verify(&self, signature: &str, key: &VerifyingKey) -> Result<(), String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(signature)
            .map_err(|_| "the signature is not base64".to_string())?;
        let signature = Signature::from_slice(&bytes).map_err(|_| "the signature is not 64 bytes".to_string())?;
        key.verify(&self.signed_bytes(), &signature).map_err(|_| "the signature does not verify".to_string())
    }

    /// As read back from a `fleet_decision` record.
    pub fn from_body(b: &FleetDecisionBody) -> Self {
        Self {
            fleet_origin: b.fleet_origin.clone(),
            instance_id: b.instance_id.clone(),
            approval_id: b.approval_id.clone(),
            request_record_id: b.request_record_id.clone(),
            approve: b.approve,
            reviewer: b.reviewer.clone(),
            roles: b.roles.clone(),
            reason: b.reason.clone(),
            decided_at: b.decided_at.clone(),
        }
    }

    /// What the instance that holds the approval is asked to apply.
    pub fn delivered(&self, fleet_record_id: &str) -> Delivered {
        Delivered {
            approval_id: self.approval_id.clone(),
            approve: self.approve,
            reviewer: self.reviewer.clone(),
            reason: self.reason.clone(),
            fleet_record_id: fleet_record_id.to_string(),
            fleet_origin: self.fleet_origin.clone(),
        }
    }
}

/// Where a fleet service keeps its decision key: `configured`, or
/// `<data_dir>/fleet/decision-key.pem`.
pub fn key_path(data_dir: &Path, configured: Option<&Path>) -> PathBuf {
    configured.map(Path::to_path_buf).unwrap_or_else(|| data_dir.join("fleet").join("decision-key.pem"))
}

/// The fleet service's decision key at `path`, made on first use.
pub fn load_or_create_key(path: &Path) -> Result<SigningKey, AuditError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| AuditError::Io(format!("{}: {e}", dir.display())))?;
    }
    crate::audit::checkpoint::load_or_create_key(path)
}

/// The public half, as PEM (what sidecars are given as
/// `fleet.decision_key_file`).
pub fn public_pem(key: &SigningKey) -> String {
    key.verifying_key()
        .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .expect("an Ed25519 public key encodes")
}

/// Reads a decision key's public half from a PEM file.
pub fn read_public_key(path: &Path) -> Result<VerifyingKey, String> {
    let pem = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    VerifyingKey::from_public_key_pem(pem.trim())
        .map_err(|e| format!("{}: not an Ed25519 public key in PEM: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision() -> Decision {
        Decision {
            fleet_origin: "warden/fleet".into(),
            instance_id: "warden/sidecar-2".into(),
            approval_id: "0193a0b2-0000-7000-8000-000000000001".into(),
            request_record_id: "0193a0b2-0000-7000-8000-000000000002".into(),
            approve: true,
            reviewer: "alice".into(),
            roles: vec!["reviewer".into()],
            reason: "refund within policy".into(),
            decided_at: "2026-12-05T12:00:00Z".into(),
        }
    }

    #[test]
    fn a_signed_decision_verifies_and_any_change_does_not() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let d = decision();
        let sig = d.sign(&key);
        assert_eq!(d.verify(&sig, &key.verifying_key()), Ok(()));
        let other = SigningKey::from_bytes(&[8; 32]);
        assert!(d.verify(&sig, &other.verifying_key()).is_err(), "another key");
        let changes: Vec<Box<dyn Fn(&mut Decision)>> = vec![
            Box::new(|d| d.approve = false),
            Box::new(|d| d.instance_id = "warden/sidecar-3".into()),
            Box::new(|d| d.approval_id.push('0')),
            Box::new(|d| d.reviewer = "mallory".into()),
            Box::new(|d| d.roles.push("admin".into())),
            Box::new(|d| d.reason.push('!')),
            Box::new(|d| d.decided_at = "2026-12-05T12:00:01Z".into()),
            Box::new(|d| d.fleet_origin = "warden/other-fleet".into()),
            Box::new(|d| d.request_record_id.clear()),
        ];
        for (i, change) in changes.iter().enumerate() {
            let mut changed = decision();
            change(&mut changed);
            assert!(changed.verify(&sig, &key.verifying_key()).is_err(), "change {i} still verifies");
        }
        for bad in ["", "not base64!", "AAAA"] {
            assert!(d.verify(bad, &key.verifying_key()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_key_is_kept_and_its_public_half_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = key_path(dir.path(), None);
        let key = load_or_create_key(&path).unwrap();
        assert_eq!(load_or_create_key(&path).unwrap().to_bytes(), key.to_bytes());
        let pub_path = dir.path().join("fleet.pub.pem");
        std::fs::write(&pub_path, public_pem(&key)).unwrap();
        assert_eq!(read_public_key(&pub_path).unwrap(), key.verifying_key());
        std::fs::write(&pub_path, "not a key").unwrap();
        assert!(read_public_key(&pub_path).unwrap_err().contains("not an Ed25519 public key"));
    }
}
