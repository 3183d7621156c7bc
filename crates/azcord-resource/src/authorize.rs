use azcord_azure::ResourceGroupName;
use azcord_command::{CommandError, ComponentContext, Context};

/// The policy check for a command on an Azure resource, given a validated resource
/// group name.
///
/// azcord-command's own `authorize_resource_group` takes `&str`: it must not depend on
/// azcord-azure, where the name types live, and the policy compares the configured
/// group names as text anyway. Azure commands go through this trait instead, so a group
/// reaches the policy only once it has been parsed.
pub trait AuthorizeResourceGroup {
    /// Checks that the caller may run this command on resources in `resource_group`,
    /// with a denial that names the rules that would allow it.
    fn authorize_in(&self, resource_group: &ResourceGroupName) -> Result<(), CommandError>;
}

impl AuthorizeResourceGroup for Context {
    fn authorize_in(&self, resource_group: &ResourceGroupName) -> Result<(), CommandError> {
        self.authorize_resource_group(resource_group.as_str())
    }
}

impl AuthorizeResourceGroup for ComponentContext {
    fn authorize_in(&self, resource_group: &ResourceGroupName) -> Result<(), CommandError> {
        self.authorize_resource_group(resource_group.as_str())
    }
}
