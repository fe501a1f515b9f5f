//! Blast radius: how many people or rows one tool call reaches.
//!
//! One refund above a limit is one payment; a campaign to 40,000
//! subscribers, a mail to `all-customers@`, an UPDATE without a row filter or
//! a document shared with "anyone with the link" reach everyone at once. The
//! analysers count what the arguments say (recipients listed or declared,
//! distribution lists, the rows a write touches, bulk verbs, public sharing,
//! grants to everyone); the action policy compares that with the thresholds
//! in its data (`blast_radius`). Like the rest of [`super::analyse`], this
//! extracts and does not judge, and it is pure and bounded: evidence lists
//! are capped and only short filter strings reach the SQL parser.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;
use sqlparser::ast::{BinaryOperator, Expr, SetExpr, Statement};

use super::facts::{BlastRadius, DistributionList, Recipients, RowScope, SqlFact};
use super::names::split_words;

/// Most entries kept in each evidence list.
const MAX_EVIDENCE: usize = 16;
/// Longest list, group or sharing value read as a name.
const MAX_NAME_BYTES: usize = 256;
/// Longest filter string handed to the SQL expression parser.
const MAX_FILTER_BYTES: usize = 1024;

/// The words and keys this module reads, from `rules/blast-radius.toml`.
#[derive(Deserialize)]
struct Words {
    count_keys: Vec<String>,
    list_keys: Vec<String>,
    everyone_words: Vec<String>,
    external_audience: Vec<String>,
    internal_audience: Vec<String>,
    filter_keys: Vec<String>,
    all_flag_keys: Vec<String>,
    table_keys: Vec<String>,
    limit_keys: Vec<String>,
    change_verbs: Vec<String>,
    bulk_words: Vec<String>,
    share_keys: Vec<String>,
    weak_share_keys: Vec<String>,
    share_words: Vec<String>,
    public_values: Vec<String>,
    everyone_values: Vec<String>,
    public_flag_keys: Vec<String>,
    export_words: Vec<String>,
    withdraw_words: Vec<String>,
}

const WORDS_TOML: &str = include_str!("../../rules/blast-radius.toml");

fn words() -> &'static Words {
    static WORDS: OnceLock<Words> = OnceLock::new();
    // Embedded and covered by the tests: a broken file fails them all.
    WORDS.get_or_init(|| toml::from_str(WORDS_TOML).expect("rules/blast-radius.toml"))
}

/// `key` is one of `set`.
fn one_of(set: &[String], key: &str) -> bool {
    set.iter().any(|w| w == key)
}

/// Gathers the raw material while the arguments are walked.
#[derive(Default)]
pub(super) struct Collector {
    declared: Option<(u64, String)>,
    lists: Vec<DistributionList>,
    arg_rows: Vec<RowScope>,
    /// (evidence, under a weak key).
    public: Vec<(String, bool)>,
    broad: Vec<(String, bool)>,
    table: Option<String>,
    /// A filter, id or limit key was seen: the call is bounded somehow.
    has_filter: bool,
    has_id: bool,
    has_limit: bool,
}

impl Collector {
    /// One key and its value; `parent` is the key of the enclosing object.
    pub(super) fn keyed(&mut self, key: &str, parent: &str, v: &Value) {
        let rules = words();
        if one_of(&rules.count_keys, key) || (["size", "count"].contains(&key) && one_of(&rules.list_keys, parent)) {
            if let Some(n) = whole_number(v) {
                if self.declared.as_ref().is_none_or(|(m, _)| n > *m) {
                    self.declared = Some((n, key.to_string()));
                }
            }
        }
        if one_of(&rules.list_keys, key) {
            for s in strings(v) {
                self.list(s, true);
            }
        }
        if one_of(&rules.filter_keys, key) {
            self.has_filter = true;
            if let Some(why) = matches_everything(v) {
                push(&mut self.arg_rows, RowScope { rows: "all", by: "arguments", evidence: format!("{key} {why}") });
            }
        }
        if one_of(&rules.all_flag_keys, key) && v == &Value::Bool(true) {
            push(&mut self.arg_rows, RowScope { rows: "all", by: "arguments", evidence: format!("{key}: true") });
        }
        if key == "id" || key == "ids" || key.ends_with("_id") || key.ends_with("_ids") || key == "key" {
            self.has_id = true;
        }
        if one_of(&rules.limit_keys, key) {
            self.has_limit = true;
        }
        if one_of(&rules.table_keys, key) && self.table.is_none() {
            if let Some(t) = v.as_str() {
                self.table = Some(t.trim().to_lowercase());
            }
        }
        if one_of(&rules.public_flag_keys, key) && v == &Value::Bool(true) {
            push(&mut self.public, (format!("{key}: true"), false));
        }
        let weak = one_of(&rules.weak_share_keys, key);
        if weak || one_of(&rules.share_keys, key) {
            // A name, not a text: long strings are neither.
            for s in strings(v).into_iter().filter(|s| s.len() <= MAX_NAME_BYTES) {
                let norm = normalise(s);
                if one_of(&rules.public_values, norm.as_str()) {
                    push(&mut self.public, (format!("{key} {s:?}"), weak));
                } else if everyone_grantee(s, &norm) {
                    push(&mut self.broad, (format!("{key} {s:?}"), weak));
                }
            }
        }
    }

