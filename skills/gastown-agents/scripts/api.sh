#!/bin/sh
# Calls gasclaw's local overseer endpoint: `api.sh GET|POST <path>`.
# GASCLAW_API_URL and GASCLAW_API_TOKEN come from the gateway's environment
# (gasclaw sets them when it starts the gateway). The token goes to curl on
# its standard input (a config line), never on a command line `ps` shows.
# Prints the JSON answer; exit 0 on 2xx, 1 otherwise (the answer says why).
set -u
if [ -z "${GASCLAW_API_URL:-}" ] || [ -z "${GASCLAW_API_TOKEN:-}" ]; then
  echo '{"error":"GASCLAW_API_URL and GASCLAW_API_TOKEN are not set: this script runs inside the OpenClaw gateway that gasclaw started"}'
  exit 1
fi
method=$1
path=$2
printf 'header = "Authorization: Bearer %s"\n' "$GASCLAW_API_TOKEN" |
  curl --silent --show-error --max-time 60 --config - \
    --request "$method" --write-out '\n%{http_code}' "$GASCLAW_API_URL/overseer/$path" >"${TMPDIR:-/tmp}/gasclaw-api.$$" 2>&1
rc=$?
answer=$(sed '$d' "${TMPDIR:-/tmp}/gasclaw-api.$$")
code=$(tail -n 1 "${TMPDIR:-/tmp}/gasclaw-api.$$")
rm -f "${TMPDIR:-/tmp}/gasclaw-api.$$"
if [ "$rc" -ne 0 ]; then
  printf '{"error":"cannot reach gasclaw at %s (curl exit %s)"}\n' "$GASCLAW_API_URL" "$rc"
  exit 1
fi
printf '%s\n' "$answer"
case "$code" in 2??) exit 0 ;; *) exit 1 ;; esac
