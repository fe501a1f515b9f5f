//! Warden's load generator (issue #26): a mix of ScoreInput, ScoreOutput,
//! ScoreAction and Append built from the licensed traffic sample in
//! `tests/fixtures/`, closed loop (1 to 256 clients) or open loop at a fixed
//! rate with coordinated omission corrected, over tonic on loopback; it
//! samples the server's RSS and open descriptors from `/proc`.
//!
//! ```sh
//! cargo build --release --bin warden --example load
//! target/release/examples/load table                # docs/benchmarks.md's load table
//! target/release/examples/load run --addr 127.0.0.1:50051 --pid $(pidof warden) --concurrency 16 --seconds 30
//! target/release/examples/load soak --rate 100 --seconds 1200   # outage of both stores in the middle
//! target/release/examples/load scale --instances 1,4,16,32      # N sidecars into one PostgreSQL and JetStream
//! ```
//!
//! Every run is bounded by a request count and a duration.

mod fixture;
mod generator;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use fixture::{Proxy, Warden};
use generator::{Clients, Corpus, Mix, Mode, Plan, Report};

#[derive(Parser)]
#[command(about = "Load generator for Warden (loopback only)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// One run against a running server.
    Run(RunArgs),
    /// Starts the release server with and without the model, runs closed
    /// loops at rising concurrency and open loops at shares of the measured
    /// capacity, and prints the benchmark table.
    Table(TableArgs),
    /// An open loop at a fixed rate for a long time, with both downstream
    /// stores cut off in the middle through a proxy; then checks that every
    /// acknowledged record arrived.
    Soak(SoakArgs),
    /// 1, 4, 16, 32 ... servers shipping into one PostgreSQL and one
    /// JetStream: records/s into each store, lag, the stores' CPU.
    Scale(ScaleArgs),
}

#[derive(Args, Clone)]
struct Common {
    /// Weights of ScoreInput, ScoreOutput, ScoreAction, Append.
    #[arg(long, default_value = "40,20,20,20")]
    mix: Mix,
    /// Share of texts drawn from the attack rows.
    #[arg(long, default_value_t = 0.1)]
    attack_share: f64,
    /// `traffic.jsonl` to draw texts from (default: the repository's
    /// `tests/fixtures/traffic/traffic.jsonl`).
    #[arg(long)]
    traffic: Option<PathBuf>,
    /// Action table (default: `tests/fixtures/action_calls.toml`).
    #[arg(long)]
    actions: Option<PathBuf>,
    /// HTTP/2 connections per server.
    #[arg(long, default_value_t = 1)]
    connections: usize,
    #[arg(long, default_value_t = 26)]
    seed: u64,
}

impl Common {
    fn corpus(&self) -> Result<Arc<Corpus>, String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let traffic = self.traffic.clone().unwrap_or_else(|| root.join("tests/fixtures/traffic/traffic.jsonl"));
        let actions = self.actions.clone().unwrap_or_else(|| root.join("tests/fixtures/action_calls.toml"));
        Corpus::load(&traffic, &actions).map(Arc::new)
    }

    fn mix(&self) -> Mix {
        Mix { attack_share: self.attack_share, ..self.mix }
    }

    fn plan(&self, mode: Mode, requests: u64, seconds: f64) -> Plan {
        Plan {
            mode,
            requests,
            duration: Duration::from_secs_f64(seconds),
            mix: self.mix(),
            seed: self.seed,
            pid: None,
            progress: None,
            metrics: None,
        }
    }
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    common: Common,
    /// The server's gRPC address (loopback).
    #[arg(long)]
    addr: SocketAddr,
    /// The server's process id, to sample RSS and descriptors.
    #[arg(long)]
    pid: Option<u32>,
    /// The server's metrics address, for sink lag in progress lines.
    #[arg(long)]
    metrics: Option<SocketAddr>,
    /// Closed loop with this many clients.
    #[arg(long, conflicts_with = "rate")]
    concurrency: Option<usize>,
    /// Open loop at this many requests per second.
    #[arg(long)]
    rate: Option<f64>,
    #[arg(long, default_value_t = 1_000_000)]
    requests: u64,
    #[arg(long, default_value_t = 30.0)]
    seconds: f64,
    /// Print a progress line this often (seconds).
    #[arg(long)]
    progress: Option<f64>,
    /// Write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Args)]
