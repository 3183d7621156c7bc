//! Shard supervision: a shard whose loop ends for any reason but shutdown (an error, a
//! panic, an unexpected return) is restarted with a backoff, within a budget; past the
//! budget, or when Discord closed it for good, the bot stops with an error so that the
//! process exits non-zero and its orchestrator restarts it.

use crate::identify::IdentifyQueue;
use std::{any::Any, collections::VecDeque, panic::AssertUnwindSafe, sync::Arc, time::Duration};

use azcord_command::{Dispatcher, Responder};
use futures_util::FutureExt as _;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use twilight_gateway::{Config, ConfigBuilder, Shard, ShardId};

use crate::{
    GatewayError, ShardPhase, ShardStatus,
    bot::run_shard,
    sessions::{RememberedSession, SessionMemory},
};

/// How a shard whose task ended is restarted, and when the bot gives up on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPolicy {
    /// How many restarts of one shard `window` allows; one more failure stops the bot.
    pub max_restarts: u32,
    /// The period over which a shard's restarts are counted.
    pub window: Duration,
    /// The wait before a restart when the shard has not restarted within the window;
    /// it doubles with each restart still within it.
    pub initial_backoff: Duration,
    /// The longest wait before a restart.
    pub max_backoff: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        Self {
            max_restarts: 5,
            window: Duration::from_secs(10 * 60),
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// Everything needed to start one shard, and to start it again.
pub(crate) struct ShardRunner {
    pub(crate) id: ShardId,
    pub(crate) config: Config<IdentifyQueue>,
    pub(crate) dispatcher: Dispatcher,
    pub(crate) responder: Arc<dyn Responder>,
    pub(crate) status: ShardStatus,
    pub(crate) cancel: CancellationToken,
    pub(crate) policy: RestartPolicy,
    /// The shard's latest session, shared with [`ShardSessions`](crate::ShardSessions).
    pub(crate) memory: Arc<SessionMemory>,
}

impl ShardRunner {
    /// Runs `first` until shutdown, restarting the shard whenever its task ends. Returns
    /// `Ok` on shutdown, and an error when Discord closed the shard for good or it ended
    /// more often than the policy allows.
    pub(crate) async fn supervise(self, first: Shard<IdentifyQueue>) -> Result<(), GatewayError> {
        let number = self.id.number();
        let memory = Arc::clone(&self.memory);
        let mut budget = RestartBudget::new(self.policy);
        let mut shard = first;
        loop {
            // Run in place, not spawned: a panic is caught here all the same.
            let ran = AssertUnwindSafe(run_shard(
                shard,
                self.dispatcher.clone(),
                Arc::clone(&self.responder),
                self.status.clone(),
                self.cancel.clone(),
                Arc::clone(&memory),
            ))
            .catch_unwind()
            .await;
            let end = classify(ran);
            if self.cancel.is_cancelled() {
                if !matches!(end, ShardEnd::Stopped) {
                    tracing::warn!(
                        shard = number,
                        reason = end.describe(),
                        "shard ended badly while closing"
                    );
                }
                self.status.set(number, ShardPhase::Closed);
                return Ok(());
            }
            let reason = match end {
                ShardEnd::Fatal(error) => {
                    tracing::error!(shard = number, error = %error, "shard closed for good");
                    self.status.set(number, ShardPhase::Closed);
                    return Err(error);
                }
                ShardEnd::Failed(reason) => reason,
                ShardEnd::Stopped => "its task returned while the bot was running".to_owned(),
            };
            // Not ready from now until the new shard has a session again.
            self.status.set(number, ShardPhase::Disconnected);
            let Some(backoff) = budget.restart(Instant::now()) else {
                tracing::error!(
                    shard = number,
                    reason,
                    max_restarts = self.policy.max_restarts,
                    window_s = self.policy.window.as_secs_f64(),
                    "shard ended once more than its restart budget allows; stopping"
                );
                self.status.set(number, ShardPhase::Closed);
                return Err(GatewayError::ShardRestartsExhausted {
                    shard: number,
                    restarts: self.policy.max_restarts,
                    window: self.policy.window,
                    reason,
                });
            };
            tracing::error!(
                shard = number,
                reason,
                backoff_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX),
                "shard ended; restarting it"
            );
            tokio::select! {
                biased;
                () = self.cancel.cancelled() => {
                    self.status.set(number, ShardPhase::Closed);
                    return Ok(());
                }
                () = tokio::time::sleep(backoff) => {}
            }
            let session = memory.take();
            self.status.set(
                number,
                if session.is_some() {
                    ShardPhase::Resuming
                } else {
                    ShardPhase::Connecting
                },
            );
            shard = self.shard(session);
        }
    }

    /// A new shard, resuming `session` if there is one so that no event is lost.
    fn shard(&self, session: Option<RememberedSession>) -> Shard<IdentifyQueue> {
        new_shard(self.id, &self.config, session)
    }
}

/// A shard with `config`, resuming `session` if there is one instead of identifying.
pub(crate) fn new_shard(
    id: ShardId,
    config: &Config<IdentifyQueue>,
    session: Option<RememberedSession>,
) -> Shard<IdentifyQueue> {
    let builder = ConfigBuilder::from(config.clone());
    let builder = match session {
        Some(session) => session.resume_with(builder),
        None => builder,
    };
    Shard::with_config(id, builder.build())
}

