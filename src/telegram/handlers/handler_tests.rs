//! The handlers as functions: each is called with a context over a real
//! core in a temp `HOME`, a typed command and a speaker, and its reply (the
//! texts and the audit record) is compared with a snapshot in every locale.
//! The dispatcher's part (roles from the catalogue, sub-commands) is tested
//! through `handle_message` with the real teloxide bot and the fake Bot API.

use std::sync::Arc;
use std::time::Duration;

use gasclaw_fakes::bot_api::{FakeBotApi, FakeOptions};

use super::*;
use crate::keys::pool::{Outcome as KeyOutcome, Selection};
use crate::keys::usage::Period;

fn context(dir: &std::path::Path) -> Arc<Ctx> {
    let core = crate::testing::core(dir);
    let home = core.config().home.clone();
    std::fs::create_dir_all(&home).expect("home");
    super::super::context(
        core,
        Arc::new(crate::i18n::Locales::embedded()),
        Arc::new(super::super::Telemetry::default()),
        "gas_bot".into(),
        Arc::new(super::super::outbox::Outbox::open(&home.join("outbox")).expect("outbox")),
    )
    .expect("context")
}

fn speaker(role: Role, lang: &'static str) -> Speaker {
    Speaker {
        id: 42,
        name: "ada".into(),
        role,
        lang,
    }
}

/// `ctx` owns live pools (as `gasclaw run` does) with the agents' key
/// cooling after a 429.
fn own_cooling_pools(ctx: &Ctx) {
    let pools = crate::testing::pools(&ctx.core);
    let agents = pools.pool(crate::keys::PoolKind::Agents);
    let Selection::Key(lease) = agents.select("mayor") else {
        panic!("a fresh pool has a usable key");
    };
    agents.report(&lease, KeyOutcome::RateLimited { retry_after: None });
    ctx.core.own_pools(pools);
}

/// A reply as the snapshot shows it: each message, its buttons' labels,
/// the photo's caption and the audit record; clock times masked.
fn shown(title: &str, reply: &Reply) -> String {
    let mut s = format!("## {title}\n");
    for m in &reply.messages {
        s.push_str(&m.text);
        s.push('\n');
        if let Some(b) = &m.buttons {
            let labels: Vec<&str> = b
                .inline_keyboard
                .iter()
                .flatten()
                .map(|k| k.text.as_str())
                .collect();
            s.push_str(&format!("[buttons: {}]\n", labels.join(" | ")));
        }
        if let Some(after) = &m.then {
            s.push_str(&format!("[then: {after:?}]\n"));
        }
    }
    if let Some(p) = &reply.photo {
        s.push_str(&format!("[photo: {}]\n", p.caption));
    }
    match &reply.record {
        Some(r) => s.push_str(&format!("[audit: {:?} {:?}]\n", r.outcome, r.detail)),
        None => s.push_str("[not audited]\n"),
    }
    let times =
        regex::Regex::new(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?( UTC|\+00:00|Z)?")
            .expect("regex");
    format!("{}\n", times.replace_all(&s, "[time]"))
}

/// Replies that need no program: help by role, the key pools (from disk,
/// then live, cleared), mutes, alerts, usage without a database, GitHub
/// off, and the core's own refusals (a bad address, an empty nudge).
#[tokio::test]
async fn replies_in_every_locale() {
    crate::testing::bounded(async {
        for lang in ["en", "zh-CN"] {
            let dir = tempfile::tempdir().expect("dir");
            let ctx = context(dir.path());
            let (member, op) = (speaker(Role::Member, lang), speaker(Role::Operator, lang));
            let mut out = String::new();
            out += &shown("/help (a member)", &help::handle(&ctx, &member));
            out += &shown("/help (an operator)", &help::handle(&ctx, &op));
            out += &shown(
                "/keys clear (pools not owned here)",
                &keys::clear(&ctx, &op, "1111"),
            );
            own_cooling_pools(&ctx);
            out += &shown("/keys clear …1111", &keys::clear(&ctx, &op, "…1111"));
            out += &shown("/keys clear zzzz", &keys::clear(&ctx, &op, "zzzz"));
            out += &shown(
                "/mute dolt 2h",
                &mute::handle(&ctx, &op, "dolt", Duration::from_secs(7200)).expect("muted"),
            );
            out += &shown("/alerts", &alerts::handle(&ctx, &member));
            out += &shown("/unmute dolt", &unmute::handle(&ctx, &op, "dolt"));
            out += &shown(
                "/unmute all (nothing muted)",
                &unmute::handle(&ctx, &op, "all"),
            );
            out += &shown(
                "/usage week (no database)",
                &usage::handle(&ctx, &member, Period::Week)
                    .await
                    .expect("usage"),
            );
            out += &shown("/prs (GitHub off)", &prs::handle(&ctx, &member).await);
            out += &shown("/take 12 (GitHub off)", &take::handle(&ctx, &op, 12).await);
            out += &shown(
                "/peek -rf (not an address)",
                &peek::handle(&ctx, &op, "-rf", 30).await,
            );
            out += &shown(
                "/nudge mayor \"  \" (nothing to say)",
                &nudge::handle(&ctx, &op, "mayor", "  ").await,
            );
            insta::assert_snapshot!(format!("handlers-{lang}"), out);
            // A mute longer than the core allows is an error, not a reply.
            assert!(mute::handle(&ctx, &op, "all", Duration::from_secs(40 * 86_400)).is_err());
        }
    })
    .await
}

/// `/keys` reads the pools from disk when this process does not own them,
/// and the live pools once it does: the cooling key shows in both.
#[tokio::test]
async fn keys_show_the_live_pools_once_owned() {
    crate::testing::bounded(async {
        let dir = tempfile::tempdir().expect("dir");
        let ctx = context(dir.path());
        let member = speaker(Role::Member, "en");
        own_cooling_pools(&ctx);
        let text = keys::handle(&ctx, &member).messages[0].text.clone();
        assert!(text.contains("cooling"), "{text}");
        assert!(
            keys::handle(&ctx, &member).record.is_none(),
            "reading is not audited"
        );
    })
    .await
}

/// A JSON update's message from `user` in chat `chat` (private when the
/// same).
fn message(chat: i64, user: u64, text: &str) -> Message {
    let chat_json = if chat == user as i64 {
        serde_json::json!({"id": chat, "type": "private", "first_name": "Ada"})
    } else {
        serde_json::json!({"id": chat, "type": "supergroup", "title": "town"})
    };
    serde_json::from_value(serde_json::json!({
        "message_id": 7,
        "date": 1_700_000_000,
        "chat": chat_json,
        "from": {"id": user, "is_bot": false, "first_name": "Ada", "username": "ada"},
        "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": text.split(' ').next().map_or(0, |w| w.encode_utf16().count())}],
    }))
    .expect("a message")
}

