#!/bin/sh
# Open tasks (beads) as JSON, newest first.
exec gasclaw tasks list --json
