//! From what the user typed to one VM.

use azcord_azure::{ResourceGroupName, Target, VmName, VmSummary, find_unique};
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
    find_unique(name.as_str(), vms, "VM", "/vm list")
        .map_err(CommandError::user)
        .and_then(to_target)
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
