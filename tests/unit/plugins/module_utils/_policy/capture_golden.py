"""Regenerate the golden files from the REAL tools (needs root; uses a throwaway namespace).

    .venv/bin/python tests/unit/plugins/module_utils/_policy/capture_golden.py

For every case: load our render into a fresh namespace with ``nft -f`` and
``iptables-restore --noflush``, and store what ``nft -j list table`` and
``iptables-save``/``ip6tables-save`` print. The tests parse these captures.

``foreign.*``: our table and chains after someone else added content to them (a set,
a map, a named counter, a custom chain, a TCP rule; a TCP rule and a chain with our
prefix for iptables). The parsers must report every piece so the engine can refuse.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[4] / ".build" / "collections"))

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import iptables, nft  # noqa: E402
from ansible_collections.netdevops.icmp.tests.unit.plugins.module_utils._policy.golden_cases import cases  # noqa: E402

NS = "nipol-gold%d" % os.getpid()
FOREIGN_NFT = """\
add set inet netdevops_icmp blocked { type ipv4_addr; elements = { 192.0.2.66 } ; }
add map inet netdevops_icmp ports { type inet_service : verdict; elements = { 2222 : drop } ; }
add counter inet netdevops_icmp seen
add chain inet netdevops_icmp extra
add rule inet netdevops_icmp extra counter name seen accept
add rule inet netdevops_icmp input ip saddr @blocked jump extra
add rule inet netdevops_icmp input tcp dport 22 accept
"""
FOREIGN_IPT = """\
*filter
:NETDEVOPS-ICMP-EXTRA - [0:0]
-A NETDEVOPS-ICMP-IN -p tcp -m tcp --dport 22 -j ACCEPT
-A NETDEVOPS-ICMP-EXTRA -j ACCEPT
COMMIT
"""


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
    capture_foreign(cases()["rfc4890-host"])
    capture_limit_rates()


def capture_foreign(policy) -> None:
    subprocess.run(["ip", "netns", "add", NS], check=True)
    try:
        run(["nft", "-f", "-"], nft.render_script(policy))
        run(["nft", "-f", "-"], FOREIGN_NFT)
        (HERE / "golden" / "foreign.nft.json").write_text(run(["nft", "-j", "list", "ruleset"]))
        run(["nft", "flush", "ruleset"])
        run(["iptables-restore", "--noflush"], iptables.render_restore(policy, "ipv4", {}))
        run(["iptables-restore", "--noflush"], FOREIGN_IPT)
        (HERE / "golden" / "foreign.iptables-save").write_text(run(["iptables-save", "-t", "filter"]))
    finally:
        subprocess.run(["ip", "netns", "del", NS], check=True)


_RATES = list(range(1, 131)) + [179, 180, 240, 300, 599, 600, 601, 1000, 1799, 1800, 3599, 3600, 3601, 5000,
                                6999, 7000, 9999, 10000, 59999, 60000, 600000, 3599999, 3600000, 36000000]
_MAX = {"sec": 10000, "min": 600000, "hour": 36000000}


def capture_limit_rates() -> None:
    """``--limit N/unit`` as written and as ``iptables-save`` prints it (model.iptables_rate is tested on it)."""
    lines = ["*filter"]
    for unit in ("sec", "min", "hour"):
        lines += ['-A INPUT -p icmp -m comment --comment "%d/%s" -m limit --limit %d/%s -j ACCEPT' % (r, unit, r, unit)
                  for r in _RATES if r <= _MAX[unit]]
    subprocess.run(["ip", "netns", "add", NS], check=True)
    try:
        run(["iptables-restore", "--noflush"], "\n".join(lines + ["COMMIT"]) + "\n")
        pairs = [re.search(r'--comment "?([0-9]+/[a-z]+)"? -m limit --limit ([0-9]+/[a-z]+)', line)
                 for line in run(["iptables-save", "-t", "filter"]).splitlines() if "-m limit" in line]
        (HERE / "golden" / "iptables-limit-rates.txt").write_text("".join("%s %s\n" % m.groups() for m in pairs if m))
    finally:
        subprocess.run(["ip", "netns", "del", NS], check=True)


if __name__ == "__main__":
    main()
