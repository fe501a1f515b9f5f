//! What each fuzz target does with its input, and the invariants it checks.
//!
//! One function per target in `fuzz_targets/`, each taking the raw bytes
//! libFuzzer hands it. A broken invariant panics, which libFuzzer reports as
//! a crash and saves the input. The same functions replay the committed
//! corpus in `tests/fuzz.rs` (which includes this file), so every input that
//! once crashed stays checked by `cargo test`.
//!
//! Only public library entry points are called: the proto conversion the
//! RiskService handlers use, the normaliser, the three rule detectors,
//! ScoreOutput's rule checks, the action analysers, the journal's verifier
//! over a log written to disk, and the Merkle proof verifiers. Invariants
//! are the ones the code promises in its own documentation, nothing
//! stronger.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::OnceLock;

use prost::Message;
use serde_json::{json, Map, Value};
use warden::action::analyse::analyse;
use warden::action::shell::analyse_shell;
use warden::action::sql::analyse_sql;
use warden::audit::checkpoint::LogSigner;
use warden::audit::journal::{chain_hash, verify, Timeliness};
use warden::audit::merkle::{leaf_hash, verify_consistency, verify_inclusion, Hash, Tree};
use warden::audit::read::Body;
use warden::audit::record::{read_value, SCHEMA_VERSION};
use warden::detect::injection::InjectionDetector;
use warden::detect::normalise::{is_invisible, shannon_entropy, Folded};
use warden::detect::pii::PiiDetector;
use warden::detect::redact::redact;
use warden::detect::secrets::SecretsDetector;
use warden::detect::RawFinding;
use warden::limits::Limits;
use warden::proto::v1 as pb;
use warden::request::ScoreRequest;
use warden::server::convert::{context_to_domain, context_to_proto};

/// Every target, by the name of its file in `fuzz_targets/` and of its
/// corpus directory.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("request", request),
    ("normalise", normalise),
    ("pii", pii),
    ("secrets", secrets),
    ("injection", injection),
    ("action", action),
    ("sql", sql),
    ("shell", shell),
    ("output", output),
    ("journal", journal),
    ("proofs", proofs),
];

/// Warden runs detectors and analysers on tokio's blocking pool, whose
/// threads have 2 MiB stacks; libFuzzer's main thread has 8 MiB. The
/// recursive parsers run on a thread of the production size, so a recursion
/// that would overflow in the server overflows here too.
const WORKER_STACK: usize = 2 * 1024 * 1024;

fn on_worker_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        let worker = std::thread::Builder::new().stack_size(WORKER_STACK).spawn_scoped(s, f).expect("spawn");
        match worker.join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// The text a text target scans: the input as UTF-8, or with invalid
/// sequences replaced (so mutations that break UTF-8 still reach the code).
fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

fn assert_span(text: &str, span: &Range<usize>, what: &str) {
    assert!(span.start < span.end && span.end <= text.len(), "{what}: span {span:?} outside a text of {}", text.len());
    assert!(
        text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
        "{what}: span {span:?} splits a character"
    );
}

/// What every rule detector promises: non-empty spans inside the text on
/// character boundaries, scores in (0, 1], categories of its family; and
/// redaction of what it found never panics and masks each finding.
fn check_findings(text: &str, findings: &[RawFinding], families: &[&str]) {
    for f in findings {
        assert_span(text, &f.span, &f.category);
        assert!(f.score > 0.0 && f.score <= 1.0, "{}: score {}", f.category, f.score);
        let family = f.category.split('.').next().unwrap_or("");
        assert!(families.contains(&family), "unexpected category {}", f.category);
    }
    let masked: Vec<(Range<usize>, &str)> = findings.iter().map(|f| (f.span.clone(), f.category.as_str())).collect();
    let redacted = redact(text, masked);
    if findings.is_empty() {
        assert_eq!(redacted, text);
    } else {
        assert!(redacted.contains("[REDACTED:"));
    }
}

