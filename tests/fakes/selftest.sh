#!/usr/bin/env bash
# End-to-end self-test of the fake stack (gt, dolt, bd, openclaw, claude) in a
# temporary HOME. Exits non-zero on any mismatch. Usage: tests/fakes/selftest.sh [-v]
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VERBOSE=${1:-}
T=$(mktemp -d /tmp/fakes-selftest.XXXXXX)
for v in GT_ROOT GT_TOWN_ROOT GT_DOLT_PORT BEADS_DIR BEADS_DB BD_DB OPENCLAW_STATE_DIR OPENCLAW_CONFIG_PATH \
         OPENCLAW_GATEWAY_PORT OPENCLAW_GATEWAY_TOKEN ANTHROPIC_BASE_URL ANTHROPIC_API_KEY ANTHROPIC_AUTH_TOKEN \
         ANTHROPIC_MODEL IS_SANDBOX CLAUDE_CONFIG_DIR TELEGRAM_BOT_TOKEN GIT_CONFIG_GLOBAL; do unset "$v"; done
for v in $(env | sed -n 's/^\(FAKE_[A-Z0-9_]*\)=.*/\1/p'); do unset "$v"; done
# Like the Rust harness: the fakes first, then the system directories (faster than a
# pyenv shim); keep the caller's PATH only when the system has no python3.
if [ -x /usr/bin/python3 ] || [ -x /usr/local/bin/python3 ]; then
  export PATH="$HERE/bin:/usr/local/bin:/usr/bin:/bin"
else
  export PATH="$HERE/bin:$PATH"
fi
export HOME="$T/home" FAKE_STACK_DIR="$T/fake-stack" LANG=C.UTF-8
export GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME" "$FAKE_STACK_DIR/faults"
MARK="FAKE_STACK_DIR=$FAKE_STACK_DIR"
FAILS=0
CHECKS=0

ours() {  # pids of live processes carrying this test's marker in their environment
  local p
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = "$$" ] && continue
    if { tr '\0' '\n' <"$p/environ"; } 2>/dev/null | grep -qxF "$MARK"; then
      local st; st=$(awk '{print $3}' "$p/stat" 2>/dev/null)
      [ "$st" = "Z" ] || [ -z "$st" ] || echo "${p#/proc/}"
    fi
  done
}
cleanup() {
  local pids pid
  for sig in TERM KILL; do
    pids=$(ours)
    [ -z "$pids" ] && break
    for pid in $pids; do kill -s "$sig" "$pid" 2>/dev/null; done
    sleep 0.3
  done
  rm -rf "$T"
}
trap cleanup EXIT

ok()   { CHECKS=$((CHECKS + 1)); [ -n "$VERBOSE" ] && echo "ok   $*"; return 0; }
bad()  { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL $*"; [ -n "$VERBOSE" ] && { echo "  rc=$RC"; echo "  out: ${OUT:0:600}"; echo "  err: ${ERR:0:600}"; }; return 0; }
run()  { "$@" >"$T/out" 2>"$T/err" </dev/null; RC=$?; OUT=$(<"$T/out"); ERR=$(<"$T/err"); }
# stdout is a pipe: a detached child that kept it would make this hang (→ rc 124).
runpipe() { OUT=$(timeout 30 "$@" 2>"$T/err" </dev/null); RC=$?; ERR=$(<"$T/err"); }
rc_is()   { [ "$RC" = "$1" ] && ok "$2 (rc $1)" || bad "$2: rc $RC, want $1"; }
has()     { case "$OUT" in *"$1"*) ok "$2";; *) bad "$2: stdout lacks [$1]";; esac; }
hasnt()   { case "$OUT" in *"$1"*) bad "$2: stdout has [$1]";; *) ok "$2";; esac; }
err_has() { case "$ERR" in *"$1"*) ok "$2";; *) bad "$2: stderr lacks [$1]";; esac; }
err_empty() { [ -z "$ERR" ] && ok "$1" || bad "$1: stderr not empty"; }
eq()      { [ "$1" = "$2" ] && ok "$3" || bad "$3: [$1] != [$2]"; }
file_has() { grep -qF -- "$1" "$2" 2>/dev/null && ok "$3" || bad "$3: $2 lacks [$1]"; }
exists()  { [ -e "$1" ] && ok "$2" || bad "$2: missing $1"; }
absent()  { [ -e "$1" ] && bad "$2: unexpected $1" || ok "$2"; }
py()      { python3 -c "import sys; sys.path.insert(0, '$HERE/lib'); import fakestack as fs; $1"; }
free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }
probe()   { py "print(fs.mysql_probe($1, timeout=${2:-2})[0])"; }
alive()   { local st; st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null); [ -n "$st" ] && [ "$st" != "Z" ]; }
jq_py()   { python3 -c "import json,sys; d=json.load(sys.stdin); r=($1,); print('\n'.join(str(x) for x in r))"; }
section() { [ -n "$VERBOSE" ] && echo "== $* ($SECONDS s)"; return 0; }

# ------------------------------------------------------------------ versions, call log, knobs
section versions
run gt version;        eq "$OUT" "gt version 1.2.1 (dev: main@abc1234)" "gt version"
run gt --version;      eq "$OUT" "gt version 1.2.1" "gt --version"
run dolt version;      eq "$OUT" "dolt version 2.3.1" "dolt version"
run bd version;        eq "$OUT" "bd version 1.0.5 (dev)" "bd version"
run openclaw --version; eq "$OUT" "OpenClaw 2026.9.6 (fake)" "openclaw --version"
run claude --version;  eq "$OUT" "2.1.332 (Claude Code)" "claude --version"
TELEGRAM_BOT_TOKEN=secret-token run gt version
last=$(tail -1 "$FAKE_STACK_DIR/calls.jsonl")
echo "$last" | jq_py 'd["prog"], d["argv"], d["env"]["TELEGRAM_BOT_TOKEN_present"], d["env"]["GASTOWN_KIMI_KEYS_present"], "HOME" in d["env"], isinstance(d["ts"], float)' >"$T/x"
eq "$(tr '\n' ' ' <"$T/x")" "gt ['version'] True False True True " "call log line"
grep -q secret-token "$FAKE_STACK_DIR/calls.jsonl" && bad "call log holds a secret" || ok "call log holds no secret"
eq "$(grep -c '"prog": "claude"' "$FAKE_STACK_DIR/calls.jsonl")" "1" "claude is logged too"
mkdir -p "$T/probe-dir"; echo probe >"$T/probe-dir/readable"; : >"$T/probe-dir/.hidden"
printf '%s\n%s\n%s\n' "$T/probe-dir/readable" "$T/probe-dir" "$T/missing" >"$FAKE_STACK_DIR/faults/CLAUDE_PROBE_READ"
claude </dev/null >/dev/null 2>&1 & cpid=$!
for _ in $(seq 100); do [ -f "$FAKE_STACK_DIR/claude-probes.jsonl" ] && [ "$(wc -l <"$FAKE_STACK_DIR/claude-probes.jsonl")" = 3 ] && break; sleep 0.05; done
kill "$cpid"; wait "$cpid" 2>/dev/null
python3 -c "import json; print([(d['ok'], d['error'], d.get('bytes'), d['uid']) for d in map(json.loads, open('$FAKE_STACK_DIR/claude-probes.jsonl'))])" >"$T/x"
eq "$(<"$T/x")" "[(True, None, 6, $(id -u)), (True, None, 2, $(id -u)), (False, 'No such file or directory', None, $(id -u))]" "CLAUDE_PROBE_READ: a file read, a directory listed, a failure named"
rm -f "$FAKE_STACK_DIR/faults/CLAUDE_PROBE_READ" "$FAKE_STACK_DIR/claude-probes.jsonl"
echo "" >"$FAKE_STACK_DIR/faults/GT_SLOW"; py "print(fs.knob('GT_SLOW'))" >"$T/x"; eq "$(<"$T/x")" "1" "empty fault file means 1"
printf ' status=0.4 \n' >"$FAKE_STACK_DIR/faults/GT_SLOW"
py "print(fs.knob('GT_SLOW'))" >"$T/x"; eq "$(<"$T/x")" "status=0.4" "fault file value is stripped"
rm -f "$FAKE_STACK_DIR/faults/GT_SLOW"
FAKE_GT_SLOW= py "print(fs.knob('GT_SLOW'))" >"$T/x"; eq "$(<"$T/x")" "None" "empty env knob is off"

# ------------------------------------------------------------------ outside a town, T3
section "outside a town"
mkdir -p "$T/elsewhere"; cd "$T/elsewhere"
run gt status;  rc_is 1 "status outside a town"; err_has "Error: not in a Gas Town workspace: not in a Gas Town workspace" "not-a-town error"
run gt mayor;   rc_is 1 "gt mayor without subcommand"; err_has "requires a subcommand" "requires a subcommand"
run gt mayor frobnicate; rc_is 1 "unknown subcommand"; err_has 'unknown command "frobnicate" for "gt mayor"' "unknown command text"
run gt config agent set kimi-claude claude; rc_is 0 "gt config outside a town (T3)"
exists "$T/elsewhere/settings/config.json" "T3: config written into the cwd"

# ------------------------------------------------------------------ dolt basics
section dolt
run dolt config --global --get user.name; rc_is 1 "dolt config --get missing"; eq "$OUT" "" "missing key prints nothing"
run dolt sql -q "SELECT 1"; rc_is 0 "bare dolt sql (false positive)"; has "| 1 |" "local-mode table"
run dolt --port 3307 sql -q "SELECT 1"; rc_is 1 "--port without --host"; err_has "The --port flag is only meaningful with the --host flag." "exact --port error"
run dolt sql --port 3307 -q "SELECT 1"; rc_is 1 "dolt sql --port"; err_has "error: unknown option \`port'" "unknown option port"; err_has "SYNOPSIS" "usage block"
DP=$(free_port)
run dolt --host 127.0.0.1 --port "$DP" --no-tls sql -q "SELECT 1"; rc_is 1 "dolt sql against nothing"

