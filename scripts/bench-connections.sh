#!/usr/bin/env bash
# Figures for issue 9, items 3 and 6: what SIGTERM drains, and what an idle
# connection flood does to /healthz.
#
#  1. drain: RUNS times, a fresh `chunkwatch serve` takes `gen --output
#     tcp://…` (gen's defaults: ~1 M events, ~240 MB) and gets SIGTERM
#     SIGTERM_AFTER seconds after gen started; gen then finishes and closes its
#     side. Events sent (gen's own count) vs archived (`lz4 -dc | wc -l`).
#  2. flood: a fresh daemon (under `ulimit -n FDS`, if set) while FLOOD idle
#     connections (a list, e.g. "3000 10000 20000") are opened to its ingest
#     port and held: /healthz latency (p50, p99, max over PROBES requests, each
#     on a new connection), how many the daemon kept and how many it refused.
#
# Usage: scripts/bench-connections.sh       (builds release into .build-bench)
#        BIN=.build/release/chunkwatch scripts/bench-connections.sh
# Knobs: RUNS=5 SIGTERM_AFTER=1.5 FLOOD="3000 10000 20000" FDS= (empty: as is)
#   PROBES=200 SKIP_DRAIN=1 SKIP_FLOOD=1 KEEP=1
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
SIGTERM_AFTER=${SIGTERM_AFTER:-1.5}
FLOOD=${FLOOD:-3000 10000 20000}
FDS=${FDS:-}
PROBES=${PROBES:-200}
PY=${PYTHON:-python3}

if [ -z "${BIN:-}" ]; then
    echo "building release (.build-bench)..." >&2
    swift build -c release --scratch-path .build-bench --product chunkwatch >&2
    BIN=.build-bench/release/chunkwatch
