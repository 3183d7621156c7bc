//! `cargo xtask image`: an OCI image of the release binary, built without a daemon.
//!
//! The image is one gzip-compressed layer on an empty base, holding the binary with
//! the loader and shared libraries it needs (see `build.rs` for why), the build
//! machine's CA bundle for an operator's own CAs (the binary has the web PKI roots
//! compiled in), a non-root user, `/tmp` and an `nsswitch.conf` that puts `/etc/hosts`
//! before DNS. It is written as an OCI image layout directory.
//!
//! The same inputs give the same digest: every entry's time is the commit time (or
//! `SOURCE_DATE_EPOCH`), owners are numeric, entries are sorted, the gzip header
//! carries no name or time, and the JSON documents have sorted keys.

use std::{
    collections::{BTreeMap, HashMap},
    io::Write,
    path::{Path, PathBuf},
    process::Command,
    str::FromStr,
};

use anyhow::Context;
use clap::Args;
use oci_spec::image::{
    ANNOTATION_CREATED, ANNOTATION_REF_NAME, ANNOTATION_REVISION, ANNOTATION_SOURCE,
    ANNOTATION_VERSION, Arch, ConfigBuilder, Descriptor, DescriptorBuilder, Digest, HistoryBuilder,
    ImageConfigurationBuilder, ImageIndexBuilder, ImageManifestBuilder, MediaType,
    OciLayoutBuilder, Os, PlatformBuilder, RootFsBuilder,
};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::{
    build::{self, human_size},
    stamp::{self, Stamp},
};

/// Where the binary sits in the image.
pub(crate) const BINARY_PATH: &str = "/usr/local/bin/azcord";
/// The non-root user and group the container runs as (distroless's `nonroot`).
pub(crate) const USER_ID: u64 = 65532;
/// The admin port (`/healthz`, `/readyz`, `/metrics`), served on every interface.
pub(crate) const ADMIN_PORT: u16 = 9090;
/// Where `azcord run` keeps its embedded store in the image: a directory the bot alone
/// may write. Mount a volume here to keep it across container restarts, or share a
/// Redis store instead (`AZCORD_STORE_URL`).
pub(crate) const STATE_DIR: &str = "/var/lib/azcord";

const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

#[derive(Debug, Args)]
pub(crate) struct ImageArgs {
    /// Where to write the OCI image layout [default: target/oci/azcord].
    #[arg(long, value_name = "DIR")]
    output: Option<PathBuf>,
    /// Package this binary instead of building the release one.
    #[arg(long, value_name = "FILE")]
    binary: Option<PathBuf>,
}

pub(crate) fn run(args: &ImageArgs) -> anyhow::Result<()> {
    let binary = match &args.binary {
        Some(binary) => binary.clone(),
        None => build::build(true)?,
    };
    let stamp = Stamp::current()?;
    let output = args.output.clone().unwrap_or_else(default_layout_dir);
    let started = std::time::Instant::now();
    let image = write_image(&binary, &stamp, &output)?;
    eprintln!("packaged in {:.1?}", started.elapsed());
    crate::output::line(&format!("layout: {} (tag {})", output.display(), image.tag));
    crate::output::line(&format!(
        "compressed size: {} bytes ({})",
        image.compressed_size,
        human_size(image.compressed_size)
    ));
    crate::output::line(&format!("digest: {}", image.digest));
    Ok(())
}

/// The image layout `cargo xtask image` writes and `cargo xtask publish` reads.
pub(crate) fn default_layout_dir() -> PathBuf {
    stamp::target_dir().join("oci/azcord")
}

/// What `write_image` produced.
#[derive(Debug)]
pub(crate) struct BuiltImage {
    /// The manifest's digest, `sha256:…`.
    pub(crate) digest: String,
    /// What a pull transfers: the manifest, the config and the layer.
    pub(crate) compressed_size: u64,
    /// The version tag, as the index names the image.
    pub(crate) tag: String,
}

