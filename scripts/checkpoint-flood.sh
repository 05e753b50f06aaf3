#!/usr/bin/env bash
# A flood of new principals through a release `chunkwatch serve` with a
# checkpoint every CHECKPOINT_SECONDS (issue 9, deliverable 5): EVENTS events,
# each with a principal never seen before, over one TCP connection as fast as
# the daemon takes them; RSS and /metrics sampled every 100 ms. Reports, as one
# JSON line (and the series in $TMP/series.tsv with KEEP=1):
#   rss_mib_before_first_checkpoint  RSS with the keys at their caps, before any checkpoint
#   rss_mib_max                      the peak over the run, checkpoints included
#   longest_send_block_s             the longest time one send (256 KiB) waited for the daemon to read: the stall a tap sees
#   checkpoint_pause_s               each checkpoint's longest worker pause (chunkwatch_checkpoint_pause_seconds)
#   longest_ingest_gap_s             the longest time the archived line count stood still while the sender had more
#   longest_durable_gap_s            the same for the accepted (fsync'd) count
#   checkpoints                      each checkpoint seen: bytes and seconds (the daemon's gauges)
#   sigterm_to_exit_s                SIGTERM to exit (the final checkpoint included)
# and the size of the checkpoint rows in the database after the exit.
#
# Usage: scripts/checkpoint-flood.sh            (builds release into .build-bench)
#        BIN=.build/release/chunkwatch EVENTS=10000000 scripts/checkpoint-flood.sh
# Knobs: EVENTS=10000000 CHECKPOINT_SECONDS=10 WORKERS=2 KEEP=1 SERVE_ARGS=...
set -euo pipefail
cd "$(dirname "$0")/.."

EVENTS=${EVENTS:-10000000}
CHECKPOINT_SECONDS=${CHECKPOINT_SECONDS:-10}
WORKERS=${WORKERS:-2}
PY=${PYTHON:-python3}
HELPER=scripts/checkpoint-flood.py

if [ -z "${BIN:-}" ]; then
    echo "building release (.build-bench)..." >&2
    swift build -c release --scratch-path .build-bench --product chunkwatch >&2
    BIN=.build-bench/release/chunkwatch
fi
[ -x "$BIN" ] || { echo "no executable at BIN=$BIN" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/chunkwatch-checkpoint-flood.XXXXXX")
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

FLOOD=${FLOOD_FILE:-$TMP/flood.ndjson}
if [ ! -s "$FLOOD" ]; then
    echo "generating $EVENTS events with new principals..." >&2
    "$PY" "$HELPER" gen --events "$EVENTS" --out "$FLOOD"
fi

"$BIN" serve --http 127.0.0.1:0 --ingest 127.0.0.1:0 --db "$TMP/chunkwatch.db" --archive-dir "$TMP/archive" \
    --workers "$WORKERS" --checkpoint-seconds "$CHECKPOINT_SECONDS" --log-level notice ${SERVE_ARGS:-} \
    >"$TMP/stdout" 2>"$TMP/stderr" &
SERVE_PID=$!
for _ in $(seq 200); do
    if grep -q '^chunkwatch serve: http' "$TMP/stdout" 2>/dev/null; then break; fi
    kill -0 "$SERVE_PID" 2>/dev/null || { cat "$TMP/stderr" >&2; exit 1; }
    sleep 0.05
done
read -r _ _ _ HTTP _ INGEST _ < <(head -1 "$TMP/stdout")
echo "serve pid $SERVE_PID, http $HTTP, ingest $INGEST; machine load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

"$PY" "$HELPER" run --file "$FLOOD" --events "$EVENTS" --ingest "$INGEST" --http "$HTTP" --pid "$SERVE_PID" \
    --checkpoint-seconds "$CHECKPOINT_SECONDS" --series "$TMP/series.tsv" >"$TMP/result.json"
wait "$SERVE_PID" 2>/dev/null || true
ROWS=$(sqlite3 "$TMP/chunkwatch.db" "SELECT count(*) || ' checkpoint(s), newest ' || \
    (SELECT coalesce(sum(length(data)), 0) FROM checkpoints WHERE id = (SELECT max(id) FROM checkpoints)) || ' bytes' FROM checkpoints" \
    2>/dev/null || echo "?")
echo "database: $ROWS; $(du -b "$TMP/chunkwatch.db" | cut -f1) bytes on disk" >&2
grep -i "checkpoint" "$TMP/stderr" >&2 || true
cat "$TMP/result.json"
