#!/usr/bin/env python
# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""icmplib.multiping over a target file, for bench_ping.py: prints {"sent": N, "received": M}."""
from __future__ import annotations

import argparse
import json
import sys

from icmplib import multiping


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--interval", type=float, default=0.0)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--unprivileged", action="store_true")
    args = parser.parse_args()
    with open(args.file) as handle:
        targets = [line.strip() for line in handle if line.strip()]
    hosts = multiping(targets, count=args.count, interval=args.interval, timeout=args.timeout,
                      concurrent_tasks=args.tasks, privileged=not args.unprivileged)
    json.dump({"sent": sum(h.packets_sent for h in hosts), "received": sum(h.packets_received for h in hosts)},
              sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
