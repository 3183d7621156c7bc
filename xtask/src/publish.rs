//! `cargo xtask publish`: pushes the image layout to a registry over the OCI
//! distribution API.
//!
//! It uses `oci-client`, which asks whether a blob is there with a HEAD request,
//! pushes a manifest given as bytes (so the digest `cargo xtask image` computed is the
//! one the registry stores, under every tag), speaks plain HTTP to the registries it is
//! told to, and follows a registry's Basic or Bearer challenge (ACR's token exchange)
//! with the given credentials.
//!
//! Tags: the commit (12 hex digits, as `azcord --version` shows it), the version, and
//! `latest` on the main branch. Credentials come from `ACR_USERNAME` and
//! `ACR_PASSWORD` (an ACR token or a service principal), or neither for an anonymous
//! registry; the password is never printed, traced or put in an error.

use std::{
    fmt,
    path::{Path, PathBuf},
    time::Instant,
};

use anyhow::Context;
use clap::Args;
use oci_client::{
    Client, Reference, RegistryOperation,
    client::{ClientConfig, ClientProtocol},
    secrets::RegistryAuth,
};
use oci_spec::image::{
    ANNOTATION_REF_NAME, ANNOTATION_REVISION, ANNOTATION_VERSION, ImageIndex, ImageManifest,
    MediaType,
};

use crate::{
    build::human_size,
    image::{self, sha256},
    stamp,
};

#[derive(Debug, Args)]
pub(crate) struct PublishArgs {
    /// The registry, as HOST or HOST:PORT (for ACR, NAME.azurecr.io).
    #[arg(long, value_name = "HOST[:PORT]")]
    registry: String,
    /// The repository in the registry.
    #[arg(long, default_value = "azcord")]
    repository: String,
    /// Speak plain HTTP to the registry (a loopback registry without TLS).
    #[arg(long)]
    plain_http: bool,
    /// The OCI image layout to push [default: target/oci/azcord].
    #[arg(long, value_name = "DIR")]
    image: Option<PathBuf>,
    /// Say what would be pushed, without contacting the registry.
    #[arg(long)]
    dry_run: bool,
}

pub(crate) fn run(args: &PublishArgs) -> anyhow::Result<()> {
    let credentials = Credentials::from_env(
        std::env::var("ACR_USERNAME").ok(),
        std::env::var("ACR_PASSWORD").ok(),
    )?;
    let layout = args.image.clone().unwrap_or_else(image::default_layout_dir);
    let image = LocalImage::read(&layout)?;
    let tags = image.tags(stamp::on_main_branch());
    eprintln!(
        "publishing {} ({}) to {}/{} as {} ({})",
        layout.display(),
        image.digest,
        args.registry,
        args.repository,
        tags.join(", "),
        credentials,
    );
    if args.dry_run {
        for (digest, size) in &image.blobs {
            crate::output::line(&format!("would push {digest} ({})", human_size(*size)));
        }
        crate::output::line(&format!("would tag {}", tags.join(", ")));
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let reference = runtime.block_on(push(args, &credentials, &image, &layout, &tags))?;
    let published_ref = stamp::target_dir().join("oci/published-ref");
    if let Some(dir) = published_ref.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&published_ref, format!("{reference}\n"))
        .with_context(|| format!("cannot write {}", published_ref.display()))?;
    eprintln!("wrote {}", published_ref.display());
    crate::output::line(&reference);
    Ok(())
}

/// How to sign in to the registry.
enum Credentials {
    Anonymous,
    Basic { username: String, password: String },
}

