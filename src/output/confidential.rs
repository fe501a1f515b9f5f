//! Confidential values of a system prompt repeated in an output: an
//! employee-only voucher code, the pay range of a job grade, an escalation
//! threshold. One such value is neither a sentence nor an n-gram, so the
//! reproduction check in `leak.rs` cannot see it leave.
//!
//! Two kinds of value are taken from the system prompt:
//! - **marked** values: codes, identifiers, amounts, percentages, durations,
//!   dates, ranges and large counts in a clause that a marker
//!   (`rules/confidential-markers.txt`: internal, confidential, never reveal,
//!   employees only...) makes confidential, or in the "key: value" lines and
//!   list items under a heading that does;
//! - **distinctive** tokens anywhere in the prompt: code-shaped and
//!   random-looking (`STAFF-7Q2X`, `AB12-99ZZ`, hex strings), which an answer
//!   has no ordinary reason to contain.
//!
//! Unmarked numbers ("answer in 3 sentences", "24/7 support", a public phone
//! number) are not values. A value counts only when the output contains it
//! and the user's input did not (the user may repeat what they know).

use std::collections::HashMap;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::leak::DETECTOR;
use super::quantity::{self, Kind, Quantity};
use super::text;
use crate::detect::{Evidence, Finding};

pub const CATEGORY: &str = "system_prompt_leak.value";

/// Values taken from one system prompt, at most (marked ones first). Beyond
/// them the check says `partial`.
pub const MAX_VALUES: usize = 64;

/// A marked value makes the output policy hold the output (`min_score` of
/// `system_prompt_leak` is 0.85); a distinctive token asks for a review.
const MARKED_SCORE: f64 = 0.95;
const DISTINCTIVE_SCORE: f64 = 0.6;

/// Segments of one code token considered for partial matches
/// (`ESC-4471` inside `ESC-4471-ZETA`); a longer token is cut there.
const MAX_SEGMENTS: usize = 8;

static MARKERS: LazyLock<Regex> = LazyLock::new(|| {
    let alternatives: Vec<&str> = include_str!("../../rules/confidential-markers.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    Regex::new(&format!(r"(?i)\b(?:{})\b", alternatives.join("|"))).expect("confidential markers")
});

/// Letters and digits joined by hyphens or underscores. Dots and slashes
/// end a token, so URLs and host names do not become one long "code".
static CODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*").expect("static regex"));

/// Digit groups (a phone or account number); kept when they add up to seven
/// digits or more.
static DIGITS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\+?\d+(?:[ .\-/]\d+)*").expect("static regex"));

static CLAUSE_BREAK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i);|\bbut\b|\bwhereas\b").expect("static regex"));

/// "24h", "10am", "3rd", "85k", "4o": a number with a short suffix.
static NUMBER_WITH_SUFFIX: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\d+[A-Za-z]{1,3}$").expect("static regex"));

#[derive(Debug, Clone, PartialEq)]
enum Shape {
    /// Upper-cased, separators removed.
    Code(String),
    /// Digits only.
    Digits(String),
    /// One quantity, or the two ends of a range.
    Amount(Vec<Quantity>),
}

/// A value the system prompt holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    shape: Shape,
    pub prompt_span: Range<usize>,
    pub marked: bool,
}

/// The values in a text, as the matching needs them.
#[derive(Default)]
struct Pieces {
    /// Every code-shaped token: span, squashed form, distinctive.
    codes: Vec<(Range<usize>, String, bool)>,
    /// Every token with letters and digits, by squashed run of consecutive
    /// segments, first place only: what a code in the prompt is looked up in.
    code_index: HashMap<String, Range<usize>>,
    digits: Vec<(Range<usize>, String)>,
    amounts: Vec<(Range<usize>, Vec<Quantity>)>,
}

