"""Statistics, expectations, matching and resolution: pure functions."""
from __future__ import annotations

import ipaddress
import re

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import matching
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.errors import ParameterError, TransportError
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.models import (
    TARGET_RESULT_KEYS,
    IcmpMessage,
    QuotedDatagram,
    TargetResult,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.ping import evaluate, rtt_stats
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.resolve import parse_literal, resolve_targets
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.transport import check_source_family

TOKEN = b"12345678"


def test_rtt_stats_match_iputils_mdev() -> None:
    stats = rtt_stats([1000000, 2000000, 6000000])
    assert stats == {"min": 1.0, "avg": 3.0, "max": 6.0, "mdev": 2.16}
    assert rtt_stats([]) is None
    assert rtt_stats([1500]) == {"min": 0.002, "avg": 0.002, "max": 0.002, "mdev": 0.0}


def result(target: str = "192.0.2.1", sent: int = 3, received: int = 3, avg: float = 1.0, **kw: object) -> TargetResult:
    base: TargetResult = dict(
        target=target, address=target, family="ipv4", status="reachable" if received else "unreachable",
        sent=sent, received=received, loss_pct=round(100.0 * (sent - received) / sent, 3),
        rtt_ms={"min": avg, "avg": avg, "max": avg, "mdev": 0.0} if received else None, duplicates=0, late=0,
        reply_ttl=64, reachable=received > 0, reply_address=target if received else None, errors=[], error=None,
    )
    base.update(kw)
    assert tuple(base) == TARGET_RESULT_KEYS
    return base


def test_evaluate_names_each_failing_target_with_numbers() -> None:
    results = [
        result("192.0.2.1"),
        result("192.0.2.2", received=2),
        result("192.0.2.3", received=0, errors=[{"type": 3, "code": 1, "name": "host_unreachable", "address": "198.51.100.1", "count": 3}]),
        result("192.0.2.4", avg=12.5),
    ]
    assert evaluate(results, "reachable", max_loss_pct=10, max_rtt_ms=10) == [
        "192.0.2.2: loss 33.333% > max_loss_pct 10 (sent 3, received 2, loss 33.333%)",
        "192.0.2.3 is unreachable (sent 3, received 0, loss 100%; 3 x host_unreachable from 198.51.100.1)",
        "192.0.2.4: average rtt 12.5 ms > max_rtt_ms 10",
    ]
    assert evaluate(results[:1], "reachable", 0, 1.0) == []


def test_evaluate_unreachable_expectation() -> None:
    assert evaluate([result(received=0)], "unreachable") == []
    assert evaluate([result("192.0.2.7", received=1)], "unreachable") == [
        "192.0.2.7 answered but was expected to be unreachable (sent 3, received 1, loss 66.667%)"
    ]


def test_evaluate_reports_resolution_errors() -> None:
    bad = result("nope.invalid", sent=1, received=0, address=None, error="nope.invalid does not resolve")
    assert evaluate([bad]) == ["nope.invalid: nope.invalid does not resolve"]


@pytest.mark.parametrize(
    "ident, seq, token, source, expected",
    [
        (7, 5, TOKEN, "192.0.2.1", matching.REPLY),
        (8, 5, TOKEN, "192.0.2.1", matching.FOREIGN),
        (7, 6, TOKEN, "192.0.2.1", matching.FOREIGN),
        (7, 5, b"87654321", "192.0.2.1", matching.FOREIGN),
        (7, 5, TOKEN, "192.0.2.99", matching.WRONG_SOURCE),
    ],
)
def test_classify_reply(ident: int, seq: int, token: bytes, source: str, expected: str) -> None:
    assert matching.classify_reply(ident, seq, token, 5, source, 7, TOKEN, "192.0.2.1") == expected


def test_classify_reply_unknown_probe() -> None:
    assert matching.classify_reply(7, 5, TOKEN, 5, "192.0.2.1", 7, TOKEN, None) == matching.FOREIGN


def error_message(ident: int = 7, seq: int = 5, payload: bytes = b"", dst: str = "192.0.2.1") -> IcmpMessage:
    original = QuotedDatagram(family=4, src="192.0.2.100", dst=dst, protocol=1, ttl=1, icmp_type=8,
                              icmp_code=0, ident=ident, seq=seq, payload=payload)
    return IcmpMessage(family=4, icmp_type=11, code=0, name="ttl_exceeded", checksum=0, original=original)


def test_error_probe_through_quoted_datagram() -> None:
    index = {("192.0.2.1", 5): 5}
    assert matching.error_probe(error_message(), 7, TOKEN, index) == 5  # 8 quoted bytes only
    assert matching.error_probe(error_message(payload=TOKEN + b"\0\0\0\x05"), 7, TOKEN, index) == 5
    assert matching.error_probe(error_message(payload=b"othertok\0\0\0\x05"), 7, TOKEN, index) is None
    assert matching.error_probe(error_message(ident=8), 7, TOKEN, index) is None
    assert matching.error_probe(error_message(dst="192.0.2.2"), 7, TOKEN, index) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("192.0.2.1", (4, "192.0.2.1")),
        (" 192.0.2.1 ", (4, "192.0.2.1")),
        ("2001:DB8::0:1", (6, "2001:db8::1")),
        ("[2001:db8::1]", (6, "2001:db8::1")),
        ("fe80::1%eth0", (6, "fe80::1%eth0")),
        ("host.example", None),
        ("host.example.", None),
        ("1e100.net", None),
        ("_sip._udp.example", None),
        # Python 3.13 writes IPv4-mapped addresses with the dotted quad, older ones in hex
        ("::ffff:192.0.2.1", (6, str(ipaddress.IPv6Address("::ffff:192.0.2.1")))),
        ("fe80::1%3", (6, "fe80::1%3")),
        ("fe80::1%vlan.100", (6, "fe80::1%vlan.100")),
    ],
)
def test_parse_literal(text: str, expected: object) -> None:
    assert parse_literal(text) == expected


