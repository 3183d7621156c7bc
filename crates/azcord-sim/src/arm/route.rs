//! Case-insensitive path matching: ARM treats `resourceGroups` and `RESOURCEGROUPS` alike.
//!
//! Keywords are matched in lowercase while names keep the case the client sent. Empty
//! segments are skipped, so `//tenant/oauth2/...` (an authority host with a trailing
//! slash) matches too.

use super::{power::PowerAction, web::SiteAction};

/// A recognised path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// `POST /{tenant}/oauth2/v2.0/token`, the AAD token endpoint.
    Token { tenant: String },
    /// A resource manager path under `/subscriptions/{subscription}`.
    Arm {
        subscription: String,
        resource: ArmRoute,
    },
}

/// A resource manager path below the subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ArmRoute {
    ResourceGroups,
    ResourceGroup {
        group: String,
    },
    VirtualMachines {
        group: Option<String>,
    },
    VirtualMachine {
        group: String,
        name: String,
    },
    VirtualMachineInstanceView {
        group: String,
        name: String,
    },
    VirtualMachineAction {
        group: String,
        name: String,
        action: PowerAction,
    },
    /// `providers/{provider}/locations/{location}/operations/{id}` of Compute or ACI.
    Operation {
        id: String,
    },
    ContainerGroups {
        group: Option<String>,
    },
    ContainerGroup {
        group: String,
        name: String,
    },
    ContainerGroupAction {
        group: String,
        name: String,
        action: GroupAction,
    },
    ContainerLogs {
        group: String,
        name: String,
        container: String,
    },
    WebApps {
        group: Option<String>,
    },
    WebApp {
        group: String,
        name: String,
    },
    WebAppAction {
        group: String,
        name: String,
        action: SiteAction,
    },
    Deployment {
        group: String,
        name: String,
    },
    DeploymentOperationStatus {
        id: String,
    },
    DeploymentOperations {
        group: String,
        name: String,
    },
}

/// A container group action posted to `.../containerGroups/{name}/{action}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GroupAction {
    Start,
    Stop,
    Restart,
}

/// Matches `path` (without the query) against every simulated route.
pub(crate) fn parse(path: &str) -> Option<Route> {
    let original: Vec<&str> = path.split('/').filter(|part| !part.is_empty()).collect();
    let lowered: Vec<String> = original.iter().map(|part| part.to_lowercase()).collect();
    let lower: Vec<&str> = lowered.iter().map(String::as_str).collect();
    let name = |index: usize| original[index].to_owned();
    match lower.as_slice() {
        [_, "oauth2", "v2.0", "token"] => Some(Route::Token { tenant: name(0) }),
        ["subscriptions", _, rest @ ..] => Some(Route::Arm {
            subscription: name(1),
            resource: parse_arm(&original[2..], rest)?,
        }),
        _ => None,
    }
}

