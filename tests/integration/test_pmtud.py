"""netdevops.icmp.pmtud in the lab's long chain (links at 1400 and 1280): real kernel, real ICMP."""
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
MODULE = ROOT / "plugins" / "modules" / "pmtud.py"
COLLECTIONS = ROOT / ".build" / "collections"
# Unprivileged users cannot enter /root, where pyenv keeps the test interpreter: run modules
# with the system Python and put ansible (from the venv) and the collection on its path.
HOST_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
PYTHONPATH = "%s:%s" % (COLLECTIONS, Path(ansible.__file__).resolve().parents[1])
NOBODY = 65534
BLACK_HOLE = """
table inet pmtud_black_hole {
  chain out {
    type filter hook output priority 0;
    icmp type destination-unreachable icmp code frag-needed drop
    icmpv6 type packet-too-big drop
  }
}
"""

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


def smallest_link_mtu(lab: t.Any) -> int:
    return min(int(link.get("mtu") or 1500) for link in lab.links())


def fresh(lab: t.Any) -> None:
    """Forget PMTU exceptions learnt by earlier tests (pitfall 9)."""
    lab.run("h1", ["ip", "route", "flush", "cache"])
    lab.run("h1", ["ip", "-6", "route", "flush", "cache"])


def router_facing(lab: t.Any, reporter: str, family: int) -> str:
    owners = [node for node in ("r1", "r2", "r3", "r4", "r5", "r6") if reporter in lab.addresses(node)["ipv%d" % family]]
    assert owners, "reported_by %s is no router address" % reporter
    return str(owners[0])


@pytest.mark.parametrize("family", [4, 6])
@pytest.mark.parametrize("user", [None, NOBODY], ids=["root", "unprivileged"])
@pytest.mark.parametrize("method", ["icmp", "udp"])
def test_path_mtu_is_the_smallest_link(lab_chain: t.Any, family: int, user: t.Optional[int], method: str) -> None:
    fresh(lab_chain)
    result = run_module(lab_chain, "h1", {"target": lab_chain.address("h2", family), "method": method}, user=user)
    assert result["path_mtu"] == smallest_link_mtu(lab_chain) == 1280
    assert result["local_mtu"] == 1500
    assert result["black_hole"] is False and result["inferred"] is False
    assert result["mode"] == ("raw" if user is None else "unprivileged")
    # The 1280 link starts at r4: it is the router that reported it.
    assert router_facing(lab_chain, result["reported_by"], family) == "r4"
    assert result["changed"] is False


@pytest.mark.parametrize("family", [4, 6])
@pytest.mark.parametrize("user", [None, NOBODY], ids=["root", "unprivileged"])
def test_black_hole_is_flagged_and_mtu_still_right(make_lab: t.Any, family: int, user: t.Optional[int]) -> None:
    lab = make_lab("chain")
    lab.nft("r4", BLACK_HOLE)
    result = run_module(lab, "h1", {"target": lab.address("h2", family)}, user=user)
    assert result["path_mtu"] == 1280
    assert result["black_hole"] is True and result["inferred"] is True
    assert "being dropped" in result["message"]
    # r2 still reports 1400 honestly; the silence starts at r4.
    assert router_facing(lab, result["reported_by"], family) == "r2"
    # Where reports stop: r4 (TTL 4) still expires a 1281-byte probe; past it, such probes vanish.
    assert result["last_full_size_hop"]["ttl"] == 4
    assert router_facing(lab, result["last_full_size_hop"]["address"], family) == "r4"
    assert result["first_vanishing_hop"]["ttl"] == 5
    assert router_facing(lab, result["first_vanishing_hop"]["address"], family) == "r5"
    assert "reports stop after hop 4" in result["message"]


