//! Built-in commands as typed values, as bors parses `@bors` comments into
//! its command enum: the catalogue (`commands/*.toml`) checks the words a
//! person typed against its argument specs and roles; this turns the
//! checked words into a [`BotCommand`] whose fields are domain types
//! (`Service`, a duration, a pull request's number …), so no handler
//! parses a string again. Operators' own commands stay data: `Exec`.

use std::sync::Arc;
use std::time::Duration;

use super::catalogue::{Action, ArgValue, Args, CommandSpec, UsageError};
use crate::core::Service;
use crate::keys::usage::Period;

/// What `/restart` restarts: one of gasclaw's services, or one agent with
/// its role's own restart command (the core checks the address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestartTarget {
    Service(Service),
    Agent(String),
}

impl RestartTarget {
    /// A service's name, else an agent's address.
    pub fn parse(word: &str) -> RestartTarget {
        match word.parse::<Service>() {
            Ok(s) => RestartTarget::Service(s),
            Err(_) => RestartTarget::Agent(word.to_string()),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            RestartTarget::Service(s) => s.name(),
            RestartTarget::Agent(a) => a,
        }
    }
}

/// Which way `/pause` and `/resume` turn the town.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freeze {
    Pause,
    Resume,
}

/// A built-in command with its arguments.
#[derive(Debug, Clone)]
pub enum BotCommand {
    Help,
    Status,
    Keys,
    /// `/keys clear <key>` (a sub-command; operators).
    ClearKey {
        key: String,
    },
    Agents,
    Activity,
    Restart(RestartTarget),
    Bootstrap,
    Stop,
    /// `/mute <check|all> <duration>`: a name from `core::alerts::mute_names`.
    Mute {
        check: String,
        for_: Duration,
    },
    Unmute {
        check: String,
    },
    Alerts,
    Tasks,
    Task {
        id: String,
    },
    NewTask {
        title: String,
    },
    Done {
        id: String,
    },
    Version,
    Ask {
        question: String,
    },
    Usage(Period),
    Prs,
    Pr {
        number: u64,
    },
    Merge {
        number: u64,
    },
    Issues,
    Take {
        number: u64,
    },
    Peek {
        agent: String,
        lines: u32,
    },
    Nudge {
        agent: String,
        text: String,
    },
    Mail,
    /// `/pause [rig]`, `/resume [rig]`.
    Freeze {
        freeze: Freeze,
        rig: Option<String>,
    },
    Pin,
    Escalations,
    /// An operator's command: its program and argv are in the spec, its
    /// arguments stay the checked words (they are data, not domain values).
    Exec {
        spec: Arc<CommandSpec>,
        args: Vec<ArgValue>,
    },
}

/// Lines `/peek` shows when none are asked for.
pub const PEEK_LINES: u32 = 30;

impl BotCommand {
    /// The command the checked `args` of `spec` stand for. Fails (a usage
    /// error, never a panic) only when an operator's file replaced a
    /// built-in with arguments its handler does not know.
    pub fn from_args(spec: &Arc<CommandSpec>, args: &Args) -> Result<BotCommand, UsageError> {
        let missing = |name: &str| UsageError {
            sub: args.sub.clone(),
            arg: Some(name.to_string()),
            got: None,
            valid: vec![],
            problem: None,
        };
        let word = |name: &str| args.get(name).ok_or_else(|| missing(name));
        let text = |name: &str| word(name).map(str::to_string);
        let number = |name: &str| {
            word(name).and_then(|w| {
                w.trim_start_matches('#')
                    .parse::<u64>()
                    .map_err(|_| UsageError {
                        got: Some(w.to_string()),
                        ..missing(name)
                    })
            })
        };
        Ok(match (spec.action, args.sub.as_deref()) {
            (Action::Keys, Some("clear")) => BotCommand::ClearKey { key: text("key")? },
            (_, Some(_)) => return Err(missing("sub")),
            (Action::Help, None) => BotCommand::Help,
            (Action::Status, None) => BotCommand::Status,
            (Action::Keys, None) => BotCommand::Keys,
            (Action::Agents, None) => BotCommand::Agents,
            (Action::Activity, None) => BotCommand::Activity,
            (Action::Restart, None) => BotCommand::Restart(RestartTarget::parse(word("service")?)),
            (Action::Bootstrap, None) => BotCommand::Bootstrap,
            (Action::Stop, None) => BotCommand::Stop,
            (Action::Mute, None) => {
                let raw = word("duration")?;
                let for_ = crate::config::parse_duration(raw).ok_or_else(|| UsageError {
                    got: Some(raw.to_string()),
                    ..missing("duration")
                })?;
                BotCommand::Mute {
                    check: text("check")?,
                    for_,
                }
            }
            (Action::Unmute, None) => BotCommand::Unmute {
                check: args.get("check").unwrap_or("all").to_string(),
            },
            (Action::Alerts, None) => BotCommand::Alerts,
            (Action::Tasks, None) => BotCommand::Tasks,
            (Action::Task, None) => BotCommand::Task { id: text("id")? },
            (Action::Newtask, None) => BotCommand::NewTask {
                title: text("title")?,
            },
            (Action::Done, None) => BotCommand::Done { id: text("id")? },
            (Action::Version, None) => BotCommand::Version,
            (Action::Ask, None) => BotCommand::Ask {
                question: text("text")?,
            },
            (Action::Usage, None) => BotCommand::Usage(match args.get("period") {
                Some("week") => Period::Week,
                _ => Period::Today,
            }),
            (Action::Prs, None) => BotCommand::Prs,
            (Action::Pr, None) => BotCommand::Pr {
                number: number("number")?,
            },
            (Action::Merge, None) => BotCommand::Merge {
                number: number("number")?,
            },
            (Action::Issues, None) => BotCommand::Issues,
            (Action::Take, None) => BotCommand::Take {
                number: number("number")?,
            },
            (Action::Peek, None) => BotCommand::Peek {
                agent: text("agent")?,
                lines: match args.get("lines") {
                    Some(l) => l.parse().map_err(|_| UsageError {
                        got: Some(l.to_string()),
                        ..missing("lines")
                    })?,
                    None => PEEK_LINES,
                },
            },
            (Action::Nudge, None) => BotCommand::Nudge {
                agent: text("agent")?,
                text: text("text")?,
            },
            (Action::Mail, None) => BotCommand::Mail,
            (Action::Pause, None) => BotCommand::Freeze {
                freeze: Freeze::Pause,
                rig: args.get("rig").map(str::to_string),
            },
            (Action::Resume, None) => BotCommand::Freeze {
                freeze: Freeze::Resume,
                rig: args.get("rig").map(str::to_string),
            },
            (Action::Pin, None) => BotCommand::Pin,
            (Action::Escalations, None) => BotCommand::Escalations,
            (Action::Exec, None) => BotCommand::Exec {
                spec: spec.clone(),
                args: args.values.clone(),
            },
        })
    }

