//! The VM power-state machine: which action is allowed from which state, and where it leads.

use super::PowerState;

/// A power action posted to `.../virtualMachines/{vm}/{action}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PowerAction {
    Start,
    PowerOff,
    Deallocate,
    Restart,
}

impl PowerAction {
    /// The action for a lowercase path segment.
    pub(crate) fn from_segment(segment: &str) -> Option<Self> {
        match segment {
            "start" => Some(Self::Start),
            "poweroff" => Some(Self::PowerOff),
            "deallocate" => Some(Self::Deallocate),
            "restart" => Some(Self::Restart),
            _ => None,
        }
    }

    /// The name as the REST API spells it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::PowerOff => "powerOff",
            Self::Deallocate => "deallocate",
            Self::Restart => "restart",
        }
    }

    /// The transitional state the action passes through.
    fn during(self) -> PowerState {
        match self {
            Self::Start | Self::Restart => PowerState::Starting,
            Self::PowerOff => PowerState::Stopping,
            Self::Deallocate => PowerState::Deallocating,
        }
    }

    /// The settled state the action ends in.
    fn target(self) -> PowerState {
        match self {
            Self::Start | Self::Restart => PowerState::Running,
            Self::PowerOff => PowerState::Stopped,
            Self::Deallocate => PowerState::Deallocated,
        }
    }
}

/// What an allowed action does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    /// The VM is already where the action leads: the operation succeeds at once.
    NoOp,
    /// The same kind of transition is under way: the caller shares its operation.
    Join,
    /// The VM moves to `during` now and to `target` when the operation completes.
    Transition {
        during: PowerState,
        target: PowerState,
    },
}

/// Why an action is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Another kind of transition is under way (409 `Conflict`).
    Busy { current: PowerState },
    /// Azure does not allow the action from this state (409 `OperationNotAllowed`).
    NotAllowed { current: PowerState },
}

/// Decides what `action` does to a VM in state `current`.
pub(crate) fn plan(action: PowerAction, current: PowerState) -> Result<Plan, Refusal> {
    use PowerState::{Deallocated, Running, Stopped};
    if current.is_transitional() {
        return if current == action.during() {
            Ok(Plan::Join)
        } else {
            Err(Refusal::Busy { current })
        };
    }
    let transition = Plan::Transition {
        during: action.during(),
        target: action.target(),
    };
    match (action, current) {
        (PowerAction::Start, Running)
        | (PowerAction::PowerOff, Stopped | Deallocated)
        | (PowerAction::Deallocate, Deallocated) => Ok(Plan::NoOp),
        (PowerAction::Restart, Stopped | Deallocated) => Err(Refusal::NotAllowed { current }),
        _ => Ok(transition),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PowerState::*;

    #[test]
    fn every_action_from_every_state() {
        let transition = |during, target| Ok(Plan::Transition { during, target });
        let busy = |current| Err(Refusal::Busy { current });
        let cases = [
            (PowerAction::Start, Running, Ok(Plan::NoOp)),
            (PowerAction::Start, Stopped, transition(Starting, Running)),
            (
                PowerAction::Start,
                Deallocated,
                transition(Starting, Running),
            ),
            (PowerAction::Start, Starting, Ok(Plan::Join)),
            (PowerAction::Start, Stopping, busy(Stopping)),
            (
                PowerAction::PowerOff,
                Running,
                transition(Stopping, Stopped),
            ),
            (PowerAction::PowerOff, Stopped, Ok(Plan::NoOp)),
            (PowerAction::PowerOff, Deallocated, Ok(Plan::NoOp)),
            (PowerAction::PowerOff, Stopping, Ok(Plan::Join)),
            (PowerAction::PowerOff, Deallocating, busy(Deallocating)),
            (
                PowerAction::Deallocate,
                Running,
                transition(Deallocating, Deallocated),
            ),
            (
                PowerAction::Deallocate,
                Stopped,
                transition(Deallocating, Deallocated),
            ),
            (PowerAction::Deallocate, Deallocated, Ok(Plan::NoOp)),
            (PowerAction::Deallocate, Starting, busy(Starting)),
            (PowerAction::Restart, Running, transition(Starting, Running)),
            (
                PowerAction::Restart,
                Stopped,
                Err(Refusal::NotAllowed { current: Stopped }),
            ),
            (
                PowerAction::Restart,
                Deallocated,
                Err(Refusal::NotAllowed {
                    current: Deallocated,
                }),
            ),
            (PowerAction::Restart, Starting, Ok(Plan::Join)),
        ];
        for (action, current, expected) in cases {
            assert_eq!(
                plan(action, current),
                expected,
                "{action:?} from {current:?}"
            );
        }
    }

    #[test]
    fn segments_name_actions() {
        for action in [
            PowerAction::Start,
            PowerAction::PowerOff,
            PowerAction::Deallocate,
            PowerAction::Restart,
        ] {
            let segment = action.name().to_lowercase();
            assert_eq!(PowerAction::from_segment(&segment), Some(action));
        }
        assert_eq!(PowerAction::from_segment("hibernate"), None);
    }
}
