# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pcap files, the summary, the capture loop over a fake socket, and option checks."""
from __future__ import annotations

import os
import struct

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._capture import options, pcap, run, sniffer
from ansible_collections.netdevops.icmp.plugins.module_utils._capture.summary import Summary
from tests.unit.fakes.clock import FakeClock
from tests.unit.plugins.module_utils._capture.test_bpf import ipv4, ipv6

# frag-needed from 198.51.100.1 (MTU 1400) quoting a TCP segment 192.0.2.1:40000 -> 203.0.113.5:443
QUOTED = ipv4(6, "192.0.2.1", "203.0.113.5", struct.pack("!HHI", 40000, 443, 7))
FRAG_NEEDED = ipv4(1, "198.51.100.1", "192.0.2.1", struct.pack("!BBHHH", 3, 4, 0, 0, 1400) + QUOTED)


def test_pcap_round_trip_and_bounds(tmp_path):
    path = str(tmp_path / "a.pcap")
    writer = pcap.PcapWriter(pcap.create(path), snaplen=100, max_bytes=pcap.GLOBAL_HEADER.size + 2 * (16 + 16 + 100))
    big = ipv4(1, payload=b"\x08\x00" + b"x" * 200)
    assert writer.add(1_700_000_000_123_456_789, big, 0, 1, b"\x02" * 6, 0x0800)
    assert writer.add(1_700_000_001_000_000_000, ipv6(58), 4, 1, b"\x02" * 6, 0x86DD)
    assert not writer.add(1_700_000_002_000_000_000, ipv6(58), 4, 1, b"", 0x86DD)
    writer.close()
    header, records = pcap.read(open(path, "rb").read())
    assert header == {"major": 2, "minor": 4, "snaplen": 116, "linktype": 113}
    assert [r[0] for r in records] == [1_700_000_000_123_456_789, 1_700_000_001_000_000_000]
    assert records[0][1] == len(big) + 16 and len(records[0][2]) == 116  # cut at snaplen, original length kept
    assert struct.unpack("!HHH8sH", records[1][2][:16])[0] == 4  # outgoing
    assert writer.truncated and writer.packets == 2 and oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_pcap_never_overwrites_or_follows(tmp_path):
    target = tmp_path / "victim"
    target.write_text("keep")
    with pytest.raises(pcap.PcapError, match="already exists"):
        pcap.create(str(target))
    link = tmp_path / "link.pcap"
    link.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(pcap.PcapError, match="already exists"):
        pcap.create(str(link))
    assert not (tmp_path / "elsewhere").exists() and target.read_text() == "keep"
    with pytest.raises(pcap.PcapError, match="does not exist; create it first"):
        pcap.create(str(tmp_path / "missing" / "x.pcap"))


def test_summary_counts_and_names_the_quoted_flow():
    summary = Summary(top=2)
    for second in range(3):
        summary.add(second * 1_000_000_000, "in", 4, ipv4(1, "192.0.2.9", "192.0.2.1"))
    summary.add(3_000_000_000, "in", 4, FRAG_NEEDED)
    summary.add(3_500_000_000, "out", 6, ipv6(58))
    summary.add(3_600_000_000, "in", 4, b"\x45\x00")
    result = summary.to_dict()
    assert result["packets"] == 6 and result["malformed"] == 1
    assert result["by_direction"] == {"in": 4, "out": 1}
    assert [(r["type"], r["code"], r["direction"], r["packets"]) for r in result["by_type"]] == [
        (3, 4, "in", 1), (8, 0, "in", 3), (128, 0, "out", 1)]
    assert result["top_sources"][0] == {"address": "192.0.2.9", "packets": 3}
    assert result["errors"] == [{"family": "ipv4", "type": 3, "code": 4, "name": result["errors"][0]["name"],
                                 "direction": "in", "from": "198.51.100.1", "mtu": 1400, "packets": 1,
                                 "quoted": {"src": "192.0.2.1", "dst": "203.0.113.5", "protocol": 6,
                                            "sport": 40000, "dport": 443, "echo_id": None}}]
    assert result["rate_pps"]["peak"] == 3 and len(result["per_second"]) == 4


def test_summary_counts_non_first_fragments_apart():
    fragment = bytearray(ipv4(1))
    fragment[6:8] = struct.pack("!H", 185)  # offset 1480 bytes
    summary = Summary()
    summary.add(0, "in", 4, bytes(fragment))
    assert summary.to_dict()["fragments"] == 1 and summary.to_dict()["by_type"] == []


