//! Personal data: e-mail, phone, payment card, IBAN, US SSN, IP address,
//! national identifiers, account numbers, MAC addresses, UUIDs and crypto wallets
//! (`ids.rs`; postcodes, plates and more national forms in `ids_more_eu.rs`;
//! those of Nigeria, the Philippines, South Africa and US health care in
//! `ids_world.rs`); domain names (`domain.rs`), dates, times and birth dates
//! (`dates.rs`); nationalities, religions, political and ethnic groups
//! (`nrp.rs`).
//!
//! Every candidate is found in one `RegexSet` pass (only the kinds whose
//! pattern matched are then located), and every candidate is validated, not
//! just matched: phone numbers by libphonenumber's metadata and the words
//! around them (`phone.rs`), cards by Luhn and issuer ranges, IBANs by
//! country length and mod-97 (`iban_validate`), SSNs by the SSA's
//! area/group/serial rules, IPs by the standard library's parsers, the
//! identifiers by their issuers' check digits (`checksum.rs`). A number that
//! fails its checksum is not a finding; one whose checksum is weak is a
//! finding only when a word of its kind is near (`context.rs`). Domains need
//! a suffix on the Public Suffix List, dates a day of the calendar; the
//! group words are one Aho-Corasick pass of their own.

mod checksum;
mod context;
mod dates;
mod domain;
mod ids;
mod ids_more_eu;
mod ids_world;
mod nrp;
mod phone;
#[cfg(test)]
mod tests;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use regex::{Regex, RegexSet};

use super::{dedupe, DetectError, Detector, RawFinding, ScanItem, Source, Surface};
use checksum::luhn;
use context::{Near, Words};
use ids::IdRule;

pub const NAME: &str = "pii";
const VERSION: &str = "1.4.0";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Email,
    Card,
    Iban,
    Ssn,
    Ipv4,
    Ipv6,
    /// A row of `id_rules()`.
    Id(usize),
    Phone,
    Domain,
    Date(dates::Form),
}

/// Candidate patterns, in the order the set reports them; the identifiers
/// follow, then phones: a digit run already taken by a card, an IBAN, an SSN
/// or an identifier is not also a phone. Domains and the date forms come
/// last; a date that overlaps any earlier finding is left to it.
const PATTERNS: &[(Kind, &str)] = &[
    (Kind::Email, r"(?i)\b[a-z0-9][a-z0-9._%+\-]{0,63}@(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}\b"),
    (Kind::Card, r"\b\d(?:[ \-]?\d){11,18}\b"),
    // Printed IBANs are upper case; typed ones are often not (mod-97 is
    // checked on the upper-cased form either way).
    (Kind::Iban, r"(?i)\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b"),
    (
        Kind::Ssn,
        r"(?i)\b(?:ssn|social security(?: number| no\.?)?)\W{0,3}\d{9}\b|\b\d{3}-\d{2}-\d{4}\b|\b\d{3} \d{2} \d{4}\b",
    ),
    (Kind::Ipv4, r"\b(?:\d{1,3}\.){3}\d{1,3}\b"),
    (Kind::Ipv6, r"(?i)(?:\b[0-9a-f]{1,4}|:)(?::[0-9a-f]{0,4}){2,7}\b"),
];

/// Personal-data categories that identify nobody on their own: places and
/// organisations (the entity head), postcodes, dates, domain names and group
/// words. They are found, redacted and recorded, but a session that saw only
/// these has not handled personal data, and a message carrying only these
/// sends none out (the action policy's `identifies_no_one`, kept equal by a
/// test).
pub const IDENTIFIES_NO_ONE: [&str; 8] = [
    "pii.location",
    "pii.organization",
    "pii.date_time",
    "pii.domain",
    "pii.nrp",
    "pii.ca_postal_code",
    "pii.de_postcode",
    "pii.uk_postcode",
];

