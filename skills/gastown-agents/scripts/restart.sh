#!/bin/sh
# Asks gasclaw to restart a service: gasclaw refuses (the overseer only
# reads); the answer tells the operator to use /restart.
case "$1" in
  dolt|daemon|mayor|gateway|agents) exec "$(dirname "$0")/api.sh" POST "restart/$1" ;;
  *) echo "usage: restart.sh dolt|daemon|mayor|gateway|agents" >&2; exit 2 ;;
esac
