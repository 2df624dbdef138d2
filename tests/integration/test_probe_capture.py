# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``capture`` option of ping, traceroute and pmtud in the default lab (h1 - r1 - h2).

The modules run as their own processes inside h1, as Ansible runs them. r1 drops the
echo requests it would forward to one address inside h2's prefix (203.0.113.77 /
2001:db8:2::77), so a ping to it gets no answer and no error: the capture must show the
requests leaving h1's interface, as many as the probe says it sent, and no reply.
"""
from __future__ import annotations

import json
import os
import typing as t

import pytest

from tests.integration.test_ping import HOST_PYTHON, NOBODY, PYTHONPATH, ROOT, write_args

DROPPED = {4: "203.0.113.77", 6: "2001:db8:2::77"}
DROP_ECHO = """
table inet capture_probe_test {
  chain forward {
    type filter hook forward priority 0;
    ip daddr 203.0.113.77 icmp type echo-request counter drop
    ip6 daddr 2001:db8:2::77 icmpv6 type echo-request counter drop
  }
}
"""
FAMILIES = pytest.mark.parametrize("family", [4, 6], ids=["ipv4", "ipv6"])

pytestmark = [pytest.mark.root, pytest.mark.lab]


def run_module(lab: t.Any, name: str, args: t.Dict[str, t.Any], user: t.Optional[int] = None) -> t.Dict[str, t.Any]:
    path = write_args(args)
    argv = ["env", "PYTHONPATH=" + PYTHONPATH, HOST_PYTHON, str(ROOT / "plugins" / "modules" / (name + ".py")), path]
    try:
        proc = lab.run("h1", argv, user=user, check=False, timeout=120)
    finally:
        os.unlink(path)
    assert proc.stdout.strip(), proc.stderr
    result: t.Dict[str, t.Any] = json.loads(proc.stdout)
    return result


@pytest.fixture(scope="module")
def lab(lab_default: t.Any) -> t.Any:
    lab_default.nft("r1", DROP_ECHO)
    lab_default.sysctl("r1", "net.ipv4.icmp_ratelimit", "0")
    lab_default.sysctl("r1", "net.ipv6.icmp.ratelimit", "0")
    for family in (4, 6):  # neighbour discovery done before the counted runs
        lab_default.run("h1", ["ping", "-%d" % family, "-c", "1", "-W", "3", lab_default.address("h2", family)])
    return lab_default


def _h1_interface(lab: t.Any, family: int) -> str:
    routes = json.loads(lab.run("h1", ["ip", "-j", "-%d" % family, "route", "get", DROPPED[family]]).stdout)
    return str(routes[0]["dev"])


@FAMILIES
def test_dropped_echo_requests_left_and_no_reply_came(lab: t.Any, family: int) -> None:
    target = DROPPED[family]
    result = run_module(lab, "ping", {"targets": [target], "count": 3, "interval": 0.05, "timeout": 0.5,
                                      "privileged": "raw", "expect": "unreachable", "capture": {}})
    assert "failed" not in result, result.get("msg")
    entry, capture = result["results"][0], result["capture"]
    interface = _h1_interface(lab, family)
    assert (entry["sent"], entry["received"]) == (3, 0)
    assert (capture["interface"], capture["chosen_by"], capture["hosts"]) == (interface, "route", [lab.address("h1", family)])
    assert capture["per_target"] == [{"address": target, "echo_requests": entry["sent"], "echo_replies": 0,
                                      "errors": [], "evidence": "3 echo requests to %s left %s, no reply arrived"
                                      % (target, interface)}]
    assert capture["evidence"] == [capture["per_target"][0]["evidence"]]
    echo_out = [row for row in capture["by_type"] if row["direction"] == "out" and row["type"] in (8, 128)]
    assert [row["packets"] for row in echo_out] == [entry["sent"]]
    assert capture["kernel"]["drops"] == 0 and capture["error"] is None


@FAMILIES
def test_answered_ping_counts_requests_and_replies(lab: t.Any, family: int) -> None:
    target = lab.address("h2", family)
    result = run_module(lab, "ping", {"targets": [target], "count": 5, "interval": 0.02, "privileged": "raw",
                                      "capture": {"interface": "auto"}})
    assert "failed" not in result, result.get("msg")
    entry, row = result["results"][0], result["capture"]["per_target"][0]
    assert (row["echo_requests"], row["echo_replies"]) == (entry["sent"], entry["received"]) == (5, 5)
    assert result["capture"]["by_direction"] == {"in": 5, "out": 5}


def test_traceroute_and_pmtud_carry_the_routers_errors(lab: t.Any) -> None:
    far = lab.address("h2", 4)
    trace = run_module(lab, "traceroute", {"target": far, "queries": 1, "privileged": "raw", "capture": {}})
    assert trace["reached"], trace.get("msg")
    errors = trace["capture"]["per_target"][0]["errors"]
    assert [(e["name"], e["packets"]) for e in errors] == [("ttl_exceeded", 1)]
    assert errors[0]["from"].startswith("198.51.100."), errors  # r1, on h1's link
    assert trace["capture"]["per_target"][0]["echo_requests"] == trace["probes_sent"]
    pmtu = run_module(lab, "pmtud", {"target": far, "privileged": "raw", "capture": {}})
    assert pmtu["path_mtu"] == 1400, pmtu.get("msg")
    frag_needed = [e for e in pmtu["capture"]["per_target"][0]["errors"] if e["name"] == "frag_needed"]
    assert frag_needed and frag_needed[0]["mtu"] == 1400, pmtu["capture"]


def test_without_cap_net_raw_it_fails_naming_it_and_sends_nothing(lab: t.Any) -> None:
    target = DROPPED[4]
    before = lab.run("r1", ["nft", "-j", "list", "table", "inet", "capture_probe_test"]).stdout
    result = run_module(lab, "ping", {"targets": [target], "count": 2, "capture": {}}, user=NOBODY)
    assert result.get("failed") and "CAP_NET_RAW" in result["msg"] and "nothing was sent" in result["msg"]
    assert "results" not in result
    assert before == lab.run("r1", ["nft", "-j", "list", "table", "inet", "capture_probe_test"]).stdout
