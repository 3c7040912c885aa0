//! The audit log of control actions: one JSON line per action in
//! `GASCLAW_HOME/audit.log` (who, chat, command, when, outcome).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Entry<'a> {
    pub at: chrono::DateTime<chrono::Utc>,
    /// `person` (a Telegram user) or `overseer` (its skills, through the
    /// local endpoint).
    pub actor: &'a str,
    pub user_id: u64,
    pub user: &'a str,
    pub chat_id: i64,
    pub thread_id: Option<i32>,
    pub command: &'a str,
    pub args: Vec<&'a str>,
    /// `asked`, `confirmed`, `cancelled`, `expired`, `refused`, `ok`,
    /// `failed`.
    pub outcome: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<&'a str>,
}

pub struct Audit {
    path: PathBuf,
    lock: Mutex<()>,
}

impl Audit {
    pub fn new(path: PathBuf) -> Audit {
        Audit {
            path,
            lock: Mutex::new(()),
        }
    }

    pub fn record(&self, e: &Entry<'_>) {
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let line = match serde_json::to_string(e) {
            Ok(l) => l,
            Err(err) => {
                tracing::error!(error = %err, "could not encode an audit entry");
                return;
            }
        };
        // One write per line: two processes' writers never interleave.
        let result = crate::fsutil::open_append(&self.path, 0o600).and_then(|mut f| {
            f.write_all(format!("{line}\n").as_bytes())
                .and_then(|_| f.sync_data())
        });
        if let Err(err) = result {
            tracing::error!(error = %err, path = %self.path.display(), "could not write the audit log");
        }
    }
}
