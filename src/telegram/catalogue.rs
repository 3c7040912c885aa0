//! The chat command catalogue: one TOML file per command under `commands/`
//! (embedded in the binary), plus operator additions in
//! `GASCLAW_HOME/commands/*.toml` that need no recompiling. It is the single
//! source for dispatching, `/help`, authorization and the command menus.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::auth::Role;

/// The embedded catalogue.
pub static BUILTIN: include_dir::Dir<'static> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/commands");

/// What a command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Help,
    Status,
    Keys,
    Agents,
    Activity,
    Restart,
    Bootstrap,
    Stop,
    Mute,
    Unmute,
    Alerts,
    Tasks,
    Task,
    Newtask,
    Done,
    Version,
    Ask,
    Usage,
    Prs,
    Pr,
    Merge,
    Issues,
    Take,
    Peek,
    Nudge,
    Mail,
    Pause,
    Resume,
    Pin,
    Escalations,
    /// Runs `program` with `argv` (operator-defined commands).
    Exec,
}

/// How an argument is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArgKind {
    /// One of `values`.
    Choice,
    /// One of gasclaw's services (`Service::ALL`): a choice whose values
    /// come from the domain, not from the file.
    Service,
    /// A check that can be muted, or `all` (`core::alerts::mute_names`).
    Check,
    /// A service, or else an agent's address (`/restart project/nux`).
    #[serde(rename = "service-or-agent")]
    ServiceOrAgent,
    /// A word matching `pattern`.
    Pattern,
    /// A duration like 30m, 2h, 90s.
    Duration,
    /// The rest of the line (non-empty).
    Text,
}

/// `values` as a list (the word is passed as is) or a map (the word is
/// replaced by its value in `argv`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Values {
    List(Vec<String>),
    Map(BTreeMap<String, String>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArgSpec {
    pub name: String,
    pub kind: ArgKind,
    #[serde(default)]
    pub values: Option<Values>,
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default)]
    pub optional: bool,
    #[serde(skip)]
    regex: Option<regex::Regex>,
}

impl ArgSpec {
    /// The words a person may type for a choice.
    pub fn choices(&self) -> Vec<String> {
        match &self.values {
            Some(Values::List(v)) => v.clone(),
            Some(Values::Map(m)) => m.keys().cloned().collect(),
            None => vec![],
        }
    }

    fn placeholder(&self) -> String {
        let inner = match self.kind {
            ArgKind::Choice => self.choices().join("|"),
            ArgKind::ServiceOrAgent => format!("{}|agent", self.choices().join("|")),
            _ => self.name.clone(),
        };
        if self.optional {
            format!("[{inner}]")
        } else {
            format!("<{inner}>")
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    pub name: String,
    pub role: Role,
    #[serde(default)]
    pub confirm: bool,
    /// Locale key of the one-line description (built-in commands).
    #[serde(default)]
    pub help: Option<String>,
    /// The description per language (operator-defined commands, which
    /// cannot add locale keys).
    #[serde(default)]
    pub description: Option<BTreeMap<String, String>>,
    pub action: Action,
    #[serde(default)]
    pub args: Vec<ArgSpec>,
    #[serde(default)]
    pub program: Option<String>,
    #[serde(default)]
    pub argv: Vec<String>,
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// Sub-commands (`/keys clear <key>`): a first word that brings its own
    /// role, arguments and help line, so the catalogue (not a handler)
    /// decides who may run it and `/help` shows it only to them.
    #[serde(default)]
    pub sub: Vec<SubCommand>,
}

/// A sub-command: `/<command> <name> <args…>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubCommand {
    pub name: String,
    pub role: Role,
    /// Locale key of its one-line description.
    pub help: String,
    #[serde(default)]
    pub args: Vec<ArgSpec>,
}

/// A command's arguments as parsed: the sub-command chosen, if any, and
/// the values of its (or the command's) arguments.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Args {
    pub sub: Option<String>,
    pub values: Vec<ArgValue>,
}

impl Args {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value.as_str())
    }

    /// The words as typed, the sub-command first (for the audit log and
    /// the confirmation's "/name args" text).
    pub fn typed(&self) -> Vec<&str> {
        self.sub
            .iter()
            .map(String::as_str)
            .chain(self.values.iter().map(|a| a.typed.as_str()))
            .collect()
    }
}

