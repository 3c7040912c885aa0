//! Bounded fuzzing (proptest) of what people and configs feed gasclaw: the
//! command grammar, the catalogue's argument validation and the config
//! parser. A fixed number of cases per target keeps this inside the normal
//! `cargo test`; failures found are kept in `proptest-regressions/fuzz.txt`
//! (committed) and replayed first on every run.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on the unexpected

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use gasclaw::telegram::catalogue::{ArgKind, Catalogue, MAX_DURATION};
use gasclaw::telegram::command::BotCommand;
use gasclaw::telegram::grammar;
use gasclaw_core::config::{Config, VARIABLES};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, FileFailurePersistence, TestRunner};

const CASES: u32 = 2_000;

fn runner() -> TestRunner {
    TestRunner::new(RunnerConfig {
        cases: CASES,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/fuzz.txt",
        ))),
        ..RunnerConfig::default()
    })
}

/// Words people type: commands, choices, durations of every size, options,
/// unicode, and plain noise.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("all".to_string()),
        Just("mayor".to_string()),
        Just("clear".to_string()),
        Just("…abcd".to_string()),
        Just("--output=/tmp/x".to_string()),
        Just("-n".to_string()),
        Just("--".to_string()),
        Just("1000000000000000".to_string()),
        Just("18446744073709551616".to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        (
            any::<u64>(),
            prop_oneof![
                Just("s"),
                Just("m"),
                Just("h"),
                Just("d"),
                Just("w"),
                Just("y"),
                Just("ms"),
                Just("ns")
            ]
        )
            .prop_map(|(n, u)| format!("{n}{u}")),
        (0u64..60, 0u64..24).prop_map(|(m, h)| format!("{h}h{m}m")),
        "[a-z0-9._;|&$=/@-]{1,20}",
        "\\PC{1,12}",
    ]
}

fn line() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(word(), 0..6),
        prop_oneof![
            Just(" "),
            Just("  "),
            Just("\t"),
            Just("\n"),
            Just("\u{3000}")
        ],
    )
        .prop_map(|(w, sep)| w.join(sep))
}

