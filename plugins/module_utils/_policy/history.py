# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""The snapshot history: one JSON file per snapshot, ``<dir>/NNNNNN.json``.

Writers hold the policy lock, so ids cannot race; the files are written as if they
could anyway: an id is claimed with ``O_EXCL`` (``NNNNNN.claim``, retried on EEXIST),
the content goes to a new 0600 temp file that is renamed to ``NNNNNN.json``, and
pruning tolerates files that are already gone. Readers (``rollback`` in check mode)
take no lock and get a clear error if a file vanished under them.
"""
from __future__ import annotations

import json
import os
import re
import time
import typing as t
from dataclasses import dataclass, field

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import statefiles
from ansible_collections.netdevops.icmp.plugins.module_utils._policy import sysctl as sysctl_mod
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import Policy, PolicyError, rule_from_dict

_SNAPSHOT_RE = re.compile(r"([0-9]{6,9})\.(json|claim)")


@dataclass(frozen=True)
class Snapshot:
    snapshot_id: int
    backend: str
    present: bool
    policy: Policy
    created: float
    raw: t.Dict[str, str] = field(default_factory=dict)  # the backend's own text of our table/chains
    scope: str = ""  # the history key of the namespace it was taken in ("" in files older than that)

    def to_dict(self) -> t.Dict[str, t.Any]:
        return {"id": self.snapshot_id, "backend": self.backend, "present": self.present,
                "created": self.created, "policy": self.policy.to_dict(), "raw": dict(self.raw),
                "scope": self.scope}


def policy_from_dict(data: t.Mapping[str, t.Any]) -> Policy:
    rules = [rule_from_dict(raw, "snapshot rule %d" % index) for index, raw in enumerate(data.get("rules", []))]
    return Policy.build(rules, sysctl_mod.validate(data.get("sysctls")))


def snapshot_from_dict(data: t.Any, where: str) -> Snapshot:
    try:
        raw = data.get("raw") or {}
        if not all(isinstance(key, str) and isinstance(value, str) for key, value in raw.items()):
            raise TypeError("raw must map names to text")
        return Snapshot(int(data["id"]), str(data["backend"]), bool(data["present"]),
                        policy_from_dict(data["policy"]), float(data["created"]), dict(raw),
                        str(data.get("scope") or ""))
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        raise PolicyError("snapshot file %s is damaged (%s: %s); pick another snapshot id or remove that file"
                          % (where, type(err).__name__, err)) from err


class History:
    def __init__(self, directory: str, keep: int = 20, wall: t.Callable[[], float] = time.time,
                 scope: str = "") -> None:
        self.directory, self.keep, self.wall, self.scope = directory, keep, wall, scope

    def _names(self) -> t.List[t.Tuple[int, str]]:
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        except OSError as err:
            raise statefiles.state_error("list", self.directory, err) from err
        found = (_SNAPSHOT_RE.fullmatch(name) for name in names)
        return sorted((int(match.group(1)), match.group(2)) for match in found if match)

    def ids(self) -> t.List[int]:
        return [number for number, kind in self._names() if kind == "json"]

    def path(self, snapshot_id: int) -> str:
        return os.path.join(self.directory, "%06d.json" % snapshot_id)

    def save(self, backend: str, present: bool, policy: Policy,
             raw: t.Optional[t.Mapping[str, str]] = None) -> Snapshot:
        statefiles.ensure_dir(self.directory)
        taken = self._names()
        snapshot_id = (taken[-1][0] + 1) if taken else 1
        while True:
            if statefiles.create_new(self._claim(snapshot_id), "%d\n" % os.getpid()):
                if not os.path.lexists(self.path(snapshot_id)):
                    break
                # another writer claimed, wrote and released this id after we listed: never overwrite it
                statefiles.remove(self._claim(snapshot_id))
            snapshot_id += 1
        try:
            snap = Snapshot(snapshot_id, backend, present, policy, self.wall(), dict(raw or {}), self.scope)
            statefiles.write_replace(self.path(snapshot_id),
                                     json.dumps(snap.to_dict(), indent=1, sort_keys=True) + "\n")
        finally:
            statefiles.remove(self._claim(snapshot_id))
        self._prune(snapshot_id)
        return snap

    def _claim(self, snapshot_id: int) -> str:
        return os.path.join(self.directory, "%06d.claim" % snapshot_id)

    def _prune(self, newest: int) -> None:
        """Keep the newest ``keep`` snapshots; older claims are leftovers of killed runs."""
        names = self._names()
        ids = [number for number, kind in names if kind == "json"]
        doomed = [self.path(number) for number in ids[: max(0, len(ids) - self.keep)]]
        doomed += [self._claim(number) for number, kind in names
                   if kind == "claim" and number < newest and self._stale_claim(number)]
        for path in doomed:
            statefiles.remove(path)

    def _stale_claim(self, number: int) -> bool:
        """A claim whose writer is gone (a killed run). A live writer's claim is never removed: another
        writer would then take that id while the first still writes it, and one snapshot would be lost."""
        try:
            text = statefiles.read_text(self._claim(number))
            pid = int((text or "").strip())
        except (PolicyError, ValueError):
            return False  # unreadable, or created but not yet written: leave it
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False  # exists, another user's
        return False

    def load(self, snapshot_id: int) -> Snapshot:
        path = self.path(snapshot_id)
        try:
            text = statefiles.read_text(path)
            data = json.loads(text) if text is not None else None
        except ValueError as err:
            raise PolicyError("snapshot %d in %s is not valid JSON (%s); pick another one: %s"
                              % (snapshot_id, path, err, self.ids() or "none")) from err
        if data is None:
            raise PolicyError("snapshot %d cannot be read from %s (it does not exist); available: %s"
                              % (snapshot_id, path, self.ids() or "none"))
        return snapshot_from_dict(data, path)

    def pick(self, spec: str, current: Policy) -> Snapshot:
        """``previous``: the newest snapshot that differs from ``current``; or a snapshot id."""
        ids = self.ids()
        if not ids:
            raise PolicyError("no snapshot history in %s: nothing to roll back to" % self.directory)
        if str(spec) == "previous":
            for snapshot_id in reversed(ids):
                snap = self._ours(self.load(snapshot_id))
                if snap.policy != current:
                    return snap
            return self._ours(self.load(ids[-1]))
        if not str(spec).isdigit():
            raise PolicyError("rollback %r must be 'previous' or a snapshot id (%s)" % (spec, ids))
        return self._ours(self.load(int(spec)))

    def _ours(self, snap: Snapshot) -> Snapshot:
        """Never restore a snapshot taken in another network namespace (or one that does not say)."""
        if self.scope and snap.scope != self.scope:
            raise PolicyError("snapshot %d was taken in network namespace %r, but this run is in %r; refusing to "
                              "restore another namespace's firewall. Pick a snapshot of this namespace (see %s)."
                              % (snap.snapshot_id, snap.scope or "(not recorded)", self.scope, self.directory))
        return snap
