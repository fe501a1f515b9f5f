//! The in-memory state readers share: the tree, where each record is, and
//! the query index built from every record's facts.

use super::*;

#[derive(Debug, Clone)]
pub(super) struct Location {
    pub(super) segment: u32,
    pub(super) offset: u64,
    pub(super) len: u32,
}

/// What the index keeps per record (the facts queries filter on).
#[derive(Debug, Clone)]
pub(super) struct Meta {
    pub(super) unix_nanos: i128,
    pub(super) tenant: String,
    pub(super) application: String,
    pub(super) user: String,
    pub(super) decision: String,
    pub(super) categories: Vec<String>,
}

#[derive(Default)]
pub(super) struct Index {
    pub(super) session: HashMap<String, Vec<u64>>,
    pub(super) trace: HashMap<String, Vec<u64>>,
    pub(super) tool: HashMap<String, Vec<u64>>,
    pub(super) decision: HashMap<String, Vec<u64>>,
    pub(super) category: BTreeMap<String, Vec<u64>>,
    pub(super) kind: HashMap<String, Vec<u64>>,
}

pub(super) struct State {
    pub(super) tree: Tree,
    pub(super) locations: Vec<Location>,
    pub(super) metas: Vec<Meta>,
    pub(super) index: Index,
    pub(super) segments: Vec<Segment>,
    pub(super) checkpoints: Vec<Checkpoint>,
}

/// One segment: its first sequence number and, unless retention has retired
/// its content, the open file to read records from.
pub(super) struct Segment {
    pub(super) first_seq: u64,
    pub(super) file: Option<Arc<File>>,
}

/// The posting-list keys of one record.
pub(super) struct IndexKeys {
    pub(super) session: String,
    pub(super) trace: String,
    pub(super) tool: String,
    pub(super) kind: String,
}

impl State {
    pub(super) fn publish(&mut self, e: &Encoded, loc: Location) {
        let seq = e.appended.sequence;
        self.tree.push(e.leaf);
        self.locations.push(loc);
        self.index.add(seq, &e.keys, &e.meta);
        self.metas.push(e.meta.clone());
    }
}

impl Index {
    pub(super) fn add(&mut self, seq: u64, keys: &IndexKeys, meta: &Meta) {
        for (map, key) in [
            (&mut self.session, &keys.session),
            (&mut self.trace, &keys.trace),
            (&mut self.tool, &keys.tool),
            (&mut self.kind, &keys.kind),
        ] {
            if !key.is_empty() {
                map.entry(key.clone()).or_default().push(seq);
            }
        }
        if !meta.decision.is_empty() {
            self.decision.entry(meta.decision.clone()).or_default().push(seq);
        }
        for c in &meta.categories {
            self.category.entry(c.clone()).or_default().push(seq);
        }
    }
}

pub(super) fn index_facts(
    kind: &str,
    attributes: &BTreeMap<String, String>,
    categories: Vec<String>,
    unix_nanos: i128,
) -> (Meta, IndexKeys) {
    let get = |k: &str| attributes.get(k).cloned().unwrap_or_default();
    (
        Meta {
            unix_nanos,
            tenant: get("warden.tenant"),
            application: get("warden.application"),
            user: get("user.id"),
            decision: get("warden.decision"),
            categories,
        },
        IndexKeys {
            session: get("gen_ai.conversation.id"),
            trace: get("trace_id"),
            tool: get("gen_ai.tool.name"),
            kind: kind.to_string(),
        },
    )
}

/// Filters for [`AuditLog::query`]; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub tenant: String,
    pub application: String,
    /// The pseudonymous end user (`context.user_id`).
    pub user_id: String,
    pub session_id: String,
    pub trace_id: String,
    pub tool: String,
    /// `allow`, `review`, `require_approval`, `block`.
    pub decision: String,
    /// A category or a prefix of one (`pii` matches `pii.email`).
    pub category: String,
    /// The record kind (`score_decision`, `approval`, a client event kind).
    pub kind: String,
    pub from_unix_nanos: Option<i128>,
    pub to_unix_nanos: Option<i128>,
    pub limit: usize,
}