fn me() -> Me {
    serde_json::from_value(serde_json::json!({
        "id": 1, "is_bot": true, "first_name": "Gas", "username": "gas_bot",
        "can_join_groups": true, "can_read_all_group_messages": false,
        "supports_inline_queries": false, "can_connect_to_business": false,
        "has_main_web_app": false
    }))
    .expect("me")
}

/// The catalogue's sub-command role: `/keys` is a member's, `/keys clear`
/// an operator's — refused to a member by the dispatcher (named as the
/// sub-command), run for an operator (the owner here), through the real
/// teloxide bot and the fake Bot API.
#[tokio::test]
async fn a_sub_command_has_its_own_role() {
    crate::testing::bounded(async {
        let dir = tempfile::tempdir().expect("dir");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).expect("home");
        // 77 is a member: listed in the group, not an operator.
        let env: std::collections::BTreeMap<String, String> = [
            ("GASTOWN_KIMI_KEYS", "sk-kimi-aaaaaaaaaaaaaaaaaaaa1111"),
            ("OPENCLAW_KIMI_KEY", "sk-kimi-oooooooooooooooooooo9999"),
            ("TELEGRAM_BOT_TOKEN", "123456:AAbbCCddEEff_gg-hh"),
            ("TELEGRAM_OWNER_ID", "42"),
            ("TELEGRAM_GROUP_IDS", "-100200"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain([
            ("HOME".to_string(), dir.path().display().to_string()),
            ("GASCLAW_HOME".to_string(), home.display().to_string()),
        ])
        .collect();
        let core = crate::core::Core::new(crate::config::Config::load(&env).expect("config"))
            .expect("core");
        let ctx = super::super::context(
            core,
            Arc::new(crate::i18n::Locales::embedded()),
            Arc::new(super::super::Telemetry::default()),
            "gas_bot".into(),
            Arc::new(super::super::outbox::Outbox::open(&home.join("outbox")).expect("outbox")),
        )
        .expect("context");
        own_cooling_pools(&ctx);
        let fake = FakeBotApi::start(FakeOptions::default())
            .await
            .expect("fake");
        let bot = Tg::new(
            teloxide::Bot::new(fake.token()).set_api_url(fake.url().parse().expect("url")),
            false,
        );
        let member = message(-100200, 77, "/keys clear …1111");
        handle_message(bot.clone(), member, me(), ctx.clone())
            .await
            .expect("handled");
        let sent = fake.sent_messages(-100200);
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert!(
            sent[0].text.contains("/keys clear") && sent[0].text.contains("operator"),
            "{}",
            sent[0].text
        );
        // The member may still read the pools.
        handle_message(
            bot.clone(),
            message(-100200, 77, "/keys"),
            me(),
            ctx.clone(),
        )
        .await
        .expect("handled");
        let sent = fake.sent_messages(-100200);
        assert!(sent[1].text.contains("cooling"), "{}", sent[1].text);
        // The owner clears the key: answered and on the audit record.
        handle_message(
            bot.clone(),
            message(42, 42, "/keys clear …1111"),
            me(),
            ctx.clone(),
        )
        .await
        .expect("handled");
        let sent = fake.sent_messages(42);
        assert!(sent[0].text.contains("Cleared"), "{}", sent[0].text);
        // One audit line: the owner's clear (the member's refusal is a chat
        // reply, not an action).
        let audit = std::fs::read_to_string(home.join("audit.log")).expect("audit");
        let lines: Vec<serde_json::Value> = audit
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert_eq!(lines.len(), 1, "{audit}");
        assert_eq!(lines[0]["command"], "keys", "{audit}");
        assert_eq!(
            lines[0]["args"],
            serde_json::json!(["clear", "…1111"]),
            "{audit}"
        );
        assert_eq!(lines[0]["chat_id"], 42, "{audit}");
        assert!(audit.contains("cleared …1111"), "{audit}");
        fake.stop();
    })
    .await
}
