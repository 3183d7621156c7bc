//! `cargo xtask startup-order --check` against the release build that ships.

use crate::{image::release_image, succeeded, xtask};

/// Symbol names change with the toolchain and the dependencies; a list that no longer
/// matches the release link stops laying start-up out together, which nothing else
/// would notice but idle RSS.
#[test]
fn the_startup_order_matches_the_release_link() {
    // Building the image links the release binary, and with it the map the check reads.
    release_image();
    let stdout = succeeded(&xtask(&["startup-order", "--check"], &[]));
    assert!(
        stdout.contains("listed functions are in the last release link"),
        "{stdout}"
    );
}