impl Credentials {
    /// Both variables, or neither; one alone is a mistake worth stopping for.
    fn from_env(username: Option<String>, password: Option<String>) -> anyhow::Result<Self> {
        let username = username.filter(|value| !value.is_empty());
        let password = password.filter(|value| !value.is_empty());
        match (username, password) {
            (None, None) => Ok(Self::Anonymous),
            (Some(username), Some(password)) => Ok(Self::Basic { username, password }),
            (Some(_), None) => anyhow::bail!(
                "ACR_USERNAME is set but ACR_PASSWORD is not: set both, or neither for an anonymous registry"
            ),
            (None, Some(_)) => anyhow::bail!(
                "ACR_PASSWORD is set but ACR_USERNAME is not: set both, or neither for an anonymous registry"
            ),
        }
    }

    fn registry_auth(&self) -> RegistryAuth {
        match self {
            Self::Anonymous => RegistryAuth::Anonymous,
            Self::Basic { username, password } => {
                RegistryAuth::Basic(username.clone(), password.clone())
            }
        }
    }
}

/// Names the user, never the password.
impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Anonymous => f.write_str("anonymously"),
            Self::Basic { username, .. } => write!(f, "as {username}"),
        }
    }
}

/// An image in an OCI image layout, as `cargo xtask image` writes it.
struct LocalImage {
    manifest: Vec<u8>,
    digest: String,
    /// The config and the layers, by digest and size, in the order they are pushed.
    blobs: Vec<(String, u64)>,
    version: String,
    revision: String,
}

impl LocalImage {
    fn read(layout: &Path) -> anyhow::Result<Self> {
        let index = ImageIndex::from_file(layout.join("index.json")).with_context(|| {
            format!(
                "cannot read the image layout {}: build it with `cargo xtask image`",
                layout.display()
            )
        })?;
        let [descriptor] = index.manifests().as_slice() else {
            anyhow::bail!("{} must hold exactly one image", layout.display());
        };
        anyhow::ensure!(
            *descriptor.media_type() == MediaType::ImageManifest,
            "{} holds a {}, not an image manifest",
            layout.display(),
            descriptor.media_type()
        );
        let digest = descriptor.digest().to_string();
        let manifest = read_blob(layout, &digest)?;
        let parsed: ImageManifest = serde_json::from_slice(&manifest)?;
        let annotations = parsed.annotations().clone().unwrap_or_default();
        let version = descriptor
            .annotations()
            .as_ref()
            .and_then(|annotations| annotations.get(ANNOTATION_REF_NAME))
            .or_else(|| annotations.get(ANNOTATION_VERSION))
            .cloned()
            .context("the image names no version")?;
        let revision = annotations
            .get(ANNOTATION_REVISION)
            .cloned()
            .context("the image names no revision")?;
        let mut blobs = Vec::new();
        for blob in parsed.layers().iter().chain([parsed.config()]) {
            let digest = blob.digest().to_string();
            read_blob(layout, &digest)?;
            blobs.push((digest, blob.size()));
        }
        Ok(Self {
            manifest,
            digest,
            blobs,
            version,
            revision,
        })
    }

    fn tags(&self, on_main: bool) -> Vec<String> {
        let mut tags = vec![
            self.revision.chars().take(12).collect(),
            image::version_tag(&self.version),
        ];
        if on_main {
            tags.push("latest".to_owned());
        }
        tags.dedup();
        tags
    }
}

/// A blob of the layout, checked against its digest.
fn read_blob(layout: &Path, digest: &str) -> anyhow::Result<Vec<u8>> {
    let hex = digest
        .strip_prefix("sha256:")
        .with_context(|| format!("unsupported digest {digest}"))?;
    let path = layout.join("blobs/sha256").join(hex);
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    anyhow::ensure!(
        sha256(&bytes) == digest,
        "{} does not match its digest",
        path.display()
    );
    Ok(bytes)
}

