# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""galaxy_importer.main with a longer ansible-lint timeout.

galaxy-importer 0.4.44 gives ansible-lint a fixed 180 s and has no setting for it; on a loaded
2-core machine the lint of this collection can take longer, and the importer then logs
"Timeout on call to ansible-lint" and lints nothing. This raises the limit to
GALAXY_IMPORTER_LINT_TIMEOUT seconds (default 900); everything else is the importer's own code.
"""
from __future__ import annotations

import os
import subprocess
import sys
import typing as t

from galaxy_importer import main as importer_main
from galaxy_importer.loaders import collection as collection_loader

LINT_TIMEOUT_S = float(os.environ.get("GALAXY_IMPORTER_LINT_TIMEOUT", "900"))


class _PatientPopen(subprocess.Popen):  # type: ignore[type-arg]
    def communicate(self, input: t.Any = None, timeout: t.Optional[float] = None) -> t.Any:  # noqa: A002
        return super().communicate(input, None if timeout is None else max(timeout, LINT_TIMEOUT_S))


collection_loader.Popen = _PatientPopen  # the name the loader calls ansible-lint with

if __name__ == "__main__":
    sys.exit(importer_main.main())