struct TableArgs {
    #[command(flatten)]
    common: Common,
    /// The `warden` binary (default: `warden` next to this example's
    /// directory, i.e. `target/release/warden`).
    #[arg(long)]
    warden: Option<PathBuf>,
    /// Seconds per row.
    #[arg(long, default_value_t = 15.0)]
    seconds: f64,
    #[arg(long, value_delimiter = ',', default_value = "1,4,16,64,256")]
    concurrency: Vec<usize>,
    /// Open-loop rates as shares of the measured capacity.
    #[arg(long, value_delimiter = ',', default_value = "0.5,0.7,0.9")]
    loads: Vec<f64>,
    /// Write every report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Args)]
struct StoreArgs {
    #[arg(long, default_value = "127.0.0.1:5432")]
    postgres: String,
    #[arg(long, default_value = "127.0.0.1:4222")]
    nats: String,
    /// Leave the schema and stream in place afterwards.
    #[arg(long)]
    keep: bool,
}

#[derive(Args)]
struct SoakArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    stores: StoreArgs,
    #[arg(long)]
    warden: Option<PathBuf>,
    /// Requests per second (open loop).
    #[arg(long)]
    rate: f64,
    #[arg(long, default_value_t = 1200.0)]
    seconds: f64,
    /// When both stores are cut off, seconds into the run.
    #[arg(long, default_value_t = 480.0)]
    outage_at: f64,
    #[arg(long, default_value_t = 240.0)]
    outage_for: f64,
    #[arg(long, default_value_t = 30.0)]
    progress: f64,
    /// `WARDEN_MODEL__ENABLED=false` for the server.
    #[arg(long)]
    no_model: bool,
}

#[derive(Args)]
struct ScaleArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    stores: StoreArgs,
    #[arg(long)]
    warden: Option<PathBuf>,
    #[arg(long, value_delimiter = ',', default_value = "1,4,16,32")]
    instances: Vec<usize>,
    /// Seconds of load per step.
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// Closed-loop clients per instance.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Run the model in every instance (off by default: the step measures
    /// the stores, and 32 model copies do not fit the CPU budget).
    #[arg(long)]
    model: bool,
}

fn main() {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run(args) => run(args).await,
            Command::Table(args) => table(args).await,
            Command::Soak(args) => soak(args).await,
            Command::Scale(args) => scale(args).await,
        }
    });
    if let Err(e) = result {
        eprintln!("load: {e}");
        std::process::exit(1);
    }
}

async fn run(args: RunArgs) -> Result<(), String> {
    let mode = match (args.concurrency, args.rate) {
        (_, Some(rate)) if rate > 0.0 => Mode::Open { rate },
        (Some(c), None) if c > 0 => Mode::Closed { concurrency: c },
        (None, None) => Mode::Closed { concurrency: 1 },
        _ => return Err("--concurrency and --rate must be above 0".into()),
    };
    let clients = Clients::connect(args.addr, args.common.connections).await?;
    let mut plan = args.common.plan(mode, args.requests, args.seconds);
    plan.pid = args.pid;
    plan.metrics = args.metrics;
    plan.progress = args.progress.map(Duration::from_secs_f64);
    let report = generator::run(&clients, args.common.corpus()?, &plan).await;
    report.print();
    if let Some(path) = args.json {
        write_json(&path, &report)?;
    }
    Ok(())
}