/// Packages `binary` as an image and writes it as an OCI image layout in `output`.
pub(crate) fn write_image(
    binary: &Path,
    stamp: &Stamp,
    output: &Path,
) -> anyhow::Result<BuiltImage> {
    let mut root = RootFilesystem::default();
    let binary_bytes =
        std::fs::read(binary).with_context(|| format!("cannot read {}", binary.display()))?;
    root.file(BINARY_PATH, binary_bytes, 0o755);
    for library in shared_libraries(binary)? {
        let bytes = std::fs::read(&library)
            .with_context(|| format!("cannot read {}", library.display()))?;
        root.file(&library.to_string_lossy(), bytes, 0o755);
    }
    let ca_bundle = std::fs::read(CA_BUNDLE).with_context(|| {
        format!("cannot read {CA_BUNDLE}; install it with `apt-get install ca-certificates`")
    })?;
    root.file(CA_BUNDLE, ca_bundle, 0o644);
    root.file(
        "/etc/passwd",
        format!(
            "root:x:0:0:root:/root:/sbin/nologin\n\
             azcord:x:{USER_ID}:{USER_ID}:azcord:/home/azcord:/sbin/nologin\n"
        )
        .into_bytes(),
        0o644,
    );
    root.file(
        "/etc/group",
        format!("root:x:0:\nazcord:x:{USER_ID}:\n").into_bytes(),
        0o644,
    );
    // Without this file glibc asks DNS before /etc/hosts.
    root.file("/etc/nsswitch.conf", b"hosts: files dns\n".to_vec(), 0o644);
    root.directory("/tmp", 0o1777, 0);
    root.directory("/home/azcord", 0o700, USER_ID);
    // The embedded store's file (`AZCORD_STATE`), writable by the bot alone.
    root.directory(STATE_DIR, 0o700, USER_ID);
    for (path, entry) in &root.entries {
        if let Content::File(bytes) = &entry.content {
            eprintln!("  /{path} {}", human_size(bytes.len() as u64));
        }
    }
    let image = assemble(&root, stamp)?;
    image.write_layout(output)?;
    Ok(BuiltImage {
        digest: image.manifest_digest.clone(),
        compressed_size: image.blobs.iter().map(|blob| blob.len() as u64).sum(),
        tag: image.tag,
    })
}

/// The files of the single layer, by path without the leading `/`, sorted.
#[derive(Debug, Default)]
struct RootFilesystem {
    entries: BTreeMap<String, Entry>,
}

#[derive(Debug)]
struct Entry {
    content: Content,
    mode: u32,
    owner: u64,
}

#[derive(Debug)]
enum Content {
    Directory,
    File(Vec<u8>),
}

impl RootFilesystem {
    fn file(&mut self, path: &str, bytes: Vec<u8>, mode: u32) {
        let path = self.parents(path);
        self.entries.insert(
            path,
            Entry {
                content: Content::File(bytes),
                mode,
                owner: 0,
            },
        );
    }

    fn directory(&mut self, path: &str, mode: u32, owner: u64) {
        let path = self.parents(path);
        self.entries.insert(
            path,
            Entry {
                content: Content::Directory,
                mode,
                owner,
            },
        );
    }

    /// Adds the missing parent directories of `path` and returns it relative.
    fn parents(&mut self, path: &str) -> String {
        let path = path.trim_start_matches('/');
        let mut parent = String::new();
        let components: Vec<&str> = path.split('/').collect();
        for component in &components[..components.len() - 1] {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(component);
            self.entries.entry(parent.clone()).or_insert(Entry {
                content: Content::Directory,
                mode: 0o755,
                owner: 0,
            });
        }
        path.to_owned()
    }

    /// The layer as an uncompressed tar, every entry dated `mtime`.
    fn tar(&self, mtime: u64) -> anyhow::Result<Vec<u8>> {
        let mut tar = tar::Builder::new(Vec::new());
        for (path, entry) in &self.entries {
            let mut header = tar::Header::new_ustar();
            header.set_mtime(mtime);
            header.set_uid(entry.owner);
            header.set_gid(entry.owner);
            header.set_mode(entry.mode);
            match &entry.content {
                Content::Directory => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_size(0);
                    tar.append_data(&mut header, format!("{path}/"), std::io::empty())?;
                }
                Content::File(bytes) => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_size(bytes.len() as u64);
                    tar.append_data(&mut header, path, bytes.as_slice())?;
                }
            }
        }
        Ok(tar.into_inner()?)
    }
}

/// An image in memory: its blobs, and the manifest that names them.
struct Image {
    /// The layer, the config and the manifest, as stored.
    blobs: Vec<Vec<u8>>,
    manifest: Vec<u8>,
    manifest_digest: String,
    index: Vec<u8>,
    tag: String,
}

