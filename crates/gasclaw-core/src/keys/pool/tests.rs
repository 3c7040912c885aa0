use super::*;
use crate::keys::ManualClock;
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

const A: &str = "sk-kimi-key-aaaaaaaaaaaaaaaaaaaa-1111";
const B: &str = "sk-kimi-key-bbbbbbbbbbbbbbbbbbbb-2222";
const C: &str = "sk-kimi-key-cccccccccccccccccccc-3333";
const O: &str = "sk-kimi-key-oooooooooooooooooooo-9999";

fn keys(ks: &[&str]) -> Vec<SecretString> {
    ks.iter()
        .map(|k| SecretString::from(k.to_string()))
        .collect()
}

struct Fixture {
    dir: tempfile::TempDir,
    clock: ManualClock,
    events: Arc<Mutex<Vec<KeyEvent>>>,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
            clock: ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_800_000_000)),
            events: Arc::default(),
        }
    }

    fn open(&self, agents: &[&str]) -> Result<Arc<KeyPools>, PoolError> {
        let ev = self.events.clone();
        KeyPools::open(
            self.dir.path(),
            &keys(agents),
            &keys(&[O]),
            PoolSettings::default(),
            Arc::new(self.clock.clone()),
            Arc::new(move |e| ev.lock().unwrap().push(e)),
        )
    }

    fn take_events(&self) -> Vec<KeyEvent> {
        std::mem::take(&mut *self.events.lock().unwrap())
    }
}

fn hint_of(sel: &Selection) -> String {
    match sel {
        Selection::Key(l) => l.hint.clone(),
        other => panic!("expected a key, got {other:?}"),
    }
}

fn lease(sel: Selection) -> Lease {
    match sel {
        Selection::Key(l) => l,
        other => panic!("expected a key, got {other:?}"),
    }
}

#[test]
fn lru_spreads_new_agents_and_stickiness_keeps_them() {
    let f = Fixture::new();
    let p = f.open(&[A, B, C]).unwrap();
    let pool = p.pool(PoolKind::Agents);
    let a1 = hint_of(&pool.select("agent-1"));
    f.clock.advance(Duration::from_secs(1));
    let a2 = hint_of(&pool.select("agent-2"));
    f.clock.advance(Duration::from_secs(1));
    let a3 = hint_of(&pool.select("agent-3"));
    let mut all = vec![a1.clone(), a2.clone(), a3];
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 3, "three agents, three different keys");
    // Sticky while healthy.
    for _ in 0..5 {
        f.clock.advance(Duration::from_secs(1));
        assert_eq!(hint_of(&pool.select("agent-1")), a1);
        assert_eq!(hint_of(&pool.select("agent-2")), a2);
    }
}

#[test]
fn a_cooling_key_is_skipped_and_the_agent_moves_on() {
    let f = Fixture::new();
    let p = f.open(&[A, B]).unwrap();
    let pool = p.pool(PoolKind::Agents);
    let first = lease(pool.select("agent-1"));
    pool.report(&first, Outcome::RateLimited { retry_after: None });
    let ev = f.take_events();
    assert!(
        matches!(&ev[..], [KeyEvent::RateLimited { cooldown, reason: CooldownReason::RateLimited, .. }] if *cooldown == Duration::from_secs(300)),
        "{ev:?}"
    );
    let second = lease(pool.select("agent-1"));
    assert_ne!(second.hint, first.hint);
    let st = pool.status();
    assert_eq!((st.total, st.available, st.cooling), (2, 1, 1));
    let cooling = st.keys.iter().find(|k| k.state == "cooling").unwrap();
    assert_eq!(cooling.cooldown_secs_left, Some(300));
    assert_eq!(cooling.cooldown_reason, Some(CooldownReason::RateLimited));
    assert_eq!(cooling.rate_limits, 1);
    assert!(cooling.last_429.is_some());
}

#[test]
fn cooldown_expires_with_the_clock_and_retry_after_extends_it() {
    let f = Fixture::new();
    let p = f.open(&[A, B]).unwrap();
    let pool = p.pool(PoolKind::Agents);
    let l = lease(pool.select("x"));
    pool.report(
        &l,
        Outcome::RateLimited {
            retry_after: Some(Duration::from_secs(900)),
        },
    );
    f.clock.advance(Duration::from_secs(301));
    assert_eq!(
        pool.status().cooling,
        1,
        "retry-after 900 s outlasts the 300 s default"
    );
    f.clock.advance(Duration::from_secs(600));
    f.take_events();
    let st = pool.status();
    assert_eq!(st.cooling, 0);
    assert!(matches!(
        &f.take_events()[..],
        [KeyEvent::KeyRecovered { .. }]
    ));
    // A shorter retry-after never shortens the default.
    let l = lease(pool.select("y"));
    pool.report(
        &l,
        Outcome::RateLimited {
            retry_after: Some(Duration::from_secs(3)),
        },
    );
    assert_eq!(
        pool.status()
            .keys
            .iter()
            .filter_map(|k| k.cooldown_secs_left)
            .max(),
        Some(300)
    );
}

