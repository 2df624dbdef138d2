# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The HTML report in a real browser: Debian's ``chromium --headless``, driven over the
DevTools protocol on ``--remote-debugging-pipe`` (standard library only).

The page comes from a real lab run (default topology h1 - r1 - h2) with one broken
target: h2 drops IPv4 echo requests, so the matrix cell h1 x h2's IPv4 address must
show the loss and the failed state, and every other cell must be OK. The page must
load without JavaScript exceptions or console errors, fetch nothing but itself, and
its one script (the "only hosts with problems" filter) must work.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import time
import typing as t
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT_REASON, build_lab

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SCHEMA = REPO / "plugins" / "plugin_utils" / "_report" / "report.schema.json"
CHROMIUM = shutil.which("chromium")
NEEDS_CHROMIUM = pytest.mark.skipif(
    CHROMIUM is None,
    reason="needs Debian's chromium for the headless browser test (apt-get install chromium; scripts/setup-system.sh)")
# the matrix as the browser renders it: one entry per cell
CELLS_JS = """JSON.stringify(Array.from(document.querySelectorAll('#matrix td.cell')).map(function (td) {
  return {host: td.dataset.host, target: td.dataset.target, state: td.dataset.state, cls: td.className,
          text: td.textContent, title: td.title, background: getComputedStyle(td).backgroundColor};
}))"""
ROWS_JS = """JSON.stringify(Array.from(document.querySelectorAll('#matrix tr[data-host-status]')).map(function (tr) {
  return [tr.querySelector('th').textContent, tr.dataset.hostStatus, getComputedStyle(tr).display];
}))"""
# --ok-bg and --bad-bg of the page's stylesheet, as computed colours
OK_BG, BAD_BG = "rgb(227, 246, 234)", "rgb(253, 232, 232)"
BROKEN = "table inet brk {\n chain input {\n  type filter hook input priority 0;\n  icmp type echo-request drop\n }\n}\n"


