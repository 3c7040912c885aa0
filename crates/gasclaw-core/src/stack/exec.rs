//! The one runner every child process goes through.
//!
//! argv only (never a shell), a timeout per call, the child in its own process
//! group that is killed whole on timeout or when the caller's future is
//! dropped, bounded captured output, secrets redacted from everything returned
//! or logged, gasclaw's own secret variables removed from every child's
//! environment (and, per program, the variables that program would pass on
//! where they do harm), and a missing program reported by name.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use crate::config::users::StackUser;

/// How much of each stream is kept; the rest is read and dropped so the
/// child never blocks on a full pipe.
pub const MAX_CAPTURE: usize = 256 * 1024;

/// After the child exits, how long to keep reading pipes that a detached
/// grandchild may still hold open.
const PIPE_GRACE: Duration = Duration::from_millis(300);

/// Replaces every known secret with `[redacted]`.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Arc<Vec<SecretString>>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    pub fn new(secrets: Vec<SecretString>) -> Redactor {
        let mut s: Vec<SecretString> = secrets
            .into_iter()
            .filter(|s| s.expose_secret().len() >= 4)
            .collect();
        // Longest first so a secret containing another is replaced whole.
        s.sort_by_key(|x| std::cmp::Reverse(x.expose_secret().len()));
        Redactor {
            secrets: Arc::new(s),
        }
    }

    /// A redactor that also knows `more`.
    pub fn with(&self, more: impl IntoIterator<Item = SecretString>) -> Redactor {
        let mut all: Vec<SecretString> = self.secrets.iter().cloned().collect();
        all.extend(more);
        Redactor::new(all)
    }

    /// Replaces every known secret with its `…abcd` hint (what people see
    /// of a key elsewhere), for text that goes to Telegram.
    pub fn hint(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in self.secrets.iter() {
            let s = s.expose_secret();
            if out.contains(s) {
                out = out.replace(s, &crate::config::hint(s));
            }
        }
        out
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in self.secrets.iter() {
            let s = s.expose_secret();
            if out.contains(s) {
                out = out.replace(s, "[redacted]");
            }
        }
        out
    }
}

/// Why a child process could not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("`{program}` not found on PATH")]
    NotFound { program: String },
    #[error("`{command}` timed out after {}s", after.as_secs())]
    Timeout { command: String, after: Duration },
    #[error("`{program}` could not be started: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}): {message}")]
    Failed {
        command: String,
        status: String,
        message: String,
    },
}

impl ExecError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, ExecError::NotFound { .. })
    }
}

/// One call of an external program.
#[derive(Clone)]
pub struct Invocation {
    program: String,
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    env: Vec<(OsString, OsString)>,
    env_remove: Vec<OsString>,
    timeout: Duration,
}

impl Invocation {
    pub fn new(program: &str, timeout: Duration) -> Invocation {
        Invocation {
            program: program.to_string(),
            args: Vec::new(),
            cwd: None,
            env: Vec::new(),
            env_remove: Vec::new(),
            timeout,
        }
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.args.push(a.as_ref().to_os_string());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Self {
        self.cwd = Some(dir.as_ref().to_path_buf());
        self
    }

    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Self {
        self.env
            .push((k.as_ref().to_os_string(), v.as_ref().to_os_string()));
        self
    }

    pub fn env_remove(mut self, k: impl AsRef<OsStr>) -> Self {
        self.env_remove.push(k.as_ref().to_os_string());
        self
    }

    /// `program arg arg`, for messages (args never hold secrets by design,
    /// and are redacted anyway).
    pub fn display(&self, redactor: &Redactor) -> String {
        let mut s = self.program.clone();
        for a in &self.args {
            s.push(' ');
            s.push_str(&a.to_string_lossy());
        }
        redactor.redact(&s)
    }
}

/// What a finished child printed.
#[derive(Debug, Clone)]
pub struct Output {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    pub command: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    pub fn status_text(&self) -> String {
        match (self.code, self.signal) {
            (Some(c), _) => format!("exit {c}"),
            (None, Some(s)) => format!("killed by signal {s}"),
            _ => "unknown status".into(),
        }
    }

