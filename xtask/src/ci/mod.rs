//! `cargo xtask ci <setup|step|finish|watch>`: what the CircleCI jobs call, so that a
//! workflow is one trace, compatible with buildevents (docs/ci.md).
//!
//! - `setup` starts the workflow's trace: it records the start time in the state
//!   directory (`.buildevents/`), which the jobs share through the CircleCI workspace.
//! - `step -- CMD…` runs a command as a span under its job's span, and gives the command
//!   `TRACEPARENT` (its own spans join the trace) and `BUILDEVENT_FILE` (it may add
//!   `key=value` fields to the span, as `cargo xtask build` does with the artifact size).
//! - `finish` closes the job's span: failed if any of its steps failed.
//! - `watch` polls the CircleCI API until every other job of the workflow has ended,
//!   then closes the root span with the workflow's outcome.
//!
//! Without an OTLP endpoint or a Honeycomb key nothing is exported, and `step` and
//! `finish` print a table of the job's step durations instead.

mod circleci;
mod env;
mod ids;

use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use clap::{Args, Subcommand};
use opentelemetry::KeyValue;

use crate::trace::{BuildSpan, SpanPlace, SpanSink, duration_table};
use env::{CiEnv, StepRecord, read_fields, unix_ms};

#[derive(Debug, Args)]
pub(crate) struct CiArgs {
    #[command(subcommand)]
    command: CiCommand,
}

#[derive(Debug, Subcommand)]
enum CiCommand {
    /// Start the workflow's trace: record its start time.
    Setup,
    /// Run a command as a span of this job.
    Step(StepArgs),
    /// Close this job's span, failed if any of its steps failed.
    Finish(FinishArgs),
    /// Wait for the workflow's other jobs to end, then close the root span.
    Watch(WatchArgs),
}

