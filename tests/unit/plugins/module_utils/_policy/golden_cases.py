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


def cases() -> t.Dict[str, model.Policy]:
    result = {}
    extra = [model.rule_from_dict(raw) for raw in EXTRA_RULES]
    for name in profiles.PROFILE_NAMES:
        result[name] = model.Policy.build(profiles.profile_policy(name).rules)
    result["mixed"] = profiles.extend(profiles.profile_policy("strict-host"), extra, {})
    result["mixed"] = model.Policy.build(result["mixed"].rules)
    return result
