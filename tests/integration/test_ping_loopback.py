"""The ping engine and module on loopback (127.0.0.0/8, ::1): real sockets, no lab needed."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import typing as t
from pathlib import Path

import ansible
import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import TransportError
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.models import PingOptions, ProbeOptions
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.ping import ping
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.transport import read_ping_group_range

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "plugins" / "modules" / "ping.py"
HOST_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
PYTHONPATH = "%s:%s" % (ROOT / ".build" / "collections", Path(ansible.__file__).resolve().parents[1])

pytestmark = pytest.mark.root


def loopback(count: int) -> t.List[str]:
    return ["127.%d.%d.%d" % (1 + i // 62500, (i // 250) % 250, 1 + i % 250) for i in range(count)]


def test_200_targets_3_probes_no_false_loss() -> None:
    report = ping(loopback(200), PingOptions(count=3, interval_s=0.01, rate=0, probe=ProbeOptions(privileged="raw")))
    assert [(r["sent"], r["received"], r["duplicates"], r["late"]) for r in report.results] == [(3, 3, 0, 0)] * 200
    assert all(r["reply_ttl"] == 64 and r["rtt_ms"] is not None and r["rtt_ms"]["min"] >= 0 for r in report.results)
    assert report.mode == {"ipv4": "raw"}


def test_5000_targets_unpaced_no_false_loss() -> None:
    """An unpaced burst: receive buffer sizing and draining while sending keep every reply."""
    report = ping(loopback(5000), PingOptions(count=1, rate=0, probe=ProbeOptions(privileged="raw")))
    assert sum(r["received"] for r in report.results) == 5000


def test_ipv6_loopback_and_every_socket_option() -> None:
    probe = ProbeOptions(privileged="raw", ttl=5, tos=184, df="do", size=1000)
    report = ping(["::1", "127.0.0.1"], PingOptions(count=2, interval_s=0.01, probe=probe))
    v6, v4 = report.results
    assert (v6["family"], v6["received"], v6["reply_ttl"]) == ("ipv6", 2, 64)
    assert (v4["family"], v4["received"]) == ("ipv4", 2)


def test_source_address_is_used() -> None:
    probe = ProbeOptions(privileged="raw", source="127.0.0.2")
    report = ping(["127.0.0.1"], PingOptions(count=1, probe=probe))
    assert report.results[0]["received"] == 1


def test_unknown_interface_is_a_clear_error() -> None:
    with pytest.raises(TransportError, match="interface 'nd-missing0' does not exist"):
        ping(["127.0.0.1"], PingOptions(count=1, probe=ProbeOptions(privileged="raw", interface="nd-missing0")))


def test_unconfigured_source_is_a_clear_error() -> None:
    with pytest.raises(TransportError, match="source address '192.0.2.77' is not configured"):
        ping(["127.0.0.1"], PingOptions(count=1, probe=ProbeOptions(privileged="raw", source="192.0.2.77")))


def run_module_as(args: t.Dict[str, t.Any], user: t.Optional[int]) -> t.Dict[str, t.Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    os.chmod(handle.name, 0o644)
    prefix = ["setpriv", "--reuid", str(user), "--regid", str(user), "--clear-groups"] if user is not None else []
    try:
        proc = subprocess.run(prefix + ["env", "PYTHONPATH=" + PYTHONPATH, HOST_PYTHON, str(MODULE), handle.name],
                              capture_output=True, text=True, check=False, timeout=60)
    finally:
        os.unlink(handle.name)
    assert proc.stdout.strip(), proc.stderr
    result: t.Dict[str, t.Any] = json.loads(proc.stdout)
    return result


def test_module_on_loopback_as_root() -> None:
    result = run_module_as({"targets": ["127.0.0.1", "::1", "localhost"], "count": 2, "interval": 0.01}, None)
    assert "failed" not in result, result.get("msg")
    assert [r["received"] for r in result["results"]] == [2, 2, 2]
    assert result["results"][2]["address"] in ("127.0.0.1", "::1")


def test_nobody_outside_ping_group_range_gets_the_fix() -> None:
    current = read_ping_group_range()
    low, high = (int(x) for x in (current or "1 0").split())
    if low <= 65534 <= high:
        pytest.skip("this host allows gid 65534 unprivileged ICMP (%s); the lab test covers the error" % current)
    result = run_module_as({"targets": ["127.0.0.1"]}, 65534)
    assert result["failed"] is True
    assert "CAP_NET_RAW" in result["msg"] and 'sysctl -w net.ipv4.ping_group_range="0 2147483647"' in result["msg"]
    assert "gid 65534" in result["msg"]


# --- strict inputs, where no packet could leave the machine ------------------------------
# A namespace with only loopback and no route: even if a regression let a bad target through
# to the resolver or the kernel, nothing could leave the machine. The namespace's own
# counters then prove that nothing was even attempted (no IP packet, no UDP/DNS query).
ISOLATED = {"name": "isolated", "nodes": [{"name": "solo", "role": "host"}], "links": []}
MODULES = {name: ROOT / "plugins" / "modules" / ("%s.py" % name) for name in ("ping", "traceroute", "pmtud")}


@pytest.fixture
def isolated(make_lab: t.Any) -> t.Any:
    lab = make_lab(ISOLATED)
    routes = lab.run("solo", ["ip", "-o", "route", "show", "table", "all"]).stdout
    assert all(" dev lo " in line for line in routes.splitlines()), routes  # loopback only
    return lab


def run_in(lab: t.Any, module: str, args: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    try:
        proc = lab.run("solo", ["env", "PYTHONPATH=" + PYTHONPATH, HOST_PYTHON, str(MODULES[module]), handle.name],
                       check=False, timeout=60)
    finally:
        os.unlink(handle.name)
    assert proc.stdout.strip(), proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    result: t.Dict[str, t.Any] = json.loads(proc.stdout)
    return result


def ip_counters(lab: t.Any) -> t.Dict[str, int]:
    """Ip OutRequests/OutNoRoutes and Udp OutDatagrams of the namespace (/proc/net/snmp)."""
    lines = [line.split() for line in lab.run("solo", ["cat", "/proc/net/snmp"]).stdout.splitlines()]
    table = {}
    for names, values in zip(lines[::2], lines[1::2]):
        table.update({"%s%s" % (names[0], key): int(value) for key, value in zip(names[1:], values[1:])})
    return {key: table[key] for key in ("Ip:OutRequests", "Ip:OutNoRoutes", "Udp:OutDatagrams")}


@pytest.mark.lab
@pytest.mark.parametrize(
    "targets, message",
    [
        (["1.2.3"], "invalid targets '1.2.3': not a valid IPv4 address"),
        (["127.1"], "invalid targets '127.1': not a valid IPv4 address"),
        (["0x7f000001"], "invalid targets '0x7f000001': not a valid IPv4 address"),
        (["999.1.1.1"], "invalid targets '999.1.1.1': not a valid IPv4 address"),
        (["::gg"], "invalid targets '::gg': not a valid IPv6 address"),
        (["127.0.0.1", None], "invalid targets None: a null, not a string"),
        (["127.0.0.1", ["127.0.0.2"]], "invalid targets ['127.0.0.2']: a list, not a string"),
        (["fe80::1%nd-nosuch0"], "the zone 'nd-nosuch0' is not an interface on this host"),
        (["bad name.example"], "not an IP address and not a valid host name"),
    ],
)
def test_bad_targets_fail_before_any_packet_or_lookup(isolated: t.Any, targets: t.List[t.Any], message: str) -> None:
    before = ip_counters(isolated)
    result = run_in(isolated, "ping", {"targets": targets, "count": 1, "privileged": "raw"})
    assert result["failed"] is True
    assert message in result["msg"] and result["msg"].endswith("nothing was sent")
    assert ip_counters(isolated) == before


@pytest.mark.lab
def test_a_name_that_does_not_resolve_is_an_error_not_an_outage(isolated: t.Any) -> None:
    result = run_in(isolated, "ping", {"targets": ["nope.invalid", "127.0.0.1", "localhost"], "count": 1,
                                       "privileged": "raw", "family": "ipv4"})
    nope, loop, named = result["results"]
    assert (nope["status"], nope["address"], nope["sent"]) == ("error", None, 0)
    assert nope["error"].startswith("nope.invalid does not resolve to an IPv4 address")
    assert (loop["status"], loop["received"], loop["reply_address"]) == ("reachable", 1, "127.0.0.1")
    assert (named["status"], named["address"]) == ("reachable", "127.0.0.1")  # /etc/hosts, no DNS
    summary = result["summary"]
    assert (summary["reachable"], summary["unreachable"], summary["errors"]) == (2, 0, 1)
    assert result["failed"] is True and "nope.invalid: nope.invalid does not resolve" in result["msg"]
    assert "unreachable" not in result["msg"]


@pytest.mark.lab
@pytest.mark.parametrize("module", ["ping", "traceroute", "pmtud"])
@pytest.mark.parametrize(
    "options, message",
    [
        ({"interface": "nd-missing0"}, "interface 'nd-missing0' does not exist on this host (check `ip link`)"),
        ({"source": "192.0.2.77"}, "source address '192.0.2.77' is not configured on this host"),
        ({"source": "::1"}, "source '::1' is an IPv6 address and cannot send the IPv4 probes"),
    ],
)
def test_interface_and_source_mistakes_read_the_same_in_every_module(
    isolated: t.Any, module: str, options: t.Dict[str, str], message: str
) -> None:
    args: t.Dict[str, t.Any] = {"targets": ["127.0.0.1"], "count": 1} if module == "ping" else {"target": "127.0.0.1"}
    args.update(options, privileged="raw")
    result = run_in(isolated, module, args)
    assert result["failed"] is True
    assert message in result["msg"], result["msg"]
