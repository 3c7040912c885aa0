#!/bin/sh
# Prints gasclaw's health report as JSON; exits 0 when every check is ok.
exec gasclaw status --json
