"""Shared helpers for the fake stack (gt, dolt, bd, openclaw, claude).

Conventions the Rust tests rely on (see ../README.md):
- state lives in $FAKE_STACK_DIR (default $HOME/.fake-stack), created on demand;
- every invocation of every fake appends one JSON line to
  $FAKE_STACK_DIR/calls.jsonl (O_APPEND, one write);
- a fault knob NAME is active when env FAKE_<NAME> is set and non-empty, or
  the file $FAKE_STACK_DIR/faults/<NAME> exists (its stripped content is the
  value, empty content means "1"); the file form lets a test flip a fault
  while gasclaw (and the fakes' long-running servers) run;
- command-path knobs hold a comma-separated list of space-joined command
  paths (`rig add,daemon start`) matched on the leading non-flag words.

Keep this module cheap to import: the fakes are started hundreds of times.
"""

import datetime
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

# Emoji and box characters must print whatever the caller's locale is.
for _stream in (sys.stdout, sys.stderr):
    try:
        if (_stream.encoding or "").lower().replace("-", "") != "utf8":
            _stream.reconfigure(encoding="utf-8", errors="replace")
    except (AttributeError, ValueError):
        pass

RECORDED_ENV = ("GT_ROOT", "BEADS_DIR", "BEADS_DOLT_AUTO_START", "OPENCLAW_STATE_DIR", "HOME")
SECRET_ENV = ("TELEGRAM_BOT_TOKEN", "GASTOWN_KIMI_KEYS", "OPENCLAW_KIMI_KEY")


# ---------------------------------------------------------------- state, log, knobs

def state_dir():
    d = os.environ.get("FAKE_STACK_DIR") or os.path.join(os.environ.get("HOME") or "/tmp", ".fake-stack")
    try:
        os.makedirs(d, exist_ok=True)
    except OSError:
        pass
    return d


def append_line(path, obj):
    """Appends one JSON line with a single O_APPEND write (safe across processes)."""
    line = (json.dumps(obj, ensure_ascii=False) + "\n").encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError:
        return
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def record_call(prog, argv):
    env = {k: os.environ.get(k) for k in RECORDED_ENV}
    for k in SECRET_ENV:
        env[k + "_present"] = k in os.environ
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = None
    append_line(os.path.join(state_dir(), "calls.jsonl"),
                {"prog": prog, "argv": list(argv), "cwd": cwd, "ts": time.time(), "env": env})


def knob(name):
    """The knob's value (a non-empty string) or None."""
    v = os.environ.get("FAKE_" + name)
    if v:
        return v
    p = os.path.join(state_dir(), "faults", name)
    try:
        with open(p) as f:
            return f.read().strip() or "1"
    except FileNotFoundError:
        return None
    except OSError:
        return "1" if os.path.exists(p) else None


def knob_float(name, default=0.0):
    v = knob(name)
    if v is None:
        return default
    try:
        return float(v)
    except ValueError:
        return default


def command_words(argv):
    words = []
    for a in argv:
        if a.startswith("-"):
            break
        words.append(a)
    return words


def path_matches(words, knob_value):
    """Whether command words (`["rig", "add", "project", …]`) start with one
    of the comma-separated space-joined paths in a knob value."""
    if not knob_value:
        return False
    for path in knob_value.split(","):
        parts = path.split()
        if parts and words[:len(parts)] == parts:
            return True
    return False


def matching_path(words, knob_value):
    """The first path of the knob that matches, or None."""
    if not knob_value:
        return None
    for path in knob_value.split(","):
        parts = path.split()
        if parts and words[:len(parts)] == parts:
            return " ".join(parts)
    return None


def slow_for(words, knob_value):
    """`install=3,rig add=1.5` -> seconds for the matching path, else 0."""
    if not knob_value:
        return 0.0
    for item in knob_value.split(","):
        if "=" not in item:
            continue
        path, secs = item.rsplit("=", 1)
        if path_matches(words, path):
            try:
                return float(secs)
            except ValueError:
                return 0.0
    return 0.0


def hang_forever():
    """Blocks until killed (default signal dispositions: SIGTERM/SIGKILL end it)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while True:
        time.sleep(3600)


def die(msg, code=1):
    try:
        sys.stdout.flush()
    except Exception:
        pass
    sys.stderr.write(msg.rstrip("\n") + "\n")
    sys.stderr.flush()
    sys.exit(code)


# ---------------------------------------------------------------- files

def write_json(path, obj, mode=None, indent=2):
    """Atomic JSON write. mode None keeps an existing file's mode (else 0644)."""
    write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n", mode)