fn write_json(path: &std::path::Path, value: &impl serde::Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn model_env(enabled: bool) -> Vec<(String, String)> {
    vec![("WARDEN_MODEL__ENABLED".into(), enabled.to_string())]
}

async fn table(args: TableArgs) -> Result<(), String> {
    let binary = args.warden.clone().unwrap_or_else(fixture::default_binary);
    let corpus = args.common.corpus()?;
    println!("load average before: {}", fixture::loadavg());
    let mut all = vec![];
    let mut rows = vec![];
    let mut capacities = vec![];
    for model in [true, false] {
        let server = Warden::start(&binary, &[], &model_env(model))?;
        let clients = Clients::connect(server.grpc, args.common.connections).await?;
        let label = if model { "on" } else { "off" };
        // Warm-up, not reported: the first calls load sessions and caches.
        generator::run(&clients, corpus.clone(), &args.common.plan(Mode::Closed { concurrency: 4 }, 200, 3.0)).await;
        let mut measured: Vec<Report> = vec![];
        let go = |mode: Mode| {
            let mut plan = args.common.plan(mode, u64::MAX, args.seconds);
            plan.pid = Some(server.pid);
            plan
        };
        for &c in &args.concurrency {
            let report = generator::run(&clients, corpus.clone(), &go(Mode::Closed { concurrency: c })).await;
            report.print();
            measured.push(report);
        }
        // Capacity: the best closed-loop throughput without an error.
        let capacity = measured.iter().filter(|r| r.error_count() == 0).map(|r| r.throughput).fold(0.0, f64::max);
        capacities.push((label, capacity));
        for &share in &args.loads {
            let report = generator::run(&clients, corpus.clone(), &go(Mode::Open { rate: capacity * share })).await;
            report.print();
            measured.push(report);
        }
        for r in &measured {
            rows.push(row(label, r));
        }
        all.push(serde_json::json!({"model": model, "capacity": capacity, "reports": measured}));
    }
    println!("load average after: {}", fixture::loadavg());
    println!();
    println!("| model | load | req/s | p50 | p95 | p99 | p99.9 | errors | server RSS MiB (max) | fds (max) |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
    println!();
    for (label, capacity) in &capacities {
        println!(
            "Capacity of one sidecar (model {label}), this machine's 2 cores shared with the load generator: \
             {capacity:.0} requests/s of the mix; 70%: {:.0}/s",
            capacity * 0.7
        );
    }
    if let Some(path) = args.json {
        write_json(&path, &all)?;
    }
    Ok(())
}

fn row(model: &str, r: &Report) -> String {
    let res = r.server.clone().unwrap_or_default();
    format!(
        "| {model} | {} | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {} | {:.0} | {} |",
        r.mode,
        r.throughput,
        r.p50_ms,
        r.p95_ms,
        r.p99_ms,
        r.p999_ms,
        r.errors_line(),
        res.rss_mib_max,
        res.fds_max
    )
}

/// Where a run ships to: a PostgreSQL schema and a JetStream stream of its
/// own, so runs never mix with each other or with the tests.
struct Stores {
    postgres: tokio_postgres::Client,
    js: async_nats::jetstream::Context,
    schema: String,
    stream: String,
    prefix: String,
}

impl Stores {
    async fn connect(args: &StoreArgs, name: &str) -> Result<Stores, String> {
        let (postgres, conn) =
            tokio_postgres::connect(&format!("postgres://postgres@{}/test", args.postgres), tokio_postgres::NoTls)
                .await
                .map_err(|e| format!("postgres {}: {e}", args.postgres))?;
        tokio::spawn(conn);
        let nats = async_nats::connect(args.nats.as_str()).await.map_err(|e| format!("nats {}: {e}", args.nats))?;
        let unix = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
        Ok(Stores {
            postgres,
            js: async_nats::jetstream::new(nats),
            schema: format!("load_{name}_{unix}"),
            stream: format!("LOAD_{}_{unix}", name.to_uppercase()),
            prefix: format!("load.{name}.{unix}"),
        })
    }

    fn urls(&self, postgres: &str, nats: &str) -> Vec<String> {
        vec![
            format!("postgres://postgres@{postgres}/test?schema={}", self.schema),
            format!("nats://{nats}?stream={}&subject_prefix={}", self.stream, self.prefix),
        ]
    }

    /// Rows by kind in the schema.
    async fn rows(&self) -> Result<Vec<(String, i64)>, String> {
        let sql = format!("SELECT kind, count(*) FROM {}.warden_records GROUP BY kind ORDER BY kind", self.schema);
        let rows = self.postgres.query(&sql, &[]).await.map_err(|e| e.to_string())?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Record messages in the stream (the checkpoints Warden publishes
    /// under `<prefix>._warden.` left out).
    async fn messages(&self) -> Result<u64, String> {
        use futures_util::StreamExt;
        let stream = self.js.get_stream(&self.stream).await.map_err(|e| e.to_string())?;
        let mut subjects = stream.info_with_subjects(format!("{}.>", self.prefix)).await.map_err(|e| e.to_string())?;
        let mut records = 0;
        while let Some(subject) = subjects.next().await {
            let (subject, count) = subject.map_err(|e| e.to_string())?;
            if !subject.starts_with(&format!("{}._warden.", self.prefix)) {
                records += count as u64;
            }
        }
        Ok(records)
    }

    /// PostgreSQL's WAL counters: (records, bytes, syncs).
    async fn wal(&self) -> (i64, f64, i64) {
        let sql = "SELECT wal_records, wal_bytes::float8, wal_sync FROM pg_stat_wal";
        match self.postgres.query_one(sql, &[]).await {
            Ok(r) => (r.get(0), r.get(1), r.get(2)),
            Err(_) => (0, 0.0, 0),
        }
    }

    /// Removes the run's schema and stream (the servers stopped first, so
    /// no shipper holds them); says so when it cannot.
    async fn drop_all(&self) {
        if let Err(e) = self.postgres.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema)).await {
            eprintln!("load: could not drop schema {}: {e}", self.schema);
        }
        if let Err(e) = self.js.delete_stream(&self.stream).await {
            eprintln!("load: could not delete stream {}: {e}", self.stream);
        }
    }
}

/// Sink lag over servers: (postgres records summed, nats records summed,
/// the oldest unshipped record's age in seconds, either store).
async fn lag(metrics: &[SocketAddr]) -> Option<(f64, f64, f64)> {
    let mut total = (0.0, 0.0, 0.0);
    for addr in metrics {
        let page = generator::scrape(*addr).await?;
        total.0 += generator::metric_sum(&page, "warden_sink_lag_records", "sink=\"postgres\"");
        total.1 += generator::metric_sum(&page, "warden_sink_lag_records", "sink=\"nats\"");
        for sink in ["sink=\"postgres\"", "sink=\"nats\""] {
            total.2 = f64::max(total.2, generator::metric_sum(&page, "warden_sink_lag_seconds", sink));
        }
    }
    Some(total)
}

/// Waits (at most `limit`) until no server has a record left to ship;
/// returns how long that took.
async fn drained(metrics: &[SocketAddr], limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some((pg, nats, _)) = lag(metrics).await {
            if pg == 0.0 && nats == 0.0 {
                return Some(started.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    None
}

async fn soak(args: SoakArgs) -> Result<(), String> {
    let binary = args.warden.clone().unwrap_or_else(fixture::default_binary);
    let stores = Stores::connect(&args.stores, "soak").await?;
    let pg_proxy = Proxy::start(&args.stores.postgres).await.map_err(|e| e.to_string())?;
    let nats_proxy = Proxy::start(&args.stores.nats).await.map_err(|e| e.to_string())?;
    let urls = stores.urls(&pg_proxy.addr.to_string(), &nats_proxy.addr.to_string());
    let server = Warden::start(&binary, &urls, &model_env(!args.no_model))?;
    println!(
        "soak: {:.0}/s open loop for {:.0} s, model {}, stores cut off from {:.0} s to {:.0} s; schema {}, stream {}; \
         load average {}",
        args.rate,
        args.seconds,
        if args.no_model { "off" } else { "on" },
        args.outage_at,
        args.outage_at + args.outage_for,
        stores.schema,
        stores.stream,
        fixture::loadavg()
    );
    let clients = Clients::connect(server.grpc, args.common.connections).await?;
    let outage = tokio::spawn({
        let metrics = server.metrics;
        let (at, len) = (Duration::from_secs_f64(args.outage_at), Duration::from_secs_f64(args.outage_for));
        async move {
            tokio::time::sleep(at).await;
            pg_proxy.cut();
            nats_proxy.cut();
            println!("  outage: PostgreSQL and NATS cut off");
            tokio::time::sleep(len).await;
            pg_proxy.restore();
            nats_proxy.restore();
            println!("  outage over: PostgreSQL and NATS reachable again");
            // Under load the lag is never exactly 0 (records are always in
            // flight): recovered is the oldest unshipped record younger
            // than a second again, in both stores.
            let restored = Instant::now();
            while restored.elapsed() < Duration::from_secs(600) {
                if lag(&[metrics]).await.is_some_and(|(_, _, secs)| secs < 1.0) {
                    println!(
                        "  lag under 1 s again {:.1} s after the stores came back",
                        restored.elapsed().as_secs_f64()
                    );
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            (pg_proxy, nats_proxy)
        }
    });
    let mut plan = args.common.plan(Mode::Open { rate: args.rate }, u64::MAX, args.seconds);
    plan.pid = Some(server.pid);
    plan.metrics = Some(server.metrics);
    plan.progress = Some(Duration::from_secs_f64(args.progress));
    let report = generator::run(&clients, args.common.corpus()?, &plan).await;
    report.print();
    let (_pg_proxy, _nats_proxy) = outage.await.map_err(|e| e.to_string())?;
    match drained(&[server.metrics], Duration::from_secs(600)).await {
        Some(d) => println!("lag 0 in both stores {:.1} s after the end of the run", d.as_secs_f64()),
        None => println!("lag NOT back to 0 within 600 s of the end of the run"),
    }
    let rows = stores.rows().await?;
    let messages = stores.messages().await?;
    let total: i64 = rows.iter().map(|(_, n)| n).sum();
    let kind = |k: &str| rows.iter().find(|(n, _)| n == k).map_or(0, |(_, n)| *n) as u64;
    let appends = report.ok_by_call.get("Append").copied().unwrap_or(0);
    let scores = report.ok - appends;
    println!("PostgreSQL rows by kind: {rows:?} (total {total}); JetStream messages: {messages}");
    println!(
        "acknowledged: {scores} Score calls, {appends} Appends; in PostgreSQL: {} score_decision, {} model_call; \
         lost: {} decisions, {} appends",
        kind("score_decision"),
        kind("model_call"),
        scores.saturating_sub(kind("score_decision")),
        appends.saturating_sub(kind("model_call"))
    );
    println!("PostgreSQL and JetStream agree: {}", total as u64 == messages);
    println!("load average after: {}", fixture::loadavg());
    drop(server);
    if !args.stores.keep {
        stores.drop_all().await;
    }
    Ok(())
}

async fn scale(args: ScaleArgs) -> Result<(), String> {
    let binary = args.warden.clone().unwrap_or_else(fixture::default_binary);
    let corpus = args.common.corpus()?;
    let mut table = vec![];
    println!("scale: {} clients per instance, {:.0} s per step, model {}", args.concurrency, args.seconds, args.model);
    for &n in &args.instances {
        let stores = Stores::connect(&args.stores, &format!("scale{n}")).await?;
        let urls = stores.urls(&args.stores.postgres, &args.stores.nats);
        let mut servers = vec![];
        for _ in 0..n {
            servers.push(Warden::start(&binary, &urls, &model_env(args.model))?);
        }
        let metrics: Vec<SocketAddr> = servers.iter().map(|s| s.metrics).collect();
        let mut all_clients = vec![];
        for s in &servers {
            all_clients.push((Clients::connect(s.grpc, args.common.connections).await?, s.pid));
        }
        let load = fixture::loadavg();
        let cpu = |c: &str| fixture::cpu_seconds(c);
        let (pg0, nats0, warden0) = (cpu("postgres"), cpu("nats-server"), cpu("warden"));
        let (io0, all0) = fixture::iowait_and_total();
        let wal0 = stores.wal().await;
        let shipped0 = shipped(&metrics).await;
        let started = Instant::now();
        // Peak lag while the load runs, sampled every second.
        let peak_lag = Arc::new(std::sync::Mutex::new((0.0f64, 0.0f64, 0.0f64)));
        let sampler = tokio::spawn({
            let (metrics, peak_lag) = (metrics.clone(), peak_lag.clone());
            async move {
                loop {
                    if let Some((p, q, s)) = lag(&metrics).await {
                        let mut m = peak_lag.lock().expect("not poisoned");
                        *m = (m.0.max(p), m.1.max(q), m.2.max(s));
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        });
        let runs = all_clients.iter().map(|(clients, pid)| {
            let mut plan = args.common.plan(Mode::Closed { concurrency: args.concurrency }, u64::MAX, args.seconds);
            plan.pid = Some(*pid);
            let corpus = corpus.clone();
            async move { generator::run(clients, corpus, &plan).await }
        });
        let reports = futures_util::future::join_all(runs).await;
        let load_secs = started.elapsed().as_secs_f64();
        let shipped1 = shipped(&metrics).await;
        let (pg1, nats1, warden1) = (cpu("postgres"), cpu("nats-server"), cpu("warden"));
        let (io1, all1) = fixture::iowait_and_total();
        let wal1 = stores.wal().await;
        let drain = drained(&metrics, Duration::from_secs(300)).await;
        sampler.abort();
        let peak = *peak_lag.lock().expect("not poisoned");
        let ok: u64 = reports.iter().map(|r| r.ok).sum();
        let errors: u64 = reports.iter().map(Report::error_count).sum();
        let rss_max = reports.iter().filter_map(|r| r.server.as_ref()).map(|r| r.rss_mib_max).fold(0.0, f64::max);
        let rows: i64 = stores.rows().await.unwrap_or_default().iter().map(|(_, n)| n).sum();
        let messages = stores.messages().await.unwrap_or(0);
        let p99 = reports.iter().map(|r| r.p99_ms).fold(0.0, f64::max);
        let line = format!(
            "| {n} | {:.0} | {:.0} | {:.0} | {:.0} / {:.0} | {:.1} s | {} | {:.2} | {:.2} | {:.2} | {:.0}% | {:.0} | {:.0} | {:.2} ms | {errors} | {:.0} | {rows} = {messages} | {load} |",
            ok as f64 / load_secs,
            (shipped1.0 - shipped0.0) / load_secs,
            (shipped1.1 - shipped0.1) / load_secs,
            peak.0,
            peak.1,
            peak.2,
            drain.map_or("> 300 s".to_string(), |d| format!("{:.1} s", d.as_secs_f64())),
            (pg1 - pg0) / load_secs,
            (nats1 - nats0) / load_secs,
            (warden1 - warden0) / load_secs,
            100.0 * (io1 - io0) / (all1 - all0).max(0.001),
            (wal1.2 - wal0.2) as f64 / load_secs,
            (wal1.1 - wal0.1) / load_secs / 1024.0,
            p99,
            rss_max,
        );
        println!("{line}");
        table.push(line);
        drop(all_clients);
        drop(servers);
        if !args.stores.keep {
            stores.drop_all().await;
        }
    }
    println!();
    println!(
        "| instances | acked req/s | into PostgreSQL rec/s | into JetStream rec/s | peak lag rec (pg / nats) | peak lag s | \
         drain after load | postgres CPU cores | nats CPU cores | warden CPU cores | iowait | WAL syncs/s | WAL KiB/s | \
         worst instance p99 | errors | max RSS MiB | rows = messages | load average |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for line in table {
        println!("{line}");
    }
    Ok(())
}

/// Records shipped so far, summed over servers: (postgres, nats).
async fn shipped(metrics: &[SocketAddr]) -> (f64, f64) {
    let mut total = (0.0, 0.0);
    for addr in metrics {
        if let Some(page) = generator::scrape(*addr).await {
            total.0 += generator::metric_sum(&page, "warden_sink_shipped_records_total", "sink=\"postgres\"");
            total.1 += generator::metric_sum(&page, "warden_sink_shipped_records_total", "sink=\"nats\"");
        }
    }
    total
}
