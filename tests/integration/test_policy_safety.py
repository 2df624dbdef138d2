# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The policy path's safety rules on real nftables / iptables / sysctls inside lab namespaces.

We own only what we created; the apply is all or nothing (a sysctl the kernel refuses, a
ruleset command that fails, a kill between two writes); ``backend: auto`` never strands the
other backend's rules; the watchdog restores through the module's own runner. Every refusal
and every rollback is checked by comparing the node's whole state, byte for byte, before and
after: ``nft list ruleset``, ``iptables-save``, ``ip6tables-save`` and every ICMP sysctl file.
"""
from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import typing as t
from pathlib import Path

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import defaults, nft
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.sysctl import SYSCTLS
from ansible_collections.netdevops.icmp.tests.integration.test_policy import _children, _wait_for

pytestmark = [pytest.mark.root, pytest.mark.lab]

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".build" / "collections"
BACKENDS = ["nftables", "iptables"]
NODE = "h2"
DRIVER = r'''
import json, sys
sys.path.insert(0, %(collections)r)
from ansible_collections.netdevops.icmp.plugins.module_utils._policy import engine, model, profiles, sysctl
from ansible_collections.netdevops.icmp.plugins.module_utils._runner import CommandError, CommandResult, SubprocessRunner


class Rejecting(sysctl.Sysctls):
    """The kernel refuses one (key, value), after the key's earlier files were written."""

    def __init__(self, key, value):
        super().__init__()
        self.key, self.value = key, value

    def write(self, values):
        for key, value in sorted(values.items()):
            paths = sysctl.SYSCTLS[key]
            if (key, value) != (self.key, self.value):
                super().write({key: value})
                continue
            for rel in paths[:-1]:
                with open(self._path(rel), "w") as handle:
                    handle.write("%%d\n" %% value)
            raise OSError(22, "Invalid argument (the test's seam)", paths[-1])


class FailingRunner(SubprocessRunner):
    """Runs everything, except that the real run of ``argv`` fails (its --test / -c dry run passes)."""

    def __init__(self, argv):
        super().__init__()
        self.failing = tuple(argv)

    def run(self, argv, stdin=None, check=True):
        if tuple(argv) == self.failing:
            raise CommandError(CommandResult(tuple(argv), 1, "", "refused by the test's seam"))
        return super().run(argv, stdin, check)


args = json.loads(sys.stdin.read())
try:
    rules = [model.rule_from_dict(r) for r in args.pop("rules", [])]
    want = profiles.extend(profiles.profile_policy(args.pop("profile", None)), rules,
                           sysctl.validate(args.pop("sysctls", None)))
    fail_sysctl, fail_command = args.pop("fail_sysctl", None), args.pop("fail_command", None)
    runner = FailingRunner(fail_command) if fail_command else SubprocessRunner()
    seams = engine.Seams(runner=runner, restore_runner=SubprocessRunner)
    if fail_sysctl:
        seams.sysctls = Rejecting(*fail_sysctl)
    result = engine.execute(engine.Request(want=want, **args), seams)
except (model.PolicyError, CommandError) as err:
    result = {"failed": True, "msg": str(err)}
