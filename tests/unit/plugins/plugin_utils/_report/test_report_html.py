# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The HTML page: matrix states, escaping, drills, and the fleet view at 5,000 hosts
(size budget, problems grouped and capped, targets grouped by prefix with netaddr).
The page is read with an HTML parser, as a browser would, not with regular expressions."""
from __future__ import annotations

import functools
import re
import typing as t
from html.parser import HTMLParser

from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import fleet, html, model
from ansible_collections.netdevops.icmp.tests.unit.plugins.plugin_utils._report import synthetic
from ansible_collections.netdevops.icmp.tests.unit.plugins.plugin_utils._report.test_writers import (
    WHEN, drill_report, post_report, pre_report, run_checks)

BUDGET_BYTES = 5 * 1000 * 1000


class Page(HTMLParser):
    """Elements with their attributes and text (text of nested elements included)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: t.List[t.Dict[str, t.Any]] = []
        self._open: t.List[t.Dict[str, t.Any]] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: t.List[t.Tuple[str, t.Optional[str]]]) -> None:
        element = {"tag": tag, "attrs": dict(attrs), "text": "", "children": []}
        if self._open:
            self._open[-1]["children"].append(element)
        self.elements.append(element)
        if tag not in ("input", "meta", "br", "img"):
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()["tag"] == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element["text"] += data

    def find(self, tag: str, **attrs: str) -> t.List[t.Dict[str, t.Any]]:
        return [e for e in self.elements if e["tag"] == tag and all(e["attrs"].get(k) == v for k, v in attrs.items())]

    def having(self, tag: str, attr: str) -> t.List[t.Dict[str, t.Any]]:
        return [e for e in self.elements if e["tag"] == tag and attr in e["attrs"]]


def cell_states(page: str) -> t.Dict[t.Tuple[str, str], str]:
    return {(c["attrs"]["data-host"], c["attrs"]["data-target"]): c["attrs"]["data-state"]
            for c in Page(page).having("td", "data-host")}


def test_html_matrix_states() -> None:
    states = cell_states(html.to_html(pre_report()))
    assert states[("h1", "203.0.113.10")] == "bad"
    assert states[("h1", "192.0.2.99")] == "down"  # unreachable, as the plan expects
    assert {v for k, v in states.items() if k[1] == "203.0.113.20"} == {"ok"}
    assert cell_states(html.to_html(post_report()))[("h2", "203.0.113.20")] == "bad"


def test_html_is_self_contained_and_escapes_names() -> None:
    report = model.build_report({"<b>x</b>": {"checks": run_checks()}}, generated_at=WHEN)
    page = html.to_html(report)
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert not re.search(r"(src|href)=|https?://|@import", page)


def test_html_drill_report_lists_each_drill_with_diagnosis_and_timeline() -> None:
    page = Page(html.to_html(drill_report()))
    rows = page.having("tr", "data-drill")
    assert [(r["attrs"]["data-host-status"], r["attrs"]["data-drill"]) for r in rows] == [
        ("pass", "echo_blocked"), ("fail", "policy_cutoff")]
    cells = [[c["text"] for c in row["children"] if c["tag"] == "td"] for row in rows]
    assert cells[0][2] == "ICMP echo filtered towards 203.0.113.10: TCP answers <not host down>"
    assert cells[0][3:] == ["0.66 s", "4.58 s", "1.31 s"]
    assert "push: boom" in cells[1][1] and cells[1][4:] == ["–", "–"]
    assert not page.having("td", "data-host"), "drills are not ping checks: no matrix cells"


def test_html_without_drills_has_no_drill_section() -> None:
    assert not Page(html.to_html(pre_report())).find("table", id="drills")


def test_rtt_null_does_not_crash_the_page() -> None:
    """docs/reports.md: rtt_ms is null without replies; hand-made results may null the whole object."""
    report = pre_report()
    for host in report["hosts"]:
        for check in host["checks"]:
            if check["kind"] == "ping":
                check["measured"]["rtt_ms"] = None
    page = html.to_html(report)
    assert cell_states(page)[("h1", "203.0.113.10")] == "bad"


@functools.lru_cache(maxsize=None)
def fleet_page(hosts: int, own: bool = False, broken_every: int = 20) -> t.Tuple[str, t.Dict[str, t.Any]]:
    report = synthetic.fleet_report(hosts, own=own, broken_every=broken_every)
    return html.to_html(report, synthetic.groups_of(h["name"] for h in report["hosts"])), report


