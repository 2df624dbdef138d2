# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The drill_report_hosts filter (docs in drill_report_hosts.yml beside this file)."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError


def drill_report_hosts(results: t.Any, lab: t.Any = None) -> t.Dict[str, t.Dict[str, t.Any]]:
    """Drill results as the ``hosts`` of netdevops.icmp.report: one report host per drill."""
    if not isinstance(results, list):
        raise AnsibleFilterError("netdevops.icmp.drill_report_hosts: expected the list icmp_drill_results, got %r" % (results,))
    lab = lab if isinstance(lab, t.Mapping) else {}
    hosts: t.Dict[str, t.Dict[str, t.Any]] = {}
    for item in results:
        if not isinstance(item, t.Mapping) or "drill" not in item:
            raise AnsibleFilterError("netdevops.icmp.drill_report_hosts: each result needs drill and passed, got %r" % (item,))
        drill = str(item["drill"])
        details = item.get("details") or {}
        timeline = item.get("timeline") or {}
        target = str(details.get("target") or lab.get("server_v4") or "lab")
        notes = ["diagnosis: %s" % item.get("diagnosis")]
        notes.append("timeline: inject %ss, detect %ss, recover %ss"
                     % (timeline.get("inject_s"), timeline.get("detect_s"), timeline.get("recover_s")))
        passed = bool(item.get("passed"))
        hosts["drill_" + drill] = {
            "checks": [{
                "id": "drill:%s" % drill, "kind": "drill", "target": target,
                "status": "pass" if passed else "fail",
                "measured": {"verdict": details.get("verdict"), "diagnosis": item.get("diagnosis")},
                "expect": {"drill": drill, "timeline": dict(timeline)},
                "failures": [] if passed else [str(item.get("error") or "drill failed")],
                "baseline": None, "regressions": [], "notes": notes,
            }],
            "drift": None,
            "capture": details.get("capture"),
        }
    return hosts


class FilterModule:
    def filters(self) -> t.Dict[str, t.Callable[..., t.Any]]:
        return {"drill_report_hosts": drill_report_hosts}
