//! The audit log on disk: durable acknowledgements, group commit under
//! concurrency, recovery from a crash mid-write, segments, checkpoints,
//! proofs, queries, and detection of every kind of tampering.

mod common;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use warden::audit::journal::{default_key_path, read_public_key, verify, AuditLog, Query};
use warden::audit::merkle::{verify_consistency, verify_inclusion};
use warden::audit::{Entry, Journal};
use warden::config::AuditConfig;
use warden::policy::Policy;
use warden::scoring::{Context, Pipeline, ScoreRequest};

use common::{
    check, crash_tail_log, drop_checkpoints, entry, forge, history_forgeries, minute_log, newest_checkpoint,
    rewrite_call, segments,
};

async fn log_with(dir: &Path, n: usize, config: &AuditConfig) {
    let log = AuditLog::open(dir, config).unwrap();
    for i in 0..n {
        log.append(entry(&format!("call {i}"), &format!("s-{}", i % 3)).await).await.unwrap();
    }
    log.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_are_all_durable_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(AuditLog::open(dir.path(), &AuditConfig::default()).unwrap());
    let mut tasks = Vec::new();
    for i in 0..200 {
        let l = log.clone();
        let e = entry(&format!("call {i}"), "s").await;
        tasks.push(tokio::spawn(async move { l.append(e).await.unwrap() }));
    }
    let mut seqs: Vec<u64> = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap().sequence);
    }
    seqs.sort();
    assert_eq!(seqs, (0..200).collect::<Vec<_>>());
    // Acknowledged means on disk and readable: the tree already holds them.
    assert_eq!(log.size(), 200);
    let r = log.record(199).unwrap().unwrap();
    assert_eq!(r.leaf, warden::audit::merkle::leaf_hash(&r.canonical));
    log.close().unwrap();
    assert!(log.append(entry("late", "s").await).await.is_err(), "closed log refuses appends");
    // Closing signed a checkpoint covering everything.
    let report = check(dir.path()).unwrap();
    assert_eq!(report.records, 200);
    assert!(report.checkpoints >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proofs_from_the_log_verify_against_signed_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), &AuditConfig::default()).unwrap();
    for i in 0..37 {
        log.append(entry(&format!("call {i}"), "s").await).await.unwrap();
    }
    log.close().unwrap();
    let log = AuditLog::open(dir.path(), &AuditConfig::default()).unwrap();
    let cps = log.checkpoints();
    let last = cps.last().unwrap();
    assert_eq!(last.tree_size, 37);
    let key = read_public_key(&default_key_path(dir.path())).unwrap();
    warden::audit::checkpoint::verify_checkpoint(last, &key).unwrap();
    for idx in [0u64, 1, 17, 36] {
        let rec = log.record(idx).unwrap().unwrap();
        let proof = log.inclusion_proof(idx, 37).unwrap();
        let leaf = warden::audit::merkle::leaf_hash(&rec.canonical);
        verify_inclusion(&leaf, idx, 37, &proof, &last.root).unwrap();
    }
    let first = &cps[0];
    let proof = log.consistency_proof(first.tree_size, 37).unwrap();
    verify_consistency(first.tree_size, 37, &first.root, &last.root, &proof).unwrap();
    log.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_from_a_torn_last_line_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    log_with(dir.path(), 3, &AuditConfig::default()).await;
    // A crash in the middle of a write leaves half a line without newline.
    let seg = segments(dir.path()).pop().unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    let torn = br#"{"record":{"v":2,"seq":3,"id":"01"#;
    f.write_all(torn).unwrap();
    drop(f);
    assert_eq!(check(dir.path()).unwrap().torn_tail_bytes, torn.len() as u64);

    let log = AuditLog::open(dir.path(), &AuditConfig::default()).unwrap();
    let next = log.append(entry("after crash", "s").await).await.unwrap();
    assert_eq!(next.sequence, 3);
    log.close().unwrap();
    let report = check(dir.path()).unwrap();
    assert_eq!((report.records, report.torn_tail_bytes), (4, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_roll_and_the_log_reads_across_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = AuditConfig { segment_max_bytes: 4096, ..AuditConfig::default() };
    log_with(dir.path(), 40, &config).await;
    assert!(segments(dir.path()).len() > 3, "{:?}", segments(dir.path()));
    let log = AuditLog::open(dir.path(), &config).unwrap();
    for seq in [0u64, 13, 39] {
        assert_eq!(log.record(seq).unwrap().unwrap().sequence, seq);
    }
    let s1 = log.query(&Query { session_id: "s-1".into(), ..Query::default() });
    assert_eq!(s1, (0..40).filter(|i| i % 3 == 1).collect::<Vec<u64>>());
    let limited = log.query(&Query { decision: "allow".into(), limit: 5, ..Query::default() });
    assert_eq!(limited, vec![0, 1, 2, 3, 4]);
    log.close().unwrap();
    assert_eq!(check(dir.path()).unwrap().records, 40);
}

/// A long log has more segments than descriptors it may hold: reading all
/// of it keeps at most 32 segment files open, and records of segments
/// closed in between still read back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_a_long_log_keeps_descriptors_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let config = AuditConfig { segment_max_bytes: 4096, ..AuditConfig::default() };
    log_with(dir.path(), 200, &config).await;
    let many = segments(dir.path()).len();
    assert!(many > 40, "{many} segments");
    let seg_dir = std::fs::canonicalize(dir.path()).unwrap();
    let open_segments = || {
        std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|e| std::fs::read_link(e.unwrap().path()).ok())
            .filter(|t| t.starts_with(&seg_dir) && t.extension().is_some_and(|x| x == "jsonl"))
            .count()
    };
    let log = AuditLog::open(dir.path(), &config).unwrap();
    for round in 0..2 {
        for seq in 0..200u64 {
            assert_eq!(log.record(seq).unwrap().unwrap().sequence, seq, "round {round}");
        }
        // 32 for reads and the one the writer appends to.
        assert!(open_segments() <= 33, "{} of {many} segment files open", open_segments());
    }
    log.close().unwrap();
}

