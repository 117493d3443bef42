# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Modules that change the host.
    DOCUMENTATION = r'''
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying the target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: linux
'''

    # Modules that only read.
    INFO_MODULE = r'''
attributes:
  check_mode:
    description: This module does not change the target and runs the same in check mode.
    support: full
  diff_mode:
    description: This module does not change the target, so it has no diff.
    support: N/A
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: linux
'''

    # Modules with an action plugin of the same name (it reads files on the controller first).
    ACTION_PLUGIN = r'''
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
'''

    # Modules in the action group docker_firewall only (meta/runtime.yml).
    ACTIONGROUP_DOCKER_FIREWALL = r'''
attributes:
  action_group:
    description: Use C(group/netops.docker_firewall.docker_firewall) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - netops.docker_firewall.docker_firewall
'''

    # The DOCKER-USER modules: also in the action group docker_user (meta/runtime.yml).
    ACTIONGROUP_DOCKER_USER = r'''
attributes:
  action_group:
    description:
      - Use C(group/netops.docker_firewall.docker_user) in C(module_defaults) to set the options the DOCKER-USER modules
        share (O(iptables_variant), O(firewall_backend), O(daemon_json), O(create_chain)) once for all of them.
      - C(group/netops.docker_firewall.docker_firewall) holds every module of the collection.
    support: full
    membership:
      - netops.docker_firewall.docker_firewall
      - netops.docker_firewall.docker_user
'''
