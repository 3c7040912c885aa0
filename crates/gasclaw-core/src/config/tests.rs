use super::*;

const KEY_A: &str = "sk-kimi-aaaaaaaaaaaaaaaaaaaa1111";
const KEY_B: &str = "sk-kimi-bbbbbbbbbbbbbbbbbbbb2222";
const KEY_O: &str = "sk-kimi-oooooooooooooooooooo9999";
const TOKEN: &str = "123456:AAbbCCddEEff_gg-hh";

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut m: BTreeMap<String, String> = [
        ("GASTOWN_KIMI_KEYS", format!("{KEY_A}:{KEY_B}")),
        ("OPENCLAW_KIMI_KEY", KEY_O.to_string()),
        ("TELEGRAM_BOT_TOKEN", TOKEN.to_string()),
        ("TELEGRAM_OWNER_ID", "42".to_string()),
        ("HOME", "/home/op".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in pairs {
        m.insert(k.to_string(), v.to_string());
    }
    m
}

fn problems(pairs: &[(&str, &str)]) -> Vec<String> {
    match Config::load(&env(pairs)) {
        Ok(_) => vec![],
        Err(e) => e.problems.iter().map(|p| p.to_string()).collect(),
    }
}

fn assert_no_secret(lines: &[String]) {
    for l in lines {
        for s in [KEY_A, KEY_B, KEY_O, TOKEN, "AAbbCCdd", "aaaaaaaa"] {
            assert!(!l.contains(s), "secret leaked in {l:?}");
        }
    }
}

#[test]
fn defaults_apply() {
    let c = Config::load(&env(&[])).unwrap();
    assert_eq!(c.agent_keys.len(), 2);
    assert_eq!(c.overseer_keys.len(), 1);
    assert_eq!(c.telegram.owner_id, 42);
    assert_eq!(c.gt_root, PathBuf::from("/workspace/gt"));
    assert_eq!(c.rig_url, "/project");
    assert_eq!(c.rig_git_url(), "file:///project");
    assert_eq!(c.rig_name, "project");
    assert_eq!(c.project_dir, PathBuf::from("/project"));
    assert_eq!(c.agent_count, 6);
    assert_eq!(c.monitor_interval, Duration::from_secs(300));
    assert_eq!(c.activity_deadline, Duration::from_secs(3600));
    assert_eq!(c.dolt_port, 3307);
    assert_eq!(c.gateway_port, 18789);
    assert_eq!(c.proxy_port, 18790);
    assert_eq!(c.kimi_base_url.as_str(), "https://api.kimi.com/coding/");
    assert_eq!(c.telegram.api_url.as_str(), "https://api.telegram.org/");
    assert_eq!(c.home, PathBuf::from("/home/op/.gasclaw"));
    assert_eq!(c.key_cooldown, Duration::from_secs(300));
    assert_eq!(c.key_quota_cooldown, Duration::from_secs(3600));
    assert!(c.auto_heal && c.telegram.rate_limit);
    assert!(c.openclaw_telegram_token.is_none());
}

#[test]
fn missing_required_are_all_reported_at_once() {
    let mut e = env(&[]);
    for k in [
        "GASTOWN_KIMI_KEYS",
        "OPENCLAW_KIMI_KEY",
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_OWNER_ID",
    ] {
        e.remove(k);
    }
    let err = Config::load(&e).unwrap_err();
    let vars: Vec<&str> = err.problems.iter().map(|p| p.var.as_str()).collect();
    assert_eq!(
        vars,
        [
            "GASTOWN_KIMI_KEYS",
            "OPENCLAW_KIMI_KEY",
            "TELEGRAM_BOT_TOKEN",
            "TELEGRAM_OWNER_ID"
        ]
    );
    assert!(err.to_string().lines().all(|l| l.contains("is required")));
}

#[test]
fn empty_variable_counts_as_unset() {
    let p = problems(&[("TELEGRAM_OWNER_ID", "  "), ("DOLT_PORT", "")]);
    assert_eq!(p, ["TELEGRAM_OWNER_ID: is required but not set"]);
}

#[test]
fn token_shape() {
    for bad in ["nocolon", "abc:def", "123:", ":abc", "123:a b", "123:a/b"] {
        let p = problems(&[("TELEGRAM_BOT_TOKEN", bad)]);
        assert_eq!(p.len(), 1, "{bad}: {p:?}");
        assert!(p[0].starts_with("TELEGRAM_BOT_TOKEN: does not look like a bot token"));
    }
    assert!(problems(&[("TELEGRAM_BOT_TOKEN", "1:a_B-9")]).is_empty());
}

#[test]
fn token_error_shows_at_most_a_hint() {
    let p = problems(&[("TELEGRAM_BOT_TOKEN", "secretsecretsecret")]);
    assert!(p[0].contains("…cret"));
    assert!(!p[0].contains("secretsecret"));
}

#[test]
fn numeric_ids() {
    let p = problems(&[
        ("TELEGRAM_OWNER_ID", "@alice"),
        ("TELEGRAM_ALLOW_IDS", "7:x8:9"),
        ("TELEGRAM_GROUP_IDS", "-100123:abc"),
    ]);
    assert_eq!(
        p,
        [
            "TELEGRAM_OWNER_ID: is not a numeric Telegram user id",
            "TELEGRAM_ALLOW_IDS: is not a numeric Telegram user id",
            "TELEGRAM_GROUP_IDS: holds an item that is not a numeric chat id (group ids look like -1001234567890)",
        ]
    );
    let c = Config::load(&env(&[
        ("TELEGRAM_ALLOW_IDS", "7:8"),
        ("TELEGRAM_GROUP_IDS", "-1001:-4002"),
    ]))
    .unwrap();
    assert_eq!(c.telegram.allow_ids, [7, 8]);
    assert_eq!(c.telegram.group_ids, [-1001, -4002]);
}

#[test]
fn ports_in_range_and_distinct() {
    let p = problems(&[("DOLT_PORT", "0"), ("GATEWAY_PORT", "70000")]);
    assert_eq!(
        p,
        [
            "DOLT_PORT: is not a port between 1 and 65535",
            "GATEWAY_PORT: is not a port between 1 and 65535",
        ]
    );
    let p = problems(&[("GATEWAY_PORT", "3307")]);
    assert_eq!(
        p,
        ["DOLT_PORT: port 3307 is also used by GATEWAY_PORT; every service needs its own port"]
    );
}

#[test]
fn durations_positive() {
    let p = problems(&[
        ("MONITOR_INTERVAL", "0"),
        ("ACTIVITY_DEADLINE", "-5"),
        ("KEY_COOLDOWN", "soon"),
    ]);
    assert_eq!(p.len(), 3);
    assert!(p[0].starts_with("MONITOR_INTERVAL: is not a positive duration"));
    assert!(p[1].starts_with("ACTIVITY_DEADLINE:"));
    assert!(p[2].starts_with("KEY_COOLDOWN:"));
    let c = Config::load(&env(&[("MONITOR_INTERVAL", "5m"), ("ALERT_REPEAT", "90")])).unwrap();
    assert_eq!(c.monitor_interval, Duration::from_secs(300));
    assert_eq!(c.alert_repeat, Duration::from_secs(90));
}

#[test]
fn keys_rules() {
    let dup = format!("{KEY_A}:{KEY_B}:{KEY_A}");
    let p = problems(&[("GASTOWN_KIMI_KEYS", &dup)]);
    assert_eq!(
        p,
        ["GASTOWN_KIMI_KEYS: key 3 (…1111) is a duplicate of key 1"]
    );
    let p = problems(&[("GASTOWN_KIMI_KEYS", ":")]);
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(p[0].contains("key 1 is empty"));
    let shared = KEY_O.to_string();
    let p = problems(&[("GASTOWN_KIMI_KEYS", &shared)]);
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with("OPENCLAW_KIMI_KEY: key 1 (…9999) is also in GASTOWN_KIMI_KEYS"));
    assert_no_secret(&p);
    let two = format!("{KEY_O}:sk-kimi-second-overseer-key-7777");
    let c = Config::load(&env(&[("OPENCLAW_KIMI_KEY", &two)])).unwrap();
    assert_eq!(c.overseer_keys.len(), 2);
}

