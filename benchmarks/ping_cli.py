#!/usr/bin/env python
# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the engine standalone (no Ansible): ``ping_cli.py [options] TARGET... | -f FILE``.

Prints one JSON object: summary, total sent/received, and per-target results with -v.
Used by bench_ping.py; handy for trying the engine by hand. Loopback and lab only.
"""
from __future__ import annotations

import getopt
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


USAGE = "usage: ping_cli.py [-c COUNT] [-i INTERVAL_S] [-r RATE_PPS] [-t TIMEOUT_S] [-p auto|raw|unprivileged] [-v] [-f FILE] [TARGET...]"


def main() -> int:
    # getopt, not argparse: this is a benchmark entry point and argparse costs ~10 ms to import.
    try:
        pairs, targets = getopt.gnu_getopt(sys.argv[1:], "c:i:r:t:p:f:vh")
    except getopt.GetoptError as err:
        sys.exit("%s\n%s" % (err, USAGE))
    flags = dict(pairs)
    if "-h" in flags:
        print(USAGE)
        return 0
    if "-f" in flags:
        with open(flags["-f"]) as handle:
            targets += [line.strip() for line in handle if line.strip()]
    args = argparse_like(flags)
    options = PingOptions(
        count=args["count"],
        interval_s=args["interval"],
        rate=args["rate"],
        probe=ProbeOptions(timeout_s=args["timeout"], privileged=args["privileged"]),
    )
    report = ping(targets, options)
    out = {
        "summary": report.summary,
        "mode": report.mode,
        "sent": sum(r["sent"] for r in report.results),
        "received": sum(r["received"] for r in report.results),
        "duplicates": sum(r["duplicates"] for r in report.results),
    }
    if args["verbose"]:
        out["results"] = report.results
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


def argparse_like(flags: dict) -> dict:
    return {
        "count": int(flags.get("-c", 1)),
        "interval": float(flags.get("-i", 0.0)),
        "rate": float(flags.get("-r", 0.0)),
        "timeout": float(flags.get("-t", 1.0)),
        "privileged": flags.get("-p", "auto"),
        "verbose": "-v" in flags,
    }


if __name__ == "__main__":
    sys.exit(main())
