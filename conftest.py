"""Make the working tree importable as ``ansible_collections.netdevops.icmp``.

The collection lives at the repository root, but its code imports itself by the
collection path. A symlink under ``.build/collections`` gives the tree that name
without copying it; every pytest run (and ``make``) uses the same link.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
COLLECTIONS = ROOT / ".build" / "collections"
LINK = COLLECTIONS / "ansible_collections" / "netdevops" / "icmp"


def _ensure_link() -> None:
    LINK.parent.mkdir(parents=True, exist_ok=True)
    if not LINK.is_symlink():
        try:
            os.symlink(ROOT, LINK)
        except FileExistsError:  # another xdist worker made it first
            pass


_ensure_link()
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