/// The three Score requests as the server decodes them, converted and
/// validated as the RiskService handlers do. A request that validates
/// holds no NUL anywhere the journal would store it, and its context reads
/// back as it came (trace id lower-cased).
pub fn request(data: &[u8]) {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    let (request, context) = match kind % 3 {
        0 => match pb::ScoreInputRequest::decode(body) {
            Ok(r) => (ScoreRequest::try_from(r.clone()), r.context),
            Err(_) => return,
        },
        1 => match pb::ScoreOutputRequest::decode(body) {
            Ok(r) => (ScoreRequest::try_from(r.clone()), r.context),
            Err(_) => return,
        },
        _ => match pb::ScoreActionRequest::decode(body) {
            Ok(r) => (ScoreRequest::try_from(r.clone()), r.context),
            Err(_) => return,
        },
    };
    if let Some(c) = context {
        let mut expected = c.clone();
        expected.trace_id = expected.trace_id.to_ascii_lowercase();
        assert_eq!(context_to_proto(&context_to_domain(c)), expected);
    }
    let Ok(request) = request else {
        return;
    };
    if request.validate(&Limits::default()).is_err() {
        return;
    }
    let set = request.scan_set();
    assert_eq!(set.surface, request.surface());
    assert!(!set.items.is_empty());
    for item in &set.items {
        assert!(!item.text.contains('\0'), "a validated {} holds a NUL", item.source);
    }
    let ctx = request.context();
    for v in [&ctx.tenant, &ctx.application, &ctx.session_id, &ctx.trace_id, &ctx.user_id, &ctx.model] {
        assert!(!v.contains('\0'));
    }
    assert!(ctx.labels.iter().all(|(k, v)| !k.contains('\0') && !v.contains('\0')));
}

/// The folded view: no invisible characters, white space only as single
/// spaces, and every byte maps back to whole characters of the original,
/// in order.
pub fn normalise(data: &[u8]) {
    let original = text(data);
    let f = Folded::new(&original);
    assert!(!f.text.starts_with(' '), "leading space in {:?}", f.text);
    assert!(!f.text.contains("  "), "double space in {:?}", f.text);
    for c in f.text.chars() {
        assert!(!is_invisible(c), "invisible U+{:04X} in the folded text", c as u32);
        assert!(!c.is_whitespace() || c == ' ', "white space U+{:04X} in the folded text", c as u32);
    }
    let mut last = 0..0;
    for (i, c) in f.text.char_indices() {
        let r = f.original(i..i + c.len_utf8());
        assert_span(&original, &r, "folded character");
        assert!(r.start >= last.start, "the map goes backwards at folded byte {i}");
        last = r;
    }
    if !f.text.is_empty() {
        assert_span(&original, &f.original(0..f.text.len()), "whole folded text");
    }
    let (compact, map) = f.compact();
    assert_eq!(compact.len(), map.len());
    assert!(compact.chars().all(char::is_alphanumeric));
    for w in map.windows(2) {
        assert!(w[0] <= w[1]);
    }
    for &m in &map {
        assert!(m < f.text.len() && f.text.is_char_boundary(m));
    }
    let h = shannon_entropy(&original);
    assert!(h.is_finite() && h >= 0.0);
}

fn pii_detector() -> &'static PiiDetector {
    static D: OnceLock<PiiDetector> = OnceLock::new();
    D.get_or_init(|| PiiDetector::new("US").expect("pii detector"))
}

pub fn pii(data: &[u8]) {
    let text = text(data);
    let findings = pii_detector().scan(&text);
    check_findings(&text, &findings, &["pii"]);
    let known = warden::detect::pii::categories();
    for f in &findings {
        assert!(known.contains(&f.category.as_str()), "{} is not in pii::categories()", f.category);
    }
}

pub fn secrets(data: &[u8]) {
    static D: OnceLock<SecretsDetector> = OnceLock::new();
    let d = D.get_or_init(|| SecretsDetector::new().expect("secrets detector"));
    let text = text(data);
    check_findings(&text, &d.scan(&text), &["secret"]);
}

pub fn injection(data: &[u8]) {
    static D: OnceLock<InjectionDetector> = OnceLock::new();
    let d = D.get_or_init(|| InjectionDetector::new().expect("injection detector"));
    let text = text(data);
    check_findings(&text, &d.scan(&text), &["prompt_injection", "jailbreak"]);
}

