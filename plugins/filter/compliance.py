# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters of the compliance role: the checks of one host, and the fleet report."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleFilterError

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._compliance import (
    ExpectationError,
    evaluate,
    summarise,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._sources import InputError
from ansible_collections.netops.docker_firewall.plugins.plugin_utils._sources_file import (
    display,
    read_text,
    with_file_entries_in,
)


def _read_absolute(field, path):
    """A sources file for compliance: a filter has no playbook search path, so only an absolute one."""
    path = os.path.expanduser(path)
    if not os.path.isabs(path):
        raise InputError(field, path, 'compliance reads sources files on the controller by absolute path only '
                                      '(for example "{{ inventory_dir }}/allowlists/partners.txt")')
    return read_text(field, path)


def compliance_checks(facts, profile, expected=None):
    """docker_firewall_info's result checked against `profile` and the declared `expected` settings
    (the sources files of allowlists and routed access read here, as the modules' action plugins read
    them)."""
    try:
        if expected:
            expected = with_file_entries_in(expected, _read_absolute, display.warning)
        return evaluate(profile, facts, expected)
    except (ExpectationError, InputError) as exc:
        raise AnsibleFilterError(str(exc))


def compliance_report(hostvars, hosts, variable='__compliance_result'):
    """The fleet report from each host's `variable` ({'profile', 'checks'}); a host without it
    (unreachable, or failed before its checks) is reported with an error."""
    results = {}
    for host in hosts:
        result = hostvars[host].get(variable)
        results[host] = dict(result) if result else dict(error='no result: the host was unreachable or failed')
    return summarise(results)


class FilterModule(object):
    def filters(self):
        return dict(compliance_checks=compliance_checks, compliance_report=compliance_report)
