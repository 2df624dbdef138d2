# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Drill rogue_ra: the parts it casts, its diagnosis, and the rogue's Router Advertisement script."""
from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import struct
import typing as t
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.netdevops.icmp.plugins.filter.drill_diagnosis import drill_diagnosis
from ansible_collections.netdevops.icmp.plugins.filter.drill_plan import drill_plan
from ansible_collections.netdevops.icmp.plugins.plugin_utils._drills import ra, registry

SCRIPT = Path(__file__).resolve().parents[4] / "roles" / "drill" / "files" / "icmp_router_advert.py"
_SPEC = importlib.util.spec_from_file_location("icmp_router_advert", SCRIPT)
assert _SPEC is not None and _SPEC.loader is not None
advert = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(advert)

SEGMENT = {"name": "lan", "ipv4": "198.51.100.0/25", "ipv6": "2001:db8:1::/64", "members": {
    "h1": {"ipv4": "198.51.100.10", "ipv6": "2001:db8:1::10"}, "x1": {"ipv4": "198.51.100.66", "ipv6": "2001:db8:1::66"},
    "r1": {"ipv4": "198.51.100.1", "ipv6": "2001:db8:1::1"}}, "controller": None}
INTERFACES = {"h1": [{"ifname": "nl-lan", "peer": "lan", "ipv6": "2001:db8:1::10/64"}],
              "x1": [{"ifname": "nl-lan", "peer": "lan", "ipv6": "2001:db8:1::66/64"}],
              "r1": [{"ifname": "nl-lan", "peer": "lan", "ipv6": "2001:db8:1::1/64"},
                     {"ifname": "nl-h2", "peer": "h2", "ipv6": "2001:db8:2::1/64"}]}
LAB: t.Dict[str, t.Any] = {
    "client": "h1", "router": "r1", "server": "h2", "client_v4": "198.51.100.10", "client_v6": "2001:db8:1::10",
    "server_v4": "203.0.113.10", "server_v6": "2001:db8:2::10", "segments": [SEGMENT], "interfaces": INTERFACES,
}
PARTS = {"segment": "lan", "client": "h1", "gateway": "r1", "rogue": "x1", "client_v6": "2001:db8:1::10",
         "gateway_v6": "2001:db8:1::1", "rogue_v6": "2001:db8:1::66", "client_ifname": "nl-lan",
         "gateway_ifname": "nl-lan", "rogue_ifname": "nl-lan"}
ROGUE_LL, GATEWAY_LL = "fe80::a8c1:abff:fe00:66", "fe80::a8c1:abff:fe00:1"
# what the client's ip -j -6 route show / route get say after the rogue's RAs (shape of iproute2 6.x)
ROUTES_TAKEN = [
    {"dst": "2001:db8:1::/64", "dev": "nl-lan", "protocol": "kernel", "metric": 256, "flags": [], "pref": "medium"},
    {"dst": "2001:db8:2::10", "gateway": ROGUE_LL, "dev": "nl-lan", "protocol": "ra", "metric": 1024, "flags": [],
     "expires": 599, "pref": "high"},
    {"dst": "2001:db8:2::/64", "gateway": "2001:db8:1::1", "dev": "nl-lan", "protocol": "static", "metric": 1024,
     "flags": [], "pref": "medium"},
    {"dst": "default", "gateway": ROGUE_LL, "dev": "nl-lan", "protocol": "ra", "metric": 1024, "flags": [],
     "expires": 599, "pref": "high"},
]
ROUTES_CLEAN = [ROUTES_TAKEN[0], ROUTES_TAKEN[2]]
GET_TAKEN = {"dst": "2001:db8:2::10", "gateway": ROGUE_LL, "dev": "nl-lan", "prefsrc": "2001:db8:1::10"}
GET_CLEAN = {"dst": "2001:db8:2::10", "gateway": "2001:db8:1::1", "dev": "nl-lan", "prefsrc": "2001:db8:1::10"}


def trace(first: str) -> t.Dict[str, t.Any]:
    return {"reached": True, "hops": [{"ttl": 1, "address": first, "status": "ok"},
                                      {"ttl": 2, "address": "2001:db8:2::10", "status": "ok"}]}


def ping(reachable: bool) -> t.Dict[str, t.Any]:
    return {"results": [{"address": "2001:db8:2::10", "reachable": reachable, "loss_pct": 0.0 if reachable else 100.0}]}


