//! Nationalities, ethnic groups, religions and political groups (`pii.nrp`):
//! "American", "Hispanic", "Catholic", "Muslims", "Democrat", "far-right".
//!
//! The words are data (`rules/pii-nrp.toml`, written for Warden, CC0),
//! found in one Aho-Corasick pass on whole words, longest first. Matching is
//! case-aware: an entry written with capitals must be written with them
//! ("Catholic", not "catholic tastes"; "Polish", not "polish the silver").
//! A word is not a group of people when the next word makes it a thing
//! ("French fries", "Indian Ocean", "American Airlines"), nor, for the
//! names of languages, when the word before or after makes it the language
//! ("speaks French", "in English", "Spanish translation").
//!
//! Religion, political opinion and ethnic origin are special categories of
//! personal data (GDPR Art. 9); each finding's message says which.

use std::collections::{BTreeMap, HashSet};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::context::whole_word;
use super::RawFinding;

const WORDS: &str = include_str!("../../../rules/pii-nrp.toml");

const SCORE: f64 = 0.7;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    groups: BTreeMap<String, Group>,
    not: Not,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Group {
    message: String,
    words: Vec<String>,
    #[serde(default)]
    languages: Vec<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Not {
    after: Vec<String>,
    before_language: Vec<String>,
    after_language: Vec<String>,
}

/// One entry of the word list.
struct Entry {
    /// As written in the list: its capitals must be in the text.
    written: String,
    /// Index into `Nrp::messages`.
    group: usize,
    /// Also the name of a language.
    language: bool,
}

pub(super) struct Nrp {
    matcher: AhoCorasick,
    /// By pattern id.
    entries: Vec<Entry>,
    messages: Vec<String>,
    not_after: HashSet<String>,
    before_language: HashSet<String>,
    after_language: HashSet<String>,
}

impl Nrp {
    pub(super) fn new() -> Result<Self, String> {
        let file: File = toml::from_str(WORDS).map_err(|e| format!("rules/pii-nrp.toml: {e}"))?;
        let mut entries: Vec<Entry> = Vec::new();
        let mut messages = Vec::new();
        let mut seen = HashSet::new();
        for (name, g) in file.groups {
            let group = messages.len();
            messages.push(g.message);
            for word in g.words {
                // The typographic apostrophe too ("Jehovah’s Witness").
                let curly = word.contains('\'').then(|| word.replace('\'', "\u{2019}"));
                for written in std::iter::once(word).chain(curly) {
                    if !seen.insert(written.to_lowercase()) {
                        return Err(format!("rules/pii-nrp.toml [groups.{name}]: {written:?} is listed twice"));
                    }
                    let language = g.languages.contains(&written);
                    entries.push(Entry { written, group, language });
                }
            }
        }
        let matcher = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(entries.iter().map(|e| e.written.as_str()))
            .map_err(|e| format!("rules/pii-nrp.toml: {e}"))?;
        let lower = |v: Vec<String>| v.into_iter().map(|w| w.to_lowercase()).collect();
        Ok(Self {
            matcher,
            entries,
            messages,
            not_after: lower(file.not.after),
            before_language: lower(file.not.before_language),
            after_language: lower(file.not.after_language),
        })
    }

    pub(super) fn scan(&self, text: &str) -> Vec<RawFinding> {
        let mut out = Vec::new();
        for m in self.matcher.find_iter(text) {
            let entry = &self.entries[m.pattern().as_usize()];
            let mut end = m.end();
            // A plural: "Muslims", "Jews", "Lib Dems".
            if text[end..].starts_with('s') && !text[end + 1..].starts_with(char::is_alphanumeric) {
                end += 1;
            }
            if !whole_word(text, m.start(), end) || !capitals_kept(&entry.written, &text[m.start()..m.end()]) {
                continue;
            }
            let next = next_word(&text[end..]);
            if self.not_after.contains(&next) {
                continue;
            }
            let language = self.before_language.contains(&previous_word(&text[..m.start()]))
                || self.after_language.contains(&next);
            if entry.language && language {
                continue;
            }
            out.push(RawFinding {
                category: "pii.nrp".into(),
                score: SCORE,
                span: m.start()..end,
                message: self.messages[entry.group].clone(),
            });
        }
        out
    }
}

/// Whether every capital of the list's entry is a capital in the text.
fn capitals_kept(written: &str, found: &str) -> bool {
    written.chars().zip(found.chars()).all(|(w, f)| !w.is_uppercase() || f.is_uppercase())
}

/// The word after a match, lower case: after spaces or one hyphen
/// ("French-speaking"), with an inner apostrophe ("isn't").
fn next_word(rest: &str) -> String {
    let rest = rest.strip_prefix('-').unwrap_or(rest).trim_start();
    rest.chars().take_while(|c| c.is_alphabetic() || *c == '\'').flat_map(char::to_lowercase).collect()
}

/// The word before a match, lower case.
fn previous_word(before: &str) -> String {
    let before = before.trim_end();
    let start = before
        .rfind(|c: char| !c.is_alphabetic())
        .map_or(0, |i| i + before[i..].chars().next().map_or(1, char::len_utf8));
    before[start..].to_lowercase()
}