# ------------------------------------------------------------------ install: identity, success, re-run, conflicts, T6
section install
cd "$T"
DOLT_PORT=$(free_port)
run gt install "$T/town" --dolt-port "$DOLT_PORT"; rc_is 1 "install without any identity"
err_has "dolt identity setup failed (required for beads): dolt identity not configured and git user.name not available" "identity error"
absent "$T/town/mayor/town.json" "identity failure creates nothing"
git config --global user.name "Fake Op"; git config --global user.email "op@example.org"
runpipe gt install "$T/town" --dolt-port "$DOLT_PORT"; rc_is 0 "install"
has "🏭 Creating Gas Town HQ at $T/town" "install banner"; has "   ✓ Initialized .beads/ (town-level beads with hq- prefix)" "beads initialised"
has "✓ HQ created successfully!" "install success line"
run dolt config --global --get user.name; eq "$OUT" "Fake Op" "identity copied from git into dolt"
for f in mayor/town.json mayor/rigs.json mayor/daemon.json mayor/.claude/settings.json CLAUDE.md AGENTS.md \
         .beads/metadata.json .beads/config.yaml .beads/routes.jsonl .dolt-data/config.yaml daemon/dolt.pid settings; do
  exists "$T/town/$f" "install created $f"
done
absent "$T/town/settings/config.json" "no settings/config.json yet"
eq "$(python3 -c "import json; print(json.load(open('$T/town/mayor/rigs.json')))")" "{'version': 1, 'rigs': {}}" "rigs.json"
file_has "  port: $DOLT_PORT" "$T/town/.dolt-data/config.yaml" "config.yaml listener port"
file_has "issue_prefix: hq" "$T/town/.beads/config.yaml" "hq prefix"
eq "$(probe "$DOLT_PORT")" "serving" "Dolt greets on the town port"
alive "$(cat "$T/town/daemon/dolt.pid")" && ok "dolt.pid is alive" || bad "dolt.pid is not alive"
run gt install "$T/town" --dolt-port "$DOLT_PORT"; rc_is 1 "re-install (T7)"; err_has "Error: directory is already a Gas Town HQ (use --force to reinitialize)" "already a town"
run gt install "$T/town/inner"; rc_is 1 "install inside a town"; err_has "cannot create HQ inside existing Gas Town workspace" "inside-town error"
run gt install "$T/town2" --dolt-port "$DOLT_PORT"; rc_is 0 "install next to a serving Dolt"; has "ℹ Using existing Dolt server on port $DOLT_PORT" "existing Dolt reused"
absent "$T/town2/daemon/dolt.pid" "no second server"
rm -rf "$T/town2"
BUSY=$(free_port)
python3 -c "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1',$BUSY)); s.listen(5); time.sleep(60)" &
LPID=$!; sleep 0.3
run gt install "$T/town3" --dolt-port "$BUSY"; rc_is 1 "install on a port held by a non-Dolt listener"
err_has "Error: Dolt port $BUSY is already in use" "port conflict error"; err_has "--dolt-port" "--dolt-port hint"
kill "$LPID" 2>/dev/null; wait "$LPID" 2>/dev/null
T6P=$(free_port)
FAKE_DOLT_FAIL_START="fatal: disk full" FAKE_GT_INSTALL_BEADS_WAIT=0.5 runpipe gt install "$T/town4" --dolt-port "$T6P"
rc_is 1 "T6 (1.2.1): install exits 1 when Dolt cannot start"; err_has "Error: starting Dolt server for beads: " "T6: starting Dolt error"
exists "$T/town4/mayor/town.json" "T6: partial town left"; absent "$T/town4/.beads/metadata.json" "T6: no beads metadata"
file_has "fatal: disk full" "$T/town4/daemon/dolt.log" "dolt's own error is in daemon/dolt.log"
rm -rf "$T/town4"
mkdir -p "$T/nodolt"; ln -sf "$(command -v python3)" "$T/nodolt/python3"; ln -sf "$(command -v git)" "$T/nodolt/git"
PATH="$T/nodolt" run "$HERE/bin/gt" install "$T/town5"
rc_is 1 "install without dolt"; err_has "Error: dolt is required for gt install with beads enabled" "dolt required"
absent "$T/town5/mayor/town.json" "nothing created without dolt"

# ------------------------------------------------------------------ dolt server and probes
section "dolt server"
run dolt --host 127.0.0.1 --port "$DOLT_PORT" --no-tls sql -q "SELECT 1"; rc_is 0 "dolt sql via --host/--port"
eq "$OUT" $'+---+\n| 1 |\n+---+\n| 1 |\n+---+' "SELECT 1 table"
(cd "$T/town/.dolt-data" && run dolt sql -q "SELECT 1"; eq "$RC" "0" "bare dolt sql next to sql-server.info")
run dolt sql-server -P "$DOLT_PORT"; rc_is 1 "second sql-server on a taken port"; err_has "Port $DOLT_PORT already in use." "port in use text"
for mode in silent close; do
  echo "$mode" >"$FAKE_STACK_DIR/faults/DOLT_GREETING"
  st=$(probe "$DOLT_PORT" 1)
  case $mode in silent) want=silent;; close) want=closed;; esac
  eq "$st" "$want" "DOLT_GREETING=$mode (file knob, live server)"
done
echo close >"$FAKE_STACK_DIR/faults/DOLT_GREETING"
run dolt --host 127.0.0.1 --port "$DOLT_PORT" --no-tls sql -q "SELECT 1"; rc_is 1 "dolt sql against a full server (closed, no packet)"
rm -f "$FAKE_STACK_DIR/faults/DOLT_GREETING"
eq "$(probe "$DOLT_PORT")" "serving" "greeting back after clearing the knob"
SP=$(free_port); mkdir -p "$T/dd"
dolt sql-server -P "$SP" --data-dir "$T/dd" >"$T/dd.log" 2>&1 &
SPID=$!; sleep 0.5
eq "$(probe "$SP")" "serving" "dolt sql-server -P"
file_has "Starting server with Config HP=\"localhost:$SP\"" "$T/dd.log" "startup line"
exists "$T/dd/.dolt/sql-server.info" "sql-server.info written"
kill -TERM "$SPID"; t0=$(date +%s%N); wait "$SPID" 2>/dev/null; dt=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$dt" -lt 1000 ] && ok "sql-server exits on SIGTERM in ${dt}ms" || bad "sql-server took ${dt}ms to exit"
absent "$T/dd/.dolt/sql-server.info" "sql-server.info removed on exit"
FAKE_DOLT_DIE_AFTER=0.5 dolt sql-server -P "$SP" >/dev/null 2>&1 &
SPID=$!; sleep 1.2; alive "$SPID" && bad "DOLT_DIE_AFTER did not kill the server" || ok "DOLT_DIE_AFTER"
wait "$SPID" 2>/dev/null

# ------------------------------------------------------------------ gt dolt
section "gt dolt"
cd "$T/town"
run gt dolt status; rc_is 0 "gt dolt status"; has "● Dolt server is running (PID" "dolt status running"; has "  Port: $DOLT_PORT" "dolt status port"
runpipe gt dolt stop; rc_is 0 "gt dolt stop"; has "✓ Dolt server stopped (was PID" "dolt stop text"
eq "$(probe "$DOLT_PORT" 1)" "refused" "port closed after stop"
run gt dolt stop; rc_is 1 "dolt stop when stopped"; err_has "Error: Dolt server is not running" "not running error"
run gt dolt status; rc_is 0 "dolt status when stopped"; has "○ Dolt server is not running" "dolt status stopped"
runpipe gt dolt start; rc_is 0 "gt dolt start"; has "✓ Dolt server started (PID" "dolt start text"
eq "$(probe "$DOLT_PORT")" "serving" "serving after gt dolt start"

# ------------------------------------------------------------------ rig add
section "rig add"
mkdir -p "$T/project"; git -C "$T/project" init -q -b main
GIT_AUTHOR_DATE="2026-01-02T03:04:05Z" GIT_COMMITTER_DATE="2026-01-02T03:04:05Z" git -C "$T/project" commit -q --allow-empty -m first
run gt rig add project "$T/project"; rc_is 1 "rig add with a plain path"; err_has "invalid git URL \"$T/project\": expected a remote URL" "plain path rejected"
run gt rig add my-rig "file://$T/project"; rc_is 1 "rig name with a hyphen"; err_has 'rig name "my-rig" contains invalid characters' "bad name"
run gt rig add hq "file://$T/project"; rc_is 1 "hq is reserved"; err_has "reserved" "reserved name"
run gt dolt stop
run gt rig add project "file://$T/project"; rc_is 1 "rig add with Dolt down"
err_has "Error: adding rig: Dolt server is not running (required for beads init); start it with 'gt up' or 'gt dolt start'" "Dolt-down error"
run gt dolt start
runpipe gt rig add project "file://$T/project"; rc_is 0 "rig add"; has "✓ Rig created in" "rig created line"; has "Creating rig project..." "rig add header"
exists "$T/town/project/.repo.git/HEAD" "bare clone"; exists "$T/town/project/config.json" "rig config.json"
eq "$(git -C "$T/town/project/mayor/rig" log -1 --format=%s 2>/dev/null)" "first" "mayor/rig clone has the commit"
eq "$(git -C "$T/town/project/refinery/rig" log -1 --format=%s 2>/dev/null)" "first" "refinery/rig clone has the commit"
python3 -c "import json; r=json.load(open('$T/town/mayor/rigs.json'))['rigs']['project']; print(r['git_url'], r['beads']['prefix'])" >"$T/x"
eq "$(<"$T/x")" "file://$T/project pr" "rigs.json entry"
file_has '"prefix": "pr-"' "$T/town/.beads/routes.jsonl" "routes.jsonl entry"
run gt rig add project "file://$T/project"; rc_is 1 "rig add again (T7)"; err_has "Error: adding rig: rig already exists" "rig exists"

