//! What the audit log keeps in memory per record: the Merkle tree, where
//! each record is, the facts queries filter on, the posting lists and the
//! `Append` de-duplication map grow with every record the log holds, so
//! they set how a long-running sidecar's memory grows.
//!
//! A first child process writes a log of `RECORDS` client events (default
//! 200,000), shaped like an agent's traffic: a trace id per event, a
//! session per 20 events, 50 tools, 200 end users, two tenants, a
//! `client_event_id` on each (so the de-duplication map holds them all). A
//! second child opens it (the replay rebuilds exactly the state a running
//! server holds) and reports the live heap bytes and the RSS the open
//! added, per record. The baseline in the same run is the same open with
//! the de-duplication window at 0 (`audit.dedup_window_secs`), which
//! separates the de-duplication map from the rest.
//!
//! `cargo bench --bench journal_memory` (`RECORDS` overrides).

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::Command;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde_json::value::RawValue;
use warden::audit::journal::AuditLog;
use warden::audit::{Entry, Journal};
use warden::config::AuditConfig;
use warden::request::Context;

mod common;
use common::rss_bytes;

/// Counts live heap bytes, so a figure is what the log holds, not what the
/// allocator happened to keep.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const STEP: &str = "WARDEN_JOURNAL_MEMORY_STEP";

fn records() -> u64 {
    std::env::var("RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000)
}

fn event(i: u64) -> Entry {
    Entry::ClientEvent {
        event_kind: ["model_call", "tool_call", "tool_result"][(i % 3) as usize].into(),
        client_event_id: format!("evt-{i:012}"),
        context: Context {
            tenant: ["acme", "globex"][(i % 2) as usize].into(),
            application: "support-agent".into(),
            session_id: format!("session-{:08}", i / 20),
            trace_id: format!("{:032x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            user_id: format!("user-{}", i % 200),
            ..Context::default()
        },
        attributes: RawValue::from_string(format!(
            r#"{{"gen_ai.tool.name":"tool_{}","gen_ai.request.model":"gpt-4o","gen_ai.usage.input_tokens":{}}}"#,
            i % 50,
            i % 997
        ))
        .expect("valid JSON"),
        occurred_at: None,
    }
}

fn write(dir: &std::path::Path) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let log = Arc::new(AuditLog::open(dir, &AuditConfig::default()).expect("log opens"));
        let n = records();
        let writers = 64;
        let tasks: Vec<_> = (0..writers)
            .map(|w| {
                let log = log.clone();
                tokio::spawn(async move {
                    let mut i = w;
                    while i < n {
                        log.append(event(i)).await.expect("appended");
                        i += writers;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("writer");
        }
        log.close().expect("closed");
    });
}

fn open(dir: &std::path::Path, dedup_window_secs: u64) {
    let config = AuditConfig { dedup_window_secs, ..AuditConfig::default() };
    let (heap, rss) = (LIVE.load(Ordering::Relaxed), rss_bytes());
    let started = Instant::now();
    let log = AuditLog::open(dir, &config).expect("log opens");
    let took = started.elapsed();
    let n = log.size() as f64;
    let (heap_after, rss_after) = (LIVE.load(Ordering::Relaxed), rss_bytes());
    println!(
        "{}\t{}\t{:.0}\t{:.0}\t{:.1}",
        if dedup_window_secs == 0 { "dedup off (baseline)" } else { "as served" },
        log.size(),
        (heap_after - heap) as f64 / n,
        (rss_after - rss) / n,
        took.as_secs_f64()
    );
    drop(log);
}

fn main() {
    if let Ok(step) = std::env::var(STEP) {
        let dir = std::path::PathBuf::from(std::env::var("WARDEN_JOURNAL_MEMORY_DIR").expect("dir"));
        match step.as_str() {
            "write" => write(&dir),
            "open" => open(&dir, AuditConfig::default().dedup_window_secs),
            _ => open(&dir, 0),
        }
        return;
    }
    let me = std::env::current_exe().expect("own path");
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |step: &str| {
        let out = Command::new(&me)
            .env(STEP, step)
            .env("WARDEN_JOURNAL_MEMORY_DIR", dir.path())
            .output()
            .expect("child runs");
        assert!(out.status.success(), "{step}: {}", String::from_utf8_lossy(&out.stderr));
        print!("{}", String::from_utf8_lossy(&out.stdout));
    };
    let started = Instant::now();
    run("write");
    println!("wrote {} client events in {:.1} s", records(), started.elapsed().as_secs_f64());
    let on_disk: u64 = walk(dir.path());
    println!("on disk: {:.0} bytes per record", on_disk as f64 / records() as f64);
    println!("open\trecords\theap B/record\tRSS B/record\topen s");
    run("open-baseline");
    run("open");
}

fn walk(p: &std::path::Path) -> u64 {
    std::fs::read_dir(p)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let m = e.metadata().expect("metadata");
            if m.is_dir() {
                walk(&e.path())
            } else {
                m.len()
            }
        })
        .sum()
}
