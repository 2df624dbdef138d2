"""The policy module in-process: offline states, argument handling and every bad-input error."""
from __future__ import annotations

import json
import os
import typing as t
from pathlib import Path

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.netdevops.icmp.plugins.modules import policy as policy_module

GOLDEN = Path(__file__).resolve().parents[1] / "module_utils" / "_policy" / "golden"


def run_module(capsys: pytest.CaptureFixture[str], args: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    with patch_module_args(args), pytest.raises(SystemExit):
        policy_module.main()
    result: t.Dict[str, t.Any] = json.loads(capsys.readouterr().out)
    return result


def test_rendered_nftables(capsys):
    result = run_module(capsys, {"state": "rendered", "backend": "nftables", "config": {
        "rules": [{"family": "ipv6", "type": "packet-too-big", "action": "accept"}]}})
    assert result["changed"] is False and result["backend"] == "nftables"
    assert result["rendered"] == [
        "table inet netdevops_icmp", "delete table inet netdevops_icmp", "table inet netdevops_icmp {",
        "\tchain input {", "\t\ttype filter hook input priority filter; policy accept;",
        "\t\ticmpv6 type packet-too-big counter accept", "\t}", "}"]
    assert result["before"] is None and result["gathered"] is None and result["parsed"] is None


def test_rendered_iptables_with_custom_prefix(capsys):
    result = run_module(capsys, {"state": "rendered", "backend": "iptables", "chain_prefix": "ICMP",
                                 "config": {"rules": [{"family": "ipv4", "type": 3, "code": 4, "action": "accept"}]}})
    assert result["rendered"] == ["iptables-restore --noflush", "*filter", ":ICMP-IN - [0:0]",
                                  "-A ICMP-IN -p icmp -m icmp --icmp-type 3/4 -j ACCEPT",
                                  "-I INPUT 1 -j ICMP-IN", "COMMIT"]


@pytest.mark.parametrize("backend,golden", [("nftables", "rfc4890-host.nft.json"),
                                            ("iptables", "rfc4890-host.ip6tables-save")])
def test_parsed(capsys, backend, golden):
    result = run_module(capsys, {"state": "parsed", "backend": backend,
                                 "running_config": (GOLDEN / golden).read_text()})
    rules = result["parsed"]["rules"]
    assert {"family": "ipv6", "direction": "input", "type": "nd-neighbor-solicit", "code": None, "action": "accept",
            "rate": None, "burst": None, "log_prefix": None, "source": None, "destination": None} in rules
    assert rules[-1]["type"] == "any" and rules[-1]["action"] == "drop"


@pytest.mark.parametrize("rules,message", [
    ([{"family": "ipv4", "type": "echo-requets", "action": "accept"}],
     "rule 1 {family: 'ipv4', type: 'echo-requets', action: 'accept', direction: 'input'}: unknown ipv4 ICMP type"),
    ([{"family": "ipv6", "type": "timestamp-request", "action": "drop"}], "is an ipv4 type"),
    ([{"family": "ipv4", "type": "echo-request", "code": 3, "action": "accept"}], "out of range for ipv4 type 8"),
    ([{"family": "ipv4", "type": 8, "action": "accept", "rate": "lots"}], "rate 'lots' does not parse"),
    ([{"family": "ipv4", "type": 8}], "action None is not one of"),
    ([{"family": "ipv4", "type": 3, "code": 4, "action": "drop"}], "refusing an unsafe ICMP policy"),
    ([{"family": "ipv4", "type": 8, "action": "accept", "source": "192.0.2.5/24"}],
     "source '192.0.2.5/24' has host bits set: write 192.0.2.0/24 for the network or 192.0.2.5/32"),
    ([{"family": "ipv6", "type": 128, "action": "accept", "destination": ["2001:db8::/32", "192.0.2.1"]}],
     "destination '192.0.2.1' is not an ipv6 prefix (it is an ipv4 prefix; this rule is ipv6)"),
    ([{"family": "ipv6", "type": "packet-too-big", "action": "accept", "source": "2001:db8::/32"},
      {"family": "ipv6", "type": "any", "action": "drop"}],
     "drops ipv6 type 2 code 0 from every other address"),
])
def test_bad_input_is_a_clear_error(capsys, rules, message):
    result = run_module(capsys, {"state": "rendered", "config": {"rules": rules}})
    assert result["failed"] is True and result["changed"] is False
    assert message in result["msg"]


@pytest.mark.parametrize("backend,expected", [
    ("nftables", "\t\tip saddr { 192.0.2.0/24, 198.51.100.7/32 } icmp type echo-request counter accept"),
    ("iptables", '-A NETDEVOPS-ICMP-IN -s 198.51.100.7/32 -p icmp -m comment --comment "netdevops-icmp aecb683e" '
                 '-m icmp --icmp-type 8 -j ACCEPT'),
])
def test_rendered_with_source_prefixes(capsys, backend, expected):
    result = run_module(capsys, {"state": "rendered", "backend": backend, "config": {"rules": [
        {"family": "ipv4", "type": "echo-request", "action": "accept", "source": ["198.51.100.7", "192.0.2.0/24"]},
        {"family": "ipv4", "type": "echo-request", "action": "drop"}]}})
    assert expected in result["rendered"]
    assert result["after"]["rules"][0]["source"] == ["192.0.2.0/24", "198.51.100.7/32"]


def test_unsafe_is_allowed_when_asked_in_rendered(capsys):
    result = run_module(capsys, {"state": "rendered", "config": {"rules": [
        {"family": "ipv6", "type": 135, "action": "drop"}]}, "allow_unsafe": True})
    assert result["rendered"]


def test_parsed_needs_running_config(capsys):
    result = run_module(capsys, {"state": "parsed"})
    assert result["failed"] and "state=parsed needs running_config" in result["msg"]


def test_bad_sysctl_and_profile(capsys):
    result = run_module(capsys, {"state": "rendered", "config": {"sysctls": {"icmp_rate": 1}}})
    assert result["failed"] and "unknown ICMP sysctl 'icmp_rate'" in result["msg"]
    result = run_module(capsys, {"state": "rendered", "config": {"profile": "rfc4890"}})
    assert result["failed"] and "rfc4890" in result["msg"]


class Host:
    """Records what the module asks of AnsibleModule: binary look-ups and commands (the two seams)."""

    def __init__(self, outputs: t.Dict[str, str]) -> None:
        self.outputs = outputs
        self.lookups: t.List[t.Tuple[str, bool, t.Tuple[str, ...]]] = []
        self.commands: t.List[t.List[str]] = []

    def get_bin_path(self, arg: str, required: bool = False, opt_dirs: t.Any = None) -> str:
        self.lookups.append((arg, required, tuple(opt_dirs or ())))
        return "/usr/sbin/" + arg

    def run_command(self, args: t.List[str], **kw: t.Any) -> t.Tuple[int, str, str]:
        self.commands.append(args)
        return 0, self.outputs[" ".join(args)], ""


def test_commands_run_through_run_command_with_get_bin_path(capsys, monkeypatch):
    empty = json.dumps({"nftables": [{"metainfo": {"json_schema_version": 1}}]})
    host = Host({"/usr/sbin/nft -j list ruleset": empty})
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", host.get_bin_path)
    monkeypatch.setattr(basic.AnsibleModule, "run_command", host.run_command)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    result = run_module(capsys, {"state": "gathered", "backend": "nftables"})
    assert result["gathered"] == {"rules": [], "sysctls": result["gathered"]["sysctls"]} and result["foreign"] == []
    assert host.commands == [["/usr/sbin/nft", "-j", "list", "ruleset"]]
    assert ("nft", True, ("/usr/sbin", "/sbin")) in host.lookups, host.lookups
    assert os.environ["PATH"] == "/usr/bin:/bin", "the module no longer patches PATH"


def test_force_is_an_option_and_documented():
    assert policy_module.ARGUMENT_SPEC["force"] == {"type": "bool", "default": False}
    assert "DESTROYS everything in that nftables table" in policy_module.DOCUMENTATION
    assert "  action:\n    support: full" in policy_module.DOCUMENTATION


@pytest.mark.parametrize("value", [-1, 3601])
def test_lock_timeout_out_of_range_is_refused(capsys, value):
    result = run_module(capsys, {"state": "rendered", "lock_timeout": value})
    assert result["failed"] and "lock_timeout must be between 0 and 3600 seconds, got %d" % value in result["msg"]


def test_lock_timeout_reaches_the_engine():
    params = {name: spec.get("default") for name, spec in policy_module.ARGUMENT_SPEC.items()}
    params.update(state="merged", lock_timeout=900)
    assert policy_module.build_request(params, check_mode=True).lock_timeout == 900.0
    params["lock_timeout"] = None
    assert policy_module.build_request(params, check_mode=True).lock_timeout is None