/// An argument as parsed: what the person typed, and what the program gets.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgValue {
    pub name: String,
    pub typed: String,
    pub value: String,
}

/// The longest duration a person may give (`/mute`): long enough for a
/// holiday, short enough that date arithmetic never overflows.
pub const MAX_DURATION: Duration = crate::core::alerts::MAX_MUTE;

/// A wrong or missing argument.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageError {
    /// The sub-command whose arguments were wrong (its usage is shown).
    pub sub: Option<String>,
    pub arg: Option<String>,
    pub got: Option<String>,
    pub valid: Vec<String>,
    /// Why a value that looks right is refused anyway.
    pub problem: Option<Problem>,
}

/// A value refused for a reason the usage line does not show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// A duration over [`MAX_DURATION`].
    TooLong,
    /// A value for a program that starts with `-` (it would be an option).
    Dash,
}

impl CommandSpec {
    pub fn usage(&self) -> String {
        usage_line(&format!("/{}", self.name), &self.args)
    }

    /// The usage of `sub` (`/keys clear <key>`), or of the command.
    pub fn usage_of(&self, sub: Option<&str>) -> String {
        match sub.and_then(|n| self.sub_named(n)) {
            Some(s) => usage_line(&format!("/{} {}", self.name, s.name), &s.args),
            None => self.usage(),
        }
    }

    fn sub_named(&self, name: &str) -> Option<&SubCommand> {
        self.sub.iter().find(|s| s.name == name)
    }

    /// Who may run these arguments: the sub-command's role, else the
    /// command's.
    pub fn role_for(&self, args: &Args) -> Role {
        args.sub
            .as_deref()
            .and_then(|n| self.sub_named(n))
            .map_or(self.role, |s| s.role)
    }

    /// The name as people say it: `keys`, or `keys clear`.
    pub fn name_for(&self, args: &Args) -> String {
        match &args.sub {
            Some(sub) => format!("{} {sub}", self.name),
            None => self.name.clone(),
        }
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.unwrap_or(30))
    }

    /// Parses the argument text against the spec: a sub-command's name as
    /// the first word selects its arguments.
    pub fn parse_args(&self, text: &str) -> Result<Args, UsageError> {
        let first = text.split_whitespace().next().map(str::to_ascii_lowercase);
        if let Some(sub) = first.as_deref().and_then(|w| self.sub_named(w)) {
            let rest = text.trim_start();
            let rest = rest.get(sub.name.len()..).unwrap_or("");
            return match parse_words(self.action, &sub.args, rest) {
                Ok(values) => Ok(Args {
                    sub: Some(sub.name.clone()),
                    values,
                }),
                Err(e) => Err(UsageError {
                    sub: Some(sub.name.clone()),
                    ..e
                }),
            };
        }
        Ok(Args {
            sub: None,
            values: parse_words(self.action, &self.args, text)?,
        })
    }

    /// The description in `lang` (for operator-defined commands).
    pub fn description_in(&self, lang: &str) -> Option<String> {
        let d = self.description.as_ref()?;
        d.get(lang)
            .or_else(|| d.get("en"))
            .or_else(|| d.values().next())
            .cloned()
    }
}

fn usage_line(head: &str, args: &[ArgSpec]) -> String {
    let mut s = head.to_string();
    for a in args {
        s.push(' ');
        s.push_str(&a.placeholder());
    }
    s
}

