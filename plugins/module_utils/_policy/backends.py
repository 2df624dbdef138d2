# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""The two backends as read / steps / validate / apply over a ``CommandRunner``.

``read`` gathers the live state with one machine-readable listing; ``steps`` is
the pure part (what to run to go from the live state to ``want``); ``apply``
validates every step first (``nft -c``, ``iptables-restore --test``) and only
then runs them, so a bad script never reaches the kernel.

``capture`` takes the raw text of what we own (``nft list table inet X``; our
chains' lines and the jumps to them from ``iptables-save``) for the snapshot, and
``raw_steps`` turns such a capture back into steps that restore it byte for byte,
whatever it held (a forced change may have replaced foreign content).
"""
from __future__ import annotations

import re
import shutil
import typing as t
from dataclasses import dataclass, field

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import coexist, hits, iptables, names, nft
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.icmp_types import FAMILIES, IPV4, IPV6
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import DIRECTIONS, Policy, PolicyError
from ansible_collections.netdevops.icmp.plugins.module_utils._runner import CommandError, CommandRunner

BACKENDS = ("nftables", "iptables")
_COUNTERS = re.compile(r"\[\d+:\d+\]")
PACKAGES = {"nft": "nftables", "iptables-save": "iptables", "iptables-restore": "iptables",
            "ip6tables-save": "iptables", "ip6tables-restore": "iptables"}


@dataclass(frozen=True)
class Step:
    argv: t.Tuple[str, ...]
    stdin: str
    check_argv: t.Tuple[str, ...]

    def lines(self) -> t.List[str]:
        return [" ".join(self.argv)] + self.stdin.splitlines()


@dataclass
class Live:
    policy: t.Optional[Policy]  # None: our table/chains do not exist
    unknown: t.List[str] = field(default_factory=list)  # what our table/chains hold that we did not write
    foreign: t.List[coexist.ForeignChain] = field(default_factory=list)
    foreign_text: str = ""  # everything not ours, normalised: must never change
    jumps: t.Dict[str, t.Dict[str, int]] = field(default_factory=dict)  # iptables: family -> chain -> jumps
    raw: t.Dict[str, str] = field(default_factory=dict)  # iptables: family -> our lines (nft: see capture)
    drift: t.List[str] = field(default_factory=list)  # our own rules reordered or duplicated: rewritten
    counters: t.Dict[hits.RuleKey, hits.Hits] = field(default_factory=dict)  # nft: hit counters read with the rules

    @property
    def rules(self) -> Policy:
        return self.policy or Policy()


class MissingBinary(PolicyError):
    pass


def require(binaries: t.Iterable[str], which: t.Callable[[str], t.Optional[str]] = shutil.which) -> None:
    for binary in binaries:
        if which(binary) is None:
            raise MissingBinary(
                "%s was not found on the host: install the Debian package '%s' (apt-get install %s) "
                "or choose the other backend" % (binary, PACKAGES[binary], PACKAGES[binary]))


class NftBackend:
    name = "nftables"
    binaries = ("nft",)

    def __init__(self, runner: CommandRunner, table: str = nft.DEFAULT_TABLE,
                 log_group: int = names.DEFAULT_LOG_GROUP) -> None:
        self.runner, self.table, self.log_group = runner, table, log_group

    def read(self) -> Live:
        text = self.runner.run(["nft", "-j", "list", "ruleset"]).stdout
        own = nft.read_table(text, self.table, self.log_group)
        return Live(own.policy, list(own.foreign), nft.foreign_chains(text, self.table), nft.strip_table(text, self.table),
                    drift=list(own.drift), counters=dict(own.hits))

    def hit_rows(self, live: Live) -> t.List[t.Dict[str, t.Any]]:
        """Our rules with their hit counters (``hits.rows``): ``nft -j`` listed them with the rules."""
        return hits.rows(live.policy, live.counters)

    def capture(self, live: Live) -> t.Dict[str, str]:
        """``{"nftables": text of nft list table inet X}`` (counter values left out), or ``{}`` when the table
        does not exist."""
        if live.policy is None:
            return {}
        return {self.name: nft.without_counts(self.runner.run(["nft", "list", "table", "inet", self.table]).stdout)}

    def raw_steps(self, raw: t.Mapping[str, str], live: Live, live_raw: t.Mapping[str, str]) -> t.List[Step]:
        """Steps that make our table exactly ``raw`` again (none when it already is)."""
        if raw.get(self.name, "") == live_raw.get(self.name, ""):
            return []
        script = "table inet %s\ndelete table inet %s\n%s" % (self.table, self.table, raw.get(self.name, ""))
        return [Step(("nft", "-f", "-"), script, ("nft", "-c", "-f", "-"))]

    def steps(self, live: Live, want: Policy) -> t.List[Step]:
        if live.policy is None and not want.rules:
            return []  # nothing to delete
        if live.policy is not None and live.policy.rules == want.rules and want.rules and not (live.unknown or live.drift):
            return []  # in sync (an empty table left behind is removed by the script below)
        script = nft.render_script(want, self.table, self.log_group)
        return [Step(("nft", "-f", "-"), script, ("nft", "-c", "-f", "-"))]

    def render_text(self, policy: Policy) -> str:
        return nft.render_table(policy, self.table, self.log_group)


class IptablesBackend:
    name = "iptables"
    binaries = ("iptables-save", "iptables-restore", "ip6tables-save", "ip6tables-restore")
    _TOOLS = {IPV4: "iptables", IPV6: "ip6tables"}

    def __init__(self, runner: CommandRunner, prefix: str = iptables.DEFAULT_PREFIX,
                 log_group: int = names.DEFAULT_LOG_GROUP) -> None:
        self.runner, self.prefix, self.log_group = runner, prefix, log_group

    def read(self) -> Live:
        rules, unknown, foreign, texts, jumps, drift = [], [], [], [], {}, []
        raw: t.Dict[str, str] = {}
        found = False
        for family in FAMILIES:
            text = self.runner.run([self._TOOLS[family] + "-save", "-t", "filter"]).stdout
            own = iptables.read_chains(text, family, self.prefix, self.log_group)
            found = found or own.policy is not None
            rules.extend(own.policy.rules if own.policy else ())
            unknown.extend(own.foreign)
            drift.extend(own.drift)
            jumps[family] = own.jumps
            foreign.extend(iptables.foreign_chains(text, family, self.prefix))
            texts.append(iptables.strip_ours(text, self.prefix))
            raw[family] = "".join(line + "\n" for line in our_lines(text, self.prefix))
        live_policy = Policy.build(rules) if found else None
        return Live(live_policy, unknown, foreign, "".join(texts), jumps, {k: v for k, v in raw.items() if v}, drift)

    def hit_rows(self, live: Live) -> t.List[t.Dict[str, t.Any]]:
        """Our rules with their hit counters (``hits.rows``), from ``iptables-save -c`` per family.

        A read of its own (``read`` lists without ``-c``, so snapshots never hold counters);
        ``live`` is not needed here."""
        rows: t.List[t.Dict[str, t.Any]] = []
        for family in FAMILIES:
            own = iptables.read_chains(self.runner.run([self._TOOLS[family] + "-save", "-c", "-t", "filter"]).stdout,
                                       family, self.prefix)
            rows.extend(hits.rows(own.policy, own.hits))
        return rows

    def capture(self, live: Live) -> t.Dict[str, str]:
        """Per family, our chain declarations, their rules and the jumps to them, as iptables-save prints them."""
        return dict(live.raw)

    def raw_steps(self, raw: t.Mapping[str, str], live: Live, live_raw: t.Mapping[str, str]) -> t.List[Step]:
        steps = []
        for family in FAMILIES:
            want, have = raw.get(family, ""), live_raw.get(family, "")
            if want == have:
                continue
            tool = self._TOOLS[family] + "-restore"
            text = _restore_lines(want.splitlines(), have.splitlines(), self.prefix)
            steps.append(Step((tool, "--noflush"), text, (tool, "--noflush", "--test")))
        return steps

    def steps(self, live: Live, want: Policy) -> t.List[Step]:
        steps = []
        for family in FAMILIES:
            present = live.jumps.get(family, {})
            have = Policy.build(r for r in live.rules.rules if r.family == family)
            mine = Policy.build(r for r in want.rules if r.family == family)
            in_sync = have.rules == mine.rules and not (live.unknown or live.drift) and all(
                present.get(iptables.chain_name(d, self.prefix)) == 1 for d in {r.direction for r in mine.rules}
            ) and set(present) == {iptables.chain_name(r.direction, self.prefix) for r in mine.rules}
            if in_sync:
                continue
            text = iptables.render_restore(want, family, present, self.prefix, self.log_group)
            if text:
                tool = self._TOOLS[family] + "-restore"
                steps.append(Step((tool, "--noflush"), text, (tool, "--noflush", "--test")))
        return steps

    def render_text(self, policy: Policy) -> str:
        return "".join(iptables.render_chains(policy, family, self.prefix, self.log_group) for family in FAMILIES)


Backend = t.Union[NftBackend, IptablesBackend]


def make_backend(name: str, runner: CommandRunner, table: str, chain_prefix: str,
                 which: t.Callable[[str], t.Optional[str]] = shutil.which,
                 log_group: int = names.DEFAULT_LOG_GROUP) -> Backend:
    """``auto`` prefers nftables when ``nft`` exists, else iptables; a missing binary is an error."""
    if name == "auto":
        name = "nftables" if which("nft") else "iptables"
    if name == "nftables":
        require(NftBackend.binaries, which)
        return NftBackend(runner, table, log_group)
    if name == "iptables":
        require(IptablesBackend.binaries, which)
        return IptablesBackend(runner, chain_prefix, log_group)
    raise PolicyError("backend %r is not one of: auto, %s" % (name, ", ".join(BACKENDS)))


def read_hit_rows(backend: Backend) -> t.List[t.Dict[str, t.Any]]:
    """Our rules with their hit counters now (``hits.rows``): one reading for ``stats``."""
    return backend.hit_rows(backend.read())


def validate_steps(runner: CommandRunner, steps: t.Sequence[Step]) -> None:
    """Dry-run every step (``nft -c``, ``--test``); a rejection changes nothing."""
    for step in steps:
        try:
            runner.run(step.check_argv, stdin=step.stdin)
        except CommandError as err:
            raise PolicyError("the rendered ruleset was rejected by %s, nothing was changed: %s"
                              % (step.check_argv[0], err)) from err


def run_steps(runner: CommandRunner, steps: t.Sequence[Step]) -> None:
    for step in steps:
        runner.run(step.argv, stdin=step.stdin)


def apply_steps(runner: CommandRunner, steps: t.Sequence[Step]) -> None:
    """Validate every step, then run them; a validation failure changes nothing."""
    validate_steps(runner, steps)
    run_steps(runner, steps)


# --- what we own, raw ------------------------------------------------------------------------

def our_lines(text: str, prefix: str) -> t.List[str]:
    """Our lines of the filter table in ``iptables-save`` output: chain declarations, rules, jumps."""
    ours = {iptables.chain_name(d, prefix) for d in DIRECTIONS}
    lines = []
    inside = False
    for line in text.splitlines():
        if line.startswith("*"):
            inside = line.strip() == "*filter"
        elif inside and line.startswith(":") and line[1:].split(" ")[0] in ours:
            lines.append(_COUNTERS.sub("[0:0]", line))
        elif inside and line.startswith("-A ") and (line.split(" ")[1] in ours or _jump_target(line) in ours):
            lines.append(line)
    return lines


def _jump_target(line: str) -> t.Optional[str]:
    words = line.split(" ")
    for index, word in enumerate(words[:-1]):
        if word in ("-j", "-g"):
            return words[index + 1]
    return None


def _restore_lines(want: t.Sequence[str], have: t.Sequence[str], prefix: str) -> str:
    """``iptables-restore --noflush`` input that turns our lines ``have`` into ``want`` exactly.

    Declaring a chain flushes it (and only it); jumps that are still wanted are left
    where they are, missing ones are inserted at the top, surplus ones deleted before
    a chain that is no longer wanted is removed.
    """
    ours = {iptables.chain_name(d, prefix) for d in DIRECTIONS}

    def is_jump(line: str) -> bool:
        return line.startswith("-A ") and line.split(" ")[1] not in ours

    want_chains = [line[1:].split(" ")[0] for line in want if line.startswith(":")]
    have_chains = [line[1:].split(" ")[0] for line in have if line.startswith(":")]
    body = [":%s - [0:0]" % chain for chain in want_chains + [c for c in have_chains if c not in want_chains]]
    body += [line for line in want if line.startswith("-A ") and not is_jump(line)]
    surplus = [line for line in have if is_jump(line)]
    missing = []
    for line in (line for line in want if is_jump(line)):
        if line in surplus:
            surplus.remove(line)
        else:
            missing.append(line)
    body += ["-D " + line[3:] for line in surplus]
    body += ["-X %s" % chain for chain in have_chains if chain not in want_chains]
    body += ["-I %s 1 %s" % tuple(line[3:].split(" ", 1)) for line in reversed(missing)]
    return "*filter\n" + "".join(line + "\n" for line in body) + "COMMIT\n"
