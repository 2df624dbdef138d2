"""Sysctl values are checked against each key's kernel range before anything is written.

The ranges were measured on Linux 6.x in a throw-away namespace (see sysctl.RANGES);
the cases below are the values the kernel refused there (or that it takes but only
as "non-zero", which we refuse so the intent is plain).
"""
from __future__ import annotations

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import plan, sysctl
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import Policy, PolicyError

BOOLEANS = sorted(set(sysctl.SYSCTLS) - set(sysctl.RANGES))


@pytest.mark.parametrize("key", BOOLEANS)
@pytest.mark.parametrize("value", [2, 5, -1, 255, 256, "2", 2147483648])
def test_switches_take_only_0_or_1(key, value):
    with pytest.raises(PolicyError) as err:
        sysctl.validate({key: value})
    message = str(err.value)
    assert "sysctl %s=%r is out of range" % (key, value) in message
    assert "takes 0 (off) or 1 (on)" in message and sysctl.SYSCTLS[key][0] in message


@pytest.mark.parametrize("key", BOOLEANS)
@pytest.mark.parametrize("value,number", [(0, 0), (1, 1), (True, 1), (False, 0), ("1", 1), (" 0 ", 0)])
def test_switches_accept_0_and_1(key, value, number):
    assert sysctl.validate({key: value}) == {key: number}


@pytest.mark.parametrize("key", ["icmp_ratelimit", "ipv6_icmp_ratelimit"])
def test_ratelimits_are_non_negative_ints(key):
    assert sysctl.validate({key: 0, }) == {key: 0}
    assert sysctl.validate({key: 2147483647}) == {key: 2147483647}
    for bad in (-1, 2147483648, "1e3", 1.5, None, "ten"):
        with pytest.raises(PolicyError, match="takes a whole number 0-2147483647"):
            sysctl.validate({key: bad})


def test_ratemask_is_a_mask_of_the_19_icmp_types():
    assert sysctl.validate({"icmp_ratemask": 6168}) == {"icmp_ratemask": 6168}  # the kernel default
    assert sysctl.validate({"icmp_ratemask": 524287}) == {"icmp_ratemask": 524287}
    for bad in (-1, 524288, 2147483647):
        with pytest.raises(PolicyError, match="icmp_ratemask takes a whole number 0-524287"):
            sysctl.validate({"icmp_ratemask": bad})


def test_one_bad_value_refuses_the_whole_set():
    """The half-apply of issue 11: accept_redirects written, then echo_ignore_all failed."""
    with pytest.raises(PolicyError, match="icmp_echo_ignore_all=5"):
        sysctl.validate({"accept_redirects": 0, "icmp_echo_ignore_all": 5})


def test_sysctls_must_be_a_mapping():
    with pytest.raises(PolicyError, match="sysctls must be a mapping"):
        sysctl.validate(["icmp_ratelimit"])  # type: ignore[arg-type]


def test_every_key_has_a_range():
    for key in sysctl.SYSCTLS:
        lowest, highest = sysctl.value_range(key)
        assert 0 <= lowest < highest <= 2147483647


@pytest.mark.parametrize("want, have", [(1001, 1004), (1001, 1010), (1001, 1003), (1, 4), (1, 10), (1000, 1000), (0, 0)])
def test_a_ratelimit_read_back_in_kernel_ticks_holds(want, have):
    # HZ=250: 1001 ms -> 251 jiffies -> 1004 ms; HZ=100 -> 1010; HZ=300 -> 301 jiffies -> 1003.
    assert sysctl.holds("icmp_ratelimit", want, have)
    assert sysctl.holds("ipv6_icmp_ratelimit", want, have)


@pytest.mark.parametrize("want, have", [(1001, 1000), (1000, 1004), (1001, 1008), (1000, None), (5, 0)])
def test_a_ratelimit_that_no_tick_explains_is_a_change(want, have):
    assert not sysctl.holds("icmp_ratelimit", want, have)


def test_other_sysctls_compare_exactly():
    assert sysctl.holds("accept_redirects", 0, 0)
    assert not sysctl.holds("accept_redirects", 0, 1)
    assert not sysctl.holds("icmp_ratemask", 6168, 6169)


def test_a_plan_does_not_rewrite_a_ratelimit_the_kernel_rounded():
    want = Policy.build([], sysctls={"icmp_ratelimit": 1001, "accept_redirects": 0})
    assert plan.sysctl_writes("merged", want, {"icmp_ratelimit": 1004, "accept_redirects": 1}) == {"accept_redirects": 0}
