//! What the faces may ask of the core beyond checks and services: the
//! town's tasks (beads), the overseer conversation, the key pools, and
//! operators' own commands. The faces reach the stack only through these;
//! the adapters themselves are private to the core.

use std::sync::Arc;
use std::time::Duration;

use super::{Actor, Core};
use crate::keys::{ClearedKey, KeyPools, PoolError, PoolKind, PoolsStatus, SystemClock};
use crate::stack::Invocation;
pub use crate::stack::beads::{Bead, BeadsError as TaskError};
pub use crate::stack::exec::{ExecError, Output as CommandOutput};
pub use crate::stack::openclaw::ChatError as OverseerError;

impl Core {
    /// Open beads, newest first.
    pub async fn tasks(&self, limit: usize) -> Result<Vec<Bead>, TaskError> {
        self.beads.open(limit).await
    }

    pub async fn task(&self, id: &str) -> Result<Bead, TaskError> {
        self.beads.show(id).await
    }

    /// Creates a bead; `by` is who asked (bd records its attribution).
    pub async fn new_task(&self, title: &str, by: &Actor) -> Result<Bead, TaskError> {
        self.beads.create(title, &by.attribution()).await
    }

    pub async fn close_task(&self, id: &str, reason: &str) -> Result<Bead, TaskError> {
        self.beads.close(id, reason).await
    }

    /// One exchange with the overseer; `conversation` keeps one thread of
    /// context per chat (and topic).
    pub async fn ask_overseer(
        &self,
        conversation: &str,
        text: &str,
    ) -> Result<String, OverseerError> {
        self.openclaw
            .chat(
                &self.gateway_token,
                conversation,
                text,
                self.config.overseer_timeout,
            )
            .await
    }

    /// Runs an operator-defined command (a fixed program, arguments already
    /// validated by the catalogue) through the one runner, in
    /// `GASCLAW_HOME`.
    pub async fn run_operator_command(
        &self,
        program: &str,
        argv: &[String],
        timeout: Duration,
    ) -> Result<CommandOutput, ExecError> {
        let inv = Invocation::new(program, timeout)
            .args(argv)
            .cwd(&self.config.home);
        self.runner.run(&inv).await
    }

    /// Rotates the gateway's log when it is past its cap (each monitor
    /// cycle does this, so a chatty gateway never fills the disk).
    pub fn rotate_gateway_log(&self) -> std::io::Result<bool> {
        self.openclaw.rotate_log()
    }

    /// Makes this process the owner of the key pools (`gasclaw run`): from
    /// now on every face reads and clears the live pools. Once only.
    pub fn own_pools(&self, pools: Arc<KeyPools>) {
        let _ = self.pools.set(pools);
    }

    /// The live pools when this process owns them.
    pub fn live_pools(&self) -> Option<&Arc<KeyPools>> {
        self.pools.get()
    }

    /// The pools: live when this process owns them, else the state on disk
    /// (read without taking the owner's lock).
    pub fn pools_status(&self) -> Result<PoolsStatus, PoolError> {
        if let Some(p) = self.pools.get() {
            return Ok(p.status());
        }
        let cfg = &self.config;
        KeyPools::read_status(
            &cfg.home,
            &cfg.agent_keys,
            &cfg.overseer_keys,
            Arc::new(SystemClock),
        )
    }

    /// Ends a key's cooldown (or invalid mark), in whichever pool holds it.
    /// Without live pools this takes the owner's lock for the moment of the
    /// write, so it fails with [`PoolError::Locked`] while a `gasclaw run`
    /// owns the state.
    pub fn clear_key(
        &self,
        selector: &str,
        kind: Option<PoolKind>,
    ) -> Result<ClearedKey, PoolError> {
        let clear = |pools: &KeyPools| match kind {
            Some(k) => pools.pool(k).clear(selector),
            None => pools
                .pool(PoolKind::Agents)
                .clear(selector)
                .or_else(|_| pools.pool(PoolKind::Overseer).clear(selector)),
        };
        if let Some(p) = self.pools.get() {
            return clear(p);
        }
        let cfg = &self.config;
        let pools = KeyPools::open(
            &cfg.home,
            &cfg.agent_keys,
            &cfg.overseer_keys,
            Default::default(),
            Arc::new(SystemClock),
            Arc::new(|_| {}),
        )?;
        let cleared = clear(&pools)?;
        pools.flush()?;
        Ok(cleared)
    }
}
