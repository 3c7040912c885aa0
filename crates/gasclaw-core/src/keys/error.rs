//! Why the key pools or their state file refused (shared by the pools and
//! the state file, so neither imports the other).

use std::path::PathBuf;

use super::PoolKind;

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("{path} is owned by another gasclaw process{}; only one may own the key state", match .pid { Some(p) => format!(" (pid {p})"), None => String::new() })]
    Locked { path: PathBuf, pid: Option<u32> },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid key state file: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error("the {0} pool has no keys")]
    NoKeys(PoolKind),
    #[error(
        "no key in the {pool} pool matches `{selector}` (use its hint like …abcd, or its hash)"
    )]
    UnknownKey { pool: PoolKind, selector: String },
}
