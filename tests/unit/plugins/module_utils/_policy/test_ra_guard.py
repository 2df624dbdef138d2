# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An RA guard on the host: router advertisements accepted from the router's link-local address only."""
from __future__ import annotations

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import model, nft, profiles
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.names import PolicyError

ROUTER_LL = "fe80::a8c1:abff:fe00:1"


def rule(**raw):
    raw.setdefault("family", "ipv6")
    raw.setdefault("type", "router-advertisement")
    return model.rule_from_dict(raw)


def guard(source=ROUTER_LL, **accept):
    return model.Policy.build([rule(source=source, action="accept", **accept), rule(action="drop")])


def test_an_accept_from_the_routers_link_local_then_a_drop_is_an_ra_guard_and_safe():
    policy = guard()
    assert [r.text() for r in policy.rules] == [
        "ipv6 input type nd-router-advert from %s/128 accept" % ROUTER_LL,
        "ipv6 input type nd-router-advert drop",
    ]
    assert model.ra_guard(policy.chain("ipv6", "input"))
    assert model.unsafe_findings(policy) == []
    model.check_safe(policy, allow_unsafe=False)


def test_the_guard_on_top_of_a_profile_is_safe_and_keeps_the_routers_ra_first():
    guard_rules = [rule(source=ROUTER_LL, action="accept"), rule(action="drop")]
    policy = profiles.extend(profiles.profile_policy("rfc4890-host"), guard_rules, {})
    assert model.unsafe_findings(policy) == []
    chain = [r.text() for r in policy.chain("ipv6", "input") if r.icmp_type == 134]
    assert chain == ["ipv6 input type nd-router-advert from %s/128 accept" % ROUTER_LL,
                     "ipv6 input type nd-router-advert drop"]


def test_dropping_every_ra_is_still_refused():
    with pytest.raises(PolicyError, match="drops ipv6 type 134 code 0 .*ipv6 input rule 'ipv6 input type nd-router-advert"
                                          " drop'"):
        model.check_safe(model.Policy.build([rule(action="drop")]), allow_unsafe=False)


def test_an_accept_from_a_global_address_keeps_no_router_and_says_how_to_write_the_guard():
    findings = model.unsafe_findings(guard("2001:db8:1::1"))
    assert len(findings) == 1
    assert findings[0].startswith("drops ipv6 type 134 code 0 from every other address")
    assert "the accept from 2001:db8:1::1/128 keeps no router: router advertisements come from the router's " \
           "link-local address, RFC 4861 6.1.2; accept them from its fe80:: address/128" in findings[0]


def test_a_guard_whose_accept_is_rate_limited_below_the_floor_is_no_guard():
    findings = model.unsafe_findings(guard(rate="1/second"))
    assert any(f.startswith("rate-limits ipv6 type 134 code 0 from %s/128 below the floor" % ROUTER_LL) for f in findings)
    assert any(f.startswith("drops ipv6 type 134 code 0 from every other address") for f in findings)


def test_the_guard_covers_router_advertisements_only():
    policy = model.Policy.build([rule(source=ROUTER_LL, action="accept"), rule(type="any", action="drop")])
    findings = model.unsafe_findings(policy)
    assert not any("type 134" in f for f in findings)
    assert any("type 135" in f for f in findings), "neighbour solicitations dropped by 'any' are still refused"


def test_an_output_drop_of_ras_is_not_guarded():
    policy = model.Policy.build([rule(direction="output", source=ROUTER_LL, action="accept"),
                                 rule(direction="output", action="drop")])
    assert any("ipv6 output" in f for f in model.unsafe_findings(policy))


def test_the_guard_renders_to_nft_with_the_accept_first():
    script = nft.render_table(guard())
    assert "ip6 saddr %s/128 icmpv6 type nd-router-advert counter accept" % ROUTER_LL in script
    assert script.index("saddr %s" % ROUTER_LL) < script.index("icmpv6 type nd-router-advert counter drop")
