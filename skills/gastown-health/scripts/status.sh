#!/bin/sh
# gasclaw's health report as JSON; exit 0 only when every check is ok.
out=$("$(dirname "$0")/api.sh" GET status) || { printf '%s\n' "$out"; exit 1; }
printf '%s\n' "$out"
case "$out" in *'"status":"down"'*|*'"status":"unknown"'*) exit 1 ;; esac
