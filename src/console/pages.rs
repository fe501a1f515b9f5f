//! The console's pages (maud: every value is escaped). Accessible by
//! construction: real forms and links, labels on every input, headings in
//! order, status in words as well as colour, focus styles kept.

use crate::audit::read::{Body, Content, ReportBody};
use crate::detect::Surface;
use crate::policy::{Decision, Level};
use maud::{html, Markup, DOCTYPE};
use serde_json::Value;

use super::{Row, Search};
use crate::approval::{Approval, PendingPage, State};
use crate::auth::{Caller, Role};

/// Who is signed in, for the header.
pub struct Nav<'a> {
    pub who: &'a str,
    pub csrf: &'a str,
    pub reviewer: bool,
    pub auditor: bool,
}

impl<'a> Nav<'a> {
    pub fn of(who: &'a str, csrf: &'a str, caller: &Caller) -> Self {
        Self { who, csrf, reviewer: caller.has(Role::Reviewer), auditor: caller.has(Role::Auditor) }
    }
}

/// A time as people read it in the console: UTC to the second
/// (`2026-11-27 11:32:22`); records keep nanoseconds, nobody reads them.
fn when(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    t.to_offset(time::UtcOffset::UTC).format(&f).unwrap_or_default()
}

/// [`when`] of an RFC 3339 text (a record's time); the text itself if it
/// is not one.
fn when_text(s: &str) -> String {
    crate::timestamp::parse(s).map(when).unwrap_or_else(|_| s.to_string())
}

fn page(title: &str, nav: Option<&Nav<'_>>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Warden console" }
                link rel="stylesheet" href="/assets/console.css";
                script src="/assets/console.js" defer {}
            }
            body {
                a class="skip" href="#main" { "Skip to content" }
                header {
                    span class="brand" { "Warden" }
                    @if let Some(n) = nav {
                        nav aria-label="Main" {
                            @if n.reviewer || n.auditor { a href="/approvals" { "Approvals" } }
                            @if n.auditor { a href="/investigate" { "Investigate" } a href="/reports" { "Reports" } }
                        }
                        form method="post" action="/logout" class="signout" {
                            input type="hidden" name="csrf" value=(n.csrf);
                            span { "Signed in as " strong data-testid="who" { (n.who) } }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main id="main" { (body) }
            }
        }
    }
}

pub fn message(title: &str, text: &str) -> Markup {
    page(
        title,
        None,
        html! { h1 { (title) } p role="alert" { (text) } p { a href="/approvals" { "Back to the console" } } },
    )
}

/// The sign-in form; `csrf` is the browser's sign-in token (its cookie's
/// value), which the post must carry back.
pub fn login(open: bool, note: Option<&str>, error: Option<&str>, csrf: &str) -> Markup {
    page(
        "Sign in",
        None,
        html! {
            h1 { "Sign in" }
            @if let Some(n) = note { p class="note" { (n) } }
            @if let Some(e) = error { p class="error" role="alert" data-testid="login-error" { (e) } }
            form method="post" action="/login" class="card" {
                input type="hidden" name="csrf" value=(csrf);
                @if open {
                    p class="note" { "Authentication is off on this server: anyone who reaches this address may review. Give your name; it is recorded with every action." }
                    label for="name" { "Your name" }
                    input id="name" name="name" autocomplete="username" required;
                } @else {
                    label for="token" { "Access token" }
                    input id="token" name="token" type="password" autocomplete="current-password" required;
                    p class="hint" { "The bearer token your administrator issued (roles reviewer or auditor)." }
                }
                button type="submit" { "Sign in" }
            }
        },
    )
}

fn level_badge(level: &str) -> Markup {
    html! { span class={ "level " (level) } { (level) } }
}

fn time_left(a: &Approval) -> String {
    let left = (a.expires_at - time::OffsetDateTime::now_utc()).whole_seconds().max(0);
    format!("{}m {:02}s", left / 60, left % 60)
}

