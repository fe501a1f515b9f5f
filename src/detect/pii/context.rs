//! Context words: whether the words around a candidate say what it is.
//!
//! A nine-digit number passes a mod-11 check one time in eleven, so a lone
//! digit run is no evidence of a Dutch BSN; "BSN: 111222333" is. The words
//! per kind are data (`rules/pii-context.toml`, embedded); a candidate looks
//! at a small window around itself only, so the cost is per candidate, never
//! per text.

use std::collections::BTreeMap;
use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

const CONTEXT_WORDS: &str = include_str!("../../../rules/pii-context.toml");

/// Bytes before a candidate that may hold its label ("Phone:\n", "NHS
/// number"), and after it ("555 0143 (mobile)", "-Fax").
const BEFORE: usize = 48;
const AFTER: usize = 24;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    words: Vec<String>,
    #[serde(default)]
    not: Vec<String>,
}

/// What the words around a candidate say about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Near {
    /// A word of its kind, closer than any contradicting word.
    Supports,
    /// A word that names something else (an order, an invoice), closer.
    Contradicts,
    Nothing,
}

/// The context words of one kind.
pub(super) struct Words {
    words: AhoCorasick,
    /// Absent when the kind lists none.
    not: Option<AhoCorasick>,
}

/// Every kind's words, by kind name.
pub(super) fn load() -> Result<BTreeMap<String, Words>, String> {
    let entries: BTreeMap<String, Entry> =
        toml::from_str(CONTEXT_WORDS).map_err(|e| format!("rules/pii-context.toml: {e}"))?;
    entries
        .into_iter()
        .map(|(kind, e)| {
            let words = automaton(&e.words).map_err(|err| format!("rules/pii-context.toml [{kind}]: {err}"))?;
            let not = if e.not.is_empty() {
                None
            } else {
                Some(automaton(&e.not).map_err(|err| format!("rules/pii-context.toml [{kind}]: {err}"))?)
            };
            Ok((kind, Words { words, not }))
        })
        .collect()
}

fn automaton(words: &[String]) -> Result<AhoCorasick, String> {
    if words.is_empty() {
        return Err("no words".into());
    }
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(words)
        .map_err(|e| e.to_string())
}

impl Words {
    /// What the window around `span` in `text` says.
    pub(super) fn near(&self, text: &str, span: &Range<usize>) -> Near {
        let (before, after) = windows(text, span);
        let support = closest(&self.words, before, after);
        let against = self.not.as_ref().and_then(|n| closest(n, before, after));
        match (support, against) {
            (Some(s), Some(a)) if a < s => Near::Contradicts,
            (Some(_), _) => Near::Supports,
            (None, Some(_)) => Near::Contradicts,
            (None, None) => Near::Nothing,
        }
    }

    /// Where the closest word of this kind before `span` ends (a byte offset
    /// into `text`), if one is in the window.
    pub(super) fn before(&self, text: &str, span: &Range<usize>) -> Option<usize> {
        let (before, _) = windows(text, span);
        let window_start = span.start - before.len();
        self.words
            .find_overlapping_iter(before)
            .filter(|m| whole_word(before, m.start(), m.end()))
            .map(|m| window_start + m.end())
            .max()
    }
}

/// The text just before and just after a span, cut on character boundaries.
fn windows<'t>(text: &'t str, span: &Range<usize>) -> (&'t str, &'t str) {
    let mut start = span.start.saturating_sub(BEFORE);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let mut end = (span.end + AFTER).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[start..span.start], &text[span.end..end])
}

/// Distance in bytes from the candidate to the nearest whole-word match in
/// either window. After the candidate, a word followed by a colon labels
/// the next value ("Tel: 555 0143 Fax: 555 0144"), not this one.
fn closest(words: &AhoCorasick, before: &str, after: &str) -> Option<usize> {
    let b = words
        .find_overlapping_iter(before)
        .filter(|m| whole_word(before, m.start(), m.end()))
        .map(|m| before.len() - m.end())
        .min();
    let a = words
        .find_overlapping_iter(after)
        .filter(|m| whole_word(after, m.start(), m.end()) && !after[m.end()..].trim_start().starts_with(':'))
        .map(|m| m.start())
        .min();
    match (b, a) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

pub(super) fn whole_word(s: &str, start: usize, end: usize) -> bool {
    let before = s[..start].chars().next_back();
    let after = s[end..].chars().next();
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_loads_and_words_match_whole_words_near_the_candidate() {
        let all = load().unwrap();
        let phone = &all["phone"];
        let at = |t: &str, c: &str| {
            let s = t.find(c).unwrap();
            phone.near(t, &(s..s + c.len()))
        };
        let cases = [
            ("Phone:\n0490 75 40 81", "0490", Near::Supports),
            ("0490 75 40 81 (Mobile)", "0490", Near::Supports),
            ("0490 75 40 81, order: 12", "0490", Near::Nothing),
            ("TELEFON 0490 75 40 81", "0490", Near::Supports),
            ("telephoned 0490 75 40 81", "0490", Near::Nothing),
            ("phone me about order 0490 75 40 81", "0490", Near::Contradicts),
            ("order 12, call 0490 75 40 81", "0490", Near::Supports),
            ("0490 75 40 81", "0490", Near::Nothing),
            ("phone, and then a long sentence that has nothing to do with it, until 0490", "0490", Near::Nothing),
            ("téléphone : 01 23 45 67 89", "01", Near::Supports),
        ];
        for (text, at_text, want) in cases {
            assert_eq!(at(text, at_text), want, "{text:?}");
        }
    }

    #[test]
    fn windows_never_split_a_character() {
        let text = "ééééééééééééééééééééééééééééé 12345 ééééééééééééééé";
        let s = text.find("12345").unwrap();
        let (b, a) = windows(text, &(s..s + 5));
        assert!(b.len() <= BEFORE && a.len() <= AFTER);
    }
}
