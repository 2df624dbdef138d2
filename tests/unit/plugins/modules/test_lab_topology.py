# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab_topology module: result shape, check mode, inventory, states, errors (fakes only)."""
from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.netdevops.icmp.plugins.module_utils._lab.build import LabEngine
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.errors import LabError
from ansible_collections.netdevops.icmp.plugins.modules import lab_topology
from ansible_collections.netdevops.icmp.tests.unit.fakes.runner import FakeRunner
from ansible_collections.netdevops.icmp.tests.unit.plugins.module_utils._lab.memory_files import MemoryFiles

REPO = Path(__file__).resolve().parents[4]
SHIPPED = REPO / "roles" / "lab" / "files" / "topologies"
DEFAULT = REPO / "tests" / "unit" / "plugins" / "module_utils" / "_lab" / "fixtures" / "small.yml"  # the golden lab
FIXTURE = REPO / "tests" / "unit" / "plugins" / "module_utils" / "_lab" / "fixtures" / "default_live.json"
INVENTORY = "/inv/golden.yml"


def network_only_default() -> t.Dict[str, t.Any]:
    """The small golden lab (the shipped default before it grew) without its sshd, which the recorded
    live state has not got."""
    topology = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))
    for node in topology["nodes"]:
        node.pop("sshd", None)
        node.pop("ssh_from", None)
    return t.cast(t.Dict[str, t.Any], topology)


def params(**changes: t.Any) -> t.Dict[str, t.Any]:
    base: t.Dict[str, t.Any] = {
        "topology": network_only_default(), "topology_file": None, "name": "golden", "state": "present",
        "inventory_path": INVENTORY, "state_dir": "/state", "python_interpreter": "/py", "fleet_size": None,
    }
    base.update(changes)
    return base


def live_script() -> t.List[t.Tuple[t.List[str], int, str, str]]:
    return [(r["argv"], r["rc"], r["stdout"], r["stderr"]) for r in json.loads(FIXTURE.read_text(encoding="utf-8"))]


def engine(script: t.Sequence[t.Any], files: t.Optional[MemoryFiles] = None) -> LabEngine:
    return LabEngine(FakeRunner(script), files or MemoryFiles(), "/state")


def test_check_mode_plans_and_writes_nothing() -> None:
    files = MemoryFiles()
    result = lab_topology.execute(params(), engine([(["ip", "-j", "netns", "list"], 0, "[]", "")], files), True)
    assert result["changed"] is True
    assert result["commands"][0] == "ip netns add nilab-golden-h1"
    assert len(result["commands"]) == 30  # the golden build plan of test_plan.py
    assert files.files == {}
    assert result["namespaces"] == ["nilab-golden-h1", "nilab-golden-r1", "nilab-golden-h2"]
    assert result["lab"] == "golden" and result["inventory_path"] == INVENTORY
    assert [node["name"] for node in result["nodes"]] == ["h1", "r1", "h2"]
    assert result["nodes"][1]["addresses"]["ipv6"] == ["2001:db8:1::1", "2001:db8:2::1"]
    assert result["addresses"]["h2"] == {"ipv4": ["203.0.113.10"], "ipv6": ["2001:db8:2::10"]}
    assert {"node": "h1", "family": 4, "to": "203.0.113.0/24", "via": "198.51.100.1", "dev": "nl-r1",
            "origin": "auto", "nexthops": [{"via": "198.51.100.1", "dev": "nl-r1"}]} in result["routes"]
    assert [link["mtu"] for link in result["links"]] == [1500, 1400]


def test_built_lab_with_current_inventory_is_unchanged() -> None:
    files = MemoryFiles()
    first = lab_topology.execute(params(), engine(live_script(), files), False)
    assert first["changed"] is True and first["commands"] == []  # only the inventory was new
    inventory = yaml.safe_load(files.files[INVENTORY])
    assert inventory["all"]["children"]["lab_hosts"]["hosts"]["h1"]["ansible_python_interpreter"] == "/py"
    second = lab_topology.execute(params(), engine(live_script(), files), False)
    assert second["changed"] is False


def test_absent_by_name_removes_lab_and_inventory() -> None:
    files = MemoryFiles({INVENTORY: "---\n"})
    script = [
        (["ip", "-j", "netns", "list"], 0, '[{"name": "nilab-golden-h1"}]', ""),
        (["ip", "netns", "pids", "nilab-golden-h1"], 0, "", ""),
        (["ip", "-j", "link", "show"], 0, '[{"ifname": "lo"}]', ""),
        (["ip", "netns", "del", "nilab-golden-h1"], 0, "", ""),
    ]
    result = lab_topology.execute(params(topology_file=None, state="absent"), engine(script, files), False)
    assert result["changed"] is True
    assert result["commands"] == ["ip netns del nilab-golden-h1"]
    assert result["namespaces"] == ["nilab-golden-h1"]
    assert result["addresses"] == {} and result["nodes"] == []
    assert INVENTORY not in files.files
    again = lab_topology.execute(params(topology_file=None, state="absent"),
                                 engine([(["ip", "-j", "netns", "list"], 0, "[]", ""),
                                         (["ip", "-j", "link", "show"], 0, '[{"ifname": "lo"}]', "")], files), False)
    assert again["changed"] is False


