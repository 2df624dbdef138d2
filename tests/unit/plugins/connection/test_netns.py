# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The netns connection: command wrapping, option precedence, the missing-namespace error."""
from __future__ import annotations

import shlex
import typing as t
from pathlib import Path

import pytest
from ansible import constants as C
from ansible.errors import AnsibleConnectionFailure
from ansible.playbook.play_context import PlayContext
from ansible.plugins.connection.local import Connection as LocalConnection
from ansible.plugins.loader import fragment_loader
from ansible.utils.plugin_docs import get_docstring

from ansible_collections.netdevops.icmp.plugins.connection import netns


NAME = "netdevops.icmp.netns"


def load_plugin() -> t.Any:
    """The plugin with its documented options registered, as the plugin loader would do."""
    doc = get_docstring(netns.__file__, fragment_loader)[0]
    C.config.initialize_plugin_configuration_definitions("connection", NAME, doc["options"])
    conn = netns.Connection(PlayContext(), None)
    conn._load_name = NAME
    return conn


def make_connection(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str = "nilab-t1-h1",
                    create: bool = True) -> t.Any:
    monkeypatch.setattr(netns, "NETNS_RUN_DIR", str(tmp_path))
    if create:
        (tmp_path / name).touch()
    conn = load_plugin()
    conn.set_options(var_options={"ansible_host": name, "inventory_hostname": "h1"})
    return conn


def test_documented_options_and_defaults() -> None:
    doc = get_docstring(netns.__file__, fragment_loader)[0]
    assert doc["name"] == "netns"
    assert [item["name"] for item in doc["options"]["netns_name"]["vars"]] == [
        "inventory_hostname", "ansible_host", "ansible_netns_name",
    ]
    assert "pipelining" in doc["options"]


def test_wrap_command_quotes_everything() -> None:
    wrapped = netns.wrap_command("ip", "nilab-t1-h1", "echo 'a b' && exit 3")
    assert shlex.split(wrapped) == ["ip", "netns", "exec", "nilab-t1-h1", "/bin/sh", "-c", "echo 'a b' && exit 3"]


def test_exec_command_runs_inside_the_namespace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: t.List[str] = []

    def fake_exec(self: t.Any, cmd: str, in_data: t.Optional[bytes] = None, sudoable: bool = True) -> t.Any:
        seen.append(cmd)
        return 0, b"out", b""

    monkeypatch.setattr(LocalConnection, "exec_command", fake_exec)
    conn = make_connection(monkeypatch, tmp_path)
    assert conn.exec_command("/usr/bin/python3 -c 'print(1)'") == (0, b"out", b"")
    assert seen == ["ip netns exec nilab-t1-h1 /bin/sh -c '/usr/bin/python3 -c '\"'\"'print(1)'\"'\"''"]


def test_ansible_netns_name_wins_over_ansible_host(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    conn = make_connection(monkeypatch, tmp_path)
    conn.set_options(var_options={"inventory_hostname": "h1", "ansible_host": "nilab-t1-h1",
                                  "ansible_netns_name": "other"})
    assert conn.get_option("netns_name") == "other"
    conn.set_options(var_options={"inventory_hostname": "h1", "ansible_host": "nilab-t1-h1"})
    assert conn.get_option("netns_name") == "nilab-t1-h1"


def test_missing_namespace_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "nilab-t1-r1").touch()
    conn = make_connection(monkeypatch, tmp_path, name="nilab-t1-ghost", create=False)
    with pytest.raises(AnsibleConnectionFailure) as caught:
        conn._connect()
    assert str(caught.value) == (
        "network namespace 'nilab-t1-ghost' does not exist (no %s/nilab-t1-ghost); build the lab first "
        "(netdevops.icmp.lab_up) or fix ansible_host. Existing namespaces: nilab-t1-r1" % tmp_path
    )


def test_a_path_is_not_a_namespace_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    conn = make_connection(monkeypatch, tmp_path, name="../etc", create=False)
    with pytest.raises(AnsibleConnectionFailure, match="invalid network namespace name '../etc'"):
        conn._connect()


def test_file_transfer_is_local(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    conn = make_connection(monkeypatch, tmp_path)
    conn._connect()
    source = tmp_path / "in.txt"
    source.write_text("payload", encoding="utf-8")
    conn.put_file(str(source), str(tmp_path / "out.txt"))
    conn.fetch_file(str(tmp_path / "out.txt"), str(tmp_path / "back.txt"))
    assert (tmp_path / "back.txt").read_text(encoding="utf-8") == "payload"
