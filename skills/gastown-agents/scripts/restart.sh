#!/bin/sh
# Restarts one service through gasclaw (which refuses anything else).
case "$1" in
  dolt|daemon|mayor|gateway|agents) exec gasclaw restart "$1" ;;
  *) echo "usage: restart.sh dolt|daemon|mayor|gateway|agents" >&2; exit 2 ;;
esac