/// Parses `text` against `args` (the command's or a sub-command's).
fn parse_words(action: Action, args: &[ArgSpec], text: &str) -> Result<Vec<ArgValue>, UsageError> {
    {
        let mut words: Vec<&str> = text.split_whitespace().collect();
        let mut out = Vec::new();
        let mut i = 0;
        for spec in args {
            if spec.kind == ArgKind::Text {
                let rest = words[i.min(words.len())..].join(" ");
                if rest.is_empty() && !spec.optional {
                    return Err(UsageError {
                        sub: None,
                        arg: Some(spec.name.clone()),
                        got: None,
                        valid: vec![],
                        problem: None,
                    });
                }
                if action == Action::Exec && rest.starts_with('-') {
                    return Err(UsageError {
                        sub: None,
                        arg: Some(spec.name.clone()),
                        got: Some(rest),
                        valid: vec![],
                        problem: Some(Problem::Dash),
                    });
                }
                if !rest.is_empty() {
                    out.push(ArgValue {
                        name: spec.name.clone(),
                        typed: rest.clone(),
                        value: rest,
                    });
                }
                words.truncate(i);
                break;
            }
            let Some(word) = words.get(i).copied() else {
                if spec.optional {
                    continue;
                }
                return Err(UsageError {
                    sub: None,
                    arg: Some(spec.name.clone()),
                    got: None,
                    valid: spec.choices(),
                    problem: None,
                });
            };
            // Nothing a person types reaches a program as an option.
            if action == Action::Exec && spec.kind != ArgKind::Choice && word.starts_with('-') {
                return Err(UsageError {
                    sub: None,
                    arg: Some(spec.name.clone()),
                    got: Some(word.to_string()),
                    valid: vec![],
                    problem: Some(Problem::Dash),
                });
            }
            let value = match spec.kind {
                // Loading turns the domain kinds into choices with their values.
                ArgKind::Choice | ArgKind::Service | ArgKind::Check => {
                    let typed = word.to_ascii_lowercase();
                    match &spec.values {
                        Some(Values::List(v)) if v.contains(&typed) => Some(typed.clone()),
                        Some(Values::Map(m)) => m.get(&typed).cloned(),
                        _ => None,
                    }
                }
                ArgKind::ServiceOrAgent => {
                    let typed = word.to_ascii_lowercase();
                    if spec.choices().contains(&typed) {
                        Some(typed)
                    } else {
                        crate::core::work::AgentAddress::parse(word)
                            .ok()
                            .map(|a| a.to_string())
                    }
                }
                ArgKind::Pattern => spec
                    .regex
                    .as_ref()
                    .filter(|r| r.is_match(word))
                    .map(|_| word.to_string()),
                ArgKind::Duration => match crate::config::parse_duration(word) {
                    Some(d) if d > MAX_DURATION => {
                        return Err(UsageError {
                            sub: None,
                            arg: Some(spec.name.clone()),
                            got: Some(word.to_string()),
                            valid: vec![],
                            problem: Some(Problem::TooLong),
                        });
                    }
                    Some(d) if !d.is_zero() => Some(word.to_string()),
                    _ => None,
                },
                ArgKind::Text => None,
            };
            match value {
                Some(v) => {
                    out.push(ArgValue {
                        name: spec.name.clone(),
                        typed: word.to_string(),
                        value: v,
                    });
                    i += 1;
                }
                // An optional argument that does not match leaves the word
                // to the next one (`/keys …abcd` without `clear`).
                None if spec.optional && spec.kind == ArgKind::Choice => {}
                None => {
                    return Err(UsageError {
                        sub: None,
                        arg: Some(spec.name.clone()),
                        got: Some(word.to_string()),
                        valid: spec.choices(),
                        problem: None,
                    });
                }
            }
        }
        if i < words.len() {
            return Err(UsageError {
                sub: None,
                arg: None,
                got: Some(words[i..].join(" ")),
                valid: vec![],
                problem: None,
            });
        }
        Ok(out)
    }
}

/// A catalogue problem, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("command catalogue: {file}: {message}")]
pub struct CatalogueError {
    pub file: String,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Catalogue {
    commands: Vec<Arc<CommandSpec>>,
}

impl Catalogue {
    /// The embedded commands plus `extra_dir/*.toml` (a same-named file
    /// replaces a built-in).
    pub fn load(extra_dir: Option<&Path>) -> Result<Catalogue, CatalogueError> {
        let mut by_name: BTreeMap<String, Arc<CommandSpec>> = BTreeMap::new();
        for f in BUILTIN.files() {
            if f.path().extension().is_some_and(|e| e == "toml") {
                let name = f.path().display().to_string();
                let spec = parse_spec(&name, f.contents_utf8().unwrap_or(""))?;
                by_name.insert(spec.name.clone(), Arc::new(spec));
            }
        }
        if let Some(dir) = extra_dir
            && let Ok(entries) = std::fs::read_dir(dir)
        {
            let mut paths: Vec<_> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
            paths.sort();
            for p in paths {
                let name = p.display().to_string();
                let text = std::fs::read_to_string(&p).map_err(|e| CatalogueError {
                    file: name.clone(),
                    message: e.to_string(),
                })?;
                let spec = parse_spec(&name, &text)?;
                by_name.insert(spec.name.clone(), Arc::new(spec));
            }
        }
        Ok(Catalogue {
            commands: by_name.into_values().collect(),
        })
    }

