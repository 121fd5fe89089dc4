//! What a replay does with one event for one endpoint, as a pure function of the mode, whether
//! the endpoint takes the event now, and the event's delivery to it (if any).

use crate::domain::MessageStatus;

/// Which events a replay sends again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Deliveries to the endpoint that ended `failed`.
    Failed,
    /// Events the endpoint takes now (its current types, channels and filter) that have no
    /// delivery to it: it was added later, or was disabled or filtered them out then.
    Missing,
    /// Every event the endpoint takes now; needs `confirm`.
    All,
}

impl Mode {
    pub const NAMES: &'static str = "failed, missing, all";

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "failed" => Self::Failed,
            "missing" => Self::Missing,
            "all" => Self::All,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Failed => "failed",
            Self::Missing => "missing",
            Self::All => "all",
        }
    }
}

/// What to do for one (event, endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A new delivery, pending now.
    Insert,
    /// The ended delivery goes back to pending, its history kept.
    Reset,
    /// Nothing: not wanted, or already on its way.
    Skip,
}

/// The action for an event whose delivery to the endpoint is `delivery` (`None`: there is
/// none), when the endpoint takes the event now (`takes`).
pub fn decide(mode: Mode, takes: bool, delivery: Option<MessageStatus>) -> Action {
    use MessageStatus as S;
    match (mode, delivery) {
        (Mode::Failed, Some(S::Failed)) => Action::Reset,
        (Mode::Failed, _) => Action::Skip,
        (Mode::Missing, None) if takes => Action::Insert,
        (Mode::Missing, _) => Action::Skip,
        (Mode::All, _) if !takes => Action::Skip,
        (Mode::All, None) => Action::Insert,
        (Mode::All, Some(S::Sent | S::Failed | S::Cancelled)) => Action::Reset,
        // Pending or sending: it is already on its way (and no delivery is `unrouted`).
        (Mode::All, Some(S::Pending | S::Sending | S::Unrouted)) => Action::Skip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MessageStatus as S;

    #[test]
    fn failed_resends_only_failed_deliveries_whatever_the_endpoint_takes_now() {
        assert_eq!(decide(Mode::Failed, false, Some(S::Failed)), Action::Reset);
        assert_eq!(decide(Mode::Failed, true, Some(S::Sent)), Action::Skip);
        assert_eq!(decide(Mode::Failed, true, None), Action::Skip);
    }

    #[test]
    fn missing_adds_a_delivery_only_where_there_is_none_and_the_endpoint_takes_it() {
        assert_eq!(decide(Mode::Missing, true, None), Action::Insert);
        assert_eq!(decide(Mode::Missing, false, None), Action::Skip);
        assert_eq!(decide(Mode::Missing, true, Some(S::Failed)), Action::Skip);
        assert_eq!(
            decide(Mode::Missing, true, Some(S::Cancelled)),
            Action::Skip
        );
    }

    #[test]
    fn all_resends_what_ended_and_leaves_what_is_on_its_way() {
        assert_eq!(decide(Mode::All, true, None), Action::Insert);
        for ended in [S::Sent, S::Failed, S::Cancelled] {
            assert_eq!(decide(Mode::All, true, Some(ended)), Action::Reset);
        }
        for moving in [S::Pending, S::Sending] {
            assert_eq!(decide(Mode::All, true, Some(moving)), Action::Skip);
        }
        assert_eq!(decide(Mode::All, false, Some(S::Sent)), Action::Skip);
    }

    #[test]
    fn modes_read_back_by_name() {
        for m in [Mode::Failed, Mode::Missing, Mode::All] {
            assert_eq!(Mode::parse(m.as_str()), Some(m));
        }
        assert_eq!(Mode::parse("everything"), None);
    }
}
