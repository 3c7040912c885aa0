#!/bin/sh
# Creates a task; its title is every argument.
[ -n "$1" ] || { echo "usage: newtask.sh <title...>" >&2; exit 2; }
exec gasclaw tasks new "$@" --json
