# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The check_problems filter (docs in check_problems.yml beside this file)."""

from __future__ import annotations

import typing as t


def check_problems(checks: t.Any, host: str = "") -> t.List[str]:
    lines = []
    for check in checks or []:
        for regression in check.get("regressions") or []:
            lines.append("%s%s %s: %s" % (host + " " if host else "", check["kind"], check["target"], regression["message"]))
        if not check.get("regressions") and check.get("status") != "pass":
            lines.append("%s%s %s: %s" % (host + " " if host else "", check["kind"], check["target"],
                                          "; ".join(check.get("failures") or []) or check.get("status")))
    return lines


class FilterModule:
    def filters(self) -> t.Dict[str, t.Callable[..., t.Any]]:
        return {"check_problems": check_problems}
