"""netdevops.icmp.stats against a real kernel: counters move when ICMP flows in a lab."""
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
MODULE = ROOT / "plugins" / "modules" / "stats.py"
COLLECTIONS = ROOT / ".build" / "collections"
# Unprivileged users cannot enter /root, where pyenv keeps the test interpreter: run modules
# with the system Python and put ansible (from the venv) and the collection on its path.
HOST_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
PYTHONPATH = "%s:%s" % (COLLECTIONS, Path(ansible.__file__).resolve().parents[1])

pytestmark = [pytest.mark.root, pytest.mark.lab]


def run_module(lab: t.Any, node: str, args: t.Dict[str, t.Any], user: t.Optional[int] = None) -> t.Dict[str, t.Any]:
    """Run the module file inside ``node`` the way AnsiballZ would: args file, JSON on stdout."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    os.chmod(handle.name, 0o644)
    try:
        proc = lab.run(
            node,
            ["env", "PYTHONPATH=" + PYTHONPATH, HOST_PYTHON, str(MODULE), handle.name],
            user=user,
            check=False,
        )
    finally:
        os.unlink(handle.name)
    assert proc.stdout.strip(), proc.stderr
    result: t.Dict[str, t.Any] = json.loads(proc.stdout)
    return result


def by_type(result: t.Dict[str, t.Any], family: str, direction: str, name: str) -> int:
    value: int = result["counters"][family]["%s_by_type" % direction].get(name, 0)
    return value


@pytest.mark.parametrize("family,key", [(4, "ipv4"), (6, "ipv6")])
def test_echo_counters_move_in_both_namespaces(lab_chain: t.Any, family: int, key: str) -> None:
    target = lab_chain.address("h2", family)
    before_h1 = run_module(lab_chain, "h1", {})
    before_h2 = run_module(lab_chain, "h2", {})
    lab_chain.run("h1", ["ping", "-%d" % family, "-c", "5", "-i", "0.01", "-W", "1", target])
    after_h1 = run_module(lab_chain, "h1", {})
    after_h2 = run_module(lab_chain, "h2", {})
    assert by_type(after_h1, key, "out", "echo-request") - by_type(before_h1, key, "out", "echo-request") == 5
    assert by_type(after_h1, key, "in", "echo-reply") - by_type(before_h1, key, "in", "echo-reply") == 5
    assert by_type(after_h2, key, "in", "echo-request") - by_type(before_h2, key, "in", "echo-request") == 5
    assert after_h2["counters"][key]["out_msgs"] >= before_h2["counters"][key]["out_msgs"] + 5
    assert after_h1["changed"] is False


def test_router_rate_limit_counter_moves(lab_chain: t.Any) -> None:
    """A burst of TTL=1 probes exceeds r1's default ICMP rate limit (burst of about 6)."""
    assert lab_chain.sysctl("r1", "net.ipv4.icmp_ratelimit") != "0"
    before = run_module(lab_chain, "r1", {})
    lab_chain.run(
        "h1", ["ping", "-c", "30", "-i", "0.002", "-t", "1", "-W", "1", lab_chain.address("h2")], check=False
    )
    after = run_module(lab_chain, "r1", {})
    sent = after["counters"]["ipv4"]["out_by_type"].get("time-exceeded", 0) - before["counters"]["ipv4"][
        "out_by_type"
    ].get("time-exceeded", 0)
    limited = after["counters"]["ipv4"]["out_rate_limit_host"] - before["counters"]["ipv4"]["out_rate_limit_host"]
    assert 1 <= sent < 30
    assert sent + limited == 30


def test_interval_delta_sees_pings_during_the_window(lab_chain: t.Any) -> None:
    target = lab_chain.address("h2")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": {"interval": 3}}, handle)
    os.chmod(handle.name, 0o644)
    try:
        import subprocess

        proc = lab_chain.popen(
            "h2",
            ["env", "PYTHONPATH=" + PYTHONPATH, HOST_PYTHON, str(MODULE), handle.name],
            stdout=subprocess.PIPE,
            text=True,
        )
        # The module reads the counters first thing; the pings start after it is up.
        lab_chain.run("h1", ["sleep", "0.5"])
        lab_chain.run("h1", ["ping", "-c", "8", "-i", "0.01", "-W", "1", target])
        out = proc.communicate(timeout=30)[0]
    finally:
        os.unlink(handle.name)
    result = json.loads(out)
    assert result["interval_s"] >= 3
    assert result["delta"]["ipv4"]["in_by_type"].get("echo-request") == 8
    assert result["rate_per_s"]["ipv4"]["in_by_type"]["echo-request"] > 0


def test_sysctls_reflect_the_namespace(lab_chain: t.Any) -> None:
    lab_chain.sysctl("h2", "net.ipv4.icmp_ratelimit", "0")
    try:
        result = run_module(lab_chain, "h2", {}, user=65534)
    finally:
        lab_chain.sysctl("h2", "net.ipv4.icmp_ratelimit", "1000")
    assert result["sysctls"]["ipv4"]["icmp_ratelimit"] == 0
    assert result["sysctls"]["ipv4"]["ping_group_range"] == [0, 2147483647]
    assert result["counters"]["ipv6"]["available"] is True
