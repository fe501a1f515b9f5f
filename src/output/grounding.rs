//! Ungrounded claims: each sentence of an output is checked against the
//! documents the answer was supposed to be based on.
//!
//! Three kinds of evidence, strongest first:
//!
//! 1. **Quantities** (amounts, percentages, durations, dates, counts) in the
//!    claim must appear in the documents (or in the user's input or system
//!    prompt). One that contradicts a quantity of the same kind in the closest
//!    passage ("60 months" against "24 months") or appears nowhere is a
//!    finding; equal values written differently ("two years", "24 months")
//!    are not.
//! 2. **Names**: capitalised words inside the claim that no document, input
//!    or system prompt mentions.
//! 3. **Semantic support**: the closest passage by encoder similarity; below
//!    the threshold the claim is unsupported, unless its values ground it.
//!
//! Grounded by value: a claim that restates a passage's figures in other
//! words ("you have twenty-five days off each year" for "employees get 25
//! days of annual leave") can score below the similarity threshold. When
//! the claim states a value with a unit (a percentage, an amount, a
//! duration, a date), every value it states is stated in the documents, one
//! of them in the passage the claim matches or its neighbours (a claim may
//! merge figures from adjacent sentences), and its names pass the checks
//! above, the values are its support and the semantic rule does not flag it.
//! Bare numbers alone (a count, a year) do not ground a claim: "in 2023 the
//! bank closed its branches" says more than its year.
//!
//! One finding per claim, for its strongest reason, with the claim's span and
//! the closest passage as evidence.

use std::collections::HashSet;
use std::ops::Range;

use super::quantity::{self, Quantity};
use super::text::{self, Sentence};
use crate::detect::{Evidence, Finding};

pub const DETECTOR: &str = "grounding";

/// A sentence of a document, with where it is.
#[derive(Debug, Clone)]
pub struct Passage<'a> {
    /// `document:<id>`.
    pub source: String,
    pub doc: usize,
    pub text: &'a str,
    pub span: Range<usize>,
}

pub struct Claims<'a> {
    pub output: &'a str,
    pub claims: Vec<Sentence<'a>>,
}

/// Sentences worth checking: statements of at least four words.
pub fn claims(output: &str) -> Claims<'_> {
    let claims = text::sentences(output)
        .into_iter()
        .filter(|s| !s.text.trim_end().ends_with('?') && text::words(s.text).len() >= 4)
        .collect();
    Claims { output, claims }
}

pub fn passages<'a>(documents: &[(String, &'a str)]) -> Vec<Passage<'a>> {
    let mut out = Vec::new();
    for (doc, (source, body)) in documents.iter().enumerate() {
        for s in text::sentences(body) {
            out.push(Passage { source: source.clone(), doc, text: s.text, span: s.span });
        }
    }
    out
}

const NOT_NAMES: &[&str] = &[
    "i",
    "i'm",
    "i've",
    "i'll",
    "i'd",
    "ok",
    "okay",
    "yes",
    "no",
    "please",
    "note",
    "however",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Capitalised words that look like names (after the sentence's first word
/// when `skip_first`): (lower-cased form, as written).
fn names_in(sentence: &str, skip_first: bool) -> Vec<(String, &str)> {
    text::words(sentence)
        .into_iter()
        .skip(usize::from(skip_first))
        .filter(|w| {
            let raw = &sentence[w.span.clone()];
            raw.chars().next().is_some_and(char::is_uppercase)
                && raw.chars().count() >= 2
                && raw.chars().all(|ch| ch.is_alphabetic() || ch == '-' || ch == '\'')
                && !NOT_NAMES.contains(&w.norm.as_str())
        })
        .map(|w| {
            let raw = &sentence[w.span.clone()];
            (w.norm, raw)
        })
        .collect()
}

/// Everything a claim may draw on besides the documents.
pub struct Context<'a> {
    pub input: &'a str,
    pub system_prompt: &'a str,
}

pub struct Check<'a> {
    pub claims: &'a Claims<'a>,
    pub claim_embeddings: Option<&'a [Vec<f32>]>,
    pub passages: &'a [Passage<'a>],
    pub passage_embeddings: Option<&'a [Vec<f32>]>,
    pub documents: &'a [(String, &'a str)],
    pub context: Context<'a>,
    /// Below this cosine similarity to every passage a claim is unsupported.
    pub min_similarity: f32,
}

