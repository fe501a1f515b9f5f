//! Signed checkpoints (signed tree heads) in the C2SP `tlog-checkpoint` and
//! `signed-note` formats, the same ones Go's sumdb, Sigstore and other
//! transparency logs publish, so existing tooling can read them.
//!
//! A checkpoint body is
//!
//! ```text
//! <origin>\n<tree size>\n<base64 root hash>\n<time: RFC 3339 UTC>\n
//! ```
//!
//! signed with Ed25519. The signing key is a PKCS#8 PEM file created on first
//! start (mode 0600) or read from a configured path; its public key is what a
//! third party needs, with the RPC responses, to check the log.

use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::merkle::Hash;
use super::AuditError;

use super::cosign::ALG_ED25519;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub origin: String,
    pub tree_size: u64,
    #[serde(with = "hex_hash")]
    pub root: Hash,
    /// RFC 3339 UTC with nanoseconds.
    pub time: String,
    pub unix_nanos: i128,
    /// The exact signed bytes (the note body).
    pub note: String,
    /// Base64 Ed25519 signature over `note`.
    pub signature: String,
    /// Hex of the 4-byte C2SP key hash.
    pub key_id: String,
}

impl Checkpoint {
    /// The note as a C2SP signed note: body, blank line, signature line.
    pub fn signed_note(&self) -> String {
        let key_hash = hex::decode(&self.key_id).unwrap_or_default();
        let sig = B64.decode(&self.signature).unwrap_or_default();
        let mut blob = key_hash;
        blob.extend(sig);
        format!("{}\n\u{2014} {} {}\n", self.note, self.origin, B64.encode(blob))
    }
}

impl Checkpoint {
    /// A checkpoint as a store keeps it: the signed note, its root and the
    /// raw signature. The fields are read back from the note (its time is
    /// the signed one); [`verify_checkpoint`] then checks them all.
    pub fn from_note(
        origin: String,
        note: &str,
        root: Hash,
        signature: &[u8],
        key_id: String,
    ) -> Result<Checkpoint, String> {
        let (_, tree_size, _) =
            super::cosign::checkpoint_fields(note).ok_or_else(|| "the note is not a checkpoint".to_string())?;
        let time = note
            .lines()
            .nth(3)
            .and_then(|l| l.strip_prefix("time "))
            .ok_or_else(|| "the note has no time line".to_string())?
            .to_string();
        let unix_nanos = time::OffsetDateTime::parse(&time, &time::format_description::well_known::Rfc3339)
            .map_err(|e| format!("time {time:?}: {e}"))?
            .unix_timestamp_nanos();
        Ok(Checkpoint {
            origin,
            tree_size,
            root,
            time,
            unix_nanos,
            note: note.to_string(),
            signature: B64.encode(signature),
            key_id,
        })
    }
}

/// The log's signing identity.
pub struct LogSigner {
    key: SigningKey,
    origin: String,
}

