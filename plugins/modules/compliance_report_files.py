#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: compliance_report_files
short_description: Write the fleet compliance report's files on the controller
version_added: 0.2.0
description:
  - Renders the fleet report that the P(netops.docker_firewall.compliance_report#filter) filter builds into the
    files the compliance role leaves on the controller - C(compliance.json), C(compliance.md), C(compliance.html)
    (a self-contained page, a grid of hosts and checks) and C(compliance.junit.xml) - and writes them to O(dest).
  - Runs on the controller only, as an action - no module runs anywhere, whatever host the task is for. Run it once
    (C(run_once)) for the play.
  - Writes a file only when its content changes, each at once (a reader never sees half a report), mode C(0644);
    creates O(dest) (mode C(0755)) when it is missing. Leaves the other files of O(dest) alone.
  - Check mode reports which files would change, with a diff per file, and writes nothing.
  - The role C(netops.docker_firewall.compliance) calls it; call it yourself to write a report built another way
    (for example from a saved C(compliance.json)).
author:
  - netops.docker_firewall maintainers (@netops)
extends_documentation_fragment:
  - netops.docker_firewall.attributes
  - netops.docker_firewall.attributes.ACTION_PLUGIN
  - netops.docker_firewall.attributes.ACTIONGROUP_DOCKER_FIREWALL
attributes:
  platform:  # in place of the fragment's (the hosts' Linux)
    description: Runs on the controller.
    support: full
    platforms: all
options:
  report:
    description:
      - The fleet report, as the P(netops.docker_firewall.compliance_report#filter) filter returns it (keys
        C(compliant), C(totals), C(checks) and C(hosts)).
    type: dict
    required: true
  dest:
    description: The directory on the controller the files are written to.
    type: path
    required: true
  formats:
    description: The files to write - C(json), C(markdown), C(html), C(junit).
    type: list
    elements: str
    choices: [html, json, junit, markdown]
    default: [json, markdown, html, junit]
seealso:
  - module: netops.docker_firewall.docker_firewall_info
'''

EXAMPLES = r'''
- name: Write the fleet report once for the play
  netops.docker_firewall.compliance_report_files:
    report: "{{ hostvars | netops.docker_firewall.compliance_report(ansible_play_hosts_all) }}"
    dest: "{{ playbook_dir }}/compliance-report"
    formats: [json, junit]
  run_once: true

- name: The same files from a report saved earlier
  netops.docker_firewall.compliance_report_files:
    report: "{{ lookup('ansible.builtin.file', 'compliance-report/compliance.json') | from_json }}"
    dest: /srv/reports/docker-firewall
  run_once: true
'''

RETURN = r'''
dest:
  description: The directory the files are in.
  returned: always
  type: str
  sample: /home/ops/compliance-report
files:
  description: The report's files, in the order of their format's name.
  returned: always
  type: list
  elements: str
  sample: [/home/ops/compliance-report/compliance.html, /home/ops/compliance-report/compliance.json]
written:
  description: The files whose content changed (in check mode, would change).
  returned: always
  type: list
  elements: str
  sample: [/home/ops/compliance-report/compliance.json]
'''
