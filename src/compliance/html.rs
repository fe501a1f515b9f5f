//! The HTML report: one self-contained file (no scripts, no external fonts,
//! styles or images) with inline SVG charts drawn by plotters. Every value
//! from the log goes through maud's escaping.

use std::collections::BTreeMap;

use maud::{html, Markup, PreEscaped, DOCTYPE};
use plotters::prelude::*;

use super::indicators::{Indicator, Status};
use super::Report;

const STYLE: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:980px;padding:24px;color:#1d2430;line-height:1.45}
h1{font-size:1.7em;margin-bottom:0}h2{border-bottom:2px solid #d6dbe3;padding-bottom:4px;margin-top:2em}h3{margin-bottom:.3em}
.meta{color:#5a6472}.badge{display:inline-block;padding:1px 9px;border-radius:10px;font-size:.85em;font-weight:600}
.met{background:#dff3e4;color:#1a6b34}.partly_met{background:#fff1cc;color:#7a5300}.not_evidenced{background:#fde2e1;color:#8f1d18}
table{border-collapse:collapse;width:100%;margin:.6em 0}th,td{border:1px solid #d6dbe3;padding:5px 8px;text-align:left;vertical-align:top;font-size:.92em}
th{background:#f3f5f8}.clause{border:1px solid #d6dbe3;border-radius:6px;padding:4px 16px 12px;margin:14px 0;page-break-inside:avoid}
.ind{border-left:4px solid #d6dbe3;padding:2px 12px;margin:10px 0}.ind.met,.ind.partly_met,.ind.not_evidenced{background:none;color:inherit}
.ind.met{border-color:#3aa25a}.ind.partly_met{border-color:#e0a800}.ind.not_evidenced{border-color:#d0453f}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em}pre{background:#f6f8fa;padding:8px;overflow-x:auto;white-space:pre-wrap}
.charts svg{max-width:100%;height:auto;border:1px solid #eef0f4;margin:6px 0}.small{font-size:.85em;color:#5a6472}
@media print{body{max-width:none}.clause{break-inside:avoid}details{display:block}}
"#;

fn badge(s: Status) -> Markup {
    html! { span class={ "badge " (s.as_str()) } { (s.label()) } }
}

pub fn render(r: &Report, report_sha256: &str) -> String {
    let charts = charts(r);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (r.framework.title) " compliance evidence, " (&r.period.from[..10]) " to " (&r.period.to[..10]) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "Compliance evidence: " (r.framework.title) }
                p class="meta" {
                    "Period " strong { (r.period.from) } " to " strong { (r.period.to) } " (exclusive)"
                    @if !r.scope.tenant.is_empty() { ", tenant " strong { (r.scope.tenant) } }
                    @if !r.scope.application.is_empty() { ", application " strong { (r.scope.application) } }
                    ". Generated " (r.generated_at) " by " (r.generated_by) " with Warden " (r.warden_version)
                    ", clause mapping " (r.framework.mapping_version) " (reviewed by " (r.framework.reviewed_by) ")."
                }
                h2 id="summary" { "Executive summary" }
                p {
                    (r.summary.clauses) " clauses: "
                    strong { (r.summary.met) " met" } ", "
                    strong { (r.summary.partly_met) " partly met" } ", "
                    strong { (r.summary.not_evidenced) " not evidenced" }
                    ", from " (r.summary.records_in_period) " audit records (" (r.summary.decisions) " risk decisions) in the period. "
                    "A status comes only from records: where the log holds no evidence the clause says so, and a skipped detector or an unverified period is shown as a gap, never as a pass."
                }
                table {
                    tr { th { "Clause" } th { "Title" } th { "Status" } }
                    @for c in &r.clauses {
                        tr { td { a href={ "#" (c.id) } { (c.reference) } } td { (c.title) } td { (badge(c.status)) } }
                    }
                }
                @if !r.summary.attention.is_empty() {
                    h3 { "Needs attention" }
                    ul { @for a in &r.summary.attention { li { (a) } } }
                }
                p class="small" { (r.framework.disclaimer) }
                (instances(r))
                h2 id="charts" { "Operations over the period" }
                div class="charts" { @for svg in &charts { (PreEscaped(svg)) } }
                h2 id="clauses" { "Clauses and their evidence" }
                @for c in &r.clauses {
                    div class="clause" id=(c.id) {
                        h3 { (c.reference) ": " (c.title) " " (badge(c.status)) }
                        p { em { "Requirement. " } (c.requirement) }
                        p class="small" { "Why this evidence: " (c.rationale) }
                        @for e in &c.evidence {
                            @if let Some(i) = r.indicators.get(e) { (indicator(i)) }
                        }
                    }
                }
                (incident_register(r))
                (policy_history(r))
                h2 id="verify" { "Checking this report" }
                p {
                    "This report's JSON form (" code { "report.json" } ") has SHA-256 " code { (report_sha256) }
                    ". Its generation is audit record " code { "report_generated" }
                    " in the log " code { (r.log.origin) } "; the evidence bundle (" code { "evidence/" }
                    ") holds that record with its inclusion proof, the signed checkpoints covering the period, the consistency proofs between them and the public key:"
                }
                pre { (r.log.public_key_vkey) }
                p class="small" {
                    "Each indicator names the command that lists the records behind it; run it against the same log (or its downstream copy) to re-derive the figures. Sequence numbers are leaf indices of the log's Merkle tree."
                }
                h3 { "Clause mapping history" }
                table {
                    tr { th { "Version" } th { "Date" } th { "Change" } }
                    @for ch in &r.framework.changes { tr { td { (ch.version) } td { (ch.date) } td { (ch.note) } } }
                }
            }
        }
    };
    page.into_string()
}

fn indicator(i: &Indicator) -> Markup {
    html! {
        div class={ "ind " (i.status.as_str()) } {
            p { strong { (i.title) } " " (badge(i.status)) br; (i.summary) }
            p class="small" { "Query: " code { (i.query.cli) } br; "Examines: " (i.query.examines) }
            @if !i.records.is_empty() {
                p class="small" { "Records (sequence): " (i.records.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")) }
            }
            details { summary class="small" { "Figures" } pre { (serde_json::to_string_pretty(&i.value).unwrap_or_default()) } }
        }
    }
}

fn incident_register(r: &Report) -> Markup {
    let list = r
        .indicators
        .get("incidents.register")
        .and_then(|i| i.value["incidents"].as_array().cloned())
        .unwrap_or_default();
    let s = |v: &serde_json::Value| v.as_str().map(String::from).unwrap_or_else(|| "-".into());
    html! {
        h2 id="incidents" { "Incident register" }
        @if list.is_empty() {
            p { "No incident recorded for the period. The register cannot show that none occurred." }
        } @else {
            table {
                tr { th { "Incident" } th { "Severity" } th { "First aware" } th { "Deadline" } th { "Notified" } th { "State" } }
                @for i in &list {
                    tr {
                        td { (s(&i["title"])) br; span class="small" { (s(&i["incident_id"])) } }
                        td { (s(&i["severity"])) }
                        td { (s(&i["aware_at"])) }
                        td { (s(&i["deadline"])) br; span class="small" { (s(&i["deadline_basis"])) } }
                        td { (s(&i["notified_at"])) br; span class="small" { (s(&i["authority"])) } }
                        td { (s(&i["state"]).replace('_', " ")) }
                    }
                }
            }
        }
    }
}

fn policy_history(r: &Report) -> Markup {
    let Some(h) = r.indicators.get("risk.policy_history").and_then(|i| i.value["history"].as_object().cloned()) else {
        return html! {};
    };
    html! {
        h2 id="versions" { "Risk register: versions in force" }
        table {
            tr { th { "Component" } th { "Version" } th { "First seen" } th { "Last seen" } th { "Decisions" } }
            @for (component, versions) in &h {
                @for v in versions.as_array().cloned().unwrap_or_default() {
                    tr {
                        td { (component) } td { code { (v["version"].as_str().unwrap_or_default()) } }
                        td { (v["first_seen"].as_str().unwrap_or_default()) } td { (v["last_seen"].as_str().unwrap_or_default()) }
                        td { (v["decisions"]) }
                    }
                }
            }
        }
    }
}

/// Labels in charts come from the log; keep them to plain characters.
fn label(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || " ._:-/<>%".contains(*c))
        .take(40)
        .collect::<String>()
        .replace(['<', '>'], "")
}

fn charts(r: &Report) -> Vec<String> {
    let c = &r.charts;
    let mut out = Vec::new();
    let weeks: Vec<String> = c.decisions_by_week.iter().map(|(w, _)| w.clone()).collect();
    let levels = [
        ("low", RGBColor(58, 162, 90)),
        ("medium", RGBColor(224, 168, 0)),
        ("high", RGBColor(214, 96, 40)),
        ("critical", RGBColor(160, 20, 20)),
    ];
    let series: Vec<(String, RGBColor, Vec<f64>)> = levels
        .iter()
        .map(|(l, col)| {
            (
                l.to_string(),
                *col,
                c.decisions_by_week.iter().map(|(_, m)| m.get(*l).copied().unwrap_or(0) as f64).collect(),
            )
        })
        .collect();
    if weeks.len() >= 2 {
        out.push(line_chart("Decisions per week by risk level", &weeks, &series, "decisions"));
    } else {
        // A line needs two weeks; a period of one week (or less) gets its
        // totals as bars instead of an empty plot.
        let labels: Vec<String> = series.iter().map(|(l, _, _)| l.clone()).collect();
        let totals: Vec<f64> = series.iter().map(|(_, _, v)| v.iter().sum()).collect();
        out.push(bar_chart("Decisions in the period by risk level", &labels, &totals, "decisions"));
    }
    let top: Vec<(&String, &u64)> = {
        let mut v: Vec<_> = c.findings_by_category.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        v.truncate(15);
        v
    };
    out.push(bar_chart(
        "Findings by category (decisions with at least one)",
        &top.iter().map(|(k, _)| label(k)).collect::<Vec<_>>(),
        &top.iter().map(|(_, v)| **v as f64).collect::<Vec<_>>(),
        "decisions",
    ));
    out.push(bar_chart(
        "Human approvals: time from request to decision",
        &c.approval_seconds.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
        &c.approval_seconds.iter().map(|(_, v)| *v as f64).collect::<Vec<_>>(),
        "approvals",
    ));
    out.push(named_bars(
        "Detector skip rate (% of decisions)",
        &c.skip_rate_percent,
        "% skipped",
        "No detector was skipped in the period.",
    ));
    let lag: BTreeMap<String, f64> = c.sink_lag_records.iter().map(|(k, v)| (k.clone(), *v as f64)).collect();
    out.push(named_bars(
        "Downstream store lag at generation (records)",
        &lag,
        "records behind",
        "No downstream store is configured for this log.",
    ));
    out
}

fn named_bars(title: &str, m: &BTreeMap<String, f64>, unit: &str, empty: &str) -> String {
    if m.is_empty() {
        return note(title, empty);
    }
    bar_chart(title, &m.keys().map(|k| label(k)).collect::<Vec<_>>(), &m.values().copied().collect::<Vec<_>>(), unit)
}

/// A chart-sized SVG with a sentence instead of bars.
fn note(title: &str, text: &str) -> String {
    draw(720, 90, |root| {
        let root = root.titled(title, ("sans-serif", 17)).map_err(|e| e.to_string())?;
        root.draw_text(text, &("sans-serif", 14).into_text_style(&root), (20, 25)).map_err(|e| e.to_string())
    })
}

fn draw(
    w: u32,
    h: u32,
    f: impl FnOnce(&DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> Result<(), String>,
) -> String {
    let mut svg = String::new();
    let result = {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| e.to_string())
            .and_then(|()| f(&root))
            .and_then(|()| root.present().map_err(|e| e.to_string()))
    };
    match result {
        Ok(()) => svg,
        Err(e) => format!("<p class=\"small\">(chart could not be drawn: {})</p>", maud::html! { (e) }.into_string()),
    }
}

fn line_chart(title: &str, x: &[String], series: &[(String, RGBColor, Vec<f64>)], unit: &str) -> String {
    let max = series.iter().flat_map(|s| s.2.iter().copied()).fold(1.0, f64::max) * 1.1;
    let n = x.len().max(2);
    draw(720, 300, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 17))
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(48)
            .build_cartesian_2d(0..n - 1, 0f64..max)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_labels(8)
            .x_label_formatter(&|i| x.get(*i).map(|s| s[5..].to_string()).unwrap_or_default())
            .y_desc(unit)
            .draw()
            .map_err(|e| e.to_string())?;
        for (name, color, values) in series {
            let color = *color;
            chart
                .draw_series(LineSeries::new(values.iter().enumerate().map(|(i, v)| (i, *v)), color.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(|e| e.to_string())
    })
}

fn bar_chart(title: &str, labels: &[String], values: &[f64], unit: &str) -> String {
    if values.is_empty() || values.iter().all(|v| *v == 0.0) {
        return note(title, "No data in the period.");
    }
    let max = values.iter().copied().fold(0.0, f64::max) * 1.15;
    let n = labels.len();
    let h = (70 + 26 * n as u32).max(140);
    draw(720, h, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 17))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(190)
            .build_cartesian_2d(0f64..max, (0..n).into_segmented())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .x_desc(unit)
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(
                Histogram::horizontal(&chart)
                    .style(RGBColor(62, 110, 180).filled())
                    .margin(4)
                    .data(values.iter().enumerate().map(|(i, v)| (i, *v))),
            )
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// A fleet-wide report's instances: whose records count, and which are
/// exceptions because their central copy does not verify.
fn instances(r: &Report) -> Markup {
    let Some(all) = &r.fleet else { return html! {} };
    html! {
        h2 id="instances" { "Instances" }
        p {
            "A fleet-wide report, read from the central store: each instance's copy of its log was verified "
            "(hash chain, Merkle tree, checkpoint signatures with the key it registered) before its records were counted."
        }
        table {
            tr { th { "Instance" } th { "Log verified" } th { "Records in period" } th { "Decisions" } th { "Approvals" } th { "Signed size" } }
            @for i in all {
                tr {
                    td { code { (i.instance_id) } }
                    @match &i.exception {
                        Some(e) => { td { (badge(Status::NotEvidenced)) " Exception: " (e) ". Not counted." } }
                        None => { td { "Verified" } }
                    }
                    td { (i.records_in_period) } td { (i.decisions) } td { (i.approvals) } td { (i.signed_size) }
                }
            }
        }
    }
}
