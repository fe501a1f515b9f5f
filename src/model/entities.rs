//! The entity head: per-token BIO probabilities become spans of names,
//! places, addresses and organisations in the original text.
//!
//! Everything here mirrors `models/train/ner/common.py`, which produced the
//! parity fixture (`tests/fixtures/models/entities_reference.jsonl`):
//!
//! - [`token_case`]: the casing of a token's original text, fed to a model
//!   with a `token_case` input (the vocabulary is lower case, so the encoder
//!   would otherwise never see that "Rose" is capitalised);
//! - [`stitch`]: one row of probabilities per token of the text, taken from
//!   the window that sees it with the most context (overlapping windows split
//!   their overlap in the middle), so a name is decoded once even when two
//!   windows read it;
//! - [`Decoder::decode`]: BIO tags to spans, widened to whole words, scored
//!   by the mean probability of their category and kept at the manifest's
//!   threshold.
//!
//! All pure functions of numbers and offsets; the windows, the encoder and
//! the cache are in the rest of `model/`.

use std::collections::BTreeMap;
use std::ops::Range;

pub use super::window::TextTokens;

/// Entity codes of the manifest's `entity_labels` and the finding categories
/// they become.
pub const CATEGORIES: [(&str, &str); 5] = [
    ("PER", "pii.person"),
    ("LOC", "pii.location"),
    ("ADDR", "pii.address"),
    ("ORG", "pii.organization"),
    ("DOB", "pii.date_of_birth"),
];

const ORGANIZATION: &str = "pii.organization";

/// A span's threshold when the manifest gives its category none (as the
/// Python decoder).
pub const DEFAULT_THRESHOLD: f32 = 0.5;

/// One entity found in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    /// `pii.person`, `pii.location`, `pii.address`, `pii.organization`, ...
    pub category: &'static str,
    /// UTF-8 byte span in the text.
    pub span: Range<usize>,
    /// Mean over the span's tokens of P(X) = P(B-X) + P(I-X).
    pub score: f32,
}

