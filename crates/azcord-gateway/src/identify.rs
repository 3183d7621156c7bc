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

/// Discord's daily limit on session starts, as `/gateway/bot` reported it when this
/// process connected (`session_start_limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SessionBudget {
    /// When Discord reported it.
    pub(crate) read_at: SystemTime,
    /// Session starts left at `read_at`.
    pub(crate) remaining: u32,
    /// When the count goes back to `total`.
    pub(crate) resets_at: SystemTime,
    /// Session starts per day.
    pub(crate) total: u32,
}

/// Discord's day: the limit resets every 24 hours.
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// The part of Discord's day that `now` falls in: since when starts count against the
/// budget, how many are allowed, and when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Period {
    counted_since: SystemTime,
    allowed: u32,
    ends_at: SystemTime,
}

impl SessionBudget {
    /// The budget from `/gateway/bot`'s `session_start_limit`, read now.
    pub(crate) fn read_now(remaining: u32, reset_after: Duration, total: u32) -> Self {
        let read_at = SystemTime::now();
        Self {
            read_at,
            remaining: remaining.min(total),
            resets_at: read_at + reset_after,
            total,
        }
    }

    /// Before the reset, Discord's `remaining` less the starts recorded since it was
    /// read; after it, a whole day's `total` from the latest reset.
    fn period(&self, now: SystemTime) -> Period {
        let Ok(past_reset) = now.duration_since(self.resets_at) else {
            return Period {
                counted_since: self.read_at,
                allowed: self.remaining,
                ends_at: self.resets_at,
            };
        };
        let days = u32::try_from(past_reset.as_secs() / DAY.as_secs()).unwrap_or(u32::MAX);
        let reset = self.resets_at + DAY * days;
        Period {
            counted_since: reset,
            allowed: self.total,
            ends_at: reset + DAY,
        }
    }
}

/// What one attempt at an identify turn found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Turn {
    /// The shard may identify now; the start is recorded.
    Granted,
    /// Another shard holds the bucket's turn, or is counting the day's starts.
    Busy,
    /// The day's session starts are spent until then.
    SpentUntil(SystemTime),
}

/// An identify queue over a [`Store`]: a shard identifies once it holds the lease
/// `identify:<bucket>` for one window, so that across every process sharing the
/// store each bucket starts at most one session per window. Every start is recorded
/// in the store, and none is granted once Discord's daily budget is spent.
#[derive(Clone)]
pub(crate) struct SharedIdentifyQueue {
    store: Store,
    max_concurrency: u32,
    window: Duration,
    budget: SessionBudget,
}

impl SharedIdentifyQueue {
    /// A queue of `max_concurrency` buckets (at least one), each one identify per
    /// `window`, within `budget`.
    pub(crate) fn new(
        store: Store,
        max_concurrency: u32,
        window: Duration,
        budget: SessionBudget,
    ) -> Self {
        Self {
            store,
            max_concurrency: max_concurrency.max(1),
            window,
            budget,
        }
    }

    /// Waits until `shard` may identify; gives up (false) once the shard stops
    /// waiting, so that a dropped shard takes no turn.
    async fn wait_turn(&self, shard: u32, waiting: &mut oneshot::Sender<()>) -> bool {
        // Unique to this identify: a claim by the same owner would renew the lease, and
        // two shards of one process in one bucket must not share a turn.
        let owner = unique_owner(shard);
        let retry = retry_interval(self.window);
        let mut store_failing = false;
        loop {
            let turn = self.try_turn(shard, &owner).await;
            if turn.is_ok() {
                store_failing = false;
            }
            let pause = match turn {
                Ok(Turn::Granted) => {
                    tracing::debug!(shard, "identify turn granted");
                    return true;
                }
                Ok(Turn::Busy) => retry,
                Ok(Turn::SpentUntil(until)) => {
                    let wait = until.duration_since(SystemTime::now()).unwrap_or_default();
                    tracing::error!(
                        shard,
                        wait_secs = wait.as_secs(),
                        "Discord's daily session-start limit is spent; the shard waits for its reset"
                    );
                    wait.max(retry)
                }
                Err(error) => {
                    // Once per outage, not on every retry.
                    if !std::mem::replace(&mut store_failing, true) {
                        tracing::warn!(
                            shard,
                            error = %error,
                            "cannot take the identify turn from the store; trying again until it answers"
                        );
                    }
                    retry
                }
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = waiting.closed() => return false,
            }
        }
    }

    /// One attempt: the bucket's lease for one window, then, under a short lease shared
    /// by every bucket, a session start counted against the day's budget and recorded.
    async fn try_turn(&self, shard: u32, owner: &str) -> Result<Turn, azcord_store::StoreError> {
        let bucket = shard % self.max_concurrency;
        let now = SystemTime::now();
        if !self
            .store
            .claim(&format!("identify:{bucket}"), owner, now + self.window)
            .await?
        {
            return Ok(Turn::Busy);
        }
        if !self
            .store
            .claim(BUDGET_LEASE, owner, now + self.window)
            .await?
        {
            return Ok(Turn::Busy);
        }
        let counted = self.count_and_record(now).await;
        self.store.release(BUDGET_LEASE, owner).await?;
        counted
    }

    /// Counts the starts of the budget's period at `now` and records one more if the
    /// period allows it.
    async fn count_and_record(&self, now: SystemTime) -> Result<Turn, azcord_store::StoreError> {
        let period = self.budget.period(now);
        let started = self
            .store
            .session_starts_since(period.counted_since)
            .await?;
        if started >= usize::try_from(period.allowed).unwrap_or(usize::MAX) {
            return Ok(Turn::SpentUntil(period.ends_at));
        }
        self.store.record_session_start(now).await?;
        Ok(Turn::Granted)
    }
}

