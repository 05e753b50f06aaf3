#!/usr/bin/env bash
# `make run`: the daemon on its embedded SQLite, fed a day of synthetic gateway
# traffic in accelerated real time. Ctrl-C stops both; the daemon drains,
# closes its archive and exits cleanly.
set -euo pipefail
BIN=${BIN:-.build/release/chunkwatch}
HTTP=${HTTP:-127.0.0.1:7070}
INGEST=${INGEST:-127.0.0.1:7071}

"$BIN" serve --http "$HTTP" --ingest "$INGEST" --db ./chunkwatch.db --archive-dir ./archive &
serve=$!
stop() {
    trap - INT TERM EXIT
    [ -n "${gen:-}" ] && kill "$gen" 2>/dev/null || true
    [ -n "${tail:-}" ] && kill "$tail" 2>/dev/null || true
    kill -TERM "$serve" 2>/dev/null || true
    wait "$serve" 2>/dev/null || true
}
trap stop INT TERM EXIT

cat <<MSG

chunkwatch is running: HTTP API on http://$HTTP, taps send NDJSON to $INGEST.
gen is feeding it a day of traffic from 20 principals, 2400x faster than real time
(the whole day takes about 40 s); the alerts show below as they fire.

In a second terminal:
  $BIN tail --server http://$HTTP --follow           # alerts as they fire
  curl -s http://$HTTP/v1/baselines | head -c 600      # what it has learned
  curl -s -X PUT http://$HTTP/v1/detectors/size -d '{"threshold": 8}'   # tune live

Ctrl-C here stops both.

MSG
"$BIN" gen --principals 20 --hours 24 --seed 7 --live --speed 2400 --output "tcp://$INGEST" &
gen=$!
# The alerts, as they fire, in this terminal too.
"$BIN" tail --server "http://$HTTP" --follow &
tail=$!
if wait "$gen"; then
    echo "gen finished its day of traffic; the daemon keeps running (Ctrl-C to stop)." >&2
fi
wait "$serve"
