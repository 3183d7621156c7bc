//! `cargo xtask publish` against a real registry on loopback.

use azcord_sim::tools::require_tool;

use crate::{
    image::{expected_revision, release_image, small_image},
    registry::{self, Auth, CountingProxy, Registry},
    scratch_dir, succeeded, xtask,
};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

#[test]
fn publishing_twice_uploads_each_blob_once_and_tags_the_same_manifest() {
    let Some(server) = require_tool("docker-registry", registry::INSTALL) else {
        return;
    };
    let image = release_image();
    let registry = Registry::start(&server, Auth::Anonymous);
    let proxy = CountingProxy::start(&registry.address);
    let target = scratch_dir("publish-target");
    let publish = || {
        let output = xtask(
            &[
                "publish",
                "--registry",
                &proxy.address,
                "--plain-http",
                "--image",
                image.layout.to_str().unwrap(),
            ],
            &[
                ("CARGO_TARGET_DIR", target.to_str().unwrap()),
                ("CIRCLE_BRANCH", "main"),
                ("ACR_USERNAME", ""),
                ("ACR_PASSWORD", ""),
            ],
        );
        let stdout = succeeded(&output);
        eprintln!("{stdout}");
        stdout
    };
    let reference = format!("{}/azcord@{}", proxy.address, image.digest);

    let first = publish();
    assert_eq!(first.lines().last(), Some(reference.as_str()), "{first}");
    assert_eq!(
        std::fs::read_to_string(target.join("oci/published-ref")).unwrap(),
        format!("{reference}\n")
    );
    assert_eq!(proxy.uploads(), 2, "the layer and the config\n{first}");

    let second = publish();
    assert_eq!(second.lines().last(), Some(reference.as_str()), "{second}");
    assert_eq!(proxy.uploads(), 2, "nothing uploaded again\n{second}");
    assert_eq!(second.matches("already there").count(), 2, "{second}");

    // Read it back from the registry itself.
    let revision = expected_revision();
    let mut expected_tags = vec![
        revision[..12].to_owned(),
        image.tag.clone(),
        "latest".into(),
    ];
    expected_tags.sort();
    let tags = registry::get(&registry.address, "/v2/azcord/tags/list", "*/*").unwrap();
    let mut tags: Vec<String> = tags.json()["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tag| tag.as_str().unwrap().to_owned())
        .collect();
    tags.sort();
    assert_eq!(tags, expected_tags);

    let local_manifest = std::fs::read(
        image
            .layout
            .join("blobs/sha256")
            .join(image.digest.trim_start_matches("sha256:")),
    )
    .unwrap();
    for tag in &expected_tags {
        let manifest = registry::get(
            &registry.address,
            &format!("/v2/azcord/manifests/{tag}"),
            OCI_MANIFEST,
        )
        .unwrap();
        assert_eq!(manifest.status, 200, "{tag}: {}", manifest.headers);
        assert_eq!(manifest.body, local_manifest, "{tag}: the very manifest");
    }
    let manifest = registry::get(
        &registry.address,
        &format!("/v2/azcord/manifests/{}", image.tag),
        OCI_MANIFEST,
    )
    .unwrap()
    .json();
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
    let config_digest = manifest["config"]["digest"].as_str().unwrap();
    let config = registry::get(
        &registry.address,
        &format!("/v2/azcord/blobs/{config_digest}"),
        "*/*",
    )
    .unwrap()
    .json();
    let runtime = &config["config"];
    assert_eq!(runtime["User"], "65532:65532");
    assert_eq!(
        runtime["Entrypoint"],
        serde_json::json!(["/usr/local/bin/azcord"])
    );
    assert_eq!(runtime["Cmd"], serde_json::json!(["run"]));
    let labels = &runtime["Labels"];
    assert_eq!(
        labels["org.opencontainers.image.revision"],
        revision.as_str()
    );
    assert_eq!(
        labels["org.opencontainers.image.version"],
        image.tag.as_str()
    );
    assert!(
        labels["org.opencontainers.image.created"].is_string(),
        "{labels}"
    );
    assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 1);
}

#[test]
fn credentials_are_checked_and_the_password_never_shown() {
    let Some(server) = require_tool("docker-registry", registry::INSTALL) else {
        return;
    };
    let image = small_image("1700000000");
    let registry = Registry::start(&server, Auth::Htpasswd);
    let wrong = "wrong-password-5e1f0c9a7b";
    // (ACR_USERNAME, ACR_PASSWORD, what stderr must say when it fails)
    let cases: [(&str, &str, Option<&str>); 4] = [
        (
            registry::USER,
            wrong,
            Some("check ACR_USERNAME and ACR_PASSWORD"),
        ),
        (
            "",
            "",
            Some("the registry may need ACR_USERNAME and ACR_PASSWORD"),
        ),
        (
            registry::USER,
            "",
            Some("ACR_USERNAME is set but ACR_PASSWORD is not"),
        ),
        (registry::USER, registry::PASSWORD, None),
    ];
    for (username, password, failure) in cases {
        let target = scratch_dir("publish-target");
        let output = xtask(
            &[
                "publish",
                "--registry",
                &registry.address,
                "--plain-http",
                "--image",
                image.layout.to_str().unwrap(),
            ],
            &[
                ("CARGO_TARGET_DIR", target.to_str().unwrap()),
                ("ACR_USERNAME", username),
                ("ACR_PASSWORD", password),
            ],
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let case = format!("{username:?} {password:?}\nstdout:\n{stdout}\nstderr:\n{stderr}");
        match failure {
            Some(message) => {
                assert!(!output.status.success(), "{case}");
                assert!(stderr.contains(message), "{case}");
            }
            None => {
                assert!(output.status.success(), "{case}\n{}", registry.log());
                assert!(stdout.ends_with(&format!("@{}\n", image.digest)), "{case}");
            }
        }
        for secret in [wrong, registry::PASSWORD] {
            assert!(!stdout.contains(secret), "{case}");
            assert!(!stderr.contains(secret), "{case}");
        }
    }
}
