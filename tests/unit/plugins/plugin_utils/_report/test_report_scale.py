# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writers grow linearly with hosts x checks, in output size and in memory (tracemalloc peak).
Times are measured by benchmarks/bench_reports.py, not asserted here: the machine is shared."""
from __future__ import annotations

import io
import tracemalloc
import typing as t

import pytest

from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import html, model, writers
from ansible_collections.netdevops.icmp.tests.unit.plugins.plugin_utils._report import synthetic

WRITERS = {"json": writers.write_json, "junit": writers.write_junit, "prometheus": writers.write_prometheus,
           "html": html.write_html}


class Counter(io.TextIOBase):
    """A stream that only counts what is written, so memory is the writer's own."""

    def __init__(self) -> None:
        super().__init__()
        self.chars = 0

    def write(self, text: str) -> int:  # type: ignore[override]
        self.chars += len(text)
        return len(text)


def measure(hosts: int, own: bool = False) -> t.Dict[str, t.Tuple[int, int]]:
    """Per step: (characters written, peak bytes the step allocated beyond what it started with)."""
    fleet = synthetic.fleet(hosts, own=own)
    out = {}
    tracemalloc.start()
    try:
        report = model.build_report(fleet, kind="drift_check", generated_at=synthetic.WHEN)
        current, peak = tracemalloc.get_traced_memory()
        out["build"] = (len(report["hosts"]), peak)
        for name, writer in WRITERS.items():
            tracemalloc.reset_peak()
            stream = Counter()
            writer(report, stream)
            _now, peak = tracemalloc.get_traced_memory()
            out[name] = (stream.chars, peak - current)
    finally:
        tracemalloc.stop()
    return out


@pytest.mark.parametrize("own", [False, True])
def test_clones_equal_direct_builds(own: bool) -> None:
    """The synthetic fleet's cloning shortcut gives exactly what building every host gives."""
    cloned = synthetic.fleet(45, targets=5, own=own, broken_every=4)
    for index, name in enumerate(sorted(cloned)):
        targets = synthetic.own_targets(index, 5) if own else synthetic.PEERS[:5]
        assert cloned[name] == synthetic.host_result(index % 7, targets, index % 4 == 0), name


@pytest.mark.parametrize("own", [False, True], ids=["shared-peers", "own-targets"])
def test_size_and_memory_grow_linearly(own: bool) -> None:
    small, large = measure(100, own), measure(400, own)
    assert large["build"][1] / small["build"][1] <= 4.6, (small["build"], large["build"])
    for name in WRITERS:
        size_ratio = large[name][0] / small[name][0]
        memory_ratio = large[name][1] / small[name][1]
        if name == "html":  # aggregated and capped: grows less than linearly
            assert size_ratio <= 4.2, (name, size_ratio)
        else:
            assert 3.8 <= size_ratio <= 4.2, (name, size_ratio)
        # 4x the hosts: linear is 4; allocation granularity adds up to about 15 % (the HTML writer measured
        # 4.61 on Python 3.13); anything quadratic would be near 16
        assert memory_ratio <= 4.8, (name, memory_ratio, small[name][1], large[name][1])
