//! The load generator (`examples/load/`) against an in-process server on
//! port 0: a few hundred requests of the mix, closed and open loop, must
//! come back as a well-formed report with no error, so the tool does not
//! rot between benchmark runs. No timing is asserted.

#[path = "../examples/load/generator.rs"]
mod generator;

use std::sync::Arc;
use std::time::Duration;

use generator::{Clients, Corpus, Mix, Mode, Plan};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_few_hundred_requests_of_the_mix_report_no_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = warden::Config { data_dir: dir.path().to_path_buf(), ..Default::default() };
    config.model.enabled = false;
    let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = grpc.local_addr().unwrap();
    let app = warden::build(&config, vec![]).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let listeners = warden::Listeners { grpc, metrics: None, health: None, admin: None };
        warden::server::serve(&config, app, listeners, async {
            let _ = stopped.await;
        })
        .await
    });

    let clients = Clients::connect(addr, 2).await.unwrap();
    let corpus = Arc::new(Corpus::bundled().unwrap());
    for (mode, requests) in [(Mode::Closed { concurrency: 8 }, 300), (Mode::Open { rate: 200.0 }, 100)] {
        let plan = Plan {
            mode,
            requests,
            duration: Duration::from_secs(120),
            mix: Mix::default(),
            seed: 26,
            pid: Some(std::process::id()),
            progress: None,
            metrics: None,
        };
        let report = generator::run(&clients, corpus.clone(), &plan).await;
        assert_eq!(report.errors, Default::default(), "{mode}: {report:?}");
        assert_eq!((report.sent, report.ok), (requests, requests), "{mode}");
        assert_eq!(report.ok_by_call.len(), 4, "every call of the mix was sent: {:?}", report.ok_by_call);
        assert_eq!(report.ok_by_call.values().sum::<u64>(), requests);
        assert!(report.p50_ms > 0.0 && report.p50_ms <= report.p95_ms, "{report:?}");
        assert!(report.p95_ms <= report.p99_ms && report.p99_ms <= report.p999_ms && report.p999_ms <= report.max_ms);
        let server = report.server.as_ref().expect("this process was sampled");
        assert!(server.samples > 0 && server.rss_mib_max > 0.0 && server.fds_max > 0, "{server:?}");
        let json: serde_json::Value = serde_json::to_value(&report).unwrap();
        for key in ["p50_ms", "p95_ms", "p99_ms", "p999_ms", "throughput", "errors"] {
            assert!(json.get(key).is_some(), "{key} in {json}");
        }
    }
    // A mix that is not four numbers is a one-line error, not a panic.
    assert!("40,20".parse::<Mix>().unwrap_err().contains("four weights"));
    assert!("a,1,1,1".parse::<Mix>().unwrap_err().contains("`a`"));

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
