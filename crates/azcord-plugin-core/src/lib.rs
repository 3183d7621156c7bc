//! The commands every azcord has: `/ping`, `/help` and `/about`.

mod about;
mod help;
mod ping;

pub use about::BuildInfo;

use azcord_command::Plugin;

/// The colour of azcord's embeds: Azure blue.
const BRAND_COLOR: u32 = 0x0078D4;

/// The core plugin, with `about` describing this build.
pub fn plugin(build: BuildInfo) -> Plugin {
    Plugin::new("core")
        .command(ping::Ping)
        .command(help::Help)
        .command(about::About::new(build))
}

#[cfg(test)]
mod tests;
