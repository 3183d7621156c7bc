//! The identify queue: when a shard may send IDENTIFY. Discord starts at most one
//! session per bucket (`shard_id % max_concurrency`) per window (5 s); a bot split over
//! several processes must keep to that together, so [`SharedIdentifyQueue`] takes the
//! bucket's turn as a lease in the store that every process shares.

use std::{
    fmt,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use azcord_store::Store;
use tokio::sync::oneshot;
use twilight_gateway::queue::{InMemoryQueue, Queue};

/// Discord's identify window: each bucket starts one session per 5 s.
pub const IDENTIFY_WINDOW: Duration = Duration::from_secs(5);

/// The queue every shard of a bot asks before it identifies.
#[derive(Debug, Clone)]
pub(crate) enum IdentifyQueue {
    /// This process's shards only, with Discord's daily limit.
    InMemory(InMemoryQueue),
    /// Every process sharing the store.
    Shared(SharedIdentifyQueue),
}

impl Queue for IdentifyQueue {
    fn enqueue(&self, shard: u32) -> oneshot::Receiver<()> {
        match self {
            Self::InMemory(queue) => queue.enqueue(shard),
            Self::Shared(queue) => queue.enqueue(shard),
        }
    }
}

/// An identify queue over a [`Store`]: a shard identifies once it holds the lease
/// `identify:<bucket>` for one window, so that across every process sharing the
/// store each bucket starts at most one session per window.
#[derive(Clone)]
pub(crate) struct SharedIdentifyQueue {
    store: Store,
    max_concurrency: u32,
    window: Duration,
}

impl SharedIdentifyQueue {
    /// A queue of `max_concurrency` buckets (at least one), each one identify per `window`.
    pub(crate) fn new(store: Store, max_concurrency: u32, window: Duration) -> Self {
        Self {
            store,
            max_concurrency: max_concurrency.max(1),
            window,
        }
    }

    /// Waits until `shard` holds its bucket's lease; gives up (false) once the shard
    /// stops waiting, so that a dropped shard takes no turn.
    async fn wait_turn(&self, shard: u32, waiting: &oneshot::Sender<()>) -> bool {
        let bucket = shard % self.max_concurrency;
        let lease = format!("identify:{bucket}");
        // Unique to this identify: a claim by the same owner would renew the lease, and
        // two shards of one process in one bucket must not share a turn.
        let owner = unique_owner(shard);
        let retry = retry_interval(self.window);
        loop {
            if waiting.is_closed() {
                return false;
            }
            match self
                .store
                .claim(&lease, &owner, SystemTime::now() + self.window)
                .await
            {
                Ok(true) => {
                    tracing::debug!(shard, bucket, "identify turn granted");
                    return true;
                }
                Ok(false) => {}
                Err(error) => tracing::warn!(
                    shard,
                    bucket,
                    error = %error,
                    "cannot take the identify turn from the store; trying again"
                ),
            }
            tokio::time::sleep(retry).await;
        }
    }
}

impl Queue for SharedIdentifyQueue {
    fn enqueue(&self, shard: u32) -> oneshot::Receiver<()> {
        let (sender, receiver) = oneshot::channel();
        let queue = self.clone();
        tokio::spawn(async move {
            if queue.wait_turn(shard, &sender).await {
                let _ = sender.send(());
            }
        });
        receiver
    }
}

impl fmt::Debug for SharedIdentifyQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedIdentifyQueue")
            .field("max_concurrency", &self.max_concurrency)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

/// How often a waiting shard asks for its bucket's lease again: a twentieth of the
/// window, so that a turn is taken well within Discord's tolerance, and never a spin.
fn retry_interval(window: Duration) -> Duration {
    (window / 20).clamp(Duration::from_millis(5), Duration::from_millis(250))
}

/// An owner name no other identify, in this process or another, uses.
fn unique_owner(shard: u32) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    format!(
        "{}-{}-{}-{shard}",
        std::process::id(),
        started,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_are_a_twentieth_of_the_window_within_bounds() {
        let cases = [(5_000, 250), (1_000, 50), (20, 5), (0, 5)];
        for (window, retry) in cases {
            assert_eq!(
                retry_interval(Duration::from_millis(window)),
                Duration::from_millis(retry),
                "{window}"
            );
        }
    }

    #[tokio::test]
    async fn each_bucket_grants_one_identify_per_window() {
        let dir = tempfile::tempdir().unwrap();
        let backend = azcord_store::EmbeddedBackend::open(&dir.path().join("s.redb")).unwrap();
        let store = Store::new(
            std::sync::Arc::new(backend),
            azcord_store::StateKey::generate(),
        );
        let window = Duration::from_millis(300);
        let queue = SharedIdentifyQueue::new(store, 2, window);
        let start = tokio::time::Instant::now();
        // Shards 0 and 2 share bucket 0; shard 1 is alone in bucket 1.
        let turns = [0, 1, 2].map(|shard| queue.enqueue(shard));
        let mut granted = Vec::new();
        for turn in turns {
            turn.await.unwrap();
            granted.push(start.elapsed());
        }
        assert!(granted[0] < window && granted[1] < window, "{granted:?}");
        assert!(granted[2] >= window, "{granted:?}");
    }

    #[test]
    fn owners_are_unique() {
        assert_ne!(unique_owner(1), unique_owner(1));
    }
}