/// Every identifier row: `ids.rs`, then the identifiers added after it,
/// each table in its own file (`ids_more_eu.rs`, `ids_world.rs`).
fn id_rules() -> impl Iterator<Item = &'static IdRule> {
    ids::RULES.iter().chain(ids_more_eu::RULES).chain(ids_world::RULES)
}

/// Every category this detector reports, each once, in table order.
pub fn categories() -> Vec<&'static str> {
    let mut out = vec!["pii.email", "pii.phone", "pii.credit_card", "pii.iban", "pii.us_ssn", "pii.ip_address"];
    for rule in id_rules() {
        if !out.contains(&rule.category) {
            out.push(rule.category);
        }
    }
    out.extend(["pii.domain", "pii.date_time", "pii.date_of_birth", "pii.nrp"]);
    out
}

pub struct PiiDetector {
    set: RegexSet,
    /// One regex per distinct pattern, with the kinds that share it.
    regexes: Vec<(Vec<Kind>, Regex)>,
    /// The identifier rows, in the order `Kind::Id` numbers them.
    rules: Vec<&'static IdRule>,
    phones: phone::Phones,
    /// Context words by kind (`rules/pii-context.toml`).
    words: BTreeMap<String, Words>,
    domains: domain::Domains,
    dates: dates::Dates,
    nrp: nrp::Nrp,
}

impl PiiDetector {
    /// `phone_region` is the ISO 3166 country assumed for numbers written
    /// without a `+` country code.
    pub fn new(phone_region: &str) -> Result<Self, String> {
        let region = phonenumber::country::Id::from_str(&phone_region.to_ascii_uppercase())
            .map_err(|_| format!("detectors.phone_region: unknown country code {phone_region:?}"))?;
        let dates = dates::Dates::new()?;
        let all = PATTERNS
            .iter()
            .map(|(k, p)| (*k, p.to_string()))
            .chain(id_rules().enumerate().map(|(i, r)| (Kind::Id(i), r.pattern.to_string())))
            .chain([(Kind::Phone, phone::PATTERN.to_string()), (Kind::Domain, domain::PATTERN.to_string())])
            .chain(dates.patterns().into_iter().map(|(form, p)| (Kind::Date(form), p)));
        let mut patterns: Vec<(Vec<Kind>, String)> = Vec::new();
        for (kind, pattern) in all {
            match patterns.iter_mut().find(|(_, p)| *p == pattern) {
                Some((kinds, _)) => kinds.push(kind),
                None => patterns.push((vec![kind], pattern)),
            }
        }
        let set = RegexSet::new(patterns.iter().map(|(_, p)| p)).map_err(|e| e.to_string())?;
        let regexes = patterns
            .into_iter()
            .map(|(kinds, p)| Regex::new(&p).map(|r| (kinds, r)))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        let words = context::load()?;
        let rules: Vec<&'static IdRule> = id_rules().collect();
        for rule in rules.iter().filter(|r| r.needs_context) {
            if !words.contains_key(rule.kind()) {
                return Err(format!("rules/pii-context.toml: no words for {}", rule.category));
            }
        }
        for kind in ["phone", "domain", "date_of_birth"] {
            if !words.contains_key(kind) {
                return Err(format!("rules/pii-context.toml: no words for {kind}"));
            }
        }
        Ok(Self {
            set,
            regexes,
            rules,
            phones: phone::Phones::new(region)?,
            words,
            domains: domain::Domains::new()?,
            dates,
            nrp: nrp::Nrp::new()?,
        })
    }

