//! The load generator's engine: a request mix built from the licensed
//! traffic sample, closed- and open-loop drivers over tonic clients, an
//! HdrHistogram per run, and a sampler of the server's RSS and open
//! descriptors from `/proc`.
//!
//! Shared by `examples/load/main.rs` (the command line) and `tests/load.rs`
//! (which drives a few hundred requests through it so it does not rot).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tonic::transport::Channel;
use warden::proto::v1 as pb;

/// The four calls the mix draws from, in the order of [`Mix::weights`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Call {
    ScoreInput,
    ScoreOutput,
    ScoreAction,
    Append,
}

impl Call {
    const ALL: [Call; 4] = [Call::ScoreInput, Call::ScoreOutput, Call::ScoreAction, Call::Append];

    pub fn name(self) -> &'static str {
        match self {
            Call::ScoreInput => "ScoreInput",
            Call::ScoreOutput => "ScoreOutput",
            Call::ScoreAction => "ScoreAction",
            Call::Append => "Append",
        }
    }
}

/// Relative weights of ScoreInput, ScoreOutput, ScoreAction and Append.
#[derive(Debug, Clone, Copy)]
pub struct Mix {
    pub weights: [u32; 4],
    /// Share of user texts and documents drawn from the attack rows.
    pub attack_share: f64,
}

impl Default for Mix {
    /// 40% inputs, 20% outputs, 20% actions, 20% appended events; one text in
    /// ten an attack.
    fn default() -> Self {
        Mix { weights: [40, 20, 20, 20], attack_share: 0.1 }
    }
}

impl std::str::FromStr for Mix {
    type Err = String;

    /// `40,20,20,20` (input, output, action, append).
    fn from_str(s: &str) -> Result<Mix, String> {
        let parts: Vec<u32> = s
            .split(',')
            .map(|p| p.trim().parse::<u32>().map_err(|_| format!("--mix: `{p}` is not a whole number")))
            .collect::<Result<_, _>>()?;
        let weights: [u32; 4] =
            parts.try_into().map_err(|_| "--mix: four weights: input,output,action,append".to_string())?;
        if weights.iter().sum::<u32>() == 0 {
            return Err("--mix: at least one weight above 0".into());
        }
        Ok(Mix { weights, ..Mix::default() })
    }
}

/// Texts and tool calls the requests are made of.
pub struct Corpus {
    benign_users: Vec<String>,
    attack_users: Vec<String>,
    benign_documents: Vec<String>,
    attack_documents: Vec<String>,
    /// (tool, arguments_json)
    actions: Vec<(String, String)>,
}

impl Corpus {
    /// `traffic.jsonl` rows (`surface`, `label`, `text`) and an action table
    /// (`[[call]]` with `tool` and `args`), as in `tests/fixtures/`.
    pub fn load(traffic: &Path, actions: &Path) -> Result<Corpus, String> {
        let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
        let mut corpus = Corpus {
            benign_users: vec![],
            attack_users: vec![],
            benign_documents: vec![],
            attack_documents: vec![],
            actions: vec![],
        };
        for (i, line) in read(traffic)?.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let row: serde_json::Value =
                serde_json::from_str(line).map_err(|e| format!("{} line {}: {e}", traffic.display(), i + 1))?;
            let text = row["text"].as_str().unwrap_or_default().to_string();
            let attack = row["label"].as_u64() == Some(1);
            match (row["surface"].as_str(), attack) {
                (Some("user"), false) => corpus.benign_users.push(text),
                (Some("user"), true) => corpus.attack_users.push(text),
                (Some("document"), false) => corpus.benign_documents.push(text),
                (Some("document"), true) => corpus.attack_documents.push(text),
                _ => return Err(format!("{} line {}: surface must be user or document", traffic.display(), i + 1)),
            }
        }
        let table: toml::Table = toml::from_str(&read(actions)?).map_err(|e| format!("{}: {e}", actions.display()))?;
        for call in table.get("call").and_then(|c| c.as_array()).into_iter().flatten() {
            let field = |k: &str| call.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
            corpus.actions.push((field("tool"), field("args")));
        }
        let empty = [
            ("benign user texts", corpus.benign_users.is_empty()),
            ("attack user texts", corpus.attack_users.is_empty()),
            ("benign documents", corpus.benign_documents.is_empty()),
            ("attack documents", corpus.attack_documents.is_empty()),
            ("action calls", corpus.actions.is_empty()),
        ];
        if let Some((what, _)) = empty.iter().find(|(_, e)| *e) {
            return Err(format!("no {what} in {} / {}", traffic.display(), actions.display()));
        }
        Ok(corpus)
    }

    /// The fixtures shipped in the repository.
    pub fn bundled() -> Result<Corpus, String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        Corpus::load(&root.join("tests/fixtures/traffic/traffic.jsonl"), &root.join("tests/fixtures/action_calls.toml"))
    }
}

