#!/bin/sh
# One task as JSON.
[ -n "$1" ] || { echo "usage: task.sh <id>" >&2; exit 2; }
exec gasclaw tasks show "$1" --json
