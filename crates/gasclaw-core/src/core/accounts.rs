//! The agents' identities and credentials: one slot per agent
//! (`GT_AGENT_COUNT`), each with its own gt agent alias, its own Kimi
//! account file and its own credentials, so pooled keys spread across the
//! town's roles instead of every agent sharing one key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

use crate::stack::beads;
use crate::stack::gastown::{self, AgentSpec, AgentsConfig};

/// The agents' Claude Code config dir as bootstrap seeds it (tests run the
/// real Claude against exactly this).
pub use crate::stack::claude::{ClaudeSeed, seed_config_dir as seed_claude_config};

/// The town's roles, each mapped to a slot round-robin.
pub const ROLES: [&str; 6] = ["mayor", "deacon", "witness", "refinery", "polecat", "crew"];

/// The default agent alias (slot 1, the mayor's).
pub const DEFAULT_ALIAS: &str = "kimi-claude";

/// The alias of slot `n` (1-based).
pub fn alias(n: usize) -> String {
    if n == 1 {
        DEFAULT_ALIAS.to_string()
    } else {
        format!("{DEFAULT_ALIAS}-{n}")
    }
}

/// How an agent reaches the model.
#[derive(Clone)]
pub struct Credentials {
    pub base_url: String,
    pub secret: SecretString,
    /// `ANTHROPIC_AUTH_TOKEN` (Bearer; no approval dialog) rather than
    /// `ANTHROPIC_API_KEY` (`x-api-key`; needs pre-approval).
    pub bearer: bool,
}

/// What each stack program must not inherit from gasclaw's environment
/// (applied by the runner, on top of gasclaw's own secrets): gt passes its
/// pass-through list on to every agent and reads bd's JSON; bd must answer
/// plain JSON.
pub fn stack_scrubs() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut gt: Vec<&'static str> = gastown::PASS_THROUGH.to_vec();
    gt.push(beads::JSON_ENVELOPE);
    vec![("gt", gt), ("bd", vec![beads::JSON_ENVELOPE])]
}

/// The variables in `env` (set, non-empty) that gt would hand to every
/// agent, or that change bd's answers: `gasclaw config` warns about them.
pub fn harmful_in_env<K, V>(env: impl IntoIterator<Item = (K, V)>) -> Vec<String>
where
    K: AsRef<std::ffi::OsStr>,
    V: AsRef<std::ffi::OsStr>,
{
    let mut found: Vec<String> = env
        .into_iter()
        .filter(|(_, v)| !v.as_ref().is_empty())
        .filter_map(|(k, _)| k.as_ref().to_str().map(str::to_string))
        .filter(|k| gastown::PASS_THROUGH.contains(&k.as_str()) || k == beads::JSON_ENVELOPE)
        .collect();
    found.sort();
    found.dedup();
    found
}

/// Builds the gt agent definitions: every slot runs `claude` with bypass
/// permissions and its own credentials; roles are spread over the slots.
pub fn agents_config(creds: &[Credentials], claude_dir: &Path, as_root: bool) -> AgentsConfig {
    let agents: Vec<AgentSpec> = creds
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut env = BTreeMap::new();
            env.insert("ANTHROPIC_BASE_URL".to_string(), c.base_url.clone());
            let var = if c.bearer {
                "ANTHROPIC_AUTH_TOKEN"
            } else {
                "ANTHROPIC_API_KEY"
            };
            env.insert(var.to_string(), c.secret.expose_secret().to_string());
            env.insert(
                "CLAUDE_CONFIG_DIR".to_string(),
                claude_dir.display().to_string(),
            );
            env.insert(
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".to_string(),
                "1".to_string(),
            );
            if as_root {
                // Claude Code refuses bypass mode as root without it.
                env.insert("IS_SANDBOX".to_string(), "1".to_string());
            }
            AgentSpec {
                alias: alias(i + 1),
                command: "claude".into(),
                // Written explicitly: `gt config agent set` would store `[]`.
                args: vec!["--dangerously-skip-permissions".into()],
                env,
            }
        })
        .collect();
    let role_agents = ROLES
        .iter()
        .enumerate()
        .map(|(i, role)| (role.to_string(), alias(i % creds.len().max(1) + 1)))
        .collect();
    AgentsConfig {
        agents,
        default_agent: DEFAULT_ALIAS.into(),
        role_agents,
    }
}

