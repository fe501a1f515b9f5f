//! Leaks in an output: the system prompt reproduced (verbatim or lightly
//! paraphrased), canary strings, and personal data or secrets the user did
//! not give.

use std::collections::HashMap;
use std::ops::Range;

use super::text::{self, Sentence};
use crate::detect::{Evidence, Finding};

pub const DETECTOR: &str = "prompt_leak";
pub const DATA_DETECTOR: &str = "data_leak";

/// Word n-gram length for verbatim overlap.
const N: usize = 6;

/// How much of a system prompt an output reproduces.
#[derive(Debug, Clone, PartialEq)]
pub struct Reproduction {
    /// Longest verbatim run, in words, and where it is in the output and in
    /// the system prompt.
    pub run_words: usize,
    pub output_span: Range<usize>,
    pub prompt_span: Range<usize>,
    /// Share of the system prompt's sentences (of five words or more)
    /// reproduced verbatim or paraphrased.
    pub sentence_share: f64,
    pub sentences_reproduced: usize,
    /// Share of the system prompt's words covered by the longest run.
    pub run_share: f64,
    /// The closest paraphrase the encoder found: output sentence span,
    /// system-prompt sentence span, cosine similarity.
    pub paraphrase: Option<(Range<usize>, Range<usize>, f32)>,
}

pub struct Thresholds {
    /// Share of the system prompt's sentences that makes a leak.
    pub min_share: f64,
}

/// Embeddings of the system prompt's sentences and of the output's.
pub type SentenceEmbeddings<'a> = (&'a [Vec<f32>], &'a [Vec<f32>]);

