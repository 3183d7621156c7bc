//! Names checked against Azure's naming rules before they go anywhere near a URL.

use std::fmt;

/// Why a name was refused; the message is fit for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a valid {what}: {rule}")]
pub struct NameError {
    /// What was typed (already free of control characters).
    pub input: String,
    /// What it was meant to name, such as "VM name".
    pub what: &'static str,
    /// The rule it breaks.
    pub rule: String,
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $check:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Checks `input` against Azure's rules for this kind of name.
            pub fn new(input: &str) -> Result<Self, NameError> {
                match $check(input) {
                    Ok(()) => Ok(Self(input.to_owned())),
                    Err(rule) => Err(NameError { input: printable(input), what: $what, rule: rule.to_owned() }),
                }
            }

            /// The name as Azure knows it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

name_type!(
    /// A resource group name: 1-90 letters, digits, `_`, `-`, `.`, `(` or `)`, not ending in `.`.
    ResourceGroupName, "resource group name", check_resource_group
);
name_type!(
    /// A VM name: 1-64 letters, digits, `_`, `-` or `.`, starting with a letter or digit
    /// and ending with a letter, digit or `_`.
    VmName, "VM name", check_vm
);
name_type!(
    /// A container group name: 1-63 lowercase letters, digits and single hyphens, not
    /// starting or ending with a hyphen.
    ContainerGroupName, "container group name", check_lowercase_dns
);
name_type!(
    /// A container name: the same rules as a container group name.
    ContainerName, "container name", check_lowercase_dns
);

name_type!(
    /// An App Service web app name: 2-60 letters, digits and hyphens, not starting or
    /// ending with a hyphen (it becomes the host name `NAME.azurewebsites.net`).
    WebAppName, "web app name", check_web_app
);

name_type!(
    /// A template deployment name: 1-64 letters, digits, `_`, `-`, `.`, `(` or `)`, not
    /// only dots.
    DeploymentName, "deployment name", check_deployment
);

/// What the `name` option of a command names: `name` or `resource_group/name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target<N> {
    /// The resource group, when the user gave one.
    pub resource_group: Option<ResourceGroupName>,
    /// The resource's name.
    pub name: N,
}

impl<N> Target<N> {
    /// Parses `name` or `resource_group/name`, checking both parts with `parse_name`.
    pub fn parse(
        input: &str,
        parse_name: impl Fn(&str) -> Result<N, NameError>,
    ) -> Result<Self, NameError> {
        let input = input.trim();
        match input.split_once('/') {
            Some((group, name)) => Ok(Self {
                resource_group: Some(ResourceGroupName::new(group)?),
                name: parse_name(name)?,
            }),
            None => Ok(Self {
                resource_group: None,
                name: parse_name(input)?,
            }),
        }
    }
}

fn check_resource_group(input: &str) -> Result<(), &'static str> {
    check_length(input, 90)?;
    if !input
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '(' | ')'))
    {
        return Err("use only letters, digits, `_`, `-`, `.`, `(` and `)`");
    }
    if input.ends_with('.') {
        return Err("it must not end with `.`");
    }
    Ok(())
}

fn check_deployment(input: &str) -> Result<(), &'static str> {
    check_length(input, 64)?;
    if !input
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '(' | ')'))
    {
        return Err("use only letters, digits, `_`, `-`, `.`, `(` and `)`");
    }
    // `.` and `..` would be resolved away as URL path segments, addressing another
    // resource than the one named.
    if input.chars().all(|c| c == '.') {
        return Err("it must not be only dots");
    }
    Ok(())
}

fn check_vm(input: &str) -> Result<(), &'static str> {
    check_length(input, 64)?;
    if !input
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err("use only letters, digits, `_`, `-` and `.`");
    }
    if !input.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err("it must start with a letter or digit");
    }
    if !input.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
        return Err("it must end with a letter, digit or `_`");
    }
    Ok(())
}

fn check_web_app(input: &str) -> Result<(), &'static str> {
    match input.chars().count() {
        0 => return Err("it is empty"),
        1 => return Err("it is shorter than 2 characters"),
        n if n > 60 => return Err("it is longer than 60 characters"),
        _ => {}
    }
    if !input.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err("use only letters, digits and `-`");
    }
    if input.starts_with('-') || input.ends_with('-') {
        return Err("it must not start or end with `-`");
    }
    Ok(())
}

