"""Safe state files and the policy lock: real files in tmp_path, real flock between processes."""
from __future__ import annotations

import errno
import fcntl
import os
import subprocess
import sys
import time

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import statefiles
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import PolicyError
from ansible_collections.netdevops.icmp.tests.unit.fakes.clock import FakeClock

IS_ROOT = os.geteuid() == 0


def mode(path) -> int:
    return os.lstat(path).st_mode & 0o7777


def test_ensure_dir_creates_private_directories_and_missing_parents(tmp_path):
    state = tmp_path / "a" / "b" / "state"
    assert statefiles.ensure_dir(str(state)) == str(state)
    assert mode(state) == 0o700 and mode(tmp_path / "a") == 0o700
    assert statefiles.ensure_dir(str(state)) == str(state), "an existing safe directory is fine"


def test_a_symlinked_state_dir_is_refused(tmp_path):
    (tmp_path / "real").mkdir(mode=0o700)
    os.symlink(tmp_path / "real", tmp_path / "state")
    with pytest.raises(PolicyError, match=r"state\S* is a symlink; state paths are never followed"):
        statefiles.ensure_dir(str(tmp_path / "state"))


@pytest.mark.parametrize("bits", [0o770, 0o707, 0o777])
def test_a_group_or_world_writable_state_dir_is_refused(tmp_path, bits):
    state = tmp_path / "state"
    state.mkdir()
    state.chmod(bits)
    with pytest.raises(PolicyError, match=r"refusing directory .*state \(owner uid \d+, mode %04o\).*chmod go-w" % bits):
        statefiles.ensure_dir(str(state))


@pytest.mark.skipif(not IS_ROOT, reason="chown to another user needs root")
def test_a_state_dir_owned_by_another_user_is_refused(tmp_path):
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    os.chown(state, 65534, 65534)
    with pytest.raises(PolicyError, match=r"refusing directory .* \(owner uid 65534, mode 0700\): it must be owned by uid 0"):
        statefiles.ensure_dir(str(state))


