//! Identifiers: random ones for tokens, operations and request ids, stable ones for resources.

use std::{
    collections::hash_map::RandomState,
    hash::{BuildHasher, Hasher},
    sync::atomic::{AtomicU64, Ordering},
};

/// `len` random lowercase hex digits, from the OS-seeded hasher keys of the standard library.
pub(crate) fn random_hex(len: usize) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut out = String::with_capacity(len + 16);
    while out.len() < len {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        out.push_str(&format!("{:016x}", hasher.finish()));
    }
    out.truncate(len);
    out
}

/// A random GUID in Azure's `8-4-4-4-12` form, as used for request and operation ids.
pub(crate) fn random_guid() -> String {
    guid_from_hex(&random_hex(32))
}

/// A GUID that depends only on `seed`, so a resource keeps its `vmId` across runs and snapshots.
pub(crate) fn stable_guid(seed: &str) -> String {
    let first = fnv1a(0xcbf2_9ce4_8422_2325, seed.as_bytes());
    let second = fnv1a(first ^ 0x9e37_79b9_7f4a_7c15, seed.as_bytes());
    guid_from_hex(&format!("{first:016x}{second:016x}"))
}

/// A number that depends only on `seed`, e.g. a deployment's `templateHash`.
pub(crate) fn stable_number(seed: &str) -> u64 {
    fnv1a(0xcbf2_9ce4_8422_2325, seed.as_bytes())
}

/// Inserts the dashes into 32 hex digits.
fn guid_from_hex(hex: &str) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// 64-bit FNV-1a, a fixed hash (unlike `RandomState`) for stable ids.
fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_have_azure_shape() {
        for guid in [random_guid(), stable_guid("prod-web/web-1")] {
            let lengths: Vec<usize> = guid.split('-').map(str::len).collect();
            assert_eq!(lengths, [8, 4, 4, 4, 12], "{guid}");
            assert!(guid.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
        }
        assert_ne!(random_guid(), random_guid());
    }

    #[test]
    fn stable_guids_depend_only_on_the_seed() {
        assert_eq!(stable_guid("a/b"), stable_guid("a/b"));
        assert_ne!(stable_guid("a/b"), stable_guid("a/c"));
    }
}