/// Every kind of tampering is found by `verify` and refused by `open`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detects_every_kind_of_tampering() {
    type Tamper = fn(&Path);
    fn lines(seg: &Path) -> Vec<String> {
        std::fs::read_to_string(seg).unwrap().lines().map(String::from).collect()
    }
    fn write(seg: &Path, lines: &[String]) {
        std::fs::write(seg, lines.join("\n") + "\n").unwrap();
    }
    let cases: Vec<(&str, Tamper, &str)> = vec![
        (
            "one byte of a record changed",
            |d| {
                let seg = &segments(d)[0];
                let text = std::fs::read_to_string(seg).unwrap().replacen("call 1", "call X", 1);
                std::fs::write(seg, text).unwrap();
            },
            "modified",
        ),
        (
            "a record deleted",
            |d| {
                let seg = &segments(d)[0];
                let mut l = lines(seg);
                l.remove(2);
                write(seg, &l);
            },
            "removed",
        ),
        (
            "a forged record inserted",
            |d| {
                let seg = &segments(d)[0];
                let mut l = lines(seg);
                let forged = l[2].replace("call 2", "call F");
                l.insert(3, forged);
                write(seg, &l);
            },
            "record 3",
        ),
        (
            "two records swapped",
            |d| {
                let seg = &segments(d)[0];
                let mut l = lines(seg);
                l.swap(1, 2);
                write(seg, &l);
            },
            "record 1",
        ),
        (
            "the tail truncated (whole records removed)",
            |d| {
                let seg = &segments(d)[0];
                let mut l = lines(seg);
                l.truncate(3);
                write(seg, &l);
            },
            "records were removed",
        ),
        (
            "the last record rewritten with a consistent leaf and chain",
            |d| {
                // A forger without the signing key can fix up hashes and the
                // chain, but not the signed checkpoint's root.
                let seg = &segments(d)[0];
                let mut l = lines(seg);
                let v: serde_json::Value = serde_json::from_str(&l[5]).unwrap();
                let record = serde_json::to_string(&v["record"]).unwrap().replace("call 5", "call Z");
                let leaf = warden::audit::merkle::leaf_hash(record.as_bytes());
                let prev = hex::decode(v["prev"].as_str().unwrap()).unwrap();
                let mut h = sha2::Sha256::new();
                use sha2::Digest;
                h.update(b"warden.chain.v2\0");
                h.update(&prev);
                h.update(leaf);
                let hash: [u8; 32] = h.finalize().into();
                l[5] = format!(
                    r#"{{"record":{record},"leaf":"{}","prev":"{}","hash":"{}"}}"#,
                    hex::encode(leaf),
                    v["prev"].as_str().unwrap(),
                    hex::encode(hash)
                );
                write(seg, &l);
            },
            "signed root",
        ),
        (
            "a checkpoint replaced with one signed by another key",
            |d| {
                let other = tempfile::tempdir().unwrap();
                let signer = warden::audit::checkpoint::LogSigner::load_or_create(
                    &other.path().join("k.pem"),
                    "warden/forger".into(),
                )
                .unwrap();
                let path = d.join("audit/checkpoints.jsonl");
                let text = std::fs::read_to_string(&path).unwrap();
                let mut l: Vec<String> = text.lines().map(String::from).collect();
                let last: warden::audit::checkpoint::Checkpoint = serde_json::from_str(l.last().unwrap()).unwrap();
                let forged = signer.sign(last.tree_size, last.root, time::OffsetDateTime::now_utc());
                *l.last_mut().unwrap() = serde_json::to_string(&forged).unwrap();
                std::fs::write(&path, l.join("\n") + "\n").unwrap();
            },
            "signature",
        ),
    ];
    for (what, tamper, needle) in cases {
        let dir = tempfile::tempdir().unwrap();
        log_with(dir.path(), 6, &AuditConfig::default()).await;
        assert!(check(dir.path()).is_ok());
        tamper(dir.path());
        let err = check(dir.path()).expect_err(what);
        assert!(err.contains(needle), "{what}: {err}");
        assert!(AuditLog::open(dir.path(), &AuditConfig::default()).is_err(), "{what}: open must refuse");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_retires_whole_segments_and_keeps_the_tree_verifiable() {
    let dir = tempfile::tempdir().unwrap();
    let config = AuditConfig {
        segment_max_bytes: 4096,
        retention_seconds: 1,
        checkpoint_interval_ms: 50,
        ..AuditConfig::default()
    };
    let log = AuditLog::open(dir.path(), &config).unwrap();
    for i in 0..30 {
        log.append(entry(&format!("old call {i}"), "old").await).await.unwrap();
    }
    let old_root = log.root(30).unwrap();
    // Let the old records age past retention, then write new ones: the
    // writer's periodic pass retires the closed segments.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    for i in 0..3 {
        log.append(entry(&format!("new call {i}"), "new").await).await.unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while log.record(0).unwrap().is_some() {
        assert!(std::time::Instant::now() < deadline, "old segments were not retired");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Retired records leave the index at once, not at the next open.
    let old = log.query(&Query { session_id: "old".into(), ..Query::default() });
    assert!(old.len() < 30, "{old:?}");
    for seq in old {
        assert!(log.record(seq).unwrap().is_some(), "record {seq} retired but still indexed");
    }
    // Old content is gone; new content, the old root and proofs remain.
    assert!(log.record(32).unwrap().is_some());
    assert_eq!(log.root(30).unwrap(), old_root);
    let proof = log.inclusion_proof(3, 33).unwrap();
    let cp_root = log.root(33).unwrap();
    let leaf = log.record(32).unwrap().unwrap().leaf;
    verify_inclusion(&leaf, 32, 33, &log.inclusion_proof(32, 33).unwrap(), &cp_root).unwrap();
    assert!(!proof.is_empty());
    log.close().unwrap();
    let seals = std::fs::read_dir(dir.path().join("audit/segments"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "seal"))
        .count();
    assert!(seals >= 1);

    // Reopening and verifying work across retired segments.
    let report = check(dir.path()).unwrap();
    assert_eq!(report.records, 33);
    let log = AuditLog::open(dir.path(), &config).unwrap();
    assert!(log.record(0).unwrap().is_none());
    assert_eq!(log.record(32).unwrap().unwrap().sequence, 32);
    let q = log.query(&Query { session_id: "new".into(), ..Query::default() });
    assert_eq!(q, vec![30, 31, 32]);
    log.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privacy_modes_and_crypto_shredding_keep_the_log_verifiable() {
    use warden::audit::privacy::{FieldMode, PrivacyConfig};
    let dir = tempfile::tempdir().unwrap();
    let privacy = PrivacyConfig {
        default: FieldMode::Encrypt,
        fields: [("system_prompt".to_string(), FieldMode::Hash), ("documents".to_string(), FieldMode::Redacted)]
            .into_iter()
            .collect(),
    };
    let config = AuditConfig { privacy, ..AuditConfig::default() };
    let pii = warden::detect::pii::PiiDetector::new("US").unwrap();
    let pipeline = Pipeline::new(
        vec![Arc::new(pii)],
        Arc::new(Policy::builtin()),
        warden::action::PolicyHandle::new(warden::action::ActionPolicy::builtin(), None),
        std::time::Duration::from_secs(1),
    );
    let score = |user: &str, text: &str| {
        let request = ScoreRequest::Input {
            context: Context { application: "t".into(), user_id: user.into(), ..Context::default() },
            text: text.into(),
            system_prompt: "You are a bank assistant.".into(),
            documents: vec![warden::scoring::DocumentIn {
                id: "d1".into(),
                source: "crm".into(),
                text: "Customer mail: ann@example.org".into(),
                trusted: true,
            }],
        };
        let pipeline = &pipeline;
        async move {
            let evaluation = pipeline.evaluate(&request, &Default::default()).await;
            Entry::ScoreDecision {
                request,
                evaluation,
                approval_id: None,
                warden_version: "test",
                caller: None,
                approval: None,
            }
        }
    };
    let log = AuditLog::open(dir.path(), &config).unwrap();
    let a = log.append(score("u-1", "my card is 4111 1111 1111 1111").await).await.unwrap();
    let b = log.append(score("u-2", "hello from user two").await).await.unwrap();
    let root_before = log.root(2).unwrap();

    let stored = log.record(a.sequence).unwrap().unwrap();
    let text = String::from_utf8(stored.canonical.clone()).unwrap();
    assert!(!text.contains("4111 1111"), "encrypted text must not be stored in the clear: {text}");
    assert!(!text.contains("You are a bank assistant"), "hashed system prompt");
    assert!(text.contains("\"$hash\":\"sha256:"));
    assert!(text.contains("Customer mail: [REDACTED:pii.email]"), "redacted document: {text}");
    assert!(text.contains("\"$enc\""));
    // The redacted copy the assessment returns stays readable.
    assert!(text.contains("my card is [REDACTED:pii.credit_card]"));

    let revealed = log.reveal(&stored.canonical).unwrap();
    assert_eq!(revealed["body"]["request"]["text"], "my card is 4111 1111 1111 1111");

    let erased = log.erase_subject("user:u-1", "erasure request #42", Context::default()).await.unwrap();
    assert!(erased.key_existed);
    let revealed = log.reveal(&log.record(a.sequence).unwrap().unwrap().canonical).unwrap();
    assert!(revealed["body"]["request"]["text"].get("$erased").is_some(), "{revealed}");
    let other = log.reveal(&log.record(b.sequence).unwrap().unwrap().canonical).unwrap();
    assert_eq!(other["body"]["request"]["text"], "hello from user two");
    // Erasure changed no record: same root, and the whole log verifies.
    assert_eq!(log.root(2).unwrap(), root_before);
    let erasure = log.record(erased.record.sequence).unwrap().unwrap();
    assert_eq!(erasure.kind, "subject_erased");
    log.close().unwrap();
    assert_eq!(check(dir.path()).unwrap().records, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_writer_per_log() {
    let dir = tempfile::tempdir().unwrap();
    let first = AuditLog::open(dir.path(), &AuditConfig::default()).unwrap();
    let err = AuditLog::open(dir.path(), &AuditConfig::default()).err().expect("second writer refused");
    assert!(err.to_string().contains("in use by another Warden process"), "{err}");
    // Readers are fine next to the writer.
    first.append(entry("x", "s").await).await.unwrap();
    let reader = AuditLog::open_read_only(dir.path(), &AuditConfig::default()).unwrap();
    assert_eq!(reader.size(), 1);
    first.close().unwrap();
    drop(first);
    AuditLog::open(dir.path(), &AuditConfig::default()).unwrap().close().unwrap();
}

#[tokio::test]
async fn a_period_is_evidenced_by_the_last_checkpoint_of_each_day() {
    use time::macros::datetime;
    use time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let start = datetime!(2026-05-01 00:00 UTC);
    let (clock, hand) = warden::audit::journal::Clock::manual(start);
    let log = AuditLog::open_with_clock(dir.path(), &AuditConfig::default(), clock).unwrap();
    for day in 0..4 {
        for hour in [1, 8, 16] {
            hand.set(start + Duration::days(day) + Duration::hours(hour));
            let appended = log.append(entry("where is my parcel?", "s").await).await.unwrap();
            assert!(appended.recorded_at.starts_with(&format!("2026-05-0{}T", day + 1)), "{}", appended.recorded_at);
            let cp = log.checkpoint().await.unwrap();
            assert_eq!(cp.tree_size, appended.sequence + 1, "the checkpoint covers the record just written");
            // Asking again signs nothing new.
            assert_eq!(log.checkpoint().await.unwrap(), cp);
        }
    }
    // Twelve, and the one every log signs when it opens (size 0).
    assert_eq!(log.checkpoints().len(), 13);
    let nanos = |t: time::OffsetDateTime| t.unix_timestamp_nanos();
    let period = log.checkpoints_for_period(nanos(start + Duration::days(1)), nanos(start + Duration::days(3)));
    let sizes: Vec<u64> = period.iter().map(|c| c.tree_size).collect();
    // The last before the period, the last of each of its two days, the
    // first after it.
    assert_eq!(sizes, [3, 6, 9, 10]);
    log.close().unwrap();
    check(dir.path()).unwrap();
}

/// Signed history cannot be rewritten without the key by also deleting the
/// checkpoints: each case of issue #25's point 3 is found by `verify`,
/// refused by `open` (which would otherwise sign over it), and, where the
/// local log alone cannot tell, by the checkpoint published elsewhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_history_is_found_without_the_checkpoints_that_covered_it() {
    // What verify says, and whether the checkpoint published before the
    // edit (size 12) finds it too: a rewrite changes its root; deleted
    // checkpoints and appended records leave it reproduced.
    let expected = [
        ("covered by no checkpoint", true),
        ("were signed only by checkpoint 12", false),
        ("covered by no checkpoint", false),
        ("added after the fact", false),
    ];
    for ((what, tamper), (needle, published_finds)) in history_forgeries().into_iter().zip(expected) {
        let dir = tempfile::tempdir().unwrap();
        minute_log(dir.path(), 12).await;
        let report = check(dir.path()).unwrap();
        assert_eq!((report.records, report.unsigned_records), (12, 0), "{what}: the genuine log");
        let kept = newest_checkpoint(dir.path());
        tamper(dir.path());

        // Without the timeliness check the forgery passes: the chain and
        // the remaining checkpoints all verify.
        let key = read_public_key(&default_key_path(dir.path())).unwrap();
        verify(dir.path(), &key, warden::audit::journal::Timeliness::Unchecked)
            .unwrap_or_else(|e| panic!("{what}: the forgery itself should be chain-correct: {e}"));
        let err = check(dir.path()).expect_err(what);
        assert!(err.contains(needle), "{what}: {err}");
        // Opening for writing refuses to sign over an unsigned tail; a gap
        // that the newest checkpoint already covers is verify's to report.
        match AuditLog::open(dir.path(), &AuditConfig::default()) {
            Err(refused) => assert!(refused.to_string().contains("--accept-unsigned-tail"), "{what}: {refused}"),
            Ok(log) => {
                assert!(what.contains("newest kept"), "{what}: open must refuse");
                log.close().unwrap();
            }
        }
        // The checkpoint published before the edit (a store, a witness) finds it too.
        let published = warden::audit::journal::check_published(dir.path(), &key, &kept);
        assert_eq!(published.is_err(), published_finds, "{what}: {published:?}");
    }
}

/// A log cut short together with its checkpoints verifies on its own (no
/// local trace is left); the checkpoint published before the cut does not
/// let it pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncation_with_its_checkpoints_is_found_by_the_published_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    minute_log(dir.path(), 12).await;
    let key = read_public_key(&default_key_path(dir.path())).unwrap();
    let published = newest_checkpoint(dir.path());
    warden::audit::journal::check_published(dir.path(), &key, &published).unwrap();

    let seg = &segments(dir.path())[0];
    let text = std::fs::read_to_string(seg).unwrap();
    let kept: String = text.lines().take(8).map(|l| format!("{l}\n")).collect();
    std::fs::write(seg, kept).unwrap();
    drop_checkpoints(dir.path(), |size| size <= 8);
    assert_eq!(check(dir.path()).unwrap().records, 8, "locally, a log that stopped at 8");
    let err = warden::audit::journal::check_published(dir.path(), &key, &published).unwrap_err().to_string();
    assert!(err.contains("records were removed"), "{err}");

    // A rewrite the local checkpoints no longer cover: the published root differs.
    let dir = tempfile::tempdir().unwrap();
    minute_log(dir.path(), 12).await;
    let published = newest_checkpoint(dir.path());
    forge(dir.path(), rewrite_call(11), 0);
    drop_checkpoints(dir.path(), |size| size <= 11);
    let err = warden::audit::journal::check_published(dir.path(), &key_of(dir.path()), &published).unwrap_err();
    assert!(err.to_string().contains("records were changed"), "{err}");
    // And a checkpoint that is not the log's own is refused, whatever it says.
    let other = tempfile::tempdir().unwrap();
    minute_log(other.path(), 12).await;
    let foreign = newest_checkpoint(other.path());
    let err = warden::audit::journal::check_published(dir.path(), &key_of(dir.path()), &foreign).unwrap_err();
    assert!(err.to_string().contains("signature"), "{err}");
}

fn key_of(dir: &Path) -> ed25519_dalek::VerifyingKey {
    read_public_key(&default_key_path(dir)).unwrap()
}

/// An operator who knows why a tail is unsigned can let the server sign it;
/// the log says so for ever, and `verify` reports it rather than failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsigned_tail_is_signed_only_when_accepted_and_on_the_record() {
    let dir = tempfile::tempdir().unwrap();
    minute_log(dir.path(), 12).await;
    drop_checkpoints(dir.path(), |size| size <= 4);
    assert!(AuditLog::open(dir.path(), &AuditConfig::default()).is_err());

    let accept = AuditConfig { accept_unsigned_tail: true, ..AuditConfig::default() };
    let log = AuditLog::open(dir.path(), &accept).unwrap();
    assert_eq!(log.size(), 13, "the twelve records and the acceptance");
    let marker = log.record(12).unwrap().unwrap();
    let v = warden::audit::record::read_value(&marker.canonical).unwrap();
    assert_eq!(v["kind"], "unsigned_tail_accepted");
    assert_eq!((v["body"]["first_sequence"].as_u64(), v["body"]["last_sequence"].as_u64()), (Some(4), Some(11)));
    assert!(v["body"]["reason"].as_str().unwrap().contains("records 4..=11"), "{v}");
    assert_eq!(log.latest_checkpoint().unwrap().tree_size, 13, "signed, acceptance included");
    log.close().unwrap();
    drop(log);

    let report = check(dir.path()).unwrap();
    assert_eq!(report.accepted_unsigned_records, 8, "{report:?}");
    // Signed now: the next start needs no flag.
    AuditLog::open(dir.path(), &AuditConfig::default()).unwrap().close().unwrap();
}

/// A crash leaves up to a window of records unsigned: that is no forgery.
/// The next start signs them without being told, and `verify` agrees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_tail_is_signed_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    crash_tail_log(dir.path()).await;
    assert_eq!(check(dir.path()).unwrap().unsigned_records, 3);
    let log = AuditLog::open(dir.path(), &AuditConfig::default()).unwrap();
    assert_eq!(log.latest_checkpoint().unwrap().tree_size, 6);
    log.close().unwrap();
    drop(log);
    let report = check(dir.path()).unwrap();
    assert_eq!((report.unsigned_records, report.accepted_unsigned_records), (0, 0), "{report:?}");
}

/// While idle the writer signs again (same size, a new time), so a verifier
/// can tell a long silence from records stamped into it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writer_signs_heartbeats_while_idle() {
    let dir = tempfile::tempdir().unwrap();
    let beating = AuditConfig { checkpoint_interval_ms: 20, checkpoint_heartbeat_ms: 100, ..AuditConfig::default() };
    let log = AuditLog::open(dir.path(), &beating).unwrap();
    log.append(entry("one call", "s").await).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let beats: Vec<_> = log.checkpoints().into_iter().filter(|c| c.tree_size == 1).collect();
    assert!(beats.len() >= 3, "heartbeats while idle: {beats:?}");
    assert!(beats.windows(2).all(|w| w[0].unix_nanos < w[1].unix_nanos), "each with a new time");
    log.close().unwrap();

    // Off: one checkpoint for the record, then nothing while idle.
    let dir = tempfile::tempdir().unwrap();
    let quiet = AuditConfig { checkpoint_heartbeat_ms: 0, ..beating };
    let log = AuditLog::open(dir.path(), &quiet).unwrap();
    log.append(entry("one call", "s").await).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert_eq!(log.checkpoints().iter().filter(|c| c.tree_size == 1).count(), 1);
    log.close().unwrap();
}
