# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the vendors' own code on our renderings; print what it made of them as JSON.

Runs in the vendor virtualenv (the community ``ansible`` package: cisco.ios,
amazon.aws; botocore), never in ours, and never connects anywhere:

- ``ios``: ``cisco.ios.ios_acls`` ``state: rendered`` on our data model and
  ``state: parsed`` on our text, through ansible-playbook (neither state opens a
  connection);
- ``botocore``: botocore's own parameter validator against the EC2 service model
  for AuthorizeSecurityGroupIngress/Egress and CreateNetworkAclEntry;
- ``ec2_security_group`` / ``ec2_vpc_nacl``: amazon.aws's argument spec and its own
  conversion of Ansible rules to EC2 permissions / entries.

Input on stdin: {"ios": [{"config": ..., "text": "..."}], "sg": [...], "nacl": [...]}.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import botocore.session
from botocore.validate import ParamValidator

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  connection: ansible.netcommon.network_cli
  vars:
    ansible_network_os: cisco.ios.ios
    cases: "{{ lookup('file', cases_file) | from_json }}"
  tasks:
    - name: Render our data model with cisco.ios.ios_acls
      cisco.ios.ios_acls: {state: rendered, config: "{{ item }}"}
      loop: "{{ cases.configs }}"
      register: rendered
    - name: Parse our text with cisco.ios.ios_acls
      cisco.ios.ios_acls: {state: parsed, running_config: "{{ item }}"}
      loop: "{{ cases.texts }}"
      register: parsed
    - name: Hand the results back
      ansible.builtin.copy:
        dest: "{{ out_file }}"
        content: "{{ {'rendered': rendered.results | map(attribute='rendered') | list,
                      'parsed': parsed.results | map(attribute='parsed') | list} | to_json }}"
"""


def ios(cases):
    """Each case: {"config": ios_acls config or None, "text": our text}; None where there is no config."""
    configs = [case["config"] for case in cases if case["config"] is not None]
    answer = _ios_playbook({"configs": configs, "texts": [case["text"] for case in cases]})
    rendered = iter(answer["rendered"])
    answer["rendered"] = [next(rendered) if case["config"] is not None else None for case in cases]
    return answer


def _ios_playbook(cases):
    with tempfile.TemporaryDirectory() as tmp:
        paths = {name: os.path.join(tmp, name) for name in ("cases.json", "out.json", "play.yml")}
        with open(paths["cases.json"], "w") as handle:
            json.dump(cases, handle)
        with open(paths["play.yml"], "w") as handle:
            handle.write(PLAYBOOK)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="true", ANSIBLE_COLLECTIONS_PATH=tmp)
        proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                               paths["play.yml"], "-e",
                               "cases_file=%s out_file=%s" % (paths["cases.json"], paths["out.json"])],
                              check=False, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit("ansible-playbook failed:\n%s%s" % (proc.stdout[-4000:], proc.stderr[-2000:]))
        with open(paths["out.json"]) as handle:
            return json.load(handle)


def botocore_errors(calls):
    model = botocore.session.get_session().get_service_model("ec2")
    validator = ParamValidator()
    errors = []
    for operation, params in calls:
        report = validator.validate(params, model.operation_model(operation).input_shape)
        errors.append(report.generate_report() if report.has_errors() else "")
    return errors


def _spec_of(module_name):
    """The module's real argument spec: run its main() with AnsibleAWSModule replaced by a catcher."""
    import importlib

    module = importlib.import_module("ansible_collections.amazon.aws.plugins.modules.%s" % module_name)

    class Caught(Exception):
        pass

    captured = {}

    def catcher(**kwargs):
        captured.update(kwargs)
        raise Caught()

    saved = module.AnsibleAWSModule
    module.AnsibleAWSModule = catcher
    try:
        module.main()
    except Caught:
        pass
    finally:
        module.AnsibleAWSModule = saved
    return module, captured["argument_spec"]


def _validate(spec, params):
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    result = ArgumentSpecValidator(spec).validate(params)
    return result.validated_parameters, [str(err) for err in result.errors]


class _Module:
    def warn(self, _message):
        pass

    def fail_json(self, **kwargs):
        raise ValueError(kwargs)


def security_group(rendered):
    module, spec = _spec_of("ec2_security_group")
    params = {"name": "netdevops-icmp", "description": "ICMP policy", "state": "present"}
    for key in ("rules", "rules_egress"):
        if key in rendered:
            params[key] = rendered[key]
    validated, errors = _validate(spec, params)
    out = {"errors": errors}
    for key, perm_key in (("rules", "IpPermissions"), ("rules_egress", "IpPermissionsEgress")):
        if key not in rendered or errors:
            continue
        rules = validated[key]
        module.validate_rules(_Module(), rules)
        permissions = []
        for rule in module.deduplicate_rules_args(module.expand_rules(rules)):
            target_type, target, _created = module.get_target_from_rule(_Module(), None, rule, "x", {}, {}, None, {})
            named = module.Rule(port_range=(rule["from_port"], rule["to_port"]), protocol=rule["proto"],
                                target=target, target_type=target_type, description=rule.get("rule_desc"))
            permissions.append(module.to_permission(named))
        out[perm_key] = permissions
    return out


def network_acl(rendered):
    module, spec = _spec_of("ec2_vpc_nacl")
    params = {"vpc_id": "vpc-0123456789abcdef0", "name": "netdevops-icmp", "state": "present",
              "ingress": rendered["ingress"], "egress": rendered["egress"]}
    validated, errors = _validate(spec, params)
    out = {"errors": errors, "entries": []}
    if not errors:
        for key, egress in (("ingress", False), ("egress", True)):
            out["entries"].extend(module.ansible_to_boto3_dict_rule(rule, egress) for rule in validated[key])
    return out


def main():
    request = json.load(sys.stdin)
    answer = {"ios": ios(request["ios"]) if request.get("ios") else None,
              "botocore": botocore_errors(request.get("botocore", [])),
              "sg": [security_group(item) for item in request.get("sg", [])],
              "nacl": [network_acl(item) for item in request.get("nacl", [])]}
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