# ------------------------------------------------------------------ config agent (T4)
section "config"
run gt config agent set kimi-claude claude; rc_is 0 "config agent set"; eq "$OUT" "Agent 'kimi-claude' set to: claude" "set text"
python3 -c "import json; a=json.load(open('$T/town/settings/config.json'))['agents']['kimi-claude']; print(a)" >"$T/x"
eq "$(<"$T/x")" "{'provider': 'claude', 'command': 'claude', 'args': []}" "T4: args [] stored"
run gt config agent list --json; rc_is 0 "agent list --json"
echo "$OUT" | jq_py '[ (a["name"], a["type"], a["is_custom"]) for a in d if a["name"] in ("claude", "kimi-claude")]' >"$T/x"
eq "$(<"$T/x")" "[('claude', 'built-in', False), ('kimi-claude', 'custom', True)]" "agent list entries"
echo "$OUT" | jq_py '[a["name"] for a in d] == sorted(a["name"] for a in d)' >"$T/x"; eq "$(<"$T/x")" "True" "agent list sorted"
run gt config default-agent; eq "$OUT" "Default agent: claude" "default agent"
run gt config default-agent kimi-claude; rc_is 0 "set default agent"; eq "$OUT" "Default agent set to 'kimi-claude'" "set default text"
run gt config default-agent nope; rc_is 1 "unknown default agent"; err_has "Error: agent 'nope' not found (use 'gt config default-agent list' to see available agents)" "unknown agent error"
python3 - "$T/town/settings/config.json" <<'EOF'
import json, sys
p = sys.argv[1]; s = json.load(open(p))
s["x_keep_me"] = {"a": 1}
s["agents"]["kimi-claude"]["env"] = {"IS_SANDBOX": "1", "ANTHROPIC_BASE_URL": "http://127.0.0.1:9/agent",
                                     "ANTHROPIC_AUTH_TOKEN": "gclt-local"}
s["agents"]["plain"] = {"provider": "claude", "command": "claude", "args": None, "env": {"IS_SANDBOX": "1"}}
s["role_agents"] = {"mayor": "kimi-claude"}
json.dump(s, open(p, "w"), indent=2)
EOF
chmod 600 "$T/town/settings/config.json"
run gt config agent set other "claude --model x"; rc_is 0 "set another agent"
file_has '"x_keep_me"' "$T/town/settings/config.json" "unknown keys preserved"
eq "$(stat -c %a "$T/town/settings/config.json")" "600" "file mode kept"
run gt config agent remove other; rc_is 0 "agent remove"
run gt config agent remove claude; rc_is 1 "cannot remove a built-in"

# ------------------------------------------------------------------ daemon (T1)
section daemon
run gt daemon status; rc_is 0 "T1: daemon status exits 0 when stopped"
eq "$OUT" $'○ Daemon is not running\n\nStart with: gt daemon start' "daemon stopped text"
err_has "WARNING" "status warning on stderr"; hasnt "WARNING" "no warning on stdout"
runpipe gt daemon start; rc_is 0 "daemon start (detached, pipe released)"; has "✓ Daemon started (PID" "daemon started text"
DPID=$(head -1 "$T/town/daemon/daemon.pid")
eq "$(sed -n 2p "$T/town/daemon/daemon.pid" | grep -cE '^[0-9a-f]+$')" "1" "daemon.pid holds PID and NONCE"
py "import fcntl,os; fd=os.open('$T/town/daemon/daemon.lock', os.O_RDONLY)
try:
    fcntl.flock(fd, fcntl.LOCK_EX|fcntl.LOCK_NB); print('free')
except OSError:
    print('held')" >"$T/x"; eq "$(<"$T/x")" "held" "daemon.lock is flock-held"
sleep 1.2
python3 -c "import json; s=json.load(open('$T/town/daemon/state.json')); print(s['running'], s['pid'], s['heartbeat_count']>=2, 'started_at' in s and 'last_heartbeat' in s)" >"$T/x"
eq "$(<"$T/x")" "True $DPID True True" "state.json heartbeats"
run gt daemon status; has "● Daemon is running (PID $DPID)" "daemon running text"; has "  Last heartbeat:" "heartbeat line"
run gt daemon start; rc_is 1 "daemon start twice"; err_has "Error: daemon already running (PID $DPID)" "already running"
run gt daemon stop; rc_is 0 "daemon stop"; eq "$OUT" "✓ Daemon stopped (was PID $DPID)" "daemon stop text"
alive "$DPID" && bad "daemon still alive after stop" || ok "daemon gone"
run gt daemon stop; rc_is 1 "daemon stop when stopped"; err_has "Error: daemon is not running" "not running error"
# A probe that meets another one (here: a held lock) sees "running (PID 0)";
# a probe that gets the lock removes a stale pid file.
echo "999999" >"$T/town/daemon/daemon.pid"
python3 -c "import fcntl,os,time; fd=os.open('$T/town/daemon/daemon.lock', os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(1.5)" >"$T/held" &
HOLDER=$!
for _ in $(seq 50); do [ -s "$T/held" ] && break; sleep 0.05; done
rm -f "$T/town/daemon/daemon.pid"
run gt daemon status; has "● Daemon is running (PID 0)" "a held lock without a pid file reads as PID 0"
wait $HOLDER
echo "999999" >"$T/town/daemon/daemon.pid"
run gt daemon status; has "○ Daemon is not running" "free lock: not running"
absent "$T/town/daemon/daemon.pid" "a probe that gets the lock removes the stale pid file"
# gt's daemon tries its lock once: `daemon run` while a probe holds it fails
# at once, and `daemon start` reports the race (GT_DAEMON_START_RACE makes
# the next n daemons meet such a probe).
python3 -c "import fcntl,os,time; fd=os.open('$T/town/daemon/daemon.lock', os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(1.5)" >"$T/held2" &
HOLDER=$!
for _ in $(seq 50); do [ -s "$T/held2" ] && break; sleep 0.05; done
run gt daemon run; rc_is 1 "daemon run: one lock attempt"
err_has "Error: daemon already running (lock held by another process)" "daemon run: lock held"
wait $HOLDER
echo 1 >"$FAKE_STACK_DIR/faults/GT_DAEMON_START_RACE"
runpipe gt daemon start; rc_is 1 "daemon start that lost the race"
err_has "Error: daemon failed to start: daemon already running (lock held by another process)" "start race text"
runpipe gt daemon start; rc_is 0 "the next start wins"; has "✓ Daemon started (PID" "started after the race"
run gt daemon stop; rc_is 0 "daemon stop after the race"
rm -f "$FAKE_STACK_DIR/faults/GT_DAEMON_START_RACE"
echo 0.6 >"$FAKE_STACK_DIR/faults/GT_DAEMON_CRASH_AFTER"
runpipe gt daemon start; rc_is 0 "daemon start with crash knob"
sleep 1.5; run gt daemon status; has "○ Daemon is not running" "GT_DAEMON_CRASH_AFTER"
rm -f "$FAKE_STACK_DIR/faults/GT_DAEMON_CRASH_AFTER"

# ------------------------------------------------------------------ mayor (T4, T5, T8)
section mayor
run gt mayor status --running; rc_is 0 "status --running"; eq "$OUT" "false" "not running → false"
run gt mayor status; rc_is 0 "T1: mayor status exits 0 when stopped"; eq "$OUT" $'○ Mayor session is not running\n\nStart with: gt mayor start' "mayor stopped text"
run gt mayor stop; rc_is 1 "mayor stop when stopped"; err_has "Error: Mayor session is not running" "not running"
run gt mayor start --agent nope; rc_is 1 "unknown --agent"; err_has "Error: building startup command: agent 'nope' not found" "unknown agent"
: >"$FAKE_STACK_DIR/claude-runs.jsonl"
ANTHROPIC_BASE_URL=http://leak.invalid runpipe gt mayor start; rc_is 0 "mayor start"
eq "$OUT" $'Starting Mayor session...\n✓ Mayor session started. Attach with: gt mayor attach' "mayor start text"
MPID=$(cat "$T/town/daemon/mayor.pid")
alive "$MPID" && ok "mayor agent process alive" || bad "mayor agent not alive"
run gt mayor status --running; eq "$OUT" "true" "running → true"
run gt mayor status; has "● Mayor (tmux) is running" "mayor running text"
run gt mayor start; rc_is 1 "mayor start twice (T7)"; err_has "Error: Mayor session already running. Attach with: gt mayor attach" "already running"
tail -1 "$FAKE_STACK_DIR/claude-runs.jsonl" | jq_py 'len(d["argv"]), d["argv"][-1].startswith("[GAS TOWN] mayor <- human • "), "cold-start" in d["argv"][-1], d["cwd"], d["env"].get("ANTHROPIC_BASE_URL"), d["env"]["GT_ROLE"], d["env"]["GT_ROOT"], d["env"]["GT_AGENT"], d["env"]["BEADS_DOLT_AUTO_START"], d["env"]["CLAUDECODE"], d["env"]["IS_SANDBOX"], d["env"]["GT_DOLT_PORT"]' | tr '\n' '|' >"$T/x"
eq "$(<"$T/x")" "1|True|True|$T/town/mayor|http://127.0.0.1:9/agent|mayor|$T/town|kimi-claude|0||1|$DOLT_PORT|" "T4/T5: argv (no bypass flag), cwd and env of the mayor"
run gt mayor stop; rc_is 0 "mayor stop"; eq "$OUT" $'Stopping Mayor session...\n✓ Mayor session stopped.' "mayor stop text"
alive "$MPID" && bad "mayor still alive" || ok "mayor gone"
python3 - "$T/town/settings/config.json" <<'EOF'
import json, sys
p = sys.argv[1]; s = json.load(open(p)); s["role_agents"] = {"mayor": "plain"}; json.dump(s, open(p, "w"), indent=2)
EOF
ANTHROPIC_BASE_URL=http://leak.invalid runpipe gt mayor start; rc_is 0 "mayor start with a null-args agent"
tail -1 "$FAKE_STACK_DIR/claude-runs.jsonl" | jq_py 'd["argv"][0], "ANTHROPIC_BASE_URL" in d["env"], d["env"]["GT_AGENT"]' | tr '\n' '|' >"$T/x"
eq "$(<"$T/x")" "--dangerously-skip-permissions|False|plain|" "T4 preset args for null; T5 base URL not passed through"
run gt mayor restart; rc_is 0 "mayor restart"; has "✓ Mayor session started." "restart starts"
run gt mayor stop
if [ "$(id -u)" = 0 ]; then
  python3 - "$T/town/settings/config.json" <<'EOF'
