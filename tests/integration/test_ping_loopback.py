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
