# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The capture beside a probe: where it listens, what it counts per target, what it says."""
from __future__ import annotations

import json
import socket
import struct
import time

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._capture import alongside, sniffer
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import ParameterError
from tests.unit.fakes.runner import FakeRunner
from tests.unit.plugins.module_utils._capture.test_bpf import ipv4

IP_BATCH = ("ip", "-j", "-force", "-batch", "-")
US, ROUTER, TARGET = "192.0.2.10", "192.0.2.1", "203.0.113.10"
ECHO = struct.pack("!BBHHH", 8, 0, 0, 7, 1)
REQUEST = ipv4(1, US, TARGET, ECHO)
REPLY = ipv4(1, TARGET, US, struct.pack("!BBHHH", 0, 0, 0, 7, 1))
UNREACHABLE = ipv4(1, ROUTER, US, struct.pack("!BBHI", 3, 1, 0, 0) + REQUEST)


def _routes(*answers):
    return "".join(json.dumps([answer]) + "\n" for answer in answers)


def _plan(settings=None, targets=(TARGET,), stdout=None, **kw):
    stdout = _routes({"dst": TARGET, "gateway": ROUTER, "dev": "eth0", "prefsrc": US}) if stdout is None else stdout
    runner = FakeRunner([(IP_BATCH, 0, stdout, "")])
    result = alongside.plan(settings or {}, list(targets), kw.get("family", "auto"), kw.get("source"),
                            kw.get("probe_interface"), runner, lookup=lambda name, family: [])
    return result, runner


def test_auto_is_the_routes_interface_and_the_filter_is_our_source_address():
    capture_plan, runner = _plan()
    assert (capture_plan.interface, capture_plan.chosen_by, capture_plan.hosts) == ("eth0", "route", (US,))
    assert runner.calls == [(IP_BATCH, "route get %s\n" % TARGET)]


def test_targets_leaving_by_different_interfaces_capture_everywhere():
    stdout = _routes({"dst": TARGET, "dev": "eth0", "prefsrc": US},
                     {"dst": "2001:db8::5", "dev": "eth1", "prefsrc": "2001:db8::10"})
    capture_plan, _runner = _plan(targets=[TARGET, "2001:db8::5", TARGET], stdout=stdout, source="192.0.2.11")
    assert (capture_plan.interface, capture_plan.chosen_by) == (None, "routes_differ")
    assert capture_plan.hosts == ("192.0.2.10", "192.0.2.11", "2001:db8::10")
    assert capture_plan.targets == (TARGET, "2001:db8::5") and capture_plan.where() == "this host"


def test_no_route_and_explicit_interfaces():
    assert _plan(stdout="RTNETLINK answers: Network is unreachable\n")[0].chosen_by == "no_route"
    assert _plan({"interface": "any"})[0].interface is None
    assert (_plan({"interface": "veth9"})[0].interface, _plan({"interface": "veth9"})[0].chosen_by) == ("veth9", "option")
    assert (_plan(probe_interface="eth7")[0].interface, _plan(probe_interface="eth7")[0].chosen_by) == (
        "eth7", "probe_interface")


@pytest.mark.parametrize("settings, option", [
    ({"interface": "eth0; reboot"}, "capture.interface"),
    ({"max_packets": 0}, "capture.max_packets"),
    ({"max_packets": 10 ** 9}, "capture.max_packets"),
    ({"top": True}, "capture.top"),
])
def test_bad_settings_are_refused_before_anything_runs(settings, option):
    runner = FakeRunner()
    with pytest.raises(ParameterError, match=option.replace(".", r"\.")) as caught:
        alongside.plan(settings, [TARGET], "auto", None, None, runner)
    assert caught.value.option == option and runner.calls == []


class QueueSource:
    """Frames handed out by the test while the capture thread reads; ``late`` only after the stop."""

    def __init__(self, frames, late=()):
        self.frames, self.late, self.closed, self.program = list(frames), list(late), False, None

    def receive(self, timeout_s):
        if self.frames:
            frames, self.frames = self.frames, []
            return frames
        if timeout_s == 0 and self.late:
            frames, self.late = self.late, []
            return frames
        time.sleep(min(timeout_s, 0.005))
        return []

    def statistics(self):
        return (7, 1)

    def close(self):
        self.closed = True


def _frame(data, pkttype=sniffer.PACKET_OUTGOING):
    return sniffer.Frame(1_000, data, "eth0", sniffer.ETH_P_IP, pkttype, 1, b"\x02" * 6)


def _run(frames, late=(), **settings):
    capture_plan = alongside.Plan("eth0", (US,), (TARGET,), settings.get("max_packets", 100), 10, "route")
    source = QueueSource(frames, late)
    opened = []

    def open_source(interface, program, snaplen):
        opened.append((interface, snaplen))
        return source

    probe_capture = alongside.ProbeCapture(capture_plan, open_source, poll_s=0.01)
    with probe_capture:
        time.sleep(0.05)
    assert source.closed and opened == [("eth0", alongside.SNAPLEN)]
    return probe_capture.result()


@pytest.fixture(autouse=True)
def _any_interface_exists(monkeypatch):
    monkeypatch.setattr(sniffer, "interface_index", lambda name: 2)


def test_three_requests_no_reply_is_the_evidence():
    result = _run([_frame(REQUEST)] * 3)
    assert result["evidence"] == ["3 echo requests to 203.0.113.10 left eth0, no reply arrived"]
    assert result["per_target"][0]["echo_requests"] == 3 and result["by_direction"] == {"in": 0, "out": 3}
    assert result["kernel"] == {"packets": 7, "drops": 1} and result["error"] is None


def test_replies_and_errors_drained_after_the_probe_are_counted():
    result = _run([_frame(REQUEST)] * 2, late=[_frame(REPLY, 0), _frame(UNREACHABLE, 0)])
    assert result["evidence"] == ["2 echo requests to 203.0.113.10 left eth0, 1 echo reply arrived; ICMP errors "
                                  "about probes to 203.0.113.10 arrived: 1 host_unreachable from 192.0.2.1"]
    assert result["per_target"][0]["errors"] == [{"name": "host_unreachable", "from": ROUTER, "mtu": None,
                                                  "packets": 1}]


def test_packets_over_the_limit_are_only_counted():
    result = _run([_frame(REQUEST)] * 5, max_packets=2)
    assert (result["captured"], result["over_limit"], result["packets"]) == (2, 3, 2)


def test_nothing_seen_says_so():
    assert _run([])["evidence"] == ["no echo request to 203.0.113.10 was seen on eth0"]


def test_no_capture_asked_is_a_no_op():
    with alongside.for_params({"capture": None}, [TARGET], FakeRunner()) as probe_capture:
        pass
    assert probe_capture.result() is None


def test_without_cap_net_raw_the_error_names_it_and_nothing_is_opened(monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(socket, "socket", refuse)
    capture_plan = alongside.Plan("eth0", (), (TARGET,), 10, 10, "route")
    with pytest.raises(alongside.ProbeCaptureError, match="CAP_NET_RAW.*nothing was sent"):
        with alongside.ProbeCapture(capture_plan):
            raise AssertionError("the probe must not run")
