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
error-internal = That failed: { $error }
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

cmd-prs = Open pull requests with their checks
cmd-pr = One pull request: checks, mergeability, size
cmd-merge = Merge a pull request whose checks all passed
cmd-issues = Open GitHub issues, and which the town has
cmd-take = Hand a GitHub issue to the town (a bead)
action-merge = Merge pull request #{ $number }
gh-off = GitHub: off (set GITHUB_TOKEN and GITHUB_REPO to watch pull requests and issues)
gh-status = GitHub: watching { $repo }
gh-status-poll = last poll { $ago } ago: { $state }
gh-status-never = not polled yet
gh-agent = agent
gh-person = person
gh-checks-none = no checks
gh-checks-pending = checks running
gh-checks-passing = checks passing
gh-checks-failing = checks failing
gh-pr-opened = New pull request #{ $number }: { $title }
gh-pr-by = by { $author } ({ $who }) · branch { $branch }
gh-pr-size = +{ $additions } −{ $deletions } in { $files } files
gh-checks-failed = Checks failing on #{ $number }: { $title }
gh-run = run
gh-checks-passed = Checks passing again on #{ $number }: { $title }
gh-review-requested = Review requested on #{ $number }: { $title } (from { $reviewers })
gh-merged = #{ $number } merged: { $title }
gh-closed = #{ $number } closed without merging: { $title }
gh-issue-opened = New issue #{ $number }: { $title } (by { $author })
gh-take-done = Issue #{ $issue }: bead { $bead } closed; the issue was told.
gh-take-done-pr = Issue #{ $issue }: bead { $bead } closed with pull request #{ $pr }; the issue was told.
gh-prs-title = Open pull requests ({ $n })
gh-prs-none = No open pull requests.
gh-prs-line = { $title } — { $author } ({ $who }), { $age } old, { $checks }
gh-pr-mergeable = Mergeable: { $state }
gh-pr-draft = Draft
gh-checks-title = Checks:
gh-check-line = { $name }: { $state }
gh-check-passed = passed
gh-check-failed = failed
gh-check-pending = running
gh-issues-title = Open issues ({ $n })
gh-issues-none = No open issues.
gh-issues-line = { $title } — { $author }, { $age } old
gh-issues-taken = with the town: { $bead }
gh-merge-done = Merged #{ $number } ({ $method }): { $title }
gh-refuse = Not merging #{ $number }: { $why }
gh-refuse-failing = checks are failing ({ $checks })
gh-refuse-pending = checks are still running ({ $checks })
gh-refuse-not-open = it is not open
gh-refuse-draft = it is a draft
gh-refuse-not-mergeable = GitHub says it cannot be merged yet ({ $state })
gh-refuse-no-method = the repository allows no merge method
gh-taken = Issue #{ $issue } handed to the town: bead { $bead } ({ $title })
gh-taken-no-comment = The bead exists, but the comment on GitHub failed; see the log.
gh-already-taken = Issue #{ $issue } is already with the town (bead { $bead }).
gh-not-issue = #{ $number } is a pull request, not an issue.
gh-issue-closed = Issue #{ $number } is closed.
gh-error = GitHub: { $error }
gh-comment-taken = 🏭 The town has this issue: bead `{ $bead }`. gasclaw will comment here when the bead is closed.
gh-comment-done = ✅ The town closed bead `{ $bead }` ({ $reason }).
gh-comment-done-pr = ✅ The town closed bead `{ $bead }` ({ $reason }). Pull request: { $pr } { $url }
