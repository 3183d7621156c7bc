//! `azcord shell`: the terminal plays a Discord user talking to the real bot, which
//! runs in-process against the built-in Discord simulator.

mod editor;
mod server;

use std::{io::IsTerminal as _, process::ExitCode, sync::Arc};

use azcord_command::{CommandKind, CommandPattern, Policy, Rule, twilight_model::id::Id};
use azcord_sim::{
    ArmSimConfig, InteractionEvent, SimMessage, SimUser,
    terminal::{MentionNames, MessageView, RenderOptions, render_message},
};
use azcord_telemetry::{LogFormat, TelemetryConfig};
use tokio::io::{AsyncBufReadExt as _, BufReader};

use crate::{
    cli::{AzureArg, ShellArgs},
    config::FileConfig,
    local::{LocalAzure, LocalBot, LocalOptions, drain_events},
    output,
};

use self::{
    editor::{LineEditor, Read},
    server::{OPS_NONPROD_ROLE, OPS_PROD_ROLE},
};

/// The policy of a shell started without a config file: write and destructive
/// commands on staging and the sandbox for the ops role, on production only for the
/// prod role, so that a newcomer sees both an action and a denial.
fn demo_policy() -> Policy {
    let rule = |name: &str, role: u64, groups: &[&str]| Rule {
        name: name.to_owned(),
        commands: vec![
            CommandPattern::new("vm *"),
            CommandPattern::new("aci *"),
            CommandPattern::new("webapp *"),
        ],
        roles: vec![Id::new(role)],
        users: Vec::new(),
        channels: Vec::new(),
        resource_groups: groups.iter().map(|group| (*group).to_owned()).collect(),
    };
    Policy {
        guilds: Vec::new(),
        rules: vec![
            rule("ops-nonprod", OPS_NONPROD_ROLE, &["staging", "dev-*"]),
            rule("ops-prod", OPS_PROD_ROLE, &["prod-*"]),
        ],
    }
}

