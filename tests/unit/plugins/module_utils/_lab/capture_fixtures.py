# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Record what the lab engine reads from a live lab, for the unit tests (run as root).

    .venv/bin/python tests/unit/plugins/module_utils/_lab/capture_fixtures.py

Builds the shipped default topology as lab ``golden``, records every command of one
``LabEngine.read`` (argv, rc, stdout, stderr) into ``fixtures/default_live.json``,
and tears the lab down again.
"""
from __future__ import annotations

import json
import sys
import typing as t
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[4]
sys.path.insert(0, str(REPO / ".build" / "collections"))

import yaml  # noqa: E402

from ansible_collections.netdevops.icmp.plugins.module_utils._lab.build import LabEngine  # noqa: E402
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.topology import parse_topology  # noqa: E402
from ansible_collections.netdevops.icmp.plugins.module_utils._runner import (  # noqa: E402
    CommandResult,
    SubprocessRunner,
)


class RecordingRunner(SubprocessRunner):
    def __init__(self) -> None:
        super().__init__()
        self.records: t.List[t.Dict[str, t.Any]] = []

    def run(self, argv: t.Sequence[str], stdin: t.Optional[str] = None, check: bool = True) -> CommandResult:
        result = super().run(argv, stdin=stdin, check=False)
        self.records.append({"argv": list(argv), "rc": result.rc, "stdout": result.stdout, "stderr": result.stderr})
        return super().run(argv, stdin=stdin, check=check) if check and result.rc else result


def main() -> None:
    data = yaml.safe_load((HERE / "fixtures" / "small.yml").read_text(encoding="utf-8"))
    topo = parse_topology(data, name="golden")
    engine = LabEngine(SubprocessRunner(), state_dir="/nonexistent")
    engine.up(topo)
    try:
        recorder = RecordingRunner()
        LabEngine(recorder, state_dir="/nonexistent").read(topo)
    finally:
        engine.down("golden")
    # Only this lab's namespaces: other namespaces on the machine are not part of the fixture.
    listing = recorder.records[0]
    names = [entry for entry in json.loads(listing["stdout"]) if entry["name"].startswith("nilab-golden-")]
    names.append({"name": "nipath-unrelated"})
    listing["stdout"] = json.dumps(names)
    (HERE / "fixtures" / "default_live.json").write_text(json.dumps(recorder.records, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