#[test]
fn openclaw_token_must_differ() {
    let p = problems(&[("OPENCLAW_TELEGRAM_BOT_TOKEN", TOKEN)]);
    assert_eq!(p.len(), 1);
    assert!(p[0].contains("same token as TELEGRAM_BOT_TOKEN"));
    assert_no_secret(&p);
}

#[test]
fn rig_and_paths() {
    let p = problems(&[
        ("GT_RIG_NAME", "my-rig"),
        ("GT_RIG_URL", "./relative"),
        ("GT_ROOT", "relative/town"),
    ]);
    assert_eq!(p.len(), 3, "{p:?}");
    let p = problems(&[("GT_RIG_NAME", "hq")]);
    assert_eq!(p.len(), 1);
    let c = Config::load(&env(&[
        ("GT_RIG_URL", "https://example.org/x.git"),
        ("GASCLAW_HOME", "~/state"),
    ]))
    .unwrap();
    assert_eq!(c.rig_git_url(), "https://example.org/x.git");
    assert_eq!(c.home, PathBuf::from("/home/op/state"));
}

#[test]
fn alert_chats_with_topics() {
    let c = Config::load(&env(&[("ALERT_CHAT_IDS", "-1001/77:55")])).unwrap();
    assert_eq!(
        c.alert_chats,
        [
            ChatTarget {
                chat_id: -1001,
                thread_id: Some(77)
            },
            ChatTarget {
                chat_id: 55,
                thread_id: None
            }
        ]
    );
    assert_eq!(problems(&[("ALERT_CHAT_IDS", "-1001/1")]).len(), 1);
}