pub(crate) async fn run(
    args: ShellArgs,
    file: FileConfig,
    has_config: bool,
) -> anyhow::Result<ExitCode> {
    // The terminal belongs to the conversation: logs go to stderr, warnings only.
    let telemetry = azcord_telemetry::build_subscriber(
        TelemetryConfig {
            log_format: LogFormat::Human,
            log_filter: Some(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".to_owned())),
            ..TelemetryConfig::from_env("azcord-shell")?
        },
        std::io::stderr,
    )?;
    // Global, so that the bot's tasks on every worker thread log here too.
    tracing::dispatcher::set_global_default(telemetry.dispatch.clone())
        .map_err(|_| anyhow::anyhow!("a log subscriber is already installed"))?;

    // Live Azure only when asked for: an AZURE_SUBSCRIPTION_ID exported for other work
    // must not turn a try-out into production.
    let live = args.azure == AzureArg::Live;
    let (policy, default_roles) = if has_config {
        (file.policy, Vec::new())
    } else {
        (demo_policy(), vec![OPS_NONPROD_ROLE])
    };
    let roles = match &args.roles {
        Some(roles) => roles
            .iter()
            .filter(|role| !role.trim().is_empty())
            .map(|role| server::parse_role(role))
            .collect::<Result<Vec<u64>, String>>()
            .map_err(|error| anyhow::anyhow!(error))?,
        None => default_roles,
    };
    let bot = LocalBot::start(LocalOptions {
        policy,
        dispatch: file.dispatch.dispatch_config(),
        azure: if live {
            LocalAzure::Live
        } else {
            LocalAzure::Simulated(ArmSimConfig::default())
        },
        azure_settings: file.azure.settings(),
        state: args.state.clone().or(file.store.path.clone()),
        state_key: std::env::var(azcord_store::STATE_KEY_VARIABLE)
            .ok()
            .map(azcord_command::Secret::new),
        ..LocalOptions::default()
    })
    .await?;
    let interactive = args.commands.is_empty() && std::io::stdin().is_terminal();
    let render = RenderOptions {
        width: terminal_width(),
        color: std::io::stdout().is_terminal(),
    };
    let mut shell = Shell {
        user: SimUser {
            role_ids: roles,
            ..SimUser::new(args.as_user, "you")
        },
        guild_id: (!args.dm).then(|| bot.guild_id()),
        channel_id: args.channel,
        bot: Arc::new(bot),
        last: None,
        render,
        editor: None,
        mentions: server::mention_names(args.as_user),
        live_subscription: live.then(live_subscription),
    };

    let mut all_answered = true;
    if !args.commands.is_empty() {
        for line in &args.commands {
            output::text(&format!("> {line}"));
            all_answered &= shell.line(line).await;
        }
    } else if interactive {
        shell.editor = Some(
            LineEditor::start(
                editor::Completion {
                    bot: Arc::clone(&shell.bot),
                    user: shell.user.clone(),
                    guild_id: shell.guild_id,
                    channel_id: shell.channel_id,
                    width: render.width,
                    color: render.color,
                },
                editor::history_path(),
            )
            .await?,
        );
        output::text(&shell.banner());
        all_answered = shell.interact().await?;
    } else {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        while let Some(line) = lines.next_line().await? {
            let line = line.trim();
            if is_quit(line) {
                break;
            }
            if !line.is_empty() && !line.starts_with('#') {
                output::text(&format!("> {line}"));
            }
            all_answered &= shell.line(line).await;
        }
    }
    // The editor's thread holds the bot for completion; it ends with the editor.
    shell.editor.take();
    let bot = Arc::try_unwrap(shell.bot)
        .map_err(|_| anyhow::anyhow!("the bot is still in use at exit"))?;
    bot.shutdown().await?;
    telemetry.guard.shutdown()?;
    Ok(if all_answered {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The subscription `--azure live` uses, as the first line names it.
fn live_subscription() -> String {
    std::env::var("AZURE_SUBSCRIPTION_ID").unwrap_or_default()
}

fn is_quit(line: &str) -> bool {
    matches!(line, "/quit" | "/exit" | "quit" | "exit")
}

/// The terminal's width from `COLUMNS`, else 100: wide enough for the list tables.
fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|columns| columns.parse().ok())
        .filter(|width| *width >= 40)
        .unwrap_or(100)
}

struct Shell {
    bot: Arc<LocalBot>,
    user: SimUser,
    guild_id: Option<u64>,
    channel_id: u64,
    /// The last message with buttons, and its buttons' custom ids by number.
    last: Option<(SimMessage, Vec<String>)>,
    render: RenderOptions,
    /// The line editor, when a person is typing.
    editor: Option<LineEditor>,
    /// The subscription, when the shell runs on live Azure.
    live_subscription: Option<String>,
    /// Names for the mentions in the bot's messages.
    mentions: MentionNames,
}

impl Shell {
    /// Reads and runs lines until Ctrl-D or `exit`; returns whether every line was answered.
    async fn interact(&mut self) -> anyhow::Result<bool> {
        let mut all_answered = true;
        loop {
            let Some(editor) = &self.editor else {
                return Ok(all_answered);
            };
            let line = match editor.read("azcord> ", true).await? {
                Read::Line(line) => line,
                Read::Interrupted => continue,
                Read::End => return Ok(all_answered),
            };
            let line = line.trim();
            if is_quit(line) {
                return Ok(all_answered);
            }
            all_answered &= self.line(line).await;
        }
    }

    fn banner(&self) -> String {
        let seat = server::describe_seat(
            self.user.id,
            &self.user.role_ids,
            self.guild_id.is_some(),
            self.channel_id,
        );
        let azure = match &self.live_subscription {
            None => "Azure is the built-in simulator with a sample subscription (--azure live for yours).".to_owned(),
            Some(subscription) => format!(
                "Azure is LIVE: your subscription {subscription}. Every write or destructive command asks you first."
            ),
        };
        format!(
            "azcord shell: {seat}; {azure}\nType a slash command such as /help or /vm list (Tab completes, Up recalls); type a number to press a button; Ctrl-D quits."
        )
    }

    /// On live Azure, asks before a command that changes something; true to go on.
    async fn confirm_live(&self, invocation: &azcord_sim::Invocation, line: &str) -> bool {
        let (Some(subscription), Some(editor)) = (&self.live_subscription, &self.editor) else {
            return true;
        };
        let kind = self
            .bot
            .dispatcher
            .registry()
            .resolve(&invocation.data)
            .map(|resolved| resolved.signature.kind);
        if matches!(kind, None | Some(CommandKind::Read)) {
            return true;
        }
        let prompt = format!("Run `{line}` on live subscription {subscription}? [y/N] ");
        match editor.read(&prompt, false).await {
            Ok(Read::Line(answer)) if matches!(answer.trim(), "y" | "Y" | "yes") => true,
            Ok(_) => {
                output::text("Not run.");
                false
            }
            Err(error) => {
                output::error(&format!("{error:#}"));
                false
            }
        }
    }

    /// Handles one line; returns whether it was answered.
    async fn line(&mut self, line: &str) -> bool {
        if line.is_empty() || line.starts_with('#') {
            return true;
        }
        if let Ok(number) = line.parse::<usize>() {
            return self.press(number).await;
        }
        let invocation = match self
            .bot
            .invocation(&self.user, self.guild_id, self.channel_id, line)
        {
            Ok(invocation) => invocation,
            Err(error) => {
                output::error(&error.to_string());
                return false;
            }
        };
        if !self.confirm_live(&invocation, line).await {
            return true;
        }
        let mut finished = self.bot.finished();
        let mut handle = self.bot.sim.invoke(invocation);
        self.follow(&mut finished, &mut handle).await
    }

    async fn press(&mut self, number: usize) -> bool {
        let Some((message, ids)) = &self.last else {
            output::error("there is no button to press");
            return false;
        };
        let Some(custom_id) = number.checked_sub(1).and_then(|index| ids.get(index)) else {
            output::error(&format!(
                "there is no button {number}; pick 1 to {}",
                ids.len()
            ));
            return false;
        };
        let mut finished = self.bot.finished();
        let mut handle = match self.bot.sim.click(message, custom_id, &self.user) {
            Ok(handle) => handle,
            Err(error) => {
                output::error(&error.to_string());
                return false;
            }
        };
        self.follow(&mut finished, &mut handle).await
    }

    /// Shows the bot's answers as they come, until it reports the interaction finished.
    async fn follow(
        &mut self,
        finished: &mut tokio::sync::broadcast::Receiver<azcord_command::Finished>,
        handle: &mut azcord_sim::InteractionHandle,
    ) -> bool {
        let done = crate::local::wait_finished(finished, handle.id);
        tokio::pin!(done);
        loop {
            tokio::select! {
                biased;
                event = handle.next_event_within(std::time::Duration::from_secs(3600)) => {
                    if let Some(event) = event {
                        self.show(&event);
                    }
                }
                result = &mut done => {
                    for event in drain_events(handle).await {
                        self.show(&event);
                    }
                    return match result {
                        Ok(_) => true,
                        Err(error) => {
                            output::error(&format!("{error:#}"));
                            false
                        }
                    };
                }
            }
        }
    }

    fn show(&mut self, event: &InteractionEvent) {
        match event {
            InteractionEvent::Acknowledged { deferred: true, .. } => {
                output::text("azcord is thinking…")
            }
            InteractionEvent::Acknowledged {
                message: Some(message),
                ..
            }
            | InteractionEvent::OriginalEdited(message)
            | InteractionEvent::Followup(message)
            | InteractionEvent::FollowupEdited(message) => self.show_message(message),
            InteractionEvent::Autocomplete(choices) => {
                let names: Vec<&str> = choices.iter().map(|choice| choice.name.as_str()).collect();
                output::text(&format!("suggestions: {}", names.join(", ")));
            }
            InteractionEvent::Rejected(reason) => {
                output::error(&format!("Discord rejected the bot's answer: {reason}"))
            }
            InteractionEvent::Acknowledged { .. }
            | InteractionEvent::OriginalDeleted
            | InteractionEvent::FollowupDeleted(_)
            | InteractionEvent::Modal { .. } => {}
        }
    }

    fn show_message(&mut self, message: &SimMessage) {
        let content = self.mentions.apply(&message.content);
        let embeds: Vec<_> = message
            .embeds
            .iter()
            .map(|embed| self.mentions.apply_to_embed(embed))
            .collect();
        let view = MessageView {
            content: Some(content.as_str()).filter(|content| !content.is_empty()),
            embeds: &embeds,
            components: &message.components,
            ephemeral: message.is_ephemeral(),
        };
        let rendered = render_message(&view, &self.render);
        output::text(&rendered.text);
        if rendered.choices.is_empty() {
            return;
        }
        let ids = rendered
            .choices
            .iter()
            .map(|choice| choice.custom_id.clone())
            .collect();
        self.last = Some((message.clone(), ids));
    }
}
