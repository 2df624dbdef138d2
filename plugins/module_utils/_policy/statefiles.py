# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Safe files under ``state_dir``, and the one-run-at-a-time lock.

The module runs as root and writes into ``state_dir``; whoever can write into that
directory (or one of its parents) could plant a symlink and make root overwrite or
chmod any file. So:

- ``state_dir`` and every directory we create in it must be a real directory owned by
  the running user and not writable by group or others; every parent must be owned by
  root or the running user and not group/world-writable unless sticky (``/tmp``);
- files are opened with ``O_NOFOLLOW`` (a symlink is an error, never followed), new
  ones with ``O_CREAT|O_EXCL`` and mode 0600, then renamed into place;
- every ``OSError`` becomes a ``PolicyError`` that names the path, the errno and what
  to do. All of this happens before the first write to the firewall.
"""
from __future__ import annotations

import errno
import fcntl
import os
import secrets
import stat
import time
import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import PolicyError

DIR_MODE = 0o700
FILE_MODE = 0o600
_OPEN_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_ADVICE = {
    errno.ENOSPC: "free space on that filesystem or set state_dir to another one",
    errno.EDQUOT: "free space on that filesystem or set state_dir to another one",
    errno.EROFS: "the filesystem is read-only: set state_dir to a writable directory",
    errno.EACCES: "run as a user that may write there (become: true) or set state_dir",
    errno.EPERM: "run as a user that may write there (become: true) or set state_dir",
    errno.ENOTDIR: "a part of the path is a regular file: set state_dir to a directory path",
    errno.ELOOP: "it is a symlink, which is never followed: remove it or set state_dir",
}


def state_error(action: str, path: str, err: OSError) -> PolicyError:
    """``cannot <action> <path>: [ENOSPC] No space left on device; <what to do>``."""
    code = errno.errorcode.get(err.errno or 0, str(err.errno))
    advice = _ADVICE.get(err.errno or 0, "check state_dir")
    return PolicyError("policy state_dir: cannot %s %s: [%s] %s; %s. Nothing was changed on the host."
                       % (action, path, code, err.strerror or err, advice))


def _describe(info: os.stat_result) -> str:
    return "owner uid %d, mode %04o" % (info.st_uid, stat.S_IMODE(info.st_mode))


def _check_ours(path: str, info: os.stat_result) -> None:
    """A directory or file we keep state in: ours, and nobody else may write it."""
    kind = "directory" if stat.S_ISDIR(info.st_mode) else "file"
    if stat.S_ISLNK(info.st_mode):
        raise PolicyError("policy state_dir: %s is a symlink; state paths are never followed. Remove it, or set "
                          "state_dir to a directory owned by uid %d with mode 0700." % (path, os.geteuid()))
    if info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise PolicyError("policy state_dir: refusing %s %s (%s): it must be owned by uid %d and not writable by "
                          "group or others, or another user could redirect root's writes. Fix it with "
                          "'chown %d %s; chmod go-w %s', or set state_dir elsewhere."
                          % (kind, path, _describe(info), os.geteuid(), os.geteuid(), path, path))


def _check_parent(path: str, info: os.stat_result) -> None:
    if not stat.S_ISDIR(info.st_mode):
        raise PolicyError("policy state_dir: %s is not a directory; set state_dir to a directory path" % path)
    writable_by_others = info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX
    if info.st_uid not in (0, os.geteuid()) or writable_by_others:
        raise PolicyError("policy state_dir: refusing parent directory %s (%s): it must be owned by root or uid %d "
                          "and not writable by group or others (unless sticky, like /tmp). Set state_dir elsewhere."
                          % (path, _describe(info), os.geteuid()))


def _ensure_parents(parent: str) -> None:
    """Every directory above state_dir checked (missing ones created, 0700).

    A symlink on the way (``/var/run`` -> ``/run``) is followed only when root or we own
    it, and then its target's directories are checked too.
    """
    current = "/"
    for part in os.path.abspath(parent).split(os.sep):
        current = os.path.join(current, part)
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            _mkdir(current)
            info = os.lstat(current)
        except OSError as err:
            raise state_error("inspect", current, err) from err
        if stat.S_ISLNK(info.st_mode):
            if info.st_uid not in (0, os.geteuid()):
                raise PolicyError("policy state_dir: refusing %s: it is a symlink owned by uid %d, who could point "
                                  "it anywhere. Remove it or set state_dir elsewhere." % (current, info.st_uid))
            _ensure_parents(os.path.realpath(current))
            continue
        _check_parent(current, info)


def _mkdir(path: str) -> None:
    try:
        os.mkdir(path, DIR_MODE)
    except FileExistsError:
        pass
    except OSError as err:
        raise state_error("create directory", path, err) from err


def ensure_dir(path: str) -> str:
    """Create ``path`` (0700) and missing parents if needed; refuse it or a parent when unsafe."""
    path = os.path.abspath(path)
    _ensure_parents(os.path.dirname(path))
    _mkdir(path)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) and not stat.S_ISLNK(info.st_mode):
        raise PolicyError("policy state_dir: %s exists and is not a directory (%s); remove it or set state_dir "
                          "to another path" % (path, _describe(info)))
    _check_ours(path, info)
    return path


def read_text(path: str) -> t.Optional[str]:
    """The content of a state file, or None when it does not exist; a symlink is refused."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise state_error("open", path, err) from err
    with os.fdopen(fd, "r", encoding="utf-8") as handle:
        _check_ours(path, os.fstat(handle.fileno()))
        return handle.read()


