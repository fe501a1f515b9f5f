//! Dates and times as people write them: `2024-03-05T10:30Z`, `05/03/2024`,
//! `5. März 2024`, `March 5th, 2024`, `le 5 mars`, `Monday`, `Mon-Fri`,
//! `10:30 am`, `14h30`, `in 1985`, `the 1990s`, and ranges of them
//! (`9am-5pm`, `3-5 March`, `Monday to Friday`).
//!
//! Each written form is one candidate pattern in the detector's `RegexSet`
//! (month and weekday names in English and the common European languages
//! are data, `rules/pii-dates.toml`); every candidate is validated as a
//! real date (`time::Date`: no 31 February, no 29 February 2023), and a
//! numeric date as either day-month or month-day order. Pieces that touch
//! or are joined by "at", "to", "-", "bis", ... become one finding.
//!
//! A date near a birth word ("born", "DOB", "date of birth", "geboren",
//! "né le", `[date_of_birth]` in `rules/pii-context.toml`) is
//! `pii.date_of_birth`, unless another date stands between the word and it;
//! everything else is `pii.date_time`. In English, dates said relative to
//! now ("tomorrow", "next week", "three days ago"), durations and ages,
//! day numbers ("on the 14th"), centuries, decade words, holidays and a
//! bare year that nothing around makes a count are `pii.date_time` too
//! (people and spaCy-style taggers count them as dates). Relative dates,
//! durations, centuries, decade words and holidays are never a birth date.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use time::{Date, Month};

use super::context::{Near, Words};
use super::RawFinding;

const NAMES: &str = include_str!("../../../rules/pii-dates.toml");

/// One written form of a date or time; each is one candidate pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Form {
    /// `2024-03-05`, `2024/3/5`, with an optional ISO time.
    YearFirst,
    /// `05/03/2024`, `3-5-24`, `05.03.2024`.
    Numeric,
    /// `5 March 2024`, `5th of March`, `5. März`, `3-5 mai`, `05-Mar-2024`.
    DayMonth,
    /// `March 5th, 2024`, `Mon, Mar 5`, `June 3-5`.
    MonthDay,
    /// `March 2024`, `marzo de 2024`, `Sept. '23`.
    MonthYear,
    /// `Monday`, `mercredi`.
    Weekday,
    /// `Mon-Fri`, `Mo-Fr`.
    WeekdayRange,
    /// `10:30`, `23:59:59`, `10:30 pm`, `10:30 UTC`.
    Clock,
    /// `10am`, `5 p.m.`, `14h30`, `10 Uhr`, `5 o'clock`.
    Hour,
    /// `in 1985`, `since 2019`, `summer of 1969` (the year alone is the span).
    Year,
    /// `the 1990s`, `the '80s`.
    Decade,
}

/// What a validated piece says, for scoring and for the birth-date rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// A day of a month (perhaps with the year).
    Day,
    MonthYear,
    Year,
    Weekday,
    Time,
    Decade,
}

impl Class {
    fn score(self) -> f64 {
        match self {
            Class::Day => 0.85,
            Class::MonthYear => 0.75,
            Class::Time => 0.7,
            Class::Year | Class::Weekday => 0.6,
            Class::Decade => 0.5,
        }
    }

    /// A date that could be someone's birth date.
    fn calendar(self) -> bool {
        matches!(self, Class::Day | Class::MonthYear | Class::Year)
    }
}

/// A validated candidate, before neighbouring pieces are joined.
#[derive(Clone, Debug)]
pub(super) struct Piece {
    pub(super) span: Range<usize>,
    class: Class,
}

/// How a name must be written to count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    Any,
    /// Also an ordinary lower-case word ("may", "march").
    Capitalised,
    /// Also a name ("Mars", "Marco").
    Lower,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Language {
    months: Vec<Vec<String>>,
    weekdays: Vec<Vec<String>>,
    capitalised: Vec<String>,
    lower_case: Vec<String>,
}

pub(super) struct Dates {
    /// Month names and abbreviations, lower case, to the month (1-12).
    months: HashMap<String, (u8, Case)>,
    /// The full month and weekday names, lower case: a full stop after one
    /// ends the sentence, not an abbreviation.
    full: HashSet<String>,
    /// Weekday names, lower case, to whether it is the full name.
    weekdays: HashMap<String, (bool, Case)>,
}

