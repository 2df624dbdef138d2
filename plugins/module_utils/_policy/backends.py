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
"""
from __future__ import annotations

import shutil
import typing as t
from dataclasses import dataclass, field

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import coexist, iptables, nft
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.icmp_types import FAMILIES, IPV4, IPV6
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import Policy, PolicyError
from ansible_collections.netdevops.icmp.plugins.module_utils._runner import CommandError, CommandRunner

BACKENDS = ("nftables", "iptables")
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
    unknown: t.List[str] = field(default_factory=list)  # rules in our table we did not write
    foreign: t.List[coexist.ForeignChain] = field(default_factory=list)
    foreign_text: str = ""  # everything not ours, normalised: must never change
    jumps: t.Dict[str, t.Dict[str, int]] = field(default_factory=dict)  # iptables: family -> chain -> jumps

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

    def __init__(self, runner: CommandRunner, table: str = nft.DEFAULT_TABLE) -> None:
        self.runner, self.table = runner, table

    def read(self) -> Live:
        text = self.runner.run(["nft", "-j", "list", "ruleset"]).stdout
        policy, unknown = nft.parse_table(text, self.table)
        return Live(policy, unknown, nft.foreign_chains(text, self.table), nft.strip_table(text, self.table))

    def steps(self, live: Live, want: Policy) -> t.List[Step]:
        if live.policy is None and not want.rules:
            return []  # nothing to delete
        if live.policy is not None and live.policy.rules == want.rules and want.rules and not live.unknown:
            return []  # in sync (an empty table left behind is removed by the script below)
        script = nft.render_script(want, self.table)
        return [Step(("nft", "-f", "-"), script, ("nft", "-c", "-f", "-"))]

    def render_text(self, policy: Policy) -> str:
        return nft.render_table(policy, self.table)


class IptablesBackend:
    name = "iptables"
    binaries = ("iptables-save", "iptables-restore", "ip6tables-save", "ip6tables-restore")
    _TOOLS = {IPV4: "iptables", IPV6: "ip6tables"}

    def __init__(self, runner: CommandRunner, prefix: str = iptables.DEFAULT_PREFIX) -> None:
        self.runner, self.prefix = runner, prefix

    def read(self) -> Live:
        rules, unknown, foreign, texts, jumps = [], [], [], [], {}
        found = False
        for family in FAMILIES:
            text = self.runner.run([self._TOOLS[family] + "-save", "-t", "filter"]).stdout
            policy, present, bad = iptables.parse_save(text, family, self.prefix)
            found = found or policy is not None
            rules.extend(policy.rules if policy else ())
            unknown.extend(bad)
            jumps[family] = present
            foreign.extend(iptables.foreign_chains(text, family, self.prefix))
            texts.append(iptables.strip_ours(text, self.prefix))
        live_policy = Policy.build(rules) if found else None
        return Live(live_policy, unknown, foreign, "".join(texts), jumps)

    def steps(self, live: Live, want: Policy) -> t.List[Step]:
        steps = []
        for family in FAMILIES:
            present = live.jumps.get(family, {})
            have = Policy.build(r for r in live.rules.rules if r.family == family)
            mine = Policy.build(r for r in want.rules if r.family == family)
            in_sync = have.rules == mine.rules and not live.unknown and all(
                present.get(iptables.chain_name(d, self.prefix)) == 1 for d in {r.direction for r in mine.rules}
            ) and set(present) == {iptables.chain_name(r.direction, self.prefix) for r in mine.rules}
            if in_sync:
                continue
            text = iptables.render_restore(want, family, present, self.prefix)
            if text:
                tool = self._TOOLS[family] + "-restore"
                steps.append(Step((tool, "--noflush"), text, (tool, "--noflush", "--test")))
        return steps

    def render_text(self, policy: Policy) -> str:
        return "".join(iptables.render_chains(policy, family, self.prefix) for family in FAMILIES)


Backend = t.Union[NftBackend, IptablesBackend]


def make_backend(name: str, runner: CommandRunner, table: str, chain_prefix: str,
                 which: t.Callable[[str], t.Optional[str]] = shutil.which) -> Backend:
    """``auto`` prefers nftables when ``nft`` exists, else iptables; a missing binary is an error."""
    if name == "auto":
        name = "nftables" if which("nft") else "iptables"
    if name == "nftables":
        require(NftBackend.binaries, which)
        return NftBackend(runner, table)
    if name == "iptables":
        require(IptablesBackend.binaries, which)
        return IptablesBackend(runner, chain_prefix)
    raise PolicyError("backend %r is not one of: auto, %s" % (name, ", ".join(BACKENDS)))


def apply_steps(runner: CommandRunner, steps: t.Sequence[Step]) -> None:
    """Validate every step, then run them; a validation failure changes nothing."""
    for step in steps:
        try:
            runner.run(step.check_argv, stdin=step.stdin)
        except CommandError as err:
            raise PolicyError("the rendered ruleset was rejected by %s, nothing was changed: %s"
                              % (step.check_argv[0], err)) from err
    for step in steps:
        runner.run(step.argv, stdin=step.stdin)
