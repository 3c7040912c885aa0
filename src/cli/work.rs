//! `gasclaw agents|peek|nudge|pause|resume`: the town's work at the
//! terminal, through the same core calls as the bot.

use std::process::ExitCode;

use crate::core::work::pause::PauseOutcome;
use crate::core::work::{Nudged, WorkReport};
use crate::core::{Actor, Core};

fn mark_line(a: &crate::core::work::AgentWork) -> String {
    let mut s = format!(
        "{:<24} {:<8} {:<11}",
        a.address,
        if a.running { "running" } else { "stopped" },
        a.mark.name()
    );
    if let Some(b) = &a.hook_bead {
        s.push_str(&format!(" {b}"));
        if let Some(t) = a.work_title.as_deref().filter(|t| t != b) {
            s.push_str(&format!(" ({t})"));
        }
    }
    if let Some(p) = a.since_progress_secs.filter(|_| a.hook_bead.is_some()) {
        s.push_str(&format!(
            ", last progress {} ago",
            crate::core::activity::human_duration(p)
        ));
    }
    if let Some(p) = a.pane_same_secs.filter(|_| a.mark.is_stuck()) {
        s.push_str(&format!(
            ", same screen for {}",
            crate::core::activity::human_duration(p)
        ));
    }
    s
}

pub fn print_agents(r: &WorkReport) {
    for e in &r.paused {
        match &e.rig {
            None => println!("PAUSED   the town ({})", e.reason),
            Some(rig) => println!("PAUSED   rig {rig} ({})", e.reason),
        }
    }
    for a in &r.agents {
        println!("{}", mark_line(a));
    }
    if let Some(e) = &r.error {
        println!("partly unknown: {e}");
    }
}

/// `gasclaw agents [--json]` (exit 1 when the agents cannot be listed).
pub async fn agents(core: &Core, json: bool) -> ExitCode {
    let r = core.agents_work(core.config().check_timeout, false).await;
    if json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
    } else if r.agents.is_empty()
        && let Some(e) = &r.error
    {
        println!("cannot list the agents: {e}");
    } else {
        print_agents(&r);
    }
    if r.agents.is_empty() && r.error.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `gasclaw peek <agent> [lines]`: the pane, redacted.
pub async fn peek(core: &Core, agent: &str, lines: u32) -> ExitCode {
    match core.peek(agent, lines).await {
        Ok(text) => {
            print!("{text}");
            if !text.ends_with('\n') {
                println!();
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gasclaw: cannot peek {agent}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `gasclaw nudge <agent> <text…>` (waits for the agent's prompt, ≤ 100 s).
pub async fn nudge(core: &Core, agent: &str, text: &[String]) -> ExitCode {
    match core.nudge(agent, &text.join(" "), &Actor::Cli).await {
        Ok(Nudged::Delivered(line)) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Ok(Nudged::Skipped(line)) => {
            println!("{line}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("gasclaw: cannot nudge {agent}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `gasclaw pause|resume [rig]`.
pub async fn pause(core: &Core, rig: Option<&str>, resume: bool) -> ExitCode {
    let what = match rig {
        Some(r) => format!("rig {r}"),
        None => "the town".to_string(),
    };
    let r = if resume {
        core.resume(rig, &Actor::Cli).await
    } else {
        core.pause(rig, &Actor::Cli).await
    };
    match r {
        Ok(PauseOutcome::Done(line)) => {
            println!(
                "{} {what}: {line}",
                if resume { "resumed" } else { "paused" }
            );
            ExitCode::SUCCESS
        }
        Ok(PauseOutcome::Unchanged) => {
            println!(
                "{what} was {}",
                if resume {
                    "not paused"
                } else {
                    "already paused"
                }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "gasclaw: cannot {} {what}: {e}",
                if resume { "resume" } else { "pause" }
            );
            ExitCode::FAILURE
        }
    }
}
