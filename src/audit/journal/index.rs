//! The in-memory state readers share: the tree, where each record is, and
//! the query index built from every record's facts.

use super::*;

#[derive(Debug, Clone)]
pub(super) struct Location {
    pub(super) segment: u32,
    pub(super) offset: u64,
    pub(super) len: u32,
}

/// A record's facts as the encoder and the replay read them (owned
/// strings); the [`Catalog`] keeps them compactly.
#[derive(Debug, Clone)]
pub(super) struct Meta {
    pub(super) unix_nanos: i128,
    pub(super) tenant: String,
    pub(super) application: String,
    pub(super) user: String,
    pub(super) decision: String,
    pub(super) categories: Vec<String>,
}

pub(super) struct State {
    pub(super) tree: Tree,
    pub(super) locations: Vec<Location>,
    pub(super) catalog: Catalog,
    pub(super) segments: Vec<Segment>,
    /// The segment files open for reads, at most [`OPEN_SEGMENTS`].
    pub(super) open: Mutex<OpenSegments>,
    pub(super) checkpoints: Vec<Checkpoint>,
}

/// One segment: its first sequence number and, unless retention has retired
/// its content, its file.
pub(super) struct Segment {
    pub(super) first_seq: u64,
    pub(super) path: Option<PathBuf>,
}

/// Most segment files held open for reads at once: 2 GiB of log at the
/// default 64 MiB segments. A long log has many more segments; the one
/// read longest ago is closed when another must open, so descriptors stay
/// bounded whatever the log's size (reads of old records reopen theirs).
pub(super) const OPEN_SEGMENTS: usize = 32;

/// The segment files open for reads, each with when it was last used.
#[derive(Default)]
pub(super) struct OpenSegments {
    files: Vec<(u32, Arc<File>, u64)>,
    tick: u64,
}

impl OpenSegments {
    /// Segment `id`'s file (at `path`), opened if it is not open.
    pub(super) fn get(&mut self, id: u32, path: &Path) -> std::io::Result<Arc<File>> {
        self.tick += 1;
        if let Some(e) = self.files.iter_mut().find(|e| e.0 == id) {
            e.2 = self.tick;
            return Ok(e.1.clone());
        }
        let file = Arc::new(File::open(path)?);
        if self.files.len() >= OPEN_SEGMENTS {
            if let Some(oldest) = self.files.iter().enumerate().min_by_key(|(_, e)| e.2).map(|(i, _)| i) {
                self.files.swap_remove(oldest);
            }
        }
        self.files.push((id, file.clone(), self.tick));
        Ok(file)
    }

    /// Closes segment `id`'s file (its content was retired).
    pub(super) fn forget(&mut self, id: u32) {
        self.files.retain(|e| e.0 != id);
    }
}

/// The posting-list keys of one record.
pub(super) struct IndexKeys {
    pub(super) session: String,
    pub(super) trace: String,
    pub(super) tool: String,
    pub(super) kind: String,
    pub(super) operation: String,
    pub(super) provider: String,
    pub(super) model: String,
}

impl State {
    pub(super) fn publish(&mut self, e: &Encoded, loc: Location) {
        self.tree.push(e.leaf);
        self.locations.push(loc);
        self.catalog.add(e.appended.sequence, &e.keys, &e.meta);
    }
}

/// A name the catalog holds once (a tenant, an application, a user, a
/// decision, a tool, a kind, ...); 0 is the empty one.
type Name = u32;

/// What a record keeps beside the tree, its location and its entries in
/// the posting lists: 24 bytes, the facts that have no posting list (a
/// filter on them checks each candidate) as [`Name`]s.
#[derive(Clone, Copy)]
struct Row {
    /// Nanoseconds since the Unix epoch (an `i64` reaches the year 2262).
    unix_nanos: i64,
    tenant: Name,
    application: Name,
    user: Name,
}

/// Interned strings: each distinct one is held once, whatever the number
/// of records that name it.
#[derive(Default)]
struct Names {
    ids: HashMap<Box<str>, Name>,
}

impl Names {
    fn intern(&mut self, s: &str) -> Name {
        if s.is_empty() {
            return 0;
        }
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.ids.len() as Name + 1;
        self.ids.insert(s.into(), id);
        id
    }