    /// Finds personal data in `text`. Public so benchmarks and other
    /// detectors (action arguments, outputs) share one implementation.
    pub fn scan(&self, text: &str) -> Vec<RawFinding> {
        let mut out: Vec<RawFinding> = self.nrp.scan(text);
        let matched = self.set.matches(text);
        if !matched.matched_any() {
            return out;
        }
        let budget = Cell::new(phone::REGION_BUDGET);
        let mut date_pieces = Vec::new();
        for idx in matched.iter() {
            let (kinds, re) = &self.regexes[idx];
            for m in re.find_iter(text) {
                for kind in kinds {
                    if let Kind::Date(form) = kind {
                        date_pieces.extend(self.dates.judge(*form, text, m.range()));
                    } else if *kind == Kind::Domain {
                        if out.iter().any(|f| overlaps(&f.span, &m.range())) {
                            continue;
                        }
                        if let Some((span, score)) = self.domains.judge(text, m.range(), &self.words["domain"]) {
                            let message = "domain name".to_string();
                            out.push(RawFinding { category: "pii.domain".into(), score, span, message });
                        }
                    } else if *kind == Kind::Phone {
                        if out.iter().any(|f| overlaps(&f.span, &m.range())) {
                            continue;
                        }
                        let Some((span, score, message)) =
                            self.phones.judge(text, m.range(), &self.words["phone"], &budget)
                        else {
                            continue;
                        };
                        out.push(RawFinding { category: "pii.phone".into(), score, span, message });
                    } else if let Some(f) = self.validate(*kind, text, m) {
                        out.push(f);
                    }
                }
            }
        }
        date_pieces.retain(|p| !out.iter().any(|f| overlaps(&f.span, &p.span)));
        out.extend(self.dates.findings(text, date_pieces, &self.words["date_of_birth"]));
        dedupe(out)
    }

    fn identifier(&self, rule: &IdRule, text: &str, m: regex::Match<'_>) -> Option<RawFinding> {
        if !(rule.check)(m.as_str()) {
            return None;
        }
        let near = self.words.get(rule.kind()).map_or(Near::Nothing, |w| w.near(text, &m.range()));
        if rule.needs_context && near != Near::Supports {
            return None;
        }
        Some(RawFinding {
            category: rule.category.to_string(),
            score: rule.score,
            span: m.range(),
            message: rule.message.to_string(),
        })
    }

    fn validate(&self, kind: Kind, text: &str, m: regex::Match<'_>) -> Option<RawFinding> {
        let s = m.as_str();
        let finding = |category: &str, score: f64, message: &str| RawFinding {
            category: category.to_string(),
            score,
            span: m.range(),
            message: message.to_string(),
        };
        match kind {
            Kind::Email => valid_email(s).then(|| finding("pii.email", 0.95, "e-mail address")),
            Kind::Card => valid_card(s)
                .map(|issuer| finding("pii.credit_card", 0.95, &format!("{issuer} card number (Luhn valid)"))),
            Kind::Iban => valid_iban(s).map(|len| RawFinding {
                category: "pii.iban".into(),
                score: 0.95,
                span: m.start()..m.start() + len,
                message: "IBAN (country length and mod-97 valid)".into(),
            }),
            Kind::Ssn => valid_ssn(s).map(|digits_at| RawFinding {
                category: "pii.us_ssn".into(),
                score: 0.9,
                span: m.start() + digits_at..m.end(),
                message: "US social security number (valid area, group and serial)".into(),
            }),
            Kind::Ipv4 => {
                let ip = Ipv4Addr::from_str(s).ok()?;
                if looks_like_version(text, m.start()) {
                    return None;
                }
                let private = ip.is_private() || ip.is_loopback() || ip.is_link_local() || ip.is_unspecified();
                Some(finding("pii.ip_address", if private { 0.5 } else { 0.8 }, "IPv4 address"))
            }
            Kind::Ipv6 => {
                let ip = Ipv6Addr::from_str(s).ok()?;
                // "::" alone and tiny forms like "a::b" are more often code than addresses.
                if s.matches(':').count() < 2 || s.len() < 6 || ip.is_unspecified() {
                    return None;
                }
                Some(finding("pii.ip_address", if ip.is_loopback() { 0.5 } else { 0.8 }, "IPv6 address"))
            }
            Kind::Id(i) => self.identifier(self.rules[i], text, m),
            // Phones, domains and dates are judged with their neighbourhood
            // in `scan`.
            Kind::Phone | Kind::Domain | Kind::Date(_) => None,
        }
    }
}

