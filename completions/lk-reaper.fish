# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_lk_reaper_global_optspecs
    string join \n url= api-key= api-secret= api-secret-file= project= config= redis-url= timeout= request-timeout= concurrency= o/output= v/verbose q/quiet log-format= color= h/help V/version
end

function __fish_lk_reaper_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_lk_reaper_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_lk_reaper_using_subcommand
    set -l cmd (__fish_lk_reaper_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -l url -d 'LiveKit server URL (ws://, wss://, http:// or https://)' -r
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -l api-key -d 'API key' -r
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -l api-secret -d 'API secret; prefer the environment or --api-secret-file: a flag is visible to other users in the process list' -r
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -l api-secret-file -d 'Read the API secret from a file (systemd credentials, Kubernetes secrets); a trailing newline is trimmed' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -l project -d 'Take url, key and secret from this project in the lk CLI\'s ~/.livekit/cli-config.yaml' -r
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -l config -d 'TOML policy file' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -l redis-url -d 'Read LiveKit\'s own Redis (redis:// or rediss://) to find zombie rooms, whose node is gone; read-only unless --purge-zombies' -r
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -l timeout -d 'Deadline for the whole run, 1s to 24h; past it no new work starts [default: 60s]' -r
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -l request-timeout -d 'Deadline for one API call, 100ms to 1h [default: 10s]' -r
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -l concurrency -d 'API calls in flight at most [default: 16]' -r
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -s o -l output -d 'Report format on stdout' -r -f -a "table\t'Aligned table for people'
json\t'One JSON document'
ndjson\t'One JSON finding per line, then the summary line'
junit\t'JUnit XML for CI test reports: a test case per room and egress in scope; offenders fail'"
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -l log-format -d 'Log format on stderr' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per event'"
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -l color -d 'When to use colors and progress on stderr and in the table (NO_COLOR is honoured)' -r -f -a "auto\t'Colors when stderr / stdout is a terminal and NO_COLOR is unset'
always\t'Always'
never\t'Never'"
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -s v -l verbose -d 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides'
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -s q -l quiet -d 'Less log output on stderr (-q: errors only, -qq: no log; a run that fails still says why in one line)'
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -s V -l version -d 'Print version'
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -f -a "sweep" -d 'Find offending rooms and egresses and act on them (--dry-run: only report)'
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -f -a "serve" -d 'Act on LiveKit webhooks as they arrive, with a full sweep at start-up and on an interval'
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -f -a "rooms" -d 'Read-only inventory: rooms, age, humans / others, active egress, verdict'
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -f -a "egress" -d 'Read-only inventory: active egresses, age, room, verdict'
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -f -a "ingress" -d 'Read-only inventory: ingresses, input type, room, status, enabled, verdict'
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -f -a "snapshot" -d 'Write the live inventory as a scenario file for `simulate` (read-only)'
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -f -a "simulate" -d 'Serve a LiveKit API simulator from a scenario file on loopback'
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -f -a "demo" -d 'Run a dry-run sweep, then a real sweep, against a built-in simulated LiveKit'
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c lk-reaper -n "__fish_lk_reaper_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l max-actions -d 'Refuse to act when the plan holds more actions than this [default: 100]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l metrics-file -d 'Write Prometheus metrics (textfile collector format) to this file, atomically' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l notify-url -d 'POST a JSON summary (Slack incoming-webhook compatible) here after a real sweep' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l pushgateway -d 'Push the run\'s metrics (those of --metrics-file) to this Prometheus Pushgateway, as job lk-reaper (grouped by shard when sharded); a failed push is a warning' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l humanless -d 'What to do with a room that has no human' -r -f -a "off\t'Leave humanless rooms alone'
stop-egress\t'Stop the room\'s active egresses, keep the room'
delete-room\t'Stop the room\'s active egresses, then delete the room'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l humanless-grace -d 'How old a humanless room must be before it offends [default: 5m]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l max-room-age -d 'Delete rooms created longer ago than this [default: off]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l max-egress-age -d 'Stop egresses that started longer ago than this [default: off]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l orphan-egress -d 'Stop active egresses whose room no longer exists [default: on]' -r -f -a "on\t'Enabled'
off\t'Disabled'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l orphan-grace -d 'An egress younger than this is never an orphan [default: 2m]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l silent-after -d 'Stop the egresses of a room whose every human has been silent (publishing nothing, or everything muted) this long, by lk-reaper\'s memory (--state) [default: off]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l silent -d 'What to do with a room silent for --silent-after' -r -f -a "stop-egress\t'Stop the room\'s room-bound egresses, keep the room'
delete-room\t'Stop the room\'s egresses, then delete the room'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l max-session -d 'Remove a human connected longer than this (RemoveParticipant) [default: off]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l state -d 'Remember between runs when each room was first seen without a human, or silent, in this JSON file (created if missing; locked while a run uses it)' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l sip-ring-limit -d 'A phone leg still `dialing` or `ringing` this long after it joined is not human [default: 5m]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l ingress -d 'What to do with an ingress still publishing into a room with no human, past the room\'s humanless grace (its encoder would bring a deleted room back) [default: report]' -r -f -a "off\t'Leave ingresses alone and say nothing'
report\t'Report the ingress (result `skipped`); the room is handled as humanless'
disable\t'Disable a reusable (RTMP, WHIP) ingress with UpdateIngress, then handle the room'
delete\t'Delete the ingress with DeleteIngress, then handle the room'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l human-kind -d 'Count this participant kind as human too (repeatable); the human kinds are standard, sip and connector unless the config file\'s human_kinds lists others' -r -f -a "standard\t'A regular client (also bots that join as one)'
ingress\t'An ingress stream'
egress\t'An egress recorder'
sip\t'A SIP (phone) participant; human only while its sip.callStatus is active, automation or absent'
agent\t'An agent'
connector\t'A connector (WhatsApp, Twilio)'
bridge\t'A bridge (RTSP camera)'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l not-human-kind -d 'Do not count this participant kind as human (repeatable)' -r -f -a "standard\t'A regular client (also bots that join as one)'
ingress\t'An ingress stream'
egress\t'An egress recorder'
sip\t'A SIP (phone) participant; human only while its sip.callStatus is active, automation or absent'
agent\t'An agent'
connector\t'A connector (WhatsApp, Twilio)'
bridge\t'A bridge (RTSP camera)'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l not-human -d 'Identities matching this glob are never human (repeatable)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l room -d 'Only rooms whose name matches this glob (repeatable)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l exclude-room -d 'Never touch rooms matching this glob, nor their egresses (repeatable)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l shard -d 'Take only shard K of N (0-based), split by a stable hash of the room name' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l shard-count -d 'Take shard JOB_COMPLETION_INDEX of N: the pod\'s index in a Kubernetes Indexed Job whose completions is N' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l summary-file -d 'Append a Markdown summary and table of the run to this file (in GitHub Actions: $GITHUB_STEP_SUMMARY)' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l url -d 'LiveKit server URL (ws://, wss://, http:// or https://)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l api-key -d 'API key' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l api-secret -d 'API secret; prefer the environment or --api-secret-file: a flag is visible to other users in the process list' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l api-secret-file -d 'Read the API secret from a file (systemd credentials, Kubernetes secrets); a trailing newline is trimmed' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l project -d 'Take url, key and secret from this project in the lk CLI\'s ~/.livekit/cli-config.yaml' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l config -d 'TOML policy file' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l redis-url -d 'Read LiveKit\'s own Redis (redis:// or rediss://) to find zombie rooms, whose node is gone; read-only unless --purge-zombies' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l timeout -d 'Deadline for the whole run, 1s to 24h; past it no new work starts [default: 60s]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l request-timeout -d 'Deadline for one API call, 100ms to 1h [default: 10s]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l concurrency -d 'API calls in flight at most [default: 16]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -s o -l output -d 'Report format on stdout' -r -f -a "table\t'Aligned table for people'
json\t'One JSON document'
ndjson\t'One JSON finding per line, then the summary line'
junit\t'JUnit XML for CI test reports: a test case per room and egress in scope; offenders fail'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l log-format -d 'Log format on stderr' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per event'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l color -d 'When to use colors and progress on stderr and in the table (NO_COLOR is honoured)' -r -f -a "auto\t'Colors when stderr / stdout is a terminal and NO_COLOR is unset'
always\t'Always'
never\t'Never'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -s n -l dry-run -d 'Only report what would be done; make no change'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l notify-dry-run -d 'Also notify after a dry run'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l purge-zombies -d 'Remove zombie rooms\' records from LiveKit\'s Redis, as LiveKit\'s own DeleteRoom would (needs --redis-url; counts against --max-actions)'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -l exit-code -d 'Exit with code 3 when offenders were found (for CI smoke checks)'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -s v -l verbose -d 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -s q -l quiet -d 'Less log output on stderr (-q: errors only, -qq: no log; a run that fails still says why in one line)'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand sweep" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l listen -d 'Address to serve webhooks, /healthz and /metrics on' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l webhook-path -d 'Path LiveKit posts webhooks to' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l sweep-every -d 'Full sweep at start-up and then this often' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l max-actions-per-minute -d 'Event-driven checks act at most this often per minute; a bigger burst is refused and logged' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l max-actions -d 'Refuse to act when the plan holds more actions than this [default: 100]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l metrics-file -d 'Write Prometheus metrics (textfile collector format) to this file, atomically' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l notify-url -d 'POST a JSON summary (Slack incoming-webhook compatible) here after a real sweep' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l pushgateway -d 'Push the run\'s metrics (those of --metrics-file) to this Prometheus Pushgateway, as job lk-reaper (grouped by shard when sharded); a failed push is a warning' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l humanless -d 'What to do with a room that has no human' -r -f -a "off\t'Leave humanless rooms alone'
stop-egress\t'Stop the room\'s active egresses, keep the room'
delete-room\t'Stop the room\'s active egresses, then delete the room'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l humanless-grace -d 'How old a humanless room must be before it offends [default: 5m]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l max-room-age -d 'Delete rooms created longer ago than this [default: off]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l max-egress-age -d 'Stop egresses that started longer ago than this [default: off]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l orphan-egress -d 'Stop active egresses whose room no longer exists [default: on]' -r -f -a "on\t'Enabled'
off\t'Disabled'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l orphan-grace -d 'An egress younger than this is never an orphan [default: 2m]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l silent-after -d 'Stop the egresses of a room whose every human has been silent (publishing nothing, or everything muted) this long, by lk-reaper\'s memory (--state) [default: off]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l silent -d 'What to do with a room silent for --silent-after' -r -f -a "stop-egress\t'Stop the room\'s room-bound egresses, keep the room'
delete-room\t'Stop the room\'s egresses, then delete the room'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l max-session -d 'Remove a human connected longer than this (RemoveParticipant) [default: off]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l state -d 'Remember between runs when each room was first seen without a human, or silent, in this JSON file (created if missing; locked while a run uses it)' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l sip-ring-limit -d 'A phone leg still `dialing` or `ringing` this long after it joined is not human [default: 5m]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l ingress -d 'What to do with an ingress still publishing into a room with no human, past the room\'s humanless grace (its encoder would bring a deleted room back) [default: report]' -r -f -a "off\t'Leave ingresses alone and say nothing'
report\t'Report the ingress (result `skipped`); the room is handled as humanless'
disable\t'Disable a reusable (RTMP, WHIP) ingress with UpdateIngress, then handle the room'
delete\t'Delete the ingress with DeleteIngress, then handle the room'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l human-kind -d 'Count this participant kind as human too (repeatable); the human kinds are standard, sip and connector unless the config file\'s human_kinds lists others' -r -f -a "standard\t'A regular client (also bots that join as one)'
ingress\t'An ingress stream'
egress\t'An egress recorder'
sip\t'A SIP (phone) participant; human only while its sip.callStatus is active, automation or absent'
agent\t'An agent'
connector\t'A connector (WhatsApp, Twilio)'
bridge\t'A bridge (RTSP camera)'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l not-human-kind -d 'Do not count this participant kind as human (repeatable)' -r -f -a "standard\t'A regular client (also bots that join as one)'
ingress\t'An ingress stream'
egress\t'An egress recorder'
sip\t'A SIP (phone) participant; human only while its sip.callStatus is active, automation or absent'
agent\t'An agent'
connector\t'A connector (WhatsApp, Twilio)'
bridge\t'A bridge (RTSP camera)'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l not-human -d 'Identities matching this glob are never human (repeatable)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l room -d 'Only rooms whose name matches this glob (repeatable)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l exclude-room -d 'Never touch rooms matching this glob, nor their egresses (repeatable)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l shard -d 'Take only shard K of N (0-based), split by a stable hash of the room name' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l shard-count -d 'Take shard JOB_COMPLETION_INDEX of N: the pod\'s index in a Kubernetes Indexed Job whose completions is N' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l summary-file -d 'Append a Markdown summary and table of the run to this file (in GitHub Actions: $GITHUB_STEP_SUMMARY)' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l url -d 'LiveKit server URL (ws://, wss://, http:// or https://)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l api-key -d 'API key' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l api-secret -d 'API secret; prefer the environment or --api-secret-file: a flag is visible to other users in the process list' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l api-secret-file -d 'Read the API secret from a file (systemd credentials, Kubernetes secrets); a trailing newline is trimmed' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l project -d 'Take url, key and secret from this project in the lk CLI\'s ~/.livekit/cli-config.yaml' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l config -d 'TOML policy file' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l redis-url -d 'Read LiveKit\'s own Redis (redis:// or rediss://) to find zombie rooms, whose node is gone; read-only unless --purge-zombies' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l timeout -d 'Deadline for the whole run, 1s to 24h; past it no new work starts [default: 60s]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l request-timeout -d 'Deadline for one API call, 100ms to 1h [default: 10s]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l concurrency -d 'API calls in flight at most [default: 16]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -s o -l output -d 'Report format on stdout' -r -f -a "table\t'Aligned table for people'
json\t'One JSON document'
ndjson\t'One JSON finding per line, then the summary line'
junit\t'JUnit XML for CI test reports: a test case per room and egress in scope; offenders fail'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l log-format -d 'Log format on stderr' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per event'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l color -d 'When to use colors and progress on stderr and in the table (NO_COLOR is honoured)' -r -f -a "auto\t'Colors when stderr / stdout is a terminal and NO_COLOR is unset'
always\t'Always'
never\t'Never'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -s n -l dry-run -d 'Only report what would be done; make no change'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l notify-dry-run -d 'Also notify after a dry run'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l purge-zombies -d 'Remove zombie rooms\' records from LiveKit\'s Redis, as LiveKit\'s own DeleteRoom would (needs --redis-url; counts against --max-actions)'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -l exit-code -d 'Exit with code 3 when offenders were found (for CI smoke checks)'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -s v -l verbose -d 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -s q -l quiet -d 'Less log output on stderr (-q: errors only, -qq: no log; a run that fails still says why in one line)'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l humanless -d 'What to do with a room that has no human' -r -f -a "off\t'Leave humanless rooms alone'
stop-egress\t'Stop the room\'s active egresses, keep the room'
delete-room\t'Stop the room\'s active egresses, then delete the room'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l humanless-grace -d 'How old a humanless room must be before it offends [default: 5m]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l max-room-age -d 'Delete rooms created longer ago than this [default: off]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l max-egress-age -d 'Stop egresses that started longer ago than this [default: off]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l orphan-egress -d 'Stop active egresses whose room no longer exists [default: on]' -r -f -a "on\t'Enabled'
off\t'Disabled'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l orphan-grace -d 'An egress younger than this is never an orphan [default: 2m]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l silent-after -d 'Stop the egresses of a room whose every human has been silent (publishing nothing, or everything muted) this long, by lk-reaper\'s memory (--state) [default: off]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l silent -d 'What to do with a room silent for --silent-after' -r -f -a "stop-egress\t'Stop the room\'s room-bound egresses, keep the room'
delete-room\t'Stop the room\'s egresses, then delete the room'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l max-session -d 'Remove a human connected longer than this (RemoveParticipant) [default: off]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l state -d 'Remember between runs when each room was first seen without a human, or silent, in this JSON file (created if missing; locked while a run uses it)' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l sip-ring-limit -d 'A phone leg still `dialing` or `ringing` this long after it joined is not human [default: 5m]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l ingress -d 'What to do with an ingress still publishing into a room with no human, past the room\'s humanless grace (its encoder would bring a deleted room back) [default: report]' -r -f -a "off\t'Leave ingresses alone and say nothing'
report\t'Report the ingress (result `skipped`); the room is handled as humanless'
disable\t'Disable a reusable (RTMP, WHIP) ingress with UpdateIngress, then handle the room'
delete\t'Delete the ingress with DeleteIngress, then handle the room'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l human-kind -d 'Count this participant kind as human too (repeatable); the human kinds are standard, sip and connector unless the config file\'s human_kinds lists others' -r -f -a "standard\t'A regular client (also bots that join as one)'
ingress\t'An ingress stream'
egress\t'An egress recorder'
sip\t'A SIP (phone) participant; human only while its sip.callStatus is active, automation or absent'
agent\t'An agent'
connector\t'A connector (WhatsApp, Twilio)'
bridge\t'A bridge (RTSP camera)'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l not-human-kind -d 'Do not count this participant kind as human (repeatable)' -r -f -a "standard\t'A regular client (also bots that join as one)'
ingress\t'An ingress stream'
egress\t'An egress recorder'
sip\t'A SIP (phone) participant; human only while its sip.callStatus is active, automation or absent'
agent\t'An agent'
connector\t'A connector (WhatsApp, Twilio)'
bridge\t'A bridge (RTSP camera)'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l not-human -d 'Identities matching this glob are never human (repeatable)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l room -d 'Only rooms whose name matches this glob (repeatable)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l exclude-room -d 'Never touch rooms matching this glob, nor their egresses (repeatable)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l shard -d 'Take only shard K of N (0-based), split by a stable hash of the room name' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l shard-count -d 'Take shard JOB_COMPLETION_INDEX of N: the pod\'s index in a Kubernetes Indexed Job whose completions is N' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l summary-file -d 'Append a Markdown summary and table of the run to this file (in GitHub Actions: $GITHUB_STEP_SUMMARY)' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l url -d 'LiveKit server URL (ws://, wss://, http:// or https://)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l api-key -d 'API key' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l api-secret -d 'API secret; prefer the environment or --api-secret-file: a flag is visible to other users in the process list' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l api-secret-file -d 'Read the API secret from a file (systemd credentials, Kubernetes secrets); a trailing newline is trimmed' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l project -d 'Take url, key and secret from this project in the lk CLI\'s ~/.livekit/cli-config.yaml' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l config -d 'TOML policy file' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l redis-url -d 'Read LiveKit\'s own Redis (redis:// or rediss://) to find zombie rooms, whose node is gone; read-only unless --purge-zombies' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l timeout -d 'Deadline for the whole run, 1s to 24h; past it no new work starts [default: 60s]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l request-timeout -d 'Deadline for one API call, 100ms to 1h [default: 10s]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l concurrency -d 'API calls in flight at most [default: 16]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -s o -l output -d 'Report format on stdout' -r -f -a "table\t'Aligned table for people'
json\t'One JSON document'
ndjson\t'One JSON finding per line, then the summary line'
junit\t'JUnit XML for CI test reports: a test case per room and egress in scope; offenders fail'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l log-format -d 'Log format on stderr' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per event'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l color -d 'When to use colors and progress on stderr and in the table (NO_COLOR is honoured)' -r -f -a "auto\t'Colors when stderr / stdout is a terminal and NO_COLOR is unset'
always\t'Always'
never\t'Never'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -l exit-code -d 'Exit with code 3 when offenders were found (for CI smoke checks)'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -s v -l verbose -d 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -s q -l quiet -d 'Less log output on stderr (-q: errors only, -qq: no log; a run that fails still says why in one line)'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand rooms" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l humanless -d 'What to do with a room that has no human' -r -f -a "off\t'Leave humanless rooms alone'
stop-egress\t'Stop the room\'s active egresses, keep the room'
delete-room\t'Stop the room\'s active egresses, then delete the room'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l humanless-grace -d 'How old a humanless room must be before it offends [default: 5m]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l max-room-age -d 'Delete rooms created longer ago than this [default: off]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l max-egress-age -d 'Stop egresses that started longer ago than this [default: off]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l orphan-egress -d 'Stop active egresses whose room no longer exists [default: on]' -r -f -a "on\t'Enabled'
off\t'Disabled'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l orphan-grace -d 'An egress younger than this is never an orphan [default: 2m]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l silent-after -d 'Stop the egresses of a room whose every human has been silent (publishing nothing, or everything muted) this long, by lk-reaper\'s memory (--state) [default: off]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l silent -d 'What to do with a room silent for --silent-after' -r -f -a "stop-egress\t'Stop the room\'s room-bound egresses, keep the room'
delete-room\t'Stop the room\'s egresses, then delete the room'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l max-session -d 'Remove a human connected longer than this (RemoveParticipant) [default: off]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l state -d 'Remember between runs when each room was first seen without a human, or silent, in this JSON file (created if missing; locked while a run uses it)' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l sip-ring-limit -d 'A phone leg still `dialing` or `ringing` this long after it joined is not human [default: 5m]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l ingress -d 'What to do with an ingress still publishing into a room with no human, past the room\'s humanless grace (its encoder would bring a deleted room back) [default: report]' -r -f -a "off\t'Leave ingresses alone and say nothing'
report\t'Report the ingress (result `skipped`); the room is handled as humanless'
disable\t'Disable a reusable (RTMP, WHIP) ingress with UpdateIngress, then handle the room'
delete\t'Delete the ingress with DeleteIngress, then handle the room'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l human-kind -d 'Count this participant kind as human too (repeatable); the human kinds are standard, sip and connector unless the config file\'s human_kinds lists others' -r -f -a "standard\t'A regular client (also bots that join as one)'
ingress\t'An ingress stream'
egress\t'An egress recorder'
sip\t'A SIP (phone) participant; human only while its sip.callStatus is active, automation or absent'
agent\t'An agent'
connector\t'A connector (WhatsApp, Twilio)'
bridge\t'A bridge (RTSP camera)'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l not-human-kind -d 'Do not count this participant kind as human (repeatable)' -r -f -a "standard\t'A regular client (also bots that join as one)'
ingress\t'An ingress stream'
egress\t'An egress recorder'
sip\t'A SIP (phone) participant; human only while its sip.callStatus is active, automation or absent'
agent\t'An agent'
connector\t'A connector (WhatsApp, Twilio)'
bridge\t'A bridge (RTSP camera)'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l not-human -d 'Identities matching this glob are never human (repeatable)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l room -d 'Only rooms whose name matches this glob (repeatable)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l exclude-room -d 'Never touch rooms matching this glob, nor their egresses (repeatable)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l shard -d 'Take only shard K of N (0-based), split by a stable hash of the room name' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l shard-count -d 'Take shard JOB_COMPLETION_INDEX of N: the pod\'s index in a Kubernetes Indexed Job whose completions is N' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l summary-file -d 'Append a Markdown summary and table of the run to this file (in GitHub Actions: $GITHUB_STEP_SUMMARY)' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l url -d 'LiveKit server URL (ws://, wss://, http:// or https://)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l api-key -d 'API key' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l api-secret -d 'API secret; prefer the environment or --api-secret-file: a flag is visible to other users in the process list' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l api-secret-file -d 'Read the API secret from a file (systemd credentials, Kubernetes secrets); a trailing newline is trimmed' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l project -d 'Take url, key and secret from this project in the lk CLI\'s ~/.livekit/cli-config.yaml' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l config -d 'TOML policy file' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l redis-url -d 'Read LiveKit\'s own Redis (redis:// or rediss://) to find zombie rooms, whose node is gone; read-only unless --purge-zombies' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l timeout -d 'Deadline for the whole run, 1s to 24h; past it no new work starts [default: 60s]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l request-timeout -d 'Deadline for one API call, 100ms to 1h [default: 10s]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l concurrency -d 'API calls in flight at most [default: 16]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -s o -l output -d 'Report format on stdout' -r -f -a "table\t'Aligned table for people'
json\t'One JSON document'
ndjson\t'One JSON finding per line, then the summary line'
junit\t'JUnit XML for CI test reports: a test case per room and egress in scope; offenders fail'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l log-format -d 'Log format on stderr' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per event'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l color -d 'When to use colors and progress on stderr and in the table (NO_COLOR is honoured)' -r -f -a "auto\t'Colors when stderr / stdout is a terminal and NO_COLOR is unset'
always\t'Always'
never\t'Never'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -l exit-code -d 'Exit with code 3 when offenders were found (for CI smoke checks)'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -s v -l verbose -d 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -s q -l quiet -d 'Less log output on stderr (-q: errors only, -qq: no log; a run that fails still says why in one line)'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand egress" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l humanless -d 'What to do with a room that has no human' -r -f -a "off\t'Leave humanless rooms alone'
stop-egress\t'Stop the room\'s active egresses, keep the room'
delete-room\t'Stop the room\'s active egresses, then delete the room'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l humanless-grace -d 'How old a humanless room must be before it offends [default: 5m]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l max-room-age -d 'Delete rooms created longer ago than this [default: off]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l max-egress-age -d 'Stop egresses that started longer ago than this [default: off]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l orphan-egress -d 'Stop active egresses whose room no longer exists [default: on]' -r -f -a "on\t'Enabled'
off\t'Disabled'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l orphan-grace -d 'An egress younger than this is never an orphan [default: 2m]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l silent-after -d 'Stop the egresses of a room whose every human has been silent (publishing nothing, or everything muted) this long, by lk-reaper\'s memory (--state) [default: off]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l silent -d 'What to do with a room silent for --silent-after' -r -f -a "stop-egress\t'Stop the room\'s room-bound egresses, keep the room'
delete-room\t'Stop the room\'s egresses, then delete the room'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l max-session -d 'Remove a human connected longer than this (RemoveParticipant) [default: off]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l state -d 'Remember between runs when each room was first seen without a human, or silent, in this JSON file (created if missing; locked while a run uses it)' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l sip-ring-limit -d 'A phone leg still `dialing` or `ringing` this long after it joined is not human [default: 5m]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l ingress -d 'What to do with an ingress still publishing into a room with no human, past the room\'s humanless grace (its encoder would bring a deleted room back) [default: report]' -r -f -a "off\t'Leave ingresses alone and say nothing'
report\t'Report the ingress (result `skipped`); the room is handled as humanless'
disable\t'Disable a reusable (RTMP, WHIP) ingress with UpdateIngress, then handle the room'
delete\t'Delete the ingress with DeleteIngress, then handle the room'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l human-kind -d 'Count this participant kind as human too (repeatable); the human kinds are standard, sip and connector unless the config file\'s human_kinds lists others' -r -f -a "standard\t'A regular client (also bots that join as one)'
ingress\t'An ingress stream'
egress\t'An egress recorder'
sip\t'A SIP (phone) participant; human only while its sip.callStatus is active, automation or absent'
agent\t'An agent'
connector\t'A connector (WhatsApp, Twilio)'
bridge\t'A bridge (RTSP camera)'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l not-human-kind -d 'Do not count this participant kind as human (repeatable)' -r -f -a "standard\t'A regular client (also bots that join as one)'
ingress\t'An ingress stream'
egress\t'An egress recorder'
sip\t'A SIP (phone) participant; human only while its sip.callStatus is active, automation or absent'
agent\t'An agent'
connector\t'A connector (WhatsApp, Twilio)'
bridge\t'A bridge (RTSP camera)'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l not-human -d 'Identities matching this glob are never human (repeatable)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l room -d 'Only rooms whose name matches this glob (repeatable)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l exclude-room -d 'Never touch rooms matching this glob, nor their egresses (repeatable)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l shard -d 'Take only shard K of N (0-based), split by a stable hash of the room name' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l shard-count -d 'Take shard JOB_COMPLETION_INDEX of N: the pod\'s index in a Kubernetes Indexed Job whose completions is N' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l summary-file -d 'Append a Markdown summary and table of the run to this file (in GitHub Actions: $GITHUB_STEP_SUMMARY)' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l url -d 'LiveKit server URL (ws://, wss://, http:// or https://)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l api-key -d 'API key' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l api-secret -d 'API secret; prefer the environment or --api-secret-file: a flag is visible to other users in the process list' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l api-secret-file -d 'Read the API secret from a file (systemd credentials, Kubernetes secrets); a trailing newline is trimmed' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l project -d 'Take url, key and secret from this project in the lk CLI\'s ~/.livekit/cli-config.yaml' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l config -d 'TOML policy file' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l redis-url -d 'Read LiveKit\'s own Redis (redis:// or rediss://) to find zombie rooms, whose node is gone; read-only unless --purge-zombies' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l timeout -d 'Deadline for the whole run, 1s to 24h; past it no new work starts [default: 60s]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l request-timeout -d 'Deadline for one API call, 100ms to 1h [default: 10s]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l concurrency -d 'API calls in flight at most [default: 16]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -s o -l output -d 'Report format on stdout' -r -f -a "table\t'Aligned table for people'
json\t'One JSON document'
ndjson\t'One JSON finding per line, then the summary line'
junit\t'JUnit XML for CI test reports: a test case per room and egress in scope; offenders fail'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l log-format -d 'Log format on stderr' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per event'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l color -d 'When to use colors and progress on stderr and in the table (NO_COLOR is honoured)' -r -f -a "auto\t'Colors when stderr / stdout is a terminal and NO_COLOR is unset'
always\t'Always'
never\t'Never'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -l exit-code -d 'Exit with code 3 when offenders were found (for CI smoke checks)'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -s v -l verbose -d 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -s q -l quiet -d 'Less log output on stderr (-q: errors only, -qq: no log; a run that fails still says why in one line)'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand ingress" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand snapshot" -s f -l file -d 'Write the scenario here instead of stdout' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand snapshot" -l url -d 'LiveKit server URL (ws://, wss://, http:// or https://)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand snapshot" -l api-key -d 'API key' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand snapshot" -l api-secret -d 'API secret; prefer the environment or --api-secret-file: a flag is visible to other users in the process list' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand snapshot" -l api-secret-file -d 'Read the API secret from a file (systemd credentials, Kubernetes secrets); a trailing newline is trimmed' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand snapshot" -l project -d 'Take url, key and secret from this project in the lk CLI\'s ~/.livekit/cli-config.yaml' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand snapshot" -l config -d 'TOML policy file' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand snapshot" -l redis-url -d 'Read LiveKit\'s own Redis (redis:// or rediss://) to find zombie rooms, whose node is gone; read-only unless --purge-zombies' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand snapshot" -l timeout -d 'Deadline for the whole run, 1s to 24h; past it no new work starts [default: 60s]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand snapshot" -l request-timeout -d 'Deadline for one API call, 100ms to 1h [default: 10s]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand snapshot" -l concurrency -d 'API calls in flight at most [default: 16]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand snapshot" -s o -l output -d 'Report format on stdout' -r -f -a "table\t'Aligned table for people'
json\t'One JSON document'
ndjson\t'One JSON finding per line, then the summary line'
junit\t'JUnit XML for CI test reports: a test case per room and egress in scope; offenders fail'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand snapshot" -l log-format -d 'Log format on stderr' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per event'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand snapshot" -l color -d 'When to use colors and progress on stderr and in the table (NO_COLOR is honoured)' -r -f -a "auto\t'Colors when stderr / stdout is a terminal and NO_COLOR is unset'
always\t'Always'
never\t'Never'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand snapshot" -s v -l verbose -d 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand snapshot" -s q -l quiet -d 'Less log output on stderr (-q: errors only, -qq: no log; a run that fails still says why in one line)'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand snapshot" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand simulate" -l scenario -d 'Scenario file (JSON) to serve' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand simulate" -l generate -d 'Generate a deterministic synthetic fleet of N rooms instead' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand simulate" -l seed -d 'Seed for --generate' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand simulate" -l listen -d 'Address to listen on (loopback only; port 0 picks a free port)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand simulate" -l latency -d 'Delay every API call by this much (overrides the scenario\'s latency_ms)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand simulate" -l tls-cert -d 'Serve TLS with this certificate chain (PEM)' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand simulate" -l tls-key -d 'Private key for --tls-cert (PEM)' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand simulate" -l webhook-url -d 'Post signed webhooks of every change here, as LiveKit does (repeatable)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand simulate" -l url -d 'LiveKit server URL (ws://, wss://, http:// or https://)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand simulate" -l api-key -d 'API key' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand simulate" -l api-secret -d 'API secret; prefer the environment or --api-secret-file: a flag is visible to other users in the process list' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand simulate" -l api-secret-file -d 'Read the API secret from a file (systemd credentials, Kubernetes secrets); a trailing newline is trimmed' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand simulate" -l project -d 'Take url, key and secret from this project in the lk CLI\'s ~/.livekit/cli-config.yaml' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand simulate" -l config -d 'TOML policy file' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand simulate" -l redis-url -d 'Read LiveKit\'s own Redis (redis:// or rediss://) to find zombie rooms, whose node is gone; read-only unless --purge-zombies' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand simulate" -l timeout -d 'Deadline for the whole run, 1s to 24h; past it no new work starts [default: 60s]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand simulate" -l request-timeout -d 'Deadline for one API call, 100ms to 1h [default: 10s]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand simulate" -l concurrency -d 'API calls in flight at most [default: 16]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand simulate" -s o -l output -d 'Report format on stdout' -r -f -a "table\t'Aligned table for people'
json\t'One JSON document'
ndjson\t'One JSON finding per line, then the summary line'
junit\t'JUnit XML for CI test reports: a test case per room and egress in scope; offenders fail'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand simulate" -l log-format -d 'Log format on stderr' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per event'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand simulate" -l color -d 'When to use colors and progress on stderr and in the table (NO_COLOR is honoured)' -r -f -a "auto\t'Colors when stderr / stdout is a terminal and NO_COLOR is unset'
always\t'Always'
never\t'Never'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand simulate" -l print-scenario -d 'Print the scenario JSON and exit'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand simulate" -s v -l verbose -d 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand simulate" -s q -l quiet -d 'Less log output on stderr (-q: errors only, -qq: no log; a run that fails still says why in one line)'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand simulate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand demo" -l url -d 'LiveKit server URL (ws://, wss://, http:// or https://)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand demo" -l api-key -d 'API key' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand demo" -l api-secret -d 'API secret; prefer the environment or --api-secret-file: a flag is visible to other users in the process list' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand demo" -l api-secret-file -d 'Read the API secret from a file (systemd credentials, Kubernetes secrets); a trailing newline is trimmed' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand demo" -l project -d 'Take url, key and secret from this project in the lk CLI\'s ~/.livekit/cli-config.yaml' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand demo" -l config -d 'TOML policy file' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand demo" -l redis-url -d 'Read LiveKit\'s own Redis (redis:// or rediss://) to find zombie rooms, whose node is gone; read-only unless --purge-zombies' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand demo" -l timeout -d 'Deadline for the whole run, 1s to 24h; past it no new work starts [default: 60s]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand demo" -l request-timeout -d 'Deadline for one API call, 100ms to 1h [default: 10s]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand demo" -l concurrency -d 'API calls in flight at most [default: 16]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand demo" -s o -l output -d 'Report format on stdout' -r -f -a "table\t'Aligned table for people'
json\t'One JSON document'
ndjson\t'One JSON finding per line, then the summary line'
junit\t'JUnit XML for CI test reports: a test case per room and egress in scope; offenders fail'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand demo" -l log-format -d 'Log format on stderr' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per event'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand demo" -l color -d 'When to use colors and progress on stderr and in the table (NO_COLOR is honoured)' -r -f -a "auto\t'Colors when stderr / stdout is a terminal and NO_COLOR is unset'
always\t'Always'
never\t'Never'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand demo" -s v -l verbose -d 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand demo" -s q -l quiet -d 'Less log output on stderr (-q: errors only, -qq: no log; a run that fails still says why in one line)'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand demo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand completions" -l url -d 'LiveKit server URL (ws://, wss://, http:// or https://)' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand completions" -l api-key -d 'API key' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand completions" -l api-secret -d 'API secret; prefer the environment or --api-secret-file: a flag is visible to other users in the process list' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand completions" -l api-secret-file -d 'Read the API secret from a file (systemd credentials, Kubernetes secrets); a trailing newline is trimmed' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand completions" -l project -d 'Take url, key and secret from this project in the lk CLI\'s ~/.livekit/cli-config.yaml' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand completions" -l config -d 'TOML policy file' -r -F
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand completions" -l redis-url -d 'Read LiveKit\'s own Redis (redis:// or rediss://) to find zombie rooms, whose node is gone; read-only unless --purge-zombies' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand completions" -l timeout -d 'Deadline for the whole run, 1s to 24h; past it no new work starts [default: 60s]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand completions" -l request-timeout -d 'Deadline for one API call, 100ms to 1h [default: 10s]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand completions" -l concurrency -d 'API calls in flight at most [default: 16]' -r
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand completions" -s o -l output -d 'Report format on stdout' -r -f -a "table\t'Aligned table for people'
json\t'One JSON document'
ndjson\t'One JSON finding per line, then the summary line'
junit\t'JUnit XML for CI test reports: a test case per room and egress in scope; offenders fail'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand completions" -l log-format -d 'Log format on stderr' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per event'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand completions" -l color -d 'When to use colors and progress on stderr and in the table (NO_COLOR is honoured)' -r -f -a "auto\t'Colors when stderr / stdout is a terminal and NO_COLOR is unset'
always\t'Always'
never\t'Never'"
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand completions" -s v -l verbose -d 'More log output on stderr (-v: each action, -vv: each API call, -vvv: trace); RUST_LOG overrides'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand completions" -s q -l quiet -d 'Less log output on stderr (-q: errors only, -qq: no log; a run that fails still says why in one line)'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand help; and not __fish_seen_subcommand_from sweep serve rooms egress ingress snapshot simulate demo completions help" -f -a "sweep" -d 'Find offending rooms and egresses and act on them (--dry-run: only report)'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand help; and not __fish_seen_subcommand_from sweep serve rooms egress ingress snapshot simulate demo completions help" -f -a "serve" -d 'Act on LiveKit webhooks as they arrive, with a full sweep at start-up and on an interval'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand help; and not __fish_seen_subcommand_from sweep serve rooms egress ingress snapshot simulate demo completions help" -f -a "rooms" -d 'Read-only inventory: rooms, age, humans / others, active egress, verdict'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand help; and not __fish_seen_subcommand_from sweep serve rooms egress ingress snapshot simulate demo completions help" -f -a "egress" -d 'Read-only inventory: active egresses, age, room, verdict'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand help; and not __fish_seen_subcommand_from sweep serve rooms egress ingress snapshot simulate demo completions help" -f -a "ingress" -d 'Read-only inventory: ingresses, input type, room, status, enabled, verdict'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand help; and not __fish_seen_subcommand_from sweep serve rooms egress ingress snapshot simulate demo completions help" -f -a "snapshot" -d 'Write the live inventory as a scenario file for `simulate` (read-only)'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand help; and not __fish_seen_subcommand_from sweep serve rooms egress ingress snapshot simulate demo completions help" -f -a "simulate" -d 'Serve a LiveKit API simulator from a scenario file on loopback'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand help; and not __fish_seen_subcommand_from sweep serve rooms egress ingress snapshot simulate demo completions help" -f -a "demo" -d 'Run a dry-run sweep, then a real sweep, against a built-in simulated LiveKit'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand help; and not __fish_seen_subcommand_from sweep serve rooms egress ingress snapshot simulate demo completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c lk-reaper -n "__fish_lk_reaper_using_subcommand help; and not __fish_seen_subcommand_from sweep serve rooms egress ingress snapshot simulate demo completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
