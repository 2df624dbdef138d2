# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""One capture: check the interface, open the socket, then the pcap file, count, close.

The socket is opened before the file, so a missing capability leaves nothing on
disk; a file that cannot be written is removed again.
"""
from __future__ import annotations

import os
import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._capture import bpf, pcap, sniffer
from ansible_collections.netdevops.icmp.plugins.module_utils._capture.options import CaptureOptions
from ansible_collections.netdevops.icmp.plugins.module_utils._capture.summary import Summary

SourceFactory = t.Callable[[t.Optional[str], bytes, int], sniffer.PacketSource]


def run(opts: CaptureOptions, open_source: SourceFactory = sniffer.PacketSocket,
        clock: t.Optional[sniffer.Clock] = None) -> t.Dict[str, t.Any]:
    if opts.interface:
        sniffer.interface_index(opts.interface)
    source = open_source(opts.interface, bpf.pack(bpf.program(opts.hosts, opts.families, opts.snaplen)),
                         opts.snaplen)
    writer = None
    try:
        if opts.pcap_path:
            writer = pcap.PcapWriter(pcap.create(opts.pcap_path), opts.snaplen, opts.pcap_max_bytes)
        summary = Summary(opts.top)
        loop = sniffer.capture(source, clock or sniffer.SystemClock(), opts.duration_s, opts.count, summary, writer)
    except BaseException:
        if writer is not None:
            writer.close()
            os.unlink(t.cast(str, opts.pcap_path))
        raise
    finally:
        source.close()
    result = summary.to_dict()
    result.update(loop)
    result["filter"] = opts.describe()
    result["pcap"] = None
    if writer is not None:
        writer.close()
        result["pcap"] = {"path": opts.pcap_path, "packets": writer.packets, "bytes": writer.bytes,
                          "truncated": writer.truncated}
    return result