def create_new(path: str, text: str) -> bool:
    """Write a NEW file (O_EXCL, 0600). False if it already exists; never follows a symlink."""
    try:
        fd = os.open(path, _OPEN_NEW, FILE_MODE)
    except FileExistsError:
        return False
    except OSError as err:
        raise state_error("create", path, err) from err
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as err:
        remove(path)
        raise state_error("write", path, err) from err
    return True


def write_replace(path: str, text: str) -> None:
    """Replace ``path`` atomically: a new 0600 temp file in the same directory, then rename."""
    directory, name = os.path.split(path)
    while True:
        temp = os.path.join(directory, ".%s.%s.tmp" % (name, secrets.token_hex(6)))
        if create_new(temp, text):
            break
    try:
        os.rename(temp, path)
    except OSError as err:
        remove(temp)
        raise state_error("rename into", path, err) from err


def remove(path: str) -> None:
    """Unlink; a file that is already gone is fine (another party cleaned it up)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class Clock(t.Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class StateLock:
    """An exclusive ``flock`` on ``path``: one policy run at a time per host.

    The lock belongs to the open file description. The commit-confirm watchdog is forked
    while the lock is held and keeps ``fd`` open, so it keeps holding the lock after the
    module is gone, until it has restored the snapshot or seen the confirmation: no later
    run can apply in between, and the watchdog never waits for the lock (no deadlock).
    For that reason ``release`` only closes our descriptor and never calls ``LOCK_UN``.
    """

    def __init__(self, path: str, wait_s: float, clock: Clock, poll_s: float = 0.1) -> None:
        self.path, self.wait_s, self.clock, self.poll_s = path, wait_s, clock, poll_s
        self.fd = -1

    def acquire(self) -> "StateLock":
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
        except OSError as err:
            raise state_error("open the lock file", self.path, err) from err
        try:
            _check_ours(self.path, os.fstat(self.fd))
            self._wait()
            self.note("pid %d" % os.getpid())
        except BaseException:
            self.release()
            raise
        return self

    def _wait(self) -> None:
        deadline = self.clock.monotonic() + self.wait_s
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if self.clock.monotonic() >= deadline:
                    raise PolicyError(self._busy_message()) from None
                self.clock.sleep(self.poll_s)

    def _busy_message(self) -> str:
        holder = (os.pread(self.fd, 200, 0).decode("utf-8", "replace").strip() or "unknown pid")
        return ("another policy run on this host (%s) has held %s for more than %gs, so this run changed "
                "nothing. A run holds the lock while it applies and waits for its confirmation (up to its "
                "confirm_timeout); retry when it has finished, or give this run a longer lock_timeout. The lock "
                "dies with its holder: if no such process exists, simply retry." % (holder, self.path, self.wait_s))

    def note(self, text: str) -> None:
        """Record who holds the lock (shown to a run that waits in vain)."""
        try:
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, (text + "\n").encode(), 0)
        except OSError as err:
            raise state_error("write the lock file", self.path, err) from err

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "StateLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