    /// A recipient the walker found under a recipient key.
    pub(super) fn recipient(&mut self, s: &str) {
        self.list(s, false);
    }

    /// Records `s` as a distribution list when it is under a list key, or
    /// when its name reads like one.
    fn list(&mut self, s: &str, under_list_key: bool) {
        if s.len() > MAX_NAME_BYTES {
            return;
        }
        let s = s.trim().to_lowercase();
        if s.is_empty() {
            return;
        }
        let (local, domain) = match s.rsplit_once('@') {
            Some((l, d)) => (l.to_string(), d.to_string()),
            None => (s.clone(), String::new()),
        };
        let rules = words();
        let words = list_words(&local);
        let has = |set: &[String]| words.iter().any(|w| one_of(set, w));
        let everyone = has(&rules.everyone_words);
        let audience = if has(&rules.internal_audience) {
            "internal"
        } else if has(&rules.external_audience) {
            "external"
        } else {
            "unknown"
        };
        let reads_like_a_list = audience != "unknown" && !domain.is_empty() && plural(&words);
        let is_list = under_list_key || everyone || reads_like_a_list;
        if is_list && !self.lists.iter().any(|l| l.name == s) {
            push(&mut self.lists, DistributionList { name: s, domain, audience, everyone });
        }
    }

    /// The facts, once the walk is done.
    pub(super) fn finish(
        self,
        tool_words: &[String],
        recipients: &Recipients,
        sql: &[SqlFact],
        max_list_len: usize,
    ) -> BlastRadius {
        let rules = words();
        let has_word = |set: &[String]| tool_words.iter().find(|w| one_of(set, w)).cloned();
        let bulk_verb = has_word(&rules.bulk_words).unwrap_or_default();
        let mut row_scopes = Vec::new();
        let shares = has_word(&rules.share_words).is_some();
        let withdraws = has_word(&rules.withdraw_words).is_some();
        let kept = |found: Vec<(String, bool)>| -> Vec<String> {
            found.into_iter().filter(|(_, weak)| !withdraws && (shares || !weak)).map(|(e, _)| e).collect()
        };
        let public_sharing = kept(self.public);
        let mut broad_grants = kept(self.broad);
        for fact in sql {
            for r in &fact.reach {
                push(&mut row_scopes, r.clone());
            }
            for g in &fact.grants {
                push(&mut broad_grants, g.clone());
            }
        }
        for r in self.arg_rows {
            push(&mut row_scopes, r);
        }
        let change_verb = has_word(&rules.change_verbs);
        let unfiltered = !self.has_filter && !self.has_id;
        if let (Some(verb), Some(table)) = (&change_verb, &self.table) {
            if unfiltered && max_list_len == 0 && sql.is_empty() {
                push(
                    &mut row_scopes,
                    RowScope {
                        rows: "all",
                        by: "arguments",
                        evidence: format!("{verb} on table {table:?} with no filter or id"),
                    },
                );
            }
        }
        if !bulk_verb.is_empty() && change_verb.is_some() && unfiltered && max_list_len == 0 && sql.is_empty() {
            push(
                &mut row_scopes,
                RowScope {
                    rows: "unbounded",
                    by: "name",
                    evidence: format!("tool name word {bulk_verb:?} with no list of items, filter or id"),
                },
            );
        }
        let export = match (has_word(&rules.export_words), &self.table) {
            (Some(_), Some(t)) if unfiltered && !self.has_limit => format!("table {t:?} with no filter or limit"),
            (Some(_), _) if ["all", "every", "bulk", "mass"].contains(&bulk_verb.as_str()) && unfiltered => {
                format!("tool name word {bulk_verb:?}")
            }
            _ => String::new(),
        };
        let rows = if row_scopes.iter().any(|r| r.rows == "all") {
            "all"
        } else if row_scopes.is_empty() {
            ""
        } else {
            "unbounded"
        };
        let (declared_recipients, declared_by) = self.declared.unwrap_or_default();
        let listed_recipients = recipients.count as u64;
        let mut addresses_by_domain = BTreeMap::new();
        for a in &recipients.addresses {
            if let Some((_, domain)) = a.rsplit_once('@') {
                *addresses_by_domain.entry(domain.to_string()).or_insert(0) += 1;
            }
        }
        BlastRadius {
            listed_recipients,
            addresses_by_domain,
            declared_recipients,
            declared_by,
            recipients: listed_recipients.max(declared_recipients),
            distribution_lists: self.lists,
            rows,
            row_scopes,
            bulk_verb,
            export,
            public_sharing,
            broad_grants,
        }
    }
}

