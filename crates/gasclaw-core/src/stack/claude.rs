//! Claude Code's config directory for the agents (`CLAUDE_CONFIG_DIR`).
//!
//! Agents run Claude Code interactively in tmux, where nobody answers its
//! dialogs. This pre-seeds `.claude.json` (onboarding done, workspaces
//! trusted, API keys pre-approved, the auto-mode nudge seen) and
//! `settings.json` (bypass permissions, its warning skipped) so an agent
//! starts straight at the prompt and stays there (claude-code.md §3–§5 and
//! the 2.1.332 observations). Both files are merged: Claude rewrites
//! `.claude.json` constantly and its own keys are kept.
//!
//! What Claude 2.1.332 migrates is never written back: it moves
//! `bypassPermissionsModeAccepted` out of `.claude.json` (the settings key
//! `skipDangerousModePermissionPrompt`, written here, does the same job) and
//! drops an empty `customApiKeyResponses`, so neither is seeded; files are
//! compared by meaning, so a second bootstrap rewrites nothing.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::StackError;

/// What the agents' Claude config must contain.
#[derive(Debug, Clone, Default)]
pub struct ClaudeSeed {
    /// Workdirs whose trust dialog is pre-accepted (the mayor's is
    /// `<town>/mayor`).
    pub trusted_dirs: Vec<PathBuf>,
    /// Fingerprints (last 20 characters) of `ANTHROPIC_API_KEY` values to
    /// pre-approve; empty when agents authenticate with
    /// `ANTHROPIC_AUTH_TOKEN`, which has no dialog.
    pub approved_key_fingerprints: Vec<String>,
}

/// The last 20 characters of a key: how Claude Code remembers approvals.
pub fn key_fingerprint(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    chars[chars.len().saturating_sub(20)..].iter().collect()
}

/// Writes the seed into `dir`; returns the files that changed.
pub fn seed_config_dir(dir: &Path, seed: &ClaudeSeed) -> Result<Vec<PathBuf>, StackError> {
    crate::fsutil::ensure_dir(dir, 0o700)
        .map_err(|e| StackError::io(format!("creating {}", dir.display()), e))?;
    let mut changed = Vec::new();

    let state_path = dir.join(".claude.json");
    let mut state = read_object(&state_path);
    state.insert("hasCompletedOnboarding".into(), json!(true));
    // 2.1.332 otherwise asks "Make auto mode your default permission mode?"
    // after the first answer (user settings set bypass, no project settings
    // set a mode); it blocks the pane, and a bare Enter (gt re-submitting a
    // prompt) takes "Yes" and switches every agent to auto mode.
    state.insert("hasSeenAutoDefaultNudge".into(), json!(true));
    let projects = object_at(&mut state, "projects");
    for d in &seed.trusted_dirs {
        let entry = projects
            .entry(d.display().to_string())
            .or_insert_with(|| json!({}));
        if let Value::Object(e) = entry {
            e.insert("hasTrustDialogAccepted".into(), json!(true));
        }
    }
    if !seed.approved_key_fingerprints.is_empty() {
        let responses = object_at(&mut state, "customApiKeyResponses");
        let approved = responses.entry("approved").or_insert_with(|| json!([]));
        if !approved.is_array() {
            *approved = json!([]);
        }
        if let Value::Array(list) = approved {
            for fp in &seed.approved_key_fingerprints {
                if !list.iter().any(|v| v.as_str() == Some(fp)) {
                    list.push(json!(fp));
                }
            }
        }
        responses.entry("rejected").or_insert_with(|| json!([]));
    }
    if write_json(&state_path, &state)? {
        changed.push(state_path);
    }

    let settings_path = dir.join("settings.json");
    let mut settings = read_object(&settings_path);
    let perms = object_at(&mut settings, "permissions");
    // Restores bypass if anything switched the shared config dir away from it.
    perms.insert("defaultMode".into(), json!("bypassPermissions"));
    settings.insert("skipDangerousModePermissionPrompt".into(), json!(true));
    if write_json(&settings_path, &settings)? {
        changed.push(settings_path);
    }
    Ok(changed)
}

fn read_object(path: &Path) -> Map<String, Value> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .unwrap_or_default()
}

fn object_at<'a>(m: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let v = m.entry(key).or_insert_with(|| json!({}));
    if !v.is_object() {
        *v = json!({});
    }
    match v {
        Value::Object(o) => o,
        _ => unreachable!("just made an object"),
    }
}

