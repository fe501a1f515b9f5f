//! Agent actions: the tool's family from its name and its arguments' shape.
//!
//! Real agents name their tools anything (`issueRefund`, `stripe.refunds.create`,
//! `run_sql`), so the name is split into words and matched against verb and
//! noun families; argument keys (`amount`, `recipient`, `command`, `sql`) add
//! evidence. This is the always-on rule stage; richer analysers and policy as
//! code sit on top of it.

use super::{DetectError, Detector, RawFinding, ScanItem, Source, Surface};

pub const NAME: &str = "action_rules";
const VERSION: &str = "1.0.0";

/// (family category, score, words in the tool name, argument keys).
const FAMILIES: &[(&str, f64, &[&str], &[&str])] = &[
    (
        "action.payment",
        0.8,
        &[
            "pay", "payment", "payments", "refund", "refunds", "transfer", "charge", "payout", "withdraw", "wire",
            "purchase", "buy", "invoice", "remit", "disburse",
        ],
        &["amount", "currency", "iban", "account_number", "routing_number"],
    ),
    (
        "action.code_execution",
        0.85,
        &[
            "exec",
            "execute",
            "shell",
            "bash",
            "sh",
            "eval",
            "terminal",
            "cmd",
            "command",
            "subprocess",
            "powershell",
            "python",
            "interpreter",
        ],
        &["command", "cmd", "script", "code"],
    ),
    (
        "action.permission_change",
        0.8,
        &[
            "grant",
            "revoke",
            "permission",
            "permissions",
            "role",
            "roles",
            "admin",
            "privilege",
            "acl",
            "iam",
            "policy",
        ],
        &["role", "permission", "permissions"],
    ),
    (
        "action.data_delete",
        0.75,
        &["delete", "remove", "drop", "destroy", "purge", "truncate", "erase", "wipe", "unlink", "rm"],
        &[],
    ),
    (
        "action.external_communication",
        0.65,
        &[
            "email", "mail", "send", "message", "post", "tweet", "sms", "notify", "webhook", "slack", "publish",
            "reply", "forward", "call",
        ],
        &["to", "recipient", "recipients", "cc", "bcc", "webhook_url", "channel"],
    ),
    (
        "action.sensitive_read",
        0.7,
        &[
            "secret",
            "secrets",
            "credential",
            "credentials",
            "password",
            "passwords",
            "token",
            "tokens",
            "vault",
            "ssh",
            "keychain",
        ],
        &[],
    ),
    (
        "action.data_write",
        0.5,
        &[
            "create",
            "update",
            "insert",
            "write",
            "modify",
            "set",
            "put",
            "patch",
            "upsert",
            "edit",
            "save",
            "upload",
            "store",
            "sql",
            "execute_sql",
        ],
        &[],
    ),
    (
        "action.file_access",
        0.4,
        &["file", "files", "filesystem", "fs", "path", "directory", "download"],
        &["path", "file", "filename", "filepath"],
    ),
];

/// Read-only verbs: a tool named only with these is low risk.
const READ_VERBS: &[&str] = &[
    "search", "find", "list", "get", "read", "lookup", "fetch", "query", "retrieve", "view", "describe", "show",
    "count",
];

#[derive(Default)]
pub struct ActionDetector;

impl ActionDetector {
    pub fn new() -> Self {
        Self
    }

    pub fn classify(&self, tool: &str, arguments_json: &str) -> Vec<RawFinding> {
        let words = split_words(tool);
        let keys = argument_keys(arguments_json);
        let read_only = !words.is_empty() && words.iter().all(|w| READ_VERBS.contains(&w.as_str()) || !is_verb_like(w));
        let mut out = Vec::new();
        for (category, score, name_words, arg_keys) in FAMILIES {
            let by_name = words.iter().find(|w| name_words.contains(&w.as_str()));
            let by_args = keys.iter().find(|k| arg_keys.contains(&k.as_str()));
            let (score, why) = match (by_name, by_args) {
                (Some(w), Some(k)) => (*score, format!("tool name word {w:?} and argument {k:?}")),
                (Some(w), None) => (*score * 0.9, format!("tool name word {w:?}")),
                // Arguments alone are weaker evidence, and weaker still for a
                // tool whose name says it only reads.
                (None, Some(k)) if !read_only => (*score * 0.6, format!("argument {k:?}")),
                _ => continue,
            };
            out.push(RawFinding {
                category: (*category).into(),
                score,
                span: 0..0,
                message: format!(
                    "tool {tool:?} looks like {}: {why}",
                    category.trim_start_matches("action.").replace('_', " ")
                ),
            });
        }
        out
    }
}

impl Detector for ActionDetector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> &str {
        VERSION
    }

    fn applies(&self, surface: Surface, source: &Source) -> bool {
        surface == Surface::Action && *source == Source::Action
    }

    fn detect(&self, item: &ScanItem, tool: Option<&str>) -> Result<Vec<RawFinding>, DetectError> {
        Ok(self.classify(tool.unwrap_or_default(), &item.text))
    }
}

/// Splits `issueRefund`, `stripe.refunds.create`, `run-sql` into lower-case words.
fn split_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

fn is_verb_like(word: &str) -> bool {
    FAMILIES.iter().any(|(_, _, words, _)| words.contains(&word))
}

/// Top-level and nested object keys of the arguments, lower-cased.
fn argument_keys(arguments_json: &str) -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>, depth: usize) {
        if depth > 8 {
            return;
        }
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    out.push(k.to_lowercase());
                    walk(v, out, depth + 1);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out, depth + 1)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(arguments_json) {
        walk(&v, &mut out, 0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_tool_names() {
        assert_eq!(split_words("issueRefund"), ["issue", "refund"]);
        assert_eq!(split_words("stripe.refunds.create"), ["stripe", "refunds", "create"]);
        assert_eq!(split_words("run-SQL_query"), ["run", "sql", "query"]);
    }

    #[test]
    fn families_from_names_and_arguments() {
        let d = ActionDetector::new();
        let table: &[(&str, &str, &[&str])] = &[
            ("search_docs", r#"{"query":"vacation policy"}"#, &[]),
            ("list_orders", r#"{"customer":"c-1"}"#, &[]),
            ("issueRefund", r#"{"amount": 120, "currency": "EUR"}"#, &["action.payment"]),
            ("send_email", r#"{"to":"a@example.com","body":"hi"}"#, &["action.external_communication"]),
            ("delete_user", r#"{"id": 7}"#, &["action.data_delete"]),
            ("exec_shell", r#"{"command":"ls"}"#, &["action.code_execution"]),
            ("get_vault_secret", r#"{"name":"db"}"#, &["action.sensitive_read"]),
        ];
        for (tool, args, want) in table {
            let got: Vec<String> = d.classify(tool, args).into_iter().map(|f| f.category).collect();
            for w in *want {
                assert!(got.iter().any(|g| g == w), "{tool}: want {w} in {got:?}");
            }
            if want.is_empty() {
                assert!(got.is_empty(), "{tool}: want nothing, got {got:?}");
            }
        }
    }
}
