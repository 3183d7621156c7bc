//! Mentions as Discord's client shows them: `<@&123>` becomes `@ops-prod` when the
//! server has a name for it.

use twilight_model::channel::message::Embed;

/// The names a server gives to users, roles and channels.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MentionNames {
    /// User ids and their names, shown as `@name`.
    pub users: Vec<(u64, String)>,
    /// Role ids and their names, shown as `@name`.
    pub roles: Vec<(u64, String)>,
    /// Channel ids and their names, shown as `#name`.
    pub channels: Vec<(u64, String)>,
}

impl MentionNames {
    /// `text` with every mention of a named user, role or channel replaced by its name;
    /// other mentions stay as they are.
    pub fn apply(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find('<') {
            out.push_str(&rest[..open]);
            rest = &rest[open..];
            let Some(close) = rest.find('>') else {
                break;
            };
            match self.name_of(&rest[1..close]) {
                Some(name) => {
                    out.push_str(&name);
                    rest = &rest[close + 1..];
                }
                // Not a mention it knows: keep the `<` and look further on.
                None => {
                    out.push('<');
                    rest = &rest[1..];
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// The embed with mentions named in the text Discord renders mentions in.
    pub fn apply_to_embed(&self, embed: &Embed) -> Embed {
        let mut embed = embed.clone();
        if let Some(description) = &mut embed.description {
            *description = self.apply(description);
        }
        for field in &mut embed.fields {
            field.value = self.apply(&field.value);
        }
        embed
    }

    /// The name for the inside of a mention (`@&123`, `@!123`, `@123`, `#123`).
    fn name_of(&self, inner: &str) -> Option<String> {
        let lookup = |names: &[(u64, String)], id: &str| {
            let id: u64 = id.parse().ok()?;
            names
                .iter()
                .find(|(known, _)| *known == id)
                .map(|(_, name)| name.clone())
        };
        if let Some(id) = inner.strip_prefix("@&") {
            return lookup(&self.roles, id).map(|name| format!("@{name}"));
        }
        if let Some(id) = inner.strip_prefix("@!").or_else(|| inner.strip_prefix('@')) {
            return lookup(&self.users, id).map(|name| format!("@{name}"));
        }
        let id = inner.strip_prefix('#')?;
        lookup(&self.channels, id).map(|name| format!("#{name}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_mentions_read_as_discord_shows_them() {
        let names = MentionNames {
            users: vec![(1, "you".to_owned())],
            roles: vec![(10, "ops-nonprod".to_owned())],
            channels: vec![(3, "ops".to_owned())],
        };
        let table = [
            ("for <@&10> on staging", "for @ops-nonprod on staging"),
            ("<@1> and <@!1> in <#3>", "@you and @you in #ops"),
            (
                "<@&11> <@2> <#4> <t:1700000000:R>",
                "<@&11> <@2> <#4> <t:1700000000:R>",
            ),
            ("a < b and <@&10", "a < b and <@&10"),
            ("a < b <@&10> c > d", "a < b @ops-nonprod c > d"),
            ("x<@&10>y<@&10>", "x@ops-nonprody@ops-nonprod"),
            ("", ""),
        ];
        for (text, expected) in table {
            assert_eq!(names.apply(text), expected, "{text}");
        }
    }
}
