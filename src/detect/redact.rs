//! Redaction: the text with every personal-data and secret finding masked and
//! every other byte kept as it was.

use std::ops::Range;

/// Whether findings of this category are masked in `redacted_text`.
pub fn is_redacted_category(category: &str) -> bool {
    category.starts_with("pii.") || category.starts_with("secret.")
}

/// Replaces each span with `[REDACTED:<category>]`. Overlapping spans are
/// merged and take the category of the earliest one. Spans that are out of
/// range or not on character boundaries are widened to the nearest boundary,
/// so redaction never panics and never leaves half a secret behind.
pub fn redact<'a>(text: &str, spans: impl IntoIterator<Item = (Range<usize>, &'a str)>) -> String {
    let mut spans: Vec<(Range<usize>, &str)> =
        spans.into_iter().map(|(r, c)| (widen(text, r), c)).filter(|(r, _)| r.start < r.end).collect();
    spans.sort_by_key(|(r, _)| (r.start, std::cmp::Reverse(r.end)));
    let mut merged: Vec<(Range<usize>, &str)> = Vec::with_capacity(spans.len());
    for (r, c) in spans {
        match merged.last_mut() {
            Some((last, _)) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push((r, c)),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (r, c) in merged {
        out.push_str(&text[at..r.start]);
        out.push_str("[REDACTED:");
        out.push_str(c);
        out.push(']');
        at = r.end;
    }
    out.push_str(&text[at..]);
    out
}

fn widen(text: &str, r: Range<usize>) -> Range<usize> {
    let mut start = r.start.min(text.len());
    let mut end = r.end.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    while !text.is_char_boundary(end) {
        end += 1;
    }
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_spans_and_keeps_the_rest() {
        let text = "mail bob@example.com or call +1 202-555-0143 now";
        let a = text.find("bob").unwrap();
        let b = text.find("+1").unwrap();
        let out = redact(text, [(a..a + 15, "pii.email"), (b..b + 15, "pii.phone")]);
        assert_eq!(out, "mail [REDACTED:pii.email] or call [REDACTED:pii.phone] now");
    }

    #[test]
    fn every_personal_data_category_is_masked() {
        for category in crate::detect::pii::categories() {
            assert!(is_redacted_category(category), "{category}");
            let out = redact("id 12345 here", [(3..8, category)]);
            assert_eq!(out, format!("id [REDACTED:{category}] here"));
        }
    }

    #[test]
    fn merges_overlaps_and_survives_bad_spans() {
        let text = "héllo world";
        let out = redact(text, [(0..3, "pii.person"), (2..5, "pii.person"), (50..60, "x")]);
        assert_eq!(out, "[REDACTED:pii.person]o world");
    }
}
