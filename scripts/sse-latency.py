#!/usr/bin/env python3
"""Load and latency probes for `chunkwatch serve` (scripts/bench-serve.sh runs them).

  split    cuts gen's NDJSON into one file per tap connection, each principal's
           lines in one of them, in order.
  send     streams those files to the TCP ingest listener, one connection
           each (blocks of whole lines, round-robin, so the connections move
           through event time together), paced at --rate events/s or as fast
           as the daemon takes them (--rate 0); with --wait-accepted it then
           polls /metrics until the daemon has accepted them all, and reports
           events/s from the first byte sent.
  watch    subscribes to GET /v1/alerts/stream and, for every alert received,
           records (receive time - emitted_at). With --markers N it also sends,
           on a connection of its own, N single events that fire an integrity
           alert at once (checksum != expected_checksum, each on a principal
           never seen before), and records for each the time from just before
           its send to the arrival of the first alert naming that principal:
           the true ingest-to-SSE latency. Before each marker it reads the
           daemon's watermark from /metrics and stamps the marker with it, so
           markers sit in the stream's present and move no clock.

Python 3 standard library only. Wall clock: time.time() on both sides, the
same clock the daemon reads for emitted_at (which has millisecond precision).
"""
import argparse
import json
import mmap
import os
import re
import select
import signal
import socket
import sys
import time
import zlib
from datetime import datetime


