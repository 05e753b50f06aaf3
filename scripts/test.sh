#!/usr/bin/env bash
# Runs `swift test` with a watchdog, so a test that hangs fails the suite with
# a diagnosis instead of holding CI until its own time limit.
#
#   scripts/test.sh [swift test arguments…]
#
# TEST_TIMEOUT (seconds, default 2400) bounds the whole run, the build
# included. Past it the script prints the tests that started and never
# finished and every thread's backtrace of the test runner and of any
# chunkwatch it started (gdb, when installed), then kills them and exits 124.
set -uo pipefail
cd "$(dirname "$0")/.."

SWIFT=${SWIFT:-swift}
TEST_TIMEOUT=${TEST_TIMEOUT:-2400}
# Swift Testing's event stream: a JSON line per test started and ended,
# written as it happens (the console output is buffered when piped).
events=$(mktemp "${TMPDIR:-/tmp}/chunkwatch-test-events.XXXXXX")
trap '[ -n "${KEEP_EVENTS:-}" ] || rm -f "$events"' EXIT

# Its own process group, so the watchdog can take down the runner and its children.
set -m
"$SWIFT" test --event-stream-output-path "$events" --event-stream-version 0 "$@" &
runner=$!
set +m

deadline=$((SECONDS + TEST_TIMEOUT))
while kill -0 "$runner" 2>/dev/null; do
    if (( SECONDS >= deadline )); then
        echo
        echo "=== scripts/test.sh: swift test still running after ${TEST_TIMEOUT} s; what has not finished:"
        python3 - "$events" <<'EOF' || true
import json, sys, time
running, now = {}, time.time()
# A test case started and not ended is running (a test is "started" as soon
# as it is scheduled, long before a thread runs it).
for line in open(sys.argv[1], errors="replace"):
    try:
        record = json.loads(line)
    except ValueError:
        continue
    if record.get("kind") != "event":
        continue
    p = record["payload"]
    case = p.get("_testCase") or {}
    key = (p.get("testID"), case.get("id"))
    if p.get("kind") == "testCaseStarted":
        running[key] = (p.get("instant", {}).get("since1970", now), case.get("displayName", ""))
    elif p.get("kind") == "testCaseEnded":
        running.pop(key, None)
for (test, _), (since, name) in sorted(running.items(), key=lambda kv: kv[1][0]):
    print(f"  {test} {name[:200]}  (running for {now - since:.0f} s)")
if not running:
    print("  (no test is running: the build or the runner itself hangs)")
EOF
        # Frozen first, so no test starts another child while this looks.
        ours() { { pgrep -g "$runner"; pgrep -f 'PackageTests\.xctest'; pgrep -x chunkwatch; } 2>/dev/null | sort -un; }
        kill -STOP -- "-$runner" $(ours) 2>/dev/null
        pids=$(ours | tr '\n' ' ')
        if command -v gdb >/dev/null; then
            for pid in $pids; do
                name=$(tr -d '\0' < "/proc/$pid/comm" 2>/dev/null)
                case "$name" in
                    *xctest*|*PackageTests*|chunkwatch*|swiftpm-testing*)
                        echo "=== backtraces of $pid ($name)"
                        timeout 120 gdb -p "$pid" -batch -nx -ex "thread apply all bt 30" 2>/dev/null \
                            | grep -E '^(Thread|#)' | head -400 ;;
                esac
            done
        else
            echo "(install gdb for backtraces of the hung processes)"
        fi
        kill -KILL -- "-$runner" $pids 2>/dev/null
        kill -KILL $(ours) 2>/dev/null
        wait "$runner" 2>/dev/null
        exit 124
    fi
    sleep 5
done
wait "$runner"
