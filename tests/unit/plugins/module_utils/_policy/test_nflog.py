"""The nfnetlink_log reader: requests byte for byte, packets from real captures, bounded reading, clear errors."""
from __future__ import annotations

import errno
import random
import struct
import typing as t
from pathlib import Path

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import nflog
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.names import PolicyError

FIXTURES = Path(__file__).parent / "nflog"
ECHO_V4 = bytes.fromhex((FIXTURES / "echo-v4.hex").read_text().strip())
ECHO_V6 = bytes.fromhex((FIXTURES / "echo-v6.hex").read_text().strip())
ACK_1 = bytes.fromhex((FIXTURES / "ack-1.hex").read_text().strip())
# what the real reader sent to the kernel in the capture (and the kernel acked)
SENT = [
    "1c000000010405000100000000000000020000000500010004000000",  # AF_INET PF_UNBIND
    "1c000000010405000200000000000000020000000500010003000000",  # AF_INET PF_BIND
    "1c0000000104050003000000000000000a0000000500010004000000",  # AF_INET6 PF_UNBIND
    "1c0000000104050004000000000000000a0000000500010003000000",  # AF_INET6 PF_BIND
    "1c0000000104050005000000000000000000003a0500010001000000",  # group 58 BIND
    "280000000104050006000000000000000000003a0a00020000000080020000000800050000000001",  # COPY_PACKET 128, qthresh 1
]


def test_setup_requests_are_exactly_what_the_kernel_accepted():
    assert [message.hex() for message in nflog.setup_messages(58)] == SENT
    assert nflog.unbind_message(58).hex() == "1c0000000104050063000000000000000000003a0500010002000000"


def test_an_ack_is_error_zero_for_its_sequence():
    (message,) = nflog.messages(ACK_1)
    assert (message.kind, message.sequence, nflog.error_code(message)) == (nflog.NLMSG_ERROR, 1, 0)


def test_an_ipv4_packet_message_from_the_kernel():
    (message,) = nflog.messages(ECHO_V4)
    packet = nflog.parse_packet(message)
    assert packet is not None
    assert (packet.family, packet.direction, packet.prefix) == ("ipv4", "input", "echo-drop ")
    assert (packet.in_interface, packet.out_interface) == (1, None)
    assert packet.timestamp_s == pytest.approx(1795977527.5196)
    assert packet.payload[:1] == b"\x45" and packet.payload[20:22] == b"\x08\x00" and len(packet.payload) == 84


def test_an_ipv6_packet_message_from_the_kernel():
    packet = nflog.parse_packet(nflog.messages(ECHO_V6)[0])
    assert packet is not None
    assert (packet.family, packet.direction, packet.prefix, packet.in_interface) == ("ipv6", "input", "e6", 1)
    assert packet.payload[0] >> 4 == 6 and packet.payload[40] == 128


def test_two_messages_in_one_datagram_and_a_truncated_tail():
    both = nflog.messages(ECHO_V4 + ECHO_V6 + ECHO_V4[:30])
    assert [nflog.parse_packet(m).prefix for m in both] == ["echo-drop ", "e6"]  # type: ignore[union-attr]


def test_other_messages_and_garbage_are_not_packets_and_never_raise():
    assert nflog.parse_packet(nflog.messages(ACK_1)[0]) is None
    assert nflog.parse_packet(nflog.Message(0x0400, 0, b"\x02")) is None
    rng = random.Random(16)
    for _round in range(300):
        data = bytearray(ECHO_V4)
        for _flip in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        for message in nflog.messages(bytes(data[:rng.randint(0, len(data))])):
            nflog.parse_packet(message)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now


class FakeChannel:
    """Acks every request (or answers ``refuse`` errno to the group bind); then delivers ``packets``."""

    def __init__(self, clock: FakeClock, packets: t.Sequence[t.Union[bytes, OSError]] = (), refuse: int = 0,
                 silent: bool = False) -> None:
        self.clock, self.packets, self.refuse, self.silent = clock, list(packets), refuse, silent
        self.sent: t.List[bytes] = []
        self.answers: t.List[bytes] = []
        self.closed = False

    def send(self, data: bytes) -> None:
        self.sent.append(data)
        message = nflog.messages(data)[0]
        code = self.refuse if message.sequence == 5 else 0
        header = data[:16]
        self.answers.append(struct.pack("=IHHII", 36, nflog.NLMSG_ERROR, 0x100, message.sequence, 0)
                            + struct.pack("=i", -code) + header)

    def receive(self, timeout_s: float) -> t.Optional[bytes]:
        if self.answers and not self.silent:
            return self.answers.pop(0)
        if self.packets and len(self.sent) >= len(SENT):
            self.clock.now += 0.01
            item = self.packets.pop(0)
            if isinstance(item, OSError):
                raise item
            return item
        self.clock.now += timeout_s
        return None

    def close(self) -> None:
        self.closed = True


