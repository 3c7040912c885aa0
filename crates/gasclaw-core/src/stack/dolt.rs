//! Dolt: the health probe and the identity gt needs before `gt install`.
//!
//! The probe reads the MySQL greeting the server sends first: `dolt sql
//! --port` always fails and bare `dolt sql` passes with no server at all
//! (beads-and-dolt.md §6), so neither is used. Starting Dolt is gt's job
//! (`gt dolt start`); gasclaw never starts a second server.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::StackError;
use super::exec::{Invocation, Runner};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const GREETING_TIMEOUT: Duration = Duration::from_secs(3);

/// What answered on the Dolt port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// A protocol-10 greeting: a MySQL-protocol server is serving.
    Serving { version: String },
    /// An ERR packet instead of a greeting. Dolt itself never sends one for
    /// a full server (it waits, then closes: `Wedged`); other MySQL-protocol
    /// servers on the port do (e.g. 1040 Too many connections).
    Refusing { code: u16, message: String },
    /// Nothing listens.
    Down { reason: String },
    /// Accepted but no greeting in time, or closed without one: saturated or
    /// wedged (typical when every connection slot is taken).
    Wedged { reason: String },
}

impl Probe {
    pub fn is_serving(&self) -> bool {
        matches!(self, Probe::Serving { .. })
    }

    pub fn describe(&self, port: u16) -> String {
        match self {
            Probe::Serving { version } => {
                format!("serving on port {port} (MySQL protocol, server {version})")
            }
            Probe::Refusing { code, message } => {
                format!("refusing connections on port {port}: error {code} {message}")
            }
            Probe::Down { reason } => format!("nothing answers on port {port}: {reason}"),
            Probe::Wedged { reason } => format!("port {port} accepts but does not greet: {reason}"),
        }
    }
}

/// Connects to 127.0.0.1:`port`, reads the first packet, closes.
pub async fn probe(port: u16) -> Probe {
    let stream = match tokio::time::timeout(
        CONNECT_TIMEOUT,
        TcpStream::connect(("127.0.0.1", port)),
    )
    .await
    {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return Probe::Down {
                reason: e.to_string(),
            };
        }
        Err(_) => {
            return Probe::Down {
                reason: format!("connect timed out after {}s", CONNECT_TIMEOUT.as_secs()),
            };
        }
    };
    let result = tokio::time::timeout(GREETING_TIMEOUT, read_packet(stream)).await;
    // The stream is dropped (closed) here either way: a half-open connection
    // would count against the server's connection limit.
    match result {
        Err(_) => Probe::Wedged {
            reason: format!("no greeting within {}s", GREETING_TIMEOUT.as_secs()),
        },
        Ok(Err(e)) => Probe::Wedged {
            reason: format!("closed before greeting ({e})"),
        },
        Ok(Ok(payload)) => classify(&payload),
    }
}

async fn read_packet(mut s: TcpStream) -> std::io::Result<Vec<u8>> {
    let mut header = [0u8; 4];
    s.read_exact(&mut header).await?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
    // A greeting is small; never trust a huge length from a foreign server.
    let mut payload = vec![0u8; len.min(4096)];
    s.read_exact(&mut payload).await?;
    Ok(payload)
}

/// Classifies a first packet's payload.
pub fn classify(payload: &[u8]) -> Probe {
    match payload.first() {
        Some(0x0a) => {
            let end = payload[1..]
                .iter()
                .position(|b| *b == 0)
                .map(|i| i + 1)
                .unwrap_or(payload.len());
            Probe::Serving {
                version: String::from_utf8_lossy(&payload[1..end]).into_owned(),
            }
        }
        Some(0xff) if payload.len() >= 3 => {
            let code = u16::from_le_bytes([payload[1], payload[2]]);
            let mut rest = &payload[3..];
            if rest.first() == Some(&b'#') && rest.len() >= 6 {
                rest = &rest[6..];
            }
            Probe::Refusing {
                code,
                message: String::from_utf8_lossy(rest).trim().to_string(),
            }
        }
        Some(b) => Probe::Wedged {
            reason: format!(
                "unexpected first packet (0x{b:02x}); is this a MySQL-protocol server?"
            ),
        },
        None => Probe::Wedged {
            reason: "empty first packet".into(),
        },
    }
}

