# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Per-rule hit counters on the real kernel: 10 dropped pings show as 10 hits on that rule only.

Two lab hosts on one link; the policy engine runs inside the node's namespace as in
``test_policy.py`` (its driver). Packets go only between the two lab namespaces.
"""
from __future__ import annotations

import typing as t
from pathlib import Path

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import model
from ansible_collections.netdevops.icmp.tests.integration.test_policy import BACKENDS, DRIVER, REPO, run_policy

pytestmark = [pytest.mark.root, pytest.mark.lab]

PAIR = {
    "name": "hits",
    "nodes": [{"name": "a", "role": "host"}, {"name": "b", "role": "host"}],
    "links": [{"a": {"node": "a", "ipv4": "192.0.2.1", "ipv6": "2001:db8:16::1"},
               "b": {"node": "b", "ipv4": "192.0.2.2", "ipv6": "2001:db8:16::2"},
               "ipv4": "192.0.2.0/24", "ipv6": "2001:db8:16::/64"}],
}
RULES = [
    {"family": "ipv4", "type": "echo-request", "action": "drop", "log_prefix": "echo-drop "},
    {"family": "ipv4", "type": "timestamp-request", "action": "drop"},
    {"family": "ipv4", "type": "destination-unreachable", "action": "accept"},
    {"family": "ipv6", "type": "echo-request", "action": "accept", "rate": "100/second"},
]
ECHO = model.rule_from_dict(RULES[0]).text()


@pytest.fixture
def engine_driver(tmp_path: Path) -> Path:
    path = tmp_path / "driver.py"
    path.write_text(DRIVER % {"collections": str(REPO / ".build" / "collections")}, encoding="utf-8")
    return path


def _hits(lab: t.Any, node: str, driver_path: t.Any, backend: str) -> t.Dict[str, t.Dict[str, t.Any]]:
    gathered = run_policy(lab, node, driver_path, state="gathered", backend=backend)
    assert "failed" not in gathered, gathered
    return {row["rule"]: row for row in gathered["hits"]}


@pytest.mark.parametrize("backend", BACKENDS)
def test_ten_dropped_pings_are_ten_hits_on_that_rule_and_an_identical_apply_changes_nothing(
        make_lab, engine_driver, tmp_path, backend):
    driver = engine_driver
    lab = make_lab(PAIR)
    common = dict(state="overridden", backend=backend, state_dir=str(tmp_path / "state"), rules=RULES)
    applied = run_policy(lab, "b", driver, **common)
    assert applied["changed"] and applied["applied"], applied
    before = _hits(lab, "b", driver, backend)
    assert sorted(before) == sorted(model.rule_from_dict(r).text() for r in RULES)
    assert all(row["packets"] == 0 for row in before.values()), before
    ping = lab.run("a", ["ping", "-c", "10", "-i", "0.2", "-W", "1", lab.address("b")], check=False)
    assert ping.returncode != 0 and " 0 received" in ping.stdout, ping.stdout
    after = _hits(lab, "b", driver, backend)
    echo = after[ECHO]
    # 10 echo requests of 84 bytes (20 IP + 8 ICMP + 56 data), all dropped; nothing else hit
    assert (echo["packets"], echo["bytes"], echo["dropped_packets"], echo["dropped_bytes"]) == (10, 840, 10, 840)
    assert {name: row["packets"] for name, row in after.items() if name != ECHO} == {
        name: 0 for name in after if name != ECHO}
    again = run_policy(lab, "b", driver, **common)
    assert not again["changed"] and again["commands"] == [], again
    assert _hits(lab, "b", driver, backend)[ECHO]["packets"] == 10, "a no-op apply keeps the counters"
