//! Gateway sessions of one shard: sequence numbers, the replay buffer and the backlog.
//!
//! Everything here is pure bookkeeping; the connection tasks in `gateway` write the
//! frames these functions hand back. The rule it guarantees: a dispatch is lost only
//! where Discord loses it, when a session is not resumed within the resume window.
//! While the shard has no live connection, dispatches wait in the session's buffer
//! (replayed on RESUME) or, before the first session and after an invalid session, in
//! the backlog (sent after the next READY).

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use twilight_model::id::{Id, marker::InteractionMarker};

/// How many dispatches a session keeps for replay; older ones make a RESUME fail.
pub(crate) const REPLAY_BUFFER_LIMIT: usize = 10_000;

/// A dispatch event (opcode 0) before it is given a sequence number.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Dispatch {
    /// The event name, `t`.
    pub(crate) event: String,
    /// The event data, `d`.
    pub(crate) data: Value,
    /// The interaction it carries, to time the acknowledgement from when it is written.
    pub(crate) interaction: Option<Id<InteractionMarker>>,
}

impl Dispatch {
    /// A dispatch that carries no interaction.
    pub(crate) fn new(event: &str, data: Value) -> Self {
        Self {
            event: event.to_owned(),
            data,
            interaction: None,
        }
    }
}

/// A text frame ready to be written to a connection.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Frame {
    /// The JSON text of the frame.
    pub(crate) text: String,
    /// The interaction it carries, if any.
    pub(crate) interaction: Option<Id<InteractionMarker>>,
}

/// Why a RESUME was refused; the client is told with opcode 9 `d: false`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ResumeRefused {
    /// No session of this shard has that id.
    UnknownSession,
    /// Dispatches the client has not seen were dropped from the replay buffer.
    ReplayTooOld,
}

/// One sequenced dispatch kept for replay.
#[derive(Debug)]
struct Sequenced {
    seq: u64,
    dispatch: Dispatch,
    /// Whether it was handed to a connection; unsent ones move to the backlog if the session ends.
    handed_over: bool,
}

/// A gateway session: its id, last sequence number and replay buffer.
#[derive(Debug)]
pub(crate) struct Session {
    id: String,
    seq: u64,
    buffer: VecDeque<Sequenced>,
    /// The oldest sequence number still in the buffer; older ones were dropped at the limit.
    oldest_kept: u64,
}

impl Session {
    /// The session id sent in READY.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    fn sequence(&mut self, dispatch: Dispatch, handed_over: bool) -> Frame {
        self.seq += 1;
        let frame = frame_for(self.seq, &dispatch);
        self.buffer.push_back(Sequenced {
            seq: self.seq,
            dispatch,
            handed_over,
        });
        if self.buffer.len() > REPLAY_BUFFER_LIMIT
            && let Some(dropped) = self.buffer.pop_front()
        {
            self.oldest_kept = dropped.seq + 1;
        }
        frame
    }
}

/// The connection bound to a shard after IDENTIFY or RESUME.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Binding {
    /// Id of the connection task.
    pub(crate) connection: u64,
    /// Whether dispatches may be written to it; false once it was told to reconnect.
    pub(crate) live: bool,
}

/// The gateway state of one shard.
#[derive(Debug, Default)]
pub(crate) struct ShardSlot {
    session: Option<Session>,
    binding: Option<Binding>,
    backlog: VecDeque<Dispatch>,
    /// When the last bound connection went away, while the session waits for a RESUME.
    disconnected_at: Option<Instant>,
    /// Whether the session expired unresumed; until the next IDENTIFY nothing is kept.
    expired: bool,
    /// Whether HEARTBEAT_ACKs are withheld, to make the client detect a zombie connection.
    pub(crate) heartbeat_acks_stopped: bool,
}

impl ShardSlot {
    /// The current session, if any.
    pub(crate) fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// The bound connection, if any.
    pub(crate) fn binding(&self) -> Option<Binding> {
        self.binding
    }

    /// Whether dispatches are written straight to a connection.
    pub(crate) fn is_live(&self) -> bool {
        self.session.is_some() && self.binding.is_some_and(|binding| binding.live)
    }

