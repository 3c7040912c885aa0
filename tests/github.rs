//! GitHub in the loop, end to end: the real `gasclaw` binary, the fake stack
//! on PATH, the fake Bot API and the fake GitHub REST API on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on the unexpected

mod common;

use std::time::Duration;

use common::*;
use gasclaw_fakes::bot_api::updates::{self, Chat, User};

use gasclaw_fakes::github::{FakeGithub, FakeGithubOptions, GhFault, NewPull};
use serde_json::Value;

const T: Duration = Duration::from_secs(240);
const WAIT: Duration = Duration::from_secs(30);
const GH_TOKEN: &str = "github_pat_11TESTTOKEN0000000000_secretsecretsecretsecret";

/// gasclaw with GitHub on, the fake GitHub it polls, and what the last
/// stopped gasclaw logged.
struct GhWorld {
    w: World,
    gh: FakeGithub,
    logs: String,
}

impl std::ops::Deref for GhWorld {
    type Target = World;
    fn deref(&self) -> &World {
        &self.w
    }
}

impl std::ops::DerefMut for GhWorld {
    fn deref_mut(&mut self) -> &mut World {
        &mut self.w
    }
}

async fn fake_github(opts: FakeGithubOptions) -> FakeGithub {
    FakeGithub::start(FakeGithubOptions {
        token: GH_TOKEN.into(),
        ..opts
    })
    .await
    .expect("fake GitHub")
}

impl GhWorld {
    async fn start(gh: FakeGithub) -> GhWorld {
        GhWorld::start_with(gh, |_| {}).await
    }

    async fn start_with(gh: FakeGithub, tweak: impl FnOnce(&mut TestEnv)) -> GhWorld {
        let w = World::launch(|env| {
            env.allow(&GROUP.to_string());
            env.set("TELEGRAM_RATE_LIMIT", "off");
            env.set("MONITOR_INTERVAL", "1h");
            env.set("GITHUB_TOKEN", GH_TOKEN);
            env.set("GITHUB_REPO", gh.repo());
            env.set("GITHUB_API_URL", &gh.url());
            env.set("GITHUB_POLL", "1s");
            tweak(env);
        })
        .await;
        let w = GhWorld {
            w,
            gh,
            logs: String::new(),
        };
        w.first_poll().await;
        w
    }

    async fn start_run(&mut self) {
        self.w.run = Some(self.w.env.start_run(&self.w.tg).await);
        self.first_poll().await;
    }

    /// The first poll is the baseline; the tests' changes come after it.
    async fn first_poll(&self) {
        let cursor = self.env.gasclaw_home.join("github/cursor.json");
        self.env
            .wait_until("the first GitHub poll", WAIT, || cursor.exists())
            .await;
    }

    /// SIGTERM; keeps what gasclaw logged.
    async fn stop_run(&mut self) {
        let code = sigterm(self.w.run.take().expect("running")).await;
        let err = self.env.run_log();
        assert_eq!(code, Some(0), "{err}");
        self.logs = err;
    }

    /// Every text the bot sent (or tried to send) to `chat`.
    fn texts_to(&self, chat: i64) -> Vec<String> {
        self.tg
            .calls()
            .iter()
            .filter(|c| c.method == "sendmessage" && c.chat_id() == Some(chat))
            .map(|c| c.text().to_string())
            .collect()
    }

    /// How many delivered messages to the owner contain `needle` (the
    /// outbox may merge several announcements into one message).
    fn announced(&self, needle: &str) -> usize {
        self.announced_in(OWNER_ID as i64, needle)
    }

    fn announced_in(&self, chat: i64, needle: &str) -> usize {
        self.tg
            .calls()
            .iter()
            .filter(|c| {
                c.method == "sendmessage" && c.chat_id() == Some(chat) && c.response_status == 200
            })
            .map(|c| c.text().matches(needle).count())
            .sum()
    }

    async fn wait_announced(&self, needle: &str) {
        self.env
            .wait_until(&format!("“{needle}” announced"), WAIT, || {
                self.announced(needle) > 0
            })
            .await;
    }

    /// Waits for `n` more polls of the open pull requests.
    async fn polls(&self, n: usize) {
        let floor = self.gh.last_seq();
        let path = format!("repos/{}/pulls", self.gh.repo());
        self.env
            .wait_until("more GitHub polls", WAIT, || {
                self.gh
                    .requests()
                    .iter()
                    .filter(|r| r.seq > floor && r.path == path && r.query.contains("state=open"))
                    .count()
                    >= n
            })
            .await;
    }