#[test]
fn file_layer_env_wins_and_unknown_keys_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("gasclaw.toml");
    std::fs::write(
        &f,
        "dolt_port = 4000\ngateway_port = 4001\ntelegram_allow_ids = [7, 8]\n",
    )
    .unwrap();
    let path = f.to_str().unwrap();
    let c = Config::load(&env(&[("GASCLAW_CONFIG", path), ("GATEWAY_PORT", "4002")])).unwrap();
    assert_eq!(c.dolt_port, 4000);
    assert_eq!(c.gateway_port, 4002);
    assert_eq!(c.telegram.allow_ids, [7, 8]);
    assert_eq!(c.sources["DOLT_PORT"], Source::File);
    assert_eq!(c.sources["GATEWAY_PORT"], Source::Env);

    std::fs::write(&f, "dolt_port = 4000\nmonitor_intervall = 5\n").unwrap();
    let p = problems(&[("GASCLAW_CONFIG", path)]);
    assert_eq!(p.len(), 1);
    assert!(p[0].contains("monitor_intervall"), "{p:?}");
}

#[test]
fn redacted_rows_hide_every_secret() {
    let c = Config::load(&env(&[(
        "OPENCLAW_TELEGRAM_BOT_TOKEN",
        "999:zzzzzzzzzzzzzzzzzzzzzz",
    )]))
    .unwrap();
    let rows: Vec<String> = c
        .redacted_rows()
        .iter()
        .map(|(k, v, _)| format!("{k}={v}"))
        .collect();
    assert_no_secret(&rows);
    assert!(rows.iter().all(|r| !r.contains("zzzzzzzz")));
    assert_eq!(rows.len(), VARIABLES.len());
    assert!(rows.contains(&"TELEGRAM_BOT_TOKEN=[redacted] (bot 123456)".to_string()));
    // Debug never prints secrets either.
    let dbg = format!("{c:?}");
    assert!(!dbg.contains(KEY_A) && !dbg.contains(TOKEN));
}