fn check_lowercase_dns(input: &str) -> Result<(), &'static str> {
    check_length(input, 63)?;
    if !input
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err("use only lowercase letters, digits and `-`");
    }
    if input.starts_with('-') || input.ends_with('-') || input.contains("--") {
        return Err("hyphens may not start or end it, nor come two in a row");
    }
    Ok(())
}

fn check_length(input: &str, max: usize) -> Result<(), &'static str> {
    match input.chars().count() {
        0 => Err("it is empty"),
        n if n > max => match max {
            63 => Err("it is longer than 63 characters"),
            64 => Err("it is longer than 64 characters"),
            _ => Err("it is longer than 90 characters"),
        },
        _ => Ok(()),
    }
}

/// The input with control characters escaped and cut to a readable length, so that an
/// error message can quote it safely.
fn printable(input: &str) -> String {
    let escaped: String = input.chars().flat_map(char::escape_default).collect();
    if escaped.chars().count() > 80 {
        format!("{}…", escaped.chars().take(80).collect::<String>())
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_before_they_reach_a_url() {
        let long = "a".repeat(65);
        let table: [(&str, Option<&str>); 14] = [
            ("web-1", None),
            ("Web_1.b_", None),
            ("../etc", Some("use only letters, digits, `_`, `-` and `.`")),
            ("a?b", Some("use only letters, digits, `_`, `-` and `.`")),
            (
                "web%2F1",
                Some("use only letters, digits, `_`, `-` and `.`"),
            ),
            ("web 1", Some("use only letters, digits, `_`, `-` and `.`")),
            ("", Some("it is empty")),
            (&long, Some("it is longer than 64 characters")),
            ("-web", Some("it must start with a letter or digit")),
            ("web-", Some("it must end with a letter, digit or `_`")),
            ("web.", Some("it must end with a letter, digit or `_`")),
            ("wéb", Some("use only letters, digits, `_`, `-` and `.`")),
            ("web\n1", Some("use only letters, digits, `_`, `-` and `.`")),
            ("1", None),
        ];
        for (input, rule) in table {
            assert_eq!(
                VmName::new(input).err().map(|error| error.rule),
                rule.map(str::to_owned),
                "{input:?}"
            );
        }
    }

    #[test]
    fn other_kinds_of_name() {
        assert!(ResourceGroupName::new("prod-web(eu).1").is_ok());
        assert!(ResourceGroupName::new("prod.").is_err());
        assert!(ResourceGroupName::new("a/b").is_err());
        assert!(ContainerGroupName::new("frontend-1").is_ok());
        for bad in ["Frontend", "front--end", "-front", "front_end", ""] {
            assert!(ContainerGroupName::new(bad).is_err(), "{bad}");
        }
        for good in ["shop", "Shop-Staging-2", "ab", &"a".repeat(60)] {
            assert!(WebAppName::new(good).is_ok(), "{good}");
        }
        let long = "a".repeat(61);
        let table = [
            ("", "it is empty"),
            ("a", "it is shorter than 2 characters"),
            (long.as_str(), "it is longer than 60 characters"),
            ("shop_1", "use only letters, digits and `-`"),
            ("shop.eu", "use only letters, digits and `-`"),
            ("-shop", "it must not start or end with `-`"),
            ("shop-", "it must not start or end with `-`"),
        ];
        for (input, rule) in table {
            assert_eq!(
                WebAppName::new(input)
                    .err()
                    .map(|error| error.rule)
                    .as_deref(),
                Some(rule),
                "{input:?}"
            );
        }
        assert!(DeploymentName::new("azcord-1a2b3c4(x).y_z").is_ok());
        for bad in ["azcord/1", "a b", "", &"a".repeat(65), ".", ".."] {
            assert!(DeploymentName::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn targets_take_an_optional_resource_group() {
        let target = Target::parse("staging/web-1", VmName::new).unwrap();
        assert_eq!(target.resource_group.unwrap().as_str(), "staging");
        assert_eq!(target.name.as_str(), "web-1");
        assert_eq!(
            Target::parse(" web-1 ", VmName::new)
                .unwrap()
                .resource_group,
            None
        );
        let error = Target::parse("../web-1", VmName::new).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`..` is not a valid resource group name: it must not end with `.`"
        );
        assert!(Target::parse("a/b/c", VmName::new).is_err());
    }

    #[test]
    fn errors_quote_input_safely() {
        let error = VmName::new("x\u{1b}[31m").unwrap_err();
        assert_eq!(error.input, "x\\u{1b}[31m");
    }
}
