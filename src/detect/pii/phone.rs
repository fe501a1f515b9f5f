//! Phone numbers as people write them: `+46 (0)8 928 571 38`, `07700 063
//! 966`, `03.93.92.16.85`, `(37) 788-063`, `345-899-3560x4587`.
//!
//! A candidate is any run of 7 to 15 digits with the separators people use
//! (spaces, dots, dashes, slashes, parentheses), an optional `+` or `00`,
//! and an optional extension. Dates, decimals, amounts and ISBNs are set
//! aside by their shape. What is left is weighed:
//!
//! - valid by libphonenumber's metadata (`phonenumber`), in the country its
//!   `+` names or, written nationally, in `detectors.phone_region` and
//!   formatted as a number: reported alone;
//! - with a phone word nearby (`rules/pii-context.toml`: "call", "tel",
//!   "mobile", "fax", "Telefon", ...): also a bare digit run valid in another
//!   common region, an international number of a known country, or any
//!   formatted candidate, with lower scores as the evidence thins;
//! - a bare digit run with no such word, or with a closer word that names
//!   something else ("order", "invoice", "ISBN"): nothing.

use std::cell::Cell;
use std::ops::Range;

use phonenumber::country::Id;
use regex::Regex;

use super::context::{Near, Words};

/// The candidate pattern. Separators are single characters between digit
/// groups (a `(0)` trunk prefix and `) ` count as separators too); the
/// extension is `x`, `ext`, `ext.`, `extension` or `#` and up to 6 digits.
pub(super) const PATTERN: &str = r"(?-u)(?:\+\s?|\b00\s?)?\(?\d[\d \-./()]{4,26}\d(?:\s?(?:[xX#]|[eE][xX][tT](?:[eE][nN][sS][iI][oO][nN]|\.)?)\s?\d{1,6})?\b";

/// Regions tried for a bare national digit run that is not valid in the
/// configured one, when a phone word says it is a phone: the most populous
/// and the most written-about numbering plans. Bounded per text by
/// `REGION_BUDGET`.
const OTHER_REGIONS: &[Id] = &[
    Id::US,
    Id::GB,
    Id::DE,
    Id::FR,
    Id::IT,
    Id::ES,
    Id::NL,
    Id::BE,
    Id::CH,
    Id::AT,
    Id::SE,
    Id::NO,
    Id::DK,
    Id::FI,
    Id::PL,
    Id::PT,
    Id::IE,
    Id::AU,
    Id::NZ,
    Id::IN,
    Id::BR,
    Id::MX,
    Id::JP,
    Id::ZA,
];

/// Candidates per text that may search `OTHER_REGIONS` (libphonenumber's
/// metadata per region is a set of regexes, compiled and cached on first
/// use, so a search costs): a text made of thousands of labelled digit runs
/// still costs a bounded number of parses.
pub(super) const REGION_BUDGET: u32 = 4;

/// The lowest score of a number valid in its numbering plan.
const VALID: f64 = 0.8;

pub(super) struct Phones {
    region: Id,
    extension: Regex,
}

/// How strong the evidence is, best first.
enum Evidence {
    Valid { international: bool },
    ValidElsewhere(Id),
    KnownCountry,
    Shaped,
}

impl Phones {
    pub(super) fn new(region: Id) -> Result<Self, String> {
        let extension = Regex::new(r"(?i)\s?(?:x|#|ext\.?|extension)\s?\d{1,6}$").map_err(|e| e.to_string())?;
        Ok(Self { region, extension })
    }

    /// Judges one candidate the pattern matched at `at` in `text`: the span
    /// and score of the phone number it holds, if any. `budget` counts the
    /// region searches left for this text.
    pub(super) fn judge(
        &self,
        text: &str,
        at: Range<usize>,
        words: &Words,
        budget: &Cell<u32>,
    ) -> Option<(Range<usize>, f64, String)> {
        let candidate = &text[at.clone()];
        let body_len = self.extension.find(candidate).map_or(candidate.len(), |m| m.start());
        if !free_standing(text, at.start, at.end) {
            return None;
        }
        // The pattern may have run into a neighbouring number ("call
        // 650-253-0000 24/7", "EB 4861 (713) 853-7557"): weigh the whole
        // body, its shorter ends and, written nationally, the body without
        // its first group, and keep the best (the longest of equals).
        let body = &candidate[..body_len];
        let mut spans: Vec<Range<usize>> = group_ends(body)
            .into_iter()
            .enumerate()
            .map(|(i, end)| at.start..if i == 0 { at.end } else { at.start + end })
            .collect();
        if !body.starts_with(['+', '(']) && !body.starts_with("00") {
            if let Some(second) = second_group(body) {
                spans.push(at.start + second..at.start + body.len());
            }
        }
        let digits = body.bytes().filter(u8::is_ascii_digit).count();
        let mut best: Option<(Range<usize>, f64, String)> = None;
        for span in spans {
            let number = &text[span.start..span.end.min(at.start + body.len())];
            if let Some((score, message)) = self.weigh(text, number, &span, words, budget) {
                if best.as_ref().is_none_or(|(_, s, _)| score > *s) {
                    best = Some((span, score, message));
                }
            }
            // Another reading is worth its parse only when the whole is
            // not a number of its plan and too long to be one.
            if best.as_ref().is_some_and(|(_, s, _)| *s >= VALID) || (best.is_some() && digits <= 11) {
                break;
            }
        }
        best
    }

