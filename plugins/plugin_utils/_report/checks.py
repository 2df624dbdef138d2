# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""Turn probe module results and a check plan into report checks.

A *check plan* is what users write in inventory (``icmp_validate_checks``)::

    ping:       [{target, max_loss_pct, max_rtt_ms, expect: reachable|unreachable}]
    traceroute: [{target, must_traverse: [address, CIDR or range], expect_reached}]
    pmtud:      [{target, min_mtu, allow_black_hole}]

The probe modules run without their own expectations (a failed probe is data);
this file judges each target against the plan, so one broken target never
hides the others. Every check has the same keys (see ``report.schema.json``).
"""
from __future__ import annotations

import functools
import typing as t

from ansible_collections.netdevops.icmp.plugins.plugin_utils._report import addresses

KINDS = ("ping", "traceroute", "pmtud")
PLAN_KEYS = {
    "ping": {"target", "max_loss_pct", "max_rtt_ms", "expect"},
    "traceroute": {"target", "must_traverse", "expect_reached"},
    "pmtud": {"target", "min_mtu", "allow_black_hole"},
}


class PlanError(ValueError):
    """A check plan we cannot use; the message quotes the bad entry."""


def normalize_plan(plan: t.Optional[t.Mapping[str, t.Any]]) -> t.Dict[str, t.List[t.Dict[str, t.Any]]]:
    """Validate a check plan; entries may be plain target strings."""
    if plan is None:
        plan = {}
    if not isinstance(plan, t.Mapping):
        raise PlanError("the check plan must be a mapping with ping, traceroute and pmtud lists, got %r" % (plan,))
    unknown = sorted(set(plan) - set(KINDS))
    if unknown:
        raise PlanError("unknown check kind(s) %s in the check plan; use: %s" % (", ".join(unknown), ", ".join(KINDS)))
    result: t.Dict[str, t.List[t.Dict[str, t.Any]]] = {}
    for kind in KINDS:
        entries = plan.get(kind) or []
        if not isinstance(entries, list):
            raise PlanError("check plan %s must be a list, got %r" % (kind, entries))
        result[kind] = [_entry(kind, entry) for entry in entries]
    return result


def _entry(kind: str, raw: t.Any) -> t.Dict[str, t.Any]:
    entry = {"target": raw} if isinstance(raw, str) else raw
    if not isinstance(entry, t.Mapping) or not entry.get("target"):
        raise PlanError("%s check %r needs a target (an address or host name)" % (kind, raw))
    bad = sorted(set(entry) - PLAN_KEYS[kind])
    if bad:
        raise PlanError("%s check %r: unknown key(s) %s; allowed: %s"
                        % (kind, dict(entry), ", ".join(bad), ", ".join(sorted(PLAN_KEYS[kind]))))
    entry = dict(entry)
    entry["target"] = str(entry["target"])
    if kind == "ping" and entry.get("expect", "reachable") not in ("reachable", "unreachable"):
        raise PlanError("ping check %r: expect must be reachable or unreachable" % (dict(entry),))
    for key in ("max_loss_pct", "max_rtt_ms", "min_mtu"):
        value = entry.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            raise PlanError("%s check %r: %s must be a number >= 0, got %r" % (kind, dict(entry), key, value))
    if kind == "traceroute":
        hops = entry.get("must_traverse") or []
        if not isinstance(hops, list):
            raise PlanError("traceroute check %r: must_traverse must be a list" % (dict(entry),))
        for hop in hops:
            try:
                hop_set(hop)
            except ValueError as err:
                raise PlanError("traceroute check %r: must_traverse entry %r is not an address, a CIDR "
                                "(198.51.100.0/24) or a range (198.51.100.10-198.51.100.20): %s"
                                % (dict(entry), hop, err)) from err
    return entry


def hop_set(spec: t.Any) -> t.Any:
    """The addresses a ``must_traverse`` entry names: one address, a CIDR, or ``first-last``."""
    return _hop_set(str(spec).strip())


@functools.lru_cache(maxsize=1024)  # a fleet shares its plan: parse each entry once (callers only read the set)
def _hop_set(text: str) -> t.Any:
    netaddr = addresses.netaddr()
    try:
        if "-" in text:
            first, last = (part.strip() for part in text.split("-", 1))
            first_ip, last_ip = netaddr.IPAddress(first), netaddr.IPAddress(last)
            if first_ip.version != last_ip.version or first_ip > last_ip:
                raise ValueError("a range runs from the lower to the higher address of one family")
            return netaddr.IPSet(netaddr.IPRange(first_ip, last_ip))
        if "/" in text:
            return netaddr.IPSet([netaddr.IPNetwork(text).cidr])
        return netaddr.IPSet([netaddr.IPAddress(text)])
    except (netaddr.AddrFormatError, TypeError) as err:
        raise ValueError(str(err)) from err


def _check(kind: str, target: str, expect: t.Dict[str, t.Any],
           result: t.Optional[t.Mapping[str, t.Any]] = None) -> t.Dict[str, t.Any]:
    return {"id": "%s:%s" % (kind, target), "kind": kind, "target": target, "status": "pass",
            "measured": None, "expect": expect, "failures": [], "baseline": None, "regressions": [], "notes": [],
            "elapsed_ms": _elapsed_ms(result)}


def _elapsed_ms(result: t.Optional[t.Mapping[str, t.Any]]) -> t.Optional[float]:
    """The probe's run time: a ping result times all its targets at once (they run together)."""
    if not isinstance(result, t.Mapping):
        return None
    value = _num(result.get("elapsed_ms"))
    if value is None and isinstance(result.get("summary"), t.Mapping):
        value = _num(result["summary"].get("elapsed_ms"))
    return value


