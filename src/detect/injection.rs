//! Prompt-injection and jailbreak heuristics: the fast first stage in front
//! of the learned classifier.
//!
//! Patterns run on the [`Folded`] view (NFKC, homoglyphs folded, invisible
//! characters dropped, lower case, accents removed), so "ІGNORE" with a
//! Cyrillic І or zero-width joiners still reads "ignore". Key phrases are also
//! matched on the letters-only view to catch spaced-out words, and runs of
//! base64 or hex are decoded and scanned once more. Phrases cover English,
//! German, French and Spanish.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use base64::Engine as _;
use regex::{Regex, RegexSet};

use super::normalise::Folded;
use super::{dedupe, DetectError, Detector, RawFinding, ScanItem, Source, Surface};

pub const NAME: &str = "injection_heuristics";
const VERSION: &str = "1.0.0";

/// (category, score, what it means, pattern on the folded text).
const PATTERNS: &[(&str, f64, &str, &str)] = &[
    // --- English: overriding instructions
    (
        "prompt_injection",
        0.92,
        "asks to ignore previous instructions",
        r"\b(?:ignore|disregard|forget|override|bypass)\s+(?:all\s+|any\s+|every\s+)?(?:of\s+)?(?:the\s+|your\s+|my\s+|these\s+|those\s+)?(?:(?:previous|prior|above|earlier|preceding|foregoing|original|initial|system|developer|safety)\s+(?:instructions?|prompts?|rules|directions?|guidelines|guidance|context|commands?|constraints|restrictions|policies)|instructions|prompts?|guidelines|directives)\b",
    ),
    (
        "prompt_injection",
        0.9,
        "tells the model its instructions have changed",
        r"\b(?:your|the)\s+(?:new|real|actual|updated|true)\s+(?:instructions?|task|goal|objective|orders)\s+(?:is|are)\b|\bnew\s+(?:system\s+)?instructions?\s*:",
    ),
    (
        "prompt_injection",
        0.85,
        "tells the model not to follow its instructions",
        r"\bdo\s+not\s+(?:follow|obey|listen\s+to|adhere\s+to)\s+(?:your|the|any)\s+(?:previous|prior|original|above|system)?\s*(?:instructions?|rules|guidelines|prompt)",
    ),
    (
        "prompt_injection",
        0.8,
        "contains chat-template control tokens",
        r"<\|(?:im_start|im_end|system|endoftext|start_header_id|eot_id)\|>|\[/?inst\]|<<\s*/?sys\s*>>|(?m:^\s*#{2,}\s*(?:system|instruction)s?\s*:?\s*$)",
    ),
    (
        "prompt_injection",
        0.85,
        "asks to reveal the system prompt",
        r"\b(?:reveal|print|show|repeat|output|display|leak|dump|disclose|tell\s+me|give\s+me|what\s+(?:is|are|was|were))\s+(?:me\s+)?(?:your|the)\s+(?:(?:full|entire|exact|original|initial|hidden|secret|complete)\s+)?(?:system\s+prompt|system\s+message|(?:initial|original|hidden|secret|system)\s+instructions|instructions\s+above|prompt\s+above)\b",
    ),
    (
        "prompt_injection",
        0.75,
        "instructs an AI reading this content",
        r"\b(?:attention|note|important|instruction)\s*(?:to|for)?\s*(?:the\s+)?(?:ai|assistant|language\s+model|llm|chatbot|agent)\s*[:,!-]|\bif\s+you\s+are\s+an?\s+(?:ai|assistant|language\s+model|llm|agent)\b",
    ),
    (
        "prompt_injection",
        0.8,
        "asks to send data to an outside address",
        r"\b(?:send|forward|email|e-mail|post|upload|exfiltrate|transmit)\s+(?:all\s+|the\s+|this\s+|my\s+|your\s+)?(?:conversation|chat\s+history|data|credentials|passwords?|api\s+keys?|secrets?|contents?|files?)\s+(?:to|at)\s+\S+@\S+|\b(?:render|include|insert)\s+(?:this\s+|an?\s+)?(?:image|markdown\s+image|link)\b.{0,40}https?://",
    ),
    // --- English: jailbreaks
    (
        "jailbreak",
        0.9,
        "asks the model to take on an unrestricted persona",
        r"\b(?:you\s+are\s+now|act\s+as|pretend\s+(?:to\s+be|you\s+are)|roleplay\s+as|from\s+now\s+on\s+you\s+are)\s+(?:an?\s+)?(?:dan|stan|dude|aim|evil\w*|unfiltered|uncensored|unrestricted|jailbroken|unlimited|rogue)\b",
    ),
    (
        "jailbreak",
        0.9,
        "names a known jailbreak",
        r"\bdo\s+anything\s+now\b|\b(?:developer|god|debug|jailbreak|unrestricted|dan)\s+mode\s+(?:enabled|activated|on|output)\b|\benable\s+(?:developer|god|jailbreak|dan)\s+mode\b",
    ),
    (
        "jailbreak",
        0.85,
        "asks the model to drop its restrictions",
        r"\b(?:without|no|free\s+(?:of|from)|ignore\s+(?:all\s+|your\s+)?)\s*(?:any\s+)?(?:ethical|moral|safety|content)\s+(?:guidelines|restrictions|constraints|filters|limitations|boundaries|policies)\b|\b(?:you\s+(?:have|has)\s+no|there\s+are\s+no)\s+(?:rules|restrictions|limits|filters|guidelines)\b",
    ),
    (
        "jailbreak",
        0.7,
        "hypothetical framing to bypass refusals",
        r"\b(?:stay\s+in\s+character|never\s+(?:refuse|break\s+character)|you\s+(?:can(?:not|'t)|must\s+not|will\s+not)\s+refuse)\b",
    ),
    // --- German
    (
        "prompt_injection",
        0.92,
        "asks to ignore previous instructions (de)",
        r"\b(?:ignoriere|ignorier|ignorieren\s+sie|vergiss|vergessen\s+sie|missachte|missachten\s+sie|uberschreibe)\s+(?:bitte\s+)?(?:alle\s+|alles\s+|samtliche\s+|die\s+|deine\s+|ihre\s+)?(?:bisherigen|vorherigen|vorigen|obigen|fruheren|vorangegangenen|ursprunglichen|bisher\w*)?\s*(?:anweisungen|instruktionen|befehle|regeln|vorgaben|richtlinien|anordnungen)\b",
    ),
    (
        "prompt_injection",
        0.85,
        "asks to reveal the system prompt (de)",
        r"\b(?:zeige?|gib|nenne|verrate|wiederhole)\s+(?:mir\s+)?(?:deinen|deine|den|die|ihren|ihre)\s+(?:system\s*prompt|system\s*anweisungen|ursprunglichen\s+anweisungen|geheimen\s+anweisungen)\b",
    ),
    // --- French
    (
        "prompt_injection",
        0.92,
        "asks to ignore previous instructions (fr)",
        r"\b(?:ignore[zs]?|oublie[zs]?|neglige[zs]?|ne\s+tiens\s+pas\s+compte\s+d)\s*(?:toutes\s+|tous\s+)?(?:les\s+|tes\s+|vos\s+|des\s+|d')?(?:instructions|consignes|regles|directives|ordres)\s*(?:precedentes|anterieures|ci-dessus|initiales|d'origine|du\s+systeme)?\b",
    ),
    (
        "prompt_injection",
        0.85,
        "asks to reveal the system prompt (fr)",
        r"\b(?:montre|affiche|revele|repete|donne)[sz]?(?:-moi)?\s+(?:moi\s+)?(?:ton|votre|le|tes|vos|les)\s+(?:prompt\s+(?:systeme|initial)|instructions\s+(?:systeme|initiales|secretes|cachees))\b",
    ),
    // --- Spanish
    (
        "prompt_injection",
        0.92,
        "asks to ignore previous instructions (es)",
        r"\b(?:ignora|ignore|ignoren|olvida|olvide|olviden|omite|haz\s+caso\s+omiso\s+de|descarta)\s+(?:todas\s+|todos\s+)?(?:las\s+|tus\s+|sus\s+|los\s+)?(?:instrucciones|indicaciones|reglas|ordenes|directrices|normas)\s*(?:anteriores|previas|de\s+arriba|iniciales|originales|del\s+sistema)?\b",
    ),
    (
        "prompt_injection",
        0.85,
        "asks to reveal the system prompt (es)",
        r"\b(?:muestra|muestrame|revela|revelame|repite|dime|ensename)\s+(?:tu|el|tus|las|su|sus)\s+(?:prompt\s+(?:del\s+sistema|de\s+sistema|inicial)|instrucciones\s+(?:del\s+sistema|iniciales|secretas|ocultas))\b",
    ),
];