    /// The name of `s` if the catalog holds it; `None` for a string no
    /// record carries (and `Some(0)` for the empty one).
    fn get(&self, s: &str) -> Option<Name> {
        if s.is_empty() {
            return Some(0);
        }
        self.ids.get(s).copied()
    }
}

/// The sequence numbers of one key that is nearly unique per record (a
/// trace, a session): most have one, which needs no allocation.
#[derive(Debug)]
enum Postings {
    One(u64),
    Many(Box<Vec<u64>>),
}

impl Postings {
    fn push(&mut self, seq: u64) {
        match self {
            Postings::One(first) => *self = Postings::Many(Box::new(vec![*first, seq])),
            Postings::Many(v) => v.push(seq),
        }
    }

    fn as_slice(&self) -> &[u64] {
        match self {
            Postings::One(seq) => std::slice::from_ref(seq),
            Postings::Many(v) => v,
        }
    }
}

/// A key's digest: the first 128 bits of SHA-256 over it, so a session or
/// trace id (nearly one per record) costs 16 bytes, not its string, and no
/// chosen id can collide with another.
fn digest(key: &str) -> u128 {
    let mut h = Sha256::new();
    h.update(b"warden.index.key\0");
    h.update(key.as_bytes());
    let full: [u8; 32] = h.finalize().into();
    u128::from_be_bytes(full[..16].try_into().expect("16 bytes"))
}

#[derive(Default)]
struct Index {
    session: HashMap<u128, Postings>,
    trace: HashMap<u128, Postings>,
    tool: HashMap<Name, Vec<u64>>,
    decision: HashMap<Name, Vec<u64>>,
    category: BTreeMap<String, Vec<u64>>,
    kind: HashMap<Name, Vec<u64>>,
    /// `gen_ai.operation.name`, `gen_ai.provider.name` and
    /// `gen_ai.request.model`: posting lists only, nothing more per record.
    operation: HashMap<Name, Vec<u64>>,
    provider: HashMap<Name, Vec<u64>>,
    model: HashMap<Name, Vec<u64>>,
}

/// The facts queries filter on, for every record of a log (the local one,
/// or a verified copy of another instance's), and the posting lists built
/// from them. Memory per record is the [`Row`] and its entries in the
/// posting lists; strings repeated across records are held once.
#[derive(Default)]
pub(super) struct Catalog {
    rows: Vec<Row>,
    names: Names,
    index: Index,
}

impl Catalog {
    /// Adds record `seq`, the next one (sequence numbers have no gaps).
    pub(super) fn add(&mut self, seq: u64, keys: &IndexKeys, meta: &Meta) {
        debug_assert_eq!(seq, self.rows.len() as u64);
        let names = &mut self.names;
        let row = Row {
            unix_nanos: clamp_nanos(meta.unix_nanos),
            tenant: names.intern(&meta.tenant),
            application: names.intern(&meta.application),
            user: names.intern(&meta.user),
        };
        for (map, key) in [(&mut self.index.session, &keys.session), (&mut self.index.trace, &keys.trace)] {
            if !key.is_empty() {
                map.entry(digest(key)).and_modify(|p| p.push(seq)).or_insert(Postings::One(seq));
            }
        }
        for (map, key) in [
            (&mut self.index.tool, &keys.tool),
            (&mut self.index.kind, &keys.kind),
            (&mut self.index.operation, &keys.operation),
            (&mut self.index.provider, &keys.provider),
            (&mut self.index.model, &keys.model),
        ] {
            if !key.is_empty() {
                map.entry(names.intern(key)).or_default().push(seq);
            }
        }
        if !meta.decision.is_empty() {
            self.index.decision.entry(names.intern(&meta.decision)).or_default().push(seq);
        }
        for c in &meta.categories {
            match self.index.category.get_mut(c.as_str()) {
                Some(list) => list.push(seq),
                None => {
                    self.index.category.insert(c.clone(), vec![seq]);
                }
            }
        }
        self.rows.push(row);
    }

    /// Adds a record whose content retention removed: only its time stays.
    pub(super) fn add_retired(&mut self, unix_nanos: i128) {
        self.rows.push(Row { unix_nanos: clamp_nanos(unix_nanos), tenant: 0, application: 0, user: 0 });
    }