/// Words and marks that join two pieces into one date, time or range.
const JOINERS: &[&str] = &[
    "", "at", "@", "um", "à", "a las", "alle", "om", "-", "–", "—", "to", "until", "till", "through", "thru", "and",
    "bis", "au", "al", "a", "tot", "y", "e", "et", "und", "from", "of", "on", "the",
];

/// Words that may follow a year after a preposition ("in 1999 we", "since
/// 2019,"); any other word makes it a count ("in 2000 rows").
const AFTER_YEAR: &[&str] = &[
    "and", "or", "but", "to", "the", "a", "an", "when", "where", "while", "after", "before", "until", "as", "at", "in",
    "on", "for", "with", "i", "we", "he", "she", "they", "it", "you", "my", "our", "his", "her", "their", "there",
    "this", "that", "which", "who", "was", "were", "is", "are", "had", "has", "have", "will", "would", "then", "so",
    "because", "from", "by", "through", "till", "onwards", "onward", "ad", "bc", "bce", "ce",
];

impl Dates {
    pub(super) fn new() -> Result<Self, String> {
        let langs: HashMap<String, Language> =
            toml::from_str(NAMES).map_err(|e| format!("rules/pii-dates.toml: {e}"))?;
        let mut months: HashMap<String, (u8, Case)> = HashMap::new();
        let mut full = HashSet::new();
        let mut weekdays: HashMap<String, (bool, Case)> = HashMap::new();
        for (code, lang) in &langs {
            if lang.months.len() != 12 || lang.weekdays.len() != 7 {
                return Err(format!("rules/pii-dates.toml [{code}]: 12 months and 7 weekdays"));
            }
            let case = |name: &str| {
                if lang.capitalised.iter().any(|c| c == name) {
                    Case::Capitalised
                } else if lang.lower_case.iter().any(|c| c == name) {
                    Case::Lower
                } else {
                    Case::Any
                }
            };
            for names in lang.months.iter().chain(&lang.weekdays) {
                full.extend(names.first().map(|n| n.to_lowercase()));
            }
            for (i, names) in lang.months.iter().enumerate() {
                for name in names {
                    let month = u8::try_from(i + 1).unwrap_or(1);
                    let entry = months.entry(name.to_lowercase()).or_insert((month, Case::Any));
                    if entry.0 != month {
                        return Err(format!("rules/pii-dates.toml [{code}]: {name} names two months"));
                    }
                    if case(name) != Case::Any {
                        entry.1 = case(name);
                    }
                }
            }
            for names in &lang.weekdays {
                for (j, name) in names.iter().enumerate() {
                    let entry = weekdays.entry(name.to_lowercase()).or_insert((j == 0, Case::Any));
                    entry.0 |= j == 0;
                    if case(name) != Case::Any {
                        entry.1 = case(name);
                    }
                }
            }
        }
        Ok(Self { months, full, weekdays })
    }