#[test]
fn quota_and_concurrency_cooldowns() {
    let f = Fixture::new();
    let p = f.open(&[A, B]).unwrap();
    let pool = p.pool(PoolKind::Agents);
    let l = lease(pool.select("x"));
    pool.report(&l, Outcome::QuotaExhausted);
    let l2 = lease(pool.select("x"));
    pool.report(&l2, Outcome::Concurrency);
    let st = pool.status();
    let by_hint = |h: &str| st.keys.iter().find(|k| k.hint == h).unwrap().clone();
    assert_eq!(by_hint(&l.hint).cooldown_secs_left, Some(3600));
    assert_eq!(
        by_hint(&l.hint).cooldown_reason,
        Some(CooldownReason::Quota)
    );
    assert_eq!(by_hint(&l2.hint).cooldown_secs_left, Some(45));
    assert_eq!(by_hint(&l2.hint).rate_limits, 0, "a 403 is not a 429");
}

#[test]
fn all_cooling_returns_the_soonest_and_recovers_once() {
    let f = Fixture::new();
    let p = f.open(&[A, B]).unwrap();
    let pool = p.pool(PoolKind::Agents);
    let a = lease(pool.select("x"));
    pool.report(
        &a,
        Outcome::RateLimited {
            retry_after: Some(Duration::from_secs(600)),
        },
    );
    f.clock.advance(Duration::from_secs(10));
    let b = lease(pool.select("x"));
    pool.report(&b, Outcome::RateLimited { retry_after: None });
    let ev = f.take_events();
    assert!(
        matches!(ev.last(), Some(KeyEvent::AllCooling { next_available_in, .. }) if *next_available_in == Duration::from_secs(300)),
        "{ev:?}"
    );
    match pool.select("x") {
        Selection::AllCooling {
            retry_after,
            soonest,
        } => {
            assert_eq!(retry_after, Duration::from_secs(300));
            assert_eq!(
                soonest.hint, b.hint,
                "b ends first (300 s) although a was cooled first (600 s)"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(f.take_events().is_empty(), "AllCooling is announced once");
    f.clock.advance(Duration::from_secs(300));
    assert_eq!(hint_of(&pool.select("x")), b.hint);
    let ev = f.take_events();
    assert!(
        ev.contains(&KeyEvent::Recovered {
            pool: PoolKind::Agents
        }),
        "{ev:?}"
    );
}

#[test]
fn invalid_keys_leave_rotation_until_cleared() {
    let f = Fixture::new();
    let p = f.open(&[A, B]).unwrap();
    let pool = p.pool(PoolKind::Agents);
    let a = lease(pool.select("x"));
    pool.report(&a, Outcome::Invalid);
    assert!(matches!(
        &f.take_events()[..],
        [KeyEvent::KeyInvalid { .. }]
    ));
    for _ in 0..3 {
        assert_ne!(hint_of(&pool.select("y")), a.hint);
    }
    let b = lease(pool.select("z"));
    pool.report(&b, Outcome::Invalid);
    assert!(matches!(pool.select("z"), Selection::NoUsableKey));
    let cleared = pool.clear(&a.hint).unwrap();
    assert_eq!(cleared.was, "invalid");
    assert_eq!(hint_of(&pool.select("z")), a.hint);
    assert!(matches!(
        pool.clear("zzzz"),
        Err(PoolError::UnknownKey { .. })
    ));
    assert!(
        matches!(pool.clear("ab"), Err(PoolError::UnknownKey { .. })),
        "selectors shorter than 4 never match"
    );
}

#[test]
fn manual_clear_by_hash_prefix_ends_a_cooldown() {
    let f = Fixture::new();
    let p = f.open(&[A, B]).unwrap();
    let pool = p.pool(PoolKind::Agents);
    let a = lease(pool.select("x"));
    pool.report(&a, Outcome::QuotaExhausted);
    let prefix = &a.hash.to_string()[..6];
    assert_eq!(pool.clear(prefix).unwrap().was, "cooling");
    assert_eq!(pool.status().cooling, 0);
}

#[test]
fn pools_are_independent() {
    let f = Fixture::new();
    let p = f.open(&[A, B]).unwrap();
    for _ in 0..2 {
        let l = lease(p.pool(PoolKind::Agents).select("x"));
        p.pool(PoolKind::Agents)
            .report(&l, Outcome::RateLimited { retry_after: None });
    }
    assert!(matches!(
        p.pool(PoolKind::Agents).select("x"),
        Selection::AllCooling { .. }
    ));
    let o = lease(p.pool(PoolKind::Overseer).select("overseer"));
    assert_eq!(o.hint, "…9999");
    assert_eq!(p.status().overseer.available, 1);
}

#[test]
fn state_survives_a_reload_prunes_old_keys_and_holds_no_key() {
    let f = Fixture::new();
    {
        let p = f.open(&[A, B]).unwrap();
        let pool = p.pool(PoolKind::Agents);
        let a = lease(pool.select("x"));
        pool.report(&a, Outcome::RateLimited { retry_after: None });
        p.flush().unwrap();
    }
    let text = std::fs::read_to_string(f.dir.path().join("key-rotation.json")).unwrap();
    for k in [A, B, O] {
        assert!(!text.contains(k), "key in the state file");
        assert!(
            !text.contains(&k[..12]) && !text.contains(&k[k.len() - 8..]),
            "key material in the state file"
        );
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(f.dir.path().join("key-rotation.json"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert!(text.contains(&key_hash(A).to_string()) || text.contains(&key_hash(B).to_string()));
    // Reload after a restart: the cooldown is still there (B replaced by C).
    f.clock.advance(Duration::from_secs(100));
    let p = f.open(&[A, C]).unwrap();
    let st = p.status();
    let cooling: Vec<_> = st
        .agents
        .keys
        .iter()
        .filter(|k| k.state == "cooling")
        .collect();
    // LRU with no history picks the first key: A was cooled, 200 s remain.
    assert_eq!(cooling.len(), 1, "{st:?}");
    assert_eq!(cooling[0].hint, "…1111");
    assert_eq!(cooling[0].cooldown_secs_left, Some(200));
    p.flush().unwrap();
    let text = std::fs::read_to_string(f.dir.path().join("key-rotation.json")).unwrap();
    assert!(
        !text.contains(&key_hash(B).to_string()),
        "B is no longer configured: pruned"
    );
}

#[test]
fn reload_keeps_the_exact_cooldown() {
    let f = Fixture::new();
    {
        let p = f.open(&[A]).unwrap();
        let a = lease(p.pool(PoolKind::Agents).select("x"));
        p.pool(PoolKind::Agents)
            .report(&a, Outcome::RateLimited { retry_after: None });
        p.flush().unwrap();
    }
    f.clock.advance(Duration::from_secs(120));
    let p = f.open(&[A]).unwrap();
    match p.pool(PoolKind::Agents).select("x") {
        Selection::AllCooling { retry_after, .. } => {
            assert_eq!(retry_after, Duration::from_secs(180))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_second_owner_is_refused_and_readers_need_no_lock() {
    let f = Fixture::new();
    let p = f.open(&[A]).unwrap();
    let err = f.open(&[A]).err().expect("second open must fail");
    let msg = err.to_string();
    assert!(
        msg.contains("owned by another gasclaw process")
            && msg.contains(&format!("pid {}", std::process::id())),
        "{msg}"
    );
    let st = KeyPools::read_status(
        f.dir.path(),
        &keys(&[A]),
        &keys(&[O]),
        Arc::new(f.clock.clone()),
    )
    .unwrap();
    assert_eq!(st.agents.total, 1);
    drop(p);
    assert!(f.open(&[A]).is_ok(), "the lock is released with the pools");
}

#[test]
fn writes_are_coalesced() {
    let f = Fixture::new();
    let p = f.open(&[A, B]).unwrap();
    p.flush().unwrap();
    let path = f.dir.path().join("key-rotation.json");
    let m0 = std::fs::metadata(&path).unwrap().modified().unwrap();
    for _ in 0..1000 {
        let _ = p.pool(PoolKind::Agents).select("x");
    }
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        m0,
        "selections alone never write"
    );
    p.flush().unwrap();
    p.flush().unwrap();
}

#[test]
fn concurrent_selection_never_returns_a_cooled_key() {
    let f = Fixture::new();
    let p = f.open(&[A, B, C]).unwrap();
    let cooled = lease(p.pool(PoolKind::Agents).select("x"));
    p.pool(PoolKind::Agents)
        .report(&cooled, Outcome::RateLimited { retry_after: None });
    let handles: Vec<_> = (0..16)
        .map(|t| {
            let p = p.clone();
            let bad = cooled.hint.clone();
            std::thread::spawn(move || {
                for i in 0..2000 {
                    let l = match p.pool(PoolKind::Agents).select(&format!("agent-{t}-{i}")) {
                        Selection::Key(l) => l,
                        other => panic!("{other:?}"),
                    };
                    assert_ne!(l.hint, bad);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let st = p.status().agents;
    let uses: u64 = st.keys.iter().map(|k| k.uses).sum();
    assert_eq!(uses, 1 + 16 * 2000);
}
