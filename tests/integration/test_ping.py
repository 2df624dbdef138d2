"""netdevops.icmp.ping in the default lab (h1 - r1 - h2): real kernel, real sockets, real ICMP.

The module runs as its own process inside h1 (``ip netns exec``), as root (raw sockets) or
as nobody (uid 65534, unprivileged ICMP datagram sockets), exactly as Ansible runs it.
"""
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
MODULE = ROOT / "plugins" / "modules" / "ping.py"
COLLECTIONS = ROOT / ".build" / "collections"
# Unprivileged users cannot enter /root, where pyenv keeps the test interpreter: run the
# module with the system Python and put ansible (from the venv) and the collection on its path.
HOST_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
PYTHONPATH = "%s:%s" % (COLLECTIONS, Path(ansible.__file__).resolve().parents[1])
NOBODY = 65534
USERS = pytest.mark.parametrize("user", [None, NOBODY], ids=["root-raw", "nobody-unprivileged"])
FAMILIES = pytest.mark.parametrize("family", [4, 6], ids=["ipv4", "ipv6"])
# Deterministic error answers: r1 rejects these two addresses inside h2's prefixes.
UNREACHABLE = {4: "203.0.113.99", 6: "2001:db8:2::99"}
REJECT = """
table inet ping_test_reject {
  chain forward {
    type filter hook forward priority 0;
    ip daddr 203.0.113.99 reject with icmp type host-unreachable
    ip6 daddr 2001:db8:2::99 reject with icmpv6 type addr-unreachable
  }
}
"""
# h2 swallows echo requests from 198.51.100.0/24 and 2001:db8:1::/64 whose payload size is 100
# bytes (ICMP length 108): only the "silent" test uses that size, other tests are unaffected.
SILENT = """
table inet ping_test_silent {
  chain input {
    type filter hook input priority 0;
    icmp type echo-request ip length 128 drop
    icmpv6 type echo-request ip6 length 108 drop
  }
}
"""

pytestmark = [pytest.mark.root, pytest.mark.lab]


def r1_on_h1_side(lab: t.Any, family: int) -> str:
    """r1's address on h1's network: where its ICMP errors to h1 come from (r1's first address is on
    its link to h2)."""
    h1 = lab.topology.addresses("h1", family)[0]
    return next(str(addr.ip) for addr in lab.topology.addresses("r1", family) if addr.network == h1.network)


def write_args(args: t.Dict[str, t.Any]) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    os.chmod(handle.name, 0o644)
    return handle.name


def module_argv(path: str) -> t.List[str]:
    return ["env", "PYTHONPATH=" + PYTHONPATH, HOST_PYTHON, str(MODULE), path]


def run_module(lab: t.Any, args: t.Dict[str, t.Any], user: t.Optional[int] = None, node: str = "h1") -> t.Dict[str, t.Any]:
    """Root runs ask for raw sockets (``auto`` prefers unprivileged ones, which the lab allows);
    nobody runs keep ``auto``, which can only end up unprivileged."""
    if user is None:
        args = dict({"privileged": "raw"}, **args)
    path = write_args(args)
    try:
        proc = lab.run(node, module_argv(path), user=user, check=False, timeout=120)
    finally:
        os.unlink(path)
    assert proc.stdout.strip(), proc.stderr
    result: t.Dict[str, t.Any] = json.loads(proc.stdout)
    return result


@pytest.fixture(scope="module")
def lab(lab_default: t.Any) -> t.Any:
    lab_default.nft("r1", REJECT)
    lab_default.nft("h2", SILENT)
    # Linux rate-limits ICMP errors per destination (burst of about 6): switch that off on
    # the router so every probe gets its error and the counts below are exact.
    lab_default.sysctl("r1", "net.ipv4.icmp_ratelimit", "0")
    lab_default.sysctl("r1", "net.ipv6.icmp.ratelimit", "0")
    # The first IPv6 packet across a fresh lab waits about 1 s for neighbour discovery
    # (iputils ping shows the same 1029 ms): warm the caches so timings below are the path's.
    for family in (4, 6):
        lab_default.run("h1", ["ping", "-%d" % family, "-c", "1", "-W", "3", lab_default.address("h2", family)])
    return lab_default