import json, sys
p = sys.argv[1]; s = json.load(open(p)); s["agents"]["plain"]["env"] = {}; json.dump(s, open(p, "w"), indent=2)
EOF
  run gt mayor start; rc_is 1 "agent refusing to start (root, bypass, no IS_SANDBOX)"
  err_has "Error: waiting for mayor to start: agent exited: --dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons" "agent's last stderr line"
  run gt mayor status --running; eq "$OUT" "false" "no mayor after a failed start"
fi
python3 - "$T/town/settings/config.json" <<'EOF'
import json, sys
p = sys.argv[1]; s = json.load(open(p)); s["role_agents"] = {"mayor": "kimi-claude"}; json.dump(s, open(p, "w"), indent=2)
EOF
FAKE_GT_MAYOR_START_DELAY=0.5 FAKE_GT_MAYOR_CRASH_AFTER=0.8 run gt mayor start; rc_is 0 "mayor start with delay and crash knobs"
run gt mayor status --running; eq "$OUT" "true" "running before the crash"
sleep 1.2; run gt mayor status --running; eq "$OUT" "false" "GT_MAYOR_CRASH_AFTER killed the mayor"

# ------------------------------------------------------------------ status, agents, up, down, doctor, feed (T2)
section "status/agents/up/down"
run gt agents; rc_is 0 "agents with nothing running"; eq "$OUT" "No agent sessions running." "T2: agents sentence"
run gt status --json; rc_is 0 "status --json"; err_has "WARNING" "status warns on stderr"
echo "$OUT" | jq_py 'd["daemon"]["running"], d["dolt"]["running"], d["dolt"]["port"], [(a["name"], a["running"]) for a in d["agents"]], [r["name"] for r in d["rigs"]]' | tr '\n' '|' >"$T/x"
eq "$(<"$T/x")" "False|True|$DOLT_PORT|[('mayor', False), ('deacon', False)]|['project']|" "status --json when stopped"
runpipe gt up --json; rc_is 0 "gt up --json"
echo "$OUT" | jq_py 'd["success"], [s["name"] for s in d["services"]], d["summary"]["failed"]' | tr '\n' '|' >"$T/x"
eq "$(<"$T/x")" "True|['Dolt', 'Daemon', 'Deacon', 'Mayor', 'Witness (project)', 'Refinery (project)']|0|" "up --json"
run gt status --json --fast
echo "$OUT" | jq_py 'd["daemon"]["running"], d["daemon"]["pid"] > 0, [(a["name"], a["running"]) for a in d["agents"]], [(a["name"], a["running"]) for a in d["rigs"][0]["agents"]], d["agents"][0].get("agent_alias")' | tr '\n' '|' >"$T/x"
eq "$(<"$T/x")" "True|True|[('mayor', True), ('deacon', True)]|[('witness', True), ('refinery', True)]|kimi-claude|" "status --json when up"
run gt status --json --fast; echo "$OUT" | jq_py '"mq" in d["rigs"][0], "has_work" in d["agents"][0]' | tr '\n' '|' >"$T/x"
eq "$(<"$T/x")" "False|True|" "status --fast: no mq, agents keep has_work"
FAKE_GT_STATUS_DETAIL_HOLD=1.5 gt status --json >/dev/null 2>&1 </dev/null &
HOLDER=$!; sleep 0.5
run gt status --json; echo "$OUT" | jq_py '"mq" in d["rigs"][0], "has_work" in d["agents"][0]' | tr '\n' '|' >"$T/x"
eq "$(<"$T/x")" "False|False|" "1.2.0+: a full status meeting another silently degrades to fast"
wait $HOLDER
run gt status; has "Services: daemon (PID" "status text"; has "🎩 mayor        ● [claude]" "status mayor line"
run gt agents; has "  🎩 Mayor" "agents mayor"; has "── project ──" "agents rig"
run gt doctor; rc_is 0 "doctor"; has "passed" "doctor summary"
FAKE_GT_DOCTOR_ERRORS=2 run gt doctor; rc_is 1 "doctor with errors"; err_has "Error: doctor found 2 error(s)" "doctor error"
run gt feed --plain; rc_is 0 "feed"; has "mayor" "feed has the mayor's events"
run gt down; rc_is 0 "gt down"; has "✓ All services stopped" "down text"
eq "$(probe "$DOLT_PORT" 1)" "refused" "down stopped Dolt"
run gt mayor status --running; eq "$OUT" "false" "down stopped the mayor"
run gt daemon status; has "○ Daemon is not running" "down stopped the daemon"
runpipe gt up; rc_is 0 "gt up (text)"; has "✓ All services running" "up text"

# ------------------------------------------------------------------ agents' work (gastown-work.md §2, §4, §7)
section "agents' work"
run bd list --label=gt:agent --include-infra --json --flat; rc_is 0 "bd list agent beads"
echo "$OUT" | jq_py 'sorted(i["id"] for i in d)' >"$T/x"; eq "$(<"$T/x")" "['hq-deacon', 'hq-mayor']" "town agent beads carry gt:agent"
echo "hq-mayor=hq-work1@2400,pr-project-witness=hq-work2@60@ralph" >"$FAKE_STACK_DIR/faults/AGENT_HOOK"
run bd list --label=gt:agent --include-infra --json --flat
echo "$OUT" | jq_py '[(i["id"], i.get("hook_bead"), i.get("agent_state")) for i in d if i["id"] == "hq-mayor"], [i["updated_at"] < i["created_at"] for i in d if i["id"] == "hq-mayor"]' | tr '\n' '|' >"$T/x"
eq "$(<"$T/x")" "[('hq-mayor', 'hq-work1', 'working')]|[True]|" "AGENT_HOOK sets the hook and ages the bead"
BEADS_DIR="$T/town/project/.beads" run bd list --label=gt:agent --include-infra --json
echo "$OUT" | jq_py '[(i["id"], i.get("hook_bead"), "mode: ralph" in (i.get("description") or "")) for i in d if i["id"].endswith("witness")]' >"$T/x"
eq "$(<"$T/x")" "[('pr-project-witness', 'hq-work2', True)]" "rig agent beads in the rig's beads, ralph mode"
run bd update hq-mayor --add-label probe; rc_is 0 "bd update of an agent bead"; file_has 'probe' "$T/town/.beads/issues.jsonl" "the update written"
grep -q 'hq-work1' "$T/town/.beads/issues.jsonl" && bad "a bd write persisted the knob" || ok "a bd write does not persist the knob"
run bd update hq-mayor --remove-label probe
echo "project/nux" >"$FAKE_STACK_DIR/faults/GT_POLECATS"
run gt status --json --fast
echo "$OUT" | jq_py '(d["agents"][0]["has_work"], d["agents"][0]["hook_bead"], d["agents"][0]["work_title"], d["agents"][0]["state"]), [(a["name"], a["role"], a["running"]) for a in d["rigs"][0]["agents"]], d["rigs"][0]["polecats"], "hook_bead" in d["agents"][1]' | tr '\n' '|' >"$T/x"
eq "$(<"$T/x")" "(True, 'hq-work1', 'hq-work1', 'working')|[('witness', 'witness', True), ('refinery', 'refinery', True), ('nux', 'polecat', True)]|['nux']|False|" "status --json work fields and a polecat"
run gt polecat list --all --json; echo "$OUT" | jq_py 'd' >"$T/x"
eq "$(<"$T/x")" "[{'rig': 'project', 'name': 'nux', 'state': 'idle', 'session_running': True, 'session_name': 'pr-nux'}]" "polecat list --all --json"
mkdir -p "$FAKE_STACK_DIR/panes"; printf 'line1\nline2\nline3\n❯ Do you want to proceed?\n' >"$FAKE_STACK_DIR/panes/hq-mayor"
run gt peek mayor 1; rc_is 0 "peek mayor"; has "❯ Do you want to proceed?" "peek shows the pane"; has "line1" "peek adds the visible pane to N"
run gt peek project/ghost; rc_is 1 "peek a missing polecat"; err_has "Error: capturing output: session not found" "peek missing session"
run gt peek mayor x; rc_is 1 "peek bad count"; err_has "invalid line count: x" "peek bad count text"
run gt nudge mayor "wake up"; rc_is 0 "nudge mayor"; eq "$OUT" "✓ Nudged hq-mayor (wait-idle)" "nudge role shortcut text"
run gt nudge project/nux "go on" --mode immediate; eq "$OUT" "✓ Nudged project/nux (immediate)" "nudge slash target"
file_has '"message": "go on"' "$FAKE_STACK_DIR/gt-nudges.jsonl" "nudge recorded"
run gt nudge project/ghost hi; rc_is 1 "nudge missing"; err_has 'not found (cannot queue nudge for nonexistent session)' "nudge missing text"
run gt nudge mayor; rc_is 1 "nudge without message"; err_has "message required: use -m flag or provide as second argument" "nudge message required"
echo mayor >"$FAKE_STACK_DIR/faults/GT_NUDGE_BUSY"; echo 0.3 >"$FAKE_STACK_DIR/faults/GT_NUDGE_IDLE_WAIT"; echo 0.3 >"$FAKE_STACK_DIR/faults/GT_NUDGE_QUEUE_WAIT"
t0=$(date +%s%N); run gt nudge mayor busy; dt=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$dt" -ge 600 ] && ok "wait-idle blocks on a busy agent (${dt}ms)" || bad "wait-idle did not block (${dt}ms)"
exists "$T/town/.runtime/nudge_queue/hq-mayor" "busy nudge queued"
rm -f "$FAKE_STACK_DIR/faults/GT_NUDGE_BUSY"
run gt mail send overseer -s "Need a decision" -m "merge or wait?" --from mayor/; rc_is 0 "mail send"; has "✓ Message sent to overseer" "mail send text"
run gt mail send nobody -s x -m y; rc_is 1 "mail to an unknown recipient"
run gt mail inbox --json; echo "$OUT" | jq_py '[(m["from"], m["to"], m["subject"], m["body"], m["read"]) for m in d]' >"$T/x"
eq "$(<"$T/x")" "[('mayor/', 'overseer', 'Need a decision', 'merge or wait?', False)]" "overseer inbox --json"
MID=$(echo "$OUT" | jq_py 'd[0]["id"]')
run gt mail read "$MID"; rc_is 0 "mail read"; has "merge or wait?" "mail read body"
run gt mail inbox overseer --unread --json; eq "$OUT" "[]" "read marks read"
run gt mail send mayor/ -s "Re: Need a decision" -m "merge" --reply-to "$MID"; rc_is 0 "reply to the mayor"
run gt mail inbox mayor/ --json; echo "$OUT" | jq_py '[(m["from"], m.get("reply_to") == "'"$MID"'") for m in d]' >"$T/x"
eq "$(<"$T/x")" "[('overseer', True)]" "the mayor's inbox has the reply from overseer"
run gt estop -r "plane"; rc_is 0 "estop"; has "⛔ EMERGENCY STOP" "estop header"; has "   ⏭ hq-mayor (exempt)" "mayor exempt"; has "   ⏸ pr-witness" "witness frozen"
exists "$T/town/ESTOP" "ESTOP file"; file_has "manual	" "$T/town/ESTOP" "ESTOP trigger"
run gt estop; rc_is 0 "estop again exits 0"; has "⛔ E-stop already active (triggered manual: plane)" "estop already active"
run gt estop --rig project; rc_is 0 "rig estop"; exists "$T/town/ESTOP.project" "rig ESTOP file"
run gt thaw; rc_is 0 "thaw"; has "session(s) resumed" "thaw text"; has "E-stop was active for" "thaw duration"
[ -e "$T/town/ESTOP" ] && bad "thaw left ESTOP" || ok "thaw removed ESTOP"; exists "$T/town/ESTOP.project" "plain thaw ignores rig files"
file_has "E-stop cleared. Work may resume." "$FAKE_STACK_DIR/gt-nudges.jsonl" "thaw nudges"
run gt thaw --rig project; rc_is 0 "rig thaw"; run gt thaw; eq "$OUT" "No E-stop active." "nothing to thaw"
run gt witness restart project; rc_is 0 "witness restart"; has "✓ Witness restarted for project" "witness restart text"
run gt refinery restart; has "✓ Refinery restarted for project" "refinery restart (one rig)"
run gt deacon restart; has "✓ Deacon restarted" "deacon restart"
run gt session restart project/nux; has "✓ Session restarted." "polecat restart"
run gt session restart project/ghost; rc_is 1 "restart a missing polecat"
rm -f "$FAKE_STACK_DIR/faults/AGENT_HOOK" "$FAKE_STACK_DIR/faults/GT_POLECATS"

