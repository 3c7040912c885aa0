//! What fails because something else is down, declared in one place: the
//! monitor alerts the cause once, lists the consequences in the cause's
//! alert instead of alerting them separately, and alerts the consequences
//! still down when the cause recovers.

use super::CheckId;
use crate::core::Service;
use crate::keys::PoolKind;

/// Each cause with what it takes down. Dolt holds the town's state: the
/// daemon, the Mayor and the agents fail without it and nothing is
/// committed. Every agent key cooling leaves the agents idle (no commits).
/// (The gateway down makes the overseer unavailable too, but the overseer
/// has no check of its own to fold.)
pub const DEPENDENCIES: &[(CheckId, &[CheckId])] = &[
    (
        CheckId::Service(Service::Dolt),
        &[
            CheckId::Service(Service::Daemon),
            CheckId::Service(Service::Mayor),
            CheckId::Service(Service::Agents),
            CheckId::Activity,
        ],
    ),
    (CheckId::Keys(PoolKind::Agents), &[CheckId::Activity]),
];

/// What `cause` takes down with it.
pub fn consequences(cause: CheckId) -> &'static [CheckId] {
    DEPENDENCIES
        .iter()
        .find(|(c, _)| *c == cause)
        .map(|(_, of)| *of)
        .unwrap_or(&[])
}

/// What can take `check` down, in the order declared.
pub fn causes(check: CheckId) -> impl Iterator<Item = CheckId> {
    DEPENDENCIES
        .iter()
        .filter(move |(_, of)| of.contains(&check))
        .map(|(c, _)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dolt_takes_the_town_down_and_keys_the_activity() {
        let dolt = CheckId::Service(Service::Dolt);
        assert_eq!(
            consequences(dolt),
            [
                CheckId::Service(Service::Daemon),
                CheckId::Service(Service::Mayor),
                CheckId::Service(Service::Agents),
                CheckId::Activity
            ]
        );
        assert_eq!(
            causes(CheckId::Activity).collect::<Vec<_>>(),
            [dolt, CheckId::Keys(PoolKind::Agents)]
        );
        assert_eq!(causes(dolt).count(), 0);
        assert!(consequences(CheckId::Telegram).is_empty());
    }

    #[test]
    fn no_check_is_its_own_cause_nor_a_cause_of_its_cause() {
        for (cause, of) in DEPENDENCIES {
            assert!(!of.contains(cause), "{cause} depends on itself");
            for c in *of {
                assert!(
                    !consequences(*c).contains(cause),
                    "{cause} and {c} depend on each other"
                );
            }
        }
    }
}
