# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The policy engine's host side on real nft / iptables inside lab namespaces.

The engine runs INSIDE the node's namespace (``ip netns exec NS python3 driver``), as
the module does through the netns connection, so /proc/sys is the node's own.
"""
from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
import typing as t
from pathlib import Path

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import iptables, model, nft

pytestmark = [pytest.mark.root, pytest.mark.lab]

REPO = Path(__file__).resolve().parents[2]
BACKENDS = ["nftables", "iptables"]
DRIVER = r'''
import json, sys
sys.path.insert(0, %(collections)r)
from ansible_collections.netdevops.icmp.plugins.module_utils._policy import engine, model, profiles, sysctl
from ansible_collections.netdevops.icmp.plugins.module_utils._runner import CommandError, SubprocessRunner
args = json.loads(sys.stdin.read())
try:
    rules = [model.rule_from_dict(r) for r in args.pop("rules", [])]
    want = profiles.extend(profiles.profile_policy(args.pop("profile", None)), rules,
                           sysctl.validate(args.pop("sysctls", None)))
    request = engine.Request(want=want, **args)
    result = engine.execute(request, engine.Seams(runner=SubprocessRunner(), restore_runner=SubprocessRunner))
except (model.PolicyError, CommandError) as err:
    result = {"failed": True, "msg": str(err)}
print(json.dumps(result))
'''
FOREIGN_NFT = """table inet foreign {
    chain input {
        type filter hook input priority 10; policy accept;
        tcp dport 9 counter drop
        ip saddr 192.0.2.99 icmp type echo-request drop
    }
}
"""
FOREIGN_IPT = "*filter\n-A INPUT -p tcp -m tcp --dport 9 -j DROP\n-A OUTPUT -p udp -m udp --dport 9 -j ACCEPT\nCOMMIT\n"


@pytest.fixture
def driver(tmp_path: Path) -> Path:
    path = tmp_path / "driver.py"
    path.write_text(DRIVER % {"collections": str(REPO / ".build" / "collections")}, encoding="utf-8")
    return path


def run_policy(lab: t.Any, node: str, driver: Path, **args: t.Any) -> t.Dict[str, t.Any]:
    proc = lab.run(node, [sys.executable, str(driver)], input=json.dumps(args), timeout=120)
    return json.loads(proc.stdout)


def foreign_state(lab: t.Any, node: str) -> t.List[str]:
    """Everything on the node that is not ours, one normalised item per object / save line."""
    ruleset = lab.run(node, ["nft", "-j", "list", "ruleset"]).stdout
    # iptables-nft shows our chains (and the jumps to them) in table ip/ip6 filter too
    items = [json.dumps(obj, sort_keys=True) for obj in json.loads(nft.strip_table(ruleset))
             if "NETDEVOPS-ICMP" not in json.dumps(obj)]
    for tool in ("iptables-save", "ip6tables-save"):
        items += ["%s: %s" % (tool, line) for line in iptables.strip_ours(lab.run(node, [tool]).stdout).splitlines()
                  if line]
    return items


def assert_foreign_untouched(before: t.List[str], after: t.List[str]) -> None:
    """Every foreign object is still there, identical and in the same order (handles included).

    The only thing allowed to appear is what iptables-nft creates the first time a family is
    used: the empty built-in ``filter`` table and its built-in chains with policy ACCEPT.
    """
    assert [item for item in after if item in before] == before, "foreign objects changed or were reordered"
    for item in after:
        if item in before:
            continue
        if item.startswith(("iptables-save:", "ip6tables-save:")):
            assert item.split(": ", 1)[1] in ("*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]",
                                              ":OUTPUT ACCEPT [0:0]", "COMMIT", ""), item
            continue
        obj = json.loads(item)
        kind, body = next(iter(obj.items()))
        assert kind in ("table", "chain") and body.get("name", body.get("table")) in ("filter", "INPUT", "FORWARD", "OUTPUT"), item
        assert body.get("policy", "accept") == "accept", item


def add_foreign(lab: t.Any, node: str) -> None:
    lab.nft(node, FOREIGN_NFT)
    lab.run(node, ["iptables-restore", "--noflush"], input=FOREIGN_IPT)


@pytest.mark.parametrize("backend", BACKENDS)
def test_check_apply_check_apply_and_foreign_rules_untouched(lab_default, driver, tmp_path, backend):
    node = "h2"
    add_foreign(lab_default, node)
    before = foreign_state(lab_default, node)
    common = dict(state="overridden", profile="strict-host", backend=backend, state_dir=str(tmp_path / "state"),
                  rules=[{"family": "ipv4", "type": "timestamp-request", "action": "drop", "log_prefix": "ts "}])
    try:
        check = run_policy(lab_default, node, driver, check_mode=True, **common)
        assert check["changed"] and check["snapshot"] is None and check["commands"], check
        assert run_policy(lab_default, node, driver, state="gathered", backend=backend)["gathered"]["rules"] == []
        applied = run_policy(lab_default, node, driver, **common)
        assert applied["changed"] and applied["applied"] and applied["snapshot"] == 1, applied
        assert applied["after"]["rules"] == check["after"]["rules"]
        gathered = run_policy(lab_default, node, driver, state="gathered", backend=backend)["gathered"]
        assert gathered["rules"] == applied["after"]["rules"]
        assert gathered["sysctls"]["accept_redirects"] == 0, "strict-host sysctls are applied in the node"
        again = run_policy(lab_default, node, driver, check_mode=True, **common)
        assert not again["changed"] and again["commands"] == [], again
        assert not run_policy(lab_default, node, driver, **common)["changed"]
        assert_foreign_untouched(before, foreign_state(lab_default, node))
        deleted = run_policy(lab_default, node, driver, state="deleted", backend=backend, state_dir=str(tmp_path / "state"))
        assert deleted["changed"] and deleted["after"]["rules"] == []
        assert_foreign_untouched(before, foreign_state(lab_default, node))
    finally:
        run_policy(lab_default, node, driver, state="deleted", backend=backend, state_dir=str(tmp_path / "state"))
        lab_default.run(node, ["nft", "delete", "table", "inet", "foreign"], check=False)
        lab_default.run(node, ["iptables", "-D", "INPUT", "-p", "tcp", "--dport", "9", "-j", "DROP"], check=False)
        lab_default.run(node, ["iptables", "-D", "OUTPUT", "-p", "udp", "--dport", "9", "-j", "ACCEPT"], check=False)
        lab_default.sysctl(node, "net.ipv4.conf.all.accept_redirects", "1")


@pytest.mark.parametrize("backend", BACKENDS)
def test_ipv6_neighbour_discovery_still_works_after_rfc4890(lab_default, driver, tmp_path, backend):
    profiles_by_node = {"h1": "rfc4890-host", "r1": "rfc4890-router", "h2": "rfc4890-host"}
    try:
        for node, profile in profiles_by_node.items():
            result = run_policy(lab_default, node, driver, state="overridden", profile=profile, backend=backend,
                                state_dir=str(tmp_path / node))
            assert result["applied"], result
        for node in profiles_by_node:
            lab_default.run(node, ["ip", "-6", "neigh", "flush", "all"])
        ping6 = lab_default.run("h1", ["ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", lab_default.address("h2", 6)],
                                check=False)
        assert ping6.returncode == 0, ping6.stdout + ping6.stderr
        neigh = lab_default.run("h1", ["ip", "-6", "neigh", "show"]).stdout
        assert "REACHABLE" in neigh or "STALE" in neigh or "DELAY" in neigh, neigh
        # the negative control: without the ND rules, IPv6 dies (the guard refuses it unless forced)
        refused = run_policy(lab_default, "h2", driver, state="merged", backend=backend, state_dir=str(tmp_path / "h2"),
                             rules=[{"family": "ipv6", "type": 135, "action": "drop"},
                                    {"family": "ipv6", "type": 136, "action": "drop"}])
        assert refused["failed"] and "takes IPv6 down" in refused["msg"]
        forced = run_policy(lab_default, "h2", driver, state="merged", backend=backend, state_dir=str(tmp_path / "h2"),
                            allow_unsafe=True, rules=[{"family": "ipv6", "type": 135, "action": "drop"},
                                                      {"family": "ipv6", "type": 136, "action": "drop"}])
        assert forced["applied"]
        for node in profiles_by_node:
            lab_default.run(node, ["ip", "-6", "neigh", "flush", "all"])
        dead = lab_default.run("h1", ["ping", "-6", "-c", "2", "-i", "0.2", "-W", "1", lab_default.address("h2", 6)],
                               check=False)
        assert dead.returncode != 0
    finally:
        for node in profiles_by_node:
            run_policy(lab_default, node, driver, state="deleted", backend=backend, state_dir=str(tmp_path / node))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_policy_dropping_pmtud_messages_forgets_learnt_path_mtus(lab_default, driver, tmp_path, backend):
    """Both families: the learnt PMTU 1400 towards h2 is gone once the policy is applied."""
    targets = {"-4": lab_default.address("h2"), "-6": lab_default.address("h2", 6)}
    for flag, target in targets.items():  # learn the path MTU: full-size, don't fragment
        lab_default.run("h1", ["ping", flag, "-c", "3", "-i", "0.2", "-W", "1", "-M", "do", "-s", "1452", target], check=False)
        assert "mtu 1400" in lab_default.run("h1", ["ip", flag, "route", "get", target]).stdout
    rules = [{"family": "ipv4", "type": "destination-unreachable", "code": "frag-needed", "action": "drop"}]
    if backend == "nftables":
        rules.append({"family": "ipv6", "type": "packet-too-big", "action": "drop"})
    try:
        result = run_policy(lab_default, "h1", driver, state="merged", rules=rules, backend=backend, allow_unsafe=True,
                            confirm_timeout=0, state_dir=str(tmp_path / "state"))
        assert result["applied"], result
        flushed = [flag for flag, target in targets.items()
                   if "mtu 1400" not in lab_default.run("h1", ["ip", flag, "route", "get", target]).stdout]
        assert flushed == (["-4", "-6"] if backend == "nftables" else ["-4"]), flushed
    finally:
        run_policy(lab_default, "h1", driver, state="deleted", backend=backend, state_dir=str(tmp_path / "state"))


def _ping(lab: t.Any, target: str) -> bool:
    return lab.run("h1", ["ping", "-c", "1", "-W", "1", target], check=False).returncode == 0


CUT_H1 = [{"family": "ipv4", "type": "echo-request", "action": "drop"}]


@pytest.mark.parametrize("backend", BACKENDS)
def test_lockout_is_rolled_back_by_the_host_itself(lab_default, driver, tmp_path, backend):
    """Apply a policy that cuts h1 off, never confirm: h2 restores the snapshot on its own."""
    target = lab_default.address("h2")
    assert _ping(lab_default, target)
    proc = lab_default.popen("h2", [sys.executable, str(driver)], stdin=-1, stdout=-1)
    proc.stdin.write(json.dumps(dict(state="merged", rules=CUT_H1, backend=backend, confirm_timeout=4,
                                     token="feed%012x" % random.getrandbits(48), state_dir=str(tmp_path / "state"))))
    proc.stdin.close()
    cookie_dir = tmp_path / "state" / "confirm"
    _wait_for(lambda: any(p.suffix == ".applied" for p in cookie_dir.glob("*")), 30)
    assert not _ping(lab_default, target), "the new policy was live during the confirmation window"
    result = json.loads(proc.stdout.read())
    assert proc.wait() == 0
    assert result["rolled_back"] and not result["applied"] and result["trace"][-1] == "rolled-back", result
    assert _ping(lab_default, target), "reachable again after the automatic rollback"
    assert list(cookie_dir.glob("*")) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_watchdog_restores_when_the_module_dies(lab_default, driver, tmp_path, backend):
    """Kill the module during its wait: the detached watchdog restores the snapshot at the deadline."""
    target = lab_default.address("h2")
    proc = lab_default.popen("h2", [sys.executable, str(driver)], stdin=-1, stdout=-1)
    proc.stdin.write(json.dumps(dict(state="merged", rules=CUT_H1, backend=backend, confirm_timeout=3,
                                     token="dead%012x" % random.getrandbits(48), state_dir=str(tmp_path / "state"))))
    proc.stdin.close()
    cookie_dir = tmp_path / "state" / "confirm"
    _wait_for(lambda: any(p.suffix == ".applied" for p in cookie_dir.glob("*")), 30)
    for child in _children(proc.pid):
        os.kill(child, signal.SIGKILL)  # the python driver under ip netns exec
    proc.kill()
    proc.wait()
    assert not _ping(lab_default, target)
    # the watchdog claims the expiry, restores, and (nobody left to read its message) removes every cookie
    _wait_for(lambda: not list(cookie_dir.glob("*")), 30)
    assert _ping(lab_default, target)
    table = lab_default.run("h2", ["nft", "-j", "list", "ruleset"]).stdout
    assert nft.parse_table(table)[0] in (None, model.Policy())


def _children(pid: int) -> t.List[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().split(") ")[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _wait_for(condition: t.Callable[[], bool], limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within %ss" % limit_s)
        time.sleep(0.1)


def _big_policy(action: str, families: t.Tuple[str, ...]) -> model.Policy:
    """Hundreds of rules, so that the apply takes long enough to be killed in the middle."""
    rules = [model.Rule(family, direction, number, None, action)
             for family in families for direction in ("input", "forward") for number in range(0, 256, 2)
             if not (family == "ipv6" and number in (2, 134, 136)) and not (family == "ipv4" and number == 4)]
    return model.Policy.build(rules)


@pytest.mark.parametrize("backend", BACKENDS)
def test_killing_the_apply_leaves_old_or_new_never_a_mix(lab_default, backend):
    families = ("ipv4", "ipv6") if backend == "nftables" else ("ipv4",)
    old, new = _big_policy("accept", families), _big_policy("drop", families)
    outcomes = {"old": 0, "new": 0}
    rng = random.Random(4890)
    try:
        for _attempt in range(25):
            _load(lab_default, backend, old)
            assert _read(lab_default, backend) == old
            text = _apply_text(backend, new, lab_default)
            proc = lab_default.popen("r1", _apply_argv(backend), stdin=-1, stdout=-1, stderr=-1)
            proc.stdin.write(text)
            proc.stdin.flush()
            time.sleep(rng.uniform(0, 0.03))
            proc.kill()
            proc.communicate()
            live = _read(lab_default, backend)
            assert live in (old, new), "a mix of old and new rules after a killed apply"
            outcomes["old" if live == old else "new"] += 1
    finally:
        _load(lab_default, backend, model.Policy())
    assert outcomes["old"] + outcomes["new"] == 25


def _apply_argv(backend: str) -> t.List[str]:
    return ["nft", "-f", "-"] if backend == "nftables" else ["iptables-restore", "--noflush"]


def _apply_text(backend: str, policy: model.Policy, lab: t.Any) -> str:
    if backend == "nftables":
        return nft.render_script(policy)
    _policy, present, _unknown = iptables.parse_save(lab.run("r1", ["iptables-save"]).stdout, "ipv4")
    return iptables.render_restore(policy, "ipv4", present) or ""


def _load(lab: t.Any, backend: str, policy: model.Policy) -> None:
    text = _apply_text(backend, policy, lab)
    if text:
        lab.run("r1", _apply_argv(backend), input=text)


def _read(lab: t.Any, backend: str) -> t.Optional[model.Policy]:
    if backend == "nftables":
        return nft.parse_table(lab.run("r1", ["nft", "-j", "list", "ruleset"]).stdout)[0]
    return iptables.parse_save(lab.run("r1", ["iptables-save"]).stdout, "ipv4")[0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_echo_allowed_only_from_one_prefix(lab_default, driver, tmp_path, backend):
    """h2 answers echo from h1's prefix only: h1's pings pass, r1's (another prefix) are dropped."""
    node, state_dir = "h2", str(tmp_path / "state")
    common = dict(state="overridden", backend=backend, state_dir=state_dir, rules=[
        {"family": "ipv4", "type": "echo-request", "action": "accept", "source": ["198.51.100.0/24", "192.0.2.1"]},
        {"family": "ipv4", "type": "echo-request", "action": "drop"},
        {"family": "ipv6", "type": "echo-request", "action": "accept", "source": "2001:db8:1::/64"},
        {"family": "ipv6", "type": "echo-request", "action": "drop"}])

    def pings(source: str, family: int) -> bool:
        argv = ["ping", "-%d" % family, "-c", "2", "-i", "0.2", "-W", "1", lab_default.address(node, family)]
        return lab_default.run(source, argv, check=False).returncode == 0

    try:
        for family in (4, 6):
            assert pings("h1", family) and pings("r1", family), "both reach h2 before the policy"
        applied = run_policy(lab_default, node, driver, **common)
        assert applied["changed"] and applied["applied"], applied
        gathered = run_policy(lab_default, node, driver, state="gathered", backend=backend)["gathered"]
        assert gathered["rules"] == applied["after"]["rules"]
        assert gathered["rules"][0]["source"] == ["192.0.2.1/32", "198.51.100.0/24"]
        assert not run_policy(lab_default, node, driver, check_mode=True, **common)["changed"]
        for family in (4, 6):
            assert pings("h1", family), "echo from the allowed prefix (IPv%d) must pass" % family
            assert not pings("r1", family), "echo from another prefix (IPv%d) must be dropped" % family
    finally:
        run_policy(lab_default, node, driver, state="deleted", backend=backend, state_dir=state_dir)