# ------------------------------------------------------------------ generic knobs
section "gt knobs"
echo "rig add,daemon start" >"$FAKE_STACK_DIR/faults/GT_FAIL"
run gt rig add extra "file://$T/project"; rc_is 1 "GT_FAIL rig add"; err_has "Error: adding rig:" "injected rig add error"
run gt daemon stop; rc_is 0 "GT_FAIL leaves other paths alone"
run gt daemon start; rc_is 1 "GT_FAIL daemon start"; err_has "Error: daemon failed to start (check logs with 'gt daemon logs')" "injected daemon error"
echo "mayor start" >"$FAKE_STACK_DIR/faults/GT_FAIL"
run gt may stat; rc_is 0 "prefix matching: gt may stat == gt mayor status"
run gt may st; rc_is 1 "ambiguous prefix (start/status/stop) is an unknown command, like cobra"
run gt mayor restart; rc_is 0 "GT_FAIL 'mayor start' does not match 'mayor restart'"
run gt mayor start; rc_is 1 "GT_FAIL mayor start"; err_has "Error: waiting for mayor to start: timeout waiting for command (still running excluded command)" "injected mayor error"
rm -f "$FAKE_STACK_DIR/faults/GT_FAIL"
echo "mayor status" >"$FAKE_STACK_DIR/faults/GT_HANG"
t0=$(date +%s%N); timeout -s TERM 1 gt mayor status --running >/dev/null 2>&1; RC=$?; dt=$(( ($(date +%s%N) - t0) / 1000000 ))
rc_is 124 "GT_HANG hangs until killed"; [ "$dt" -lt 2500 ] && ok "hung gt died with its signal" || bad "hung gt took ${dt}ms"
rm -f "$FAKE_STACK_DIR/faults/GT_HANG"
echo "status=0.6" >"$FAKE_STACK_DIR/faults/GT_SLOW"
t0=$(date +%s%N); run gt status --json; dt=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$dt" -ge 600 ] && ok "GT_SLOW delays (${dt}ms)" || bad "GT_SLOW did not delay (${dt}ms)"
rm -f "$FAKE_STACK_DIR/faults/GT_SLOW"

# ------------------------------------------------------------------ bd
section bd
cd "$T/town"
run bd list; rc_is 0 "bd list"; eq "$OUT" "No issues found." "empty list (agent beads are infra)"
run bd create "Fix parser bug" -d "it breaks" -p 1 --json; rc_is 0 "bd create --json"
echo "$OUT" | jq_py 'd["id"].startswith("hq-") and len(d["id"]) == 7, d["title"], d["status"], d["priority"], d["schema_version"], len(d["created_at"]) == 30' | tr '\n' '|' >"$T/x"
eq "$(<"$T/x")" "True|Fix parser bug|open|1|1|True|" "create JSON object"
ID1=$(echo "$OUT" | jq_py 'd["id"]')
run bd create --title "Second task" --silent; ID2=$OUT; [[ "$ID2" =~ ^hq-[0-9a-z]{4}$ ]] && ok "create --silent prints the id" || bad "create --silent: $ID2"
run bd create "Third" -t feature; rc_is 0 "create text"; has "✓ Created issue: hq-" "create text line"; has "  Priority: P2" "priority line"
run bd list --json; echo "$OUT" | jq_py 'len(d), all("dependency_count" in i for i in d)' | tr '\n' '|' >"$T/x"; eq "$(<"$T/x")" "3|True|" "list --json array"
run bd list; has "○ $ID1 ● P1 Fix parser bug" "list text line"
run bd show "$ID1" --json; echo "$OUT" | jq_py 'type(d).__name__, d[0]["id"], d[0]["description"]' | tr '\n' '|' >"$T/x"; eq "$(<"$T/x")" "list|$ID1|it breaks|" "show --json array"
run bd show "${ID1#hq-}" --json; echo "$OUT" | jq_py 'd[0]["id"]' >"$T/x"; eq "$(<"$T/x")" "$ID1" "show with a partial id"
run bd show hq-zzzz --json; rc_is 1 "show missing --json"; echo "$OUT" | jq_py 'd["error"]' >"$T/x"; eq "$(<"$T/x")" "no issues found matching the provided IDs" "show error JSON on stdout"
run bd close "$ID2" -r "done"; rc_is 0 "close"; eq "$OUT" "✓ Closed $ID2 — Second task: done" "close text"
run bd close "$ID1" --reason fixed --json; echo "$OUT" | jq_py 'd[0]["status"], d[0]["close_reason"]' | tr '\n' '|' >"$T/x"; eq "$(<"$T/x")" "closed|fixed|" "close --json"
run bd close hq-zzzz; rc_is 1 "close nothing"; err_has 'no issue found matching "hq-zzzz"' "close missing"
run bd list; hasnt "$ID2" "closed hidden by default"
run bd list --all; has "✓ $ID2" "--all shows closed"
run bd ready --json; echo "$OUT" | jq_py '[i["title"] for i in d]' >"$T/x"; eq "$(<"$T/x")" "['Third']" "ready"
run bd search Third; has "Found 1 issues matching 'Third':" "search"
run bd update "$ID1" -s open --title "Reopened"; rc_is 0 "update"; has "✓ Updated issue: $ID1 — Reopened" "update text"
run bd create --name foo; rc_is 1 "unknown flag"; err_has "Error: unknown flag: --name" "unknown flag text"
(cd / && BD_ROOT="$T/town" run bd list; eq "$RC" "1" "BD_ROOT is ignored")
(cd / && run bd list; case "$ERR" in *"Error: no beads database found"*"or set BEADS_DIR to point to your .beads directory"*) ok "not-found text";; *) bad "not-found text";; esac)
(cd / && BEADS_DIR="$T/town/.beads" run bd list; eq "$RC" "0" "BEADS_DIR discovery")
(cd / && run bd -C "$T/town" list; eq "$RC" "0" "-C discovery")
(cd / && run bd list --db "$T/town/.beads/dolt"; eq "$RC" "0" "--db discovery")
echo 1 >"$FAKE_STACK_DIR/faults/BD_DOWN"
t0=$(date +%s%N); run bd list; dt=$(( ($(date +%s%N) - t0) / 1000000 ))
rc_is 1 "BD_DOWN"; err_has "connect: connection refused" "BD_DOWN text"; [ "$dt" -ge 200 ] && ok "BD_DOWN delay" || bad "BD_DOWN too fast"
rm -f "$FAKE_STACK_DIR/faults/BD_DOWN"
FAKE_BD_CIRCUIT_OPEN=1 run bd list; rc_is 1 "BD_CIRCUIT_OPEN"; err_has "dolt circuit breaker is open: server appears down, failing fast (cooldown 30s)" "circuit text"
run gt dolt stop
run bd list; rc_is 1 "bd with Dolt stopped"; err_has "Error: failed to open database: dial tcp 127.0.0.1:$DOLT_PORT: connect: connection refused" "bd needs the server"
run gt dolt start

