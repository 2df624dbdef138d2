"""Offline stand-in for ansible-test's pip bootstrap script (get-pip).

ansible-test bootstraps pip in every sanity virtualenv with a script it downloads from a
host outside the package registries. This machine (and CI) reaches only the registries,
so ``scripts/sanity.sh`` seeds ansible-test's cache with this file instead: pip comes from
the interpreter's own ``ensurepip`` and the pinned pip version from the package index.
ansible-test runs it as ``python get_pip.py --disable-pip-version-check pip==X
--no-setuptools --no-wheel``.
"""
from __future__ import annotations

import subprocess
import sys

DROP = {"--no-setuptools", "--no-wheel"}


def main() -> None:
    args = [arg for arg in sys.argv[1:] if arg not in DROP]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
    subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)


if __name__ == "__main__":
    main()