class FakeSource:
    def __init__(self, clock, frames):
        self.clock, self.frames, self.closed = clock, list(frames), False

    def receive(self, timeout_s):
        if not self.frames:
            self.clock.sleep(timeout_s)
            return []
        return [self.frames.pop(0)]

    def statistics(self):
        return (len(self.frames) + 10, 2)

    def close(self):
        self.closed = True


def _frame(data, pkttype=0, protocol=0x0800, hatype=1):
    return sniffer.Frame(1, data, "veth0", protocol, pkttype, hatype, b"\x02" * 6)


def test_capture_loop_stops_at_count_and_skips_loopbacks_sent_copy():
    clock = FakeClock()
    frames = [_frame(ipv4(1), pkttype=4, hatype=772), _frame(ipv4(1)), _frame(ipv6(58), 4, 0x86DD),
              _frame(b"arp", protocol=0x0806), _frame(ipv4(1))]
    summary = Summary()
    loop = sniffer.capture(FakeSource(clock, frames), clock, 10, 2, summary)
    assert loop["captured"] == 2 and loop["stopped_by"] == "count" and loop["kernel"]["drops"] == 2
    assert summary.to_dict()["by_direction"] == {"in": 1, "out": 1}


def test_capture_loop_stops_at_the_deadline():
    clock = FakeClock()
    loop = sniffer.capture(FakeSource(clock, []), clock, 1.0, None, Summary())
    assert loop["stopped_by"] == "duration" and loop["captured"] == 0 and 1.0 <= loop["elapsed_s"] < 1.3


def test_run_removes_the_pcap_when_the_capture_fails(tmp_path):
    class Broken(FakeSource):
        def receive(self, timeout_s):
            raise sniffer.CaptureError("boom")

    opts = options.build({"pcap_path": str(tmp_path / "x.pcap"), "duration": 1})
    source = Broken(FakeClock(), [])
    with pytest.raises(sniffer.CaptureError, match="boom"):
        run.run(opts, open_source=lambda *_a: source, clock=FakeClock())
    assert not (tmp_path / "x.pcap").exists() and source.closed


@pytest.mark.parametrize("params,message", [
    ({"count": 0}, r"count=0 is out of range: use 1 to 10000000"),
    ({"count": 10 ** 9}, "out of range"),
    ({"count": 2.5}, "must be a whole number"),
    ({"duration": float("inf")}, r"duration=inf is out of range"),
    ({"duration": 0}, "out of range"),
    ({"snaplen": 10}, "snaplen=10 is out of range"),
    ({"interface": "eth0\nx"}, "is not an interface name"),
    ({"hosts": ["example.com"]}, "not an IPv4 or IPv6 address"),
    ({"hosts": [None]}, "is not a string"),
    ({"hosts": ["2001:db8::1"], "family": "ipv4"}, "is IPv6 but family selects IPv4"),
    ({"hosts": ["192.0.2.%d" % n for n in range(9)]}, "at most 8"),
    ({"pcap_path": "relative.pcap"}, "must be an absolute path"),
    ({"pcap_path": "/nonexistent-dir/x.pcap"}, "does not exist; create it first"),
    ({"pcap_max_bytes": 10}, "pcap_max_bytes=10 is out of range"),
])
def test_bad_options(params, message):
    with pytest.raises(options.OptionError, match=message):
        options.build(params)


def test_existing_pcap_path_is_refused_up_front(tmp_path):
    (tmp_path / "old.pcap").write_text("x")
    with pytest.raises(options.OptionError, match="already exists"):
        options.build({"pcap_path": str(tmp_path / "old.pcap")})


def test_describe_says_what_would_be_captured():
    described = options.build({"interface": "veth0", "hosts": ["192.0.2.1"], "count": 5}).describe()
    assert described["interface"] == "veth0" and described["hosts"] == ["192.0.2.1"] and described["count"] == 5
    assert described["bpf_instructions"] > 5 and described["pcap_path"] is None


def test_unknown_interface_names_the_existing_ones():
    with pytest.raises(sniffer.CaptureError, match="interface 'nosuch0' does not exist.*lo"):
        sniffer.interface_index("nosuch0")