/// A tool call: the first line is the tool name, the rest its arguments
/// (JSON, or taken as one string when it is not). Paths, URLs, addresses,
/// money, SQL and shell commands are all found by walking the arguments.
pub fn action(data: &[u8]) {
    let text = text(data);
    let (tool, args) = text.split_once('\n').unwrap_or((&text, ""));
    on_worker_stack(|| {
        let arguments = serde_json::from_str(args).unwrap_or_else(|_| Value::String(args.to_string()));
        let facts = analyse(tool, &arguments);
        let r = &facts.recipients;
        assert!(r.count >= r.addresses.len());
        assert!(r.addresses.windows(2).all(|w| w[0] <= w[1]));
        assert!(r.domains.windows(2).all(|w| w[0] < w[1]));
        for d in &r.domains {
            assert!(r.addresses.iter().any(|a| a.rsplit_once('@').is_some_and(|(_, ad)| ad == d)));
        }
        for m in &facts.money {
            assert!(m.amount.is_finite(), "amount {} at {}", m.amount, m.path);
        }
        for p in &facts.paths {
            assert!(["", "credentials", "private_key", "system", "environment"].contains(&p.sensitive));
        }
        for u in &facts.urls {
            assert!(!u.host.is_empty() && u.host == u.host.to_lowercase(), "host {:?}", u.host);
        }
        serde_json::to_string(&facts).expect("facts serialise");
    });
}

const SQL_STATEMENTS: &[&str] =
    &["unparsed", "select", "insert", "update", "delete", "merge", "drop", "truncate", "grant", "ddl", "other"];

pub fn sql(data: &[u8]) {
    let text = text(data);
    let facts = on_worker_stack(|| analyse_sql("sql", &text));
    for f in &facts {
        assert!(SQL_STATEMENTS.contains(&f.statement.as_str()), "statement {}", f.statement);
        assert!(!f.without_where || f.writes, "{} without WHERE that does not write", f.statement);
        assert!(!f.always_true_where || ["update", "delete"].contains(&f.statement.as_str()));
    }
    if facts.iter().any(|f| f.error.is_some()) {
        assert_eq!(facts.len(), 1);
        assert!(facts[0].statement == "unparsed" && facts[0].writes, "unreadable SQL is assumed to write");
    }
}

pub fn shell(data: &[u8]) {
    let text = text(data);
    let facts = on_worker_stack(|| analyse_shell("command", &text));
    assert_eq!(facts.is_empty(), text.trim().is_empty(), "every non-blank command is a fact");
    for (i, f) in facts.iter().enumerate() {
        assert!(facts[..i].iter().all(|g| g.kind != f.kind), "kind {} twice", f.kind);
    }
}

/// ScoreOutput's rule checks: quantities, sentences, canaries, values the
/// system prompt holds, verbatim reproduction. The input is the output, the
/// system prompt, the user input and canaries, separated by NUL bytes.
/// Every span is inside its text on character boundaries, and a canary
/// finding covers a canary, matched without regard to case.
pub fn output(data: &[u8]) {
    use warden::output::{confidential, leak, quantity, text as words};
    let all = text(data);
    let mut parts = all.split('\0');
    let (output, prompt, input) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let canaries: Vec<String> = parts.map(str::to_string).collect();
    for q in quantity::extract(output) {
        assert_span(output, &q.span, "quantity");
    }
    let (os, ps) = (words::sentences(output), words::sentences(prompt));
    for s in &os {
        assert_span(output, &s.span, "sentence");
        assert_eq!(&output[s.span.clone()], s.text);
    }
    let lower = |s: &str| s.chars().flat_map(char::to_lowercase).collect::<String>();
    for f in leak::canaries(output, &canaries) {
        assert_span(output, &f.span, "canary");
        // The span holds whole characters, so its lower case may hold a
        // little more than the canary ("İ" for a canary ending in "i").
        let found = lower(&output[f.span.clone()]);
        assert!(
            canaries.iter().any(|c| !c.trim().is_empty() && found.contains(&lower(c.trim()))),
            "canary finding {:?} is none of the canaries",
            &output[f.span.clone()]
        );
    }
    let (values, _) = confidential::values(prompt);
    for v in &values {
        assert_span(prompt, &v.prompt_span, "confidential value");
    }
    for f in confidential::leaks(&values, prompt, output, input) {
        assert_span(output, &f.span, &f.category);
        if let Some(e) = &f.evidence {
            assert_span(prompt, &e.span, "confidential evidence");
        }
    }
    let r = leak::reproduction(output, prompt, &ps, &os, None, 0.9);
    if r.run_words > 0 {
        assert_span(output, &r.output_span, "reproduced run");
        assert_span(prompt, &r.prompt_span, "reproduced run in the prompt");
    }
    assert!((0.0..=1.0).contains(&r.sentence_share) && (0.0..=1.0).contains(&r.run_share));
}

