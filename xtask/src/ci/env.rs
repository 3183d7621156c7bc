//! What a CI job knows from its environment, and the state its steps share on disk.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use opentelemetry::KeyValue;
use opentelemetry::trace::TraceId;

use super::ids;
use crate::trace::{SpanPlace, typed_value};

/// The CircleCI variables a build trace uses (all optional: a laptop has none).
#[derive(Debug, Clone, Default)]
pub(crate) struct CiEnv {
    pub(crate) workflow_id: Option<String>,
    pub(crate) job: String,
    pub(crate) node_index: String,
    /// The fields buildevents sets on every span, from the CircleCI variables.
    pub(crate) fields: Vec<KeyValue>,
    pub(crate) state_dir: PathBuf,
}

/// One command run by `ci step`, as recorded for the job's span and table.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct StepRecord {
    pub(crate) name: String,
    pub(crate) start_unix_ms: u64,
    pub(crate) duration_ms: f64,
    pub(crate) failure: Option<String>,
}

/// Variable → field, as buildevents maps CircleCI's variables.
const PROVIDER_FIELDS: [(&str, &str); 6] = [
    ("CIRCLE_BRANCH", "branch"),
    ("CIRCLE_BUILD_NUM", "build_num"),
    ("CIRCLE_BUILD_URL", "build_url"),
    ("CIRCLE_JOB", "job_name"),
    ("CIRCLE_PR_NUMBER", "pr_number"),
    ("CIRCLE_REPOSITORY_URL", "repo"),
];

