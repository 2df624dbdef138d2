# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rogue_ra drill with ansible-playbook on real LANs (bridges, the kernel's RA handling, real nft).

Two topologies: the LAN part of the grown default lab (h1, x1 the rogue and r1 on segment lan,
h2 behind r1) and one with other names and addresses. The drill must find the rogue's RAs in the
client's routes and traceroute, stop them with an RA guard and with accept_ra 0, and leave the lab
as it found it. A lab whose LAN has no IPv6 refuses the drill naming what is missing.
"""
from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest

from .test_drills import drill_run

pytestmark = [pytest.mark.root, pytest.mark.lab]

# The LAN part of the default lab (roles/lab/files/topologies/default.yml as the lead grows it).
DEFAULT_LAN = {
    "name": "ra",
    "nodes": [{"name": "h1", "role": "host"}, {"name": "x1", "role": "host"}, {"name": "r1", "role": "router"},
              {"name": "h2", "role": "host"}],
    "segments": [{"name": "lan", "ipv4": "198.51.100.0/25", "ipv6": "2001:db8:1::/64", "members": [
        {"node": "h1", "ipv4": "198.51.100.10", "ipv6": "2001:db8:1::10"},
        {"node": "x1", "ipv4": "198.51.100.66", "ipv6": "2001:db8:1::66"},
        {"node": "r1", "ipv4": "198.51.100.1", "ipv6": "2001:db8:1::1"}]}],
    "links": [{"a": {"node": "r1", "ipv4": "203.0.113.1", "ipv6": "2001:db8:2::1"},
               "b": {"node": "h2", "ipv4": "203.0.113.10", "ipv6": "2001:db8:2::10"},
               "mtu": 1400, "ipv4": "203.0.113.0/24", "ipv6": "2001:db8:2::/64"}],
}
# Other names and addresses, IPv6 only on the LAN: client cl, rogue ev, gateway gw, server sv.
OTHER_LAN = {
    "name": "ra",
    "nodes": [{"name": "cl", "role": "host"}, {"name": "ev", "role": "host"}, {"name": "gw", "role": "router"},
              {"name": "sv", "role": "host"}],
    "segments": [{"name": "office", "ipv4": False, "ipv6": "2001:db8:a0::/64", "members": [
        {"node": "cl", "ipv6": "2001:db8:a0::20"}, {"node": "gw", "ipv6": "2001:db8:a0::fe"},
        {"node": "ev", "ipv6": "2001:db8:a0::bad"}]}],
    "links": [{"a": {"node": "gw", "ipv4": "192.0.2.1", "ipv6": "2001:db8:b0::1"},
               "b": {"node": "sv", "ipv4": "192.0.2.30", "ipv6": "2001:db8:b0::30"},
               "ipv4": "192.0.2.0/24", "ipv6": "2001:db8:b0::/64"}],
}
# A LAN without IPv6: the drill is refused.
V4_LAN = {
    "name": "ra",
    "nodes": [{"name": "c1", "role": "host"}, {"name": "x1", "role": "host"}, {"name": "gw", "role": "router"},
              {"name": "s1", "role": "host"}],
    "segments": [{"name": "lan", "ipv4": "192.0.2.0/24", "ipv6": False, "members": [
        {"node": "c1", "ipv4": "192.0.2.20"}, {"node": "x1", "ipv4": "192.0.2.66"}, {"node": "gw", "ipv4": "192.0.2.1"}]}],
    "links": [{"a": {"node": "gw", "ipv4": "198.51.100.1", "ipv6": "2001:db8:20::1"},
               "b": {"node": "s1", "ipv4": "198.51.100.30", "ipv6": "2001:db8:20::30"},
               "ipv4": "198.51.100.0/24", "ipv6": "2001:db8:20::/64"}],
}


def snapshot(lab: t.Any, client: str, rogue: str, segment: str) -> t.Dict[str, t.Any]:
    """What the drill touches: the client's RA sysctls, ruleset and IPv6 routes; the rogue's forwarding."""
    ifname = "nl-%s" % segment
    return {
        client: {"sysctls": [lab.sysctl(client, "net.ipv6.conf.%s.%s" % (ifname, key))
                             for key in ("accept_ra", "accept_ra_rt_info_max_plen", "forwarding")],
                 "nft": lab.run(client, ["nft", "list", "ruleset"]).stdout,
                 "routes6": lab.run(client, ["ip", "-6", "route", "show"]).stdout},
        rogue: {"sysctls": [lab.sysctl(rogue, "net.ipv6.conf.%s.forwarding" % where) for where in ("all", "default", ifname)],
                "routes6": lab.run(rogue, ["ip", "-6", "route", "show"]).stdout},
    }


def run_drill(lab: t.Any, tmp_path: Path) -> t.Tuple[t.Any, t.Dict[str, t.Any]]:
    run = drill_run(lab, tmp_path, ["rogue_ra"])
    report_path = tmp_path / "reports" / "disaster-drill.json"
    assert report_path.is_file(), run.stdout[-5000:] + run.stderr[-2000:]
    report = json.loads(report_path.read_text())
    check = [host for host in report["hosts"] if host["name"] == "drill_rogue_ra"][0]["checks"][0]
    print(run.stdout[run.stdout.rindex("Show the drill timeline"):], json.dumps(check, indent=1))  # the numbers, with -s
    return run, check


@pytest.mark.parametrize(("topology", "client", "rogue", "segment", "server", "rogue_v6", "gateway", "gateway_v6"), [
    (DEFAULT_LAN, "h1", "x1", "lan", "2001:db8:2::10", "2001:db8:1::66", "r1", "2001:db8:1::1"),
    (OTHER_LAN, "cl", "ev", "office", "2001:db8:b0::30", "2001:db8:a0::bad", "gw", "2001:db8:a0::fe"),
], ids=["default-lan", "other-lan"])
def test_the_rogue_is_found_stopped_twice_and_the_lab_is_back(  # pylint: disable=too-many-arguments
        make_lab: t.Any, tmp_path: Path, topology: t.Dict[str, t.Any], client: str, rogue: str, segment: str,
        server: str, rogue_v6: str, gateway: str, gateway_v6: str) -> None:
    lab = make_lab(topology)
    before = snapshot(lab, client, rogue, segment)
    run, check = run_drill(lab, tmp_path)
    assert run.returncode == 0, run.stdout[-5000:]
    assert check["status"] == "pass", check
    assert check["measured"]["verdict"] == "rogue_router"
    found = json.loads(lab.run(rogue, ["ip", "-6", "-j", "address", "show", "dev", "nl-" + segment, "scope", "link"]).stdout)
    rogue_ll = [address["local"] for address in found[0]["addr_info"] if "local" in address][0]  # {} for the others
    diagnosis = check["notes"][0]
    for words in ("rogue IPv6 router on LAN %s: %s (%s) advertised itself as a router and %s took it"
                  % (segment, rogue, rogue_ll, client),
                  "its route(s) %s, default now go via the rogue's link-local" % server,
                  "and the route lookup for %s says so instead of the gateway %s (fe80::" % (server, gateway),
                  "traceroute's first hop is %s (the rogue)" % rogue_v6,
                  "echo to %s still answers through the rogue (a man in the middle)" % server):
        assert words in diagnosis, diagnosis
    measured = run.stdout[run.stdout.index("Rogue RA | what the drill measured"):]
    for words in ('"first_hop_before": "%s"' % gateway_v6, '"first_hop_after": "%s"' % gateway_v6,
                  '"guard_dropped_ras": 3,', '"source": "%s"' % rogue_ll, '"%s/128"' % server):
        assert words in measured[:3000], measured[:3000]
    timeline = check["expect"]["timeline"]
    assert all(0 <= timeline[key] < 60 for key in ("inject_s", "detect_s", "recover_s")), timeline
    assert "rogue_ra  PASS" in run.stdout, run.stdout[-3000:]
    # both preventions held (the play asserts them), the guard dropped the rogue's RAs, and the lab is as before
    assert "prevent (a), the guard dropped the rogue's RAs and no route goes via the rogue" in run.stdout
    assert "prevent (b), no route goes via the rogue and the lookup uses the gateway" in run.stdout
    assert snapshot(lab, client, rogue, segment) == before
    route = json.loads(lab.run(client, ["ip", "-6", "-j", "route", "get", server]).stdout)[0]
    assert route["gateway"] != rogue_ll and "fe80" not in route["gateway"], route
    lab.run(client, ["ping", "-6", "-c", "1", "-W", "2", server])


def test_a_lan_without_ipv6_refuses_the_drill_naming_what_is_missing(make_lab: t.Any, tmp_path: Path) -> None:
    lab = make_lab(V4_LAN)
    before = snapshot(lab, "c1", "x1", "lan")
    run = drill_run(lab, tmp_path, ["rogue_ra"])
    assert run.returncode != 0
    # the client has no IPv6 at all here, so both needs are named
    assert ("drill rogue_ra cannot run on this lab: it needs IPv6 addresses on the client and the server; and a LAN "
            "segment with IPv6 that has the client, the router and a third node (the rogue, icmp_drill_rogue) as members,"
            " each with an IPv6 address ('segments' in the lab topology)") in run.stdout, run.stdout[-3000:]
    assert "Nothing was changed." in run.stdout
    assert not (tmp_path / "reports").exists()
    assert snapshot(lab, "c1", "x1", "lan") == before


def test_a_rogue_that_drops_what_it_forwards_is_found_too(make_lab: t.Any, tmp_path: Path) -> None:
    """A black hole instead of a man in the middle: the hop limit expires before the forward hook, so the
    rogue still answers traceroute's first probe; echo fails. The drill passes and the lab is back."""
    lab = make_lab(DEFAULT_LAN)
    lab.nft("x1", "table inet test_blackhole {\n  chain forward {\n    type filter hook forward priority 0; policy drop;\n  }\n}\n")
    before = snapshot(lab, "h1", "x1", "lan")
    run, check = run_drill(lab, tmp_path)
    assert run.returncode == 0, run.stdout[-5000:]
    assert check["status"] == "pass", check
    assert check["notes"][0].endswith("traceroute's first hop is 2001:db8:1::66 (the rogue); echo to 2001:db8:2::10 fails "
                                      "(the rogue drops it)"), check["notes"][0]
    assert snapshot(lab, "h1", "x1", "lan") == before


def test_a_client_that_already_drops_ras_fails_the_drill_which_still_cleans_up(make_lab: t.Any, tmp_path: Path) -> None:
    """Detection broken on purpose: a foreign table on the client drops every RA, so the attack cannot work;
    the drill fails, the play fails, the report says so, and the cleanup still restores everything."""
    lab = make_lab(DEFAULT_LAN)
    lab.nft("h1", "table inet test_no_ra {\n  chain input {\n    type filter hook input priority 0;\n"
                  "    icmpv6 type nd-router-advert drop\n  }\n}\n")
    before = snapshot(lab, "h1", "x1", "lan")
    run, check = run_drill(lab, tmp_path)
    assert run.returncode != 0
    assert "drill(s) failed: rogue_ra" in run.stdout, run.stdout[-3000:]
    assert "Rogue RA | the client took the rogue as its router" in run.stdout
    assert check["status"] == "fail", check
    assert check["measured"]["verdict"] == "healthy"
    assert "the router advertisements changed nothing" in check["notes"][0]
    assert snapshot(lab, "h1", "x1", "lan") == before, "sysctls, rules and routes restored after the failure"
