//! Numbers a claim states, normalised so that two ways of writing the same
//! quantity compare equal ("24 months" and "two years", "6.9 million" and
//! "6,900,000", "$1,200" and "1200 dollars", "twenty-five days" and "25 days")
//! and different ones do not.
//!
//! This is the consistency check that sentence embeddings miss: "the term is
//! 60 months" and "the term is 24 months" are near neighbours to an encoder.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Count,
    Percent,
    /// ISO 4217 code when written (`$` is read as USD).
    Money(Option<&'static str>),
    /// In months (a year is 12, a week 12/52, a day 12/365.25).
    Duration,
    /// (year, month, day).
    Date(i32, u32, u32),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    pub kind: Kind,
    /// Normalised: durations in months, everything else as written.
    pub value: f64,
    /// The number as written, before a unit converted it ("5 days" is 5):
    /// what a bare number referring back to it repeats ("5 of them").
    pub number: f64,
    pub span: Range<usize>,
}

impl Quantity {
    pub fn same_kind(&self, other: &Quantity) -> bool {
        match (self.kind, other.kind) {
            (Kind::Money(a), Kind::Money(b)) => a.is_none() || b.is_none() || a == b,
            (Kind::Date(..), Kind::Date(..)) => true,
            (a, b) => a == b,
        }
    }

    /// Same kind and the same value (durations within 1%, for month lengths).
    pub fn equals(&self, other: &Quantity) -> bool {
        if !self.same_kind(other) {
            return false;
        }
        match self.kind {
            Kind::Date(..) => self.kind == other.kind,
            Kind::Duration => (self.value - other.value).abs() <= 0.01 * self.value.abs().max(other.value.abs()),
            _ => (self.value - other.value).abs() <= 1e-9 * self.value.abs().max(1.0),
        }
    }

    /// A claim's quantity states the same value as `source`'s: equal, or a
    /// bare number repeating the number of a quantity with a unit ("you can
    /// carry 5 of them" after "5 days carry over").
    pub fn restates(&self, source: &Quantity) -> bool {
        self.equals(source)
            || (self.kind == Kind::Count
                && !matches!(source.kind, Kind::Date(..))
                && (self.value - source.number).abs() <= 1e-9 * self.value.abs().max(1.0))
    }

    /// Has a unit (percent, currency, duration) or is a date: a bare number
    /// (a count, a year) says little about what a sentence claims.
    pub fn has_unit(&self) -> bool {
        self.kind != Kind::Count
    }
}

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

static DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        \b(?P<iy>\d{4})-(?P<im>\d{2})-(?P<id>\d{2})\b
        | \b(?P<am>jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+(?P<ad>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<ay>\d{4})\b
        | \b(?P<bd>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<bm>jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?,?\s+(?P<by>\d{4})\b",
    )
    .expect("static regex")
});

/// A number written in English words: "five", "twenty-five", "a hundred",
/// "three hundred and fifty", "two thousand", "a dozen", "half a". "and" is
/// part of a number only after "hundred" and larger ("five and ten days" is
/// two numbers).
const NUMBER_WORD: &str = "(?:(?:hundred|thousand|million|billion)(?:\\s+and)?|one|two|three|four|five|six|seven|\
                           eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|\
                           nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|dozen)\\b";

static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    let units = r"%|percent\b|per\s?cent\b|usd\b|eur\b|gbp\b|dollars?\b|euros?\b|pounds?\b|seconds?\b|minutes?\b|hours?\b|days?\b|weeks?\b|months?\b|years?\b";
    Regex::new(&format!(
        r"(?ix)
        (?P<pre>[$€£]|\b(?:usd|eur|gbp)\s?)?
        (?:
            \b(?P<num>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?)
            (?:\s?(?P<scale>thousand|million|billion|trillion|bn\b|k\b|m\b))?
          | \b(?P<word>half\s+a\b|(?:a\s+)?{NUMBER_WORD}(?:[\s-]+{NUMBER_WORD})*)
        )
        (?:[\s-]?(?P<unit>{units}))?"
    ))
    .expect("static regex")
});

