//! What the analysers found about one tool call: the policy's `input.facts`.
//!
//! Plain values, written by the analysers (`analyse`, `sql`, `shell`) and the
//! blast-radius collector (`blast`), read by the policy. This module imports
//! nothing of theirs, so they can share it without importing each other.

use std::collections::BTreeMap;

use serde::Serialize;

/// Everything the analysers found, as the policy's `input.facts`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Facts {
    /// The tool name split into lower-case words.
    pub tool_words: Vec<String>,
    pub families: Vec<FamilyFact>,
    /// True when the only recognised verbs read (search, list, get, ...).
    pub read_only_name: bool,
    pub money: Vec<MoneyFact>,
    pub sql: Vec<SqlFact>,
    pub shell: Vec<ShellFact>,
    pub paths: Vec<PathFact>,
    pub urls: Vec<UrlFact>,
    pub recipients: Recipients,
    /// Largest array in the arguments (bulk operations).
    pub max_list_len: usize,
    /// How many people or rows the call reaches.
    pub blast_radius: BlastRadius,
    /// Values under recipient keys, lower-cased: a recipient's own address
    /// or number is not personal data being sent.
    #[serde(skip)]
    pub recipient_values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FamilyFact {
    /// `read`, `write`, `delete`, `payment`, `external_communication`,
    /// `code_execution`, `file_access`, `permission_change`, `sensitive_read`.
    pub family: &'static str,
    /// Why, in words: `tool name word "refund"`, `argument "sql"`.
    pub evidence: String,
    /// `name` (the tool's name says so) or `arguments` (only their shape).
    pub by: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MoneyFact {
    /// In major units (euros, not cents).
    pub amount: f64,
    /// ISO 4217 code, upper case; empty when the call names none.
    pub currency: String,
    /// Where in the arguments (`amount`, `items[2].price`).
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SqlFact {
    pub path: String,
    /// `select`, `insert`, `update`, `delete`, `merge`, `ddl`, `drop`,
    /// `truncate`, `grant`, `other`; `unparsed` when the parser refused it.
    pub statement: String,
    pub writes: bool,
    /// UPDATE or DELETE that touches every row.
    pub without_where: bool,
    /// UPDATE or DELETE whose WHERE every row passes (`1 = 1`, `TRUE`,
    /// `id IS NOT NULL`): every row too.
    pub always_true_where: bool,
    pub tables: Vec<String>,
    pub error: Option<String>,
    /// The rows it reaches beyond a filtered few, for the blast radius.
    #[serde(skip)]
    pub reach: Vec<RowScope>,
    /// Grants it makes to everyone (`GRANT ... TO PUBLIC`).
    #[serde(skip)]
    pub grants: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShellFact {
    pub path: String,
    /// `download_exec`, `destructive`, `privilege_escalation`, `exfiltration`,
    /// `reverse_shell`, or `command` for anything else.
    pub kind: &'static str,
    pub evidence: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathFact {
    pub path: String,
    pub value: String,
    /// `credentials`, `private_key`, `system`, `environment`, or empty.
    pub sensitive: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UrlFact {
    pub path: String,
    pub url: String,
    pub host: String,
    pub scheme: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Recipients {
    /// Addresses, lower-cased, de-duplicated.
    pub addresses: Vec<String>,
    /// Their domains, de-duplicated.
    pub domains: Vec<String>,
    pub count: usize,
}

/// What one call reaches, as the policy's `input.facts.blast_radius`.
/// Which recipients are external is the policy's call: the internal domains
/// are in its data.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BlastRadius {
    /// Recipients the call lists: addresses and other ids.
    pub listed_recipients: u64,
    /// Addresses per domain, so that the policy counts external recipients
    /// once per domain rather than once per address.
    pub addresses_by_domain: BTreeMap<String, u64>,
    /// The largest recipient count the arguments declare
    /// (`recipient_count: 40000`); 0 when none does.
    pub declared_recipients: u64,
    /// The key that declared it.
    pub declared_by: String,
    /// The larger of the two: everyone Warden can count.
    pub recipients: u64,
    /// Named groups whose members Warden cannot count.
    pub distribution_lists: Vec<DistributionList>,
    /// `all` when a write touches every row of a table, `unbounded` when a
    /// bulk write names no bound, empty otherwise (the widest of
    /// `row_scopes`).
    pub rows: &'static str,
    pub row_scopes: Vec<RowScope>,
    /// A word of the tool's name that means many at once (`bulk`, `batch`,
    /// `mass`, `all`, `every`); empty when none.
    pub bulk_verb: String,
    /// Why the call exports a whole table or collection; empty when it
    /// does not.
    pub export: String,
    /// Sharing with anyone at all (`visibility "public"`, `type "anyone"`).
    pub public_sharing: Vec<String>,
    /// Access for everyone in the organisation or a catch-all group
    /// (`share_with "everyone"`, `SQL GRANT ... TO PUBLIC`).
    pub broad_grants: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DistributionList {
    /// The address or name as written, lower-cased.
    pub name: String,
    /// Its domain when it is an address, else empty.
    pub domain: String,
    /// `external` (customers, subscribers, users), `internal` (staff,
    /// employees, team) or `unknown`, by the words of its name.
    pub audience: &'static str,
    /// The name says everyone (`all`, `everyone`, `all-customers`).
    pub everyone: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowScope {
    /// `all` or `unbounded`.
    pub rows: &'static str,
    /// `sql`, `arguments` or `name`.
    pub by: &'static str,
    /// In words: `SQL DELETE on orders with an always-true WHERE`.
    pub evidence: String,
}
