//! The words of an alert (`core::alerts::Alert`), rendered when it is
//! delivered, in the recipient's language: the fact, then what the
//! incident took down with it, who acknowledged it, and how it ended.

use crate::core::activity::human_duration;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use crate::core::alerts::{Alert, AlertAction, CheckId, Fact, Subject, Transition};
use crate::telegram::press::{self, Press};
use crate::telegram::render::Tr;

/// A button's label.
pub fn button_label(tr: Tr<'_>, a: &AlertAction) -> String {
    match a {
        AlertAction::Ack => tr.raw("alert-btn-ack", &[]),
        AlertAction::Mute(d) => tr.raw("alert-btn-mute", &[("for", &short_duration(d.as_secs()))]),
        AlertAction::Restart(s) => tr.raw("alert-btn-restart", &[("service", s.name())]),
        AlertAction::Agent(v) => super::work::button_label(tr, *v),
        AlertAction::EscalationAck => tr.raw("work-button-ack", &[]),
        AlertAction::EscalationClose => tr.raw("work-button-close", &[]),
    }
}

/// `1h`, `30m`, `1d` (a button is narrow).
fn short_duration(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// The buttons of several alerts (a group, `/alerts`): a row per alert,
/// each label led by what the alert is about.
pub fn rows(tr: Tr<'_>, alerts: &[Alert]) -> Option<InlineKeyboardMarkup> {
    let rows: Vec<Vec<InlineKeyboardButton>> = alerts
        .iter()
        .filter_map(|a| {
            let subject = a.subject.label();
            let row = buttons(tr, a)?;
            Some(
                row.inline_keyboard
                    .into_iter()
                    .flatten()
                    .map(|mut b| {
                        b.text = format!("{subject} · {}", b.text);
                        b
                    })
                    .collect(),
            )
        })
        .collect();
    (!rows.is_empty()).then(|| InlineKeyboardMarkup::new(rows))
}

/// An alert's buttons in one row (none once it ended).
pub fn buttons(tr: Tr<'_>, a: &Alert) -> Option<InlineKeyboardMarkup> {
    if a.buttons.is_empty() || a.resolved.is_some() {
        return None;
    }
    let row = a
        .buttons
        .iter()
        .filter_map(|b| {
            // An agent's buttons name the agent, an escalation's the
            // escalation (as `/escalations` does); the others the incident.
            let press = match (b, &a.subject) {
                (AlertAction::Agent(verb), Subject::Agent(agent)) => Press::Agent {
                    verb: *verb,
                    agent: agent.clone(),
                },
                (AlertAction::EscalationAck, Subject::Escalation(id)) => Press::Escalation {
                    close: false,
                    id: id.clone(),
                },
                (AlertAction::EscalationClose, Subject::Escalation(id)) => Press::Escalation {
                    close: true,
                    id: id.clone(),
                },
                _ => Press::Alert {
                    incident: a.incident,
                    action: *b,
                },
            };
            press::button(button_label(tr, b), &press)
        })
        .collect::<Vec<_>>();
    if row.is_empty() {
        return None;
    }
    Some(InlineKeyboardMarkup::new(vec![row]))
}

/// An alert's whole text.
pub fn alert(tr: Tr<'_>, a: &Alert) -> String {
    let mut s = match &a.fact {
        Fact::Check {
            id,
            transition,
            detail,
            word,
        } => render(tr, *id, transition, detail, word),
        Fact::Stuck {
            agent,
            bead,
            title,
            pane,
            for_secs,
        } => super::work::stuck_text(
            tr,
            agent,
            bead.as_deref(),
            title.as_deref(),
            *pane,
            *for_secs,
        ),
        Fact::Town { news } => crate::telegram::render::town::announcement(tr, news),
    };
    if !a.consequences.is_empty() {
        let list: Vec<String> = a.consequences.iter().map(|c| c.label()).collect();
        s.push('\n');
        s.push_str(&tr.t("alert-consequences", &[("list", &list.join(", "))]));
    }
    if let Some(by) = &a.acked_by {
        s.push('\n');
        s.push_str(&format!("👀 {}", tr.t("alert-acked-by", &[("who", by)])));
    }
    if let Some(r) = &a.resolved {
        s.push('\n');
        let key = if r.healed {
            "alert-resolved-healed"
        } else {
            "alert-resolved"
        };
        s.push_str(&format!(
            "✅ {}",
            tr.t(key, &[("for", &human_duration(r.lasted.as_secs()))])
        ));
    }
    s
}

/// A short message that leads with the check and its state.
pub fn render(tr: Tr<'_>, id: CheckId, t: &Transition, detail: &str, word: &str) -> String {
    let check = id.label();
    let state = tr.raw(&format!("mon-state-{word}"), &[]);
    let word = state.as_str();
    match (id, t) {
        (CheckId::Activity, Transition::Down) => format!(
            "⏰ <b>activity</b>: {}",
            tr.t("mon-activity-late", &[("detail", detail)])
        ),
        (CheckId::Activity, Transition::StillDown { for_ }) => {
            format!(
                "⏰ <b>activity</b>: {}",
                tr.t(
                    "mon-activity-still",
                    &[("for", &human_duration(for_.as_secs())), ("detail", detail)]
                )
            )
        }
        (CheckId::Activity, Transition::Recovered { after }) => {
            format!(
                "✅ <b>activity</b>: {}",
                tr.t(
                    "mon-activity-resumed",
                    &[("for", &human_duration(after.as_secs()))]
                )
            )
        }
        (CheckId::Keys(_), Transition::Down) => {
            format!(
                "🔑 <b>{check}</b>: {}",
                crate::telegram::render::esc(detail)
            )
        }
        (CheckId::Keys(_), Transition::StillDown { for_ }) => {
            format!(
                "🔑 <b>{check}</b>: {}",
                tr.t(
                    "mon-keys-still",
                    &[("for", &human_duration(for_.as_secs())), ("detail", detail)]
                )
            )
        }
        (CheckId::Keys(_), Transition::Recovered { after }) => {
            format!(
                "✅ <b>{check}</b>: {}",
                tr.t(
                    "mon-keys-recovered",
                    &[("for", &human_duration(after.as_secs()))]
                )
            )
        }
        (_, Transition::Down) => format!(
            "🔴 <b>{check}</b> {}",
            tr.t("mon-down", &[("state", word), ("detail", detail)])
        ),
        (_, Transition::StillDown { for_ }) => format!(
            "🔴 <b>{check}</b> {}",
            tr.t(
                "mon-still-down",
                &[
                    ("state", word),
                    ("for", &human_duration(for_.as_secs())),
                    ("detail", detail)
                ]
            )
        ),
        (_, Transition::Recovered { after }) => {
            format!(
                "✅ <b>{check}</b> {}",
                tr.t(
                    "mon-recovered",
                    &[("for", &human_duration(after.as_secs()))]
                )
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::core::Service;
    use crate::core::alerts::{IncidentId, Resolution, Severity, Subject};
    use crate::i18n::Locales;

    fn dolt_down() -> Alert {
        let id = CheckId::Service(Service::Dolt);
        Alert {
            incident: IncidentId(42),
            subject: Subject::Check(id),
            severity: Severity::Critical,
            fact: Fact::Check {
                id,
                transition: Transition::Down,
                detail: "port 3307: connection refused".into(),
                word: "down".into(),
            },
            buttons: vec![
                AlertAction::Ack,
                AlertAction::Mute(Duration::from_secs(3600)),
                AlertAction::Restart(Service::Dolt),
            ],
            consequences: vec![
                Subject::Check(CheckId::Service(Service::Daemon)),
                Subject::Check(CheckId::Service(Service::Mayor)),
            ],
            acked_by: None,
            resolved: None,
        }
    }

    /// The text, then the buttons' labels (what a person sees).
    fn seen(tr: Tr<'_>, a: &Alert) -> String {
        let mut s = alert(tr, a);
        if let Some(m) = buttons(tr, a) {
            let labels: Vec<String> = m
                .inline_keyboard
                .iter()
                .flatten()
                .map(|b| format!("[{}]", b.text))
                .collect();
            s.push_str("\n---\n");
            s.push_str(&labels.join(" "));
        }
        s
    }

    #[test]
    fn alert_snapshots() {
        let l = Locales::embedded();
        let mut acked = dolt_down();
        acked.acked_by = Some("ann".into());
        let mut resolved = acked.clone();
        resolved.resolved = Some(Resolution {
            lasted: Duration::from_secs(754),
            healed: true,
        });
        let mut by_hand = dolt_down();
        by_hand.resolved = Some(Resolution {
            lasted: Duration::from_secs(3900),
            healed: false,
        });
        for lang in l.languages() {
            let tr = Tr::new(&l, lang);
            for (name, a) in [
                ("open", dolt_down()),
                ("acked", acked.clone()),
                ("resolved-healed", resolved.clone()),
                ("resolved", by_hand.clone()),
            ] {
                let text = seen(tr, &a);
                gasclaw_fakes::bot_api::parse_html(text.split("\n---\n").next().unwrap_or(""))
                    .unwrap_or_else(|e| panic!("{name}/{lang}: bad HTML ({e}): {text}"));
                insta::assert_snapshot!(format!("alert-{name}-{lang}"), text);
            }
        }
    }

    /// A group of alerts and the quiet hours' summary as the outbox renders
    /// them (one message).
    #[test]
    fn group_snapshots() {
        use crate::config::ChatTarget;
        use crate::telegram::outbox::{Outbox, Renderer};
        let l = std::sync::Arc::new(Locales::embedded());
        for lang in l.languages() {
            let dir = tempfile::tempdir().expect("tempdir");
            let ob = Outbox::open_with(dir.path(), Renderer::new(l.clone(), lang)).expect("outbox");
            let t = ChatTarget {
                chat_id: 1,
                thread_id: None,
            };
            let mut activity = dolt_down();
            activity.incident = IncidentId(43);
            activity.severity = Severity::Warning;
            activity.consequences.clear();
            activity.fact = Fact::Check {
                id: CheckId::Activity,
                transition: Transition::Down,
                detail: "no commit for 65 min (deadline 60 min)".into(),
                word: "late".into(),
            };
            ob.group(t, vec![dolt_down(), activity.clone()], false)
                .expect("group");
            ob.group(t, vec![activity], true).expect("summary");
            for (name, e) in ["group", "quiet-summary"]
                .into_iter()
                .zip(ob.pending().expect("pending"))
            {
                let text = ob.render_for_test(&e);
                gasclaw_fakes::bot_api::parse_html(&text)
                    .unwrap_or_else(|e| panic!("{name}/{lang}: bad HTML ({e}): {text}"));
                insta::assert_snapshot!(format!("alert-{name}-{lang}"), text);
            }
        }
    }

    #[test]
    fn an_ended_incident_has_no_buttons() {
        let l = Locales::embedded();
        let tr = Tr::new(&l, "en");
        let mut a = dolt_down();
        assert_eq!(buttons(tr, &a).map(|m| m.inline_keyboard[0].len()), Some(3));
        a.resolved = Some(Resolution {
            lasted: Duration::from_secs(1),
            healed: false,
        });
        assert!(buttons(tr, &a).is_none());
    }
}