    pub fn get(&self, name: &str) -> Option<Arc<CommandSpec>> {
        let n = name.to_ascii_lowercase();
        self.commands.iter().find(|c| c.name == n).cloned()
    }

    pub fn all(&self) -> &[Arc<CommandSpec>] {
        &self.commands
    }

    /// The commands `role` may run, in catalogue order.
    pub fn for_role(&self, role: Role) -> Vec<Arc<CommandSpec>> {
        self.commands
            .iter()
            .filter(|c| role >= c.role)
            .cloned()
            .collect()
    }
}

fn parse_spec(file: &str, text: &str) -> Result<CommandSpec, CatalogueError> {
    let err = |message: String| CatalogueError {
        file: file.to_string(),
        message,
    };
    let mut spec: CommandSpec = toml::from_str(text).map_err(|e| err(e.message().to_string()))?;
    if spec.name.is_empty()
        || spec.name.len() > 32
        || !spec
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(err(format!(
            "`{}` is not a valid command name (a-z, 0-9, _; at most 32)",
            spec.name
        )));
    }
    if spec.timeout_secs.is_some_and(|t| !(1..=3600).contains(&t)) {
        return Err(err(
            "`timeout_secs` must be between 1 and 3600 (an hour)".into()
        ));
    }
    if spec.help.is_none() && spec.description.is_none() {
        return Err(err(
            "needs `help` (a locale key) or a `[description]` table".into(),
        ));
    }
    match (spec.action, &spec.program) {
        (Action::Exec, None) => return Err(err("action `exec` needs `program`".into())),
        (Action::Exec, Some(_)) => {}
        (_, Some(_)) => return Err(err("only action `exec` takes `program`".into())),
        _ => {}
    }
    prepare_args(&mut spec.args, &err)?;
    if spec.action == Action::Exec && !spec.sub.is_empty() {
        return Err(err("an `exec` command takes no sub-commands".into()));
    }
    for (i, sub) in spec.sub.iter().enumerate() {
        if sub.name.is_empty() || !sub.name.chars().all(|c| c.is_ascii_lowercase()) {
            return Err(err(format!(
                "`{}` is not a valid sub-command name (a-z)",
                sub.name
            )));
        }
        if spec.sub[..i].iter().any(|s| s.name == sub.name) {
            return Err(err(format!("sub-command `{}` is given twice", sub.name)));
        }
    }
    for sub in &mut spec.sub {
        prepare_args(&mut sub.args, &err)?;
    }
    if spec.action == Action::Exec {
        for word in &spec.argv {
            for cap in word.split('{').skip(1) {
                let name = cap.split('}').next().unwrap_or("");
                if !matches!(name, "gt_root" | "gasclaw_home")
                    && !spec.args.iter().any(|a| a.name == name)
                {
                    return Err(err(format!(
                        "argv uses {{{name}}}, which is neither an argument nor gt_root/gasclaw_home"
                    )));
                }
            }
        }
    }
    Ok(spec)
}

