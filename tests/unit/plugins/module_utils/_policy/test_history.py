"""The snapshot history: exclusive ids, private files, tolerant pruning, raw text and scope."""
from __future__ import annotations

import json
import multiprocessing
import os
import subprocess

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import history as history_mod
from ansible_collections.netdevops.icmp.plugins.module_utils._policy import profiles
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import Policy, PolicyError

HOST = profiles.profile_policy("rfc4890-host")
RAW = {"table inet netdevops_icmp": "table inet netdevops_icmp {\n}\n"}


def test_save_and_load_round_trip_with_raw_text_and_scope(tmp_path):
    history = history_mod.History(str(tmp_path / "h"), scope="netns-a-1234")
    snap = history.save("nftables", True, HOST, raw=RAW)
    assert snap.snapshot_id == 1 and snap.raw == RAW and snap.scope == "netns-a-1234"
    assert history.load(1) == snap
    assert oct(os.stat(history.path(1)).st_mode & 0o777) == "0o600"
    assert sorted(os.listdir(tmp_path / "h")) == ["000001.json"], "no claim or temp file is left behind"


def test_an_older_snapshot_file_without_raw_or_scope_still_loads(tmp_path):
    history = history_mod.History(str(tmp_path))
    (tmp_path / "000007.json").write_text(json.dumps(
        {"id": 7, "backend": "iptables", "present": False, "created": 1.5, "policy": {"rules": [], "sysctls": {}}}))
    snap = history.load(7)
    assert (snap.snapshot_id, snap.raw, snap.scope, snap.policy) == (7, {}, "", Policy())


@pytest.mark.parametrize("content, error", [
    ("{", "is not valid JSON"),
    ("[]", "is damaged"),
    (json.dumps({"id": 1, "backend": "nftables", "present": True, "created": 1, "policy": {}, "raw": {"a": 1}}),
     "is damaged .*raw must map names to text"),
])
def test_a_damaged_snapshot_is_a_policy_error(tmp_path, content, error):
    (tmp_path / "000001.json").write_text(content)
    with pytest.raises(PolicyError, match=error):
        history_mod.History(str(tmp_path)).load(1)


def _dead_pid() -> int:
    with subprocess.Popen(["true"]) as child:  # a process that has exited and been reaped
        child.wait()
    return child.pid


def test_a_live_writers_claim_is_never_pruned(tmp_path):
    """Another writer is still writing id 2: pruning must leave its claim, or a third writer takes id 2 too."""
    history = history_mod.History(str(tmp_path), keep=10)
    (tmp_path / "000002.claim").write_text("%d\n" % os.getpid())
    (tmp_path / "000003.json").write_text("{}")
    history._prune(4)
    assert (tmp_path / "000002.claim").exists()
    (tmp_path / "000002.claim").write_text("%d\n" % _dead_pid())
    history._prune(4)
    assert not (tmp_path / "000002.claim").exists()


def test_ids_skip_taken_claims_and_pruning_removes_only_old_snapshots_and_stale_claims(tmp_path):
    history = history_mod.History(str(tmp_path), keep=2)
    (tmp_path / "000003.claim").write_text("%d\n" % _dead_pid())  # a run killed after claiming id 3
    (tmp_path / "junk.json").write_text("{}")
    (tmp_path / "000001.json.tmp").write_text("{}")
    assert history.save("nftables", True, HOST).snapshot_id == 4
    assert history.save("nftables", True, HOST).snapshot_id == 5
    assert history.save("nftables", True, HOST).snapshot_id == 6
    assert history.ids() == [5, 6]
    assert sorted(os.listdir(tmp_path)) == ["000001.json.tmp", "000005.json", "000006.json", "junk.json"]


def test_pruning_tolerates_a_file_another_party_removed(tmp_path, monkeypatch):
    history = history_mod.History(str(tmp_path), keep=1)
    history.save("nftables", True, HOST)
    names = history._names

    def racing_names():
        found = names()
        for number, kind in found:  # someone removes the old snapshot between listing and unlinking
            if kind == "json" and number == 1 and os.path.exists(history.path(1)):
                os.unlink(history.path(1))
        return found

    monkeypatch.setattr(history, "_names", racing_names)
    assert history.save("nftables", True, HOST).snapshot_id == 2
    assert history.ids() == [2]


def _save_many(directory: str, count: int) -> None:
    history = history_mod.History(directory, keep=1000)
    for _attempt in range(count):
        history.save("nftables", True, HOST)


def test_concurrent_writers_without_the_lock_never_share_an_id_or_crash(tmp_path):
    """Writers hold the lock in real runs; the file protocol alone must still be sound."""
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_save_many, args=(str(tmp_path), 10)) for _index in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0] * 6
    history = history_mod.History(str(tmp_path))
    assert history.ids() == list(range(1, 61))
    assert {history.load(number).snapshot_id for number in history.ids()} == set(range(1, 61))
    assert sorted(os.listdir(tmp_path)) == ["%06d.json" % number for number in range(1, 61)]


def test_a_symlinked_snapshot_is_refused(tmp_path):
    (tmp_path / "elsewhere.json").write_text("{}")
    os.symlink(tmp_path / "elsewhere.json", tmp_path / "000001.json")
    with pytest.raises(PolicyError, match=r"cannot open .*000001\.json: \[ELOOP\]"):
        history_mod.History(str(tmp_path)).load(1)


def test_rollback_refuses_a_snapshot_of_another_namespace_naming_both(tmp_path):
    history_mod.History(str(tmp_path), scope="netns-old-aaaa").save("nftables", True, HOST)
    history_mod.History(str(tmp_path)).save("nftables", False, Policy())  # an older file: no scope recorded
    current = history_mod.History(str(tmp_path), scope="netns-new-bbbb")
    with pytest.raises(PolicyError, match=r"snapshot 1 was taken in network namespace 'netns-old-aaaa', but this "
                                          r"run is in 'netns-new-bbbb'; refusing"):
        current.pick("1", HOST)
    with pytest.raises(PolicyError, match=r"snapshot 2 was taken in network namespace '\(not recorded\)'"):
        current.pick("previous", HOST)
    assert history_mod.History(str(tmp_path), scope="netns-old-aaaa").pick("1", Policy()).policy == HOST


def test_pick_errors_name_what_is_available(tmp_path):
    history = history_mod.History(str(tmp_path), scope="s")
    with pytest.raises(PolicyError, match="no snapshot history"):
        history.pick("previous", HOST)
    history.save("nftables", True, HOST)
    with pytest.raises(PolicyError, match=r"snapshot 4 cannot be read .*it does not exist.*available: \[1\]"):
        history.pick("4", HOST)
    with pytest.raises(PolicyError, match=r"rollback 'last' must be 'previous' or a snapshot id \(\[1\]\)"):
        history.pick("last", HOST)