def write_text(path, text, mode=None):
    """Atomic text write. mode None keeps an existing file's mode (else 0644)."""
    d = os.path.dirname(path) or "."
    os.makedirs(d, exist_ok=True)
    if mode is None:
        try:
            mode = os.stat(path).st_mode & 0o777
        except OSError:
            mode = 0o644
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def read_text(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def tail_lines(path, n=1):
    lines = [l.rstrip() for l in read_text(path).splitlines() if l.strip()]
    return lines[-n:]


# ---------------------------------------------------------------- time

def rfc3339(dt=None, nanos=True):
    """Go's time.RFC3339Nano style: UTC as Z, trailing fraction zeros kept
    when nanos (bd always prints 9 digits)."""
    dt = dt or datetime.datetime.now(datetime.timezone.utc)
    dt = dt.astimezone(datetime.timezone.utc)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if nanos:
        base += ".%06d000" % dt.microsecond
    return base + "Z"


def go_time(dt=None):
    """Go's default JSON encoding of time.Time (RFC3339Nano, trailing zeros trimmed)."""
    dt = (dt or datetime.datetime.now(datetime.timezone.utc)).astimezone(datetime.timezone.utc)
    s = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        s += ("." + "%06d" % dt.microsecond).rstrip("0")
    return s + "Z"


def parse_time(s):
    try:
        s = s.replace("Z", "+00:00")
        if "." in s:
            head, rest = s.split(".", 1)
            frac = ""
            tz = ""
            for i, ch in enumerate(rest):
                if not ch.isdigit():
                    frac, tz = rest[:i], rest[i:]
                    break
            else:
                frac = rest
            s = head + "." + frac[:6].ljust(6, "0") + tz
        return datetime.datetime.fromisoformat(s)
    except (ValueError, AttributeError):
        return None


# ---------------------------------------------------------------- processes

def pid_alive(pid):
    if not pid or pid <= 0:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
        state = stat[stat.rfind(")") + 2:].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return False


def pid_environ(pid):
    """The process environment as a dict, or None when unreadable."""
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            raw = f.read()
    except OSError:
        return None
    env = {}
    for kv in raw.split(b"\0"):
        if b"=" in kv:
            k, v = kv.split(b"=", 1)
            env[k.decode("utf-8", "replace")] = v.decode("utf-8", "replace")
    return env


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def spawn_detached(argv, log_path, cwd=None, env=None, err_path=None):
    """Starts a long-running child in its own session (its own process group);
    stdin from /dev/null, output appended to log files, never the caller's
    pipes. Returns the Popen."""
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    out = open(log_path, "ab")
    err = open(err_path, "ab") if err_path else out
    try:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd, env=env,
                                start_new_session=True, close_fds=True)
    finally:
        out.close()
        if err_path:
            err.close()


def signal_tree(pid, sig):
    """Signals the process group when pid leads one, else the process."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
            return
    except OSError:
        pass
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def stop_pid(pid, wait=5.0, group=True):
    """SIGTERM, wait, then SIGKILL. Returns whether it was running."""
    if not pid_alive(pid):
        return False
    if group:
        signal_tree(pid, signal.SIGTERM)
    else:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.time() + wait
    while pid_alive(pid) and time.time() < deadline:
        time.sleep(0.02)
    if pid_alive(pid):
        signal_tree(pid, signal.SIGKILL)
        deadline = time.time() + 1
        while pid_alive(pid) and time.time() < deadline:
            time.sleep(0.02)
    return True


def set_comm(name):
    """Sets the process name as `ps -o comm`/tmux's pane_current_command see it."""
    try:
        with open("/proc/self/comm", "w") as f:
            f.write(name[:15])
    except OSError:
        pass


def which(prog):
    for d in (os.environ.get("PATH") or "").split(":"):
        p = os.path.join(d or ".", prog)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


# ---------------------------------------------------------------- network / MySQL

def tcp_open(port, timeout=1.0):
    try:
        s = socket.create_connection(("127.0.0.1", int(port)), timeout=timeout)
        s.close()
        return True
    except OSError:
        return False


def port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", int(port)))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port_from(start):
    for p in range(start, start + 100):
        if port_free(p):
            return p
    return 0


