#!/bin/sh
# One task as JSON.
case "$1" in
  ''|-*|*/*) echo "usage: task.sh <id>" >&2; exit 2 ;;
esac
exec "$(dirname "$0")/api.sh" GET "tasks/$1"
