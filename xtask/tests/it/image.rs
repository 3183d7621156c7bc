//! `cargo xtask image`: reproducible, small, and the bot runs from it alone.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

use azcord_sim::tools::require_tool;

use crate::{scratch_dir, succeeded, xtask};

/// An image layout `cargo xtask image` wrote, with what it printed.
#[derive(Debug)]
pub(crate) struct BuiltImage {
    pub(crate) layout: PathBuf,
    pub(crate) digest: String,
    pub(crate) compressed_size: u64,
    pub(crate) tag: String,
}

impl BuiltImage {
    fn from_stdout(layout: PathBuf, stdout: &str) -> BuiltImage {
        let field = |name: &str| {
            stdout
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .unwrap_or_else(|| panic!("no `{name}` line in:\n{stdout}"))
                .to_owned()
        };
        let tag = field("layout: ")
            .rsplit_once("(tag ")
            .and_then(|(_, tag)| tag.strip_suffix(')'))
            .unwrap_or_else(|| panic!("no tag in:\n{stdout}"))
            .to_owned();
        let compressed_size = field("compressed size: ")
            .split_whitespace()
            .next()
            .and_then(|bytes| bytes.parse().ok())
            .unwrap_or_else(|| panic!("no size in:\n{stdout}"));
        BuiltImage {
            layout,
            digest: field("digest: "),
            compressed_size,
            tag,
        }
    }

    /// A blob of the layout, parsed as JSON.
    pub(crate) fn json_blob(&self, digest: &str) -> serde_json::Value {
        let path = self
            .layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"));
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
    }
}

/// The image of the release binary, built once per test run (the release build is
/// reused when it is up to date).
pub(crate) fn release_image() -> &'static BuiltImage {
    static IMAGE: OnceLock<BuiltImage> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let layout = scratch_dir("release-image").join("layout");
        let output = xtask(&["image", "--output", layout.to_str().unwrap()], &[]);
        BuiltImage::from_stdout(layout, &succeeded(&output))
    })
}

/// An image of a small stand-in binary: quick to build, same layout otherwise.
pub(crate) fn small_image(source_date_epoch: &str) -> BuiltImage {
    let layout = scratch_dir("small-image").join("layout");
    let output = xtask(
        &[
            "image",
            "--binary",
            stand_in_binary(),
            "--output",
            layout.to_str().unwrap(),
        ],
        &[("SOURCE_DATE_EPOCH", source_date_epoch)],
    );
    BuiltImage::from_stdout(layout, &succeeded(&output))
}

/// A small dynamically linked program every Debian system has.
fn stand_in_binary() -> &'static str {
    "/bin/true"
}

#[test]
fn the_same_inputs_give_the_same_digest() {
    let first = small_image("1700000000");
    let second = small_image("1700000000");
    assert_eq!(first.digest, second.digest);
    for file in ["index.json", "oci-layout"] {
        assert_eq!(
            std::fs::read(first.layout.join(file)).unwrap(),
            std::fs::read(second.layout.join(file)).unwrap(),
            "{file}"
        );
    }
    // And the digest does depend on the inputs: another time, another image.
    let later = small_image("1700000001");
    assert_ne!(first.digest, later.digest);
}

#[test]
fn the_config_says_how_to_run_it_and_where_it_comes_from() {
    let image = small_image("1700000000");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(image.layout.join("index.json")).unwrap()).unwrap();
    let entry = &index["manifests"][0];
    assert_eq!(entry["digest"], image.digest.as_str());
    assert_eq!(
        entry["annotations"]["org.opencontainers.image.ref.name"],
        image.tag.as_str()
    );
    let manifest = image.json_blob(&image.digest);
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let config = image.json_blob(manifest["config"]["digest"].as_str().unwrap());
    let mut runtime = config["config"].clone();
    let labels = runtime["Labels"].take();
    expect_test::expect![[r#"
        {
          "Cmd": [
            "run"
          ],
          "Entrypoint": [
            "/usr/local/bin/azcord"
          ],
          "Env": [
            "PATH=/usr/local/bin",
            "AZCORD_ADMIN_ADDR=0.0.0.0:9090",
            "XDG_STATE_HOME=/var/lib"
          ],
          "ExposedPorts": {
            "9090/tcp": {}
          },
          "Labels": null,
          "User": "65532:65532",
          "WorkingDir": "/"
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&runtime).unwrap());
    assert_eq!(config["created"], "2023-11-14T22:13:20Z");
    assert_eq!(
        labels["org.opencontainers.image.created"],
        "2023-11-14T22:13:20Z"
    );
    assert_eq!(
        labels["org.opencontainers.image.version"],
        image.tag.as_str()
    );
    let revision = labels["org.opencontainers.image.revision"]
        .as_str()
        .unwrap();
    assert_eq!(revision, expected_revision());
    // The manifest carries the same labels as annotations.
    assert_eq!(manifest["annotations"], labels);
}

#[test]
fn the_release_image_is_small() {
    let image = release_image();
    assert!(
        image.compressed_size < 15_000_000,
        "{} bytes compressed",
        image.compressed_size
    );
}

#[test]
fn the_bot_runs_from_the_unpacked_image_alone() {
    let Some(umoci) = require_tool("umoci", "apt-get install -y umoci") else {
        return;
    };
    let Some(chroot) = require_tool("chroot", "apt-get install -y coreutils") else {
        return;
    };
    if !running_as_root() {
        let message = "chroot needs root; run the tests as root to check the image runs";
        assert!(
            std::env::var_os("CI").is_none(),
            "{message} (CI must run this test)"
        );
        eprintln!("SKIPPED: {message}");
        return;
    }
    let image = release_image();
    let bundle = scratch_dir("bundle").join("bundle");
    let unpacked = Command::new(umoci)
        .args(["unpack", "--image"])
        .arg(format!("{}:{}", image.layout.display(), image.tag))
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        unpacked.status.success(),
        "umoci unpack failed: {}",
        String::from_utf8_lossy(&unpacked.stderr)
    );
    let rootfs = bundle.join("rootfs");

    let version = run_in(&chroot, &rootfs, &["--version"]);
    assert!(
        version.starts_with(&format!("azcord {} (commit ", image.tag)),
        "{version}"
    );
    assert!(version.contains(&expected_revision()[..12]), "{version}");

    let ping = run_in(&chroot, &rootfs, &["shell", "-c", "/ping"]);
    assert!(ping.contains("🏓 pong"), "{ping}");
}

/// Runs the image's binary in `rootfs` as the image's user, with an empty
/// environment, as a container runtime would; returns its standard output.
fn run_in(chroot: &Path, rootfs: &Path, args: &[&str]) -> String {
    let output = Command::new(chroot)
        .arg("--userspec=65532:65532")
        .arg(rootfs)
        .arg("/usr/local/bin/azcord")
        .args(args)
        .env_clear()
        .env("PATH", "/usr/local/bin")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "azcord {args:?} failed in the image with {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// The commit xtask stamps: the CI's, else the checkout's.
pub(crate) fn expected_revision() -> String {
    for name in ["AZCORD_GIT_SHA", "CIRCLE_SHA1"] {
        if let Some(sha) = std::env::var(name).ok().filter(|sha| !sha.is_empty()) {
            return sha;
        }
    }
    let output = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}
