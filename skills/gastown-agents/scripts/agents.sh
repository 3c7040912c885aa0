#!/bin/sh
# The agents and whether each runs, as JSON.
exec "$(dirname "$0")/api.sh" GET agents