/// One of `items`, drawn with `d`.
fn pick<'a>(d: &mut fastrand::Rng, items: &'a [String]) -> &'a str {
    &items[d.usize(..items.len())]
}

/// One request, ready to send.
enum Request {
    Input(pb::ScoreInputRequest),
    Output(pb::ScoreOutputRequest),
    Action(pb::ScoreActionRequest),
    Append(pb::AuditEvent),
}

impl Corpus {
    /// Request number `n` of the run: user texts and outputs carry the
    /// request number, so the model's content cache never answers for them
    /// (a sample of 172 texts would otherwise be served from it); documents
    /// repeat as a RAG application's do.
    fn request(&self, mix: &Mix, n: u64, seed: u64) -> (Call, Request) {
        let mut d = fastrand::Rng::with_seed(seed ^ n.wrapping_mul(0x2545_F491_4F6C_DD1D));
        let total: u32 = mix.weights.iter().sum();
        let mut at = d.u32(..total);
        let call = Call::ALL
            .into_iter()
            .zip(mix.weights)
            .find(|(_, w)| {
                let hit = at < *w;
                at = at.saturating_sub(*w);
                hit
            })
            .map(|(c, _)| c)
            .unwrap_or(Call::ScoreInput);
        let context = Some(pb::RequestContext {
            application: "load".into(),
            session_id: format!("load-{}", n % 1000),
            ..Default::default()
        });
        let attack = d.f64() < mix.attack_share;
        let user = format!("{} ({n})", pick(&mut d, if attack { &self.attack_users } else { &self.benign_users }));
        let document = |d: &mut fastrand::Rng| {
            let attack = d.f64() < mix.attack_share;
            let text = pick(d, if attack { &self.attack_documents } else { &self.benign_documents }).to_string();
            pb::Document { id: "kb-1".into(), source: "load".into(), text, ..Default::default() }
        };
        let request = match call {
            Call::ScoreInput => Request::Input(pb::ScoreInputRequest {
                context,
                text: user,
                system_prompt: "You are a helpful support assistant.".into(),
                documents: if d.f64() < 0.3 { vec![document(&mut d)] } else { vec![] },
            }),
            Call::ScoreOutput => Request::Output(pb::ScoreOutputRequest {
                context,
                text: format!("{} ({n})", pick(&mut d, &self.benign_documents)),
                input: user,
                documents: if d.f64() < 0.3 { vec![document(&mut d)] } else { vec![] },
                ..Default::default()
            }),
            Call::ScoreAction => {
                let (tool, args) = &self.actions[d.usize(..self.actions.len())];
                Request::Action(pb::ScoreActionRequest {
                    context,
                    tool: tool.clone(),
                    arguments_json: args.clone(),
                    ..Default::default()
                })
            }
            Call::Append => Request::Append(pb::AuditEvent {
                client_event_id: format!("load-{seed:x}-{n}"),
                context,
                kind: "model_call".into(),
                attributes_json: serde_json::json!({
                    "gen_ai.request.model": "load-model",
                    "gen_ai.prompt": user,
                    "gen_ai.completion": pick(&mut d, &self.benign_documents),
                })
                .to_string(),
                occurred_at: None,
            }),
        };
        (call, request)
    }
}

