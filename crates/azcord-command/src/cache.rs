//! A short-lived cache for lists that are expensive to fetch, such as every VM of a
//! subscription: autocomplete reads it on every keystroke, Azure sees one call per
//! expiry at most.

use std::{future::Future, sync::Arc, time::Duration};

use tokio::{sync::Mutex, time::Instant};

/// One cached value that expires `ttl` after it was fetched. Concurrent readers of an
/// expired value wait for a single fetch.
pub struct TtlCache<T> {
    ttl: Duration,
    slot: Mutex<Option<(Instant, Arc<T>)>>,
}

impl<T> TtlCache<T> {
    /// An empty cache whose values live for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            slot: Mutex::new(None),
        }
    }

    /// The cached value, fetching it with `fetch` if it is missing or expired. A failed
    /// fetch caches nothing.
    pub async fn get<E, F, Fut>(&self, fetch: F) -> Result<Arc<T>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some((fetched, value)) = slot.as_ref()
            && fetched.elapsed() < self.ttl
        {
            return Ok(Arc::clone(value));
        }
        let value = Arc::new(fetch().await?);
        *slot = Some((Instant::now(), Arc::clone(&value)));
        Ok(value)
    }

    /// Forgets the cached value, after an action that changed what it describes.
    pub async fn invalidate(&self) {
        *self.slot.lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_fetch_per_expiry() {
        let cache = TtlCache::new(Duration::from_secs(30));
        let fetches = AtomicUsize::new(0);
        let fetch = || async { Ok::<_, ()>(fetches.fetch_add(1, Ordering::SeqCst)) };
        for _ in 0..10 {
            assert_eq!(*cache.get(fetch).await.unwrap(), 0);
        }
        tokio::time::advance(Duration::from_secs(31)).await;
        assert_eq!(*cache.get(fetch).await.unwrap(), 1);
        cache.invalidate().await;
        assert_eq!(*cache.get(fetch).await.unwrap(), 2);
        assert!(
            cache
                .get(|| async { Err::<usize, _>("down") })
                .await
                .is_ok(),
            "a fresh value is still served"
        );
        cache.invalidate().await;
        assert_eq!(
            cache
                .get(|| async { Err::<usize, _>("down") })
                .await
                .unwrap_err(),
            "down"
        );
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
    }
}
