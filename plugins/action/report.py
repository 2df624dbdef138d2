# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of ``netdevops.icmp.report``: build the report and write the files."""

from __future__ import annotations

import json
import os
import tempfile
import typing as t

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.action import ActionBase

from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import html, model, writers

FORMATS = {
    "json": (".json", writers.to_json),
    "junit": (".junit.xml", writers.to_junit),
    "prometheus": (".prom", writers.to_prometheus),
    "html": (".html", html.to_html),
}
ARGUMENT_SPEC = {
    "dest": {"type": "path", "required": True},
    "hosts": {"type": "dict", "required": True},
    "kind": {"type": "str", "default": "checks", "choices": list(model.REPORT_KINDS)},
    "phase": {"type": "str", "choices": list(model.PHASES)},
    "run_id": {"type": "str"},
    "title": {"type": "str"},
    "formats": {"type": "list", "elements": "str", "choices": list(FORMATS), "default": list(FORMATS)},
    "basename": {"type": "str", "default": "netdevops-icmp"},
    "mode": {"type": "str", "default": "0644"},
}


def write_atomic(path: str, text: str, mode: int) -> None:
    """Write beside the target and rename, so readers never see half a file."""
    directory = os.path.dirname(path)
    handle, temp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def plain(value: t.Any) -> t.Any:
    """Plain JSON types (templated values can be tagged subclasses)."""
    return json.loads(json.dumps(value, default=to_native))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: t.Any = None, task_vars: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        del tmp
        _spec, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            mode = int(str(args["mode"]), 8)
        except ValueError as err:
            raise AnsibleActionFail("mode %r is not an octal file mode such as '0644'" % args["mode"]) from err
        try:
            report = model.build_report(plain(args["hosts"]), kind=args["kind"], phase=args["phase"],
                                        run_id=args["run_id"], title=args["title"])
        except model.ReportError as err:
            raise AnsibleActionFail("netdevops.icmp.report: %s" % err) from err
        dest = os.path.abspath(os.path.expanduser(args["dest"]))
        files = {name: os.path.join(dest, args["basename"] + FORMATS[name][0]) for name in args["formats"]}
        if not self._play_context.check_mode:
            try:
                os.makedirs(dest, exist_ok=True)
                for name, path in files.items():
                    write_atomic(path, FORMATS[name][1](report), mode)
            except OSError as err:
                raise AnsibleActionFail("cannot write the reports to %s: %s; choose a writable dest" % (dest, err)) from err
        result.update(changed=True, files=files, status=report["status"], summary=report["summary"],
                      problems=report["problems"], schema_version=report["schema_version"])
        return result
