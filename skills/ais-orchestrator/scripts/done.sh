#!/bin/sh
# Closes a task.
[ -n "$1" ] || { echo "usage: done.sh <id>" >&2; exit 2; }
exec gasclaw tasks done "$1" --json
