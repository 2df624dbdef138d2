# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Drop logs on the real kernel: 10 pings dropped by a logged rule are read back from its nflog group.

Two lab hosts on one link. The policy engine runs inside node b's namespace (as in
``test_policy.py``), and ``netdevops.icmp.stats`` with ``drop_log`` runs there through
ansible-playbook, so the module, the nflog reader and the kernel are all real. The test
waits until the module has bound the group (``/proc/net/netfilter/nfnetlink_log`` of b's
namespace lists it) before a pings b. Packets go only between the two lab namespaces;
``net.netfilter.nf_log_all_netns`` is never touched.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import typing as t
from pathlib import Path

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import iptables, model, nft
from ansible_collections.netdevops.icmp.tests.integration.ansible_run import BIN, REPO
from ansible_collections.netdevops.icmp.tests.integration.test_policy import BACKENDS, DRIVER, run_policy
from ansible_collections.netdevops.icmp.tests.integration.test_policy_hits import PAIR as HITS_PAIR

pytestmark = [pytest.mark.root, pytest.mark.lab]

PAIR = dict(HITS_PAIR, name="dlog")  # a and b on one link
RULES = [
    {"family": "ipv4", "type": "echo-request", "action": "drop", "log_prefix": "echo-drop "},
    {"family": "ipv4", "type": "timestamp-request", "action": "drop", "log_prefix": "ts-drop "},
    {"family": "ipv6", "type": "echo-request", "action": "accept", "rate": "100/second"},
]
ECHO = model.rule_from_dict(RULES[0]).text()
HOST_NF_LOG_ALL_NETNS = Path("/proc/sys/net/netfilter/nf_log_all_netns")  # visible in the host's namespace only
PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: %(python)s
  tasks:
    - netdevops.icmp.stats:
        drop_log: {duration: %(duration)s, backend: %(backend)s}
      register: result
    - ansible.builtin.copy:
        content: "{{ result | to_json }}"
        dest: %(out)s
        mode: "0600"
"""


@pytest.fixture
def driver(tmp_path: Path) -> Path:
    path = tmp_path / "driver.py"
    path.write_text(DRIVER % {"collections": str(REPO / ".build" / "collections")}, encoding="utf-8")
    return path


def _groups_bound(lab: t.Any, node: str) -> t.List[int]:
    text = lab.run(node, ["cat", "/proc/net/netfilter/nfnetlink_log"], check=False).stdout
    return [int(line.split()[0]) for line in text.splitlines() if line.split()]


def _stats_while(lab: t.Any, node: str, tmp_path: Path, backend: str, traffic: t.Callable[[], None]) -> t.Dict[str, t.Any]:
    """Run the stats module with drop_log on ``node``; ``traffic`` runs once the group is bound."""
    play, out = tmp_path / "play.yml", tmp_path / "out.json"
    play.write_text(PLAY % {"python": sys.executable, "duration": 6, "backend": backend, "out": out})
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build" / "collections"), ANSIBLE_NOCOLOR="1")
    proc = lab.popen(node, [str(BIN / "ansible-playbook"), "-i", "localhost,", str(play)], env=env,
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while 58 not in _groups_bound(lab, node):
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "the module never bound nflog group 58"
            time.sleep(0.1)
        traffic()
        output = proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output
    assert 58 not in _groups_bound(lab, node), "the reader did not release the group"
    return t.cast(t.Dict[str, t.Any], json.loads(out.read_text()))


@pytest.mark.parametrize("backend", BACKENDS)
def test_ten_dropped_pings_are_read_back_as_ten_drops_on_that_rule(make_lab, driver, tmp_path, backend):
    host_setting = HOST_NF_LOG_ALL_NETNS.read_text()
    lab = make_lab(PAIR)
    applied = run_policy(lab, "b", driver, state="overridden", backend=backend, state_dir=str(tmp_path / "state"),
                         rules=RULES)
    assert applied["changed"] and applied["applied"], applied

    def ping() -> None:
        done = lab.run("a", ["ping", "-c", "10", "-i", "0.2", "-W", "1", lab.address("b")], check=False)
        assert " 0 received" in done.stdout, done.stdout

    result = _stats_while(lab, "b", tmp_path, backend, ping)["drop_log"]
    assert (result["backend"], result["log_group"], result["overruns"], result["truncated"]) == (backend, 58, 0, False)
    assert result["packets"] == 10, result
    (drop,) = result["drops"]
    assert (drop["rule"], drop["prefix"], drop["family"], drop["direction"]) == (ECHO, "echo-drop ", "ipv4", "input")
    assert (drop["type"], drop["type_name"], drop["code"], drop["packets"]) == (8, "echo-request", 0, 10)
    assert (drop["source"], drop["destination"]) == (lab.address("a"), lab.address("b"))
    assert drop["interface"] is not None and drop["interface"] in lab.run("b", ["ip", "-o", "link"]).stdout
    assert HOST_NF_LOG_ALL_NETNS.read_text() == host_setting  # the host-wide kernel-log switch is never touched


@pytest.mark.parametrize("backend", BACKENDS)
def test_rules_written_for_the_kernel_log_are_rewritten_to_nflog_once(make_lab, driver, tmp_path, backend):
    """A table/chains as the version before nflog wrote them: read without error, rewritten, then in sync."""
    lab = make_lab(PAIR)
    want = model.Policy.build(model.rule_from_dict(rule) for rule in RULES)
    if backend == "nftables":
        lab.nft("b", nft.render_script(want).replace(" group 58", ""))
    else:
        for family, tool in (("ipv4", "iptables-restore"), ("ipv6", "ip6tables-restore")):
            text = iptables.render_restore(want, family, {}) or ""
            legacy = text.replace("-j NFLOG --nflog-prefix", "-j LOG --log-prefix").replace(" --nflog-group 58", "")
            lab.run("b", [tool, "--noflush"], input=legacy)
    common = dict(state="overridden", backend=backend, state_dir=str(tmp_path / "state"), rules=RULES)
    gathered = run_policy(lab, "b", driver, state="gathered", backend=backend)
    assert "failed" not in gathered and gathered["gathered"]["rules"] == want.to_dict()["rules"], gathered
    first = run_policy(lab, "b", driver, **common)
    assert first["changed"] and first["applied"], first
    listing = lab.run("b", ["nft", "list", "ruleset"]).stdout
    assert 'log prefix "echo-drop " group 58' in listing
    again = run_policy(lab, "b", driver, **common)
    assert not again["changed"] and again["commands"] == [], again


def test_reading_the_drop_log_without_cap_net_admin_fails_clearly(make_lab):
    lab = make_lab(PAIR)
    code = ("import sys\nsys.path.insert(0, %r)\n" % str(REPO / ".build" / "collections")
            + "from ansible_collections.netdevops.icmp.plugins.module_utils._policy import nflog\n"
              "try:\n    nflog.read_group(58, 1.0, 10)\nexcept nflog.NflogError as err:\n    print(err)\n")
    # the system interpreter: the test venv's lives under /root, which user 65534 cannot enter
    out = lab.run("b", ["/usr/bin/python3", "-c", code], user=65534).stdout
    assert "CAP_NET_ADMIN" in out and "become" in out, out
    assert 58 not in _groups_bound(lab, "b")