impl CiEnv {
    /// Reads the variables through `lookup`; `state_dir` defaults under `root`.
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>, root: &Path) -> CiEnv {
        let var = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let mut fields = Vec::new();
        if var("CIRCLECI").is_some() {
            fields.push(KeyValue::new("ci_provider", "circleci"));
        }
        for (variable, field) in PROVIDER_FIELDS {
            if let Some(value) = var(variable) {
                // Numbers go out as numbers, so that they can be graphed.
                let value = match field {
                    "build_num" | "pr_number" => typed_value(&value),
                    _ => value.into(),
                };
                fields.push(KeyValue::new(field, value));
            }
        }
        CiEnv {
            workflow_id: var("CIRCLE_WORKFLOW_ID"),
            job: var("CIRCLE_JOB").unwrap_or_else(|| "local".to_owned()),
            node_index: var("CIRCLE_NODE_INDEX").unwrap_or_else(|| "0".to_owned()),
            fields,
            state_dir: var("BUILDEVENTS_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| root.join(".buildevents")),
        }
    }

    /// The workflow's trace id: from `CIRCLE_WORKFLOW_ID`, or, on a laptop, the one
    /// `ci setup` (or the first step) drew and kept in the state directory.
    pub(crate) fn trace_id(&self) -> anyhow::Result<TraceId> {
        if let Some(workflow_id) = &self.workflow_id {
            return ids::workflow_trace_id(workflow_id);
        }
        let path = self.state_dir.join("trace_id");
        if let Ok(text) = std::fs::read_to_string(&path)
            && let Ok(trace_id) = TraceId::from_hex(text.trim())
        {
            return Ok(trace_id);
        }
        let trace_id = SpanPlace::new_root().trace_id;
        write_file(&path, &trace_id.to_string())?;
        Ok(trace_id)
    }

    /// The root span of the workflow.
    pub(crate) fn root(&self) -> anyhow::Result<SpanPlace> {
        let trace_id = self.trace_id()?;
        Ok(SpanPlace {
            trace_id,
            span_id: ids::root_span_id(trace_id),
            parent: None,
        })
    }

    /// This job's span, a child of the root.
    pub(crate) fn job_span(&self) -> anyhow::Result<SpanPlace> {
        let root = self.root()?;
        Ok(SpanPlace {
            trace_id: root.trace_id,
            span_id: ids::job_span_id(&self.job, &self.node_index),
            parent: Some(root.span_id),
        })
    }

    fn job_dir(&self) -> PathBuf {
        self.state_dir
            .join("jobs")
            .join(format!("{}-{}", self.job, self.node_index))
    }

    /// When the job started: recorded by its first `ci` command.
    pub(crate) fn job_start(&self) -> anyhow::Result<SystemTime> {
        let path = self.job_dir().join("start");
        if let Some(start) = read_unix_ms(&path) {
            return Ok(start);
        }
        let now = SystemTime::now();
        write_file(&path, &unix_ms(now).to_string())?;
        Ok(now)
    }

    /// When the workflow started, as `ci setup` recorded it.
    pub(crate) fn build_start(&self) -> Option<SystemTime> {
        read_unix_ms(&self.state_dir.join("build_start"))
    }

    /// Records the workflow's start (for `ci setup`).
    pub(crate) fn record_build_start(&self, at: SystemTime) -> anyhow::Result<()> {
        write_file(
            &self.state_dir.join("build_start"),
            &unix_ms(at).to_string(),
        )
    }

    /// A fresh file for a step's extra fields (`BUILDEVENT_FILE`).
    pub(crate) fn fields_file(&self, step: &SpanPlace) -> anyhow::Result<PathBuf> {
        let dir = self.job_dir();
        std::fs::create_dir_all(&dir)?;
        Ok(dir.join(format!("fields-{}.logfmt", step.span_id)))
    }

    /// The steps this job ran so far.
    pub(crate) fn steps(&self) -> Vec<StepRecord> {
        std::fs::read_to_string(self.job_dir().join("steps.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// Appends a step to this job's record.
    pub(crate) fn record_step(&self, step: &StepRecord) -> anyhow::Result<()> {
        use std::io::Write;
        let dir = self.job_dir();
        std::fs::create_dir_all(&dir)?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("steps.jsonl"))?;
        writeln!(file, "{}", serde_json::to_string(step)?)?;
        Ok(())
    }
}

/// `key=value` fields a command wrote to its `BUILDEVENT_FILE` (logfmt, as buildevents
/// reads it), numbers and booleans typed.
pub(crate) fn read_fields(path: &Path) -> Vec<KeyValue> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .filter(|(key, _)| !key.is_empty())
        .map(|(key, value)| KeyValue::new(key.to_owned(), typed_value(value.trim_matches('"'))))
        .collect()
}

pub(crate) fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

fn read_unix_ms(path: &Path) -> Option<SystemTime> {
    let millis: u64 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_millis(millis))
}

fn write_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, contents)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use opentelemetry::Value;

    use super::*;

    #[test]
    fn provider_fields_are_typed_and_a_laptop_has_none() {
        let vars = [
            ("CIRCLECI", "true"),
            ("CIRCLE_BRANCH", "main"),
            ("CIRCLE_BUILD_NUM", "4242"),
            ("CIRCLE_JOB", "build"),
            ("CIRCLE_PR_NUMBER", "17"),
            ("CIRCLE_REPOSITORY_URL", "git@github.com:azcord/azcord.git"),
        ];
        let env = CiEnv::from_lookup(
            |name| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            },
            Path::new("/r"),
        );
        let field = |key: &str| {
            env.fields
                .iter()
                .find(|kv| kv.key.as_str() == key)
                .map(|kv| kv.value.clone())
        };
        assert_eq!(field("ci_provider"), Some(Value::from("circleci")));
        assert_eq!(field("build_num"), Some(Value::I64(4242)));
        assert_eq!(field("pr_number"), Some(Value::I64(17)));
        assert_eq!(field("job_name"), Some(Value::from("build")));
        assert_eq!(env.job, "build");
        assert_eq!(env.state_dir, Path::new("/r/.buildevents"));

        let laptop = CiEnv::from_lookup(|_| None, Path::new("/r"));
        assert!(laptop.fields.is_empty());
        assert_eq!(
            (laptop.job.as_str(), laptop.node_index.as_str()),
            ("local", "0")
        );
    }
}