/// The lease under which one identify at a time counts and records the day's starts.
const BUDGET_LEASE: &str = "identify:budget";

impl Queue for SharedIdentifyQueue {
    fn enqueue(&self, shard: u32) -> oneshot::Receiver<()> {
        let (mut sender, receiver) = oneshot::channel();
        let queue = self.clone();
        tokio::spawn(async move {
            if queue.wait_turn(shard, &mut sender).await {
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
            .field("budget", &self.budget)
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
    use std::sync::{Arc, Mutex};

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
        // The store's clock, moved by hand: a lease ends when it says so.
        let offset = Arc::new(Mutex::new(Duration::ZERO));
        let clock: azcord_store::Clock = {
            let offset = Arc::clone(&offset);
            Arc::new(move || SystemTime::now() + *offset.lock().unwrap())
        };
        let dir = tempfile::tempdir().unwrap();
        let backend =
            azcord_store::EmbeddedBackend::open_with_clock(&dir.path().join("s.redb"), clock)
                .unwrap();
        let store = Store::new(Arc::new(backend), azcord_store::StateKey::generate());
        let window = Duration::from_secs(5);
        let queue = SharedIdentifyQueue::new(store, 2, window, plenty());
        let owners = ["owner-0", "owner-1", "owner-2"];
        let turn = |shard: u32| queue.try_turn(shard, owners[shard as usize]);
        // Shards 0 and 2 share bucket 0; shard 1 is alone in bucket 1.
        assert_eq!(turn(0).await.unwrap(), Turn::Granted);
        assert_eq!(turn(1).await.unwrap(), Turn::Granted);
        assert_eq!(turn(2).await.unwrap(), Turn::Busy);
        *offset.lock().unwrap() = window + Duration::from_millis(1);
        assert_eq!(turn(2).await.unwrap(), Turn::Granted);
    }

    #[tokio::test]
    async fn a_waiting_shard_is_granted_its_turn() {
        let queue =
            SharedIdentifyQueue::new(Store::in_memory(), 1, Duration::from_secs(5), plenty());
        queue.enqueue(0).await.unwrap();
    }

    /// A budget nothing here spends.
    fn plenty() -> SessionBudget {
        SessionBudget::read_now(1000, DAY, 1000)
    }

    #[test]
    fn the_budget_counts_discords_remaining_until_the_reset_then_whole_days() {
        let read_at = SystemTime::UNIX_EPOCH + DAY * 100;
        let resets_at = read_at + Duration::from_secs(3600);
        let budget = SessionBudget {
            read_at,
            remaining: 7,
            resets_at,
            total: 1000,
        };
        let at = |after: Duration| budget.period(read_at + after);
        let before = Period {
            counted_since: read_at,
            allowed: 7,
            ends_at: resets_at,
        };
        assert_eq!(at(Duration::ZERO), before);
        assert_eq!(at(Duration::from_secs(3599)), before);
        let first_day = Period {
            counted_since: resets_at,
            allowed: 1000,
            ends_at: resets_at + DAY,
        };
        assert_eq!(at(Duration::from_secs(3600)), first_day);
        assert_eq!(
            at(Duration::from_secs(3600) + DAY - Duration::from_secs(1)),
            first_day
        );
        assert_eq!(
            at(Duration::from_secs(3600) + DAY * 2 + Duration::from_secs(5)),
            Period {
                counted_since: resets_at + DAY * 2,
                allowed: 1000,
                ends_at: resets_at + DAY * 3,
            }
        );
    }

    #[test]
    fn remaining_never_exceeds_total() {
        assert_eq!(SessionBudget::read_now(5000, DAY, 1000).remaining, 1000);
    }

    #[tokio::test]
    async fn processes_sharing_a_store_spend_the_daily_budget_together() {
        let store = Store::in_memory();
        let budget = SessionBudget::read_now(3, Duration::from_secs(3600), 1000);
        // Two processes, as far as the queue knows: each its own queue on one store,
        // with as many buckets as shards so that no window holds a shard back.
        let first = SharedIdentifyQueue::new(store.clone(), 8, Duration::from_secs(5), budget);
        let second = SharedIdentifyQueue::new(store.clone(), 8, Duration::from_secs(5), budget);
        let mut turns = Vec::new();
        for shard in 0..5 {
            let queue = if shard % 2 == 0 { &first } else { &second };
            turns.push(queue.try_turn(shard, &unique_owner(shard)).await.unwrap());
        }
        let spent = Turn::SpentUntil(budget.resets_at);
        assert_eq!(
            turns,
            [Turn::Granted, Turn::Granted, Turn::Granted, spent, spent]
        );
        assert_eq!(store.session_starts_since(budget.read_at).await.unwrap(), 3);
    }

    #[tokio::test]
    async fn a_held_bucket_is_busy_and_takes_nothing_from_the_budget() {
        let store = Store::in_memory();
        let queue = SharedIdentifyQueue::new(store.clone(), 1, Duration::from_secs(5), plenty());
        assert_eq!(
            queue.try_turn(0, &unique_owner(0)).await.unwrap(),
            Turn::Granted
        );
        assert_eq!(
            queue.try_turn(1, &unique_owner(1)).await.unwrap(),
            Turn::Busy
        );
        assert_eq!(
            store
                .session_starts_since(SystemTime::UNIX_EPOCH)
                .await
                .unwrap(),
            1
        );
    }

    #[test]
    fn owners_are_unique() {
        assert_ne!(unique_owner(1), unique_owner(1));
    }
}