def _error(check: t.Dict[str, t.Any], message: str) -> t.Dict[str, t.Any]:
    check["status"] = "error"
    check["failures"].append(message)
    return check


def _num(value: t.Any) -> t.Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


# --- ping -----------------------------------------------------------------------------------

def ping_checks(entries: t.Sequence[t.Mapping[str, t.Any]], result: t.Optional[t.Mapping[str, t.Any]]
                ) -> t.List[t.Dict[str, t.Any]]:
    """One check per planned target from one ``netdevops.icmp.ping`` result."""
    by_target = {}
    for item in (result or {}).get("results") or []:
        by_target[str(item.get("target"))] = item
    checks = []
    for entry in entries:
        expect = {"expect": entry.get("expect", "reachable"), "max_loss_pct": entry.get("max_loss_pct"),
                  "max_rtt_ms": entry.get("max_rtt_ms")}
        check = _check("ping", entry["target"], expect, result)
        item = by_target.get(entry["target"])
        if item is None:
            checks.append(_error(check, "no ping result for %s: %s" % (entry["target"], _why(result))))
            continue
        if item.get("status") == "error":
            # Not probed (a name that does not resolve, a bad source): an error, never an outage.
            checks.append(_error(check, "%s was not probed: %s" % (entry["target"], item.get("error") or "error")))
            continue
        check["measured"] = measure_ping(item)
        check["failures"] = judge_ping(check["measured"], expect)
        check["status"] = "fail" if check["failures"] else "pass"
        checks.append(check)
    return checks