/// The clients of one server: one risk and one audit client per connection.
#[derive(Clone)]
pub struct Clients {
    risk: Vec<pb::risk_service_client::RiskServiceClient<Channel>>,
    audit: Vec<pb::audit_service_client::AuditServiceClient<Channel>>,
}

impl Clients {
    /// `connections` HTTP/2 connections to `http://addr` (loopback only).
    pub async fn connect(addr: std::net::SocketAddr, connections: usize) -> Result<Clients, String> {
        if !addr.ip().is_loopback() {
            return Err(format!("{addr}: the load generator only drives loopback addresses"));
        }
        let mut clients = Clients { risk: vec![], audit: vec![] };
        for _ in 0..connections.max(1) {
            let channel = Channel::from_shared(format!("http://{addr}"))
                .map_err(|e| e.to_string())?
                .connect()
                .await
                .map_err(|e| format!("{addr}: {e}"))?;
            clients.risk.push(pb::risk_service_client::RiskServiceClient::new(channel.clone()));
            clients.audit.push(pb::audit_service_client::AuditServiceClient::new(channel));
        }
        Ok(clients)
    }

    async fn send(&self, n: u64, request: Request) -> Result<(), tonic::Code> {
        let i = n as usize % self.risk.len();
        let (mut risk, mut audit) = (self.risk[i].clone(), self.audit[i].clone());
        match request {
            Request::Input(r) => risk.score_input(r).await.map(drop),
            Request::Output(r) => risk.score_output(r).await.map(drop),
            Request::Action(r) => risk.score_action(r).await.map(drop),
            Request::Append(event) => {
                async {
                    let mut acks = audit.append(tokio_stream::iter([event])).await?.into_inner();
                    match acks.message().await? {
                        Some(_) => Ok(()),
                        None => Err(tonic::Status::internal("the Append stream ended without an ack")),
                    }
                }
                .await
            }
        }
        .map_err(|s| s.code())
    }
}

/// How requests are issued.
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    /// `concurrency` clients, each sending its next request when the last
    /// one is answered.
    Closed { concurrency: usize },
    /// Requests started on a fixed schedule, whatever the answers do;
    /// latency counts from the scheduled start (coordinated omission
    /// corrected).
    Open { rate: f64 },
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mode::Closed { concurrency } => write!(f, "closed, {concurrency} clients"),
            Mode::Open { rate } => write!(f, "open, {rate:.0}/s"),
        }
    }
}

/// One run: stops at `requests` or `duration`, whichever comes first.
#[derive(Debug, Clone)]
pub struct Plan {
    pub mode: Mode,
    pub requests: u64,
    pub duration: Duration,
    pub mix: Mix,
    pub seed: u64,
    /// Where to read RSS and descriptors (`/proc/PID`); none: not sampled.
    pub pid: Option<u32>,
    /// Print a progress line this often (soak runs); none: quiet.
    pub progress: Option<Duration>,
    /// `http://host:port/metrics` of the server, for the sink lag in
    /// progress lines.
    pub metrics: Option<std::net::SocketAddr>,
}

/// Resident memory and descriptors of a process over a run.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Resources {
    pub rss_mib_first: f64,
    pub rss_mib_max: f64,
    pub rss_mib_last: f64,
    pub fds_first: u64,
    pub fds_max: u64,
    pub fds_last: u64,
    pub samples: u64,
}

/// What a run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub mode: String,
    pub sent: u64,
    pub ok: u64,
    /// Failed calls by gRPC status code.
    pub errors: BTreeMap<String, u64>,
    /// Successful calls by RPC.
    pub ok_by_call: BTreeMap<String, u64>,
    pub seconds: f64,
    /// Successful calls per second.
    pub throughput: f64,
    /// Latency of successful calls, milliseconds.
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub server: Option<Resources>,
}

impl Report {
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// `RESOURCE_EXHAUSTED 12, UNAVAILABLE 3`, or `0`.
    pub fn errors_line(&self) -> String {
        if self.errors.is_empty() {
            return "0".into();
        }
        self.errors.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
    }

