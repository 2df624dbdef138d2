"""traceroute and pmtud end to end over a fake wire: the real ``PathProber`` (packet
builders, ``ProbeMatcher``, codec) with only its socket layer replaced.

``WireProber`` keeps everything of ``probes.PathProber`` but the three transport calls
(``_open``, ``_transmit``, ``_receive``): the probe bytes it sends go to a chain of fake
routers, and what comes back are raw IPv4 packets built here byte by byte, as a raw ICMP
socket would read them (time exceeded and frag-needed quoting the probe, echo reply, port
unreachable). So these tests fail when a builder, the matcher, the codec or an algorithm
breaks, without root and without sending anything.
"""
from __future__ import annotations

import heapq
import struct
import typing as t
from dataclasses import dataclass

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import probes
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.codec import checksum
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.kernel import PathPacket
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import ResolveError
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.pmtud import PmtuParams, PmtuRequest, discover, measure
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.traceroute import (
    TraceParams,
    TraceRequest,
    run_trace,
    trace,
)
from tests.unit.fakes.clock import FakeClock

SOURCE, DEST = "192.0.2.1", "203.0.113.9"
PROTOCOL = {"icmp": 1, "udp": 17}


@dataclass
class Router:
    address: str
    mtu: int = 1500  # of the link towards the destination
    silent: bool = False  # forwards, but never sends time exceeded
    drop_ptb: bool = False  # a PMTUD black hole: drops what is too big and says nothing


def _aton(address: str) -> bytes:
    return bytes(int(part) for part in address.split("."))


def ipv4(src: str, dst: str, protocol: int, body: bytes, ttl: int = 64) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 0, 0x4000, ttl, protocol, 0, _aton(src), _aton(dst))
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:] + body


def icmp(icmp_type: int, code: int, rest: bytes, body: bytes) -> bytes:
    message = struct.pack("!BBH", icmp_type, code, 0) + rest + body
    return message[:2] + struct.pack("!H", checksum(message)) + message[4:]


class WireProber(probes.PathProber):
    """``PathProber`` over the fake wire; see the module docstring."""

    def __init__(self, clock: FakeClock, routers: t.Sequence[Router], method: str = "icmp",
                 destination_answers: bool = True, hop_rtt_s: float = 0.001, **options: t.Any) -> None:
        self.clock, self.routers, self.hop_rtt_s = clock, list(routers), hop_rtt_s
        self.destination_answers = destination_answers
        self.wire: t.List[t.Tuple[int, int, bytes]] = []  # (due ns, order, packet as a raw socket reads it)
        self.sent_packets: t.List[t.Tuple[int, int]] = []  # (ttl, total length)
        options.setdefault("df_probe", True)
        super().__init__(4, method, DEST, clock_ns=clock.monotonic_ns, **options)

    # --- the transport, faked -----------------------------------------------------------
    def _open(self, mode: str) -> str:
        return "raw"

    def close(self) -> None:
        pass

    def _transmit(self, packet: bytes, ttl: int, port: int) -> t.Optional[OSError]:
        if self.method == "udp":
            packet = struct.pack("!HHHH", 40000, self.port, 8 + len(packet), 0) + packet
        datagram = ipv4(SOURCE, DEST, PROTOCOL[self.method], packet, ttl)
        self.sent_packets.append((ttl, len(datagram)))
        for hop, router in enumerate(self.routers, start=1):
            if ttl == hop:
                if not router.silent:
                    self._answer(hop, router.address, icmp(11, 0, bytes(4), datagram[:28 + 64]))
                return None
            if len(datagram) > router.mtu:
                if not router.drop_ptb:
                    rest = struct.pack("!HH", 0, router.mtu)
                    self._answer(hop, router.address, icmp(3, 4, rest, datagram[:28 + 64]))
                return None
        if self.destination_answers:
            hops = len(self.routers) + 1
            if self.method == "icmp":
                self._answer(hops, DEST, icmp(0, 0, packet[4:8], packet[8:]))
            else:
                self._answer(hops, DEST, icmp(3, 3, bytes(4), datagram[:28 + 64]))
        return None

    def _answer(self, hops: int, sender: str, message: bytes) -> None:
        due = self.clock.now_ns + int(2 * hops * self.hop_rtt_s * 1e9)
        heapq.heappush(self.wire, (due, len(self.sent_packets), ipv4(sender, SOURCE, 1, message)))

    def _receive(self, timeout_s: float) -> t.List[PathPacket]:
        limit = self.clock.now_ns + int(timeout_s * 1e9)
        if self.wire and self.wire[0][0] <= limit:
            self.clock.now_ns = max(self.clock.now_ns, self.wire[0][0])
        else:
            self.clock.now_ns = limit
        packets = []
        while self.wire and self.wire[0][0] <= self.clock.now_ns:
            due, _order, data = heapq.heappop(self.wire)
            packets.append(PathPacket(data, "%d.%d.%d.%d" % tuple(data[12:16]), due, False, None))
        return packets


def chain(count: int, **router: t.Any) -> t.List[Router]:
    return [Router("198.51.100.%d" % (i + 1), **router) for i in range(count)]


