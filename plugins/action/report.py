# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of ``netdevops.icmp.report``: build the report and write the files."""

from __future__ import annotations

import functools
import json
import os
import typing as t

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.action import ActionBase

from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import addresses, html, model, output, writers

FORMATS = {
    "json": (".json", writers.write_json),
    "junit": (".junit.xml", writers.write_junit),
    "prometheus": (".prom", writers.write_prometheus),
    "html": (".html", html.write_html),
}
# ``hosts`` is checked by hand: the validator deep-copies what it checks, and at fleet scale
# that is every host's full result once more.
ARGUMENT_SPEC = {
    "dest": {"type": "path", "required": True},
    "kind": {"type": "str", "default": "checks", "choices": list(model.REPORT_KINDS)},
    "phase": {"type": "str", "choices": list(model.PHASES)},
    "run_id": {"type": "str"},
    "title": {"type": "str"},
    "formats": {"type": "list", "elements": "str", "choices": list(FORMATS), "default": list(FORMATS)},
    "basename": {"type": "str", "default": "netdevops-icmp"},
    "slice": {"type": "str"},
    "host_groups": {"type": "dict"},
    "mode": {"type": "str", "default": "0644"},
}


def plain(value: t.Any) -> t.Any:
    """Plain JSON types (templated values can be tagged subclasses); one host at a time."""
    return json.loads(json.dumps(value, default=to_native))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def _arguments(self) -> t.Tuple[t.Dict[str, t.Any], t.Mapping[str, t.Any]]:
        others = {key: value for key, value in self._task.args.items() if key != "hosts"}
        validation = ArgumentSpecValidator(ARGUMENT_SPEC).validate(others)
        if validation.error_messages:
            raise AnsibleActionFail("netdevops.icmp.report: %s" % "; ".join(validation.error_messages))
        hosts = self._task.args.get("hosts")
        if not isinstance(hosts, t.Mapping):
            raise AnsibleActionFail("netdevops.icmp.report: hosts must map host names to {checks, drift, error}, "
                                    "got %s" % type(hosts).__name__)
        return validation.validated_parameters, hosts

    def run(self, tmp: t.Any = None, task_vars: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        args, hosts = self._arguments()
        try:
            mode = int(str(args["mode"]), 8)
        except ValueError as err:
            raise AnsibleActionFail("mode %r is not an octal file mode such as '0644'" % args["mode"]) from err
        try:
            basename = output.checked_name("basename", args["basename"])
            slice_id = output.slice_of(task_vars) if args["slice"] is None else args["slice"] or None
            if slice_id:
                output.checked_name("slice", slice_id)
            report = model.build_report(hosts, kind=args["kind"], phase=args["phase"], run_id=args["run_id"],
                                        title=args["title"], slice_id=slice_id, convert=plain)
        except (output.OutputError, model.ReportError) as err:
            raise AnsibleActionFail("netdevops.icmp.report: %s" % err) from err
        dest = os.path.abspath(os.path.expanduser(args["dest"]))
        stem = output.file_stem(basename, slice_id)
        files = {name: os.path.join(dest, stem + FORMATS[name][0]) for name in args["formats"]}
        check_mode = bool(self._task.check_mode)
        if not check_mode:
            groups = args["host_groups"] or output.inventory_groups(task_vars.get("groups"), hosts)
            self._write(report, files, dest, mode, {str(k): str(v) for k, v in groups.items()})
        result.update(changed=not check_mode, written=not check_mode, files=files, slice=slice_id,
                      status=report["status"], summary=report["summary"], problems=report["problems"],
                      schema_version=report["schema_version"])
        if check_mode:
            result["msg"] = "check mode: nothing written; a normal run writes %s" % ", ".join(sorted(files.values()))
        return result

    @staticmethod
    def _write(report: t.Mapping[str, t.Any], files: t.Mapping[str, str], dest: str, mode: int,
               groups: t.Mapping[str, str]) -> None:
        try:
            os.makedirs(dest, exist_ok=True)
            for name, path in files.items():
                writer = FORMATS[name][1]
                if name == "html":
                    writer = functools.partial(html.write_html, groups=groups)
                output.write_atomic(path, functools.partial(writer, report), mode)
        except OSError as err:
            raise AnsibleActionFail("cannot write the reports to %s: %s; choose a writable dest" % (dest, err)) from err
        except addresses.MissingLibrary as err:
            raise AnsibleActionFail("netdevops.icmp.report: %s" % err) from err
