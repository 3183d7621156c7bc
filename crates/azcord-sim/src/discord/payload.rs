//! Discord payloads built as twilight-model structs, so they serialize exactly as twilight parses.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use twilight_model::{
    application::interaction::{
        Interaction, InteractionContextType, InteractionData, InteractionMetadata,
        InteractionPartialGuild, InteractionType,
    },
    channel::{
        Channel, ChannelType, Message,
        message::{MessageReference, MessageReferenceType, MessageType},
    },
    gateway::{ShardId, payload::incoming::Ready},
    guild::{MemberFlags, PartialMember, UnavailableGuild},
    id::{
        AnonymizableId, Id,
        marker::{GuildMarker, InteractionMarker, UserMarker},
    },
    oauth::{Application, ApplicationFlags, ApplicationIntegrationMap, PartialApplication},
    user::{CurrentUser, User, UserFlags},
    util::Timestamp,
};

use super::{DiscordSimConfig, SimMessage, SimUser};

/// Flags of the simulated application: a verified bot without privileged-intent limits.
const APPLICATION_FLAGS: ApplicationFlags = ApplicationFlags::APPLICATION_COMMAND_BADGE;

/// The developer account that owns the simulated application.
const APPLICATION_OWNER_ID: u64 = 1_200_000_000_000_000_002;

/// Who invoked the interaction a message answers, for `interaction_metadata`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct MessageInteraction {
    pub(crate) id: Id<InteractionMarker>,
    pub(crate) kind: InteractionType,
    pub(crate) user: SimUser,
    pub(crate) guild_id: Option<u64>,
    /// For follow-ups: the original response's id.
    pub(crate) original_response_message_id: Option<u64>,
    /// For component interactions: the message whose component was used.
    pub(crate) interacted_message_id: Option<u64>,
}

/// Everything that goes into an INTERACTION_CREATE besides the simulator's configuration.
#[derive(Clone, Debug)]
pub(crate) struct InteractionParts {
    pub(crate) id: Id<InteractionMarker>,
    pub(crate) kind: InteractionType,
    pub(crate) token: String,
    pub(crate) user: SimUser,
    pub(crate) guild_id: Option<u64>,
    pub(crate) channel_id: u64,
    pub(crate) data: InteractionData,
    /// For component interactions: the message the component is on.
    pub(crate) message: Option<Message>,
}

/// The current time as a Discord timestamp.
pub(crate) fn now_timestamp() -> Timestamp {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX)
        });
    Timestamp::from_micros(micros).expect("the current time is a valid timestamp")
}

/// The bot's user object.
pub(crate) fn bot_user(config: &DiscordSimConfig) -> User {
    User {
        accent_color: None,
        avatar: None,
        avatar_decoration: None,
        avatar_decoration_data: None,
        banner: None,
        bot: true,
        discriminator: 0,
        email: None,
        flags: None,
        global_name: None,
        id: Id::new(config.bot_user_id),
        locale: None,
        mfa_enabled: None,
        name: config.bot_name.clone(),
        premium_type: None,
        primary_guild: None,
        public_flags: Some(UserFlags::empty()),
        system: None,
        verified: None,
    }
}

/// The bot's user as `GET /users/@me` and READY return it.
pub(crate) fn current_user(config: &DiscordSimConfig) -> CurrentUser {
    CurrentUser {
        accent_color: None,
        avatar: None,
        banner: None,
        bot: true,
        discriminator: 0,
        email: None,
        flags: Some(UserFlags::empty()),
        global_name: None,
        id: Id::new(config.bot_user_id),
        locale: Some("en-US".to_owned()),
        mfa_enabled: true,
        name: config.bot_name.clone(),
        premium_type: None,
        public_flags: Some(UserFlags::empty()),
        verified: Some(true),
    }
}

/// A human user's object.
pub(crate) fn user(user: &SimUser) -> User {
    User {
        accent_color: None,
        avatar: None,
        avatar_decoration: None,
        avatar_decoration_data: None,
        banner: None,
        bot: false,
        discriminator: 0,
        email: None,
        flags: None,
        global_name: Some(user.name.clone()),
        id: Id::new(user.id),
        locale: None,
        mfa_enabled: None,
        name: user.name.clone(),
        premium_type: None,
        primary_guild: None,
        public_flags: Some(UserFlags::empty()),
        system: None,
        verified: None,
    }
}

