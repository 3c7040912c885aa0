//! The overseer's narrow path into gasclaw: `/overseer/*` on the local
//! `GASCLAW_HTTP_ADDR` server, for the OpenClaw skills' scripts only.
//!
//! - Loopback peers only, and `Authorization: Bearer <token>` with the
//!   overseer's own token (`GASCLAW_HOME/overseer-api-token`, 0600, given to
//!   the gateway's environment as `GASCLAW_API_TOKEN`).
//! - Reads only: `status`, `keys`, `agents`, `tasks`, `tasks/<id>`.
//! - Every control action (restart, stop, bootstrap, creating or closing
//!   tasks, updates) is refused with 403. The overseer's words come from
//!   whoever can talk to it, prompt injection included; an action it asks
//!   for on their behalf would need the owner to judge a request whose
//!   origin they cannot see, and the owner already has `/restart`,
//!   `/newtask` and `/done` to act directly.
//! - Every request that presents the token is in the audit log with actor
//!   `overseer` (outcome `ok`, `failed` or `refused`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::core::{Actor, Core};
use crate::keys::KeyPools;
use crate::telegram::audit::{Audit, Entry, Outcome};

pub struct OverseerApi {
    pub core: Arc<Core>,
    pub pools: Arc<KeyPools>,
    pub token: SecretString,
    pub audit: Arc<Audit>,
}

impl OverseerApi {
    fn record(&self, command: &str, args: Vec<&str>, outcome: Outcome, detail: Option<&str>) {
        self.audit.record(&Entry {
            at: chrono::Utc::now(),
            actor: &Actor::Overseer,
            chat_id: 0,
            thread_id: None,
            command,
            args,
            outcome,
            detail,
        });
    }

    /// `None` when the caller may go on; the refusal otherwise.
    fn admit(&self, peer: SocketAddr, headers: &HeaderMap) -> Option<Response> {
        if !peer.ip().is_loopback() {
            tracing::warn!(%peer, "overseer endpoint called from outside loopback");
            return Some(error(StatusCode::FORBIDDEN, "loopback only"));
        }
        let presented = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or("");
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            presented.as_bytes(),
            self.token.expose_secret().as_bytes(),
        )) {
            tracing::warn!("overseer endpoint called without its token");
            return Some(error(StatusCode::UNAUTHORIZED, "missing or wrong token"));
        }
        None
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn ok_json(v: impl serde::Serialize) -> Response {
    match serde_json::to_value(v) {
        Ok(v) => (StatusCode::OK, Json(v)).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

type Api = State<Arc<OverseerApi>>;
type Peer = ConnectInfo<SocketAddr>;

pub async fn status(State(api): Api, ConnectInfo(peer): Peer, h: HeaderMap) -> Response {
    if let Some(r) = api.admit(peer, &h) {
        return r;
    }
    let report = api.core.status().await;
    api.record("status", vec![], Outcome::Ok, None);
    ok_json(report)
}

pub async fn keys(State(api): Api, ConnectInfo(peer): Peer, h: HeaderMap) -> Response {
    if let Some(r) = api.admit(peer, &h) {
        return r;
    }
    api.record("keys", vec![], Outcome::Ok, None);
    ok_json(api.pools.status())
}

/// `/overseer/usage?period=today|week`: the token report `/usage` shows
/// (hints only, never a key).
pub async fn usage(
    State(api): Api,
    ConnectInfo(peer): Peer,
    h: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    use crate::keys::usage::{Period, UsageReport, UsageStore};
    if let Some(r) = api.admit(peer, &h) {
        return r;
    }
    let period = match q.get("period").map(String::as_str) {
        None | Some("today") => Period::Today,
        Some("week") => Period::Week,
        Some(_) => return error(StatusCode::BAD_REQUEST, "period is today or week"),
    };
    let now = chrono::Utc::now();
    let path = UsageStore::path_in(&api.core.config().home);
    let report = match UsageStore::existing(&path) {
        None => Ok(UsageReport::build(&[], &[], period.start(now), now)),
        Some(store) => {
            match tokio::task::spawn_blocking(move || UsageReport::load(&store, period, now)).await
            {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            }
        }
    };
    match report {
        // The shape of `gasclaw usage --json` (by slot).
        Ok(r) => {
            api.record("usage", vec![], Outcome::Ok, None);
            ok_json(json!({
                "since": r.since,
                "until": r.until,
                "by": "slot",
                "rows": r.by_slot,
                "total": r.total,
                "quotas": r.quotas,
                "forecasts": r.forecasts,
                "burn_per_hour": r.burn_per_hour,
            }))
        }
        Err(e) => {
            api.record("usage", vec![], Outcome::Failed, Some(&e));
            error(StatusCode::SERVICE_UNAVAILABLE, &e)
        }
    }
}

pub async fn agents(State(api): Api, ConnectInfo(peer): Peer, h: HeaderMap) -> Response {
    if let Some(r) = api.admit(peer, &h) {
        return r;
    }
    let report = api.core.agents(api.core.config().check_timeout).await;
    api.record("agents", vec![], Outcome::Ok, None);
    ok_json(report)
}

pub async fn tasks(State(api): Api, ConnectInfo(peer): Peer, h: HeaderMap) -> Response {
    if let Some(r) = api.admit(peer, &h) {
        return r;
    }
    match api.core.tasks(50).await {
        Ok(b) => {
            api.record("tasks", vec![], Outcome::Ok, None);
            ok_json(b)
        }
        Err(e) => {
            let msg = e.to_string();
            api.record("tasks", vec![], Outcome::Failed, Some(&msg));
            error(StatusCode::BAD_GATEWAY, &msg)
        }
    }
}

pub async fn task(
    State(api): Api,
    ConnectInfo(peer): Peer,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = api.admit(peer, &h) {
        return r;
    }
    // A bead id: never an option or a path for bd.
    let valid = !id.is_empty()
        && id.len() <= 64
        && !id.starts_with('-')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if !valid {
        api.record("task", vec![], Outcome::Refused, Some("not a task id"));
        return error(StatusCode::BAD_REQUEST, "not a task id");
    }
    match api.core.task(&id).await {
        Ok(b) => {
            api.record("task", vec![&id], Outcome::Ok, None);
            ok_json(vec![b])
        }
        Err(e) => {
            let msg = e.to_string();
            api.record("task", vec![&id], Outcome::Failed, Some(&msg));
            error(StatusCode::NOT_FOUND, &msg)
        }
    }
}

/// Anything else under `/overseer/`: control actions and unknown paths.
pub async fn refused(
    State(api): Api,
    ConnectInfo(peer): Peer,
    h: HeaderMap,
    method: Method,
    uri: Uri,
) -> Response {
    if let Some(r) = api.admit(peer, &h) {
        return r;
    }
    let what: String = uri
        .path()
        .trim_start_matches("/overseer/")
        .chars()
        .take(64)
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'))
        .collect();
    let detail = format!("{method} {what}: the overseer may only read; ask the owner");
    api.record(
        what.split('/').next().unwrap_or(""),
        vec![],
        Outcome::Refused,
        Some(&detail),
    );
    (
        StatusCode::FORBIDDEN,
        Json(json!({
            "error": "refused: the overseer may only read (status, keys, agents, tasks). Control actions are the owner's: ask them to use /restart, /newtask, /done or /bootstrap in Telegram."
        })),
    )
        .into_response()
}