# ------------------------------------------------------------------ events, KRC, escalations (gastown-work.md §1, §3)
section "events/escalations"
cd "$T/town"
EV="$T/town/.events.jsonl"
run gt activity emit session_death --rig project --polecat Toast --reason "crashed with exit code 2"
rc_is 0 "activity emit"; has "✓ Emitted session_death event" "emit text"; has '  Actor:   overseer' "emit actor from the town root"
last=$(tail -1 "$EV")
case "$last" in '{"ts":"'*'Z","source":"gt","type":"session_death","actor":"overseer","payload":{"polecat":"Toast","reason":"crashed with exit code 2","rig":"project"},"visibility":"feed"}') ok "§1.2 line: key order, sorted payload, compact";; *) bad "event line: $last";; esac
[[ "$last" =~ \"ts\":\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\" ]] && ok "ts to the second, Z" || bad "ts: $last"
exists "$EV.lock" "writers flock .events.jsonl.lock"
run gt activity emit mass_death --count 3 --message "<3 sessions> & more"
tail -1 "$EV" | grep -qF '"payload":{"count":3,"message":"\u003c3 sessions\u003e \u0026 more"}' && ok "Go escapes <, > and &" || bad "escaping: $(tail -1 "$EV")"
run gt activity emit merged --rig project --target polecat/Toast; tail -1 "$EV" | grep -qF '"payload":{"branch":"polecat/Toast","rig":"project"}' && ok "merge types map --target to branch" || bad "merged payload"
run gt activity emit; rc_is 1 "emit needs a type"
ino1=$(stat -c %i "$EV"); n1=$(wc -l <"$EV")
run gt krc prune; rc_is 0 "krc prune"; eq "$OUT" "No expired events to prune." "nothing expired"
ino2=$(stat -c %i "$EV"); [ "$ino1" != "$ino2" ] && ok "KRC rewrites by rename (new inode) even when nothing expired" || bad "same inode"
eq "$(wc -l <"$EV")" "$n1" "nothing dropped"
# The pruner's clock at the fresh line's own second (lines are stamped to
# the second; the earlier ones are >= 1 s older): no race with the wall clock.
sleep 1.1; run gt activity emit sling --target project/Toast
fresh=$(date -d "$(tail -1 "$EV" | sed 's/.*"ts":"\([^"]*\)".*/\1/')" +%s)
FAKE_GT_KRC_TTL=0.5 FAKE_GT_KRC_NOW=$fresh run gt krc prune; has "Events pruned:" "TTL knob prunes"; eq "$(wc -l <"$EV")" "1" "only the fresh line kept"
run gt activity emit nudge --target project/Toast
FAKE_GT_KRC_TTL=1 FAKE_GT_KRC_NOW=$(( $(date +%s) + 3600 )) run gt krc prune; has "Events pruned:    2" "GT_KRC_NOW: the pruner's clock an hour ahead drops every line"
eq "$(wc -l <"$EV")" "0" "nothing kept"
run gt activity emit sling --target project/Toast
FAKE_GT_KRC_TTL=1 FAKE_GT_KRC_NOW=$(( $(date +%s) - 3600 )) run gt krc prune; eq "$OUT" "No expired events to prune." "GT_KRC_NOW an hour behind: nothing is past its TTL"
FAKE_GT_EVENTS_TORN=0.6 gt activity emit hook --issue hq-1 >/dev/null 2>&1 &
TP=$!; sleep 0.3
tail -c 1 "$EV" | od -An -c | grep -q '\\n' && bad "no torn line seen" || ok "GT_EVENTS_TORN leaves a torn last line"
wait $TP; tail -c 1 "$EV" | od -An -c | grep -q '\\n' && ok "the torn line is completed" || bad "torn line never completed"
run gt escalate -s bogus "x"; rc_is 1 "bad severity"; err_has "invalid severity 'bogus': must be critical, high, medium, or low" "severity text"
run gt escalate; rc_is 0 "escalate without args prints help"
run gt escalate -s high --source ci "Build is broken on main" --json; rc_is 0 "escalate --json"
ESC=$(echo "$OUT" | jq_py 'd["id"]'); echo "$OUT" | jq_py 'd["severity"], d["targets"], d["status"], d["source"]' | tr '\n' '|' >"$T/x"
eq "$(<"$T/x")" "high|['mayor']|ok|ci|" "escalate JSON"
tail -1 "$EV" | jq_py 'd["type"], d["actor"], d["payload"]["rig"] == "'"$ESC"'", d["payload"]["target"], d["payload"]["severity"], d["payload"]["reason"]' | tr '\n' '|' >"$T/x"
eq "$(<"$T/x")" "escalation_sent|overseer|True|overseer|high|Build is broken on main|" "escalation_sent with its quirky payload"
run bd list --label=gt:escalation --status=open --json; eq "$(echo "$OUT" | jq_py 'len(d)')" "0" "bd 1.0.5: plain list hides the wisp"
run bd list --label=gt:escalation --status=open --include-infra --json
echo "$OUT" | jq_py 'len(d), d[0]["id"] == "'"$ESC"'", d[0]["ephemeral"], sorted(d[0]["labels"]), d[0]["description"].splitlines()[0]' | tr '\n' '|' >"$T/x"
eq "$(<"$T/x")" "1|True|True|['gt:escalation', 'severity:high']|Build is broken on main|" "--include-infra shows it"
run gt escalate list; eq "$OUT" "No escalations found" "gt escalate list finds nothing (bd 1.0.5)"
run gt escalate list --json; eq "$OUT" "null" "empty JSON list is null"
run gt escalate show "$ESC" --json; echo "$OUT" | jq_py 'd["severity"], d["escalatedBy"], d["ackedBy"]' | tr '\n' '|' >"$T/x"; eq "$(<"$T/x")" "high|overseer||" "show camelCase"
run gt escalate show hq-zzzz; rc_is 1 "show missing"; err_has "escalation not found: hq-zzzz" "show missing text"
run gt escalate ack "$ESC"; rc_is 0 "ack"; eq "$OUT" "✓ Escalation acknowledged: $ESC" "ack text"
tail -1 "$EV" | jq_py 'd["type"], d["payload"]["acked_by"]' | tr '\n' '|' >"$T/x"; eq "$(<"$T/x")" "escalation_acked|overseer|" "ack event"
run gt escalate close "$ESC"; rc_is 1 "close needs --reason"; err_has 'required flag(s) "reason" not set' "close without reason"
run gt escalate close "$ESC" --reason "fixed in main"; rc_is 0 "close"; has "✓ Escalation closed: $ESC" "close text"; has "  Reason: fixed in main" "close reason"
run bd list --label=gt:escalation --status=open --include-infra --json; eq "$(echo "$OUT" | jq_py 'len(d)')" "0" "closed escalation no longer open"
run bd show "$ESC" --json; echo "$OUT" | jq_py 'd[0]["status"], "acked" in d[0]["labels"], "resolved" in d[0]["labels"], "closed_by: overseer" in d[0]["description"]' | tr '\n' '|' >"$T/x"
eq "$(<"$T/x")" "closed|True|True|True|" "closed bead carries acked, resolved, closed_by"
run gt escalate stale; eq "$OUT" "No stale escalations (threshold: 4h0m0s)" "stale finds nothing"
run gt escalate ack hq-zzzz; rc_is 1 "ack missing"

# ------------------------------------------------------------------ openclaw
section openclaw
OC="$HOME/.openclaw"; mkdir -p "$OC"; chmod 700 "$OC"
GP=$(free_port)
cat >"$OC/openclaw.json" <<EOF
{
  // comments and trailing commas are tolerated
  "gateway": {"mode": "local", "port": $GP, "bind": "loopback", "auth": {"mode": "token", "token": "gw-secret"},
              "controlUi": {"enabled": false}, "http": {"endpoints": {"chatCompletions": {"enabled": true}}}},
  "hooks": {"enabled": true, "token": "hook-secret", "path": "/hooks"},
  "channels": {"telegram": {"enabled": false}},
  "messages": {"ackReactionScope": "group-mentions"},
  "models": {"mode": "merge", "providers": {"kimi-code": {"baseUrl": "http://127.0.0.1:1", "apiKey": "k",
    "api": "anthropic-messages", "models": [{"id": "kimi-for-coding", "name": "Kimi For Coding", "reasoning": true,
    "input": ["text"], "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
    "contextWindow": 262144, "maxTokens": 32768}]}}},
  "agents": {"defaults": {"model": {"primary": "kimi-code/kimi-for-coding"}, "workspace": "$HOME/overseer"},
             "entries": {"main": {"identity": {"name": "Gasclaw Overseer", "emoji": "🏭"}}}},
  "tools": {"profile": "minimal", "exec": {"mode": "allowlist"}},
}
EOF
chmod 600 "$OC/openclaw.json"
run openclaw config validate --json; rc_is 0 "config validate --json"; eq "$OUT" "{\"valid\":true,\"path\":\"$OC/openclaw.json\",\"warnings\":[]}" "valid JSON form"
run openclaw config validate; eq "$OUT" "Config valid: ~/.openclaw/openclaw.json" "valid plain form"
python3 - "$OC/openclaw.json" "$T/bad.json" <<'EOF'
import json, re, sys
src = re.sub(r",(\s*[}\]])", r"\1", re.sub(r"(?m)^\s*//.*$", "", open(sys.argv[1]).read()))
c = json.loads(src); c["bogus"] = 1; c["channels"]["telegram"]["streaming"] = "off"
json.dump(c, open(sys.argv[2], "w"))
EOF
OPENCLAW_CONFIG_PATH="$T/bad.json" run openclaw config validate --json; rc_is 1 "invalid config"
echo "$OUT" | jq_py 'd["valid"], sorted((i["path"], i["message"]) for i in d["issues"])' | tr '\n' '|' >"$T/x"
eq "$(<"$T/x")" "False|[('<root>', 'Unrecognized key: \"bogus\"'), ('channels.telegram.streaming', 'invalid config: must be object')]|" "invalid config issues"
OPENCLAW_CONFIG_PATH="$T/bad.json" run openclaw config validate; err_has "× channels.telegram.streaming: invalid config: must be object" "streaming plain error"
OPENCLAW_CONFIG_PATH="$T/bad.json" run openclaw gateway run --port "$(free_port)"; eq "$RC" "78" "gateway refuses an invalid config (exit 78)"
err_has "Invalid config at $T/bad.json:" "invalid config at"; err_has '<root>: Unrecognized key: "bogus"' "invalid key line"
echo '{"gateway": {"port": 1}}' >"$T/nomode.json"
OPENCLAW_CONFIG_PATH="$T/nomode.json" run openclaw config validate; rc_is 0 "missing gateway.mode passes validate"
OPENCLAW_CONFIG_PATH="$T/nomode.json" run openclaw gateway run; eq "$RC" "78" "missing gateway.mode blocks start"; err_has "Gateway start blocked: existing config is missing gateway.mode" "blocked text"
run openclaw gateway start; rc_is 0 "gateway start exits 0"; eq "$OUT" "Gateway service disabled. If you're in a container, run the gateway in the foreground instead of as a service." "gateway start message"
curl -s -o /dev/null "http://127.0.0.1:$GP/health" && bad "gateway start started something" || ok "gateway start starts nothing"
echo 1 >"$FAKE_STACK_DIR/faults/OPENCLAW_READY_DELAY"
openclaw gateway run --port "$GP" >"$T/gw.log" 2>"$T/gw.err" &
GWPID=$!
for i in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$GP/health" && break; sleep 0.1; done
eq "$(cat "$FAKE_STACK_DIR/openclaw-gateway.pid")" "$GWPID" "gateway pid file"
curl -s -D "$T/h" "http://127.0.0.1:$GP/health" >"$T/b"; eq "$(<"$T/b")" '{"ok":true,"status":"live"}' "/health body"
file_has "Content-Type: application/json; charset=utf-8" "$T/h" "/health content type"; file_has "Cache-Control: no-store" "$T/h" "/health no-store"
eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$GP/readyz")" "503" "/readyz 503 while starting"
curl -s "http://127.0.0.1:$GP/readyz" | jq_py 'd["ready"], d["failing"]' | tr '\n' '|' >"$T/x"; eq "$(<"$T/x")" "False|['startup-sidecars']|" "/readyz failing"
sleep 1; curl -s "http://127.0.0.1:$GP/ready" | jq_py 'd["ready"], d["failing"], d["uptimeMs"] > 0' | tr '\n' '|' >"$T/x"; eq "$(<"$T/x")" "True|[]|True|" "/ready ready"
rm -f "$FAKE_STACK_DIR/faults/OPENCLAW_READY_DELAY"
curl -s -D "$T/h" -X POST "http://127.0.0.1:$GP/healthz" -o /dev/null; file_has "405" "$T/h" "probe POST → 405"; file_has "Allow: GET, HEAD" "$T/h" "Allow header"
eq "$(curl -s -I -o /dev/null -w '%{http_code}' "http://127.0.0.1:$GP/healthz")" "200" "HEAD probe"
curl -s -D "$T/h" "http://127.0.0.1:$GP/api/message" >"$T/b"; eq "$(<"$T/b")" "Not Found" "404 body"; file_has "text/plain" "$T/h" "404 text/plain"
eq "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$GP/v1/chat/completions" -d '{"messages":[{"role":"user","content":"hi"}]}')" "401" "chat without bearer → 401"
echo startup-sidecars >"$FAKE_STACK_DIR/faults/OPENCLAW_READY_FAILING"
eq "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$GP/v1/chat/completions" -H "Authorization: Bearer gw-secret" -d '{"messages":[{"role":"user","content":"hi"}]}')" "401" "chat while starting → 401 with the right token"
rm -f "$FAKE_STACK_DIR/faults/OPENCLAW_READY_FAILING"
curl -s -X POST "http://127.0.0.1:$GP/v1/chat/completions" -H "Authorization: Bearer gw-secret" -H 'content-type: application/json' \
  -d '{"model":"openclaw","messages":[{"role":"user","content":"hello there"}],"user":"telegram:42"}' >"$T/b"
jq_py 'd["object"], d["choices"][0]["message"]["content"], d["choices"][0]["finish_reason"]' <"$T/b" | tr '\n' '|' >"$T/x"
eq "$(<"$T/x")" "chat.completion|echo(telegram:42): hello there|stop|" "chat completion"
tail -1 "$FAKE_STACK_DIR/openclaw-chat.jsonl" | jq_py 'd["user"], d["messages"], d["last_len"]' | tr '\n' '|' >"$T/x"; eq "$(<"$T/x")" "telegram:42|1|11|" "chat recorded"
echo 500 >"$FAKE_STACK_DIR/faults/OPENCLAW_CHAT_STATUS"
eq "$(curl -s -o "$T/b" -w '%{http_code}' -X POST "http://127.0.0.1:$GP/v1/chat/completions" -H "Authorization: Bearer gw-secret" -d '{"messages":[{"role":"user","content":"x"}]}')" "500" "OPENCLAW_CHAT_STATUS"
jq_py 'd["error"]["message"]' <"$T/b" >"$T/x"; eq "$(<"$T/x")" "injected failure" "chat error body"
rm -f "$FAKE_STACK_DIR/faults/OPENCLAW_CHAT_STATUS"
echo "custom reply" >"$FAKE_STACK_DIR/faults/OPENCLAW_CHAT_REPLY"
curl -s -X POST "http://127.0.0.1:$GP/v1/chat/completions" -H "Authorization: Bearer gw-secret" -d '{"messages":[{"role":"user","content":"x"}]}' | jq_py 'd["choices"][0]["message"]["content"]' >"$T/x"
eq "$(<"$T/x")" "custom reply" "OPENCLAW_CHAT_REPLY"
rm -f "$FAKE_STACK_DIR/faults/OPENCLAW_CHAT_REPLY"
eq "$(curl -s -X POST "http://127.0.0.1:$GP/hooks/wake" -H 'Authorization: Bearer hook-secret' -d '{"text":"wake up","mode":"now"}')" '{"ok":true,"mode":"now"}' "hooks wake"
curl -s -X POST "http://127.0.0.1:$GP/hooks/agent" -H 'x-openclaw-token: hook-secret' -d '{"message":"status?"}' | jq_py 'd["ok"], d["runId"] != ""' | tr '\n' '|' >"$T/x"; eq "$(<"$T/x")" "True|True|" "hooks agent"
eq "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$GP/hooks/agent" -H 'Authorization: Bearer wrong' -d '{"message":"x"}')" "401" "hooks wrong token"
eq "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$GP/hooks/agent?token=hook-secret" -d '{"message":"x"}')" "400" "hooks token in query"
eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$GP/hooks/agent")" "405" "hooks GET"
echo 1 >"$FAKE_STACK_DIR/faults/OPENCLAW_SPA_HTML"
curl -s -D "$T/h" -o /dev/null "http://127.0.0.1:$GP/readyz/"; file_has "text/html" "$T/h" "SPA HTML mode"
rm -f "$FAKE_STACK_DIR/faults/OPENCLAW_SPA_HTML"
run openclaw gateway run --port "$GP"; rc_is 1 "second gateway on the port"; err_has "EADDRINUSE" "EADDRINUSE text"
run openclaw gateway status; has "RPC probe: ok" "gateway status probe"
grep -q gw-secret "$T/gw.log" "$T/gw.err" && bad "gateway log holds a secret" || ok "gateway log holds no secret"
kill -TERM "$GWPID"; t0=$(date +%s%N); wait "$GWPID" 2>/dev/null; dt=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$dt" -lt 1000 ] && ok "gateway exits on SIGTERM in ${dt}ms" || bad "gateway took ${dt}ms"
FAKE_OPENCLAW_FAIL_START="boom: plugin sidecar crashed" run openclaw gateway run --port "$GP"; rc_is 1 "OPENCLAW_FAIL_START"; err_has "boom: plugin sidecar crashed" "fail-start message"
FAKE_OPENCLAW_CRASH_AFTER=0.5 openclaw gateway run --port "$GP" >/dev/null 2>&1 &
GWPID=$!; sleep 1.2; alive "$GWPID" && bad "OPENCLAW_CRASH_AFTER did not crash" || ok "OPENCLAW_CRASH_AFTER"
wait "$GWPID" 2>/dev/null
# doctor
run openclaw doctor --non-interactive; rc_is 0 "doctor"; has "◇  Config: ok" "doctor config line"; has "◇  Gateway: not running" "doctor gateway line"
FAKE_OPENCLAW_DOCTOR_RC=3 FAKE_OPENCLAW_DOCTOR_OUTPUT="extra finding" run openclaw doctor; rc_is 3 "OPENCLAW_DOCTOR_RC"; has "extra finding" "OPENCLAW_DOCTOR_OUTPUT"
cp "$T/bad.json" "$T/fix.json"
OPENCLAW_CONFIG_PATH="$T/fix.json" FAKE_OPENCLAW_DOCTOR_MUTATE=1 run openclaw doctor --fix --yes; rc_is 0 "doctor --fix"
exists "$T/fix.json.bak" "doctor backup"; cmp -s "$T/bad.json" "$T/fix.json.bak" && ok "backup is the old file" || bad "backup differs"
python3 -c "import json; c=json.load(open('$T/fix.json')); print('bogus' in c, c['gateway']['controlUi']['enabled'], type(c['channels']['telegram']['streaming']).__name__)" >"$T/x"
eq "$(<"$T/x")" "False True dict" "doctor dropped unknown keys, mutated, migrated"
OPENCLAW_CONFIG_PATH="$T/fix.json" run openclaw config validate; rc_is 0 "repaired config validates"
echo doctor >"$FAKE_STACK_DIR/faults/OPENCLAW_HANG"
timeout -s TERM 1 openclaw doctor >/dev/null 2>&1; RC=$?; rc_is 124 "OPENCLAW_HANG"
rm -f "$FAKE_STACK_DIR/faults/OPENCLAW_HANG"
# skills
mkdir -p "$OC/skills/gastown-health/scripts" "$OC/skills/plain"
cat >"$OC/skills/gastown-health/SKILL.md" <<'EOF'
---
name: gastown-health
description: Check Gastown services through gasclaw
metadata: {"openclaw": {"emoji": "⛽", "requires": {"bins": ["gasclaw-not-here"], "env": ["GT_ROOT"]}}}
---
Run {baseDir}/scripts/status.sh
EOF
printf -- '---\nname: plain\ndescription: No requirements\n---\nHi\n' >"$OC/skills/plain/SKILL.md"
run openclaw skills list --json; rc_is 0 "skills list --json"
echo "$OUT" | jq_py '[(s["name"], s["eligible"], s["missing"]["bins"], s["missing"]["env"], s["source"]) for s in d["skills"]]' >"$T/x"
eq "$(<"$T/x")" "[('gastown-health', False, ['gasclaw-not-here'], ['GT_ROOT'], 'openclaw-managed'), ('plain', True, [], [], 'openclaw-managed')]" "skills eligibility"
GT_ROOT=/x run openclaw skills list --eligible --json; echo "$OUT" | jq_py '[s["name"] for s in d["skills"]]' >"$T/x"; eq "$(<"$T/x")" "['plain']" "skills --eligible"
# channels, message, health
run openclaw channels status --probe --json; rc_is 0 "channels status"; echo "$OUT" | jq_py 'd["channels"]["telegram"]["configured"]' >"$T/x"; eq "$(<"$T/x")" "False" "telegram off"
echo "{\"gateway\": {\"mode\": \"local\", \"port\": $GP}}" >"$T/notg.json"
OPENCLAW_CONFIG_PATH="$T/notg.json" TELEGRAM_BOT_TOKEN=123:abc run openclaw channels status --json; echo "$OUT" | jq_py 'd["channels"]["telegram"]["configured"]' >"$T/x"
eq "$(<"$T/x")" "True" "TELEGRAM_BOT_TOKEN in the env configures the channel (the leak)"
case "$OUT" in *123:abc*) bad "channels status printed the token";; *) ok "token not printed";; esac
run openclaw message send --channel telegram --target 42 -m hello; rc_is 1 "message send without a channel"
OPENCLAW_CONFIG_PATH="$T/notg.json" TELEGRAM_BOT_TOKEN=123:abc run openclaw message send --channel telegram --target 42 -m hello; rc_is 0 "message send"
tail -1 "$FAKE_STACK_DIR/openclaw-messages.jsonl" | jq_py 'd["target"], d["message"]' | tr '\n' '|' >"$T/x"; eq "$(<"$T/x")" "42|hello|" "message recorded"
run openclaw health --json; rc_is 1 "health with the gateway down"

