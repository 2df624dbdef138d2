# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The policy_cutoff drill's verdict and the evidence a capture on the client gives it."""
from __future__ import annotations

import typing as t

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.netdevops.icmp.plugins.filter.drill_diagnosis import drill_diagnosis

ROLLED_BACK = {"changed": False, "rolled_back": True, "applied": False, "msg": "not confirmed within 10s: restored"}


def frag_needed(packets: int, sport: int = 22, protocol: t.Any = 6) -> t.Dict[str, t.Any]:
    return {"family": "ipv4", "type": 3, "code": 4, "name": "frag_needed", "direction": "in", "from": "198.51.100.1",
            "mtu": 1400, "packets": packets,
            "quoted": {"src": "198.51.100.10", "dst": "203.0.113.10", "protocol": protocol, "sport": sport,
                       "dport": 40022, "echo_id": None}}


# What netdevops.icmp.capture on h1 returned while the push ran (trimmed to what the verdict reads).
CAPTURE = {
    "packets": 6, "by_direction": {"in": 6, "out": 0}, "kernel": {"packets": 6, "drops": 0},
    "by_type": [{"family": "ipv4", "type": 3, "code": 4, "name": "frag_needed", "direction": "in", "packets": 6}],
    "top_sources": [{"address": "198.51.100.1", "packets": 6}], "interfaces_seen": ["nl-lan"],
    "errors": [frag_needed(5), frag_needed(1, sport=51000)],
}


def cutoff(**over: t.Any) -> t.Dict[str, t.Any]:
    return dict({"push": ROLLED_BACK, "client": "h1", "confirm_timeout": 10, "capture": CAPTURE}, **over)


def test_a_rolled_back_push_with_the_frag_needed_for_the_ssh_packets_as_evidence() -> None:
    verdict = drill_diagnosis(None, cutoff=cutoff())
    assert verdict["verdict"] == "rolled_back_by_host"
    said = ("5 fragmentation-needed from 198.51.100.1 (MTU 1400) arrived at h1 quoting its SSH packets to 203.0.113.10:"
            " the path asked for smaller packets and the pushed rule dropped the messages after the capture saw them")
    assert verdict["evidence"] == [said]
    assert verdict["diagnosis"].startswith("the push cut the controller off from h1: ")
    assert verdict["diagnosis"].endswith("; " + said)
    assert verdict["capture"]["packets"] == 6 and verdict["capture"]["interfaces"] == ["nl-lan"]
    assert verdict["capture"]["evidence"] == [said]


def test_a_capture_without_frag_needed_for_ssh_says_so() -> None:
    quiet = dict(CAPTURE, errors=[frag_needed(3, sport=51000), frag_needed(2, protocol=17)])
    verdict = drill_diagnosis(None, cutoff=cutoff(capture=quiet))
    assert verdict["evidence"] == ["a capture on h1 saw no fragmentation-needed for its SSH packets (6 ICMP packets in all)"]


@pytest.mark.parametrize("push, verdict, words", [
    ({"applied": True, "changed": True}, "confirmed", "the push was confirmed, the controller kept full-size access to h1"),
    ({"failed": True, "msg": "nft: no such table"}, "push_failed", "the push failed before commit-confirm: nft: no such"),
])
def test_the_other_outcomes_and_no_capture(push: t.Dict[str, t.Any], verdict: str, words: str) -> None:
    found = drill_diagnosis(None, cutoff=cutoff(push=push, capture=None))
    assert found == {"verdict": verdict, "diagnosis": found["diagnosis"]} and words in found["diagnosis"]


@pytest.mark.parametrize("bad, message", [
    (cutoff(push="rolled back"), "cutoff needs push, the registered result of the policy push, got 'rolled back'"),
    (cutoff(capture=dict(CAPTURE, packets=-1)), "capture packets must be a whole number >= 0, got -1"),
])
def test_bad_drill_data_is_a_clear_filter_error(bad: t.Dict[str, t.Any], message: str) -> None:
    with pytest.raises(AnsibleFilterError, match="netdevops.icmp.drill_diagnosis: " + message):
        drill_diagnosis(None, cutoff=bad)
