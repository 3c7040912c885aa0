//! Button presses as typed values: every inline button's callback data is
//! written by [`Press::data`] and read back by [`Press::parse`], so the
//! wire format (Telegram allows 64 bytes) lives in one place and a press
//! reaches its handler already typed. Data from a client is untrusted: what
//! does not parse is answered with nothing.

use crate::core::alerts::incident::AgentVerb;
use crate::core::alerts::{AlertAction, IncidentId};

/// Telegram's limit on a button's callback data.
pub const MAX_DATA: usize = 64;

/// A button press.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Press {
    /// A confirmation's Yes (`ok:<id>`) or No (`no:<id>`).
    Confirm { yes: bool, id: String },
    /// An alert's button (`al:<incident>:<action>`).
    Alert {
        incident: IncidentId,
        action: AlertAction,
    },
    /// A stuck agent's Peek, Nudge or Restart (`ag:<p|n|r>:<agent>`).
    Agent { verb: AgentVerb, agent: String },
    /// An escalation's Ack (`es:a:<id>`) or Close (`es:c:<id>`).
    Escalation { close: bool, id: String },
}

impl Press {
    /// The callback data, when it fits in Telegram's 64 bytes.
    pub fn data(&self) -> Option<String> {
        let data = match self {
            Press::Confirm { yes, id } => format!("{}:{id}", if *yes { "ok" } else { "no" }),
            Press::Alert { incident, action } => format!("al:{incident}:{}", action.code()),
            Press::Agent { verb, agent } => format!("ag:{}:{agent}", verb.code()),
            Press::Escalation { close, id } => {
                format!("es:{}:{id}", if *close { "c" } else { "a" })
            }
        };
        (data.len() <= MAX_DATA).then_some(data)
    }

    /// The press `data` stands for; `None` for anything else.
    pub fn parse(data: &str) -> Option<Press> {
        let (kind, rest) = data.split_once(':')?;
        let word = |s: &str| (!s.is_empty()).then(|| s.to_string());
        match kind {
            "ok" | "no" => Some(Press::Confirm {
                yes: kind == "ok",
                id: word(rest)?,
            }),
            "al" => {
                let (id, code) = rest.split_once(':')?;
                Some(Press::Alert {
                    incident: IncidentId(id.parse().ok()?),
                    action: AlertAction::parse(code)?,
                })
            }
            "ag" => {
                let (verb, agent) = rest.split_once(':')?;
                Some(Press::Agent {
                    verb: AgentVerb::parse(verb)?,
                    agent: word(agent)?,
                })
            }
            "es" => {
                let (verb, id) = rest.split_once(':')?;
                let close = match verb {
                    "a" => false,
                    "c" => true,
                    _ => return None,
                };
                Some(Press::Escalation {
                    close,
                    id: word(id)?,
                })
            }
            _ => None,
        }
    }
}

/// A button that sends `press`; none when its data would not fit.
pub fn button(label: String, press: &Press) -> Option<teloxide::types::InlineKeyboardButton> {
    press
        .data()
        .map(|data| teloxide::types::InlineKeyboardButton::callback(label, data))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;
    use crate::core::Service;

    #[test]
    fn every_press_round_trips_within_64_bytes() {
        let incident = IncidentId(99_999_999_999_999);
        let mut presses = vec![
            Press::Confirm {
                yes: true,
                id: "17".into(),
            },
            Press::Confirm {
                yes: false,
                id: "17".into(),
            },
            Press::Escalation {
                close: false,
                id: "hq-ab12".into(),
            },
            Press::Escalation {
                close: true,
                id: "x".repeat(59),
            },
        ];
        for action in [
            AlertAction::Ack,
            AlertAction::Mute(Duration::from_secs(3600)),
            AlertAction::Restart(Service::Gateway),
            AlertAction::Agent(AgentVerb::Nudge),
            AlertAction::EscalationAck,
            AlertAction::EscalationClose,
        ] {
            presses.push(Press::Alert { incident, action });
        }
        for verb in AgentVerb::ALL {
            presses.push(Press::Agent {
                verb,
                agent: "project/crew/someone".into(),
            });
        }
        for p in presses {
            let data = p.data().expect("fits");
            assert!(data.len() <= MAX_DATA, "{data}");
            assert_eq!(Press::parse(&data), Some(p), "{data}");
        }
        assert_eq!(
            Press::Escalation {
                close: false,
                id: "hq-ab12".into()
            }
            .data()
            .as_deref(),
            Some("es:a:hq-ab12")
        );
        // Too long for a button: no data, so no button.
        let long = Press::Agent {
            verb: AgentVerb::Peek,
            agent: "x".repeat(61),
        };
        assert_eq!(long.data(), None);
    }

    #[test]
    fn what_is_not_a_press_is_none() {
        for bad in [
            "",
            "ok",
            "ok:",
            "al:1:mute:0",
            "al:1:mute:99999999999",
            "al:x:ack",
            "al:1:restart:nope",
            "al:1:ack:extra",
            "al:1",
            "ag:x:mayor",
            "ag:p:",
            "es:z:hq-1",
            "es:a:",
            "zz:1",
        ] {
            assert_eq!(Press::parse(bad), None, "{bad:?}");
        }
    }

    proptest! {
        /// Whatever a client sends as callback data, parsing never panics
        /// and what parses writes back as the same data.
        #[test]
        fn any_data_parses_or_not_without_panic(data in "\\PC{0,80}") {
            if let Some(p) = Press::parse(&data)
                && let Some(again) = p.data()
            {
                prop_assert_eq!(Press::parse(&again), Some(p));
            }
        }
    }
}
