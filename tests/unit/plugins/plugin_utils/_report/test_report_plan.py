# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""plan_checks: ``must_traverse`` takes addresses, CIDRs and ranges (netaddr on the controller)."""
from __future__ import annotations

import typing as t

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.netdevops.icmp.plugins.filter.plan_checks import plan_checks
from ansible_collections.netdevops.icmp.tests.unit.plugins.plugin_utils._report.fixtures import trace_result

PATH = ["192.0.2.1", None, "198.51.100.17", "2001:db8::5", "203.0.113.10"]


def traversal(*wanted: str) -> t.List[str]:
    plan = {"traceroute": [{"target": "203.0.113.10", "must_traverse": list(wanted)}]}
    (check,) = plan_checks(plan, traceroute={"results": [trace_result("203.0.113.10", PATH)]})
    return check["failures"]


@pytest.mark.parametrize("wanted", ["198.51.100.17", "198.51.100.0/24", "198.51.100.16/28", "198.51.100.10-198.51.100.20",
                                    "192.0.2.0-192.0.2.255", "2001:db8::/64", "2001:db8::1-2001:db8::ff",
                                    " 198.51.100.17 ", "198.51.100.99/24"])
def test_hop_inside_the_entry_passes(wanted: str) -> None:
    assert traversal(wanted) == []


@pytest.mark.parametrize("wanted", ["198.51.100.18", "198.51.100.0/28", "198.51.100.18-198.51.100.40",
                                    "2001:db8:1::/64", "203.0.113.11-203.0.113.20"])
def test_hop_outside_the_entry_fails_with_the_path(wanted: str) -> None:
    assert traversal(wanted) == ["path does not traverse %s (path 192.0.2.1 > * > 198.51.100.17 > 2001:db8::5 > "
                                 "203.0.113.10)" % wanted]


def test_every_entry_must_be_traversed() -> None:
    assert traversal("192.0.2.1", "198.51.100.0/24", "2001:db8::/32") == []
    assert len(traversal("192.0.2.1", "198.51.100.200-198.51.100.210")) == 1


@pytest.mark.parametrize("bad", ["198.51.100.20-198.51.100.10", "198.51.100.1-2001:db8::1", "198.51.100.0/33",
                                 "router1", "198.51.100.1-", "10"])
def test_bad_entries_are_refused_with_the_forms_allowed(bad: str) -> None:
    with pytest.raises(AnsibleFilterError) as caught:
        traversal(bad)
    message = str(caught.value)
    assert "must_traverse entry %r" % bad in message
    assert "an address, a CIDR (198.51.100.0/24) or a range (198.51.100.10-198.51.100.20)" in message


def test_a_controller_without_netaddr_is_told_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import addresses, checks

    monkeypatch.setattr(addresses, "_netaddr", None)
    checks._hop_set.cache_clear()
    with pytest.raises(AnsibleFilterError, match=r"netaddr is missing on the controller: install it with 'pip install netaddr'"):
        traversal("198.51.100.7")
    checks._hop_set.cache_clear()