/// The `dolt` program itself.
#[derive(Debug, Clone)]
pub struct Dolt {
    runner: Runner,
}

impl Dolt {
    pub fn new(runner: Runner) -> Dolt {
        Dolt { runner }
    }

    fn dolt(&self) -> Invocation {
        Invocation::new("dolt", Duration::from_secs(20))
    }

    /// Makes sure `dolt config --global` has `user.name` and `user.email`
    /// (gt install and dolt init refuse to run without them) and
    /// `versioncheck.disabled` (otherwise `dolt version` — which gt and
    /// `gasclaw update --check` run — asks the GitHub API for the latest
    /// release with no timeout of its own). Returns what was set.
    pub async fn ensure_identity(&self) -> Result<Vec<&'static str>, StackError> {
        let mut set = Vec::new();
        for (key, value, exact) in [
            ("user.name", "gasclaw", false),
            ("user.email", "gasclaw@localhost", false),
            ("versioncheck.disabled", "true", true),
        ] {
            // `--get` of a missing key exits 1 with empty output.
            let got = self
                .runner
                .run(&self.dolt().args(["config", "--global", "--get", key]))
                .await?;
            let have = got.stdout.trim();
            if got.success() && !have.is_empty() && (!exact || have == value) {
                continue;
            }
            self.runner
                .run_ok(
                    &self
                        .dolt()
                        .args(["config", "--global", "--add", key, value]),
                )
                .await?;
            set.push(key);
        }
        Ok(set)
    }

    pub async fn version(&self, timeout: Duration) -> Result<String, StackError> {
        let out = self
            .runner
            .run_ok(&Invocation::new("dolt", timeout).arg("version"))
            .await?;
        super::parse_semver(&out.stdout).ok_or_else(|| StackError::Unexpected {
            program: "dolt",
            detail: format!(
                "version printed {:?}",
                out.stdout.lines().next().unwrap_or("")
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    fn greeting() -> Vec<u8> {
        let mut payload = vec![0x0a];
        payload.extend_from_slice(b"8.0.33\0");
        payload.extend_from_slice(&[1, 0, 0, 0]);
        payload.extend_from_slice(b"saltsalt\0");
        let mut p = (payload.len() as u32).to_le_bytes()[..3].to_vec();
        p.push(0);
        p.extend(payload);
        p
    }

    async fn serve_once(reply: Option<Vec<u8>>) -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            if let Some(r) = reply {
                let _ = s.write_all(&r).await;
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        port
    }

    #[tokio::test]
    async fn greeting_means_serving() {
        crate::testing::bounded(async {
            let port = serve_once(Some(greeting())).await;
            let p = tokio::time::timeout(Duration::from_secs(5), probe(port))
                .await
                .unwrap();
            assert_eq!(
                p,
                Probe::Serving {
                    version: "8.0.33".into()
                }
            );
        })
        .await
    }

    #[tokio::test]
    async fn err_packet_means_refusing() {
        crate::testing::bounded(async {
            let mut payload = vec![0xff, 0x10, 0x04];
            payload.extend_from_slice(b"#08004Too many connections");
            let mut pkt = (payload.len() as u32).to_le_bytes()[..3].to_vec();
            pkt.push(0);
            pkt.extend(payload);
            let port = serve_once(Some(pkt)).await;
            let p = tokio::time::timeout(Duration::from_secs(5), probe(port))
                .await
                .unwrap();
            assert_eq!(
                p,
                Probe::Refusing {
                    code: 1040,
                    message: "Too many connections".into()
                }
            );
        })
        .await
    }

    #[tokio::test]
    async fn silence_means_wedged_and_nothing_means_down() {
        crate::testing::bounded(async {
            let port = serve_once(None).await;
            let p = tokio::time::timeout(Duration::from_secs(10), probe(port))
                .await
                .unwrap();
            assert!(matches!(p, Probe::Wedged { .. }), "{p:?}");
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let free = l.local_addr().unwrap().port();
            drop(l);
            let p = tokio::time::timeout(Duration::from_secs(5), probe(free))
                .await
                .unwrap();
            assert!(matches!(p, Probe::Down { .. }), "{p:?}");
        })
        .await
    }
}