@FAMILIES
@USERS
def test_across_the_router(lab: t.Any, family: int, user: t.Optional[int]) -> None:
    targets = [lab.address("h2", family), r1_on_h1_side(lab, family)]
    result = run_module(lab, {"targets": targets, "count": 4, "interval": 0.05}, user=user)
    assert "failed" not in result, result.get("msg")
    far, near = result["results"]
    assert (far["sent"], far["received"], far["loss_pct"], far["duplicates"], far["late"]) == (4, 4, 0.0, 0, 0)
    assert (near["sent"], near["received"]) == (4, 4)
    assert far["reply_ttl"] == 63 and near["reply_ttl"] == 64  # one router in between
    assert far["family"] == "ipv%d" % family and far["errors"] == [] and far["error"] is None
    rtt = far["rtt_ms"]
    assert 0 <= rtt["min"] <= rtt["avg"] <= rtt["max"] and rtt["mdev"] >= 0
    assert result["mode"] == {"ipv%d" % family: "raw" if user is None else "unprivileged"}
    assert result["summary"]["targets"] == 2 and result["summary"]["reachable"] == 2
    assert result["changed"] is False


@FAMILIES
@USERS
def test_host_unreachable_from_the_router(lab: t.Any, family: int, user: t.Optional[int]) -> None:
    result = run_module(lab, {"targets": [UNREACHABLE[family]], "count": 3, "interval": 0.05, "timeout": 2},
                        user=user)
    assert result["failed"] is True
    (entry,) = result["results"]
    assert (entry["sent"], entry["received"], entry["reachable"], entry["rtt_ms"]) == (3, 0, False, None)
    name = "host_unreachable" if family == 4 else "address_unreachable"
    error_type, code = (3, 1) if family == 4 else (1, 3)
    assert entry["errors"] == [
        {"type": error_type, "code": code, "name": name, "address": r1_on_h1_side(lab, family), "count": 3}
    ]
    assert "%s is unreachable (sent 3, received 0, loss 100%%; 3 x %s from %s)" % (
        UNREACHABLE[family], name, r1_on_h1_side(lab, family)) in result["msg"]
    # the errors answered the probes: nobody waited for the 2 s timeout per probe
    assert result["summary"]["elapsed_ms"] < 2000


@FAMILIES
@USERS
def test_silent_drop_is_plain_loss(lab: t.Any, family: int, user: t.Optional[int]) -> None:
    target = lab.address("h2", family)
    result = run_module(lab, {"targets": [target], "count": 3, "interval": 0.05, "timeout": 0.5, "size": 100},
                        user=user)
    (entry,) = result["results"]
    assert (entry["sent"], entry["received"], entry["loss_pct"], entry["errors"]) == (3, 0, 100.0, [])
    assert result["msg"] == "1 of 1 targets failed: %s is unreachable (sent 3, received 0, loss 100%%)" % target
    # the same target answers other sizes: the rule, not the path, is what drops
    assert run_module(lab, {"targets": [target], "count": 1}, user=user)["results"][0]["received"] == 1


@FAMILIES
@USERS
def test_ttl_exceeded_names_the_router(lab: t.Any, family: int, user: t.Optional[int]) -> None:
    result = run_module(lab, {"targets": [lab.address("h2", family)], "count": 2, "ttl": 1, "interval": 0.05},
                        user=user)
    (entry,) = result["results"]
    assert entry["received"] == 0
    assert [(e["name"], e["address"], e["count"]) for e in entry["errors"]] == [
        ("ttl_exceeded", r1_on_h1_side(lab, family), 2)
    ]


