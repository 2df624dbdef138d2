# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""The policy_cutoff drill's verdict: what the push did, and what a capture on the client saw.

The push is ``netdevops.icmp.policy`` over SSH with commit-confirm; the capture is
``netdevops.icmp.capture`` on the client while the push ran. Its evidence is the
fragmentation-needed errors that arrived at the client quoting the client's own SSH packets:
the path told the client to send smaller packets, and the pushed rule dropped the message.
"""
from __future__ import annotations

import typing as t

from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import capture as report_capture

SSH_PORT = 22
_TCP = (6, "tcp")


class CutoffDataError(ValueError):
    """Drill data that is not what the verdict reads."""


def outcome(push: t.Mapping[str, t.Any]) -> str:
    if push.get("rolled_back"):
        return "rolled_back_by_host"
    return "confirmed" if push.get("applied") else "push_failed"


def _sentence(verdict: str, parts: t.Mapping[str, t.Any]) -> str:
    client, push = parts.get("client"), parts.get("push") or {}
    if verdict == "rolled_back_by_host":
        return ("the push cut the controller off from %s: its full-size packets back to the controller were "
                "black-holed (frag-needed dropped), the confirmation did not arrive within %s s, and %s restored its "
                "previous policy by itself" % (client, parts.get("confirm_timeout"), client))
    if verdict == "confirmed":
        return "the push was confirmed, the controller kept full-size access to %s" % client
    return "the push failed before commit-confirm: %s" % (push.get("msg") or "no message")


def _frag_needed_for_ssh(result: t.Mapping[str, t.Any]) -> t.List[t.Mapping[str, t.Any]]:
    rows = []
    for row in result.get("errors") or []:
        quoted = row.get("quoted") if isinstance(row, t.Mapping) else None
        if (isinstance(quoted, t.Mapping) and row.get("family") == "ipv4" and row.get("type") == 3
                and row.get("code") == 4 and row.get("direction") == "in" and quoted.get("protocol") in _TCP
                and quoted.get("sport") == SSH_PORT):
            rows.append(row)
    return rows


def evidence(result: t.Any, client: str) -> t.Optional[str]:
    """One sentence on the frag-needed errors for the client's SSH packets, or None without a capture."""
    if not isinstance(result, t.Mapping) or "errors" not in result:
        return None
    rows = _frag_needed_for_ssh(result)
    if not rows:
        return ("a capture on %s saw no fragmentation-needed for its SSH packets (%d ICMP packets in all)"
                % (client, int(result.get("packets") or 0)))
    count = sum(int(row.get("packets") or 0) for row in rows)
    reporters = sorted({"%s (MTU %s)" % (row.get("from"), row.get("mtu")) for row in rows})
    peers = sorted({str((row.get("quoted") or {}).get("dst")) for row in rows})
    return ("%d fragmentation-needed from %s arrived at %s quoting its SSH packets to %s: the path asked for "
            "smaller packets and the pushed rule dropped the messages after the capture saw them"
            % (count, ", ".join(reporters), client, ", ".join(peers)))


def diagnose(parts: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """``{verdict, diagnosis}``, plus ``capture`` and ``evidence`` when ``parts['capture']`` holds a capture."""
    push = parts.get("push")
    if not isinstance(push, t.Mapping):
        raise CutoffDataError("cutoff needs push, the registered result of the policy push, got %r" % (push,))
    verdict = outcome(push)
    result: t.Dict[str, t.Any] = {"verdict": verdict, "diagnosis": _sentence(verdict, parts)}
    captured = parts.get("capture")
    said = evidence(captured, str(parts.get("client")))
    if said is not None:
        try:
            section = report_capture.section(captured)
        except report_capture.CaptureInputError as err:
            raise CutoffDataError(str(err)) from err
        section = dict(t.cast(t.Dict[str, t.Any], section), evidence=[said])
        result.update(capture=section, evidence=[said], diagnosis=result["diagnosis"] + "; " + said)
    return result
