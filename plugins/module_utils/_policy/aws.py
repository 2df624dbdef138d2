# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""AWS VPC security groups and network ACLs: render the policy, parse describe output.

Nothing here talks to AWS: rendering gives the EC2 API's shapes (``IpPermissions``
for AuthorizeSecurityGroupIngress/Egress, ``CreateNetworkAclEntry`` parameters)
and the data models of ``amazon.aws.ec2_security_group`` and
``amazon.aws.ec2_vpc_nacl``; parsing reads ``DescribeSecurityGroups`` and
``DescribeNetworkAcls`` JSON. ``input`` is ingress and ``output`` egress; both
filter at the instance or subnet edge, so ``forward`` rules are refused.

Security groups only allow: they hold the accept rules, and whatever they do not
list is not allowed. A chain with no rules accepts everything in the model, so it
becomes "all ICMP"; a chain that accepts by default but drops some types cannot
be written as an allow list and is refused, as is an accept that has a drop for
one of its codes inside. Several groups on one interface allow the union of
their rules, which is how ``parse_security_groups`` reads them.

Prefixes: an AWS entry has one CIDR, the remote side (``source`` of an ingress
rule, ``destination`` of an egress rule), so the other field is refused. A
permission holds a list of CIDRs; a network ACL entry one. Permissions for another
group or a managed prefix list are left out with a note: the model cannot hold them.
An allow from some prefixes does not let Path MTU Discovery messages in from the
others (the guard says so).

