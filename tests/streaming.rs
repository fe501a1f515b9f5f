//! Scoring a streamed output as it grows: a later call encodes only the
//! sentences the earlier calls have not seen (the content cache), as the
//! docs/detection.md's "Streaming outputs" says. Its own test binary, so the process-wide
//! cache counters belong to this test alone.

mod common;

use common::{context, TestServer};
use warden::proto::v1 as pb;

fn counter(metrics: &str, result: &str) -> u64 {
    let key = format!("warden_model_cache_lookups_total{{result=\"{result}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(key.as_str()))
        .map(|v| v.trim().parse::<f64>().unwrap() as u64)
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_growing_output_encodes_only_its_new_sentences() {
    let mut server = TestServer::start().await;
    let mut risk = server.risk().await;
    let output = |text: &str| pb::ScoreOutputRequest {
        context: context(),
        text: text.into(),
        input: "Tell me about your savings accounts.".into(),
        ..Default::default()
    };
    let first = "Our savings account pays 2.1% a year. Interest is paid monthly. You can withdraw at any time.";
    let more = " There is no minimum balance. Opening takes about ten minutes online.";

    let m = server.metrics().await;
    let (miss0, hit0) = (counter(&m, "miss"), counter(&m, "hit"));
    let a = risk.score_output(output(first)).await.unwrap().into_inner();
    assert!(a.model_versions.contains_key("warden-minilm"), "the toxicity head read the output: {a:?}");
    let m = server.metrics().await;
    let (miss1, hit1) = (counter(&m, "miss"), counter(&m, "hit"));
    assert_eq!((miss1 - miss0, hit1 - hit0), (3, 0), "three new sentences, each encoded once");

    let b = risk.score_output(output(&format!("{first}{more}"))).await.unwrap().into_inner();
    assert_eq!(b.decision, pb::Decision::Allow as i32, "{b:?}");
    let m = server.metrics().await;
    assert_eq!(counter(&m, "hit") - hit1, 3, "the three sentences already seen come from the cache");
    assert_eq!(counter(&m, "miss") - miss1, 2, "only the two new sentences are encoded");
    server.stop().await.unwrap();
}
