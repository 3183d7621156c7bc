//! From what the user typed to one container of a container group.

use azcord_azure::{ContainerGroupSummary, ContainerName};
use azcord_command::CommandError;

/// Parses the `container` option, checked against Azure's rules.
pub(crate) fn parse_container(input: &str) -> Result<ContainerName, CommandError> {
    ContainerName::new(input.trim()).map_err(|error| CommandError::user(error.to_string()))
}

/// The container of `group` whose log to read: the one asked for, or the only one.
pub(crate) fn container(
    group: &ContainerGroupSummary,
    requested: Option<&ContainerName>,
) -> Result<ContainerName, CommandError> {
    let names: Vec<&str> = group
        .containers
        .iter()
        .map(|container| container.name.as_str())
        .collect();
    let listed = || {
        names
            .iter()
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let place = format!("`{}` in `{}`", group.name, group.resource_group);
    match (requested, names.as_slice()) {
        (_, []) => Err(CommandError::user(format!("{place} has no containers"))),
        (Some(requested), _) if names.contains(&requested.as_str()) => Ok(requested.clone()),
        (Some(requested), _) => Err(CommandError::user(format!(
            "{place} has no container named `{requested}`; its containers are {}",
            listed()
        ))),
        (None, [only]) => ContainerName::new(only).map_err(CommandError::internal),
        (None, several) => Err(CommandError::user(format!(
            "{place} has {} containers: {}. Say which, such as `container:{}`",
            several.len(),
            listed(),
            several[0]
        ))),
    }
}

#[cfg(test)]
mod tests {
    use azcord_azure::{ContainerGroupName, ContainerSummary, Target};

    use super::*;

    /// The `name` option as the flow parses it, with Azure's rules for container groups.
    fn parse(input: &str) -> Result<Target<ContainerGroupName>, CommandError> {
        Target::parse(input, ContainerGroupName::new)
            .map_err(|error| CommandError::user(error.to_string()))
    }

    fn group(resource_group: &str, name: &str, containers: &[&str]) -> ContainerGroupSummary {
        ContainerGroupSummary {
            name: name.into(),
            resource_group: resource_group.into(),
            location: "westeurope".into(),
            state: None,
            os_type: None,
            ip_address: None,
            containers: containers
                .iter()
                .map(|name| ContainerSummary {
                    name: (*name).into(),
                    image: "busybox".into(),
                    state: None,
                    restart_count: None,
                })
                .collect(),
        }
    }

    fn message<T: std::fmt::Display>(result: Result<T, CommandError>) -> String {
        match result {
            Ok(value) => value.to_string(),
            Err(CommandError::User(error)) => error.message().to_owned(),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_names_are_refused_before_any_lookup() {
        let table = [
            (
                "Frontend",
                "`Frontend` is not a valid container group name: use only lowercase letters, digits and `-`",
            ),
            (
                "prod web/frontend",
                "`prod web` is not a valid resource group name: use only letters, digits, `_`, `-`, `.`, `(` and `)`",
            ),
            (
                "a/b/c",
                "`b/c` is not a valid container group name: use only lowercase letters, digits and `-`",
            ),
            ("", "`` is not a valid container group name: it is empty"),
        ];
        for (input, expected) in table {
            assert_eq!(
                message(parse(input).map(|target| target.name)),
                expected,
                "{input:?}"
            );
        }
        assert_eq!(
            message(parse_container("Nginx")),
            "`Nginx` is not a valid container name: use only lowercase letters, digits and `-`"
        );
    }

    #[test]
    fn the_container_is_the_one_asked_for_or_the_only_one() {
        let two = group("prod-web", "frontend", &["nginx", "sidecar"]);
        let one = group("staging", "worker", &["worker"]);
        let none = group("staging", "empty", &[]);
        let nginx = ContainerName::new("nginx").unwrap();
        let table = [
            (&two, Some(&nginx), "nginx"),
            (
                &two,
                None,
                "`frontend` in `prod-web` has 2 containers: `nginx`, `sidecar`. Say which, such as `container:nginx`",
            ),
            (&one, None, "worker"),
            (
                &one,
                Some(&nginx),
                "`worker` in `staging` has no container named `nginx`; its containers are `worker`",
            ),
            (&none, None, "`empty` in `staging` has no containers"),
        ];
        for (group, requested, expected) in table {
            assert_eq!(
                message(container(group, requested)),
                expected,
                "{} {requested:?}",
                group.name
            );
        }
    }
}
