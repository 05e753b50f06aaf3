#!/usr/bin/env python3
"""A flood of new principals through `chunkwatch serve`, with checkpoints in the
middle (scripts/checkpoint-flood.sh runs it; issue 9, deliverable 5).

  gen      writes N events, each with a principal never seen before, to a file
           (one second of event time per 1,000 events, from 2026-11-01).
  run      sends that file to the TCP ingest listener as fast as the daemon
           takes it while sampling, every --interval seconds, the daemon's RSS
           (/proc/PID/status VmRSS) and GET /metrics (events accepted,
           checkpoint bytes and seconds); when everything is accepted (or
           --send-timeout passes) it sends SIGTERM and times the exit. Prints
           one JSON object: RSS before the first checkpoint and the peak during
           the run, the longest time one send waited for the daemon to read,
           the longest time in which the accepted count did not move while the
           sender still had bytes to send, every checkpoint seen (bytes,
           seconds, the longest pause of a worker), and the SIGTERM-to-exit
           time.

Python 3 standard library only.
"""
import argparse
import json
import os
import re
import signal
import socket
import sys
import threading
import time


def hostport(text):
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def gen(args):
    base = 1_793_491_200_000  # 2026-11-01T00:00:00Z in ms
    with open(args.out, "w", buffering=1 << 20) as f:
        block = []
        for i in range(args.events):
            ms = base + i  # one event per ms of event time
            s, m = divmod(ms, 1000)
            t = time.gmtime(s)
            block.append(
                '{"ts":"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ","principal":"flood-%d","resource":"r","hop":"gateway",'
                '"size":%d,"conn":"c-%d","dir":"out","seq":1}\n'
                % (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, m, i, 1000 + i % 4096, i % 64))
            if len(block) >= 10000:
                f.write("".join(block))
                block.clear()
        f.write("".join(block))