/// The rows one SQL statement reaches beyond a filtered few, and grants it
/// makes to everyone. `what` is how the statement reads (`SQL UPDATE on
/// customers`).
pub(super) fn sql_reach(st: &Statement, what: &str) -> (Vec<RowScope>, Vec<String>) {
    let all = |evidence: String| RowScope { rows: "all", by: "sql", evidence };
    let filter = |selection: &Option<Expr>| match selection {
        None => Some("without WHERE"),
        Some(_) if where_always_true(selection) => Some("with an always-true WHERE"),
        Some(_) => None,
    };
    let mut rows = Vec::new();
    let mut grants = Vec::new();
    match st {
        Statement::Update { selection, .. } => rows.extend(filter(selection).map(|w| all(format!("{what} {w}")))),
        Statement::Delete(d) => rows.extend(filter(&d.selection).map(|w| all(format!("{what} {w}")))),
        Statement::Truncate { .. } | Statement::Drop { .. } => rows.push(all(what.to_string())),
        Statement::Insert(i) => {
            // INSERT ... SELECT with no WHERE or LIMIT copies a whole table.
            if let Some(q) = &i.source {
                let bounded = q.limit_clause.is_some()
                    || q.fetch.is_some()
                    || match &*q.body {
                        SetExpr::Values(_) => true,
                        SetExpr::Select(sel) => sel.selection.is_some() && !where_always_true(&sel.selection),
                        _ => false,
                    };
                if !bounded {
                    rows.push(RowScope {
                        rows: "unbounded",
                        by: "sql",
                        evidence: format!("{what} from a SELECT with no WHERE or LIMIT"),
                    });
                }
            }
        }
        Statement::Grant { grantees, .. } => {
            for g in grantees {
                let name = g.to_string().trim().to_lowercase();
                if name == "public" || matches!(g.grantee_type, sqlparser::ast::GranteesType::Public) {
                    grants.push("SQL GRANT ... TO PUBLIC".to_string());
                }
            }
        }
        _ => {}
    }
    (rows, grants)
}

/// A WHERE is there and every row passes it.
pub(super) fn where_always_true(selection: &Option<Expr>) -> bool {
    selection.as_ref().is_some_and(|e| always_true(e, 0))
}

/// An expression every row passes: `1 = 1`, `TRUE`, `'a' = 'a'`, `id IS NOT
/// NULL` (on a key column), `name LIKE '%'`, or an OR with such a side.
fn always_true(e: &Expr, depth: usize) -> bool {
    use sqlparser::ast::Value as V;
    if depth > 32 {
        return false;
    }
    let literal = |e: &Expr| match e {
        Expr::Value(v) => match &v.value {
            V::Number(n, _) => n.parse::<f64>().ok().map(Lit::Num),
            V::SingleQuotedString(s) | V::DoubleQuotedString(s) => Some(Lit::Str(s.clone())),
            V::Boolean(b) => Some(Lit::Bool(*b)),
            _ => None,
        },
        _ => None,
    };
    match e {
        Expr::Nested(inner) => always_true(inner, depth + 1),
        Expr::Value(_) => match literal(e) {
            Some(Lit::Bool(b)) => b,
            Some(Lit::Num(n)) => n != 0.0,
            _ => false,
        },
        Expr::BinaryOp { left, op: BinaryOperator::Or, right } => {
            always_true(left, depth + 1) || always_true(right, depth + 1)
        }
        Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
            always_true(left, depth + 1) && always_true(right, depth + 1)
        }
        Expr::BinaryOp { left, op, right } => match (literal(left), literal(right)) {
            (Some(a), Some(b)) => match a.partial_cmp(&b) {
                Some(ord) => match op {
                    BinaryOperator::Eq => ord.is_eq(),
                    BinaryOperator::NotEq => ord.is_ne(),
                    BinaryOperator::Lt => ord.is_lt(),
                    BinaryOperator::LtEq => ord.is_le(),
                    BinaryOperator::Gt => ord.is_gt(),
                    BinaryOperator::GtEq => ord.is_ge(),
                    _ => false,
                },
                None => false,
            },
            // `id = id` holds for every row with an id.
            _ => matches!(op, BinaryOperator::Eq | BinaryOperator::LtEq | BinaryOperator::GtEq) && left == right,
        },
        Expr::IsNotNull(inner) => key_column(inner),
        Expr::IsTrue(inner) => always_true(inner, depth + 1),
        Expr::Like { negated: false, pattern, .. } | Expr::ILike { negated: false, pattern, .. } => {
            matches!(literal(pattern), Some(Lit::Str(p)) if !p.is_empty() && p.chars().all(|c| c == '%'))
        }
        _ => false,
    }
}

