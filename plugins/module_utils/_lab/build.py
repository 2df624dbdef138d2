# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""The lab engine: read the live state, plan, and apply (``up``, ``down``, ``cleanup``).

Commands go through the ``CommandRunner`` seam and files through ``Files``, so
unit tests replay recorded output and check mode runs nothing.
"""
from __future__ import annotations

import os
import shutil
import time
import typing as t
from dataclasses import dataclass

from ansible_collections.netdevops.icmp.plugins.module_utils._lab import frr, names, neigh, sshd, state
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.errors import LabError
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.model import Topology
from ansible_collections.netdevops.icmp.plugins.module_utils._lab.plan import (
    Step,
    plan_cleanup,
    plan_down,
    plan_up,
)
from ansible_collections.netdevops.icmp.plugins.module_utils._runner import CommandError, CommandRunner


class Files:
    """The filesystem seam (namespaces share the controller's filesystem)."""

    def read_text(self, path: str) -> t.Optional[str]:
        """The content of a file, "" for a directory, None when nothing is there."""
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except IsADirectoryError:
            return ""

    def write_text(self, path: str, content: str, mode: int) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.chmod(path, mode)

    def remove(self, path: str) -> None:
        os.remove(path)

    def makedirs(self, path: str, mode: int) -> None:
        os.makedirs(path, mode=mode, exist_ok=True)

    def rmtree(self, path: str) -> None:
        shutil.rmtree(path, ignore_errors=True)

    def listdir(self, path: str) -> t.List[str]:
        try:
            return sorted(os.listdir(path))
        except (FileNotFoundError, NotADirectoryError):
            return []


@dataclass(frozen=True)
class Outcome:
    changed: bool
    steps: t.Tuple[Step, ...]
    warnings: t.Tuple[str, ...] = ()

    @property
    def commands(self) -> t.List[str]:
        return [step.describe() for step in self.steps]


class LabEngine:
    def __init__(
        self,
        runner: CommandRunner,
        files: t.Optional[Files] = None,
        state_dir: str = sshd.DEFAULT_STATE_DIR,
    ) -> None:
        if sshd.STATE_DIR_RE.fullmatch(state_dir) is None:
            raise LabError(
                "state_dir %r is refused: use an absolute path of letters, digits and _ . + - / "
                "(it is written into every sshd_config of the lab)" % (state_dir,)
            )
        self.runner = runner
        self.files = files or Files()
        self.state_dir = state_dir
        self.wait_timeout_s = 15.0
        self.bgpd = frr.BGPD  # checked before a lab with BGP routers is built

    def paths(self, lab: str) -> sshd.LabPaths:
        return sshd.LabPaths(self.state_dir, lab)

    # -- reading ---------------------------------------------------------------
    def list_netns(self) -> t.List[str]:
        return state.parse_netns_list(self._out("ip", "-j", "netns", "list"))

    def read_namespace(self, netns: str, sysctl_keys: t.Sequence[str] = (), pids: bool = False) -> state.NamespaceState:
        live = state.NamespaceState(netns)
        live.interfaces = state.parse_addr_show(self._out("ip", "-n", netns, "-j", "addr", "show"))
        for family in (4, 6):
            live.routes += state.parse_routes(
                self._out("ip", "-n", netns, "-j", "-%d" % family, "route", "show"), family,
            )
        if sysctl_keys:
            result = self.runner.run(("ip", "netns", "exec", netns, "sysctl", "-n", *sysctl_keys), check=False)
            # An unknown key (an interface sysctl before the interface exists) fails the
            # whole read: every key then counts as unknown and is set.
            live.sysctls = state.parse_sysctl_values(sysctl_keys, result.stdout if result.rc == 0 else "")
        if pids:
            live.pids = self.read_pids(netns)
        return live

    def read_pids(self, netns: str) -> t.List[int]:
        return state.parse_pids(self._out("ip", "netns", "pids", netns))

    def read(self, topo: Topology) -> state.LiveState:
        live = state.LiveState(netns=self.list_netns())
        prefix = names.lab_netns_prefix(topo.name)
        wanted = {node.netns: node for node in topo.nodes}
        bgp = {router.node for router in topo.bgp}
        bridges = {segment.netns for segment in topo.segments}
        for netns in live.netns:
            if netns in wanted:
                node = wanted[netns]
                keys = [key for key, _value in node.sysctls]
                live.detail[netns] = self.read_namespace(netns, keys, pids=node.sshd or node.name in bgp)
                if topo.tunnels_of(node.name):
                    live.detail[netns].vxlan = state.parse_vxlan(
                        self._out("ip", "-n", netns, "-j", "-d", "link", "show", "type", "vxlan"))
            elif netns in bridges:
                live.detail[netns] = state.NamespaceState(
                    netns, state.parse_addr_show(self._out("ip", "-n", netns, "-j", "addr", "show")),
                )
            elif netns.startswith(prefix):
                live.detail[netns] = state.NamespaceState(netns, pids=self.read_pids(netns))
        if any(segment.controller is not None for segment in topo.segments):
            live.detail[state.ROOT] = state.NamespaceState(
                state.ROOT, state.parse_addr_show(self._out("ip", "-j", "addr", "show")),
            )
        paths = self.paths(topo.name)
        watched = [paths.lab_dir, sshd.SSHD_PRIVSEP_DIR, paths.key, paths.relay]
        for node in topo.nodes:
            if node.sshd:
                watched += [
                    paths.node_dir(node.name), paths.host_key(node.name), paths.sshd_config(node.name),
                    paths.pid_file(node.name),
                ]
        for router in topo.bgp:
            node_dir = paths.node_dir(router.node)
            watched += [paths.lab_dir, node_dir, frr.directory(node_dir), frr.config_path(node_dir), frr.pid_path(node_dir)]
        live.files = {path: self.files.read_text(path) for path in watched}
        return live

    def _out(self, *argv: str) -> str:
        try:
            return self.runner.run(argv).stdout
        except CommandError as err:
            raise LabError("cannot read the lab state: %s" % err) from err

    # -- the three operations --------------------------------------------------
    def neighbour_limits(self) -> t.List[neigh.TableLimit]:
        """The host-wide neighbour-table limits (read only; absent ones are skipped)."""
        limits = []
        for family in (4, 6):
            thresh = neigh.parse_gc_thresh(self.files.read_text(neigh.GC_THRESH3 % family))
            if thresh is not None:
                in_use = neigh.parse_cache_entries(self.files.read_text(neigh.CACHE_STATS[family]))
                limits.append(neigh.TableLimit(family, thresh, in_use))
        return limits

    def up(self, topo: Topology, check_mode: bool = False) -> Outcome:
        if topo.bgp and not os.access(self.bgpd, os.X_OK):
            raise LabError("the topology has BGP routers (%s) but %s is missing: install FRR (apt-get install frr; "
                           "make demo and make test do)" % (", ".join(r.node for r in topo.bgp), self.bgpd))
        warnings = neigh.check_budget(topo, self.neighbour_limits())
        steps = plan_up(topo, self.read(topo), self.paths(topo.name))
        outcome = self._finish(steps, check_mode)
        return Outcome(outcome.changed, outcome.steps, tuple(warnings))

    def down(self, lab: str, check_mode: bool = False) -> Outcome:
        live = state.LiveState(netns=self.list_netns())
        for netns in live.netns:
            if netns.startswith(names.lab_netns_prefix(lab)):
                live.detail[netns] = state.NamespaceState(netns, pids=self.read_pids(netns))
        root_links = state.parse_link_names(self._out("ip", "-j", "link", "show"))
        controller = names.controller_ifname(lab)
        if controller in root_links:
            live.detail[state.ROOT] = state.NamespaceState(
                state.ROOT, {controller: state.Interface(controller, 0, False, frozenset())},
            )
        paths = self.paths(lab)
        live.files[paths.lab_dir] = self.files.read_text(paths.lab_dir)
        return self._finish(plan_down(lab, live, paths), check_mode)

    def cleanup(self, labs: t.Optional[t.Sequence[str]] = None, check_mode: bool = False) -> Outcome:
        """Remove leftovers of every lab (``labs`` None) or of the named labs only."""

        def ours(lab: str) -> bool:
            return labs is None or lab in labs

        live = state.LiveState(netns=self.list_netns())
        for netns in live.netns:
            split = names.split_netns(netns)
            if split is not None and ours(split[0]):
                live.detail[netns] = state.NamespaceState(netns, pids=self.read_pids(netns))
        live.netns = [netns for netns in live.netns if netns in live.detail]
        root_links = [
            link for link in state.parse_link_names(self._out("ip", "-j", "link", "show"))
            if names.is_lab_link(link, labs)
        ]
        lab_dirs = [
            os.path.join(self.state_dir, entry)
            for entry in self.files.listdir(self.state_dir)
            if names.valid_lab_name(entry) and ours(entry)
        ]
        return self._finish(plan_cleanup(live, root_links, lab_dirs), check_mode)

    def _finish(self, steps: t.List[Step], check_mode: bool) -> Outcome:
        if not check_mode:
            self.apply(steps)
        return Outcome(bool(steps), tuple(steps))

    def apply(self, steps: t.Sequence[Step]) -> None:
        for step in steps:
            if step.kind == "run":
                try:
                    self.runner.run(step.argv, check=step.check)
                except CommandError as err:
                    raise LabError("lab step failed: %s" % err) from err
            elif step.kind == "write":
                self.files.write_text(step.path, step.content, step.mode)
            elif step.kind == "mkdir":
                self.files.makedirs(step.path, step.mode)
            elif step.kind == "wait":
                self._wait_for(step.path)
            else:
                self.files.rmtree(step.path)

    def _wait_for(self, path: str) -> None:
        timeout_s = self.wait_timeout_s
        deadline = time.monotonic() + timeout_s
        while not (self.files.read_text(path) or "").strip():
            if time.monotonic() > deadline:
                raise LabError(
                    "%s did not appear within %.0f s: the daemon did not start; run it by hand "
                    "with -d to see why" % (path, timeout_s)
                )
            time.sleep(0.02)
