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
    /// Only the tokens `probs` covers are decoded (a text cut short by the
    /// window budget ends where its last window does).
    pub fn decode(&self, probs: &[f32], tokens: &TextTokens) -> Vec<Entity> {
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
        out
    }
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
        let found = d.decode(&rows.concat(), &t);
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
                &["Anna", "Acme"],
                vec![per(0.9), row("I-ORG", 0.9)],
                &[("pii.person", "Anna"), ("pii.organization", "Acme")],
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
            (&["Acme", "Anna"], vec![org(0.9), per(0.9)], &[("pii.organization", "Acme"), ("pii.person", "Anna")]),
            // Leading tokens without a letter or digit are trimmed (trailing
            // ones are kept); a span of nothing else is dropped.
            (&["(", "Maria", ")"], vec![per(0.9), iper(0.9), iper(0.9)], &[("pii.person", "Maria )")]),
            (&["🎉", "Fatima"], vec![per(0.9), per(0.9)], &[("pii.person", "Fatima")]),
            (&["🎉", "hi"], vec![per(0.9), o()], &[]),
        ];
        for (words, rows, want) in table {
            let (text, t) = tokens(words);
            let found = d.decode(&rows.concat(), &t);
            let got: Vec<(&str, &str)> = found.iter().map(|e| (e.category, &text[e.span.clone()])).collect();
            assert_eq!(got, want.to_vec(), "{words:?}");
        }
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
        let found = d.decode(&rows.concat(), &t);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].category, &text[found[0].span.clone()]), ("pii.organization", "Acmex"));
        assert!((found[0].score - 0.6).abs() < 1e-6);
    }

    #[test]
    fn ties_go_to_the_first() {
        let d = decoder(&[("PER", 0.1), ("LOC", 0.1)]);
        let (_, t) = tokens(&["x"]);
        assert!(d.decode(&mix(&[("O", 0.5), ("B-PER", 0.5)]), &t).is_empty(), "O wins a tie");
        let found = d.decode(&mix(&[("O", 0.2), ("B-PER", 0.4), ("B-LOC", 0.4)]), &t);
        assert_eq!(found[0].category, "pii.person", "PER comes before LOC in the labels");
    }

    /// Rows beyond the tokens, or tokens beyond the rows (a text cut short):
    /// only what both cover is decoded.
    #[test]
    fn only_tokens_with_rows_are_decoded() {
        let d = decoder(&[]);
        let (text, t) = tokens(&["Anna", "Lee", "Bob"]);
        let found = d.decode(&[per(0.9), row("I-PER", 0.9)].concat(), &t);
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