def hostport(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def http_get(http, path, timeout=5.0):
    s = socket.create_connection(hostport(http), timeout=timeout)
    try:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {http}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    if b"chunked" in head.lower():
        out, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            n = int(size_line.split(b";")[0], 16)
            if n == 0:
                break
            out += rest[:n]
            rest = rest[n + 2:]
        body = out
    return body.decode()


METRIC = re.compile(r"^(chunkwatch_events_accepted_total|chunkwatch_watermark_seconds) (\S+)$", re.M)


def metrics(http):
    """(events accepted, watermark in epoch seconds) from GET /metrics."""
    found = {k: float(v) for k, v in METRIC.findall(http_get(http, "/metrics"))}
    return int(found.get("chunkwatch_events_accepted_total", 0)), found.get("chunkwatch_watermark_seconds")


# ---------------------------------------------------------------- split

PRINCIPAL_KEY = b'"principal":"'


def cmd_split(a):
    """One pass over the file: for each PREFIX:N, its first N lines into
    PREFIX.0 .. PREFIX.<C-1>, each principal's lines in one file, in order
    (the way gateways send them: a principal's chunks cross one tap)."""
    parts = []
    for spec in a.part:
        prefix, _, n = spec.rpartition(":")
        parts.append((int(n), [open(f"{prefix}.{c}", "wb", buffering=1 << 20) for c in range(a.connections)]))
    limit = max(n for n, _ in parts)
    route = {}
    with open(a.file, "rb", buffering=1 << 20) as f:
        for i, line in enumerate(f):
            if i >= limit:
                break
            k = line.find(PRINCIPAL_KEY) + len(PRINCIPAL_KEY)
            name = line[k:line.find(b'"', k)]
            c = route.get(name)
            if c is None:
                c = route[name] = zlib.crc32(name) % a.connections
            for n, files in parts:
                if i < n:
                    files[c].write(line)
    for _, files in parts:
        for f in files:
            f.close()


# ---------------------------------------------------------------- send

def cmd_send(a):
    """The files' bytes, one connection each, in blocks of whole lines (~64 KiB)
    sent round-robin so the connections move through event time in step."""
    maps = []
    for path in a.files:
        fd = os.open(path, os.O_RDONLY)
        size = os.fstat(fd).st_size
        maps.append((mmap.mmap(fd, size, prot=mmap.PROT_READ), size) if size else (None, 0))
        os.close(fd)
    socks = [socket.create_connection(hostport(a.ingest)) for _ in a.files]
    block = 64 * 1024
    pos = [0] * len(maps)
    sent_lines = 0
    start = time.time()
    live = [i for i, (_, size) in enumerate(maps) if size]
    while live:
        for i in list(live):
            mm, size = maps[i]
            p = pos[i]
            end = mm.find(b"\n", min(p + block, size) - 1)
            end = size if end < 0 else end + 1
            sent_lines += mm[p:end].count(b"\n")
            socks[i].sendall(memoryview(mm)[p:end])
            pos[i] = end
            if end >= size:
                live.remove(i)
        if a.rate:
            ahead = sent_lines / a.rate - (time.time() - start)
            if ahead > 0:
                time.sleep(ahead)
    sent_at = time.time()
    result = {"lines": sent_lines, "send_seconds": round(sent_at - start, 3),
              "offered_rate": round(sent_lines / max(sent_at - start, 1e-9))}
    if a.wait_accepted:
        deadline = time.time() + a.timeout
        accepted = 0
        while time.time() < deadline:
            accepted, _ = metrics(a.http)
            if accepted >= sent_lines:
                break
            time.sleep(0.01)
        done = time.time()
        result.update({"accepted": accepted, "seconds": round(done - start, 3),
                       "events_per_second": round(accepted / (done - start))})
    for s in socks:
        s.close()
    print(json.dumps(result), flush=True)


# ---------------------------------------------------------------- watch

class SSE:
    """A GET /v1/alerts/stream reader: chunked transfer decoded, data lines out."""

    def __init__(self, http):
        self.sock = socket.create_connection(hostport(http))
        self.sock.sendall(f"GET /v1/alerts/stream HTTP/1.1\r\nHost: {http}\r\nAccept: text/event-stream\r\n\r\n".encode())
        self.raw = b""
        self.body = b""
        self.chunked = None
        self.closed = False

    def poll(self, timeout):
        """Waits up to `timeout` for bytes; returns [(receive time, data line)]."""
        r, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        if not r:
            return []
        b = self.sock.recv(1 << 20)
        now = time.time()
        if not b:
            self.closed = True
            return []
        self.raw += b
        if self.chunked is None:
            if b"\r\n\r\n" not in self.raw:
                return []
            head, _, self.raw = self.raw.partition(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"alert stream refused: {head[:200]!r}")
            self.chunked = b"chunked" in head.lower()
        if self.chunked:
            while True:
                size_line, sep, rest = self.raw.partition(b"\r\n")
                if not sep:
                    break
                n = int(size_line.split(b";")[0], 16)
                if len(rest) < n + 2:
                    break
                self.body += rest[:n]
                self.raw = rest[n + 2:]
        else:
            self.body += self.raw
            self.raw = b""
        out = []
        while b"\n" in self.body:
            line, _, self.body = self.body.partition(b"\n")
            if line.startswith(b"data: "):
                out.append((now, line[6:]))
        return out


EMITTED = re.compile(rb'"emitted_at":"([^"]+)"')
PRINCIPAL = re.compile(rb'"principal":"([^"]+)"')


def emitted_latency(now, data):
    m = EMITTED.search(data)
    if not m:
        return None
    t = datetime.fromisoformat(m.group(1).decode().replace("Z", "+00:00")).timestamp()
    return now - t


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(p / 100 * len(v) + 0.5)) - 1))]


def summary(values):
    ms = [x * 1000 for x in values]
    return {"n": len(ms), "p50_ms": r(pct(ms, 50)), "p99_ms": r(pct(ms, 99)), "max_ms": r(max(ms) if ms else None),
            "min_ms": r(min(ms) if ms else None)}


def r(x):
    return None if x is None else round(x, 2)