/// The queue: one page of pending approvals (`page_token` is the one that
/// asked for it, empty for the first), the true total, links to the first
/// and the next page, and the recently closed approvals.
pub fn queue(page: &PendingPage, page_token: &str, recent: &[Approval]) -> Markup {
    let list = &page.approvals;
    html! {
        h2 { "Waiting for a decision (" span data-testid="pending-count" { (page.total) } ")" }
        @if list.is_empty() && page_token.is_empty() {
            p class="empty" { "Nothing is waiting for a decision." }
        } @else if list.is_empty() {
            p class="empty" { "Nothing further is waiting on this page. " a href="/approvals" { "Back to the first page" } }
        } @else {
            p class="hint" data-testid="page-count" { "Showing " (list.len()) " of " (page.total) "." }
            table {
                caption class="sr" { "Pending approvals, highest risk first, then newest" }
                thead { tr { th scope="col" { "Risk" } th scope="col" { "Action" } th scope="col" { "Application" } th scope="col" { "Requested by" } th scope="col" { "Expires in" } } }
                tbody {
                    @for a in list {
                        tr data-approval=(a.id) {
                            td { (level_badge(a.level.as_str())) }
                            td { a href={ "/approvals/" (a.id) } { (what(a)) } " " span class="hint" { (truncate(preview(a), 80)) } }
                            td { (a.context.application) }
                            td { (a.requested_by) }
                            td { (time_left(a)) }
                        }
                    }
                }
            }
            @if !page_token.is_empty() || !page.next_page_token.is_empty() {
                nav class="pager" aria-label="Pages of pending approvals" {
                    @if !page_token.is_empty() { a href="/approvals" rel="first" data-testid="first-page" { "First page" } " " }
                    @if !page.next_page_token.is_empty() {
                        a href={ "/approvals?page_token=" (page.next_page_token) } rel="next" data-testid="next-page" { "Next page" }
                    }
                }
            }
        }
        h2 { "Recently closed" }
        @if recent.is_empty() {
            p class="empty" { "None yet." }
        } @else {
            ul class="recent" {
                @for a in recent {
                    li data-closed=(a.id) data-state=(a.state.as_str()) {
                        span class={ "state " (a.state.as_str()) } { (a.state.as_str()) } " "
                        (what(a)) " "
                        @if let Some(v) = a.verdict() { "by " (v.reviewer) ": " (v.reason) }
                        @if a.state == State::Expired { "nobody decided before " (when(a.expires_at)) " UTC" }
                    }
                }
            }
        }
    }
}

pub fn approvals(nav: &Nav<'_>, pending: &PendingPage, page_token: &str, recent: &[Approval]) -> Markup {
    page(
        "Approvals",
        Some(nav),
        html! {
            h1 { "Approvals" }
            p class="live" aria-live="polite" data-testid="live" { "Live: the list updates when approvals arrive, are decided or expire." }
            // The live refresh stays on the page the reviewer is reading.
            div id="queue" data-live={ "/approvals/list?page_token=" (page_token) } { (queue(pending, page_token, recent)) }
        },
    )
}

/// What an approval is about: the tool for an action, else which text.
fn what(a: &Approval) -> Markup {
    match a.surface {
        crate::detect::Surface::Action => html! { code { (a.tool) } },
        crate::detect::Surface::Output => html! { span class="surface" data-surface="output" { "model output" } },
        crate::detect::Surface::Input => html! { span class="surface" data-surface="input" { "user input" } },
    }
}

