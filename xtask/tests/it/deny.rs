//! The dependency policy in `deny.toml` has teeth.

use std::path::{Path, PathBuf};
use std::process::Command;

use azcord_sim::tools::require_tool;

const CARGO_DENY_INSTALL: &str = "cargo install --locked cargo-deny";

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Without ISC on the allow list, twilight's crates fail the license check; so the
/// check `cargo xtask test` runs does look at every crate's license.
#[test]
fn the_license_check_rejects_a_license_the_policy_does_not_list() {
    if require_tool("cargo-deny", CARGO_DENY_INSTALL).is_none() {
        return;
    }
    let root = project_root();
    let policy = std::fs::read_to_string(root.join("deny.toml")).unwrap();
    let isc = "    \"ISC\",\n";
    assert!(policy.contains(isc), "deny.toml allows ISC");
    let config = std::env::temp_dir().join(format!("azcord-deny-{}.toml", std::process::id()));
    std::fs::write(&config, policy.replace(isc, "")).unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["deny", "--locked", "--config"])
        .arg(&config)
        .args(["check", "licenses"])
        .current_dir(&root)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&config);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("ISC") && stderr.contains("twilight-http"),
        "{stderr}"
    );
}

/// azure_core is allowed twice only through its `skip` entry (0.21 for the azure_mgmt
/// clients, 1.x for azure_identity): without it, the bans check fails on azure_core.
#[test]
fn a_second_azure_core_passes_only_through_its_skip_entry() {
    if require_tool("cargo-deny", CARGO_DENY_INSTALL).is_none() {
        return;
    }
    let root = project_root();
    let policy = std::fs::read_to_string(root.join("deny.toml")).unwrap();
    let skip_start = policy.find("skip = [").expect("deny.toml has a skip list");
    let skip_end = skip_start + policy[skip_start..].find("\n]\n").expect("the list ends") + 3;
    assert!(policy[skip_start..skip_end].contains("azure_core@0.21"));
    let config = std::env::temp_dir().join(format!("azcord-deny-skip-{}.toml", std::process::id()));
    std::fs::write(
        &config,
        format!("{}{}", &policy[..skip_start], &policy[skip_end..]),
    )
    .unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["deny", "--locked", "--offline", "--config"])
        .arg(&config)
        .args(["check", "bans"])
        .current_dir(&root)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&config);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("duplicate entries for crate 'azure_core'"),
        "{stderr}"
    );
}
