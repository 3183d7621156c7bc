//! The gateway sessions of a bot's shards as plain data, so that a process can record
//! them on shutdown and the next one can resume them instead of identifying afresh;
//! Discord then replays the events sent while no process was connected.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, PoisonError},
};

use serde::{Deserialize, Serialize};
use twilight_gateway::{ConfigBuilder, Session, Shard, ShardId};

/// One shard's gateway session, as recorded by one process and resumed by the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSession {
    /// The shard's number.
    pub shard: u32,
    /// How many shards the bot had; a session is resumed only with the same total.
    pub total: u32,
    /// The session id Discord sent in READY.
    pub session_id: String,
    /// The sequence number of the last event the shard received.
    pub sequence: u64,
    /// Where to resume (READY's `resume_gateway_url`), if Discord sent one.
    pub resume_url: Option<String>,
}

/// The latest session of each of a bot's shards, readable at any time, and after
/// [`Bot::run`](crate::Bot::run) returns: what to record for the next process.
#[derive(Debug, Clone, Default)]
pub struct ShardSessions(Arc<BTreeMap<u32, Arc<SessionMemory>>>);

impl ShardSessions {
    pub(crate) fn new(memories: BTreeMap<u32, Arc<SessionMemory>>) -> Self {
        Self(Arc::new(memories))
    }

    /// Each shard's session as it stands, by shard number; a shard without one is left out.
    pub fn current(&self) -> Vec<ShardSession> {
        self.0
            .values()
            .filter_map(|memory| memory.current())
            .collect()
    }

    /// The shards these are the sessions of, in order, as (shard, total): which
    /// recorded sessions to offer [`Bot::with_sessions`](crate::Bot::with_sessions).
    pub fn shard_ids(&self) -> Vec<(u32, u32)> {
        self.0
            .values()
            .map(|memory| (memory.shard, memory.total))
            .collect()
    }

    /// Each shard, in order, with its memory.
    pub(crate) fn shards(&self) -> impl Iterator<Item = (ShardId, Arc<SessionMemory>)> + '_ {
        self.0
            .values()
            .map(|memory| (ShardId::new(memory.shard, memory.total), Arc::clone(memory)))
    }

    #[cfg(test)]
    fn memory(&self, shard: u32) -> Option<Arc<SessionMemory>> {
        self.0.get(&shard).cloned()
    }

    /// Holds each recorded session in its shard's memory; returns how many were taken up.
    pub(crate) fn seed(&self, recorded: &[ShardSession]) -> usize {
        recorded
            .iter()
            .filter(|recorded| {
                self.0
                    .get(&recorded.shard)
                    .is_some_and(|memory| memory.seed(recorded))
            })
            .count()
    }
}

/// The latest session of one shard, kept outside its task so that a restart of the task,
/// or the next process, can resume it.
#[derive(Debug)]
pub(crate) struct SessionMemory {
    shard: u32,
    total: u32,
    session: Mutex<Option<RememberedSession>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RememberedSession {
    id: String,
    sequence: u64,
    resume_url: Option<String>,
}

impl SessionMemory {
    /// The memory of shard `shard` of `total`, holding no session yet.
    pub(crate) fn new(shard: u32, total: u32) -> Self {
        Self {
            shard,
            total,
            session: Mutex::new(None),
        }
    }

    /// Holds `recorded` if it is this shard's, of the same total; returns whether it was.
    pub(crate) fn seed(&self, recorded: &ShardSession) -> bool {
        let ours = recorded.shard == self.shard && recorded.total == self.total;
        if ours {
            *self.lock() = Some(RememberedSession {
                id: recorded.session_id.clone(),
                sequence: recorded.sequence,
                resume_url: recorded.resume_url.clone(),
            });
        }
        ours
    }

    /// Remembers the shard's session as it stands; called as each event is received,
    /// before it is handled, so a restart never replays an event that was handled.
    pub(crate) fn record<Q>(&self, shard: &Shard<Q>) {
        let mut kept = self.lock();
        match (shard.session(), kept.as_mut()) {
            (Some(session), Some(kept)) if kept.id == session.id() => {
                kept.sequence = session.sequence();
            }
            (Some(session), _) => {
                *kept = Some(RememberedSession {
                    id: session.id().to_owned(),
                    sequence: session.sequence(),
                    resume_url: shard.resume_url().map(str::to_owned),
                });
            }
            (None, _) => *kept = None,
        }
    }

    /// Takes the session for a restarted shard; if that shard never gets as far as an
    /// event, the next restart identifies afresh.
    pub(crate) fn take(&self) -> Option<RememberedSession> {
        self.lock().take()
    }

    /// The session as plain data.
    pub(crate) fn current(&self) -> Option<ShardSession> {
        self.lock().as_ref().map(|session| ShardSession {
            shard: self.shard,
            total: self.total,
            session_id: session.id.clone(),
            sequence: session.sequence,
            resume_url: session.resume_url.clone(),
        })
    }

    /// The session as it stands, to start the first shard with.
    pub(crate) fn peek(&self) -> Option<RememberedSession> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<RememberedSession>> {
        self.session.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl RememberedSession {
    /// `builder`, set to resume this session rather than identify.
    pub(crate) fn resume_with<Q>(self, builder: ConfigBuilder<Q>) -> ConfigBuilder<Q> {
        let builder = builder.session(Session::new(self.sequence, self.id));
        match self.resume_url {
            Some(url) => builder.resume_url(url),
            None => builder,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(shard: u32, total: u32) -> ShardSession {
        ShardSession {
            shard,
            total,
            session_id: "abc".to_owned(),
            sequence: 42,
            resume_url: Some("wss://gateway.example".to_owned()),
        }
    }

    #[test]
    fn a_recorded_session_is_kept_only_by_its_own_shard_of_the_same_total() {
        // (shard, total of the memory, whether it keeps the session recorded for 1 of 4)
        let cases = [(1, 4, true), (2, 4, false), (1, 8, false)];
        for (shard, total, kept) in cases {
            let memory = SessionMemory::new(shard, total);
            assert_eq!(memory.seed(&recorded(1, 4)), kept, "{shard}/{total}");
            assert_eq!(
                memory.current(),
                kept.then(|| recorded(1, 4)),
                "{shard}/{total}"
            );
        }
    }

    #[test]
    fn sessions_round_trip_through_json() {
        let sessions = vec![recorded(0, 2), recorded(1, 2)];
        let json = serde_json::to_string(&sessions).unwrap();
        let back: Vec<ShardSession> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sessions);
    }

    #[test]
    fn seeded_sessions_are_listed_by_shard_until_taken() {
        let memories = [1, 0].map(|shard| (shard, Arc::new(SessionMemory::new(shard, 2))));
        let sessions = ShardSessions::new(memories.into_iter().collect());
        assert_eq!(sessions.current(), []);
        let offered = [
            recorded(0, 2),
            recorded(1, 2),
            recorded(2, 2),
            recorded(0, 3),
        ];
        assert_eq!(sessions.seed(&offered), 2);
        assert_eq!(sessions.current(), [recorded(0, 2), recorded(1, 2)]);
        assert!(sessions.memory(1).unwrap().take().is_some());
        assert_eq!(sessions.current(), [recorded(0, 2)]);
        assert!(sessions.memory(5).is_none());
    }
}
