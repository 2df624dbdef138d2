# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""The kernel's ICMP counters and ICMP sysctls, read from ``/proc``.

Parsing is pure (text in, dicts out). Reading goes through ``ProcReader`` so tests can
feed captured files. Every missing file or key becomes ``None``: older kernels lack
``OutRateLimitGlobal``/``OutRateLimitHost`` and containers may hide ``/proc/sys`` or
``/proc/net/snmp6`` (IPv6 disabled).
"""
from __future__ import annotations

import re
import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.scheduler import Clock

Counters = t.Dict[str, t.Optional[int]]
JsonDict = t.Dict[str, t.Any]

# Names for the per-type counters (IcmpMsg: InTypeN / Icmp6InTypeN). Unknown types are
# reported as "type-N" so nothing the kernel counts is dropped.
ICMP4_TYPE_NAMES = {
    0: "echo-reply",
    3: "destination-unreachable",
    4: "source-quench",
    5: "redirect",
    8: "echo-request",
    9: "router-advertisement",
    10: "router-solicitation",
    11: "time-exceeded",
    12: "parameter-problem",
    13: "timestamp-request",
    14: "timestamp-reply",
    17: "address-mask-request",
    18: "address-mask-reply",
    42: "extended-echo-request",
    43: "extended-echo-reply",
}
ICMP6_TYPE_NAMES = {
    1: "destination-unreachable",
    2: "packet-too-big",
    3: "time-exceeded",
    4: "parameter-problem",
    128: "echo-request",
    129: "echo-reply",
    130: "mld-listener-query",
    131: "mld-listener-report",
    132: "mld-listener-done",
    133: "router-solicitation",
    134: "router-advertisement",
    135: "neighbor-solicitation",
    136: "neighbor-advertisement",
    137: "redirect",
    143: "mld2-listener-report",
    160: "extended-echo-request",
    161: "extended-echo-reply",
}

# The summary counters every family reports (null when the kernel lacks them; IPv6 has
# no global rate-limit counter at all).
SUMMARY_KEYS = (
    "in_msgs",
    "in_errors",
    "in_csum_errors",
    "out_msgs",
    "out_errors",
    "out_rate_limit_global",
    "out_rate_limit_host",
)

# (result key, path under /proc/sys). Per-interface settings are read for "all" and
# "default"; the effective value on an interface combines them per ip-sysctl.rst.
SYSCTLS_V4 = (
    ("icmp_echo_ignore_all", "net/ipv4/icmp_echo_ignore_all"),
    ("icmp_echo_ignore_broadcasts", "net/ipv4/icmp_echo_ignore_broadcasts"),
    ("icmp_ratelimit", "net/ipv4/icmp_ratelimit"),
    ("icmp_ratemask", "net/ipv4/icmp_ratemask"),
    ("icmp_msgs_per_sec", "net/ipv4/icmp_msgs_per_sec"),
    ("icmp_msgs_burst", "net/ipv4/icmp_msgs_burst"),
    ("icmp_ignore_bogus_error_responses", "net/ipv4/icmp_ignore_bogus_error_responses"),
    ("ip_no_pmtu_disc", "net/ipv4/ip_no_pmtu_disc"),
    ("tcp_mtu_probing", "net/ipv4/tcp_mtu_probing"),
)
PER_IFACE_V4 = ("accept_redirects", "send_redirects")
SYSCTLS_V6 = (
    ("ratelimit", "net/ipv6/icmp/ratelimit"),
    ("ratemask", "net/ipv6/icmp/ratemask"),
    ("echo_ignore_all", "net/ipv6/icmp/echo_ignore_all"),
)
PER_IFACE_V6 = ("accept_ra", "accept_redirects")

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


class ProcReader(t.Protocol):
    def read_text(self, path: str) -> t.Optional[str]:
        """Return the text of ``path`` (relative to /proc), or None when unreadable."""


class FileProcReader:
    """Reads real files under ``root`` (``/proc``)."""

    def __init__(self, root: str = "/proc") -> None:
        self._root = root.rstrip("/")

    def read_text(self, path: str) -> t.Optional[str]:
        try:
            with open("%s/%s" % (self._root, path), encoding="ascii", errors="replace") as handle:
                return handle.read()
        except OSError:
            return None


def snake(name: str) -> str:
    """``OutRateLimitGlobal`` -> ``out_rate_limit_global``."""
    return _CAMEL.sub("_", name).lower()


def _to_int(text: str) -> t.Optional[int]:
    try:
        return int(text)
    except ValueError:
        return None


def parse_snmp_table(text: str) -> t.Dict[str, t.Dict[str, t.Optional[int]]]:
    """Parse /proc/net/snmp: pairs of ``Proto: Names...`` / ``Proto: values...`` lines."""
    tables: t.Dict[str, t.Dict[str, t.Optional[int]]] = {}
    pending: t.Dict[str, t.List[str]] = {}
    for line in text.splitlines():
        proto, sep, rest = line.partition(":")
        if not sep:
            continue
        fields = rest.split()
        if proto in pending:
            names = pending.pop(proto)
            tables.setdefault(proto, {}).update(
                (name, _to_int(value)) for name, value in zip(names, fields)
            )
        else:
            pending[proto] = fields
    return tables


def parse_snmp6(text: str) -> t.Dict[str, t.Optional[int]]:
    """Parse /proc/net/snmp6: one ``Name value`` per line."""
    values: t.Dict[str, t.Optional[int]] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 2:
            values[fields[0]] = _to_int(fields[1])
    return values


def _by_type(
    raw: t.Mapping[str, t.Optional[int]], prefix: str, names: t.Mapping[int, str]
) -> t.Dict[str, t.Dict[str, t.Optional[int]]]:
    result: t.Dict[str, t.Dict[str, t.Optional[int]]] = {"in": {}, "out": {}}
    pattern = re.compile(r"^%s(In|Out)Type(\d+)$" % re.escape(prefix))
    for key, value in raw.items():
        match = pattern.match(key)
        if match:
            icmp_type = int(match.group(2))
            label = names.get(icmp_type, "type-%d" % icmp_type)
            result[match.group(1).lower()][label] = value
    return result


def _family(counters: Counters, by_type: t.Mapping[str, t.Mapping[str, t.Optional[int]]]) -> JsonDict:
    family: JsonDict = {key: counters.get(key) for key in SUMMARY_KEYS}
    family["available"] = bool(counters)
    family["counters"] = dict(counters)
    family["in_by_type"] = dict(by_type["in"])
    family["out_by_type"] = dict(by_type["out"])
    return family


def icmp4_counters(snmp_text: t.Optional[str]) -> JsonDict:
    """The IPv4 ICMP counters from the text of /proc/net/snmp (None: file missing)."""
    tables = parse_snmp_table(snmp_text or "")
    counters = {snake(key): value for key, value in tables.get("Icmp", {}).items()}
    msg = {"Icmp%s" % key: value for key, value in tables.get("IcmpMsg", {}).items()}
    return _family(counters, _by_type(msg, "Icmp", ICMP4_TYPE_NAMES))


def icmp6_counters(snmp6_text: t.Optional[str]) -> JsonDict:
    """The ICMPv6 counters from the text of /proc/net/snmp6 (None: file missing)."""
    raw = parse_snmp6(snmp6_text or "")
    counters = {
        snake(key[len("Icmp6"):]): value
        for key, value in raw.items()
        if key.startswith("Icmp6") and not re.match(r"^Icmp6(In|Out)Type\d+$", key)
    }
    return _family(counters, _by_type(raw, "Icmp6", ICMP6_TYPE_NAMES))


def parse_sysctl(text: t.Optional[str]) -> t.Union[None, int, str, t.List[int]]:
    """A sysctl value: int, list of ints for multi-value keys, raw string otherwise."""
    if text is None:
        return None
    fields = text.split()
    if not fields:
        return None
    numbers = [_to_int(field) for field in fields]
    if any(number is None for number in numbers):
        return text.strip()
    if len(numbers) == 1:
        return numbers[0]
    return [int(number) for number in numbers if number is not None]


def read_sysctls(reader: ProcReader) -> JsonDict:
    """The ICMP-related sysctls of this network namespace; unreadable ones are None."""

    def get(path: str) -> t.Any:
        return parse_sysctl(reader.read_text("sys/" + path))

    ipv4: JsonDict = {key: get(path) for key, path in SYSCTLS_V4}
    ipv4["ping_group_range"] = get("net/ipv4/ping_group_range")
    for key in PER_IFACE_V4:
        ipv4[key] = {scope: get("net/ipv4/conf/%s/%s" % (scope, key)) for scope in ("all", "default")}
    ipv6: JsonDict = {key: get(path) for key, path in SYSCTLS_V6}
    for key in PER_IFACE_V6:
        ipv6[key] = {scope: get("net/ipv6/conf/%s/%s" % (scope, key)) for scope in ("all", "default")}
    return {"ipv4": ipv4, "ipv6": ipv6}


def read_counters(reader: ProcReader) -> JsonDict:
    return {
        "ipv4": icmp4_counters(reader.read_text("net/snmp")),
        "ipv6": icmp6_counters(reader.read_text("net/snmp6")),
    }


def _diff_map(before: t.Mapping[str, t.Any], after: t.Mapping[str, t.Any]) -> t.Dict[str, t.Optional[int]]:
    result: t.Dict[str, t.Optional[int]] = {}
    for key in sorted(set(before) | set(after)):
        # A per-type counter that first appears during the interval started at zero.
        old, new = before.get(key, 0), after.get(key)
        result[key] = None if old is None or new is None else new - old
    return result


def counter_delta(before: JsonDict, after: JsonDict) -> JsonDict:
    """Per family: the change of every summary, raw and per-type counter."""
    delta: JsonDict = {}
    for family in ("ipv4", "ipv6"):
        old, new = before[family], after[family]
        entry: JsonDict = {}
        for key in SUMMARY_KEYS:
            a, b = old.get(key), new.get(key)
            entry[key] = None if a is None or b is None else b - a
        entry["counters"] = _diff_map(old["counters"], new["counters"])
        entry["in_by_type"] = _diff_map(old["in_by_type"], new["in_by_type"])
        entry["out_by_type"] = _diff_map(old["out_by_type"], new["out_by_type"])
        delta[family] = entry
    return delta


def _rate_tree(node: t.Any, seconds: float) -> t.Any:
    if isinstance(node, dict):
        return {key: _rate_tree(value, seconds) for key, value in node.items()}
    if node is None or seconds <= 0:
        return None
    return round(node / seconds, 3)


def counter_rates(delta: JsonDict, seconds: float) -> JsonDict:
    """The delta divided by the measured interval, per second, rounded to 1/1000."""
    result: t.Dict[str, t.Any] = _rate_tree(delta, seconds)
    return result


def collect(reader: ProcReader, clock: Clock, interval_s: t.Optional[float] = None) -> JsonDict:
    """Counters and sysctls; with ``interval_s`` also ``delta`` and ``rate_per_s``.

    The interval is measured with the clock (not assumed), so the rates stay right when
    the process is descheduled.
    """
    first = read_counters(reader)
    result: JsonDict = {"sysctls": read_sysctls(reader), "delta": None, "rate_per_s": None,
                        "interval_s": None}
    if interval_s:
        start_ns = clock.monotonic_ns()
        clock.sleep(interval_s)
        last = read_counters(reader)
        elapsed = (clock.monotonic_ns() - start_ns) / 1e9
        delta = counter_delta(first, last)
        result.update(
            delta=delta,
            rate_per_s=counter_rates(delta, elapsed),
            interval_s=round(elapsed, 3),
        )
        first = last
    result.update(first)
    return result
