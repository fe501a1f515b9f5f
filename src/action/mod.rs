//! Agent actions: what a tool call is about to do, and how risky that is.
//!
//! - [`facts`]: the vocabulary: what the analysers found, the policy's
//!   `input.facts`. Every other module here writes or reads it; it imports
//!   none of them.
//! - [`analyse`]: built-in analysers turn a tool name and its arguments into
//!   facts (family, money, paths, URLs, recipients), with [`sql`] (statements,
//!   tables, rows reached) and [`shell`] (command patterns) for the strings
//!   that hold code, and [`names`] reading tool and list names as words.
//! - [`blast`]: the blast radius among those facts: how many people or rows
//!   the call reaches (recipients listed and declared, distribution lists,
//!   unfiltered writes, bulk verbs, whole-table exports, public sharing).
//! - [`policy`]: the Rego policy turns facts, the rule detectors' findings in
//!   the arguments and the session's context into findings with a level.
//!
//! The scoring pipeline runs this stage on the blocking pool after the rule
//! detectors, for the action surface only.

pub mod analyse;
pub mod blast;
pub mod facts;
pub mod names;
pub mod policy;
pub mod shell;
pub mod sql;

use serde_json::{json, Value};

use crate::detect::Finding;
use crate::policy::Level;
use crate::request::Context;
use crate::session::SessionView;

pub use policy::{ActionPolicy, PolicyFinding, PolicyHandle, PolicyOutput};

/// Detector name of the action policy's findings.
pub const DETECTOR: &str = "action_policy";

/// The policy's `input` document.
pub fn policy_input(
    tool: &str,
    arguments: &Value,
    rationale: &str,
    context: &Context,
    facts: &facts::Facts,
    findings: &[Finding],
    session: &SessionView,
) -> Value {
    json!({
        "tool": tool,
        "arguments": arguments,
        "rationale": rationale,
        "context": {
            "tenant": context.tenant,
            "application": context.application,
            "session_id": context.session_id,
            "user_id": context.user_id,
            "model": context.model,
            "labels": context.labels,
        },
        "facts": facts_json(facts),
        "findings": findings.iter().map(|f| json!({"category": f.category, "score": f.score, "detector": f.detector})).collect::<Vec<_>>(),
        "session": session,
    })
}

fn facts_json(facts: &facts::Facts) -> Value {
    let mut v = serde_json::to_value(facts).unwrap_or(Value::Null);
    // Amounts as reviewers read them: "9,800 EUR".
    if let Some(Value::Array(money)) = v.get_mut("money") {
        for (m, fact) in money.iter_mut().zip(&facts.money) {
            m["display"] = Value::String(display_amount(fact.amount, &fact.currency));
        }
    }
    v
}

/// 9800.0, "EUR" -> "9,800 EUR"; 12.5 -> "12.50".
pub fn display_amount(amount: f64, currency: &str) -> String {
    let negative = amount < 0.0;
    let abs = amount.abs();
    let whole = abs.trunc() as u128;
    let cents = ((abs - abs.trunc()) * 100.0).round() as u128;
    let (whole, cents) = if cents == 100 { (whole + 1, 0) } else { (whole, cents) };
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let mut s = if negative { format!("-{grouped}") } else { grouped };
    if cents > 0 {
        s.push_str(&format!(".{cents:02}"));
    }
    if !currency.is_empty() {
        s.push(' ');
        s.push_str(currency);
    }
    s
}

/// The score a policy level stands for in the assessment.
pub fn level_score(level: Level) -> f64 {
    match level {
        Level::Low => 0.1,
        Level::Medium => 0.5,
        Level::High => 0.8,
        Level::Critical => 0.97,
    }
}