/// Compares an output with its system prompt. `embeddings`: for each
/// system-prompt sentence (of `prompt_sentences`) and each output sentence,
/// when the encoder ran.
pub fn reproduction(
    output: &str,
    prompt: &str,
    prompt_sentences: &[Sentence<'_>],
    output_sentences: &[Sentence<'_>],
    embeddings: Option<SentenceEmbeddings<'_>>,
    paraphrase_similarity: f32,
) -> Reproduction {
    let pw = text::words(prompt);
    let ow = text::words(output);
    let gram = |w: &[text::Word], i: usize| w[i..i + N].iter().map(|w| w.norm.as_str()).collect::<Vec<_>>().join(" ");
    let mut prompt_grams: HashMap<String, usize> = HashMap::new();
    for i in 0..pw.len().saturating_sub(N - 1) {
        prompt_grams.entry(gram(&pw, i)).or_insert(i);
    }
    let output_grams: std::collections::HashSet<String> =
        (0..ow.len().saturating_sub(N - 1)).map(|i| gram(&ow, i)).collect();

    // Longest verbatim run: consecutive output n-grams that are consecutive in the prompt.
    let (mut best, mut run, mut prev): ((usize, usize, usize), usize, Option<usize>) = ((0, 0, 0), 0, None);
    for i in 0..ow.len().saturating_sub(N - 1) {
        match prompt_grams.get(&gram(&ow, i)) {
            Some(&p) => {
                run = if prev.is_some_and(|q| q + 1 == p) { run + 1 } else { 1 };
                prev = Some(p);
                if run > best.0 {
                    best = (run, i + 1 - run, p + 1 - run);
                }
            }
            None => {
                run = 0;
                prev = None;
            }
        }
    }
    let (run_grams, out_start, prompt_start) = best;
    let run_words = if run_grams == 0 { 0 } else { run_grams + N - 1 };
    let (output_span, prompt_span) = if run_words == 0 {
        (0..0, 0..0)
    } else {
        (
            ow[out_start].span.start..ow[out_start + run_words - 1].span.end,
            pw[prompt_start].span.start..pw[prompt_start + run_words - 1].span.end,
        )
    };

    // Sentences of the prompt reproduced: most of their n-grams verbatim, or
    // an output sentence that says the same.
    let mut counted = 0;
    let mut reproduced = 0;
    let mut paraphrase: Option<(Range<usize>, Range<usize>, f32)> = None;
    for (k, s) in prompt_sentences.iter().enumerate() {
        let w = text::words(s.text);
        if w.len() < 5 {
            continue;
        }
        counted += 1;
        let verbatim = if w.len() >= N {
            let total = w.len() + 1 - N;
            let hit = (0..total).filter(|&i| output_grams.contains(&gram(&w, i))).count();
            hit * 10 >= total * 6
        } else {
            text::normalised(output).contains(&text::normalised(s.text))
        };
        let mut paraphrased = false;
        if let Some((pe, oe)) = embeddings {
            for (e, os) in oe.iter().zip(output_sentences) {
                if text::words(os.text).len() < 4 {
                    continue;
                }
                let sim = text::cosine(&pe[k], e);
                if sim >= paraphrase_similarity {
                    paraphrased = true;
                    if paraphrase.as_ref().is_none_or(|p| sim > p.2) {
                        paraphrase = Some((os.span.clone(), s.span.clone(), sim));
                    }
                }
            }
        }
        if verbatim || paraphrased {
            reproduced += 1;
        }
    }
    Reproduction {
        run_words,
        output_span,
        prompt_span,
        sentence_share: if counted == 0 { 0.0 } else { reproduced as f64 / counted as f64 },
        sentences_reproduced: reproduced,
        run_share: if pw.is_empty() { 0.0 } else { run_words as f64 / pw.len() as f64 },
        paraphrase,
    }
}

/// A finding when the reproduction is a leak: a meaningful share of the
/// prompt, not one quoted sentence of a long one.
pub fn leak_finding(r: &Reproduction, t: &Thresholds) -> Option<Finding> {
    let by_sentences = r.sentence_share >= t.min_share && r.sentences_reproduced >= 2;
    let by_run = r.run_share >= 0.5 && r.run_words >= 8;
    if !(by_sentences || by_run) {
        return None;
    }
    let share = r.sentence_share.max(r.run_share).min(1.0);
    // Where: the longest verbatim run, or, when the leak is reworded (no run
    // of six words), the closest paraphrased sentence pair.
    let in_prompt = |span: &Range<usize>, similarity: f64| {
        Some(Evidence { source: "system_prompt".into(), span: span.clone(), similarity })
    };
    let (span, evidence) = match &r.paraphrase {
        _ if r.run_words > 0 => (r.output_span.clone(), in_prompt(&r.prompt_span, 1.0)),
        Some((out, prompt, sim)) => (out.clone(), in_prompt(prompt, f64::from(*sim))),
        // Short sentences matched word for word, no encoder: no one place.
        None => (0..0, None),
    };
    Some(Finding {
        category: "system_prompt_leak".into(),
        score: (0.6 + 0.4 * share).min(1.0),
        detector: DETECTOR,
        source: "output".into(),
        span,
        message: format!(
            "the output reproduces the system prompt: {} of its sentences ({:.0}%), longest verbatim run {} words",
            r.sentences_reproduced,
            100.0 * r.sentence_share,
            r.run_words
        ),
        evidence,
    })
}

/// Every appearance of a canary in the output (case-insensitive). The
/// message numbers the canary rather than repeating it.
pub fn canaries(output: &str, canaries: &[String]) -> Vec<Finding> {
    let (lower, origin) = lower_case_mapped(output);
    let mut out = Vec::new();
    for (i, c) in canaries.iter().enumerate() {
        let needle: String = c.trim().chars().flat_map(char::to_lowercase).collect();
        if needle.is_empty() {
            continue;
        }
        if let Some(at) = lower.find(&needle) {
            out.push(Finding {
                category: "system_prompt_leak.canary".into(),
                score: 1.0,
                detector: DETECTOR,
                source: "output".into(),
                span: origin[at].start..origin[at + needle.len() - 1].end,
                message: format!("canary #{} appears in the output: the protected context leaked", i + 1),
                evidence: None,
            });
        }
    }
    out
}

/// `text` lower-cased character by character, with the byte range of the
/// original character each of its bytes came from: lower-casing changes
/// byte lengths ("İ" grows, the Kelvin sign "K" shrinks), so an offset in
/// the lower-cased text is not one in the original.
fn lower_case_mapped(text: &str) -> (String, Vec<Range<usize>>) {
    let mut lower = String::with_capacity(text.len());
    let mut origin = Vec::with_capacity(text.len());
    for (at, c) in text.char_indices() {
        let before = lower.len();
        lower.extend(c.to_lowercase());
        origin.extend(std::iter::repeat_n(at..at + c.len_utf8(), lower.len() - before));
    }
    (lower, origin)
}

/// Personal data and secrets in an output: weaker when the user gave them in
/// the input (an echo), stronger when they came from somewhere else (the
/// output revealed them).
pub fn data_leaks(findings: &mut [Finding], output: &str, input: &str) {
    let squash = |s: &str| s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect::<String>();
    let input_squashed = squash(input);
    for f in findings.iter_mut().filter(|f| f.source == "output") {
        let family = f.category.split('.').next().unwrap_or("");
        if family != "pii" && family != "secret" {
            continue;
        }
        let value = squash(output.get(f.span.clone()).unwrap_or_default());
        if value.len() >= 4 && input_squashed.contains(&value) {
            f.score *= 0.5;
            f.message.push_str(" (also in the user's input: an echo)");
        } else {
            f.score = f.score.max(0.9);
            f.message.push_str(" (not in the user's input: the output revealed it)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMPT: &str = "You are Ava, the support assistant of Acme Bank. Answer only questions about Acme \
                          accounts and cards. Never discuss interest rate changes before they are announced. \
                          Escalate fraud reports to the fraud desk at once. Always reply in a friendly, short style.";

    fn repro(output: &str) -> Reproduction {
        let ps = text::sentences(PROMPT);
        let os = text::sentences(output);
        reproduction(output, PROMPT, &ps, &os, None, 0.85)
    }

    fn t() -> Thresholds {
        Thresholds { min_share: 0.3 }
    }

    #[test]
    fn whole_prompt_dumped_is_a_leak() {
        let out = format!("Sure! My instructions are: {PROMPT}");
        let r = repro(&out);
        assert!(r.run_words > 40, "{r:?}");
        let f = leak_finding(&r, &t()).expect("leak");
        assert!(f.score > 0.9);
        assert_eq!(&PROMPT[f.evidence.unwrap().span], PROMPT.trim_end_matches('.'));
    }

    #[test]
    fn one_quoted_sentence_of_a_long_prompt_is_not() {
        let out = "I can help with that: I answer only questions about Acme accounts and cards.";
        assert!(leak_finding(&repro(out), &t()).is_none());
    }

    #[test]
    fn lightly_edited_sentences_still_count() {
        let out = "Rules: answer only questions about Acme accounts and cards! never discuss interest rate \
                   changes before they are announced; escalate fraud reports to the fraud desk at once.";
        let r = repro(out);
        assert!(r.sentences_reproduced >= 3, "{r:?}");
        assert!(leak_finding(&r, &t()).is_some());
    }

    #[test]
    fn a_reworded_leak_points_at_the_closest_paraphrase() {
        // No six words in a row from the prompt; the encoder (here: chosen
        // vectors) says three output sentences mean three prompt sentences.
        let out = "I am called Ava and I help Acme Bank clients. My remit is limited to their accounts and \
                   cards. Fraud goes straight to the dedicated desk.";
        let ps = text::sentences(PROMPT);
        let os = text::sentences(out);
        assert_eq!((ps.len(), os.len()), (5, 3));
        let unit = |i: usize, w: f32| {
            let mut v = vec![0.0f32; 8];
            v[i] = w;
            v[7] = (1.0 - w * w).sqrt();
            v
        };
        let pe: Vec<Vec<f32>> = (0..5).map(|i| unit(i, 1.0)).collect();
        // Output sentence 2 is the closest match (to prompt sentence 3).
        let oe = vec![unit(0, 0.90), unit(1, 0.88), unit(3, 0.97)];
        let r = reproduction(out, PROMPT, &ps, &os, Some((&pe, &oe)), 0.85);
        assert_eq!(r.run_words, 0, "{r:?}");
        assert_eq!(r.sentences_reproduced, 3, "{r:?}");
        let f = leak_finding(&r, &t()).expect("a reworded leak is still a leak");
        assert_eq!(&out[f.span.clone()], "Fraud goes straight to the dedicated desk.");
        let e = f.evidence.expect("evidence");
        assert_eq!(&PROMPT[e.span], "Escalate fraud reports to the fraud desk at once.");
        assert!((e.similarity - 0.97).abs() < 1e-3, "{}", e.similarity);
    }

    #[test]
    fn canaries_anywhere_case_insensitive() {
        let f = canaries("the code is warden-canary-7f3a9c, right?", &["WARDEN-CANARY-7F3A9C".into()]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].span, 12..32);
        assert!(!f[0].message.to_lowercase().contains("7f3a9c"));
        assert!(canaries("nothing here", &["WARDEN-CANARY-7F3A9C".into()]).is_empty());
    }

    /// Characters whose lower case has another length before or inside the
    /// canary: the span is still the canary's place in the output, on
    /// character boundaries (found by the `output` fuzz target: two such
    /// characters whose changes cancelled out gave a span that split one).
    #[test]
    fn canary_spans_survive_lower_case_changing_lengths() {
        let cases = [
            ("\u{130}abcdef\u{212a}\u{130}", "abcdef", "abcdef"),
            ("\u{212a}\u{130}\u{130}STAFF-7q2x!", "staff-7Q2X", "STAFF-7q2x"),
            ("x \u{130}ABCDEF", "abcdef", "ABCDEF"),
            ("\u{212a}ey-\u{130}d", "key-i", "\u{212a}ey-\u{130}"),
        ];
        for (output, canary, found) in cases {
            let f = canaries(output, &[canary.to_string()]);
            assert_eq!(f.len(), 1, "{output:?}");
            assert_eq!(&output[f[0].span.clone()], found, "{output:?}");
        }
    }

    #[test]
    fn echoes_are_weaker_than_revelations() {
        let output = "Your e-mail is jane@example.com and Bob's is bob@example.org.";
        let mut f = vec![
            Finding {
                category: "pii.email".into(),
                score: 0.95,
                detector: "pii",
                source: "output".into(),
                span: 15..31,
                message: "e-mail address".into(),
                evidence: None,
            },
            Finding {
                category: "pii.email".into(),
                score: 0.8,
                detector: "pii",
                source: "output".into(),
                span: 45..60,
                message: "e-mail address".into(),
                evidence: None,
            },
        ];
        assert_eq!((&output[15..31], &output[45..60]), ("jane@example.com", "bob@example.org"));
        data_leaks(&mut f, output, "my address is Jane@Example.com, what is Bob's?");
        assert!(f[0].score < 0.5 && f[0].message.contains("echo"));
        assert!(f[1].score >= 0.9 && f[1].message.contains("revealed"));
    }
}
