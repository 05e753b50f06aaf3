#!/usr/bin/env bash
# Benchmarks of the daemon as taps and a security team use it (issue 4, item 6):
#
#  1. throughput: a fresh `chunkwatch serve` (SQLite store, LZ4 archive, every
#     detector, --workers 2) takes THROUGHPUT_EVENTS of gen's traffic over
#     CONNECTIONS TCP connections (each principal on one, as behind gateways),
#     as fast as it will; events/s from the first byte sent until /metrics
#     counts them all accepted. RUNS times, each on a fresh daemon: best and
#     median, and the daemon's CPU time per event.
#  2. latency: another fresh daemon takes gen's traffic paced at RATE events/s
#     (the background load) while an SSE client follows /v1/alerts/stream and a
#     probe sends, on a connection of its own, MARKERS single events that fire
#     an integrity alert at once (checksum != expected_checksum, each on a new
#     principal): ingest-to-SSE latency = SSE arrival - send, per marker. It also
#     reports, for every alert received, arrival - emitted_at (emitted_at is
#     stamped inside the daemon after the engine raised the alert, so this
#     leaves out queueing, decoding and the detectors).
#
# Usage: scripts/bench-serve.sh            (builds release into .build-bench)
#        BIN=.build/release/chunkwatch scripts/bench-serve.sh
# Knobs (environment): RATE=500000 (0: unpaced) CONNECTIONS=4 RUNS=3
#   THROUGHPUT_EVENTS=2000000 MARKERS=300 INTERVAL=0.03 WORKERS=2 PRINCIPALS=1000
#   SEED=7 LATENCY_SECONDS=16 KEEP=1 (keep the temporary directory)
#   SERVE_ARGS="--archive-rotate-mib 4096" (more options for serve)
# Everything it starts is stopped on exit; it ends by itself in about a minute
# after the build (~1.7 GB of traffic in a temporary directory meanwhile).
set -euo pipefail
cd "$(dirname "$0")/.."

RATE=${RATE:-500000}
CONNECTIONS=${CONNECTIONS:-4}
RUNS=${RUNS:-3}
THROUGHPUT_EVENTS=${THROUGHPUT_EVENTS:-2000000}
MARKERS=${MARKERS:-300}
INTERVAL=${INTERVAL:-0.03}
WORKERS=${WORKERS:-2}
PRINCIPALS=${PRINCIPALS:-1000}
SEED=${SEED:-7}
LATENCY_SECONDS=${LATENCY_SECONDS:-16}
PY=${PYTHON:-python3}
HELPER=scripts/sse-latency.py

if [ -z "${BIN:-}" ]; then
    echo "building release (.build-bench)..." >&2
    swift build -c release --scratch-path .build-bench --product chunkwatch >&2
    BIN=.build-bench/release/chunkwatch
