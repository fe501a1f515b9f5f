//! `warden score`.

use super::*;

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Surface {
    Input,
    Output,
    Action,
}

#[derive(Args)]
pub(crate) struct ScoreArgs {
    /// Which RPC's request the JSON is.
    pub(crate) surface: Surface,
    /// Request file (proto3 JSON); standard input when absent.
    #[arg(long, value_name = "FILE")]
    pub(crate) request: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) common: CommonArgs,
}

pub(crate) fn score(args: ScoreArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(&args.common, Overrides::default())?;
    let json = match &args.request {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        None => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).context("reading the request from standard input")?;
            s
        }
    };
    let request = parse_request(args.surface, &json)?;
    runtime()?.block_on(async move {
        let app = warden::build(&config, Vec::new())?;
        let result = app.engine.score(request, &warden::auth::Caller::local()).await;
        app.engine.journal().close()?;
        let assessment = pb::Assessment::from(result.map_err(|e| anyhow!(e))?);
        println!("{}", proto3_json(&assessment)?);
        Ok(ExitCode::SUCCESS)
    })
}

/// The assessment in the proto3 JSON mapping, its fields in proto order.
/// pbjson writes a Timestamp with chrono's `+00:00`; proto3 JSON, like every
/// other gRPC client and the rest of Warden, writes UTC as `Z`. The key and
/// its value cannot occur elsewhere in the text: quotes inside strings are
/// escaped.
fn proto3_json(assessment: &pb::Assessment) -> anyhow::Result<String> {
    let mut json = serde_json::to_string_pretty(assessment)?;
    if let Some(t) = &assessment.created_at {
        let time = time::OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos),
        )?;
        let written = format!("\"createdAt\": {}", serde_json::to_string(t)?);
        let canonical = format!("\"createdAt\": {}", serde_json::to_string(&warden::timestamp::format(time))?);
        json = json.replacen(&written, &canonical, 1);
    }
    Ok(json)
}

pub(crate) fn parse_request(surface: Surface, json: &str) -> anyhow::Result<ScoreRequest> {
    let bad = |e: serde_json::Error| anyhow!("request is not a valid {} request: {e}", surface_name(surface));
    let request = match surface {
        Surface::Input => ScoreRequest::try_from(serde_json::from_str::<pb::ScoreInputRequest>(json).map_err(bad)?),
        Surface::Output => ScoreRequest::try_from(serde_json::from_str::<pb::ScoreOutputRequest>(json).map_err(bad)?),
        Surface::Action => ScoreRequest::try_from(serde_json::from_str::<pb::ScoreActionRequest>(json).map_err(bad)?),
    };
    request.map_err(|e| anyhow!(e))
}

pub(crate) fn surface_name(s: Surface) -> &'static str {
    match s {
        Surface::Input => "ScoreInputRequest",
        Surface::Output => "ScoreOutputRequest",
        Surface::Action => "ScoreActionRequest",
    }
}