def test_an_unsafe_parent_is_refused_but_a_sticky_one_is_fine(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(PolicyError, match=r"refusing parent directory .*shared \(owner uid \d+, mode 0777\)"):
        statefiles.ensure_dir(str(shared / "state"))
    assert not (shared / "state").exists(), "nothing is created under an unsafe parent"
    shared.chmod(0o1777)
    statefiles.ensure_dir(str(shared / "state"))


def test_a_regular_file_is_no_state_dir(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(PolicyError, match=r"file exists and is not a directory"):
        statefiles.ensure_dir(str(tmp_path / "file"))
    with pytest.raises(PolicyError, match=r"state_dir: \S*/file is not a directory; set state_dir"):
        statefiles.ensure_dir(str(tmp_path / "file" / "state"))


@pytest.mark.parametrize("code, advice", [(errno.EROFS, "read-only"), (errno.ENOSPC, "free space"),
                                          (errno.EACCES, "become: true")])
def test_os_errors_become_clear_policy_errors(tmp_path, monkeypatch, code, advice):
    def refuse(path, mode=0o777):
        raise OSError(code, os.strerror(code), path)

    monkeypatch.setattr(statefiles.os, "mkdir", refuse)
    with pytest.raises(PolicyError, match=r"cannot create directory .*state: \[%s\] .*%s.*Nothing was changed"
                       % (errno.errorcode[code], advice)):
        statefiles.ensure_dir(str(tmp_path / "state"))


def test_create_new_never_follows_or_overwrites(tmp_path):
    target = tmp_path / "target"
    target.write_text("precious\n")
    target.chmod(0o644)
    os.symlink(target, tmp_path / "planted")
    assert not statefiles.create_new(str(tmp_path / "planted"), "evil\n")
    assert target.read_text() == "precious\n" and mode(target) == 0o644
    assert statefiles.create_new(str(tmp_path / "new"), "fresh\n")
    assert (tmp_path / "new").read_text() == "fresh\n" and mode(tmp_path / "new") == 0o600
    assert not statefiles.create_new(str(tmp_path / "new"), "again\n")
    assert (tmp_path / "new").read_text() == "fresh\n"


def test_read_text_refuses_a_symlink_and_reports_a_missing_file_as_none(tmp_path):
    (tmp_path / "target").write_text("secret")
    os.symlink(tmp_path / "target", tmp_path / "link")
    with pytest.raises(PolicyError, match=r"cannot open .*link: \[ELOOP\].*never followed"):
        statefiles.read_text(str(tmp_path / "link"))
    assert statefiles.read_text(str(tmp_path / "missing")) is None


def test_write_replace_is_atomic_private_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "file.json"
    path.write_text("old")
    statefiles.write_replace(str(path), "new")
    assert path.read_text() == "new" and mode(path) == 0o600
    assert os.listdir(tmp_path) == ["file.json"]


def test_a_full_disk_while_writing_removes_the_temp_file(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(statefiles.os, "fsync", full)
    with pytest.raises(PolicyError, match=r"cannot write .*\.file\.json\.[0-9a-f]+\.tmp: \[ENOSPC\]"):
        statefiles.write_replace(str(tmp_path / "file.json"), "data")
    assert os.listdir(tmp_path) == []


def test_remove_tolerates_a_file_that_is_already_gone(tmp_path):
    statefiles.remove(str(tmp_path / "never-there"))


# --- the lock ------------------------------------------------------------------------------

HOLDER = r"""
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
os.ftruncate(fd, 0)
os.write(fd, b"pid %d\n" % os.getpid())
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def hold_in_another_process(path, seconds):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_the_lock_excludes_another_process_and_names_the_holder(tmp_path):
    path = tmp_path / "host.lock"
    holder = hold_in_another_process(path, 30)
    clock = FakeClock()
    started = clock.monotonic()
    try:
        with pytest.raises(PolicyError, match=r"another policy run on this host \(pid %d\) has held .*host\.lock for "
                                              r"more than 90s, so this run changed nothing" % holder.pid):
            statefiles.StateLock(str(path), 90, clock).acquire()
        assert clock.monotonic() - started == pytest.approx(90, abs=0.2), "it waited the whole time"
    finally:
        holder.kill()
        holder.wait()
    with statefiles.StateLock(str(path), 1, clock) as lock:  # the lock died with its holder
        assert (tmp_path / "host.lock").read_text() == "pid %d\n" % os.getpid()
        assert lock.fd >= 0
    assert lock.fd == -1


def test_a_waiting_run_gets_the_lock_when_the_holder_finishes(tmp_path):
    path = tmp_path / "host.lock"
    holder = hold_in_another_process(path, 0.5)
    started = time.monotonic()
    with statefiles.StateLock(str(path), 20, statefiles.SystemClock()):
        waited = time.monotonic() - started
    holder.wait()
    assert 0.2 < waited < 10


def test_a_child_that_inherits_the_lock_keeps_it_after_we_release(tmp_path):
    """What the commit-confirm watchdog relies on: release() closes, it never unlocks the shared description."""
    path = str(tmp_path / "host.lock")
    lock = statefiles.StateLock(path, 0, FakeClock()).acquire()
    child = subprocess.Popen(["sleep", "30"], pass_fds=[lock.fd])
    try:
        lock.release()
        with pytest.raises(PolicyError, match="another policy run"):
            statefiles.StateLock(path, 0, FakeClock()).acquire()
    finally:
        child.kill()
        child.wait()
    statefiles.StateLock(path, 0, FakeClock()).acquire().release()


def test_a_symlinked_lock_file_is_refused_and_its_target_untouched(tmp_path):
    target = tmp_path / "target"
    target.write_text("precious\n")
    os.symlink(target, tmp_path / "host.lock")
    with pytest.raises(PolicyError, match=r"cannot open the lock file .*host\.lock: \[ELOOP\]"):
        statefiles.StateLock(str(tmp_path / "host.lock"), 1, FakeClock()).acquire()
    assert target.read_text() == "precious\n"


def test_a_lock_file_writable_by_others_is_refused(tmp_path):
    path = tmp_path / "host.lock"
    path.write_text("")
    path.chmod(0o666)
    with pytest.raises(PolicyError, match=r"refusing file .*host\.lock \(owner uid \d+, mode 0666\)"):
        statefiles.StateLock(str(path), 1, FakeClock()).acquire()
    fd = os.open(path, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # and it released what it opened
    os.close(fd)


def test_a_parent_symlink_of_ours_is_followed_and_its_target_checked(tmp_path):
    (tmp_path / "real").mkdir(mode=0o700)
    os.symlink(tmp_path / "real", tmp_path / "run")
    statefiles.ensure_dir(str(tmp_path / "run" / "state"))
    assert (tmp_path / "real" / "state").is_dir()
    (tmp_path / "real").chmod(0o777)
    with pytest.raises(PolicyError, match=r"refusing parent directory \S*/real \(owner uid \d+, mode 0777\)"):
        statefiles.ensure_dir(str(tmp_path / "run" / "state"))


@pytest.mark.skipif(not IS_ROOT, reason="lchown to another user needs root")
def test_a_parent_symlink_planted_by_another_user_is_refused(tmp_path):
    (tmp_path / "victim").mkdir(mode=0o700)
    os.symlink(tmp_path / "victim", tmp_path / "state")
    os.lchown(tmp_path / "state", 65534, 65534)
    with pytest.raises(PolicyError, match=r"refusing \S*/state: it is a symlink owned by uid 65534"):
        statefiles.ensure_dir(str(tmp_path / "state" / "nftables"))
    assert os.listdir(tmp_path / "victim") == []
