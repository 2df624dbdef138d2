# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Where reports go: file names that carry the slice of the inventory, inventory groups for
the HTML page, and atomic streaming writes. Pure functions of task variables and paths.

AWX job slicing and ``--limit`` run the same playbook over part of the inventory. With a
fixed basename each part would replace the others' files (and their Prometheus series),
so a part's files carry its slice: ``slice2of4`` for AWX slice 2 of 4, ``limit-<hash>`` for
a ``--limit`` (a hash of the limit expression, so the same limit writes the same files).
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import typing as t

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_BROAD_GROUPS = ("all", "ungrouped")


class OutputError(ValueError):
    """An output option we cannot use; the message quotes it and says what to do."""


def checked_name(option: str, value: str) -> str:
    """A basename or slice that becomes part of a file name: letters, digits, ``_.-`` only."""
    if not NAME.fullmatch(value) or ".." in value:
        raise OutputError("%s %r is not a file name stem: use letters, digits, '_', '.' and '-' (up to 128, "
                          "starting with a letter or digit, no '..')" % (option, value))
    return value


def slice_of(task_vars: t.Mapping[str, t.Any]) -> t.Optional[str]:
    """The part of the inventory this run covers, or None for a whole-inventory run."""
    parts = []
    number, count = task_vars.get("awx_job_slice_number"), task_vars.get("awx_job_slice_count")
    if number is not None and count is not None and str(count) not in ("", "0", "1"):
        parts.append("slice%sof%s" % (number, count))
    limit = task_vars.get("ansible_limit")
    if limit and str(limit).strip() not in ("all", "*"):  # a limit to everything is the whole inventory
        parts.append("limit-" + hashlib.sha256(str(limit).encode("utf-8")).hexdigest()[:10])
    return "-".join(parts) or None


def file_stem(basename: str, slice_id: t.Optional[str]) -> str:
    return "%s.%s" % (basename, slice_id) if slice_id else basename


def inventory_groups(groups: t.Optional[t.Mapping[str, t.Any]], hosts: t.Iterable[str]) -> t.Dict[str, str]:
    """Each host's most specific inventory group (the smallest one holding it, then by name),
    for the HTML page's rows; hosts only in ``all``/``ungrouped`` get none."""
    wanted = set(hosts)
    best: t.Dict[str, t.Tuple[int, str]] = {}
    for name, members in (groups or {}).items():
        if name in _BROAD_GROUPS or not isinstance(members, (list, tuple)):
            continue
        size = len(members)
        for host in members:
            if host in wanted and (host not in best or (size, name) < best[host]):
                best[host] = (size, str(name))
    return {host: group for host, (_size, group) in best.items()}


def write_atomic(path: str, writer: t.Callable[[t.TextIO], None], mode: int) -> None:
    """Stream into a file beside the target and rename, so readers never see half a file."""
    handle, temp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=os.path.dirname(path))
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            writer(stream)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
