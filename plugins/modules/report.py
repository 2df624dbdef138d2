#!/usr/bin/python
# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This file only holds the documentation: the work is done on the controller by the
# action plugin plugins/action/report.py (like ansible.builtin.template).

from __future__ import annotations

DOCUMENTATION = r"""
module: report
short_description: Write JSON, JUnit XML, Prometheus textfile and HTML reports of ICMP checks and drift
version_added: 1.0.0
description:
  - Runs on the controller. Takes the checks (from the P(netdevops.icmp.plan_checks#filter) and
    P(netdevops.icmp.compare_baseline#filter) filters) and the policy drift (from
    P(netdevops.icmp.policy_drift#filter)) of many hosts and writes, to one directory, a JSON
    report with a versioned schema, JUnit XML (one test case per host and check, plus one per host
    for drift), Prometheus textfile metrics (C(netdevops_icmp_*)) for node_exporter, and one
    self-contained HTML page (problems grouped with counts, reachability by inventory group and target
    prefix, traced paths, path MTUs, drift; no server and no network needed to view it; its size is
    bounded, about 0.5 MB for 5,000 hosts).
  - Runs over part of the inventory (AWX job slicing, C(--limit)) write files of their own, see O(slice).
  - Files are replaced atomically (written beside the target, then renamed), so node_exporter and
    pipelines never read half a file.
  - The JSON schema is shipped as C(plugins/plugin_utils/_report/report.schema.json); see
    C(docs/reports.md) for every key.
author:
  - netdevops.icmp contributors (@netdevops)
options:
  dest:
    description: Directory to write the reports to (created when missing).
    type: path
    required: true
  hosts:
    description:
      - Per host, a dictionary with C(checks) (a list of checks), C(drift) (the result of
        P(netdevops.icmp.policy_drift#filter), or null when drift was not checked) and optionally
        C(error) (why the host could not be checked) and C(capture) (the result of
        M(netdevops.icmp.capture), or the C(capture) of a probe module run with its O(netdevops.icmp.ping#module:capture)
        option, or a list of them; the report adds them up).
      - "Optionally also C(policy_hits): the RV(netdevops.icmp.policy#module:hits) of M(netdevops.icmp.policy) run with
        O(netdevops.icmp.policy#module:state=gathered), the per-rule counters, written as the Prometheus counters
        C(netdevops_icmp_policy_rule_hits_total) and C(netdevops_icmp_policy_rule_dropped_total)."
    type: dict
    required: true
  kind:
    description: What the run was; it decides the title and how failures are counted.
    type: str
    choices: [change_validation, drift_check, checks]
    default: checks
  phase:
    description:
      - For O(kind=change_validation), V(pre) or V(post). In a V(post) report a host fails on
        regressions and drift only; checks that already failed before the change are shown as such.
    type: str
    choices: [pre, post]
  run_id:
    description: An identifier of the run (change ticket, pipeline id), shown in every report.
    type: str
  title:
    description: Title of the reports (default from O(kind) and O(phase)).
    type: str
  formats:
    description: Which files to write.
    type: list
    elements: str
    choices: [json, junit, prometheus, html]
    default: [json, junit, prometheus, html]
  basename:
    description:
      - File name stem; the files are C(<basename>.json), C(<basename>.junit.xml),
        C(<basename>.prom) and C(<basename>.html), or C(<basename>.<slice>.json) and so on when the run
        covers a slice of the inventory (see O(slice)).
      - Letters, digits, C(_), C(.) and C(-) only; anything else is refused.
    type: str
    default: netdevops-icmp
  slice:
    description:
      - Which part of the inventory this run covers. It goes into the file names and into the C(slice)
        label of every Prometheus sample, so the parts of a sliced or limited run never overwrite each
        other's files or series.
      - By default it is derived from the run - C(slice<N>of<M>) for AWX job slice N of M
        (C(awx_job_slice_number), C(awx_job_slice_count)), C(limit-<hash>) for a C(--limit) run (a
        hash of the limit expression, so the same limit writes the same files), both joined with C(-),
        and none for a run over the whole inventory.
      - An empty string turns it off; any other value is used as given (letters, digits, C(_), C(.), C(-)).
    type: str
  host_groups:
    description:
      - Inventory group of each host, for the rows of the HTML page's reachability matrix.
      - By default each host's smallest inventory group other than C(all) and C(ungrouped).
    type: dict
  mode:
    description: File mode of the written files.
    type: str
    default: "0644"
attributes:
  action:
    description: Runs on the controller as an action plugin.
    support: full
  check_mode:
    description:
      - Builds the reports and returns their summary and the planned file names, writes nothing and
        returns C(changed=false). Set C(check_mode=false) on the task to write reports in C(--check)
        runs too (the C(netdevops.icmp.drift_check) playbook does).
    support: full
  diff_mode:
    description: Not supported; the reports carry a timestamp and change on every run.
    support: none
  platform:
    description: The controller.
    platforms: posix
    support: full
notes:
  - Point O(dest) at node_exporter's C(--collector.textfile.directory) to publish the metrics, and
    at your pipeline's artifact directory for the JUnit XML.
seealso:
  - module: netdevops.icmp.ping
  - module: netdevops.icmp.policy
  - plugin: netdevops.icmp.compare_baseline
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Write the reports of this run
  netdevops.icmp.report:
    dest: "{{ playbook_dir }}/reports"
    kind: drift_check
    run_id: "{{ tower_job_id | default('manual') }}"
    hosts: >-
      {{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all
          | map('extract', hostvars, '__icmp_validate_host_report'))) }}
  run_once: true
  delegate_to: localhost
  register: reports

- name: Only the JUnit XML, for the pipeline
  netdevops.icmp.report:
    dest: junit
    formats: [junit]
    kind: change_validation
    phase: post
    hosts:
      h1:
        checks: "{{ verdict.checks }}"
        drift: null
"""

RETURN = r"""
files:
  description: Paths of the written (or, in check mode, planned) files by format.
  returned: always
  type: dict
  sample: {"json": "/srv/reports/netdevops-icmp.json", "junit": "/srv/reports/netdevops-icmp.junit.xml",
           "prometheus": "/srv/reports/netdevops-icmp.prom", "html": "/srv/reports/netdevops-icmp.html"}
status:
  description: V(pass) or V(fail) for the whole run.
  returned: always
  type: str
  sample: fail
summary:
  description: Counts of hosts, failed hosts, checks, failed checks, regressions and drifted hosts.
  returned: always
  type: dict
  sample: {"hosts": 3, "hosts_failed": 1, "checks": 12, "checks_failed": 1, "regressions": 1, "hosts_drifted": 0}
problems:
  description: One line per problem, naming host, check, target and numbers.
  returned: always
  type: list
  elements: str
  sample: ["h1 ping 203.0.113.10: newly unreachable (loss 0% -> 100%)"]
written:
  description: Whether the files were written (V(false) in check mode).
  returned: always
  type: bool
  sample: true
slice:
  description: The slice of the inventory in the file names and Prometheus labels, or V(null) for a whole-inventory run.
  returned: always
  type: str
  sample: slice2of4
schema_version:
  description: Version of the JSON report schema.
  returned: always
  type: str
  sample: 1.4.0
"""