#[test]
fn a_secret_in_the_wrong_variable_is_never_echoed() {
    // Every non-secret variable, given a key by mistake: the problem names
    // the variable and shows no part of the value.
    let secret = "sk-kimi-PASTEDINTOTHEWRONGPLACE-4242";
    for var in VARIABLES {
        if SECRET_VARIABLES.contains(var) {
            continue;
        }
        let p = problems(&[(var, secret)]);
        for line in &p {
            assert!(
                !line.contains("PASTEDINTO"),
                "{var} echoed the value: {line}"
            );
            assert!(
                !line.contains("4242"),
                "{var} echoed a part of the value: {line}"
            );
        }
    }
    // The same in the TOML file.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("gasclaw.toml");
    std::fs::write(
        &f,
        format!("dolt_port = \"{secret}\"\nlog_level = \"{secret}\"\n"),
    )
    .unwrap();
    let p = problems(&[("GASCLAW_CONFIG", f.to_str().unwrap())]);
    assert!(!p.is_empty());
    for line in &p {
        assert!(!line.contains("PASTEDINTO"), "{line}");
    }
}

#[test]
fn cooldowns_and_the_idle_timeout_are_capped_at_a_day() {
    let p = problems(&[
        ("KEY_COOLDOWN", "25h"),
        ("KEY_QUOTA_COOLDOWN", "9000000000000"),
        ("PROXY_IDLE_TIMEOUT", "2d"),
    ]);
    assert_eq!(
        p,
        [
            "KEY_COOLDOWN: is longer than the limit of 86400s",
            "KEY_QUOTA_COOLDOWN: is longer than the limit of 86400s",
            "PROXY_IDLE_TIMEOUT: is longer than the limit of 86400s",
        ]
    );
    let c = Config::load(&env(&[
        ("KEY_QUOTA_COOLDOWN", "24h"),
        ("PROXY_IDLE_TIMEOUT", "30"),
    ]))
    .unwrap();
    assert_eq!(c.key_quota_cooldown, Duration::from_secs(86400));
    assert_eq!(c.proxy_idle_timeout, Duration::from_secs(30));
    assert_eq!(
        Config::load(&env(&[])).unwrap().proxy_idle_timeout,
        Duration::from_secs(300)
    );
}

#[test]
fn secrets_can_come_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::write(&keys, format!("{KEY_A}:{KEY_B}\n")).unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, format!("{TOKEN}\r\n")).unwrap();
    let mut e = env(&[]);
    e.remove("GASTOWN_KIMI_KEYS");
    e.remove("TELEGRAM_BOT_TOKEN");
    e.insert("GASTOWN_KIMI_KEYS_FILE".into(), keys.display().to_string());
    e.insert(
        "TELEGRAM_BOT_TOKEN_FILE".into(),
        token.display().to_string(),
    );
    let c = Config::load(&e).unwrap();
    assert_eq!(c.agent_keys.len(), 2);
    assert_eq!(c.agent_keys[1].expose_secret(), KEY_B);
    assert_eq!(c.telegram.bot_token.expose_secret(), TOKEN);
    assert_eq!(c.sources["GASTOWN_KIMI_KEYS"], Source::SecretFile);

    // Both set: an error naming both, and no value.
    let mut both = e.clone();
    both.insert("TELEGRAM_BOT_TOKEN".into(), TOKEN.into());
    let err = Config::load(&both).unwrap_err().to_string();
    assert_eq!(
        err,
        "config: TELEGRAM_BOT_TOKEN_FILE: TELEGRAM_BOT_TOKEN and TELEGRAM_BOT_TOKEN_FILE are both set; set only one"
    );

    // A missing or empty file is named by its variable and path.
    let mut missing = e.clone();
    missing.insert("OPENCLAW_KIMI_KEY_FILE".into(), "/nonexistent/okey".into());
    missing.remove("OPENCLAW_KIMI_KEY");
    let err = Config::load(&missing).unwrap_err().to_string();
    assert!(
        err.starts_with(
            "config: OPENCLAW_KIMI_KEY_FILE: cannot read the secret file /nonexistent/okey"
        ),
        "{err}"
    );
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let mut e2 = e.clone();
    e2.insert(
        "OPENCLAW_TELEGRAM_BOT_TOKEN_FILE".into(),
        empty.display().to_string(),
    );
    let err = Config::load(&e2).unwrap_err().to_string();
    assert!(
        err.contains("OPENCLAW_TELEGRAM_BOT_TOKEN_FILE: the secret file"),
        "{err}"
    );
    assert_no_secret(&[err]);
}