def test_5000_hosts_x_20_targets_fit_the_budget_with_problems_first() -> None:
    text, report = fleet_page(5000)
    assert len(text.encode()) <= BUDGET_BYTES, len(text.encode())
    page = Page(text)
    assert not page.having("td", "data-host"), "no host x target matrix at fleet scale"
    groups = page.find("details")
    counts = {(g["attrs"]["data-kind"], int(g["attrs"]["data-count"])) for g in groups}
    assert ("ping", 250) in counts and ("pmtud", 250) in counts  # every 20th host, grouped with its count
    assert sum(int(g["attrs"]["data-count"]) for g in groups) == len(report["problems"])
    listed = [li for group in groups for ul in group["children"] if ul["tag"] == "ul" for li in ul["children"]]
    assert len(listed) <= len(groups) * (html.PROBLEM_EXAMPLES + 1)
    assert text.index('id="problems"') < text.index('id="fleet"')

    fleet_table = page.find("table", id="fleet")[0]
    header = [c["text"] for c in fleet_table["children"][0]["children"]]
    assert header[2:] == sorted(synthetic.PEERS)  # 20 peers fit: one column each
    group_rows = [r for r in page.find("tr") if "data-group" in r["attrs"]]
    assert [r["attrs"]["data-group"] for r in group_rows] == ["site%02d" % n for n in range(10)]
    expanded = page.having("tr", "data-fleet-host")
    assert len(expanded) == 250 and {r["attrs"]["data-host-status"] for r in expanded} == {"fail"}
    site00 = [n for n in range(5000) if n // 3 % 10 == 0]
    broken = sum(1 for n in site00 if n % 20 == 0)
    first = [c for c in group_rows[0]["children"] if c["tag"] == "td"]
    assert first[0]["text"] == "%d, %d with problems" % (len(site00), broken)
    # the first peer: the one broken hosts lose
    assert first[1]["attrs"]["data-state"] == "bad" and first[1]["text"] == "%d bad · %d ok" % (
        broken, len(site00) - broken)


def test_targets_of_their_own_are_grouped_by_prefix() -> None:
    """Per-host targets (the 1.8 GB case): columns are prefixes merged with netaddr, and the page stays small."""
    text, _report = fleet_page(5000, own=True)
    assert len(text.encode()) <= BUDGET_BYTES, len(text.encode())
    columns = [c["text"] for c in Page(text).find("table", id="fleet")[0]["children"][0]["children"]][2:]
    assert 0 < len(columns) <= fleet.MAX_TARGET_COLUMNS
    assert all(re.fullmatch(r"2001:db8:[0-9a-f:]*/\d+", column) for column in columns), columns


def test_target_columns_keep_targets_that_fit_and_merge_adjacent_prefixes() -> None:
    few = ["203.0.113.10", "2001:db8::1", "gw.example"]
    assert fleet.target_columns(few) == {target: target for target in few}
    many = ["203.0.113.%d" % n for n in range(30)] + ["203.0.112.7", "2001:db8::1", "gw.example"]
    columns = fleet.target_columns(many)
    assert set(columns.values()) == {"203.0.113.0/24", "203.0.112.0/24", "2001:db8::/64", fleet.NAMES_COLUMN}
    tight = fleet.target_columns(many, max_columns=3)  # the two /24s merge (cidr_merge) into one /23
    assert set(tight.values()) == {"203.0.112.0/23", "2001:db8::/64", fleet.NAMES_COLUMN}


def test_problem_labels_group_alike_problems() -> None:
    assert fleet.problem_label("unreachable (loss 100%)") == fleet.problem_label("unreachable (loss 60%)")
    assert fleet.problem_label("path does not traverse 198.51.100.0/24 (path 198.51.100.1 > *)") == (
        "path does not traverse <address> (path ...)")


def test_every_host_broken_is_capped_with_a_count() -> None:
    text, report = fleet_page(1000, broken_every=1)
    assert len(text.encode()) <= BUDGET_BYTES / 5, len(text.encode())
    page = Page(text)
    assert len(page.having("tr", "data-fleet-host")) == html.PROBLEM_HOSTS
    assert "500 more hosts with problems are in the JSON report" in " ".join(text.split())
    assert len(report["problems"]) > 1000


def test_problem_labels_keep_the_words_that_carry_digits() -> None:
    assert fleet.problem_label("rule deleted: ipv4 input type echo-request limit 10/second burst 20 accept") == (
        "rule deleted: ipv4 input type echo-request limit N/second burst N accept")
