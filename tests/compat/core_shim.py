# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pytest plugin for the compat layer: test helpers of the newest ansible-core on older ones.

The unit tests use ``ansible.module_utils.testing.patch_module_args`` (ansible-core 2.19+). On
older cores this provides the same context manager the way collections did before it existed
(``basic._ANSIBLE_ARGS``). Only tests use it; the collection's own code needs no shim.
Loaded with ``-p tests.compat.core_shim`` by scripts/compat.sh.
"""
from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
import types
import typing as t

if importlib.util.find_spec("ansible.module_utils.testing") is None:  # ansible-core 2.19 has it
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    @contextlib.contextmanager
    def patch_module_args(args: t.Optional[t.Dict[str, t.Any]] = None) -> t.Iterator[None]:
        args = dict(args or {})
        args.setdefault("_ansible_remote_tmp", "/tmp")
        args.setdefault("_ansible_keep_remote_files", False)
        saved = basic._ANSIBLE_ARGS  # type: ignore[attr-defined]
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))  # type: ignore[attr-defined]
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved  # type: ignore[attr-defined]

    shim = types.ModuleType("ansible.module_utils.testing")
    shim.patch_module_args = patch_module_args  # type: ignore[attr-defined]
    sys.modules["ansible.module_utils.testing"] = shim