def measure_ping(item: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    rtt = item.get("rtt_ms") or {}
    return {
        "address": item.get("address"),
        "family": item.get("family"),
        "sent": item.get("sent"),
        "received": item.get("received"),
        "loss_pct": _num(item.get("loss_pct")),
        "rtt_ms": {key: _num(rtt.get(key)) for key in ("min", "avg", "max", "mdev")},
        "reachable": bool(item.get("reachable")),
    }


def judge_ping(measured: t.Mapping[str, t.Any], expect: t.Mapping[str, t.Any]) -> t.List[str]:
    loss, avg = measured["loss_pct"], measured["rtt_ms"]["avg"]
    if expect["expect"] == "unreachable":
        return ["reachable but expected unreachable (loss %s%%)" % _fmt(loss)] if measured["reachable"] else []
    if not measured["reachable"]:
        return ["unreachable (loss %s%%)" % _fmt(loss)]
    failures = []
    if expect.get("max_loss_pct") is not None and loss is not None and loss > expect["max_loss_pct"]:
        failures.append("loss %s%% > max_loss_pct %s" % (_fmt(loss), _fmt(expect["max_loss_pct"])))
    if expect.get("max_rtt_ms") is not None and avg is not None and avg > expect["max_rtt_ms"]:
        failures.append("avg RTT %s ms > max_rtt_ms %s" % (_fmt(avg), _fmt(expect["max_rtt_ms"])))
    return failures


# --- traceroute -----------------------------------------------------------------------------

def traceroute_check(entry: t.Mapping[str, t.Any], result: t.Optional[t.Mapping[str, t.Any]]) -> t.Dict[str, t.Any]:
    expect = {"expect_reached": entry.get("expect_reached", True), "must_traverse": list(entry.get("must_traverse") or [])}
    check = _check("traceroute", entry["target"], expect, result)
    if not result or result.get("path") is None:
        return _error(check, "no traceroute result for %s: %s" % (entry["target"], _why(result)))
    path = [None if hop is None else str(hop) for hop in result.get("path") or []]
    check["measured"] = {"destination": result.get("destination"), "reached": bool(result.get("reached")),
                         "path": path, "hop_count": len(path)}
    check["failures"] = judge_traceroute(check["measured"], expect)
    check["status"] = "fail" if check["failures"] else "pass"
    return check


def judge_traceroute(measured: t.Mapping[str, t.Any], expect: t.Mapping[str, t.Any]) -> t.List[str]:
    failures = []
    shown = _path_text(measured["path"])
    if expect.get("expect_reached", True) and not measured["reached"]:
        failures.append("destination not reached (path %s)" % shown)
    for hop in expect.get("must_traverse") or []:
        wanted = _hop_set_or_none(hop)
        if not any(path_hop_in(address, hop, wanted) for address in measured["path"] if address):
            failures.append("path does not traverse %s (path %s)" % (hop, shown))
    return failures


def _hop_set_or_none(spec: t.Any) -> t.Any:
    try:
        return hop_set(spec)
    except ValueError:
        return None


def path_hop_in(address: str, wanted: str, wanted_set: t.Any = None) -> bool:
    """Is this hop one of the ``must_traverse`` entry's addresses (an address, CIDR or range)?"""
    netaddr = addresses.netaddr()
    wanted_set = wanted_set if wanted_set is not None else _hop_set_or_none(wanted)
    if wanted_set is None:
        return address == wanted
    try:
        return netaddr.IPAddress(address) in wanted_set
    except (netaddr.AddrFormatError, ValueError):
        return False


def _path_text(path: t.Sequence[t.Optional[str]]) -> str:
    return " > ".join(hop or "*" for hop in path) or "(empty)"


# --- pmtud ----------------------------------------------------------------------------------

def pmtud_check(entry: t.Mapping[str, t.Any], result: t.Optional[t.Mapping[str, t.Any]]) -> t.Dict[str, t.Any]:
    expect = {"min_mtu": entry.get("min_mtu"), "allow_black_hole": _flag(entry.get("allow_black_hole", False))}
    check = _check("pmtud", entry["target"], expect, result)
    if not result or "path_mtu" not in result:
        return _error(check, "no pmtud result for %s: %s" % (entry["target"], _why(result)))
    check["measured"] = {key: result.get(key) for key in ("path_mtu", "local_mtu", "reported_by")}
    check["measured"].update(black_hole=bool(result.get("black_hole")), inferred=bool(result.get("inferred")))
    check["failures"] = judge_pmtud(check["measured"], expect)
    check["status"] = "fail" if check["failures"] else "pass"
    return check


def judge_pmtud(measured: t.Mapping[str, t.Any], expect: t.Mapping[str, t.Any]) -> t.List[str]:
    failures = []
    mtu = measured["path_mtu"]
    if mtu is None:
        failures.append("no path MTU found")
    elif expect.get("min_mtu") is not None and mtu < expect["min_mtu"]:
        failures.append("path MTU %d < min_mtu %d" % (mtu, expect["min_mtu"]))
    if measured["black_hole"] and not expect.get("allow_black_hole"):
        failures.append("PMTUD black hole: ICMP 'fragmentation needed' / 'packet too big' is dropped on the path"
                        " (path MTU %s inferred)" % mtu)
    return failures


def _why(result: t.Optional[t.Mapping[str, t.Any]]) -> str:
    if not result:
        return "the check did not run"
    return str(result.get("msg") or "the module returned no data for it")


def _fmt(value: t.Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return ("%.3f" % value).rstrip("0").rstrip(".")
    return str(value)


def build_checks(plan: t.Mapping[str, t.Any], ping: t.Optional[t.Mapping[str, t.Any]] = None,
                 traceroute: t.Optional[t.Sequence[t.Mapping[str, t.Any]]] = None,
                 pmtud: t.Optional[t.Sequence[t.Mapping[str, t.Any]]] = None) -> t.List[t.Dict[str, t.Any]]:
    """All checks of one host, in plan order: ping, then traceroute, then pmtud.

    ``traceroute`` and ``pmtud`` are the module results in plan order (as a loop
    registers them in ``results``).
    """
    normal = normalize_plan(plan)
    checks = ping_checks(normal["ping"], ping) if normal["ping"] else []
    traces = list(traceroute or [])
    for index, entry in enumerate(normal["traceroute"]):
        checks.append(traceroute_check(entry, traces[index] if index < len(traces) else None))
    mtus = list(pmtud or [])
    for index, entry in enumerate(normal["pmtud"]):
        checks.append(pmtud_check(entry, mtus[index] if index < len(mtus) else None))
    return checks


def _flag(value: t.Any) -> bool:
    """A check-plan boolean as AWX surveys and ``-e key=value`` pass it: the string ``false`` is false."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "on", "1")
    return bool(value)
