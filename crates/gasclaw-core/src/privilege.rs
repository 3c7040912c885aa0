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
/// nothing when neither is set. Call before any thread is started.
pub fn settle(config: &Config) -> Result<(), PrivilegeError> {
    let Some(me) = &config.gasclaw_user else {
        return Ok(());
    };
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
