//! Where a running gasclaw listens. `KIMI_PROXY_PORT=0` and a
//! `GASCLAW_HTTP_ADDR` with port 0 let the OS pick free ports (no port is
//! chosen first and bound later, which another process could take in
//! between); `gasclaw run` binds before bootstrap, so what bootstrap writes
//! (the agents' `ANTHROPIC_BASE_URL`, the overseer's provider URL, the
//! skills' `GASCLAW_API_URL`) names the bound ports, and reports them in
//! `GASCLAW_HOME/addresses.json` for the CLI and for people.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Core;

/// The bound addresses of one `gasclaw run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listening {
    /// The key proxy (loopback).
    pub proxy: SocketAddr,
    /// Health, metrics and the overseer's endpoint.
    pub http: SocketAddr,
    /// The process that bound them (a file left by a dead one is stale).
    pub pid: u32,
}

impl Listening {
    pub fn path(home: &Path) -> PathBuf {
        home.join("addresses.json")
    }

    /// Written atomically; holds no secret, so readable by all (0644).
    pub fn save(&self, home: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::fsutil::atomic_write(&Self::path(home), &json, crate::fsutil::PUBLIC_MODE)
    }

    /// What a running gasclaw reported; `None` when there is no file, it
    /// cannot be read, or its process is gone.
    pub fn load_live(home: &Path) -> Option<Listening> {
        let text = std::fs::read_to_string(Self::path(home)).ok()?;
        let l: Listening = serde_json::from_str(&text).ok()?;
        crate::stack::exec::pid_alive(l.pid).then_some(l)
    }
}

impl Core {
    /// Records where this process listens (once, before bootstrap): from
    /// now on bootstrap and the gateway's environment use these ports.
    pub fn set_listening(&self, l: Listening) {
        let _ = self.listening.set(l);
        self.openclaw.set_api_url(super::api_url(l.http));
    }

    /// Where this process (or the running gasclaw it learned of) listens.
    pub fn listening(&self) -> Option<Listening> {
        self.listening.get().copied()
    }

    /// The proxy's port as agents must be told it; `None` while
    /// `KIMI_PROXY_PORT=0` and no bound port is known.
    pub fn proxy_port(&self) -> Option<u16> {
        match self.listening.get() {
            Some(l) => Some(l.proxy.port()),
            None => Some(self.config.proxy_port).filter(|p| *p != 0),
        }
    }

    /// The health endpoint's address: the bound one when known, else the
    /// configured one (`None` for port 0 with nothing reported).
    pub fn http_addr(&self) -> Option<SocketAddr> {
        match self.listening.get() {
            Some(l) => Some(l.http),
            None => Some(self.config.http_addr).filter(|a| a.port() != 0),
        }
    }
}
