"""The policies behind the golden files (shared by the tests and by capture_golden.py)."""
from __future__ import annotations

import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import model, profiles

EXTRA_RULES = [
    {"family": "ipv4", "type": "echo-request", "action": "accept", "rate": "3/minute", "burst": 7,
     "log_prefix": "icmp-over: "},
    {"family": "ipv6", "direction": "output", "type": "redirect", "action": "drop", "log_prefix": "v6redir "},
    {"family": "ipv4", "type": 3, "code": "frag-needed", "action": "accept"},
    {"family": "ipv6", "direction": "forward", "type": 42, "action": "drop"},
    # nft prints code names for every type ("icmp type 42 icmp code frag-needed"): found by a real round trip
    {"family": "ipv4", "direction": "output", "type": 42, "code": 4, "action": "drop"},
    {"family": "ipv6", "direction": "forward", "type": "parameter-problem", "code": 1, "action": "drop"},
]

# source/destination prefixes: one, lists (an nft anonymous set; one iptables line per pair), adjacent
# prefixes nft merges into a range, single hosts, a logged drop and a rate limit with a prefix
PREFIX_RULES = [
    {"family": "ipv4", "type": "echo-request", "action": "accept", "source": "192.0.2.0/24"},
    {"family": "ipv4", "type": "echo-request", "action": "accept", "source": ["198.51.100.0/24", "203.0.113.0/25"]},
    {"family": "ipv4", "type": "echo-request", "action": "accept", "source": "203.0.113.200", "rate": "5/second"},
    {"family": "ipv4", "type": "echo-request", "action": "drop", "source": ["192.0.2.0/25", "198.51.100.7"],
     "destination": ["203.0.113.0/24", "203.0.113.9"], "log_prefix": "echo-pair: "},
    {"family": "ipv4", "type": "echo-request", "action": "drop"},
    {"family": "ipv4", "direction": "output", "type": "any", "action": "drop", "destination": "192.0.2.66"},
    {"family": "ipv4", "direction": "output", "type": "echo-reply", "action": "drop",
     "destination": ["192.0.2.0/24", "192.0.3.0/25"]},
    {"family": "ipv6", "type": "echo-request", "action": "accept", "source": ["2001:db8:1::/48", "2001:db8::1"]},
    {"family": "ipv6", "type": "any", "action": "accept", "source": "2001:db8:ff00::/40",
     "destination": "2001:db8::2"},
    {"family": "ipv6", "type": "echo-request", "action": "drop"},
]


def cases() -> t.Dict[str, model.Policy]:
    result = {}
    extra = [model.rule_from_dict(raw) for raw in EXTRA_RULES]
    for name in profiles.PROFILE_NAMES:
        result[name] = model.Policy.build(profiles.profile_policy(name).rules)
    result["mixed"] = profiles.extend(profiles.profile_policy("strict-host"), extra, {})
    result["mixed"] = model.Policy.build(result["mixed"].rules)
    result["prefixed"] = model.Policy.build(model.rule_from_dict(raw) for raw in PREFIX_RULES)
    return result