    /// Whether the work may take long (the overseer, beads, panes, mail,
    /// programs): it runs off the chat's lane, so the chat's next command
    /// is not held up behind it. (Restart, bootstrap, stop, nudge and pause
    /// show their "working" message on the lane and then leave it too.)
    pub fn runs_off_lane(&self) -> bool {
        matches!(
            self,
            BotCommand::Ask { .. }
                | BotCommand::Exec { .. }
                | BotCommand::Tasks
                | BotCommand::Task { .. }
                | BotCommand::NewTask { .. }
                | BotCommand::Done { .. }
                | BotCommand::Peek { .. }
                | BotCommand::Mail
                | BotCommand::Pin
                | BotCommand::Escalations
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telegram::catalogue::Catalogue;

    /// What each typed line becomes (or the usage error it gets): one
    /// snapshot of the whole grammar, so a change to a command's parsing
    /// shows in review.
    #[test]
    fn typed_lines_become_typed_commands() {
        let c = Catalogue::load(None).expect("catalogue");
        let lines = [
            "/help",
            "/start",
            "/status",
            "/keys",
            "/keys clear …abcd",
            "/keys CLEAR abcd1234",
            "/keys clear",
            "/keys …abcd",
            "/restart Mayor",
            "/restart gateway",
            "/restart project/nux",
            "/restart -deacon",
            "/mute dolt 2h",
            "/mute all 30d",
            "/mute all 31d",
            "/mute nothing 1h",
            "/unmute",
            "/unmute stuck",
            "/usage",
            "/usage week",
            "/pr #12",
            "/merge 7",
            "/take 99",
            "/peek project/nux",
            "/peek mayor 5",
            "/nudge project/nux please commit",
            "/pause",
            "/pause project",
            "/resume project",
            "/task gc-12",
            "/newtask Fix the flaky test",
            "/done gc-12",
            "/ask what is the mayor doing?",
            "/logs gateway",
        ];
        let mut out = String::new();
        for line in lines {
            let p = crate::telegram::grammar::parse(line).expect("a command");
            let spec = c.get(&p.name).expect("a known command");
            let parsed = spec.parse_args(p.args).and_then(|a| {
                let role = spec.role_for(&a);
                BotCommand::from_args(&spec, &a).map(|cmd| (role, cmd))
            });
            let shown = match parsed {
                Ok((role, BotCommand::Exec { spec, args })) => {
                    format!("{role:?}: Exec({}, {:?})", spec.name, args[0].value)
                }
                Ok((role, cmd)) => format!("{role:?}: {cmd:?}"),
                Err(e) => format!(
                    "usage error: {} (got {:?}, valid {:?})",
                    spec.usage_of(e.sub.as_deref()),
                    e.got,
                    e.valid
                ),
            };
            out.push_str(&format!("{line}\n  → {shown}\n"));
        }
        insta::assert_snapshot!(out);
    }

    /// `/restart`'s choices are the services of the core, whatever the
    /// catalogue file says; anything else is an agent for the core to check.
    #[test]
    fn restart_targets_come_from_the_services() {
        for s in Service::ALL {
            assert_eq!(RestartTarget::parse(s.name()), RestartTarget::Service(s));
            assert_eq!(
                RestartTarget::parse(&s.name().to_uppercase()),
                RestartTarget::Service(s)
            );
        }
        assert_eq!(
            RestartTarget::parse("project/nux"),
            RestartTarget::Agent("project/nux".into())
        );
    }

    /// An operator's file that replaces a built-in with arguments of its
    /// own gets a usage error, not a panic, from the typed parse.
    #[test]
    fn a_replaced_builtin_without_its_arguments_is_a_usage_error() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(
            dir.path().join("peek.toml"),
            "name = \"peek\"\nrole = \"operator\"\nhelp = \"cmd-peek\"\naction = \"peek\"\n[[args]]\nname = \"who\"\nkind = \"pattern\"\npattern = \"[a-z/]+\"\n",
        )
        .expect("write");
        let c = Catalogue::load(Some(dir.path())).expect("catalogue");
        let spec = c.get("peek").expect("peek");
        let args = spec.parse_args("mayor").expect("checked words");
        let e = BotCommand::from_args(&spec, &args).expect_err("no `agent` argument");
        assert_eq!(e.arg.as_deref(), Some("agent"));
    }
}
