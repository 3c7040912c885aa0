//! `gasclaw escalations` and `gasclaw events`: the town's work at the
//! terminal, through the same core calls and the same follower as the bot.

use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;

use crate::core::work::announce::{self, Announcement};
use crate::core::work::events::TownEvent;
use crate::core::{Actor, Core};

#[derive(Debug, Subcommand)]
pub enum EscalationsAction {
    /// Acknowledge one (`gt escalate ack`, as the overseer).
    Ack { id: String },
    /// Close one (`gt escalate close`, as the overseer).
    Close {
        id: String,
        /// Why it is closed.
        #[arg(long, default_value = "closed from the gasclaw CLI")]
        reason: String,
    },
}

pub async fn escalations(core: &Core, json: bool, action: Option<EscalationsAction>) -> ExitCode {
    let done = match action {
        None => None,
        Some(EscalationsAction::Ack { id }) => Some(core.ack_escalation(&id, &Actor::Cli).await),
        Some(EscalationsAction::Close { id, reason }) => {
            Some(core.close_escalation(&id, &reason, &Actor::Cli).await)
        }
    };
    if let Some(r) = done {
        return match r {
            Ok(text) => {
                println!("{}", core.redactor().redact(&text));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {}", core.redactor().redact(&e.to_string()));
                ExitCode::FAILURE
            }
        };
    }
    let list = match core.escalations().await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {}", core.redactor().redact(&e.to_string()));
            return ExitCode::FAILURE;
        }
    };
    let r = core.redactor();
    let list: Vec<_> = list
        .into_iter()
        .map(|mut e| {
            e.title = r.redact(&e.title);
            e.reason = e.reason.map(|s| r.redact(&s));
            e
        })
        .collect();
    if json {
        super::print_json(&list);
        return ExitCode::SUCCESS;
    }
    if list.is_empty() {
        println!("no open escalations");
        return ExitCode::SUCCESS;
    }
    for e in &list {
        let state = if e.acked { "acked" } else { "open" };
        println!("{:<10} {:<8} {:<5} {}", e.id, e.severity, state, e.title);
        let mut facts = Vec::new();
        if let Some(by) = &e.escalated_by {
            facts.push(format!("from {by}"));
        }
        if let Some(s) = &e.source {
            facts.push(format!("source {s}"));
        }
        if let Some(by) = &e.acked_by {
            facts.push(format!("acked by {by}"));
        }
        if !facts.is_empty() {
            println!("           {}", facts.join(", "));
        }
    }
    ExitCode::SUCCESS
}

fn line(core: &Core, ev: &TownEvent, news: Option<&Announcement>, json: bool) -> String {
    let r = core.redactor();
    if json {
        let v = serde_json::json!({"event": ev, "announcement": news});
        return r.redact(&v.to_string());
    }
    let payload = if ev.payload.is_null() {
        String::new()
    } else {
        ev.payload.to_string()
    };
    let mark = match news {
        Some(a) => format!(" [{} {}]", a.kind.mute_name(), a.severity.name()),
        None => String::new(),
    };
    r.redact(&format!(
        "{} {:<16} {:<24} {payload}{mark}",
        ev.ts.format("%Y-%m-%dT%H:%M:%SZ"),
        ev.kind,
        ev.actor
    ))
}

/// The last `last` events of the log; with `follow`, then every new one
/// as it is written (through the hourly rewrite) until interrupted. `news`
/// keeps only what gasclaw announces.
pub async fn events(core: &Core, follow: bool, json: bool, news: bool, last: usize) -> ExitCode {
    let mut f = core.event_follower(false).from_start();
    let mut first = true;
    let mut stop = std::pin::pin!(shutdown());
    loop {
        let batch = match f.poll() {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        let items: Vec<(TownEvent, Option<Announcement>)> = batch
            .events
            .into_iter()
            .map(|e| {
                let a = announce::classify(&e);
                (e, a)
            })
            .filter(|(_, a)| !news || a.is_some())
            .collect();
        let skip = if first {
            items.len().saturating_sub(last)
        } else {
            0
        };
        first = false;
        for (e, a) in items.iter().skip(skip) {
            println!("{}", line(core, e, a.as_ref(), json));
        }
        if !follow {
            return ExitCode::SUCCESS;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = &mut stop => return ExitCode::SUCCESS,
        }
    }
}

async fn shutdown() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
