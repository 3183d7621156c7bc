//! Finding the one resource a bare name means in a subscription's list.

use crate::{ContainerGroupSummary, VmSummary, WebAppSummary};

/// A resource in a list, known by its name and resource group.
pub trait Named {
    /// The resource's name, as Azure spells it.
    fn name(&self) -> &str;
    /// Its resource group, as Azure spells it.
    fn resource_group(&self) -> &str;
}

impl Named for VmSummary {
    fn name(&self) -> &str {
        &self.name
    }

    fn resource_group(&self) -> &str {
        &self.resource_group
    }
}

impl Named for WebAppSummary {
    fn name(&self) -> &str {
        &self.name
    }

    fn resource_group(&self) -> &str {
        &self.resource_group
    }
}

impl Named for ContainerGroupSummary {
    fn name(&self) -> &str {
        &self.name
    }

    fn resource_group(&self) -> &str {
        &self.resource_group
    }
}

/// Sorts `items` as every list shows them: by resource group, then name, ignoring case.
pub(crate) fn sort_by_place<T: Named>(items: &mut [T]) {
    items.sort_by_cached_key(|item| {
        (
            item.resource_group().to_ascii_lowercase(),
            item.name().to_ascii_lowercase(),
        )
    });
}

/// The one item of `items` named `name` (case-insensitive), or a sentence for the user:
/// that there is none (`what` names the kind, `list` the command that lists them), or
/// which resource groups hold one, with how to pick.
pub fn find_unique<'a, T: Named>(
    name: &str,
    items: &'a [T],
    what: &str,
    list: &str,
) -> Result<&'a T, String> {
    let matches: Vec<&T> = items
        .iter()
        .filter(|item| item.name().eq_ignore_ascii_case(name))
        .collect();
    match matches.as_slice() {
        [] => Err(format!(
            "there is no {what} named `{name}` in the subscription; `{list}` shows them"
        )),
        [item] => Ok(item),
        several => {
            let candidates: Vec<String> = several
                .iter()
                .map(|item| format!("`{}/{}`", item.resource_group(), item.name()))
                .collect();
            Err(format!(
                "`{name}` is in {} resource groups: {}. Say which, such as `name:{}/{}`",
                several.len(),
                candidates.join(", "),
                several[0].resource_group(),
                several[0].name()
            ))
        }
    }
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

    #[test]
    fn one_match_none_or_several() {
        let vms = [
            vm("prod-web", "web-1"),
            vm("staging", "web-1"),
            vm("prod-data", "db-1"),
        ];
        let find = |name| {
            find_unique(name, &vms, "VM", "/vm list")
                .map(|vm| format!("{}/{}", vm.resource_group, vm.name))
        };
        assert_eq!(find("DB-1"), Ok("prod-data/db-1".to_owned()));
        assert_eq!(
            find("web-9"),
            Err(
                "there is no VM named `web-9` in the subscription; `/vm list` shows them"
                    .to_owned()
            )
        );
        assert_eq!(
            find("web-1"),
            Err("`web-1` is in 2 resource groups: `prod-web/web-1`, `staging/web-1`. Say which, such as `name:prod-web/web-1`".to_owned())
        );
    }
}
