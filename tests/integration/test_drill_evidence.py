# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The drills that probe with ``capture`` cite what was on the wire, in the JSON and HTML drill reports."""
from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest

from tests.integration.test_drills import drill_run

pytestmark = [pytest.mark.root, pytest.mark.lab]
EVIDENCE_DRILLS = ["echo_blocked", "asymmetric", "pmtud_blackhole"]


def test_drills_cite_the_capture(lab_default: t.Any, tmp_path: Path) -> None:
    run = drill_run(lab_default, tmp_path, EVIDENCE_DRILLS)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    report = json.loads((tmp_path / "reports" / "disaster-drill.json").read_text())
    hosts = {host["name"]: host for host in report["hosts"]}
    server = lab_default.address("h2", 4)
    blocked = hosts["drill_echo_blocked"]["capture"]
    # The detect ping: 3 requests out, nothing back (the server drops them).
    assert "3 echo requests to %s left" % server in " ".join(blocked["evidence"])
    assert any(line.endswith("no reply arrived") for line in blocked["evidence"]), blocked["evidence"]
    asymmetric = hosts["drill_asymmetric"]["capture"]
    assert asymmetric["packets"] > 0 and len(asymmetric["evidence"]) == 2, asymmetric
    blackhole = hosts["drill_pmtud_blackhole"]["capture"]
    # The client's own firewall drops frag-needed, after the packet socket saw it arrive: the
    # capture proves the router did its job and the black hole is local.
    assert any(row["name"] == "frag_needed" and row["direction"] == "in" for row in blackhole["by_type"]), blackhole
    assert blackhole["by_direction"]["out"] > 0
    page = (tmp_path / "reports" / "disaster-drill.html").read_text()
    assert page.count('<ul class="evidence">') == 3
