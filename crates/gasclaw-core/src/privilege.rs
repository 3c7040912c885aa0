//! Who gasclaw runs as, settled once at start, before any thread exists.
//!
//! With `GASCLAW_USER` and `STACK_USER` set (the `full` image), gasclaw
//! starts as root, reads its configuration and secret files, then becomes
//! `GASCLAW_USER`. It keeps only what managing a stack under another uid
//! takes, as capabilities:
//!
//! - `SETUID`, `SETGID`: the runner starts every child as `STACK_USER`
//!   (and drops its supplementary groups);
//! - `CHOWN`, `FOWNER`, `DAC_OVERRIDE`: gasclaw writes the stack's files
//!   (`~/.kimi-accounts`, the agents' Claude config, `openclaw.json`, the
//!   town's `settings/config.json`), reads them back after the programs
//!   rewrote them, and hands them to the stack's uid;
//! - `KILL`: it stops what it started (timeouts, the gateway, rollback).
//!
//! Children get none of them: they change every uid to the stack's with
//! keep-caps off, which empties their sets, and `no_new_privs` (set here,
//! inherited by every descendant) stops a setuid binary from giving them
//! any back. Why not start unprivileged and switch with file capabilities
//! (`setcap` on the binary)? They need xattrs on the image's filesystem,
//! are lost by `COPY` in some builders, and a `no-new-privileges` runtime
//! option silently voids them; starting as root and dropping at once
//! works everywhere Docker does, and is what the test can check as root.
//! Capabilities are per thread: this must run while gasclaw is still
//! single-threaded (before the async runtime starts).

use nix::unistd::{Gid, Uid};
use rustix::thread::{CapabilitySet, CapabilitySets};

use crate::config::Config;

/// The capabilities gasclaw keeps when the stack runs under its own uid.
pub const KEPT: CapabilitySet = CapabilitySet::SETUID
    .union(CapabilitySet::SETGID)
    .union(CapabilitySet::CHOWN)
    .union(CapabilitySet::FOWNER)
    .union(CapabilitySet::DAC_OVERRIDE)
    .union(CapabilitySet::KILL);

/// Why gasclaw could not become who the configuration says.
#[derive(Debug, thiserror::Error)]
pub enum PrivilegeError {
    #[error(
        "GASCLAW_USER is {want} but gasclaw runs as uid {uid}, not root: start it as root (it drops to GASCLAW_USER itself) or as that uid"
    )]
    NotRoot { want: String, uid: u32 },
    #[error(
        "STACK_USER is set but gasclaw, running as uid {uid}, cannot switch users (no CAP_SETUID/CAP_SETGID): start it as root with GASCLAW_USER set"
    )]
    CannotSwitch { uid: u32 },
    #[error(
        "{var}: {path} is readable by STACK_USER (uid {uid}): the agents could read it; make it gasclaw's or root's alone (chmod 600 the file, 700 its directory)"
    )]
    OpenToStack { var: String, path: String, uid: u32 },
    #[error("cannot {what}: {source}")]
    Sys {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}

fn sys<E: Into<std::io::Error>>(what: &'static str) -> impl FnOnce(E) -> PrivilegeError {
    move |e| PrivilegeError::Sys {
        what,
        source: e.into(),
    }
}

fn nix_sys(what: &'static str) -> impl FnOnce(nix::Error) -> PrivilegeError {
    move |e| PrivilegeError::Sys {
        what,
        source: std::io::Error::from_raw_os_error(e as i32),
    }
}

