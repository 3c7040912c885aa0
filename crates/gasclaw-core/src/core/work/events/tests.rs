use std::io::Write;

use proptest::prelude::*;

use super::*;

fn line(ts: &str, kind: &str, n: u32) -> String {
    format!(
        r#"{{"ts":"{ts}","source":"gt","type":"{kind}","actor":"project/Toast","payload":{{"n":{n}}},"visibility":"feed"}}"#
    )
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// The KRC pruner: keep the lines `keep` says, write `<file>.tmp`, rename.
fn krc_rewrite(path: &Path, keep: impl Fn(&str) -> bool) {
    let text = std::fs::read_to_string(path).unwrap();
    let kept: String = text
        .lines()
        .filter(|l| keep(l))
        .map(|l| format!("{l}\n"))
        .collect();
    let tmp = path.with_extension("jsonl.tmp");
    std::fs::write(&tmp, kept).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn ns(b: &Batch) -> Vec<u64> {
    b.events
        .iter()
        .map(|e| e.payload["n"].as_u64().unwrap())
        .collect()
}

const T0: &str = "2026-06-01T09:14:03Z";
const T1: &str = "2026-06-01T09:14:04Z";
const T2: &str = "2026-06-01T10:00:00Z";

#[test]
fn a_first_start_begins_at_the_end_and_a_torn_line_waits_for_its_newline() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join(".events.jsonl");
    append(&log, &format!("{}\n", line(T0, "sling", 1)));
    let mut f = Follower::new(log.clone(), Some(dir.path().join("cursor.json")));
    assert!(f.poll().unwrap().events.is_empty(), "history is not news");
    let l2 = line(T0, "hook", 2);
    let (a, b) = l2.split_at(40);
    append(&log, a);
    let batch = f.poll().unwrap();
    assert!(batch.events.is_empty());
    assert_eq!(batch.malformed, 0, "a torn line is not malformed");
    append(&log, &format!("{b}\n{}\n", line(T1, "done", 3)));
    let batch = f.poll().unwrap();
    assert_eq!(ns(&batch), [2, 3]);
    assert_eq!(batch.events[0].kind, "hook");
    assert_eq!(batch.events[0].field("n").as_deref(), Some("2"));
}

#[test]
fn the_cursor_carries_across_a_restart_nothing_twice_nothing_lost() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join(".events.jsonl");
    let cur = dir.path().join("cursor.json");
    append(&log, "");
    let mut f = Follower::new(log.clone(), Some(cur.clone()));
    f.poll().unwrap();
    append(
        &log,
        &format!("{}\n{}\n", line(T0, "a", 1), line(T0, "b", 2)),
    );
    assert_eq!(ns(&f.poll().unwrap()), [1, 2]);
    f.commit().unwrap();
    drop(f);
    // Written while gasclaw was down, one of them torn at the stop.
    append(
        &log,
        &format!("{}\n{}", line(T1, "c", 3), &line(T1, "d", 4)[..20]),
    );
    let mut g = Follower::new(log.clone(), Some(cur.clone()));
    assert_eq!(ns(&g.poll().unwrap()), [3]);
    g.commit().unwrap();
    drop(g);
    append(&log, &format!("{}\n", &line(T1, "d", 4)[20..]));
    let mut h = Follower::new(log, Some(cur));
    assert_eq!(ns(&h.poll().unwrap()), [4]);
    assert!(h.poll().unwrap().events.is_empty());
}

#[test]
fn the_hourly_rewrite_loses_nothing_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join(".events.jsonl");
    append(&log, &format!("{}\n", line(T0, "old", 0)));
    let mut f = Follower::new(log.clone(), None);
    f.poll().unwrap();
    append(
        &log,
        &format!("{}\n{}\n", line(T2, "a", 1), line(T2, "b", 2)),
    );
    assert_eq!(ns(&f.poll().unwrap()), [1, 2]);
    // Appended to the old file after our read, then the pruner drops the
    // expired line and renames; then more appends to the new file.
    append(&log, &format!("{}\n", line(T2, "c", 3)));
    krc_rewrite(&log, |l| !l.contains("\"old\""));
    append(&log, &format!("{}\n", line(T2, "d", 4)));
    let batch = f.poll().unwrap();
    assert!(batch.rewritten);
    assert_eq!(ns(&batch), [3, 4]);
    // A second rewrite that drops nothing (a new inode all the same).
    krc_rewrite(&log, |_| true);
    append(&log, &format!("{}\n", line(T2, "e", 5)));
    assert_eq!(ns(&f.poll().unwrap()), [5]);
}

