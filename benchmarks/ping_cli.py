#!/usr/bin/env python3
# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the engine standalone (no Ansible): ``ping_cli.py [options] TARGET... | -f FILE``.

Prints one JSON object: summary, total sent/received, and per-target results with -v.
Used by bench_ping.py; handy for trying the engine by hand. Loopback and lab only.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".build", "collections"))

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.models import (  # noqa: E402
    PingOptions,
    ProbeOptions,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.ping import ping  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("targets", nargs="*")
    parser.add_argument("-f", "--file", help="file with one target per line")
    parser.add_argument("-c", "--count", type=int, default=1)
    parser.add_argument("-i", "--interval", type=float, default=0.0, help="seconds between a target's probes")
    parser.add_argument("-r", "--rate", type=float, default=0.0, help="packets per second overall (0 = unpaced)")
    parser.add_argument("-t", "--timeout", type=float, default=1.0)
    parser.add_argument("-p", "--privileged", default="auto")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    targets = list(args.targets)
    if args.file:
        with open(args.file) as handle:
            targets += [line.strip() for line in handle if line.strip()]
    options = PingOptions(
        count=args.count,
        interval_s=args.interval,
        rate=args.rate,
        probe=ProbeOptions(timeout_s=args.timeout, privileged=args.privileged),
    )
    report = ping(targets, options)
    out = {
        "summary": report.summary,
        "mode": report.mode,
        "sent": sum(r.sent for r in report.results),
        "received": sum(r.received for r in report.results),
        "duplicates": sum(r.duplicates for r in report.results),
    }
    if args.verbose:
        out["results"] = [r.as_dict() for r in report.results]
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