    fn weigh(
        &self,
        text: &str,
        number: &str,
        span: &Range<usize>,
        words: &Words,
        budget: &Cell<u32>,
    ) -> Option<(f64, String)> {
        let shape = Shape::of(number)?;
        let near = words.near(text, span);
        let context = near == Near::Supports;
        let formatted = shape.groups > 1;
        // A bare national digit run needs a phone word before anything
        // costs a parse; a contradicting word silences any candidate.
        if near == Near::Contradicts || (!context && !formatted && !shape.international) {
            return None;
        }
        if shape.not_a_phone(text, span) {
            return None;
        }
        let evidence = if shape.international {
            match phonenumber::parse(None, &shape.normalised) {
                Ok(n) if phonenumber::is_valid(&n) => Evidence::Valid { international: true },
                Ok(_) => Evidence::KnownCountry,
                Err(_) => Evidence::Shaped,
            }
        } else if valid_in(self.region, &shape.normalised) {
            Evidence::Valid { international: false }
        } else if context && !formatted && budget.get() > 0 {
            // Only a bare run needs another region to count at all; a
            // formatted one with a phone word counts without the search.
            budget.set(budget.get() - 1);
            match OTHER_REGIONS.iter().find(|r| **r != self.region && valid_in(**r, &shape.normalised)) {
                Some(r) => Evidence::ValidElsewhere(*r),
                None => Evidence::Shaped,
            }
        } else {
            Evidence::Shaped
        };
        let (score, message) = match (evidence, context) {
            (Evidence::Valid { international: true }, c) => (if c { 0.9 } else { 0.85 }, "phone number".to_string()),
            (Evidence::Valid { international: false }, c) if c || formatted => {
                (if c { 0.9 } else { 0.8 }, "phone number".to_string())
            }
            (Evidence::Valid { .. }, _) => return None,
            (Evidence::ValidElsewhere(r), true) => (0.8, format!("phone number (valid in {})", r.as_ref())),
            (Evidence::KnownCountry, true) => (0.7, "phone number (international, not in the numbering plan)".into()),
            (Evidence::Shaped, true) if formatted => (0.65, "phone number (written as one, named nearby)".into()),
            _ => return None,
        };
        Some((score, message))
    }
}

fn valid_in(region: Id, number: &str) -> bool {
    phonenumber::parse(Some(region), number).is_ok_and(|n| phonenumber::is_valid(&n))
}

/// Whether the candidate stands apart from its neighbours: not the tail of a
/// word, a decimal, a path or an amount, and not followed by a unit or the
/// rest of a time or decimal.
fn free_standing(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after: Vec<char> = text[end..].chars().take(2).collect();
    let bad_before = before.is_some_and(|c| c.is_alphanumeric() || "._/#$€£¥@%&=\\".contains(c));
    let bad_after = match after.as_slice() {
        [c, ..] if c.is_alphanumeric() || "%€$£¥°".contains(*c) => true,
        [':' | '.' | ',' | '/', d, ..] if d.is_ascii_digit() => true,
        _ => false,
    };
    !bad_before && !bad_after
}

/// Byte offsets at which a body may end: the whole, then without its last
/// group, while at least 7 digits remain (at most four tries).
fn group_ends(body: &str) -> Vec<usize> {
    let mut ends = vec![body.len()];
    let mut end = body.len();
    while ends.len() < 4 {
        let Some(cut) = body[..end].rfind(|c: char| !c.is_ascii_digit()) else {
            break;
        };
        let shorter = body[..cut].trim_end_matches(|c: char| !c.is_ascii_digit());
        if shorter.bytes().filter(u8::is_ascii_digit).count() < 7 {
            break;
        }
        end = shorter.len();
        ends.push(end);
    }
    ends
}

