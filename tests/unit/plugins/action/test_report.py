# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The report action on the controller: check mode writes nothing, slices and --limit runs
write files of their own, names that would leave ``dest`` are refused."""
from __future__ import annotations

import types
import typing as t
from pathlib import Path

import pytest
from ansible.errors import AnsibleActionFail
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.netdevops.icmp.plugins.action import report as report_action
from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import output
from ansible_collections.netdevops.icmp.tests.unit.plugins.plugin_utils._report import synthetic


def run(args: t.Dict[str, t.Any], task_vars: t.Optional[t.Dict[str, t.Any]] = None,
        check_mode: bool = False) -> t.Dict[str, t.Any]:
    task = types.SimpleNamespace(args=args, async_val=0, check_mode=check_mode, action="netdevops.icmp.report")
    connection = types.SimpleNamespace(_shell=types.SimpleNamespace(tmpdir="/nonexistent"))
    action = report_action.ActionModule(task, connection, types.SimpleNamespace(check_mode=check_mode),
                                        None, None, None)
    return action.run(task_vars=task_vars or {})


def hosts(count: int = 3) -> t.Dict[str, t.Any]:
    return synthetic.fleet(count, targets=3, broken_every=2)


def test_check_mode_writes_nothing_and_changes_nothing(tmp_path: Path) -> None:
    result = run({"dest": str(tmp_path / "reports"), "hosts": hosts(), "kind": "drift_check"}, check_mode=True)
    assert result["changed"] is False and result["written"] is False
    assert not (tmp_path / "reports").exists()
    assert result["files"]["json"] == str(tmp_path / "reports" / "netdevops-icmp.json")
    assert result["status"] == "fail" and result["summary"]["hosts"] == 3
    assert "nothing written" in result["msg"]


def test_normal_run_writes_every_format_with_inventory_groups(tmp_path: Path) -> None:
    task_vars = {"groups": {"all": ["host00000", "host00001", "host00002"], "ungrouped": [],
                            "dc": ["host00000", "host00001", "host00002"], "rack7": ["host00001"]}}
    result = run({"dest": str(tmp_path), "hosts": hosts(), "basename": "drift-check"}, task_vars)
    assert result["changed"] is True and result["slice"] is None
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "drift-check.html", "drift-check.json", "drift-check.junit.xml", "drift-check.prom"]
    page = (tmp_path / "drift-check.html").read_text()
    assert 'data-group="dc"' in page and 'data-group="rack7"' in page  # the smallest group wins


def series(path: Path) -> t.Set[t.Tuple[str, t.Tuple[t.Tuple[str, str], ...]]]:
    return {(f.name, tuple(sorted(s.labels.items())))
            for f in text_string_to_metric_families(path.read_text()) for s in f.samples}


def test_awx_slices_write_their_own_files_and_series(tmp_path: Path) -> None:
    fleet = synthetic.fleet(4, targets=2)
    names = sorted(fleet)
    for number, part in ((1, names[:2]), (2, names[2:])):
        result = run({"dest": str(tmp_path), "hosts": {n: fleet[n] for n in part}, "basename": "drift-check",
                      "kind": "drift_check"}, {"awx_job_slice_number": number, "awx_job_slice_count": 2})
        assert result["slice"] == "slice%dof2" % number
    one, two = tmp_path / "drift-check.slice1of2.prom", tmp_path / "drift-check.slice2of2.prom"
    assert one.is_file() and two.is_file()
    assert not series(one) & series(two), "two slices would expose the same series"
    stamps = {dict(labels)["host"]: dict(labels)["slice"] for name, labels in series(one) | series(two)
              if name == "netdevops_icmp_last_run_timestamp_seconds"}
    assert stamps == {names[0]: "slice1of2", names[1]: "slice1of2", names[2]: "slice2of2", names[3]: "slice2of2"}


def test_limit_runs_are_named_by_their_limit(tmp_path: Path) -> None:
    first = run({"dest": str(tmp_path), "hosts": hosts(1)}, {"ansible_limit": "host00000"})
    again = run({"dest": str(tmp_path), "hosts": hosts(1)}, {"ansible_limit": "host00000"})
    other = run({"dest": str(tmp_path), "hosts": hosts(1)}, {"ansible_limit": "site03"})
    assert first["files"] == again["files"] and first["files"] != other["files"]
    assert first["slice"].startswith("limit-") and output.NAME.fullmatch(first["slice"])
    both = output.slice_of({"ansible_limit": "x", "awx_job_slice_number": 3, "awx_job_slice_count": 5})
    assert both is not None and both.startswith("slice3of5-limit-")
    assert output.slice_of({"awx_job_slice_number": 1, "awx_job_slice_count": 1}) is None
    assert output.slice_of({"ansible_limit": "all"}) is None and output.slice_of({"ansible_limit": "*"}) is None
    explicit = run({"dest": str(tmp_path), "hosts": hosts(1), "slice": ""}, {"ansible_limit": "host00000"})
    assert explicit["slice"] is None and explicit["files"]["json"].endswith("/netdevops-icmp.json")


@pytest.mark.parametrize("option, value", [("basename", "../escape"), ("basename", "a/b"), ("slice", "x y"),
                                           ("basename", "")])
def test_names_that_would_leave_dest_are_refused(tmp_path: Path, option: str, value: str) -> None:
    with pytest.raises(AnsibleActionFail, match="%s %r is not a file name stem" % (option, value)):
        run({"dest": str(tmp_path / "r"), "hosts": hosts(1), option: value})
    assert not (tmp_path / "r").exists()


def test_bad_hosts_and_options_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(AnsibleActionFail, match="hosts must map host names"):
        run({"dest": str(tmp_path), "hosts": ["h1"]})
    with pytest.raises(AnsibleActionFail, match="kind"):
        run({"dest": str(tmp_path), "hosts": {}, "kind": "weekly"})
    assert list(tmp_path.iterdir()) == []