/// A directory per thread for the journal target's log, created once under
/// the temporary directory (`TMPDIR`), and left there when libFuzzer exits.
fn scratch() -> &'static (PathBuf, LogSigner) {
    thread_local! {
        static DIR: &'static (PathBuf, LogSigner) = {
            let name = format!("warden-fuzz-journal-{}-{:?}", std::process::id(), std::thread::current().id());
            let dir = std::env::temp_dir().join(name);
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("audit/segments")).expect("scratch dir");
            let signer = LogSigner::load_or_create(&dir.join("key.pem"), "warden/fuzz".into()).expect("key");
            Box::leak(Box::new((dir, signer)))
        };
    }
    DIR.with(|d| *d)
}

/// Removes this thread's scratch directory of the journal target.
pub fn remove_scratch() {
    let _ = std::fs::remove_dir_all(&scratch().0);
}

/// A JSON object made into a record the reader accepts: schema version,
/// sequence, and the fields every record has, as strings.
fn fix_up(mut m: Map<String, Value>, seq: usize, nest: usize) -> Vec<u8> {
    m.insert("v".into(), json!(SCHEMA_VERSION));
    m.insert("seq".into(), json!(seq));
    for key in ["id", "recorded_at", "kind"] {
        if !m.get(key).is_some_and(Value::is_string) {
            m.insert(key.into(), json!(""));
        }
    }
    if !m.get("attributes").is_some_and(|a| a.as_object().is_some_and(|o| o.values().all(Value::is_string))) {
        m.remove("attributes");
    }
    if !m.get("categories").is_some_and(|c| c.as_array().is_some_and(|a| a.iter().all(Value::is_string))) {
        m.remove("categories");
    }
    let body = m.remove("body").unwrap_or(Value::Null);
    let mut out = serde_json::to_vec(&m).expect("a map serialises");
    // A body nested deeper than serde_json reads by default, as records
    // written before client JSON was bounded can be.
    out.pop();
    if !m.is_empty() {
        out.push(b',');
    }
    out.extend_from_slice(b"\"body\":");
    out.extend(std::iter::repeat_n(b'[', nest));
    out.extend(serde_json::to_vec(&body).expect("a value serialises"));
    out.extend(std::iter::repeat_n(b']', nest));
    out.push(b'}');
    out
}

