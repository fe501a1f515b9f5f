//! ScoreAction latency with the default policy (a bench binary that prints
//! percentiles; `cargo bench --bench action`, release build). For the
//! one-core figure run it pinned: `taskset -c 0 cargo bench --bench action`.
//!
//! The calls are the tool calls of `tests/fixtures/action_calls.toml`,
//! cycled. Measured in one run, each against the previous as its baseline:
//!
//! 1. analysers alone (tool family, money, SQL parse, shell, paths, URLs);
//! 2. analysers + the Rego action policy (what the action stage adds);
//! 3. the whole pipeline for ScoreAction: rule detectors over the arguments,
//!    the action policy, the risk policy's verdict (no audit write);
//! 4. the same pipeline for ScoreInput with the same bytes as the text (the
//!    rule stage a non-action call pays), for the ratio.
//!
//! End-to-end gRPC latency adds the durable audit append (an fsync per
//! group commit), which `cargo bench --bench audit` measures on its own.

mod common;

use common::{fmt, percentile};
use std::sync::Arc;
use std::time::{Duration, Instant};

use warden::action::{analyse, ActionPolicy, PolicyHandle};
use warden::scoring::{Context, Pipeline, ScoreRequest};
use warden::session::SessionView;

#[derive(serde::Deserialize)]
struct Table {
    call: Vec<Call>,
}

#[derive(serde::Deserialize)]
struct Call {
    tool: String,
    args: String,
}

struct Stats {
    p50: Duration,
    p99: Duration,
}

fn report(name: &str, mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let s = Stats { p50: percentile(&samples, 0.5), p99: percentile(&samples, 0.99) };
    println!(
        "{name:<44} n={:<6} p50 {:>9}  p90 {:>9}  p99 {:>9}  max {:>9}",
        samples.len(),
        fmt(s.p50),
        fmt(percentile(&samples, 0.9)),
        fmt(s.p99),
        fmt(*samples.last().unwrap())
    );
    s
}

fn main() {
    let rounds: usize = std::env::var("WARDEN_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let table: Table =
        toml::from_str(&std::fs::read_to_string("tests/fixtures/action_calls.toml").expect("run from the crate root"))
            .expect("table");
    let calls = table.call;
    let policy = ActionPolicy::builtin();
    let ctx = Context { tenant: "acme".into(), session_id: "bench".into(), ..Context::default() };
    let session = SessionView::default();
    println!("ScoreAction latency, {} calls x {rounds} rounds, default policy ({})", calls.len(), policy.version());

    // Warm up: compiled regexes, the policy's first evaluation.
    for c in &calls {
        let args: serde_json::Value = serde_json::from_str(&c.args).unwrap();
        let _ = analyse::analyse(&c.tool, &args);
        let _ = warden::action::assess(&policy, &c.tool, &c.args, "", &ctx, &[], &session).unwrap();
    }

    let mut analysers = Vec::new();
    let mut staged = Vec::new();
    for _ in 0..rounds {
        for c in &calls {
            let t = Instant::now();
            let args: serde_json::Value = serde_json::from_str(&c.args).unwrap();
            std::hint::black_box(analyse::analyse(&c.tool, &args));
            analysers.push(t.elapsed());
            let t = Instant::now();
            std::hint::black_box(warden::action::assess(&policy, &c.tool, &c.args, "", &ctx, &[], &session).unwrap());
            staged.push(t.elapsed());
        }
    }
    let a = report("1. analysers", analysers);
    let b = report("2. analysers + Rego policy", staged);

    // The pipeline, as the server runs it: detectors on the blocking pool.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let config = warden::Config::default();
    let detectors = warden::detect::rule_detectors(&config.detectors).unwrap();
    let pipeline = Pipeline::new(
        detectors,
        Arc::new(warden::policy::Policy::builtin()),
        PolicyHandle::new(policy.clone(), None),
        Duration::from_secs(5),
    );
    let (mut action_lat, mut input_lat) = (Vec::new(), Vec::new());
    rt.block_on(async {
        for round in 0..rounds + 5 {
            for c in &calls {
                let action = ScoreRequest::Action {
                    context: ctx.clone(),
                    tool: c.tool.clone(),
                    arguments_json: c.args.clone(),
                    rationale: String::new(),
                };
                let input = ScoreRequest::Input {
                    context: ctx.clone(),
                    text: c.args.clone(),
                    system_prompt: String::new(),
                    documents: Vec::new(),
                };
                let t = Instant::now();
                std::hint::black_box(pipeline.evaluate(&action, &session).await);
                let da = t.elapsed();
                let t = Instant::now();
                std::hint::black_box(pipeline.evaluate(&input, &session).await);
                let di = t.elapsed();
                if round >= 5 {
                    action_lat.push(da);
                    input_lat.push(di);
                }
            }
        }
    });
    let c = report("3. ScoreAction pipeline (no audit write)", action_lat);
    let d = report("4. ScoreInput pipeline, same bytes", input_lat);
    println!();
    println!(
        "ratios: policy stage / analysers p50 {:.1}x; ScoreAction / ScoreInput pipeline p50 {:.2}x, p99 {:.2}x",
        b.p50.as_secs_f64() / a.p50.as_secs_f64(),
        c.p50.as_secs_f64() / d.p50.as_secs_f64(),
        c.p99.as_secs_f64() / d.p99.as_secs_f64()
    );
}
