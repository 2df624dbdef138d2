# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""iptables/ip6tables backend: render ``iptables-restore --noflush`` input, parse ``iptables-save``.

We own three user chains per family in the filter table (``NETDEVOPS-ICMP-IN``,
``-FWD``, ``-OUT``) and one jump to each from the built-in chain. Declaring
``:CHAIN - [0:0]`` in a ``--noflush`` restore flushes only that chain, and the
restore commits the table in one transaction, so foreign rules are never
touched and a killed restore changes nothing. The jump is inserted at position 1
only when it is missing; an existing jump is never moved.

The NFLOG target needs its own rule, so a logged drop is ``-j NFLOG`` + ``-j DROP``
with the same match, and a rate-limited accept is ``-m limit ... -j ACCEPT``
followed by the overflow drop; the parser folds these back into one model rule.
A ``-j LOG`` (kernel log, written by an older version) or an NFLOG line to another
group reads back as the same rule and is drift: the next apply rewrites it once.

A rule with several source or destination prefixes becomes one line per source x
destination (no ipset), each marked ``-m comment --comment "netdevops-icmp <hash>"``
with a hash of its prefixes, so the parser puts exactly those lines back together and
never merges two rules that merely sit next to each other.

The kernel counts packets and bytes for every rule by itself; ``iptables-save -c``
prints them as a ``[packets:bytes]`` prefix, which the parser reads into
``OwnChains.hits`` (never into the model, so counters are never drift).
"""
from __future__ import annotations

import hashlib
import re
import shlex
import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import hits as rule_hits
from ansible_collections.netdevops.icmp.plugins.module_utils._policy import icmp_types, names, prefixes
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.coexist import (
    ForeignChain,
    ForeignRule,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.icmp_types import IPV4, IPV6
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import (
    DEFAULT_BURST,
    DIRECTIONS,
    Policy,
    PolicyError,
    RateLimit,
    Rule,
)

DEFAULT_PREFIX = "NETDEVOPS-ICMP"
_SUFFIX = {"input": "IN", "forward": "FWD", "output": "OUT"}
BUILTIN = {"input": "INPUT", "forward": "FORWARD", "output": "OUTPUT"}
_UNIT_OUT = {"second": "sec", "minute": "min", "hour": "hour"}
_UNIT_IN = {"sec": "second", "second": "second", "min": "minute", "minute": "minute", "hour": "hour"}
_PROTO = {IPV4: "icmp", IPV6: "ipv6-icmp"}
_PROTO_IN = {"icmp": IPV4, "1": IPV4, "ipv6-icmp": IPV6, "icmpv6": IPV6, "58": IPV6}
_COUNTERS = re.compile(r"\[\d+:\d+\]")
_GROUP_RE = re.compile(r"netdevops-icmp [0-9a-f]{8}")


class IptablesParseError(PolicyError):
    """``iptables-save`` output we cannot read."""


def chain_name(direction: str, prefix: str = DEFAULT_PREFIX) -> str:
    return "%s-%s" % (names.check_chain_prefix(prefix), _SUFFIX[direction])


# --- render -------------------------------------------------------------------------------

def _address_matches(rule: Rule) -> t.List[str]:
    """``-s S -d D `` for every source x destination (one empty string for a rule without addresses)."""
    sources = ["-s %s " % net for net in rule.source] or [""]
    destinations = ["-d %s " % net for net in rule.destination] or [""]
    return [source + destination for source in sources for destination in destinations]


def group_comment(rule: Rule) -> str:
    """The mark of the lines of one rule with several prefixes: a hash of those prefixes."""
    text = "%s|%s" % (" ".join(rule.source), " ".join(rule.destination))
    return "netdevops-icmp %s" % hashlib.sha256(text.encode("ascii")).hexdigest()[:8]


def _match(rule: Rule, grouped: bool = False) -> str:
    text = "-p %s" % _PROTO[rule.family]
    if grouped:  # where iptables-save prints it: after -p, before the icmp match
        text += ' -m comment --comment "%s"' % group_comment(rule)
    if rule.icmp_type is not None:
        value = str(rule.icmp_type) if rule.code is None else "%d/%d" % (rule.icmp_type, rule.code)
        text += " -m icmp --icmp-type %s" % value if rule.family == IPV4 else " -m icmp6 --icmpv6-type %s" % value
    return text


def render_rule(rule: Rule, chain: str, log_group: int = names.DEFAULT_LOG_GROUP) -> t.List[str]:
    names.check_chain(chain)
    addresses = _address_matches(rule)
    return [line for address in addresses for line in _render_one(rule, chain, address, len(addresses) > 1, log_group)]


def _render_one(rule: Rule, chain: str, address: str, grouped: bool, log_group: int) -> t.List[str]:
    match = "-A %s %s%s" % (chain, address, _match(rule, grouped))
    lines = []
    if rule.rate is not None:
        limit = "-m limit --limit %d/%s" % (rule.rate.rate, _UNIT_OUT[rule.rate.per])
        if rule.rate.burst != DEFAULT_BURST:  # iptables-save omits the default, and so do we
            limit += " --limit-burst %d" % rule.rate.burst
        lines.append("%s %s -j ACCEPT" % (match, limit))
    elif rule.action == "accept":
        return ["%s -j ACCEPT" % match]
    if rule.log_prefix:
        lines.append('%s -j NFLOG --nflog-prefix "%s" --nflog-group %d'
                     % (match, names.check_log_prefix(rule.log_prefix), names.check_log_group(log_group)))
    lines.append("%s -j DROP" % match)
    return lines


def render_chains(policy: Policy, family: str, prefix: str = DEFAULT_PREFIX,
                  log_group: int = names.DEFAULT_LOG_GROUP) -> str:
    """The chains as ``iptables-save`` prints them (used for the diff and golden tests)."""
    lines = []
    for direction in DIRECTIONS:
        for rule in policy.chain(family, direction):
            lines.extend(render_rule(rule, chain_name(direction, prefix), log_group))
    return "".join(line + "\n" for line in lines)


def render_restore(
    want: Policy, family: str, present: t.Mapping[str, int], prefix: str = DEFAULT_PREFIX,
    log_group: int = names.DEFAULT_LOG_GROUP,
) -> t.Optional[str]:
    """``iptables-restore --noflush`` input turning the live chains into ``want``.

    ``present`` maps each of our chains that exists to the number of jumps to it from
    its built-in chain. Returns None when there is nothing to do for this family.
    """
    body: t.List[str] = []
    for direction in DIRECTIONS:
        chain = chain_name(direction, prefix)
        rules = want.chain(family, direction)
        if rules:
            body.append(":%s - [0:0]" % chain)  # declare = create or flush, nothing else
            for rule in rules:
                body.extend(render_rule(rule, chain, log_group))
            jumps = present.get(chain, 0)
            if not jumps:
                body.append("-I %s 1 -j %s" % (BUILTIN[direction], chain))
            # a duplicated jump (someone re-ran an old script) is reduced to one
            body.extend(["-D %s -j %s" % (BUILTIN[direction], chain)] * max(0, jumps - 1))
        elif chain in present:
            body.append(":%s - [0:0]" % chain)
            body.extend(["-D %s -j %s" % (BUILTIN[direction], chain)] * present[chain])
            body.append("-X %s" % chain)
    if not body:
        return None
    return "*filter\n" + "".join(line + "\n" for line in body) + "COMMIT\n"


# --- parse --------------------------------------------------------------------------------

class _Line(t.NamedTuple):
    text: str
    chain: str
    family: t.Optional[str]
    icmp_type: t.Optional[int]
    code: t.Optional[int]
    target: str
    rate: t.Optional[RateLimit]
    log_prefix: t.Optional[str]
    other: bool  # a match or option we do not write
    problem: t.Optional[str]  # why the line cannot be read at all
    any_type: bool = False  # ``--icmp-type any``: every type, but not a match we write
    source: prefixes.Prefixes = ()
    destination: prefixes.Prefixes = ()
    group: t.Optional[str] = None  # our comment on the lines of a rule with several prefixes
    counter: t.Optional[t.Tuple[int, int]] = None  # ``[packets:bytes]`` of ``iptables-save -c``
    log_group: t.Optional[int] = None  # ``--nflog-group`` of an NFLOG line


_VALUE_OPTIONS = ("-A", "-p", "-m", "--icmp-type", "--icmpv6-type", "--limit", "--limit-burst", "-j", "--log-prefix",
                  "--nflog-prefix", "--nflog-group", "-s", "-d", "--comment")
_LOG_TARGETS = {"--log-prefix": "LOG", "--nflog-prefix": "NFLOG"}  # prefix option -> its target
_ADDRESS_OPTIONS = {"-s": "source", "-d": "destination"}
_LIMIT_RE = re.compile(r"([0-9]{1,12})/(sec|second|min|minute|hour)")
_TYPE_OPTION = {IPV4: "--icmp-type", IPV6: "--icmpv6-type"}
_COUNTED_LINE = re.compile(r"\[([0-9]{1,20}):([0-9]{1,20})\] (-A .*)")


def _text(text: t.Any) -> str:
    if not isinstance(text, str):
        raise IptablesParseError("cannot read iptables-save output: expected text, got %r" % (text,))
    return text


def _filter_lines(text: str) -> t.List[str]:
    lines, inside = [], False
    for line in _text(text).splitlines():
        if line.startswith("*"):
            inside = line.strip() == "*filter"
        elif inside and line.strip() == "COMMIT":
            inside = False
        elif inside:
            lines.append(line)
    return lines


def _type_code(family: str, value: str) -> t.Tuple[int, t.Optional[int]]:
    type_text, _sep, code_text = value.partition("/")
    icmp_type = icmp_types.type_number(family, type_text)
    return icmp_type, (icmp_types.code_number(family, icmp_type, code_text) if code_text else None)


def _option(word: str, value: str, state: t.Dict[str, t.Any]) -> None:
    """Record one ``-x value`` pair of a rule; anything we do not write sets ``other``."""
    if word == "-A":
        state["chain"] = value
    elif word == "-p" and value in _PROTO_IN:
        state["family"] = _PROTO_IN[value]
    elif word == "-m" and value in ("icmp", "icmp6", "limit", "comment"):
        return
    elif word in _ADDRESS_OPTIONS and _ADDRESS_OPTIONS[word] not in state:
        state[_ADDRESS_OPTIONS[word]] = value
    elif word == "--comment" and _GROUP_RE.fullmatch(value) and "group" not in state:
        state["group"] = value
    elif word == _TYPE_OPTION.get(state.get("family", "")) and value == "any":
        state["any_type"] = True  # what iptables prints for an IPv4 type-255 match (the kernel's wildcard)
    elif word == _TYPE_OPTION.get(state.get("family", "")):
        try:
            state["icmp_type"], state["code"] = _type_code(state["family"], value)
        except icmp_types.IcmpValueError as err:
            state["problem"] = "%s %s: %s" % (word, value, err)
    elif word == "--limit":
        match = _LIMIT_RE.fullmatch(value)
        if match is None or int(match.group(1)) < 1:
            state["problem"] = "--limit %r is not N/sec, N/min or N/hour" % value
        else:
            state["rate"] = RateLimit(int(match.group(1)), _UNIT_IN[match.group(2)], DEFAULT_BURST)
    elif word == "--limit-burst":
        if state.get("rate") is None or not re.fullmatch(r"[0-9]{1,12}", value):
            state["problem"] = "--limit-burst %r without a --limit or not a number" % value
        else:
            state["rate"] = RateLimit(state["rate"].rate, state["rate"].per, int(value))
    elif word == "-j":
        state["target"] = value
    elif word in _LOG_TARGETS and state.get("target") == _LOG_TARGETS[word]:
        state["log_prefix"] = value
    elif word == "--nflog-group" and state.get("target") == "NFLOG" and re.fullmatch(r"[0-9]{1,5}", value):
        state["log_group"] = int(value)
    else:
        state["other"] = True


def _parse_line(line: str) -> _Line:
    """One ``-A`` line (``[packets:bytes] -A`` from ``-c``); never raises (the caller decides what a problem means)."""
    state: t.Dict[str, t.Any] = {"other": False, "target": "", "chain": ""}
    counted = _COUNTED_LINE.fullmatch(line)
    if counted is not None:
        line, state["counter"] = counted.group(3), (int(counted.group(1)), int(counted.group(2)))
    try:
        words = shlex.split(line)
    except ValueError as err:
        plain = line.split()
        state["chain"] = plain[1] if len(plain) > 1 and plain[0] == "-A" else ""
        words, state["problem"] = [], "cannot split it into words (%s)" % err
    index = 0
    while index < len(words):
        word = words[index]
        if word not in _VALUE_OPTIONS:
            state["other"] = True  # a flag without a value ("!") or an option we do not write
            index += 1
        elif index + 1 >= len(words):
            state["problem"] = "%s without a value" % word
            break
        else:
            _option(word, words[index + 1], state)
            index += 2
    if state.get("log_prefix") is not None and not _log_prefix_ok(state["log_prefix"]):
        state["other"] = True
    addresses = {field: _prefix(state.get("family"), state.get(field), state) for field in ("source", "destination")}
    return _Line(line, state["chain"], state.get("family"), state.get("icmp_type"), state.get("code"),
                 state["target"], state.get("rate"), state.get("log_prefix"), state["other"], state.get("problem"),
                 state.get("any_type", False), addresses["source"], addresses["destination"], state.get("group"),
                 state.get("counter"), state.get("log_group"))


def _prefix(family: t.Optional[str], value: t.Optional[str], state: t.Dict[str, t.Any]) -> prefixes.Prefixes:
    """``-s``/``-d`` as iptables-save prints it (``A/LEN``); anything else makes the line not ours."""
    if value is None:
        return ()
    try:
        network = prefixes.network(t.cast(str, family), value) if family else None
    except PolicyError:
        network = None
    if network is None or network.prefixlen == 0:
        state["other"] = True  # not an address of the rule's family, or -s 0.0.0.0/0 (we never write it)
        return ()
    return (str(network),)


def _log_prefix_ok(value: str) -> bool:
    try:
        names.check_log_prefix(value)
    except PolicyError:
        return False
    return True


def _same_match(a: _Line, b: _Line) -> bool:
    return (a.family, a.icmp_type, a.code, a.source, a.destination, a.group) == \
        (b.family, b.icmp_type, b.code, b.source, b.destination, b.group)


def _fold(lines: t.List[_Line], direction: str,
          hits: t.Optional[t.Dict[rule_hits.RuleKey, rule_hits.Hits]] = None) -> t.Tuple[t.List[Rule], t.List[str]]:
    """Our rules from the lines of one chain: each group of lines folded, then the groups of rules with
    several prefixes put back together.

    ``hits`` (optional) gets each rule's counters: its ACCEPT and DROP lines (a LOG line
    sees the same packets as the DROP after it, so it is not added), over all its prefix lines."""
    folded, unknown = _fold_lines(lines, direction)
    rules: t.List[Rule] = []
    index = 0
    while index < len(folded):
        rule, group, _lines = folded[index]
        members = [rule]
        while group is not None and index + len(members) < len(folded) and folded[index + len(members)][1] == group:
            members.append(folded[index + len(members)][0])
        joined = _join(members, group, direction)
        if joined is None:
            unknown.extend("rule %r (we did not write it)" % piece[2][0].text for piece in folded[index:index + len(members)])
        else:
            rules.append(joined)
            for piece in folded[index:index + len(members)] if hits is not None else ():
                _count_lines(t.cast(t.Dict[rule_hits.RuleKey, rule_hits.Hits], hits), joined, piece[2])
        index += len(members)
    return rules, unknown


def _count_lines(hits: t.Dict[rule_hits.RuleKey, rule_hits.Hits], rule: Rule, lines: t.Sequence[_Line]) -> None:
    for member in lines:
        if member.target not in _LOG_TARGETS.values():
            rule_hits.count(hits, rule, member.counter, member.target == "DROP")


def _join(members: t.List[Rule], group: t.Optional[str], direction: str) -> t.Optional[Rule]:
    """One rule from the one-prefix rules of its lines, if re-rendering it gives exactly those lines."""
    first = members[0]
    if group is None:
        return first
    source = prefixes.canonical(prefixes.network(first.family, net) for rule in members for net in rule.source)
    destination = prefixes.canonical(prefixes.network(first.family, net) for rule in members
                                     for net in rule.destination)
    joined = Rule(first.family, direction, first.icmp_type, first.code, first.action, first.rate, first.log_prefix,
                  source, destination)
    pieces = [Rule(joined.family, direction, joined.icmp_type, joined.code, joined.action, joined.rate,
                   joined.log_prefix, (s,) if s else (), (d,) if d else ())
              for s in joined.source or ("",) for d in joined.destination or ("",)]
    if pieces != members or group_comment(joined) != group or len(pieces) < 2:
        return None
    return joined


_Folded = t.Tuple[Rule, t.Optional[str], t.List[_Line]]


def _fold_lines(lines: t.List[_Line], direction: str) -> t.Tuple[t.List[_Folded], t.List[str]]:
    """Fold ``limit ACCEPT`` [+ ``LOG``] + ``DROP`` and ``LOG`` + ``DROP`` back into one rule each
    (with the lines each came from)."""
    rules: t.List[_Folded] = []
    unknown: t.List[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        group = [line]
        if line.target in _LOG_TARGETS.values() or (line.target == "ACCEPT" and line.rate is not None):
            for follower in lines[index + 1:index + 3]:
                if not _same_match(line, follower) or follower.rate is not None:
                    break
                group.append(follower)
                if follower.target not in _LOG_TARGETS.values():
                    break  # the DROP (or something we do not write) ends the group
        rule = _rule_of(group, direction)
        if rule is None:
            unknown.append("rule %r (we did not write it)" % line.text)
            index += 1
            continue
        rules.append((rule, line.group, list(group)))
        index += len(group)
    return rules, unknown


def _rule_of(group: t.List[_Line], direction: str) -> t.Optional[Rule]:
    """The model rule for one folded group, or None when it is not a shape we write."""
    first, targets = group[0], ["LOG" if g.target == "NFLOG" else g.target for g in group]
    if any(g.other or g.any_type or g.family is None for g in group) or (first.code is not None and first.icmp_type is None):
        return None
    log_prefix = next((g.log_prefix for g in group if g.target in _LOG_TARGETS.values()), None)
    addresses = (first.source, first.destination)
    if first.rate is not None and targets in (["ACCEPT", "DROP"], ["ACCEPT", "LOG", "DROP"]):
        return Rule(first.family, direction, first.icmp_type, first.code, "accept", first.rate, log_prefix, *addresses)
    if any(g.rate is not None for g in group):
        return None
    if targets == ["LOG", "DROP"] and log_prefix:
        return Rule(first.family, direction, first.icmp_type, first.code, "drop", None, log_prefix, *addresses)
    if targets in (["ACCEPT"], ["DROP"]):
        return Rule(first.family, direction, first.icmp_type, first.code, first.target.lower(), None, None, *addresses)
    return None


class OwnChains(t.NamedTuple):
    """What ``iptables-save`` shows of our chains for one family."""

    policy: t.Optional[Policy]  # None: none of our chains exist
    jumps: t.Dict[str, int]  # our chain -> plain jumps to it from its built-in chain
    foreign: t.List[str]  # what we did not write (rules, chains with our prefix, other jumps to ours)
    drift: t.List[str]  # our own rules reordered or duplicated: the next apply rewrites them
    hits: t.Dict[rule_hits.RuleKey, rule_hits.Hits] = {}  # rule key -> counters, from ``iptables-save -c``


def read_chains(text: str, family: str, prefix: str = DEFAULT_PREFIX,
                log_group: int = names.DEFAULT_LOG_GROUP) -> OwnChains:
    """Our chains from ``iptables-save [-c]`` (or ``ip6tables-save``) output, with what we did not write."""
    ours = {chain_name(d, prefix): d for d in DIRECTIONS}
    present: t.Dict[str, int] = {}
    foreign: t.List[str] = []
    by_direction: t.Dict[str, t.List[_Line]] = {d: [] for d in DIRECTIONS}
    for raw in _filter_lines(text):
        if raw.startswith(":"):
            name = raw[1:].split(" ")[0]
            if name in ours:
                present.setdefault(name, 0)
            elif name.startswith(prefix + "-"):
                foreign.append("chain %s (it has our prefix, but we create only %s)" % (name, ", ".join(ours)))
        elif raw.startswith(("-A", "[")):
            _sort_line(_parse_line(raw), ours, prefix, present, foreign, by_direction)
    if not present:
        return OwnChains(None, {}, foreign, [])
    rules: t.List[Rule] = []
    hits: t.Dict[rule_hits.RuleKey, rule_hits.Hits] = {}
    for direction in DIRECTIONS:
        folded, bad = _fold(by_direction[direction], direction, hits)
        rules.extend(r for r in folded if r.family == family)
        foreign.extend(bad)
        foreign.extend("rule for the other family in %s: %s" % (chain_name(direction, prefix), r.text())
                       for r in folded if r.family != family)
    policy = Policy.build(rules)
    drift = [] if list(policy.rules) == rules else ["rules out of canonical order or duplicated"]
    if any(line.target in _LOG_TARGETS.values() and (line.target, line.log_group) != ("NFLOG", log_group)
           for lines in by_direction.values() for line in lines):
        drift.append(names.LOG_GROUP_DRIFT % log_group)
    return OwnChains(policy, present, foreign, drift, hits)


def _sort_line(line: _Line, ours: t.Mapping[str, str], prefix: str, present: t.Dict[str, int],
               foreign: t.List[str], by_direction: t.Dict[str, t.List[_Line]]) -> None:
    """File one ``-A`` line: a rule of ours, a plain jump to ours, or something foreign about ours."""
    if line.chain in ours:
        if line.problem is not None:
            raise IptablesParseError("cannot read rule %r in our chain %s: %s; fix or delete it"
                                     % (line.text, line.chain, line.problem))
        by_direction[ours[line.chain]].append(line)
    elif line.target in ours and line.chain == BUILTIN[ours[line.target]] and _plain_jump(line):
        present[line.target] = present.get(line.target, 0) + 1
    elif line.target in ours or line.chain.startswith(prefix + "-"):
        where = "is in a chain with our prefix" if line.chain.startswith(prefix + "-") else "jumps to our chain"
        foreign.append("rule %r (it %s, and we did not write it)" % (line.text, where))


def _plain_jump(line: _Line) -> bool:
    return line.text.split() == ["-A", line.chain, "-j", line.target]


def parse_save(text: str, family: str, prefix: str = DEFAULT_PREFIX) -> t.Tuple[t.Optional[Policy], t.Dict[str, int], t.List[str]]:
    """Compatibility view of ``read_chains``: ``(policy or None, {chain: jumps}, foreign + drift)``."""
    own = read_chains(text, family, prefix)
    return own.policy, own.jumps, own.foreign + own.drift


def foreign_chains(text: str, family: str, prefix: str = DEFAULT_PREFIX) -> t.List[ForeignChain]:
    """Built-in filter chains up to our jump: only rules before it can drop what we accept.

    A chain policy DROP does not matter once our jump exists (our ACCEPT is final), and
    when the jump is missing the apply inserts it at position 1.
    """
    lines = _filter_lines(text)
    chains = []
    for direction in DIRECTIONS:
        builtin, ours = BUILTIN[direction], chain_name(direction, prefix)
        rules: t.List[ForeignRule] = []
        jumped = False
        for raw in lines:
            if not raw.startswith("-A %s " % builtin):
                continue
            parsed = _parse_line(raw)
            if parsed.target == ours:
                jumped = True
                break
            verdict = {"ACCEPT": "accept", "DROP": "drop", "REJECT": "drop"}.get(parsed.target, "other")
            conditional = parsed.other or parsed.rate is not None or parsed.problem is not None
            rules.append(ForeignRule(parsed.family, parsed.icmp_type, parsed.code, verdict,
                                     conditional or bool(parsed.source or parsed.destination)))
        if not jumped:
            continue  # the apply inserts our jump at position 1: nothing foreign runs before it
        # after our jump, our ACCEPT is final for what we accept: the chain policy never sees it
        chains.append(ForeignChain("%s filter chain %s" % ("iptables" if family == IPV4 else "ip6tables", builtin),
                                   direction, (family,), "accept", tuple(rules)))
    return chains


def strip_ours(text: str, prefix: str = DEFAULT_PREFIX) -> str:
    """``iptables-save`` output without comments, counters and anything about our chains."""
    names.check_chain_prefix(prefix)
    kept = []
    for line in _text(text).splitlines():
        if line.startswith("#") or prefix in line:
            continue
        kept.append(_COUNTERS.sub("[0:0]", line))
    return "\n".join(kept) + "\n"
