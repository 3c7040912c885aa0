#!/bin/sh
# Tokens used through the key proxy today (or: week), each key's quota left
# and the forecast, as JSON (hints only, never a key).
case "${1:-today}" in
  today | week) period="${1:-today}" ;;
  *) echo "usage.sh [today|week]" >&2; exit 2 ;;
esac
exec "$(dirname "$0")/api.sh" GET "usage?period=$period"
