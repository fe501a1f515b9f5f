//! A witness for Warden logs (C2SP `tlog-witness`): a second, independent
//! key that cosigns a log's checkpoint only after checking it is consistent
//! with the last one it cosigned for that log. Rewriting history then needs
//! the witness's key as well as the log's: the witness will not cosign a
//! tree that does not extend the one it saw, and it keeps the newest one it
//! cosigned for anyone to compare a log against (`warden audit verify
//! --witness`).
//!
//! - this module: the witness itself (`Witness::add_checkpoint`, its
//!   persisted state, one file per log, replaced atomically);
//! - [`http`]: its HTTP interface (`POST /add-checkpoint`, and `GET
//!   /checkpoint?origin=` for the newest cosigned checkpoint) and the client
//!   the log side uses;
//! - [`submit`]: the task in `warden serve` that sends each new checkpoint to
//!   the configured witnesses with a consistency proof and keeps their
//!   cosignatures.

pub mod http;
pub mod submit;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::audit::cosign::{self, Note, Vkey, ALG_COSIGNATURE_V1, ALG_ED25519};
use crate::audit::merkle::{verify_consistency, Hash};

/// How the witness runs (`warden witness`).
#[derive(Debug, Clone)]
pub struct WitnessConfig {
    /// The witness's name in its cosignature lines (a schema-less URL).
    pub name: String,
    /// Its Ed25519 PKCS#8 PEM key; created if absent.
    pub key_file: PathBuf,
    /// The logs it witnesses, as C2SP verifier keys (`warden audit pubkey`).
    pub logs: Vec<String>,
    /// Where it keeps the newest cosigned checkpoint of each log.
    pub state_dir: PathBuf,
}

/// Why a checkpoint was not cosigned, with the HTTP status the protocol
/// gives each reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    #[error("{0}")]
    BadRequest(String),
    #[error("unknown log {0:?}")]
    UnknownLog(String),
    #[error("no signature by the log's key")]
    Forbidden,
    /// The old size is not the size last cosigned (which it carries).
    #[error("the witness last cosigned size {0}")]
    Conflict(u64),
    #[error("the root differs from the one cosigned for the same size: the log forked")]
    Fork,
    #[error("the consistency proof does not verify: the new tree does not extend the old one")]
    Inconsistent,
    #[error("witness state: {0}")]
    Io(String),
}

impl WitnessError {
    pub fn status(&self) -> u16 {
        match self {
            WitnessError::BadRequest(_) => 400,
            WitnessError::Forbidden => 403,
            WitnessError::UnknownLog(_) => 404,
            WitnessError::Conflict(_) | WitnessError::Fork => 409,
            WitnessError::Inconsistent => 422,
            WitnessError::Io(_) => 500,
        }
    }
}

/// The newest checkpoint cosigned for one log.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Latest {
    origin: String,
    size: u64,
    #[serde(with = "crate::audit::checkpoint::hex_hash")]
    root: Hash,
    /// The checkpoint as cosigned: the log's signature and this witness's.
    note: String,
}

pub struct Witness {
    name: String,
    key: SigningKey,
    logs: HashMap<String, Vkey>,
    state_dir: PathBuf,
    /// Checking a submission against the stored size and persisting the new
    /// one happen under this lock, so two submissions never roll back.
    latest: Mutex<HashMap<String, Latest>>,
}

