# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A TCP transfer across the lab, for the drills (stdlib only, runs inside lab namespaces).

``serve``: a daemon that accepts connections on PORT, reads each to EOF and answers with the
byte count; it exits after LIFETIME seconds. ``send``: connect, send BYTES, half-close, wait
for the count; prints one JSON line ({"connected", "completed", "bytes", "elapsed_s", "error"}).
A PMTUD black hole shows as connected=true, completed=false: the handshake and small segments
pass, full-size segments vanish and the transfer stalls.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time


def _count(conn: socket.socket) -> None:
    """Read one connection to EOF and answer with the byte count (a thread per connection, so a
    stalled transfer never holds up the next one)."""
    conn.settimeout(20)
    total = 0
    try:
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            total += len(chunk)
        conn.sendall(b"%d\n" % total)
    except OSError:
        pass
    finally:
        conn.close()


def serve(port: int, lifetime: float, pidfile: str, family: int) -> None:
    ready_r, ready_w = os.pipe()
    if os.fork() > 0:
        os.close(ready_w)
        os.read(ready_r, 1)  # returns once the listener is bound (or the daemon died)
        return
    os.close(ready_r)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)  # pylint: disable=protected-access
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    with open(pidfile, "w", encoding="ascii") as handle:
        handle.write("%d\n" % os.getpid())
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", port))
    listener.listen(8)
    os.write(ready_w, b"1")
    os.close(ready_w)
    deadline = time.monotonic() + lifetime
    while time.monotonic() < deadline:
        listener.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            conn, _peer = listener.accept()
        except socket.timeout:
            break
        worker = threading.Thread(target=_count, args=(conn,), daemon=True)
        worker.start()
    os._exit(0)  # pylint: disable=protected-access


def send(host: str, port: int, size: int, timeout: float) -> int:
    started = time.monotonic()
    out = {"connected": False, "completed": False, "bytes": size, "received": None, "elapsed_s": None, "error": None}
    try:
        conn = socket.create_connection((host, port), timeout=timeout)
    except OSError as err:
        out["error"] = "connect: %s" % err
    else:
        out["connected"] = True
        try:
            conn.settimeout(timeout)
            conn.sendall(b"x" * size)
            conn.shutdown(socket.SHUT_WR)
            answer = b""
            while not answer.endswith(b"\n"):
                chunk = conn.recv(64)
                if not chunk:
                    break
                answer += chunk
            out["received"] = int(answer) if answer.strip() else None
            out["completed"] = out["received"] == size
            if not out["completed"]:
                out["error"] = "server received %r of %d bytes" % (out["received"], size)
        except (OSError, ValueError) as err:
            out["error"] = "transfer stalled: %s" % (err or "timed out")
        finally:
            conn.close()
    out["elapsed_s"] = round(time.monotonic() - started, 3)
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    srv = sub.add_parser("serve")
    srv.add_argument("--port", type=int, required=True)
    srv.add_argument("--lifetime", type=float, default=300)
    srv.add_argument("--pidfile", required=True)
    srv.add_argument("--ipv6", action="store_true")
    snd = sub.add_parser("send")
    snd.add_argument("--host", required=True)
    snd.add_argument("--port", type=int, required=True)
    snd.add_argument("--bytes", type=int, default=262144)
    snd.add_argument("--timeout", type=float, default=4)
    args = parser.parse_args()
    if args.mode == "serve":
        serve(args.port, args.lifetime, args.pidfile, socket.AF_INET6 if args.ipv6 else socket.AF_INET)
        return 0
    return send(args.host, args.port, args.bytes, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
