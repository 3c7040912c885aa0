#!/bin/sh
# The key pools as JSON (keys only by hint).
exec "$(dirname "$0")/api.sh" GET keys