/// The value of a number the `word` group matched.
fn word_value(w: &str) -> Option<f64> {
    let w = w.to_lowercase();
    let tokens: Vec<&str> = w.split(|c: char| c.is_whitespace() || c == '-').filter(|t| !t.is_empty()).collect();
    if tokens == ["half", "a"] {
        return Some(0.5);
    }
    // "a" only multiplies what follows ("a hundred"); "and" joins.
    let (mut total, mut current) = (0.0, 0.0);
    for t in tokens {
        let small = match t {
            "a" | "and" => continue,
            "one" => 1.0,
            "two" => 2.0,
            "three" => 3.0,
            "four" => 4.0,
            "five" => 5.0,
            "six" => 6.0,
            "seven" => 7.0,
            "eight" => 8.0,
            "nine" => 9.0,
            "ten" => 10.0,
            "eleven" => 11.0,
            "twelve" => 12.0,
            "thirteen" => 13.0,
            "fourteen" => 14.0,
            "fifteen" => 15.0,
            "sixteen" => 16.0,
            "seventeen" => 17.0,
            "eighteen" => 18.0,
            "nineteen" => 19.0,
            "twenty" => 20.0,
            "thirty" => 30.0,
            "forty" => 40.0,
            "fifty" => 50.0,
            "sixty" => 60.0,
            "seventy" => 70.0,
            "eighty" => 80.0,
            "ninety" => 90.0,
            "dozen" => {
                current = f64::max(current, 1.0) * 12.0;
                continue;
            }
            "hundred" => {
                current = f64::max(current, 1.0) * 100.0;
                continue;
            }
            scale => {
                let scale = match scale {
                    "thousand" => 1e3,
                    "million" => 1e6,
                    "billion" => 1e9,
                    _ => return None,
                };
                total += f64::max(current, 1.0) * scale;
                current = 0.0;
                continue;
            }
        };
        current += small;
    }
    Some(total + current)
}

fn month_index(m: &str) -> Option<u32> {
    let m = m.to_lowercase();
    MONTHS.iter().position(|p| m.starts_with(p)).map(|i| i as u32 + 1)
}

