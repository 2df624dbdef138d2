"""Regenerate the golden files from the REAL tools (needs root; uses a throwaway namespace).

    .venv/bin/python tests/unit/plugins/module_utils/_policy/capture_golden.py

For every case: load our render into a fresh namespace with ``nft -f`` and
``iptables-restore --noflush``, and store what ``nft -j list table`` and
``iptables-save``/``ip6tables-save`` print. The tests parse these captures.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[4] / ".build" / "collections"))

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import iptables, nft  # noqa: E402
from ansible_collections.netdevops.icmp.tests.unit.plugins.module_utils._policy.golden_cases import cases  # noqa: E402

NS = "nipol-gold%d" % os.getpid()


def run(argv, stdin=None):
    return subprocess.run(["ip", "netns", "exec", NS] + argv, input=stdin, text=True,
                          capture_output=True, check=True).stdout


def main() -> None:
    for name, policy in cases().items():
        subprocess.run(["ip", "netns", "add", NS], check=True)
        try:
            run(["nft", "-f", "-"], nft.render_script(policy))
            (HERE / "golden" / (name + ".nft.json")).write_text(run(["nft", "-j", "list", "table", "inet", nft.DEFAULT_TABLE]))
            for family, tool in (("ipv4", "iptables"), ("ipv6", "ip6tables")):
                text = iptables.render_restore(policy, family, {})
                if text:
                    run([tool + "-restore", "--noflush"], text)
                save = run([tool + "-save", "-t", "filter"])
                (HERE / "golden" / ("%s.%s-save" % (name, tool))).write_text(save)
        finally:
            subprocess.run(["ip", "netns", "del", NS], check=True)


if __name__ == "__main__":
    main()