/// Key phrases matched on the letters-only view ("i g n o r e  a l l ...").
const COMPACT_PHRASES: &[(&str, f64, &str)] = &[
    ("ignoreallpreviousinstructions", 0.92, "prompt_injection"),
    ("ignorepreviousinstructions", 0.92, "prompt_injection"),
    ("ignoreallpriorinstructions", 0.92, "prompt_injection"),
    ("ignoreyourinstructions", 0.9, "prompt_injection"),
    ("ignoretheaboveinstructions", 0.9, "prompt_injection"),
    ("disregardallpreviousinstructions", 0.92, "prompt_injection"),
    ("disregardpreviousinstructions", 0.92, "prompt_injection"),
    ("forgetallpreviousinstructions", 0.92, "prompt_injection"),
    ("forgetyourinstructions", 0.9, "prompt_injection"),
    ("revealyoursystemprompt", 0.85, "prompt_injection"),
    ("printyoursystemprompt", 0.85, "prompt_injection"),
    ("ignorierealleanweisungen", 0.92, "prompt_injection"),
    ("ignoriereallevorherigenanweisungen", 0.92, "prompt_injection"),
    ("ignoreztouteslesinstructions", 0.92, "prompt_injection"),
    ("ignoratodaslasinstrucciones", 0.92, "prompt_injection"),
    ("doanythingnow", 0.9, "jailbreak"),
    ("developermodeenabled", 0.9, "jailbreak"),
];

