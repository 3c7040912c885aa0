#!/bin/sh
# gasclaw's health report as JSON; exit 0 when every check is ok.
exec gasclaw status --json
