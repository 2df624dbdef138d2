# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Pure matching: does this reply or error answer one of our probes, and which?

Identifier + sequence is only 32 bits and collides between processes (iputils #489),
so a reply must also carry this run's random token and come from the probed address;
an ICMP error is attributed through the datagram it quotes (inner destination,
identifier, sequence and, when quoted, the token).
"""
from __future__ import annotations

import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.codec import quoted_token
from ansible_collections.netdevops.icmp.plugins.module_utils._icmp.models import IcmpMessage

REPLY = "reply"
FOREIGN = "foreign"  # not ours: another process, another run, or a spoofed source
WRONG_SOURCE = "wrong_source"  # our token, but from an address we did not probe


def classify_reply(
    ident: int,
    seq: int,
    token: bytes,
    probe_number: int,
    source: str,
    expected_ident: int,
    run_token: bytes,
    probe_address: t.Optional[str],
) -> str:
    """Classify an echo reply against the probe its payload names.

    ``probe_address`` is None when ``probe_number`` is not a probe of this run.
    """
    if ident != expected_ident or token != run_token or probe_address is None:
        return FOREIGN
    if seq != probe_number & 0xFFFF:
        return FOREIGN
    if source != probe_address:
        return WRONG_SOURCE
    return REPLY


def error_probe(
    message: IcmpMessage,
    expected_ident: int,
    run_token: bytes,
    by_destination: t.Mapping[t.Tuple[str, int], int],
) -> t.Optional[int]:
    """The probe number an ICMP error is about, or None when it is not about ours.

    ``by_destination`` maps (destination address, sequence) of probes in flight to
    their probe number. When the error quotes enough of our payload, the token must
    match too; RFC 792 routers quote only 8 bytes, so it is optional.
    """
    original = message.original
    if original is None or original.ident is None or original.seq is None:
        return None
    if original.icmp_type not in (8, 128) or original.ident != expected_ident:
        return None
    number = by_destination.get((original.dst, original.seq))
    if number is None:
        return None
    quoted = quoted_token(original)
    if quoted is not None and (quoted[0] != run_token or quoted[1] != number):
        return None
    return number
