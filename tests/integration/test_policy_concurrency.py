# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Concurrent runs, hostile state directories and a full disk, on real nft / iptables in a lab node.

Each run is the engine in its own process INSIDE the node's namespace (``ip netns exec``),
as the module runs there through the netns connection.
"""
from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys
import time
import typing as t
from pathlib import Path

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import icmp_types, nft

pytestmark = [pytest.mark.root, pytest.mark.lab]

REPO = Path(__file__).resolve().parents[2]
BACKENDS = ["nftables", "iptables"]
NODE = "h2"
# eight ICMPv4 types nobody needs, one per concurrent run
TYPES = [9, 10, 13, 14, 15, 16, 17, 18]
DRIVER = r'''
import json, sys
sys.path.insert(0, %(collections)r)
from ansible_collections.netdevops.icmp.plugins.module_utils._policy import engine, model
from ansible_collections.netdevops.icmp.plugins.module_utils._runner import CommandError, SubprocessRunner
args = json.loads(sys.stdin.read())
try:
    want = model.Policy.build([model.rule_from_dict(r) for r in args.pop("rules", [])])
    result = engine.execute(engine.Request(want=want, **args), engine.Seams(runner=SubprocessRunner()))
except (model.PolicyError, CommandError) as err:
    result = {"failed": True, "msg": str(err)}
print(json.dumps(result))
'''


@pytest.fixture
def driver(tmp_path: Path) -> Path:
    path = tmp_path / "driver.py"
    path.write_text(DRIVER % {"collections": str(REPO / ".build" / "collections")}, encoding="utf-8")
    return path


def rule(icmp_type: int) -> t.Dict[str, t.Any]:
    return {"family": "ipv4", "direction": "input", "type": icmp_type, "action": "drop"}


def run_policy(lab: t.Any, driver: Path, prefix: t.Sequence[str] = (), **args: t.Any) -> t.Dict[str, t.Any]:
    proc = lab.run(NODE, [*prefix, sys.executable, str(driver)], input=json.dumps(args), timeout=180)
    assert proc.stdout.strip(), proc.stderr
    return t.cast(t.Dict[str, t.Any], json.loads(proc.stdout))


def host_state(lab: t.Any) -> t.List[str]:
    """The node's whole firewall (nftables ruleset and both iptables-save outputs, without counters)."""
    state = [nft.without_counts(lab.run(NODE, ["nft", "list", "ruleset"]).stdout)]  # our rules count hits
    for tool in ("iptables-save", "ip6tables-save"):
        state += [line for line in lab.run(NODE, [tool]).stdout.splitlines() if not line.startswith("#")]
    return state


def cleanup(lab: t.Any, driver: Path, backend: str, state_dir: Path) -> None:
    result = run_policy(lab, driver, state="deleted", backend=backend, state_dir=str(state_dir))
    assert not result.get("failed"), result


@pytest.mark.parametrize("backend", BACKENDS)
def test_eight_concurrent_merged_runs_all_land_with_eight_snapshots(lab_default, driver, tmp_path, backend):
    state_dir = tmp_path / "state"
    procs = []
    try:
        for _icmp_type in TYPES:  # all start and import, then block reading stdin
            procs.append(lab_default.popen(NODE, [sys.executable, str(driver)], stdin=subprocess.PIPE,
                                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL))
        for proc, icmp_type in zip(procs, TYPES):  # then go, all at once
            proc.stdin.write(json.dumps({"state": "merged", "backend": backend, "state_dir": str(state_dir),
                                         "rules": [rule(icmp_type)]}))
        for proc in procs:
            proc.stdin.close()
        results = [json.loads(proc.stdout.read()) for proc in procs]
        assert all(result.get("applied") for result in results), results
        gathered = run_policy(lab_default, driver, state="gathered", backend=backend)["gathered"]
        labels = sorted(r["type"] for r in gathered["rules"])
        assert labels == sorted(icmp_types.type_label("ipv4", number) for number in TYPES), "no update was lost"
        assert sorted(result["snapshot"] for result in results) == list(range(1, 9))
        snapshots = glob.glob(str(state_dir / backend / "netns-*" / "*.json"))
        assert len(snapshots) == 8, snapshots
        before_counts = sorted(len(json.loads(Path(path).read_text())["policy"]["rules"]) for path in snapshots)
        assert before_counts == list(range(8)), "each run saw every earlier run's rule (serialized)"
        scope = os.path.basename(os.path.dirname(snapshots[0]))
        assert scope.startswith("netns-%s-" % lab_default.netns(NODE)), scope
        assert not glob.glob(str(state_dir / backend / "*" / "*.tmp")) + glob.glob(str(state_dir / "**" / "*.claim"))
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        cleanup(lab_default, driver, backend, state_dir)


