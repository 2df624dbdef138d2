# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Put the guides in docs/*.md on the docs site: docs/docsite/rst/*.rst and extra-docs.yml.

antsibull-docs (docs.ansible.com and every collection docsite built with it) shows extra docs
only as RST files listed in docs/docsite/extra-docs.yml. The guides stay Markdown (GitHub and
Galaxy render it); this script converts them with m2r2 and rewrites relative links into links to
the repository, so the docsite never has a dead link. ``--check`` exits 1 when a generated file is
stale (a unit test runs it); without it the files are rewritten.
"""
from __future__ import annotations

import argparse
import posixpath
import re
import sys
import typing as t
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCSITE = ROOT / "docs" / "docsite"
LABEL = "ansible_collections.netdevops.icmp.docsite.%s"
# (section title, [(name, Markdown source)]): the order of the docsite's table of contents.
SECTIONS: t.List[t.Tuple[str, t.List[t.Tuple[str, str]]]] = [
    ("Guides", [
        ("quickstart", "docs/quickstart.md"),
        ("awx", "docs/awx.md"),
        ("pipeline", "docs/pipeline.md"),
        ("validation", "docs/validation.md"),
        ("reports", "docs/reports.md"),
        ("policy", "docs/policy.md"),
        ("policy_profiles", "docs/policy_profiles.md"),
        ("policy_targets", "docs/policy_targets.md"),
        ("capture", "docs/capture.md"),
        ("module_defaults", "docs/module_defaults.md"),
        ("lab", "docs/lab.md"),
    ]),
    ("Probes", [
        ("ping", "docs/ping.md"),
        ("traceroute", "docs/traceroute.md"),
        ("pmtud", "docs/pmtud.md"),
        ("stats", "docs/stats.md"),
    ]),
    ("Disaster drills", [
        ("drills", "docs/drills/README.md"),
        ("failure_scenarios", "docs/failure_scenarios.md"),
        ("drill_pmtud_blackhole", "docs/drills/pmtud_blackhole.md"),
        ("drill_echo_blocked", "docs/drills/echo_blocked.md"),
        ("drill_rate_limit", "docs/drills/rate_limit.md"),
        ("drill_nd_blocked", "docs/drills/nd_blocked.md"),
        ("drill_asymmetric", "docs/drills/asymmetric.md"),
        ("drill_policy_cutoff", "docs/drills/policy_cutoff.md"),
        ("drill_flood", "docs/drills/flood.md"),
        ("drill_redirect", "docs/drills/redirect.md"),
        ("drill_rogue_ra", "docs/drills/rogue_ra.md"),
        ("drill_bgp_pmtud", "docs/drills/bgp_pmtud.md"),
        ("drill_overlay_mtu", "docs/drills/overlay_mtu.md"),
        ("drill_ecmp_partial", "docs/drills/ecmp_partial.md"),
    ]),
]
_LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)(\))")


def _repository() -> str:
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text(encoding="utf-8"))
    return str(galaxy["repository"]).rstrip("/")


def absolute_links(markdown: str, source: str, repository: str) -> str:
    """Relative links of ``source`` (a repository path) become links into the repository."""
    base = posixpath.dirname(source)

    def replace(match: "re.Match[str]") -> str:
        target = match.group(2)
        if re.match(r"[a-z][a-z0-9+.-]*:|#", target):
            return match.group(0)
        path, anchor = (target.split("#", 1) + [""])[:2]
        resolved = posixpath.normpath(posixpath.join(base, path))
        kind = "raw" if match.group(1).startswith("!") else "blob"
        url = "%s/%s/main/%s%s" % (repository, kind, resolved, "#" + anchor if anchor else "")
        return match.group(1) + url + match.group(3)

    return _LINK.sub(replace, markdown)


def _code_languages(rst: str) -> str:
    """Every code block gets a language (rstcheck needs one); elided examples ("...") are text."""
    out: t.List[str] = []
    lines = rst.split("\n")
    for index, line in enumerate(lines):
        match = re.fullmatch(r"(\s*)\.\. code-block::\s*(\S*)", line)
        if match:
            block = []
            for following in lines[index + 1:]:
                if following.strip() and not following.startswith(match.group(1) + " "):
                    break
                block.append(following)
            language = match.group(2) or "text"
            if language in ("xml", "json") and "..." in "\n".join(block):
                language = "text"
            line = "%s.. code-block:: %s" % (match.group(1), language)
        out.append(line)
    return "\n".join(out)


def render(name: str, source: str, repository: str) -> str:
    import m2r2  # noqa: PLC0415 - only the generator needs it, not the --help of a fresh clone

    markdown = absolute_links((ROOT / source).read_text(encoding="utf-8"), source, repository)
    body = _code_languages(m2r2.convert(markdown).strip("\n"))
    # m2r2 names the targets of links around code "m2r-link-<hash>"; docsite labels need our prefix
    body = body.replace("m2r-link-", (LABEL % name) + ".link-")
    header = (".. Generated by scripts/docsite.py from %s; edit that file, then run the script.\n\n"
              ".. _%s:\n\n" % (source, LABEL % name))
    return header + body + "\n"


def extra_docs() -> str:
    data = {"sections": [{"title": title, "toctree": [guide[0] for guide in guides]} for title, guides in SECTIONS]}
    return "---\n# Generated by scripts/docsite.py (the guides of docs/*.md, as docs/docsite/rst/*.rst).\n" + \
        yaml.dump(data, Dumper=_Indented, sort_keys=False)


class _Indented(yaml.SafeDumper):
    """Lists indented under their key, as yamllint (and ansible-lint) expect."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def wanted_files() -> t.Dict[Path, str]:
    repository = _repository()
    files = {DOCSITE / "extra-docs.yml": extra_docs()}
    for _title, guides in SECTIONS:
        for name, source in guides:
            files[DOCSITE / "rst" / ("%s.rst" % name)] = render(name, source, repository)
    return files


def main(argv: t.Optional[t.List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files (exit 1)")
    args = parser.parse_args(argv)
    wanted = wanted_files()
    present = set((DOCSITE / "rst").glob("*.rst")) if (DOCSITE / "rst").is_dir() else set()
    stale = [path for path, text in wanted.items()
             if not path.is_file() or path.read_text(encoding="utf-8") != text]
    extra = sorted(present - set(wanted))
    if args.check:
        for path in stale + extra:
            print("%s is stale; run .venv/bin/python scripts/docsite.py" % path.relative_to(ROOT), file=sys.stderr)
        return 1 if stale or extra else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(wanted[path], encoding="utf-8")
    for path in extra:
        path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
