"""ICMP counters and sysctls parsed from /proc content captured on this machine and in a lab.

Fixtures (``fixtures/path/``):
- ``host_snmp.txt`` / ``host_snmp6.txt``: the host namespace of the dev VM (kernel 6.18).
- ``router_snmp.txt`` / ``router_snmp6.txt``: a lab router after ``traceroute -q 10`` through
  it, v4 and v6 (time-exceeded sent, some suppressed by the ICMP rate limit).
- ``router_snmp_pre6.0.txt``: the router capture with the ``OutRateLimitGlobal`` /
  ``OutRateLimitHost`` columns removed, as kernels before 6.0 print it.
- ``host_sysctls.json``: the ICMP sysctls of the host, path -> file text.
"""
from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp import stats
from tests.unit.fakes.clock import FakeClock

FIXTURES = Path(__file__).parent / "fixtures" / "path"


def text(name: str) -> str:
    return (FIXTURES / name).read_text()


class DictReader:
    """Serves /proc paths from a dict; each read of a list value pops its next element."""

    def __init__(self, files: t.Mapping[str, t.Any]) -> None:
        self.files = dict(files)
        self.reads: t.List[str] = []

    def read_text(self, path: str) -> t.Optional[str]:
        self.reads.append(path)
        value = self.files.get(path)
        if isinstance(value, list):
            return value.pop(0) if len(value) > 1 else value[0]
        return value


def sysctl_files() -> t.Dict[str, str]:
    captured = json.loads(text("host_sysctls.json"))
    return {"sys/" + path: value for path, value in captured.items()}


def test_snake_case_of_kernel_names() -> None:
    assert stats.snake("OutRateLimitGlobal") == "out_rate_limit_global"
    assert stats.snake("InCsumErrors") == "in_csum_errors"
    assert stats.snake("InMLDv2Reports") == "in_mldv2_reports"


def test_router_v4_counters_and_types() -> None:
    v4 = stats.icmp4_counters(text("router_snmp.txt"))
    assert v4["available"] is True
    assert v4["out_msgs"] == 9
    assert v4["out_rate_limit_host"] == 4
    assert v4["out_rate_limit_global"] == 0
    assert v4["in_msgs"] == 0
    assert v4["counters"]["out_time_excds"] == 8
    assert v4["counters"]["out_dest_unreachs"] == 1
    assert v4["out_by_type"] == {"time-exceeded": 8, "destination-unreachable": 1}
    assert v4["in_by_type"] == {}


def test_router_v6_counters_and_types() -> None:
    v6 = stats.icmp6_counters(text("router_snmp6.txt"))
    assert v6["available"] is True
    assert v6["out_msgs"] == 25
    assert v6["out_rate_limit_host"] == 4
    # snmp6 has no global rate-limit counter: null, not missing and not zero.
    assert "out_rate_limit_global" in v6 and v6["out_rate_limit_global"] is None
    assert v6["out_by_type"]["time-exceeded"] == 6
    assert v6["out_by_type"]["mld2-listener-report"] == 11
    assert v6["in_by_type"]["neighbor-solicitation"] == 3
    # Per-type lines go to the by-type maps, not into the raw counter map; Ip6 lines are ignored.
    assert not any(key.startswith("in_type") or key.startswith("ip6") for key in v6["counters"])
    assert v6["counters"]["out_time_excds"] == 6


def test_host_capture_has_every_summary_key() -> None:
    v4 = stats.icmp4_counters(text("host_snmp.txt"))
    v6 = stats.icmp6_counters(text("host_snmp6.txt"))
    for family in (v4, v6):
        for key in stats.SUMMARY_KEYS:
            assert key in family
    assert all(v4[key] is not None for key in stats.SUMMARY_KEYS)
    assert v4["in_by_type"] == {"destination-unreachable": 1}


def test_kernel_without_rate_limit_counters_gives_null() -> None:
    v4 = stats.icmp4_counters(text("router_snmp_pre6.0.txt"))
    assert v4["out_rate_limit_host"] is None
    assert v4["out_rate_limit_global"] is None
    assert v4["out_msgs"] == 9
    assert v4["counters"]["out_time_excds"] == 8


@pytest.mark.parametrize("content", [None, "", "garbage without colons\n\x00\x01"])
def test_missing_or_garbage_file_gives_nulls(content: t.Optional[str]) -> None:
    for family in (stats.icmp4_counters(content), stats.icmp6_counters(content)):
        assert family["available"] is False
        assert all(family[key] is None for key in stats.SUMMARY_KEYS)
        assert family["in_by_type"] == {} and family["out_by_type"] == {}


def test_non_numeric_value_is_null_not_error() -> None:
    v4 = stats.icmp4_counters("Icmp: InMsgs OutMsgs\nIcmp: 5 x\n")
    assert v4["in_msgs"] == 5
    assert v4["out_msgs"] is None