impl Witness {
    pub fn open(config: &WitnessConfig) -> Result<Witness, WitnessError> {
        let io = |e: &dyn std::fmt::Display| WitnessError::Io(e.to_string());
        if config.name.is_empty() || config.name.contains(char::is_whitespace) || config.name.contains('+') {
            return Err(WitnessError::BadRequest("the witness name must be non-empty, without spaces or '+'".into()));
        }
        let key = crate::audit::checkpoint::load_or_create_key(&config.key_file).map_err(|e| io(&e))?;
        let mut logs = HashMap::new();
        for text in &config.logs {
            let vkey = Vkey::parse(text).map_err(WitnessError::BadRequest)?;
            if vkey.alg != ALG_ED25519 {
                return Err(WitnessError::BadRequest(format!("log key {}: not a log's Ed25519 key", vkey.name)));
            }
            logs.insert(vkey.name.clone(), vkey);
        }
        std::fs::create_dir_all(&config.state_dir).map_err(|e| io(&e))?;
        let mut latest = HashMap::new();
        for origin in logs.keys() {
            match std::fs::read(state_file(&config.state_dir, origin)) {
                Ok(bytes) => {
                    let l: Latest = serde_json::from_slice(&bytes).map_err(|e| io(&e))?;
                    latest.insert(origin.clone(), l);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&e)),
            }
        }
        Ok(Witness {
            name: config.name.clone(),
            key,
            logs,
            state_dir: config.state_dir.clone(),
            latest: Mutex::new(latest),
        })
    }

    /// This witness's verifier key (type 0x04), for the logs' operators.
    pub fn vkey(&self) -> Vkey {
        Vkey::new(&self.name, ALG_COSIGNATURE_V1, self.key.verifying_key())
    }

    /// The newest cosigned checkpoint of `origin`, as a signed note.
    pub fn latest(&self, origin: &str) -> Option<String> {
        self.latest.lock().expect("witness lock").get(origin).map(|l| l.note.clone())
    }

    /// Handles an `add-checkpoint` request body; returns the cosignature
    /// line to answer with.
    pub fn add_checkpoint(&self, request: &str, now_secs: u64) -> Result<String, WitnessError> {
        let bad = |m: &str| WitnessError::BadRequest(m.to_string());
        let (head, checkpoint) =
            request.split_once("\n\n").ok_or_else(|| bad("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old: u64 = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .filter(|n| *n == "0" || !n.starts_with('0'))
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| bad("the first line must be `old <size>`"))?;
        let proof: Vec<Hash> = lines
            .map(|l| {
                B64.decode(l)
                    .ok()
                    .and_then(|h| <Hash>::try_from(h).ok())
                    .ok_or_else(|| bad("a proof line is not a base64 hash"))
            })
            .collect::<Result<_, _>>()?;
        if proof.len() > 63 {
            return Err(bad("more than 63 proof lines"));
        }
        let mut note = Note::parse(checkpoint).map_err(WitnessError::BadRequest)?;
        let (origin, size, root) = cosign::checkpoint_fields(&note.body)
            .ok_or_else(|| bad("the checkpoint has no origin, size and root hash lines"))?;
        let log = self.logs.get(&origin).ok_or_else(|| WitnessError::UnknownLog(origin.clone()))?;
        if !note.signed_by(log) {
            return Err(WitnessError::Forbidden);
        }
        // Only the log's own signature is kept with the cosignature.
        note.signatures.retain(|(name, _)| *name == log.name);
        if old > size {
            return Err(bad("the old size is larger than the checkpoint's"));
        }

        let mut latest = self.latest.lock().expect("witness lock");
        let known = latest.get(&origin);
        let known_size = known.map_or(0, |l| l.size);
        if old != known_size {
            return Err(WitnessError::Conflict(known_size));
        }
        match known {
            Some(k) if old == size && k.root != root => {
                return Err(WitnessError::Fork);
            }
            Some(k) => verify_consistency(old, size, &k.root, &root, &proof).map_err(|_| WitnessError::Inconsistent)?,
            None if !proof.is_empty() => return Err(bad("the proof must be empty when the old size is 0")),
            None => {}
        }
        let cosignature = cosign::cosign(&self.name, &self.key, now_secs, &note.body);
        note.signatures.push(cosignature.clone());
        let next = Latest { origin: origin.clone(), size, root, note: note.text() };
        write_atomic(&state_file(&self.state_dir, &origin), &serde_json::to_vec(&next).expect("plain data"))
            .map_err(|e| WitnessError::Io(e.to_string()))?;
        latest.insert(origin, next);
        Ok(format!("\u{2014} {} {}\n", cosignature.0, cosignature.1))
    }
}

/// A checkpoint fetched from a witness (`GET /checkpoint`), accepted only
/// with a valid cosignature by `witness`; its own signature is checked by
/// whoever compares a log with it (`journal::check_published`).
pub fn cosigned_checkpoint(text: &str, witness: &Vkey) -> Result<crate::audit::checkpoint::Checkpoint, String> {
    let note = Note::parse(text)?;
    note.cosigned_by(witness)
        .ok_or_else(|| format!("the checkpoint holds no valid cosignature by {}", witness.name))?;
    let (origin, _, root) =
        cosign::checkpoint_fields(&note.body).ok_or_else(|| "the note is not a checkpoint".to_string())?;
    let (_, blob) = note
        .signatures
        .iter()
        .find(|(name, _)| *name == origin)
        .ok_or_else(|| "the checkpoint holds no signature by its log".to_string())?;
    let blob = B64.decode(blob).map_err(|e| e.to_string())?;
    if blob.len() != 4 + 64 {
        return Err("the log's signature is not Ed25519".into());
    }
    crate::audit::checkpoint::Checkpoint::from_note(origin, &note.body, root, &blob[4..], hex::encode(&blob[..4]))
}

/// One state file per log, named by a hash of its origin (any characters).
fn state_file(dir: &Path, origin: &str) -> PathBuf {
    use sha2::Digest;
    dir.join(format!("{}.json", hex::encode(&sha2::Sha256::digest(origin.as_bytes())[..16])))
}

