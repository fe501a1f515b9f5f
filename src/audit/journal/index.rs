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