    /// The program's own error: its `Error: …` line if it printed one, else
    /// the last non-empty line of stderr, else of stdout.
    pub fn error_message(&self) -> String {
        let pick = |text: &str| {
            text.lines()
                .map(str::trim)
                .find(|l| l.starts_with("Error:") || l.starts_with("error:"))
                .map(|l| l.to_string())
        };
        let last = |text: &str| {
            text.lines()
                .rev()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(|l| l.to_string())
        };
        pick(&self.stderr)
            .or_else(|| pick(&self.stdout))
            .or_else(|| last(&self.stderr))
            .or_else(|| last(&self.stdout))
            .unwrap_or_else(|| "no output".into())
    }

    /// Turns a non-zero exit into [`ExecError::Failed`].
    pub fn ok(self) -> Result<Output, ExecError> {
        if self.success() {
            Ok(self)
        } else {
            Err(self.into_error())
        }
    }

    /// This output as a failure carrying the program's own message.
    pub fn into_error(self) -> ExecError {
        ExecError::Failed {
            status: self.status_text(),
            message: self.error_message(),
            command: self.command,
        }
    }
}

/// Kills the child's whole process group when dropped (timeout, or the
/// caller gave up on the future), unless disarmed after a normal exit.
struct GroupGuard {
    pgid: Option<Pid>,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            // ESRCH (already gone) is fine.
            let _ = killpg(pgid, Signal::SIGKILL);
        }
    }
}

/// Spawns external programs. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Runner {
    redactor: Redactor,
    /// Variables removed from every child's environment.
    scrub: Arc<Vec<String>>,
    /// Variables removed from one program's environment: `(program, names)`.
    scrub_program: Arc<Vec<(String, Vec<String>)>>,
    /// `STACK_USER`: every child runs under this uid, with its own HOME.
    stack: Option<Arc<StackUser>>,
    /// The seam under the core's unit tests: answers every invocation
    /// instead of spawning a child (see `core::seam_tests`).
    #[cfg(test)]
    script: Option<Arc<dyn Script>>,
}

/// Plays the stack's programs for the core's unit tests: gets each
/// invocation's argv (`[program, args…]`) and answers as the program would.
#[cfg(test)]
pub trait Script: Send + Sync {
    fn answer(&self, argv: &[String]) -> Result<Output, ExecError>;
}

#[cfg(test)]
impl<F> Script for F
where
    F: Fn(&[String]) -> Result<Output, ExecError> + Send + Sync,
{
    fn answer(&self, argv: &[String]) -> Result<Output, ExecError> {
        self(argv)
    }
}

#[cfg(test)]
impl fmt::Debug for dyn Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Script")
    }
}

#[cfg(test)]
impl Output {
    /// What a scripted program answers: exit `code`, `stdout`.
    pub fn scripted(code: i32, stdout: &str) -> Output {
        Output {
            code: Some(code),
            signal: None,
            stdout: stdout.to_string(),
            stderr: if code == 0 {
                String::new()
            } else {
                stdout.to_string()
            },
            elapsed: Duration::ZERO,
            command: String::new(),
        }
    }
}

impl Runner {
    pub fn new(redactor: Redactor, scrub: &[&str]) -> Runner {
        Runner {
            redactor,
            scrub: Arc::new(scrub.iter().map(|s| s.to_string()).collect()),
            scrub_program: Arc::default(),
            stack: None,
            #[cfg(test)]
            script: None,
        }
    }

    /// Runs every child as `user` (uid, gid, no supplementary groups),
    /// with `HOME` (and, when no cwd is given, the working directory) at
    /// its home: gasclaw's own uid, files and memory stay out of reach.
    pub fn run_as(mut self, user: StackUser) -> Runner {
        self.stack = Some(Arc::new(user));
        self
    }