fi
[ -x "$BIN" ] || { echo "no executable at BIN=$BIN" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/chunkwatch-bench-serve.XXXXXX")
# Stops what this script started and is still running (its own jobs only).
cleanup() {
    trap - EXIT INT TERM
    local left
    left=$(jobs -p)
    if [ -n "$left" ]; then
        kill -TERM $left 2>/dev/null || true
        sleep 0.5
        kill -KILL $left 2>/dev/null || true
    fi
    if [ -n "${KEEP:-}" ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The daemon on free loopback ports in $1; sets SERVE_PID, HTTP, INGEST.
start_daemon() {
    local dir=$1
    mkdir -p "$dir"
    "$BIN" serve --http 127.0.0.1:0 --ingest 127.0.0.1:0 --db "$dir/chunkwatch.db" --archive-dir "$dir/archive" \
        --workers "$WORKERS" --log-level warning ${SERVE_ARGS:-} >"$dir/stdout" 2>"$dir/stderr" &
    SERVE_PID=$!
    for _ in $(seq 100); do
        if grep -q '^chunkwatch serve: http' "$dir/stdout" 2>/dev/null; then break; fi
        kill -0 "$SERVE_PID" 2>/dev/null || { cat "$dir/stderr" >&2; exit 1; }
        sleep 0.05
    done
    read -r _ _ _ HTTP _ INGEST _ < <(head -1 "$dir/stdout")
}

# CPU time the process has used so far, in clock ticks (user + system).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# SIGTERM (drains the queue, closes the archive), at most 30 s.
stop_daemon() {
    kill -TERM "$SERVE_PID" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVE_PID" 2>/dev/null || true
    wait "$SERVE_PID" 2>/dev/null || true
}

# Traffic: one continuous stretch of event time, big enough for the latency run.
LATENCY_EVENTS=$(( RATE > 0 ? RATE * LATENCY_SECONDS : 8000000 ))
NEED=$(( LATENCY_EVENTS > THROUGHPUT_EVENTS ? LATENCY_EVENTS : THROUGHPUT_EVENTS ))
# gen writes ~2 200 events per principal-hour; 15 % to spare.
HOURS=$("$PY" -c "print(max(4.0, round($NEED * 1.15 / (2200 * $PRINCIPALS), 2)))")
echo "generating ~$NEED events: gen --principals $PRINCIPALS --hours $HOURS --seed $SEED (all anomaly kinds)..." >&2
"$BIN" gen --principals "$PRINCIPALS" --hours "$HOURS" --seed "$SEED" --anomalies all >"$TMP/traffic.ndjson" 2>"$TMP/gen.stderr"
LINES=$(wc -l <"$TMP/traffic.ndjson")
echo "  $LINES events, $(( $(stat -c %s "$TMP/traffic.ndjson") / 1048576 )) MiB; one file per connection, each principal in one..." >&2
"$PY" "$HELPER" split --file "$TMP/traffic.ndjson" --connections "$CONNECTIONS" \
    --part "$TMP/throughput:$THROUGHPUT_EVENTS" --part "$TMP/latency:$LATENCY_EVENTS"
rm "$TMP/traffic.ndjson"
THROUGHPUT_FILES=() LATENCY_FILES=()
for c in $(seq 0 $(( CONNECTIONS - 1 ))); do THROUGHPUT_FILES+=("$TMP/throughput.$c"); LATENCY_FILES+=("$TMP/latency.$c"); done

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the runs" >&2

# 1. Throughput.
: >"$TMP/throughput.jsonl"
for run in $(seq "$RUNS"); do
    start_daemon "$TMP/t$run"
    "$PY" "$HELPER" watch --http "$HTTP" --ingest "$INGEST" --warmup 0 >"$TMP/t$run/watch.json" &
    watch=$!
    sleep 0.3
    c0=$(cpu_ticks "$SERVE_PID")
    "$PY" "$HELPER" send --ingest "$INGEST" --http "$HTTP" --rate 0 --wait-accepted "${THROUGHPUT_FILES[@]}" \
        >"$TMP/t$run/send.json"
    c1=$(cpu_ticks "$SERVE_PID")
    "$PY" -c "import json,sys; r=json.load(open(sys.argv[1])); r['daemon_cpu_seconds']=($c1-$c0)/$(getconf CLK_TCK); print(json.dumps(r))" \
        "$TMP/t$run/send.json" >>"$TMP/throughput.jsonl"
    kill -TERM "$watch" 2>/dev/null || true
    wait "$watch" 2>/dev/null || true
    stop_daemon
    echo "  throughput run $run: $(tail -1 "$TMP/throughput.jsonl")" >&2
    echo "    alerts: $(cat "$TMP/t$run/watch.json")" >&2
done

# 2. Latency under load.
start_daemon "$TMP/lat"
"$PY" "$HELPER" watch --http "$HTTP" --ingest "$INGEST" --warmup 3 --markers "$MARKERS" --interval "$INTERVAL" \
    --series "$TMP/lat/markers.txt" >"$TMP/lat/watch.json" &
watch=$!
sleep 0.3
"$PY" "$HELPER" send --ingest "$INGEST" --rate "$RATE" "${LATENCY_FILES[@]}" >"$TMP/lat/send.json" &
sender=$!
# Markers stop when the background load ends (a marker on an idle daemon says nothing about load).
while kill -0 "$watch" 2>/dev/null && kill -0 "$sender" 2>/dev/null; do sleep 0.2; done
kill -TERM "$watch" 2>/dev/null || true
wait "$watch" 2>/dev/null || true
wait "$sender" 2>/dev/null || true
stop_daemon
echo "  latency run: $(cat "$TMP/lat/watch.json")" >&2
echo "    background sender: $(cat "$TMP/lat/send.json")" >&2

"$PY" - "$TMP" "$RATE" "$CONNECTIONS" "$WORKERS" "$THROUGHPUT_EVENTS" "$PRINCIPALS" <<'EOF'
import json, statistics, sys
tmp, rate, conns, workers, n, principals = sys.argv[1:]
runs = [json.loads(l) for l in open(f"{tmp}/throughput.jsonl") if l.strip()]
eps = sorted(r["events_per_second"] for r in runs)
cpu_us = sorted(r["daemon_cpu_seconds"] / r["accepted"] * 1e6 for r in runs)
busy = sorted(r["daemon_cpu_seconds"] / r["seconds"] for r in runs)
lat = json.load(open(f"{tmp}/lat/watch.json"))
send = json.load(open(f"{tmp}/lat/send.json"))
m = lat.get("marker_ingest_to_sse", {})
e = lat["emitted_to_received"]
bg = lat.get("background_during_markers") or {}
def f(x): return "-" if x is None else f"{x:,.1f}"
print()
print(f"chunkwatch serve, --workers {workers}, SQLite store + LZ4 archive + all detectors; {conns} TCP connections; gen traffic of {principals} principals")
print("| figure | value | target |")
print("|---|---|---|")
print(f"| TCP ingest, {int(n):,} events, unpaced: best of {len(eps)} | {max(eps):,} events/s | >= 500 000 |")
print(f"| TCP ingest: median of {len(eps)} | {statistics.median(eps):,.0f} events/s | |")
print(f"| daemon CPU per event in those runs (user + system, all threads): median | {statistics.median(cpu_us):.2f} us ({statistics.median(busy):.2f} cores busy) | |")
print(f"| latency run: background offered (paced at {float(rate):,.0f}/s) | {send['offered_rate']:,} events/s | |")
print(f"| latency run: background accepted while markers ran | {bg.get('events_per_second', 0):,} events/s over {bg.get('seconds', 0)} s | >= 500 000 |")
print(f"| ingest-to-SSE, {m.get('n', 0)} markers ({lat.get('markers_missed', 0)} missed): p50 / p99 / max | {f(m.get('p50_ms'))} / {f(m.get('p99_ms'))} / {f(m.get('max_ms'))} ms | p99 <= 20 ms |")
print(f"| emitted_at-to-SSE, {e['n']} alerts in the latency run: p50 / p99 / max | {f(e['p50_ms'])} / {f(e['p99_ms'])} / {f(e['max_ms'])} ms | |")
EOF
