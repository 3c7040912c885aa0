#!/bin/sh
# The agents and whether each runs, as JSON.
exec gasclaw agents --json
