#!/usr/bin/env python
# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run every benchmark in one go (``make bench``) and print where the results are.

Each benchmark script compares our engine with the usual tools side by side and writes
``results/<name>.json`` and ``results/<name>.md``. Needs root (raw sockets, lab namespaces).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = {
    "ping": ["bench_ping.py"],
    "path": ["bench_path.py"],
    "capture": ["bench_capture.py"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--runs", type=int, default=None, help="runs per tool (default: each script's own)")
    parser.add_argument("names", nargs="*", help="benchmarks to run: %s (default: all)" % ", ".join(sorted(BENCHMARKS)))
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error("unknown benchmark %s; choose from %s" % (", ".join(unknown), ", ".join(sorted(BENCHMARKS))))
    if os.geteuid() != 0:
        print("benchmarks need root (raw sockets and lab namespaces): run 'sudo make bench'", file=sys.stderr)
        return 2
    failed = []
    for name in args.names or sorted(BENCHMARKS):
        argv = [sys.executable, str(HERE / BENCHMARKS[name][0])]
        if args.runs:
            argv += ["--runs", str(args.runs)]
        started = time.monotonic()
        print("==> benchmark %s" % name, flush=True)
        if subprocess.run(argv, check=False).returncode != 0:
            failed.append(name)
        print("==> %s done in %.0f s: results/%s.md" % (name, time.monotonic() - started, name), flush=True)
    if failed:
        print("failed: %s" % ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