#[test]
fn usage_settings_and_budgets() {
    let c = Config::load(&env(&[])).unwrap();
    assert_eq!(c.usage_retention_days, 90);
    assert_eq!(c.usage_quota_poll, Duration::from_secs(900));
    assert_eq!(
        (c.usage_budget_daily, c.usage_budget_daily_per_slot),
        (None, None)
    );
    let c = Config::load(&env(&[
        ("USAGE_BUDGET_DAILY", "5M"),
        ("USAGE_BUDGET_DAILY_PER_SLOT", "750000"),
        ("USAGE_RETENTION_DAYS", "30"),
        ("USAGE_QUOTA_POLL", "10m"),
    ]))
    .unwrap();
    assert_eq!(c.usage_budget_daily, Some(5_000_000));
    assert_eq!(c.usage_budget_daily_per_slot, Some(750_000));
    assert_eq!(c.usage_retention_days, 30);
    assert_eq!(c.usage_quota_poll, Duration::from_secs(600));
    let p = problems(&[
        ("USAGE_BUDGET_DAILY", "lots"),
        ("USAGE_BUDGET_DAILY_PER_SLOT", "0"),
        ("USAGE_RETENTION_DAYS", "0"),
        ("USAGE_QUOTA_POLL", "30s"),
    ]);
    assert_eq!(p.len(), 4, "{p:?}");
    assert!(
        p.iter()
            .any(|l| l.starts_with("USAGE_BUDGET_DAILY: is not a positive token count"))
    );
    assert!(
        p.iter()
            .any(|l| l.starts_with("USAGE_BUDGET_DAILY_PER_SLOT:"))
    );
    assert!(p.iter().any(|l| l.starts_with("USAGE_RETENTION_DAYS:")));
    assert!(
        p.iter()
            .any(|l| l.starts_with("USAGE_QUOTA_POLL: must be at least 5m"))
    );
    // A huge multiplier is refused, not wrapped.
    assert_eq!(
        problems(&[("USAGE_BUDGET_DAILY", "99999999999999G")]).len(),
        1
    );
}

const GH: &str = "github_pat_11AAAAAAA0abcdefghijklmnopqrstuvwxyz";

#[test]
fn github_is_off_without_a_token() {
    let c = Config::load(&env(&[])).unwrap();
    assert!(c.github.enabled().is_none());
    assert_eq!(c.github.api_url.as_str(), "https://api.github.com/");
    assert_eq!(c.github.poll, Duration::from_secs(60));
    assert_eq!(c.activity_source, ActivitySource::Local);
    let rows = c.redacted_rows();
    let row = rows.iter().find(|r| r.0 == "GITHUB_TOKEN").unwrap();
    assert_eq!(row.1, "(unset: the GitHub features are off)");
}