# ------------------------------------------------------------------ claude
section claude
cd "$T"
: >"$FAKE_STACK_DIR/claude-runs.jsonl"
run claude -p hi; rc_is 0 "claude -p without a base URL"; eq "$OUT" "FAKE-CLAUDE" "FAKE-CLAUDE"
tail -1 "$FAKE_STACK_DIR/claude-runs.jsonl" | jq_py 'd["argv"], d["env"]["HOME"] == "'"$HOME"'", d["pid"] > 0' | tr '\n' '|' >"$T/x"
eq "$(<"$T/x")" "['-p', 'hi']|True|True|" "claude run recorded with the full env"
if [ "$(id -u)" = 0 ]; then
  run claude -p hi --dangerously-skip-permissions; rc_is 1 "root guard (flag)"
  eq "$ERR" "--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons" "exact refusal"; eq "$OUT" "" "nothing on stdout"
  run claude -p hi --permission-mode bypassPermissions; rc_is 1 "root guard (--permission-mode)"
  mkdir -p "$T/ccfg"; echo '{"permissions":{"defaultMode":"bypassPermissions"}}' >"$T/ccfg/settings.json"
  CLAUDE_CONFIG_DIR="$T/ccfg" run claude -p hi; rc_is 1 "root guard (user settings defaultMode)"
  IS_SANDBOX=1 run claude -p hi --dangerously-skip-permissions; rc_is 0 "IS_SANDBOX=1 lifts the guard"