    /// Forgets the facts of every record before `end` (their content was
    /// retired): they leave every posting list, so queries no longer find
    /// them and the lists' memory is freed; each keeps its time.
    pub(super) fn retire(&mut self, end: u64) {
        let end = end.min(self.rows.len() as u64);
        for row in &mut self.rows[..end as usize] {
            *row = Row { unix_nanos: row.unix_nanos, tenant: 0, application: 0, user: 0 };
        }
        for map in [&mut self.index.session, &mut self.index.trace] {
            map.retain(|_, p| match p {
                Postings::One(seq) => *seq >= end,
                Postings::Many(v) => {
                    v.retain(|&seq| seq >= end);
                    !v.is_empty()
                }
            });
            map.shrink_to_fit();
        }
        let keep_from = |v: &mut Vec<u64>| {
            v.drain(..v.partition_point(|&seq| seq < end));
            if v.len() < v.capacity() / 2 {
                v.shrink_to_fit();
            }
            !v.is_empty()
        };
        for map in [
            &mut self.index.tool,
            &mut self.index.decision,
            &mut self.index.kind,
            &mut self.index.operation,
            &mut self.index.provider,
            &mut self.index.model,
        ] {
            map.retain(|_, v| keep_from(v));
        }
        self.index.category.retain(|_, v| keep_from(v));
    }

    /// When record `seq` was recorded.
    pub(super) fn unix_nanos(&self, seq: u64) -> Option<i128> {
        self.rows.get(seq as usize).map(|r| i128::from(r.unix_nanos))
    }

    /// The records of one kind, oldest first.
    pub(super) fn of_kind(&self, kind: &str) -> &[u64] {
        self.names.get(kind).and_then(|k| self.index.kind.get(&k)).map_or(&[][..], |v| v.as_slice())
    }
}

fn clamp_nanos(n: i128) -> i64 {
    n.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
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
            operation: get("gen_ai.operation.name"),
            provider: get("gen_ai.provider.name"),
            model: get("gen_ai.request.model"),
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
    /// `gen_ai.operation.name` (`chat`, `execute_tool`, `apply_guardrail`, ...).
    pub operation: String,
    /// `gen_ai.provider.name` (`openai`, `anthropic`, ...).
    pub provider: String,
    /// `gen_ai.request.model`: a client event's, or the context's model of
    /// any record.
    pub model: String,
    pub from_unix_nanos: Option<i128>,
    pub to_unix_nanos: Option<i128>,
    pub limit: usize,
}

impl State {
    /// Sequence numbers of the records matching `q`, oldest first, answered
    /// from the index: the most selective filter's posting list is walked and
    /// the other filters are checked per record.
    pub(super) fn query(&self, q: &Query) -> Vec<u64> {
        self.catalog.query(q)
    }
}

