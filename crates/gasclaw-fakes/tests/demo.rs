//! The README's first command: the demo starts the real `gasclaw run` on the
//! fake stack and answers the person at the terminal, and its town lives
//! (an escalation with its buttons, a merge, a crash show unasked).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on the unexpected

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[test]
fn demo_answers_status_as_the_owner_and_stops_on_quit() {
    // `cargo test --workspace` has built the product's binary beside ours.
    let gasclaw = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("gasclaw");
    if !gasclaw.exists() {
        panic!(
            "{} is missing: run the suite with `cargo test --workspace`",
            gasclaw.display()
        );
    }
    let mut demo = Command::new(env!("CARGO_BIN_EXE_gasclaw-demo"))
        .env("GASCLAW_BIN", &gasclaw)
        .env_remove("CARGO")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let out = demo.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut stdin = demo.stdin.take().unwrap();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut asked = false;
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push(line);
        }
        let text = seen.join("\n");
        if !asked && text.contains("You are the owner") {
            writeln!(stdin, "/status").unwrap();
            asked = true;
        }
        if text.contains("Stack status") && text.contains("checks") {
            break;
        }
    }
    let text = seen.join("\n");
    assert!(
        text.contains("Stack status") && text.contains("mayor:") && text.contains("checks"),
        "no status reply within 60 s:\n{text}"
    );
    // The town lives: its news arrives without anyone asking.
    let deadline = Instant::now() + Duration::from_secs(60);
    let news = [
        "Escalation hq-",
        "[1] Ack  [2] Close",
        "Merged polecat/Toast (project)",
        "project/Nux: session died",
        "project/witness — stuck",
    ];
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push(line);
        }
        let text = seen.join("\n");
        if news.iter().all(|n| text.contains(n)) {
            break;
        }
    }
    let text = seen.join("\n");
    for n in news {
        assert!(text.contains(n), "{n:?} not shown within 60 s:\n{text}");
    }
    writeln!(stdin, "/quit").unwrap();
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        if let Some(status) = demo.try_wait().unwrap() {
            assert!(status.success(), "the demo exited with {status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = demo.kill();
            panic!("the demo did not stop within 40 s of /quit");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