Network ACLs are first-match lists, numbered: our entries take numbers from
``start`` in steps of ``step``, both families in one sequence per direction, and
each chain ends with an explicit ICMP verdict (the ACL's own last rule denies).
"""
from __future__ import annotations

import json
import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import firstmatch, prefixes
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.icmp_types import FAMILIES, IPV4, IPV6
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import Policy, PolicyError, Rule

SG = "backend aws_security_group"
NACL = "backend aws_network_acl"
ANYWHERE = {IPV4: "0.0.0.0/0", IPV6: "::/0"}
PROTOCOL = {IPV4: "icmp", IPV6: "icmpv6"}
PROTOCOL_NUMBER = {IPV4: "1", IPV6: "58"}
_FAMILY_OF_PROTOCOL = {"icmp": IPV4, "1": IPV4, "icmpv6": IPV6, "58": IPV6}
_NACL_PROTOCOL = {IPV4: "icmp", IPV6: "ipv6-icmp"}  # amazon.aws.ec2_vpc_nacl's names
_DIRECTIONS = (("input", False), ("output", True))  # (direction, egress)
MAX_NACL_RULE = 32766
# The one address an AWS entry matches: the other side is the instance (or subnet) itself.
REMOTE = {"input": "source", "output": "destination"}
_REMOTE_REASON = ("an AWS entry has one CIDR, the remote side (the source of ingress, the destination of "
                  "egress); the other side is the instance or subnet itself")


def _refuse_forward(policy: Policy, what: str) -> None:
    forward = [rule.text() for rule in policy.rules if rule.direction == "forward"]
    if forward:
        shown = "; ".join(forward[:3]) + ("; and %d more" % (len(forward) - 3) if len(forward) > 3 else "")
        raise PolicyError("%s cannot express forward rules (%s): security groups and network ACLs filter traffic "
                          "entering and leaving an instance or subnet; write them as input (ingress) or output "
                          "(egress) rules" % (what, shown))


# --- security groups: render --------------------------------------------------------------

def _allowed(policy: Policy, family: str, direction: str) -> t.List[Rule]:
    """The accept rules of a chain as an allow list; refuses what an allow list cannot say."""
    rules = list(policy.chain(family, direction))
    for rule in rules:
        firstmatch.refuse_extras(rule, SG)
        firstmatch.refuse_prefixes(rule, SG, (REMOTE[direction],), _REMOTE_REASON, lists=True)
    final = next((rule for rule in rules if rule.icmp_type is None and not rule.addressed), None)
    drops = [rule for rule in rules if rule.action == "drop" and (rule.icmp_type is not None or rule.addressed)]
    if final is None or final.action == "accept":
        if drops:
            raise PolicyError(
                "%s cannot express %s %s: it accepts every other ICMP type but drops '%s', and a security group "
                "can only allow. Add a final rule dropping every other type (type: any, action: drop) as the "
                "profiles do, or use backend aws_network_acl" % (SG, family, direction, drops[0].text()))
        return [Rule(family, direction, None, None, "accept")]
    accepts = [rule for rule in rules if rule.action == "accept"]
    for drop in (drop for drop in drops if drop.addressed):
        overlapping = [a for a in accepts if a.icmp_type is None or drop.icmp_type in (None, a.icmp_type)]
        if overlapping:
            raise PolicyError("%s cannot express '%s' together with '%s': a security group can only allow, so it "
                              "cannot drop from some addresses what it allows. Use backend aws_network_acl"
                              % (SG, drop.text(), overlapping[0].text()))
    for accept in accepts:
        inner = [drop for drop in drops if drop.icmp_type == accept.icmp_type and accept.code is None]
        if inner:
            raise PolicyError("%s cannot express '%s' together with '%s': a security group cannot allow a type but "
                              "one of its codes" % (SG, accept.text(), inner[0].text()))
    return accepts


def _permissions(rule: Rule) -> t.List[t.Dict[str, t.Any]]:
    """One permission per CIDR, as amazon.aws.ec2_security_group sends a rule with a CIDR list."""
    return [_permission(rule, cidr) for cidr in _remote(rule)]


def _permission(rule: Rule, cidr: str) -> t.Dict[str, t.Any]:
    permission: t.Dict[str, t.Any] = {
        "IpProtocol": PROTOCOL[rule.family],
        "FromPort": -1 if rule.icmp_type is None else rule.icmp_type,
        "ToPort": -1 if rule.code is None else rule.code,
    }
    description = "netdevops.icmp: %s" % rule.text()
    if rule.family == IPV4:
        permission["IpRanges"] = [{"CidrIp": cidr, "Description": description}]
    else:
        permission["Ipv6Ranges"] = [{"CidrIpv6": cidr, "Description": description}]
    return permission


def _remote(rule: Rule) -> t.List[str]:
    """The CIDRs of the remote side: the rule's prefixes, or the whole family."""
    return list(getattr(rule, REMOTE[rule.direction])) or [ANYWHERE[rule.family]]


def _ansible_rule(rule: Rule) -> t.Dict[str, t.Any]:
    """One ``amazon.aws.ec2_security_group`` rule (``rules`` / ``rules_egress`` element)."""
    entry: t.Dict[str, t.Any] = {"proto": PROTOCOL[rule.family],
                                 "from_port": -1 if rule.icmp_type is None else rule.icmp_type,
                                 "to_port": -1 if rule.code is None else rule.code,
                                 "rule_desc": "netdevops.icmp: %s" % rule.text()}
    cidrs = _remote(rule)
    entry["cidr_ip" if rule.family == IPV4 else "cidr_ipv6"] = cidrs[0] if len(cidrs) == 1 else cidrs
    return entry


def render_security_group(policy: Policy) -> t.Dict[str, t.Any]:
    """IpPermissions (and IpPermissionsEgress when the policy has output rules) plus the Ansible rules."""
    _refuse_forward(policy, SG)
    result: t.Dict[str, t.Any] = {}
    for direction, egress in _DIRECTIONS:
        if not any(rule.direction == direction for rule in policy.rules):
            continue  # the group's existing rules for that direction stay as they are
        allowed = [rule for family in FAMILIES for rule in _allowed(policy, family, direction)]
        result["IpPermissionsEgress" if egress else "IpPermissions"] = [p for rule in allowed for p in _permissions(rule)]
        result["rules_egress" if egress else "rules"] = [_ansible_rule(rule) for rule in allowed]
    return result


def security_group_lines(rendered: t.Mapping[str, t.Any]) -> t.List[str]:
    """One human line per permission, for ``rendered`` and the diff."""
    lines = []
    for key, word in (("IpPermissions", "ingress"), ("IpPermissionsEgress", "egress")):
        for perm in rendered.get(key, []):
            ranges = perm.get("IpRanges") or perm.get("Ipv6Ranges")
            cidrs = ",".join(r.get("CidrIp") or r.get("CidrIpv6") for r in ranges)
            lines.append("%s allow %s type %s code %s %s %s" % (
                word, perm["IpProtocol"], perm["FromPort"], perm["ToPort"], "from" if word == "ingress" else "to",
                cidrs))
    return lines


# --- security groups: parse ---------------------------------------------------------------

def _load(text: t.Any, key: str, call: str) -> t.List[t.Mapping[str, t.Any]]:
    data = text
    if isinstance(text, str):
        try:
            data = json.loads(text)
        except ValueError as err:
            raise PolicyError("running_config is not JSON from %s: %s" % (call, err)) from err
    items = data.get(key) if isinstance(data, t.Mapping) else None
    if not isinstance(items, list) or not all(isinstance(item, t.Mapping) for item in items):
        raise PolicyError("running_config must be the JSON output of %s (a mapping with a %r list)" % (call, key))
    return items


def _permission_rules(perm: t.Mapping[str, t.Any], direction: str, notes: t.List[str]) -> t.List[Rule]:
    proto = str(perm.get("IpProtocol"))
    families = FAMILIES if proto == "-1" else ((_FAMILY_OF_PROTOCOL[proto],) if proto in _FAMILY_OF_PROTOCOL else ())
    rules = []
    for family in families:
        cidrs = [r.get("CidrIp") for r in perm.get("IpRanges") or []] if family == IPV4 else \
            [r.get("CidrIpv6") for r in perm.get("Ipv6Ranges") or []]
        others = ["group %s" % g.get("GroupId") for g in perm.get("UserIdGroupPairs") or []]
        others += ["prefix list %s" % p.get("PrefixListId") for p in perm.get("PrefixListIds") or []]
        if others:
            notes.append("left out %s %s allow of %s for %s only: the model has no groups or prefix lists"
                         % (direction, family, proto, ", ".join(str(o) for o in others)))
        if not cidrs:
            continue
        icmp_type, code = _ports(perm, proto == "-1")
        networks = () if ANYWHERE[family] in cidrs else _cidrs(family, cidrs)
        addresses = {REMOTE[direction]: networks}
        rules.append(Rule(family, direction, icmp_type, code, "accept", **addresses))
    return rules


def _cidrs(family: str, cidrs: t.Sequence[t.Any]) -> prefixes.Prefixes:
    return prefixes.canonical(prefixes.network(family, cidr, "CIDR") for cidr in cidrs)


def _ports(perm: t.Mapping[str, t.Any], all_traffic: bool) -> t.Tuple[t.Optional[int], t.Optional[int]]:
    if all_traffic:
        return None, None
    try:
        from_port, to_port = int(perm.get("FromPort", -1)), int(perm.get("ToPort", -1))
    except (TypeError, ValueError) as err:
        raise PolicyError("permission %r has a FromPort/ToPort that is not a number" % (dict(perm),)) from err
    if not -1 <= from_port <= 255 or not -1 <= to_port <= 255:
        raise PolicyError("permission %r: ICMP type and code must be -1 or 0-255" % (dict(perm),))
    return (None if from_port == -1 else from_port), (None if to_port == -1 or from_port == -1 else to_port)


def parse_security_groups(text: t.Any) -> t.Tuple[Policy, t.List[str]]:
    """``DescribeSecurityGroups`` JSON -> the ICMP the groups allow together, as a policy."""
    notes: t.List[str] = []
    allowed: t.Dict[t.Tuple[str, str], t.List[Rule]] = {}
    seen = set()
    for group in _load(text, "SecurityGroups", "DescribeSecurityGroups (aws ec2 describe-security-groups)"):
        for key, direction in (("IpPermissions", "input"), ("IpPermissionsEgress", "output")):
            if key in group:
                seen.add(direction)
            for perm in group.get(key) or []:
                for rule in _permission_rules(perm, direction, notes):
                    allowed.setdefault((rule.family, direction), []).append(rule)
    rules: t.List[Rule] = []
    for direction in sorted(seen):
        for family in FAMILIES:
            chain = _merged(allowed.get((family, direction), []))
            if any(rule.icmp_type is None and not rule.addressed for rule in chain):
                rules.append(Rule(family, direction, None, None, "accept"))
                continue
            rules.extend(_widest(chain))
            rules.append(Rule(family, direction, None, None, "drop"))
    return Policy.build(rules), notes


def _merged(chain: t.Sequence[Rule]) -> t.List[Rule]:
    """One allow per type and code: the CIDRs of every permission for it together (any address wins)."""
    by_match: t.Dict[t.Tuple[t.Optional[int], t.Optional[int]], t.List[Rule]] = {}
    for rule in chain:
        by_match.setdefault((rule.icmp_type, rule.code), []).append(rule)
    merged = []
    for group in by_match.values():
        first, field = group[0], REMOTE[group[0].direction]
        networks: prefixes.Prefixes = ()
        if all(getattr(rule, field) for rule in group):
            networks = prefixes.canonical(prefixes.network(first.family, net) for rule in group
                                          for net in getattr(rule, field))
        merged.append(Rule(first.family, first.direction, first.icmp_type, first.code, "accept",
                           **{field: networks}))
    return merged


def _widest(chain: t.Sequence[Rule]) -> t.List[Rule]:
    """Allows of one chain without those a type-wide allow for every address already covers."""
    whole_types = {rule.icmp_type for rule in chain if rule.code is None and not rule.addressed}
    return [rule for rule in chain if rule.code is None or rule.icmp_type not in whole_types]


# --- network ACLs -------------------------------------------------------------------------

def render_network_acl(policy: Policy, start: int = 100, step: int = 10) -> t.Dict[str, t.Any]:
    """CreateNetworkAclEntry parameters (without NetworkAclId) and amazon.aws.ec2_vpc_nacl lists."""
    _refuse_forward(policy, NACL)
    entries: t.List[t.Dict[str, t.Any]] = []
    ansible: t.Dict[str, t.List[t.List[t.Any]]] = {"ingress": [], "egress": []}
    for direction, egress in _DIRECTIONS:
        number = start
        for family in FAMILIES:
            if not policy.chain(family, direction):
                continue
            for rule in firstmatch.ordered(policy, family, direction, NACL, (REMOTE[direction],), _REMOTE_REASON):
                if number > MAX_NACL_RULE:
                    raise PolicyError("%s: rule numbers from %d in steps of %d pass %d; use a smaller start or step"
                                      % (NACL, start, step, MAX_NACL_RULE))
                entries.append(_nacl_entry(rule, number, egress))
                ansible["egress" if egress else "ingress"].append(_nacl_list(rule, number))
                number += step
    return {"entries": entries, "ec2_vpc_nacl": ansible}


def _icmp_type_code(rule: Rule) -> t.Dict[str, int]:
    return {"Type": -1 if rule.icmp_type is None else rule.icmp_type, "Code": -1 if rule.code is None else rule.code}


def _nacl_entry(rule: Rule, number: int, egress: bool) -> t.Dict[str, t.Any]:
    entry: t.Dict[str, t.Any] = {"RuleNumber": number, "Protocol": PROTOCOL_NUMBER[rule.family],
                                 "RuleAction": "allow" if rule.action == "accept" else "deny", "Egress": egress,
                                 "IcmpTypeCode": _icmp_type_code(rule)}
    entry["CidrBlock" if rule.family == IPV4 else "Ipv6CidrBlock"] = _remote(rule)[0]
    return entry


def _nacl_list(rule: Rule, number: int) -> t.List[t.Any]:
    code = _icmp_type_code(rule)
    return [number, _NACL_PROTOCOL[rule.family], "allow" if rule.action == "accept" else "deny",
            _remote(rule)[0], code["Type"], code["Code"]]


def network_acl_lines(rendered: t.Mapping[str, t.Any]) -> t.List[str]:
    return ["%s %d %s %s type %d code %d %s" % (
        "egress" if e["Egress"] else "ingress", e["RuleNumber"], e["RuleAction"],
        "icmp" if e["Protocol"] == "1" else "icmpv6", e["IcmpTypeCode"]["Type"], e["IcmpTypeCode"]["Code"],
        e.get("CidrBlock") or e.get("Ipv6CidrBlock")) for e in rendered["entries"]]


def parse_network_acls(text: t.Any) -> t.Tuple[Policy, t.List[str]]:
    """``DescribeNetworkAcls`` JSON of one ACL -> policy (first match, the ACL's own final deny included)."""
    acls = _load(text, "NetworkAcls", "DescribeNetworkAcls (aws ec2 describe-network-acls)")
    if len(acls) != 1:
        raise PolicyError("running_config holds %d network ACLs; pass the output for exactly one "
                          "(--network-acl-ids acl-...)" % len(acls))
    raw = acls[0].get("Entries")
    if not isinstance(raw, list) or not all(isinstance(entry, t.Mapping) for entry in raw):
        raise PolicyError("network ACL %s has no Entries list" % acls[0].get("NetworkAclId"))
    entries: t.List[firstmatch.Entry] = []
    for entry in sorted(raw, key=_rule_number):
        entries.extend(_nacl_entries(entry))
    rules, notes = firstmatch.to_rules(entries)
    return Policy.build(rules), notes


def _rule_number(entry: t.Mapping[str, t.Any]) -> int:
    try:
        return int(entry.get("RuleNumber"))  # type: ignore[arg-type]
    except (TypeError, ValueError) as err:
        raise PolicyError("network ACL entry %r has no numeric RuleNumber" % (dict(entry),)) from err


def _nacl_entries(entry: t.Mapping[str, t.Any]) -> t.List[firstmatch.Entry]:
    number = _rule_number(entry)
    protocol = str(entry.get("Protocol"))
    if protocol not in ("-1", "1", "58"):
        return []  # tcp, udp, ...: not ICMP
    family = IPV6 if entry.get("Ipv6CidrBlock") is not None else IPV4
    cidr = entry.get("Ipv6CidrBlock") or entry.get("CidrBlock")
    implicit = number > MAX_NACL_RULE  # the ACL's own final deny: 32767 (IPv4), 32768 (IPv6), shown as "*"
    label = "rule %s" % ("*" if implicit else number)
    try:
        networks = () if cidr == ANYWHERE[family] else _cidrs(family, [cidr])
    except PolicyError as err:
        raise PolicyError("network ACL %s: %s" % (label, err)) from err
    if protocol != "-1" and PROTOCOL_NUMBER[family] != protocol:
        raise PolicyError("network ACL %s: protocol %s with a %s range is not ICMP of that family"
                          % (label, protocol, family))
    action = {"allow": "accept", "deny": "drop"}.get(str(entry.get("RuleAction")))
    if action is None:
        raise PolicyError("network ACL %s: RuleAction %r is not allow or deny" % (label, entry.get("RuleAction")))
    direction = "output" if entry.get("Egress") else "input"
    icmp_type, code = None, None
    if protocol != "-1":
        type_code = entry.get("IcmpTypeCode") or {}
        icmp_type, code = _ports({"FromPort": type_code.get("Type", -1), "ToPort": type_code.get("Code", -1)}, False)
    addresses = {REMOTE[direction]: networks}
    return [firstmatch.Entry(family, direction, icmp_type, code, action, label, implicit, **addresses)]
