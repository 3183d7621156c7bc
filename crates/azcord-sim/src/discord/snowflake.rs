//! Snowflake ids and unguessable tokens, generated the way Discord shapes them.

use std::{
    collections::hash_map::RandomState,
    hash::{BuildHasher, Hasher},
    sync::atomic::{AtomicU64, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

/// First millisecond of 2015, the epoch of Discord snowflakes.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// Hands out strictly increasing snowflakes that embed the current time.
#[derive(Debug, Default)]
pub(crate) struct SnowflakeGenerator {
    last: AtomicU64,
}

impl SnowflakeGenerator {
    /// The next id: the current time's snowflake, or one more than the last id if that is later.
    pub(crate) fn next(&self) -> u64 {
        let now = snowflake_at(unix_millis());
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let candidate = now.max(last + 1);
            match self.last.compare_exchange_weak(
                last,
                candidate,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return candidate,
                Err(actual) => last = actual,
            }
        }
    }
}

/// The snowflake of the first id generated at `unix_ms`.
pub(crate) fn snowflake_at(unix_ms: u64) -> u64 {
    unix_ms.saturating_sub(DISCORD_EPOCH_MS) << 22
}

/// Milliseconds since the Unix epoch.
pub(crate) fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_strictly_increase_and_embed_the_time() {
        let ids = SnowflakeGenerator::default();
        let before = snowflake_at(unix_millis());
        let generated: Vec<u64> = (0..1000).map(|_| ids.next()).collect();
        assert!(generated.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(generated[0] >= before);
        // The timestamp part is within a minute of now.
        let millis = (generated[999] >> 22) + DISCORD_EPOCH_MS;
        assert!(millis.abs_diff(unix_millis()) < 60_000);
    }

    #[test]
    fn random_hex_has_the_requested_length_and_differs() {
        for len in [0, 1, 16, 17, 64] {
            let token = random_hex(len);
            assert_eq!(token.len(), len);
            assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
        }
        assert_ne!(random_hex(32), random_hex(32));
    }
}
