#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: docker_firewall_engine
short_description: Install the collection's engine for the programs that run on a host without Ansible
version_added: 0.2.0
description:
  - Some of the policy is kept in force between Ansible runs by programs on the host itself; the
    boot-time restore (C(netops-docker-user-restore)), the firewalld watcher, and the publisher
    watcher for standalone containers. They run the collection's own engine, the same
    files the modules run, never a copy of its logic.
  - This module installs a program's launcher and the engine files under
    C(/usr/local/lib/netops-docker-firewall/), byte for byte as they are in the payload Ansible sends
    it, so a host always runs the engine of the collection version that configured it. Engine files
    of an older version that are no longer part of it are removed.
  - It also installs the program's systemd unit, defined by the collection's layout
    (C(netops-docker-user.service), C(netops-docker-firewalld-watch.service), C(netops-docker-publish.service)),
    reloads systemd when the unit file changed and enables the unit. It does not start or restart it - the
    roles do, by the name in RV(unit), when the task changed something (RV(unit_changed) for the unit file).
  - With O(state=absent) the unit is stopped and disabled, then the unit file and the program's launcher are
    removed (the engine with them when no other program of the collection is installed), and systemd reloaded.
  - Check mode reports what would be written, removed and run (RV(commands)), and runs nothing.
  - The roles C(netops.docker_firewall.docker_on_router) and C(netops.docker_firewall.docker_beside_kube_proxy)
    call it; it is rarely needed on its own.
author:
  - netops.docker_firewall maintainers (@netops)
extends_documentation_fragment:
  - netops.docker_firewall.attributes
  - netops.docker_firewall.attributes.ACTIONGROUP_DOCKER_FIREWALL
requirements:
  - Python 3 on the managed host (the programs run with O(python), by default C(python3) from C(PATH))
  - systemd (C(systemctl))
options:
  program:
    description:
      - C(restore) is C(/usr/local/sbin/netops-docker-user-restore), which puts the kept policy back
        (C(netops-docker-user.service) at boot and at each dockerd restart, and the firewalld watcher);
        M(netops.docker_firewall.docker_firewall_persistence) keeps what it reads.
      - C(firewalld_watch) is C(/usr/local/sbin/netops-docker-firewalld-watch), which follows firewalld on
        D-Bus and runs the restore after its reloads and restarts (C(netops-docker-firewalld-watch.service)).
      - C(publish) is C(/usr/local/lib/netops-docker-firewall/netops_docker_publish.py), the publisher
        watcher of C(netops-docker-publish.service), which publishes the containers
        M(netops.docker_firewall.docker_firewall_persistence) keeps the list of.
    type: str
    required: true
    choices: [firewalld_watch, publish, restore]
  state:
    description: Whether the program and its unit are installed (and the unit enabled).
    type: str
    choices: [present, absent]
    default: present
  python:
    description:
      - The Python 3 interpreter the launcher runs the program with (with C(-I)), a command name
        looked up in C(PATH) when the program starts, or an absolute path.
      - The default, C(python3) from C(PATH), survives a Python upgrade that removes the
        interpreter Ansible ran this module with (a versioned path such as C(/usr/bin/python3.11)
        would leave the boot without the policy once it is gone).
    type: str
    default: python3
seealso:
  - module: netops.docker_firewall.docker_firewall_persistence
  - module: netops.docker_firewall.docker_firewall_info
'''

EXAMPLES = r'''
- name: Install the restore program and its unit (the docker_on_router role does this)
  netops.docker_firewall.docker_firewall_engine:
    program: restore
  register: restore_program

- name: Run the restore unit once, now that it or its program changed
  ansible.builtin.systemd_service:
    name: "{{ restore_program.unit }}"
    state: restarted
  when: restore_program is changed

- name: Stop and remove the publisher watcher (the engine stays while the restore program uses it)
  netops.docker_firewall.docker_firewall_engine:
    program: publish
    state: absent

# Ad hoc, in check mode with a diff: is the host running this collection version's engine?
#   ansible HOSTS -m netops.docker_firewall.docker_firewall_engine -a program=restore --check --diff
'''

RETURN = r'''
path:
  description: Where the program's launcher is.
  returned: success
  type: str
  sample: /usr/local/sbin/netops-docker-user-restore
written:
  description: Files written (in check mode, that would be written), launcher, engine files and unit file.
  returned: success
  type: list
  elements: str
  sample: [/usr/local/lib/netops-docker-firewall/ansible_collections/netops/docker_firewall/plugins/module_utils/_engine/_rules.py]
removed:
  description: Files removed (in check mode, that would be removed).
  returned: success
  type: list
  elements: str
  sample: [/usr/local/lib/netops-docker-firewall/netops_publish.py]
engine_files:
  description: The engine files the programs run, as installed under the engine directory (paths in its package).
  returned: success
  type: list
  elements: str
  sample: [_engine/__init__.py, _engine/_rules.py]
unit:
  description: The program's systemd unit, for the tasks that start or restart it.
  returned: success
  type: str
  sample: netops-docker-user.service
unit_changed:
  description: Whether the unit file was written or removed (in check mode, would be).
  returned: success
  type: bool
commands:
  description: The systemctl commands run (in check mode, that would be run), in order.
  returned: success
  type: list
  elements: list
  sample: [["/usr/bin/systemctl", "daemon-reload"], ["/usr/bin/systemctl", "enable", "netops-docker-user.service"]]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._module import _engine_files as engine_files
from ansible_collections.netops.docker_firewall.plugins.module_utils._module._engine_install import firewall_engine


def main():
    module = AnsibleModule(
        argument_spec=dict(
            program=dict(type='str', required=True, choices=sorted(layout.PROGRAMS)),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            python=dict(type='str', default=engine_files.DEFAULT_PYTHON),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**firewall_engine(module))


if __name__ == '__main__':
    main()
