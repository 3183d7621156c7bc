//! Discord's identify rate limit: shards are bucketed by `shard_id % max_concurrency`,
//! and each bucket starts at most one session per window (5 s on Discord).
//!
//! Pure bookkeeping over explicit instants, so its rule is tested without waiting.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use super::IdentifyRecord;

/// How much of the window an identify may come early by and still count as on time.
///
/// A client that paces itself exactly (twilight's queue grants one identify per bucket
/// every 5 s) sends its IDENTIFY a moment after the grant, and that moment varies with
/// scheduling; a tenth of the window absorbs that without hiding a client that does not
/// pace itself at all.
const TOLERANCE_DIVISOR: u32 = 10;

/// The identify buckets of one bot and when each last started a session.
#[derive(Debug)]
pub(crate) struct IdentifyLimiter {
    max_concurrency: u32,
    window: Duration,
    last_accepted: HashMap<u32, Instant>,
}

impl IdentifyLimiter {
    /// A limiter with `max_concurrency` buckets (at least one) of one identify per `window`.
    pub(crate) fn new(max_concurrency: u32, window: Duration) -> Self {
        Self {
            max_concurrency: max_concurrency.max(1),
            window,
            last_accepted: HashMap::new(),
        }
    }

    /// Judges an identify of `shard` arriving at `now`; an accepted one starts the
    /// bucket's window again, a refused one does not.
    pub(crate) fn admit(&mut self, shard: u32, now: Instant) -> IdentifyRecord {
        let bucket = shard % self.max_concurrency;
        let earliest = self.window - self.window / TOLERANCE_DIVISOR;
        let too_early = self
            .last_accepted
            .get(&bucket)
            .is_some_and(|&last| now.saturating_duration_since(last) < earliest);
        if !too_early {
            self.last_accepted.insert(bucket, now);
        }
        IdentifyRecord {
            shard,
            bucket,
            at: now,
            too_early,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bucket_starts_one_session_per_window() {
        let window = Duration::from_secs(5);
        let start = Instant::now();
        let at = |millis: u64| start + Duration::from_millis(millis);
        /// max_concurrency, identifies as (shard, ms), which of them are too early.
        type Case = (u32, &'static [(u32, u64)], &'static [bool]);
        let cases: [Case; 6] = [
            (1, &[(0, 0), (1, 0)], &[false, true]),
            (1, &[(0, 0), (1, 5_000)], &[false, false]),
            // Within the tolerance of a client that paces itself exactly.
            (1, &[(0, 0), (1, 4_600)], &[false, false]),
            (1, &[(0, 0), (1, 4_400)], &[false, true]),
            // Shards 0 and 1 are in different buckets, 0 and 2 in the same.
            (
                2,
                &[(0, 0), (1, 0), (2, 10), (3, 5_000)],
                &[false, false, true, false],
            ),
            // A refused identify does not restart the window.
            (1, &[(0, 0), (1, 1_000), (1, 5_000)], &[false, true, false]),
        ];
        for (max_concurrency, identifies, expected) in cases {
            let mut limiter = IdentifyLimiter::new(max_concurrency, window);
            let verdicts: Vec<bool> = identifies
                .iter()
                .map(|&(shard, millis)| limiter.admit(shard, at(millis)).too_early)
                .collect();
            assert_eq!(verdicts, expected, "{max_concurrency}: {identifies:?}");
        }
    }

    #[test]
    fn a_zero_window_or_concurrency_never_refuses() {
        let now = Instant::now();
        let mut limiter = IdentifyLimiter::new(0, Duration::ZERO);
        assert!(!limiter.admit(0, now).too_early);
        assert!(!limiter.admit(1, now).too_early);
        let record = limiter.admit(3, now);
        assert_eq!((record.bucket, record.too_early), (0, false));
    }
}
