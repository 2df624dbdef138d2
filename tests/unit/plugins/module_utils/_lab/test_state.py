# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parsers of ``ip -j`` and ``sysctl -n`` output, on recorded output of a live lab."""
from __future__ import annotations

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._lab import state
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.errors import LabError

from .conftest import live_script


def recorded(*argv: str) -> str:
    for rec_argv, _rc, out, _err in live_script():
        if tuple(rec_argv) == argv:
            return out
    raise AssertionError("no recorded output for %r" % (argv,))


def test_netns_list() -> None:
    assert state.parse_netns_list(recorded("ip", "-j", "netns", "list")) == [
        "nilab-golden-h1", "nilab-golden-h2", "nilab-golden-r1", "nipath-unrelated",
    ]
    assert state.parse_netns_list("") == []


def test_addr_show_keeps_global_addresses_mtu_and_state() -> None:
    interfaces = state.parse_addr_show(recorded("ip", "-n", "nilab-golden-r1", "-j", "addr", "show"))
    assert sorted(interfaces) == ["lo", "nl-h1", "nl-h2"]
    assert interfaces["nl-h2"].mtu == 1400 and interfaces["nl-h2"].up
    assert interfaces["nl-h2"].addresses == frozenset({"203.0.113.1/24", "2001:db8:2::1/64"})
    assert interfaces["lo"].addresses == frozenset()  # host scope is not ours


def test_routes_normalise_and_keep_protocol() -> None:
    routes = state.parse_routes(recorded("ip", "-n", "nilab-golden-h1", "-j", "-6", "route", "show"), 6)
    static = [(r.destination, r.via, r.dev) for r in routes if r.protocol == "static"]
    assert static == [("2001:db8:2::/64", "2001:db8:1::1", "nl-r1")]
    assert any(r.destination == "fe80::/64" and r.protocol == "kernel" for r in routes)
    v4 = state.parse_routes('[{"dst":"default","gateway":"192.0.2.1","dev":"x","protocol":"static"},'
                            '{"dst":"192.0.2.5","dev":"x"}]', 4)
    assert [(r.destination, r.protocol) for r in v4] == [("0.0.0.0/0", "static"), ("192.0.2.5/32", "boot")]


def test_sysctl_values_normalise_whitespace() -> None:
    keys = ["net.ipv4.ping_group_range", "net.ipv4.ip_forward"]
    assert state.parse_sysctl_values(keys, "0\t2147483647\n1\n") == {
        "net.ipv4.ping_group_range": "0 2147483647", "net.ipv4.ip_forward": "1",
    }
    assert state.parse_sysctl_values(keys, "1\n") == {key: None for key in keys}


def test_pids_and_link_names() -> None:
    assert state.parse_pids("123\n456\n") == [123, 456]
    assert state.parse_pids("") == []
    assert state.parse_link_names('[{"ifname":"lo"},{"ifname":"nl-x"}]') == ["lo", "nl-x"]


def test_garbage_is_a_clear_error() -> None:
    with pytest.raises(LabError, match=r"cannot parse the JSON output of ip -j netns list"):
        state.parse_netns_list("Object \"netns\" is unknown")