class DevTools:
    """A headless Chromium and the DevTools protocol over its pipe (fd 3 in, fd 4 out, NUL-framed JSON)."""

    def __init__(self, workdir: Path, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.events: t.List[t.Dict[str, t.Any]] = []
        self._next_id = 0
        self._buffer = b""
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # no background traffic of the browser's own (updates, sync, QUIC probes): network safety rule
        argv = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--no-default-browser-check", "--remote-debugging-pipe",
                "--user-data-dir=%s" % (workdir / "profile"), "about:blank"]
        # bash (dash takes one-digit descriptors only) puts our pipe ends on the descriptors the protocol expects
        wrapper = 'exec "$@" 3<&%d 4>&%d' % (to_browser_r, from_browser_w)
        self._log = (workdir / "chromium.log").open("w")
        self.proc = subprocess.Popen(["/bin/bash", "-c", wrapper, "bash", *argv], pass_fds=(to_browser_r, from_browser_w),
                                     stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        os.close(to_browser_r)
        os.close(from_browser_w)

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                self._write({"id": 0, "method": "Browser.close"})
                self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        finally:
            os.close(self._to_browser)
            os.close(self._from_browser)
            self._log.close()

    def _write(self, message: t.Dict[str, t.Any]) -> None:
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")

    def _read(self, deadline: float) -> t.Dict[str, t.Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from chromium within %ss" % self.timeout)
            ready, _w, _x = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 65536)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe (exit %s)" % self.proc.poll())
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return t.cast(t.Dict[str, t.Any], json.loads(raw))

    def call(self, method: str, params: t.Optional[t.Dict[str, t.Any]] = None,
             session: t.Optional[str] = None) -> t.Dict[str, t.Any]:
        self._next_id += 1
        message: t.Dict[str, t.Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._write(message)
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._read(deadline)
            if answer.get("id") != self._next_id:
                self.events.append(answer)
                continue
            if "error" in answer:
                raise RuntimeError("%s failed: %s" % (method, answer["error"]))
            return t.cast(t.Dict[str, t.Any], answer.get("result", {}))

    def wait_for(self, method: str, session: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not any(e.get("method") == method and e.get("sessionId") == session for e in self.events):
            self.events.append(self._read(deadline))

    def open(self, url: str) -> str:
        """A new tab with the page loaded (load event fired); returns its session."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page", "Network"):
            self.call("%s.enable" % domain, session=session)
        answer = self.call("Page.navigate", {"url": url}, session=session)
        if answer.get("errorText"):
            raise RuntimeError("cannot load %s: %s" % (url, answer["errorText"]))
        self.wait_for("Page.loadEventFired", session)
        return session

    def evaluate(self, session: str, expression: str) -> t.Any:
        answer = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True, "userGesture": True}, session=session)
        if "exceptionDetails" in answer:
            raise RuntimeError("page script failed: %s" % answer["exceptionDetails"])
        return answer["result"].get("value")

    def page_errors(self, session: str) -> t.List[str]:
        """JavaScript exceptions, console errors and browser log errors of the page."""
        errors = []
        for event in self.events:
            if event.get("sessionId") != session:
                continue
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                errors.append("exception: %s" % (details.get("exception", {}).get("description") or details.get("text")))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append("console.%s: %s" % (params["type"], [a.get("value") for a in params.get("args", [])]))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                errors.append("log: %s" % params["entry"].get("text"))
        return errors

    def requests(self, session: str) -> t.List[str]:
        return [e["params"]["request"]["url"] for e in self.events
                if e.get("sessionId") == session and e.get("method") == "Network.requestWillBeSent"]


def browse(page: Path, workdir: Path, scripts: t.Sequence[str]) -> t.Tuple[t.List[str], t.List[str], t.List[t.Any]]:
    """Load ``page``; run ``scripts`` in it; return (errors, requested URLs, script values)."""
    browser = DevTools(workdir)
    try:
        session = browser.open(page.resolve().as_uri())
        values = [browser.evaluate(session, script) for script in scripts]
        time.sleep(0.2)  # late console messages
        browser.call("Runtime.evaluate", {"expression": "0"}, session=session)  # drain events
        return browser.page_errors(session), browser.requests(session), values
    finally:
        browser.close()


@NEEDS_CHROMIUM
def test_the_browser_check_catches_script_errors_and_fetches(tmp_path: Path) -> None:
    """The harness itself: a page with a broken script and a fetched image must be flagged (the image
    is on a loopback port where nothing listens: the network safety rule)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        image = "http://127.0.0.1:%d/x.png" % probe.getsockname()[1]
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><p id='x'>x</p><img src='%s'>" % image +
                    "<script>console.error('boom'); document.getElementById('nope').click();</script>"
                    "</body></html>", encoding="utf-8")
    errors, requests, values = browse(page, tmp_path, ["document.getElementById('x').textContent"])
    assert values == ["x"]
    assert any(e.startswith("exception: TypeError") for e in errors), errors
    assert any("boom" in e for e in errors), errors
    assert image in requests


def playbook(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build" / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0")
    return subprocess.run([str(BIN / "ansible-playbook"), *args], capture_output=True, text=True, env=env,
                          timeout=300, check=False)


@pytest.fixture(scope="module")
def lab_run(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[t.Dict[str, t.Any]]:
    """change_validation (phase check) over a default lab in which h2 drops IPv4 echo requests."""
    if os.geteuid() != 0:
        pytest.skip(ROOT_REASON)
    work = tmp_path_factory.mktemp("report-run")
    lab = build_lab("default", work)
    try:
        h1, r1, h2, h2_v6 = lab.address("h1"), lab.address("r1"), lab.address("h2"), lab.address("h2", 6)
        plan = work / "plan.yml"
        plan.write_text(yaml.safe_dump({"all": {"hosts": {
            "h1": {"icmp_validate_checks": {"ping": [{"target": h2, "max_loss_pct": 0, "max_rtt_ms": 500}, r1, h2_v6]}},
            "h2": {"icmp_validate_checks": {"ping": [h1, r1]}},
        }}}), encoding="utf-8")
        lab.nft("h2", BROKEN)  # the broken target: h2 no longer answers IPv4 echo requests
        run = playbook("-i", lab.inventory_path, "-i", str(plan), "netdevops.icmp.change_validation", "-l", "h1,h2",
                       "-e", "icmp_validate_phase=check", "-e", "icmp_validate_state_dir=%s" % work,
                       "-e", "icmp_validate_ping_count=3", "-e", "icmp_validate_ping_interval=0.05",
                       "-e", "icmp_validate_timeout=0.5")
        yield {"run": run, "reports": work / "reports", "work": work, "h1": h1, "r1": r1, "h2": h2, "h2_v6": h2_v6}
    finally:
        lab.down()


# the run is limited to h1,h2: its files carry that limit, so other limits and slices never overwrite them
STEM = "change-validation-check.limit-" + hashlib.sha256(b"h1,h2").hexdigest()[:10]


@pytest.mark.root
@pytest.mark.lab
def test_the_run_fails_h1_only(lab_run: t.Dict[str, t.Any]) -> None:
    run = lab_run["run"]
    assert run.returncode == 2, run.stdout[-3000:]
    assert set(re.findall(r"fatal: \[(\S+)\]: FAILED!", run.stdout)) == {"h1"}, run.stdout[-3000:]
    assert sorted(p.name for p in lab_run["reports"].iterdir()) == [
        STEM + ".html", STEM + ".json", STEM + ".junit.xml", STEM + ".prom"]


@pytest.mark.root
@pytest.mark.lab
def test_the_sibling_files_of_the_same_run_parse(lab_run: t.Dict[str, t.Any]) -> None:
    """JSON against its schema, JUnit by an XML parser, metrics by prometheus_client's parser."""
    jsonschema = pytest.importorskip("jsonschema")
    parser = pytest.importorskip("prometheus_client.parser")
    reports, h2 = lab_run["reports"], lab_run["h2"]
    report = json.loads((reports / (STEM + ".json")).read_text())
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(report)
    assert report["status"] == "fail" and report["summary"]["checks_failed"] == 1
    assert report["problems"] == ["h1 ping %s: unreachable (loss 100%%)" % h2]

    suites = ET.parse(str(reports / (STEM + ".junit.xml"))).getroot()
    assert (suites.get("tests"), suites.get("failures"), suites.get("errors")) == ("5", "1", "0")
    failed = [case.get("name") for case in suites.iter("testcase") if case.find("failure") is not None]
    assert failed == ["ping %s" % h2]

    text = (reports / (STEM + ".prom")).read_text()
    families = {f.name: f for f in parser.text_string_to_metric_families(text)}
    loss = {(s.labels["host"], s.labels["target"]): s.value for s in families["netdevops_icmp_ping_loss_ratio"].samples}
    assert loss[("h1", h2)] == 1.0
    assert [v for k, v in loss.items() if k != ("h1", h2)] == [0.0] * 4
    passed = {s.labels["host"]: s.value for s in families["netdevops_icmp_host_passed"].samples}
    assert passed == {"h1": 0, "h2": 1}


@NEEDS_CHROMIUM
@pytest.mark.root
@pytest.mark.lab
def test_html_report_in_headless_chromium(lab_run: t.Dict[str, t.Any]) -> None:
    h1, r1, h2, h2_v6 = lab_run["h1"], lab_run["r1"], lab_run["h2"], lab_run["h2_v6"]
    page = lab_run["reports"] / (STEM + ".html")
    assert page.is_file(), lab_run["run"].stdout[-3000:]
    check_filter = "document.getElementById('only-problems').click(); document.getElementById('only-problems').checked"
    errors, requests, (cells, rows, checked, filtered) = browse(page, lab_run["work"], [CELLS_JS, ROWS_JS, check_filter,
                                                                                        ROWS_JS])
    assert errors == []
    assert requests == [page.resolve().as_uri()]  # self-contained: nothing fetched but the page itself

    matrix = {(cell["host"], cell["target"]): cell for cell in json.loads(cells)}
    assert set(matrix) == {(host, target) for host in ("h1", "h2") for target in (h2, r1, h2_v6, h1)}
    broken = matrix[("h1", h2)]
    assert broken["state"] == "bad" and "bad" in broken["cls"].split(), broken
    assert broken["text"].startswith("100% loss"), broken
    assert "unreachable (loss 100%)" in broken["title"], broken
    assert broken["background"] == BAD_BG, broken
    measured = {key: cell for key, cell in matrix.items() if key in {("h1", r1), ("h1", h2_v6), ("h2", h1), ("h2", r1)}}
    for key, cell in measured.items():
        assert cell["state"] == "ok" and cell["text"].startswith("0% loss"), (key, cell)
        assert cell["title"] == "meets its thresholds" and cell["background"] == OK_BG, (key, cell)
    for key in set(matrix) - set(measured) - {("h1", h2)}:
        assert matrix[key]["state"] == "none", (key, matrix[key])  # not in that host's plan

    # the page's one script: "only hosts with problems" hides h2 (it passed), keeps h1
    assert json.loads(rows) == [["h1", "fail", "table-row"], ["h2", "pass", "table-row"]]
    assert checked is True
    assert json.loads(filtered) == [["h1", "fail", "table-row"], ["h2", "pass", "none"]]


FLEET_JS = """JSON.stringify({
  groups: document.querySelectorAll('#fleet tr[data-group]').length,
  shown: Array.from(document.querySelectorAll('#fleet tr[data-host-status]')).filter(function (tr) {
    return getComputedStyle(tr).display !== 'none'; }).length,
  expanded: document.querySelectorAll('#fleet tr[data-host-status]').length,
  pager: document.querySelector('[data-pager="fleet"] .page').textContent,
  problems: document.querySelectorAll('#problems details').length})"""
FILTER_JS = """(function () { var box = document.getElementById('filter'); box.value = 'host00020';
  box.dispatchEvent(new Event('input')); return Array.from(document.querySelectorAll('#fleet tr[data-host-status]'))
  .filter(function (tr) { return getComputedStyle(tr).display !== 'none'; })
  .map(function (tr) { return tr.dataset.fleetHost; }).join(','); }())"""
NEXT_PAGE_JS = """document.getElementById('filter').value = ''; document.getElementById('filter').dispatchEvent(new Event('input'));
  document.querySelector('[data-pager="fleet"] button[data-step="1"]').click();
  document.querySelector('[data-pager="fleet"] .page').textContent"""


@NEEDS_CHROMIUM
def test_a_5000_host_page_opens_in_headless_chromium_in_seconds(tmp_path: Path) -> None:
    """5,000 synthetic hosts x 20 targets (every 20th host broken): the page is within its size
    budget, loads without errors, and its filter and pager work. The load time is measured
    and printed, not asserted beyond a generous bound (the machine is shared)."""
    from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import html
    from ansible_collections.netdevops.icmp.tests.unit.plugins.plugin_utils._report import synthetic

    report = synthetic.fleet_report(5000)
    page = tmp_path / "fleet.html"
    page.write_text(html.to_html(report, synthetic.groups_of(h["name"] for h in report["hosts"])), encoding="utf-8")
    assert page.stat().st_size <= 5 * 1000 * 1000
    started = time.monotonic()
    errors, requests, (state, filtered, next_page) = browse(page, tmp_path, [FLEET_JS, FILTER_JS, NEXT_PAGE_JS])
    seconds = time.monotonic() - started
    print("5,000-host page: %.2f MB, loaded and scripted in %.1f s" % (page.stat().st_size / 1e6, seconds))
    assert errors == [] and requests == [page.resolve().as_uri()]
    state = json.loads(state)
    assert state["groups"] == 10 and state["expanded"] == 250 and state["shown"] == 100, state
    assert state["pager"] == "page 1 of 3 (250 rows)" and state["problems"] >= 3, state
    assert filtered == "host00020"
    assert next_page == "page 2 of 3 (250 rows)"
    assert seconds < 60, seconds
