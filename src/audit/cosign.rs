//! Witness cosignatures (C2SP `tlog-cosignature`, `cosignature/v1`) and the
//! signed-note pieces around them: verifier keys (`vkey`s), splitting a
//! note into its body and signature lines, and checking a log's own
//! signature on a note.
//!
//! A cosignature is a signature line on a checkpoint by a second key that
//! checked the checkpoint is consistent with every earlier one it saw for
//! that log. It signs
//!
//! ```text
//! cosignature/v1\ntime <unix seconds>\n<the checkpoint's note body>
//! ```
//!
//! and its line is `— <witness name> base64(key id || u64 timestamp (big
//! endian) || Ed25519 signature)`, the key id being the first four bytes of
//! `SHA-256(name || "\n" || 0x04 || public key)`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

/// Signature type of a log's own Ed25519 note signature.
pub const ALG_ED25519: u8 = 0x01;
/// Signature type of a timestamped Ed25519 cosignature.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

/// A named public key as a C2SP verifier key line:
/// `<name>+<hex key id>+<base64(type || key)>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vkey {
    pub name: String,
    pub alg: u8,
    pub key: VerifyingKey,
    pub id: [u8; 4],
}

impl Vkey {
    pub fn new(name: &str, alg: u8, key: VerifyingKey) -> Self {
        Vkey { name: name.to_string(), alg, key, id: key_id(name, alg, &key) }
    }

    /// Parses a vkey line, checking that its key id matches its name and key.
    pub fn parse(text: &str) -> Result<Vkey, String> {
        let mut parts = text.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(blob)) = (parts.next(), parts.next(), parts.next()) else {
            return Err("a verifier key is <name>+<hex key id>+<base64 key>".into());
        };
        let blob = B64.decode(blob).map_err(|e| format!("verifier key {name}: key is not base64: {e}"))?;
        let (alg, raw) = blob.split_first().ok_or_else(|| format!("verifier key {name}: empty key"))?;
        if *alg != ALG_ED25519 && *alg != ALG_COSIGNATURE_V1 {
            return Err(format!(
                "verifier key {name}: signature type {alg:#04x} is not Ed25519 (0x01) or cosignature/v1 (0x04)"
            ));
        }
        let raw: [u8; 32] = raw.try_into().map_err(|_| format!("verifier key {name}: not a 32-byte Ed25519 key"))?;
        let key = VerifyingKey::from_bytes(&raw).map_err(|e| format!("verifier key {name}: {e}"))?;
        let vkey = Vkey::new(name, *alg, key);
        if hex::encode(vkey.id) != id.to_ascii_lowercase() {
            return Err(format!("verifier key {name}: key id {id} does not match the name and key"));
        }
        Ok(vkey)
    }
}

impl std::fmt::Display for Vkey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut blob = vec![self.alg];
        blob.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{}+{}", self.name, hex::encode(self.id), B64.encode(blob))
    }
}

/// `SHA-256(name || "\n" || alg || key)[:4]`.
pub fn key_id(name: &str, alg: u8, key: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([alg]);
    h.update(key.as_bytes());
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// A signed note split into its body (ending in a newline) and its
/// signature lines as `(name, base64 blob)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub body: String,
    pub signatures: Vec<(String, String)>,
}

impl Note {
    pub fn parse(text: &str) -> Result<Note, String> {
        let (body, sigs) = text
            .split_once("\n\n")
            .ok_or_else(|| "a signed note is a body, a blank line and signatures".to_string())?;
        let mut signatures = Vec::new();
        for line in sigs.lines().filter(|l| !l.is_empty()) {
            let rest = line.strip_prefix("\u{2014} ").ok_or_else(|| format!("not a signature line: {line:?}"))?;
            let (name, blob) = rest.rsplit_once(' ').ok_or_else(|| format!("not a signature line: {line:?}"))?;
            signatures.push((name.to_string(), blob.to_string()));
        }
        if signatures.is_empty() {
            return Err("the note has no signature".into());
        }
        Ok(Note { body: format!("{body}\n"), signatures })
    }