#[derive(Debug, Args)]
struct StepArgs {
    /// The span's name; the command line by default.
    #[arg(long)]
    name: Option<String>,
    /// The command and its arguments.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

#[derive(Debug, Args)]
struct FinishArgs {
    /// Mark the job failed whatever its steps said (for a step outside `ci step`).
    #[arg(long)]
    failed: bool,
}

#[derive(Debug, Args)]
struct WatchArgs {
    /// Seconds between two polls of the CircleCI API.
    #[arg(long, default_value_t = 5.0)]
    interval: f64,
    /// Minutes to wait at most for the workflow.
    #[arg(long, default_value_t = 90)]
    timeout: u64,
    /// Polls to wait while jobs are only blocked, before calling the workflow finished.
    #[arg(long, default_value_t = 24)]
    settle_polls: u32,
}

pub(crate) fn run(args: &CiArgs) -> anyhow::Result<ExitCode> {
    let env = CiEnv::from_lookup(|name| std::env::var(name).ok(), &crate::project_root());
    match &args.command {
        CiCommand::Setup => setup(&env).map(|()| ExitCode::SUCCESS),
        CiCommand::Step(step_args) => step(&env, step_args),
        CiCommand::Finish(finish_args) => finish(&env, finish_args).map(|()| ExitCode::SUCCESS),
        CiCommand::Watch(watch_args) => watch(&env, watch_args).map(|()| ExitCode::SUCCESS),
    }
}

fn setup(env: &CiEnv) -> anyhow::Result<()> {
    let now = SystemTime::now();
    env.record_build_start(now)?;
    env.job_start()?;
    let root = env.root()?;
    eprintln!("trace {} started", root.trace_id);
    Ok(())
}

fn step(env: &CiEnv, args: &StepArgs) -> anyhow::Result<ExitCode> {
    env.job_start()?;
    let place = SpanPlace::child_of(env.job_span()?);
    let fields_file = env.fields_file(&place)?;
    let name = args.name.clone().unwrap_or_else(|| args.command.join(" "));
    let (program, arguments) = args
        .command
        .split_first()
        .ok_or_else(|| anyhow::anyhow!("no command to run"))?;

    let start = SystemTime::now();
    let started = Instant::now();
    let status = std::process::Command::new(program)
        .args(arguments)
        .env("TRACEPARENT", place.traceparent())
        .env("BUILDEVENT_FILE", &fields_file)
        .status();
    let end = start + started.elapsed();
    let (failure, exit) = match &status {
        Ok(status) if status.success() => (None, ExitCode::SUCCESS),
        Ok(status) => (
            Some(format!("`{name}` failed with {status}")),
            ExitCode::from(status.code().map_or(1, |code| code.clamp(1, 255) as u8)),
        ),
        Err(error) => (
            Some(format!("`{program}` could not start: {error}")),
            ExitCode::from(127),
        ),
    };
    let mut fields = env.fields.clone();
    fields.push(KeyValue::new("cmd", args.command.join(" ")));
    fields.extend(read_fields(&fields_file));
    let _ = std::fs::remove_file(&fields_file);

    let span = BuildSpan {
        place,
        name: name.clone(),
        start,
        end,
        fields,
        failure: failure.clone(),
    };
    env.record_step(&StepRecord {
        name,
        start_unix_ms: unix_ms(start),
        duration_ms: span.duration().as_secs_f64() * 1000.0,
        failure: failure.clone(),
    })?;
    let sink = SpanSink::from_env()?;
    let exporting = sink.is_exporting();
    sink.send(vec![span]);
    sink.shutdown();
    if !exporting {
        eprint!("{}", steps_table(&env.steps()));
    }
    if let Some(failure) = failure {
        eprintln!("{failure}");
    }
    Ok(exit)
}

fn finish(env: &CiEnv, args: &FinishArgs) -> anyhow::Result<()> {
    let start = env.job_start()?;
    let steps = env.steps();
    let failed: Vec<&str> = steps
        .iter()
        .filter(|step| step.failure.is_some())
        .map(|step| step.name.as_str())
        .collect();
    let failure = if !failed.is_empty() {
        Some(format!("failed: {}", failed.join(", ")))
    } else if args.failed {
        Some("the job failed".to_owned())
    } else {
        None
    };
    let span = BuildSpan {
        place: env.job_span()?,
        name: env.job.clone(),
        start,
        end: SystemTime::now().max(start),
        fields: env.fields.clone(),
        failure,
    };
    let sink = SpanSink::from_env()?;
    sink.send(vec![span]);
    sink.shutdown();
    eprint!("{}", steps_table(&steps));
    Ok(())
}

fn watch(env: &CiEnv, args: &WatchArgs) -> anyhow::Result<()> {
    let workflow_id = env
        .workflow_id
        .clone()
        .ok_or_else(|| anyhow::anyhow!("CIRCLE_WORKFLOW_ID is not set: watch runs in CircleCI"))?;
    let token = ["CIRCLE_TOKEN", "BUILDEVENT_CIRCLE_API_TOKEN"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "set CIRCLE_TOKEN (or BUILDEVENT_CIRCLE_API_TOKEN) to a CircleCI API token"
            )
        })?;
    let api = circleci::CircleApi {
        base_url: std::env::var("CIRCLECI_API_URL")
            .ok()
            .filter(|url| !url.is_empty())
            .unwrap_or_else(|| circleci::DEFAULT_API_URL.to_owned()),
        token,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let interval = Duration::from_secs_f64(args.interval.max(0.0));
    let (workflow, outcome) = runtime.block_on(async {
        let workflow = api.workflow(&workflow_id).await?;
        let outcome = wait_for_workflow(&api, &workflow_id, &env.job, interval, args).await;
        anyhow::Ok((workflow, outcome))
    })?;

    let start = circleci::parse_time(&workflow.created_at)
        .or_else(|| env.build_start())
        .unwrap_or_else(SystemTime::now);
    let failure = match &outcome {
        Outcome::Passed => None,
        Outcome::Failed(jobs) => Some(format!("failed jobs: {}", jobs.join(", "))),
        Outcome::TimedOut => Some(format!("still running after {} min", args.timeout)),
    };
    let mut fields: Vec<KeyValue> = env
        .fields
        .iter()
        .filter(|field| !matches!(field.key.as_str(), "job_name" | "build_num" | "build_url"))
        .cloned()
        .collect();
    fields.push(KeyValue::new("workflow_id", workflow_id.clone()));
    let span = BuildSpan {
        place: env.root()?,
        name: workflow.name.clone(),
        start,
        end: SystemTime::now().max(start),
        fields,
        failure: failure.clone(),
    };
    let sink = SpanSink::from_env()?;
    sink.send(vec![span]);
    sink.shutdown();
    match failure {
        None => eprintln!("workflow `{}` passed", workflow.name),
        Some(reason) => eprintln!("workflow `{}` did not pass: {reason}", workflow.name),
    }
    Ok(())
}

enum Outcome {
    Passed,
    Failed(Vec<String>),
    TimedOut,
}

async fn wait_for_workflow(
    api: &circleci::CircleApi,
    workflow_id: &str,
    watcher: &str,
    interval: Duration,
    args: &WatchArgs,
) -> Outcome {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout * 60);
    let mut settle = args.settle_polls;
    loop {
        match api.jobs(workflow_id).await {
            Ok(jobs) => match circleci::progress(&jobs, watcher) {
                circleci::Progress::Finished { failed } if failed.is_empty() => {
                    return Outcome::Passed;
                }
                circleci::Progress::Finished { failed } => return Outcome::Failed(failed),
                circleci::Progress::Blocked if settle == 0 => return Outcome::Passed,
                circleci::Progress::Blocked => settle -= 1,
                circleci::Progress::Running => settle = args.settle_polls,
            },
            // A passing API failure must not lose the trace: keep polling to the deadline.
            Err(error) => eprintln!("warning: {error}"),
        }
        if tokio::time::Instant::now() + interval > deadline {
            return Outcome::TimedOut;
        }
        tokio::time::sleep(interval).await;
    }
}

fn steps_table(steps: &[StepRecord]) -> String {
    let rows: Vec<(String, Duration, String)> = steps
        .iter()
        .map(|step| {
            (
                step.name.clone(),
                Duration::from_secs_f64(step.duration_ms / 1000.0),
                if step.failure.is_some() {
                    "failed"
                } else {
                    "ok"
                }
                .to_owned(),
            )
        })
        .collect();
    duration_table(&rows)
}
