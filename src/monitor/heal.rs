//! Healing: a down Mayor, daemon, Dolt or gateway is restarted through the
//! core, with backoff between attempts (doubling from `HEAL_BACKOFF` up to
//! 30× it); after `heal_limit` failures within an hour the monitor stops,
//! says "needs a human" with the last error, and tries again only after a
//! person's `/restart` or a recovery. It takes the service's lock without
//! waiting, so it never works on a service a person (or bootstrap) is
//! working on. Only a check that says "down" is healed: a probe that failed
//! or timed out is no evidence, and on a loaded machine restarting a healthy
//! service (with its settling wait) would hold the monitor up.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{CheckId, Monitor};
use crate::core::activity::human_duration;
use crate::core::alerts::Severity;
use crate::core::health::{CheckStatus, StatusReport};
use crate::core::{Actor, CoreError, Service};

const WINDOW: Duration = Duration::from_secs(3600);

#[derive(Debug)]
pub struct HealState {
    failures: VecDeque<Instant>,
    next_try: Option<Instant>,
    backoff: Duration,
    attempts: usize,
    gave_up: bool,
}

impl HealState {
    fn new(initial: Duration) -> HealState {
        HealState {
            failures: VecDeque::new(),
            next_try: None,
            backoff: initial,
            attempts: 0,
            gave_up: false,
        }
    }
}

/// The services healing restarts, in start order.
const HEALABLE: [Service; 4] = [
    Service::Dolt,
    Service::Gateway,
    Service::Daemon,
    Service::Mayor,
];

impl Monitor {
    pub(super) async fn heal_down(&self, report: &StatusReport) {
        for s in HEALABLE {
            let Some(check) = report.checks.iter().find(|c| c.name == s) else {
                continue;
            };
            if check.stopped.is_some() {
                // Stopped on purpose: a person decides when it comes back.
                continue;
            }
            if check.status == CheckStatus::Ok {
                // A recovery: healing may try again next time.
                self.heal
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&s);
                continue;
            }
            if check.status != CheckStatus::Down || check.timed_out {
                // Its probe failed or gave no answer in time: no evidence
                // the service is down (a loaded machine answers slowly), and
                // a restart of a healthy service would be the outage.
                tracing::info!(service = %s, detail = %check.detail, "not healing: its check gave no answer");
                continue;
            }
            self.heal_one(s).await;
        }
    }

    async fn heal_one(&self, s: Service) {
        let now = Instant::now();
        {
            let mut h = self.heal.lock().unwrap_or_else(|e| e.into_inner());
            let st = h
                .entry(s)
                .or_insert_with(|| HealState::new(self.settings.heal_backoff));
            if st.gave_up || st.next_try.is_some_and(|t| t > now) {
                return;
            }
        }
        // The core's one restart path; as the monitor it never waits for
        // a service a person or bootstrap works on.
        let result = match self.core.restart(s, &Actor::Monitor).await {
            Err(CoreError::ServiceBusy { .. }) => {
                tracing::info!(service = %s, "not healing: another action holds the service");
                return;
            }
            other => other,
        };
        let tr = self.tr();
        let id = CheckId::Service(s);
        let mut h = self.heal.lock().unwrap_or_else(|e| e.into_inner());
        let st = h
            .entry(s)
            .or_insert_with(|| HealState::new(self.settings.heal_backoff));
        st.attempts += 1;
        let n = st.attempts.to_string();
        let error = match result {
            Ok(r) if r.ok() => {
                h.remove(&s);
                drop(h);
                if let Some(i) = self.core.alerts().incident_of(id) {
                    self.resolve(i, chrono::Utc::now(), true);
                }
                let down_for = self.core.alerts().clear(id);
                let html = format!(
                    "🔧 <b>{s}</b> {}",
                    tr.t(
                        "mon-heal-ok",
                        &[
                            ("n", &n),
                            (
                                "for",
                                &human_duration(down_for.unwrap_or_default().as_secs())
                            )
                        ]
                    )
                );
                self.alert(Some(id), Severity::Info, html);
                return;
            }
            Ok(r) => r.check.detail,
            Err(e) => e.to_string(),
        };
        let now = Instant::now();
        st.failures.push_back(now);
        while st
            .failures
            .front()
            .is_some_and(|t| now.duration_since(*t) > WINDOW)
        {
            st.failures.pop_front();
        }
        let html = if st.failures.len() >= self.settings.heal_limit {
            st.gave_up = true;
            format!(
                "🆘 <b>{s}</b> {}",
                tr.t(
                    "mon-heal-gave-up",
                    &[
                        ("n", &st.failures.len().to_string()),
                        ("error", &error),
                        ("service", s.name())
                    ]
                )
            )
        } else {
            let wait = st.backoff;
            st.next_try = Some(now + wait);
            st.backoff = (st.backoff * 2).min(self.settings.heal_backoff * 30);
            format!(
                "🔧 <b>{s}</b> {}",
                tr.t(
                    "mon-heal-failed",
                    &[
                        ("n", &n),
                        ("error", &error),
                        ("wait", &human_duration(wait.as_secs()))
                    ]
                )
            )
        };
        let st_gave_up = st.gave_up;
        drop(h);
        tracing::warn!(service = %s, error = %error, "healing failed");
        let severity = if st_gave_up {
            Severity::Critical
        } else {
            Severity::Warning
        };
        self.alert(Some(id), severity, html);
    }
}
