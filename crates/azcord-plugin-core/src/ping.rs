use azcord_command::{BoxFuture, Command, CommandError, Context, Reply, Signature};

/// `/ping`: checks that the bot is up and answering.
pub(crate) struct Ping;

impl Command for Ping {
    fn signature(&self) -> Signature {
        Signature::new("ping", "Check that azcord is up and answering")
            .example("/ping", "azcord answers pong")
    }

    fn run(&self, _: Context) -> BoxFuture<'_, Result<Reply, CommandError>> {
        Box::pin(async { Ok(Reply::text("🏓 pong")) })
    }
}
