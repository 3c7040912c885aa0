#!/bin/sh
# Installed vs pinned versions as JSON; exit 1 when anything differs.
exec gasclaw update --check --json