/// How a shard task ended, as far as restarting it goes.
#[derive(Debug)]
enum ShardEnd {
    /// It returned without an error.
    Stopped,
    /// Discord closed it for good: restarting cannot help.
    Fatal(GatewayError),
    /// It failed in a way a restart may cure.
    Failed(String),
}

impl ShardEnd {
    fn describe(&self) -> String {
        match self {
            Self::Stopped => "stopped".to_owned(),
            Self::Fatal(error) => format!("fatal: {error}"),
            Self::Failed(reason) => format!("failed: {reason}"),
        }
    }
}

fn classify(ran: Result<Result<(), GatewayError>, Box<dyn Any + Send>>) -> ShardEnd {
    match ran {
        Ok(Ok(())) => ShardEnd::Stopped,
        Ok(Err(error)) if error.is_fatal() => ShardEnd::Fatal(error),
        Ok(Err(error)) => ShardEnd::Failed(error.to_string()),
        Err(panic) => ShardEnd::Failed(format!(
            "its task panicked: {}",
            panic_message(panic.as_ref())
        )),
    }
}

/// The message of a panic, when it has one.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|message| (*message).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}

/// Counts a shard's restarts within the policy's window and paces them.
#[derive(Debug)]
struct RestartBudget {
    policy: RestartPolicy,
    recent: VecDeque<Instant>,
}

impl RestartBudget {
    fn new(policy: RestartPolicy) -> Self {
        Self {
            policy,
            recent: VecDeque::new(),
        }
    }

    /// Counts a restart at `now`: how long to wait before it, or `None` when the
    /// window has no restart left.
    fn restart(&mut self, now: Instant) -> Option<Duration> {
        while self
            .recent
            .front()
            .is_some_and(|&at| now.saturating_duration_since(at) >= self.policy.window)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= usize::try_from(self.policy.max_restarts).unwrap_or(usize::MAX) {
            return None;
        }
        let backoff = backoff(&self.policy, self.recent.len());
        self.recent.push_back(now);
        Some(backoff)
    }
}

/// The initial backoff doubled once per earlier restart in the window, up to the cap.
fn backoff(policy: &RestartPolicy, earlier: usize) -> Duration {
    let factor = u32::try_from(earlier)
        .ok()
        .and_then(|earlier| 1_u32.checked_shl(earlier))
        .unwrap_or(u32::MAX);
    policy
        .initial_backoff
        .saturating_mul(factor)
        .min(policy.max_backoff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarts_back_off_and_stop_at_the_budget() {
        let policy = RestartPolicy {
            max_restarts: 3,
            window: Duration::from_secs(60),
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(3),
        };
        let mut budget = RestartBudget::new(policy);
        let start = Instant::now();
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        // (when the shard ends, the wait before its restart or None to stop)
        let table = [
            (0, Some(1)),
            (1, Some(2)),
            (3, Some(3)),
            // A fourth end within the window spends the budget.
            (10, None),
            // As each restart leaves the window, one more is allowed, paced by those
            // still in it.
            (60, Some(3)),
            (61, Some(3)),
            (62, None),
            // A long quiet spell empties the window: back to the first step.
            (1_000, Some(1)),
        ];
        let got: Vec<(u64, Option<u64>)> = table
            .iter()
            .map(|&(seconds, _)| {
                (
                    seconds,
                    budget.restart(at(seconds)).map(|wait| wait.as_secs()),
                )
            })
            .collect();
        assert_eq!(got, table);
    }

    #[test]
    fn backoff_never_overflows() {
        let policy = RestartPolicy {
            max_backoff: Duration::MAX,
            ..RestartPolicy::default()
        };
        assert_eq!(backoff(&policy, 0), Duration::from_secs(1));
        assert_eq!(backoff(&policy, 5), Duration::from_secs(32));
        assert_eq!(
            backoff(&policy, 40),
            Duration::from_secs(u64::from(u32::MAX))
        );
        assert_eq!(
            backoff(&policy, usize::MAX),
            Duration::from_secs(u64::from(u32::MAX))
        );
    }

    #[tokio::test]
    async fn every_way_a_task_ends_is_classified() {
        async fn explode() -> Result<(), GatewayError> {
            panic!("shard exploded")
        }
        async fn explode_formatted() -> Result<(), GatewayError> {
            panic!("shard {} exploded", 3)
        }
        let table = [
            (Ok(Ok(())), "stopped"),
            (
                Ok(Err(GatewayError::ShardClosed {
                    shard: 0,
                    code: Some(4004),
                })),
                "fatal: shard 0 was closed by Discord with code 4004 and cannot reconnect (bad token, intents or shard)",
            ),
            (
                Ok(Err(GatewayError::ShardRange {
                    start: 1,
                    end: 0,
                    total: 1,
                })),
                "failed: invalid shard range 1..0 of 1: need start < end <= total",
            ),
            (
                AssertUnwindSafe(explode()).catch_unwind().await,
                "failed: its task panicked: shard exploded",
            ),
            (
                AssertUnwindSafe(explode_formatted()).catch_unwind().await,
                "failed: its task panicked: shard 3 exploded",
            ),
        ];
        for (joined, expected) in table {
            assert_eq!(classify(joined).describe(), expected);
        }
    }
}
