# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""``state: rendered`` and ``state: parsed`` for every backend: nothing here touches a host.

Linux backends render the script the module would run; the device and cloud
backends render the device's configuration and the data model of the vendor's own
Ansible module, which pushes it (``cisco.ios.ios_acls``, ``amazon.aws``). Each
rendering also gives the policy the target will really enforce (``effective``:
the rendering parsed back), which is what drift checks compare a device with.
"""
from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import aws, cisco_ios, iptables, names, nft
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.icmp_types import FAMILIES
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import Policy, PolicyError

LINUX_BACKENDS = ("nftables", "iptables")
DEVICE_BACKENDS = ("cisco_ios", "aws_security_group", "aws_network_acl")


@dataclass
class Rendered:
    lines: t.List[str]
    effective: Policy
    data: t.Optional[t.Dict[str, t.Any]] = None
    warnings: t.List[str] = field(default_factory=list)


def render(want: Policy, backend: str, table: str, chain_prefix: str,
           log_group: int = names.DEFAULT_LOG_GROUP) -> Rendered:
    if backend == "nftables":
        return Rendered(nft.render_script(want, table, log_group).splitlines(), want)
    if backend == "iptables":
        return Rendered(_iptables_lines(want, chain_prefix, log_group), want)
    if backend == "cisco_ios":
        return _render_ios(want, chain_prefix)
    if backend == "aws_security_group":
        data = aws.render_security_group(want)
        wrapped = {"SecurityGroups": [{key: data[key] for key in ("IpPermissions", "IpPermissionsEgress")
                                       if key in data}]}
        return Rendered(aws.security_group_lines(data), aws.parse_security_groups(wrapped)[0], data)
    if backend == "aws_network_acl":
        data = aws.render_network_acl(want)
        effective = aws.parse_network_acls({"NetworkAcls": [{"Entries": data["entries"]}]})[0]
        return Rendered(aws.network_acl_lines(data), effective, data)
    raise PolicyError("backend %r is not one of: %s" % (backend, ", ".join(LINUX_BACKENDS + DEVICE_BACKENDS)))


def _iptables_lines(want: Policy, chain_prefix: str, log_group: int) -> t.List[str]:
    lines: t.List[str] = []
    for family, tool in (("ipv4", "iptables-restore"), ("ipv6", "ip6tables-restore")):
        text = iptables.render_restore(want, family, {}, chain_prefix, log_group)
        if text:
            lines.append("%s --noflush" % tool)
            lines.extend(text.splitlines())
    return lines


def _render_ios(want: Policy, prefix: str) -> Rendered:
    lines = cisco_ios.render(want, prefix)
    effective, _notes = cisco_ios.parse("\n".join(lines), prefix) if lines else (Policy(), [])
    missing = cisco_ios.not_in_ios_acls(want)
    data = {"ios_acls": cisco_ios.ios_acls_config(want, prefix), "not_in_ios_acls": missing,
            "running_config": cisco_ios.running_config(want, prefix)}
    warnings = []
    if missing:
        warnings.append(
            "cisco.ios.ios_acls cannot hold %d of these entries (%s): its model has no numeric ICMP types and no "
            "IPv6 keywords such as nd-ns, nd-na or echo-request, and its parser turns them into other matches. "
            "rendered_data.ios_acls is null; push the rendered lines with cisco.ios.ios_config instead"
            % (len(missing), "; ".join(missing[:3]) + ("; ..." if len(missing) > 3 else "")))
    return Rendered(lines, effective, data, warnings)


class Parsed(t.NamedTuple):
    policy: Policy
    notes: t.List[str]  # entries left out or never matching (devices and clouds)
    foreign: t.List[str]  # what our table/chains hold that we did not write (Linux)


def parse(text: str, backend: str, table: str, chain_prefix: str,
          log_group: int = names.DEFAULT_LOG_GROUP) -> Parsed:
    """A running configuration of ``backend`` -> our policy, notes, and foreign content."""
    if backend == "nftables":
        own = nft.read_table(text, table, log_group)
        return Parsed(own.policy or Policy(), [], list(own.foreign))
    if backend == "iptables":
        return _parse_iptables(text, chain_prefix, log_group)
    if backend == "cisco_ios":
        return Parsed(*cisco_ios.parse(text, chain_prefix), [])
    if backend == "aws_security_group":
        return Parsed(*aws.parse_security_groups(text), [])
    if backend == "aws_network_acl":
        return Parsed(*aws.parse_network_acls(text), [])
    raise PolicyError("backend %r is not one of: %s" % (backend, ", ".join(LINUX_BACKENDS + DEVICE_BACKENDS)))


def _parse_iptables(text: str, chain_prefix: str, log_group: int) -> Parsed:
    rules: t.List[t.Any] = []
    foreign: t.List[str] = []
    for family in FAMILIES:
        own = iptables.read_chains(text, family, chain_prefix, log_group)
        rules.extend(own.policy.rules if own.policy else ())
        foreign.extend(item for item in own.foreign if item not in foreign)
    if not rules and "-A " not in text and "*filter" not in text:
        raise PolicyError("running_config does not look like iptables-save output (no '*filter' table)")
    return Parsed(Policy.build(rules), [], foreign)
