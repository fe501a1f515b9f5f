//! Text normalisation that defeats cheap obfuscation while keeping a map back
//! to the caller's original bytes.
//!
//! Attackers write "іgnore" with a Cyrillic і, "ｉｇｎｏｒｅ" in full-width
//! forms, hide zero-width joiners or bidi overrides between letters, or space
//! the letters out ("i g n o r e"). Detectors match on the folded views built
//! here and report spans in the original text through [`Folded::original`].

use std::ops::Range;

use unicode_normalization::UnicodeNormalization;

/// A normalised view of a text: NFKC, confusables folded to ASCII (decancer),
/// lower case, format and bidi controls removed, runs of white space collapsed
/// to one space.
#[derive(Debug)]
pub struct Folded {
    pub text: String,
    /// For every byte of `text`, the byte range of the original character it
    /// came from.
    origin: Vec<Range<usize>>,
}

/// Characters that render as nothing or reorder text: zero-width spaces and
/// joiners, word joiner, BOM, soft hyphen, bidi embeddings, overrides and
/// isolates, and the Unicode tag block (used to smuggle invisible ASCII).
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{E0000}'..='\u{E007F}'
    )
}

impl Folded {
    pub fn new(original: &str) -> Folded {
        let mut text = String::with_capacity(original.len());
        let mut origin = Vec::with_capacity(original.len());
        let mut last_space = true; // trims leading white space
        let options = decancer::Options::default();
        for (start, c) in original.char_indices() {
            let range = start..start + c.len_utf8();
            if is_invisible(c) {
                continue;
            }
            // Fast path: ASCII needs neither NFKC nor confusable folding.
            if c.is_ascii() {
                push_folded(&mut text, &mut origin, &mut last_space, c.to_ascii_lowercase(), &range);
                continue;
            }
            for n in std::iter::once(c).nfkc() {
                if is_invisible(n) {
                    continue;
                }
                if n.is_ascii() {
                    push_folded(&mut text, &mut origin, &mut last_space, n.to_ascii_lowercase(), &range);
                    continue;
                }
                match decancer::cure_char(n, options) {
                    decancer::Translation::Character(t) => {
                        for l in t.to_lowercase() {
                            push_folded(&mut text, &mut origin, &mut last_space, l, &range);
                        }
                    }
                    decancer::Translation::String(s) => {
                        for l in s.chars().flat_map(char::to_lowercase) {
                            push_folded(&mut text, &mut origin, &mut last_space, l, &range);
                        }
                    }
                    decancer::Translation::None => {}
                }
            }
        }
        Folded { text, origin }
    }

    /// Maps a byte range of the folded text back to the original text.
    pub fn original(&self, folded: Range<usize>) -> Range<usize> {
        if self.origin.is_empty() || folded.start >= self.origin.len() {
            return 0..0;
        }
        let end = folded.end.clamp(folded.start + 1, self.origin.len());
        self.origin[folded.start].start..self.origin[end - 1].end
    }

    /// The letters-and-digits-only view used to catch spaced-out or
    /// punctuated words ("i.g.n.o.r.e a-l-l p r e v i o u s"), with a map
    /// from each of its bytes to a byte of the folded text.
    pub fn compact(&self) -> (String, Vec<usize>) {
        let mut out = String::with_capacity(self.text.len());
        let mut map = Vec::with_capacity(self.text.len());
        for (i, c) in self.text.char_indices() {
            if c.is_alphanumeric() {
                out.push(c);
                map.extend(std::iter::repeat_n(i, c.len_utf8()));
            }
        }
        (out, map)
    }
}

fn push_folded(
    text: &mut String,
    origin: &mut Vec<Range<usize>>,
    last_space: &mut bool,
    c: char,
    range: &Range<usize>,
) {
    let c = if c.is_whitespace() { ' ' } else { c };
    if c == ' ' {
        if *last_space {
            return;
        }
        *last_space = true;
    } else {
        *last_space = false;
    }
    text.push(c);
    origin.extend(std::iter::repeat_n(range.clone(), c.len_utf8()));
}

/// Shannon entropy in bits per character, as gitleaks computes it.
pub fn shannon_entropy(s: &str) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = std::collections::HashMap::new();
    let mut n = 0usize;
    for c in s.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
        n += 1;
    }
    let n = n as f64;
    counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_homoglyphs_fullwidth_and_invisibles() {
        let cases = [
            ("Ignore ALL", "ignore all"),
            ("\u{0456}gnore", "ignore"),          // Cyrillic і
            ("ｉｇｎｏｒｅ", "ignore"),           // full width
            ("ig\u{200B}no\u{202E}re", "ignore"), // zero width + bidi override
            ("a \t\n b", "a b"),
        ];
        for (input, want) in cases {
            assert_eq!(Folded::new(input).text, want, "{input:?}");
        }
    }

    #[test]
    fn maps_back_to_original_bytes() {
        let original = "xx \u{0456}gnore yy";
        let f = Folded::new(original);
        let at = f.text.find("ignore").unwrap();
        let r = f.original(at..at + "ignore".len());
        assert_eq!(&original[r], "\u{0456}gnore");
    }

    #[test]
    fn compact_view_joins_spaced_letters() {
        let f = Folded::new("i g n o r e-a.l.l");
        let (c, map) = f.compact();
        assert_eq!(c, "ignoreall");
        assert_eq!(map.len(), c.len());
    }

    #[test]
    fn entropy_matches_known_values() {
        assert_eq!(shannon_entropy("aaaa"), 0.0);
        assert!((shannon_entropy("ab") - 1.0).abs() < 1e-9);
    }
}
