"""netdevops.icmp.traceroute in the lab's long chain: real kernel, real routers, real rate limits."""
from __future__ import annotations

import json
import os
import sys
import tempfile
import typing as t
from pathlib import Path

import ansible
import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "plugins" / "modules" / "traceroute.py"
COLLECTIONS = ROOT / ".build" / "collections"
# Unprivileged users cannot enter /root, where pyenv keeps the test interpreter: run modules
# with the system Python and put ansible (from the venv) and the collection on its path.
HOST_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
PYTHONPATH = "%s:%s" % (COLLECTIONS, Path(ansible.__file__).resolve().parents[1])
NOBODY = 65534

pytestmark = [pytest.mark.root, pytest.mark.lab]


def run_module(lab: t.Any, node: str, args: t.Dict[str, t.Any], user: t.Optional[int] = None) -> t.Dict[str, t.Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    os.chmod(handle.name, 0o644)
    try:
        proc = lab.run(node, ["env", "PYTHONPATH=" + PYTHONPATH, HOST_PYTHON, str(MODULE), handle.name],
                       user=user, check=False, timeout=120)
    finally:
        os.unlink(handle.name)
    assert proc.stdout.strip(), proc.stderr
    result: t.Dict[str, t.Any] = json.loads(proc.stdout)
    return result


def expected_path(lab: t.Any, family: int) -> t.List[str]:
    """Each hop answers from the address of its interface towards h1 (the link's b end)."""
    return [str(link["b_addresses"]["ipv%d" % family]) for link in lab.links()]


def all_answered(result: t.Dict[str, t.Any]) -> bool:
    return all(probe["address"] is not None for hop in result["hops"] for probe in hop["probes"])


CASES = [
    pytest.param(4, "icmp", None, id="v4-icmp-root"),
    pytest.param(4, "icmp", NOBODY, id="v4-icmp-unprivileged"),
    pytest.param(4, "udp", None, id="v4-udp-root"),
    pytest.param(4, "udp", NOBODY, id="v4-udp-unprivileged"),
    pytest.param(4, "tcp", None, id="v4-tcp-root"),
    pytest.param(6, "icmp", None, id="v6-icmp-root"),
    pytest.param(6, "icmp", NOBODY, id="v6-icmp-unprivileged"),
    pytest.param(6, "udp", None, id="v6-udp-root"),
    pytest.param(6, "udp", NOBODY, id="v6-udp-unprivileged"),
    pytest.param(6, "tcp", None, id="v6-tcp-root"),
]


@pytest.mark.parametrize("family,method,user", CASES)
def test_path_matches_the_topology_hop_by_hop(lab_chain: t.Any, family: int, method: str, user: t.Optional[int]) -> None:
    target = lab_chain.address("h2", family)
    result = run_module(lab_chain, "h1", {"target": target, "method": method}, user=user)
    assert result["path"] == expected_path(lab_chain, family)
    assert result["path"][-1] == target
    assert result["reached"] is True and result["stop_reason"] == "reached"
    assert result["mode"] == ("raw" if user is None else "unprivileged")
    assert [hop["ttl"] for hop in result["hops"]] == list(range(1, 8))
    assert all(hop["status"] == "ok" for hop in result["hops"][:-1])
    assert result["hops"][-1]["status"] == "destination"
    assert result["changed"] is False


@pytest.mark.parametrize("family", [4, 6])
def test_blackholed_route_ends_the_trace_at_the_silent_tail(make_lab: t.Any, family: int) -> None:
    lab = make_lab("chain")
    last = lab.links()[-1]
    prefix = last["ipv%d" % family]
    lab.run("r4", ["ip", "-%d" % family, "route", "replace", "blackhole", prefix])
    result = run_module(lab, "h1", {"target": lab.address("h2", family), "max_hops": 30}, user=NOBODY)
    assert result["reached"] is False
    assert result["stop_reason"] == "silent_tail"
    # r1..r3 answer; r4 drops in the route lookup (before the TTL check), so hops 4-6 are
    # silent and the trace stops there instead of probing to TTL 30.
    assert result["path"] == expected_path(lab, family)[:3] + [None, None, None]
    assert [hop["status"] for hop in result["hops"][3:]] == ["silent"] * 3
    assert result["probes_sent"] < 30 * 3


@pytest.mark.parametrize("family", [4, 6])
def test_default_rate_limits_report_no_false_loss(make_lab: t.Any, family: int) -> None:
    """Linux defaults on every router (burst 6, 1/s per source); three traces back to back."""
    lab = make_lab("chain")
    for router in ("r1", "r2", "r3", "r4", "r5", "r6"):
        assert lab.sysctl(router, "net.ipv4.icmp_ratelimit") == "1000"
        assert lab.sysctl(router, "net.ipv6.icmp.ratelimit") != "0"
    target = lab.address("h2", family)
    for _run in range(3):
        result = run_module(lab, "h1", {"target": target, "queries": 3})
        assert result["path"] == expected_path(lab, family)
        assert all_answered(result), [hop["status"] for hop in result["hops"]]


def test_router_dropping_its_time_exceeded_is_labelled_filtered_not_broken(make_lab: t.Any) -> None:
    lab = make_lab("chain")
    lab.nft("r3", """
table inet quiet {
  chain out {
    type filter hook output priority 0;
    icmp type time-exceeded drop
  }
}
""")
    result = run_module(lab, "h1", {"target": lab.address("h2")})
    assert result["reached"] is True
    assert result["hops"][2]["status"] == "filtered"
    assert {p["kind"] for p in result["hops"][2]["probes"]} == {"filtered"}
    assert [hop["status"] for hop in result["hops"] if hop["ttl"] != 3].count("filtered") == 0
    assert result["path"][2] is None and result["path"][3] == expected_path(lab, 4)[3]


def test_failed_expectation_shows_the_path(lab_chain: t.Any) -> None:
    result = run_module(lab_chain, "h1", {"target": lab_chain.address("h2"), "must_traverse": ["203.0.113.0/24"],
                                          "max_hops_expected": 5})
    assert result["failed"] is True
    assert "no hop in 203.0.113.0/24" in result["msg"]
    assert "reached after 7 hops, expected at most 5" in result["msg"]
    assert "1 %s" % expected_path(lab_chain, 4)[0] in result["msg"]


def test_must_traverse_cidr_of_the_chain_passes(lab_chain: t.Any) -> None:
    r3 = expected_path(lab_chain, 6)[2]
    result = run_module(lab_chain, "h1", {"target": lab_chain.address("h2", 6), "must_traverse": [r3 + "/64"],
                                          "expect_reached": True, "max_hops_expected": 7})
    assert "failed" not in result


def test_udp_trace_to_loopback_without_privileges(lab_chain: t.Any) -> None:
    """Unprivileged UDP and the error queue to 127.0.0.1 inside h1, which answers at hop 1 (was a
    unit test; unit tests send nothing)."""
    result = run_module(lab_chain, "h1", {"target": "127.0.0.1", "method": "udp", "privileged": "unprivileged",
                                          "expect_reached": True, "must_traverse": ["127.0.0.0/8"],
                                          "max_hops_expected": 1}, user=NOBODY)
    assert "failed" not in result
    assert result["reached"] is True and result["path"] == ["127.0.0.1"]
    assert result["hops"][0]["status"] == "destination"
    assert [p["icmp_type"] for p in result["hops"][0]["probes"]] == [3, 3, 3]
    assert result["changed"] is False and result["mode"] == "unprivileged"