#[test]
fn two_identical_events_in_one_second_are_two_events_across_a_rewrite() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join(".events.jsonl");
    append(&log, "");
    let mut f = Follower::new(log.clone(), None);
    f.poll().unwrap();
    let same = line(T2, "nudge", 7);
    append(&log, &format!("{same}\n"));
    assert_eq!(ns(&f.poll().unwrap()), [7]);
    append(&log, &format!("{same}\n"));
    krc_rewrite(&log, |_| true);
    assert_eq!(ns(&f.poll().unwrap()), [7], "the second copy is new");
}

#[test]
fn a_rewrite_while_gasclaw_was_down_resumes_after_the_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join(".events.jsonl");
    let cur = dir.path().join("cursor.json");
    append(&log, &format!("{}\n", line(T0, "old", 0)));
    let mut f = Follower::new(log.clone(), Some(cur.clone()));
    f.poll().unwrap();
    append(&log, &format!("{}\n", line(T2, "a", 1)));
    assert_eq!(ns(&f.poll().unwrap()), [1]);
    f.commit().unwrap();
    drop(f);
    append(&log, &format!("{}\n", line(T2, "b", 2)));
    krc_rewrite(&log, |l| !l.contains("\"old\""));
    append(&log, &format!("{}\n", line(T2, "c", 3)));
    let mut g = Follower::new(log, Some(cur));
    let batch = g.poll().unwrap();
    assert!(batch.rewritten);
    assert_eq!(ns(&batch), [2, 3]);
}

#[test]
fn a_reused_inode_number_is_caught_by_the_last_lines_hash() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join(".events.jsonl");
    let cur = dir.path().join("cursor.json");
    append(&log, "");
    let mut f = Follower::new(log.clone(), Some(cur.clone()));
    f.poll().unwrap();
    append(&log, &format!("{}\n", line(T0, "a", 1)));
    assert_eq!(ns(&f.poll().unwrap()), [1]);
    f.commit().unwrap();
    drop(f);
    // Same inode, other content of at least the same length (what a reused
    // inode number looks like to the cursor).
    let other = format!("{}\n{}\n", line(T1, "x", 8), line(T1, "y", 9));
    std::fs::write(&log, other).unwrap();
    let mut g = Follower::new(log, Some(cur));
    assert_eq!(ns(&g.poll().unwrap()), [8, 9]);
}

