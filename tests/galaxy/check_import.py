# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Judge a galaxy-importer run: no WARNING/ERROR line, every plugin and role documented.

Usage: check_import.py IMPORTER_LOG IMPORTER_RESULT_JSON (exit 1 with the findings).
"""
from __future__ import annotations

import json
import sys
import typing as t

# Content Galaxy shows with documentation; action plugins share their module's docs, and
# doc_fragments, module_utils and playbooks have none of their own.
DOCUMENTED_TYPES = ("module", "connection", "filter", "lookup", "callback", "inventory", "test")


def findings(log: str, result: t.Mapping[str, t.Any]) -> t.List[str]:
    found = [line for line in log.splitlines() if line.startswith(("WARNING:", "ERROR:"))]
    for content in result["docs_blob"]["contents"]:
        key = (content["content_type"], content["content_name"])
        if key[0] in DOCUMENTED_TYPES and not content.get("doc_strings"):
            found.append("undocumented %s %s" % key)
        if key[0] == "role" and not (content.get("readme_file") and content.get("readme_html")):
            found.append("role %s has no README" % key[1])
    roles = [c for c in result["contents"] if c["content_type"] == "role"]
    if not roles:
        found.append("no roles found in the import result")
    found += ["role %s has no description" % c["name"] for c in roles if not c.get("description")]
    return found


def main(argv: t.List[str]) -> int:
    with open(argv[1], encoding="utf-8") as handle:
        log = handle.read()
    with open(argv[2], encoding="utf-8") as handle:
        result = json.load(handle)
    problems = findings(log, result)
    counts: t.Dict[str, int] = {}
    for content in result["contents"]:
        counts[content["content_type"]] = counts.get(content["content_type"], 0) + 1
    print("galaxy: imported %s" % ", ".join("%d %s" % (n, kind) for kind, n in sorted(counts.items())))
    for problem in problems:
        print("galaxy: %s" % problem)
    print("galaxy: %s" % ("FAILED" if problems else "ok, no errors or warnings"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
