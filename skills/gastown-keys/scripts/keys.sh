#!/bin/sh
# The key pools as JSON (hints only, never a key).
exec gasclaw keys --json
