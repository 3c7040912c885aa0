//! `GASCLAW_USER` and `STACK_USER`: the two uids of the `full` image.
//!
//! gasclaw holds the real keys; the stack (gt, bd, dolt, the agents, the
//! gateway) runs code that reads prompts from anyone. With `STACK_USER` set
//! every child runs under that uid, so neither gasclaw's memory, its
//! environment, `GASCLAW_HOME`, the config file nor the secret files are
//! readable to an agent. A user is a passwd name, a uid, or `uid:gid`;
//! plain numbers need no passwd entry (the group is then the uid's number).

use std::path::PathBuf;

use nix::unistd::{Uid, User};

/// A uid and gid to run as, with the passwd name and home when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    pub name: Option<String>,
    pub home: Option<PathBuf>,
}

impl Identity {
    /// `name (uid:gid)` or `uid:gid`, for messages.
    pub fn describe(&self) -> String {
        match &self.name {
            Some(n) => format!("{n} ({}:{})", self.uid, self.gid),
            None => format!("{}:{}", self.uid, self.gid),
        }
    }
}

/// The stack's user and the `HOME` its programs get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackUser {
    pub id: Identity,
    /// `STACK_HOME`, else the user's passwd home: `~/.kimi-accounts`,
    /// `~/.claude-kimigas`, `~/.openclaw` and Dolt's identity live here.
    pub home: PathBuf,
}

/// Resolves `name`, `uid` or `uid:gid`. The message never echoes the value
/// beyond saying what is wrong with it.
pub fn resolve(spec: &str) -> Result<Identity, String> {
    let spec = spec.trim();
    let numeric = |s: &str| s.parse::<u32>().ok();
    let (uid_part, gid_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let explicit_gid = match gid_part {
        Some(g) => Some(numeric(g).ok_or("the part after `:` must be a numeric gid")?),
        None => None,
    };
    let by_uid = |uid: u32| User::from_uid(Uid::from_raw(uid)).ok().flatten();
    let (uid, user) = match numeric(uid_part) {
        Some(uid) => (uid, by_uid(uid)),
        None if gid_part.is_some() => {
            return Err("`uid:gid` takes numbers only".into());
        }
        None => match User::from_name(uid_part) {
            Ok(Some(u)) => (u.uid.as_raw(), Some(u)),
            Ok(None) => return Err("names no user in /etc/passwd".into()),
            Err(e) => return Err(format!("cannot look the user up: {e}")),
        },
    };
    if uid == 0 {
        return Err("must not be root (uid 0)".into());
    }
    let gid = explicit_gid
        .or_else(|| user.as_ref().map(|u| u.gid.as_raw()))
        .unwrap_or(uid);
    if gid == 0 {
        return Err("must not be in the root group (gid 0)".into());
    }
    Ok(Identity {
        uid,
        gid,
        name: user.as_ref().map(|u| u.name.clone()),
        home: user
            .map(|u| u.dir)
            .filter(|d| d.is_absolute() && d != &PathBuf::from("/nonexistent")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_need_no_passwd_entry_and_root_is_refused() {
        let id = resolve("4243").unwrap();
        assert_eq!((id.uid, id.gid), (4243, 4243));
        let id = resolve("4243:5000").unwrap();
        assert_eq!((id.uid, id.gid), (4243, 5000));
        assert!(resolve("0").unwrap_err().contains("root"));
        assert!(resolve("4243:0").unwrap_err().contains("root group"));
        assert!(resolve("root").unwrap_err().contains("root"));
        assert!(resolve("4243:x").unwrap_err().contains("numeric gid"));
        assert!(
            resolve("no-such-user-gasclaw")
                .unwrap_err()
                .contains("/etc/passwd")
        );
    }

    #[test]
    fn a_passwd_name_brings_its_group_and_home() {
        // `nobody` exists on every Linux this runs on.
        let id = resolve("nobody").unwrap();
        assert_eq!(id.name.as_deref(), Some("nobody"));
        assert_ne!(id.uid, 0);
        assert_eq!(id.home, None, "/nonexistent is no home");
    }
}