/// The application as `GET /applications/@me` returns it.
pub(crate) fn application(config: &DiscordSimConfig) -> Application {
    Application {
        approximate_guild_count: Some(1),
        approximate_user_install_count: None,
        bot: Some(bot_user(config)),
        bot_public: false,
        bot_require_code_grant: false,
        cover_image: None,
        custom_install_url: None,
        description: String::new(),
        flags: Some(APPLICATION_FLAGS),
        guild: None,
        guild_id: None,
        icon: None,
        id: Id::new(config.application_id),
        install_params: None,
        integration_types_config: None,
        interactions_endpoint_url: None,
        name: config.application_name.clone(),
        // Discord always names the owner of an application without a team.
        owner: Some(user(&SimUser::new(APPLICATION_OWNER_ID, "owner"))),
        primary_sku_id: None,
        privacy_policy_url: None,
        redirect_uris: None,
        role_connections_verification_url: None,
        rpc_origins: Vec::new(),
        slug: None,
        tags: None,
        team: None,
        terms_of_service_url: None,
        verify_key: "0".repeat(64),
    }
}

/// READY for `shard` of `shard_count`, listing the guilds that shard owns as unavailable.
pub(crate) fn ready(
    config: &DiscordSimConfig,
    shard: ShardId,
    session_id: &str,
    resume_gateway_url: &str,
) -> Ready {
    let guilds = [config.guild_id]
        .into_iter()
        .filter(|&guild| {
            super::session::shard_for_guild(Some(guild), shard.total()) == shard.number()
        })
        .map(|guild| UnavailableGuild {
            id: Id::new(guild),
            unavailable: true,
        })
        .collect();
    Ready {
        application: PartialApplication {
            flags: APPLICATION_FLAGS,
            id: Id::new(config.application_id),
        },
        guilds,
        resume_gateway_url: resume_gateway_url.to_owned(),
        session_id: session_id.to_owned(),
        shard: Some(shard),
        user: current_user(config),
        version: 10,
    }
}

/// A guild member object for `user`, as interactions carry it.
fn member(user: &SimUser) -> PartialMember {
    // Every simulated member joined on 2023-11-14.
    let joined_at = Timestamp::from_secs(1_700_000_000).expect("a valid timestamp");
    PartialMember {
        avatar: None,
        avatar_decoration_data: None,
        banner: None,
        communication_disabled_until: None,
        deaf: false,
        flags: MemberFlags::empty(),
        joined_at: Some(joined_at),
        mute: false,
        nick: None,
        permissions: Some(user.permissions),
        premium_since: None,
        roles: user.role_ids.iter().map(|&role| Id::new(role)).collect(),
        user: Some(self::user(user)),
    }
}

/// The partial channel object interactions carry.
fn channel(config: &DiscordSimConfig, parts: &InteractionParts) -> Channel {
    let (kind, name, recipients) = match parts.guild_id {
        Some(_) => (ChannelType::GuildText, Some("general".to_owned()), None),
        None => (
            ChannelType::Private,
            None,
            Some(vec![self::user(&parts.user), bot_user(config)]),
        ),
    };
    Channel {
        application_id: None,
        applied_tags: None,
        available_tags: None,
        bitrate: None,
        default_auto_archive_duration: None,
        default_forum_layout: None,
        default_reaction_emoji: None,
        default_sort_order: None,
        default_thread_rate_limit_per_user: None,
        flags: None,
        guild_id: parts.guild_id.map(Id::new),
        icon: None,
        id: Id::new(parts.channel_id),
        invitable: None,
        kind,
        last_message_id: None,
        last_pin_timestamp: None,
        managed: None,
        member: None,
        member_count: None,
        message_count: None,
        name,
        newly_created: None,
        nsfw: parts.guild_id.map(|_| false),
        owner_id: None,
        parent_id: None,
        permission_overwrites: None,
        position: parts.guild_id.map(|_| 0),
        rate_limit_per_user: parts.guild_id.map(|_| 0),
        recipients,
        rtc_region: None,
        thread_metadata: None,
        topic: None,
        total_message_sent: None,
        user_limit: None,
        video_quality_mode: None,
    }
}

fn integration_owners(
    guild_id: Option<u64>,
) -> ApplicationIntegrationMap<AnonymizableId<GuildMarker>, Id<UserMarker>> {
    // A guild-installed app: the guild owns the integration, or "0" in the bot's DMs.
    ApplicationIntegrationMap {
        guild: Some(guild_id.map_or(AnonymizableId::Anonymized, |guild| {
            AnonymizableId::Id(Id::new(guild))
        })),
        user: None,
    }
}

