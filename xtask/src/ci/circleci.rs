//! The CircleCI API v2 calls `ci watch` makes, and when a workflow counts as finished.

use std::time::SystemTime;

use serde::Deserialize;

/// CircleCI's public API, unless `CIRCLECI_API_URL` points elsewhere.
pub(crate) const DEFAULT_API_URL: &str = "https://circleci.com/api/v2";

/// `GET /workflow/{id}`, the parts watch uses.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Workflow {
    pub(crate) name: String,
    pub(crate) created_at: String,
}

/// One entry of `GET /workflow/{id}/job`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct Job {
    pub(crate) name: String,
    pub(crate) status: String,
}

#[derive(Debug, Deserialize)]
struct JobPage {
    items: Vec<Job>,
    next_page_token: Option<String>,
}

/// Where a workflow stands, from its jobs other than the watcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Some job is queued or running.
    Running,
    /// Nothing runs, but some job waits on another or on an approval.
    Blocked,
    /// Everything has ended; the names of the jobs that failed.
    Finished { failed: Vec<String> },
}

/// A CircleCI API client with a token.
pub(crate) struct CircleApi {
    pub(crate) base_url: String,
    pub(crate) token: String,
    pub(crate) http: reqwest::Client,
}

impl CircleApi {
    pub(crate) async fn workflow(&self, id: &str) -> anyhow::Result<Workflow> {
        self.get(&format!("/workflow/{id}")).await
    }

    /// Every job of the workflow, following `next_page_token`.
    pub(crate) async fn jobs(&self, workflow_id: &str) -> anyhow::Result<Vec<Job>> {
        let mut jobs = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..100 {
            let path = match &token {
                Some(token) => format!("/workflow/{workflow_id}/job?page-token={token}"),
                None => format!("/workflow/{workflow_id}/job"),
            };
            let page: JobPage = self.get(&path).await?;
            jobs.extend(page.items);
            token = page.next_page_token.filter(|token| !token.is_empty());
            if token.is_none() {
                return Ok(jobs);
            }
        }
        anyhow::bail!("the CircleCI API kept answering more pages of jobs")
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let url = format!("{}{path}", self.base_url.trim_end_matches('/'));
        let response = self
            .http
            .get(&url)
            .header("Circle-Token", &self.token)
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|error| anyhow::anyhow!("GET {url} failed: {}", error.without_url()))?;
        let status = response.status();
        let body = response.bytes().await?;
        anyhow::ensure!(
            status.is_success(),
            "GET {url} answered {status}: {}",
            String::from_utf8_lossy(&body)
                .chars()
                .take(300)
                .collect::<String>()
        );
        serde_json::from_slice(&body)
            .map_err(|error| anyhow::anyhow!("GET {url} answered what does not parse: {error}"))
    }
}

/// Where the workflow stands, leaving out the job called `watcher`.
pub(crate) fn progress(jobs: &[Job], watcher: &str) -> Progress {
    let others = jobs.iter().filter(|job| job.name != watcher);
    let mut blocked = false;
    let mut failed = Vec::new();
    for job in others {
        match job.status.as_str() {
            "running" | "queued" | "not_running" => return Progress::Running,
            "blocked" | "on_hold" => blocked = true,
            "failed"
            | "infrastructure_fail"
            | "timedout"
            | "canceled"
            | "unauthorized"
            | "terminated-unknown" => failed.push(job.name.clone()),
            // success, not_run, retried: ended without failing the workflow.
            _ => {}
        }
    }
    if failed.is_empty() && blocked {
        Progress::Blocked
    } else {
        Progress::Finished { failed }
    }
}

/// An RFC 3339 time as CircleCI writes it.
pub(crate) fn parse_time(text: &str) -> Option<SystemTime> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(SystemTime::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workflow_is_finished_when_nothing_else_runs() {
        let jobs = |statuses: &[(&str, &str)]| -> Vec<Job> {
            statuses
                .iter()
                .map(|(name, status)| Job {
                    name: (*name).to_owned(),
                    status: (*status).to_owned(),
                })
                .collect()
        };
        let cases = [
            (
                vec![("watch", "running"), ("test", "running")],
                Progress::Running,
            ),
            (
                vec![("watch", "running"), ("test", "queued")],
                Progress::Running,
            ),
            (
                vec![
                    ("watch", "running"),
                    ("test", "success"),
                    ("deploy", "blocked"),
                ],
                Progress::Blocked,
            ),
            (
                vec![
                    ("watch", "running"),
                    ("test", "failed"),
                    ("deploy", "blocked"),
                ],
                Progress::Finished {
                    failed: vec!["test".into()],
                },
            ),
            (
                vec![
                    ("watch", "running"),
                    ("test", "success"),
                    ("build", "success"),
                ],
                Progress::Finished { failed: vec![] },
            ),
        ];
        for (statuses, expected) in cases {
            assert_eq!(
                progress(&jobs(&statuses), "watch"),
                expected,
                "{statuses:?}"
            );
        }
    }

    #[test]
    fn circleci_times_parse() {
        let at = parse_time("2026-11-30T16:36:51Z").unwrap();
        let with_millis = parse_time("2026-11-30T16:36:51.250Z").unwrap();
        assert_eq!(with_millis.duration_since(at).unwrap().as_millis(), 250);
        assert_eq!(parse_time("yesterday"), None);
    }
}