print(json.dumps(result))
'''
OUR_NFT = """table inet netdevops_icmp {
\tset blocklist {
\t\ttype ipv4_addr
\t\telements = { 192.0.2.7 }
\t}
\tchain custom {
\t\ttcp dport 9 drop
\t}
\tchain input {
\t\ttype filter hook input priority filter; policy accept;
\t\tip saddr @blocklist drop
\t\ticmp type echo-request accept
\t}
}
"""
OUR_IPT = ("*filter\n:NETDEVOPS-ICMP-IN - [0:0]\n-A NETDEVOPS-ICMP-IN -p tcp -m tcp --dport 9 -j DROP\n"
           "-A NETDEVOPS-ICMP-IN -p icmp -m icmp --icmp-type 8 -j ACCEPT\n-A INPUT -j NETDEVOPS-ICMP-IN\nCOMMIT\n")
TS = {"family": "ipv4", "type": "timestamp-request", "action": "drop"}
V6_TS = {"family": "ipv6", "type": "echo-request", "action": "accept", "rate": "10/second"}
_COUNTERS = re.compile(r"\[\d+:\d+\]")


@pytest.fixture
def driver(tmp_path: Path) -> Path:
    path = tmp_path / "driver.py"
    path.write_text(DRIVER % {"collections": str(COLLECTIONS)}, encoding="utf-8")
    return path


def run_policy(lab: t.Any, driver: Path, prefix: t.Sequence[str] = (), **args: t.Any) -> t.Dict[str, t.Any]:
    proc = lab.run(NODE, [*prefix, sys.executable, str(driver)], input=json.dumps(args), timeout=120)
    assert proc.stdout, proc.stderr
    return t.cast(t.Dict[str, t.Any], json.loads(proc.stdout.splitlines()[-1]))


def host_state(lab: t.Any, node: str = NODE) -> t.Dict[str, str]:
    """Everything a policy run may touch, as text: rulesets of both tools and every ICMP sysctl file."""
    state = {"nft": nft.without_counts(lab.run(node, ["nft", "list", "ruleset"]).stdout)}  # our rules count hits
    for tool in ("iptables-save", "ip6tables-save"):
        text = lab.run(node, [tool]).stdout
        state[tool] = "".join(_COUNTERS.sub("[0:0]", line) + "\n" for line in text.splitlines()
                              if not line.startswith("#"))
    paths = sorted({rel for rels in SYSCTLS.values() for rel in rels})
    for rel, value in zip(paths, lab.run(node, ["cat", *("/proc/sys/" + rel for rel in paths)]).stdout.splitlines()):
        state[rel] = value
    return state


def cleanup(lab: t.Any, driver: Path, backend: str, state_dir: Path) -> None:
    run_policy(lab, driver, state="deleted", backend=backend, force=True, state_dir=str(state_dir))
    lab.run(NODE, ["nft", "delete", "table", "inet", "netdevops_icmp"], check=False)
    for key in ("net.ipv4.conf.all.accept_redirects", "net.ipv4.conf.default.accept_redirects"):
        lab.sysctl(NODE, key, "1")
    lab.sysctl(NODE, "net.ipv4.icmp_echo_ignore_all", "0")


def plant_foreign(lab: t.Any, backend: str) -> None:
    if backend == "nftables":
        lab.nft(NODE, OUR_NFT)
    else:
        lab.run(NODE, ["iptables-restore", "--noflush"], input=OUR_IPT)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_same_name_table_with_foreign_content_is_refused_and_force_restores_it_byte_for_byte(
        lab_default, driver, tmp_path, backend):
    state_dir = str(tmp_path / "state")
    plant_foreign(lab_default, backend)
    try:
        before = host_state(lab_default)
        for state in ("merged", "replaced", "overridden", "deleted"):
            for check_mode in (True, False):
                refused = run_policy(lab_default, driver, state=state, backend=backend, rules=[TS],
                                     check_mode=check_mode, state_dir=state_dir)
                assert refused.get("failed"), (state, refused)
                assert "holds content this module did not write" in refused["msg"], refused
                assert "Nothing was changed" in refused["msg"] and "force: true" in refused["msg"]
        assert host_state(lab_default) == before, "a refusal changed the host"
        gathered = run_policy(lab_default, driver, state="gathered", backend=backend)
        assert gathered["foreign"], gathered
        assert any("did not write" in warning for warning in gathered["warnings"])
        if backend == "nftables":
            assert any(item.startswith('set "blocklist"') for item in gathered["foreign"]), gathered["foreign"]
            assert any(item.startswith('chain "custom"') for item in gathered["foreign"]), gathered["foreign"]
        # forced, under commit-confirm, never confirmed: the module restores the raw text
        forced = run_policy(lab_default, driver, state="overridden", backend=backend, rules=[TS], force=True,
                            confirm_timeout=2, token="f0%014x" % random.getrandbits(56), state_dir=state_dir)
        assert forced["rolled_back"] and forced["trace"][-1] == "rolled-back", forced
        assert any(warning.startswith("force: replaced content") for warning in forced["warnings"])
        assert host_state(lab_default) == before, "the restore is not byte-identical"
        if backend == "nftables":
            listed = lab_default.run(NODE, ["nft", "list", "table", "inet", "netdevops_icmp"]).stdout
            assert "set blocklist" in listed and "tcp dport 9 drop" in listed and "@blocklist drop" in listed
    finally:
        cleanup(lab_default, driver, backend, tmp_path / "state")


SYSCTLS_WANT = {"accept_redirects": 0, "icmp_echo_ignore_all": 1}


FAILURES = [
    # the example: accept_redirects written, then the next sysctl refused (rules never written)
    ("nftables", {"fail_sysctl": ["icmp_echo_ignore_all", 1]}, "Invalid argument"),
    ("iptables", {"fail_sysctl": ["icmp_echo_ignore_all", 1]}, "Invalid argument"),
    # the sysctls are live when the ruleset write fails (for iptables the IPv4 chains too)
    ("nftables", {"fail_command": ["nft", "-f", "-"]}, "nft -f -"),
    ("iptables", {"fail_command": ["ip6tables-restore", "--noflush"]}, "ip6tables-restore --noflush"),
]


@pytest.mark.parametrize("backend,seam,named", FAILURES)
def test_a_write_that_fails_after_the_first_write_leaves_the_host_as_it_was(lab_default, driver, tmp_path, backend,
                                                                            seam, named):
    state_dir = str(tmp_path / "state")
    try:
        assert run_policy(lab_default, driver, state="overridden", profile="rfc4890-host", backend=backend,
                          state_dir=state_dir)["applied"]
        before = host_state(lab_default)
        result = run_policy(lab_default, driver, state="merged", backend=backend, rules=[TS, V6_TS],
                            sysctls=SYSCTLS_WANT, state_dir=state_dir, **seam)
        assert result["rolled_back"] and not result["applied"] and result["confirm"] == "failed", result
        assert "started writing (sysctl accept_redirects=0, sysctl icmp_echo_ignore_all=1" in result["msg"]
        assert named in result["msg"] and "snapshot 2 was restored" in result["msg"]
        assert host_state(lab_default) == before
    finally:
        cleanup(lab_default, driver, backend, tmp_path / "state")


def test_a_sysctl_file_the_kernel_refuses_to_write_is_rolled_back(lab_default, driver, tmp_path):
    """Real kernel: conf/default/accept_redirects read-only (a bind mount in a private mount namespace)."""
    state_dir = str(tmp_path / "state")
    target = "/proc/sys/net/ipv4/conf/default/accept_redirects"
    prefix = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
              'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"', "sh", target]
    try:
        assert run_policy(lab_default, driver, state="overridden", profile="rfc4890-host", backend="nftables",
                          state_dir=state_dir)["applied"]
        before = host_state(lab_default)
        result = run_policy(lab_default, driver, prefix, state="merged", backend="nftables", rules=[TS],
                            sysctls={"accept_redirects": 0}, state_dir=state_dir)
        assert result["rolled_back"], result
        assert "Read-only file system" in result["msg"] and "accept_redirects" in result["msg"]
        assert host_state(lab_default) == before
        assert lab_default.sysctl(NODE, "net.ipv4.conf.all.accept_redirects") == "1", "the file written was restored"
    finally:
        cleanup(lab_default, driver, "nftables", tmp_path / "state")


def test_auto_refuses_while_our_iptables_chains_are_live(lab_default, driver, tmp_path):
    state_dir = str(tmp_path / "state")
    try:
        assert run_policy(lab_default, driver, state="merged", backend="iptables", rules=[TS],
                          state_dir=state_dir)["applied"]
        before = host_state(lab_default)
        refused = run_policy(lab_default, driver, state="merged", backend="auto", rules=[TS], state_dir=state_dir)
        assert refused["failed"], refused
        assert "backend auto resolved to nftables, but our iptables chains exist (NETDEVOPS-ICMP-IN)" in refused["msg"]
        assert "backend: iptables" in refused["msg"] and "state: deleted" in refused["msg"]
        assert host_state(lab_default) == before
        assert run_policy(lab_default, driver, state="deleted", backend="iptables", state_dir=state_dir)["changed"]
        assert run_policy(lab_default, driver, state="merged", backend="auto", rules=[TS],
                          state_dir=state_dir)["backend"] == "nftables"
    finally:
        cleanup(lab_default, driver, "iptables", tmp_path / "state")
        cleanup(lab_default, driver, "nftables", tmp_path / "state")


# --- kill -9 in the middle of the engine's apply --------------------------------------------

def _big(action: str) -> t.List[t.Dict[str, t.Any]]:
    """Hundreds of rules in both families, so that the two iptables writes take a while."""
    rules = []
    for family in ("ipv4", "ipv6"):
        for direction in ("input", "forward"):
            for number in range(0, 256, 2):
                if (family, number) in (("ipv6", 2), ("ipv6", 134), ("ipv6", 136), ("ipv4", 4)):
                    continue
                rules.append({"family": family, "direction": direction, "type": number, "action": action})
    return rules


def _ours(lab: t.Any) -> t.Tuple[str, str]:
    state = host_state(lab)
    return tuple("".join(line + "\n" for line in state[tool].splitlines() if "NETDEVOPS-ICMP" in line)
                 for tool in ("iptables-save", "ip6tables-save"))  # type: ignore[return-value]


def _cookies(state_dir: Path) -> t.List[str]:
    directory = state_dir / "confirm"
    return sorted(p.suffix for p in directory.iterdir()) if directory.is_dir() else []


@pytest.mark.parametrize("backend", ["iptables"])
def test_killing_the_engine_mid_apply_leaves_old_or_new_in_both_families(lab_default, driver, tmp_path, backend):
    """Two writes (iptables-restore, ip6tables-restore): a kill between them is undone by the dead-man."""
    kills = 10
    outcomes = {"old": 0, "new": 0, "restored": 0}
    rng = random.Random(1191)
    try:
        assert run_policy(lab_default, driver, state="overridden", rules=_big("accept"), backend=backend,
                          state_dir=str(tmp_path / "setup"))["applied"]
        old = _ours(lab_default)
        started = time.monotonic()
        assert run_policy(lab_default, driver, state="overridden", rules=_big("drop"), backend=backend,
                          state_dir=str(tmp_path / "setup"), allow_unsafe=True)["applied"]
        duration = time.monotonic() - started
        new = _ours(lab_default)
        assert old != new and all(old) and all(new)
        for attempt in range(kills):
            run_policy(lab_default, driver, state="overridden", rules=_big("accept"), backend=backend,
                       state_dir=str(tmp_path / "setup"))
            assert _ours(lab_default) == old
            state_dir = tmp_path / ("kill%d" % attempt)
            proc = lab_default.popen(NODE, [sys.executable, str(driver)], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            proc.stdin.write(json.dumps(dict(state="overridden", rules=_big("drop"), backend=backend,
                                             allow_unsafe=True, deadman_s=1, state_dir=str(state_dir))))
            proc.stdin.close()
            time.sleep(rng.uniform(0.3 * duration, duration))
            for child in _children(proc.pid):
                os_kill(child)
            proc.kill()
            proc.wait()
            if ".applying" in _cookies(state_dir):  # killed between arm and disarm: the dead-man restores
                outcomes["restored"] += _dead_man_restored(state_dir)
            live = _ours(lab_default)
            assert live in (old, new), "a mix of old and new rules after a kill (attempt %d)" % attempt
            outcomes["old" if live == old else "new"] += 1
    finally:
        cleanup(lab_default, driver, backend, tmp_path / "setup")
    print("kill -9 outcomes over %d kills: %s" % (kills, outcomes))
    assert outcomes["old"] + outcomes["new"] == kills, outcomes


def _dead_man_restored(state_dir: Path) -> int:
    """1 when the watchdog restored the snapshot. 0 when the kill came before the watchdog existed:
    the cookie is armed before the watchdog is forked and both before the first write, so then
    nothing was written (the caller's old-or-new check still holds either way)."""
    try:
        _wait_for(lambda: ".rolledback" in _cookies(state_dir), 6 + 1 + 10)
    except AssertionError:
        return 0
    done = next((state_dir / "confirm").glob("*.rolledback")).read_text()
    assert done.startswith("restored"), done
    return 1


def os_kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# --- the watchdog of the real module: ModuleRunner (run_command) after the fork --------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_the_watchdog_of_a_killed_module_restores_through_run_command(lab_default, driver, tmp_path, backend):
    """The module itself (AnsibleModule, ModuleRunner, get_bin_path; PATH without sbin), killed in its wait."""
    state_dir = tmp_path / "state"
    # iptables-nft creates its built-in table and chain the first time they are used: make that happen first
    run_policy(lab_default, driver, state="merged", backend=backend, rules=[TS], state_dir=str(tmp_path / "prime"))
    run_policy(lab_default, driver, state="deleted", backend=backend, state_dir=str(tmp_path / "prime"))
    token = "%032x" % random.getrandbits(128)  # the action plugin's form: 32 lowercase hex digits
    args = {"ANSIBLE_MODULE_ARGS": {"state": "merged", "backend": backend, "confirm_timeout": 3,
                                    "_confirm_token": token, "_confirm_marker": defaults.confirm_marker(token),
                                    "state_dir": str(state_dir),
                                    "config": {"rules": [TS]}}}
    (tmp_path / "args.json").write_text(json.dumps(args), encoding="utf-8")
    before = host_state(lab_default)
    argv = ["env", "-i", "PATH=/usr/bin:/bin", "PYTHONPATH=%s" % COLLECTIONS, sys.executable, "-m",
            "ansible_collections.netdevops.icmp.plugins.modules.policy", str(tmp_path / "args.json")]
    proc = lab_default.popen(NODE, argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        try:
            _wait_for(lambda: ".applied" in _cookies(state_dir) or proc.poll() is not None, 30)
        finally:
            if proc.poll() is not None:
                raise AssertionError("the module ended before its confirmation window: %s" % proc.stdout.read())
        assert host_state(lab_default) != before, "the new policy is live during the confirmation window"
        for child in _children(proc.pid):
            os_kill(child)
        proc.kill()
        proc.wait()
        # the module is dead: its watchdog restores, then removes every cookie (nobody reads .rolledback)
        try:
            _wait_for(lambda: not _cookies(state_dir) and host_state(lab_default) == before, 30)
        except AssertionError:
            raise AssertionError("cookies %s; restored %s; %s" % (
                _cookies(state_dir), host_state(lab_default) == before,
                [p.read_text() for p in (state_dir / "confirm").glob("*.rolledback")]))
    finally:
        proc.kill()
        lab_default.run(NODE, ["nft", "delete", "table", "inet", "netdevops_icmp"], check=False)
