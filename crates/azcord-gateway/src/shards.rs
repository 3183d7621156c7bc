use std::{
    fmt,
    sync::{Arc, Mutex, PoisonError},
};

use tokio::sync::watch;

/// Where one shard's connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardPhase {
    /// Opening the connection or identifying.
    Connecting,
    /// Connected with a live session.
    Connected,
    /// Reconnecting to resume its session.
    Resuming,
    /// Not connected; it will try again.
    Disconnected,
    /// Closed for good (bad token, disallowed intents, or shutdown).
    Closed,
}

impl ShardPhase {
    /// The lowercase name used in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Resuming => "resuming",
            Self::Disconnected => "disconnected",
            Self::Closed => "closed",
        }
    }
}

type PhaseHook = Arc<dyn Fn(u32, ShardPhase) + Send + Sync>;

/// The phase of every shard this process runs: behind `/readyz` and the shard metrics.
///
/// Cheap to clone.
#[derive(Clone)]
pub struct ShardStatus {
    phases: Arc<Mutex<Vec<(u32, ShardPhase)>>>,
    changed: watch::Sender<()>,
    hook: Option<PhaseHook>,
}

impl ShardStatus {
    /// Tracks the given shard ids, all connecting; `hook` hears every change.
    pub fn new(shard_ids: impl IntoIterator<Item = u32>, hook: Option<PhaseHook>) -> Self {
        let phases: Vec<(u32, ShardPhase)> = shard_ids
            .into_iter()
            .map(|id| (id, ShardPhase::Connecting))
            .collect();
        if let Some(hook) = &hook {
            for (id, phase) in &phases {
                hook(*id, *phase);
            }
        }
        Self {
            phases: Arc::new(Mutex::new(phases)),
            changed: watch::Sender::new(()),
            hook,
        }
    }

    /// Whether every shard is connected.
    pub fn is_ready(&self) -> bool {
        all_connected(&self.phases.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Every shard's phase.
    pub fn phases(&self) -> Vec<(u32, ShardPhase)> {
        self.phases
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until every shard is connected.
    pub async fn wait_until_ready(&self) {
        self.wait_for(all_connected).await;
    }

    /// Waits until `condition` holds for every shard's phase.
    pub async fn wait_for(&self, condition: impl Fn(&[(u32, ShardPhase)]) -> bool) {
        let mut changed = self.changed.subscribe();
        while !condition(&self.phases()) {
            if changed.changed().await.is_err() {
                return;
            }
        }
    }

    pub(crate) fn set(&self, shard: u32, phase: ShardPhase) {
        let mut phases = self.phases.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(entry) = phases.iter_mut().find(|(id, _)| *id == shard) else {
            return;
        };
        if entry.1 == phase {
            return;
        }
        entry.1 = phase;
        drop(phases);
        tracing::info!(shard, phase = phase.as_str(), "shard phase changed");
        if let Some(hook) = &self.hook {
            hook(shard, phase);
        }
        self.changed.send_replace(());
    }
}

impl fmt::Debug for ShardStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardStatus")
            .field("phases", &self.phases())
            .finish()
    }
}

/// Whether there are shards and every one is connected: what readiness means.
fn all_connected(phases: &[(u32, ShardPhase)]) -> bool {
    !phases.is_empty()
        && phases
            .iter()
            .all(|(_, phase)| *phase == ShardPhase::Connected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_every_shard_is_connected() {
        let heard = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&heard);
        let status = ShardStatus::new(
            [0, 1],
            Some(Arc::new(move |id, phase| {
                log.lock().unwrap().push((id, phase))
            })),
        );
        assert!(!status.is_ready());
        status.set(0, ShardPhase::Connected);
        assert!(!status.is_ready());
        status.set(1, ShardPhase::Connected);
        assert!(status.is_ready());
        status.set(1, ShardPhase::Connected);
        status.set(1, ShardPhase::Resuming);
        assert!(!status.is_ready());
        assert_eq!(
            *heard.lock().unwrap(),
            [
                (0, ShardPhase::Connecting),
                (1, ShardPhase::Connecting),
                (0, ShardPhase::Connected),
                (1, ShardPhase::Connected),
                (1, ShardPhase::Resuming)
            ]
        );
    }

    #[test]
    fn no_shards_is_not_ready() {
        assert!(!ShardStatus::new([], None).is_ready());
    }
}