/// Matches the part after `/subscriptions/{id}`; `original` and `lower` are the same segments.
fn parse_arm(original: &[&str], lower: &[&str]) -> Option<ArmRoute> {
    let name = |index: usize| original[index].to_owned();
    let route = match lower {
        ["resourcegroups"] => ArmRoute::ResourceGroups,
        ["resourcegroups", _] => ArmRoute::ResourceGroup { group: name(1) },
        ["providers", "microsoft.compute", "virtualmachines"] => {
            ArmRoute::VirtualMachines { group: None }
        }
        [
            "providers",
            "microsoft.compute" | "microsoft.containerinstance",
            "locations",
            _,
            "operations",
            _,
        ] => ArmRoute::Operation { id: name(5) },
        [
            "providers",
            "microsoft.containerinstance",
            "containergroups",
        ] => ArmRoute::ContainerGroups { group: None },
        ["providers", "microsoft.web", "sites"] => ArmRoute::WebApps { group: None },
        ["resourcegroups", _, "providers", provider, rest @ ..] => {
            let group = name(1);
            let name = |index: usize| original[4 + index].to_owned();
            match (*provider, rest) {
                ("microsoft.compute", ["virtualmachines"]) => {
                    ArmRoute::VirtualMachines { group: Some(group) }
                }
                ("microsoft.compute", ["virtualmachines", _]) => ArmRoute::VirtualMachine {
                    group,
                    name: name(1),
                },
                ("microsoft.compute", ["virtualmachines", _, "instanceview"]) => {
                    ArmRoute::VirtualMachineInstanceView {
                        group,
                        name: name(1),
                    }
                }
                ("microsoft.compute", ["virtualmachines", _, action]) => {
                    ArmRoute::VirtualMachineAction {
                        group,
                        name: name(1),
                        action: PowerAction::from_segment(action)?,
                    }
                }
                ("microsoft.containerinstance", ["containergroups"]) => {
                    ArmRoute::ContainerGroups { group: Some(group) }
                }
                ("microsoft.containerinstance", ["containergroups", _]) => {
                    ArmRoute::ContainerGroup {
                        group,
                        name: name(1),
                    }
                }
                ("microsoft.containerinstance", ["containergroups", _, action]) => {
                    let action = match *action {
                        "start" => GroupAction::Start,
                        "stop" => GroupAction::Stop,
                        "restart" => GroupAction::Restart,
                        _ => return None,
                    };
                    ArmRoute::ContainerGroupAction {
                        group,
                        name: name(1),
                        action,
                    }
                }
                (
                    "microsoft.containerinstance",
                    ["containergroups", _, "containers", _, "logs"],
                ) => ArmRoute::ContainerLogs {
                    group,
                    name: name(1),
                    container: name(3),
                },
                ("microsoft.web", ["sites"]) => ArmRoute::WebApps { group: Some(group) },
                ("microsoft.web", ["sites", _]) => ArmRoute::WebApp {
                    group,
                    name: name(1),
                },
                ("microsoft.web", ["sites", _, action]) => ArmRoute::WebAppAction {
                    group,
                    name: name(1),
                    action: SiteAction::from_segment(action)?,
                },
                ("microsoft.resources", ["deployments", _]) => ArmRoute::Deployment {
                    group,
                    name: name(1),
                },
                ("microsoft.resources", ["deployments", _, "operations"]) => {
                    ArmRoute::DeploymentOperations {
                        group,
                        name: name(1),
                    }
                }
                ("microsoft.resources", ["deployments", _, "operationstatuses", _]) => {
                    ArmRoute::DeploymentOperationStatus { id: name(3) }
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(route)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(resource: ArmRoute) -> Option<Route> {
        Some(Route::Arm {
            subscription: "Sub".to_owned(),
            resource,
        })
    }

    #[test]
    fn paths_match_whatever_their_case() {
        let vm = |group: &str, name: &str| ArmRoute::VirtualMachine {
            group: group.to_owned(),
            name: name.to_owned(),
        };
        let cases = [
            (
                "/tenant-1/oauth2/v2.0/token",
                Some(Route::Token {
                    tenant: "tenant-1".to_owned(),
                }),
            ),
            (
                "//Tenant/OAuth2/V2.0/Token",
                Some(Route::Token {
                    tenant: "Tenant".to_owned(),
                }),
            ),
            (
                "/subscriptions/Sub/providers/Microsoft.Compute/virtualMachines",
                arm(ArmRoute::VirtualMachines { group: None }),
            ),
            (
                "/SUBSCRIPTIONS/Sub/RESOURCEGROUPS/Prod-Web/PROVIDERS/microsoft.compute/VIRTUALMACHINES/Web-1",
                arm(vm("Prod-Web", "Web-1")),
            ),
            (
                "/subscriptions/Sub/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/instanceView",
                arm(ArmRoute::VirtualMachineInstanceView {
                    group: "rg".to_owned(),
                    name: "vm".to_owned(),
                }),
            ),
            (
                "/subscriptions/Sub/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/powerOff",
                arm(ArmRoute::VirtualMachineAction {
                    group: "rg".to_owned(),
                    name: "vm".to_owned(),
                    action: PowerAction::PowerOff,
                }),
            ),
            (
                "/subscriptions/Sub/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/hibernate",
                None,
            ),
            (
                "/subscriptions/Sub/providers/Microsoft.Compute/locations/westeurope/operations/Op-1",
                arm(ArmRoute::Operation {
                    id: "Op-1".to_owned(),
                }),
            ),
            (
                "/subscriptions/Sub/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/cg/containers/nginx/logs",
                arm(ArmRoute::ContainerLogs {
                    group: "rg".to_owned(),
                    name: "cg".to_owned(),
                    container: "nginx".to_owned(),
                }),
            ),
            (
                "/subscriptions/Sub/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/cg/stop",
                arm(ArmRoute::ContainerGroupAction {
                    group: "rg".to_owned(),
                    name: "cg".to_owned(),
                    action: GroupAction::Stop,
                }),
            ),
            (
                "/subscriptions/Sub/resourcegroups/rg/providers/Microsoft.Resources/deployments/d1/operationStatuses/42",
                arm(ArmRoute::DeploymentOperationStatus {
                    id: "42".to_owned(),
                }),
            ),
            (
                "/subscriptions/Sub/resourceGroups/rg/providers/Microsoft.Resources/deployments/d1/operations",
                arm(ArmRoute::DeploymentOperations {
                    group: "rg".to_owned(),
                    name: "d1".to_owned(),
                }),
            ),
            (
                "/subscriptions/Sub/providers/Microsoft.Web/sites",
                arm(ArmRoute::WebApps { group: None }),
            ),
            (
                "/subscriptions/Sub/resourceGroups/rg/providers/Microsoft.Web/sites",
                arm(ArmRoute::WebApps {
                    group: Some("rg".to_owned()),
                }),
            ),
            (
                "/subscriptions/Sub/resourceGroups/rg/providers/microsoft.web/Sites/Shop",
                arm(ArmRoute::WebApp {
                    group: "rg".to_owned(),
                    name: "Shop".to_owned(),
                }),
            ),
            (
                "/subscriptions/Sub/resourceGroups/rg/providers/Microsoft.Web/sites/shop/restart",
                arm(ArmRoute::WebAppAction {
                    group: "rg".to_owned(),
                    name: "shop".to_owned(),
                    action: SiteAction::Restart,
                }),
            ),
            (
                "/subscriptions/Sub/resourceGroups/rg/providers/Microsoft.Web/sites/shop/swap",
                None,
            ),
            (
                "/subscriptions/Sub/resourcegroups/rg",
                arm(ArmRoute::ResourceGroup {
                    group: "rg".to_owned(),
                }),
            ),
            (
                "/subscriptions/Sub/resourcegroups/rg/providers/Microsoft.Network/virtualNetworks",
                None,
            ),
            ("/", None),
        ];
        for (path, expected) in cases {
            assert_eq!(parse(path), expected, "{path}");
        }
    }
}
