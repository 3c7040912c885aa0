#!/bin/sh
# Asks gasclaw to create a task: refused (the overseer only reads); the
# answer tells the operator to use /newtask.
[ -n "$1" ] || { echo "usage: newtask.sh <title...>" >&2; exit 2; }
exec "$(dirname "$0")/api.sh" POST tasks/new