pub fn check(c: &Check<'_>) -> Vec<Finding> {
    let doc_quantities: Vec<Quantity> = c.documents.iter().flat_map(|(_, d)| quantity::extract(d)).collect();
    let context_quantities: Vec<Quantity> =
        [c.context.input, c.context.system_prompt].iter().flat_map(|t| quantity::extract(t)).collect();
    let known_words: HashSet<String> = c
        .documents
        .iter()
        .map(|(_, d)| *d)
        .chain([c.context.input, c.context.system_prompt])
        .flat_map(|t| text::words(t).into_iter().map(|w| w.norm))
        .collect();
    let passage_quantities: Vec<Vec<Quantity>> = c.passages.iter().map(|p| quantity::extract(p.text)).collect();

    let mut out = Vec::new();
    for (i, claim) in c.claims.claims.iter().enumerate() {
        // The closest passage by meaning, if the encoder ran.
        let best = match (c.claim_embeddings, c.passage_embeddings) {
            (Some(ce), Some(pe)) if !pe.is_empty() => {
                pe.iter().enumerate().map(|(j, e)| (j, text::cosine(&ce[i], e))).max_by(|a, b| a.1.total_cmp(&b.1))
            }
            _ => None,
        };
        let evidence = |j: usize, sim: f32| Evidence {
            source: c.passages[j].source.clone(),
            span: c.passages[j].span.clone(),
            similarity: f64::from(sim),
        };
        let finding = |score: f64, message: String, evidence: Option<Evidence>| Finding {
            category: "ungrounded".into(),
            score,
            detector: DETECTOR,
            source: "output".into(),
            span: claim.span.clone(),
            message,
            evidence,
        };

        // The passage the claim matches and its neighbours in the same
        // document: where its values and names should come from.
        let near: Vec<usize> = match best {
            Some((j, _)) => (j.saturating_sub(1)..=(j + 1).min(c.passages.len() - 1))
                .filter(|&k| c.passages[k].doc == c.passages[j].doc)
                .collect(),
            None => Vec::new(),
        };
        // The closest passage supports the claim only if the encoder says so.
        let supported_by_best = best.is_some_and(|(_, sim)| sim >= c.min_similarity);

        // 1. Quantities.
        let neighbourhood: Vec<(usize, &Quantity)> =
            near.iter().flat_map(|&k| passage_quantities[k].iter().map(move |q| (k, q))).collect();
        let claim_quantities = quantity::extract(claim.text);
        let mut reported = false;
        for q in &claim_quantities {
            let stated = &claim.text[q.span.clone()];
            let same_kind: Vec<&(usize, &Quantity)> = neighbourhood.iter().filter(|(_, n)| n.same_kind(q)).collect();
            let (score, why) = if doc_quantities.iter().chain(&context_quantities).any(|d| q.restates(d)) {
                // Stated somewhere, but the passage this claim matches says
                // something else of the same kind and the claim repeats none
                // of it: a value moved from another passage ("personal loans
                // run 60 months" where 60 months is the business loans' term).
                let repeats_one = same_kind.iter().any(|(_, n)| claim_quantities.iter().any(|cq| cq.equals(n)));
                if !supported_by_best || same_kind.is_empty() || repeats_one {
                    continue;
                }
                (0.75, format!(" (\"{stated}\" is stated elsewhere, not in the passage this claim matches)"))
            } else {
                (0.9, String::new())
            };
            let sim = best.map_or(0.0, |(_, s)| s);
            // Of the passage's values of this kind, the one the claim most
            // likely restates wrongly: the nearest ("12 weeks" against "16
            // weeks", not against "25 days" earlier in the sentence).
            let distance = |n: &Quantity| {
                let ratio = (q.value / n.value).abs().ln().abs();
                if ratio.is_finite() {
                    ratio
                } else {
                    f64::INFINITY
                }
            };
            match same_kind.iter().min_by(|a, b| distance(a.1).total_cmp(&distance(b.1))) {
                Some((k, other)) => {
                    let p = &c.passages[*k];
                    let said = &p.text[other.span.clone()];
                    out.push(finding(
                        score,
                        format!("the claim says \"{stated}\" where {} says \"{said}\"{why}", p.source),
                        Some(evidence(*k, sim)),
                    ));
                }
                None => out.push(finding(
                    0.8,
                    format!("\"{stated}\" appears in no document, nor in the input or system prompt"),
                    best.map(|(j, s)| evidence(j, s)),
                )),
            }
            reported = true;
            break;
        }
        if reported {
            continue;
        }

        // 2. Names no source mentions.
        let names = names_in(claim.text, true);
        let missing: Vec<&str> =
            names.iter().filter(|(norm, _)| !known_words.contains(norm)).map(|(_, raw)| *raw).collect();
        if !missing.is_empty() {
            out.push(finding(
                0.7,
                format!("names {} that no document, input or system prompt mentions", missing.join(", ")),
                best.map(|(j, s)| evidence(j, s)),
            ));
            continue;
        }
        // Names swapped: the passage this claim matches names someone else,
        // and the claim's name comes from another passage ("Globex approved
        // ..." where the matching passage says Acme).
        if let Some((j, sim)) = best.filter(|_| supported_by_best) {
            let near_words: HashSet<String> =
                near.iter().flat_map(|&k| text::words(c.passages[k].text).into_iter().map(|w| w.norm)).collect();
            let claim_words: HashSet<String> = text::words(claim.text).into_iter().map(|w| w.norm).collect();
            let foreign: Vec<&str> =
                names.iter().filter(|(norm, _)| !near_words.contains(norm)).map(|(_, raw)| *raw).collect();
            let passage_names = names_in(c.passages[j].text, false);
            let shares_one = passage_names.iter().any(|(p, _)| names.iter().any(|(n, _)| n == p));
            let theirs: Vec<&str> =
                passage_names.iter().filter(|(norm, _)| !claim_words.contains(norm)).map(|(_, raw)| *raw).collect();
            if !foreign.is_empty() && !theirs.is_empty() && !shares_one {
                out.push(finding(
                    0.65,
                    format!(
                        "names {} where {} says {} (the name is stated elsewhere, not in the passage this claim matches)",
                        foreign.join(", "),
                        c.passages[j].source,
                        theirs.join(", ")
                    ),
                    Some(evidence(j, sim)),
                ));
                continue;
            }
        }

        // 3. Semantic support, unless the claim's values ground it.
        let grounded_by_value = claim_quantities.iter().any(Quantity::has_unit)
            && claim_quantities.iter().all(|q| doc_quantities.iter().any(|d| q.restates(d)))
            && claim_quantities.iter().any(|q| neighbourhood.iter().any(|(_, n)| q.restates(n)));
        if let Some((j, sim)) = best.filter(|_| !grounded_by_value) {
            if sim < c.min_similarity {
                let gap = f64::from((c.min_similarity - sim) / c.min_similarity);
                out.push(finding(
                    (0.6 + 0.4 * gap).clamp(0.6, 1.0),
                    format!(
                        "no document passage supports this claim (closest: {} bytes {}..{}, similarity {sim:.2})",
                        c.passages[j].source, c.passages[j].span.start, c.passages[j].span.end
                    ),
                    Some(evidence(j, sim)),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(output: &str, docs: &[&str]) -> Vec<Finding> {
        let documents: Vec<(String, &str)> =
            docs.iter().enumerate().map(|(i, d)| (format!("document:d{i}"), *d)).collect();
        let cl = claims(output);
        let ps = passages(&documents);
        check(&Check {
            claims: &cl,
            claim_embeddings: None,
            passages: &ps,
            passage_embeddings: None,
            documents: &documents,
            context: Context { input: "", system_prompt: "" },
            min_similarity: 0.5,
        })
    }

    const TERMS: &str = "Personal loans run for 24 months. The annual rate is 6.5% and the fee is €150. \
                         Acme Bank approved 4.2 million loans in 2023.";

    #[test]
    fn numbers_that_contradict_or_do_not_appear() {
        let f = run("Your loan runs for 60 months with no surprises.", &[TERMS]);
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("\"60 months\"") && f[0].message.contains("appears in no document"), "{f:?}");
        let f = run("Acme Bank approved 6.9 million loans that year.", &[TERMS]);
        assert!(f[0].message.contains("6.9 million"), "{f:?}");
    }

    /// Like `run`, with chosen embeddings: claim `i` is closest to passage
    /// `closest[i]` (similarity 0.9), orthogonal to the others.
    fn run_embedded(output: &str, docs: &[&str], closest: &[usize]) -> Vec<Finding> {
        run_at(output, docs, closest, 0.9)
    }

    /// Like `run_embedded`, with the claims' similarity to their closest
    /// passage chosen (the threshold is 0.5).
    fn run_at(output: &str, docs: &[&str], closest: &[usize], similarity: f32) -> Vec<Finding> {
        let documents: Vec<(String, &str)> =
            docs.iter().enumerate().map(|(i, d)| (format!("document:d{i}"), *d)).collect();
        let cl = claims(output);
        let ps = passages(&documents);
        let dim = ps.len() + 1;
        let unit = |i: usize, w: f32| {
            let mut v = vec![0.0f32; dim];
            v[i] = w;
            v[dim - 1] = (1.0 - w * w).sqrt();
            v
        };
        let pe: Vec<Vec<f32>> = (0..ps.len()).map(|j| unit(j, 1.0)).collect();
        let ce: Vec<Vec<f32>> = closest.iter().map(|&j| unit(j, similarity)).collect();
        assert_eq!(ce.len(), cl.claims.len());
        check(&Check {
            claims: &cl,
            claim_embeddings: Some(&ce),
            passages: &ps,
            passage_embeddings: Some(&pe),
            documents: &documents,
            context: Context { input: "", system_prompt: "" },
            min_similarity: 0.5,
        })
    }

    const BUSINESS: &str = "Business loans run for 60 months. Their fee is €400.";

    #[test]
    fn a_value_from_another_passage_contradicts_the_matching_one() {
        // The claim paraphrases TERMS' first sentence (24 months) but carries
        // the business loans' 60 months.
        let f = run_embedded("Personal loans run for 60 months.", &[TERMS, BUSINESS], &[0]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].message.contains("\"60 months\" where document:d0 says \"24 months\""), "{f:?}");
        assert_eq!(f[0].evidence.as_ref().unwrap().source, "document:d0");
        // A value absent from every document, next to a contradicting passage.
        let f = run_embedded("Personal loans run for 36 months.", &[TERMS, BUSINESS], &[0]);
        assert!(f[0].message.contains("\"36 months\" where document:d0 says \"24 months\""), "{f:?}");
        // Values that match their passage, and a claim combining two passages,
        // are grounded.
        assert!(run_embedded("Business loans run for five years.", &[TERMS, BUSINESS], &[3]).is_empty());
        assert!(run_embedded("The fee is €150, or €400 for business loans.", &[TERMS, BUSINESS], &[1]).is_empty());
    }

    #[test]
    fn a_name_from_another_passage_contradicts_the_matching_one() {
        let partners = "Loans at Globex Bank are insured by Initech.";
        let f = run_embedded("The bank Globex approved 4.2 million loans in 2023.", &[TERMS, partners], &[2]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].message.contains("names Globex where document:d0 says Acme"), "{f:?}");
        // Names the matching passage itself uses, or a claim adding a second
        // party it knows from elsewhere next to the passage's own, pass.
        assert!(run_embedded("That year Acme Bank approved 4.2 million loans in 2023.", &[TERMS, partners], &[2])
            .is_empty());
        assert!(
            run_embedded("In 2023 Acme and Globex approved 4.2 million loans.", &[TERMS, partners], &[2]).is_empty()
        );
    }

    #[test]
    fn equal_values_written_differently_are_grounded() {
        assert!(run("The loan runs for two years at 6.5 percent.", &[TERMS]).is_empty());
        assert!(run("Acme Bank approved 4,200,000 loans in 2023.", &[TERMS]).is_empty());
    }

    #[test]
    fn names_no_source_mentions() {
        let f = run("Globex Corporation guarantees every loan for you.", &[TERMS]);
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("Corporation"), "{f:?}");
        assert!(run("The Acme Bank fee is small.", &[TERMS]).is_empty());
    }

    const LEAVE: &str = "Employees get 25 days of annual leave; up to 5 days carry over to the next year; \
                         parental leave is 16 weeks.";
    const LEAVE_SPLIT: &str = "Employees get 25 days of annual leave. Up to 5 days carry over to the next year. \
                               Staff may request unpaid leave. Parental leave is 16 weeks.";

    /// Restatements far from their passage by meaning (similarity 0.3, the
    /// threshold 0.5): the values decide.
    #[test]
    fn faithful_restatements_are_grounded_by_their_values() {
        for (claim, docs) in [
            ("You have twenty-five days off each year, and you can carry five of them into next year.", &[LEAVE]),
            ("You get 25 days off a year and can take 5 of them into next year.", &[LEAVE]),
            ("New parents get sixteen weeks off.", &[LEAVE]),
            // Figures merged from two adjacent sentences of one document.
            ("Of your 25 days, up to 5 days can move into next year.", &[LEAVE_SPLIT]),
        ] {
            let f = run_at(claim, docs, &[0], 0.3);
            assert!(f.is_empty(), "{claim}: {f:?}");
        }
        // Figures split over two claims, each matching its own passage.
        assert!(
            run_at("You get 25 days of leave. Five days of it carry over.", &[LEAVE_SPLIT], &[0, 1], 0.3).is_empty()
        );
    }

    /// (claim, document, closest passage, what the one finding says), at
    /// similarity 0.3.
    #[test]
    fn restatements_with_a_wrong_or_extra_value_stay_findings() {
        let cases: &[(&str, &str, usize, &str)] = &[
            (
                "You have twenty days off each year, and you can carry five of them over.",
                LEAVE,
                0,
                "\"twenty days\" where document:d0 says \"25 days\"",
            ),
            // The nearest value of the kind is named, not the first.
            (
                "Parental leave lasts 12 weeks for everyone.",
                LEAVE,
                0,
                "\"12 weeks\" where document:d0 says \"16 weeks\"",
            ),
            ("Parental leave lasts 16 weeks at 80% of your salary.", LEAVE, 0, "\"80%\" appears in no document"),
            // Values that match, with a name no source mentions.
            ("Parental leave at Globex lasts 16 weeks.", LEAVE, 0, "names Globex"),
            // Claims without a value with a unit keep the semantic rule: no
            // values at all, or a bare year, which says little about the claim.
            ("You can take time off whenever you like.", LEAVE, 0, "no document passage supports"),
            ("In 2023 Acme Bank closed all of its branches.", TERMS, 2, "no document passage supports"),
            // The value is stated, but only far from the passage the claim matches.
            ("Staff may take 16 weeks of unpaid leave.", LEAVE_SPLIT, 0, "no document passage supports"),
        ];
        for (claim, doc, closest, says) in cases {
            let f = run_at(claim, &[doc], &[*closest], 0.3);
            assert_eq!(f.len(), 1, "{claim}: {f:?}");
            assert!(f[0].message.contains(says), "{claim}: {f:?}");
        }
        // Above the threshold the values change nothing.
        assert!(run_at("Parental leave lasts 16 weeks.", &[LEAVE], &[0], 0.9).is_empty());
    }

    #[test]
    fn questions_and_fragments_are_not_claims() {
        assert!(run("Want a loan for 60 months? Sure.", &[TERMS]).is_empty());
    }
}