/// The casing of one token's original text:
/// 0 no cased letter (digits, punctuation, CJK; also `[CLS]`, `[SEP]`,
/// padding), 1 lower case, 2 Capitalised (one capital, the first cased
/// letter; a lone capital too), 3 ALL CAPS (two or more capitals, no lower
/// case), 4 mixed ("McDonald", "iPhone").
pub fn token_case(s: &str) -> i64 {
    let (mut up, mut lo, mut first_upper) = (0usize, 0usize, None);
    for c in s.chars() {
        if c.is_uppercase() {
            up += 1;
            first_upper.get_or_insert(true);
        } else if c.is_lowercase() {
            lo += 1;
            first_upper.get_or_insert(false);
        }
    }
    match (up, lo) {
        (0, 0) => 0,
        (0, _) => 1,
        (1, 0) => 2,
        (_, 0) => 3,
        (1, _) if first_upper == Some(true) => 2,
        _ => 4,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Outside,
    Begin(usize),
    Inside(usize),
}

/// One category the head tags: where its labels are in a row.
#[derive(Debug, Clone, Copy)]
struct Column {
    /// Index into [`CATEGORIES`].
    category: usize,
    begin: usize,
    inside: usize,
    threshold: f32,
}

/// The manifest's label list and thresholds, checked at load.
#[derive(Debug, Clone)]
pub struct Decoder {
    /// Labels per token.
    width: usize,
    /// Index of `O` in a row.
    outside: usize,
    /// The categories in the order their `B-` labels appear (ties in the
    /// argmax go to the earlier one).
    columns: Vec<Column>,
}

impl Decoder {
    /// `labels` as the manifest's `entity_labels` (`O`, `B-PER`, `I-PER`,
    /// ...); `thresholds` keyed by code (`PER`) or category (`pii.person`).
    pub fn new(labels: &[String], thresholds: &BTreeMap<String, f32>) -> Result<Self, String> {
        let code = |c: &str| {
            CATEGORIES.iter().position(|(code, _)| *code == c).ok_or_else(|| {
                format!("manifest.json: entity label code {c:?} is not one of {:?}", CATEGORIES.map(|(code, _)| code))
            })
        };
        let mut tags = Vec::with_capacity(labels.len());
        for l in labels {
            tags.push(match l.split_once('-') {
                None if l == "O" => Tag::Outside,
                Some(("B", c)) => Tag::Begin(code(c)?),
                Some(("I", c)) => Tag::Inside(code(c)?),
                _ => return Err(format!("manifest.json: entity label {l:?} is not O, B-<code> or I-<code>")),
            });
        }
        let outside = match tags.iter().filter(|t| **t == Tag::Outside).count() {
            1 => tags.iter().position(|t| *t == Tag::Outside).expect("counted"),
            _ => return Err("manifest.json: entity_labels must hold \"O\" once".into()),
        };
        let mut by_category = BTreeMap::new();
        for (key, &t) in thresholds {
            let c = CATEGORIES
                .iter()
                .position(|(code, category)| key == code || key == category)
                .ok_or_else(|| format!("manifest.json: thresholds.entities has unknown category {key:?}"))?;
            if !(0.0..=1.0).contains(&t) {
                return Err(format!("manifest.json: thresholds.entities.{key} must be within [0, 1], is {t}"));
            }
            by_category.insert(c, t);
        }
        let mut columns: Vec<Column> = Vec::new();
        for (i, t) in tags.iter().enumerate() {
            if let Tag::Begin(c) = *t {
                if columns.iter().any(|col| col.category == c) {
                    return Err(format!("manifest.json: entity label {} appears twice", labels[i]));
                }
                let inside = tags.iter().position(|u| *u == Tag::Inside(c));
                let inside =
                    inside.ok_or_else(|| format!("manifest.json: entity label {} has no I- label", labels[i]))?;
                let threshold = by_category.get(&c).copied().unwrap_or(DEFAULT_THRESHOLD);
                columns.push(Column { category: c, begin: i, inside, threshold });
            }
        }
        if tags.iter().any(|t| matches!(t, Tag::Inside(c) if !columns.iter().any(|col| col.category == *c))) {
            return Err("manifest.json: an I- entity label has no B- label".into());
        }
        Ok(Self { width: labels.len(), outside, columns })
    }

    /// Labels per token (the width of a row of probabilities).
    pub fn width(&self) -> usize {
        self.width
    }

    /// The finding categories this model can report.
    pub fn categories(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.columns.iter().map(|c| CATEGORIES[c.category].1)
    }

    /// Decodes `probs` (one row of [`Decoder::width`] per token, already
    /// stitched across windows) into byte spans of the text, as the
    /// manifest's `entities.decoding` says:
    ///
    /// 1. P(X) = P(B-X) + P(I-X); a token's category is the most probable of
    ///    `O` and each X (the first on ties).
    /// 2. `O` closes the open span. X extends the open span when it is X and
    ///    the token continues a word (`##`) or P(I-X) >= P(B-X); otherwise X
    ///    opens a new span.
    /// 3. A span is widened to whole words, then loses its leading tokens
    ///    without a letter or digit (a quote, an emoji), and is dropped if
    ///    none is left.
    /// 4. Its score is the mean of P(X) over its tokens; it is kept at or
    ///    above X's threshold, unless it starts before the end of the last
    ///    span kept (widening can make neighbours overlap).
    ///
    /// 5. Company-name grammar over the spans kept, at the ORG threshold
    ///    ([`organisations`]), when the head tags organisations.
    ///
    /// Only the tokens `probs` covers are decoded (a text cut short by the
    /// window budget ends where its last window does). `text` is what
    /// `tokens` were cut from.
    pub fn decode(&self, probs: &[f32], tokens: &TextTokens, text: &str) -> Vec<Entity> {
        let width = self.width;
        let n =
            tokens.offsets.len().min(tokens.continues.len()).min(tokens.alnum.len()).min(probs.len() / width.max(1));
        let row = |i: usize| &probs[i * width..(i + 1) * width];
        let p = |i: usize, col: &Column| row(i)[col.begin] + row(i)[col.inside];
        // (column, first token, last token)
        let mut spans: Vec<(usize, usize, usize)> = Vec::new();
        let mut open: Option<(usize, usize, usize)> = None;
        for i in 0..n {
            let r = row(i);
            let mut best: Option<usize> = None;
            let mut best_p = r[self.outside];
            for (k, col) in self.columns.iter().enumerate() {
                let pk = p(i, col);
                if pk > best_p {
                    (best, best_p) = (Some(k), pk);
                }
            }
            let Some(k) = best else {
                spans.extend(open.take());
                continue;
            };
            let col = &self.columns[k];
            match &mut open {
                Some((open_k, _, end)) if *open_k == k && (tokens.continues[i] || r[col.inside] >= r[col.begin]) => {
                    *end = i
                }
                _ => {
                    spans.extend(open.take());
                    open = Some((k, i, i));
                }
            }
        }
        spans.extend(open);
        let mut out: Vec<Entity> = Vec::new();
        let mut last_end = None;
        for (k, mut a, mut b) in spans {
            while a > 0 && tokens.continues[a] {
                a -= 1;
            }
            while b + 1 < n && tokens.continues[b + 1] {
                b += 1;
            }
            while a <= b && !tokens.alnum[a] {
                a += 1;
            }
            if a > b {
                continue;
            }
            let col = &self.columns[k];
            let sum: f64 = (a..=b).map(|i| f64::from(p(i, col))).sum();
            let score = (sum / (b - a + 1) as f64) as f32;
            let span = tokens.offsets[a].start..tokens.offsets[b].end;
            if score < col.threshold || last_end.is_some_and(|end| span.start < end) {
                continue;
            }
            last_end = Some(span.end);
            out.push(Entity { category: CATEGORIES[col.category].1, span, score });
        }
        match self.columns.iter().find(|c| CATEGORIES[c.category].1 == ORGANIZATION) {
            Some(org) => organisations(text, out, org.threshold),
            None => out,
        }
    }
}

/// Legal forms: a capitalised name before one of these is a company, with or
/// without a span of the head.
#[rustfmt::skip]
const LEGAL_FORMS: &[&str] = &[
    "Inc", "Inc.", "Incorporated", "Corp", "Corp.", "Corporation", "Co.", "LLC", "L.L.C.", "LLP", "Ltd", "Ltd.",
    "Limited", "PLC", "plc", "GmbH", "AG", "KGaA", "S.A.", "S.L.", "SARL", "S.A.R.L.", "S.A.S.", "S.p.A.", "SpA",
    "S.r.l.", "Srl", "B.V.", "N.V.", "Pty", "Oy", "Oyj", "A/S", "ApS", "ASA",
];

/// Words that close an organisation's name when they follow a span of the
/// head ("Kilkenny" + "Foundation").
#[rustfmt::skip]
const ORG_HEADS: &[&str] = &[
    "Group", "Holdings", "Partners", "Associates", "Company", "Foundation", "Institute", "University", "College",
    "Hospital", "Council", "Bank", "Agency", "Authority", "Association", "Society", "Trust", "Club", "Library",
    "Museum", "Systems", "Solutions", "Technologies", "Consulting", "Logistics", "Industries", "Enterprises",
    "Ventures", "Capital", "Labs",
];

/// After `" & "` or `" and "`: "Smith & Sons", "Jones and Partners".
const AMP_HEADS: &[&str] = &["Sons", "Co.", "Co", "Partners", "Associates", "Company"];

/// Words an organisation's name does not consist of alone (with no "of" or
/// "for" between them): titles, departments, roles in a contract (compared
/// in lower case).
#[rustfmt::skip]
const NOT_ORG_WORDS: &[&str] = &[
    "chief", "senior", "junior", "head", "lead", "principal", "vice", "deputy", "assistant", "associate",
    "executive", "general", "regional", "global", "software", "marketing", "sales", "product", "project", "data",
    "financial", "finance", "operations", "technical", "creative", "account", "accounts", "business", "customer",
    "human", "resources", "quality", "assurance", "support", "relations", "development", "engineering", "legal",
    "procurement", "accounting", "compliance", "security", "it", "hr", "research", "information", "technology",
    "president", "director", "manager", "officer", "engineer", "supplier", "client", "buyer", "seller", "vendor",
    "purchaser", "contractor", "licensor", "licensee", "lessor", "lessee", "tenant", "landlord", "company",
    "employer", "employee", "party", "parties", "board", "team", "department", "management", "staff", "nda",
];

/// A span of one of these alone names nothing.
const JOINING_WORDS: &[&str] = &["of", "for", "and", "the", "&"];

/// A word right after an ORG span that makes the span part of a job title
/// ("Software" in "Senior Software Engineer").
#[rustfmt::skip]
const JOB_NOUNS: &[&str] = &[
    "Engineer", "Officer", "Manager", "Director", "Developer", "Analyst", "Designer", "Consultant", "Specialist",
    "Coordinator", "Administrator", "Architect", "Technician", "Executive", "President", "Accountant", "Scientist",
    "Editor", "Representative", "Adviser", "Advisor", "Supervisor", "Assistant", "Intern", "Controller",
    "Strategist", "Recruiter", "Planner",
];

/// Words that join the parts of a name ("University of" + "Toronto").
const CONNECTORS: &[&str] = &["of", "for", "de", "du", "des", "der", "di", "del"];

/// Closing punctuation a word's core does not end with.
const CLOSERS: &[char] = &[',', ';', ':', '!', '?', ')', ']', '}', '"', '\'', '’'];

/// The word starting at byte `i`: where its core ends and the core (the word
/// without closing punctuation or a possessive 's).
fn word_at(text: &str, i: usize) -> (usize, &str) {
    let rest = &text[i..];
    let raw = &rest[..rest.find(char::is_whitespace).unwrap_or(rest.len())];
    let core = raw.strip_suffix("'s").or_else(|| raw.strip_suffix("’s")).unwrap_or(raw);
    let core = core.trim_end_matches(CLOSERS);
    (i + core.len(), core)
}

/// Bytes of `core` that are one of `words` (itself, or without a final full
/// stop), or 0.
fn listed(core: &str, words: &[&str]) -> usize {
    if words.contains(&core) {
        return core.len();
    }
    match core.strip_suffix('.') {
        Some(c) if words.contains(&c) => c.len(),
        _ => 0,
    }
}

/// Where a legal form, a closing word or "& Sons" right after byte `end`
/// ends, if one is there.
fn suffix_after(text: &str, end: usize) -> Option<usize> {
    let rest = &text[end..];
    let legal_or_head = |core: &str| listed(core, LEGAL_FORMS).max(listed(core, ORG_HEADS));
    let tries: [(&str, &dyn Fn(&str) -> usize); 4] = [
        (" ", &legal_or_head),
        (", ", &|core| listed(core, LEGAL_FORMS)),
        (" & ", &|core| listed(core, AMP_HEADS)),
        (" and ", &|core| listed(core, AMP_HEADS)),
    ];
    tries.iter().find_map(|(lead, fits)| {
        let k = end + lead.len();
        if !rest.starts_with(lead) {
            return None;
        }
        Some(k + fits(word_at(text, k).1)).filter(|&e| e > k)
    })
}

/// The cores of the words that start within `span`.
fn words_in<'t>(text: &'t str, span: &Range<usize>) -> Vec<&'t str> {
    let mut out = Vec::new();
    let mut chars = text[span.clone()].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        out.push(word_at(text, span.start + i).1);
        while chars.next_if(|(_, c)| !c.is_whitespace()).is_some() {}
    }
    out
}

