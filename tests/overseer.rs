//! Talking to the overseer from Telegram, end to end with the real OpenClaw
//! gateway: its model provider is gasclaw's key proxy, the proxy's upstream
//! is a fake Kimi. One gateway serves every scenario (it takes ~20 s and
//! ~1 GB to start), run in order — but for the slow model's bounded wait,
//! which runs in a topic of its own while the others go on.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on the unexpected

mod common;

use std::time::Duration;

use common::*;
use gasclaw_fakes::bot_api::Call;
use gasclaw_fakes::bot_api::updates::{self, Chat, User};
use gasclaw_fakes::kimi::{FakeKimi, Reply};

const WAIT: Duration = Duration::from_secs(90);
/// The forum topic where the model never answers (step 6).
const SLOW_TOPIC: i64 = 78;
const SLOW_QUESTION: &str = "are you there, slow one?";

/// Every text the fake model saw in the last request (system prompt aside).
fn last_model_messages(kimi: &FakeKimi) -> String {
    kimi.requests()
        .last()
        .map(|r| r.body["messages"].to_string())
        .unwrap_or_default()
}

#[test]
fn the_overseer_answers_operators_in_their_chat_and_topic() {
    run_test(Duration::from_secs(900), async {
        let kimi = FakeKimi::start().await.expect("fake kimi");
        kimi.label(OVERSEER_KEY, "O");
        for k in AGENT_KEYS {
            kimi.label(k, "agent");
        }
        kimi.set_default(Reply::Ok("OVERSEER-SAYS-HI".into()));
        let tg = fake_telegram(false).await;
        let mut env = TestEnv::new();
        env.use_real_openclaw();
        env.use_telegram(&tg);
        env.set("KIMI_BASE_URL", &kimi.base_url())
            .set("TELEGRAM_ALLOW_IDS", &OPERATOR.to_string())
            .set("TELEGRAM_GROUP_IDS", &FORUM.to_string())
            .set("MONITOR_INTERVAL", "1h")
            .set("AUTO_HEAL", "off")
            .set("OVERSEER_TIMEOUT", "45");
        let run = env.start_run(&tg).await;
        let owner = User::new(OWNER_ID, "Owner");
        let next_reply = |chat: i64, floor: u64| {
            let tg = tg.clone();
            async move {
                tg.wait_for(
                    |c: &Call| {
                        c.seq > floor
                            && c.method == "sendmessage"
                            && c.chat_id() == Some(chat)
                            && c.thread_id() != Some(SLOW_TOPIC)
                    },
                    WAIT,
                )
                .await
                .unwrap_or_else(|| panic!("no reply in {chat}"))
            }
        };
        let floor = || tg.last_seq();

        // 6, begun. A slow model: the bounded wait (OVERSEER_TIMEOUT, 45 s)
        //    runs in a topic of its own while steps 1 to 5 go on, a question
        //    that hangs holding up no other conversation.
        let forum = Chat::forum(FORUM, "ops");
        let op = User::new(OPERATOR, "Op");
        kimi.reply_when(SLOW_QUESTION, Reply::Hang);
        let slow_floor = floor();
        tg.push_update(updates::topic_text(
            &op,
            &forum,
            SLOW_TOPIC,
            &format!("@gas_bot {SLOW_QUESTION}"),
        ));

        // 1. An owner's DM: answered with the model's text, replying to it,
        //    with "typing…" while waiting, through the overseer's own key.
        let f = floor();
        let dm = updates::private_text(&owner, "how is the town doing?");
        let dm_id = dm["message"]["message_id"].as_i64().expect("id");
        tg.push_update(dm);
        let r = next_reply(OWNER_ID as i64, f).await;
        assert_eq!(r.text(), "OVERSEER-SAYS-HI");
        assert_eq!(r.body["reply_parameters"]["message_id"], dm_id);
        assert!(tg.calls_of("sendchataction").iter().any(|c| c.seq > f
            && c.chat_id() == Some(OWNER_ID as i64)
            && c.body["action"] == "typing"));
        let seen = kimi.requests();
        assert!(
            seen.iter().all(|q| q.key == "O"),
            "the overseer draws from its own pool: {:?}",
            seen.iter().map(|q| &q.key).collect::<Vec<_>>()
        );
        assert!(seen.iter().any(|q| {
            q.body["messages"]
                .to_string()
                .contains("how is the town doing?")
        }));

        // The slow question reached the model (before step 3 counts).
        tokio::time::timeout(WAIT, async {
            while !kimi
                .requests()
                .iter()
                .any(|q| q.body["messages"].to_string().contains(SLOW_QUESTION))
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await
        .expect("the slow question reached the model");

        // 2. A mention in a forum topic, and a reply to the bot there.
        let f = floor();
        tg.push_update(updates::topic_text(
            &op,
            &forum,
            77,
            "@gas_bot which agents run?",
        ));
        let r = next_reply(FORUM, f).await;
        assert_eq!((r.text(), r.thread_id()), ("OVERSEER-SAYS-HI", Some(77)));
        assert!(last_model_messages(&kimi).contains("which agents run?"));
        assert!(
            !last_model_messages(&kimi).contains("@gas_bot"),
            "the mention is not part of the question"
        );
        let bot_msg = serde_json::json!({"message_id": tg.sent_messages(FORUM).iter().rfind(|m| m.thread_id == Some(77)).expect("sent").message_id, "date": 1_767_300_000,
            "chat": forum.0, "text": "OVERSEER-SAYS-HI", "message_thread_id": 77, "is_topic_message": true,
            "from": {"id": tg.bot_id(), "is_bot": true, "first_name": "Gas", "username": "gas_bot"}});
        let f = floor();
        tg.push_update(updates::reply_to(
            updates::topic_text(&op, &forum, 77, "and the mayor?"),
            &bot_msg,
        ));
        let r = next_reply(FORUM, f).await;
        assert_eq!((r.text(), r.thread_id()), ("OVERSEER-SAYS-HI", Some(77)));

        // 3. Strangers and unlisted groups reach nothing.
        let before = kimi.requests().len();
        let f = floor();
        tg.push_update(updates::private_text(
            &User::new(STRANGER, "Eve"),
            "tell me your secrets",
        ));
        tg.push_update(updates::group_text(
            &owner,
            &Chat::supergroup(UNLISTED, "x"),
            "@gas_bot hello",
        ));
        tg.push_update(updates::group_text(
            &op,
            &forum,
            "no mention, not for the bot",
        ));
        // The barriers: the stranger's refusal (their message took the
        // refusal's path, which relays nothing); then a marker question in
        // the forum's General, relayed after the chatter there on the same
        // lane and into the same conversation (so a relayed chatter would
        // reach the model first, and be in the marker's history), and begun
        // after the unlisted group's message was dispatched.
        let r = next_reply(STRANGER as i64, f).await;
        assert!(r.text().contains("This bot is private"), "{}", r.text());
        let f = floor();
        tg.push_update(updates::group_text(&op, &forum, "@gas_bot MARKER-3"));
        next_reply(FORUM, f).await;
        let asked: Vec<String> = kimi.requests()[before..]
            .iter()
            .map(|q| q.body["messages"].to_string())
            .filter(|m| !m.contains("MARKER-3") || m.contains("not for the bot"))
            .collect();
        assert_eq!(asked, Vec::<String>::new(), "nothing reached the overseer");

        // 4. Each chat keeps its own conversation.
        let f = floor();
        tg.push_update(updates::private_text(
            &owner,
            "remember the word PINEAPPLE-QX",
        ));
        next_reply(OWNER_ID as i64, f).await;
        assert!(last_model_messages(&kimi).contains("PINEAPPLE-QX"));
        let f = floor();
        tg.push_update(updates::private_text(&op, "/ask what word did I say?"));
        next_reply(OPERATOR as i64, f).await;
        let b = last_model_messages(&kimi);
        assert!(
            b.contains("what word did I say?") && !b.contains("PINEAPPLE-QX"),
            "conversations leaked between chats: {b}"
        );

        // 5. A 5,000-character answer arrives split, in order, words whole.
        let long: String = (0..850).map(|i| format!("w{i:04} ")).collect::<String>();
        assert!(long.len() > 4500);
        kimi.set_default(Reply::Ok(long.trim().to_string()));
        let f = floor();
        tg.push_update(updates::private_text(&owner, "long answer please"));
        next_reply(OWNER_ID as i64, f).await;
        // The parts go out one by one under the per-chat rate limit.
        tg.wait_for(
            |c| {
                c.seq > f
                    && c.method == "sendmessage"
                    && c.chat_id() == Some(OWNER_ID as i64)
                    && c.text().contains("w0849")
            },
            Duration::from_secs(30),
        )
        .await
        .expect("the last part of the long answer");
        let parts: Vec<String> = tg
            .calls_of("sendmessage")
            .into_iter()
            .filter(|c| c.seq > f && c.chat_id() == Some(OWNER_ID as i64))
            .map(|c| c.text().to_string())
            .collect();
        assert!(parts.len() >= 2, "{} parts", parts.len());
        assert!(parts.iter().all(|p| p.chars().count() <= 4096));
        assert_eq!(
            parts.join(" ").split_whitespace().collect::<Vec<_>>(),
            long.split_whitespace().collect::<Vec<_>>(),
            "in order, no word broken"
        );

        // 5b. An answer quoting secrets is posted with their hints only.
        kimi.set_default(Reply::Ok(format!(
            "The agents use {} and the bot is {}",
            AGENT_KEYS[0], BOT_TOKEN
        )));
        let f = floor();
        tg.push_update(updates::private_text(&owner, "which key do agents use?"));
        let r = next_reply(OWNER_ID as i64, f).await;
        assert!(
            r.text()
                .contains("The agents use …0001 and the bot is …_x-y"),
            "{}",
            r.text()
        );
        assert!(!r.text().contains(AGENT_KEYS[0]) && !r.text().contains(BOT_TOKEN));

        // 6, ended: the slow question's bounded wait ends with a clear
        //    message in its topic.
        let r = tg
            .wait_for(
                |c| {
                    c.seq > slow_floor
                        && c.method == "sendmessage"
                        && c.chat_id() == Some(FORUM)
                        && c.thread_id() == Some(SLOW_TOPIC)
                },
                WAIT,
            )
            .await
            .expect("an answer to the slow question");
        assert!(
            r.text().contains("did not answer within 45 s"),
            "{}",
            r.text()
        );
        // Telegram shows "typing…" for about 5 s: it was refreshed
        // throughout the 45 s wait.
        let typing = tg
            .calls_of("sendchataction")
            .iter()
            .filter(|c| {
                c.seq > slow_floor
                    && c.seq < r.seq
                    && c.chat_id() == Some(FORUM)
                    && c.thread_id() == Some(SLOW_TOPIC)
                    && c.body["action"] == "typing"
            })
            .count();
        assert!(typing >= 9, "typing… sent {typing} times in 45 s");

        // 7. The gateway stopped mid-conversation: "unavailable", see /status.
        kimi.set_default(Reply::Ok("OVERSEER-SAYS-HI".into()));
        let pid: i32 = env
            .read(env.gasclaw_home.join("gateway.pid"))
            .trim()
            .parse()
            .expect("pid");
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        env.wait_until("the gateway to be gone", Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", env.ports.gateway)).is_err()
        })
        .await;
        let f = floor();
        tg.push_update(updates::private_text(&owner, "still there?"));
        let r = next_reply(OWNER_ID as i64, f).await;
        assert!(
            r.text()
                .contains("The overseer is unavailable (the gateway is not running)")
                && r.text().contains("/status"),
            "{}",
            r.text()
        );

        assert_eq!(sigterm(run).await, Some(0));
        tg.stop();
        kimi.stop();
    });
}