#[test]
fn github_repo_comes_from_the_rig_remote_and_the_token_is_a_secret() {
    for (url, want) in [
        ("https://github.com/acme/widgets.git", Some("acme/widgets")),
        ("https://github.com/acme/widgets", Some("acme/widgets")),
        ("git@github.com:acme/widgets.git", Some("acme/widgets")),
        (
            "ssh://git@github.com/acme/wid.gets.git",
            Some("acme/wid.gets"),
        ),
        ("https://gitlab.com/acme/widgets.git", None),
        ("/project", None),
    ] {
        assert_eq!(github_repo_from_remote(url).as_deref(), want, "{url}");
    }
    let c = Config::load(&env(&[
        ("GITHUB_TOKEN", GH),
        ("GT_RIG_URL", "git@github.com:acme/widgets.git"),
        ("GITHUB_CHAT", "-1001/7"),
        ("ACTIVITY_SOURCE", "both"),
    ]))
    .unwrap();
    let (token, repo) = c.github.enabled().unwrap();
    assert_eq!((token.expose_secret(), repo), (GH, "acme/widgets"));
    assert_eq!(
        c.github.chat,
        Some(ChatTarget {
            chat_id: -1001,
            thread_id: Some(7)
        })
    );
    assert_eq!(c.activity_source, ActivitySource::Both);
    assert!(c.secrets().iter().any(|s| s.expose_secret() == GH));
    assert!(SECRET_VARIABLES.contains(&"GITHUB_TOKEN"));
    let shown: Vec<String> = c
        .redacted_rows()
        .iter()
        .map(|(v, val, _)| format!("{v}={val}"))
        .collect();
    assert!(
        shown
            .iter()
            .all(|l| !l.contains(GH) && !l.contains("abcdefgh")),
        "{shown:?}"
    );
    assert!(shown.contains(&"GITHUB_REPO=acme/widgets".to_string()));
    assert!(!format!("{c:?}").contains(GH), "Debug hides the token");
}

#[test]
fn github_token_from_a_file_and_the_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("gh-token");
    std::fs::write(&f, format!("{GH}\n")).unwrap();
    let path = f.display().to_string();
    let c = Config::load(&env(&[
        ("GITHUB_TOKEN_FILE", &path),
        ("GITHUB_REPO", "acme/widgets"),
    ]))
    .unwrap();
    assert_eq!(c.github.token.as_ref().unwrap().expose_secret(), GH);
    let p = problems(&[
        ("GITHUB_TOKEN", GH),
        ("GITHUB_TOKEN_FILE", &path),
        ("GITHUB_REPO", "acme/widgets"),
    ]);
    assert_eq!(
        p,
        ["GITHUB_TOKEN_FILE: GITHUB_TOKEN and GITHUB_TOKEN_FILE are both set; set only one"]
    );
    let p = problems(&[("GITHUB_TOKEN", GH)]);
    assert_eq!(
        p,
        [
            "GITHUB_REPO: is not set and GT_RIG_URL is not a github.com remote: name the repository to watch as owner/name"
        ]
    );
    let p = problems(&[("GITHUB_REPO", "not-a-repo"), ("ACTIVITY_SOURCE", "github")]);
    assert_eq!(
        p,
        [
            "GITHUB_REPO: is not owner/name",
            "ACTIVITY_SOURCE: counts GitHub activity, but the GitHub features are off (set GITHUB_TOKEN and GITHUB_REPO)"
        ]
    );
    let p = problems(&[("GITHUB_TOKEN_FILE", "/nonexistent/gh")]);
    assert!(
        p[0].starts_with("GITHUB_TOKEN_FILE: cannot read the secret file /nonexistent/gh"),
        "{p:?}"
    );
    assert_no_secret(&p);
}

