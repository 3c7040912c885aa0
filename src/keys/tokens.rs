//! Per-agent local tokens: what agents (and the overseer) present to the
//! proxy instead of a real key. Random, stable across runs, stored 0600 in
//! `GASCLAW_HOME/local-tokens.json`.

use std::path::Path;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::PoolKind;

/// Who is calling the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub pool: PoolKind,
    /// `agent-3` or `overseer`: the stickiness key and the log label.
    pub agent: String,
}

#[derive(Serialize, Deserialize, Default)]
struct Disk {
    agents: Vec<String>,
    overseer: String,
}

pub struct LocalTokens {
    agents: Vec<SecretString>,
    overseer: SecretString,
}

impl std::fmt::Debug for LocalTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LocalTokens({} agents + overseer)", self.agents.len())
    }
}

fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("gclt-{}", hex::encode(bytes))
}

/// Compares without an early exit, so timing says nothing about a prefix.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl LocalTokens {
    /// Loads the tokens, creating the missing ones (the file grows and
    /// shrinks with `GT_AGENT_COUNT`; existing tokens never change).
    pub fn load_or_create(home: &Path, agent_count: usize) -> std::io::Result<LocalTokens> {
        let path = home.join("local-tokens.json");
        let raw = std::fs::read_to_string(&path).ok();
        let mut disk: Disk = raw
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default();
        while disk.agents.len() < agent_count {
            disk.agents.push(new_token());
        }
        disk.agents.truncate(agent_count);
        if !disk.overseer.starts_with("gclt-") {
            disk.overseer = new_token();
        }
        let text = serde_json::to_string_pretty(&disk).map_err(std::io::Error::other)?;
        if raw.as_deref() != Some(text.as_str()) {
            crate::fsutil::atomic_write(&path, text.as_bytes(), crate::fsutil::SECRET_MODE)?;
        }
        Ok(LocalTokens {
            agents: disk.agents.into_iter().map(SecretString::from).collect(),
            overseer: SecretString::from(disk.overseer),
        })
    }

    /// The token of agent `n` (1-based).
    pub fn agent_token(&self, n: usize) -> Option<&SecretString> {
        n.checked_sub(1).and_then(|i| self.agents.get(i))
    }

    pub fn overseer_token(&self) -> &SecretString {
        &self.overseer
    }

    pub fn all(&self) -> Vec<SecretString> {
        let mut v = self.agents.clone();
        v.push(self.overseer.clone());
        v
    }

    /// Who presented `token`, if anyone.
    pub fn resolve(&self, token: &str) -> Option<Caller> {
        let t = token.as_bytes();
        let mut found = None;
        // Check every token (no early exit) to keep the timing flat.
        for (i, a) in self.agents.iter().enumerate() {
            if ct_eq(a.expose_secret().as_bytes(), t) {
                found = Some(Caller {
                    pool: PoolKind::Agents,
                    agent: format!("agent-{}", i + 1),
                });
            }
        }
        if ct_eq(self.overseer.expose_secret().as_bytes(), t) {
            found = Some(Caller {
                pool: PoolKind::Overseer,
                agent: "overseer".into(),
            });
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stable_private_and_resolve() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let a = LocalTokens::load_or_create(dir.path(), 2).unwrap();
        let b = LocalTokens::load_or_create(dir.path(), 3).unwrap();
        assert_eq!(
            a.agent_token(1).unwrap().expose_secret(),
            b.agent_token(1).unwrap().expose_secret()
        );
        assert_eq!(
            a.overseer_token().expose_secret(),
            b.overseer_token().expose_secret()
        );
        assert!(
            b.agent_token(3).is_some() && b.agent_token(4).is_none() && b.agent_token(0).is_none()
        );
        let p = dir.path().join("local-tokens.json");
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let t2 = b.agent_token(2).unwrap().expose_secret().to_string();
        assert_eq!(
            b.resolve(&t2),
            Some(Caller {
                pool: PoolKind::Agents,
                agent: "agent-2".into()
            })
        );
        assert_eq!(
            b.resolve(b.overseer_token().expose_secret()).unwrap().pool,
            PoolKind::Overseer
        );
        assert_eq!(b.resolve("gclt-nope"), None);
        assert_eq!(b.resolve(""), None);
        assert!(!format!("{b:?}").contains("gclt-"));
    }
}