    /// The candidate patterns, one per form.
    pub(super) fn patterns(&self) -> Vec<(Form, String)> {
        let alternation = |names: Vec<&String>| {
            let mut names: Vec<String> = names.into_iter().map(|n| regex::escape(n)).collect();
            // Longest first, so "March" is preferred to "Mar".
            names.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
            names.join("|")
        };
        let month = alternation(self.months.keys().collect());
        let weekday_full = alternation(self.weekdays.iter().filter(|(_, (full, _))| *full).map(|(n, _)| n).collect());
        let weekday = alternation(self.weekdays.keys().collect());
        let day = r"(?:3[01]|[12][0-9]|0?[1-9])(?:st|nd|rd|th|er|º|ª)?";
        let year = r"(?:(?:1[0-9]|20)[0-9]{2}|'[0-9]{2})\b";
        let range = r"\s*(?:[-–]|to|and|bis|au|al|a)\s*";
        let zone = r"(?:\s?(?:UTC|GMT|CET|CEST|EST|EDT|CST|CDT|MST|MDT|PST|PDT|BST|JST|AEST|AEDT)\b)?";
        vec![
            (
                Form::YearFirst,
                r"(?-u)\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:(?:T|\s)(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:[.,]\d{1,9})?)?(?:Z|\s?[+-][01]\d:?[0-5]\d)?)?\b"
                    .to_string(),
            ),
            (Form::Numeric, r"(?-u)\b\d{1,2}[-/.]\d{1,2}[-/.](?:\d{4}|\d{2})\b".to_string()),
            (
                Form::DayMonth,
                format!(
                    r"(?i)\b(?:(?:{weekday})\.?,?\s+(?:the\s+)?)?(?:{day}\.?{range})?{day}\.?(?:\s+(?:of|de|del)\s+|\s*[-/]\s*|\s+)(?:{month})\b\.?(?:(?:,\s*|\s+|-|/|\s+de\s+|\s+del\s+){year})?"
                ),
            ),
            (
                Form::MonthDay,
                format!(
                    r"(?i)\b(?:(?:{weekday})\.?,?\s+)?(?:{month})\b\.?\s+(?:the\s+)?{day}\b(?:{range}{day}\b)?(?:,?\s*{year})?"
                ),
            ),
            (Form::MonthYear, format!(r"(?i)\b(?:{month})\b\.?,?\s+(?:of\s+|de\s+|del\s+)?{year}")),
            (Form::Weekday, format!(r"(?i)\b(?:{weekday_full})\b")),
            (Form::WeekdayRange, format!(r"(?i)\b(?:{weekday})\b\.?\s*[-–]\s*(?:{weekday})\b\.?")),
            (
                Form::Clock,
                format!(r"(?-u)\b(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?:\s?(?i:[ap]\.m\.?|[ap]m\b))?{zone}"),
            ),
            (
                Form::Hour,
                format!(
                    r"(?i-u)\b(?:1[0-2]|0?[1-9])\s?(?:[ap]\.m\.?|[ap]m\b){zone}|\b(?:[01]?\d|2[0-3])h[0-5]\d\b|\b(?:[01]?\d|2[0-3])(?:[:.][0-5]\d)?\s?uhr\b|\b(?:1[0-2]|0?[1-9])\s?o'clock\b"
                ),
            ),
            (
                Form::Year,
                r"(?i)\b(?:in|since|until|till|from|before|after|during|circa|around|year|early|late|mid|of|spring|summer|autumn|fall|winter|c\.|ca\.)\s+(?:1[6-9]|20)[0-9]{2}(?:\s*[-–]\s*(?:1[6-9]|20)[0-9]{2})?\b"
                    .to_string(),
            ),
            (Form::Decade, r"(?-u)\b(?:1[6-9]|20)\d0s\b|'\d0s\b".to_string()),
        ]
    }

    /// Validates one candidate of `form` at `at`.
    pub(super) fn judge(&self, form: Form, text: &str, at: Range<usize>) -> Option<Piece> {
        let s = &text[at.clone()];
        // Bytes at the start of the candidate that are not part of the date.
        let mut lead_cut = 0;
        let class = match form {
            Form::YearFirst => {
                let date = s.split(['T', ' ']).next().unwrap_or(s);
                let (nums, seps) = numbers(date);
                if !free_standing(text, &at) || seps[0] != seps[1] || !valid(nums[0], nums[1], nums[2]) {
                    return None;
                }
                Class::Day
            }
            Form::Numeric => {
                let (nums, seps) = numbers(s);
                if !free_standing(text, &at) || seps[0] != seps[1] || super::looks_like_version(text, at.start) {
                    return None;
                }
                let parts: Vec<&str> = s.split(['-', '/', '.']).collect();
                let (a, b, y) = (nums[0], nums[1], nums[2]);
                // "1.2.10" is a version; a dotted date with a two-digit year
                // writes day and month with two digits ("05.03.24").
                let short_year = parts.get(2).is_some_and(|p| p.len() == 2);
                if seps[0] == '.' && short_year && parts.iter().take(2).any(|p| p.len() < 2) {
                    return None;
                }
                let year = if short_year { 2000 + y } else { y };
                if !(valid(year, b, a) || valid(year, a, b)) {
                    return None;
                }
                Class::Day
            }
            Form::DayMonth | Form::MonthDay => {
                let (start, month) = self.month_in(s)?;
                let (days, year) = days_and_year(s);
                if days.is_empty() || !days.iter().all(|d| valid(year.unwrap_or(2000), u32::from(month), *d)) {
                    return None;
                }
                // A weekday before the date that fails its case ("sat March
                // 5", "do 5 March") is left out of the span.
                let lead = if form == Form::MonthDay { start } else { s.find(|c: char| c.is_ascii_digit())? };
                if s[..lead].contains(char::is_alphabetic) && !self.weekday_written(&s[..lead]) {
                    lead_cut = lead;
                }
                Class::Day
            }
            Form::MonthYear => {
                // "31 February 2024" is a day that does not exist, not a
                // month of a year.
                if self.month_in(s).is_none() || after_day(&text[..at.start]) {
                    return None;
                }
                Class::MonthYear
            }
            Form::Weekday => {
                if !self.weekday_written(s) {
                    return None;
                }
                Class::Weekday
            }
            Form::WeekdayRange => {
                let mut ends = s.splitn(2, ['-', '–']).map(|w| w.trim_matches(|c: char| c.is_whitespace() || c == '.'));
                if !ends.all(|w| self.weekday_written(w)) {
                    return None;
                }
                Class::Weekday
            }
            Form::Clock | Form::Hour => {
                // Ranges of times are written with a dash ("9:00-17:00").
                if !free_standing(text, &at) && !in_range_of_times(text, &at) {
                    return None;
                }
                Class::Time
            }
            Form::Year => {
                let rest = text[at.end..].trim_start();
                let next: String = rest.chars().take_while(|c| c.is_alphabetic()).collect::<String>().to_lowercase();
                let decimal = text[at.end..].starts_with(['.', ','])
                    && text[at.end + 1..].starts_with(|c: char| c.is_ascii_digit());
                let word_after = rest.starts_with(char::is_alphanumeric);
                if decimal || (word_after && !AFTER_YEAR.contains(&next.as_str())) {
                    return None;
                }
                let digits = s.find(|c: char| c.is_ascii_digit()).unwrap_or(0);
                return Some(Piece { span: at.start + digits..at.end, class: Class::Year });
            }
            Form::Decade => Class::Decade,
        };
        // "on the 6th of March." ends a sentence.
        let mut span = at.start + lead_cut..at.end;
        if let Some(body) = s.strip_suffix('.') {
            let last = body.rsplit(|c: char| !c.is_alphabetic()).next().unwrap_or_default();
            if self.full.contains(&last.to_lowercase()) {
                span.end -= 1;
            }
        }
        Some(Piece { span, class })
    }