def test_cached_pmtu_does_not_fool_the_measurement(lab_chain: t.Any) -> None:
    """After the kernel learnt 1280, a fresh run still measures through PROBE mode."""
    fresh(lab_chain)
    target = lab_chain.address("h2")
    lab_chain.run("h1", ["ping", "-c", "1", "-M", "do", "-s", "1400", "-W", "1", target], check=False)
    cached = lab_chain.run("h1", ["ip", "route", "get", target]).stdout
    assert "mtu 1400" in cached  # the kernel now believes 1400; PROBE mode must not
    result = run_module(lab_chain, "h1", {"target": target})
    assert result["path_mtu"] == 1280 and result["local_mtu"] == 1500
    assert result["reported_by"] is not None


def test_expect_min_mtu_fails_and_shows_the_result(lab_chain: t.Any) -> None:
    fresh(lab_chain)
    result = run_module(lab_chain, "h1", {"target": lab_chain.address("h2"), "expect_min_mtu": 1400})
    assert result["failed"] is True
    assert "is 1280, expected at least 1400" in result["msg"]
    assert result["path_mtu"] == 1280


def test_unprivileged_icmp_without_ping_group_says_how_to_fix(make_lab: t.Any) -> None:
    lab = make_lab("default")
    lab.sysctl("h1", "net.ipv4.ping_group_range", "1 0")
    result = run_module(lab, "h1", {"target": lab.address("h2"), "privileged": "unprivileged"}, user=NOBODY)
    assert result["failed"] is True
    assert "ping_group_range" in result["msg"] and "sysctl -w" in result["msg"]


def test_udp_over_loopback_without_privileges(lab_chain: t.Any) -> None:
    """Unprivileged UDP probes and the socket error queue, to 127.0.0.1 inside h1 (was a unit
    test; unit tests send nothing)."""
    result = run_module(lab_chain, "h1", {"target": "127.0.0.1", "method": "udp", "privileged": "unprivileged",
                                          "max_mtu": 9000, "port": 9}, user=NOBODY)
    assert result["changed"] is False
    assert result["path_mtu"] == 9000
    assert result["black_hole"] is False and result["reachable"] is True
    assert result["mode"] == "unprivileged"


PAIR = {"name": "vxlan", "nodes": [{"name": "h1"}, {"name": "h2"}], "links": [{"a": "h1", "b": "h2"}]}
OVERLAY = {"h1": "203.0.113.201", "h2": "203.0.113.202"}


def vxlan_overlay(lab: t.Any, df: str) -> None:
    """A VXLAN between h1 and h2 over their 1500-byte link, its MTU left at 1500 (too high:
    VXLAN over IPv4 adds 50 bytes, so 1450 is what fits)."""
    underlay = {node: lab.address(node) for node in OVERLAY}
    for node, peer in (("h1", "h2"), ("h2", "h1")):
        lab.run(node, ["ip", "link", "add", "vxt0", "type", "vxlan", "id", "42", "local", underlay[node],
                       "remote", underlay[peer], "dstport", "4789", "df", df])
        lab.run(node, ["ip", "link", "set", "vxt0", "mtu", "1500", "up"])
        lab.run(node, ["ip", "address", "add", OVERLAY[node] + "/24", "dev", "vxt0"])
    assert smallest_link_mtu(lab) == 1500


@pytest.mark.parametrize("df", ["set", "unset"])
@pytest.mark.parametrize("user", [None, NOBODY])
def test_vxlan_with_too_high_an_mtu_is_a_local_limit_not_a_black_hole(
        make_lab: t.Any, df: str, user: t.Optional[int]) -> None:
    lab = make_lab(PAIR)
    vxlan_overlay(lab, df)
    args = {"target": OVERLAY["h2"], "privileged": "unprivileged" if user else "auto"}
    for _run in range(2):  # the second run meets the route MTU the kernel learnt in the first
        result = run_module(lab, "h1", args, user=user)
        assert result["path_mtu"] == 1450, result["message"]
        assert result["local_limit"] == {"mtu": 1450, "interface": "vxt0", "interface_mtu": 1500}
        assert result["black_hole"] is False and result["reported_by"] is None
        assert result["local_mtu"] == 1500
        assert "limited locally by interface vxt0" in result["message"]
