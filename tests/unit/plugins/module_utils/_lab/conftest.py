# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared helpers of the lab engine unit tests: shipped topologies, recorded live state."""
from __future__ import annotations

import copy
import json
import typing as t
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[5]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def shipped(name: str) -> t.Dict[str, t.Any]:
    path = REPO / "roles" / "lab" / "files" / "topologies" / ("%s.yml" % name)
    return t.cast(t.Dict[str, t.Any], yaml.safe_load(path.read_text(encoding="utf-8")))


def live_script() -> t.List[t.Tuple[t.List[str], int, str, str]]:
    """The recorded reads of a live ``golden`` default lab (see capture_fixtures.py)."""
    records = json.loads((FIXTURES / "default_live.json").read_text(encoding="utf-8"))
    return [(rec["argv"], rec["rc"], rec["stdout"], rec["stderr"]) for rec in records]


def small() -> t.Dict[str, t.Any]:
    """h1 - r1 - h2 with a 1400-byte bottleneck: the shipped default lab before it grew a LAN, an ECMP
    diamond and BGP routers (fixtures/small.yml, named ``default``). The golden plans and the
    recorded live state are written on it; tests of the shipped default load that one itself."""
    return t.cast(t.Dict[str, t.Any], yaml.safe_load((FIXTURES / "small.yml").read_text(encoding="utf-8")))


@pytest.fixture
def default_topology() -> t.Dict[str, t.Any]:
    """The small three-node lab without its sshd: the golden plans are about the network; the sshd
    tests add one where they need it."""
    topology = small()
    for node in topology["nodes"]:
        node.pop("sshd", None)
        node.pop("ssh_from", None)
    return topology


@pytest.fixture
def chain_topology() -> t.Dict[str, t.Any]:
    return copy.deepcopy(shipped("chain"))