    /// Whether children run as root (agents then need `IS_SANDBOX=1`).
    pub fn children_run_as_root(&self) -> bool {
        match &self.stack {
            Some(s) => s.id.uid == 0,
            None => nix::unistd::geteuid().is_root(),
        }
    }

    /// Gives `path` (not what a symlink points to) to the stack's user; a
    /// no-op without `STACK_USER`. What gasclaw writes for the stack must
    /// be the stack's to read and rewrite.
    pub fn hand_over(&self, path: &Path) -> std::io::Result<()> {
        match &self.stack {
            Some(s) => std::os::unix::fs::lchown(path, Some(s.id.uid), Some(s.id.gid)),
            None => Ok(()),
        }
    }

    /// [`Runner::hand_over`] for `root` and everything below it (symlinks
    /// are not followed).
    pub fn hand_over_tree(&self, root: &Path) -> std::io::Result<()> {
        if self.stack.is_none() {
            return Ok(());
        }
        self.hand_over(root)?;
        if std::fs::symlink_metadata(root)?.is_dir() {
            for entry in std::fs::read_dir(root)? {
                self.hand_over_tree(&entry?.path())?;
            }
        }
        Ok(())
    }

    /// A runner whose children are played by `script` (unit tests).
    #[cfg(test)]
    pub fn scripted(mut self, script: Arc<dyn Script>) -> Runner {
        self.script = Some(script);
        self
    }

    #[cfg(test)]
    fn played(&self, inv: &Invocation) -> Option<Result<Output, ExecError>> {
        let script = self.script.as_ref()?;
        let mut argv = vec![inv.program.clone()];
        argv.extend(inv.args.iter().map(|a| a.to_string_lossy().into_owned()));
        Some(script.answer(&argv).map(|mut o| {
            o.command = inv.display(&self.redactor);
            o
        }))
    }

    /// Also removes `vars` from the environment of every `program` child.
    pub fn scrub_for(mut self, program: &str, vars: &[&str]) -> Runner {
        let mut all: Vec<(String, Vec<String>)> = self.scrub_program.as_ref().clone();
        all.push((
            program.to_string(),
            vars.iter().map(|v| v.to_string()).collect(),
        ));
        self.scrub_program = Arc::new(all);
        self
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Finds `program` on PATH.
    pub fn which(&self, program: &str) -> Result<PathBuf, ExecError> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        which::which_in(program, Some(path), cwd).map_err(|_| ExecError::NotFound {
            program: program.to_string(),
        })
    }

    fn command(&self, inv: &Invocation) -> Result<Command, ExecError> {
        let exe = self.which(&inv.program)?;
        let mut cmd = Command::new(exe);
        cmd.args(&inv.args);
        for k in self.scrub.iter() {
            cmd.env_remove(k);
        }
        for (_, vars) in self.scrub_program.iter().filter(|(p, _)| *p == inv.program) {
            for k in vars {
                cmd.env_remove(k);
            }
        }
        for k in &inv.env_remove {
            cmd.env_remove(k);
        }
        if let Some(s) = &self.stack {
            // std drops the supplementary groups before setuid; with every
            // uid changed and keep-caps off the child holds no capability.
            cmd.uid(s.id.uid).gid(s.id.gid).env("HOME", &s.home);
            match &s.id.name {
                Some(n) => {
                    cmd.env("USER", n).env("LOGNAME", n);
                }
                None => {
                    cmd.env_remove("USER").env_remove("LOGNAME");
                }
            }
            if inv.cwd.is_none() {
                cmd.current_dir(&s.home);
            }
        }
        for (k, v) in &inv.env {
            cmd.env(k, v);
        }
        if let Some(dir) = &inv.cwd {
            cmd.current_dir(dir);
        }
        Ok(cmd)
    }

