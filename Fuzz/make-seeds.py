#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz targets into Fuzz/Corpus/<target>/ from
the real programs: gen's event lines, the proxy's binary tap stream, archives
made by the `lz4` tool and by the daemon, `config default`, a checkpoint from
a daemon's database and a hidden archive left by a daemon killed with -9.

usage: Fuzz/make-seeds.py [BIN]   (BIN: the chunkwatch binary, default
.build/release/chunkwatch). Seeds are small on purpose; the fuzzer grows the
corpus from them (scripts/fuzz.sh --merge keeps a minimised one).
"""
import glob
import os
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build/release/chunkwatch"))
CORPUS = os.path.join(ROOT, "Fuzz", "Corpus")
TAP_MAGIC = bytes([0x89, 0x43, 0x57, 0x54, 0x0D, 0x0A, 0x1A, 0x01])


def seed(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data)
    print(f"{target}/{name}: {len(data)} bytes")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"nothing listens on port {port} after {timeout} s")


def gen(*args):
    return subprocess.run([BIN, "gen", *args], check=True, capture_output=True).stdout


def ndjson_seeds(events):
    seed("ndjson", "gen-events.ndjson", b"".join(events.splitlines(keepends=True)[:24]))
    seed("ndjson", "hand-cases.ndjson", b"\n".join([
        b'{"ts":1764633600000,"principal":"svc-a","size":1,"seq":null,"rate":null,"dir":null,"conn":null}',
        b'{"ts":"2026-11-23T00:00:00.123456789+02:00","principal":"p\\u00e9\\ud83d\\ude00","size":1e3,"labels":{"k":"v"}}\r',
        b'{"principal":"p","size":-1,"ts":"2026-11-23T00:00:60Z","unknown":[1,{"a":[true,false,null]},"x"]}',
        b'{"ts":"2026-02-30T00:00:00Z","principal":"p","size":1}',
        b'{"ts":"2026-11-23T00:00:00Z","principal":"","size":1.5}',
        b'{"ts":"2026-11-23T00:00:00Z","principal":"p"}',
        b'not json at all',
        b'',
        b'{"ts":"2026-11-23T00:00:00Z","principal":"p","size":1,"hop":"sink","op":"write","checksum":"crc32c:0badf00d",'
        b'"expected_checksum":"crc32c:0badf00d","resource":"pg://orders","dir":"out","seq":7,"rate":12.5}',
    ]) + b"\n")
    seed("ndjson", "drop-report.ndjson",
         b'{"chunkwatch_tap":"drops","tap":"gateway-eu-1","ts":"2026-11-28T05:10:00.000Z",'
         b'"since":"2026-11-28T05:09:50.000Z","dropped":1520,"dropped_by_principal":{"svc-billing":1500,"svc-batch":20}}\n')


def tapwire_seeds():
    """The proxy's tap sending to a capturing collector, traffic through it to an echo upstream."""
    for checksums in (True, False):
        collector, upstream, listen = socket.socket(), socket.socket(), free_port()
        for s in (collector, upstream):
            s.bind(("127.0.0.1", 0))
            s.listen()
        captured = bytearray()

        def capture():
            conn, _ = collector.accept()
            while chunk := conn.recv(65536):
                captured.extend(chunk)

        def echo():
            while True:
                try:
                    conn, _ = upstream.accept()
                except OSError:
                    return
                threading.Thread(target=lambda c=conn: [c.sendall(d) for d in iter(lambda: c.recv(65536), b"")], daemon=True).start()

        t = threading.Thread(target=capture, daemon=True)
        t.start()
        threading.Thread(target=echo, daemon=True).start()
        args = [BIN, "proxy", "--listen", f"127.0.0.1:{listen}", "--upstream", f"127.0.0.1:{upstream.getsockname()[1]}",
                "--principal", "svc-billing", "--resource", "pg://orders", "--name", "seed-tap",
                "--collector", f"127.0.0.1:{collector.getsockname()[1]}", "--threads", "1"]
        if not checksums:
            args.append("--no-checksums")
        proxy = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(listen)
        for n in (1, 300, 5000):
            with socket.create_connection(("127.0.0.1", listen)) as c:
                c.sendall(b"x" * n)
                got = 0
                while got < n:
                    got += len(c.recv(65536))
        time.sleep(1.5)  # the tap forwards on its own schedule
        proxy.send_signal(signal.SIGTERM)
        proxy.wait(timeout=30)
        t.join(timeout=10)
        upstream.close()
        data = bytes(captured)
        if not data.startswith(TAP_MAGIC):
            sys.exit(f"the tap's stream does not start with the binary magic: {data[:16]!r}")
        seed("tapwire", "proxy-stream" + ("" if checksums else "-no-checksums") + ".bin", data[len(TAP_MAGIC):])
    report = (b'{"chunkwatch_tap":"drops","tap":"seed-tap","ts":"2026-11-28T05:10:00.000Z",'
              b'"dropped":3,"dropped_by_principal":{"svc-billing":3}}\n')
    seed("tapwire", "report-frame.bin", bytes([4]) + struct.pack("<I", len(report)) + report)


