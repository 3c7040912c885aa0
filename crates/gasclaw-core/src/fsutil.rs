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

/// Makes sure `path` is a private directory: created 0700 when missing; an
/// existing one is never chmod-ed (it may be `/tmp` or someone's home), and
/// one that others may write to is refused: they could plant or swap the
/// state and token files inside it.
pub fn ensure_private_dir(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match fs::metadata(path) {
        Ok(m) if !m.is_dir() => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a directory", path.display()),
        )),
        Ok(m) if m.permissions().mode() & 0o022 != 0 => Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is writable by other users (mode {:o}); use a private directory (chmod 700, or a path that does not exist yet and gasclaw creates 0700)",
                path.display(),
                m.permissions().mode() & 0o7777
            ),
        )),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::DirBuilder::new().mode(0o700).create(path)?;
            // The umask may have taken bits away; never added any.
            fs::set_permissions(path, fs::Permissions::from_mode(0o700))
        }
        Err(e) => Err(e),
    }
}

/// Keeps an append-only log bounded: when it is larger than `max` bytes,
/// its content moves to `<name>.1` (replacing the previous one) and the
/// file is truncated in place, so a process still appending to it (with
/// `O_APPEND`, as every log here is opened) carries on at its new end.
/// Returns whether it rotated.
pub fn rotate_log(path: &Path, max: u64) -> io::Result<bool> {
    let len = match fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if len <= max {
        return Ok(false);
    }
    let mut old = path.as_os_str().to_owned();
    old.push(".1");
    let old = std::path::PathBuf::from(old);
    let mut src = File::open(path)?;
    let mut dst = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&old)?;
    io::copy(&mut src, &mut dst)?;
    OpenOptions::new().write(true).open(path)?.set_len(0)?;
    Ok(true)
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
    fn a_private_dir_is_created_0700_and_a_shared_one_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/home");
        ensure_private_dir(&p).unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let shared = dir.path().join("shared");
        fs::create_dir(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
        let e = ensure_private_dir(&shared).unwrap_err().to_string();
        assert!(e.contains("writable by other users (mode 1777)"), "{e}");
        assert_eq!(
            fs::metadata(&shared).unwrap().permissions().mode() & 0o7777,
            0o1777,
            "never chmod-ed"
        );
        // A readable but private-enough existing directory is used as is.
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o755)).unwrap();
        ensure_private_dir(&shared).unwrap();
        assert_eq!(
            fs::metadata(&shared).unwrap().permissions().mode() & 0o777,
            0o755
        );
    }

    #[test]
    fn a_log_past_its_cap_is_rotated_and_the_writer_carries_on() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("gateway.log");
        let mut writer = open_append(&p, 0o600).unwrap();
        writer.write_all(&[b'x'; 2000]).unwrap();
        assert!(!rotate_log(&p, 4096).unwrap());
        writer.write_all(&[b'y'; 3000]).unwrap();
        assert!(rotate_log(&p, 4096).unwrap());
        assert_eq!(fs::metadata(&p).unwrap().len(), 0);
        assert_eq!(
            fs::metadata(dir.path().join("gateway.log.1"))
                .unwrap()
                .len(),
            5000
        );
        writer.write_all(b"after\n").unwrap();
        assert_eq!(
            fs::read(&p).unwrap(),
            b"after\n",
            "appends at the new end, no hole"
        );
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