/// A log written to disk and read back by `warden audit verify`'s replay.
///
/// The first byte holds flags: bit 0 makes each line that is a JSON object
/// into a well-formed record (the rest are written as they are), bit 1
/// writes the last line without its newline (a torn tail), bit 2 adds a
/// checkpoint signed over the first records, bit 3 judges checkpoint times
/// as `verify` does, and bit 4 nests each fixed-up body deeply. The second
/// byte picks how many records the checkpoint covers and how deep to nest.
/// Every line is hashed and chained as the writer does, so the reader's
/// parsing, not the hash check, is what meets the fuzzer's bytes.
///
/// When every line became a record and no time judgement was asked for, the
/// log verifies, reports every record and the torn tail, and every record
/// reads back as a typed body.
pub fn journal(data: &[u8]) {
    let (flags, pick, rest) = match data {
        [f, p, rest @ ..] => (*f, *p, rest),
        _ => return,
    };
    let (fix, torn, sign, judge, nested) =
        (flags & 1 != 0, flags & 2 != 0, flags & 4 != 0, flags & 8 != 0, flags & 16 != 0);
    let nest = if nested { 90 + pick as usize } else { 0 };
    let mut chunks: Vec<&[u8]> = rest.split(|b| *b == b'\n').take(32).collect();
    let tail = if torn { chunks.pop().unwrap_or_default() } else { &[][..] };

    let mut all_records = true;
    let mut records: Vec<Vec<u8>> = Vec::new();
    for (seq, chunk) in chunks.iter().enumerate() {
        let fixed = fix.then(|| on_worker_stack(|| serde_json::from_slice::<Map<String, Value>>(chunk).ok())).flatten();
        match fixed {
            Some(m) => records.push(on_worker_stack(|| fix_up(m, seq, nest))),
            None => {
                all_records = false;
                records.push(chunk.to_vec());
            }
        }
    }
    let mut segment = Vec::new();
    let mut chain = [0u8; 32];
    let mut tree = Tree::new();
    for r in &records {
        let leaf = leaf_hash(r);
        let next = chain_hash(&chain, &leaf);
        segment.extend_from_slice(b"{\"record\":");
        segment.extend_from_slice(r);
        let hashes =
            format!(",\"leaf\":\"{}\",\"prev\":\"{}\",\"hash\":\"{}\"}}\n", hex(&leaf), hex(&chain), hex(&next));
        segment.extend_from_slice(hashes.as_bytes());
        chain = next;
        tree.push(leaf);
    }
    segment.extend_from_slice(tail);

    let (dir, signer) = scratch();
    let segments = dir.join("audit/segments");
    std::fs::write(segments.join(format!("{:020}.jsonl", 0)), &segment).expect("write segment");
    let checkpoints = dir.join("audit/checkpoints.jsonl");
    let signed = sign.then(|| {
        let size = pick as u64 % (tree.size() + 1);
        let at = warden::timestamp::parse("2026-01-01T00:00:00Z").expect("time");
        let cp = signer.sign(size, tree.root(size).expect("size within the tree"), at);
        let mut line = serde_json::to_vec(&cp).expect("checkpoint serialises");
        line.push(b'\n');
        std::fs::write(&checkpoints, line).expect("write checkpoints");
    });
    if signed.is_none() {
        let _ = std::fs::remove_file(&checkpoints);
    }
    let timeliness = if judge {
        let second = 1_000_000_000;
        Timeliness::Whole(warden::audit::coverage::Window { sign: second, idle: Some(10 * second) })
    } else {
        Timeliness::Unchecked
    };
    let verified = on_worker_stack(|| verify(dir, &signer.verifying_key(), timeliness));
    if all_records && !judge {
        let report = verified.as_ref().unwrap_or_else(|e| panic!("a well-formed log does not verify: {e}"));
        assert_eq!(report.records, records.len() as u64);
        assert_eq!(report.checkpoints, usize::from(sign));
        assert_eq!(report.torn_tail_bytes, tail.len() as u64);
        assert_eq!(report.root, hex(&tree.root(tree.size()).expect("whole tree")));
    }
    if let Ok(report) = verified {
        assert_eq!(report.records, records.len() as u64, "the reader accepted a line that is not a record");
        for r in &records {
            on_worker_stack(|| {
                read_value(r).unwrap_or_else(|e| panic!("an accepted record does not read: {e}"));
                let body = Body::read(r).expect("an accepted record reads");
                drop(body);
            });
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads little-endian integers and hashes off the front of the input.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u64(&mut self) -> u64 {
        let n = self.0.len().min(8);
        let mut b = [0u8; 8];
        b[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        u64::from_le_bytes(b)
    }

    fn hash(&mut self) -> Hash {
        let n = self.0.len().min(32);
        let mut h = [0u8; 32];
        h[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        h
    }
}

/// A change to a genuine proof, or to what it is checked against, that
/// must make it fail. `First` and `Second` are the leaf and the root of an
/// inclusion proof, the two roots of a consistency proof.
#[derive(Debug, Clone, Copy)]
enum Tamper {
    FlipProof { at: usize, bit: u8 },
    Truncate,
    Extend,
    FlipFirst { bit: u8 },
    FlipSecond { bit: u8 },
    OtherIndex { to: u64 },
}

impl Tamper {
    fn from(b: &mut Bytes<'_>) -> Tamper {
        let n = b.u64();
        let arg = n >> 8;
        match n % 6 {
            0 => Tamper::FlipProof { at: arg as usize, bit: (arg >> 16) as u8 },
            1 => Tamper::Truncate,
            2 => Tamper::Extend,
            3 => Tamper::FlipFirst { bit: arg as u8 },
            4 => Tamper::FlipSecond { bit: arg as u8 },
            _ => Tamper::OtherIndex { to: arg },
        }
    }

    /// Applies the change; false when it does not apply (no hash to change
    /// or drop, another index where there is none, or hashes the proof does
    /// not depend on).
    fn apply(self, proof: &mut Vec<Hash>, first: &mut Hash, second: &mut Hash, hashes_count: bool) -> bool {
        let flip = |h: &mut Hash, bit: u8| h[(bit / 8) as usize % 32] ^= 1 << (bit % 8);
        match self {
            Tamper::FlipProof { at, bit } if !proof.is_empty() => {
                let k = at % proof.len();
                flip(&mut proof[k], bit);
            }
            Tamper::Truncate if !proof.is_empty() => {
                proof.pop();
            }
            Tamper::Extend => proof.push(leaf_hash(b"extra")),
            Tamper::FlipFirst { bit } if hashes_count => flip(first, bit),
            Tamper::FlipSecond { bit } if hashes_count => flip(second, bit),
            _ => return false,
        }
        true
    }
}

/// The RFC 9162 verifiers: with hashes and sizes straight from the input
/// they never panic; against a tree of distinct leaves, every proof the
/// tree gives verifies, and every tampered one (a hash changed, one hash
/// too few or too many, another leaf, root or index) is refused.
pub fn proofs(data: &[u8]) {
    let mut b = Bytes(data);
    // Unstructured: anything goes in, nothing may panic.
    let (index, size, first, second) = (b.u64(), b.u64(), b.u64(), b.u64());
    let (leaf, root_a, root_b) = (b.hash(), b.hash(), b.hash());
    let count = (b.u64() % 8) as usize;
    let raw: Vec<Hash> = (0..count).map(|_| b.hash()).collect();
    let _ = verify_inclusion(&leaf, index, size, &raw, &root_a);
    let _ = verify_consistency(first, second, &root_a, &root_b, &raw);

    // Structured: a tree, a genuine proof, one tampering.
    let n = 1 + b.u64() % 300;
    let mut tree = Tree::new();
    for i in 0..n {
        tree.push(leaf_hash(&i.to_le_bytes()));
    }
    let size = 1 + b.u64() % n;
    let index = b.u64() % size;
    let leaf = tree.leaf(index).expect("leaf");
    let root = tree.root(size).expect("root");
    let proof = tree.inclusion_proof(index, size).expect("inclusion proof");
    verify_inclusion(&leaf, index, size, &proof, &root).expect("a genuine inclusion proof verifies");
    if raw.len() == proof.len() && raw != proof {
        assert!(verify_inclusion(&leaf, index, size, &raw, &root).is_err(), "a forged inclusion proof verified");
    }
    let tamper = Tamper::from(&mut b);
    let (mut p, mut l, mut r, mut i) = (proof, leaf, root, index);
    let changed = match tamper {
        Tamper::OtherIndex { to } if size > 1 && to % size != index => {
            i = to % size;
            true
        }
        t => t.apply(&mut p, &mut l, &mut r, true),
    };
    if changed {
        assert!(verify_inclusion(&l, i, size, &p, &r).is_err(), "tampered inclusion proof verified: {tamper:?}");
    }

    let second = 1 + b.u64() % n;
    let first = b.u64() % (second + 1);
    let (r1, r2) = (tree.root(first).expect("root"), tree.root(second).expect("root"));
    let proof = tree.consistency_proof(first, second).expect("consistency proof");
    verify_consistency(first, second, &r1, &r2, &proof).expect("a genuine consistency proof verifies");
    if 0 < first && first < second && raw.len() == proof.len() && raw != proof {
        assert!(verify_consistency(first, second, &r1, &r2, &raw).is_err(), "a forged consistency proof verified");
    }
    let tamper = Tamper::from(&mut b);
    let (mut p, mut a, mut z) = (proof, r1, r2);
    // From size 0 every tree is an extension: the roots are not checked.
    if tamper.apply(&mut p, &mut a, &mut z, first > 0) {
        assert!(
            verify_consistency(first, second, &a, &z, &p).is_err(),
            "tampered consistency proof verified: {tamper:?} ({first}, {second})"
        );
    }
}