fn squash(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

/// A code: a segment mixing letters and digits that is not a number with a
/// suffix (`7Q2X`, `AB12`), or a word and a number side by side
/// (`ESC-4471`, `COVID-19`) when the number has three digits or more or the
/// word is in capitals ("top-10" is not a code).
fn code_shaped(token: &str) -> bool {
    if squash(token).len() < 4 {
        return false;
    }
    let (mut letters, mut upper_letters, mut digits) = (false, false, 0);
    for seg in token.split(['-', '_']) {
        let has_letter = seg.chars().any(|c| c.is_ascii_alphabetic());
        let has_digit = seg.chars().any(|c| c.is_ascii_digit());
        match (has_letter, has_digit) {
            (true, true) if !NUMBER_WITH_SUFFIX.is_match(seg) => return true,
            (true, false) => {
                letters = true;
                upper_letters |= seg.len() >= 2 && seg.chars().all(|c| c.is_ascii_uppercase());
            }
            (false, true) => digits += seg.len(),
            _ => {}
        }
    }
    letters && digits > 0 && (digits >= 3 || upper_letters)
}

/// Random-looking: at least six characters that switch between letters and
/// digits twice or more (`STAFF-7Q2X`, `AB12-99ZZ`, `7f3a9c`), unlike
/// `ESC-4471` or `COVID-19`.
fn distinctive(token: &str) -> bool {
    let s = squash(token);
    let switches = s.as_bytes().windows(2).filter(|w| w[0].is_ascii_digit() != w[1].is_ascii_digit()).count();
    s.len() >= 6 && switches >= 2
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

/// A range's count end takes the kind of its other end: "$85-97k" is not
/// read that way, but "48-72 hours" and "$85,000 to 97,000" are.
fn coerce(count: &Quantity, count_text: &str, other: &Quantity, other_text: &str) -> Quantity {
    let value = match other.kind {
        Kind::Duration => {
            let unit = other_text.rsplit(|c: char| !c.is_alphabetic()).find(|w| !w.is_empty()).unwrap_or("");
            quantity::extract(&format!("{count_text} {unit}")).first().map_or(count.value, |q| q.value)
        }
        _ => count.value,
    };
    Quantity { kind: other.kind, value, number: count.number, span: count.span.clone() }
}

fn pieces(text: &str) -> Pieces {
    let mut p = Pieces::default();
    for m in CODE.find_iter(text) {
        let token = m.as_str();
        if !(token.bytes().any(|b| b.is_ascii_digit()) && token.bytes().any(|b| b.is_ascii_alphabetic())) {
            continue;
        }
        if code_shaped(token) {
            p.codes.push((m.range(), squash(token), distinctive(token)));
        }
        // Runs of consecutive segments, so a code is found inside a longer one.
        let segments: Vec<(usize, &str)> = token
            .split(['-', '_'])
            .scan(0, |at, s| {
                let start = *at;
                *at += s.len() + 1;
                Some((start, s))
            })
            .take(MAX_SEGMENTS)
            .collect();
        for i in 0..segments.len() {
            let mut key = String::new();
            for &(start, seg) in &segments[i..] {
                key.push_str(&squash(seg));
                let span = m.start() + segments[i].0..m.start() + start + seg.len();
                p.code_index.entry(key.clone()).or_insert(span);
            }
        }
    }
    let quantities = quantity::extract(text);
    let is_date =
        |r: &Range<usize>| quantities.iter().any(|q| matches!(q.kind, Kind::Date(..)) && overlaps(&q.span, r));
    let in_code = |r: &Range<usize>| p.codes.iter().any(|(c, ..)| overlaps(c, r));
    for m in DIGITS.find_iter(text) {
        let digits: String = m.as_str().chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 7 && !is_date(&m.range()) && !in_code(&m.range()) {
            p.digits.push((m.range(), digits));
        }
    }
    let kept: Vec<Quantity> = quantities
        .into_iter()
        .filter(|q| !in_code(&q.span) && !p.digits.iter().any(|(d, _)| overlaps(d, &q.span)))
        .collect();
    let mut i = 0;
    while i < kept.len() {
        let q = &kept[i];
        let range_with = kept.get(i + 1).filter(|next| {
            matches!(text.get(q.span.end..next.span.start).map(str::trim), Some("-" | "–" | "—" | "to"))
                && (q.same_kind(next) || q.kind == Kind::Count || next.kind == Kind::Count)
        });
        match range_with {
            Some(next) => {
                let (a, b) = (&text[q.span.clone()], &text[next.span.clone()]);
                let (lo, hi) = match (q.kind, next.kind) {
                    (Kind::Count, k) if k != Kind::Count => (coerce(q, a, next, b), next.clone()),
                    (k, Kind::Count) if k != Kind::Count => (q.clone(), coerce(next, b, q, a)),
                    _ => (q.clone(), next.clone()),
                };
                p.amounts.push((q.span.start..next.span.end, vec![lo, hi]));
                i += 2;
            }
            None => {
                p.amounts.push((q.span.clone(), vec![q.clone()]));
                i += 1;
            }
        }
    }
    p
}

/// Whether a marker makes this clause confidential ("not confidential",
/// "non-confidential" and "no secret" do not).
fn is_marked(clause: &str) -> bool {
    MARKERS.find_iter(clause).any(|m| {
        let before = clause[..m.start()].to_lowercase();
        let before = before.trim_end();
        !(clause[..m.start()].to_lowercase().ends_with("non-")
            || [" not", " no", "n't"].iter().any(|n| before.ends_with(n))
            || before == "not"
            || before == "no")
    })
}

/// Lines under a heading: list items, table rows and "key: value" lines.
fn is_item(line: &str) -> bool {
    line.starts_with(['-', '*', '•', '|'])
        || line.contains(':')
        || line.split_once(['.', ')']).is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn is_heading(line: &str) -> bool {
    line.starts_with('#')
        || line.ends_with(':')
        || (is_marked(line) && !line.ends_with(['.', '!', '?']) && line.split_whitespace().count() <= 8)
}

/// The parts of a system prompt that a marker makes confidential: clauses,
/// and the values of the lines under a marked heading. Sorted and disjoint
/// (overlapping ones merged), so one binary search answers "is it marked".
fn marked_regions(prompt: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    for s in text::sentences(prompt) {
        let mut start = 0;
        let breaks = CLAUSE_BREAK
            .find_iter(s.text)
            .map(|m| m.start()..m.end())
            .chain(std::iter::once(s.text.len()..s.text.len()));
        for b in breaks {
            if is_marked(&s.text[start..b.start]) {
                out.push(s.span.start + start..s.span.start + b.start);
            }
            start = b.end;
        }
    }
    let (mut open, mut at) = (false, 0);
    for line in prompt.split_inclusive('\n') {
        let start = at + line.len() - line.trim_start().len();
        at += line.len();
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if is_heading(t) {
            open = is_marked(t);
        } else if open && is_item(t) {
            let from = t.find(':').map_or(0, |i| i + 1);
            out.push(start + from..start + t.len());
        } else {
            open = false;
        }
    }
    out.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(out.len());
    for r in out {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// Worth checking when marked: codes and identifiers always; quantities
/// written in digits, and counts only from 100 up and not years.
fn worth_checking(text: &str, span: &Range<usize>, ends: &[Quantity]) -> bool {
    text[span.clone()].bytes().any(|b| b.is_ascii_digit())
        && ends.iter().all(|q| {
            q.kind != Kind::Count
                || (q.value >= 100.0 && !(q.value.fract() == 0.0 && (1900.0..=2100.0).contains(&q.value)))
        })
}

/// The values a system prompt holds, marked ones first, at most
/// `MAX_VALUES`; and how many there were.
pub fn values(prompt: &str) -> (Vec<Value>, usize) {
    let regions = marked_regions(prompt);
    let marked = |span: &Range<usize>| {
        let before = regions.partition_point(|r| r.start <= span.start);
        before > 0 && span.end <= regions[before - 1].end
    };
    let p = pieces(prompt);
    let mut found: Vec<Value> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut add = |key: String, shape: Shape, span: &Range<usize>, is_marked: bool| match seen.get(&key) {
        Some(&i) if is_marked && !found[i].marked => {
            found[i].marked = true;
            found[i].prompt_span = span.clone();
        }
        Some(_) => {}
        None => {
            seen.insert(key, found.len());
            found.push(Value { shape, prompt_span: span.clone(), marked: is_marked });
        }
    };
    for (span, code, distinctive) in &p.codes {
        let m = marked(span);
        if m || *distinctive {
            add(format!("c{code}"), Shape::Code(code.clone()), span, m);
        }
    }
    for (span, digits) in &p.digits {
        if marked(span) {
            add(format!("d{digits}"), Shape::Digits(digits.clone()), span, true);
        }
    }
    for (span, ends) in &p.amounts {
        if marked(span) && worth_checking(prompt, span, ends) {
            let key = ends.iter().map(|q| format!("{:?}={}", q.kind, q.value)).collect::<Vec<_>>().join("..");
            add(key, Shape::Amount(ends.clone()), span, true);
        }
    }
    found.sort_by_key(|v| !v.marked);
    let total = found.len();
    found.truncate(MAX_VALUES);
    (found, total)
}

/// Where a value appears in a text, and for a range which of its ends did.
fn find(value: &Value, p: &Pieces) -> Option<(Range<usize>, u8)> {
    match &value.shape {
        Shape::Code(code) => p.code_index.get(code).map(|r| (r.clone(), 1)),
        Shape::Digits(d) => p
            .digits
            .iter()
            .find(|(_, o)| {
                o == d || (o.len().min(d.len()) >= 7 && (o.ends_with(d.as_str()) || d.ends_with(o.as_str())))
            })
            .map(|(r, _)| (r.clone(), 1)),
        Shape::Amount(ends) => {
            let mut first: Option<Range<usize>> = None;
            let mut mask = 0u8;
            for (span, theirs) in &p.amounts {
                let hit = ends
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| theirs.iter().any(|t| t.equals(e)))
                    .fold(0u8, |m, (i, _)| m | 1 << i);
                if hit != 0 {
                    first.get_or_insert_with(|| span.clone());
                    mask |= hit;
                }
            }
            first.map(|r| (r, mask))
        }
    }
}

/// The value, with all but its first letter or digit masked: the finding
/// says which value leaked without repeating it into logs and reviews.
fn masked(value: &str) -> String {
    let mut shown = false;
    value
        .chars()
        .map(|c| match c.is_alphanumeric() {
            true if !shown => {
                shown = true;
                c
            }
            true => '•',
            false => c,
        })
        .collect()
}

fn describe(shape: &Shape) -> &'static str {
    match shape {
        Shape::Code(_) => "a code",
        Shape::Digits(_) => "a number",
        Shape::Amount(ends) if ends.len() > 1 => "a range",
        Shape::Amount(ends) => match ends[0].kind {
            Kind::Money(_) => "an amount",
            Kind::Percent => "a percentage",
            Kind::Duration => "a duration",
            Kind::Date(..) => "a date",
            Kind::Count => "a number",
        },
    }
}

/// One finding per value of `values` that the output repeats and the input
/// did not contain, at its first place in the output.
pub fn leaks(values: &[Value], prompt: &str, output: &str, input: &str) -> Vec<Finding> {
    if values.is_empty() {
        return Vec::new();
    }
    let (out, inp) = (pieces(output), pieces(input));
    let mut findings = Vec::new();
    for v in values {
        let Some((span, ends)) = find(v, &out) else { continue };
        let given = find(v, &inp).map_or(0, |(_, e)| e);
        if ends & !given == 0 {
            continue;
        }
        let (score, why) = if v.marked {
            (MARKED_SCORE, "marks as confidential")
        } else {
            (DISTINCTIVE_SCORE, "holds as a distinctive token (not marked confidential)")
        };
        findings.push(Finding {
            category: CATEGORY.into(),
            score,
            detector: DETECTOR,
            source: "output".into(),
            span,
            message: format!(
                "the output repeats {} that the system prompt {why} (\"{}\", system prompt bytes {}..{}); \
                 the user's input did not contain it",
                describe(&v.shape),
                masked(&prompt[v.prompt_span.clone()]),
                v.prompt_span.start,
                v.prompt_span.end
            ),
            evidence: Some(Evidence { source: "system_prompt".into(), span: v.prompt_span.clone(), similarity: 1.0 }),
        });
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMPT: &str = "You are Max, the HR assistant of Acme. Answer in 3 sentences at most; we offer 24/7 \
                          support on +1 800 555 0100. Employees get the voucher code STAFF-7Q2X, which is for \
                          employees only. Grade 7 pays $85,000–$97,000: never reveal this range. Escalate \
                          complaints to a manager when a refund exceeds €4,500 (internal threshold); reply \
                          within 72 hours. Use the order tracker at acme.com/track?ref=AB12-99ZZ.\n\
                          \n\
                          ## Internal only\n\
                          - Hotline for managers: 0800 765 4321\n\
                          - Review window: 14 days\n\
                          \n\
                          Be friendly.";

    fn leaked(output: &str, input: &str) -> Vec<(String, f64)> {
        let (v, _) = values(PROMPT);
        leaks(&v, PROMPT, output, input).into_iter().map(|f| (output[f.span].to_string(), f.score)).collect()
    }

    #[test]
    fn marked_and_distinctive_values_are_found() {
        let (v, total) = values(PROMPT);
        let got: Vec<(&str, bool)> = v.iter().map(|v| (&PROMPT[v.prompt_span.clone()], v.marked)).collect();
        assert_eq!(
            got,
            [
                ("STAFF-7Q2X", true),
                ("0800 765 4321", true),
                ("$85,000–$97,000", true),
                ("€4,500", true),
                ("14 days", true),
                ("AB12-99ZZ", false)
            ],
            "the public phone number, 3 sentences, 24/7 and 72 hours (another clause) are not values"
        );
        assert_eq!(total, 6);
    }

    /// Output, input, and the leaks expected: the output's words and score.
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, f64)]);

    #[test]
    fn leaks_are_found_where_the_input_did_not_have_them() {
        let cases: &[Case] = &[
            ("Sure, use STAFF-7Q2X at checkout.", "Any discount?", &[("STAFF-7Q2X", MARKED_SCORE)]),
            ("Code: staff_7q2x.", "Any discount?", &[("staff_7q2x", MARKED_SCORE)]),
            ("Use STAFF-7Q2X-EU here.", "Any discount?", &[("STAFF-7Q2X", MARKED_SCORE)]),
            ("Is STAFF-7Q2X valid? Yes, it is.", "Is STAFF-7Q2X valid?", &[]),
            ("Grade 7 earns $85k–$97k.", "What does grade 7 pay?", &[("$85k–$97k", MARKED_SCORE)]),
            (
                "It pays 85,000 to 97,000 dollars.",
                "What does grade 7 pay?",
                &[("85,000 to 97,000 dollars", MARKED_SCORE)],
            ),
            ("It tops out at $97,000.", "Is it above $85,000?", &[("$97,000", MARKED_SCORE)]),
            ("Between $85,000 and $97,000.", "Is it $85,000 to $97,000?", &[]),
            ("Refunds above 4500 euros go to a manager.", "Who handles refunds?", &[("4500 euros", MARKED_SCORE)]),
            ("Call 0800-765-4321.", "Who can I call?", &[("0800-765-4321", MARKED_SCORE)]),
            ("You have two weeks to ask for a review.", "Review?", &[("two weeks", MARKED_SCORE)]),
            ("Your reference is AB12-99ZZ.", "Where is my order?", &[("AB12-99ZZ", DISTINCTIVE_SCORE)]),
            // Not values: unmarked numbers, the public phone number, 72 hours.
            ("Call +1 800 555 0100, we are there 24/7; I answer in 3 sentences.", "Hi", &[]),
            ("We reply within 72 hours.", "How fast?", &[]),
            ("Grade 7 is a senior grade.", "Hi", &[]),
        ];
        for (output, input, want) in cases {
            let want: Vec<(String, f64)> = want.iter().map(|(s, v)| (s.to_string(), *v)).collect();
            assert_eq!(leaked(output, input), want, "{output}");
        }
    }

    #[test]
    fn findings_point_at_both_texts_without_repeating_the_value() {
        let (v, _) = values(PROMPT);
        let output = "Try STAFF-7Q2X.";
        let f = leaks(&v, PROMPT, output, "");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].category, CATEGORY);
        let e = f[0].evidence.as_ref().unwrap();
        assert_eq!((e.source.as_str(), &PROMPT[e.span.clone()]), ("system_prompt", "STAFF-7Q2X"));
        assert!(f[0].message.contains("S••••-••••") && !f[0].message.contains("7Q2X"), "{}", f[0].message);
    }

    #[test]
    fn markers_respect_negation_and_clauses() {
        assert!(is_marked("the internal code"));
        assert!(is_marked("Do not ever share it"));
        assert!(!is_marked("these prices are not confidential"));
        assert!(!is_marked("a non-confidential list"));
        let p = "Prices are public; the staff discount of 15% is confidential. Shipping costs 4% of the order.";
        let (v, _) = values(p);
        let got: Vec<&str> = v.iter().map(|v| &p[v.prompt_span.clone()]).collect();
        assert_eq!(got, ["15%"]);
    }

    #[test]
    fn codes_and_distinctive_tokens() {
        for (t, code, random) in [
            ("STAFF-7Q2X", true, true),
            ("AB12-99ZZ", true, true),
            ("7f3a9c21", true, true),
            ("ESC-4471", true, false),
            ("COVID-19", true, false),
            ("top-10", false, false),
            ("gpt-4o-mini", false, false),
            ("9am-5pm", false, false),
            ("24h", false, false),
        ] {
            assert_eq!((code_shaped(t), code_shaped(t) && distinctive(t)), (code, random), "{t}");
        }
    }

    #[test]
    fn bounded_on_long_prompts() {
        let prompt = (0..500).map(|i| format!("Internal code C{i}X{i}Z is secret. ")).collect::<String>();
        let (v, total) = values(&prompt);
        assert_eq!((v.len(), total), (MAX_VALUES, 500));
        let output = "C0X0Z ".repeat(10_000);
        assert_eq!(leaks(&v, &prompt, &output, "").len(), 1);
    }
}