    /// Joins touching pieces and pieces joined by "at", "to", "-", ... into
    /// findings, and names birth dates.
    pub(super) fn findings(&self, text: &str, mut pieces: Vec<Piece>, birth: &Words) -> Vec<RawFinding> {
        pieces.sort_by_key(|p| (p.span.start, std::cmp::Reverse(p.span.end)));
        let mut groups: Vec<(Range<usize>, Vec<Class>)> = Vec::new();
        for p in pieces {
            if let Some((span, classes)) = groups.last_mut() {
                if p.span.start <= span.end || joined(&text[span.end..p.span.start]) {
                    span.end = span.end.max(p.span.end);
                    classes.push(p.class);
                    continue;
                }
            }
            groups.push((p.span, vec![p.class]));
        }
        let mut out = Vec::with_capacity(groups.len());
        let mut last_calendar_end: Option<usize> = None;
        for (span, classes) in groups {
            let score = classes.iter().map(|c| c.score()).fold(0.0, f64::max);
            let calendar = classes.iter().any(|c| c.calendar());
            // The birth word belongs to the first date after it.
            let birth_date = calendar
                && birth.near(text, &span) == Near::Supports
                && birth.before(text, &span).is_none_or(|word_end| last_calendar_end.is_none_or(|end| end <= word_end));
            if calendar {
                last_calendar_end = Some(span.end);
            }
            let (category, score, message) = if birth_date {
                ("pii.date_of_birth", score.max(0.85), "date of birth (named nearby)")
            } else {
                ("pii.date_time", score, "date or time")
            };
            out.push(RawFinding { category: category.into(), score, span, message: message.into() });
        }
        out
    }

    /// The byte offset of the first month name in `s` written as its case
    /// rule asks, and its month.
    fn month_in(&self, s: &str) -> Option<(usize, u8)> {
        words(s).find_map(|(at, w)| {
            let (month, case) = self.months.get(&w.to_lowercase())?;
            written(w, *case).then_some((at, *month))
        })
    }

    /// Whether `s` holds a weekday name written as its case rule asks.
    fn weekday_written(&self, s: &str) -> bool {
        words(s).any(|(_, w)| self.weekdays.get(&w.to_lowercase()).is_some_and(|(_, case)| written(w, *case)))
    }
}