def cmd_watch(a):
    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__("flag", True))
    sse = SSE(a.http)
    emitted = []
    markers = []
    missed = 0
    alerts = 0

    def take(batch, waiting_for=None):
        nonlocal alerts
        hit = None
        for now, data in batch:
            alerts += 1
            lat = emitted_latency(now, data)
            if lat is not None:
                emitted.append(lat)
            if waiting_for and hit is None:
                m = PRINCIPAL.search(data)
                if m and m.group(1) == waiting_for:
                    hit = now
        return hit

    series = open(a.series, "w") if a.series else None
    begin = time.time()
    # Let the stream open and the background load warm the daemon up.
    while time.time() < begin + a.warmup and not stop["flag"]:
        take(sse.poll(0.05))
    window = None
    if a.markers:
        tap = socket.create_connection(hostport(a.ingest))
        tap.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        acc0, _ = metrics(a.http)
        t0 = time.time()
        for i in range(a.markers):
            if stop["flag"] or sse.closed:
                break
            due = t0 + i * a.interval
            while time.time() < due:
                take(sse.poll(due - time.time()))
            _, watermark = metrics(a.http)
            ts_ms = int((watermark or time.time()) * 1000)
            principal = f"bench-marker-{os.getpid()}-{i}"
            line = (f'{{"ts":{ts_ms},"principal":"{principal}","size":1000,"conn":"bench-m{i}","seq":1,'
                    f'"dir":"out","hop":"gateway","checksum":"bench-a{i}","expected_checksum":"bench-b{i}"}}\n')
            want = principal.encode()
            sent = time.time()
            tap.sendall(line.encode())
            got = None
            deadline = sent + a.marker_timeout
            while got is None and time.time() < deadline and not sse.closed:
                got = take(sse.poll(deadline - time.time()), want)
            if got is None:
                missed += 1
            else:
                markers.append(got - sent)
            if series is not None:
                series.write(f"{sent - t0:.4f} {'' if got is None else f'{(got - sent) * 1000:.3f}'}\n")
        acc1, _ = metrics(a.http)
        t1 = time.time()
        window = {"seconds": round(t1 - t0, 2), "events_accepted": acc1 - acc0,
                  "events_per_second": round((acc1 - acc0) / (t1 - t0))}
        tap.close()
    else:
        while not stop["flag"] and not sse.closed and (a.duration == 0 or time.time() < begin + a.duration):
            take(sse.poll(0.1))
    result = {"alerts_received": alerts, "emitted_to_received": summary(emitted)}
    if a.markers:
        result.update({"marker_ingest_to_sse": summary(markers), "markers_missed": missed, "background_during_markers": window})
    print(json.dumps(result), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("split")
    sp.add_argument("--file", required=True)
    sp.add_argument("--connections", type=int, default=4)
    sp.add_argument("--part", action="append", required=True, metavar="PREFIX:N",
                    help="write the first N lines to PREFIX.0 .. PREFIX.<connections-1>")
    s = sub.add_parser("send")
    s.add_argument("--ingest", required=True, help="HOST:PORT of the TCP listener")
    s.add_argument("--http", help="HOST:PORT of the API (for --wait-accepted)")
    s.add_argument("--rate", type=float, default=0, help="events/s; 0: as fast as the daemon takes them")
    s.add_argument("--wait-accepted", action="store_true", help="then poll /metrics until all are accepted")
    s.add_argument("--timeout", type=float, default=120)
    s.add_argument("files", nargs="+", help="one connection per file")
    w = sub.add_parser("watch")
    w.add_argument("--http", required=True)
    w.add_argument("--ingest", required=True)
    w.add_argument("--markers", type=int, default=0)
    w.add_argument("--interval", type=float, default=0.03, help="seconds between marker sends")
    w.add_argument("--warmup", type=float, default=2.0)
    w.add_argument("--marker-timeout", type=float, default=5.0)
    w.add_argument("--duration", type=float, default=0, help="without markers: stop after this long (0: at SIGTERM)")
    w.add_argument("--series", help="write each marker's send time (s from the first) and latency (ms) here")
    a = p.parse_args()
    {"split": cmd_split, "send": cmd_send, "watch": cmd_watch}[a.cmd](a)


if __name__ == "__main__":
    main()