/// Checks a command's (or a sub-command's) arguments and gives the domain
/// kinds their values.
fn prepare_args(
    args: &mut [ArgSpec],
    err: &dyn Fn(String) -> CatalogueError,
) -> Result<(), CatalogueError> {
    for a in args.iter_mut() {
        // Domain choices: the values are gasclaw's own, so the service and
        // check lists are written once (in the core), not in every file.
        let domain: Option<Vec<String>> = match a.kind {
            ArgKind::Service | ArgKind::ServiceOrAgent => Some(
                crate::core::Service::ALL
                    .iter()
                    .map(|s| s.name().to_string())
                    .collect(),
            ),
            ArgKind::Check => Some(
                crate::core::alerts::mute_names()
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
            ),
            _ => None,
        };
        if let Some(values) = domain {
            if a.values.is_some() {
                return Err(err(format!(
                    "argument `{}` takes its values from gasclaw; remove `values`",
                    a.name
                )));
            }
            a.values = Some(Values::List(values));
            if a.kind != ArgKind::ServiceOrAgent {
                a.kind = ArgKind::Choice;
            }
        }
        match a.kind {
            ArgKind::Choice if a.values.is_none() => {
                return Err(err(format!(
                    "argument `{}` is a choice without `values`",
                    a.name
                )));
            }
            ArgKind::Pattern => {
                let p = a
                    .pattern
                    .clone()
                    .ok_or_else(|| err(format!("argument `{}` needs `pattern`", a.name)))?;
                // Full match, whatever the file says: an unanchored pattern
                // would let `--output=…` through around a matching part.
                regex::Regex::new(&p)
                    .map_err(|e| err(format!("argument `{}`: bad pattern: {e}", a.name)))?;
                a.regex = Some(
                    regex::Regex::new(&format!("^(?:{p})$"))
                        .map_err(|e| err(format!("argument `{}`: bad pattern: {e}", a.name)))?,
                );
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalogue_loads() {
        let c = Catalogue::load(None).expect("test value");
        for n in [
            "start",
            "help",
            "status",
            "keys",
            "agents",
            "activity",
            "restart",
            "bootstrap",
            "stop",
            "logs",
        ] {
            assert!(c.get(n).is_some(), "{n}");
        }
        let r = c.get("restart").expect("test value");
        assert!(r.confirm && r.role == Role::Operator);
        assert_eq!(
            r.usage(),
            "/restart <dolt|daemon|mayor|gateway|agents|agent>"
        );
        assert_eq!(c.get("stop").expect("test value").role, Role::Owner);
        assert!(
            c.for_role(Role::Member)
                .iter()
                .all(|s| s.role == Role::Member)
        );
    }

    #[test]
    fn arguments_are_validated() {
        let c = Catalogue::load(None).expect("test value");
        let r = c.get("restart").expect("test value");
        assert_eq!(
            r.parse_args("  Mayor ").expect("test value").values[0].value,
            "mayor"
        );
        let e = r.parse_args("").unwrap_err();
        assert_eq!(e.valid, ["dolt", "daemon", "mayor", "gateway", "agents"]);
        // Not a service and not an agent address (never an option).
        let e = r.parse_args("-deacon").unwrap_err();
        assert_eq!(e.got.as_deref(), Some("-deacon"));
        assert!(
            r.parse_args("mayor now").is_err(),
            "extra words are refused"
        );
        let k = c.get("keys").expect("test value");
        assert_eq!(k.parse_args("").expect("test value"), Args::default());
        // `clear` is a sub-command with its own argument and role.
        let v = k.parse_args("clear …abcd").expect("test value");
        assert_eq!(v.sub.as_deref(), Some("clear"));
        assert_eq!(v.get("key"), Some("…abcd"));
        assert_eq!(v.typed(), ["clear", "…abcd"]);
        assert_eq!(
            (k.role_for(&v), k.name_for(&v).as_str()),
            (Role::Operator, "keys clear")
        );
        assert_eq!(k.role_for(&Args::default()), Role::Member);
        assert!(k.parse_args("clear a;b").is_err());
        let e = k.parse_args("clear").unwrap_err();
        assert_eq!(
            (e.sub.as_deref(), k.usage_of(e.sub.as_deref()).as_str()),
            (Some("clear"), "/keys clear <key>")
        );
        // A key without `clear` is an extra word of `/keys`.
        assert_eq!(
            k.parse_args("…abcd").unwrap_err().got.as_deref(),
            Some("…abcd")
        );
        let logs = c.get("logs").expect("test value");
        assert_eq!(
            logs.parse_args("daemon").expect("test value").values[0].value,
            "{gt_root}/daemon/daemon.log"
        );
    }

    #[test]
    fn durations_are_bounded() {
        let c = Catalogue::load(None).expect("test value");
        let m = c.get("mute").expect("test value");
        assert!(m.parse_args("all 30d").is_ok());
        for long in ["31d", "1000000000000000", "99999999999999999999y"] {
            let e = m.parse_args(&format!("all {long}")).unwrap_err();
            assert!(
                e.problem == Some(Problem::TooLong) || e.got.as_deref() == Some(long),
                "{long}: {e:?}"
            );
        }
        assert_eq!(
            m.parse_args("all 1000000000000000").unwrap_err().problem,
            Some(Problem::TooLong)
        );
        assert!(m.parse_args("all 0s").is_err());
        let dir = tempfile::tempdir().expect("test value");
        std::fs::write(
            dir.path().join("slow.toml"),
            "name = \"slow\"\nrole = \"operator\"\naction = \"exec\"\nprogram = \"sleep\"\nargv = [\"1\"]\ntimeout_secs = 99999999999\n[description]\nen = \"x\"\n",
        )
        .expect("test value");
        let e = Catalogue::load(Some(dir.path())).unwrap_err().to_string();
        assert!(e.contains("slow.toml") && e.contains("timeout_secs"), "{e}");
    }

    #[test]
    fn service_and_check_choices_come_from_the_domain() {
        let c = Catalogue::load(None).expect("test value");
        let services: Vec<String> = crate::core::Service::ALL
            .iter()
            .map(|s| s.name().to_string())
            .collect();
        let restart = c.get("restart").expect("test value");
        assert_eq!(restart.args[0].choices(), services);
        let checks: Vec<String> = crate::core::alerts::mute_names()
            .into_iter()
            .map(str::to_string)
            .collect();
        for name in ["mute", "unmute"] {
            assert_eq!(c.get(name).expect("test value").args[0].choices(), checks);
        }
        assert!(restart.parse_args("mayor").is_ok() && restart.parse_args("--all").is_err());
        // Beside the services, an agent's address (checked, never an option).
        assert_eq!(
            restart.parse_args("project/nux").expect("agent").values[0].value,
            "project/nux"
        );
        // A file may not spell out a domain list of its own.
        let dir = tempfile::tempdir().expect("test value");
        std::fs::write(
            dir.path().join("bounce.toml"),
            "name = \"bounce\"\nrole = \"operator\"\naction = \"exec\"\nprogram = \"true\"\n[description]\nen = \"x\"\n[[args]]\nname = \"service\"\nkind = \"service\"\nvalues = [\"mayor\"]\n",
        )
        .expect("test value");
        let e = Catalogue::load(Some(dir.path())).unwrap_err().to_string();
        assert!(
            e.contains("bounce.toml") && e.contains("remove `values`"),
            "{e}"
        );
    }

    #[test]
    fn operator_files_extend_and_bad_ones_name_their_file() {
        let dir = tempfile::tempdir().expect("test value");
        std::fs::write(
            dir.path().join("feed.toml"),
            "name = \"feed\"\nrole = \"operator\"\naction = \"exec\"\nprogram = \"gt\"\nargv = [\"feed\", \"--plain\", \"-n\", \"{count}\"]\n[description]\nen = \"Town events\"\n[[args]]\nname = \"count\"\nkind = \"pattern\"\npattern = \"^[0-9]{1,3}$\"\n",
        )
        .expect("test value");
        let c = Catalogue::load(Some(dir.path())).expect("test value");
        let f = c.get("feed").expect("test value");
        assert_eq!(f.description_in("zh-CN").as_deref(), Some("Town events"));
        assert!(f.parse_args("20").is_ok() && f.parse_args("x").is_err());
        // Patterns are full-match and no value may be an option.
        std::fs::write(
            dir.path().join("gitlog.toml"),
            "name = \"gitlog\"\nrole = \"operator\"\naction = \"exec\"\nprogram = \"git\"\nargv = [\"log\", \"--end-of-options\", \"{rev}\"]\n[description]\nen = \"Log\"\n[[args]]\nname = \"rev\"\nkind = \"pattern\"\npattern = \"[a-z]+\"\n",
        )
        .expect("test value");
        let c = Catalogue::load(Some(dir.path())).expect("test value");
        let g = c.get("gitlog").expect("test value");
        assert!(g.parse_args("main").is_ok());
        assert!(g.parse_args("main;x").is_err(), "full match");
        let e = g.parse_args("--output=x").unwrap_err();
        assert_eq!(e.problem, Some(Problem::Dash));
        std::fs::remove_file(dir.path().join("gitlog.toml")).expect("test value");
        std::fs::write(dir.path().join("bad.toml"), "name = \"bad\"\nrole = \"operator\"\naction = \"exec\"\nprogram = \"x\"\nargv = [\"{nope}\"]\nhelp = \"k\"\n").expect("test value");
        let e = Catalogue::load(Some(dir.path())).unwrap_err();
        assert!(
            e.to_string().contains("bad.toml") && e.to_string().contains("{nope}"),
            "{e}"
        );
        std::fs::write(
            dir.path().join("bad.toml"),
            "name = \"bad\"\nrole = \"boss\"\naction = \"help\"\nhelp = \"k\"\n",
        )
        .expect("test value");
        assert!(Catalogue::load(Some(dir.path())).is_err());
    }
}
