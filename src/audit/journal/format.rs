//! The stored line format: canonical records, leaf and chain hashes, and
//! how a line is encoded on write and checked on replay.

use super::*;

pub(super) const CHAIN_DOMAIN: &[u8] = b"warden.chain.v2\0";

pub(super) const GENESIS: Hash = [0; 32];

/// One stored line.
#[derive(Serialize, Deserialize)]
pub(super) struct Line<'a> {
    #[serde(borrow)]
    pub(super) record: &'a RawValue,
    pub(super) leaf: String,
    pub(super) prev: String,
    pub(super) hash: String,
}

/// What stays of a segment whose content retention removed: enough to keep
/// the tree, the chain and every checkpoint verifiable.
#[derive(Serialize, Deserialize)]
pub(super) struct Seal {
    pub(super) first_seq: u64,
    pub(super) records: u64,
    /// Chain hash of the segment's last record (the next segment's `prev`).
    pub(super) last_chain: String,
    pub(super) first_unix_nanos: i128,
    pub(super) last_unix_nanos: i128,
    pub(super) retired_at: String,
}

/// Where the chain stands.
#[derive(Debug, Clone, Copy)]
pub(super) struct Head {
    pub(super) next_seq: u64,
    pub(super) chain: Hash,
}

/// An entry ready for the writer: everything but its place in the log
/// (sequence, id, time, hashes) is computed by the caller, so the one writer
/// thread does as little as possible per record.
pub(super) struct Prepared {
    pub(super) kind: String,
    pub(super) attributes: BTreeMap<&'static str, String>,
    pub(super) categories: Vec<String>,
    pub(super) body: Box<RawValue>,
    /// Tenant and `client_event_id` of a client event that has one.
    pub(super) dedup: Option<dedup::Key>,
}

pub(super) fn prepare(entry: &Entry, privacy: &Privacy) -> Result<Prepared, AuditError> {
    let body = if privacy.is_raw() {
        serde_json::to_string(entry).map_err(|e| AuditError::Io(format!("encoding record: {e}")))?
    } else {
        let mut v = serde_json::to_value(entry).map_err(|e| AuditError::Io(format!("encoding record: {e}")))?;
        privacy.protect(&mut v, &subject_of(entry.context()))?;
        v.to_string()
    };
    Ok(Prepared {
        kind: entry.kind().to_string(),
        attributes: entry.attributes(),
        categories: entry.categories(),
        body: RawValue::from_string(body).map_err(|e| AuditError::Io(e.to_string()))?,
        dedup: entry.dedup_key(),
    })
}

pub(super) struct Encoded {
    pub(super) line: Vec<u8>,
    pub(super) leaf: Hash,
    pub(super) appended: Appended,
    pub(super) meta: Meta,
    pub(super) keys: IndexKeys,
}

pub(super) fn encode(p: &Prepared, head: &mut Head, now: time::OffsetDateTime) -> Result<Encoded, AuditError> {
    let recorded_at =
        now.format(&time::format_description::well_known::Rfc3339).map_err(|e| AuditError::Io(e.to_string()))?;
    let id = uuid::Uuid::now_v7().to_string();
    let record = RecordOut {
        v: SCHEMA_VERSION,
        seq: head.next_seq,
        id: &id,
        recorded_at: &recorded_at,
        kind: &p.kind,
        attributes: &p.attributes,
        categories: &p.categories,
        body: &p.body,
    };
    let record_json = serde_json::to_string(&record).map_err(|e| AuditError::Io(format!("encoding record: {e}")))?;
    let leaf = leaf_hash(record_json.as_bytes());
    let hash = chain_hash(&head.chain, &leaf);
    let raw = RawValue::from_string(record_json).map_err(|e| AuditError::Io(e.to_string()))?;
    let line = serde_json::to_vec(&Line {
        record: &raw,
        leaf: hex::encode(leaf),
        prev: hex::encode(head.chain),
        hash: hex::encode(hash),
    })
    .map_err(|e| AuditError::Io(e.to_string()))?;
    let attrs: BTreeMap<String, String> = p.attributes.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let (meta, keys) = index_facts(&p.kind, &attrs, p.categories.clone(), now.unix_timestamp_nanos());
    let appended = Appended {
        record_id: id,
        sequence: head.next_seq,
        recorded_at,
        recorded_at_unix: (now.unix_timestamp(), now.nanosecond()),
    };
    head.next_seq += 1;
    head.chain = hash;
    Ok(Encoded { line, leaf, appended, meta, keys })
}

/// `SHA-256("warden.chain.v2\0" || prev || leaf)`.
pub fn chain_hash(prev: &Hash, leaf: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update(CHAIN_DOMAIN);
    h.update(prev);
    h.update(leaf);
    h.finalize().into()
}

pub(super) fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:020}.jsonl")
}

pub(super) fn seal_path(seg_dir: &Path, first: u64) -> PathBuf {
    seg_dir.join(format!("{first:020}.seal"))
}

pub(super) fn leaves_path(seg_dir: &Path, first: u64) -> PathBuf {
    seg_dir.join(format!("{first:020}.leaves"))
}

pub(super) fn check_line(body: &[u8], head: &mut Head) -> Result<(Hash, RecordIn), String> {
    let line: Line<'_> = serde_json::from_slice(body).map_err(|e| format!("not a journal line: {e}"))?;
    let hash32 = |h: &str| hex::decode(h).ok().and_then(|v| <[u8; 32]>::try_from(v).ok()).unwrap_or([0xff; 32]);
    check_record(line.record.get().as_bytes(), &hash32(&line.leaf), &hash32(&line.prev), &hash32(&line.hash), head)
}

/// Checks one record against the chain so far, wherever it was kept (a
/// segment line, a row of a central store): its leaf hash against its
/// bytes, its link to the previous record, its chain hash, its schema
/// version and its sequence number. Moves `head` on only if all hold.
pub(super) fn check_record(
    bytes: &[u8],
    leaf: &Hash,
    prev: &Hash,
    hash: &Hash,
    head: &mut Head,
) -> Result<(Hash, RecordIn), String> {
    let computed = leaf_hash(bytes);
    if *leaf != computed {
        return Err("the record was modified: its leaf hash does not match its bytes".into());
    }
    if *prev != head.chain {
        return Err(
            "prev does not match the previous record's hash (a record was removed, inserted or reordered)".into()
        );
    }
    let chain = chain_hash(&head.chain, &computed);
    if *hash != chain {
        return Err("chain hash does not match".into());
    }
    let rec: RecordIn = serde_json::from_slice(bytes).map_err(|e| format!("not a record: {e}"))?;
    if rec.v != SCHEMA_VERSION {
        return Err(format!("record schema version {} is not {SCHEMA_VERSION}", rec.v));
    }
    if rec.seq != head.next_seq {
        return Err(format!("sequence {} where {} was expected", rec.seq, head.next_seq));
    }
    head.next_seq += 1;
    head.chain = chain;
    Ok((computed, rec))
}