    /// The note as text: body, blank line, signature lines.
    pub fn text(&self) -> String {
        let mut out = format!("{}\n", self.body);
        for (name, blob) in &self.signatures {
            out.push_str(&format!("\u{2014} {name} {blob}\n"));
        }
        out
    }

    /// Whether `vkey` (type 0x01) signed this note.
    pub fn signed_by(&self, vkey: &Vkey) -> bool {
        self.blobs_of(vkey).any(|blob| {
            blob.len() == 4 + 64
                && Signature::from_slice(&blob[4..]).is_ok_and(|s| vkey.key.verify(self.body.as_bytes(), &s).is_ok())
        })
    }

    /// The timestamp of a valid cosignature by `vkey` (type 0x04), if any.
    pub fn cosigned_by(&self, vkey: &Vkey) -> Option<u64> {
        self.blobs_of(vkey).find_map(|blob| {
            if blob.len() != 4 + 8 + 64 {
                return None;
            }
            let timestamp = u64::from_be_bytes(blob[4..12].try_into().ok()?);
            let signature = Signature::from_slice(&blob[12..]).ok()?;
            vkey.key.verify(cosigned_message(timestamp, &self.body).as_bytes(), &signature).ok()?;
            Some(timestamp)
        })
    }

    /// Signature blobs whose name and key id are `vkey`'s.
    fn blobs_of<'a>(&'a self, vkey: &'a Vkey) -> impl Iterator<Item = Vec<u8>> + 'a {
        self.signatures
            .iter()
            .filter(move |(name, _)| *name == vkey.name)
            .filter_map(|(_, blob)| B64.decode(blob).ok())
            .filter(move |blob| blob.len() >= 4 && blob[..4] == vkey.id)
    }
}

/// The origin, tree size and root hash of a checkpoint body (its first
/// three lines); `None` if it is not one.
pub fn checkpoint_fields(body: &str) -> Option<(String, u64, [u8; 32])> {
    let mut lines = body.lines();
    let origin = lines.next().filter(|o| !o.is_empty())?.to_string();
    let size = lines.next()?.parse().ok()?;
    let root = B64.decode(lines.next()?).ok()?.try_into().ok()?;
    Some((origin, size, root))
}

/// What a cosignature signs.
fn cosigned_message(timestamp: u64, body: &str) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{body}")
}

/// A cosignature line by `key` named `name` over the checkpoint `body`.
pub fn cosign(name: &str, key: &SigningKey, timestamp: u64, body: &str) -> (String, String) {
    let signature = key.sign(cosigned_message(timestamp, body).as_bytes());
    let mut blob = key_id(name, ALG_COSIGNATURE_V1, &key.verifying_key()).to_vec();
    blob.extend_from_slice(&timestamp.to_be_bytes());
    blob.extend_from_slice(&signature.to_bytes());
    (name.to_string(), B64.encode(blob))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn a_cosignature_verifies_with_its_vkey_and_nothing_else() {
        let body = "example.com/log\n3\nAAAA\n";
        let w = key(7);
        let vkey = Vkey::new("witness.example/w1", ALG_COSIGNATURE_V1, w.verifying_key());
        let parsed = Vkey::parse(&vkey.to_string()).unwrap();
        assert_eq!(parsed, vkey);
        let mut note = Note { body: body.into(), signatures: vec![cosign(&vkey.name, &w, 1_700_000_000, body)] };
        assert_eq!(note.cosigned_by(&vkey), Some(1_700_000_000));
        let again = Note::parse(&note.text()).unwrap();
        assert_eq!(again, note);

        // Another key, another name, another body: no.
        let other = Vkey::new("witness.example/w1", ALG_COSIGNATURE_V1, key(8).verifying_key());
        assert_eq!(note.cosigned_by(&other), None);
        let renamed = Vkey::new("witness.example/w2", ALG_COSIGNATURE_V1, w.verifying_key());
        assert_eq!(note.cosigned_by(&renamed), None);
        note.body = "example.com/log\n4\nAAAA\n".into();
        assert_eq!(note.cosigned_by(&vkey), None);
        // A vkey whose id does not match is refused.
        let text = vkey.to_string().replacen('+', "+00", 1);
        assert!(Vkey::parse(&text).is_err());
    }
}
