#!/bin/sh
# The version check is the operator's (`gasclaw update --check`): refused.
exec "$(dirname "$0")/api.sh" GET update