def mysql_probe(port, timeout=2.0):
    """Reads the server's first packet on 127.0.0.1:port.
    Returns (state, detail): ("serving", version), ("error", "<code> <message>"),
    ("refused", msg), ("silent", msg) or ("closed", msg)."""
    try:
        s = socket.create_connection(("127.0.0.1", int(port)), timeout=timeout)
    except OSError as e:
        return "refused", "dial tcp 127.0.0.1:%s: connect: %s" % (port, (e.strerror or str(e)).lower())
    try:
        s.settimeout(timeout)
        data = b""
        while len(data) < 4:
            chunk = s.recv(4 - len(data))
            if not chunk:
                return "closed", "connection closed before the greeting"
            data += chunk
        length = data[0] | (data[1] << 8) | (data[2] << 16)
        payload = b""
        while len(payload) < length:
            chunk = s.recv(length - len(payload))
            if not chunk:
                break
            payload += chunk
        if payload[:1] == b"\x0a":
            return "serving", payload[1:].split(b"\0", 1)[0].decode("latin-1")
        if payload[:1] == b"\xff" and len(payload) >= 3:
            code = payload[1] | (payload[2] << 8)
            msg = payload[3:]
            if msg[:1] == b"#":
                msg = msg[6:]
            return "error", "%d %s" % (code, msg.decode("utf-8", "replace"))
        return "closed", "unexpected first packet"
    except socket.timeout:
        return "silent", "no greeting within %gs" % timeout
    except OSError as e:
        return "closed", str(e)
    finally:
        try:
            s.close()
        except OSError:
            pass


def mysql_packet(payload, seq=0):
    return struct.pack("<I", len(payload))[:3] + bytes([seq & 0xff]) + payload


CAPS = 0x00000200 | 0x00008000 | 0x00080000 | 0x00000008 | 0x00000001 | 0x00000004 | 0x00010000 | 0x00020000 \
    | 0x00200000 | 0x00000800 | 0x00002000


def greeting_packet(thread_id, version="8.0.33"):
    """A MySQL HandshakeV10 (what a dolt sql-server sends first)."""
    salt = os.urandom(20)
    salt = bytes((b % 94) + 33 for b in salt)  # printable, no NULs, like MySQL
    payload = b"\x0a" + version.encode() + b"\0"
    payload += struct.pack("<I", thread_id & 0xffffffff)
    payload += salt[:8] + b"\0"
    payload += struct.pack("<H", CAPS & 0xffff)
    payload += bytes([0xff])                       # utf8mb4_0900_ai_ci
    payload += struct.pack("<H", 0x0002)           # SERVER_STATUS_AUTOCOMMIT
    payload += struct.pack("<H", (CAPS >> 16) & 0xffff)
    payload += bytes([21]) + b"\0" * 10
    payload += salt[8:] + b"\0"
    payload += b"mysql_native_password\0"
    return mysql_packet(payload, 0)


def err_packet(code, state, message, seq=0):
    payload = b"\xff" + struct.pack("<H", code) + b"#" + state.encode() + message.encode()
    return mysql_packet(payload, seq)


def ok_packet(seq):
    return mysql_packet(b"\x00\x00\x00\x02\x00\x00\x00", seq)


# ---------------------------------------------------------------- agents' work (gt and bd share it)

def agent_hooks():
    """Knob AGENT_HOOK=<agent-bead>=<hooked-bead>@<age-secs>[@ralph],…: the
    agent bead has work on its hook and was last updated <age> seconds ago
    (`@ralph` adds `mode: ralph` to its description). What gt's GUPP rule
    reads (gastown-work.md §2.1)."""
    hooks = {}
    for part in (knob("AGENT_HOOK") or "").split(","):
        if "=" not in part:
            continue
        agent, rest = part.strip().split("=", 1)
        fields = rest.split("@")
        try:
            age = float(fields[1]) if len(fields) > 1 else 0.0
        except ValueError:
            age = 0.0
        hooks[agent] = {"hook": fields[0], "age": age, "ralph": "ralph" in fields[2:]}
    return hooks


def overlay_agent_hooks(issues):
    """Applies AGENT_HOOK to agent beads as loaded (in place)."""
    hooks = agent_hooks()
    if not hooks:
        return issues
    now = datetime.datetime.now(datetime.timezone.utc)
    for i in issues:
        h = hooks.get(i.get("id"))
        if not h:
            continue
        # Kept so that a bd write does not persist the knob (restore_agent_hooks).
        i["_fake_orig"] = {k: i.get(k) for k in ("hook_bead", "agent_state", "updated_at", "description")}
        i["hook_bead"] = h["hook"]
        i["agent_state"] = "working"
        i["updated_at"] = rfc3339(now - datetime.timedelta(seconds=h["age"]))
        if h["ralph"] and "mode: ralph" not in (i.get("description") or ""):
            i["description"] = ((i.get("description") or "") + "\nmode: ralph").strip()
    return issues


def restore_agent_hooks(issues):
    """Undoes overlay_agent_hooks before a write (returns new dicts)."""
    out = []
    for i in issues:
        orig = i.get("_fake_orig")
        if orig is None:
            out.append(i)
            continue
        i = {k: v for k, v in i.items() if k != "_fake_orig"}
        for k, v in orig.items():
            if v is None:
                i.pop(k, None)
            else:
                i[k] = v
        out.append(i)
    return out