def test_cleanup_limited_to_a_name_leaves_inventories() -> None:
    files = MemoryFiles({INVENTORY: "---\n"})
    script = [
        (["ip", "-j", "netns", "list"], 0, '[{"name": "nilab-golden-h1"}, {"name": "nilab-other-h1"}]', ""),
        (["ip", "netns", "pids", "nilab-golden-h1"], 0, "", ""),
        (["ip", "-j", "link", "show"], 0, '[{"ifname": "lo"}]', ""),
    ]
    result = lab_topology.execute(params(state="cleanup", topology_file=None), engine(script, files), True)
    assert result["commands"] == ["ip netns del nilab-golden-h1"]
    assert INVENTORY in files.files


@pytest.mark.parametrize("changes,message", [
    ({"topology": None}, "state=present needs topology or topology_file"),
    ({"topology": None, "name": None, "state": "absent"}, "state=absent needs name, topology or topology_file"),
    ({"topology": None, "topology_file": "/nonexistent.yml"},
     "cannot read topology_file /nonexistent.yml: [Errno 2] No such file or directory: '/nonexistent.yml'"),
])
def test_missing_input_is_a_clear_error(changes: t.Dict[str, t.Any], message: str) -> None:
    with pytest.raises(LabError) as caught:
        lab_topology.execute(params(**changes), engine([]), False)
    assert str(caught.value) == message


def test_main_reports_a_bad_topology_and_runs_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    args = {"topology": {"name": "bad", "nodes": ["h1", "h1"]}, "state": "present", "_ansible_check_mode": True}
    with patch_module_args(args), pytest.raises(SystemExit):
        lab_topology.main()
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] is True
    assert result["msg"] == "duplicate node 'h1' in nodes (entries 1 and 2): node names must be unique"


def test_main_rejects_both_topology_sources(capsys: pytest.CaptureFixture[str]) -> None:
    args = {"topology": {"name": "x"}, "topology_file": str(DEFAULT)}
    with patch_module_args(args), pytest.raises(SystemExit):
        lab_topology.main()
    result = json.loads(capsys.readouterr().out)
    assert "mutually exclusive" in result["msg"]


@pytest.mark.parametrize("python", ["python3", "/usr/bin/python3 -c 'x'", "/py\n", "/p;y"])
def test_python_interpreter_that_reaches_proxycommand_is_matched_in_full(python: str) -> None:
    with pytest.raises(LabError, match="python_interpreter .* is refused: give an absolute path"):
        lab_topology.execute(params(python_interpreter=python), engine([]), True)


def test_fleet_size_sizes_the_counted_nodes() -> None:
    fleet = yaml.safe_load((SHIPPED / "fleet.yml").read_text(encoding="utf-8"))
    script = [(["ip", "-j", "netns", "list"], 0, "[]", ""), (["ip", "-j", "addr", "show"], 0, "[]", "")]
    result = lab_topology.execute(params(topology=fleet, fleet_size=4, name=None), engine(script), True)
    assert [node["name"] for node in result["nodes"]] == ["h1", "h2", "h3", "h4"]
    assert result["segments"][0]["controller"] == {"ipv4": "198.51.100.1", "ipv6": "2001:db8:100::1"}
    assert "nilab-fleet-h4" in result["namespaces"] and "nilab-fleet-lan" not in result["namespaces"]


def test_main_warns_when_the_neighbour_table_comes_close(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    fleet = yaml.safe_load((SHIPPED / "fleet.yml").read_text(encoding="utf-8"))
    monkeypatch.setattr(lab_topology, "Files", lambda: MemoryFiles({"/proc/sys/net/ipv4/neigh/default/gc_thresh3": "50\n"}))
    script = [(["ip", "-j", "netns", "list"], 0, "[]", ""), (["ip", "-j", "addr", "show"], 0, "[]", "")]
    monkeypatch.setattr(lab_topology, "ModuleRunner", lambda module: FakeRunner(script))
    warned: t.List[str] = []
    monkeypatch.setattr(lab_topology.AnsibleModule, "warn", lambda module, text: warned.append(text))
    args = {"topology": fleet, "fleet_size": 20, "_ansible_check_mode": True}
    with patch_module_args(args), pytest.raises(SystemExit):
        lab_topology.main()
    result = json.loads(capsys.readouterr().out)
    assert result["changed"] is True, result
    assert warned == [
        "lab fleet needs at least 40 IPv4 neighbour table entries and 0 are in use now (all namespaces, this lab's "
        "own included if it is up), against the host-wide limit /proc/sys/net/ipv4/neigh/default/gc_thresh3 = 50; "
        "every pair of lab nodes that talk to each other adds 2 more, and past the limit the kernel drops packets "
        "(neighbour table overflow)"
    ]