impl State {
    /// Sequence numbers of the records matching `q`, oldest first, answered
    /// from the index: the most selective filter's posting list is walked and
    /// the other filters are checked per record.
    pub(super) fn query(&self, q: &Query) -> Vec<u64> {
        query(&self.metas, &self.index, q)
    }
}

/// [`State::query`] over any record facts and their index (the local log's,
/// or a verified copy's).
pub(super) fn query(metas: &[Meta], idx: &Index, q: &Query) -> Vec<u64> {
    let empty: Vec<u64> = Vec::new();
    let mut lists: Vec<&Vec<u64>> = Vec::new();
    for (value, map) in [
        (&q.session_id, &idx.session),
        (&q.trace_id, &idx.trace),
        (&q.tool, &idx.tool),
        (&q.decision, &idx.decision),
        (&q.kind, &idx.kind),
    ] {
        if !value.is_empty() {
            lists.push(map.get(value.as_str()).unwrap_or(&empty));
        }
    }
    let category_seqs: Option<Vec<u64>> = (!q.category.is_empty()).then(|| {
        let mut seqs: Vec<u64> = idx
            .category
            .range(q.category.clone()..)
            .take_while(|(k, _)| k.starts_with(&q.category))
            .filter(|(k, _)| *k == &q.category || k.as_bytes().get(q.category.len()) == Some(&b'.'))
            .flat_map(|(_, v)| v.iter().copied())
            .collect();
        seqs.sort_unstable();
        seqs.dedup();
        seqs
    });
    if let Some(c) = &category_seqs {
        lists.push(c);
    }
    let n = metas.len() as u64;
    // Time ranges narrow by binary search: records are in time order.
    let lo = q.from_unix_nanos.map_or(0, |t| metas.partition_point(|m| m.unix_nanos < t) as u64);
    let hi = q.to_unix_nanos.map_or(n, |t| metas.partition_point(|m| m.unix_nanos < t) as u64);
    let limit = if q.limit == 0 { usize::MAX } else { q.limit };
    let matches = |seq: u64| -> bool {
        let m = &metas[seq as usize];
        (seq >= lo && seq < hi)
            && (q.tenant.is_empty() || m.tenant == q.tenant)
            && (q.application.is_empty() || m.application == q.application)
            && (q.user_id.is_empty() || m.user == q.user_id)
            && (q.decision.is_empty() || m.decision == q.decision)
            && (q.category.is_empty()
                || m.categories.iter().any(|c| c == &q.category || c.starts_with(&format!("{}.", q.category))))
    };
    let mut out = Vec::new();
    match lists.iter().min_by_key(|l| l.len()) {
        Some(best) => {
            let others: Vec<&&Vec<u64>> = lists.iter().filter(|l| !std::ptr::eq(**l, *best)).collect();
            for &seq in best.iter() {
                if matches(seq) && others.iter().all(|l| l.binary_search(&seq).is_ok()) {
                    out.push(seq);
                    if out.len() >= limit {
                        break;
                    }
                }
            }
        }
        None => {
            for seq in lo..hi {
                if matches(seq) {
                    out.push(seq);
                    if out.len() >= limit {
                        break;
                    }
                }
            }
        }
    }
    out
}

/// The checkpoints of `all` (oldest first) that bear on the period `[from,
/// to)` (Unix nanos): the last one before it, the last of each UTC day in
/// it, and the first at or after its end. A busy log signs one every few
/// seconds; a daily chain keeps a period's evidence small while every
/// record stays covered (consistency proofs span any two sizes).
pub(super) fn checkpoints_for_period(all: &[Checkpoint], from: i128, to: i128) -> Vec<Checkpoint> {
    const DAY: i128 = 86_400 * 1_000_000_000;
    let start = all.partition_point(|c| c.unix_nanos < from);
    let end = all.partition_point(|c| c.unix_nanos < to);
    let mut out: Vec<Checkpoint> = Vec::new();
    if start > 0 {
        out.push(all[start - 1].clone());
    }
    for (i, c) in all[start..end].iter().enumerate() {
        let last_of_day =
            all.get(start + i + 1).is_none_or(|n| n.unix_nanos.div_euclid(DAY) != c.unix_nanos.div_euclid(DAY));
        if last_of_day || start + i + 1 == end {
            out.push(c.clone());
        }
    }
    if let Some(after) = all.get(end) {
        out.push(after.clone());
    }
    out
}