impl Detector for PiiDetector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> &str {
        VERSION
    }

    /// On ScoreOutput only the output itself: the input, system prompt and
    /// documents were judged when they came in, and the output checks
    /// compare what the output reveals against them.
    fn applies(&self, surface: Surface, source: &Source) -> bool {
        surface != Surface::Output || *source == Source::Output
    }

    fn detect(&self, item: &ScanItem, _tool: Option<&str>) -> Result<Vec<RawFinding>, DetectError> {
        Ok(self.scan(&item.text))
    }
}

fn overlaps(a: &std::ops::Range<usize>, b: &std::ops::Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !local.ends_with('.')
        && !local.contains("..")
        && domain.len() <= 253
        && !domain.contains("..")
}

/// Luhn check plus the issuer ranges published by the card networks; the
/// separators must be consistent (all spaces, all dashes or none).
fn valid_card(s: &str) -> Option<&'static str> {
    let has_space = s.contains(' ');
    let has_dash = s.contains('-');
    if has_space && has_dash {
        return None;
    }
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    let n = digits.len();
    if !(12..=19).contains(&n) || !luhn(&digits) {
        return None;
    }
    let prefix = |k: usize| digits[..k].iter().fold(0u32, |acc, d| acc * 10 + d);
    let issuer = match (prefix(1), prefix(2), prefix(3), prefix(4), prefix(6)) {
        (4, ..) if matches!(n, 13 | 16 | 19) => "Visa",
        (_, 51..=55, ..) if n == 16 => "Mastercard",
        (.., 2221..=2720, _) if n == 16 => "Mastercard",
        (_, 34 | 37, ..) if n == 15 => "American Express",
        (.., 6011, _) | (_, 65, ..) if (16..=19).contains(&n) => "Discover",
        (_, _, 644..=649, ..) if (16..=19).contains(&n) => "Discover",
        (.., 3528..=3589, _) if (16..=19).contains(&n) => "JCB",
        (_, _, 300..=305, ..) | (_, 36 | 38, ..) if (14..=19).contains(&n) => "Diners Club",
        (_, 62, ..) if (16..=19).contains(&n) => "UnionPay",
        (_, 50 | 56..=69, ..) if (12..=19).contains(&n) => "Maestro",
        _ => return None,
    };
    Some(issuer)
}

/// Returns the byte length of the longest valid IBAN at the start of `s`:
/// the pattern may run into following upper-case words, so shorter prefixes
/// (whole space-separated groups) are tried too.
fn valid_iban(s: &str) -> Option<usize> {
    let mut end = s.len();
    loop {
        let candidate = &s[..end];
        let compact: String = candidate.chars().filter(|c| *c != ' ').map(|c| c.to_ascii_uppercase()).collect();
        if compact.len() >= 15 && iban::Iban::from_str(&compact).is_ok() {
            return Some(end);
        }
        end = candidate.trim_end().rfind(' ')?;
    }
}

/// SSA rules: area not 000, 666 or 900-999; group not 00; serial not 0000;
/// and the two numbers the SSA retired after they were printed in ads.
/// Returns the offset of the digits inside the match.
fn valid_ssn(s: &str) -> Option<usize> {
    let digits_at = s.find(|c: char| c.is_ascii_digit())?;
    let digits: String = s[digits_at..].chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 9 {
        return None;
    }
    let area: u32 = digits[0..3].parse().ok()?;
    let group: u32 = digits[3..5].parse().ok()?;
    let serial: u32 = digits[5..9].parse().ok()?;
    let invalid = area == 0
        || area == 666
        || area >= 900
        || group == 0
        || serial == 0
        || digits == "078051120"
        || digits == "219099999";
    (!invalid).then_some(digits_at)
}

fn looks_like_version(text: &str, start: usize) -> bool {
    let before = text[..start].trim_end().to_ascii_lowercase();
    before.ends_with('v') || before.ends_with("version") || before.ends_with("ver.")
}