/// A span while the grammar works on it.
struct Part {
    category: &'static str,
    span: Range<usize>,
    score: f32,
    /// Made or widened by a legal form or closing word: an organisation for
    /// certain.
    by_rule: bool,
}

/// Company-name grammar over the spans one text's decoding kept (in order,
/// not overlapping), for what the head misses about how company names are
/// written (issue #22; `models/train/ner/common.py` `organisations` is the
/// reference and `models/cards/entities.md` measures it). It only makes,
/// widens, joins or drops organisations: a person, place or address span is
/// never changed or taken in.
///
/// 1. an organisation followed by a legal form ("Ltd", "GmbH", after a
///    space or ", "), a closing word ("Group", "Foundation", after a space)
///    or "& Sons" takes it in (up to three times: "Acme Group Ltd"), unless
///    that would reach into a span of another category (an organisation
///    reached is taken in);
/// 2. a legal form outside every span, after one to three capitalised words
///    joined by single spaces, makes those words and the form an
///    organisation, scored at the ORG threshold;
/// 3. two organisations one space apart (the first ending on a letter or
///    digit) become one, scored as the higher ("Bank of" + "America");
/// 4. an organisation the rules above did not make is dropped when all its
///    words are titles, departments or contract roles ("Department of"
///    stays), when it is one joining word ("of", "the"), or when a job noun
///    follows it ("Software" in "Software Engineer").
pub fn organisations(text: &str, found: Vec<Entity>, org_threshold: f32) -> Vec<Entity> {
    let parts: Vec<Part> = found
        .into_iter()
        .map(|e| Part { category: e.category, span: e.span, score: e.score, by_rule: false })
        .collect();
    // 1
    let mut kept: Vec<Part> = Vec::with_capacity(parts.len());
    for k in 0..parts.len() {
        if kept.last().is_some_and(|last| parts[k].span.start < last.span.end) {
            continue; // taken in by the organisation before it
        }
        let mut p = Part { span: parts[k].span.clone(), ..parts[k] };
        if p.category == ORGANIZATION {
            for _ in 0..3 {
                let from = p.span.end;
                let Some(end) = suffix_after(text, from) else { break };
                let reached: Vec<&Part> =
                    parts[k + 1..].iter().filter(|q| q.span.start >= from && q.span.start < end).collect();
                if reached.iter().any(|q| q.category != ORGANIZATION) {
                    break;
                }
                let reach = reached.iter().map(|q| q.span.end).max().unwrap_or(end);
                (p.span.end, p.by_rule) = (end.max(reach), true);
            }
        }
        kept.push(p);
    }
    let mut parts = kept;
    // 2
    let overlaps = |parts: &[Part], a: usize, b: usize| parts.iter().any(|p| p.span.start < b && a < p.span.end);
    let mut i = 0;
    while i < text.len() {
        let c = text[i..].chars().next().expect("within the text");
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        let (_, core) = word_at(text, i);
        let n = listed(core, LEGAL_FORMS);
        if n > 0 && !overlaps(&parts, i, i + n) {
            let (mut start, mut k) = (None, i);
            for _ in 0..3 {
                let before = &text[..k];
                let Some(head) = before.strip_suffix(' ') else { break };
                if head.chars().next_back().is_none_or(char::is_whitespace) {
                    break;
                }
                let p = head
                    .rfind(char::is_whitespace)
                    .map_or(0, |q| q + head[q..].chars().next().map_or(1, char::len_utf8));
                let w = &head[p..];
                if !w.chars().next().is_some_and(char::is_uppercase)
                    || overlaps(&parts, p, head.len())
                    || w.ends_with(CLOSERS)
                {
                    break;
                }
                (start, k) = (Some(p), p);
            }
            if let Some(start) = start {
                let at = parts.partition_point(|q| q.span.start < start);
                let span = start..i + n;
                parts.insert(at, Part { category: ORGANIZATION, span, score: org_threshold, by_rule: true });
            }
        }
        i += text[i..].find(char::is_whitespace).unwrap_or(text.len() - i);
    }
    // 3
    let mut joined: Vec<Part> = Vec::with_capacity(parts.len());
    for p in parts {
        if let Some(prev) = joined.last_mut() {
            if prev.category == ORGANIZATION
                && p.category == ORGANIZATION
                && text.get(prev.span.end..p.span.start) == Some(" ")
                && text[..prev.span.end].chars().next_back().is_some_and(char::is_alphanumeric)
            {
                prev.span.end = p.span.end;
                prev.score = prev.score.max(p.score);
                prev.by_rule |= p.by_rule;
                continue;
            }
        }
        joined.push(p);
    }
    // 4
    joined
        .into_iter()
        .filter(|p| {
            if p.category != ORGANIZATION || p.by_rule {
                return true;
            }
            let words = words_in(text, &p.span);
            let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
            if !words.is_empty()
                && lower.iter().all(|w| NOT_ORG_WORDS.contains(&w.as_str()))
                && !words.iter().any(|w| CONNECTORS.contains(w))
            {
                return false;
            }
            if let [one] = lower.as_slice() {
                if JOINING_WORDS.contains(&one.as_str()) {
                    return false;
                }
            }
            let job = text[p.span.end..]
                .strip_prefix(' ')
                .is_some_and(|_| listed(word_at(text, p.span.end + 1).1, JOB_NOUNS) > 0);
            !job
        })
        .map(|p| Entity { category: p.category, span: p.span, score: p.score })
        .collect()
}