/// Where the second digit group of a body starts, if a third follows it.
fn second_group(body: &str) -> Option<usize> {
    let first_end = body.find(|c: char| !c.is_ascii_digit())?;
    let second = first_end + body[first_end..].find(|c: char| c.is_ascii_digit() || c == '(')?;
    let groups = body[second..].split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty()).count();
    (groups >= 2).then_some(second)
}

/// The written form of a candidate.
struct Shape {
    /// For `phonenumber`: `+` and digits when international (`00` and a
    /// `(0)` trunk prefix dropped), else the candidate as written.
    normalised: String,
    international: bool,
    /// Digit groups, with their lengths.
    group_lengths: Vec<usize>,
    groups: usize,
    dots: usize,
    digits: Vec<u32>,
}

impl Shape {
    fn of(number: &str) -> Option<Shape> {
        let international = number.starts_with('+') || number.starts_with("00");
        let mut written = number.to_string();
        if international {
            written = written.replacen("(0)", "", 1);
        }
        let digits: Vec<u32> = written.chars().filter_map(|c| c.to_digit(10)).collect();
        if !(7..=15).contains(&digits.len()) || !balanced(number) || has_long_separator(number) {
            return None;
        }
        let group_lengths: Vec<usize> =
            written.split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty()).map(str::len).collect();
        let normalised = if international {
            let national: String = digits.iter().map(|d| char::from_digit(*d, 10).unwrap_or('0')).collect();
            format!("+{}", national.strip_prefix("00").filter(|_| number.starts_with("00")).unwrap_or(&national))
        } else {
            written
        };
        Some(Shape {
            normalised,
            international,
            groups: group_lengths.len(),
            group_lengths,
            dots: number.matches('.').count(),
            digits,
        })
    }

    /// Dates, decimals, amounts and ISBNs written like numbers.
    fn not_a_phone(&self, text: &str, span: &Range<usize>) -> bool {
        let g = &self.group_lengths;
        let value = |i: usize| {
            let at: usize = g[..i].iter().sum();
            self.digits[at..at + g[i]].iter().fold(0u64, |n, d| n * 10 + u64::from(*d))
        };
        let date = g.len() >= 3 && {
            let (a, b, c) = (value(0), value(1), value(2));
            let ymd = g[0] == 4 && (1900..=2099).contains(&a) && (1..=12).contains(&b) && (1..=31).contains(&c);
            let day_month =
                g[0] <= 2 && g[1] <= 2 && (1..=31).contains(&a) && (1..=31).contains(&b) && (a <= 12 || b <= 12);
            // d/m/yyyy (perhaps with a time after it), or d/m/yy alone.
            let dmy = day_month && (g[2] == 4 || (g.len() == 3 && g[2] == 2));
            ymd || dmy
        };
        let decimal = self.dots == 1 && self.groups == 2;
        let before = text[..span.start].trim_end();
        let amount = before.ends_with(['$', '€', '£', '¥']) || {
            let after = text[span.end..].trim_start();
            let word: String = after.chars().take_while(|c| c.is_alphabetic()).collect::<String>().to_lowercase();
            ["eur", "usd", "gbp", "chf", "sek", "nok", "dkk", "jpy", "inr", "euro", "euros", "dollars", "kr"]
                .contains(&word.as_str())
        };
        let isbn = self.digits.len() == 13 && matches!(&self.digits[..3], [9, 7, 8] | [9, 7, 9]) && {
            let sum: u32 = self.digits.iter().enumerate().map(|(i, d)| if i % 2 == 0 { *d } else { d * 3 }).sum();
            sum.is_multiple_of(10)
        };
        date || decimal || amount || isbn
    }
}

fn balanced(s: &str) -> bool {
    let mut depth = 0i32;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if !(0..=1).contains(&depth) {
            return false;
        }
    }
    depth == 0
}

/// More than one space, or two separators in a row other than around a
/// parenthesis ("(0)8", ") 788").
fn has_long_separator(s: &str) -> bool {
    let mut run = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() || c == '+' {
            if run.len() > 1 && !run.contains(['(', ')']) {
                return true;
            }
            if run.len() > 3 {
                return true;
            }
            run.clear();
        } else {
            run.push(c);
        }
    }
    false
}