    /// Number of dispatches waiting for a session.
    #[cfg(test)]
    pub(crate) fn backlog_len(&self) -> usize {
        self.backlog.len()
    }

    /// Queues a dispatch; returns the frame to write now if a live connection is bound.
    pub(crate) fn dispatch(&mut self, dispatch: Dispatch) -> Option<Frame> {
        let live = self.is_live();
        match &mut self.session {
            Some(session) => {
                let frame = session.sequence(dispatch, live);
                live.then_some(frame)
            }
            None => {
                self.backlog.push_back(dispatch);
                None
            }
        }
    }

    /// Starts a new session on `connection`: READY (built from the session id) then the backlog.
    pub(crate) fn identify(
        &mut self,
        connection: u64,
        session_id: String,
        ready: impl FnOnce(&str) -> Value,
    ) -> Vec<Frame> {
        self.invalidate_session();
        self.expired = false;
        let ready = Dispatch::new("READY", ready(&session_id));
        let mut session = Session {
            id: session_id,
            seq: 0,
            buffer: VecDeque::new(),
            oldest_kept: 1,
        };
        let mut frames = vec![session.sequence(ready, true)];
        frames.extend(
            self.backlog
                .drain(..)
                .map(|dispatch| session.sequence(dispatch, true)),
        );
        self.session = Some(session);
        self.bind(connection);
        frames
    }

    /// Resumes the session on `connection`: every dispatch after `seq`, then RESUMED.
    pub(crate) fn resume(
        &mut self,
        connection: u64,
        session_id: &str,
        seq: u64,
    ) -> Result<Vec<Frame>, ResumeRefused> {
        let session = match &mut self.session {
            Some(session) if session.id == session_id => session,
            _ => return Err(ResumeRefused::UnknownSession),
        };
        if seq + 1 < session.oldest_kept {
            return Err(ResumeRefused::ReplayTooOld);
        }
        let mut frames: Vec<Frame> = session
            .buffer
            .iter_mut()
            .filter(|entry| entry.seq > seq)
            .map(|entry| {
                entry.handed_over = true;
                frame_for(entry.seq, &entry.dispatch)
            })
            .collect();
        // Discord sends an object here (with `_trace`); clients such as discord.py index into it.
        frames.push(session.sequence(Dispatch::new("RESUMED", json!({})), true));
        self.bind(connection);
        Ok(frames)
    }

    /// Ends the session if no connection has been bound to it for `window`, as Discord
    /// forgets a session that is not resumed in time. The dispatches no connection
    /// received are lost with it, and so is every dispatch until the next IDENTIFY, as
    /// on Discord; returns the session id and the lost dispatches.
    pub(crate) fn expire(
        &mut self,
        now: Instant,
        window: Duration,
    ) -> Option<(String, Vec<Dispatch>)> {
        let since = self.disconnected_at?;
        if self.binding.is_some() || now.saturating_duration_since(since) < window {
            return None;
        }
        self.disconnected_at = None;
        let session = self.session.take()?;
        self.expired = true;
        let lost = session
            .buffer
            .into_iter()
            .filter(|entry| !entry.handed_over)
            .map(|entry| entry.dispatch)
            .collect();
        Some((session.id, lost))
    }

    /// Whether the session expired and no IDENTIFY started a new one: dispatches are lost.
    pub(crate) fn is_expired(&self) -> bool {
        self.expired
    }

    /// Ends the session; its dispatches no connection received yet go back to the backlog.
    pub(crate) fn invalidate_session(&mut self) {
        if let Some(session) = self.session.take() {
            let unsent = session
                .buffer
                .into_iter()
                .filter(|entry| !entry.handed_over)
                .map(|entry| entry.dispatch);
            let older = std::mem::take(&mut self.backlog);
            self.backlog = unsent.chain(older).collect();
        }
    }

    /// Stops writing dispatches to `connection` (it was told to reconnect); they are buffered.
    pub(crate) fn suspend(&mut self, connection: u64) {
        if let Some(binding) = &mut self.binding
            && binding.connection == connection
        {
            binding.live = false;
        }
    }

