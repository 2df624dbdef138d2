"""History keys that Linux does not reuse, with fakes of /proc/self/ns/net, /run/netns and the ids.

A named namespace is a bind mount of the same nsfs inode as /proc/self/ns/net; here a hard
link plays that part (same device and inode), and a re-created namespace is a new file.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import netscope
from ansible_collections.netdevops.icmp.plugins.module_utils._policy.model import PolicyError

MACHINE = "3d1219c7c4c5404aaa1f6d2a48adfda4"
BOOT = "eb9ec534-eb17-4154-b4c4-8ca7c1bbc866"


class FakeHost:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "run-netns").mkdir()
        (root / "machine-id").write_text(MACHINE + "\n")
        (root / "boot_id").write_text(BOOT + "\n")
        self.ns = root / "ns-net"
        self.ns.write_text("")
        self.state = str(root / "state")

    def identity(self, init: bool = False) -> netscope.NetnsIdentity:
        paths = netscope.Paths(self_netns=str(self.ns), named_netns_dir=str(self.root / "run-netns"),
                               machine_id=str(self.root / "machine-id"), boot_id=str(self.root / "boot_id"),
                               init_ino=os.stat(self.ns).st_ino if init else netscope.PROC_NET_INIT_INO)
        return netscope.NetnsIdentity(paths)

    def name_it(self, name: str) -> None:
        os.link(self.ns, self.root / "run-netns" / name)

    def recreate(self, name: str) -> None:
        """``ip netns del NAME; ip netns add NAME``: a new nsfs inode (its times differ)."""
        os.unlink(self.root / "run-netns" / name)
        os.unlink(self.ns)
        self.ns.write_text("")
        os.utime(self.ns, ns=(1, 1))  # a different ctime even where the inode number comes back
        self.name_it(name)


@pytest.fixture
def host(tmp_path):
    return FakeHost(tmp_path)


def test_the_init_namespace_is_keyed_by_the_machine_id(host):
    identity = host.identity(init=True)
    assert identity.scope(host.state) == "host-" + MACHINE
    assert identity.lock_name() == "host"
    (host.root / "machine-id").write_text("not-an-id\n")
    assert identity.scope(host.state) == "host"
    assert not os.path.exists(host.state), "nothing is written for the init namespace"


def test_a_named_namespace_gets_its_name_and_a_stable_creation_marker(host):
    host.name_it("nilab-h1")
    (host.root / "run-netns" / "other").write_text("")
    identity = host.identity()
    scope = identity.scope(host.state)
    assert re.fullmatch(r"netns-nilab-h1-[0-9a-f]{12}", scope), scope
    assert identity.scope(host.state) == scope, "the same namespace keeps its key"
    assert identity.lock_name() == "netns-nilab-h1"
    marker = host.root / "state" / "netns" / "nilab-h1.json"
    assert oct(marker.stat().st_mode & 0o777) == "0o600"


def test_a_recreated_namespace_of_the_same_name_does_not_inherit_the_history(host):
    host.name_it("nilab-h1")
    identity = host.identity()
    first = identity.scope(host.state)
    host.recreate("nilab-h1")
    second = identity.scope(host.state)
    assert second != first and second.startswith("netns-nilab-h1-")
    assert identity.lock_name() == "netns-nilab-h1"


def test_a_reboot_invalidates_the_marker(host):
    host.name_it("n1")
    identity = host.identity()
    first = identity.scope(host.state)
    (host.root / "boot_id").write_text("0b9ec534-eb17-4154-b4c4-8ca7c1bbc866\n")
    assert identity.scope(host.state) != first


def test_check_mode_writes_nothing_and_has_no_history_before_the_first_run(host):
    host.name_it("n1")
    identity = host.identity()
    assert identity.scope(host.state, create=False) is None
    assert not os.path.exists(host.state)
    made = identity.scope(host.state)
    assert identity.scope(host.state, create=False) == made


def test_a_damaged_marker_file_is_replaced(host):
    host.name_it("n1")
    identity = host.identity()
    identity.scope(host.state)
    (host.root / "state" / "netns" / "n1.json").write_text("{broken")
    assert identity.scope(host.state).startswith("netns-n1-")


def test_an_unnamed_namespace_is_keyed_by_inode_boot_id_and_creation_time(host):
    (host.root / "run-netns" / "bad name\n").write_text("")  # names that are not ours to trust are skipped
    info = os.stat(host.ns)
    identity = host.identity()
    expected = "netns-%d-%s-%d" % (info.st_ino, BOOT.replace("-", "")[:12], info.st_ctime_ns)
    assert identity.scope(host.state) == expected == identity.lock_name()
    assert not os.path.exists(host.state)


def test_a_missing_proc_is_a_clear_error(tmp_path):
    identity = netscope.NetnsIdentity(netscope.Paths(self_netns=str(tmp_path / "missing")))
    with pytest.raises(PolicyError, match=r"cannot identify this network namespace: stat .*missing failed"):
        identity.lock_name()


def test_the_real_namespace_has_a_key():
    """On this machine (read-only): whatever namespace the tests run in has a well-formed key."""
    assert re.fullmatch(r"host|netns-[A-Za-z0-9_.-]+|netns-\d+-\w+-\d+", netscope.NetnsIdentity().lock_name())