    /// No child of gasclaw (gt, dolt, the mayor's claude, the gateway …)
    /// has the token in its environment.
    fn assert_children_lack_the_token(&self) {
        let me = gasclaw_bin().display().to_string();
        let children: Vec<_> = self
            .env
            .processes()
            .into_iter()
            .filter(|(_, cmd)| !cmd.starts_with(&me))
            .collect();
        assert!(!children.is_empty(), "the stack runs");
        for (pid, cmd) in children {
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            assert!(
                !String::from_utf8_lossy(&environ).contains("secretsecret"),
                "the token is in the environment of {cmd}"
            );
        }
        let runs = std::fs::read_to_string(self.env.fake_dir.join("claude-runs.jsonl"))
            .unwrap_or_default();
        assert!(!runs.contains("secretsecret"));
    }

    /// Everything that must never hold the token: logs, chat messages, the
    /// files gasclaw wrote, the fakes' record of process arguments.
    fn assert_token_nowhere(&self) {
        assert!(!self.logs.contains(GH_TOKEN), "the token is in the log");
        assert!(!self.logs.contains("secretsecret"));
        for c in self.tg.calls() {
            assert!(
                !c.body.to_string().contains("secretsecret"),
                "the token went to Telegram: {c:?}"
            );
        }
        assert_eq!(
            self.env.files_containing("secretsecret"),
            Vec::<std::path::PathBuf>::new()
        );
        for l in self.env.call_lines() {
            assert!(!l.contains("secretsecret"), "{l}");
        }
        assert!(
            self.gh.requests().iter().all(|r| r.authorized),
            "every request carried the token"
        );
    }
}

#[test]
fn pull_requests_and_checks_are_announced_once_across_restarts_with_304s_and_rate_limits() {
    run_test(T, async {
        let gh = fake_github(FakeGithubOptions {
            page_size: 2,
            ..Default::default()
        })
        .await;
        for i in 0..3 {
            gh.open_pull(NewPull::new(&format!("old {i}"), "alice", "feature/x"));
        }
        let mut w = GhWorld::start(gh.clone()).await;

        let mut p = NewPull::new("Teach the parser", "nux", "polecat/nux/gc-1");
        p.additions = 120;
        let pr = gh.open_pull(p);
        gh.set_check(pr, "ci", Some("failure"));
        w.wait_announced(&format!("New pull request #{pr}: Teach the parser"))
            .await;
        w.wait_announced(&format!("Checks failing on #{pr}")).await;
        let texts = w.texts_to(OWNER_ID as i64).join("\n");
        assert!(
            texts.contains("by nux (agent) · branch polecat/nux/gc-1"),
            "{texts}"
        );
        assert!(texts.contains("+120 −2 in 3 files"), "{texts}");
        assert!(
            texts.contains("actions/runs/"),
            "a link to the failing run: {texts}"
        );
        assert_eq!(w.announced("old 0"), 0, "the baseline is not announced");

        // Nothing changes: the polls are answered 304 on every page.
        w.polls(1).await;
        let floor = gh.last_seq();
        w.polls(2).await;
        let later: Vec<_> = gh
            .requests()
            .into_iter()
            .filter(|r| r.seq > floor && r.method == "GET")
            .collect();
        assert!(!later.is_empty());
        assert!(
            later
                .iter()
                .all(|r| r.status == 304 && r.if_none_match.is_some()),
            "{later:?}"
        );
        assert!(
            later.iter().any(|r| r.query.contains("page=2")),
            "the Link pages are polled too: {later:?}"
        );

        // A secondary and a primary rate limit are waited out, not hammered.
        gh.inject(GhFault::Secondary { retry_after: 2 });
        gh.inject(GhFault::Primary { reset_in: 2 });
        let issue = gh.open_issue("Crash on start", "dave");
        w.wait_announced(&format!("New issue #{issue}: Crash on start"))
            .await;
        let reqs = gh.requests();
        let limited: Vec<_> = reqs.iter().filter(|r| r.status == 403).collect();
        assert_eq!(limited.len(), 2, "{limited:?}");
        for l in &limited {
            let next = reqs
                .iter()
                .find(|r| r.seq == l.seq + 1)
                .expect("a request after the limit");
            let waited = next.at.duration_since(l.at);
            assert!(
                waited >= Duration::from_millis(900),
                "waited only {waited:?} after {l:?}"
            );
        }

        // Down for a while: a new pull request opens meanwhile.
        w.stop_run().await;
        let later_pr = gh.open_pull(NewPull::new("Fix the crash", "bob", "fix/crash"));
        gh.set_check(later_pr, "ci", Some("failure"));
        w.start_run().await;
        w.wait_announced(&format!("New pull request #{later_pr}: Fix the crash"))
            .await;
        w.wait_announced(&format!("Checks failing on #{later_pr}"))
            .await;
        w.polls(2).await;
        // Later green: said once.
        gh.set_check(pr, "ci", Some("success"));
        w.wait_announced(&format!("Checks passing again on #{pr}"))
            .await;
        w.polls(2).await;
        for (needle, n) in [
            (format!("New pull request #{pr}:"), 1),
            (format!("Checks failing on #{pr}"), 1),
            (format!("Checks passing again on #{pr}"), 1),
            (format!("New issue #{issue}:"), 1),
            (format!("New pull request #{later_pr}:"), 1),
            (format!("Checks failing on #{later_pr}"), 1),
        ] {
            assert_eq!(w.announced(&needle), n, "{needle}");
        }
        // /mute github silences the announcements.
        let r = w
            .say(
                updates::private_text(&owner(), "/mute github 1h"),
                OWNER_ID as i64,
            )
            .await;
        assert!(r.text().contains("github muted"), "{}", r.text());
        gh.close_pull(later_pr);
        w.polls(3).await;
        w.assert_children_lack_the_token();
        assert_eq!(w.announced(&format!("#{later_pr} closed")), 0);
        w.stop_run().await;
        w.assert_token_nowhere();
        w.tg.stop();
    });
}