fi
[ -x "$BIN" ] || { echo "no executable at BIN=$BIN" >&2; exit 1; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

TMP=$(mktemp -d "${TMPDIR:-/tmp}/chunkwatch-bench-conns.XXXXXX")
cleanup() {
    trap - EXIT INT TERM
    local left
    left=$(jobs -p)
    if [ -n "$left" ]; then
        kill -TERM $left 2>/dev/null || true
        sleep 0.5
        kill -KILL $left 2>/dev/null || true
    fi
    [ -n "${KEEP:-}" ] && echo "kept $TMP" >&2 || rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# Starts a daemon in $1; sets SERVE_PID, HTTP, INGEST.
start_serve() {
    local dir=$1
    shift
    mkdir -p "$dir"
    if [ -n "$FDS" ]; then
        (ulimit -n "$FDS" && exec "$BIN" serve --http 127.0.0.1:0 --ingest 127.0.0.1:0 --db "$dir/db" \
            --archive-dir "$dir/archive" "$@" >"$dir/out" 2>"$dir/err") &
    else
        "$BIN" serve --http 127.0.0.1:0 --ingest 127.0.0.1:0 --db "$dir/db" --archive-dir "$dir/archive" "$@" \
            >"$dir/out" 2>"$dir/err" &
    fi
    SERVE_PID=$!
    for _ in $(seq 1 600); do
        [ -s "$dir/out" ] && break
        sleep 0.05
    done
    HTTP=$(awk '{print $4}' "$dir/out")
    INGEST=$(awk '{print $6}' "$dir/out")
}

if [ -z "${SKIP_DRAIN:-}" ]; then
    echo "== drain: SIGTERM ${SIGTERM_AFTER}s into gen --output tcp:// (gen's defaults)"
    SENT=$("$BIN" gen 2>/dev/null | wc -l)
    printf "%-4s %10s %10s %8s %s\n" run sent archived lost "stop (s)"
    for run in $(seq 1 "$RUNS"); do
        dir="$TMP/drain-$run"
        start_serve "$dir"
        "$BIN" gen --output "tcp://$INGEST" 2>"$dir/gen.err" &
        GEN_PID=$!
        sleep "$SIGTERM_AFTER"
        t0=$(date +%s.%N)
        kill -TERM "$SERVE_PID"
        wait "$SERVE_PID" || echo "serve exited $?" >&2
        t1=$(date +%s.%N)
        wait "$GEN_PID" || echo "gen exited $? ($(cat "$dir/gen.err"))" >&2
        ARCHIVED=$(cat "$dir"/archive/*.ndjson.lz4 | lz4 -dc | wc -l)
        printf "%-4s %10s %10s %8s %.2f\n" "$run" "$SENT" "$ARCHIVED" $((SENT - ARCHIVED)) "$(echo "$t1 - $t0" | bc)"
        grep -E "cut a tap connection" "$dir/err" || true
        rm -rf "$dir"
    done
fi

if [ -z "${SKIP_FLOOD:-}" ]; then
    echo "== flood: idle connections to the ingest port (ulimit -n ${FDS:-$(ulimit -n)} for serve)"
    cat >"$TMP/flood.py" <<'EOF'
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
n = int(sys.argv[2])
held = []
failed = 0
for i in range(n):
    s = socket.socket()
    s.setblocking(True)
    s.settimeout(10)
    try:
        s.connect((host, int(port)))
        held.append(s)
    except OSError:
        failed += 1
        s.close()
print(f"open {len(held)} failed {failed}", flush=True)
sys.stdin.read()  # hold them until told
EOF
    cat >"$TMP/probe.py" <<'EOF'
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
n = int(sys.argv[2])
times, errors = [], 0
for _ in range(n):
    t = time.perf_counter()
    try:
        s = socket.create_connection((host, int(port)), timeout=60)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            d = s.recv(4096)
            if not d: break
            data += d
        s.close()
        if not data.startswith(b"HTTP/1.1 200"): errors += 1
    except OSError:
        errors += 1
    times.append((time.perf_counter() - t) * 1000)
times.sort()
print(f"healthz p50 {times[len(times)//2]:.2f} ms  p99 {times[int(len(times)*0.99)-1]:.2f} ms  max {times[-1]:.2f} ms  errors {errors}/{n}")
EOF
    printf "%-8s %s\n" idle result
    for count in $FLOOD; do
        dir="$TMP/flood-$count"
        start_serve "$dir"
        limit=$(grep -o "connection limits: [0-9]* tap and [0-9]* HTTP connections (fd limit [0-9]*)" "$dir/err" || true)
        # Several holders, each under its own fd limit.
        pipes=()
        left=$count
        i=0
        while [ "$left" -gt 0 ]; do
            chunk=$((left > 9000 ? 9000 : left))
            mkfifo "$dir/hold-$i"
            "$PY" "$TMP/flood.py" "$INGEST" "$chunk" <"$dir/hold-$i" >"$dir/flood-$i.out" &
            exec {fd}>"$dir/hold-$i"
            pipes+=("$fd")
            left=$((left - chunk))
            i=$((i + 1))
        done
        for j in $(seq 0 $((i - 1))); do
            until [ -s "$dir/flood-$j.out" ]; do sleep 0.1; done
        done
        metrics=$(curl -s "http://$HTTP/metrics")
        kept=$(echo "$metrics" | awk '/^chunkwatch_ingest_connections /{print $2}')
        refused=$(echo "$metrics" | awk '/^chunkwatch_connections_refused_total\{listener="ingest",reason="limit"\}/{print $2}')
        probe=$("$PY" "$TMP/probe.py" "$HTTP" "$PROBES")
        printf "%-8s %s; daemon kept %s, refused %s (%s)\n" "$count" "$probe" "$kept" "$refused" "$limit"
        for fd in "${pipes[@]}"; do exec {fd}>&-; done
        wait $(jobs -p | grep -v "^$SERVE_PID$") 2>/dev/null || true
        kill -TERM "$SERVE_PID"
        wait "$SERVE_PID" || true
        rm -rf "$dir"
    done
fi
