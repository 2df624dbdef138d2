# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A fleet of 30 sshd hosts on one LAN with the controller: apply_policy over real SSH at forks 30.

1. apply with default settings: every host changes and confirms, none rolls back;
2. repeat: nothing changes;
3. a bad push that black-holes the confirmation: every host rolls back by itself.

The hosts' replies to the controller return through ``gw`` (a /32 route on each host over
the ``back`` segment), whose leg into the controller's LAN has MTU 1400: a controller behind a
smaller link, as in the drill ``policy_cutoff``. Full-size replies then need "fragmentation
needed" from ``gw``; the bad push drops it (``allow_unsafe``), so the confirmation's 64 KiB
read stalls and each host restores its snapshot at its own deadline: its effective window
(``confirm_timeout`` plus twice its planning run) restarted once when the read reached it, so
at most two windows after its apply.

Run under the lab lock; it takes several minutes (more than 10 on a 2-core machine loaded by
other runs, where the planning runs, and so the windows, grow). ``NETDEVOPS_FLEET_SIZE`` changes the size
for a quick local run. Every packet stays inside the lab and the controller's lab veth.
"""
from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
import time
import typing as t
from pathlib import Path

import pytest
import yaml

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import nft

from .conftest import build_lab, load_topology

pytestmark = [pytest.mark.root, pytest.mark.lab]

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SIZE = int(os.environ.get("NETDEVOPS_FLEET_SIZE", "30"))
GW_BACK = "203.0.113.1"  # gw is the first member of ``back``
BOTTLENECK_MTU = 1400


def fleet_topology(size: int) -> t.Dict[str, t.Any]:
    """The shipped fleet, plus gw and the ``back`` segment that carries replies to the controller."""
    data = copy.deepcopy(load_topology("fleet"))
    data["nodes"][0]["count"] = size
    data["nodes"].append({"name": "gw", "role": "router"})
    data["segments"][0]["members"].append("gw")
    data["segments"].append({"name": "back", "members": ["gw", "h"], "ipv4": "203.0.113.0/24", "ipv6": False})
    controller = "198.51.100.1/32"
    data["routes"] = [{"node": "h%d" % number, "to": controller, "via": GW_BACK} for number in range(1, size + 1)]
    return data


def playbook(*args: str) -> t.Tuple[subprocess.CompletedProcess, float]:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build" / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_HOST_KEY_CHECKING="False")
    started = time.monotonic()
    proc = subprocess.run([str(BIN / "ansible-playbook"), *args], capture_output=True, text=True, env=env,
                          timeout=1200, check=False)
    return proc, time.monotonic() - started


def recap(output: str) -> t.Dict[str, t.Dict[str, int]]:
    result = {}
    for host, fields in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.M):
        result[host] = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", fields)}
    return result


def table_of(lab: t.Any, node: str) -> str:
    """Our table as nft lists it, without the rules' hit counts (traffic changes them, not the policy)."""
    return nft.without_counts(str(lab.run(node, ["nft", "list", "table", "inet", "netdevops_icmp"], check=False).stdout))


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[t.Any]:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    lab = build_lab(fleet_topology(SIZE), tmp_path_factory.mktemp("fleet"))
    try:
        lab.run("gw", ["ip", "link", "set", "nl-lan", "mtu", str(BOTTLENECK_MTU)])
        yield lab
    finally:
        lab.down()


def test_fleet_push_confirms_everywhere_repeats_unchanged_and_a_bad_push_rolls_back(fleet: t.Any, tmp_path: Path) -> None:
    hosts = ["h%d_ssh" % number for number in range(1, SIZE + 1)]
    variables = {
        # Fleet hosts share the controller's filesystem here; real hosts have their own.
        "icmp_firewall_state_dir": str(tmp_path / "state" / "{{ inventory_hostname }}"),
        "icmp_policy_hosts": "lab_ssh",
    }
    vars_file = tmp_path / "vars.yml"
    vars_file.write_text(yaml.safe_dump(variables), encoding="utf-8")
    common = ["-i", fleet.inventory_path, "-f", str(SIZE), "-e", "@%s" % vars_file, str(REPO / "playbooks" / "apply_policy.yml")]

    first, first_s = playbook(*common)
    summary = recap(first.stdout)
    rolled = sorted(host for host in hosts if "rolled back" in _host_lines(first.stdout, host))
    print("fleet of %d: first apply %.1f s, %d rolled back" % (SIZE, first_s, len(rolled)))
    assert rolled == [], "healthy hosts rolled back a correct policy: %s\n%s" % (rolled, first.stdout[-3000:])
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    assert sorted(summary) == sorted(hosts)
    assert all(summary[host]["changed"] >= 1 and summary[host]["failed"] == 0 for host in hosts), summary
    good = {node: table_of(fleet, node) for node in ("h1", "h%d" % SIZE)}
    assert all("netdevops_icmp" in text for text in good.values()), good

    again, again_s = playbook(*common)
    print("fleet of %d: repeat apply %.1f s" % (SIZE, again_s))
    assert again.returncode == 0, again.stdout[-3000:]
    assert all(counts["changed"] == 0 for counts in recap(again.stdout).values()), again.stdout[-3000:]

    # The bad push: drop frag-needed (the guard is overridden) behind the 1400-byte bottleneck.
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump({
        "icmp_firewall_rules": [{"family": "ipv4", "type": "destination-unreachable", "action": "drop"}],
        "icmp_firewall_allow_unsafe": True,
    }), encoding="utf-8")
    broken, broken_s = playbook(*common[:-1], "-e", "@%s" % bad, common[-1])
    print("fleet of %d: bad push %.1f s" % (SIZE, broken_s))
    assert broken.returncode != 0
    summary = recap(broken.stdout)
    by_itself = [host for host in hosts if "The host rolled back by itself" in _host_lines(broken.stdout, host)]
    assert sorted(by_itself) == sorted(hosts), broken.stdout[-4000:]
    assert all(summary[host]["failed"] == 1 for host in hosts), summary
    assert {node: table_of(fleet, node) for node in good} == good, "every host is back on the good policy"


def _host_lines(output: str, host: str) -> str:
    return "\n".join(line for line in output.splitlines() if "[%s]" % host in line)