else
  ok "root guard checks skipped (not root)"
fi
cat >"$T/kimi.py" <<'EOF'
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        with open(sys.argv[2], "a") as f:
            f.write(json.dumps({"path": self.path, "bearer": self.headers.get("authorization"), "key": self.headers.get("x-api-key"),
                                "version": self.headers.get("anthropic-version"), "model": body.get("model"), "stream": body.get("stream")}) + "\n")
        if body["messages"][0]["content"] == "fail":
            d = json.dumps({"type": "error", "error": {"type": "invalid_request_error", "message": "bad request"}}).encode()
            self.send_response(400); self.send_header("content-type", "application/json"); self.send_header("content-length", str(len(d))); self.end_headers(); self.wfile.write(d); return
        ev = [("message_start", {"type": "message_start", "message": {"id": "m", "type": "message", "role": "assistant", "content": []}}),
              ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
              ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "FAKE-"}}),
              ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "PONG"}}),
              ("message_stop", {"type": "message_stop"})]
        d = "".join("event: %s\ndata: %s\n\n" % (e, json.dumps(x)) for e, x in ev).encode()
        self.send_response(200); self.send_header("content-type", "text/event-stream"); self.send_header("content-length", str(len(d))); self.end_headers(); self.wfile.write(d)
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
KP=$(free_port); python3 "$T/kimi.py" "$KP" "$T/kimi.log" & KPID=$!
for i in $(seq 30); do curl -s -o /dev/null "http://127.0.0.1:$KP/" && break; sleep 0.1; done
ANTHROPIC_BASE_URL="http://127.0.0.1:$KP/coding/" ANTHROPIC_AUTH_TOKEN=local-tok run claude -p ping; rc_is 0 "claude -p through a fake API"; eq "$OUT" "FAKE-PONG" "streamed text"
ANTHROPIC_BASE_URL="http://127.0.0.1:$KP" ANTHROPIC_API_KEY=sk-x ANTHROPIC_MODEL=kimi-for-coding run claude -p fail; rc_is 1 "API error"; eq "$OUT" "API Error: 400 bad request" "API error line on stdout"; err_empty "stderr stays empty on API errors"
python3 -c "import json; l=[json.loads(x) for x in open('$T/kimi.log')]; print([(x['path'], x['bearer'], x['key'], x['version'], x['model'], x['stream']) for x in l])" >"$T/x"
eq "$(<"$T/x")" "[('/coding/v1/messages?beta=true', 'Bearer local-tok', None, '2023-06-01', 'claude-opus-4-8', True), ('/v1/messages?beta=true', None, 'sk-x', '2023-06-01', 'kimi-for-coding', True)]" "request shape"
# 2.1.332's dialogs: a custom API key at start (Enter = No), the auto-mode
# nudge after the first answer (Enter = Yes: settings switch to auto).
mkdir -p "$T/dcfg"; echo '{"hasCompletedOnboarding":true}' >"$T/dcfg/.claude.json"
echo '{"permissions":{"defaultMode":"bypassPermissions"}}' >"$T/dcfg/settings.json"
: >"$FAKE_STACK_DIR/claude-dialogs.jsonl"; : >"$FAKE_STACK_DIR/claude-turns.jsonl"
printf '\n\n' | FAKE_CLAUDE_SERVE_PROMPT=1 CLAUDE_CONFIG_DIR="$T/dcfg" IS_SANDBOX=1 ANTHROPIC_BASE_URL="http://127.0.0.1:$KP" \
  ANTHROPIC_AUTH_TOKEN=local-tok ANTHROPIC_API_KEY=sk-ant-api03-dialogtest-0123456789abcdef \
  timeout 3 claude --dangerously-skip-permissions hello >"$T/dlg.out" 2>&1
python3 -c "import json; print([json.loads(l)['dialog'] for l in open('$FAKE_STACK_DIR/claude-dialogs.jsonl')])" >"$T/x"
eq "$(<"$T/x")" "['custom-api-key', 'auto-mode-nudge']" "dialogs shown in 2.1.332's order"
file_has "FAKE-PONG" "$FAKE_STACK_DIR/claude-turns.jsonl" "the first turn answered between them"
file_has '"auto"' "$T/dcfg/settings.json" "Enter on the nudge switched the settings to auto"
file_has "0123456789abcdef" "$T/dcfg/.claude.json" "Enter on the key dialog rejected the key"
echo '{"hasCompletedOnboarding":true}' >"$T/dcfg/.claude.json"; : >"$FAKE_STACK_DIR/claude-turns.jsonl"
FAKE_CLAUDE_SERVE_PROMPT=1 CLAUDE_CONFIG_DIR="$T/dcfg" ANTHROPIC_BASE_URL="http://127.0.0.1:$KP" \
  ANTHROPIC_API_KEY=sk-ant-api03-dialogtest-0123456789abcdef claude hello </dev/null >/dev/null 2>&1 &
CPID=$!; sleep 1
alive "$CPID" && ok "an unanswered dialog keeps it waiting" || bad "claude exited at an unanswered dialog"
[ -s "$FAKE_STACK_DIR/claude-turns.jsonl" ] && bad "a turn was served behind a dialog" || ok "no turn behind the dialog"
kill -TERM "$CPID"; wait "$CPID" 2>/dev/null
kill "$KPID" 2>/dev/null; wait "$KPID" 2>/dev/null
claude >/dev/null 2>&1 &
CPID=$!; sleep 0.5; alive "$CPID" && ok "interactive claude stays alive" || bad "interactive claude exited"
kill -TERM "$CPID"; wait "$CPID"; eq "$?" "0" "interactive claude exits 0 on SIGTERM"

# ------------------------------------------------------------------ teardown
section teardown
cd "$T/town"
run gt down; rc_is 0 "final gt down"
sleep 0.3
left=$(ours)
[ -z "$left" ] && ok "no fake process left running" || bad "processes left: $(for p in $left; do tr '\0' ' ' </proc/$p/cmdline; echo; done)"

echo "selftest: $CHECKS checks, $FAILS failed"
[ "$FAILS" = 0 ]