/// The command grammar: any text, and command-shaped text.
#[test]
fn fuzz_the_command_grammar() {
    let started = Instant::now();
    let text = prop_oneof![
        any::<String>(),
        ("/[A-Za-z0-9_]{0,34}(@[A-Za-z0-9_]{0,33})?", line()).prop_map(|(c, a)| format!("{c} {a}")),
        ("/\\PC{0,10}", "\\PC{0,40}").prop_map(|(c, a)| format!("{c}{a}")),
    ];
    runner()
        .run(&text, |t| {
            if let Some(p) = grammar::parse(&t) {
                prop_assert!(t.starts_with('/'));
                prop_assert!(!p.name.is_empty());
                prop_assert!(
                    p.name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                    "{:?}",
                    p.name
                );
                prop_assert!(t.contains(p.args) && p.args.trim() == p.args);
                let _ = grammar::is_for_me(&p, "gas_bot");
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("fuzz: grammar, {CASES} cases in {:?}", started.elapsed());
}

/// The catalogue's argument validation over every built-in command and an
/// operator-defined exec command: never a panic, and what passes keeps the
/// rules (choices from the list, durations within 30 days, no option for
/// a program).
#[test]
fn fuzz_the_catalogue_argument_validation() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("gitlog.toml"),
        "name = \"gitlog\"\nrole = \"operator\"\naction = \"exec\"\nprogram = \"git\"\nargv = [\"log\", \"{rev}\", \"{n}\", \"{rest}\"]\n[description]\nen = \"Log\"\n[[args]]\nname = \"rev\"\nkind = \"pattern\"\npattern = \"[a-z=/-]+\"\n[[args]]\nname = \"n\"\nkind = \"duration\"\noptional = true\n[[args]]\nname = \"rest\"\nkind = \"text\"\noptional = true\n",
    )
    .expect("write");
    let catalogue = Catalogue::load(Some(dir.path())).expect("catalogue");
    let specs = catalogue.all().to_vec();
    let n = specs.len();
    runner()
        .run(&(0..n, line()), |(i, text)| {
            let spec = &specs[i];
            if let Ok(args) = spec.parse_args(&text) {
                // Every checked line becomes a typed command (never a panic).
                prop_assert!(
                    BotCommand::from_args(spec, &args).is_ok(),
                    "/{} {text}",
                    spec.name
                );
                // A sub-command's words are checked against its own arguments.
                let arg_specs = match &args.sub {
                    Some(name) => {
                        let sub = spec.sub.iter().find(|s| &s.name == name);
                        prop_assert!(sub.is_some(), "{name}");
                        &sub.expect("checked").args
                    }
                    None => &spec.args,
                };
                prop_assert!(args.values.len() <= arg_specs.len());
                for a in &args.values {
                    let arg = arg_specs
                        .iter()
                        .find(|s| s.name == a.name)
                        .expect("a known argument");
                    match arg.kind {
                        // (A loaded catalogue holds domain kinds as choices.)
                        ArgKind::Choice | ArgKind::Service | ArgKind::Check => {
                            prop_assert!(arg.choices().contains(&a.typed.to_ascii_lowercase()))
                        }
                        ArgKind::Duration => {
                            let d = gasclaw_core::config::parse_duration(&a.value)
                                .expect("a parsed duration");
                            prop_assert!(!d.is_zero() && d <= MAX_DURATION, "{d:?}");
                        }
                        // A service, else an agent address: never an option.
                        ArgKind::ServiceOrAgent => prop_assert!(
                            arg.choices().contains(&a.value)
                                || gasclaw::core::work::AgentAddress::parse(&a.value).is_ok(),
                            "{:?}",
                            a.value
                        ),
                        ArgKind::Pattern | ArgKind::Text => {
                            if spec.program.is_some() {
                                prop_assert!(!a.value.starts_with('-'), "{:?}", a.value);
                            }
                        }
                    }
                }
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "fuzz: catalogue, {CASES} cases over {n} commands in {:?}",
        started.elapsed()
    );
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        word(),
        any::<String>(),
        any::<i64>().prop_map(|n| n.to_string()),
        Just(String::new()),
        Just("off".to_string()),
        Just("on".to_string()),
        Just("~/x".to_string()),
        Just("http://127.0.0.1:1/".to_string()),
        Just("127.0.0.1:0".to_string()),
        Just("-1001234567890/0".to_string()),
        Just("-1001234567890/99999999999".to_string()),
        prop::collection::vec(any::<i64>(), 0..4).prop_map(|v| v
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(":")),
    ]
}

/// The config parser: a valid base with up to 8 variables set to anything.
/// Never a panic; every problem names a variable gasclaw reads; what loads
/// keeps the documented ranges.
#[test]
fn fuzz_the_config_parser() {
    let started = Instant::now();
    let base: BTreeMap<String, String> = [
        ("GASTOWN_KIMI_KEYS", "sk-kimi-aaaaaaaaaaaaaaaaaaaa1111"),
        ("OPENCLAW_KIMI_KEY", "sk-kimi-oooooooooooooooooooo9999"),
        ("TELEGRAM_BOT_TOKEN", "123456:AAbbCCddEEff_gg-hh"),
        ("TELEGRAM_OWNER_ID", "42"),
        ("HOME", "/home/op"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let vars = prop::collection::vec((0..VARIABLES.len(), value()), 0..8);
    runner()
        .run(&vars, |set| {
            let mut env = base.clone();
            for (i, v) in set {
                env.insert(VARIABLES[i].to_string(), v);
            }
            match Config::load(&env) {
                Ok(c) => {
                    prop_assert!((1..=64).contains(&c.agent_count));
                    prop_assert!(c.telegram.member_rate >= 1 && c.telegram.operator_rate >= 1);
                    prop_assert!(!c.monitor_interval.is_zero());
                    prop_assert!(c.check_timeout > Duration::ZERO);
                }
                Err(e) => {
                    prop_assert!(!e.problems.is_empty());
                    for p in &e.problems {
                        prop_assert!(
                            VARIABLES.contains(&p.var.as_str()) || p.var == "GASCLAW_CONFIG",
                            "{p}"
                        );
                    }
                }
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("fuzz: config, {CASES} cases in {:?}", started.elapsed());
}
