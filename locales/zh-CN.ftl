## gasclaw 在 Telegram 中显示的所有文字。纯文本：gasclaw 负责转义并添加 HTML。
## 每个语言文件必须包含全部键，且占位符相同（有测试检查）。

bot-intro = Gasclaw 负责运行和守护本团队的编码智能体：Gastown 小镇及其 Mayor、Dolt、OpenClaw 监督者和 Kimi 密钥池。
help-title = 你可以使用的命令（{ $role }）：
help-overseer = 私聊中的普通文字、群组中提及本机器人的消息或 /ask 会发送给监督者智能体。

role-member = 群组成员
role-operator = 操作员
role-owner = 所有者

cmd-start = 本机器人是什么，你能做什么
cmd-help = 你可以使用的命令
cmd-status = 各服务的健康状况和智能体的活动
cmd-keys = Kimi 密钥池（操作员：/keys clear 密钥）
cmd-agents = 智能体列表及其运行状态
cmd-activity = 距智能体最近一次提交的时间
cmd-restart = 重启一个服务
cmd-bootstrap = 启动整个系统（可安全重复）
cmd-stop = 停止整个系统
cmd-mute = 暂时静音某项检查的告警
cmd-unmute = 恢复某项检查的告警
cmd-alerts = 哪些服务故障、哪些告警已静音
cmd-tasks = 未完成的任务（beads），最新的在前
cmd-task = 查看一个任务的详情
cmd-newtask = 创建任务
cmd-done = 关闭任务
cmd-version = gasclaw 及其运行的程序的版本
cmd-ask = 向监督者智能体提问

stranger = 这是私有机器人。你的 Telegram id 是 { $id }：请让所有者把它加入允许列表。
unknown-command = 未知命令 /{ $name }。请看 /help。
not-allowed = /{ $name } 需要 { $role } 角色；你是 { $yours }。
usage = 用法：{ $usage }
usage-valid = 可用的值：{ $values }
usage-got = 无法理解：{ $got }
usage-too-long = 时间太长：最多 { $days } 天。
usage-dash = 值不能以“-”开头。
error-internal = 操作失败：{ $error }
error-bug = gasclaw 内部出错，已记入日志。机器人仍在运行：请重试。
slow-down = 请慢一点：每分钟最多 { $n } 条命令。接下来一段时间你的消息将被忽略。
output-cut = …… 已截断：还有 { $n } 个字符。

confirm-ask = { $what }？请在 60 秒内确认。
confirm-yes = 确认
confirm-no = 取消
confirm-expired = 此确认已过期。请重新发送命令。
confirm-not-yours = 只有发出命令的人可以回答。
confirm-cancelled = 已取消：{ $what }。
confirm-used = 已经回答过了。
confirm-denied = 你已无权执行此操作。
confirm-ok = 好的

action-restart = 重启 { $service }
action-bootstrap = 运行 bootstrap
action-stop = 停止整个系统

restarting = 正在重启 { $service }……
restart-done = { $service } 已重启：{ $action }。
restart-check = 当前检查：{ $status }（{ $detail }）
restart-failed = 重启 { $service } 失败：{ $error }
busy = { $service } 正忙：另一个操作正在处理它。请稍后再试。

bootstrap-title = Bootstrap
bootstrap-running = 运行中……
bootstrap-ok = 系统已启动（{ $secs } 秒）。
bootstrap-nothing = 系统早已启动，没有任何改变（{ $secs } 秒）。
bootstrap-failed = Bootstrap 在步骤 { $step } 失败：{ $error }
bootstrap-rolledback = 已回滚：{ $what }
bootstrap-busy = 已有一个 bootstrap 正在运行。

stopping = 正在停止系统……
stop-title = 停止
stop-line-ok = { $service }：{ $detail }
stop-line-failed = { $service }：失败：{ $error }

status-title = 系统状态
status-ok = 正常
status-down = 故障
status-unknown = 未知
status-stopped-by = 已由 { $by } 于 { $at } 停止
status-all-ok = 全部 { $n } 项检查正常。
status-some-down = { $total } 项检查中有 { $n } 项不正常。
activity-ok = 最近一次提交在 { $age } 前（期限 { $deadline }）。
activity-late = 已有 { $age } 没有提交（期限 { $deadline }）。
activity-unknown = 活动情况未知：{ $detail }

keys-title = 密钥池
keys-pool = { $pool }：{ $total } 个中 { $available } 个可用，{ $cooling } 个冷却中，{ $invalid } 个无效
keys-available = 可用，已用 { $uses } 次
keys-cooling = 冷却中，还剩 { $left }（{ $reason }），已用 { $uses } 次
keys-invalid = 无效（被 Kimi 拒绝），已用 { $uses } 次
keys-last429 = 最近一次 429：{ $when }
keys-cleared = 已清除 { $key }（之前状态：{ $was }）。
keys-unavailable = 密钥池只由 gasclaw run 维护。
keys-usage = 清除密钥：/keys clear …abcd
pool-agents = 智能体
pool-overseer = 监督者