/// Runs the analysers and the policy on one call.
pub fn assess(
    policy: &ActionPolicy,
    tool: &str,
    arguments_json: &str,
    rationale: &str,
    context: &Context,
    findings: &[Finding],
    session: &SessionView,
) -> Result<PolicyOutput, policy::ActionPolicyError> {
    // Validated as JSON by the request; an unparsable one is still assessed
    // on its tool name.
    let arguments: Value = serde_json::from_str(arguments_json).unwrap_or(Value::Null);
    let facts = analyse::analyse(tool, &arguments);
    // The recipient's own address is where the message goes, not personal
    // data in it.
    let findings: Vec<Finding> = findings
        .iter()
        .filter(|f| {
            let text = arguments_json.get(f.span.clone()).unwrap_or_default().trim().to_lowercase();
            !(f.category.starts_with("pii.") && facts.recipient_values.iter().any(|r| r == &text))
        })
        .cloned()
        .collect();
    let input = policy_input(tool, &arguments, rationale, context, &facts, &findings, session);
    policy.evaluate(&input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_like_money() {
        assert_eq!(display_amount(9800.0, "EUR"), "9,800 EUR");
        assert_eq!(display_amount(1234567.5, "USD"), "1,234,567.50 USD");
        assert_eq!(display_amount(12.0, ""), "12");
        assert_eq!(display_amount(-5.25, "GBP"), "-5.25 GBP");
    }

    #[test]
    fn the_refund_explains_itself() {
        let out = assess(
            &ActionPolicy::builtin(),
            "issue_refund",
            r#"{"order_id": "A-1", "amount": 9800, "currency": "EUR"}"#,
            "",
            &Context::default(),
            &[],
            &SessionView::default(),
        )
        .unwrap();
        let top = &out.findings[0];
        assert_eq!(top.level, Level::High, "{out:?}");
        assert_eq!(top.message, "refund of 9,800 EUR is above the 500 EUR auto-approve limit");
    }

    #[test]
    fn an_external_message_with_only_what_identifies_no_one_sends_no_personal_data() {
        let email = r#"{"to": "partner@gmail.com", "subject": "Visit", "body": "See you on 5 March at example.org"}"#;
        let sends = |category: &str| {
            let finding = Finding {
                category: category.into(),
                score: 0.9,
                detector: "pii",
                source: "action".into(),
                span: 0..0,
                message: String::new(),
                evidence: None,
            };
            let out = assess(
                &ActionPolicy::builtin(),
                "send_email",
                email,
                "",
                &Context::default(),
                &[finding],
                &SessionView::default(),
            )
            .unwrap();
            out.findings.iter().any(|f| f.id == "comms.personal_data_external")
        };
        for category in crate::detect::pii::IDENTIFIES_NO_ONE {
            assert!(!sends(category), "{category}");
        }
        assert!(sends("pii.email") && sends("pii.date_of_birth"));
    }

    #[test]
    fn limits_come_from_data_per_tenant() {
        let data =
            r#"{"warden": {"config": {"tenants": {"acme": {"money": {"auto_approve_limit": {"EUR": 20000}}}}}}}"#;
        let p = ActionPolicy::from_sources(&[], &[("limits.json".into(), data.into())]).unwrap();
        let args = r#"{"amount": 9800, "currency": "EUR"}"#;
        let ctx = |t: &str| Context { tenant: t.into(), ..Context::default() };
        let acme = assess(&p, "issue_refund", args, "", &ctx("acme"), &[], &SessionView::default()).unwrap();
        assert_eq!(acme.findings[0].level, Level::Low, "{acme:?}");
        assert_eq!(acme.findings[0].message, "refund of 9,800 EUR is within the 20,000 EUR auto-approve limit");
        let other = assess(&p, "issue_refund", args, "", &ctx("other"), &[], &SessionView::default()).unwrap();
        assert_eq!(other.findings[0].level, Level::High);
    }

    #[test]
    fn application_values_override_the_tenant_and_suppress_per_tenant() {
        let data = r#"{"warden": {"config": {"tenants": {"acme": {
            "money": {"auto_approve_limit": {"EUR": 20000}},
            "suppress": ["write.call"],
            "applications": {"kiosk": {"money": {"auto_approve_limit": {"EUR": 50}}}}}}}}}"#;
        let p = ActionPolicy::from_sources(&[], &[("limits.json".into(), data.into())]).unwrap();
        let args = r#"{"amount": 120, "currency": "EUR"}"#;
        let ctx = |t: &str, a: &str| Context { tenant: t.into(), application: a.into(), ..Context::default() };
        let none = SessionView::default();
        let bot = assess(&p, "issue_refund", args, "", &ctx("acme", "support-bot"), &[], &none).unwrap();
        assert_eq!(bot.findings[0].level, Level::Low, "{bot:?}");
        let kiosk = assess(&p, "issue_refund", args, "", &ctx("acme", "kiosk"), &[], &none).unwrap();
        assert_eq!(kiosk.findings[0].level, Level::High, "{kiosk:?}");
        assert!(kiosk.findings[0].message.contains("50 EUR auto-approve limit"), "{kiosk:?}");
        let write = |t: &str| {
            assess(&p, "update_ticket", r#"{"id": 7, "status": "closed"}"#, "", &ctx(t, ""), &[], &none).unwrap()
        };
        assert!(write("acme").findings.iter().all(|f| f.id != "write.call"), "suppressed for acme");
        assert!(write("other").findings.iter().any(|f| f.id == "write.call"), "not for other tenants");
    }

    #[test]
    fn each_kind_of_payment_may_have_its_own_limit() {
        let data = r#"{"warden": {"config": {"money": {"auto_approve_limit": {"refund": {"EUR": 100}}}}}}"#;
        let p = ActionPolicy::from_sources(&[], &[("limits.json".into(), data.into())]).unwrap();
        let args = r#"{"amount": 300, "currency": "EUR"}"#;
        let none = SessionView::default();
        let refund = assess(&p, "issue_refund", args, "", &Context::default(), &[], &none).unwrap();
        assert_eq!(refund.findings[0].message, "refund of 300 EUR is above the 100 EUR auto-approve limit");
        let transfer = assess(&p, "transfer_funds", args, "", &Context::default(), &[], &none).unwrap();
        assert_eq!(transfer.findings[0].message, "transfer of 300 EUR is within the 500 EUR auto-approve limit");
        let err = ActionPolicy::from_sources(
            &[],
            &[(
                "d.json".into(),
                r#"{"warden": {"config": {"money": {"block_limit": {"refund": {"EUR": "x"}}}}}}"#.into(),
            )],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("warden.config.money.block_limit.refund.EUR must be a number"), "{err}");
    }

    #[test]
    fn blast_radius_thresholds_come_from_data_per_application() {
        let data = r#"{"warden": {"config": {"tenants": {"acme": {
            "blast_radius": {"level": "critical"},
            "applications": {"marketing": {"blast_radius": {"external_recipients": 100000, "level": "high"}}}}}}}}"#;
        let p = ActionPolicy::from_sources(&[], &[("blast.json".into(), data.into())]).unwrap();
        let args = r#"{"audience": "newsletter-subscribers", "recipient_count": 40000}"#;
        let ctx = |t: &str, a: &str| Context { tenant: t.into(), application: a.into(), ..Context::default() };
        let none = SessionView::default();
        let blast = |t: &str, a: &str| {
            let out = assess(&p, "send_campaign", args, "", &ctx(t, a), &[], &none).unwrap();
            out.findings.into_iter().find(|f| f.id == "blast.external_recipients")
        };
        let other = blast("other", "").expect("the default threshold");
        assert_eq!(other.level, Level::High);
        assert_eq!(other.message, "message to 40,000 recipients (external, from recipient_count), above 50");
        assert_eq!(blast("acme", "support-bot").expect("acme's level").level, Level::Critical);
        assert!(blast("acme", "marketing").is_none(), "the marketing application may send campaigns");
        // Internal recipients have their own threshold.
        let staff = r#"{"to": "all-staff@corp.example", "recipient_count": 3000}"#;
        let data = r#"{"warden": {"config": {"internal_domains": ["corp.example"]}}}"#;
        let p = ActionPolicy::from_sources(&[], &[("d.json".into(), data.into())]).unwrap();
        let out = assess(&p, "send_email", staff, "", &Context::default(), &[], &none).unwrap();
        assert_eq!(out.findings[0].message, "e-mail to 3,000 recipients (internal), above 1,000", "{out:?}");
        assert!(out.findings.iter().all(|f| f.id != "blast.external_recipients"), "{out:?}");
    }

    #[test]
    fn data_with_unknown_keys_or_wrong_types_is_refused_at_load() {
        let load = |data: &str| {
            ActionPolicy::from_sources(&[], &[("d.json".into(), data.into())]).err().map(|e| e.to_string())
        };
        let err = load(r#"{"warden": {"config": {"internal_domain": ["x.com"]}}}"#).expect("misspelt key");
        assert!(err.starts_with("d.json: warden.config.internal_domain is not a setting"), "{err}");
        let err = load(r#"{"warden": {"config": {"internal_domains": "x.com"}}}"#).expect("string for a list");
        assert!(err.contains("internal_domains must be a list of strings"), "{err}");
        let err = load(r#"{"warden": {"config": {"tenants": {"acme": {"bulk_recipients": "20"}}}}}"#)
            .expect("string for a number, per tenant");
        assert!(err.contains("warden.config.tenants.acme.bulk_recipients must be a whole number"), "{err}");
        let err = load(
            r#"{"warden": {"config": {"tenants": {"acme": {"applications": {"kiosk":
            {"money": {"auto_approve_limit": {"EUR": "lots"}}}}}}}}}"#,
        )
        .expect("per application");
        assert!(err.contains("tenants.acme.applications.kiosk.money.auto_approve_limit.EUR"), "{err}");
        let err = load(r#"{"warden": {"config": {"blast_radius": {"external_recipients": "50"}}}}"#).expect("a string");
        assert!(err.contains("warden.config.blast_radius.external_recipients must be a whole number"), "{err}");
        let err = load(r#"{"warden": {"config": {"blast_radius": {"level": "hgih"}}}}"#).expect("a misspelt level");
        assert!(err.contains("blast_radius.level must be low, medium, high or critical"), "{err}");
        let err = load(r#"{"warden": {"config": {"blast_radius": {"rows": 5}}}}"#).expect("an unknown threshold");
        assert!(err.contains("blast_radius.rows is not a setting"), "{err}");
        let err = load(r#"{"warden": {"config": {"tenants": {"acme": {"tenants": {}}}}}}"#).expect("nested tenants");
        assert!(err.contains("tenants.acme.tenants is not a setting"), "{err}");
        assert!(
            load(r#"{"warden": {"config": {"bulk_items": 5, "money": {"block_limit": {"default": 1000}}}}}"#).is_none()
        );
    }

    #[test]
    fn users_add_and_suppress_rules() {
        let rule = r#"package warden.action
findings contains {"id": "acme.no_friday_deploys", "category": "action.change_freeze", "level": "high",
  "message": "deploys are frozen", "checks": ["wait for Monday"]} if {
  some w in input.facts.tool_words
  w == "deploy"
}"#;
        let data = r#"{"warden": {"config": {"suppress": ["write.call"]}}}"#;
        let p = ActionPolicy::from_sources(&[("freeze.rego".into(), rule.into())], &[("s.json".into(), data.into())])
            .unwrap();
        let out = assess(&p, "deploy_service", "{}", "", &Context::default(), &[], &SessionView::default()).unwrap();
        let ids: Vec<&str> = out.findings.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["acme.no_friday_deploys"], "{out:?}");
    }
}
