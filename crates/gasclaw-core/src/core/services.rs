//! Restarting and stopping services, through the same adapters bootstrap
//! uses. A restart is confirmed by the service's real health check.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::events::Event;
use super::health::{Check, CheckStatus};
use super::{Actor, Core, CoreError, Service};
use crate::stack::StackError;
use crate::stack::dolt;
use crate::stack::openclaw::GatewayHealth;

/// Reverse start order.
const STOP_ORDER: [Service; 4] = [
    Service::Mayor,
    Service::Daemon,
    Service::Gateway,
    Service::Dolt,
];

/// How long a restarted service may take to pass its check.
const SETTLE: Duration = Duration::from_secs(30);

/// The result of a restart: what was done and the check afterwards.
#[derive(Debug, Clone, Serialize)]
pub struct RestartReport {
    pub service: Service,
    pub action: String,
    pub check: Check,
}

impl RestartReport {
    pub fn ok(&self) -> bool {
        self.check.status == CheckStatus::Ok
    }
}

/// One line per service stopped.
#[derive(Debug, Clone, Serialize)]
pub struct StopReport {
    pub stopped: Vec<(Service, Result<String, String>)>,
}

impl StopReport {
    pub fn ok(&self) -> bool {
        self.stopped.iter().all(|(_, r)| r.is_ok())
    }
}

impl Core {
    /// Restarts one service and waits (bounded) until its check passes: the
    /// one restart path, for people (`/restart`, `gasclaw restart`) and for
    /// the monitor's healing alike. `by` names who asked (for the event
    /// stream and the logs) and decides two things:
    /// - a person waits (bounded) for a service another action holds;
    ///   healing never queues behind a person or bootstrap, it gets
    ///   `ServiceBusy` at once;
    /// - a person's restart also ends the service's stopped-on-purpose mark
    ///   (healing never touches a stopped service, nor its mark).
    pub async fn restart(&self, service: Service, by: &Actor) -> Result<RestartReport, CoreError> {
        let _guard = if by.is_human() {
            self.lock_service(service, Duration::from_secs(60)).await?
        } else {
            self.try_lock_service(service)
                .ok_or_else(|| CoreError::ServiceBusy {
                    service,
                    holder: "another action".into(),
                })?
        };
        tracing::info!(service = %service, by = %by, "restarting");
        let result = self.restart_locked(service).await;
        // Cleared once the restart is over (even a failed one: the person
        // wants it back, so its being down is news again), so the monitor
        // of a running gasclaw never sees it unmarked and half-started.
        if by.is_human() {
            match self.stopped_file().clear(&[service]) {
                Ok(c) if !c.is_empty() => {
                    tracing::info!(service = %service, by = %by, "no longer stopped on purpose")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "could not clear the stopped state"),
            }
        }
        let event_result = match &result {
            Ok(r) if r.ok() => Ok(r.action.clone()),
            Ok(r) => Err(format!("{}; then {}", r.action, r.check.detail)),
            Err(e) => Err(e.to_string()),
        };
        match &event_result {
            Ok(action) => {
                tracing::info!(service = %service, by = %by, action = %action, "restarted")
            }
            Err(e) => tracing::warn!(service = %service, by = %by, error = %e, "restart failed"),
        }
        self.publish(Event::Restarted {
            service,
            by: by.clone(),
            result: event_result,
        });
        result
    }

    /// The restart itself; the caller holds the service lock.
    async fn restart_locked(&self, service: Service) -> Result<RestartReport, CoreError> {
        let action = match service {
            Service::Dolt => {
                // Never start a second server: stop gt's, then start it.
                self.gastown.dolt_stop().await?;
                self.gastown.dolt_start().await?;
                "restarted Dolt with `gt dolt stop` + `gt dolt start`".to_string()
            }
            Service::Daemon => {
                self.gastown.daemon_stop().await?;
                self.gastown.daemon_start().await?;
                "restarted the Gastown daemon".to_string()
            }
            Service::Mayor => {
                self.gastown.mayor_stop().await?;
                self.gastown.mayor_start().await?;
                "restarted the Mayor".to_string()
            }
            Service::Gateway => {
                let was = self.openclaw.stop_gateway(Duration::from_secs(10)).await;
                if let GatewayHealth::Wrong(why) = self.openclaw.health().await {
                    return Err(StackError::Other(format!(
                        "port {} is taken by something that is not gasclaw's gateway: {why}",
                        self.config().gateway_port
                    ))
                    .into());
                }
                let pid = self.openclaw.spawn_gateway()?;
                format!(
                    "{} the OpenClaw gateway (pid {pid})",
                    if was { "restarted" } else { "started" }
                )
            }
            Service::Agents => {
                // `gt up` starts every agent that is not running and leaves
                // running ones alone.
                self.gastown.up().await?;
                "started every agent that was not running (`gt up`)".to_string()
            }
        };
        if service != Service::Agents {
            self.mark_started(service);
        }
        let check = self.settle(service).await;
        Ok(RestartReport {
            service,
            action,
            check,
        })
    }