fn assemble(root: &RootFilesystem, stamp: &Stamp) -> anyhow::Result<Image> {
    let mtime = u64::try_from(stamp.created_epoch).unwrap_or(0);
    let layer_tar = root.tar(mtime)?;
    let diff_id = sha256(&layer_tar);
    let layer = gzip(&layer_tar)?;
    let created = stamp.created();
    let tag = version_tag(&stamp.version);

    let mut labels = HashMap::from([
        (ANNOTATION_REVISION.to_owned(), stamp.revision.clone()),
        (ANNOTATION_VERSION.to_owned(), stamp.version.clone()),
        (ANNOTATION_CREATED.to_owned(), created.clone()),
    ]);
    if let Some(source) = &stamp.source_url {
        labels.insert(ANNOTATION_SOURCE.to_owned(), source.clone());
    }

    let runtime = ConfigBuilder::default()
        .user(format!("{USER_ID}:{USER_ID}"))
        // `docker run IMAGE shell` or `--version` replaces `run`, not the binary.
        .entrypoint(vec![BINARY_PATH.to_owned()])
        .cmd(vec!["run".to_owned()])
        .env(vec![
            "PATH=/usr/local/bin".to_owned(),
            format!("AZCORD_ADMIN_ADDR=0.0.0.0:{ADMIN_PORT}"),
            // The default state file is then `/var/lib/azcord/state.redb`; a default rather
            // than `AZCORD_STATE`, so that `AZCORD_STORE_URL` alone picks Redis.
            "XDG_STATE_HOME=/var/lib".to_owned(),
        ])
        .exposed_ports(vec![format!("{ADMIN_PORT}/tcp")])
        .working_dir("/")
        .labels(labels.clone())
        .build()?;
    let config = ImageConfigurationBuilder::default()
        .created(created.clone())
        .architecture(Arch::Amd64)
        .os(Os::Linux)
        .config(runtime)
        .rootfs(
            RootFsBuilder::default()
                .typ("layers")
                .diff_ids(vec![diff_id])
                .build()?,
        )
        .history(vec![
            HistoryBuilder::default()
                .created(created)
                .created_by("cargo xtask image")
                .build()?,
        ])
        .build()?;
    let config = canonical_json(&config)?;

    let manifest = ImageManifestBuilder::default()
        .schema_version(2_u32)
        .media_type(MediaType::ImageManifest)
        .config(descriptor(MediaType::ImageConfig, &config)?)
        .layers(vec![descriptor(MediaType::ImageLayerGzip, &layer)?])
        .annotations(labels)
        .build()?;
    let manifest = canonical_json(&manifest)?;
    let manifest_digest = sha256(&manifest);

    let mut manifest_descriptor = descriptor(MediaType::ImageManifest, &manifest)?;
    manifest_descriptor.set_annotations(Some(HashMap::from([(
        ANNOTATION_REF_NAME.to_owned(),
        tag.clone(),
    )])));
    manifest_descriptor.set_platform(Some(
        PlatformBuilder::default()
            .architecture(Arch::Amd64)
            .os(Os::Linux)
            .build()?,
    ));
    let index = ImageIndexBuilder::default()
        .schema_version(2_u32)
        .media_type(MediaType::ImageIndex)
        .manifests(vec![manifest_descriptor])
        .build()?;

    Ok(Image {
        blobs: vec![layer, config, manifest.clone()],
        manifest,
        manifest_digest,
        index: canonical_json(&index)?,
        tag,
    })
}

impl Image {
    fn write_layout(&self, dir: &Path) -> anyhow::Result<()> {
        if dir.exists() {
            let is_layout = dir.join("oci-layout").exists();
            let is_empty = std::fs::read_dir(dir)?.next().is_none();
            anyhow::ensure!(
                is_layout || is_empty,
                "{} exists and is not an OCI image layout: refusing to replace it",
                dir.display()
            );
            std::fs::remove_dir_all(dir)
                .with_context(|| format!("cannot remove the old layout {}", dir.display()))?;
        }
        let blobs = dir.join("blobs/sha256");
        std::fs::create_dir_all(&blobs)
            .with_context(|| format!("cannot create {}", blobs.display()))?;
        for blob in &self.blobs {
            let digest = sha256(blob);
            let name = digest.trim_start_matches("sha256:");
            std::fs::write(blobs.join(name), blob)?;
        }
        debug_assert!(self.blobs.contains(&self.manifest));
        let layout = OciLayoutBuilder::default()
            .image_layout_version("1.0.0")
            .build()?;
        std::fs::write(dir.join("oci-layout"), canonical_json(&layout)?)?;
        std::fs::write(dir.join("index.json"), &self.index)?;
        Ok(())
    }
}

/// The shared libraries and loader that `binary` loads, as `ldd` resolves them on the
/// machine that linked it. Empty for a static binary.
fn shared_libraries(binary: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let output = Command::new("ldd")
        .arg(binary)
        .output()
        .context("cannot run `ldd` (from glibc's libc-bin)")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // ldd fails on a static binary, and says so.
    if !output.status.success() {
        let text = format!("{stdout}{stderr}");
        anyhow::ensure!(
            text.contains("not a dynamic executable"),
            "`ldd {}` failed: {}",
            binary.display(),
            text.trim()
        );
        return Ok(Vec::new());
    }
    parse_ldd(&stdout)
}

