# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters over the reachability engine's answer (docker_firewall_info with reachability: true)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._reachability_verdict import predict


def reachability_verdict(answer, interface, source, destination, port, protocol='tcp', source_port=None):
    """Whether a new connection from `source` arriving on `interface` reaches `destination`:`port`,
    by the answer (_reachability_verdict.predict)."""
    try:
        return predict(answer, dict(interface=interface, source=source, destination=destination, port=port,
                                    protocol=protocol, source_port=source_port))
    except ValueError as exc:
        raise AnsibleFilterError('reachability_verdict: %s' % exc)


class FilterModule(object):
    def filters(self):
        return dict(reachability_verdict=reachability_verdict)