/// The full INTERACTION_CREATE data, as JSON, with the `version` field twilight does not model.
pub(crate) fn interaction(config: &DiscordSimConfig, parts: &InteractionParts) -> Value {
    #[allow(deprecated, reason = "Discord still sends channel_id")]
    let interaction = Interaction {
        app_permissions: Some(config.app_permissions),
        application_id: Id::new(config.application_id),
        attachment_size_limit: 10 * 1024 * 1024,
        authorizing_integration_owners: integration_owners(parts.guild_id),
        channel: Some(channel(config, parts)),
        channel_id: Some(Id::new(parts.channel_id)),
        context: Some(match parts.guild_id {
            Some(_) => InteractionContextType::Guild,
            None => InteractionContextType::BotDm,
        }),
        data: Some(parts.data.clone()),
        entitlements: Vec::new(),
        guild: parts.guild_id.map(|guild| InteractionPartialGuild {
            features: Some(Vec::new()),
            id: Some(Id::new(guild)),
            locale: Some("en-US".to_owned()),
        }),
        guild_id: parts.guild_id.map(Id::new),
        guild_locale: parts.guild_id.map(|_| "en-US".to_owned()),
        id: parts.id,
        kind: parts.kind,
        locale: Some("en-US".to_owned()),
        member: parts.guild_id.map(|_| member(&parts.user)),
        message: parts.message.clone(),
        token: parts.token.clone(),
        user: match parts.guild_id {
            Some(_) => None,
            None => Some(user(&parts.user)),
        },
    };
    let mut value = serde_json::to_value(&interaction).expect("interactions serialize");
    value["version"] = Value::from(1);
    value
}

