## Every string gasclaw shows in Telegram. Plain text: gasclaw escapes it
## and adds the HTML itself. Every locale must have every key with the same
## placeholders (a test checks).

bot-intro = Gasclaw runs and guards this team's coding agents: the Gastown town and its Mayor, Dolt, the OpenClaw overseer and the Kimi key pool.
help-title = Commands you may use ({ $role }):
help-overseer = Plain text in a private chat, a mention of the bot in a group, or /ask goes to the overseer agent.

role-member = group member
role-operator = operator
role-owner = owner

cmd-start = What this bot is and what you may do
cmd-help = The commands you may use
cmd-status = Health of every service and the agents' activity
cmd-keys = The Kimi key pools (operators: /keys clear key)
cmd-agents = The agents and whether each runs
cmd-activity = Time since the agents' last commit
cmd-restart = Restart a service
cmd-bootstrap = Bring the whole stack up (safe to repeat)
cmd-stop = Stop the whole stack
cmd-mute = Silence a check's alerts for a while
cmd-unmute = Hear a check's alerts again
cmd-alerts = What is down and what is muted
cmd-tasks = Open tasks (beads), newest first
cmd-task = One task in detail
cmd-newtask = Create a task
cmd-done = Close a task
cmd-version = Versions of gasclaw and the programs it runs
cmd-ask = Ask the overseer agent

stranger = This bot is private. Your Telegram id is { $id }: ask the owner to allow it.
unknown-command = Unknown command /{ $name }. See /help.
not-allowed = /{ $name } needs the { $role } role; you are { $yours }.
usage = Usage: { $usage }
usage-valid = Valid values: { $values }
usage-got = Not understood: { $got }
usage-too-long = Too long: at most { $days } days.
usage-dash = A value may not start with “-”.
error-internal = That failed: { $error }
error-bug = Something went wrong inside gasclaw; it is in the log. The bot carries on: try again.
slow-down = Slow down: at most { $n } commands a minute. Your next messages are ignored for a while.
output-cut = … cut here: { $n } more characters.

confirm-ask = { $what }? Confirm within 60 seconds.
confirm-yes = Yes
confirm-no = No
confirm-expired = This confirmation expired. Send the command again.
confirm-not-yours = Only the person who asked can answer this.
confirm-cancelled = Cancelled: { $what }.
confirm-used = Already answered.
confirm-denied = You may no longer do this.
confirm-ok = OK

action-restart = Restart { $service }
action-bootstrap = Run bootstrap
action-stop = Stop the whole stack

restarting = Restarting { $service }…
restart-done = { $service } restarted: { $action }.
restart-check = Check now: { $status } ({ $detail })
restart-failed = Restarting { $service } failed: { $error }
busy = { $service } is busy: another action is working on it. Try again shortly.

bootstrap-title = Bootstrap
bootstrap-running = running…
bootstrap-ok = The stack is up ({ $secs } s).
bootstrap-nothing = The stack was already up; nothing changed ({ $secs } s).
bootstrap-failed = Bootstrap failed at step { $step }: { $error }
bootstrap-rolledback = Rolled back: { $what }
bootstrap-busy = A bootstrap is already running.

stopping = Stopping the stack…
stop-title = Stop
stop-line-ok = { $service }: { $detail }
stop-line-failed = { $service }: failed: { $error }

status-title = Stack status
status-ok = ok
status-down = DOWN
status-unknown = unknown
status-stopped-by = stopped by { $by } at { $at }
status-all-ok = All { $n } checks ok.
status-some-down = { $n } of { $total } checks not ok.
activity-ok = Last commit { $age } ago (deadline { $deadline }).
activity-late = No commit for { $age } (deadline { $deadline }).
activity-unknown = Activity unknown: { $detail }

keys-title = Key pools
keys-pool = { $pool }: { $available } of { $total } available, { $cooling } cooling, { $invalid } invalid
keys-available = available, { $uses } uses
keys-cooling = cooling { $left } ({ $reason }), { $uses } uses
keys-invalid = invalid (refused by Kimi), { $uses } uses
keys-last429 = last 429 { $when }
keys-cleared = Cleared { $key } (it was { $was }).
keys-unavailable = The key pools are only kept by gasclaw run.
keys-usage = To clear a key: /keys clear …abcd
pool-agents = Agents
pool-overseer = Overseer