#[test]
fn the_work_settings_have_defaults_and_limits() {
    let c = Config::load(&env(&[])).unwrap();
    assert_eq!(c.stuck_pane_after, Duration::from_secs(900));
    assert!(!c.auto_pause);
    assert_eq!(c.auto_pause_after, Duration::from_secs(600));
    assert_eq!(c.nudge_text, DEFAULT_NUDGE_TEXT);
    let c = Config::load(&env(&[
        ("AUTO_PAUSE", "on"),
        ("AUTO_PAUSE_AFTER", "2m"),
        ("STUCK_PANE_AFTER", "1"),
        ("NUDGE_TEXT", "  carry on  "),
    ]))
    .unwrap();
    assert!(c.auto_pause);
    assert_eq!(c.auto_pause_after, Duration::from_secs(120));
    assert_eq!(c.stuck_pane_after, Duration::from_secs(1));
    assert_eq!(c.nudge_text, "carry on");
    let long = "x".repeat(501);
    let p = problems(&[("NUDGE_TEXT", &long), ("AUTO_PAUSE", "maybe")]);
    assert!(
        p.iter()
            .any(|l| l.starts_with("NUDGE_TEXT: must be at most 500")),
        "{p:?}"
    );
    assert!(p.iter().any(|l| l.starts_with("AUTO_PAUSE:")), "{p:?}");
}

#[test]
fn rig_topics_route_rigs_and_name_the_bad_entry() {
    let c = Config::load(&env(&[("RIG_TOPICS", "project:-100123/45, web:-100999")])).unwrap();
    assert_eq!(
        c.rig_topics.get("project"),
        Some(&ChatTarget {
            chat_id: -100123,
            thread_id: Some(45)
        })
    );
    assert_eq!(c.rig_topics.get("web").map(|t| t.thread_id), Some(None));
    let p = problems(&[(
        "RIG_TOPICS",
        "project-100123/45,we-b:-1,x:abc,project:-1/0,a:-1,a:-2",
    )]);
    assert_eq!(
        p,
        [
            "RIG_TOPICS: entry 1 is not rig:chat_id/thread_id",
            "RIG_TOPICS: entry 2: the rig is not a rig name (letters, digits and _)",
            "RIG_TOPICS: entry 3 (rig `x`) holds an item that is not a chat id or chat_id/thread_id",
            "RIG_TOPICS: entry 4 (rig `project`) holds a thread id that is not a forum topic id greater than 1 (the General topic takes no thread id)",
            "RIG_TOPICS: entry 6: rig `a` is given twice",
        ]
    );
}

#[test]
fn the_digest_hour_and_the_time_zone() {
    let c = Config::load(&env(&[])).unwrap();
    assert_eq!((c.tz, c.digest_at), (chrono_tz::Tz::UTC, None));
    let c = Config::load(&env(&[
        ("GASCLAW_TZ", "Asia/Shanghai"),
        ("DIGEST_AT", "08:30"),
    ]))
    .unwrap();
    assert_eq!(c.tz, chrono_tz::Tz::Asia__Shanghai);
    assert_eq!(c.digest_at, chrono::NaiveTime::from_hms_opt(8, 30, 0));
    let p = problems(&[("DIGEST_AT", "25:00")]);
    assert_eq!(p, ["DIGEST_AT: is not a time of day as HH:MM (like 09:00)"]);
}

