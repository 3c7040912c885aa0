"""Shared helpers for the fake stack (gt, dolt, bd, openclaw, claude).

Conventions the Rust tests rely on:
- state lives in $FAKE_STACK_DIR (default $HOME/.fake-stack);
- every invocation appends one JSON line to $FAKE_STACK_DIR/calls.jsonl;
- a fault knob NAME is on when env FAKE_<NAME> is set and non-empty, or the
  file $FAKE_STACK_DIR/faults/<NAME> exists (stripped content is the value,
  empty means "1"); the file form lets a test flip faults while gasclaw runs.
"""

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

RECORDED_ENV = ["GT_ROOT", "GT_TOWN_ROOT", "GT_DOLT_PORT", "BEADS_DIR", "BEADS_DOLT_AUTO_START",
                "OPENCLAW_STATE_DIR", "OPENCLAW_CONFIG_PATH", "HOME"]
SECRET_ENV = ["TELEGRAM_BOT_TOKEN", "GASTOWN_KIMI_KEYS", "OPENCLAW_KIMI_KEY"]


def state_dir():
    d = os.environ.get("FAKE_STACK_DIR") or os.path.join(os.environ.get("HOME", "/tmp"), ".fake-stack")
    os.makedirs(d, exist_ok=True)
    return d


def record_call(prog, argv):
    env = {k: os.environ.get(k) for k in RECORDED_ENV if k in os.environ}
    for k in SECRET_ENV:
        env[k + "_present"] = k in os.environ
    line = json.dumps({"prog": prog, "argv": argv, "cwd": os.getcwd(), "ts": time.time(), "env": env}) + "\n"
    fd = os.open(os.path.join(state_dir(), "calls.jsonl"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def knob(name):
    v = os.environ.get("FAKE_" + name)
    if v:
        return v
    p = os.path.join(state_dir(), "faults", name)
    if os.path.exists(p):
        try:
            with open(p) as f:
                return f.read().strip() or "1"
        except OSError:
            return "1"
    return None


def path_matches(argv, knob_value):
    """Whether the leading non-flag words of argv match one of the
    comma-separated command paths in a knob (`rig add,daemon start`)."""
    if not knob_value:
        return False
    words = []
    for a in argv:
        if a.startswith("-"):
            break
        words.append(a)
    for path in knob_value.split(","):
        parts = path.strip().split()
        if parts and words[:len(parts)] == parts:
            return True
    return False


def slow_for(argv, knob_value):
    """`install=3,rig add=1` -> seconds for the matching path, else 0."""
    if not knob_value:
        return 0.0
    for item in knob_value.split(","):
        if "=" not in item:
            continue
        path, secs = item.rsplit("=", 1)
        if path_matches(argv, path):
            try:
                return float(secs)
            except ValueError:
                return 0.0
    return 0.0


def hang_forever():
    while True:
        time.sleep(3600)


def die(msg, code=1):
    sys.stderr.write(msg.rstrip("\n") + "\n")
    sys.exit(code)


def write_json(path, obj, mode=0o644):
    d = os.path.dirname(path) or "."
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def read_json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def pid_alive(pid):
    if not pid:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
        state = stat[stat.rfind(")") + 2:].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return False


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def spawn_detached(argv, log_path, cwd=None, env=None):
    """Starts a long-running child in its own session; output to a log file,
    never to the caller's pipes."""
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    log = open(log_path, "ab")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=cwd, env=env,
                         start_new_session=True, close_fds=True)
    log.close()
    return p.pid


def stop_pid(pid, wait=5.0):
    """SIGTERM, wait, SIGKILL. Returns whether it was running."""
    if not pid_alive(pid):
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except OSError:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.time() + wait
    while pid_alive(pid) and time.time() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    return True


def mysql_greeting(port, timeout=2.0):
    """'serving' when a protocol-10 greeting arrives on 127.0.0.1:port,
    'refused' when nothing listens, 'other' for a listener that is not a
    MySQL-protocol server (or does not greet)."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError:
        return "refused"
    try:
        s.settimeout(timeout)
        data = b""
        while len(data) < 5:
            chunk = s.recv(5 - len(data))
            if not chunk:
                break
            data += chunk
        return "serving" if len(data) == 5 and data[4] == 0x0a else "other"
    except OSError:
        return "other"
    finally:
        s.close()


def greeting_packet(version="8.0.33-dolt"):
    payload = bytes([0x0a]) + version.encode() + b"\0"
    payload += struct.pack("<I", 7)            # thread id
    payload += b"abcdefgh" + b"\0"             # auth-plugin-data part 1 + filler
    payload += struct.pack("<H", 0xf7ff)       # capability flags (lower)
    payload += bytes([0x21])                   # character set
    payload += struct.pack("<H", 0x0002)       # status flags
    payload += struct.pack("<H", 0x81ff)       # capability flags (upper)
    payload += bytes([21]) + b"\0" * 10        # auth data len + reserved
    payload += b"ijklmnopqrst\0"               # auth-plugin-data part 2
    payload += b"mysql_native_password\0"
    return struct.pack("<I", len(payload))[:3] + b"\x00" + payload


def err_packet(code, state, message):
    payload = bytes([0xff]) + struct.pack("<H", code) + b"#" + state.encode() + message.encode()
    return struct.pack("<I", len(payload))[:3] + b"\x00" + payload


def port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()
