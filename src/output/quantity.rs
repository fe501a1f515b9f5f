//! Numbers a claim states, normalised so that two ways of writing the same
//! quantity compare equal ("24 months" and "two years", "6.9 million" and
//! "6,900,000", "$1,200" and "1200 dollars") and different ones do not.
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
    pub value: f64,
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

const NUMBER_WORDS: &str = "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|\
                            fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|\
                            eighty|ninety|hundred|a\\s+hundred|a\\s+dozen|dozen|half\\s+a";

static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    let units = r"%|percent\b|per\s?cent\b|usd\b|eur\b|gbp\b|dollars?\b|euros?\b|pounds?\b|seconds?\b|minutes?\b|hours?\b|days?\b|weeks?\b|months?\b|years?\b";
    Regex::new(&format!(
        r"(?ix)
        (?P<pre>[$€£]|\b(?:usd|eur|gbp)\s?)?
        (?:
            \b(?P<num>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?)
            (?:\s?(?P<scale>thousand|million|billion|trillion|bn\b|k\b|m\b))?
          | \b(?P<word>{NUMBER_WORDS})
        )
        (?:[\s-]?(?P<unit>{units}))?"
    ))
    .expect("static regex")
});

fn word_value(w: &str) -> Option<f64> {
    let w = w.to_lowercase();
    let w: String = w.split_whitespace().collect::<Vec<_>>().join(" ");
    let v = match w.as_str() {
        "half a" => 0.5,
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
        "twelve" | "dozen" | "a dozen" => 12.0,
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
        "hundred" | "a hundred" => 100.0,
        _ => return None,
    };
    Some(v)
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
            out.push(Quantity { kind, value: 0.0, span: m.range() });
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
        out.push(Quantity { kind, value, span: m.range() });
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
    }

    #[test]
    fn spans_and_words_without_units() {
        let text = "One of them paid 4,200 euros over 18 months on 2024-01-31.";
        let q = extract(text);
        let spans: Vec<&str> = q.iter().map(|q| &text[q.span.clone()]).collect();
        assert_eq!(spans, ["4,200 euros", "18 months", "2024-01-31"]);
    }
}
