//! Domain names and the hosts of URLs: `https://shop.example.co.uk/cart`,
//! `www.example.org`, `example.com`.
//!
//! A candidate is a run of dot-separated labels, perhaps after a scheme or
//! `www.`. Its suffix must be on Mozilla's Public Suffix List (the `psl`
//! crate), with a label before it ("co.uk" alone is a suffix, not a name).
//! A bare name must also look like one as people type it
//! (`rules/pii-domain.toml`): a lower-case top-level domain that is a
//! country code or one of the generic ones people write without a scheme,
//! and, for country codes that are also words or file extensions
//! (`main.rs`, `setup.py`, `did.it`), a path, a further label or a word such
//! as "website" nearby. What stands inside an e-mail address, a path or a
//! method call (`os.path.join`, `console.info(`) is not a domain here: the
//! address is `pii.email`, the rest is code.

use std::collections::BTreeSet;
use std::ops::Range;

use super::context::Words;

const TLDS: &str = include_str!("../../../rules/pii-domain.toml");

/// The candidate pattern: an optional scheme or `www.`, then labels of
/// letters, digits and inner hyphens, the last starting with a letter.
pub(super) const PATTERN: &str = r"(?i-u)(?:\b(?:https?|ftps?|sftp|wss?)://|\bwww\.)?\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?\b";

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    bare: Vec<String>,
    ambiguous: Vec<String>,
}

pub(super) struct Domains {
    /// Generic top-level domains a bare name may end in.
    bare: BTreeSet<String>,
    /// Country codes that need more than their shape.
    ambiguous: BTreeSet<String>,
}

impl Domains {
    pub(super) fn new() -> Result<Self, String> {
        let file: File = toml::from_str(TLDS).map_err(|e| format!("rules/pii-domain.toml: {e}"))?;
        let lower = |v: Vec<String>| v.into_iter().map(|s| s.to_ascii_lowercase()).collect::<BTreeSet<_>>();
        Ok(Self { bare: lower(file.bare), ambiguous: lower(file.ambiguous) })
    }

    /// Judges one candidate at `at`: the span of the host and the score, if
    /// it is a domain name.
    pub(super) fn judge(&self, text: &str, at: Range<usize>, words: &Words) -> Option<(Range<usize>, f64)> {
        let candidate = &text[at.clone()];
        let host_at = candidate.find("://").map_or(0, |i| i + 3);
        let host = &candidate[host_at..];
        let with_scheme = host_at > 0;
        let www = host.len() > 4 && host[..4].eq_ignore_ascii_case("www.");
        let before = text[..at.start].chars().next_back();
        let after = text[at.end..].chars().next();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '@') || after == Some('@') {
            return None;
        }
        let lower = host.to_ascii_lowercase();
        let suffix = psl::suffix(lower.as_bytes())?;
        let labels = lower.split('.').count();
        let suffix_labels = suffix.as_bytes().split(|b| *b == b'.').count();
        let registrable = labels > suffix_labels || suffix.typ() == Some(psl::Type::Private);
        if !suffix.is_known() || !registrable {
            return None;
        }
        if with_scheme || www {
            return Some((at.start + host_at..at.end, 0.85));
        }
        // A bare name: not part of a path, a member or a call.
        if before.is_some_and(|c| "./\\_-$#~".contains(c)) || matches!(after, Some('(' | '_' | '$')) {
            return None;
        }
        let tld_written = host.rsplit('.').next().unwrap_or_default();
        let tld = tld_written.to_ascii_lowercase();
        if tld_written != tld {
            return None;
        }
        let country = tld.len() == 2;
        if !country && !self.bare.contains(&tld) {
            return None;
        }
        // Only a word before the name: a label after it ("sqlmap.py --url") is
        // an option of the command the file is.
        let near = words.before(text, &at).is_some();
        if country && self.ambiguous.contains(&tld) && suffix_labels == 1 {
            let path = text[at.end..].strip_prefix('/').and_then(|r| r.chars().next());
            let more = labels > 2 || path.is_some_and(|c| c.is_alphanumeric() || "~_-".contains(c)) || near;
            if !more {
                return None;
            }
        }
        Some((at, if near { 0.8 } else { 0.7 }))
    }
}
