//! A log read from somewhere other than its own files: what readers need of
//! a log ([`LogRead`]), and a copy of another instance's log held in memory
//! ([`LogCopy`]), checked record by record and checkpoint by checkpoint as it
//! is built, the way a replay checks the local files. A fleet service builds
//! one per instance from the central store; reports and investigations then
//! read it exactly as they read the local log.

use super::*;

/// What a reader of a log needs, whether the log is the local journal or a
/// verified copy of another instance's. Reports (`compliance`), queries and
/// proofs are written against this, so they cannot tell the two apart.
pub trait LogRead: Send + Sync {
    /// The log's origin (its instance id in the central store).
    fn origin(&self) -> String;
    fn public_key(&self) -> crate::audit::checkpoint::PublicKey;
    /// Number of records (the tree size).
    fn size(&self) -> u64;
    fn recorded_unix_nanos(&self, seq: u64) -> Option<i128>;
    /// One record; `None` if its content is gone (retention) or it does not exist.
    fn record(&self, seq: u64) -> Result<Option<StoredRecord>, AuditError>;
    fn query(&self, q: &Query) -> Vec<u64>;
    fn checkpoints(&self) -> Vec<Checkpoint>;
    fn latest_checkpoint(&self) -> Option<Checkpoint>;
    fn checkpoints_for_period(&self, from: i128, to: i128) -> Vec<Checkpoint>;
    fn root(&self, size: u64) -> Result<Hash, ProofError>;
    fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError>;
    fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, ProofError>;
}

impl LogRead for AuditLog {
    fn origin(&self) -> String {
        AuditLog::origin(self)
    }
    fn public_key(&self) -> crate::audit::checkpoint::PublicKey {
        AuditLog::public_key(self)
    }
    fn size(&self) -> u64 {
        AuditLog::size(self)
    }
    fn recorded_unix_nanos(&self, seq: u64) -> Option<i128> {
        AuditLog::recorded_unix_nanos(self, seq)
    }
    fn record(&self, seq: u64) -> Result<Option<StoredRecord>, AuditError> {
        AuditLog::record(self, seq)
    }
    fn query(&self, q: &Query) -> Vec<u64> {
        AuditLog::query(self, q)
    }
    fn checkpoints(&self) -> Vec<Checkpoint> {
        AuditLog::checkpoints(self)
    }
    fn latest_checkpoint(&self) -> Option<Checkpoint> {
        AuditLog::latest_checkpoint(self)
    }
    fn checkpoints_for_period(&self, from: i128, to: i128) -> Vec<Checkpoint> {
        AuditLog::checkpoints_for_period(self, from, to)
    }
    fn root(&self, size: u64) -> Result<Hash, ProofError> {
        AuditLog::root(self, size)
    }
    fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        AuditLog::inclusion_proof(self, index, size)
    }
    fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, ProofError> {
        AuditLog::consistency_proof(self, first, second)
    }
}

/// Another instance's log, in memory, built only from what verifies: every
/// record from sequence 0 without a gap, its leaf hash against its bytes,
/// its chain link, and every checkpoint's signature (with the instance's
/// key) and root against the records. A copy that fails a check is not
/// built further; the caller decides what the failure means (a report
/// shows the instance as an exception).
pub struct LogCopy {
    origin: String,
    key: ed25519_dalek::VerifyingKey,
    head: Head,
    tree: Tree,
    records: Vec<StoredRecord>,
    catalog: Catalog,
    checkpoints: Vec<Checkpoint>,
}

impl LogCopy {
    pub fn new(origin: &str, key: ed25519_dalek::VerifyingKey) -> Self {
        LogCopy {
            origin: origin.to_string(),
            key,
            head: Head { next_seq: 0, chain: GENESIS },
            tree: Tree::new(),
            records: Vec::new(),
            catalog: Catalog::default(),
            checkpoints: Vec::new(),
        }
    }

    /// Adds the next record, as a store keeps it: its canonical bytes and
    /// the leaf, previous and chain hashes stored beside them.
    pub fn push(&mut self, entry: Vec<u8>, leaf: &Hash, prev: &Hash, chain: &Hash) -> Result<(), AuditError> {
        let seq = self.head.next_seq;
        let (leaf, rec) = check_record(&entry, leaf, prev, chain, &mut self.head)
            .map_err(|reason| AuditError::Corrupt(format!("record {seq}: {reason}")))?;
        let unix_nanos = time::OffsetDateTime::parse(&rec.recorded_at, &time::format_description::well_known::Rfc3339)
            .map(|t| t.unix_timestamp_nanos())
            .map_err(|e| AuditError::Corrupt(format!("record {seq}: recorded_at: {e}")))?;
        let (meta, keys) = index_facts(&rec.kind, &rec.attributes, rec.categories, unix_nanos);
        self.tree.push(leaf);
        self.catalog.add(seq, &keys, &meta);
        self.records.push(StoredRecord {
            sequence: seq,
            record_id: rec.id,
            kind: rec.kind,
            recorded_at: rec.recorded_at,
            unix_nanos,
            canonical: entry,
            leaf,
            prev: *prev,
            chain: self.head.chain,
        });
        Ok(())
    }

    /// Adds a checkpoint after the ones already added (by tree size): its
    /// signature must verify with the instance's key, and the records
    /// already added must reproduce its root.
    pub fn push_checkpoint(&mut self, cp: Checkpoint) -> Result<(), AuditError> {
        let corrupt = |m: String| AuditError::Corrupt(format!("checkpoint {}: {m}", cp.tree_size));
        if self.checkpoints.last().is_some_and(|last| last.tree_size > cp.tree_size) {
            return Err(corrupt("out of order".into()));
        }
        verify_checkpoint(&cp, &self.key).map_err(corrupt)?;
        let root = self.tree.root(cp.tree_size).map_err(|_| corrupt("covers records the copy does not have".into()))?;
        if root != cp.root {
            return Err(corrupt("the records do not reproduce its root (records were changed)".into()));
        }
        self.checkpoints.push(cp);
        Ok(())
    }

    /// The size of the latest checkpoint added (0 with none).
    pub fn signed_size(&self) -> u64 {
        self.checkpoints.last().map_or(0, |c| c.tree_size)
    }
}

impl LogRead for LogCopy {
    fn origin(&self) -> String {
        self.origin.clone()
    }
    fn public_key(&self) -> crate::audit::checkpoint::PublicKey {
        crate::audit::checkpoint::public_key_of(&self.origin, &self.key)
    }
    fn size(&self) -> u64 {
        self.tree.size()
    }
    fn recorded_unix_nanos(&self, seq: u64) -> Option<i128> {
        self.catalog.unix_nanos(seq)
    }
    fn record(&self, seq: u64) -> Result<Option<StoredRecord>, AuditError> {
        Ok(self.records.get(seq as usize).cloned())
    }
    fn query(&self, q: &Query) -> Vec<u64> {
        self.catalog.query(q)
    }
    fn checkpoints(&self) -> Vec<Checkpoint> {
        self.checkpoints.clone()
    }
    fn latest_checkpoint(&self) -> Option<Checkpoint> {
        self.checkpoints.last().cloned()
    }
    fn checkpoints_for_period(&self, from: i128, to: i128) -> Vec<Checkpoint> {
        checkpoints_for_period(&self.checkpoints, from, to)
    }
    fn root(&self, size: u64) -> Result<Hash, ProofError> {
        self.tree.root(size)
    }
    fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        self.tree.inclusion_proof(index, size)
    }
    fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, ProofError> {
        self.tree.consistency_proof(first, second)
    }
}