@FAMILIES
def test_df_too_big_gets_frag_needed_with_the_mtu_link(lab: t.Any, family: int) -> None:
    lab.run("h1", ["ip", "-%d" % family, "route", "flush", "cache"])
    result = run_module(lab, {"targets": [lab.address("h2", family)], "count": 1, "size": 1450, "df": "probe"})
    (entry,) = result["results"]
    name = "frag_needed" if family == 4 else "packet_too_big"
    assert [(e["name"], e["address"]) for e in entry["errors"]] == [(name, r1_on_h1_side(lab, family))]
    lab.run("h1", ["ip", "-%d" % family, "route", "flush", "cache"])


def test_bad_option_sends_nothing(lab: t.Any) -> None:
    result = run_module(lab, {"targets": [lab.address("h2")], "size": 70000})
    assert result["failed"] is True
    assert result["msg"].startswith("invalid size 70000: use 12 to 65507 bytes")


def test_eight_concurrent_runs_never_cross_replies(lab: t.Any) -> None:
    """Eight module processes at once, raw and unprivileged mixed, the same targets, and
    payload sizes that differ per run: every run gets exactly its own replies."""
    targets = [lab.address("h2", 4), lab.address("h2", 6), lab.address("r1", 4), lab.address("r1", 6)]
    runs = []
    for index in range(8):
        user = None if index % 2 == 0 else NOBODY
        args = {"targets": targets, "count": 20, "interval": 0.01, "rate": 0, "timeout": 2, "size": 56 + index,
                "privileged": "raw" if user is None else "unprivileged"}
        path = write_args(args)
        runs.append((path, user, lab.popen("h1", module_argv(path), user=user, stdout=-1, stderr=-1)))
    for path, user, proc in runs:
        out, err = proc.communicate(timeout=120)
        os.unlink(path)
        result = json.loads(out)
        assert "failed" not in result, result.get("msg") or err
        assert result["mode"] == dict.fromkeys(("ipv4", "ipv6"), "raw" if user is None else "unprivileged")
        for entry in result["results"]:
            assert (entry["sent"], entry["received"], entry["duplicates"], entry["late"]) == (20, 20, 0, 0), entry


def test_unprivileged_without_ping_group_range_says_how_to_fix(make_lab: t.Any) -> None:
    own = make_lab("default")
    own.sysctl("h1", "net.ipv4.ping_group_range", "1 0")
    result = run_module(own, {"targets": [own.address("h2")]}, user=NOBODY)
    assert result["failed"] is True
    message = result["msg"]
    assert "CAP_NET_RAW" in message
    assert 'sysctl -w net.ipv4.ping_group_range="0 2147483647"' in message
    assert "gid %d" % NOBODY in message and "is currently '1 0'" in message
    assert (result["gid"], result["ping_group_range"]) == (NOBODY, "1 0")
    # with the range set, the very same call works
    own.sysctl("h1", "net.ipv4.ping_group_range", "0 2147483647")
    assert run_module(own, {"targets": [own.address("h2")], "count": 1}, user=NOBODY)["results"][0]["received"] == 1


# h2 answers echo requests of one size (ICMP payload 150 bytes: IPv4 length 178) from an address it
# does not own, rewritten statelessly on the way out, like a VIP or a multi-homed host answering from
# another interface. The run token in the payload still proves the reply is ours.
OTHER_SOURCE = """
table ip ping_test_other_source {
  chain output {
    type filter hook output priority 0;
    icmp type echo-reply ip length 178 ip saddr set 203.0.113.77
  }
}
"""


@USERS
def test_a_reply_from_another_address_counts_and_names_that_address(lab: t.Any, user: t.Optional[int]) -> None:
    lab.nft("h2", OTHER_SOURCE)
    try:
        result = run_module(lab, {"targets": [lab.address("h2", 4)], "count": 3, "interval": 0.05, "size": 150},
                            user=user)
    finally:
        lab.run("h2", ["nft", "delete", "table", "ip", "ping_test_other_source"])
    assert "failed" not in result, result.get("msg")
    (far,) = result["results"]
    assert (far["sent"], far["received"], far["loss_pct"]) == (3, 3, 0.0)
    assert far["reply_address"] == "203.0.113.77" and far["address"] == lab.address("h2", 4)
