//! Bootstrap against the real OpenClaw 2026.9.6 (installed by
//! scripts/install-tools): the config gasclaw writes passes the real
//! validator, doctor's rewrite is undone, the real gateway starts on a
//! loopback port, answers /health, and stops cleanly with its workers.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on the unexpected

mod common;

use std::time::Duration;

use common::*;

const T: Duration = Duration::from_secs(400);

#[test]
fn bootstrap_runs_the_real_gateway_and_stop_takes_it_down() {
    run_test(T, async {
        let mut env = TestEnv::new_cli();
        env.use_real_openclaw();
        let out = env.gasclaw(&["bootstrap"], T).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(
            out.stdout
                .contains("openclaw-config ✓ done: wrote and validated"),
            "{out:?}"
        );
        assert!(
            out.stdout
                .contains("gateway         ✓ done: started `openclaw gateway run`"),
            "{out:?}"
        );

        // The file bootstrap wrote (and re-asserted after doctor) is valid for
        // the real program.
        let v = env.tool(
            "openclaw",
            &["config", "validate", "--json"],
            &env.home.clone(),
        );
        assert_eq!(v.code, Some(0), "{v:?}");
        let json: serde_json::Value =
            serde_json::from_str(v.stdout.trim()).expect("validate --json");
        assert_eq!(json["valid"], true, "{json}");
        let cfg = env.json(env.home.join(".openclaw/openclaw.json"));
        assert_eq!(
            cfg["tools"]["profile"], "minimal",
            "doctor widened the tool profile and gasclaw must restore it"
        );
        assert_eq!(
            cfg["gateway"]["http"]["endpoints"]["chatCompletions"]["enabled"],
            true
        );

        // The real gateway's liveness body.
        let body = reqwest::get(format!("http://127.0.0.1:{}/health", env.ports.gateway))
            .await
            .expect("GET /health")
            .text()
            .await
            .expect("body");
        let health: serde_json::Value = serde_json::from_str(&body).expect("health is JSON");
        assert_eq!(health, serde_json::json!({"ok": true, "status": "live"}));
        let st = env.gasclaw(&["status", "--json"], T).await;
        let st: serde_json::Value = serde_json::from_str(&st.stdout).expect("status json");
        let gw = st["checks"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["name"] == "gateway"))
            .cloned()
            .expect("gateway check");
        assert_eq!(gw["status"], "ok", "{gw}");

        // Stop takes the gateway and its worker processes down.
        let gateway_pid: i32 = env
            .read(env.gasclaw_home.join("gateway.pid"))
            .trim()
            .parse()
            .expect("pid");
        let out = env.gasclaw(&["stop"], T).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(out.stdout.contains("gateway  stopped"), "{out:?}");
        env.wait_until(
            "the gateway's process group to be gone",
            Duration::from_secs(20),
            || nix::sys::signal::killpg(nix::unistd::Pid::from_raw(gateway_pid), None).is_err(),
        )
        .await;
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", env.ports.gateway)).is_err(),
            "port still open"
        );
    });
}