#[test]
fn the_stack_user_needs_gasclaws_own_a_different_one_and_a_home() {
    let p = problems(&[("STACK_USER", "4252"), ("STACK_HOME", "/srv/agent")]);
    assert!(
        p.iter()
            .any(|l| l.starts_with("STACK_USER: needs GASCLAW_USER")),
        "{p:?}"
    );
    let p = problems(&[("GASCLAW_USER", "4252"), ("STACK_USER", "4252:4253")]);
    assert!(p.iter().any(|l| l.contains("must differ")), "{p:?}");
    let p = problems(&[("GASCLAW_USER", "4251"), ("STACK_USER", "4252")]);
    assert_eq!(
        p,
        vec!["STACK_HOME: is required: STACK_USER has no home directory in /etc/passwd"]
    );
    let p = problems(&[("STACK_HOME", "/srv/agent")]);
    assert!(
        p.iter().any(|l| l.contains("only used with STACK_USER")),
        "{p:?}"
    );
    let p = problems(&[("GASCLAW_USER", "0")]);
    assert!(
        p.iter()
            .any(|l| l.contains("GASCLAW_USER: must not be root")),
        "{p:?}"
    );

    let c = Config::load(&env(&[
        ("GASCLAW_USER", "4251"),
        ("STACK_USER", "4252:4260"),
        ("STACK_HOME", "/srv/agent"),
    ]))
    .unwrap();
    assert_eq!(
        c.gasclaw_user.as_ref().map(|u| (u.uid, u.gid)),
        Some((4251, 4251))
    );
    let stack = c.stack.as_ref().unwrap();
    assert_eq!((stack.id.uid, stack.id.gid), (4252, 4260));
    assert_eq!(stack.home, PathBuf::from("/srv/agent"));
    // Unset: today's behaviour, one uid.
    let c = Config::load(&env(&[])).unwrap();
    assert!(c.gasclaw_user.is_none() && c.stack.is_none());
}

#[test]
fn alert_routes_quiet_hours_and_time_zone() {
    let c = Config::load(&env(&[
        (
            "ALERT_CHAT_IDS",
            "-100123/7:critical,warning:-100456,info:-100789",
        ),
        ("QUIET_HOURS", "22:00-07:00"),
        ("GASCLAW_TZ", "Europe/Berlin"),
        ("ALERT_GROUP_WAIT", "5"),
    ]))
    .unwrap();
    let t = |chat_id, thread_id| ChatTarget { chat_id, thread_id };
    assert_eq!(
        c.alert_chats,
        [t(-100123, Some(7)), t(-100456, None), t(-100789, None)]
    );
    let f = |critical, warning, info| SeverityFilter {
        critical,
        warning,
        info,
    };
    assert_eq!(
        c.alert_filters,
        [
            (t(-100123, Some(7)), f(true, true, false)),
            (t(-100456, None), f(false, false, true)),
            (t(-100789, None), SeverityFilter::ALL),
        ]
    );
    assert_eq!(c.alert_group_wait, Duration::from_secs(5));
    assert_eq!(c.tz, chrono_tz::Europe::Berlin);
    let hm = |h, m| chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap();
    assert_eq!(c.quiet_hours, Some((hm(22, 0), hm(7, 0))));
    let d = Config::load(&env(&[])).unwrap();
    assert_eq!(
        (d.tz, d.quiet_hours, d.alert_group_wait),
        (chrono_tz::UTC, None, Duration::from_secs(30))
    );

    let p = problems(&[("ALERT_CHAT_IDS", "-100123:critcal")]);
    assert!(
        p.len() == 1 && p[0].contains("entry 2 (`critcal`)"),
        "{p:?}"
    );
    let p = problems(&[("ALERT_CHAT_IDS", "warning:-100123")]);
    assert!(
        p.len() == 1 && p[0].contains("entry 1 (`warning`) names a severity before any chat"),
        "{p:?}"
    );
    let p = problems(&[("ALERT_CHAT_IDS", "-100123/1")]);
    assert!(
        p.len() == 1 && p[0].contains("entry 1 (`-100123/1`)"),
        "{p:?}"
    );
    let p = problems(&[("QUIET_HOURS", "22:00-25:00")]);
    assert!(p.len() == 1 && p[0].contains("`25:00`"), "{p:?}");
    let p = problems(&[("QUIET_HOURS", "22:00")]);
    assert!(p.len() == 1 && p[0].contains("like 22:00-07:00"), "{p:?}");
    // As `.env.example` leaves them.
    assert!(problems(&[("QUIET_HOURS", ""), ("GASCLAW_TZ", "")]).is_empty());
    let p = problems(&[("GASCLAW_TZ", "Mars/Olympus")]);
    assert!(p.len() == 1 && p[0].contains("IANA time zone"), "{p:?}");
}
