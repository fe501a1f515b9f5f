//! The local journal: durable acknowledgements, group commit under
//! concurrency, recovery from a crash mid-write, refusal of a tampered log.

use std::io::Write;
use std::sync::Arc;

use warden::audit::journal::{journal_path, verify, FileJournal};
use warden::audit::{Entry, Journal};
use warden::config::AuditConfig;
use warden::policy::Policy;
use warden::scoring::{Context, Pipeline, ScoreRequest};

async fn entry(text: &str) -> Entry {
    let request = ScoreRequest::Input {
        context: Context { application: "t".into(), ..Context::default() },
        text: text.into(),
        system_prompt: String::new(),
        documents: vec![],
    };
    let pipeline = Pipeline::new(vec![], Arc::new(Policy::builtin()), std::time::Duration::from_secs(1));
    let evaluation = pipeline.evaluate(&request).await;
    Entry::ScoreDecision { request, evaluation, approval_id: None, warden_version: "test" }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_are_all_durable_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(FileJournal::open(dir.path(), &AuditConfig::default()).unwrap());
    let mut tasks = Vec::new();
    for i in 0..200 {
        let j = journal.clone();
        let e = entry(&format!("call {i}")).await;
        tasks.push(tokio::spawn(async move { j.append(e).await.unwrap() }));
    }
    let mut seqs: Vec<u64> = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap().sequence);
    }
    seqs.sort();
    assert_eq!(seqs, (0..200).collect::<Vec<_>>());
    // Acknowledged means on disk: a second reader sees all of it before close.
    assert_eq!(verify(dir.path()).unwrap().records, 200);
    journal.close().unwrap();
    assert!(journal.append(entry("late").await).await.is_err(), "closed journal refuses appends");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_from_a_torn_last_line() {
    let dir = tempfile::tempdir().unwrap();
    {
        let journal = FileJournal::open(dir.path(), &AuditConfig::default()).unwrap();
        for i in 0..3 {
            journal.append(entry(&format!("call {i}")).await).await.unwrap();
        }
        journal.close().unwrap();
    }
    // A crash in the middle of a write leaves half a line without newline.
    let mut f = std::fs::OpenOptions::new().append(true).open(journal_path(dir.path())).unwrap();
    let torn = br#"{"record":{"v":1,"seq":3,"id":"01"#;
    f.write_all(torn).unwrap();
    drop(f);
    assert_eq!(verify(dir.path()).unwrap().torn_tail_bytes, torn.len() as u64);

    let journal = FileJournal::open(dir.path(), &AuditConfig::default()).unwrap();
    let next = journal.append(entry("after crash").await).await.unwrap();
    assert_eq!(next.sequence, 3);
    journal.close().unwrap();
    let report = verify(dir.path()).unwrap();
    assert_eq!((report.records, report.torn_tail_bytes), (4, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_to_open_a_tampered_journal() {
    let dir = tempfile::tempdir().unwrap();
    {
        let journal = FileJournal::open(dir.path(), &AuditConfig::default()).unwrap();
        for i in 0..3 {
            journal.append(entry(&format!("call {i}")).await).await.unwrap();
        }
        journal.close().unwrap();
    }
    let path = journal_path(dir.path());
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("call 0", "call X", 1)).unwrap();
    let err = FileJournal::open(dir.path(), &AuditConfig::default()).err().expect("tampered journal refused");
    assert!(err.to_string().contains("line 1"), "{err}");
}
