//! From what the user typed to one VM.

use azcord_azure::{ResourceGroupName, Target, VmName, VmSummary};
use azcord_command::CommandError;

/// One VM, named completely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VmTarget {
    pub(crate) resource_group: ResourceGroupName,
    pub(crate) name: VmName,
}

impl std::fmt::Display for VmTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.resource_group)
    }
}

/// Parses the `name` option: `vm` or `resource_group/vm`, checked against Azure's rules.
pub(crate) fn parse(input: &str) -> Result<Target<VmName>, CommandError> {
    Target::parse(input, VmName::new).map_err(|error| CommandError::user(error.to_string()))
}

/// Finds the one VM a name without a resource group means, in the subscription's list.
pub(crate) fn unique(name: &VmName, vms: &[VmSummary]) -> Result<VmTarget, CommandError> {
    let matches: Vec<&VmSummary> = vms
        .iter()
        .filter(|vm| vm.name.eq_ignore_ascii_case(name.as_str()))
        .collect();
    match matches.as_slice() {
        [] => Err(CommandError::user(format!(
            "there is no VM named `{name}` in the subscription; `/vm list` shows them"
        ))),
        [vm] => to_target(vm),
        several => {
            let candidates: Vec<String> = several
                .iter()
                .map(|vm| format!("`{}/{}`", vm.resource_group, vm.name))
                .collect();
            Err(CommandError::user(format!(
                "`{name}` is in {} resource groups: {}. Say which, such as `name:{}/{}`",
                several.len(),
                candidates.join(", "),
                several[0].resource_group,
                several[0].name
            )))
        }
    }
}

fn to_target(vm: &VmSummary) -> Result<VmTarget, CommandError> {
    Ok(VmTarget {
        resource_group: ResourceGroupName::new(&vm.resource_group)
            .map_err(CommandError::internal)?,
        name: VmName::new(&vm.name).map_err(CommandError::internal)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(group: &str, name: &str) -> VmSummary {
        VmSummary {
            name: name.into(),
            resource_group: group.into(),
            location: "westeurope".into(),
            size: None,
            power_state: None,
        }
    }

    fn message(result: Result<VmTarget, CommandError>) -> String {
        match result {
            Ok(target) => target.to_string(),
            Err(CommandError::User(error)) => error.message().to_owned(),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_resolve_to_one_vm_or_say_why_not() {
        let vms = [
            vm("prod-web", "web-1"),
            vm("staging", "web-1"),
            vm("prod-data", "db-1"),
        ];
        let table = [
            ("db-1", "db-1 (prod-data)"),
            ("DB-1", "db-1 (prod-data)"),
            (
                "web-9",
                "there is no VM named `web-9` in the subscription; `/vm list` shows them",
            ),
            (
                "web-1",
                "`web-1` is in 2 resource groups: `prod-web/web-1`, `staging/web-1`. Say which, such as `name:prod-web/web-1`",
            ),
        ];
        for (input, expected) in table {
            let target = parse(input).unwrap();
            assert_eq!(message(unique(&target.name, &vms)), expected, "{input}");
        }
    }
}