IPV4 = "not a valid IPv4 address"
IPV6 = "not a valid IPv6 address"
NAME = "not an IP address and not a valid host name"


@pytest.mark.parametrize(
    "value, message",
    [
        # inet_aton shorthands that getaddrinfo would accept as other addresses
        ("1.2.3", IPV4), ("127.1", IPV4), ("0x7f000001", IPV4), ("2130706433", IPV4), ("0x7f.1", IPV4),
        ("192.0.2.01", IPV4), ("010.0.0.1", IPV4), ("192.0.2.256", IPV4), ("999.1.1.1", IPV4),
        ("1.2.3.4.5", IPV4), ("192.0.2.1.", IPV4), ("１.2.3.4", IPV4),
        ("::gg", IPV6), ("2001:db8::1::2", IPV6), ("1:2:3:4:5:6:7:8:9", IPV6), ("[2001:db8::1", IPV6),
        ("192.0.2.1:80", IPV6),
        ("fe80::1%", "the zone '' is not an interface name"), ("fe80::1%eth0/1", "the zone 'eth0/1'"),
        ("fe80::1%a-very-long-interface", "is not an interface name"),
        ("host name", NAME), ("-bad.example", NAME), ("a..example", NAME), ("bücher.example", NAME),
        ("x" * 64 + ".example", NAME), ("a." * 127 + "example", NAME), ("host;rm -rf", NAME),
        ("", "an empty target"), ("   ", "an empty target"),
        (None, "a null, not a string"), (["192.0.2.1"], "a list, not a string"), (5, "a number, not a string"),
        (True, "a boolean, not a string"), ({"a": 1}, "a mapping, not a string"),
    ],
)
def test_bad_targets_are_refused_before_any_lookup(value: object, message: str) -> None:
    calls = []

    def lookup(name: str, family: int) -> list:
        calls.append(name)
        return [(4, "192.0.2.9")]

    with pytest.raises(ParameterError, match="^invalid targets .*" + re.escape(message)):
        resolve_targets(["good.example", value], "auto", lookup)  # type: ignore[list-item]
    assert calls == []  # the good name before it was not looked up either


def test_resolve_once_per_name_and_family_filter() -> None:
    calls = []

    def lookup(name: str, family: int) -> list:
        calls.append((name, family))
        return [(6, "2001:db8::5")] if name == "six.example" else []

    resolved = resolve_targets(["six.example", "six.example", "192.0.2.1", "none.example"], "ipv6", lookup)
    assert calls == [("six.example", 6), ("none.example", 6)]
    assert [(r.address, r.family, r.error) for r in resolved] == [
        ("2001:db8::5", 6, None),
        ("2001:db8::5", 6, None),
        ("192.0.2.1", 4, "192.0.2.1 is an IPv4 address but family is ipv6"),
        (None, None, "none.example does not resolve to an IPv6 address"),
    ]


@pytest.mark.parametrize(
    "source, family, message",
    [
        ("::1", 4, "source '::1' is an IPv6 address and cannot send the IPv4 probes: give an IPv4 source"),
        ("127.0.0.1", 6, "source '127.0.0.1' is an IPv4 address and cannot send the IPv6 probes"),
        ("gw.example", 4, "source 'gw.example' is not an IP address"),
    ],
)
def test_source_of_the_other_family_is_named(source: str, family: int, message: str) -> None:
    with pytest.raises(TransportError, match=re.escape(message)):
        check_source_family(source, family)
    check_source_family("fe80::1%eth0", 6)