    /// Runs to completion (any exit code) within the invocation's timeout.
    pub async fn run(&self, inv: &Invocation) -> Result<Output, ExecError> {
        #[cfg(test)]
        if let Some(answer) = self.played(inv) {
            return answer;
        }
        let shown = inv.display(&self.redactor);
        let mut cmd = self.command(inv)?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let started = Instant::now();
        tracing::debug!(command = %shown, "running");
        let mut child = cmd.spawn().map_err(|e| ExecError::Spawn {
            program: inv.program.clone(),
            source: e,
        })?;
        let mut guard = GroupGuard {
            pgid: child.id().map(|id| Pid::from_raw(id as i32)),
        };
        let out_task = spawn_reader(child.stdout.take());
        let err_task = spawn_reader(child.stderr.take());
        let status = match tokio::time::timeout(inv.timeout, child.wait()).await {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => {
                return Err(ExecError::Spawn {
                    program: inv.program.clone(),
                    source: e,
                });
            }
            Err(_) => {
                out_task.1.abort();
                err_task.1.abort();
                tracing::warn!(command = %shown, timeout_s = inv.timeout.as_secs(), "timed out; killing its process group");
                // The guard kills the whole group on return.
                return Err(ExecError::Timeout {
                    command: shown,
                    after: inv.timeout,
                });
            }
        };
        // A normal exit disarms the guard: programs such as `gt daemon start`
        // leave their long-lived children behind on purpose.
        guard.pgid = None;
        let stdout = finish_reader(out_task).await;
        let stderr = finish_reader(err_task).await;
        let output = Output {
            code: status.code(),
            signal: std::os::unix::process::ExitStatusExt::signal(&status),
            stdout: self.redactor.redact(&stdout),
            stderr: self.redactor.redact(&stderr),
            elapsed: started.elapsed(),
            command: shown,
        };
        tracing::debug!(command = %output.command, status = %output.status_text(), elapsed_ms = output.elapsed.as_millis() as u64, "finished");
        Ok(output)
    }

    /// Runs and requires exit 0; the error carries the program's own message.
    pub async fn run_ok(&self, inv: &Invocation) -> Result<Output, ExecError> {
        self.run(inv).await?.ok()
    }

    /// Starts a long-running program in its own process group, detached from
    /// gasclaw's lifetime, output appended to `log`. Returns its pid.
    pub fn spawn_detached(&self, inv: &Invocation, log: &Path) -> Result<u32, ExecError> {
        #[cfg(test)]
        if let Some(answer) = self.played(inv) {
            // A played long-running program "runs" as this process.
            return answer.map(|_| std::process::id());
        }
        let mut cmd = self.command(inv)?;
        let spawn_err = |e| ExecError::Spawn {
            program: inv.program.clone(),
            source: e,
        };
        let file = crate::fsutil::open_append(log, 0o600).map_err(spawn_err)?;
        let file2 = file.try_clone().map_err(spawn_err)?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(file2))
            .process_group(0)
            .kill_on_drop(false);
        let mut child = cmd.spawn().map_err(spawn_err)?;
        let pid = child.id().unwrap_or(0);
        tracing::info!(command = %inv.display(&self.redactor), pid, "started detached");
        // Reap it when it exits while we are alive, so it never lingers as a
        // zombie that still looks like a live pid.
        tokio::spawn(async move {
            let _ = child.wait().await;
        });
        Ok(pid)
    }
}

/// Output read so far, kept even when the reader is abandoned.
type Captured = Arc<std::sync::Mutex<Vec<u8>>>;

fn spawn_reader<R: AsyncRead + Unpin + Send + 'static>(
    r: Option<R>,
) -> (Captured, tokio::task::JoinHandle<()>) {
    let kept: Captured = Arc::default();
    let sink = kept.clone();
    let task = tokio::spawn(async move {
        let Some(mut r) = r else { return };
        let mut buf = [0u8; 8192];
        loop {
            match r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Ok(mut k) = sink.lock() {
                        let room = MAX_CAPTURE.saturating_sub(k.len());
                        k.extend_from_slice(&buf[..n.min(room)]);
                    }
                }
            }
        }
    });
    (kept, task)
}