agents-title = Agents: { $running } of { $total } running
agents-error = Cannot list the agents: { $error }
agent-running = running
agent-stopped = stopped

exec-empty = (no output)
exec-failed = { $command } failed: { $error }

mon-up = Gasclaw is up.
mon-up-failed = Gasclaw started, but bootstrap failed at step { $step }: { $error }
mon-stopping = Gasclaw is stopping.
mon-down = { $state }: { $detail }
mon-still-down = still { $state } after { $for }: { $detail }
mon-recovered = recovered after { $for } down.
mon-activity-detail = no commit for { $age } min (deadline { $deadline } min)
mon-activity-late = { $detail }
mon-activity-still = still late after { $for }: { $detail }
mon-activity-resumed = activity resumed after { $for }.
mon-keys-cooling-detail = all cooling, the first returns in { $wait }
mon-keys-invalid-detail = every key was refused by Kimi as invalid
mon-keys-still = still no usable key after { $for }: { $detail }
mon-keys-recovered = available again after { $for }.
mon-key-invalid = { $pool } key { $key } was refused by Kimi as invalid; it is out of rotation until cleared.
mon-telegram-conflict = another process is polling this bot token (409); stop it: only one poller per token works
mon-heal-ok = restarted by the monitor (attempt { $n }); it was down { $for }.
mon-heal-failed = restart attempt { $n } failed: { $error }; next try in { $wait }.
mon-heal-gave-up = needs a human: { $n } restarts failed within an hour. Last error: { $error }. Fix it, then /restart { $service }.

mute-done = { $check } muted until { $until }.
unmute-done = Unmuted: { $checks }.
unmute-none = Nothing was muted.
alerts-title = Alerts
alerts-down = Down now:
alerts-down-line = { $check } since { $since }: { $detail }
alerts-none-down = Nothing is down.
alerts-muted = Muted:
alerts-muted-line = { $check } until { $until }
alerts-none-muted = Nothing is muted.
monitor-unavailable = The monitor runs only inside gasclaw run.
mon-state-down = down
mon-state-unknown = unknown
mon-state-late = late
mon-state-cooling = cooling
mon-state-conflict = in conflict
mon-state-ok = ok

overseer-timeout = The overseer did not answer within { $secs } s. Try again, or see /status.
overseer-unavailable = The overseer is unavailable ({ $why }). See /status for more.
overseer-operators-only = The overseer talks to the owner and operators only.

versions-title = Versions
version-missing = not installed
version-unknown = unknown ({ $why })
version-pinned = pinned { $version }
tasks-title = Open tasks ({ $n }, newest first)
tasks-none = No open tasks.
task-meta = { $status } · { $priority } · by { $by } · { $at }
task-created = Created { $id }: { $title }
task-closed = Closed { $id }: { $title }
task-not-found = No task matches { $id }.
tasks-no-db = The town has no task database yet: run /bootstrap first.

# Token usage (/usage, budgets)
usage-town = the town
mon-budget-title = token budget
mon-budget = { $scope } has used { $level } % of its daily budget ({ $used } of { $budget } tokens).
cmd-usage = Tokens the agents used, each key's quota left and the forecast
usage-period-today = today
usage-period-week = the last 7 days
usage-title = Token usage, { $period }
usage-total = { $total } tokens in { $requests } requests: input { $input }, output { $output }, cache write { $cw }, cache read { $cr }
usage-failed = { $failed } failed, { $cancelled } cancelled
usage-top = Top slots
usage-slot = { $slot }: { $total } ({ $requests } requests)
usage-keys = Quota left per key
usage-key = { $pool } { $key }: { $left } % left ({ $used } of { $limit } used)
usage-key-reset = resets { $when }
usage-no-quota = Quota: unknown (Kimi's usage endpoint has not answered).
usage-forecast = Forecast
usage-forecast-dry = { $pool } pool: { $left } % left, dry in ~{ $in } at the current rate
usage-forecast-reset = { $pool } pool: { $left } % left, lasts until it resets { $when }
usage-forecast-norate = { $pool } pool: { $left } % left, no burn rate measured yet
usage-burn = Burn rate: ~{ $rate } tokens/h over the last 6 h
usage-empty = No token usage recorded yet.
usage-unavailable = Token usage cannot be read: { $error }
usage-chart-caption = Tokens per hour by slot, and each key's quota left ({ $period }).