def test_read_group_sets_up_reads_until_the_window_ends_then_unbinds_and_closes():
    clock = FakeClock()
    channel = FakeChannel(clock, [ECHO_V4, ECHO_V6, ECHO_V4])
    reading = nflog.read_group(58, 2.0, 100, channel, clock)
    assert [p.prefix for p in reading.packets] == ["echo-drop ", "e6", "echo-drop "]
    assert (reading.overruns, reading.truncated, reading.elapsed_s) == (0, False, 2.0)
    assert [m.hex() for m in channel.sent[:6]] == SENT
    assert channel.sent[-1] == nflog.unbind_message(58) and channel.closed


def test_read_group_stops_at_max_packets():
    clock = FakeClock()
    reading = nflog.read_group(58, 60.0, 2, FakeChannel(clock, [ECHO_V4] * 5), clock)
    assert len(reading.packets) == 2 and reading.truncated and reading.elapsed_s < 1


def test_an_overrun_is_counted_not_raised():
    clock = FakeClock()
    channel = FakeChannel(clock, [ECHO_V4, OSError(errno.ENOBUFS, "No buffer space"), ECHO_V4])
    reading = nflog.read_group(58, 1.0, 10, channel, clock)
    assert (len(reading.packets), reading.overruns) == (2, 1)


def test_without_cap_net_admin_the_error_says_so_and_the_socket_is_closed():
    clock = FakeClock()
    channel = FakeChannel(clock, refuse=errno.EPERM)
    with pytest.raises(nflog.NflogError, match=r"nflog group 58 was refused \(EPERM\): it needs CAP_NET_ADMIN.*become"):
        nflog.read_group(58, 1.0, 10, channel, clock, net_admin=lambda: False)
    assert channel.closed


def test_a_group_held_by_another_reader_names_the_group_and_what_to_do():
    clock = FakeClock()
    with pytest.raises(nflog.NflogError, match="nflog group 58 is already read by another program.*another log_group"):
        nflog.read_group(58, 1.0, 10, FakeChannel(clock, refuse=errno.EPERM), clock, net_admin=lambda: True)


def test_no_answer_from_the_kernel_is_an_error_not_a_hang():
    clock = FakeClock()
    channel = FakeChannel(clock, silent=True)
    with pytest.raises(nflog.NflogError, match="did not answer"):
        nflog.read_group(58, 1.0, 10, channel, clock)
    assert channel.closed


@pytest.mark.parametrize("group", [0, 65536, "58", True])
def test_a_bad_group_is_refused_before_any_socket(group):
    with pytest.raises(PolicyError, match="log_group"):
        nflog.read_group(group, 1.0, 10, channel=t.cast(nflog.Channel, None))


def test_cap_net_admin_is_read_from_the_effective_set(tmp_path):
    status = tmp_path / "status"
    status.write_text("Name:\tx\nCapEff:\t0000000000001000\n")
    assert nflog.has_net_admin(str(status)) is True
    status.write_text("CapEff:\t0000000000000000\n")
    assert nflog.has_net_admin(str(status)) is False
    assert nflog.has_net_admin(str(tmp_path / "missing")) is None


def test_packets_logged_before_the_last_ack_are_kept_not_lost():
    class Busy(FakeChannel):
        def send(self, data: bytes) -> None:
            super().send(data)
            if nflog.messages(data)[0].sequence == 6:  # the group is bound: traffic is already flowing
                self.answers.insert(len(self.answers) - 1, ECHO_V4 + ECHO_V6)

    clock = FakeClock()
    reading = nflog.read_group(58, 1.0, 10, Busy(clock, [ECHO_V4]), clock)
    assert [p.prefix for p in reading.packets] == ["echo-drop ", "e6", "echo-drop "]
