# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netdevops.icmp.capture on the real kernel, beside tcpdump on the same traffic.

h2 pings h1 (IPv4 and IPv6), sends UDP to a closed port (h1 answers port
unreachable) and TCP to a closed port (RST, not ICMP); our capture and tcpdump
listen in h1 at the same time, both limited to h2's addresses.
"""
from __future__ import annotations

import json
import struct
import subprocess
import sys
import tempfile
import time
import typing as t
from collections import Counter
from pathlib import Path

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._capture import pcap
from ansible_collections.netdevops.icmp.plugins.module_utils._capture.summary import Summary

pytestmark = [pytest.mark.root, pytest.mark.lab]
REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".build" / "collections"
RUNNER = """
import json, sys
sys.path.insert(0, %r)
from ansible_collections.netdevops.icmp.plugins.module_utils._capture import options, run, sniffer, pcap
try:
    print(json.dumps(run.run(options.build(json.loads(sys.argv[1])))))
except (options.OptionError, sniffer.CaptureError, pcap.PcapError) as err:
    print(json.dumps({"error": str(err)}))
""" % str(COLLECTIONS)


def _capture(lab: t.Any, node: str, params: t.Dict[str, t.Any], user: t.Optional[int] = None) -> "subprocess.Popen[str]":
    return lab.popen(node, [sys.executable, "-c", RUNNER, json.dumps(params)], user=user,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _traffic(lab: t.Any) -> None:
    h1_v4, h1_v6 = lab.address("h1", 4), lab.address("h1", 6)
    lab.run("h2", ["ping", "-c", "10", "-i", "0.05", "-q", h1_v4], check=False)
    lab.run("h2", ["ping", "-6", "-c", "5", "-i", "0.05", "-q", h1_v6], check=False)
    sender = ("import socket\nfor port in (9, 10, 11):\n"
              " s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x', (%r, port))\n"
              "for port in (9, 10):\n"
              " c = socket.socket(); c.settimeout(1)\n"
              " try: c.connect((%r, port))\n"
              " except OSError: pass\n" % (h1_v4, h1_v4))
    lab.run("h2", [sys.executable, "-c", sender])


def _sll_counts(data: bytes) -> Counter:
    """(type, code, direction) counts of tcpdump's own capture (LINUX_SLL or SLL2, micro- or nanoseconds)."""
    magic, _major, _minor, _zone, _sig, _snap, linktype = struct.unpack_from("=IHHiIII", data)
    assert magic in (0xA1B2C3D4, 0xA1B23C4D) and linktype in (113, 276)
    summary = Summary()
    offset = 24
    while offset < len(data):
        _sec, _frac, caplen, _orig = struct.unpack_from("=IIII", data, offset)
        record = data[offset + 16:offset + 16 + caplen]
        offset += 16 + caplen
        if linktype == 113:
            pkttype, protocol, body = struct.unpack_from("!H", record)[0], struct.unpack_from("!H", record, 14)[0], record[16:]
        else:
            protocol, pkttype, body = struct.unpack_from("!H", record)[0], record[10], record[20:]
        summary.add(0, "out" if pkttype == 4 else "in", 4 if protocol == 0x0800 else 6, body)
    return Counter({(r["type"], r["code"], r["direction"]): r["packets"] for r in summary.to_dict()["by_type"]})


def test_capture_matches_tcpdump_and_its_pcap_reads_back(lab_default: t.Any, tmp_path: Path) -> None:
    lab = lab_default
    hosts = [lab.address("h2", 4), lab.address("h2", 6)]
    tcpdump_file = tmp_path / "tcpdump.pcap"
    ours_file = tmp_path / "ours.pcap"
    expression = "(icmp or icmp6) and (host %s or host %s)" % tuple(hosts)
    tcpdump = lab.popen("h1", ["tcpdump", "-i", "any", "-n", "-U", "-w", str(tcpdump_file), expression],
                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ours = _capture(lab, "h1", {"duration": 4, "hosts": hosts, "pcap_path": str(ours_file)})
    time.sleep(1.0)
    _traffic(lab)
    out, err = ours.communicate(timeout=30)
    tcpdump.terminate()
    tcpdump.communicate(timeout=10)
    result = json.loads(out or json.dumps({"error": err}))
    assert "error" not in result, result
    counts = Counter({(r["type"], r["code"], r["direction"]): r["packets"] for r in result["by_type"]})
    expected = {(8, 0, "in"): 10, (0, 0, "out"): 10, (128, 0, "in"): 5, (129, 0, "out"): 5, (3, 3, "out"): 3}
    assert {key: counts[key] for key in expected} == expected, counts
    assert _sll_counts(tcpdump_file.read_bytes()) == counts
    # The filter passed only ICMP: the kernel queued exactly what we counted (no TCP RSTs, no UDP).
    assert result["kernel"] == {"packets": result["packets"], "drops": 0}
    assert result["errors"][0]["quoted"]["protocol"] == 17 and result["errors"][0]["quoted"]["dport"] in (9, 10, 11)
    replay = subprocess.run(["tcpdump", "-r", str(ours_file), "-n"], capture_output=True, text=True, check=True)
    assert len(replay.stdout.splitlines()) == result["pcap"]["packets"] == result["packets"]
    header, records = pcap.read(ours_file.read_bytes())
    assert header["linktype"] == 113 and len(records) == result["packets"]


def test_capture_without_cap_net_raw_says_so_and_writes_nothing(lab_default: t.Any, tmp_path: Path) -> None:
    shared = Path(tempfile.mkdtemp(prefix="nicap-"))  # in /tmp itself: the unprivileged user must reach it
    shared.chmod(0o777)
    target = shared / "never.pcap"
    proc = _capture(lab_default, "h1", {"duration": 1, "pcap_path": str(target)}, user=65534)
    out, err = proc.communicate(timeout=30)
    assert "CAP_NET_RAW" in json.loads(out or json.dumps({"error": err}))["error"]
    assert not target.exists()
    shared.rmdir()


def test_capture_module_through_ansible(lab_default: t.Any, tmp_path: Path) -> None:
    play = tmp_path / "play.yml"
    play.write_text(
        "- hosts: h1\n  gather_facts: false\n  tasks:\n"
        "    - netdevops.icmp.capture: {duration: 1, interface: nosuch0}\n      register: bad\n      ignore_errors: true\n"
        "    - netdevops.icmp.capture: {duration: 2, count: 3}\n      check_mode: true\n      register: plan\n"
        "    - netdevops.icmp.capture: {duration: 3, count: 4, family: ipv4}\n      register: seen\n"
        "    - ansible.builtin.assert:\n        that:\n"
        "          - bad is failed\n"
        "          - \"'does not exist' in bad.msg\"\n"
        "          - plan.filter.count == 3\n"
        "          - plan.packets is not defined\n"
        "          - seen.packets == 4\n"
        "          - seen.stopped_by == 'count'\n"
        "          - seen is not changed\n")
    pinger = lab_default.popen("h2", ["ping", "-c", "600", "-i", "0.05", lab_default.address("h1", 4)],
                               stdout=subprocess.DEVNULL)
    try:
        proc = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i",
                               lab_default.inventory_path, str(play)], capture_output=True, text=True, timeout=120,
                              check=False)
    finally:
        pinger.terminate()
        pinger.wait(timeout=30)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
