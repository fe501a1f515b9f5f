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
        println!("{}", serde_json::to_string_pretty(&assessment)?);
        Ok(ExitCode::SUCCESS)
    })
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