def metrics(http):
    host, port = hostport(http)
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(f"GET /metrics HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    out = {}
    for line in data.decode(errors="replace").splitlines():
        m = re.match(r"^(chunkwatch_events_accepted_total|chunkwatch_archive_lines_total|chunkwatch_checkpoint_bytes|chunkwatch_checkpoint_seconds|chunkwatch_checkpoint_pause_seconds)\s+(\S+)$", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def run(args):
    total = args.events
    sent = {"done": False, "bytes": 0, "longest_block": 0.0, "longest_block_at": None}

    def sender():
        host, port = hostport(args.ingest)
        with socket.create_connection((host, port)) as s, open(args.file, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            offset = 0
            # The stall a sender sees: the longest time one send of at most
            # 256 KiB waited for the daemon to read (the socket buffers full).
            while offset < size:
                t0 = time.time()
                n = os.sendfile(s.fileno(), f.fileno(), offset, min(1 << 18, size - offset))
                waited = time.time() - t0
                if waited > sent["longest_block"]:
                    sent["longest_block"], sent["longest_block_at"] = waited, round(t0 - start, 2)
                if n == 0:
                    break
                offset += n
                sent["bytes"] = offset
        sent["done"] = True

    start = time.time()
    t = threading.Thread(target=sender, daemon=True)
    t.start()
    samples = []  # (t, rss_kib, accepted, ckpt_bytes, ckpt_seconds)
    last_accepted, last_move = 0, start
    longest_gap, gap_at = 0.0, None
    # Lines archived move as soon as the pipeline takes events; accepted
    # moves once they are fsync'd. The first is the ingest stall.
    last_lines, lines_move = 0, start
    longest_lines_gap, lines_gap_at = 0.0, None
    first_ckpt_rss = None
    pauses, last_ckpt = [], (0, 0)
    deadline = start + args.send_timeout
    while True:
        now = time.time()
        m = metrics(args.http)
        rss = rss_kib(args.pid)
        acc = int(m.get("chunkwatch_events_accepted_total", 0))
        cb = m.get("chunkwatch_checkpoint_bytes", 0)
        cs = m.get("chunkwatch_checkpoint_seconds", 0)
        pause = m.get("chunkwatch_checkpoint_pause_seconds", 0)
        if (cb, cs) != last_ckpt and cb > 0:
            pauses.append(pause)
            last_ckpt = (cb, cs)
        lines = int(m.get("chunkwatch_archive_lines_total", 0))
        if lines > last_lines:
            gap = now - lines_move
            if gap > longest_lines_gap and last_lines > 0 and last_lines < total:
                longest_lines_gap, lines_gap_at = gap, round(lines_move - start, 2)
            last_lines, lines_move = lines, now
        samples.append((round(now - start, 2), rss, acc, cb, cs))
        if acc > last_accepted:
            gap = now - last_move
            if gap > longest_gap and last_accepted > 0:
                longest_gap, gap_at = gap, round(last_move - start, 2)
            last_accepted, last_move = acc, now
        if acc >= total or now > deadline:
            break
        time.sleep(args.interval)
    # Checkpoints seen: each change of the bytes/seconds gauges.
    checkpoints, seen = [], (0, 0)
    for (ts, rss, acc, cb, cs) in samples:
        if (cb, cs) != seen and cb > 0:
            checkpoints.append({"at_s": ts, "bytes": int(cb), "seconds": round(cs, 3), "accepted": acc})
            seen = (cb, cs)
    rss_values = [s[1] for s in samples if s[1]]
    # Between checkpoints: before the first one can start (the daemon's timer
    # starts a little before the sender), once the keys are at their caps.
    before = [s[1] for s in samples if s[1] and s[0] < args.checkpoint_seconds - 1]
    term_rss = rss_kib(args.pid)
    t0 = time.time()
    os.kill(args.pid, signal.SIGTERM)
    peak_stop = term_rss or 0
    while True:
        r = rss_kib(args.pid)
        if r is None:
            break
        try:
            with open(f"/proc/{args.pid}/stat") as f:
                if f.read().split(")")[-1].split()[0] == "Z":
                    break
        except OSError:
            break
        peak_stop = max(peak_stop, r)
        time.sleep(0.02)
    term_seconds = time.time() - t0
    result = {
        "events": total,
        "accepted": last_accepted,
        "send_seconds": round(last_move - start, 2),
        "events_per_second": int(last_accepted / max(last_move - start, 1e-9)),
        "rss_mib_before_first_checkpoint": round(max(before) / 1024, 1) if before else None,
        "rss_mib_max": round(max(rss_values) / 1024, 1) if rss_values else None,
        "rss_mib_at_end_of_send": round(rss_values[-1] / 1024, 1) if rss_values else None,
        "longest_send_block_s": round(sent["longest_block"], 2),
        "longest_send_block_started_at_s": sent["longest_block_at"],
        "checkpoint_pause_s": [round(p, 3) for p in pauses],
        "longest_ingest_gap_s": round(longest_lines_gap, 2),
        "longest_ingest_gap_started_at_s": lines_gap_at,
        "longest_durable_gap_s": round(longest_gap, 2),
        "longest_durable_gap_started_at_s": gap_at,
        "checkpoints": checkpoints,
        "sigterm_rss_mib_before": round((term_rss or 0) / 1024, 1),
        "sigterm_rss_mib_peak": round(peak_stop / 1024, 1),
        "sigterm_to_exit_s": round(term_seconds, 2),
    }
    if args.series:
        with open(args.series, "w") as f:
            f.write("t_s\trss_mib\taccepted\tcheckpoint_bytes\tcheckpoint_seconds\n")
            for (ts, rss, acc, cb, cs) in samples:
                f.write(f"{ts}\t{(rss or 0) / 1024:.1f}\t{acc}\t{int(cb)}\t{cs}\n")
    print(json.dumps(result))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--events", type=int, required=True)
    g.add_argument("--out", required=True)
    r = sub.add_parser("run")
    r.add_argument("--file", required=True)
    r.add_argument("--events", type=int, required=True)
    r.add_argument("--ingest", required=True)
    r.add_argument("--http", required=True)
    r.add_argument("--pid", type=int, required=True)
    r.add_argument("--interval", type=float, default=0.1)
    r.add_argument("--send-timeout", type=float, default=600)
    r.add_argument("--series")
    r.add_argument("--checkpoint-seconds", type=float, required=True)
    args = p.parse_args()
    gen(args) if args.cmd == "gen" else run(args)


if __name__ == "__main__":
    sys.exit(main())
