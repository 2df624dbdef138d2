# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Named starting points for an ICMP policy, and how user rules extend them.

Every profile is an allow-list (``type any ... drop`` at the end of each chain it
touches) with a reason for each accepted type:

- RFC 792 / RFC 1191 (IPv4): destination unreachable (3) carries port/host
  unreachable and, as code 4, the next-hop MTU Path MTU Discovery needs; time
  exceeded (11) makes traceroute and loop detection work; parameter problem (12)
  reports broken headers; echo (0/8) is the basic reachability check.
- RFC 4890 4.4.1 (IPv6, to the host): destination unreachable (1), packet too big
  (2, RFC 8201 PMTUD), time exceeded (3), parameter problem (4), echo (128/129),
  MLD (130-132, 143, multicast listeners; needed for ND's solicited-node groups on
  snooping switches), ND (133-137, RFC 4861: IPv6 does not work without it),
  inverse ND (141/142), SEND certification path (148/149), multicast router
  discovery (151-153).
- RFC 4890 4.3.1 (IPv6, transit): 1, 2, 3, 4 and echo; nothing link-local.
- Deprecated types are dropped by the final rule: source quench (4, RFC 6633),
  information/address-mask (15-18, RFC 6918), router discovery (9/10) on hosts.
"""
from __future__ import annotations

import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._policy.icmp_types import IPV4, IPV6
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import (
    Policy,
    PolicyError,
    RateLimit,
    Rule,
)

_V4_HOST_ACCEPT = (0, 3, 8, 11, 12)
_V6_HOST_ACCEPT = (1, 2, 3, 4, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 141, 142, 143,
                   148, 149, 151, 152, 153)
_V4_TRANSIT_ACCEPT = (0, 3, 8, 11, 12)
_V6_TRANSIT_ACCEPT = (1, 2, 3, 4, 128, 129)
_STRICT_ECHO = RateLimit(5, "second", 10)


def _accept(family: str, direction: str, types: t.Iterable[int]) -> t.List[Rule]:
    return [Rule(family, direction, number, None, "accept") for number in types]


def _drop_rest(family: str, direction: str) -> Rule:
    return Rule(family, direction, None, None, "drop")


def _host(direction: str = "input") -> t.List[Rule]:
    return (_accept(IPV4, direction, _V4_HOST_ACCEPT) + [_drop_rest(IPV4, direction)]
            + _accept(IPV6, direction, _V6_HOST_ACCEPT) + [_drop_rest(IPV6, direction)])


def _router() -> t.List[Rule]:
    return (_host() + _accept(IPV4, "forward", _V4_TRANSIT_ACCEPT) + [_drop_rest(IPV4, "forward")]
            + _accept(IPV6, "forward", _V6_TRANSIT_ACCEPT) + [_drop_rest(IPV6, "forward")])


def _strict() -> t.List[Rule]:
    rules = [r for r in _host() if r.icmp_type not in (8, 128)]
    rules += [Rule(IPV4, "input", 8, None, "accept", _STRICT_ECHO),
              Rule(IPV6, "input", 128, None, "accept", _STRICT_ECHO)]
    # Explicit drops document intent (they are also covered by the final drop):
    # timestamp (13/14) leaks the clock and Linux answers it by default; redirect (5)
    # lets anyone on the link reroute the host; source quench (4) is deprecated (RFC 6633).
    rules += [Rule(IPV4, "input", number, None, "drop") for number in (4, 5, 13, 14)]
    return rules


# Redirects are refused by the kernel instead of the firewall for IPv6 (nd-redirect is
# part of ND and stays open); broadcast echo is a smurf amplifier.
_STRICT_SYSCTLS = {
    "icmp_echo_ignore_broadcasts": 1,
    "icmp_ignore_bogus_error_responses": 1,
    "accept_redirects": 0,
    "ipv6_accept_redirects": 0,
}

PROFILES: t.Dict[str, t.Callable[[], t.List[Rule]]] = {
    "rfc4890-host": _host,
    "rfc4890-router": _router,
    "strict-host": _strict,
}
PROFILE_SYSCTLS: t.Dict[str, t.Dict[str, int]] = {"strict-host": _STRICT_SYSCTLS}
PROFILE_NAMES = tuple(sorted(PROFILES))


def profile_policy(name: t.Optional[str]) -> Policy:
    """The policy of a named profile; ``None`` gives the empty policy."""
    if name is None:
        return Policy()
    if name not in PROFILES:
        raise PolicyError("unknown profile %r; use one of: %s" % (name, ", ".join(PROFILE_NAMES)))
    return Policy.build(PROFILES[name](), PROFILE_SYSCTLS.get(name, {}))


def extend(base: Policy, rules: t.Iterable[Rule], sysctls: t.Mapping[str, int]) -> Policy:
    """User rules on top of a profile: same key replaces the profile's rule, new keys add."""
    merged_sysctls = base.sysctl_map()
    merged_sysctls.update(sysctls)
    return Policy.build(list(base.rules) + list(rules), merged_sysctls)