/// The paths in `ldd`'s output, the loader's included and the kernel's vDSO left out.
fn parse_ldd(output: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for line in output
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
    {
        if line.contains("statically linked") {
            continue;
        }
        let resolved = match line.split_once("=>") {
            Some((name, target)) => {
                let target = target.trim();
                anyhow::ensure!(
                    !target.starts_with("not found"),
                    "the binary needs {} and the build machine does not have it",
                    name.trim()
                );
                target
            }
            None => line,
        };
        let path = resolved.split(" (").next().unwrap_or_default().trim();
        if path.starts_with('/') {
            paths.push(PathBuf::from(path));
        }
    }
    Ok(paths)
}

/// The version as a registry tag: characters a tag cannot hold become `-`.
pub(crate) fn version_tag(version: &str) -> String {
    version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(128)
        .collect()
}

/// `sha256:` and the hex digest of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(7 + 64);
    hex.push_str("sha256:");
    for byte in digest.iter() {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

fn descriptor(media_type: MediaType, blob: &[u8]) -> anyhow::Result<Descriptor> {
    Ok(DescriptorBuilder::default()
        .media_type(media_type)
        .size(blob.len() as u64)
        .digest(Digest::from_str(&sha256(blob))?)
        .build()?)
}

/// Gzip with fixed settings: no file name, no time, best compression.
fn gzip(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?)
}

/// JSON with every object's keys sorted: oci-spec holds labels and annotations in
/// hash maps, whose order changes from run to run.
fn canonical_json(value: &impl Serialize) -> anyhow::Result<Vec<u8>> {
    fn sort(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                map.sort_keys();
                map.values_mut().for_each(sort);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(sort),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(value)?;
    sort(&mut value);
    Ok(serde_json::to_vec(&value)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_names_the_libraries_and_loader() {
        let output = "\tlinux-vdso.so.1 (0x00007ffd2b5f2000)\n\
            \tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f0a1c5e0000)\n\
            \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0a1c3ff000)\n\
            \t/lib64/ld-linux-x86-64.so.2 (0x00007f0a1c6a4000)\n";
        assert_eq!(
            parse_ldd(output).unwrap(),
            [
                "/lib/x86_64-linux-gnu/libgcc_s.so.1",
                "/lib/x86_64-linux-gnu/libc.so.6",
                "/lib64/ld-linux-x86-64.so.2",
            ]
            .map(PathBuf::from)
        );
        assert_eq!(
            parse_ldd("\tstatically linked\n").unwrap(),
            Vec::<PathBuf>::new()
        );
        let missing = parse_ldd("\tlibssl.so.3 => not found\n").unwrap_err();
        assert_eq!(
            missing.to_string(),
            "the binary needs libssl.so.3 and the build machine does not have it"
        );
    }

    #[test]
    fn versions_become_tags() {
        let cases = [
            ("0.0.0", "0.0.0"),
            ("1.2.3-rc.1", "1.2.3-rc.1"),
            ("1.2.3+build.7", "1.2.3-build.7"),
        ];
        for (version, tag) in cases {
            assert_eq!(version_tag(version), tag, "{version}");
        }
    }

    #[test]
    fn the_layer_is_sorted_with_parents_first_and_fixed_owners_and_times() {
        let mut root = RootFilesystem::default();
        root.file("/usr/local/bin/azcord", b"binary".to_vec(), 0o755);
        root.file("/etc/passwd", b"root".to_vec(), 0o644);
        root.directory("/tmp", 0o1777, 0);
        root.directory("/home/azcord", 0o700, USER_ID);
        let tar = root.tar(1_700_000_000).unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let listing: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                let header = entry.header();
                format!(
                    "{} {:o} {}:{} {}",
                    entry.path().unwrap().display(),
                    header.mode().unwrap(),
                    header.uid().unwrap(),
                    header.gid().unwrap(),
                    header.mtime().unwrap(),
                )
            })
            .collect();
        expect_test::expect![[r#"
            etc/ 755 0:0 1700000000
            etc/passwd 644 0:0 1700000000
            home/ 755 0:0 1700000000
            home/azcord/ 700 65532:65532 1700000000
            tmp/ 1777 0:0 1700000000
            usr/ 755 0:0 1700000000
            usr/local/ 755 0:0 1700000000
            usr/local/bin/ 755 0:0 1700000000
            usr/local/bin/azcord 755 0:0 1700000000
        "#]]
        .assert_eq(&(listing.join("\n") + "\n"));
    }

    #[test]
    fn gzip_output_depends_only_on_its_input() {
        let first = gzip(b"the same bytes").unwrap();
        assert_eq!(first, gzip(b"the same bytes").unwrap());
        // No FNAME flag, no MTIME.
        assert_eq!(first[3], 0, "flags");
        assert_eq!(&first[4..8], &[0, 0, 0, 0], "mtime");
    }
}