/// Every quantity in `text`, in order.
pub fn extract(text: &str) -> Vec<Quantity> {
    let mut out = Vec::new();
    let mut taken: Vec<Range<usize>> = Vec::new();
    for c in DATE.captures_iter(text) {
        let m = c.get(0).expect("whole match");
        let parse = |y: &str, mo: Option<u32>, d: &str| -> Option<Kind> {
            let (y, d) = (y.parse().ok()?, d.parse().ok()?);
            let mo = mo?;
            ((1..=12).contains(&mo) && (1..=31).contains(&d)).then_some(Kind::Date(y, mo, d))
        };
        let kind = if let Some(y) = c.name("iy") {
            parse(y.as_str(), c["im"].parse().ok(), &c["id"])
        } else if let Some(y) = c.name("ay") {
            parse(y.as_str(), month_index(&c["am"]), &c["ad"])
        } else {
            parse(&c["by"], month_index(&c["bm"]), &c["bd"])
        };
        if let Some(kind) = kind {
            out.push(Quantity { kind, value: 0.0, number: 0.0, span: m.range() });
            taken.push(m.range());
        }
    }
    for c in NUMBER.captures_iter(text) {
        let m = c.get(0).expect("whole match");
        if taken.iter().any(|t| t.start < m.end() && m.start() < t.end) {
            continue;
        }
        let unit = c.name("unit").map(|u| u.as_str().to_lowercase());
        let (mut value, is_word) = match (c.name("num"), c.name("word")) {
            (Some(n), _) => match n.as_str().replace(',', "").parse::<f64>() {
                Ok(v) => (v, false),
                Err(_) => continue,
            },
            (None, Some(w)) => match word_value(w.as_str()) {
                Some(v) => (v, true),
                None => continue,
            },
            _ => continue,
        };
        // A number word alone ("one of them") is not a quantity worth checking.
        if is_word && unit.is_none() {
            continue;
        }
        if let Some(scale) = c.name("scale") {
            value *= match scale.as_str().to_lowercase().as_str() {
                "thousand" | "k" => 1e3,
                "million" | "m" => 1e6,
                "billion" | "bn" => 1e9,
                _ => 1e12,
            };
        }
        let number = value;
        let pre = c.name("pre").map(|p| p.as_str().trim().to_lowercase());
        let currency = |s: &str| -> Option<&'static str> {
            match s {
                "$" | "usd" | "dollar" | "dollars" => Some("USD"),
                "€" | "eur" | "euro" | "euros" => Some("EUR"),
                "£" | "gbp" | "pound" | "pounds" => Some("GBP"),
                _ => None,
            }
        };
        let kind = match (pre.as_deref(), unit.as_deref()) {
            (_, Some(u)) if u == "%" || u.starts_with("percent") || u.starts_with("per") => Kind::Percent,
            (Some(p), _) => Kind::Money(currency(p)),
            (None, Some(u)) if currency(u).is_some() => Kind::Money(currency(u)),
            (None, Some(u)) => {
                let per_month = match u.trim_end_matches('s') {
                    "second" => 12.0 / (365.25 * 86_400.0),
                    "minute" => 12.0 / (365.25 * 1_440.0),
                    "hour" => 12.0 / (365.25 * 24.0),
                    "day" => 12.0 / 365.25,
                    "week" => 12.0 / 52.0,
                    "month" => 1.0,
                    _ => 12.0,
                };
                value *= per_month;
                Kind::Duration
            }
            (None, None) => Kind::Count,
        };
        out.push(Quantity { kind, value, number, span: m.range() });
    }
    out.sort_by_key(|q| q.span.start);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Quantity {
        let q = extract(text);
        assert_eq!(q.len(), 1, "{text}: {q:?}");
        q.into_iter().next().unwrap()
    }

    #[test]
    fn equal_quantities_written_differently() {
        for (a, b) in [
            ("24 months", "two years"),
            ("6.9 million", "6,900,000"),
            ("$1,200", "1200 dollars"),
            ("€5m", "EUR 5 million"),
            ("15%", "15 percent"),
            ("March 3, 2024", "2024-03-03"),
            ("3rd of March 2024", "Mar. 3 2024"),
            ("a dozen weeks", "12 weeks"),
            ("twenty-five days", "25 days"),
            ("twenty five days", "25 days"),
            ("sixteen weeks", "16 weeks"),
            ("seventeen days", "17 days"),
            ("a hundred days", "100 days"),
            ("three hundred and fifty dollars", "$350"),
            ("two thousand euros", "€2,000"),
            ("one thousand two hundred dollars", "$1,200"),
            ("five million dollars", "$5m"),
            ("half a year", "6 months"),
        ] {
            assert!(one(a).equals(&one(b)), "{a} = {b}: {:?} {:?}", one(a), one(b));
        }
    }

    #[test]
    fn different_quantities_do_not_match() {
        for (a, b) in [
            ("60 months", "24 months"),
            ("6.9 million", "4.2 million"),
            ("15%", "1.5%"),
            ("$300", "€300"),
            ("March 3, 2024", "March 4, 2024"),
        ] {
            assert!(!one(a).equals(&one(b)), "{a} != {b}");
        }
        assert!(!one("15%").same_kind(&one("15 days")));
        assert!(!one("twenty days").equals(&one("25 days")));
    }

    #[test]
    fn number_words_stop_where_the_number_does() {
        let text = "Between five and ten days, often for a tenant, twenty-one percent.";
        let q = extract(text);
        let spans: Vec<&str> = q.iter().map(|q| &text[q.span.clone()]).collect();
        assert_eq!(spans, ["ten days", "twenty-one percent"]);
        assert_eq!(q[1].value, 21.0);
    }

    #[test]
    fn a_bare_number_restates_the_number_of_a_quantity() {
        let five = extract("carry 5 of them")[0].clone();
        assert_eq!(five.kind, Kind::Count);
        assert!(five.restates(&one("5 days")) && five.restates(&one("€5")));
        assert!(!five.restates(&one("6 days")));
        assert!(!one("5 days").restates(&extract("5 of them")[0]), "a unit is not restated by a bare number");
        assert!(!extract("3 of them")[0].restates(&one("March 3, 2024")));
        assert!(!five.has_unit() && one("5 days").has_unit());
    }

    #[test]
    fn spans_and_words_without_units() {
        let text = "One of them paid 4,200 euros over 18 months on 2024-01-31.";
        let q = extract(text);
        let spans: Vec<&str> = q.iter().map(|q| &text[q.span.clone()]).collect();
        assert_eq!(spans, ["4,200 euros", "18 months", "2024-01-31"]);
    }
}
