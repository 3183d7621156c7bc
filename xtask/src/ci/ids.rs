//! How a CircleCI workflow's trace and span ids are derived, following buildevents
//! where OTLP's 16-byte trace ids and 8-byte span ids allow (docs/ci.md).

use opentelemetry::trace::{SpanId, TraceId};
use sha2::{Digest, Sha256};

/// The trace id of a workflow: `CIRCLE_WORKFLOW_ID`, a UUID, without its hyphens.
///
/// buildevents uses the UUID string itself, hyphens and all, which OTLP cannot carry.
pub(crate) fn workflow_trace_id(workflow_id: &str) -> anyhow::Result<TraceId> {
    let hex: String = workflow_id.trim().chars().filter(|c| *c != '-').collect();
    anyhow::ensure!(
        hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()),
        "CIRCLE_WORKFLOW_ID `{}` is not a UUID",
        workflow_id.escape_default()
    );
    let trace_id = TraceId::from_hex(&hex.to_ascii_lowercase())?;
    anyhow::ensure!(
        trace_id != TraceId::INVALID,
        "CIRCLE_WORKFLOW_ID is all zeros"
    );
    Ok(trace_id)
}

/// The root span's id: buildevents gives the root span the trace id itself; an 8-byte
/// span id takes its first 8 bytes.
pub(crate) fn root_span_id(trace_id: TraceId) -> SpanId {
    let bytes = trace_id.to_bytes();
    let mut first = [0; 8];
    first.copy_from_slice(&bytes[..8]);
    SpanId::from_bytes(first)
}

/// A job's span id: buildevents' orb takes the SHA-256 of `"$CIRCLE_JOB-$CIRCLE_NODE_INDEX"`
/// as `echo` prints it (with a newline), in hex; an 8-byte span id takes its first 8 bytes,
/// the first 16 hex digits of the orb's id.
pub(crate) fn job_span_id(job: &str, node_index: &str) -> SpanId {
    let digest = Sha256::digest(format!("{job}-{node_index}\n").as_bytes());
    let mut first = [0; 8];
    first.copy_from_slice(&digest[..8]);
    SpanId::from_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_buildevents() {
        let trace = workflow_trace_id("5a9C1e0e-1b3f-4a59-8e52-0d3f4c2b7a61").unwrap();
        assert_eq!(trace.to_string(), "5a9c1e0e1b3f4a598e520d3f4c2b7a61");
        assert_eq!(root_span_id(trace).to_string(), "5a9c1e0e1b3f4a59");
        // `echo "build-0" | sha256sum` starts with these 16 hex digits.
        assert_eq!(job_span_id("build", "0").to_string(), "b9e369515fe20364");
        for bad in [
            "",
            "not-a-uuid",
            "5a9c1e0e-1b3f-4a59-8e52",
            "00000000-0000-0000-0000-000000000000",
        ] {
            assert!(workflow_trace_id(bad).is_err(), "{bad}");
        }
    }
}