    /// Polls a service's check until it passes or `SETTLE` (the gateway's
    /// first boot: its start-up budget) runs out.
    async fn settle(&self, service: Service) -> Check {
        let budget = if service == Service::Gateway {
            super::bootstrap::GATEWAY_START_TIMEOUT
        } else {
            SETTLE
        };
        let start = Instant::now();
        loop {
            let check = self.check(service).await;
            if check.status == CheckStatus::Ok || start.elapsed() > budget {
                return check;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Stops the stack in reverse start order: Mayor, daemon, gateway, Dolt,
    /// and marks it stopped on purpose by `by` first (so the monitor never
    /// heals a service in the middle of the stop). The mark is persisted:
    /// it holds until `/bootstrap` or `/restart <service>`, across restarts
    /// of gasclaw. The agents go with the town, so they are marked too.
    pub async fn stop(&self, by: &Actor) -> Result<StopReport, CoreError> {
        self.stopped_file()
            .mark(&Service::ALL, &by.to_string())
            .map_err(|e| CoreError::Io {
                what: "writing the stopped state".into(),
                source: e,
            })?;
        tracing::info!(by = %by, "stopping the stack on purpose");
        Ok(self.stop_these(&STOP_ORDER).await)
    }

    /// Stops, in reverse start order, only what this process started
    /// (`gasclaw run` at SIGTERM leaves a stack it found running alone).
    pub async fn stop_started(&self) -> StopReport {
        let mine = self.started_here();
        let order: Vec<Service> = STOP_ORDER
            .into_iter()
            .filter(|s| mine.contains(s))
            .collect();
        self.stop_these(&order).await
    }

    async fn stop_these(&self, order: &[Service]) -> StopReport {
        let mut stopped = Vec::new();
        for &s in order {
            let _guard = self.lock_service(s, Duration::from_secs(60)).await;
            let r = self.stop_one(s).await;
            if let Err(e) = &r {
                tracing::warn!(service = %s, error = %e, "stop failed");
            }
            stopped.push((s, r));
        }
        StopReport { stopped }
    }

    async fn stop_one(&self, s: Service) -> Result<String, String> {
        let town = self.gastown.town_exists();
        match s {
            Service::Mayor if town => self.gastown.mayor_stop().await.map(|_| "stopped".into()),
            Service::Daemon if town => self.gastown.daemon_stop().await.map(|_| "stopped".into()),
            Service::Dolt if town => {
                if !dolt::probe(self.config().dolt_port).await.is_serving() {
                    return Ok("was not running".into());
                }
                self.gastown.dolt_stop().await.map(|_| "stopped".into())
            }
            Service::Gateway => {
                return Ok(
                    if self.openclaw.stop_gateway(Duration::from_secs(10)).await {
                        "stopped".into()
                    } else {
                        "was not running (or not started by gasclaw)".into()
                    },
                );
            }
            _ => return Ok("no town".into()),
        }
        .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::Config;

    fn core(dir: &std::path::Path) -> std::sync::Arc<Core> {
        let home = dir.join("home");
        let env: BTreeMap<String, String> = [
            ("GASTOWN_KIMI_KEYS", "sk-kimi-aaaaaaaaaaaaaaaaaaaa1111"),
            ("OPENCLAW_KIMI_KEY", "sk-kimi-oooooooooooooooooooo9999"),
            ("TELEGRAM_BOT_TOKEN", "123456:AAbbCCddEEff_gg-hh"),
            ("TELEGRAM_OWNER_ID", "42"),
            ("HOME", dir.to_str().unwrap()),
            ("GASCLAW_HOME", home.to_str().unwrap()),
            ("GT_ROOT", dir.join("gt").to_str().unwrap()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Core::new(Config::load(&env).unwrap()).unwrap()
    }

    /// Healing goes through the same `restart` as a person, but never
    /// queues behind one: with the service held it gets `ServiceBusy` at
    /// once (a person would wait), announces nothing and leaves a
    /// stopped-on-purpose mark alone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn healing_never_waits_for_a_held_service_nor_touches_its_mark() {
        let dir = tempfile::tempdir().unwrap();
        let core = core(dir.path());
        core.stopped_file()
            .mark(&[Service::Mayor], "Owner (42)")
            .unwrap();
        let mut events = core.subscribe();
        let _held = core
            .lock_service(Service::Mayor, Duration::from_secs(1))
            .await
            .unwrap();
        let r = tokio::time::timeout(
            Duration::from_secs(5),
            core.restart(Service::Mayor, &Actor::Monitor),
        )
        .await
        .expect("the monitor's restart returned at once");
        assert!(
            matches!(
                r,
                Err(CoreError::ServiceBusy {
                    service: Service::Mayor,
                    ..
                })
            ),
            "{r:?}"
        );
        assert!(events.try_recv().is_err(), "nothing was restarted");
        assert_eq!(core.stopped_file().load()[&Service::Mayor].by, "Owner (42)");
    }
}