impl Catalog {
    /// [`State::query`] over this catalog (the local log's, or a verified
    /// copy's).
    pub(super) fn query(&self, q: &Query) -> Vec<u64> {
        let (names, idx, rows) = (&self.names, &self.index, &self.rows);
        // A filter naming a string no record carries matches nothing.
        let name = |s: &str| names.get(s);
        let (Some(tenant), Some(application), Some(user)) = (name(&q.tenant), name(&q.application), name(&q.user_id))
        else {
            return Vec::new();
        };
        let mut lists: Vec<&[u64]> = Vec::new();
        for (value, map) in [(&q.session_id, &idx.session), (&q.trace_id, &idx.trace)] {
            if !value.is_empty() {
                lists.push(map.get(&digest(value)).map_or(&[][..], Postings::as_slice));
            }
        }
        for (value, map) in [
            (&q.tool, &idx.tool),
            (&q.decision, &idx.decision),
            (&q.kind, &idx.kind),
            (&q.operation, &idx.operation),
            (&q.provider, &idx.provider),
            (&q.model, &idx.model),
        ] {
            if !value.is_empty() {
                lists.push(name(value).and_then(|k| map.get(&k)).map_or(&[][..], |v| v.as_slice()));
            }
        }
        // A category or its prefix: every category under it.
        let under = |c: &str| c == q.category || c.as_bytes().get(q.category.len()) == Some(&b'.');
        let category_seqs: Option<Vec<u64>> = (!q.category.is_empty()).then(|| {
            let mut seqs: Vec<u64> = idx
                .category
                .range(q.category.clone()..)
                .take_while(|(k, _)| k.starts_with(&q.category))
                .filter(|(k, _)| under(k))
                .flat_map(|(_, v)| v.iter().copied())
                .collect();
            seqs.sort_unstable();
            seqs.dedup();
            seqs
        });
        if let Some(c) = &category_seqs {
            lists.push(c);
        }
        let n = rows.len() as u64;
        // Time ranges narrow by binary search: records are in time order.
        let at = |t: i128| rows.partition_point(|r| i128::from(r.unix_nanos) < t) as u64;
        let lo = q.from_unix_nanos.map_or(0, at);
        let hi = q.to_unix_nanos.map_or(n, at);
        let limit = if q.limit == 0 { usize::MAX } else { q.limit };
        // Every posting-list filter is met by walking one list and finding
        // the candidate in the others; the rest are checked here.
        let matches = |seq: u64| -> bool {
            let r = &rows[seq as usize];
            (seq >= lo && seq < hi)
                && (q.tenant.is_empty() || r.tenant == tenant)
                && (q.application.is_empty() || r.application == application)
                && (q.user_id.is_empty() || r.user == user)
        };
        let mut out = Vec::new();
        match lists.iter().min_by_key(|l| l.len()) {
            Some(best) => {
                let others: Vec<&&[u64]> = lists.iter().filter(|l| !std::ptr::eq(**l, *best)).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn add(c: &mut Catalog, tenant: &str, decision: &str, categories: &[&str], trace: &str, kind: &str) -> u64 {
        let seq = c.rows.len() as u64;
        let meta = Meta {
            unix_nanos: i128::from(seq) * 1_000,
            tenant: tenant.into(),
            application: "app".into(),
            user: String::new(),
            decision: decision.into(),
            categories: categories.iter().map(|s| s.to_string()).collect(),
        };
        let keys = IndexKeys {
            session: "s".into(),
            trace: trace.into(),
            tool: String::new(),
            kind: kind.into(),
            operation: String::new(),
            provider: String::new(),
            model: String::new(),
        };
        c.add(seq, &keys, &meta);
        seq
    }

    #[test]
    fn filters_combine_and_retired_records_leave_every_list() {
        let mut c = Catalog::default();
        add(&mut c, "acme", "block", &["pii.email", "secret.aws"], "t0", "score_decision");
        add(&mut c, "acme", "allow", &[], "t1", "score_decision");
        add(&mut c, "globex", "block", &["pii.phone"], "t2", "score_decision");
        add(&mut c, "acme", "review", &["piiish"], "t2", "approval");
        add(&mut c, "acme", "block", &["pii"], "t4", "score_decision");
        let q = |f: fn(&mut Query)| {
            let mut q = Query::default();
            f(&mut q);
            c.query(&q)
        };
        // A category prefix takes whole dot-separated parts.
        assert_eq!(q(|q| q.category = "pii".into()), [0, 2, 4]);
        assert_eq!(q(|q| q.category = "pii.email".into()), [0]);
        assert_eq!(
            q(|q| {
                q.category = "pii".into();
                q.tenant = "acme".into();
                q.decision = "block".into();
            }),
            [0, 4]
        );
        assert_eq!(q(|q| q.trace_id = "t2".into()), [2, 3]);
        assert_eq!(
            q(|q| {
                q.trace_id = "t2".into();
                q.kind = "approval".into();
            }),
            [3]
        );
        // A value no record carries matches nothing, in a list or not.
        assert!(q(|q| q.tenant = "initech".into()).is_empty());
        assert!(q(|q| q.decision = "require_approval".into()).is_empty());
        assert_eq!(
            q(|q| {
                q.tenant = "acme".into();
                q.from_unix_nanos = Some(1_000);
                q.to_unix_nanos = Some(4_000);
                q.limit = 1;
            }),
            [1]
        );

        c.retire(3);
        assert_eq!(c.query(&Query { category: "pii".into(), ..Query::default() }), [4]);
        assert_eq!(c.query(&Query { trace_id: "t2".into(), ..Query::default() }), [3]);
        assert_eq!(c.query(&Query { tenant: "acme".into(), ..Query::default() }), [3, 4]);
        assert_eq!(c.unix_nanos(1), Some(1_000), "a retired record keeps its time");
        assert!(c.of_kind("score_decision") == [4]);
    }
}