/// The words of `s` (letters and inner hyphens) with their offsets.
fn words(s: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        let part = c.is_alphabetic() || (c == '-' && start.is_some());
        match (part, start) {
            (true, None) => start = Some(i),
            (false, Some(st)) => {
                out.push((st, &s[st..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(st) = start {
        out.push((st, &s[st..]));
    }
    out.into_iter()
}

fn written(word: &str, case: Case) -> bool {
    match case {
        Case::Any => true,
        Case::Capitalised => word.chars().next().is_some_and(char::is_uppercase),
        Case::Lower => word.chars().all(|c| !c.is_uppercase()),
    }
}

/// The numbers of a numeric date and the separators between them.
fn numbers(s: &str) -> (Vec<u32>, Vec<char>) {
    let mut nums = Vec::new();
    let mut seps = Vec::new();
    let mut n: Option<u32> = None;
    for c in s.chars() {
        match c.to_digit(10) {
            Some(d) => n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d)),
            None => {
                if let Some(v) = n.take() {
                    nums.push(v);
                    seps.push(c);
                }
            }
        }
    }
    nums.extend(n);
    nums.resize(3, 0);
    seps.resize(2, ' ');
    (nums, seps)
}

/// The day numbers (one, or two for a range) and the year (four digits, or
/// `'yy`) of a date written with a month name.
fn days_and_year(s: &str) -> (Vec<u32>, Option<u32>) {
    let mut days = Vec::new();
    let mut year = None;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let Ok(n) = s[start..i].parse::<u32>() else { continue };
        match i - start {
            4 => year = Some(n),
            2 if s[..start].ends_with('\'') => year = Some(2000 + n),
            1 | 2 => days.push(n),
            _ => {}
        }
    }
    (days, year)
}

/// Whether `day` `month` `year` is a date of the calendar.
fn valid(year: u32, month: u32, day: u32) -> bool {
    let (Ok(year), Ok(month), Ok(day)) = (i32::try_from(year), u8::try_from(month), u8::try_from(day)) else {
        return false;
    };
    Month::try_from(month).is_ok_and(|m| Date::from_calendar_date(year, m, day).is_ok())
}

/// Not the middle of a longer run of numbers: an IP address, a version, a
/// path of numbers.
fn free_standing(text: &str, span: &Range<usize>) -> bool {
    clear_before(text, span.start) && clear_after(text, span.end)
}

/// Nothing before `at` that continues a word or a number ("v1", "10.1.").
fn clear_before(text: &str, at: usize) -> bool {
    let before: Vec<char> = text[..at].chars().rev().take(2).collect();
    match before.as_slice() {
        [c, ..] if c.is_alphanumeric() => false,
        ['.' | ':' | '/' | '-', d, ..] => !d.is_ascii_digit(),
        _ => true,
    }
}

/// Nothing after `at` that continues a word or a number ("1st", ".5").
fn clear_after(text: &str, at: usize) -> bool {
    let after: Vec<char> = text[at..].chars().take(2).collect();
    match after.as_slice() {
        [c, ..] if c.is_alphanumeric() => false,
        ['.' | ':' | '/' | '-', d, ..] => !d.is_ascii_digit(),
        _ => true,
    }
}

/// Whether the text before a month name ends in a day ("31", "31st of",
/// "31.").
fn after_day(before: &str) -> bool {
    let mut b = before.trim_end();
    for word in ["of", "de", "del"] {
        if let Some(rest) = b.strip_suffix(word).filter(|r| r.ends_with(char::is_whitespace)) {
            b = rest.trim_end();
        }
    }
    let b = b.trim_end_matches('.').trim_end_matches(|c: char| c.is_alphabetic() && c.is_lowercase());
    b.ends_with(|c: char| c.is_ascii_digit())
}

/// A time that is one end of a range written with a dash ("9am-5pm",
/// "09:00-17:00"), and otherwise stands alone.
fn in_range_of_times(text: &str, span: &Range<usize>) -> bool {
    let dash_before = text[..span.start].ends_with(['-', '–']);
    let dash_after = text[span.end..].starts_with(['-', '–']);
    match (dash_before, dash_after) {
        (true, true) => true,
        (true, false) => clear_after(text, span.end),
        (false, true) => clear_before(text, span.start),
        (false, false) => false,
    }
}

/// Whether the text between two pieces joins them into one.
fn joined(gap: &str) -> bool {
    gap.len() <= 12 && {
        let g = gap.trim_matches(|c: char| c.is_whitespace() || c == ',').to_lowercase();
        JOINERS.contains(&g.as_str())
    }
}