/// The message object the REST API returns for `message`.
pub(crate) fn message(
    config: &DiscordSimConfig,
    message: &SimMessage,
    interaction: Option<&MessageInteraction>,
) -> Message {
    let kind = match interaction {
        Some(interaction) if interaction.kind == InteractionType::ApplicationCommand => {
            MessageType::ChatInputCommand
        }
        _ if message.referenced_message_id.is_some() => MessageType::Reply,
        _ => MessageType::Regular,
    };
    #[allow(
        deprecated,
        reason = "Message::interaction is deprecated but still a field"
    )]
    Message {
        activity: None,
        application: None,
        application_id: interaction.map(|_| Id::new(config.application_id)),
        attachments: Vec::new(),
        author: bot_user(config),
        call: None,
        channel_id: Id::new(message.channel_id),
        components: message.components.clone(),
        content: message.content.clone(),
        edited_timestamp: message.edited_timestamp,
        embeds: message.embeds.clone(),
        flags: Some(message.flags),
        guild_id: message.guild_id.map(Id::new),
        id: Id::new(message.id),
        interaction: None,
        interaction_metadata: interaction.map(|interaction| {
            Box::new(InteractionMetadata {
                authorizing_integration_owners: integration_owners(interaction.guild_id),
                id: interaction.id,
                interacted_message_id: interaction.interacted_message_id.map(Id::new),
                kind: interaction.kind,
                original_response_message_id: interaction.original_response_message_id.map(Id::new),
                target_message_id: None,
                target_user: None,
                triggering_interaction_metadata: None,
                user: user(&interaction.user),
            })
        }),
        kind,
        member: None,
        mention_channels: Vec::new(),
        mention_everyone: false,
        mention_roles: Vec::new(),
        mentions: Vec::new(),
        message_snapshots: Vec::new(),
        pinned: false,
        poll: None,
        reactions: Vec::new(),
        reference: message
            .referenced_message_id
            .map(|referenced| MessageReference {
                channel_id: Some(Id::new(message.channel_id)),
                guild_id: message.guild_id.map(Id::new),
                kind: MessageReferenceType::Default,
                message_id: Some(Id::new(referenced)),
                fail_if_not_exists: None,
            }),
        // Discord also embeds the replied-to message; the reference is what clients use.
        referenced_message: None,
        role_subscription_data: None,
        sticker_items: Vec::new(),
        timestamp: message.timestamp,
        thread: None,
        tts: false,
        webhook_id: interaction.map(|_| Id::new(config.application_id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use twilight_model::{
        application::{
            command::CommandType,
            interaction::application_command::{
                CommandData, CommandDataOption, CommandOptionValue,
            },
        },
        channel::message::MessageFlags,
        gateway::event::GatewayEvent,
    };

    fn parts(guild_id: Option<u64>) -> InteractionParts {
        InteractionParts {
            id: Id::new(1_100_000_000_000_000_000),
            kind: InteractionType::ApplicationCommand,
            token: "sim.token".to_owned(),
            user: SimUser {
                role_ids: vec![55],
                ..SimUser::new(42, "alice")
            },
            guild_id,
            channel_id: 7,
            data: InteractionData::ApplicationCommand(Box::new(CommandData {
                guild_id: None,
                id: Id::new(9),
                kind: CommandType::ChatInput,
                name: "vm".to_owned(),
                options: vec![CommandDataOption {
                    name: "name".to_owned(),
                    value: CommandOptionValue::String("web-1".to_owned()),
                }],
                resolved: None,
                target_id: None,
            })),
            message: None,
        }
    }

    #[test]
    fn interactions_round_trip_through_twilight() {
        let config = DiscordSimConfig::default();
        for guild_id in [Some(config.guild_id), None] {
            let parts = parts(guild_id);
            let value = interaction(&config, &parts);
            assert_eq!(value["version"], 1);
            let parsed: Interaction = serde_json::from_value(value).unwrap();
            assert_eq!(parsed.id, parts.id);
            assert_eq!(parsed.token, parts.token);
            assert_eq!(parsed.author_id(), Some(Id::new(42)));
            assert_eq!(parsed.is_guild(), guild_id.is_some());
            assert_eq!(parsed.data, Some(parts.data.clone()));
            if guild_id.is_some() {
                let member = parsed.member.unwrap();
                assert_eq!(member.roles, [Id::new(55)]);
                assert!(member.permissions.is_some());
            }
        }
    }

    #[test]
    fn interaction_create_parses_as_a_gateway_event() {
        let config = DiscordSimConfig::default();
        let frame = serde_json::json!({
            "op": 0, "s": 2, "t": "INTERACTION_CREATE",
            "d": interaction(&config, &parts(Some(config.guild_id))),
        })
        .to_string();
        let event =
            twilight_model::gateway::event::GatewayEventDeserializer::from_json(&frame).unwrap();
        let event: GatewayEvent = serde::de::DeserializeSeed::deserialize(
            event,
            &mut serde_json::Deserializer::from_str(&frame),
        )
        .unwrap();
        assert!(matches!(event, GatewayEvent::Dispatch(2, _)));
    }

    #[test]
    fn ready_lists_only_the_guilds_of_the_shard() {
        let config = DiscordSimConfig::default();
        let owner = super::super::session::shard_for_guild(Some(config.guild_id), 2);
        for shard in 0..2 {
            let ready = ready(&config, ShardId::new(shard, 2), "abc", "ws://127.0.0.1:1");
            assert_eq!(ready.guilds.len(), usize::from(shard == owner));
            let json = serde_json::to_string(&ready).unwrap();
            let parsed: Ready = serde_json::from_str(&json).unwrap();
            assert_eq!(parsed, ready);
        }
    }

    #[test]
    fn messages_round_trip_through_twilight() {
        let config = DiscordSimConfig::default();
        let sim = SimMessage {
            id: 5,
            channel_id: 7,
            guild_id: Some(config.guild_id),
            interaction_id: None,
            referenced_message_id: None,
            content: "hello".to_owned(),
            embeds: Vec::new(),
            components: Vec::new(),
            flags: MessageFlags::EPHEMERAL,
            timestamp: now_timestamp(),
            edited_timestamp: None,
        };
        let meta = MessageInteraction {
            id: Id::new(3),
            kind: InteractionType::ApplicationCommand,
            user: SimUser::new(42, "alice"),
            guild_id: Some(config.guild_id),
            original_response_message_id: None,
            interacted_message_id: None,
        };
        for interaction in [None, Some(&meta)] {
            let built = message(&config, &sim, interaction);
            let json = serde_json::to_string(&built).unwrap();
            let parsed: Message = serde_json::from_str(&json).unwrap();
            assert_eq!(parsed, built);
            assert_eq!(parsed.flags, Some(MessageFlags::EPHEMERAL));
        }
    }

    #[test]
    fn application_and_user_round_trip() {
        let config = DiscordSimConfig::default();
        let app = application(&config);
        let parsed: Application =
            serde_json::from_str(&serde_json::to_string(&app).unwrap()).unwrap();
        assert_eq!(parsed, app);
        let me = current_user(&config);
        let parsed: CurrentUser =
            serde_json::from_str(&serde_json::to_string(&me).unwrap()).unwrap();
        assert_eq!(parsed, me);
    }
}
