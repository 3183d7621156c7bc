//! The simulated server as the shell presents it: names for its snowflakes.

use azcord_sim::terminal::MentionNames;

/// The user the shell plays by default.
pub(super) const DEFAULT_USER: u64 = 100_000_000_000_000_001;
/// The channel the shell types in by default.
pub(super) const OPS_CHANNEL: u64 = 100_000_000_000_000_003;
/// The role the shell's user has by default, which the demo policy trusts with
/// staging and the sandbox.
pub(super) const OPS_NONPROD_ROLE: u64 = 100_000_000_000_000_010;
/// The role the demo policy trusts with production.
pub(super) const OPS_PROD_ROLE: u64 = 100_000_000_000_000_011;

/// The server's roles, by name.
const ROLES: &[(&str, u64)] = &[
    ("ops-nonprod", OPS_NONPROD_ROLE),
    ("ops-prod", OPS_PROD_ROLE),
];

/// A role as `--roles` takes it: a name from the server (with or without `@`), or an id.
pub(super) fn parse_role(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let name = text.strip_prefix('@').unwrap_or(text);
    if let Some((_, id)) = ROLES.iter().find(|(known, _)| *known == name) {
        return Ok(*id);
    }
    name.parse::<u64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            let known: Vec<&str> = ROLES.iter().map(|(name, _)| *name).collect();
            format!(
                "unknown role {text:?}; the simulated server has {}, or give a role id",
                known.join(", ")
            )
        })
}

/// How a role is shown: `@ops-nonprod`, or its id when the server does not name it.
pub(super) fn role_name(id: u64) -> String {
    match ROLES.iter().find(|(_, known)| *known == id) {
        Some((name, _)) => format!("@{name}"),
        None => id.to_string(),
    }
}

/// The names the shell shows mentions by, as Discord's client does; `user_id` is `@you`.
pub(super) fn mention_names(user_id: u64) -> MentionNames {
    MentionNames {
        users: vec![(user_id, "you".to_owned())],
        roles: ROLES
            .iter()
            .map(|(name, id)| (*id, (*name).to_owned()))
            .collect(),
        channels: vec![(OPS_CHANNEL, "ops".to_owned())],
    }
}

/// Who, with which roles and where, as the banner's first words say it:
/// `you are @you (roles @ops-nonprod) in #ops on the simulated server`.
pub(super) fn describe_seat(user_id: u64, roles: &[u64], guild: bool, channel_id: u64) -> String {
    let user = if user_id == DEFAULT_USER {
        "@you".to_owned()
    } else {
        format!("@you (user {user_id})")
    };
    if !guild {
        return format!("you are {user} in a direct message with the bot");
    }
    let roles = if roles.is_empty() {
        "no roles".to_owned()
    } else {
        let names: Vec<String> = roles.iter().map(|role| role_name(*role)).collect();
        format!("roles {}", names.join(", "))
    };
    let channel = if channel_id == OPS_CHANNEL {
        "#ops".to_owned()
    } else {
        format!("channel {channel_id}")
    };
    format!("you are {user} ({roles}) in {channel} on the simulated server")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_taken_by_name_or_id() {
        let table = [
            ("ops-prod", Ok(OPS_PROD_ROLE)),
            ("@ops-nonprod", Ok(OPS_NONPROD_ROLE)),
            (" 42 ", Ok(42)),
            (
                "admins",
                Err(
                    "unknown role \"admins\"; the simulated server has ops-nonprod, ops-prod, or give a role id",
                ),
            ),
            (
                "0",
                Err(
                    "unknown role \"0\"; the simulated server has ops-nonprod, ops-prod, or give a role id",
                ),
            ),
        ];
        for (text, expected) in table {
            assert_eq!(parse_role(text), expected.map_err(str::to_owned), "{text}");
        }
    }

    #[test]
    fn the_seat_is_described_by_names() {
        let table = [
            (
                DEFAULT_USER,
                vec![OPS_NONPROD_ROLE],
                true,
                OPS_CHANNEL,
                "you are @you (roles @ops-nonprod) in #ops on the simulated server",
            ),
            (
                DEFAULT_USER,
                vec![OPS_NONPROD_ROLE, OPS_PROD_ROLE, 7],
                true,
                OPS_CHANNEL,
                "you are @you (roles @ops-nonprod, @ops-prod, 7) in #ops on the simulated server",
            ),
            (
                5,
                vec![],
                true,
                9,
                "you are @you (user 5) (no roles) in channel 9 on the simulated server",
            ),
            (
                DEFAULT_USER,
                vec![OPS_PROD_ROLE],
                false,
                OPS_CHANNEL,
                "you are @you in a direct message with the bot",
            ),
        ];
        for (user, roles, guild, channel, expected) in table {
            assert_eq!(describe_seat(user, &roles, guild, channel), expected);
        }
    }
}
