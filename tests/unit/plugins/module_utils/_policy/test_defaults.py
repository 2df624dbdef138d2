"""One source for the policy defaults, and the module's own refusal of a hand-set confirmation token."""
from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.netdevops.icmp.plugins.module_utils._policy import confirm, defaults, iptables, nft
from ansible_collections.netdevops.icmp.plugins.modules import policy as policy_module

ROLE = Path(__file__).resolve().parents[5] / "roles" / "firewall"

SHARED = {
    "state": defaults.DEFAULT_STATE, "backend": defaults.DEFAULT_BACKEND, "table": defaults.DEFAULT_TABLE,
    "chain_prefix": defaults.DEFAULT_CHAIN_PREFIX, "state_dir": defaults.DEFAULT_STATE_DIR,
    "confirm_timeout": defaults.DEFAULT_CONFIRM_TIMEOUT, "confirm_bytes": defaults.DEFAULT_CONFIRM_BYTES,
    "history_size": defaults.DEFAULT_HISTORY_SIZE,
}


def test_documentation_argument_spec_and_defaults_py_agree():
    documented = yaml.safe_load(policy_module.DOCUMENTATION)["options"]
    for name, value in SHARED.items():
        assert documented[name]["default"] == value, name
        assert policy_module.ARGUMENT_SPEC[name]["default"] == value, name
    assert policy_module.MAX_CONFIRM_BYTES == defaults.MAX_CONFIRM_BYTES


def test_the_engine_and_the_role_use_the_same_values():
    assert nft.DEFAULT_TABLE == defaults.DEFAULT_TABLE
    assert iptables.DEFAULT_PREFIX == defaults.DEFAULT_CHAIN_PREFIX
    assert confirm.DEFAULT_STATE_DIR == defaults.DEFAULT_STATE_DIR
    role_defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    for option in ("backend", "table", "chain_prefix", "state_dir", "confirm_timeout"):
        name = "icmp_firewall_" + option
        assert role_defaults[name] == SHARED[option], name
        for entry in specs.values():
            if name in entry["options"]:
                assert entry["options"][name]["default"] == SHARED[option], name


def run_module(capsys: pytest.CaptureFixture[str], args: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    with patch_module_args(args), pytest.raises(SystemExit):
        policy_module.main()
    result: t.Dict[str, t.Any] = json.loads(capsys.readouterr().out)
    return result


RENDER = {"state": "rendered", "backend": "nftables",
          "config": {"rules": [{"family": "ipv6", "type": "packet-too-big", "action": "accept"}]}}
TOKEN = "0123456789abcdef" * 2


@pytest.mark.parametrize("internal, problem", [
    ({"_confirm_token": TOKEN}, "was not set by the policy action plugin"),
    ({"_confirm_token": TOKEN, "_confirm_marker": "0" * 64}, "was not set by the policy action plugin"),
    ({"_confirm_token": TOKEN, "_confirm_marker": defaults.confirm_marker(TOKEN[::-1])}, "was not set by"),
    ({"_confirm_token": "abc\nflush ruleset", "_confirm_marker": defaults.confirm_marker("abc\nflush ruleset")},
     "32 lowercase hex digits"),
    ({"_confirm_marker": defaults.confirm_marker(TOKEN)}, "_confirm_marker is internal"),
])
def test_the_module_refuses_a_token_without_the_plugins_marker(capsys, internal, problem):
    result = run_module(capsys, dict(RENDER, **internal))
    assert result["failed"] is True and result["changed"] is False
    assert problem in result["msg"]
    assert "use confirm_timeout" in result["msg"] or "remove it" in result["msg"]
    assert "rendered" not in result or result["rendered"] is None


def test_the_module_accepts_the_plugins_token_and_marker(capsys):
    result = run_module(capsys, dict(RENDER, _confirm_token=TOKEN, _confirm_marker=defaults.confirm_marker(TOKEN)))
    assert "failed" not in result and result["rendered"][0] == "table inet netdevops_icmp"


def test_marker_is_a_keyed_digest_of_the_token():
    marker = defaults.confirm_marker(TOKEN)
    assert defaults.MARKER_RE.fullmatch(marker) and marker != defaults.confirm_marker(TOKEN[:-1] + "0")
    assert defaults.token_problem(None, None) == ""
    assert defaults.token_problem(TOKEN, marker) == ""
    assert defaults.token_problem(TOKEN + "\n", defaults.confirm_marker(TOKEN + "\n")) != ""