/// A literal in a WHERE; only literals of one kind compare.
enum Lit {
    Num(f64),
    Str(String),
    Bool(bool),
}

impl Lit {
    fn partial_cmp(&self, other: &Lit) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (Lit::Num(a), Lit::Num(b)) => a.partial_cmp(b),
            (Lit::Str(a), Lit::Str(b)) => Some(a.cmp(b)),
            (Lit::Bool(a), Lit::Bool(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

/// `id`, `customer_id`, `uuid`: a column every row has a value in.
fn key_column(e: &Expr) -> bool {
    let name = match e {
        Expr::Identifier(i) => i.value.to_lowercase(),
        Expr::CompoundIdentifier(parts) => parts.last().map(|i| i.value.to_lowercase()).unwrap_or_default(),
        _ => return false,
    };
    name == "id" || name.ends_with("_id") || name == "uuid" || name == "pk" || name == "rowid"
}

/// Why a filter value matches every row: empty, `*`, or an always-true
/// expression; `None` when it filters.
fn matches_everything(v: &Value) -> Option<String> {
    match v {
        Value::Object(m) if m.is_empty() => Some("{}".into()),
        Value::Array(a) if a.is_empty() => Some("[]".into()),
        Value::Null => Some("null".into()),
        Value::Bool(true) => Some("true".into()),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() || t == "*" {
                return Some(format!("{t:?}"));
            }
            if t.len() > MAX_FILTER_BYTES {
                return None;
            }
            let dialect = sqlparser::dialect::GenericDialect {};
            let expr = sqlparser::parser::Parser::new(&dialect).try_with_sql(t).ok()?.parse_expr().ok()?;
            always_true(&expr, 0).then(|| format!("{t:?} (always true)"))
        }
        _ => None,
    }
}

/// `everyone`, `group:all-staff@x.com`, `domain:x.com`, `all_employees`.
fn everyone_grantee(raw: &str, norm: &str) -> bool {
    let rules = words();
    if one_of(&rules.everyone_values, norm) {
        return true;
    }
    let raw = raw.trim().to_lowercase();
    if raw.starts_with("domain:") {
        return true;
    }
    let name = raw.split_once(':').map(|(_, n)| n).unwrap_or(&raw);
    let local = name.split('@').next().unwrap_or(name);
    let words = list_words(local);
    words.first().is_some_and(|w| one_of(&rules.everyone_words, w))
}

/// Lower case, words joined by one space: `Anyone_With_Link` -> `anyone with link`.
fn normalise(s: &str) -> String {
    if s.trim() == "*" {
        return "*".into();
    }
    split_words(s).join(" ")
}

/// The words of a list's name, with `allstaff` read as `all staff`.
fn list_words(name: &str) -> Vec<String> {
    let rules = words();
    let mut out = Vec::new();
    for w in split_words(name) {
        match w.strip_prefix("all") {
            Some(rest) if one_of(&rules.external_audience, rest) || one_of(&rules.internal_audience, rest) => {
                out.push("all".to_string());
                out.push(rest.to_string());
            }
            _ => out.push(w),
        }
    }
    out
}

/// A list name speaks of people in the plural (`customers@`, `subscribers@`).
fn plural(names: &[String]) -> bool {
    let rules = words();
    names
        .iter()
        .any(|w| w.ends_with('s') && (one_of(&rules.external_audience, w) || one_of(&rules.internal_audience, w)))
}

fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).take(MAX_EVIDENCE * 4).collect(),
        _ => Vec::new(),
    }
}

fn whole_number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().filter(|f| f.is_finite() && *f >= 0.0).map(|f| f as u64)),
        Value::String(s) if s.len() <= 32 => {
            let digits: String = s.chars().filter(|c| !matches!(c, ',' | '_' | ' ' | '\'')).collect();
            digits.parse().ok()
        }
        _ => None,
    }
}

fn push<T>(out: &mut Vec<T>, item: T) {
    if out.len() < MAX_EVIDENCE {
        out.push(item);
    }
}
