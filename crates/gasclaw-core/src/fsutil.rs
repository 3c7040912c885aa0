//! Small filesystem helpers shared by every module that persists state.
//!
//! State and config files are replaced atomically (temp file in the same
//! directory, fsync, rename, fsync of the directory) so a crash never leaves a
//! half-written file, and files that hold secrets are created with mode 0600
//! from the start (never chmod-ed after the secret is already on disk).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode for files that hold a secret (keys, tokens, config with credentials).
pub const SECRET_MODE: u32 = 0o600;
/// Mode for ordinary files.
pub const PUBLIC_MODE: u32 = 0o644;

/// Atomically replaces `path` with `contents`, creating parent directories.
///
/// The temporary file is created with `mode` before any byte is written, so a
/// secret is never readable by others even for an instant.
pub fn atomic_write(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .permissions(fs::Permissions::from_mode(mode))
        .tempfile_in(dir)?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // The rename is durable only once the directory entry is on disk.
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// Writes `contents` only when the file does not already hold exactly these
/// bytes with this mode. Returns whether anything changed, so idempotent steps
/// can say "already in place".
pub fn write_if_changed(path: &Path, contents: &[u8], mode: u32) -> io::Result<bool> {
    if let Ok(existing) = fs::read(path)
        && existing == contents
        && fs::metadata(path)?.permissions().mode() & 0o777 == mode
    {
        return Ok(false);
    }
    atomic_write(path, contents, mode)?;
    Ok(true)
}

/// Writes `value` as pretty JSON unless the file already holds an equal JSON
/// value with this mode. Comparing values rather than bytes matters for files
/// other programs rewrite in their own formatting (Claude Code's
/// `.claude.json`, OpenClaw's `openclaw.json` after doctor): reformatting is
/// not a change. Returns whether anything was written.
pub fn write_json_if_changed(
    path: &Path,
    value: &serde_json::Value,
    mode: u32,
) -> io::Result<bool> {
    if let Ok(text) = fs::read_to_string(path)
        && serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|v| &v == value)
        && fs::metadata(path)?.permissions().mode() & 0o777 == mode
    {
        return Ok(false);
    }
    let mut text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
    text.push('\n');
    atomic_write(path, text.as_bytes(), mode)?;
    Ok(true)
}

/// Creates a directory (and parents) and sets its mode.
pub fn ensure_dir(path: &Path, mode: u32) -> io::Result<()> {
    fs::create_dir_all(path)?;
    let perms = fs::metadata(path)?.permissions();
    if perms.mode() & 0o777 != mode {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// Opens `path` for appending, creating it with `mode` (used for audit logs).
pub fn open_append(path: &Path, mode: u32) -> io::Result<File> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(mode)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_creates_with_mode_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/secret.json");
        atomic_write(&p, b"one", SECRET_MODE).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"one");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        atomic_write(&p, b"two", SECRET_MODE).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        // no temp files left behind
        let leftovers: Vec<_> = fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1);
    }

    #[test]
    fn json_reformatting_is_not_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.json");
        let v = serde_json::json!({"a": 1, "b": [1, 2]});
        assert!(write_json_if_changed(&p, &v, SECRET_MODE).unwrap());
        fs::write(&p, r#"{"b":[1,2],   "a":1}"#).unwrap();
        assert!(!write_json_if_changed(&p, &v, SECRET_MODE).unwrap());
        assert!(write_json_if_changed(&p, &serde_json::json!({"a": 2}), SECRET_MODE).unwrap());
    }

    #[test]
    fn write_if_changed_reports_changes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        assert!(write_if_changed(&p, b"x", PUBLIC_MODE).unwrap());
        assert!(!write_if_changed(&p, b"x", PUBLIC_MODE).unwrap());
        assert!(write_if_changed(&p, b"x", SECRET_MODE).unwrap());
        assert!(write_if_changed(&p, b"y", SECRET_MODE).unwrap());
    }
}
