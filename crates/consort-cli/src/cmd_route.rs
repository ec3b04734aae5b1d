//! `consort route`: pick the expert(s) for one request or a batch, with the
//! score breakdown.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use consort_protocol::from_json_str;
use consort_router::{RouteContext, RouteDecision, RouteRequest, Router, RouterConfig};
use serde::{Deserialize, Serialize};

use crate::error::{CliError, check_request, load_experts, load_json_lines, read_input};

/// Arguments of `consort route`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Expert registry: the spec's `{"expert_registry": {...}}` or an array
    /// of profiles.
    #[arg(long, value_name = "FILE")]
    experts: PathBuf,
    /// Route context as JSON (previous_expert, collaborators, shared_data,
    /// availability, load).
    #[arg(long, value_name = "FILE", conflicts_with = "batch")]
    context: Option<PathBuf>,
    /// Route every line of a JSON Lines file: {"id", "request", "context"}.
    #[arg(long, value_name = "FILE.jsonl")]
    batch: Option<PathBuf>,
    /// How many ranked candidates to show.
    #[arg(long, value_name = "K", default_value_t = 5)]
    top: usize,
    /// One JSON object per decision instead of a table.
    #[arg(long)]
    json: bool,
    /// The request text.
    #[arg(required_unless_present = "batch", conflicts_with = "batch")]
    request: Option<String>,
}

/// One line of a batch file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchLine {
    #[serde(default)]
    id: Option<String>,
    request: String,
    #[serde(default)]
    context: RouteContext,
}

/// A decision as printed with `--json`.
#[derive(Serialize)]
struct JsonDecision<'a> {
    id: Option<&'a str>,
    #[serde(flatten)]
    decision: &'a RouteDecision,
}

pub(crate) fn run(args: Args) -> Result<(), CliError> {
    if args.top == 0 {
        return Err(CliError::BadInput("--top must be at least 1".into()));
    }
    let experts = load_experts(&args.experts)?;
    let config = RouterConfig::default().with_top_k(args.top);
    let router = Router::new(&experts, config)
        .map_err(|e| CliError::BadInput(format!("{}: {e}", args.experts.display())))?;

    let jobs = match (&args.batch, args.request) {
        (Some(batch), _) => read_batch(batch, &router)?,
        (None, Some(text)) => {
            check_request("REQUEST", &text)?;
            let context = match &args.context {
                Some(file) => {
                    let context: RouteContext = from_json_str(&read_input(file)?)
                        .map_err(|e| CliError::in_file(file, &e))?;
                    router
                        .check_context(&context)
                        .map_err(|e| CliError::BadInput(format!("{}: {e}", file.display())))?;
                    context
                }
                None => RouteContext::default(),
            };
            vec![(None, RouteRequest::new(text).with_context(context))]
        }
        (None, None) => {
            return Err(CliError::BadInput(
                "give a request text or --batch FILE".into(),
            ));
        }
    };

    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for (id, request) in &jobs {
        let decision = router.route(request);
        if args.json {
            let line = serde_json::to_string(&JsonDecision {
                id: id.as_deref(),
                decision: &decision,
            })
            .map_err(|e| CliError::Failed(format!("cannot encode decision: {e}")))?;
            writeln!(out, "{line}").map_err(|e| write_failed(&e))?;
        } else {
            write_table(&mut out, id.as_deref(), request, &decision)
                .map_err(|e| write_failed(&e))?;
        }
    }
    out.flush().map_err(|e| write_failed(&e))
}

/// Parses and checks every line before routing any, so a bad line leaves no
/// partial output. A context naming an expert the registry lacks is bad
/// input: routing would silently ignore it.
fn read_batch(
    file: &Path,
    router: &Router,
) -> Result<Vec<(Option<String>, RouteRequest)>, CliError> {
    let mut jobs = Vec::new();
    for (number, parsed) in load_json_lines::<BatchLine>(file)? {
        let at = format!("{}:{number}", file.display());
        check_request(&format!("{at}: request"), &parsed.request)?;
        router
            .check_context(&parsed.context)
            .map_err(|e| CliError::BadInput(format!("{at}: {e}")))?;
        jobs.push((
            parsed.id,
            RouteRequest::new(parsed.request).with_context(parsed.context),
        ));
    }
    Ok(jobs)
}

fn write_table(
    out: &mut impl Write,
    id: Option<&str>,
    request: &RouteRequest,
    decision: &RouteDecision,
) -> std::io::Result<()> {
    match id {
        Some(id) => writeln!(out, "# {id}: {}", request.text)?,
        None => writeln!(out, "# {}", request.text)?,
    }
    writeln!(
        out,
        "{:<30} {:>6} {:>7} {:>7} {:>7} {:>7} {:>6}  matched terms",
        "expert", "score", "domain", "capab.", "cmplx.", "context", "avail."
    )?;
    for c in &decision.candidates {
        let b = &c.breakdown;
        writeln!(
            out,
            "{:<30} {:>6.3} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>6.2}  {}",
            c.expert,
            c.score,
            b.domain,
            b.capability,
            b.complexity,
            b.context,
            b.availability,
            c.matched_terms.join(", ")
        )?;
    }
    let verdict = decision.to_string();
    writeln!(out, "{}", verdict.lines().next().unwrap_or_default())?;
    writeln!(out)
}

fn write_failed(err: &std::io::Error) -> CliError {
    CliError::Failed(format!("cannot write output: {err}"))
}