@pytest.mark.parametrize("method", ["icmp", "udp"])
def test_traceroute_reads_every_hop_from_the_quoted_probe(method: str) -> None:
    clock = FakeClock()
    prober = WireProber(clock, chain(4), method=method)
    report = trace(prober, clock, TraceParams(DEST, 4, method))
    assert report.reached is True
    assert [hop.addresses for hop in report.hops] == [("198.51.100.%d" % i,) for i in range(1, 5)] + [(DEST,)]
    last = report.hops[-1]
    assert [p.rtt_ms for p in last.probes] == [pytest.approx(10.0)] * 3  # 5 hops x 2 x 1 ms


def test_traceroute_names_a_hop_that_forwards_but_never_answers_filtered() -> None:
    clock = FakeClock()
    routers = chain(4)
    routers[1].silent = True
    report = trace(WireProber(clock, routers), clock, TraceParams(DEST, 4))
    assert report.reached is True
    assert report.hops[1].addresses == ()
    assert report.hops[1].status == "filtered"
    assert report.hops[2].addresses == ("198.51.100.3",)


def test_pmtud_takes_the_mtu_from_the_frag_needed_it_quotes() -> None:
    clock = FakeClock()
    routers = chain(4)
    routers[2].mtu = 1400
    prober = WireProber(clock, routers)
    report = discover(prober, clock, PmtuParams(DEST, 4, local_mtu=1500))
    assert (report.path_mtu, report.reported_by, report.black_hole) == (1400, "198.51.100.3", False)
    assert max(size for _ttl, size in prober.sent_packets) == 1500


def test_pmtud_calls_a_silent_drop_of_large_probes_a_black_hole() -> None:
    clock = FakeClock()
    routers = chain(4)
    routers[2].mtu, routers[2].drop_ptb = 1400, True
    report = discover(WireProber(clock, routers), clock, PmtuParams(DEST, 4, local_mtu=1500))
    assert report.black_hole is True
    assert report.path_mtu is not None and report.path_mtu <= 1400


def test_a_destination_that_never_answers_is_not_reached() -> None:
    clock = FakeClock()
    prober = WireProber(clock, chain(2), destination_answers=False)
    report = trace(prober, clock, TraceParams(DEST, 4, max_hops=6, max_silent_hops=2))
    assert report.reached is False
    assert [hop.addresses for hop in report.hops[:2]] == [("198.51.100.1",), ("198.51.100.2",)]


class WireNetwork:
    """The ``scheduler.Network`` seam for traceroute and pmtud over the fake wire: a
    resolver that knows one name, path probers on ``WireProber``, and route facts."""

    def __init__(self, clock: FakeClock, routers: t.Sequence[Router], interface_mtu: int = 1500,
                 route_mtu: int = 1500) -> None:
        self.clock, self.routers = clock, routers
        self.names = {"far.example.test": [(4, DEST)]}
        self.mtus = {"interface": interface_mtu, "route": route_mtu}
        self.opened: t.List[t.Dict[str, t.Any]] = []
        self.probers: t.List[WireProber] = []

    def lookup(self, name: str, family: int) -> t.List[t.Tuple[int, str]]:
        if name not in self.names:
            raise OSError(-2, "Name or service not known")
        return [entry for entry in self.names[name] if family in (0, entry[0])]

    def zone_index(self, zone: str) -> int:
        raise OSError(19, "No such device")

    def open_path(self, family: int, method: str, destination: str, **options: t.Any) -> WireProber:
        assert (family, destination) == (4, DEST)
        self.opened.append(dict(options, method=method))
        self.probers.append(WireProber(self.clock, self.routers, method, **options))
        return self.probers[-1]

    def interface_mtu(self, family: int, destination: str, source: t.Optional[str],
                      interface: t.Optional[str]) -> t.Optional[int]:
        return self.mtus["interface"]

    def route_mtu(self, family: int, destination: str, source: t.Optional[str],
                  interface: t.Optional[str]) -> t.Optional[int]:
        return self.mtus["route"]

    def route_device(self, family: int, destination: str) -> t.Optional[str]:
        return "vxt0"

    def is_tunnel(self, device: t.Optional[str]) -> bool:
        return device == "vxt0"


def test_run_trace_resolves_opens_and_traces_through_the_network_seam() -> None:
    clock = FakeClock()
    network = WireNetwork(clock, chain(3))
    report = run_trace(TraceRequest("far.example.test", method="udp", port=33500), network, clock)
    assert report.reached is True
    assert [hop.addresses for hop in report.hops][-1] == (DEST,)
    assert network.opened == [{"method": "udp", "mode": "auto", "port": 33500, "source": None, "interface": None}]
    assert network.probers[0].sent_packets  # the probes went over the seam, nowhere else


def test_run_trace_of_a_name_that_does_not_resolve_is_an_error_not_a_trace() -> None:
    network = WireNetwork(FakeClock(), chain(3))
    with pytest.raises(ResolveError):
        run_trace(TraceRequest("nowhere.example.test"), network, network.clock)
    assert network.opened == []


def test_measure_searches_up_to_the_interface_mtu_it_reads_from_the_network() -> None:
    clock = FakeClock()
    routers = chain(3)
    routers[1].mtu = 1280
    network = WireNetwork(clock, routers, interface_mtu=1400, route_mtu=1400)
    report = measure(PmtuRequest(DEST), network, clock)
    assert (report.path_mtu, report.reported_by) == (1280, "198.51.100.2")
    assert network.opened[0]["df_probe"] is True
    assert max(size for _ttl, size in network.probers[0].sent_packets) == 1400