    pub fn print(&self) {
        println!(
            "{}: {} sent, {} ok in {:.1} s = {:.1}/s; latency ms p50 {:.2} p95 {:.2} p99 {:.2} p99.9 {:.2} max {:.2}; \
             errors {}",
            self.mode,
            self.sent,
            self.ok,
            self.seconds,
            self.throughput,
            self.p50_ms,
            self.p95_ms,
            self.p99_ms,
            self.p999_ms,
            self.max_ms,
            self.errors_line()
        );
        let by_call: Vec<String> = self.ok_by_call.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("  ok by call: {}", by_call.join(", "));
        if let Some(r) = &self.server {
            println!(
                "  server RSS MiB first {:.0} max {:.0} last {:.0}; open fds first {} max {} last {} ({} samples)",
                r.rss_mib_first, r.rss_mib_max, r.rss_mib_last, r.fds_first, r.fds_max, r.fds_last, r.samples
            );
        }
    }
}

/// gRPC status names as the protocol spells them.
fn code_name(code: tonic::Code) -> String {
    let camel = format!("{code:?}");
    let mut out = String::new();
    for (i, ch) in camel.chars().enumerate() {
        if ch.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

/// VmRSS of `pid` in MiB and its open descriptors.
pub fn sample(pid: u32) -> Option<(f64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 =
        status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64;
    Some((kb / 1024.0, fds))
}

/// The sum over labels of one metric family in a Prometheus text page,
/// restricted to series whose labels contain `label` (e.g. `sink="nats"`).
pub fn metric_sum(page: &str, name: &str, label: &str) -> f64 {
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.strip_prefix(name).is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' ')))
        .filter(|l| l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// `GET /metrics` over plain HTTP/1.0 on loopback.
pub async fn scrape(addr: std::net::SocketAddr) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream =
        tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr)).await.ok()?.ok()?;
    stream.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n").await.ok()?;
    let mut body = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut body)).await.ok()?.ok()?;
    Some(body.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or(body))
}

