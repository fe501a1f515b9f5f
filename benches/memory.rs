//! Resident memory of the classifiers under repeated bursts of large inputs:
//! does RSS stay flat across identical runs, and does it come back after the
//! load ends?
//!
//! Each variant runs in its own child process (so one variant's heap never
//! counts against another's), in the same run: the baseline is ONNX
//! Runtime's CPU memory arena on (the default, `model.memory_arena`),
//! against the arena off. Each child loads the bundled model, then runs
//! `ROUNDS` identical bursts (`CLIENTS` threads, each scoring `REQUESTS`
//! texts of `TEXT_KB` kB, every text beyond the window budget so none is
//! served from the cache), and prints RSS after loading, after each burst
//! and after idling.
//!
//! `cargo bench --bench memory` (`ROUNDS`, `CLIENTS`, `REQUESTS`, `TEXT_KB`
//! override).

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use warden::model::{Model, ModelConfig};

const VARIANT: &str = "WARDEN_MEMORY_VARIANT";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

mod common;

/// Resident set size of this process, in MiB.
fn rss_mib() -> f64 {
    common::rss_bytes() / (1024.0 * 1024.0)
}

fn child(variant: &str) {
    let (rounds, clients, requests, text_kb) =
        (env("ROUNDS", 5), env("CLIENTS", 4), env("REQUESTS", 6), env("TEXT_KB", 60));
    let config = ModelConfig { memory_arena: variant == "arena-on", ..ModelConfig::default() };
    let started = Instant::now();
    let model = Arc::new(Model::load(&config).expect("the bundled model loads"));
    let mut line = vec![format!("{:.0}", rss_mib())];
    // Distinct texts per client and request, the same in every round.
    let paragraph = "The quarterly report covers deliveries, returns and the route change in the northern \
                     region, with figures per warehouse and a note on staffing. ";
    for _ in 0..rounds {
        let threads: Vec<_> = (0..clients)
            .map(|c| {
                let model = model.clone();
                let text = format!("client {c}: {}", paragraph.repeat(text_kb * 1000 / paragraph.len() + 1));
                std::thread::spawn(move || {
                    for r in 0..requests {
                        let t = format!("request {r} {text}");
                        let scored = model.score_blocking(vec![t]).expect("scored");
                        assert!(scored[0].unscored_windows > 0, "beyond the window budget: never cached");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("client thread");
        }
        line.push(format!("{:.0}", rss_mib()));
    }
    std::thread::sleep(Duration::from_secs(3));
    line.push(format!("{:.0}", rss_mib()));
    println!("{variant}\t{}\t{:.1}", line.join("\t"), started.elapsed().as_secs_f64());
}

fn main() {
    if let Ok(variant) = std::env::var(VARIANT) {
        child(&variant);
        return;
    }
    // `cargo bench` passes `--bench`; nothing else to parse.
    let me = std::env::current_exe().expect("own path");
    let rounds = env("ROUNDS", 5);
    println!(
        "RSS in MiB: after loading, after each of {rounds} identical bursts ({} clients x {} texts of {} kB, 48 \
         windows read of each), 3 s after the last",
        env("CLIENTS", 4),
        env("REQUESTS", 6),
        env("TEXT_KB", 60)
    );
    let mut header = vec!["variant".to_string(), "loaded".to_string()];
    header.extend((1..=rounds).map(|r| format!("run {r}")));
    header.extend(["idle".to_string(), "seconds".to_string()]);
    println!("{}", header.join("\t"));
    for variant in ["arena-on", "arena-off"] {
        let out = Command::new(&me).env(VARIANT, variant).output().expect("child runs");
        assert!(out.status.success(), "{variant}: {}", String::from_utf8_lossy(&out.stderr));
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
    println!("baseline: arena-on (the default); arena-off is model.memory_arena = false");
}