def ra_input(routes: t.Any = None, route: t.Any = None) -> t.Dict[str, t.Any]:
    return {"parts": PARTS, "rogue_ll": ROGUE_LL, "gateway_ll": GATEWAY_LL, "target": "2001:db8:2::10",
            "routes": ROUTES_TAKEN if routes is None else routes, "route": GET_TAKEN if route is None else route}


def test_the_parts_are_cast_from_the_segment_with_ipv6() -> None:
    assert ra.ra_parts(LAB) == PARTS


def test_the_parts_of_another_lab_find_the_interfaces_by_address_when_no_peer_is_given() -> None:
    interfaces = {node: [{k: v for k, v in i.items() if k != "peer"} for i in found] for node, found in INTERFACES.items()}
    assert ra.ra_parts(dict(LAB, interfaces=interfaces)) == PARTS


@pytest.mark.parametrize("change", [
    {"segments": []},
    {"client": "h9"},
    {"rogue": "h2"},
    {"segments": [dict(SEGMENT, members=dict(SEGMENT["members"], x1={"ipv4": "198.51.100.66", "ipv6": None}))]},
    {"segments": [dict(SEGMENT, members=dict(SEGMENT["members"], r1={"ipv4": "198.51.100.1", "ipv6": None}))]},
])
def test_no_v6_lan_with_client_router_and_rogue_means_no_parts(change: t.Dict[str, t.Any]) -> None:
    assert ra.ra_parts(dict(LAB, **change)) is None
    assert not registry.NEEDS["lan_segment_v6"].met(dict(LAB, **change))


def test_the_plan_runs_rogue_ra_on_a_v6_lan_and_casts_both_lan_parts() -> None:
    plan = drill_plan(["rogue_ra", "redirect"], LAB)
    assert plan["refused"] == []
    assert [d["name"] for d in plan["drills"]] == ["rogue_ra", "redirect"]
    assert plan["drills"][0]["verdict"] == "rogue_router"
    assert plan["lab"]["ra"] == PARTS
    assert plan["lab"]["lan"]["rogue"] == "x1", "lan_parts still works for redirect"


def test_a_lab_without_a_v6_lan_refuses_the_drill_naming_what_is_missing() -> None:
    v4_only = dict(SEGMENT, ipv6=None, members={k: dict(v, ipv6=None) for k, v in SEGMENT["members"].items()})
    plan = drill_plan(["rogue_ra"], dict(LAB, segments=[v4_only]))
    assert plan["refused"] == ["drill rogue_ra cannot run on this lab: it needs a LAN segment with IPv6 that has the "
                               "client, the router and a third node (the rogue, icmp_drill_rogue) as members, each with an"
                               " IPv6 address ('segments' in the lab topology)"]
    assert plan["lab"]["lan"] is not None and plan["lab"]["ra"] is None


def test_routes_via_the_rogue_are_the_default_and_the_servers() -> None:
    assert ra.routes_via(ROUTES_TAKEN, ROGUE_LL.upper()) == ["2001:db8:2::10", "default"]
    assert ra.routes_via(ROUTES_CLEAN, ROGUE_LL) == []
    multipath = [{"dst": "default", "nexthops": [{"gateway": ROGUE_LL, "dev": "nl-lan"}, {"gateway": GATEWAY_LL}]}]
    assert ra.routes_via(multipath, ROGUE_LL) == ["default"]


def test_the_diagnosis_names_the_rogue_its_routes_and_the_first_hop() -> None:
    verdict = drill_diagnosis(ping(True), traceroute=trace("2001:db8:1::66"), ra=ra_input())
    assert verdict["verdict"] == "rogue_router"
    assert verdict["routes_via_rogue"] == ["2001:db8:2::10", "default"]
    assert verdict["lookup_via_rogue"] is True and verdict["first_hop"] == "2001:db8:1::66"
    assert verdict["diagnosis"] == (
        "rogue IPv6 router on LAN lan: x1 (fe80::a8c1:abff:fe00:66) advertised itself as a router and h1 took it; its "
        "route(s) 2001:db8:2::10, default now go via the rogue's link-local, and the route lookup for 2001:db8:2::10 "
        "says so instead of the gateway r1 (fe80::a8c1:abff:fe00:1); traceroute's first hop is 2001:db8:1::66 (the "
        "rogue); echo to 2001:db8:2::10 still answers through the rogue (a man in the middle)")


def test_a_rogue_that_drops_what_it_attracts_is_still_a_rogue_router() -> None:
    verdict = drill_diagnosis(ping(False), traceroute={"reached": False, "hops": [{"ttl": 1, "address": None}]},
                              ra=ra_input())
    assert verdict["verdict"] == "rogue_router"
    assert verdict["diagnosis"].endswith("echo to 2001:db8:2::10 fails (the rogue drops it)")
    assert verdict["first_hop"] is None


