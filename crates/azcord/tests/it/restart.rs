//! `azcord run` killed while it follows an operation: the next process on the same
//! state file follows it to the end and edits the user's message.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use azcord_command::twilight_model::application::interaction::application_command::{
    CommandDataOption, CommandOptionValue,
};
use azcord_sim::{
    ArmSim, ArmSimConfig, DiscordSim, DiscordSimConfig, InteractionEvent, Invocation, SimUser,
};

use crate::support::CHANNEL;

const CONFIG: &str = r#"
[azure]
operation_lease_secs = 1

[[policy.rules]]
name = "ops"
commands = ["vm *"]
roles = []
users = [7]
"#;

/// `azcord run` against both simulators, on the state file `state`.
fn spawn_run(discord: &DiscordSim, arm: &ArmSim, config: &Path, state: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_azcord"))
        .args(["run", "--log-format", "json"])
        .env("AZCORD_CONFIG", config)
        .env("DISCORD_TOKEN", &discord.config().token)
        .env("DISCORD_API_URL", discord.api_url())
        .env("DISCORD_GATEWAY_URL", discord.gateway_url())
        .env("AZCORD_STATE", state)
        .envs(arm.client_environment())
        .env("RUST_LOG", "info")
        .env_remove("HONEYCOMB_API_KEY")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn sigkill(child: &mut Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

fn original_edited_with(event: &InteractionEvent, text: &str) -> bool {
    matches!(event, InteractionEvent::OriginalEdited(message) if message.content.contains(text))
}

#[tokio::test]
async fn an_operation_outlives_a_sigkill_and_ends_in_the_users_message() {
    let discord = DiscordSim::start(DiscordSimConfig {
        wait_timeout: Duration::from_secs(60),
        ..DiscordSimConfig::default()
    })
    .await
    .unwrap();
    // Starting a VM takes an hour, until the test finishes it.
    let arm = ArmSim::start(ArmSimConfig {
        transition: Duration::from_secs(3600),
        retry_after: Duration::from_millis(50),
        ..ArmSimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("azcord.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let state = dir.path().join("state.redb");

    let mut first = spawn_run(&discord, &arm, &config, &state);
    if tokio::time::timeout(Duration::from_secs(60), discord.wait_until_ready())
        .await
        .is_err()
    {
        sigkill(&mut first);
        panic!("azcord run did not connect");
    }
    let start = CommandDataOption {
        name: "start".into(),
        value: CommandOptionValue::SubCommand(vec![CommandDataOption {
            name: "name".into(),
            value: CommandOptionValue::String("staging/web-1".into()),
        }]),
    };
    let data = discord
        .command_data(None, "vm", vec![start])
        .expect("vm is registered");
    let mut handle = discord.invoke(Invocation {
        user: SimUser::new(7, "ops"),
        guild_id: Some(discord.config().guild_id),
        channel_id: CHANNEL,
        data,
    });
    // A progress edit with the time so far comes from polling, after the poll URL
    // was recorded.
    handle
        .wait_for(|event| original_edited_with(event, " s"))
        .await;
    sigkill(&mut first);

    // Azure finishes while no process follows; the next one, on the same state, finds
    // out and says so in the user's message.
    arm.finish_transitions();
    let mut second = spawn_run(&discord, &arm, &config, &state);
    let event = handle
        .wait_for(|event| original_edited_with(event, "is running"))
        .await;
    sigkill(&mut second);
    let InteractionEvent::OriginalEdited(message) = event else {
        unreachable!()
    };
    assert!(
        message
            .content
            .starts_with("✅ **web-1** in `staging` is running · took "),
        "{}",
        message.content
    );
}