agents-title = 智能体：{ $total } 个中 { $running } 个在运行
agents-error = 无法列出智能体：{ $error }
agent-running = 运行中
agent-stopped = 已停止

exec-empty = （无输出）
exec-failed = { $command } 失败：{ $error }

mon-up = Gasclaw 已启动。
mon-up-failed = Gasclaw 已启动，但 bootstrap 在步骤 { $step } 失败：{ $error }
mon-stopping = Gasclaw 正在停止。
mon-down = { $state }：{ $detail }
mon-still-down = 仍然{ $state }，已持续 { $for }：{ $detail }
mon-recovered = 已恢复，之前故障了 { $for }。
mon-activity-detail = 已 { $age } 分钟没有提交（期限 { $deadline } 分钟）
mon-activity-late = { $detail }
mon-activity-still = 仍然超期，已持续 { $for }：{ $detail }
mon-activity-resumed = 活动已恢复，中断了 { $for }。
mon-keys-cooling-detail = 全部冷却中，第一个将在 { $wait } 后可用
mon-keys-invalid-detail = 所有密钥都被 Kimi 判定为无效
mon-keys-still = { $for } 后仍无可用密钥：{ $detail }
mon-keys-recovered = 已重新可用，中断了 { $for }。
mon-key-invalid = { $pool } 密钥 { $key } 被 Kimi 判定为无效，在清除前不再轮换使用。
mon-telegram-conflict = 另一个进程正在轮询此机器人令牌（409）；请停止它：一个令牌只能有一个轮询者
mon-heal-ok = 已由监控重启（第 { $n } 次尝试）；之前故障了 { $for }。
mon-heal-failed = 第 { $n } 次重启失败：{ $error }；将在 { $wait } 后重试。
mon-heal-gave-up = 需要人工处理：一小时内 { $n } 次重启均失败。最后的错误：{ $error }。修复后请执行 /restart { $service }。

mute-done = { $check } 已静音，直到 { $until }。
unmute-done = 已取消静音：{ $checks }。
unmute-none = 没有静音的项目。
alerts-title = 告警
alerts-down = 当前故障：
alerts-down-line = { $check } 自 { $since } 起：{ $detail }
alerts-none-down = 没有故障。
alerts-muted = 已静音：
alerts-muted-line = { $check } 直到 { $until }
alerts-none-muted = 没有静音的项目。
monitor-unavailable = 监控只在 gasclaw run 中运行。
mon-state-down = 故障
mon-state-unknown = 状态未知
mon-state-late = 超期
mon-state-cooling = 冷却中
mon-state-conflict = 冲突
mon-state-ok = 正常

overseer-timeout = 监督者在 { $secs } 秒内没有回答。请重试，或查看 /status。
overseer-unavailable = 监督者不可用（{ $why }）。更多信息请看 /status。
overseer-operators-only = 监督者只与所有者和操作员对话。

versions-title = 版本
version-missing = 未安装
version-unknown = 未知（{ $why }）
version-pinned = 固定版本 { $version }
tasks-title = 未完成的任务（{ $n } 个，最新的在前）
tasks-none = 没有未完成的任务。
task-meta = { $status } · { $priority } · 创建者 { $by } · { $at }
task-created = 已创建 { $id }：{ $title }
task-closed = 已关闭 { $id }：{ $title }
task-not-found = 没有与 { $id } 匹配的任务。
tasks-no-db = 小镇还没有任务数据库：请先运行 /bootstrap。

# Token 用量（/usage、预算）
usage-town = 整个小镇
mon-budget-title = Token 预算
mon-budget = { $scope } 已用掉每日预算的 { $level }%（{ $used } / { $budget } tokens）。
cmd-usage = 智能体的 Token 用量、每个密钥的剩余额度与预测
usage-period-today = 今天
usage-period-week = 最近 7 天
usage-title = Token 用量：{ $period }
usage-total = 共 { $total } tokens，{ $requests } 次请求：输入 { $input }，输出 { $output }，缓存写入 { $cw }，缓存读取 { $cr }
usage-failed = { $failed } 次失败，{ $cancelled } 次取消
usage-top = 用量最多的席位
usage-slot = { $slot }：{ $total }（{ $requests } 次请求）
usage-keys = 每个密钥的剩余额度
usage-key = { $pool } { $key }：剩余 { $left }%（已用 { $used } / { $limit }）
usage-key-reset = { $when } 重置
usage-no-quota = 额度：未知（Kimi 的用量接口尚未应答）。
usage-forecast = 预测
usage-forecast-dry = { $pool }池：剩余 { $left }%，按当前速度约 { $in } 后用尽
usage-forecast-reset = { $pool }池：剩余 { $left }%，可撑到 { $when } 重置
usage-forecast-norate = { $pool }池：剩余 { $left }%，尚未测得消耗速度
usage-burn = 消耗速度：最近 6 小时约 { $rate } tokens/小时
usage-empty = 尚无 Token 用量记录。
usage-unavailable = 无法读取 Token 用量：{ $error }
usage-chart-caption = 各席位每小时的 Token 用量，以及每个密钥的剩余额度（{ $period }）。
