use azcord_command::{BoxFuture, Command, CommandError, Context, Reply, Signature};
use twilight_util::builder::embed::{EmbedBuilder, EmbedFieldBuilder};

/// What was built: stamped into the binary at build time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInfo {
    /// The crate version, such as `0.3.1`.
    pub version: String,
    /// The git commit, or `unknown` for a build outside a checkout.
    pub git_sha: String,
    /// The CI build number, or 0 for a local build.
    pub build: String,
}

/// `/about`: which azcord this is.
pub(crate) struct About {
    build: BuildInfo,
}

impl About {
    pub(crate) fn new(build: BuildInfo) -> Self {
        Self { build }
    }
}

impl Command for About {
    fn signature(&self) -> Signature {
        Signature::new("about", "Show which version of azcord is running")
            .example("/about", "shows the version, commit and build number")
    }

    fn run(&self, _: Context) -> BoxFuture<'_, Result<Reply, CommandError>> {
        let embed = EmbedBuilder::new()
            .title("azcord")
            .description("Run your Azure resources from Discord.")
            .color(crate::BRAND_COLOR)
            .field(EmbedFieldBuilder::new("Version", &self.build.version).inline())
            .field(EmbedFieldBuilder::new("Commit", &self.build.git_sha).inline())
            .field(EmbedFieldBuilder::new("Build", &self.build.build).inline())
            .build();
        Box::pin(async move { Ok(Reply::embed(embed)) })
    }
}
