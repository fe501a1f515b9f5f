//! Text helpers for the output checks: sentences and words with their byte
//! spans in the original text, and a normalised word form for comparisons.

use std::ops::Range;

use unicode_segmentation::UnicodeSegmentation;

/// A sentence (UAX #29 sentence boundaries) with surrounding whitespace
/// trimmed; empty ones are dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Sentence<'a> {
    pub text: &'a str,
    pub span: Range<usize>,
}

pub fn sentences(text: &str) -> Vec<Sentence<'_>> {
    let mut out = Vec::new();
    for (start, s) in text.split_sentence_bound_indices() {
        // Line breaks separate list items and headings as well as sentences.
        let mut offset = start;
        for line in s.split_inclusive('\n') {
            let trimmed = line.trim();
            if !trimmed.is_empty() {
                let lead = line.len() - line.trim_start().len();
                out.push(Sentence { text: trimmed, span: offset + lead..offset + lead + trimmed.len() });
            }
            offset += line.len();
        }
    }
    out
}

/// A word (UAX #29 word boundaries, alphanumeric only) lower-cased, with its
/// span.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub norm: String,
    pub span: Range<usize>,
}

pub fn words(text: &str) -> Vec<Word> {
    text.unicode_word_indices().map(|(i, w)| Word { norm: w.to_lowercase(), span: i..i + w.len() }).collect()
}

/// Lower-case words joined by single spaces: the form two texts are compared
/// in, whatever their punctuation, case and spacing.
pub fn normalised(text: &str) -> String {
    text.unicode_words().map(str::to_lowercase).collect::<Vec<_>>().join(" ")
}

/// Cosine similarity of two L2-normalised vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_keep_spans_and_split_lines() {
        let text = "The loan term is 24 months. Rates are fixed!\n- Fees: none\n\nAsk us anything?";
        let s = sentences(text);
        let texts: Vec<&str> = s.iter().map(|s| s.text).collect();
        assert_eq!(texts, ["The loan term is 24 months.", "Rates are fixed!", "- Fees: none", "Ask us anything?"]);
        for s in &s {
            assert_eq!(&text[s.span.clone()], s.text);
        }
    }

    #[test]
    fn words_and_normal_form() {
        let w = words("Don't  PANIC, it's 6.9 million.");
        assert_eq!(w.iter().map(|w| w.norm.as_str()).collect::<Vec<_>>(), ["don't", "panic", "it's", "6.9", "million"]);
        assert_eq!(normalised("Hello,   WORLD!"), "hello world");
    }
}