/// `~/.kimi-accounts/<n>/config.toml` for each slot, mode 0600. Returns the
/// files that changed.
pub fn write_account_files(dir: &Path, creds: &[Credentials]) -> std::io::Result<Vec<PathBuf>> {
    crate::fsutil::ensure_dir(dir, 0o700)?;
    let mut changed = Vec::new();
    for (i, c) in creds.iter().enumerate() {
        let n = i + 1;
        let path = dir.join(n.to_string()).join("config.toml");
        let mut doc = toml::Table::new();
        doc.insert("agent".into(), toml::Value::String(alias(n)));
        doc.insert("base_url".into(), toml::Value::String(c.base_url.clone()));
        doc.insert(
            "api_key".into(),
            toml::Value::String(c.secret.expose_secret().to_string()),
        );
        let text = format!(
            "# Kimi account of agent {n}, written by gasclaw; do not edit.\n{}",
            toml::to_string(&doc).map_err(std::io::Error::other)?
        );
        crate::fsutil::ensure_dir(path.parent().unwrap_or(dir), 0o700)?;
        if crate::fsutil::write_if_changed(&path, text.as_bytes(), crate::fsutil::SECRET_MODE)? {
            changed.push(path);
        }
    }
    Ok(changed)
}

/// Reads a secret kept in a 0600 file, creating a random one (64 hex) if
/// the file does not exist.
pub fn load_or_create_secret(path: &Path) -> std::io::Result<SecretString> {
    match std::fs::read_to_string(path) {
        Ok(s) if !s.trim().is_empty() => Ok(SecretString::from(s.trim().to_string())),
        Ok(_) | Err(_) => {
            let bytes: [u8; 32] = rand::random();
            let token = hex::encode(bytes);
            crate::fsutil::atomic_write(
                path,
                format!("{token}\n").as_bytes(),
                crate::fsutil::SECRET_MODE,
            )?;
            Ok(SecretString::from(token))
        }
    }
}

/// Whether gasclaw runs as root (agents then need `IS_SANDBOX=1`).
pub fn running_as_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(n: usize) -> Vec<Credentials> {
        (1..=n)
            .map(|i| Credentials {
                base_url: "https://api.kimi.com/coding/".into(),
                secret: SecretString::from(format!("sk-kimi-key-{i}-xxxxxxxxxxxx")),
                bearer: false,
            })
            .collect()
    }

    #[test]
    fn roles_spread_over_slots() {
        let c = agents_config(&creds(3), Path::new("/h/.claude-kimigas"), true);
        assert_eq!(c.agents.len(), 3);
        assert_eq!(c.default_agent, "kimi-claude");
        assert_eq!(c.role_agents["mayor"], "kimi-claude");
        assert_eq!(c.role_agents["deacon"], "kimi-claude-2");
        assert_eq!(c.role_agents["witness"], "kimi-claude-3");
        assert_eq!(c.role_agents["refinery"], "kimi-claude");
        assert_eq!(c.agents[0].env["IS_SANDBOX"], "1");
        assert_eq!(c.agents[1].args, ["--dangerously-skip-permissions"]);
        assert!(c.agents[2].env["ANTHROPIC_API_KEY"].contains("key-3"));
        let c = agents_config(&creds(1), Path::new("/h/c"), false);
        assert!(c.role_agents.values().all(|a| a == "kimi-claude"));
        assert!(!c.agents[0].env.contains_key("IS_SANDBOX"));
    }

    #[test]
    fn harmful_variables_are_named_when_set() {
        let env = [
            ("ANTHROPIC_API_KEY", "sk-ant-x"),
            ("ANTHROPIC_MODEL", ""),
            ("BD_JSON_ENVELOPE", "1"),
            ("HTTPS_PROXY", "http://p:3128"),
            ("PATH", "/bin"),
        ];
        assert_eq!(
            harmful_in_env(env),
            ["ANTHROPIC_API_KEY", "BD_JSON_ENVELOPE", "HTTPS_PROXY"]
        );
        let scrubs = stack_scrubs();
        let gt = &scrubs.iter().find(|(p, _)| *p == "gt").unwrap().1;
        assert!(gt.contains(&"CLAUDE_CODE_USE_VERTEX") && gt.contains(&"BD_JSON_ENVELOPE"));
    }

    #[test]
    fn account_files_are_private_and_idempotent() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let changed = write_account_files(dir.path(), &creds(2)).unwrap();
        assert_eq!(changed.len(), 2);
        assert!(
            write_account_files(dir.path(), &creds(2))
                .unwrap()
                .is_empty()
        );
        let p = dir.path().join("2/config.toml");
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let t: toml::Table = toml::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(t["agent"].as_str(), Some("kimi-claude-2"));
    }

    #[test]
    fn secret_file_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t");
        let a = load_or_create_secret(&p).unwrap();
        let b = load_or_create_secret(&p).unwrap();
        assert_eq!(a.expose_secret(), b.expose_secret());
        assert_eq!(a.expose_secret().len(), 64);
    }
}