def test_routes_untouched_and_the_gateway_first_is_healthy() -> None:
    verdict = drill_diagnosis(ping(True), traceroute=trace("2001:db8:1::1"), ra=ra_input(ROUTES_CLEAN, GET_CLEAN))
    assert verdict["verdict"] == "healthy"
    assert "the router advertisements changed nothing" in verdict["diagnosis"]
    assert drill_diagnosis(None, ra=ra_input(ROUTES_CLEAN, GET_CLEAN))["verdict"] == "healthy"


def test_a_default_route_alone_via_the_rogue_is_enough() -> None:
    only_default = [ROUTES_TAKEN[0], ROUTES_TAKEN[2], ROUTES_TAKEN[3]]
    verdict = drill_diagnosis(None, ra=ra_input(only_default, GET_CLEAN))
    assert verdict["verdict"] == "rogue_router" and verdict["routes_via_rogue"] == ["default"]
    assert verdict["lookup_via_rogue"] is False


@pytest.mark.parametrize("bad,message", [
    ({"parts": None}, "ra needs parts"),
    ({"rogue_ll": "x1"}, "ra needs parts"),
    ({"routes": "default via fe80::1"}, "routes must be the parsed output of 'ip -j -6 route show'"),
])
def test_measurements_that_are_not_what_the_drill_reads_are_refused(bad: t.Dict[str, t.Any], message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=message):
        drill_diagnosis(None, ra=dict(ra_input(), **bad))


def test_the_advertisement_is_a_high_preference_default_router_with_a_route_for_the_server() -> None:
    mac = bytes.fromhex("aac1ab000066")
    message = advert.router_advert("high", 600, [ipaddress.IPv6Network("2001:db8:2::10/128")], mac)
    icmp_type, code, checksum, hop_limit, flags, lifetime, reachable, retrans = struct.unpack("!BBHBBHII", message[:16])
    assert (icmp_type, code, checksum, hop_limit, lifetime, reachable, retrans) == (134, 0, 0, 0, 600, 0, 0)
    assert (flags >> 3) & 0b11 == 0b01, "router preference high (RFC 4191 2.2)"
    assert message[16:24] == b"\x01\x01" + mac
    option = message[24:]
    assert struct.unpack("!BBBBI", option[:8]) == (24, 3, 128, 0b01 << 3, 600)
    assert option[8:] == ipaddress.IPv6Address("2001:db8:2::10").packed


@pytest.mark.parametrize("prefix,length", [("2001:db8:2::/64", 2), ("2001:db8::/32", 2), ("2001:db8:2::80/121", 3)])
def test_a_route_option_carries_as_few_prefix_bytes_as_its_length_needs(prefix: str, length: int) -> None:
    option = advert.route_information(ipaddress.IPv6Network(prefix), "low", 30)
    assert option[1] == length and len(option) == 8 * length
    assert option[3] >> 3 == 0b11


@pytest.mark.parametrize("address", ["2001:db9::1", "ff02::1", "::1", "10.0.0.1", "fe80::1%eth0", "x1"])
def test_victims_outside_the_link_and_the_lab_are_refused(address: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        advert.victim_address(address)


@pytest.mark.parametrize("route", ["2001:db8::/31", "::/0", "2001:db9::/64", "2001:db8::1/64", "192.0.2.0/24"])
def test_routes_outside_the_lab_are_refused(route: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        advert.lab_route(route)


def test_lab_victims_routes_and_interface_names_pass() -> None:
    assert advert.victim_address("FE80::1") == "fe80::1"
    assert advert.victim_address("2001:db8:1::10") == "2001:db8:1::10"
    assert str(advert.lab_route("2001:db8:2::10/128")) == "2001:db8:2::10/128"
    assert advert.interface_name("nl-lan") == "nl-lan"
    with pytest.raises(argparse.ArgumentTypeError):
        advert.interface_name("nl-lan; reboot")


def test_the_link_local_is_read_from_if_inet6() -> None:
    table = ("20010db8000100000000000000000066 03 40 00 80   nl-lan\n"
             "fe80000000000000a8c1abfffe000066 03 40 20 80   nl-lan\n"
             "fe80000000000000a8c1abfffe000099 04 40 20 80   nl-h2\n")
    assert advert.link_local_of("nl-lan", table) == "fe80::a8c1:abff:fe00:66"
    with pytest.raises(SystemExit, match="nl-x has no link-local address"):
        advert.link_local_of("nl-x", table)