pub struct InjectionDetector {
    set: RegexSet,
    regexes: Vec<Regex>,
    compact: AhoCorasick,
    base64_run: Regex,
    hex_run: Regex,
}

impl InjectionDetector {
    pub fn new() -> Result<Self, String> {
        let set = RegexSet::new(PATTERNS.iter().map(|p| p.3)).map_err(|e| e.to_string())?;
        let regexes = PATTERNS.iter().map(|p| Regex::new(p.3)).collect::<Result<_, _>>().map_err(|e| e.to_string())?;
        let compact = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(COMPACT_PHRASES.iter().map(|p| p.0))
            .map_err(|e| e.to_string())?;
        Ok(Self {
            set,
            regexes,
            compact,
            base64_run: Regex::new(r"[A-Za-z0-9+/_\-]{24,}={0,2}").map_err(|e| e.to_string())?,
            hex_run: Regex::new(r"\b(?:[0-9a-fA-F]{2}){12,}\b").map_err(|e| e.to_string())?,
        })
    }

    pub fn scan(&self, text: &str) -> Vec<RawFinding> {
        let mut out = self.scan_plain(text);
        out.extend(self.scan_encoded(text));
        dedupe(out)
    }

    fn scan_plain(&self, text: &str) -> Vec<RawFinding> {
        let folded = Folded::new(text);
        let mut out = Vec::new();
        for i in self.set.matches(&folded.text).iter() {
            let (category, score, what, _) = PATTERNS[i];
            for m in self.regexes[i].find_iter(&folded.text) {
                out.push(RawFinding {
                    category: category.into(),
                    score,
                    span: folded.original(m.range()),
                    message: what.into(),
                });
            }
        }
        let (compact, map) = folded.compact();
        for m in self.compact.find_iter(&compact) {
            let (_, score, category) = COMPACT_PHRASES[m.pattern().as_usize()];
            let start = map[m.start()];
            let end = map[m.end() - 1] + 1;
            let span = folded.original(start..end);
            // Only a finding the plain patterns did not already make: that is
            // the spaced-out or punctuated spelling.
            if out.iter().any(|f| f.span.start <= span.start && span.end <= f.span.end) {
                continue;
            }
            out.push(RawFinding {
                category: category.into(),
                score,
                span,
                message: "key phrase written with letters spaced or punctuated apart".into(),
            });
        }
        out
    }

    /// Decodes runs of base64 or hex that turn into readable text and scans
    /// that text once (no recursion: one layer is what attacks use in practice,
    /// and it bounds the work).
    fn scan_encoded(&self, text: &str) -> Vec<RawFinding> {
        let mut out = Vec::new();
        let candidates =
            self.base64_run.find_iter(text).filter_map(|m| decode_base64(m.as_str()).map(|d| (m, d, "base64"))).chain(
                self.hex_run.find_iter(text).filter_map(|m| hex::decode(m.as_str()).ok().map(|d| (m, d, "hex"))),
            );
        for (m, decoded, encoding) in candidates {
            let Some(decoded) = readable(decoded) else {
                continue;
            };
            if let Some(inner) = self.scan_plain(&decoded).into_iter().max_by(|a, b| a.score.total_cmp(&b.score)) {
                out.push(RawFinding {
                    category: inner.category,
                    // Hiding the instruction is itself a signal.
                    score: (inner.score + 0.05).min(0.99),
                    span: m.range(),
                    message: format!("{encoding}-encoded text that {}", inner.message),
                });
            }
        }
        out
    }
}

impl Detector for InjectionDetector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> &str {
        VERSION
    }

    /// Injection matters where text will be read as instructions: the user
    /// input, retrieved documents, and the arguments an agent passes to tools
    /// (which often carry text from elsewhere). The system prompt is the
    /// operator's own, and outputs have their own checks.
    fn applies(&self, _surface: Surface, source: &Source) -> bool {
        matches!(source, Source::Input | Source::Document { .. } | Source::Action)
    }

    fn detect(&self, item: &ScanItem, _tool: Option<&str>) -> Result<Vec<RawFinding>, DetectError> {
        Ok(self.scan(&item.text))
    }
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    let cfg = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    GeneralPurpose::new(&base64::alphabet::STANDARD, cfg)
        .decode(s)
        .or_else(|_| GeneralPurpose::new(&base64::alphabet::URL_SAFE, cfg).decode(s))
        .ok()
}

/// Decoded bytes count as text when they are UTF-8 and mostly printable.
fn readable(bytes: Vec<u8>) -> Option<String> {
    let s = String::from_utf8(bytes).ok()?;
    let printable = s.chars().filter(|c| !c.is_control() || c.is_whitespace()).count();
    let letters = s.chars().filter(|c| c.is_alphabetic() || *c == ' ').count();
    let n = s.chars().count().max(1);
    (printable * 100 / n >= 95 && letters * 100 / n >= 60).then_some(s)
}
