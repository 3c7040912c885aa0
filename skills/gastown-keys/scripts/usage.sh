#!/bin/sh
# Tokens used through the key proxy, each key's quota left and the forecast,
# as JSON (hints only, never a key). Arguments: --since 24h|7d|2026-12-01,
# --by slot|key|model|hour.
exec gasclaw usage --json "$@"