/// Becomes `GASCLAW_USER` (keeping [`KEPT`] when `STACK_USER` is set); does
/// nothing when neither is set. Call before any thread is started. With
/// `STACK_USER`, first refuses a config file, secret file or `GASCLAW_HOME`
/// the stack's uid could read: a split that leaks by a file mode is worse
/// than none, because it looks safe.
pub fn settle(config: &Config) -> Result<(), PrivilegeError> {
    let Some(me) = &config.gasclaw_user else {
        return Ok(());
    };
    if let Some(stack) = &config.stack {
        let mut private: Vec<(String, std::path::PathBuf)> =
            std::iter::once("GASCLAW_CONFIG".into())
                .chain(crate::config::secret_file_variables())
                .filter_map(|var| {
                    let path = std::env::var_os(&var).filter(|p| !p.is_empty())?;
                    Some((var, std::path::PathBuf::from(path)))
                })
                .collect();
        if config.home.exists() {
            private.push(("GASCLAW_HOME".into(), config.home.clone()));
        }
        for (var, path) in private {
            if open_to(&path, stack.id.uid, stack.id.gid) {
                return Err(PrivilegeError::OpenToStack {
                    var,
                    path: path.display().to_string(),
                    uid: stack.id.uid,
                });
            }
        }
    }
    let keep = config.stack.is_some();
    let (ruid, euid) = (nix::unistd::getuid(), nix::unistd::geteuid());
    if ruid.as_raw() == me.uid && euid.as_raw() == me.uid {
        // Already that user (a CLI run as it, or file capabilities).
        if keep {
            let caps = rustix::thread::capabilities(None).map_err(sys("read capabilities"))?;
            if !caps
                .effective
                .contains(CapabilitySet::SETUID | CapabilitySet::SETGID)
            {
                return Err(PrivilegeError::CannotSwitch { uid: me.uid });
            }
            // File capabilities may grant more than the stack needs.
            rustix::thread::set_capabilities(
                None,
                CapabilitySets {
                    effective: caps.effective & KEPT,
                    permitted: caps.permitted & KEPT,
                    inheritable: CapabilitySet::empty(),
                },
            )
            .map_err(sys("limit the capabilities"))?;
            nix::sys::prctl::set_no_new_privs().map_err(nix_sys("set no_new_privs"))?;
        }
        return Ok(());
    }
    if !euid.is_root() {
        return Err(PrivilegeError::NotRoot {
            want: me.describe(),
            uid: euid.as_raw(),
        });
    }
    // Keep the permitted set across the uid change; the effective set is
    // emptied by it regardless and set again below.
    if keep {
        nix::sys::prctl::set_keepcaps(true).map_err(nix_sys("keep capabilities"))?;
    }
    let (uid, gid) = (Uid::from_raw(me.uid), Gid::from_raw(me.gid));
    nix::unistd::setgroups(&[gid]).map_err(nix_sys("drop supplementary groups"))?;
    nix::unistd::setresgid(gid, gid, gid).map_err(nix_sys("set the group ids"))?;
    nix::unistd::setresuid(uid, uid, uid).map_err(nix_sys("set the user ids"))?;
    if keep {
        nix::sys::prctl::set_keepcaps(false).map_err(nix_sys("reset keep-capabilities"))?;
        rustix::thread::set_capabilities(
            None,
            CapabilitySets {
                effective: KEPT,
                permitted: KEPT,
                inheritable: CapabilitySet::empty(),
            },
        )
        .map_err(sys("limit the capabilities"))?;
    }
    // No descendant may gain privileges through exec (a setuid binary).
    nix::sys::prctl::set_no_new_privs().map_err(nix_sys("set no_new_privs"))?;
    // A uid change resets the dumpable flag: set it again.
    nix::sys::prctl::set_dumpable(false).map_err(nix_sys("make the process non-dumpable"))?;
    Ok(())
}

/// Whether `uid`/`gid` (no supplementary groups, no capabilities: what the
/// runner gives the stack) could read `path`, or, for a directory, reach
/// into it: every ancestor searchable, the path itself readable (a file) or
/// searchable (a directory). Mode bits only; an ACL granting more is not
/// seen.
pub fn open_to(path: &std::path::Path, uid: u32, gid: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    let may = |m: &std::fs::Metadata, bit: u32| {
        let mode = m.mode();
        if m.uid() == uid {
            mode & (bit << 6) != 0
        } else if m.gid() == gid {
            mode & (bit << 3) != 0
        } else {
            mode & bit != 0
        }
    };
    let Ok(path) = path.canonicalize() else {
        return false;
    };
    let ancestors_searchable = path
        .ancestors()
        .skip(1)
        .all(|d| std::fs::metadata(d).is_ok_and(|m| may(&m, 0o1)));
    let Ok(m) = std::fs::metadata(&path) else {
        return false;
    };
    ancestors_searchable && may(&m, if m.is_dir() { 0o1 } else { 0o4 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_file_is_open_to_a_uid_by_its_mode_and_its_directories() {
        let dir = tempfile::tempdir().unwrap();
        let me = nix::unistd::geteuid().as_raw();
        let chmod = |p: &std::path::Path, m: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
        };
        let sub = dir.path().join("secrets");
        std::fs::create_dir(&sub).unwrap();
        let f = sub.join("key");
        std::fs::write(&f, "k").unwrap();
        chmod(dir.path(), 0o755);
        chmod(&sub, 0o755);
        chmod(&f, 0o644);
        let other = 4271;
        assert!(open_to(&f, other, other));
        chmod(&f, 0o600);
        assert!(!open_to(&f, other, other));
        assert!(open_to(&f, me, 4272), "the owner reads its 0600 file");
        chmod(&f, 0o644);
        chmod(&sub, 0o700);
        assert!(!open_to(&f, other, other), "a closed directory guards it");
        assert!(!open_to(&sub, other, other));
        chmod(&sub, 0o711);
        assert!(
            open_to(&sub, other, other),
            "searchable: its files are reachable"
        );
        assert!(!open_to(&dir.path().join("missing"), other, other));
    }
}