/// Writes `v` unless the file already means the same. Claude rewrites
/// `.claude.json` with mode 0644; that alone is fixed with a chmod, not a
/// rewrite of a file Claude owns too.
fn write_json(path: &Path, v: &Map<String, Value>) -> Result<bool, StackError> {
    let value = Value::Object(v.clone());
    let same = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .is_some_and(|old| old == value);
    let io = |e| StackError::io(format!("writing {}", path.display()), e);
    if same {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
        if mode != crate::fsutil::SECRET_MODE {
            std::fs::set_permissions(
                path,
                std::fs::Permissions::from_mode(crate::fsutil::SECRET_MODE),
            )
            .map_err(io)?;
        }
        return Ok(false);
    }
    crate::fsutil::write_json_if_changed(path, &value, crate::fsutil::SECRET_MODE).map_err(io)
}

/// `claude --version` → `2.1.332`.
pub async fn version(
    runner: &super::Runner,
    timeout: std::time::Duration,
) -> Result<String, StackError> {
    let out = runner
        .run_ok(&super::Invocation::new("claude", timeout).arg("--version"))
        .await?;
    super::parse_semver(&out.stdout).ok_or_else(|| StackError::Unexpected {
        program: "claude",
        detail: format!("--version printed {:?}", out.stdout.trim()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_last_20() {
        assert_eq!(
            key_fingerprint("sk-kimi-0123456789abcdefghijXYZ"),
            "0123456789abcdefghijXYZ"[3..]
        );
        assert_eq!(key_fingerprint("short"), "short");
    }

    #[test]
    fn seed_merges_and_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".claude.json"),
            r#"{"numStartups":7,"userID":"u"}"#,
        )
        .unwrap();
        let seed = ClaudeSeed {
            trusted_dirs: vec![PathBuf::from("/town/mayor")],
            approved_key_fingerprints: vec!["abcdefghijklmnopqrst".into()],
        };
        assert_eq!(seed_config_dir(dir.path(), &seed).unwrap().len(), 2);
        assert!(seed_config_dir(dir.path(), &seed).unwrap().is_empty());
        let v: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(".claude.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(v["numStartups"], 7);
        assert_eq!(v["hasCompletedOnboarding"], true);
        assert_eq!(v["projects"]["/town/mayor"]["hasTrustDialogAccepted"], true);
        assert_eq!(
            v["customApiKeyResponses"]["approved"][0],
            "abcdefghijklmnopqrst"
        );
        let s: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("settings.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(s["permissions"]["defaultMode"], "bypassPermissions");
        assert_eq!(s["skipDangerousModePermissionPrompt"], true);
        assert_eq!(v["hasSeenAutoDefaultNudge"], true);
    }

    /// What Claude Code 2.1.332 does to the seeded files after a run:
    /// reformats, adds its own keys, moves `bypassPermissionsModeAccepted`
    /// into settings and drops an empty `customApiKeyResponses`. The next
    /// bootstrap must find nothing to write.
    #[test]
    fn a_second_seed_leaves_what_claude_migrated_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let seed = ClaudeSeed {
            trusted_dirs: vec![PathBuf::from("/town/mayor")],
            approved_key_fingerprints: vec![],
        };
        seed_config_dir(dir.path(), &seed).unwrap();
        let state_path = dir.path().join(".claude.json");
        let mut v: Value =
            serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
        assert!(v.get("bypassPermissionsModeAccepted").is_none(), "{v}");
        assert!(v.get("customApiKeyResponses").is_none(), "{v}");
        v["numStartups"] = json!(2);
        v["projects"]["/town/mayor"]["allowedTools"] = json!([]);
        std::fs::write(&state_path, serde_json::to_string(&v).unwrap()).unwrap();
        // Claude writes it world-readable.
        std::fs::set_permissions(&state_path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let settings_path = dir.path().join("settings.json");
        let mut s: Value =
            serde_json::from_str(&std::fs::read_to_string(&settings_path).unwrap()).unwrap();
        s["theme"] = json!("dark");
        std::fs::write(&settings_path, serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(
            seed_config_dir(dir.path(), &seed).unwrap(),
            Vec::<PathBuf>::new()
        );
        assert_eq!(
            std::fs::metadata(&state_path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // A mode switched behind the operator's back is switched back.
        s["permissions"]["defaultMode"] = json!("auto");
        std::fs::write(&settings_path, serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(
            seed_config_dir(dir.path(), &seed).unwrap(),
            vec![settings_path.clone()]
        );
    }
}
