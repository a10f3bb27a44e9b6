
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'lk-reaper' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'lk-reaper'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'lk-reaper' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'LiveKit server URL (ws://, wss://, http:// or https://)')
            [CompletionResult]::new('--api-key', '--api-key', [CompletionResultType]::ParameterName, 'API key')
            [CompletionResult]::new('--api-secret', '--api-secret', [CompletionResultType]::ParameterName, 'API secret; prefer the environment or --api-secret-file: a flag is visible to other users in the process list')
            [CompletionResult]::new('--api-secret-file', '--api-secret-file', [CompletionResultType]::ParameterName, 'Read the API secret from a file (systemd credentials, Kubernetes secrets); a trailing newline is trimmed')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Take url, key and secret from this project in the lk CLI''s ~/.livekit/cli-config.yaml')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'TOML policy file')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline for the whole run, 1s to 24h; past it no new work starts [default: 60s]')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline for one API call, 100ms to 1h [default: 10s]')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'API calls in flight at most [default: 16]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log format on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors and progress on stderr and in the table (NO_COLOR is honoured)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output on stderr (-q: errors only, -qq: nothing)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output on stderr (-q: errors only, -qq: nothing)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('sweep', 'sweep', [CompletionResultType]::ParameterValue, 'Find offending rooms and egresses and act on them (--dry-run: only report)')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Act on LiveKit webhooks as they arrive, with a full sweep at start-up and on an interval')
            [CompletionResult]::new('rooms', 'rooms', [CompletionResultType]::ParameterValue, 'Read-only inventory: rooms, age, humans / others, active egress, verdict')
            [CompletionResult]::new('egress', 'egress', [CompletionResultType]::ParameterValue, 'Read-only inventory: active egresses, age, room, verdict')
            [CompletionResult]::new('snapshot', 'snapshot', [CompletionResultType]::ParameterValue, 'Write the live inventory as a scenario file for `simulate` (read-only)')
            [CompletionResult]::new('simulate', 'simulate', [CompletionResultType]::ParameterValue, 'Serve a LiveKit API simulator from a scenario file on loopback')
            [CompletionResult]::new('demo', 'demo', [CompletionResultType]::ParameterValue, 'Run a dry-run sweep, then a real sweep, against a built-in simulated LiveKit')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'lk-reaper;sweep' {
            [CompletionResult]::new('--max-actions', '--max-actions', [CompletionResultType]::ParameterName, 'Refuse to act when the plan holds more actions than this [default: 100]')
            [CompletionResult]::new('--metrics-file', '--metrics-file', [CompletionResultType]::ParameterName, 'Write Prometheus metrics (textfile collector format) to this file, atomically')
            [CompletionResult]::new('--notify-url', '--notify-url', [CompletionResultType]::ParameterName, 'POST a JSON summary (Slack incoming-webhook compatible) here after a real sweep')
            [CompletionResult]::new('--humanless', '--humanless', [CompletionResultType]::ParameterName, 'What to do with a room that has no human')
            [CompletionResult]::new('--humanless-grace', '--humanless-grace', [CompletionResultType]::ParameterName, 'How old a humanless room must be before it offends [default: 5m]')
            [CompletionResult]::new('--max-room-age', '--max-room-age', [CompletionResultType]::ParameterName, 'Delete rooms created longer ago than this [default: off]')
            [CompletionResult]::new('--max-egress-age', '--max-egress-age', [CompletionResultType]::ParameterName, 'Stop egresses that started longer ago than this [default: off]')
            [CompletionResult]::new('--orphan-egress', '--orphan-egress', [CompletionResultType]::ParameterName, 'Stop active egresses whose room no longer exists [default: on]')
            [CompletionResult]::new('--orphan-grace', '--orphan-grace', [CompletionResultType]::ParameterName, 'An egress younger than this is never an orphan [default: 2m]')
            [CompletionResult]::new('--silent-after', '--silent-after', [CompletionResultType]::ParameterName, 'Stop the egresses of a room whose every human has been silent (publishing nothing, or everything muted) this long, by lk-reaper''s memory (--state) [default: off]')
            [CompletionResult]::new('--silent', '--silent', [CompletionResultType]::ParameterName, 'What to do with a room silent for --silent-after')
            [CompletionResult]::new('--max-session', '--max-session', [CompletionResultType]::ParameterName, 'Remove a human connected longer than this (RemoveParticipant) [default: off]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Remember between runs when each room was first seen without a human, or silent, in this JSON file (created if missing; locked while a run uses it)')
            [CompletionResult]::new('--sip-ring-limit', '--sip-ring-limit', [CompletionResultType]::ParameterName, 'A phone leg still `dialing` or `ringing` this long after it joined is not human [default: 5m]')
            [CompletionResult]::new('--human-kind', '--human-kind', [CompletionResultType]::ParameterName, 'Participant kinds that count as human (repeatable) [default: standard, sip, connector]')
            [CompletionResult]::new('--not-human', '--not-human', [CompletionResultType]::ParameterName, 'Identities matching this glob are never human (repeatable)')
            [CompletionResult]::new('--room', '--room', [CompletionResultType]::ParameterName, 'Only rooms whose name matches this glob (repeatable)')
            [CompletionResult]::new('--exclude-room', '--exclude-room', [CompletionResultType]::ParameterName, 'Never touch rooms matching this glob, nor their egresses (repeatable)')
            [CompletionResult]::new('--shard', '--shard', [CompletionResultType]::ParameterName, 'Take only shard K of N (0-based), split by a stable hash of the room name')
            [CompletionResult]::new('--shard-count', '--shard-count', [CompletionResultType]::ParameterName, 'Take shard JOB_COMPLETION_INDEX of N: the pod''s index in a Kubernetes Indexed Job whose completions is N')
            [CompletionResult]::new('--redis-url', '--redis-url', [CompletionResultType]::ParameterName, 'Read LiveKit''s own Redis (redis:// or rediss://) to find zombie rooms, whose node is gone; read-only unless --purge-zombies')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'LiveKit server URL (ws://, wss://, http:// or https://)')
            [CompletionResult]::new('--api-key', '--api-key', [CompletionResultType]::ParameterName, 'API key')
            [CompletionResult]::new('--api-secret', '--api-secret', [CompletionResultType]::ParameterName, 'API secret; prefer the environment or --api-secret-file: a flag is visible to other users in the process list')
            [CompletionResult]::new('--api-secret-file', '--api-secret-file', [CompletionResultType]::ParameterName, 'Read the API secret from a file (systemd credentials, Kubernetes secrets); a trailing newline is trimmed')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Take url, key and secret from this project in the lk CLI''s ~/.livekit/cli-config.yaml')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'TOML policy file')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline for the whole run, 1s to 24h; past it no new work starts [default: 60s]')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline for one API call, 100ms to 1h [default: 10s]')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'API calls in flight at most [default: 16]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log format on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors and progress on stderr and in the table (NO_COLOR is honoured)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Only report what would be done; make no change')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Only report what would be done; make no change')
            [CompletionResult]::new('--notify-dry-run', '--notify-dry-run', [CompletionResultType]::ParameterName, 'Also notify after a dry run')
            [CompletionResult]::new('--purge-zombies', '--purge-zombies', [CompletionResultType]::ParameterName, 'Remove zombie rooms'' records from LiveKit''s Redis, as LiveKit''s own DeleteRoom would (needs --redis-url; counts against --max-actions)')
            [CompletionResult]::new('--exit-code', '--exit-code', [CompletionResultType]::ParameterName, 'Exit with code 3 when offenders were found (for CI smoke checks)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output on stderr (-q: errors only, -qq: nothing)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output on stderr (-q: errors only, -qq: nothing)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'lk-reaper;serve' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to serve webhooks, /healthz and /metrics on')
            [CompletionResult]::new('--webhook-path', '--webhook-path', [CompletionResultType]::ParameterName, 'Path LiveKit posts webhooks to')
            [CompletionResult]::new('--sweep-every', '--sweep-every', [CompletionResultType]::ParameterName, 'Full sweep at start-up and then this often')
            [CompletionResult]::new('--max-actions-per-minute', '--max-actions-per-minute', [CompletionResultType]::ParameterName, 'Event-driven checks act at most this often per minute; a bigger burst is refused and logged')
            [CompletionResult]::new('--max-actions', '--max-actions', [CompletionResultType]::ParameterName, 'Refuse to act when the plan holds more actions than this [default: 100]')
            [CompletionResult]::new('--metrics-file', '--metrics-file', [CompletionResultType]::ParameterName, 'Write Prometheus metrics (textfile collector format) to this file, atomically')
            [CompletionResult]::new('--notify-url', '--notify-url', [CompletionResultType]::ParameterName, 'POST a JSON summary (Slack incoming-webhook compatible) here after a real sweep')
            [CompletionResult]::new('--humanless', '--humanless', [CompletionResultType]::ParameterName, 'What to do with a room that has no human')
            [CompletionResult]::new('--humanless-grace', '--humanless-grace', [CompletionResultType]::ParameterName, 'How old a humanless room must be before it offends [default: 5m]')
            [CompletionResult]::new('--max-room-age', '--max-room-age', [CompletionResultType]::ParameterName, 'Delete rooms created longer ago than this [default: off]')
            [CompletionResult]::new('--max-egress-age', '--max-egress-age', [CompletionResultType]::ParameterName, 'Stop egresses that started longer ago than this [default: off]')
            [CompletionResult]::new('--orphan-egress', '--orphan-egress', [CompletionResultType]::ParameterName, 'Stop active egresses whose room no longer exists [default: on]')
            [CompletionResult]::new('--orphan-grace', '--orphan-grace', [CompletionResultType]::ParameterName, 'An egress younger than this is never an orphan [default: 2m]')
            [CompletionResult]::new('--silent-after', '--silent-after', [CompletionResultType]::ParameterName, 'Stop the egresses of a room whose every human has been silent (publishing nothing, or everything muted) this long, by lk-reaper''s memory (--state) [default: off]')
            [CompletionResult]::new('--silent', '--silent', [CompletionResultType]::ParameterName, 'What to do with a room silent for --silent-after')
            [CompletionResult]::new('--max-session', '--max-session', [CompletionResultType]::ParameterName, 'Remove a human connected longer than this (RemoveParticipant) [default: off]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Remember between runs when each room was first seen without a human, or silent, in this JSON file (created if missing; locked while a run uses it)')
            [CompletionResult]::new('--sip-ring-limit', '--sip-ring-limit', [CompletionResultType]::ParameterName, 'A phone leg still `dialing` or `ringing` this long after it joined is not human [default: 5m]')
            [CompletionResult]::new('--human-kind', '--human-kind', [CompletionResultType]::ParameterName, 'Participant kinds that count as human (repeatable) [default: standard, sip, connector]')
            [CompletionResult]::new('--not-human', '--not-human', [CompletionResultType]::ParameterName, 'Identities matching this glob are never human (repeatable)')
            [CompletionResult]::new('--room', '--room', [CompletionResultType]::ParameterName, 'Only rooms whose name matches this glob (repeatable)')
            [CompletionResult]::new('--exclude-room', '--exclude-room', [CompletionResultType]::ParameterName, 'Never touch rooms matching this glob, nor their egresses (repeatable)')
            [CompletionResult]::new('--shard', '--shard', [CompletionResultType]::ParameterName, 'Take only shard K of N (0-based), split by a stable hash of the room name')
            [CompletionResult]::new('--shard-count', '--shard-count', [CompletionResultType]::ParameterName, 'Take shard JOB_COMPLETION_INDEX of N: the pod''s index in a Kubernetes Indexed Job whose completions is N')
            [CompletionResult]::new('--redis-url', '--redis-url', [CompletionResultType]::ParameterName, 'Read LiveKit''s own Redis (redis:// or rediss://) to find zombie rooms, whose node is gone; read-only unless --purge-zombies')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'LiveKit server URL (ws://, wss://, http:// or https://)')
            [CompletionResult]::new('--api-key', '--api-key', [CompletionResultType]::ParameterName, 'API key')
            [CompletionResult]::new('--api-secret', '--api-secret', [CompletionResultType]::ParameterName, 'API secret; prefer the environment or --api-secret-file: a flag is visible to other users in the process list')
            [CompletionResult]::new('--api-secret-file', '--api-secret-file', [CompletionResultType]::ParameterName, 'Read the API secret from a file (systemd credentials, Kubernetes secrets); a trailing newline is trimmed')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Take url, key and secret from this project in the lk CLI''s ~/.livekit/cli-config.yaml')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'TOML policy file')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline for the whole run, 1s to 24h; past it no new work starts [default: 60s]')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline for one API call, 100ms to 1h [default: 10s]')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'API calls in flight at most [default: 16]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log format on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors and progress on stderr and in the table (NO_COLOR is honoured)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Only report what would be done; make no change')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Only report what would be done; make no change')
            [CompletionResult]::new('--notify-dry-run', '--notify-dry-run', [CompletionResultType]::ParameterName, 'Also notify after a dry run')
            [CompletionResult]::new('--purge-zombies', '--purge-zombies', [CompletionResultType]::ParameterName, 'Remove zombie rooms'' records from LiveKit''s Redis, as LiveKit''s own DeleteRoom would (needs --redis-url; counts against --max-actions)')
            [CompletionResult]::new('--exit-code', '--exit-code', [CompletionResultType]::ParameterName, 'Exit with code 3 when offenders were found (for CI smoke checks)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output on stderr (-q: errors only, -qq: nothing)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output on stderr (-q: errors only, -qq: nothing)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'lk-reaper;rooms' {
            [CompletionResult]::new('--humanless', '--humanless', [CompletionResultType]::ParameterName, 'What to do with a room that has no human')
            [CompletionResult]::new('--humanless-grace', '--humanless-grace', [CompletionResultType]::ParameterName, 'How old a humanless room must be before it offends [default: 5m]')
            [CompletionResult]::new('--max-room-age', '--max-room-age', [CompletionResultType]::ParameterName, 'Delete rooms created longer ago than this [default: off]')
            [CompletionResult]::new('--max-egress-age', '--max-egress-age', [CompletionResultType]::ParameterName, 'Stop egresses that started longer ago than this [default: off]')
            [CompletionResult]::new('--orphan-egress', '--orphan-egress', [CompletionResultType]::ParameterName, 'Stop active egresses whose room no longer exists [default: on]')
            [CompletionResult]::new('--orphan-grace', '--orphan-grace', [CompletionResultType]::ParameterName, 'An egress younger than this is never an orphan [default: 2m]')
            [CompletionResult]::new('--silent-after', '--silent-after', [CompletionResultType]::ParameterName, 'Stop the egresses of a room whose every human has been silent (publishing nothing, or everything muted) this long, by lk-reaper''s memory (--state) [default: off]')
            [CompletionResult]::new('--silent', '--silent', [CompletionResultType]::ParameterName, 'What to do with a room silent for --silent-after')
            [CompletionResult]::new('--max-session', '--max-session', [CompletionResultType]::ParameterName, 'Remove a human connected longer than this (RemoveParticipant) [default: off]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Remember between runs when each room was first seen without a human, or silent, in this JSON file (created if missing; locked while a run uses it)')
            [CompletionResult]::new('--sip-ring-limit', '--sip-ring-limit', [CompletionResultType]::ParameterName, 'A phone leg still `dialing` or `ringing` this long after it joined is not human [default: 5m]')
            [CompletionResult]::new('--human-kind', '--human-kind', [CompletionResultType]::ParameterName, 'Participant kinds that count as human (repeatable) [default: standard, sip, connector]')
            [CompletionResult]::new('--not-human', '--not-human', [CompletionResultType]::ParameterName, 'Identities matching this glob are never human (repeatable)')
            [CompletionResult]::new('--room', '--room', [CompletionResultType]::ParameterName, 'Only rooms whose name matches this glob (repeatable)')
            [CompletionResult]::new('--exclude-room', '--exclude-room', [CompletionResultType]::ParameterName, 'Never touch rooms matching this glob, nor their egresses (repeatable)')
            [CompletionResult]::new('--shard', '--shard', [CompletionResultType]::ParameterName, 'Take only shard K of N (0-based), split by a stable hash of the room name')
            [CompletionResult]::new('--shard-count', '--shard-count', [CompletionResultType]::ParameterName, 'Take shard JOB_COMPLETION_INDEX of N: the pod''s index in a Kubernetes Indexed Job whose completions is N')
            [CompletionResult]::new('--redis-url', '--redis-url', [CompletionResultType]::ParameterName, 'Read LiveKit''s own Redis (redis:// or rediss://) to find zombie rooms, whose node is gone; read-only unless --purge-zombies')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'LiveKit server URL (ws://, wss://, http:// or https://)')
            [CompletionResult]::new('--api-key', '--api-key', [CompletionResultType]::ParameterName, 'API key')
            [CompletionResult]::new('--api-secret', '--api-secret', [CompletionResultType]::ParameterName, 'API secret; prefer the environment or --api-secret-file: a flag is visible to other users in the process list')
            [CompletionResult]::new('--api-secret-file', '--api-secret-file', [CompletionResultType]::ParameterName, 'Read the API secret from a file (systemd credentials, Kubernetes secrets); a trailing newline is trimmed')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Take url, key and secret from this project in the lk CLI''s ~/.livekit/cli-config.yaml')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'TOML policy file')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline for the whole run, 1s to 24h; past it no new work starts [default: 60s]')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline for one API call, 100ms to 1h [default: 10s]')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'API calls in flight at most [default: 16]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log format on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors and progress on stderr and in the table (NO_COLOR is honoured)')
            [CompletionResult]::new('--exit-code', '--exit-code', [CompletionResultType]::ParameterName, 'Exit with code 3 when offenders were found (for CI smoke checks)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output on stderr (-q: errors only, -qq: nothing)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output on stderr (-q: errors only, -qq: nothing)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'lk-reaper;egress' {
            [CompletionResult]::new('--humanless', '--humanless', [CompletionResultType]::ParameterName, 'What to do with a room that has no human')
            [CompletionResult]::new('--humanless-grace', '--humanless-grace', [CompletionResultType]::ParameterName, 'How old a humanless room must be before it offends [default: 5m]')
            [CompletionResult]::new('--max-room-age', '--max-room-age', [CompletionResultType]::ParameterName, 'Delete rooms created longer ago than this [default: off]')
            [CompletionResult]::new('--max-egress-age', '--max-egress-age', [CompletionResultType]::ParameterName, 'Stop egresses that started longer ago than this [default: off]')
            [CompletionResult]::new('--orphan-egress', '--orphan-egress', [CompletionResultType]::ParameterName, 'Stop active egresses whose room no longer exists [default: on]')
            [CompletionResult]::new('--orphan-grace', '--orphan-grace', [CompletionResultType]::ParameterName, 'An egress younger than this is never an orphan [default: 2m]')
            [CompletionResult]::new('--silent-after', '--silent-after', [CompletionResultType]::ParameterName, 'Stop the egresses of a room whose every human has been silent (publishing nothing, or everything muted) this long, by lk-reaper''s memory (--state) [default: off]')
            [CompletionResult]::new('--silent', '--silent', [CompletionResultType]::ParameterName, 'What to do with a room silent for --silent-after')
            [CompletionResult]::new('--max-session', '--max-session', [CompletionResultType]::ParameterName, 'Remove a human connected longer than this (RemoveParticipant) [default: off]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Remember between runs when each room was first seen without a human, or silent, in this JSON file (created if missing; locked while a run uses it)')
            [CompletionResult]::new('--sip-ring-limit', '--sip-ring-limit', [CompletionResultType]::ParameterName, 'A phone leg still `dialing` or `ringing` this long after it joined is not human [default: 5m]')
            [CompletionResult]::new('--human-kind', '--human-kind', [CompletionResultType]::ParameterName, 'Participant kinds that count as human (repeatable) [default: standard, sip, connector]')
            [CompletionResult]::new('--not-human', '--not-human', [CompletionResultType]::ParameterName, 'Identities matching this glob are never human (repeatable)')
            [CompletionResult]::new('--room', '--room', [CompletionResultType]::ParameterName, 'Only rooms whose name matches this glob (repeatable)')
            [CompletionResult]::new('--exclude-room', '--exclude-room', [CompletionResultType]::ParameterName, 'Never touch rooms matching this glob, nor their egresses (repeatable)')
            [CompletionResult]::new('--shard', '--shard', [CompletionResultType]::ParameterName, 'Take only shard K of N (0-based), split by a stable hash of the room name')
            [CompletionResult]::new('--shard-count', '--shard-count', [CompletionResultType]::ParameterName, 'Take shard JOB_COMPLETION_INDEX of N: the pod''s index in a Kubernetes Indexed Job whose completions is N')
            [CompletionResult]::new('--redis-url', '--redis-url', [CompletionResultType]::ParameterName, 'Read LiveKit''s own Redis (redis:// or rediss://) to find zombie rooms, whose node is gone; read-only unless --purge-zombies')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'LiveKit server URL (ws://, wss://, http:// or https://)')
            [CompletionResult]::new('--api-key', '--api-key', [CompletionResultType]::ParameterName, 'API key')
            [CompletionResult]::new('--api-secret', '--api-secret', [CompletionResultType]::ParameterName, 'API secret; prefer the environment or --api-secret-file: a flag is visible to other users in the process list')
            [CompletionResult]::new('--api-secret-file', '--api-secret-file', [CompletionResultType]::ParameterName, 'Read the API secret from a file (systemd credentials, Kubernetes secrets); a trailing newline is trimmed')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Take url, key and secret from this project in the lk CLI''s ~/.livekit/cli-config.yaml')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'TOML policy file')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline for the whole run, 1s to 24h; past it no new work starts [default: 60s]')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline for one API call, 100ms to 1h [default: 10s]')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'API calls in flight at most [default: 16]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log format on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors and progress on stderr and in the table (NO_COLOR is honoured)')
            [CompletionResult]::new('--exit-code', '--exit-code', [CompletionResultType]::ParameterName, 'Exit with code 3 when offenders were found (for CI smoke checks)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output on stderr (-q: errors only, -qq: nothing)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output on stderr (-q: errors only, -qq: nothing)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'lk-reaper;snapshot' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Write the scenario here instead of stdout')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Write the scenario here instead of stdout')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'LiveKit server URL (ws://, wss://, http:// or https://)')
            [CompletionResult]::new('--api-key', '--api-key', [CompletionResultType]::ParameterName, 'API key')
            [CompletionResult]::new('--api-secret', '--api-secret', [CompletionResultType]::ParameterName, 'API secret; prefer the environment or --api-secret-file: a flag is visible to other users in the process list')
            [CompletionResult]::new('--api-secret-file', '--api-secret-file', [CompletionResultType]::ParameterName, 'Read the API secret from a file (systemd credentials, Kubernetes secrets); a trailing newline is trimmed')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Take url, key and secret from this project in the lk CLI''s ~/.livekit/cli-config.yaml')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'TOML policy file')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline for the whole run, 1s to 24h; past it no new work starts [default: 60s]')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline for one API call, 100ms to 1h [default: 10s]')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'API calls in flight at most [default: 16]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log format on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors and progress on stderr and in the table (NO_COLOR is honoured)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output on stderr (-q: errors only, -qq: nothing)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output on stderr (-q: errors only, -qq: nothing)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'lk-reaper;simulate' {
            [CompletionResult]::new('--scenario', '--scenario', [CompletionResultType]::ParameterName, 'Scenario file (JSON) to serve')
            [CompletionResult]::new('--generate', '--generate', [CompletionResultType]::ParameterName, 'Generate a deterministic synthetic fleet of N rooms instead')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Seed for --generate')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on (loopback only; port 0 picks a free port)')
            [CompletionResult]::new('--latency', '--latency', [CompletionResultType]::ParameterName, 'Delay every API call by this much (overrides the scenario''s latency_ms)')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'Serve TLS with this certificate chain (PEM)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'Private key for --tls-cert (PEM)')
            [CompletionResult]::new('--webhook-url', '--webhook-url', [CompletionResultType]::ParameterName, 'Post signed webhooks of every change here, as LiveKit does (repeatable)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'LiveKit server URL (ws://, wss://, http:// or https://)')
            [CompletionResult]::new('--api-key', '--api-key', [CompletionResultType]::ParameterName, 'API key')
            [CompletionResult]::new('--api-secret', '--api-secret', [CompletionResultType]::ParameterName, 'API secret; prefer the environment or --api-secret-file: a flag is visible to other users in the process list')
            [CompletionResult]::new('--api-secret-file', '--api-secret-file', [CompletionResultType]::ParameterName, 'Read the API secret from a file (systemd credentials, Kubernetes secrets); a trailing newline is trimmed')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Take url, key and secret from this project in the lk CLI''s ~/.livekit/cli-config.yaml')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'TOML policy file')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline for the whole run, 1s to 24h; past it no new work starts [default: 60s]')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline for one API call, 100ms to 1h [default: 10s]')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'API calls in flight at most [default: 16]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log format on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors and progress on stderr and in the table (NO_COLOR is honoured)')
            [CompletionResult]::new('--print-scenario', '--print-scenario', [CompletionResultType]::ParameterName, 'Print the scenario JSON and exit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output on stderr (-q: errors only, -qq: nothing)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output on stderr (-q: errors only, -qq: nothing)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'lk-reaper;demo' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'LiveKit server URL (ws://, wss://, http:// or https://)')
            [CompletionResult]::new('--api-key', '--api-key', [CompletionResultType]::ParameterName, 'API key')
            [CompletionResult]::new('--api-secret', '--api-secret', [CompletionResultType]::ParameterName, 'API secret; prefer the environment or --api-secret-file: a flag is visible to other users in the process list')
            [CompletionResult]::new('--api-secret-file', '--api-secret-file', [CompletionResultType]::ParameterName, 'Read the API secret from a file (systemd credentials, Kubernetes secrets); a trailing newline is trimmed')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Take url, key and secret from this project in the lk CLI''s ~/.livekit/cli-config.yaml')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'TOML policy file')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline for the whole run, 1s to 24h; past it no new work starts [default: 60s]')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline for one API call, 100ms to 1h [default: 10s]')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'API calls in flight at most [default: 16]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log format on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors and progress on stderr and in the table (NO_COLOR is honoured)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output on stderr (-q: errors only, -qq: nothing)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output on stderr (-q: errors only, -qq: nothing)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'lk-reaper;completions' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'LiveKit server URL (ws://, wss://, http:// or https://)')
            [CompletionResult]::new('--api-key', '--api-key', [CompletionResultType]::ParameterName, 'API key')
            [CompletionResult]::new('--api-secret', '--api-secret', [CompletionResultType]::ParameterName, 'API secret; prefer the environment or --api-secret-file: a flag is visible to other users in the process list')
            [CompletionResult]::new('--api-secret-file', '--api-secret-file', [CompletionResultType]::ParameterName, 'Read the API secret from a file (systemd credentials, Kubernetes secrets); a trailing newline is trimmed')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Take url, key and secret from this project in the lk CLI''s ~/.livekit/cli-config.yaml')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'TOML policy file')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline for the whole run, 1s to 24h; past it no new work starts [default: 60s]')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline for one API call, 100ms to 1h [default: 10s]')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'API calls in flight at most [default: 16]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log format on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colors and progress on stderr and in the table (NO_COLOR is honoured)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output on stderr (-q: errors only, -qq: nothing)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output on stderr (-q: errors only, -qq: nothing)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'lk-reaper;help' {
            [CompletionResult]::new('sweep', 'sweep', [CompletionResultType]::ParameterValue, 'Find offending rooms and egresses and act on them (--dry-run: only report)')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Act on LiveKit webhooks as they arrive, with a full sweep at start-up and on an interval')
            [CompletionResult]::new('rooms', 'rooms', [CompletionResultType]::ParameterValue, 'Read-only inventory: rooms, age, humans / others, active egress, verdict')
            [CompletionResult]::new('egress', 'egress', [CompletionResultType]::ParameterValue, 'Read-only inventory: active egresses, age, room, verdict')
            [CompletionResult]::new('snapshot', 'snapshot', [CompletionResultType]::ParameterValue, 'Write the live inventory as a scenario file for `simulate` (read-only)')
            [CompletionResult]::new('simulate', 'simulate', [CompletionResultType]::ParameterValue, 'Serve a LiveKit API simulator from a scenario file on loopback')
            [CompletionResult]::new('demo', 'demo', [CompletionResultType]::ParameterValue, 'Run a dry-run sweep, then a real sweep, against a built-in simulated LiveKit')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'lk-reaper;help;sweep' {
            break
        }
        'lk-reaper;help;serve' {
            break
        }
        'lk-reaper;help;rooms' {
            break
        }
        'lk-reaper;help;egress' {
            break
        }
        'lk-reaper;help;snapshot' {
            break
        }
        'lk-reaper;help;simulate' {
            break
        }
        'lk-reaper;help;demo' {
            break
        }
        'lk-reaper;help;completions' {
            break
        }
        'lk-reaper;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