#[test]
fn merge_and_take_from_the_phone_for_the_right_people_only() {
    run_test(T, async {
        let gh = fake_github(FakeGithubOptions {
            allow_merge_commit: false,
            allow_rebase: false,
            ..Default::default()
        })
        .await;
        let pr = gh.open_pull(NewPull::new("Teach the parser", "nux", "polecat/nux/x"));
        gh.set_check(pr, "ci", Some("failure"));
        let issue = gh.open_issue("Crash on start", "dave");
        // GitHub's announcements go to the group's topic, not the owner.
        let mut w = GhWorld::start_with(gh.clone(), |e| {
            e.set("GITHUB_CHAT", &format!("{GROUP}/7"));
        })
        .await;
        let o = owner();
        let owner_chat = OWNER_ID as i64;

        let r = w
            .say(updates::private_text(&o, "/status"), owner_chat)
            .await;
        assert!(
            r.text()
                .contains(&format!("GitHub: watching {}", gh.repo())),
            "{}",
            r.text()
        );
        let r = w
            .say(updates::private_text(&o, &format!("/pr #{pr}")), owner_chat)
            .await;
        assert!(
            r.text().contains("ci: failed") && r.text().contains("+10 −2 in 3 files"),
            "{}",
            r.text()
        );
        let r = w.say(updates::private_text(&o, "/prs"), owner_chat).await;
        assert!(
            r.text().contains(&format!("#{pr}</a> Teach the parser"))
                && r.text().contains("checks failing"),
            "{}",
            r.text()
        );

        // A member and an operator cannot merge; a member cannot take; a
        // stranger hears only the refusal.
        let member = User::new(MEMBER, "Member");
        let group = Chat::supergroup(GROUP, "ops");
        let r = w
            .say(
                updates::group_text(&member, &group, &format!("/merge {pr}")),
                GROUP,
            )
            .await;
        assert!(r.text().contains("needs the owner role"), "{}", r.text());
        let r = w
            .say(
                updates::group_text(&member, &group, &format!("/take {issue}")),
                GROUP,
            )
            .await;
        assert!(r.text().contains("needs the operator role"), "{}", r.text());
        let operator = User::new(OPERATOR, "Op");
        let r = w
            .say(
                updates::private_text(&operator, &format!("/merge {pr}")),
                OPERATOR as i64,
            )
            .await;
        assert!(r.text().contains("needs the owner role"), "{}", r.text());
        let stranger = User::new(STRANGER, "Eve");
        let r = w
            .say(
                updates::private_text(&stranger, &format!("/take {issue}")),
                STRANGER as i64,
            )
            .await;
        assert!(r.text().contains("This bot is private"), "{}", r.text());
        w.tg.push_update(updates::private_text(&stranger, &format!("/merge {pr}")));

        // The owner, while a check fails: refused, nothing asked, nothing merged.
        let r = w
            .say(
                updates::private_text(&o, &format!("/merge {pr}")),
                owner_chat,
            )
            .await;
        assert!(
            r.text()
                .contains(&format!("Not merging #{pr}: checks are failing (ci)")),
            "{}",
            r.text()
        );
        assert!(r.body.get("reply_markup").is_none());

        // Green: asked, confirmed, merged once with the allowed method.
        gh.set_check(pr, "ci", Some("success"));
        let prompt = w
            .say(
                updates::private_text(&o, &format!("/merge {pr}")),
                owner_chat,
            )
            .await;
        assert!(
            prompt.text().contains(&format!("Merge pull request #{pr}")),
            "{}",
            prompt.text()
        );
        assert!(gh.merges().is_empty(), "nothing before the confirmation");
        let chat = Chat::private(&o);
        let msg = w.bot_message(&chat, &prompt);
        let data = button_data(&prompt, 0);
        let floor = w.tg.last_seq();
        w.tg.push_update(updates::callback(&o, &msg, &data));
        let done =
            w.tg.wait_for(
                |c| c.seq > floor && c.text().contains(&format!("Merged #{pr} (squash)")),
                WAIT,
            )
            .await;
        assert!(done.is_some(), "{:?}", w.texts_to(owner_chat));
        // The same button again does nothing.
        w.tg.push_update(updates::callback(&o, &msg, &data));
        // The barrier: a marker command in the same chat runs on its lane
        // after the press (a merge runs on the lane too), so its answer
        // proves the press was fully handled.
        w.say(updates::private_text(&o, "/version"), owner_chat)
            .await;
        let merges = gh.merges();
        assert_eq!(merges.len(), 1, "{merges:?}");
        assert_eq!(merges[0].body["merge_method"], "squash");
        assert_eq!(merges[0].body["sha"].as_str(), gh.head_sha(pr).as_deref());
        let audit = w.env.read(w.env.gasclaw_home.join("audit.log"));
        let entries: Vec<Value> = audit
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .filter(|e: &Value| e["command"] == "merge")
            .collect();
        let outcomes: Vec<&str> = entries
            .iter()
            .filter_map(|e| e["outcome"].as_str())
            .collect();
        assert_eq!(
            outcomes,
            ["refused", "asked", "confirmed", "ok"],
            "{entries:?}"
        );
        assert_eq!(entries[3]["user_id"], OWNER_ID);

        // An operator hands the issue to the town.
        let r = w
            .say(
                updates::private_text(&operator, &format!("/take {issue}")),
                OPERATOR as i64,
            )
            .await;
        assert!(
            r.text()
                .contains(&format!("Issue #{issue} handed to the town: bead ")),
            "{}",
            r.text()
        );
        let create = w
            .env
            .call_lines()
            .into_iter()
            .find(|l| l.starts_with("bd create"))
            .expect("bd create ran");
        assert!(
            create.contains(&format!("Crash on start (GitHub #{issue})")),
            "{create}"
        );
        assert!(
            create.contains(&format!("https://github.com/{}/issues/{issue}", gh.repo())),
            "{create}"
        );
        let bead = r
            .text()
            .split("bead ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .expect("the bead id")
            .to_string();
        let comments = gh.comments(issue);
        assert_eq!(comments.len(), 1, "{comments:?}");
        assert!(comments[0].contains(&bead), "{comments:?}");
        let r = w
            .say(
                updates::private_text(&operator, &format!("/take {issue}")),
                OPERATOR as i64,
            )
            .await;
        assert!(r.text().contains("already with the town"), "{}", r.text());
        let r = w
            .say(updates::private_text(&o, "/issues"), owner_chat)
            .await;
        assert!(
            r.text().contains(&format!("with the town: {bead}")),
            "{}",
            r.text()
        );

        // The CLI takes another issue the same way.
        let other = gh.open_issue("Slow build", "erin");
        let out = w.env.gasclaw(&["take", &format!("#{other}")], WAIT).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(
            out.stdout
                .contains(&format!("issue #{other} handed to the town")),
            "{out:?}"
        );
        assert_eq!(gh.comments(other).len(), 1);
        let out = w.env.gasclaw(&["github", "issues", "--json"], WAIT).await;
        let list: Value = serde_json::from_str(&out.stdout).expect("json");
        assert_eq!(list.as_array().map(Vec::len), Some(2), "{list}");
        assert_eq!(list[0]["bead"].as_str(), Some(bead.as_str()));

        // The agents open a pull request for it and close the bead: the
        // issue hears about both.
        let mut fix = NewPull::new("Handle a missing config", "nux", "polecat/nux/fix");
        fix.body = format!("Fixes #{issue}");
        let fix_pr = gh.open_pull(fix);
        let bd = repo_root().join("tests/fakes/bin/bd");
        let closed = w.env.tool(
            bd.to_str().expect("utf8"),
            &["close", &bead, "--reason", "fixed"],
            &w.env.town,
        );
        assert_eq!(closed.code, Some(0), "{closed:?}");
        w.env
            .wait_until("the comment back on the issue", WAIT, || {
                gh.comments(issue).len() == 2
            })
            .await;
        let back = &gh.comments(issue)[1];
        assert!(
            back.contains(&bead) && back.contains(&format!("#{fix_pr}")),
            "{back}"
        );
        w.polls(2).await;
        assert_eq!(gh.comments(issue).len(), 2, "commented back once");
        let done = format!("Issue #{issue}: bead {bead} closed");
        w.env
            .wait_until("the take announced", WAIT, || {
                w.announced_in(GROUP, &done) > 0
            })
            .await;
        assert_eq!(w.announced_in(GROUP, &done), 1);
        assert_eq!(w.announced(&done), 0, "GITHUB_CHAT replaces the owner");
        let topic =
            w.tg.calls()
                .into_iter()
                .find(|c| c.text().contains(&done))
                .expect("sent");
        assert_eq!(topic.thread_id(), Some(7));

        // ACTIVITY_SOURCE=github: the activity check reads what the poller
        // saw on GitHub, not the local clones.
        w.env.set("ACTIVITY_SOURCE", "github");
        let out = w.env.gasclaw(&["status", "--json"], WAIT).await;
        let v: Value = serde_json::from_str(&out.stdout).expect("status json");
        let detail = v["activity"]["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(&format!("in GitHub {}", gh.repo())), "{v}");
        assert!(
            v["activity"]["last_commit_age_secs"]
                .as_u64()
                .is_some_and(|a| a < 600)
        );
        w.env.unset("ACTIVITY_SOURCE");

        w.stop_run().await;
        assert_eq!(gh.merges().len(), 1);
        w.assert_token_nowhere();
        w.tg.stop();
    });
}

#[test]
fn without_a_token_github_is_off_and_says_so() {
    run_test(Duration::from_secs(60), async {
        let env = TestEnv::new();
        let out = env.gasclaw(&["config"], WAIT).await;
        assert!(
            out.stdout.contains("(unset: the GitHub features are off)"),
            "{out:?}"
        );
        let out = env.gasclaw(&["github"], WAIT).await;
        assert_eq!(out.code, Some(0));
        assert!(out.stdout.contains("GitHub: off"), "{out:?}");
        let out = env.gasclaw(&["github", "prs"], WAIT).await;
        assert_eq!(out.code, Some(1));
        assert!(out.stderr.contains("GitHub: off"), "{out:?}");
        let out = env.gasclaw(&["github", "status", "--json"], WAIT).await;
        let v: Value = serde_json::from_str(&out.stdout).expect("json");
        assert_eq!(v["enabled"], false);
    });
}

#[test]
fn github_cli_reads_the_repository_and_a_wrong_token_is_named() {
    run_test(Duration::from_secs(60), async {
        let gh = fake_github(FakeGithubOptions::default()).await;
        let pr = gh.open_pull(NewPull::new("Teach the parser", "nux", "polecat/nux/x"));
        gh.set_check(pr, "ci", Some("success"));
        let mut env = TestEnv::new();
        env.set("GITHUB_TOKEN", GH_TOKEN);
        env.set("GITHUB_REPO", gh.repo());
        env.set("GITHUB_API_URL", &gh.url());
        let out = env.gasclaw(&["github", "prs", "--json"], WAIT).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        let v: Value = serde_json::from_str(&out.stdout).expect("json");
        assert_eq!(v[0]["number"], pr);
        assert_eq!(v[0]["checks"], "passing");
        assert_eq!(v[0]["by_agent"], true);
        let out = env.gasclaw(&["github", "status"], WAIT).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(out.stdout.contains("token works: acme/widgets"), "{out:?}");
        let out = env.gasclaw(&["config"], WAIT).await;
        assert!(!out.all().contains("secretsecret"), "{out:?}");
        assert!(out.stdout.contains("GITHUB_REPO"), "{out:?}");
        env.set("GITHUB_TOKEN", "github_pat_wrongwrongwrongwrong");
        let out = env.gasclaw(&["github", "status"], WAIT).await;
        assert_eq!(out.code, Some(1), "{out:?}");
        assert!(
            out.stdout.contains("GitHub refused the token (401)"),
            "{out:?}"
        );
        assert!(!out.all().contains("wrongwrong"), "{out:?}");
    });
}