def test_sysctls_from_capture() -> None:
    sysctls = stats.read_sysctls(DictReader(sysctl_files()))
    v4, v6 = sysctls["ipv4"], sysctls["ipv6"]
    assert v4["icmp_ratelimit"] == 1000
    assert v4["icmp_ratemask"] == 6168
    assert v4["icmp_msgs_per_sec"] == 1000
    assert v4["icmp_msgs_burst"] == 50
    assert v4["ping_group_range"] == [1, 0]
    assert v4["accept_redirects"] == {"all": 1, "default": 1}
    assert v4["send_redirects"] == {"all": 1, "default": 1}
    assert v4["ip_no_pmtu_disc"] == 0 and v4["tcp_mtu_probing"] == 0
    assert v6["ratelimit"] == 100
    assert v6["ratemask"] == "0-1,3-127"
    assert v6["accept_ra"] == {"all": 1, "default": 1}


def test_sysctls_hidden_in_container_are_null() -> None:
    files = sysctl_files()
    del files["sys/net/ipv4/icmp_msgs_burst"]
    files = {k: v for k, v in files.items() if not k.startswith("sys/net/ipv6")}
    sysctls = stats.read_sysctls(DictReader(files))
    assert sysctls["ipv4"]["icmp_msgs_burst"] is None
    assert sysctls["ipv4"]["icmp_ratelimit"] == 1000
    assert sysctls["ipv6"]["ratelimit"] is None
    assert sysctls["ipv6"]["accept_ra"] == {"all": None, "default": None}


def test_parse_sysctl_shapes() -> None:
    assert stats.parse_sysctl("0\t2147483647\n") == [0, 2147483647]
    assert stats.parse_sysctl("  \n") is None
    assert stats.parse_sysctl(None) is None
    assert stats.parse_sysctl("-1\n") == -1


def test_collect_once_reads_counters_and_sysctls_without_sleeping() -> None:
    files = sysctl_files()
    files.update({"net/snmp": text("router_snmp.txt"), "net/snmp6": text("router_snmp6.txt")})
    clock = FakeClock()
    result = stats.collect(DictReader(files), clock)
    assert result["delta"] is None and result["rate_per_s"] is None and result["interval_s"] is None
    assert result["ipv4"]["out_rate_limit_host"] == 4
    assert result["sysctls"]["ipv4"]["icmp_ratelimit"] == 1000
    assert clock.now_ns == FakeClock().now_ns


def _bumped(snmp: str, extra_echo: int) -> str:
    """The router capture after ``extra_echo`` more echo requests came in and were answered."""
    lines = snmp.splitlines()
    out = []
    for index, line in enumerate(lines):
        if line.startswith("Icmp: ") and index and lines[index - 1].startswith("Icmp: "):
            names = lines[index - 1].split()[1:]
            values = [int(v) for v in line.split()[1:]]
            for name in ("InMsgs", "InEchos", "OutMsgs", "OutEchoReps"):
                values[names.index(name)] += extra_echo
            line = "Icmp: " + " ".join(str(v) for v in values)
        elif line.startswith("IcmpMsg: ") and index and lines[index - 1].startswith("IcmpMsg: "):
            line = line + " %d %d" % (extra_echo, extra_echo)
        elif line.startswith("IcmpMsg: "):
            line = line + " InType8 OutType0"
        out.append(line)
    return "\n".join(out) + "\n"


def test_interval_gives_deltas_and_rates_over_measured_time() -> None:
    before = text("router_snmp.txt")
    after = _bumped(before, 10)
    files: t.Dict[str, t.Any] = sysctl_files()
    files.update({"net/snmp": [before, after], "net/snmp6": [text("router_snmp6.txt")]})
    clock = FakeClock()
    result = stats.collect(DictReader(files), clock, interval_s=2.0)
    assert result["interval_s"] == 2.0
    delta, rate = result["delta"]["ipv4"], result["rate_per_s"]["ipv4"]
    assert delta["in_msgs"] == 10 and delta["out_msgs"] == 10
    assert delta["out_rate_limit_host"] == 0
    assert delta["in_by_type"] == {"echo-request": 10}
    assert delta["out_by_type"] == {"echo-reply": 10, "time-exceeded": 0, "destination-unreachable": 0}
    assert rate["in_msgs"] == 5.0
    assert rate["in_by_type"]["echo-request"] == 5.0
    # The returned counters are the second reading.
    assert result["ipv4"]["in_by_type"]["echo-request"] == 10
    assert result["delta"]["ipv6"]["out_msgs"] == 0
    assert result["delta"]["ipv6"]["out_rate_limit_global"] is None


def test_delta_of_missing_file_is_null() -> None:
    files: t.Dict[str, t.Any] = {"net/snmp": [text("router_snmp.txt"), None]}
    result = stats.collect(DictReader(files), FakeClock(), interval_s=1.0)
    assert result["delta"]["ipv4"]["in_msgs"] is None
    assert result["rate_per_s"]["ipv4"]["in_msgs"] is None
    assert result["ipv4"]["available"] is False


def test_file_reader_reads_real_proc_and_tolerates_missing(tmp_path: Path) -> None:
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "snmp").write_text(text("router_snmp.txt"))
    reader = stats.FileProcReader(str(tmp_path))
    assert reader.read_text("net/snmp") == text("router_snmp.txt")
    assert reader.read_text("net/snmp6") is None