#[test]
fn malformed_lines_are_skipped_and_counted_never_fatal() {
    let table: &[&[u8]] = &[
        b"not json",
        b"{",
        b"null",
        b"42",
        b"[]",
        b"{}",
        br#"{"ts":"2026-06-01T09:14:03Z"}"#,
        br#"{"ts":"yesterday","type":"sling"}"#,
        br#"{"ts":"2026-06-01T09:14:03Z","type":""}"#,
        br#"{"ts":"2026-06-01T09:14:03Z","type":"sling","payload":[1,2]}"#,
        br#"{"ts":"2026-06-01T09:14:03Z","type":"sling","payload":"x"}"#,
        br#"{"ts":"2026-06-01T09:14:03Z","type":7}"#,
        b"\xff\xfe\x00garbage",
        br#"{"ts":"2026-13-45T99:99:99Z","type":"sling"}"#,
    ];
    for raw in table {
        assert!(
            parse_line(raw).is_err(),
            "{:?}",
            String::from_utf8_lossy(raw)
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join(".events.jsonl");
    append(&log, "");
    let mut f = Follower::new(log.clone(), None);
    f.poll().unwrap();
    let mut text = Vec::new();
    for raw in table {
        text.extend_from_slice(raw);
        text.push(b'\n');
    }
    text.extend_from_slice(b"\n   \n");
    text.extend_from_slice(line(T0, "ok", 1).as_bytes());
    text.push(b'\n');
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(&text)
        .unwrap();
    let batch = f.poll().unwrap();
    assert_eq!(batch.malformed, table.len());
    assert_eq!(ns(&batch), [1]);
    // An over-long line without a newline yet: skipped to its end.
    append(&log, &"x".repeat(MAX_LINE + 10));
    assert!(f.poll().unwrap().events.is_empty());
    append(&log, &format!("yyy\n{}\n", line(T1, "ok", 2)));
    let batch = f.poll().unwrap();
    assert_eq!(ns(&batch), [2]);
    assert_eq!(batch.malformed, 1);
}

#[test]
fn the_events_gt_writes_parse() {
    // §1.2's example and the escaping of Go's encoder.
    let ev = parse_line(br#"{"ts":"2026-06-01T09:14:03Z","source":"gt","type":"session_death","actor":"project/Toast","payload":{"agent":"project/polecats/Toast","caller":"daemon","reason":"idle-reap: idle, idle 31m0s (threshold 30m0s)","session":"pr-Toast"},"visibility":"feed"}"#).unwrap();
    assert_eq!(ev.kind, "session_death");
    assert_eq!(ev.field("caller").as_deref(), Some("daemon"));
    let ev = parse_line(br#"{"ts":"2026-06-01T09:14:03Z","source":"gt","type":"boot","actor":"gt","payload":{"agents":["Dolt","Mayor"],"rig":"town","msg":"\u003cb\u003e"},"visibility":"feed"}"#).unwrap();
    assert_eq!(ev.field("agents").as_deref(), Some("Dolt, Mayor"));
    assert_eq!(ev.field("msg").as_deref(), Some("<b>"));
    let ev = parse_line(br#"{"ts":"2026-06-01T09:14:03Z","source":"gt","type":"halt","actor":"gt","visibility":"feed"}"#).unwrap();
    assert!(ev.payload.is_null());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any bytes between valid lines, written in any chunks: no panic, and
    /// every valid line comes out exactly once, in order.
    #[test]
    fn any_noise_in_any_chunks_never_panics_and_loses_no_event(
        noise in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 1..12),
        cuts in proptest::collection::vec(1usize..200, 1..30),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join(".events.jsonl");
        append(&log, "");
        let mut f = Follower::new(log.clone(), None);
        f.poll().unwrap();
        let mut all = Vec::new();
        for (i, n) in noise.iter().enumerate() {
            let clean: Vec<u8> = n.iter().copied().filter(|b| *b != b'\n').collect();
            all.extend_from_slice(&clean);
            all.push(b'\n');
            all.extend_from_slice(line(T0, "ok", i as u32).as_bytes());
            all.push(b'\n');
        }
        let mut got = Vec::new();
        let mut at = 0;
        for c in cuts.iter().cycle() {
            if at >= all.len() {
                break;
            }
            let end = (at + c).min(all.len());
            std::fs::OpenOptions::new().append(true).open(&log).unwrap().write_all(&all[at..end]).unwrap();
            at = end;
            got.extend(ns(&f.poll().unwrap()));
        }
        got.extend(ns(&f.poll().unwrap()));
        let want: Vec<u64> = (0..noise.len() as u64).collect();
        // Noise that happens to be a valid event with `n` is impossible
        // (no line of noise has the "ok" shape with a number payload).
        prop_assert_eq!(got, want);
    }
}

#[test]
fn a_log_that_appears_later_is_read_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join(".events.jsonl");
    let mut f = Follower::new(log.clone(), Some(dir.path().join("cursor.json")));
    assert!(f.poll().unwrap().events.is_empty());
    append(
        &log,
        &format!("{}\n{}\n", line(T0, "boot", 1), line(T0, "sling", 2)),
    );
    let batch = f.poll().unwrap();
    assert_eq!(ns(&batch), [1, 2]);
    assert!(!batch.rewritten);
}