def plant(target_dir: Path, state: Path, lab: t.Any) -> Path:
    """What a local user does to a state_dir they can write: symlinks into root's files."""
    victim = target_dir / "victim"
    victim.write_text("precious\n")
    victim.chmod(0o644)
    lock_name = "netns-%s.lock" % lab.netns(NODE)
    (state / "locks").mkdir()
    (state / "locks").chmod(0o777)
    os.symlink(victim, state / "locks" / lock_name)
    os.symlink(target_dir, state / "nftables")
    os.symlink(target_dir, state / "confirm")
    for path in (state / "locks", state / "locks" / lock_name, state / "nftables", state / "confirm"):
        os.lchown(path, 65534, 65534)
    return victim


@pytest.mark.parametrize("how, error", [
    ("world-writable", r"refusing directory \S*/state \(owner uid 0, mode 0777\)"),
    ("owned-by-user", r"refusing directory \S*/state \(owner uid 65534, mode 0755\)"),
    ("root-dir-user-symlink", r"refusing \S*/state/locks: it is a symlink owned by uid 65534|"
                              r"refusing directory \S*/state/locks \(owner uid 65534, mode 0777\)"),
])
def test_a_planted_symlink_in_a_user_writable_state_dir_is_refused(lab_default, driver, tmp_path, how, error):
    target_dir = tmp_path / "root-files"
    target_dir.mkdir(mode=0o700)
    state = tmp_path / "state"
    state.mkdir()
    victim = plant(target_dir, state, lab_default)
    if how == "world-writable":
        state.chmod(0o777)
    elif how == "owned-by-user":
        state.chmod(0o755)
        os.chown(state, 65534, 65534)
    else:
        state.chmod(0o700)
    before = host_state(lab_default)
    result = run_policy(lab_default, driver, state="merged", backend="nftables", state_dir=str(state),
                        rules=[rule(13)], confirm_timeout=30, token="0123abcd0123abcd")
    assert result.get("failed"), result
    assert re.search(error, result["msg"]), result["msg"]
    assert victim.read_text() == "precious\n" and victim.stat().st_mode & 0o7777 == 0o644
    assert victim.stat().st_uid == 0 and os.listdir(target_dir) == ["victim"]
    assert host_state(lab_default) == before, "the firewall was not touched"


def test_a_full_disk_is_a_clear_error_and_the_ruleset_is_unchanged(lab_default, driver, tmp_path):
    mount_point = tmp_path / "small"
    mount_point.mkdir(mode=0o700)
    before = host_state(lab_default)
    fill = ('mount -t tmpfs -o size=64k,mode=0700 tmpfs "$1" && { head -c 1048576 /dev/zero >"$1/filler" '
            '2>/dev/null; shift; exec "$@"; }')
    prefix = ["unshare", "-m", "sh", "-c", fill, "sh", str(mount_point)]
    result = run_policy(lab_default, driver, prefix=prefix, state="merged", backend="nftables",
                        state_dir=str(mount_point / "state"), rules=[rule(13)])
    assert result.get("failed"), result
    assert "[ENOSPC] No space left on device; free space on that filesystem or set state_dir" in result["msg"]
    assert "Nothing was changed on the host" in result["msg"]
    assert host_state(lab_default) == before
    assert os.listdir(mount_point) == [], "the tmpfs lived only in the private mount namespace"


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_watchdog_of_a_killed_run_keeps_the_lock_until_it_has_restored(lab_default, driver, tmp_path, backend):
    """No run can apply between a dead module and its watchdog's rollback, and the watchdog never waits."""
    state_dir = tmp_path / "state"
    cookies = state_dir / "confirm"
    first = lab_default.popen(NODE, [sys.executable, str(driver)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
    first.stdin.write(json.dumps({"state": "merged", "backend": backend, "state_dir": str(state_dir),
                                  "rules": [rule(13)], "confirm_timeout": 2, "token": "0123abcd0123abcd"}))
    first.stdin.close()
    try:
        deadline = time.monotonic() + 60
        while not (cookies / "0123abcd0123abcd.applied").exists():
            assert time.monotonic() < deadline and first.poll() is None, "the first run never applied"
            time.sleep(0.05)
        first.kill()  # ip netns exec execs the driver: this is the module process
        first.wait()
        killed_at = time.monotonic()
        impatient = run_policy(lab_default, driver, state="merged", backend=backend, state_dir=str(state_dir),
                               rules=[rule(14)], lock_timeout=0.5)
        assert re.search(r"another policy run on this host \(pid %d, its commit-confirm watchdog pid \d+\)"
                         % first.pid, impatient.get("msg", "")), impatient
        second = run_policy(lab_default, driver, state="merged", backend=backend, state_dir=str(state_dir),
                            rules=[rule(14)])
        waited = time.monotonic() - killed_at
        assert second.get("applied"), second
        assert second["before"]["rules"] == [], "the watchdog restored the snapshot before the next run read"
        assert [r["type"] for r in second["after"]["rules"]] == ["timestamp-reply"]
        assert second["snapshot"] == 2
        assert waited >= 2, "the second run waited for the watchdog (window 2 s + grace) before reading"
        assert os.listdir(cookies) == [], "the watchdog removed every cookie file"
    finally:
        first.kill()
        cleanup(lab_default, driver, backend, state_dir)