    /// Forgets `connection` if it is the bound one; returns whether it was.
    pub(crate) fn unbind(&mut self, connection: u64) -> bool {
        let bound = self
            .binding
            .is_some_and(|binding| binding.connection == connection);
        if bound {
            self.binding = None;
            self.disconnected_at = Some(Instant::now());
        }
        bound
    }

    fn bind(&mut self, connection: u64) {
        self.binding = Some(Binding {
            connection,
            live: true,
        });
        self.disconnected_at = None;
    }
}

/// The shard Discord routes a guild's events to; direct messages go to shard 0.
pub(crate) fn shard_for_guild(guild_id: Option<u64>, shard_count: u32) -> u32 {
    match guild_id {
        Some(guild_id) if shard_count > 0 => {
            u32::try_from((guild_id >> 22) % u64::from(shard_count)).unwrap_or(0)
        }
        _ => 0,
    }
}

fn frame_for(seq: u64, dispatch: &Dispatch) -> Frame {
    Frame {
        text: json!({ "op": 0, "s": seq, "t": dispatch.event, "d": dispatch.data }).to_string(),
        interaction: dispatch.interaction,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str) -> Dispatch {
        Dispatch::new(name, json!({ "name": name }))
    }

    /// `(seq, event name)` of each frame.
    fn summary(frames: &[Frame]) -> Vec<(u64, String)> {
        frames
            .iter()
            .map(|frame| {
                let value: Value = serde_json::from_str(&frame.text).unwrap();
                (
                    value["s"].as_u64().unwrap(),
                    value["t"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    fn ready(session_id: &str) -> Value {
        json!({ "session_id": session_id })
    }

    #[test]
    fn shard_routing_follows_discords_formula() {
        let guild = 41_771_983_423_143_937_u64; // guild >> 22 == 9_959_216_934
        let cases = [
            (Some(guild), 1, 0),
            (Some(guild), 2, 0),
            (Some(guild), 3, 0),
            (Some(guild), 5, 4),
            (Some(1 << 22), 4, 1),
            (Some(3 << 22), 4, 3),
            (None, 4, 0),
            (Some(guild), 0, 0),
        ];
        for (guild_id, shards, expected) in cases {
            assert_eq!(
                shard_for_guild(guild_id, shards),
                expected,
                "{guild_id:?} over {shards} shards"
            );
        }
    }

    #[test]
    fn dispatches_before_the_first_identify_follow_ready() {
        let mut slot = ShardSlot::default();
        assert_eq!(slot.dispatch(event("A")), None);
        assert_eq!(slot.dispatch(event("B")), None);
        assert_eq!(slot.backlog_len(), 2);

        let frames = slot.identify(1, "s1".into(), ready);
        assert_eq!(
            summary(&frames),
            [(1, "READY".into()), (2, "A".into()), (3, "B".into())]
        );
        assert!(frames[0].text.contains(r#""session_id":"s1""#));
        assert!(slot.is_live());
        assert_eq!(
            summary(&[slot.dispatch(event("C")).unwrap()]),
            [(4, "C".into())]
        );
    }

    #[test]
    fn resume_replays_what_the_client_missed_then_resumed() {
        let mut slot = ShardSlot::default();
        slot.identify(1, "s1".into(), ready);
        slot.dispatch(event("A")).unwrap(); // seq 2, seen by the client
        slot.dispatch(event("B")).unwrap(); // seq 3, lost in flight
        slot.suspend(1);
        assert!(!slot.is_live());
        assert_eq!(slot.dispatch(event("C")), None); // seq 4, buffered
        assert!(slot.unbind(1));

        let frames = slot.resume(2, "s1", 2).unwrap();
        assert_eq!(
            summary(&frames),
            [(3, "B".into()), (4, "C".into()), (5, "RESUMED".into())]
        );
        assert_eq!(
            slot.binding(),
            Some(Binding {
                connection: 2,
                live: true
            })
        );
    }

    #[test]
    fn resume_is_refused_for_an_unknown_session() {
        let mut slot = ShardSlot::default();
        assert_eq!(
            slot.resume(1, "nope", 0),
            Err(ResumeRefused::UnknownSession)
        );
        slot.identify(1, "s1".into(), ready);
        assert_eq!(slot.resume(2, "s2", 1), Err(ResumeRefused::UnknownSession));
    }

    #[test]
    fn resume_is_refused_when_the_replay_buffer_overflowed() {
        let mut slot = ShardSlot::default();
        slot.identify(1, "s1".into(), ready);
        slot.suspend(1);
        for _ in 0..=REPLAY_BUFFER_LIMIT {
            slot.dispatch(event("X"));
        }
        assert_eq!(slot.resume(2, "s1", 1), Err(ResumeRefused::ReplayTooOld));
        // A client that saw more can still resume.
        assert!(slot.resume(2, "s1", 3).is_ok());
    }

    #[test]
    fn an_invalidated_session_hands_its_unsent_dispatches_to_the_next_one() {
        let mut slot = ShardSlot::default();
        slot.identify(1, "s1".into(), ready);
        slot.dispatch(event("sent")).unwrap();
        slot.suspend(1);
        slot.dispatch(event("unsent")); // buffered, never written
        slot.invalidate_session();
        slot.dispatch(event("later")); // no session: backlog

        let frames = slot.identify(2, "s2".into(), ready);
        assert_eq!(
            summary(&frames),
            [
                (1, "READY".into()),
                (2, "unsent".into()),
                (3, "later".into())
            ]
        );
    }

    #[test]
    fn a_new_identify_replaces_the_session_and_keeps_unsent_dispatches() {
        let mut slot = ShardSlot::default();
        slot.identify(1, "s1".into(), ready);
        slot.suspend(1);
        slot.dispatch(event("unsent"));
        let frames = slot.identify(2, "s2".into(), ready);
        assert_eq!(
            summary(&frames),
            [(1, "READY".into()), (2, "unsent".into())]
        );
        assert_eq!(slot.session().map(Session::id), Some("s2"));
    }

    #[test]
    fn a_session_left_unresumed_past_the_window_expires_with_its_dispatches() {
        let window = Duration::from_secs(60);
        let mut slot = ShardSlot::default();
        slot.identify(1, "s1".into(), ready);
        let now = Instant::now();
        // Bound: never expires.
        assert_eq!(slot.expire(now + window * 2, window), None);
        slot.dispatch(event("seen")).unwrap();
        assert!(slot.unbind(1));
        let closed = Instant::now();
        slot.dispatch(event("missed")); // buffered for a RESUME
        assert_eq!(slot.expire(closed + window / 2, window), None);
        assert!(!slot.is_expired());
        let (session_id, lost) = slot.expire(closed + window, window).unwrap();
        assert_eq!((session_id.as_str(), lost), ("s1", vec![event("missed")]));
        assert!(slot.is_expired());
        assert_eq!(slot.resume(2, "s1", 2), Err(ResumeRefused::UnknownSession));
        // Nothing expires twice, and the lost dispatch does not follow the next READY.
        assert_eq!(slot.expire(closed + window * 2, window), None);
        let frames = slot.identify(2, "s2".into(), ready);
        assert_eq!(summary(&frames), [(1, "READY".into())]);
        assert!(!slot.is_expired());
    }

    #[test]
    fn a_resume_within_the_window_stops_the_clock() {
        let window = Duration::from_secs(60);
        let mut slot = ShardSlot::default();
        slot.identify(1, "s1".into(), ready);
        assert!(slot.unbind(1));
        let closed = Instant::now();
        assert!(slot.resume(2, "s1", 1).is_ok());
        assert_eq!(slot.expire(closed + window * 2, window), None);
        assert_eq!(slot.session().map(Session::id), Some("s1"));
    }

    #[test]
    fn only_the_bound_connection_unbinds_or_suspends() {
        let mut slot = ShardSlot::default();
        slot.identify(1, "s1".into(), ready);
        slot.suspend(7);
        assert!(slot.is_live());
        assert!(!slot.unbind(7));
        assert!(slot.unbind(1));
        assert!(!slot.is_live());
    }
}