impl LogSigner {
    /// Reads the PKCS#8 PEM key at `path`, or creates one there (0600) if
    /// the file does not exist.
    pub fn load_or_create(path: &Path, origin: String) -> Result<Self, AuditError> {
        Ok(Self { key: load_or_create_key(path)?, origin })
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    pub fn sign(&self, tree_size: u64, root: Hash, now: time::OffsetDateTime) -> Checkpoint {
        let time = now.format(&time::format_description::well_known::Rfc3339).expect("RFC 3339 formats any UTC time");
        let note = format!("{}\n{}\n{}\ntime {}\n", self.origin, tree_size, B64.encode(root), time);
        let signature = self.key.sign(note.as_bytes());
        Checkpoint {
            origin: self.origin.clone(),
            tree_size,
            root,
            time,
            unix_nanos: now.unix_timestamp_nanos(),
            note,
            signature: B64.encode(signature.to_bytes()),
            key_id: hex::encode(key_hash(&self.origin, &self.verifying_key())),
        }
    }
}

/// Reads the Ed25519 PKCS#8 PEM key at `path`, or creates one there (mode
/// 0600) if the file does not exist: the log's signing key, or a witness's.
pub fn load_or_create_key(path: &Path) -> Result<SigningKey, AuditError> {
    let io = |e: std::io::Error| AuditError::Io(format!("{}: {e}", path.display()));
    if path.exists() {
        let pem = std::fs::read_to_string(path).map_err(io)?;
        return SigningKey::from_pkcs8_pem(&pem)
            .map_err(|e| AuditError::Io(format!("{}: not an Ed25519 PKCS#8 key: {e}", path.display())));
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| AuditError::Io(format!("random key: {e}")))?;
    let key = SigningKey::from_bytes(&seed);
    let pem = key
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(|e| AuditError::Io(format!("encoding the signing key: {e}")))?;
    write_private(path, pem.as_bytes()).map_err(io)?;
    tracing::info!(path = %path.display(), "created an Ed25519 signing key");
    Ok(key)
}

/// Public key material as a verifier wants it.
pub struct PublicKey {
    /// SubjectPublicKeyInfo PEM.
    pub pem: String,
    /// C2SP verifier key: `<origin>+<hex key hash>+<base64(0x01 || key)>`.
    pub vkey: String,
    pub raw: [u8; 32],
}

pub fn public_key(signer: &LogSigner) -> PublicKey {
    public_key_of(signer.origin(), &signer.verifying_key())
}

/// The public key of the log `origin` whose checkpoints `vk` verifies.
pub fn public_key_of(origin: &str, vk: &VerifyingKey) -> PublicKey {
    PublicKey {
        pem: vk
            .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .expect("an Ed25519 public key always encodes"),
        vkey: super::cosign::Vkey::new(origin, ALG_ED25519, *vk).to_string(),
        raw: vk.to_bytes(),
    }
}

/// C2SP key hash: the first 4 bytes of SHA-256(name || "\n" || 0x01 || key).
fn key_hash(name: &str, key: &VerifyingKey) -> [u8; 4] {
    super::cosign::key_id(name, ALG_ED25519, key)
}

/// Checks a checkpoint's signature and that its body says what its fields say.
pub fn verify_checkpoint(cp: &Checkpoint, key: &VerifyingKey) -> Result<(), String> {
    let expected = format!("{}\n{}\n{}\ntime {}\n", cp.origin, cp.tree_size, B64.encode(cp.root), cp.time);
    if expected != cp.note {
        return Err(format!("checkpoint at size {}: note does not match its fields", cp.tree_size));
    }
    // The time verifiers compare with record times is the signed one.
    let signed_time = time::OffsetDateTime::parse(&cp.time, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("checkpoint at size {}: time {:?} is not RFC 3339: {e}", cp.tree_size, cp.time))?;
    if signed_time.unix_timestamp_nanos() != cp.unix_nanos {
        return Err(format!("checkpoint at size {}: unix_nanos does not match its signed time", cp.tree_size));
    }
    let sig = B64.decode(&cp.signature).map_err(|e| format!("signature is not base64: {e}"))?;
    let sig = Signature::from_slice(&sig).map_err(|e| format!("malformed signature: {e}"))?;
    key.verify(cp.note.as_bytes(), &sig).map_err(|_| {
        format!("checkpoint at size {}: signature does not verify with the log's public key", cp.tree_size)
    })
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Serde for a 32-byte hash as hex (checkpoints, witness state).
pub(crate) mod hex_hash {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(h: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(h))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        let v = hex::decode(s).map_err(serde::de::Error::custom)?;
        v.try_into().map_err(|_| serde::de::Error::custom("expected 32 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_verifies_and_reuses_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        let signer = LogSigner::load_or_create(&path, "warden/test".into()).unwrap();
        let cp = signer.sign(3, [7u8; 32], time::OffsetDateTime::now_utc());
        assert!(cp.note.starts_with("warden/test\n3\n"));
        verify_checkpoint(&cp, &signer.verifying_key()).unwrap();
        assert!(cp.signed_note().contains("\n\u{2014} warden/test "));

        let again = LogSigner::load_or_create(&path, "warden/test".into()).unwrap();
        assert_eq!(again.verifying_key(), signer.verifying_key(), "the key is kept, not regenerated");

        let mut forged = cp.clone();
        forged.tree_size = 4;
        assert!(verify_checkpoint(&forged, &signer.verifying_key()).is_err());
        let other = LogSigner::load_or_create(&dir.path().join("other.pem"), "warden/test".into()).unwrap();
        assert!(verify_checkpoint(&cp, &other.verifying_key()).is_err());
        let pk = public_key(&signer);
        assert!(pk.pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        assert!(pk.vkey.starts_with("warden/test+"));
    }
}