/// The arguments of an action, or the text under review.
fn preview(a: &Approval) -> &str {
    match a.surface {
        crate::detect::Surface::Action => &a.arguments_json,
        _ => &a.text,
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

pub fn approval(nav: &Nav<'_>, a: &Approval, error: Option<&str>) -> Markup {
    let args = serde_json::from_str::<Value>(&a.arguments_json)
        .map(|v| serde_json::to_string_pretty(&v).unwrap_or_default())
        .unwrap_or_else(|_| a.arguments_json.clone());
    page(
        "Approval",
        Some(nav),
        html! {
            h1 { "Approve or deny " (what(a)) }
            @if let Some(e) = error { p class="error" role="alert" data-testid="decide-error" { (e) } }
            dl class="facts" {
                dt { "Risk" } dd { (level_badge(a.level.as_str())) " score " (format!("{:.2}", a.score)) }
                dt { "State" } dd data-testid="state" { (a.state.as_str()) }
                dt { "Requested by" } dd { (a.requested_by) }
                dt { "Instance" } dd data-testid="instance" { code { (a.instance_id) } }
                dt { "Application / session" } dd { (a.context.application) " / " a href={ "/sessions/" (a.context.session_id) } { (a.context.session_id) } }
                dt { "End user" } dd { (a.context.user_id) }
                dt { "Expires" } dd { (when(a.expires_at)) " UTC (in " (time_left(a)) ")" }
                dt { "Reviewers needed" } dd { (a.required_approvals) }
                dt { "Policy" } dd { code { (a.policy_version) } }
            }
            @match a.surface {
                crate::detect::Surface::Action => {
                    h2 { "The action" }
                    pre class="args" { (args) }
                    @if !a.rationale.is_empty() { p { "The agent's reason: " em { (a.rationale) } } }
                }
                crate::detect::Surface::Output => {
                    h2 { "The model's output" }
                    pre class="args" data-testid="text-under-review" { (a.text) }
                }
                crate::detect::Surface::Input => {
                    h2 { "The user's input" }
                    pre class="args" data-testid="text-under-review" { (a.text) }
                }
            }
            h2 { "Why it needs a human" }
            // The reasons are the findings in words, strongest first: each
            // is listed once; the findings themselves are one click away.
            ul data-testid="reasons" {
                @for r in &a.reasons { li { (r) } }
                @for c in &a.required_checks { li { "Check: " (c) } }
            }
            @if !a.findings.is_empty() {
                details class="findings" {
                    summary { "Every finding (" (a.findings.len()) ")" }
                    ul { @for f in &a.findings { li { code { (f.category) } " (" (format!("{:.2}", f.score)) "): " (f.message) } } }
                }
            }
            h2 { "The session so far" }
            @if a.decision_path.is_empty() {
                p class="empty" { "This is the session's first scored call." }
            } @else {
                ol class="path" {
                    @for s in &a.decision_path {
                        li { span class="hint" { (when_text(&s.recorded_at)) } " " (s.surface.as_str()) " " @if !s.tool.is_empty() { code { (s.tool) } " " } (level_badge(s.level.as_str())) " " (s.decision.as_str()) ": " @if s.summary.is_empty() { "no findings" } @else { (s.summary) } }
                    }
                }
            }
            @if !a.votes.is_empty() {
                h2 { "Votes" }
                ul { @for v in &a.votes { li { (v.reviewer) " " (if v.approve { "approved" } else { "denied" }) " at " (when_text(&v.at)) " UTC: " (v.reason) } } }
            }
            @if a.state == State::Pending && nav.reviewer {
                form method="post" action={ "/approvals/" (a.id) "/decide" } class="card decide" {
                    input type="hidden" name="csrf" value=(nav.csrf);
                    label for="reason" { "Reason (recorded with your decision)" }
                    textarea id="reason" name="reason" rows="3" required {}
                    div class="buttons" {
                        button type="submit" name="verdict" value="approve" class="approve" { "Approve" }
                        button type="submit" name="verdict" value="deny" class="deny" { "Deny" }
                    }
                }
            }
        },
    )
}

/// One line about a record, from its stored body.
pub fn summary(body: &Body) -> String {
    // Protected fields (the privacy layer's) show as what they are.
    let s = |c: &Content| match c {
        Content::Text(s) => s.clone(),
        Content::Erased(_) => "[erased]".into(),
        Content::Encrypted(_) => "[encrypted]".into(),
        Content::Hashed(_) => "[hashed]".into(),
        Content::Absent => String::new(),
        Content::Other(v) => v.to_string(),
    };
    match body {
        Body::ScoreDecision(d) => {
            let r = &d.request;
            let v = &d.evaluation.verdict;
            let what = match r.surface {
                Some(Surface::Action) => format!("action {}({})", s(&r.tool), truncate(&s(&r.arguments_json), 60)),
                Some(Surface::Input) => format!("input \"{}\"", truncate(&s(&r.text), 60)),
                Some(Surface::Output) => format!("output \"{}\"", truncate(&s(&r.text), 60)),
                None => String::new(),
            };
            let mut cats: Vec<&str> = d.evaluation.findings.iter().map(|f| f.category.as_str()).collect();
            cats.dedup();
            let docs = r.documents.len();
            format!(
                "{what}: {} ({}){}{}",
                v.decision.map_or("", Decision::as_str),
                v.level.map_or("", Level::as_str),
                if cats.is_empty() { String::new() } else { format!("; found {}", cats.join(", ")) },
                if docs > 0 { format!("; {docs} retrieved document(s)") } else { String::new() }
            )
        }
        Body::Approval(a) => format!("approval {}: {} by {} {}", a.approval_id, a.event, a.actor, a.reason),
        Body::Incident(i) => format!("incident {}: {} ({})", i.title, i.event, i.severity),
        Body::ReportGenerated(r) => format!("{} report for {} to {}", r.framework, r.from, r.to),
        Body::ConsoleAction(c) => format!("console: {} {} {}", c.actor, c.action, c.target),
        Body::FleetDecision(f) => format!(
            "fleet decision on approval {} of {}: {} by {} {}",
            f.approval_id,
            f.instance_id,
            if f.approve { "approve" } else { "deny" },
            f.reviewer,
            f.reason
        ),
        Body::SubjectErased(e) => format!("subject {} erased", e.subject_id),
        Body::SinkQuarantined(q) => format!("{} refused record {}: quarantined", q.sink, q.sequence),
        Body::UnsignedTailAccepted(t) => {
            format!("records {} to {} signed late, accepted by {}", t.first_sequence, t.last_sequence, t.actor)
        }
        Body::ClientEvent(e) => {
            // The attributes are what the client recorded: shown, not just
            // counted (the whole record is under "Record ...").
            let attributes = match &e.attributes {
                Value::Object(m) => m
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().map_or_else(|| v.to_string(), str::to_string)))
                    .collect::<Vec<_>>()
                    .join(", "),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            if attributes.is_empty() {
                e.event_kind.clone()
            } else {
                format!("{}: {}", e.event_kind, truncate(&attributes, 200))
            }
        }
        Body::Other => "a record of a kind this version does not know".into(),
        Body::Unreadable(why) => format!("unreadable record: {why}"),
    }
}

fn row_table(rows: &[Row], with_session: bool) -> Markup {
    html! {
        table class="records" {
            thead { tr {
                th scope="col" { "#" } th scope="col" { "Time (UTC)" } th scope="col" { "Kind" }
                @if with_session { th scope="col" { "Session" } }
                th scope="col" { "What happened" } th scope="col" { "In the log" }
            } }
            tbody {
                @for r in rows {
                    tr data-seq=(r.seq) {
                        td { (r.seq) }
                        td { (when_text(&r.at)) }
                        td { (r.kind) }
                        @if with_session { td { @if !r.session.is_empty() { a href={ "/sessions/" (r.session) } { (r.session) } } } }
                        td {
                            (r.summary)
                            @if !r.gen_ai.is_empty() {
                                dl class="gen-ai" data-testid="gen-ai" {
                                    @for (name, value) in &r.gen_ai {
                                        div { dt title=(name) { (gen_ai_label(name)) } dd { (value) } }
                                    }
                                }
                            }
                            details { summary { "Record " (r.id) } pre { (serde_json::to_string_pretty(&r.body).unwrap_or_default()) } }
                        }
                        td class="proof" data-proof=(r.seq) data-instance=(r.instance) data-status="pending" { "checking…" }
                    }
                }
            }
        }
    }
}

/// How the console names a GenAI fact (its OpenTelemetry name is the
/// label's title).
fn gen_ai_label(name: &str) -> &str {
    match name {
        "gen_ai.operation.name" => "operation",
        "gen_ai.provider.name" => "provider",
        "gen_ai.request.model" => "model",
        "gen_ai.response.model" => "response model",
        "gen_ai.tool.name" => "tool",
        "gen_ai.usage.input_tokens" => "input tokens",
        "gen_ai.usage.output_tokens" => "output tokens",
        other => other,
    }
}

pub fn investigate(nav: &Nav<'_>, q: &Search, found: Option<&[Row]>, error: Option<&str>) -> Markup {
    let field = |id: &str, label: &str, value: &str, hint: &str| {
        html! { div class="field" { label for=(id) { (label) } input id=(id) name=(id) value=(value) placeholder=(hint); } }
    };
    page(
        "Investigate",
        Some(nav),
        html! {
            h1 { "Investigate" }
            form method="get" action="/investigate" class="card search" {
                (field("session", "Session", &q.session, "refund-7"))
                (field("trace", "Trace id", &q.trace, "32 hex digits"))
                (field("user", "End user", &q.user, "pseudonymous id"))
                (field("tool", "Tool", &q.tool, "issue_refund"))
                (field("operation", "GenAI operation", &q.operation, "chat"))
                (field("provider", "GenAI provider", &q.provider, "openai"))
                (field("model", "Model", &q.model, "gpt-4o"))
                div class="field" {
                    label for="decision" { "Decision" }
                    select id="decision" name="decision" {
                        @for (v, l) in [("", "any"), ("allow", "allow"), ("review", "review"), ("require_approval", "require approval"), ("block", "block")] {
                            option value=(v) selected[q.decision == v] { (l) }
                        }
                    }
                }
                (field("from", "From", &q.from, "2026-11-01"))
                (field("to", "Before", &q.to, "2026-11-30"))
                button type="submit" { "Search" }
            }
            @if let Some(e) = error { p class="error" role="alert" { (e) } }
            @if let Some(rows) = found {
                h2 { (rows.len()) " records" @if rows.len() >= 200 { " (the first 200; narrow the search)" } }
                (row_table(rows, true))
            }
        },
    )
}

pub fn timeline(nav: &Nav<'_>, session: &str, rows: &[Row]) -> Markup {
    page(
        "Session timeline",
        Some(nav),
        html! {
            h1 { "Session " code { (session) } }
            p {
                (rows.len()) " records, oldest first. Each record's inclusion in the signed log is checked in this page: "
                "its exact bytes are hashed here, folded with its Merkle inclusion proof, compared with the root of the latest checkpoint, "
                "and the checkpoint's Ed25519 signature is verified against the log's public key. "
                span data-testid="proof-summary" class="proof-summary" { "" }
            }
            @if rows.is_empty() { p class="empty" { "No records for this session." } } @else { (row_table(rows, false)) }
        },
    )
}

pub fn reports(nav: &Nav<'_>, list: &[(Row, bool)], error: Option<&str>) -> Markup {
    page(
        "Reports",
        Some(nav),
        html! {
            h1 { "Compliance reports" }
            form method="post" action="/reports" class="card search" {
                input type="hidden" name="csrf" value=(nav.csrf);
                div class="field" {
                    label for="framework" { "Framework" }
                    select id="framework" name="framework" {
                        option value="eu-ai-act" { "EU AI Act" }
                        option value="nist-ai-rmf" { "NIST AI RMF" }
                        option value="iso-42001" { "ISO/IEC 42001" }
                    }
                }
                div class="field" { label for="from" { "From (date)" } input id="from" name="from" required placeholder="2026-05-01"; }
                div class="field" { label for="to" { "To (date, inclusive)" } input id="to" name="to" required placeholder="2026-10-31"; }
                div class="field" { label for="tenant" { "Tenant (optional)" } input id="tenant" name="tenant"; }
                button type="submit" { "Generate" }
            }
            @if let Some(e) = error { p class="error" role="alert" data-testid="report-error" { (e) } }
            @if list.is_empty() {
                p class="empty" { "No report has been generated from this log." }
            } @else {
                table {
                    thead { tr { th scope="col" { "Generated" } th scope="col" { "Framework" } th scope="col" { "Period" } th scope="col" { "By" } th scope="col" { "Clauses" } th scope="col" { "" } } }
                    tbody {
                        @for (r, kept) in list {
                            @let report = match &r.read { Body::ReportGenerated(b) => b.clone(), _ => ReportBody::default() };
                            @let met = report.statuses.values().filter(|v| *v == "met").count();
                            tr data-report=(r.id) {
                                td { (when_text(&r.at)) }
                                td { (report.framework) }
                                td { (report.from.get(..10).unwrap_or_default()) " to " (report.to.get(..10).unwrap_or_default()) }
                                td { (report.actor) }
                                td { (met) " of " (report.statuses.len()) " met" }
                                td { @if *kept { a href={ "/reports/" (r.id) "/report.html" } { "Open" } } @else { span class="hint" { "files not kept here" } } }
                            }
                        }
                    }
                }
            }
        },
    )
}