def lz4_seeds(events, work):
    sample = b"".join(events.splitlines(keepends=True)[:40])
    path = os.path.join(work, "sample.ndjson")
    with open(path, "wb") as f:
        f.write(sample)
    for name, flags in [("default", []), ("block-checksums", ["-BX"]), ("independent-64k", ["-B4", "-BI"]),
                        ("no-content-checksum", ["--no-frame-crc"]), ("content-size", ["--content-size"]), ("hc", ["-9"])]:
        out = subprocess.run(["lz4", "-c", *flags, path], check=True, capture_output=True).stdout
        seed("lz4", f"lz4-{name}.lz4", out)
    one = subprocess.run(["lz4", "-c", path], check=True, capture_output=True).stdout
    seed("lz4", "lz4-two-frames.lz4", one + one)


def daemon_seeds(events, work):
    """A daemon fed events, checkpointing every second: a SIGTERM'd one leaves a
    closed archive and a checkpoint; one killed with -9 leaves a hidden archive."""
    for how in ("term", "kill"):
        d = os.path.join(work, how)
        os.makedirs(d)
        http, ingest = free_port(), free_port()
        serve = subprocess.Popen(
            [BIN, "serve", "--http", f"127.0.0.1:{http}", "--ingest", f"127.0.0.1:{ingest}", "--db", os.path.join(d, "db"),
             "--archive-dir", os.path.join(d, "archive"), "--workers", "1", "--checkpoint-seconds", "1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(ingest)
        with socket.create_connection(("127.0.0.1", ingest)) as c:
            # A few hundred events: archives of some KB, and every detector has keys.
            c.sendall(b"".join(events.splitlines(keepends=True)[:400]))
        time.sleep(3.5)  # a few checkpoints and archive flushes
        serve.send_signal(signal.SIGTERM if how == "term" else signal.SIGKILL)
        serve.wait(timeout=60)
        archives = os.path.join(d, "archive")
        if how == "term":
            closed = sorted(glob.glob(os.path.join(archives, "**", "events-*.ndjson.lz4"), recursive=True))
            if not closed:
                sys.exit("the daemon left no closed archive")
            with open(closed[0], "rb") as f:
                seed("lz4", "daemon-archive.lz4", f.read())
            db = sqlite3.connect(os.path.join(d, "db"))
            rows = db.execute("SELECT data FROM checkpoints ORDER BY id").fetchall()
            if not rows:
                sys.exit("the daemon wrote no checkpoint")
            # The runner's snapshot starts with the pipeline's bytes: an Int64 count, then the bytes.
            (n,) = struct.unpack_from("<q", rows[-1][0], 0)
            seed("checkpoint", "daemon.bin", bytes(rows[-1][0][8:8 + n]))
        else:
            hidden = sorted(glob.glob(os.path.join(archives, "**", ".events-*.ndjson.lz4"), recursive=True))
            if not hidden:
                sys.exit("the daemon killed with -9 left no hidden archive")
            with open(hidden[0], "rb") as f:
                data = f.read()
            seed("recovery", "killed-daemon.lz4", data)
            seed("recovery", "killed-daemon-cut.lz4", data[: len(data) * 2 // 3])


def main():
    if not os.access(BIN, os.X_OK):
        sys.exit(f"{BIN} is not there: build it first (make build) or pass the binary's path")
    for target in ("ndjson", "tapwire", "lz4", "config", "checkpoint", "recovery"):
        shutil.rmtree(os.path.join(CORPUS, target), ignore_errors=True)
    events = gen("--principals", "4", "--hours", "2", "--seed", "7", "--anomalies", "none")
    with tempfile.TemporaryDirectory() as work:
        ndjson_seeds(events)
        tapwire_seeds()
        lz4_seeds(events, work)
        seed("config", "config-default.yaml", subprocess.run([BIN, "config", "default"], check=True, capture_output=True).stdout)
        seed("config", "small.yaml", b"pipeline:\n  tick: 5s\ndetectors:\n  size:\n    enabled: false\nalerts:\n  stdout: true\n"
             b"proxy:\n  collector: 127.0.0.1:7071\n  listeners:\n    - listen: 127.0.0.1:6432\n      upstream: 127.0.0.1:5432\n"
             b"      principal: svc-billing\n")
        daemon_seeds(events, work)


main()