async fn push(
    args: &PublishArgs,
    credentials: &Credentials,
    image: &LocalImage,
    layout: &Path,
    tags: &[String],
) -> anyhow::Result<String> {
    // reqwest is built without a default crypto provider; the workspace's is ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let protocol = if args.plain_http {
        ClientProtocol::HttpsExcept(vec![args.registry.clone()])
    } else {
        ClientProtocol::Https
    };
    let client = Client::try_from(ClientConfig {
        protocol,
        use_monolithic_push: true,
        ..ClientConfig::default()
    })?;
    let by_digest = Reference::with_digest(
        args.registry.clone(),
        args.repository.clone(),
        image.digest.clone(),
    );
    let hint = match credentials {
        Credentials::Anonymous => "the registry may need ACR_USERNAME and ACR_PASSWORD",
        Credentials::Basic { .. } => "check ACR_USERNAME and ACR_PASSWORD",
    };
    let started = Instant::now();
    client
        .auth(
            &by_digest,
            &credentials.registry_auth(),
            RegistryOperation::Push,
        )
        .await
        .with_context(|| format!("cannot sign in to {} {credentials} ({hint})", args.registry))?;

    let mut uploaded = 0;
    for (digest, size) in &image.blobs {
        let asked = Instant::now();
        let exists = client
            .blob_exists(&by_digest, digest)
            .await
            .with_context(|| format!("cannot check whether {digest} is there ({hint})"))?;
        if exists {
            crate::output::line(&format!(
                "{digest} ({}) already there ({:.0?})",
                human_size(*size),
                asked.elapsed()
            ));
            continue;
        }
        let bytes = read_blob(layout, digest)?;
        let sending = Instant::now();
        client
            .push_blob(&by_digest, bytes, digest)
            .await
            .with_context(|| format!("cannot upload {digest} ({hint})"))?;
        uploaded += 1;
        crate::output::line(&format!(
            "{digest} ({}) uploaded in {:.0?}",
            human_size(*size),
            sending.elapsed()
        ));
    }
    for tag in tags {
        let tagged =
            Reference::with_tag(args.registry.clone(), args.repository.clone(), tag.clone());
        let sending = Instant::now();
        client
            .push_manifest_raw(
                &tagged,
                image.manifest.clone(),
                http::HeaderValue::from_static("application/vnd.oci.image.manifest.v1+json"),
            )
            .await
            .with_context(|| format!("cannot tag {tag} ({hint})"))?;
        crate::output::line(&format!("tagged {tag} ({:.0?})", sending.elapsed()));
    }
    crate::output::line(&format!(
        "{uploaded} of {} blobs uploaded, {} tags, in {:.1?}",
        image.blobs.len(),
        tags.len(),
        started.elapsed()
    ));
    Ok(format!(
        "{}/{}@{}",
        args.registry, args.repository, image.digest
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_in_pairs() {
        let some = |value: &str| Some(value.to_owned());
        let cases = [
            (None, None, Ok("anonymously")),
            (some(""), some(""), Ok("anonymously")),
            (some("pusher"), some("s3cret"), Ok("as pusher")),
            (
                some("pusher"),
                None,
                Err(
                    "ACR_USERNAME is set but ACR_PASSWORD is not: set both, or neither for an anonymous registry",
                ),
            ),
            (
                None,
                some("s3cret"),
                Err(
                    "ACR_PASSWORD is set but ACR_USERNAME is not: set both, or neither for an anonymous registry",
                ),
            ),
        ];
        for (username, password, expected) in cases {
            let got = Credentials::from_env(username.clone(), password.clone())
                .map(|credentials| credentials.to_string())
                .map_err(|err| err.to_string());
            assert_eq!(
                got.as_ref().map(String::as_str).map_err(String::as_str),
                expected,
                "{username:?} {password:?}"
            );
        }
    }

    #[test]
    fn tags_are_the_commit_the_version_and_latest_on_main() {
        let image = LocalImage {
            manifest: Vec::new(),
            digest: "sha256:00".into(),
            blobs: Vec::new(),
            version: "1.2.3".into(),
            revision: "0123456789abcdef0123456789abcdef01234567".into(),
        };
        assert_eq!(image.tags(false), ["0123456789ab", "1.2.3"]);
        assert_eq!(image.tags(true), ["0123456789ab", "1.2.3", "latest"]);
    }
}