/// Replaces `path` with `bytes` so that a crash leaves the old or the new
/// content, never a mix, and the new content is on disk before returning.
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::checkpoint::LogSigner;
    use crate::audit::merkle::{leaf_hash, Tree};

    struct Fixture {
        _dir: tempfile::TempDir,
        witness: Witness,
        log: LogSigner,
        tree: Tree,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let log = LogSigner::load_or_create(&dir.path().join("log.pem"), "warden/test-log".into()).unwrap();
        let config = WitnessConfig {
            name: "witness.example/w1".into(),
            key_file: dir.path().join("witness.pem"),
            logs: vec![crate::audit::checkpoint::public_key(&log).vkey],
            state_dir: dir.path().join("state"),
        };
        let witness = Witness::open(&config).unwrap();
        Fixture { _dir: dir, witness, log, tree: Tree::new() }
    }

    impl Fixture {
        fn grow(&mut self, n: u64) {
            for i in 0..n {
                self.tree.push(leaf_hash(format!("record {}", self.tree.size() + i).as_bytes()));
            }
        }

        fn request(&self, old: u64) -> String {
            let size = self.tree.size();
            let cp = self.log.sign(size, self.tree.root(size).unwrap(), time::OffsetDateTime::now_utc());
            let mut body = format!("old {old}\n");
            if old > 0 {
                for h in self.tree.consistency_proof(old, size).unwrap() {
                    body.push_str(&format!("{}\n", B64.encode(h)));
                }
            }
            format!("{body}\n{}", cp.signed_note())
        }
    }

    #[test]
    fn cosigns_a_growing_log_and_refuses_what_does_not_extend_it() {
        let mut f = fixture();
        f.grow(3);
        let line = f.witness.add_checkpoint(&f.request(0), 1_700_000_000).unwrap();
        let note = Note::parse(&f.witness.latest("warden/test-log").unwrap()).unwrap();
        assert_eq!(note.cosigned_by(&f.witness.vkey()), Some(1_700_000_000));
        assert!(line.starts_with("\u{2014} witness.example/w1 "));

        // The client's view of the old size is stale: 409 with the real one.
        f.grow(2);
        assert_eq!(f.witness.add_checkpoint(&f.request(0), 1), Err(WitnessError::Conflict(3)));
        f.witness.add_checkpoint(&f.request(3), 2).unwrap();
        // A heartbeat (the same tree, signed again later) is cosigned too.
        std::thread::sleep(std::time::Duration::from_millis(2));
        f.witness.add_checkpoint(&f.request(5), 3).unwrap();
        let note = Note::parse(&f.witness.latest("warden/test-log").unwrap()).unwrap();
        assert_eq!(note.cosigned_by(&f.witness.vkey()), Some(3));

        // A rewritten log (same size, other leaves) cannot get a cosignature:
        // its proof from 5 does not verify against the root cosigned at 5.
        let mut forged = fixture_with_key(&f);
        forged.grow(7);
        assert_eq!(f.witness.add_checkpoint(&forged.request(5), 3), Err(WitnessError::Inconsistent));
        assert_eq!(f.witness.add_checkpoint(&forged_same_size(&f, 5), 3), Err(WitnessError::Fork));

        // The same origin signed by another key, and an origin it does not know.
        let mut o = fixture();
        o.grow(1);
        assert_eq!(f.witness.add_checkpoint(&o.request(0), 4), Err(WitnessError::Forbidden));
        o.log = LogSigner::load_or_create(&o._dir.path().join("log.pem"), "warden/other-log".into()).unwrap();
        assert!(matches!(f.witness.add_checkpoint(&o.request(0), 4), Err(WitnessError::UnknownLog(_))));
        assert_eq!(WitnessError::Inconsistent.status(), 422);

        // State survives a restart, and a tree smaller than the one cosigned is refused.
        let reopened = Witness::open(&WitnessConfig {
            name: "witness.example/w1".into(),
            key_file: f._dir.path().join("witness.pem"),
            logs: vec![crate::audit::checkpoint::public_key(&f.log).vkey],
            state_dir: f._dir.path().join("state"),
        })
        .unwrap();
        assert_eq!(reopened.add_checkpoint(&f.request(3), 5), Err(WitnessError::Conflict(5)));
    }

    /// A second tree under the same log key, with different leaves.
    fn fixture_with_key(f: &Fixture) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let log = LogSigner::load_or_create(&f._dir.path().join("log.pem"), "warden/test-log".into()).unwrap();
        let mut tree = Tree::new();
        tree.push(leaf_hash(b"forged"));
        let witness = Witness::open(&WitnessConfig {
            name: "unused".into(),
            key_file: dir.path().join("w.pem"),
            logs: vec![],
            state_dir: dir.path().join("s"),
        })
        .unwrap();
        Fixture { _dir: dir, witness, log, tree }
    }

    fn forged_same_size(f: &Fixture, size: u64) -> String {
        let mut tree = Tree::new();
        for i in 0..size {
            tree.push(leaf_hash(format!("forged {i}").as_bytes()));
        }
        let cp = f.log.sign(size, tree.root(size).unwrap(), time::OffsetDateTime::now_utc());
        format!("old {size}\n\n{}", cp.signed_note())
    }
}
