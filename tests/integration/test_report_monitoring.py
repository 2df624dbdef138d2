# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A real node_exporter serves the report action's .prom files: the files of two AWX slices and
of the pre and post change validation share one textfile directory without a scrape error or a
duplicate series, and every host's last-run timestamp is exposed. node_exporter listens on
127.0.0.1 only, is scraped over loopback, and is stopped after the test.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
import typing as t
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import model, output, writers
from ansible_collections.netdevops.icmp.tests.unit.plugins.plugin_utils._report import synthetic
from ansible_collections.netdevops.icmp.tests.unit.plugins.plugin_utils._report.test_writers import post_report, pre_report

NODE_EXPORTER = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
pytestmark = pytest.mark.skipif(NODE_EXPORTER is None, reason="needs node_exporter (Debian package "
                                "prometheus-node-exporter; scripts/setup-system.sh installs it)")


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(url: str, deadline_s: float = 20.0) -> str:
    until = time.monotonic() + deadline_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - loopback only
                return t.cast(bytes, answer.read()).decode("utf-8")
        except OSError:
            if time.monotonic() > until:
                raise
            time.sleep(0.2)


def write(directory: Path, report: t.Dict[str, t.Any], stem: str) -> None:
    output.write_atomic(str(directory / (stem + ".prom")), lambda stream: writers.write_prometheus(report, stream), 0o644)


def test_node_exporter_serves_sliced_and_phased_reports_side_by_side(tmp_path: Path) -> None:
    textfiles = tmp_path / "textfile"
    textfiles.mkdir()
    fleet = synthetic.fleet(6, targets=3, broken_every=3)
    names = sorted(fleet)
    for number, part in ((1, names[:3]), (2, names[3:])):
        slice_id = output.slice_of({"awx_job_slice_number": number, "awx_job_slice_count": 2})
        report = model.build_report({n: fleet[n] for n in part}, kind="drift_check", slice_id=slice_id)
        write(textfiles, report, output.file_stem("drift-check", slice_id))
    write(textfiles, pre_report(), "change-validation-pre")
    write(textfiles, post_report(), "change-validation-post")
    (textfiles / "drift-check.json").write_text("{}")  # other formats beside them are ignored

    port = free_loopback_port()
    exporter = subprocess.Popen([str(NODE_EXPORTER), "--collector.disable-defaults", "--collector.textfile",
                                 "--collector.textfile.directory=%s" % textfiles,
                                 "--web.listen-address=127.0.0.1:%d" % port],
                                stdout=subprocess.DEVNULL, stderr=(tmp_path / "node_exporter.log").open("w"))
    try:
        text = scrape("http://127.0.0.1:%d/metrics" % port)
    finally:
        exporter.terminate()
        exporter.wait(timeout=10)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    errors = [s.value for s in families["node_textfile_scrape_error"].samples]
    assert errors == [0.0], (tmp_path / "node_exporter.log").read_text()[-2000:]
    served = {s.labels["file"].rsplit("/", 1)[-1] for s in families["node_textfile_mtime_seconds"].samples}
    assert served == {"drift-check.slice1of2.prom", "drift-check.slice2of2.prom", "change-validation-pre.prom",
                      "change-validation-post.prom"}

    stamps = {(s.labels["host"], s.labels["report"], s.labels.get("slice")) for s in
              families["netdevops_icmp_last_run_timestamp_seconds"].samples}
    assert {(host, "drift_check", "slice%dof2" % (1 if host in names[:3] else 2)) for host in names} <= stamps
    assert {("h1", "change_validation_pre", None), ("h1", "change_validation_post", None)} <= stamps
    drifted = {s.labels["host"]: s.value for s in families["netdevops_icmp_drift"].samples}
    assert drifted == {name: float(index % 3 == 0) for index, name in enumerate(names)}
    loss = [s for s in families["netdevops_icmp_ping_loss_ratio"].samples if s.labels["report"] == "drift_check"]
    assert len(loss) == 6 * 3 and sum(s.value for s in loss) == 2.0  # two broken hosts lose one target each
