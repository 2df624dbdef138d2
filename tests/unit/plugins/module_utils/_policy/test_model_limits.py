"""Rate and burst ranges both backends keep, conflicting user duplicates, and the guard's floor."""
from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import model, profiles
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import PolicyError, rule_from_dict
from ansible_collections.netdevops.icmp.plugins.modules import policy as policy_module

GOLDEN = Path(__file__).parent / "golden"
_SAVE_UNITS = {"sec": "second", "min": "minute", "hour": "hour", "day": "day"}


def _real_rates():
    """(written, what iptables-save printed) from a real iptables-restore in a namespace."""
    for line in (GOLDEN / "iptables-limit-rates.txt").read_text().splitlines():
        written, saved = line.split()
        (rate, unit), (saved_rate, saved_unit) = written.split("/"), saved.split("/")
        yield (int(rate), _SAVE_UNITS[unit]), (int(saved_rate), _SAVE_UNITS[saved_unit])


def test_iptables_rate_matches_what_the_real_iptables_save_printed():
    samples = list(_real_rates())
    assert len(samples) > 400 and any(written != saved for written, saved in samples)
    for written, saved in samples:
        assert model.iptables_rate(*written) == saved, written


@pytest.mark.parametrize("text,burst", [("10000/second", 10000), ("61/minute", 1), ("1/hour", 10000),
                                        ("59/minute", 5), ("3333/second", 7)])
def test_rates_and_bursts_both_backends_keep(text, burst):
    limit = model.parse_rate(text, burst)
    assert (limit.rate, limit.burst) == (int(text.split("/")[0]), burst)


@pytest.mark.parametrize("text,message", [
    ("10001/second", "rate '10001/second' is too fast: iptables keeps at most 10000/second"),
    ("600001/minute", "at most 600000/minute"),
    ("36000001/hour", "at most 36000000/hour"),
    ("4294967297/second", "too fast"),
    ("60/minute", "rate '60/minute' is stored by iptables as 1/second.*write '1/second'"),
    ("9999/second", "stored by iptables as 10000/second"),
    ("3600/hour", "stored by iptables as 1/second"),
    ("110/second", "stored by iptables as 111/second"),
    ("10\n/second", "does not parse"),
    ("10/second\n", "does not parse"),
])
def test_rates_refused(text, message):
    with pytest.raises(PolicyError, match=message):
        model.parse_rate(text)


@pytest.mark.parametrize("burst", [10001, 4294967297, 0, -1, "4294967297", "5\n", 2.5, True])
def test_bursts_refused_naming_the_limit(burst):
    with pytest.raises(PolicyError, match=r"burst .* is not a whole number 1-10000 \(iptables keeps at most 10000"):
        model.parse_rate("1/second", burst)


def test_burst_from_a_string():
    assert model.parse_rate("1/second", "10000").burst == 10000


ECHO_ACCEPT = {"family": "ipv4", "type": 8, "action": "accept"}
ECHO_DROP = {"family": "ipv4", "type": "echo-request", "action": "drop"}
OTHER = {"family": "ipv6", "type": 128, "action": "accept"}


def _want(rules, state="merged", profile=None):
    return policy_module.build_want({"state": state, "config": {"rules": rules, "profile": profile}})


def test_conflicting_duplicates_are_refused_naming_both_rules():
    with pytest.raises(PolicyError) as err:
        _want([OTHER, ECHO_ACCEPT, OTHER, OTHER, ECHO_DROP])
    assert str(err.value) == ("rule 2 and rule 5 both match ipv4 input type echo-request but differ "
                              "('ipv4 input type echo-request accept' and 'ipv4 input type echo-request drop'): "
                              "keep one of them")


@pytest.mark.parametrize("first,second", [
    (ECHO_ACCEPT, dict(ECHO_ACCEPT, rate="5/second")),
    (dict(ECHO_ACCEPT, rate="5/second"), dict(ECHO_ACCEPT, rate="5/second", burst=6)),
    (ECHO_DROP, dict(ECHO_DROP, log_prefix="echo ")),
])
def test_duplicates_differing_in_rate_burst_or_log_conflict(first, second):
    with pytest.raises(PolicyError, match="rule 1 and rule 2 both match ipv4 input type echo-request"):
        _want([first, second])


def test_identical_duplicates_are_folded():
    assert _want([ECHO_ACCEPT, OTHER, dict(ECHO_ACCEPT, type="echo-request")]) == _want([ECHO_ACCEPT, OTHER])
    assert model.fold_duplicates([rule_from_dict(ECHO_DROP)] * 3) == [rule_from_dict(ECHO_DROP)]


def test_same_type_other_direction_or_code_is_no_duplicate():
    rules = [ECHO_ACCEPT, dict(ECHO_DROP, direction="output"),
             {"family": "ipv4", "type": 3, "action": "accept"}, {"family": "ipv4", "type": 3, "code": 1, "action": "drop"}]
    assert len(_want(rules).rules) == 4


def test_user_rules_still_override_the_profile():
    want = _want([{"family": "ipv4", "type": 8, "action": "drop"}], profile="rfc4890-host")
    assert model.effective_action(want.chain("ipv4", "input"), 8, 0).action == "drop"


def test_deleted_matches_by_key_so_differing_duplicates_are_fine():
    assert len(_want([ECHO_ACCEPT, ECHO_DROP], state="deleted").rules) == 1


@pytest.mark.parametrize("raw,floor_hit", [
    ({"family": "ipv6", "type": "packet-too-big", "action": "accept", "rate": "1/hour"}, True),
    ({"family": "ipv4", "type": 3, "code": 4, "action": "accept", "rate": "9/second"}, True),
    ({"family": "ipv4", "type": 3, "action": "accept", "rate": "599/minute"}, True),
    ({"family": "ipv6", "type": "nd-neighbor-solicit", "action": "accept", "rate": "1/second"}, True),
    ({"family": "ipv6", "direction": "output", "type": 136, "action": "accept", "rate": "1000/hour"}, True),
    ({"family": "ipv6", "type": "any", "action": "accept", "rate": "5/second"}, True),
    ({"family": "ipv4", "type": 3, "code": 4, "action": "accept", "rate": "10/second"}, False),
    ({"family": "ipv6", "type": 2, "action": "accept", "rate": "601/minute"}, False),
    ({"family": "ipv6", "type": 135, "action": "accept", "rate": "20/second"}, False),
    ({"family": "ipv4", "type": 8, "action": "accept", "rate": "1/hour"}, False),  # echo is not must-pass
    ({"family": "ipv6", "direction": "forward", "type": 135, "action": "accept", "rate": "1/hour"}, False),
])
def test_a_rate_limited_accept_below_the_floor_is_unsafe(raw, floor_hit):
    policy = model.Policy.build([rule_from_dict(raw)])
    if not floor_hit:
        model.check_safe(policy, allow_unsafe=False)
        return
    with pytest.raises(PolicyError, match="refusing an unsafe ICMP policy: it rate-limits .* below the floor of "
                                          "10/second, which drops the rest") as err:
        model.check_safe(policy, allow_unsafe=False)
    assert "allow_unsafe: true" in str(err.value) and rule_from_dict(raw).text() in str(err.value)
    model.check_safe(policy, allow_unsafe=True)


def test_profiles_stay_above_the_floor():
    for name in profiles.PROFILE_NAMES:
        assert model.unsafe_findings(profiles.profile_policy(name)) == []
