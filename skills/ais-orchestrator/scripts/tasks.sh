#!/bin/sh
# Open tasks as JSON, newest first.
exec "$(dirname "$0")/api.sh" GET tasks