/// One window's place among the text's content tokens and its probabilities
/// (one row per content token, `[CLS]`/`[SEP]` excluded).
#[derive(Debug, Clone, Copy)]
pub struct WindowProbs<'a> {
    pub first_token: usize,
    pub probs: &'a [f32],
}

/// One row per token from the first token to the end of the last window:
/// each token's row comes from the first window that holds it, unless the
/// next window holds it too and it lies at or past the middle of their
/// overlap (`half_overlap` tokens into the next window), where the next
/// window has seen more of what follows. Windows are in text order.
pub fn stitch(windows: &[WindowProbs<'_>], width: usize, half_overlap: usize) -> Vec<f32> {
    let mut out = Vec::new();
    let mut next_token = 0;
    for (w, win) in windows.iter().enumerate() {
        let len = win.probs.len() / width.max(1);
        let end = win.first_token + len;
        let own_end = match windows.get(w + 1) {
            Some(next) => (next.first_token + half_overlap).min(end),
            None => end,
        };
        if own_end <= next_token {
            continue;
        }
        let from = next_token.max(win.first_token) - win.first_token;
        out.extend_from_slice(&win.probs[from * width..(own_end - win.first_token) * width]);
        next_token = own_end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ADDR", "I-ADDR", "B-ORG", "I-ORG"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn decoder(thresholds: &[(&str, f32)]) -> Decoder {
        Decoder::new(&labels(), &thresholds.iter().map(|(k, v)| (k.to_string(), *v)).collect()).unwrap()
    }

    /// A row that puts `p` on `label` and the rest on `O`.
    fn row(label: &str, p: f32) -> Vec<f32> {
        let mut r = vec![0.0; 9];
        let i = labels().iter().position(|l| l == label).unwrap();
        r[0] = 1.0 - p;
        r[i] += p;
        r
    }

    /// A row from (label, probability) pairs.
    fn mix(parts: &[(&str, f32)]) -> Vec<f32> {
        let mut r = vec![0.0; 9];
        for (label, p) in parts {
            r[labels().iter().position(|l| l == label).unwrap()] = *p;
        }
        r
    }

    /// Tokens of a text split on spaces, `##` pieces written `##x`: the text
    /// the words make and its tokens.
    fn tokens(words: &[&str]) -> (String, TextTokens) {
        let (mut text, mut t) = (String::new(), TextTokens::default());
        for w in words {
            let piece = w.strip_prefix("##");
            if piece.is_none() && !text.is_empty() {
                text.push(' ');
            }
            let p = piece.unwrap_or(w);
            t.offsets.push(text.len()..text.len() + p.len());
            t.continues.push(piece.is_some());
            t.alnum.push(p.chars().any(char::is_alphanumeric));
            text.push_str(p);
        }
        (text, t)
    }

    #[test]
    fn token_case_as_the_python_reference_defines_it() {
        let table = [
            ("", 0),
            ("1984", 0),
            ("—", 0),
            ("東京", 0),
            ("maria", 1),
            ("Maria", 2),
            ("I", 2),
            ("A", 2),
            ("NASA", 3),
            ("McDonald", 4),
            ("iPhone", 4),
            ("eBay", 4),
            ("Émile", 2),
            ("ÉCOLE", 3),
            ("straße", 1),
            ("O'Brien", 4),
            ("x2", 1),
        ];
        for (s, want) in table {
            assert_eq!(token_case(s), want, "{s:?}");
        }
    }

    #[test]
    fn bio_tags_become_whole_word_spans_with_their_scores() {
        let d = decoder(&[("PER", 0.6), ("pii.location", 0.5)]);
        let (text, t) = tokens(&["Please", "email", "Maria", "Schnei", "##der", "in", "Berlin"]);
        let rows = [
            row("O", 0.99),
            row("O", 0.99),
            row("B-PER", 0.9),
            row("I-PER", 0.8),
            // A word piece whose B- outweighs its I-: it continues the word.
            row("B-PER", 0.7),
            row("O", 0.9),
            row("B-LOC", 0.95),
        ];
        let found = d.decode(&rows.concat(), &t, &text);
        let got: Vec<(&str, &str, f32)> =
            found.iter().map(|e| (e.category, &text[e.span.clone()], (e.score * 100.0).round() / 100.0)).collect();
        assert_eq!(got, vec![("pii.person", "Maria Schneider", 0.8), ("pii.location", "Berlin", 0.95)]);
    }

    #[test]
    fn decoding_edge_cases() {
        let d = decoder(&[]);
        let per = |p| row("B-PER", p);
        let iper = |p| row("I-PER", p);
        let org = |p| row("B-ORG", p);
        let o = || row("O", 0.99);
        type Case<'a> = (&'a [&'a str], Vec<Vec<f32>>, &'a [(&'a str, &'a str)]);
        let table: Vec<Case> = vec![
            // Nothing.
            (&["hello", "world"], vec![o(), o()], &[]),
            (&[], vec![], &[]),
            // B B: two names, not one.
            (&["Anna", "Bob"], vec![per(0.9), per(0.9)], &[("pii.person", "Anna"), ("pii.person", "Bob")]),
            // I at least as likely as B continues the name; B above I starts a new one.
            (
                &["John", "Smith"],
                vec![per(0.9), mix(&[("B-PER", 0.45), ("I-PER", 0.45), ("O", 0.1)])],
                &[("pii.person", "John Smith")],
            ),
            (
                &["John", "Smith"],
                vec![per(0.9), mix(&[("B-PER", 0.5), ("I-PER", 0.45), ("O", 0.05)])],
                &[("pii.person", "John"), ("pii.person", "Smith")],
            ),
            // The category is P(B-X) + P(I-X): split between B and I, it still
            // beats O.
            (&["Lee"], vec![mix(&[("B-PER", 0.35), ("I-PER", 0.3), ("O", 0.35)])], &[("pii.person", "Lee")]),
            // An I- without a B- opens a span.
            (&["the", "Smith"], vec![o(), iper(0.9)], &[("pii.person", "Smith")]),
            // A change of category splits.
            (
                &["Anna", "Berlin"],
                vec![per(0.9), row("I-LOC", 0.9)],
                &[("pii.person", "Anna"), ("pii.location", "Berlin")],
            ),
            // A span starting on a word piece takes the whole word.
            (
                &["Schnei", "##der"],
                vec![mix(&[("O", 0.55), ("B-PER", 0.45)]), per(0.9)],
                &[("pii.person", "Schneider")],
            ),
            // Below the default threshold of 0.5: dropped.
            (&["Anna", "Lee"], vec![per(0.9), iper(0.05)], &[("pii.person", "Anna")]),
            (&["Anna", "Lee"], vec![per(0.3), iper(0.3)], &[]),
            (
                &["Acme", "and", "Anna"],
                vec![org(0.9), o(), per(0.9)],
                &[("pii.organization", "Acme"), ("pii.person", "Anna")],
            ),
            // Leading tokens without a letter or digit are trimmed (trailing
            // ones are kept); a span of nothing else is dropped.
            (&["(", "Maria", ")"], vec![per(0.9), iper(0.9), iper(0.9)], &[("pii.person", "Maria )")]),
            (&["🎉", "Fatima"], vec![per(0.9), per(0.9)], &[("pii.person", "Fatima")]),
            (&["🎉", "hi"], vec![per(0.9), o()], &[]),
        ];
        for (words, rows, want) in table {
            let (text, t) = tokens(words);
            let found = d.decode(&rows.concat(), &t, &text);
            let got: Vec<(&str, &str)> = found.iter().map(|e| (e.category, &text[e.span.clone()])).collect();
            assert_eq!(got, want.to_vec(), "{words:?}");
        }
    }

    /// The company-name grammar, rule by rule: spans in (category code,
    /// text, score), spans out, as the Python reference
    /// (`models/train/ner/common.py` `organisations`) gives them.
    #[test]
    fn company_name_grammar() {
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str, f32)], &'a [(&'a str, &'a str)]);
        let table: &[Case] = &[
            // 1: a legal form or a closing word after an organisation.
            ("from Acme, Inc. today", &[("ORG", "Acme", 0.9)], &[("ORG", "Acme, Inc.")]),
            ("at Keystone Group Ltd.", &[("ORG", "Keystone", 0.9)], &[("ORG", "Keystone Group Ltd.")]),
            ("Ask Smith & Sons's team", &[("ORG", "Smith", 0.9)], &[("ORG", "Smith & Sons")]),
            ("Ask Jones and Partners.", &[("ORG", "Jones", 0.9)], &[("ORG", "Jones and Partners")]),
            // An organisation reached is taken in; a place is not.
            (
                "Northwind Pty Ltd",
                &[("ORG", "Northwind", 0.9), ("ORG", "Pty", 0.8), ("LOC", "Ltd", 0.7)],
                &[("ORG", "Northwind Pty"), ("LOC", "Ltd")],
            ),
            // Persons and places are never changed.
            ("Radhakrishnan PLC sent it.", &[("PER", "Radhakrishnan", 0.9)], &[("PER", "Radhakrishnan")]),
            ("with Yorulmaz Şensoy Ltd!", &[("PER", "Yorulmaz Şensoy Ltd", 0.9)], &[("PER", "Yorulmaz Şensoy Ltd")]),
            (
                "University of Toronto",
                &[("ORG", "University of", 0.8), ("LOC", "Toronto", 0.9)],
                &[("ORG", "University of"), ("LOC", "Toronto")],
            ),
            ("report to Jane Doe.", &[("PER", "Jane", 0.9), ("ORG", "Doe", 0.95)], &[("PER", "Jane"), ("ORG", "Doe")]),
            // 2: a legal form after capitalised words, no span.
            ("Thanks for choosing Hedigan LLC!", &[], &[("ORG", "Hedigan LLC")]),
            ("the Blue River Trading GmbH deal", &[], &[("ORG", "Blue River Trading GmbH")]),
            ("our llc is small", &[], &[]),
            ("LLC", &[], &[]),
            ("see: Inc.", &[], &[]),
            ("Hi, Acme Ltd", &[], &[("ORG", "Acme Ltd")]),
            // The words before a legal form stop at a span.
            ("Mary Ann Ltd", &[("PER", "Mary", 0.9)], &[("PER", "Mary"), ("ORG", "Ann Ltd")]),
            // 3: two organisations one space apart.
            ("Bank of America", &[("ORG", "Bank of", 0.8), ("ORG", "America", 0.9)], &[("ORG", "Bank of America")]),
            (
                "Acme / Globex",
                &[("ORG", "Acme /", 0.8), ("ORG", "Globex", 0.9)],
                &[("ORG", "Acme /"), ("ORG", "Globex")],
            ),
            ("Anna, Acme", &[("PER", "Anna", 0.9), ("ORG", "Acme", 0.9)], &[("PER", "Anna"), ("ORG", "Acme")]),
            ("Paris Berlin", &[("LOC", "Paris", 0.9), ("LOC", "Berlin", 0.9)], &[("LOC", "Paris"), ("LOC", "Berlin")]),
            // 4: titles, departments, roles, job nouns.
            ("a Senior Software Engineer", &[("ORG", "Software", 0.9)], &[]),
            ("The Quality Assurance team", &[("ORG", "Quality Assurance", 0.9)], &[]),
            ("(the Supplier)", &[("ORG", "Supplier)", 0.9)], &[]),
            ("the Acme Engineer", &[("ORG", "Acme Engineer", 0.9)], &[("ORG", "Acme Engineer")]),
            ("Acme Ltd Manager", &[("ORG", "Acme", 0.9)], &[("ORG", "Acme Ltd")]),
            ("of", &[("ORG", "of", 0.9)], &[]),
            ("the Department of", &[("ORG", "Department of", 0.9)], &[("ORG", "Department of")]),
            ("Human Resources", &[("ORG", "Human Resources", 0.9)], &[]),
        ];
        let category = |code: &str| CATEGORIES.iter().find(|(c, _)| *c == code).unwrap().1;
        for (text, spans, want) in table {
            let mut from = 0;
            let found: Vec<Entity> = spans
                .iter()
                .map(|(code, s, score)| {
                    let start = from + text[from..].find(s).unwrap();
                    from = start + s.len();
                    Entity { category: category(code), span: start..start + s.len(), score: *score }
                })
                .collect();
            let got: Vec<(&str, &str)> =
                organisations(text, found, 0.6).into_iter().map(|e| (e.category, &text[e.span])).collect();
            let want: Vec<(&str, &str)> = want.iter().map(|(code, s)| (category(code), *s)).collect();
            assert_eq!(got, want, "{text:?}");
        }
        // Scores: a merge keeps the higher, a span made by rule 2 the threshold.
        let text = "Bank of America and Hedigan LLC";
        let found = vec![
            Entity { category: ORGANIZATION, span: 0..7, score: 0.7 },
            Entity { category: ORGANIZATION, span: 8..15, score: 0.9 },
        ];
        let scores: Vec<f32> = organisations(text, found, 0.6).iter().map(|e| e.score).collect();
        assert_eq!(scores, [0.9, 0.6]);
    }

    /// Widening can make spans overlap: the first is kept.
    #[test]
    fn overlapping_spans_after_widening_keep_the_first() {
        let d = decoder(&[("PER", 0.1)]);
        let (text, t) = tokens(&["Ac", "##me", "##x"]);
        // ORG on "Ac", O (barely) on "me", PER (barely) on "x": two spans,
        // both widened to "Acmex".
        let rows = [
            row("B-ORG", 0.9),
            mix(&[("O", 0.55), ("I-ORG", 0.45)]),
            mix(&[("O", 0.05), ("B-PER", 0.5), ("I-ORG", 0.45)]),
        ];
        let found = d.decode(&rows.concat(), &t, &text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].category, &text[found[0].span.clone()]), ("pii.organization", "Acmex"));
        assert!((found[0].score - 0.6).abs() < 1e-6);
    }

    #[test]
    fn ties_go_to_the_first() {
        let d = decoder(&[("PER", 0.1), ("LOC", 0.1)]);
        let (text, t) = tokens(&["x"]);
        assert!(d.decode(&mix(&[("O", 0.5), ("B-PER", 0.5)]), &t, &text).is_empty(), "O wins a tie");
        let found = d.decode(&mix(&[("O", 0.2), ("B-PER", 0.4), ("B-LOC", 0.4)]), &t, &text);
        assert_eq!(found[0].category, "pii.person", "PER comes before LOC in the labels");
    }

    /// Rows beyond the tokens, or tokens beyond the rows (a text cut short):
    /// only what both cover is decoded.
    #[test]
    fn only_tokens_with_rows_are_decoded() {
        let d = decoder(&[]);
        let (text, t) = tokens(&["Anna", "Lee", "Bob"]);
        let found = d.decode(&[per(0.9), row("I-PER", 0.9)].concat(), &t, &text);
        assert_eq!(found.iter().map(|e| &text[e.span.clone()]).collect::<Vec<_>>(), ["Anna Lee"]);
        fn per(p: f32) -> Vec<f32> {
            row("B-PER", p)
        }
    }

    #[test]
    fn bad_label_lists_and_thresholds_are_refused() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let none = BTreeMap::new();
        assert!(Decoder::new(&s(&["B-PER", "I-PER"]), &none).unwrap_err().contains("\"O\""));
        assert!(Decoder::new(&s(&["O", "B-XYZ", "I-XYZ"]), &none).unwrap_err().contains("XYZ"));
        assert!(Decoder::new(&s(&["O", "B-PER"]), &none).unwrap_err().contains("no I-"));
        assert!(Decoder::new(&s(&["O", "I-PER"]), &none).unwrap_err().contains("no B-"));
        assert!(Decoder::new(&s(&["O", "PER"]), &none).is_err());
        let bad = BTreeMap::from([("pii.pets".to_string(), 0.5)]);
        assert!(Decoder::new(&labels(), &bad).unwrap_err().contains("pii.pets"));
        let bad = BTreeMap::from([("PER".to_string(), 1.5)]);
        assert!(Decoder::new(&labels(), &bad).unwrap_err().contains("thresholds.entities.PER"));
        let d = decoder(&[]);
        assert_eq!(d.width(), 9);
        assert_eq!(
            d.categories().collect::<Vec<_>>(),
            ["pii.person", "pii.location", "pii.address", "pii.organization"]
        );
    }

    /// Rows whose first value is the token's index in the text, so the
    /// stitched result shows which window each came from (second value).
    fn window(first: usize, len: usize, id: f32) -> Vec<f32> {
        (first..first + len).flat_map(|t| [t as f32, id]).collect()
    }

    #[test]
    fn stitching_takes_each_token_from_one_window_split_at_the_middle_of_the_overlap() {
        // Windows of 10 tokens every 6 (overlap 4, half 2), 22 tokens.
        let (a, b, c) = (window(0, 10, 0.0), window(6, 10, 1.0), window(12, 10, 2.0));
        let w = [
            WindowProbs { first_token: 0, probs: &a },
            WindowProbs { first_token: 6, probs: &b },
            WindowProbs { first_token: 12, probs: &c },
        ];
        let out = stitch(&w, 2, 2);
        let rows: Vec<(usize, usize)> = out.chunks(2).map(|r| (r[0] as usize, r[1] as usize)).collect();
        assert_eq!(rows.len(), 22, "every token once");
        assert!(rows.iter().enumerate().all(|(i, r)| r.0 == i), "in order: {rows:?}");
        let owner: Vec<usize> = rows.iter().map(|r| r.1).collect();
        // Tokens 6..10 are in windows 0 and 1: 6, 7 from window 0, 8, 9 from 1.
        assert_eq!(owner, [vec![0; 8], vec![1; 6], vec![2; 8]].concat());

        // One window: itself. Serving geometry: the overlap of 62 splits at 31.
        assert_eq!(stitch(&w[..1], 2, 2), a);
        let (a, b) = (window(0, 254, 0.0), window(192, 100, 1.0));
        let w = [WindowProbs { first_token: 0, probs: &a }, WindowProbs { first_token: 192, probs: &b }];
        let owner: Vec<usize> = stitch(&w, 2, 31).chunks(2).map(|r| r[1] as usize).collect();
        assert_eq!(owner.len(), 292);
        assert_eq!(owner.iter().position(|&o| o == 1), Some(223));
        // Windows that do not overlap (stride = length) just follow each other.
        let (a, b) = (window(0, 4, 0.0), window(4, 3, 1.0));
        let w = [WindowProbs { first_token: 0, probs: &a }, WindowProbs { first_token: 4, probs: &b }];
        assert_eq!(stitch(&w, 2, 0).len(), 14);
    }
}