/// Waits briefly for the pipe to close, then takes what was read.
async fn finish_reader((kept, task): (Captured, tokio::task::JoinHandle<()>)) -> String {
    let abort = task.abort_handle();
    if tokio::time::timeout(PIPE_GRACE, task).await.is_err() {
        abort.abort();
    }
    let bytes = kept.lock().map(|k| k.clone()).unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Whether `pid` is a live (non-zombie) process.
pub fn pid_alive(pid: u32) -> bool {
    if pid == 0 {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state letter follows the parenthesised command name.
        Ok(stat) => match stat.rfind(')') {
            Some(i) => !matches!(stat[i + 1..].trim_start().chars().next(), Some('Z' | 'X')),
            None => false,
        },
        Err(_) => false,
    }
}

/// The command line of `pid`, for checking a pid file still names our child.
pub fn pid_cmdline(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Sends `sig` to the process group led by `pid`.
pub fn signal_group(pid: u32, sig: Signal) -> bool {
    killpg(Pid::from_raw(pid as i32), sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runner() -> Runner {
        Runner::new(
            Redactor::new(vec![SecretString::from("sk-super-secret")]),
            &["GASCLAW_TEST_SECRET"],
        )
    }

    #[tokio::test]
    async fn captures_output_and_exit_code() {
        crate::testing::bounded(async {
            let r = runner();
            let out = r
                .run(
                    &Invocation::new("sh", Duration::from_secs(5))
                        .args(["-c", "echo out; echo 'Error: boom' >&2; exit 3"]),
                )
                .await
                .unwrap();
            assert_eq!(out.code, Some(3));
            assert_eq!(out.stdout.trim(), "out");
            assert_eq!(out.error_message(), "Error: boom");
            let err = out.ok().unwrap_err();
            assert_eq!(
                err.to_string(),
                "`sh -c echo out; echo 'Error: boom' >&2; exit 3` failed (exit 3): Error: boom"
            );
        })
        .await
    }

    #[tokio::test]
    async fn missing_program_is_named() {
        crate::testing::bounded(async {
            let err = runner()
                .run(&Invocation::new(
                    "gt-does-not-exist",
                    Duration::from_secs(1),
                ))
                .await
                .unwrap_err();
            assert_eq!(err.to_string(), "`gt-does-not-exist` not found on PATH");
        })
        .await
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_group() {
        crate::testing::bounded(async {
            let dir = tempfile::tempdir().unwrap();
            let pidfile = dir.path().join("grandchild.pid");
            let script = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
            let err = tokio::time::timeout(
                Duration::from_secs(10),
                runner()
                    .run(&Invocation::new("sh", Duration::from_millis(500)).args(["-c", &script])),
            )
            .await
            .unwrap()
            .unwrap_err();
            assert!(matches!(err, ExecError::Timeout { .. }), "{err}");
            let pid: u32 = std::fs::read_to_string(&pidfile)
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            // SIGKILL is asynchronous; give the kernel a moment.
            for _ in 0..50 {
                if !pid_alive(pid) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert!(!pid_alive(pid), "grandchild {pid} survived the timeout");
        })
        .await
    }

    #[tokio::test]
    async fn secrets_are_redacted_and_explicit_env_applies() {
        crate::testing::bounded(async {
            // SAFETY-free: the variable is only read by the child we spawn.
            let out = runner()
                .run(
                    &Invocation::new("sh", Duration::from_secs(5))
                        .args([
                            "-c",
                            "echo key=sk-super-secret; echo scrub=${GASCLAW_TEST_SECRET:-gone}",
                        ])
                        .env("GASCLAW_TEST_SECRET", "present"),
                )
                .await
                .unwrap();
            assert!(out.stdout.contains("key=[redacted]"));
            // Invocation env is applied after the scrub, so explicit env wins;
            // inherited values are what the scrub removes.
            assert!(out.stdout.contains("scrub=present"));
        })
        .await
    }

    #[test]
    fn a_program_scrub_applies_to_that_program_only() {
        let r = runner().scrub_for("sh", &["ANTHROPIC_API_KEY", "BD_JSON_ENVELOPE"]);
        let removed = |program: &str| -> Vec<String> {
            let cmd = r
                .command(&Invocation::new(program, Duration::from_secs(1)))
                .unwrap();
            cmd.as_std()
                .get_envs()
                .filter(|(_, v)| v.is_none())
                .map(|(k, _)| k.to_string_lossy().into_owned())
                .collect()
        };
        let sh = removed("sh");
        assert!(sh.contains(&"ANTHROPIC_API_KEY".to_string()), "{sh:?}");
        assert!(sh.contains(&"BD_JSON_ENVELOPE".to_string()), "{sh:?}");
        assert!(sh.contains(&"GASCLAW_TEST_SECRET".to_string()), "{sh:?}");
        let env = removed("env");
        assert!(!env.contains(&"ANTHROPIC_API_KEY".to_string()), "{env:?}");
        assert!(env.contains(&"GASCLAW_TEST_SECRET".to_string()), "{env:?}");
    }

    #[test]
    fn a_stack_user_gets_its_home_and_cwd_and_no_name_of_gasclaws() {
        use crate::config::users::{Identity, StackUser};
        let r = runner().run_as(StackUser {
            id: Identity {
                uid: 4261,
                gid: 4261,
                name: None,
                home: None,
            },
            home: PathBuf::from("/srv/agent"),
        });
        let env_of = |inv: &Invocation| -> Vec<(String, Option<String>)> {
            let cmd = r.command(inv).unwrap();
            cmd.as_std()
                .get_envs()
                .map(|(k, v)| {
                    (
                        k.to_string_lossy().into_owned(),
                        v.map(|v| v.to_string_lossy().into_owned()),
                    )
                })
                .collect()
        };
        let inv = Invocation::new("sh", Duration::from_secs(1));
        let env = env_of(&inv);
        assert!(env.contains(&("HOME".into(), Some("/srv/agent".into()))));
        assert!(env.contains(&("USER".into(), None)), "{env:?}");
        assert!(env.contains(&("LOGNAME".into(), None)), "{env:?}");
        let cwd = |inv: &Invocation| {
            r.command(inv)
                .unwrap()
                .as_std()
                .get_current_dir()
                .map(Path::to_path_buf)
        };
        assert_eq!(cwd(&inv), Some(PathBuf::from("/srv/agent")));
        assert_eq!(cwd(&inv.clone().cwd("/town")), Some(PathBuf::from("/town")));
        assert!(!r.children_run_as_root());
        // Without a stack user, hand-overs change nothing.
        let dir = tempfile::tempdir().unwrap();
        runner().hand_over_tree(dir.path()).unwrap();
    }

    #[tokio::test]
    async fn output_is_bounded() {
        crate::testing::bounded(async {
            let out = runner()
                .run(
                    &Invocation::new("sh", Duration::from_secs(10))
                        .args(["-c", "head -c 2000000 /dev/zero | tr '\\0' x"]),
                )
                .await
                .unwrap();
            assert!(out.success());
            assert_eq!(out.stdout.len(), MAX_CAPTURE);
        })
        .await
    }

    #[tokio::test]
    async fn detached_grandchild_holding_the_pipe_does_not_hang() {
        crate::testing::bounded(async {
            let out = tokio::time::timeout(
                Duration::from_secs(5),
                runner().run(
                    &Invocation::new("sh", Duration::from_secs(5))
                        .args(["-c", "setsid sleep 3 & echo started"]),
                ),
            )
            .await
            .unwrap()
            .unwrap();
            assert!(out.stdout.contains("started"));
        })
        .await
    }
}