/// Samples `pid` every half second until `stop`, printing a progress line
/// every `progress`.
async fn watch(
    pid: Option<u32>,
    progress: Option<Duration>,
    metrics: Option<std::net::SocketAddr>,
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> Option<Resources> {
    let started = Instant::now();
    let mut r: Option<Resources> = None;
    let mut last_print = Instant::now();
    let mut last_ok = 0;
    loop {
        if let Some((rss, fds)) = pid.and_then(sample) {
            let r = r.get_or_insert(Resources { rss_mib_first: rss, fds_first: fds, ..Resources::default() });
            r.rss_mib_max = r.rss_mib_max.max(rss);
            r.fds_max = r.fds_max.max(fds);
            r.rss_mib_last = rss;
            r.fds_last = fds;
            r.samples += 1;
        }
        if progress.is_some_and(|every| last_print.elapsed() >= every) {
            let now_ok = ok.load(Ordering::Relaxed);
            let rate = (now_ok - last_ok) as f64 / last_print.elapsed().as_secs_f64();
            let lag = match metrics {
                Some(addr) => match scrape(addr).await {
                    Some(page) => {
                        let sinks = ["postgres", "nats"].map(|s| {
                            let label = format!("sink=\"{s}\"");
                            format!(
                                "{s} lag {:.0} rec / {:.1} s",
                                metric_sum(&page, "warden_sink_lag_records", &label),
                                metric_sum(&page, "warden_sink_lag_seconds", &label)
                            )
                        });
                        sinks.join(", ")
                    }
                    None => "metrics unreachable".into(),
                },
                None => String::new(),
            };
            let res =
                r.as_ref().map_or(String::new(), |r| format!("RSS {:.0} MiB, fds {}", r.rss_mib_last, r.fds_last));
            println!(
                "  t={:>5.0}s ok {now_ok} ({rate:.0}/s) errors {} {res} {lag}",
                started.elapsed().as_secs_f64(),
                failed.load(Ordering::Relaxed)
            );
            last_print = Instant::now();
            last_ok = now_ok;
        }
        tokio::select! {
            _ = &mut stop => return r,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

/// One finished call.
struct Done {
    call: Call,
    result: Result<Duration, tonic::Code>,
}

/// Runs `plan` against `clients` and reports.
pub async fn run(clients: &Clients, corpus: Arc<Corpus>, plan: &Plan) -> Report {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Done>();
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let (stop_watch, stopped) = tokio::sync::oneshot::channel();
    let watcher = tokio::spawn(watch(plan.pid, plan.progress, plan.metrics, ok.clone(), failed.clone(), stopped));
    let collector = tokio::spawn({
        let (ok, failed) = (ok.clone(), failed.clone());
        async move {
            // 1 µs to 10 min, 3 significant digits.
            let mut hist = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).expect("valid bounds");
            let mut errors = BTreeMap::<String, u64>::new();
            let mut by_call = BTreeMap::<String, u64>::new();
            while let Some(done) = rx.recv().await {
                match done.result {
                    Ok(latency) => {
                        hist.saturating_record(latency.as_micros() as u64);
                        *by_call.entry(done.call.name().to_string()).or_default() += 1;
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(code) => {
                        *errors.entry(code_name(code)).or_default() += 1;
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            (hist, errors, by_call)
        }
    });
    let started = Instant::now();
    let deadline = started + plan.duration;
    let issued = Arc::new(AtomicU64::new(0));
    match plan.mode {
        Mode::Closed { concurrency } => {
            let workers: Vec<_> = (0..concurrency.max(1))
                .map(|_| {
                    let (clients, corpus, tx, issued) = (clients.clone(), corpus.clone(), tx.clone(), issued.clone());
                    let (mix, seed, limit) = (plan.mix, plan.seed, plan.requests);
                    tokio::spawn(async move {
                        loop {
                            let n = issued.fetch_add(1, Ordering::Relaxed);
                            if n >= limit || Instant::now() >= deadline {
                                return;
                            }
                            let (call, request) = corpus.request(&mix, n, seed);
                            let start = Instant::now();
                            let result = clients.send(n, request).await.map(|()| start.elapsed());
                            let _ = tx.send(Done { call, result });
                        }
                    })
                })
                .collect();
            for w in workers {
                let _ = w.await;
            }
        }
        Mode::Open { rate } => {
            let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
            // Bounds the tasks in flight if the server stalls; the schedule
            // (and so the corrected latency) keeps running meanwhile.
            let in_flight = Arc::new(tokio::sync::Semaphore::new(20_000));
            let mut tasks = tokio::task::JoinSet::new();
            for n in 0..plan.requests {
                let intended = started + interval.mul_f64(n as f64);
                if intended >= deadline {
                    break;
                }
                tokio::time::sleep_until(intended.into()).await;
                let permit = in_flight.clone().acquire_owned().await.expect("never closed");
                issued.fetch_add(1, Ordering::Relaxed);
                let (clients, tx) = (clients.clone(), tx.clone());
                let (call, request) = corpus.request(&plan.mix, n, plan.seed);
                tasks.spawn(async move {
                    let result = clients.send(n, request).await.map(|()| intended.elapsed());
                    let _ = tx.send(Done { call, result });
                    drop(permit);
                });
                while tasks.try_join_next().is_some() {}
            }
            while tasks.join_next().await.is_some() {}
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    drop(tx);
    let (hist, errors, ok_by_call) = collector.await.expect("collector");
    let _ = stop_watch.send(());
    let server = watcher.await.expect("watcher");
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    let ok = hist.len();
    Report {
        mode: plan.mode.to_string(),
        sent: ok + errors.values().sum::<u64>(),
        ok,
        errors,
        ok_by_call,
        seconds,
        throughput: ok as f64 / seconds,
        p50_ms: ms(0.50),
        p95_ms: ms(0.95),
        p99_ms: ms(0.99),
        p999_ms: ms(0.999),
        max_ms: hist.max() as f64 / 1000.0,
        server,
    }
}
