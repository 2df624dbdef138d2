# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Integration-test plumbing: the ``root`` marker and the lab fixtures.

``lab_default`` / ``lab_chain`` build a shipped topology once per test module,
``make_lab`` builds any topology for one test; every lab is torn down at the
end, also when the test fails. Labs are built with the ``_lab`` engine directly
(no ansible-playbook per test) and get a unique name per run and xdist worker,
so parallel runs never share namespaces.
"""
from __future__ import annotations

import itertools
import os
import secrets
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
import yaml

from ansible_collections.netdevops.icmp.plugins.module_utils._lab import inventory as lab_inventory
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.build import LabEngine
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.model import Topology
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.sshd import LabPaths, ssh_client_options
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.topology import parse_topology
from ansible_collections.netdevops.icmp.plugins.module_utils._runner import SubprocessRunner

REPO = Path(__file__).resolve().parents[2]
TOPOLOGIES = REPO / "roles" / "lab" / "files" / "topologies"
IS_ROOT = os.geteuid() == 0
ROOT_REASON = (
    "needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to create network namespaces; "
    "run the integration tests as root, as CI does"
)
_COUNTER = itertools.count(1)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "root: needs root (network namespaces, raw sockets, nftables); skipped otherwise")
    config.addinivalue_line("markers", "lab: builds a lab of network namespaces")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("root") is not None and not IS_ROOT:
        pytest.skip(ROOT_REASON)


def unique_lab_name() -> str:
    """Short, unique per process and per call: t<worker><random><counter>."""
    worker = "".join(ch for ch in os.environ.get("PYTEST_XDIST_WORKER", "") if ch.isdigit())
    return ("t%s%s%d" % (worker, secrets.token_hex(2), next(_COUNTER)))[:12]


def load_topology(spec: t.Union[str, t.Dict[str, t.Any]]) -> t.Dict[str, t.Any]:
    """A shipped topology by name (``default``, ``chain``) or a topology dict."""
    if isinstance(spec, dict):
        return dict(spec)
    path = TOPOLOGIES / ("%s.yml" % spec)
    if not path.is_file():
        shipped = sorted(item.stem for item in TOPOLOGIES.glob("*.yml"))
        raise ValueError("no shipped topology %r; shipped: %s" % (spec, ", ".join(shipped)))
    with path.open(encoding="utf-8") as handle:
        return t.cast(t.Dict[str, t.Any], yaml.safe_load(handle))


class Lab:
    """A built lab: namespaces, addresses, and helpers that run things inside it."""

    def __init__(self, engine: LabEngine, topology: Topology, inventory_path: str) -> None:
        self.engine = engine
        self.topology = topology
        self.name = topology.name
        self.inventory_path = inventory_path
        self.paths = LabPaths(engine.state_dir, topology.name)

    def netns(self, node: str) -> str:
        return self.topology.node(node).netns

    def addresses(self, node: str) -> t.Dict[str, t.List[str]]:
        self.topology.node(node)  # KeyError for an unknown node
        return lab_inventory.node_addresses(self.topology, node)

    def address(self, node: str, family: int = 4) -> str:
        found = self.addresses(node)["ipv%d" % family]
        if not found:
            raise ValueError("node %r of lab %s has no IPv%d address" % (node, self.name, family))
        return found[0]

    def links(self) -> t.List[t.Dict[str, t.Any]]:
        return lab_inventory.link_facts(self.topology)

    def _argv(self, node: str, argv: t.Sequence[str], user: t.Optional[int]) -> t.List[str]:
        full = ["ip", "netns", "exec", self.netns(node)]
        if user is not None:
            full += ["setpriv", "--reuid", str(user), "--regid", str(user), "--clear-groups"]
        return full + [str(word) for word in argv]

    def run(
        self,
        node: str,
        argv: t.Sequence[str],
        *,
        user: t.Optional[int] = None,
        input: t.Optional[str] = None,  # noqa: A002 - mirrors subprocess.run
        check: bool = True,
        timeout: float = 60,
    ) -> "subprocess.CompletedProcess[str]":
        return subprocess.run(  # noqa: S603 - argv list, no shell
            self._argv(node, argv, user), input=input, capture_output=True, text=True,
            check=check, timeout=timeout,
        )

    def popen(self, node: str, argv: t.Sequence[str], *, user: t.Optional[int] = None, **kw: t.Any) -> "subprocess.Popen[str]":
        kw.setdefault("text", True)
        return subprocess.Popen(self._argv(node, argv, user), **kw)  # noqa: S603

    def sysctl(self, node: str, key: str, value: t.Optional[str] = None) -> str:
        if value is not None:
            self.run(node, ["sysctl", "-q", "-w", "%s=%s" % (key, value)])
        return " ".join(self.run(node, ["sysctl", "-n", key]).stdout.split())

    def nft(self, node: str, script: str) -> None:
        self.run(node, ["nft", "-f", "-"], input=script)

    def ssh_argv(self, from_node: str, to_node: str, command: t.Sequence[str], family: int = 4) -> t.List[str]:
        """argv for ``run(from_node, ...)``: ssh to ``to_node``'s sshd across the lab."""
        return ["ssh", *ssh_client_options(self.paths), "root@%s" % self.address(to_node, family), *command]

    def down(self) -> None:
        self.engine.down(self.name)


def build_lab(spec: t.Union[str, t.Dict[str, t.Any]], workdir: Path, name: t.Optional[str] = None) -> Lab:
    topology = parse_topology(load_topology(spec), name=name or unique_lab_name())
    engine = LabEngine(SubprocessRunner())
    inventory_path = workdir / ("%s.inventory.yml" % topology.name)
    lab = Lab(engine, topology, str(inventory_path))
    try:
        engine.up(topology)
        data = lab_inventory.build_inventory(topology, lab.paths, sys.executable)
        inventory_path.write_text(yaml.safe_dump(data, default_flow_style=False, sort_keys=False), encoding="utf-8")
    except BaseException:
        lab.down()
        raise
    return lab


def _require_root() -> None:
    if not IS_ROOT:
        pytest.skip(ROOT_REASON)


@pytest.fixture(scope="module")
def lab_default(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Lab]:
    _require_root()
    lab = build_lab("default", tmp_path_factory.mktemp("lab-default"))
    try:
        yield lab
    finally:
        lab.down()


@pytest.fixture(scope="module")
def lab_chain(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Lab]:
    _require_root()
    lab = build_lab("chain", tmp_path_factory.mktemp("lab-chain"))
    try:
        yield lab
    finally:
        lab.down()


@pytest.fixture
def make_lab(tmp_path: Path) -> t.Iterator[t.Callable[[t.Union[str, t.Dict[str, t.Any]]], Lab]]:
    _require_root()
    built: t.List[Lab] = []

    def factory(spec: t.Union[str, t.Dict[str, t.Any]]) -> Lab:
        lab = build_lab(spec, tmp_path)
        built.append(lab)
        return lab

    try:
        yield factory
    finally:
        errors = []
        for lab in reversed(built):
            try:
                lab.down()
            except Exception as err:  # keep tearing down the others
                errors.append(err)
        if errors:
            raise errors[0]
